import Engine
#if canImport(Glibc)
import Glibc
#endif

/// Named tensors and text entries in one binary file: parameters, optimizer states and
/// checkpoints all use it.
///
/// Layout (all integers little-endian):
/// ```
/// "MNASTA01"                      8-byte magic
/// u32 entryCount
/// entry*:  u8 kind (0 = tensor, 1 = text)
///          u32 nameLength, name (UTF-8)
///          kind 0: u32 rank, i64 dims[rank], f32 data[product(dims)]
///          kind 1: u64 byteLength, bytes (UTF-8)
/// u64 FNV-1a hash of every byte above
/// ```
/// Files are written to a temporary sibling, flushed and renamed over the destination, so a
/// reader sees the old file or the new one, never a torn one.
public struct TensorArchive: Sendable, Equatable {
    public var tensors: [(name: String, value: Tensor)] = []
    public var texts: [(name: String, value: String)] = []

    public init() {}

    public static func == (a: TensorArchive, b: TensorArchive) -> Bool {
        a.tensors.map(\.name) == b.tensors.map(\.name) && a.tensors.map(\.value) == b.tensors.map(\.value)
            && a.texts.map(\.name) == b.texts.map(\.name) && a.texts.map(\.value) == b.texts.map(\.value)
    }

    public mutating func append(_ name: String, _ value: Tensor) { tensors.append((name, value)) }
    public mutating func append(_ name: String, text: String) { texts.append((name, text)) }

    /// The tensor called `name`.
    public func tensor(_ name: String) -> Tensor? { tensors.first { $0.name == name }?.value }
    /// The text entry called `name`.
    public func text(_ name: String) -> String? { texts.first { $0.name == name }?.value }

    /// Tensors whose names start with `prefix`, keyed by the rest of the name.
    public func tensors(withPrefix prefix: String) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (name, value) in tensors where name.hasPrefix(prefix) { out[String(name.dropFirst(prefix.count))] = value }
        return out
    }

    // MARK: Encoding

    static let magic = Array("MNASTA01".utf8)

    /// The file's bytes.
    public func encoded() -> [UInt8] {
        var out = TensorArchive.magic
        out.reserveCapacity(tensors.reduce(64) { $0 + $1.value.count * 4 + 64 })
        append(UInt32(tensors.count + texts.count), to: &out)
        for (name, t) in tensors {
            out.append(0)
            appendString(name, to: &out)
            append(UInt32(t.shape.count), to: &out)
            for d in t.shape { append(UInt64(d), to: &out) }
            t.data.withUnsafeBytes { out.append(contentsOf: $0) }
        }
        for (name, text) in texts {
            out.append(1)
            appendString(name, to: &out)
            let bytes = Array(text.utf8)
            append(UInt64(bytes.count), to: &out)
            out.append(contentsOf: bytes)
        }
        append(fnv1a(out), to: &out)
        return out
    }

    /// Parses bytes produced by ``encoded()``.
    ///
    /// - Parameter source: named in errors (usually the file path).
    /// - Throws: ``TensorArchiveError`` for a wrong magic, a truncated file or a checksum mismatch.
    public init(decoding bytes: [UInt8], source: String) throws(TensorArchiveError) {
        guard bytes.count >= 8 + 4 + 8, Array(bytes[0..<8]) == TensorArchive.magic else {
            throw TensorArchiveError(path: source, reason: "not a tensor archive (bad magic)")
        }
        let body = bytes.count - 8
        var checksum: UInt64 = 0
        for k in 0..<8 { checksum |= UInt64(bytes[body + k]) << (8 * UInt64(k)) }
        guard checksum == fnv1a(bytes[0..<body]) else {
            throw TensorArchiveError(path: source, reason: "checksum mismatch (file is corrupt or truncated)")
        }
        var r = Reader(bytes: bytes, end: body, source: source)
        r.offset = 8
        let count = try r.u32()
        for _ in 0..<count {
            let kind = try r.u8()
            let name = try r.string(Int(try r.u32()))
            switch kind {
            case 0:
                let rank = Int(try r.u32())
                guard rank <= 8 else { throw r.error("tensor '\(name)' has rank \(rank)") }
                var shape: [Int] = []
                for _ in 0..<rank { shape.append(Int(try r.u64())) }
                let n = shape.reduce(1, *)
                let raw = try r.bytes(n * 4)
                var data = [Float](repeating: 0, count: n)
                data.withUnsafeMutableBytes { $0.copyBytes(from: raw) }
                tensors.append((name, Tensor(shape: shape, data: data)))
            case 1:
                texts.append((name, try r.string(Int(try r.u64()))))
            default:
                throw r.error("unknown entry kind \(kind) for '\(name)'")
            }
        }
    }

    /// Writes the archive atomically to `path`.
    public func write(to path: String) throws(TensorArchiveError) {
        do { try writeFileAtomically(encoded(), to: path) } catch { throw TensorArchiveError(path: path, reason: error.reason) }
    }

    /// Reads and verifies an archive file.
    public init(contentsOf path: String) throws(TensorArchiveError) {
        let bytes: [UInt8]
        do { bytes = try readFile(path) } catch { throw TensorArchiveError(path: path, reason: error.reason) }
        try self.init(decoding: bytes, source: path)
    }

    private func append<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    private func appendString(_ s: String, to out: inout [UInt8]) {
        let bytes = Array(s.utf8)
        append(UInt32(bytes.count), to: &out)
        out.append(contentsOf: bytes)
    }

    private struct Reader {
        let bytes: [UInt8], end: Int, source: String
        var offset = 0

        func error(_ reason: String) -> TensorArchiveError {
            TensorArchiveError(path: source, reason: "\(reason) at byte \(offset)")
        }
        mutating func bytes(_ n: Int) throws(TensorArchiveError) -> ArraySlice<UInt8> {
            guard n >= 0, offset + n <= end else { throw error("entry runs past the end of the file") }
            defer { offset += n }
            return bytes[offset..<(offset + n)]
        }
        mutating func u8() throws(TensorArchiveError) -> UInt8 { try bytes(1).first! }
        mutating func int<T: FixedWidthInteger>(_: T.Type) throws(TensorArchiveError) -> T {
            var v: T = 0
            for (k, b) in try bytes(MemoryLayout<T>.size).enumerated() { v |= T(b) << (8 * k) }
            return v
        }
        mutating func u32() throws(TensorArchiveError) -> UInt32 { try int(UInt32.self) }
        mutating func u64() throws(TensorArchiveError) -> UInt64 { try int(UInt64.self) }
        mutating func string(_ n: Int) throws(TensorArchiveError) -> String {
            let raw = try bytes(n)
            guard let s = String(validating: raw, as: UTF8.self) else { throw error("name is not UTF-8") }
            return s
        }
    }
}

/// A tensor archive that could not be read or written.
public struct TensorArchiveError: Error, CustomStringConvertible {
    public let path: String, reason: String
    public var description: String { "\(path): \(reason)" }
}

/// 64-bit FNV-1a over bytes.
func fnv1a<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
}
