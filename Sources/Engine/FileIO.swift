#if canImport(Glibc)
import Glibc
#endif

/// A file that could not be read or written, with the path and the system's reason.
public struct FileError: Error, CustomStringConvertible {
    public let path: String, reason: String
    public init(path: String, reason: String) { (self.path, self.reason) = (path, reason) }
    public var description: String { "\(path): \(reason)" }
}

private func systemReason() -> String { String(cString: strerror(errno)) }

/// Writes `bytes` to `path` atomically: a temporary sibling is written, flushed to disk and
/// renamed over the destination, so readers see the old file or the new one, never a torn one.
public func writeFileAtomically(_ bytes: [UInt8], to path: String) throws(FileError) {
    let temporary = path + ".tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw FileError(path: path, reason: "cannot create \(temporary): \(systemReason())") }
    var written = 0
    let ok: Bool = bytes.withUnsafeBytes { raw in
        while written < raw.count {
            let n = write(fd, raw.baseAddress! + written, raw.count - written)
            if n < 0 { if errno == EINTR { continue }; return false }
            written += n
        }
        return true
    }
    let reason = ok ? "" : systemReason()
    let synced = ok && fsync(fd) == 0
    close(fd)
    guard ok, synced, rename(temporary, path) == 0 else {
        let why = ok ? systemReason() : reason
        unlink(temporary)
        throw FileError(path: path, reason: "write failed: \(why)")
    }
}

/// Writes text atomically (see ``writeFileAtomically(_:to:)``).
public func writeFileAtomically(_ text: String, to path: String) throws(FileError) {
    try writeFileAtomically(Array(text.utf8), to: path)
}

/// Reads a whole file.
public func readFile(_ path: String) throws(FileError) -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw FileError(path: path, reason: errno == ENOENT ? "no such file" : systemReason()) }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n < 0 { if errno == EINTR { continue }; throw FileError(path: path, reason: systemReason()) }
        if n == 0 { break }
        out.append(contentsOf: chunk[0..<n])
    }
    return out
}

/// Whether a file or folder exists at `path`.
public func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }
