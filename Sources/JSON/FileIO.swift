#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file that could not be read or written; names the path and the system's reason.
public struct FileError: Error, CustomStringConvertible, Equatable, Sendable {
    public var path: String
    /// What was being done: "cannot open", "cannot write", ...
    public var operation: String
    /// The system's reason (`strerror`), or our own.
    public var reason: String

    public init(path: String, operation: String, reason: String) {
        self.path = path
        self.operation = operation
        self.reason = reason
    }

    public var description: String { "\(path): \(operation): \(reason)" }
}

private func systemError(_ path: String, _ operation: String, _ code: Int32 = errno) -> FileError {
    FileError(path: path, operation: operation, reason: String(cString: strerror(code)))
}

/// Reads a whole file as bytes.
///
/// - Throws: `FileError` naming the path.
public func readFileBytes(_ path: String) throws(FileError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw systemError(path, "cannot open") }
    defer { close(fd) }
    var info = stat()
    if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
        throw FileError(path: path, operation: "cannot read", reason: "is a directory")
    }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw systemError(path, "cannot read")
        }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return bytes
}

/// Reads a whole UTF-8 text file.
///
/// - Throws: `FileError` naming the path, also when the file is not valid UTF-8 (with the
///   byte offset of the first bad byte).
public func readFile(_ path: String) throws(FileError) -> String {
    let bytes = try readFileBytes(path)
    if let bad = firstInvalidUTF8Offset(in: bytes) {
        throw FileError(path: path, operation: "cannot read as text", reason: "invalid UTF-8 at byte offset \(bad)")
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Writes a text file so that readers see either the old or the new contents, never a part.
///
/// See ``writeFileAtomically(_:to:)-([UInt8],_)``.
public func writeFileAtomically(_ contents: String, to path: String) throws(FileError) {
    try writeFileAtomically(Array(contents.utf8), to: path)
}

/// Writes a file so that readers see either the old or the new contents, never a part.
///
/// The bytes go to a new temporary file in the same folder, which is flushed to disk
/// (`fsync`) and then renamed over `path`; the folder is synced too so the rename survives a
/// crash. On failure the temporary file is removed and `path` is untouched. New files get
/// mode 0644 minus the umask.
///
/// - Throws: `FileError` naming the path.
public func writeFileAtomically(_ contents: [UInt8], to path: String) throws(FileError) {
    let slash = path.lastIndex(of: "/")
    let folder = slash.map { String(path[..<$0]) } ?? "."
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    guard !name.isEmpty else { throw FileError(path: path, operation: "cannot write", reason: "path names a folder") }
    var generator = SystemRandomNumberGenerator()
    let suffix = String(generator.next() as UInt64, radix: 36)
    let temporary = "\(folder.isEmpty ? "" : folder)/.\(name).\(suffix).tmp"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw systemError(path, "cannot create a temporary file in '\(folder.isEmpty ? "/" : folder)'") }
    var failure: FileError?
    var written = 0
    contents.withUnsafeBytes { raw in
        while written < raw.count {
            let n = write(fd, raw.baseAddress! + written, raw.count - written)
            if n < 0 {
                if errno == EINTR { continue }
                failure = systemError(path, "cannot write")
                return
            }
            written += n
        }
    }
    if failure == nil, fsync(fd) != 0 { failure = systemError(path, "cannot sync") }
    if close(fd) != 0, failure == nil { failure = systemError(path, "cannot close") }
    if failure == nil, rename(temporary, path) != 0 { failure = systemError(path, "cannot rename the temporary file over") }
    if let failure {
        unlink(temporary)
        throw failure
    }
    let dirfd = open(folder.isEmpty ? "/" : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if dirfd >= 0 {
        _ = fsync(dirfd)  // best effort: some file systems refuse to sync folders
        close(dirfd)
    }
}
