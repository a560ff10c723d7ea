import Foundation

/// What a cache file must match to be used: the archive's exact bytes and the image size.
struct CacheKey: Equatable, Sendable {
    var archiveByteCount: UInt64
    var archiveHash: UInt64
    var imageSize: Int
}

/// The binary cache of one decoded, resized archive.
///
/// One file per archive and image size, `<archive name>-<S>px.metanas-images`, in the cache
/// folder. All integers are little-endian; the format is:
///
/// ```
/// offset  size  field
///      0     8  magic "MNASIMGS"
///      8     4  format version (1)
///     12     4  image size S
///     16     8  archive byte count
///     24     8  archive hash (Hash64 of the whole archive file)
///     32     8  payload byte count P
///     40     8  payload hash (Hash64 of the P payload bytes)
///     48     P  payload:
///               u32 n, n bytes   top folder name (UTF-8)
///               u32 A            alphabet count, then A times: u32 n, n bytes name
///               u32 C            class count, then C times:
///                                u32 alphabet index, u32 first image, u32 image count,
///                                u32 n, n bytes character name
///               u32 N            image count
///               N*S*S float32    pixels, image-major, row-major
/// ```
///
/// A file is trusted only if the magic, version, key (archive size, archive hash, S), the file
/// length, the payload hash and the internal consistency of the payload all check out;
/// anything else is reported as a ``CacheRejection`` and the caller rebuilds the file.
enum ImageCache {
    static let magic: [UInt8] = Array("MNASIMGS".utf8)
    static let version: UInt32 = 1
    static let headerSize = 48

    /// The cache file for an archive and image size inside `folder`.
    static func fileURL(in folder: URL, archiveName: String, imageSize: Int) -> URL {
        let base = archiveName.hasSuffix(".zip") ? String(archiveName.dropLast(4)) : archiveName
        return folder.appendingPathComponent("\(base)-\(imageSize)px.metanas-images")
    }

    /// Serialises an image set under a key.
    ///
    /// - Parameters:
    ///   - set: The decoded images.
    ///   - key: The archive's identity and the image size.
    /// - Returns: The complete file contents.
    static func encode(_ set: ImageSet, key: CacheKey) -> Data {
        var payload = ByteWriter()
        payload.appendString(set.name)
        payload.append(UInt32(set.alphabets.count))
        for alphabet in set.alphabets { payload.appendString(alphabet) }
        payload.append(UInt32(set.classes.count))
        for characterClass in set.classes {
            payload.append(UInt32(characterClass.alphabetIndex))
            payload.append(UInt32(characterClass.images.lowerBound))
            payload.append(UInt32(characterClass.images.count))
            payload.appendString(characterClass.name)
        }
        payload.append(UInt32(set.imageCount))
        payload.appendFloats(set.pixels)

        var file = ByteWriter()
        file.bytes.append(contentsOf: magic)
        file.append(version)
        file.append(UInt32(key.imageSize))
        file.append(key.archiveByteCount)
        file.append(key.archiveHash)
        file.append(UInt64(payload.bytes.count))
        file.append(Hash64.hash(payload.bytes))
        file.bytes.append(contentsOf: payload.bytes)
        return Data(file.bytes)
    }

    /// Parses and verifies a cache file.
    ///
    /// - Parameters:
    ///   - data: The file's contents.
    ///   - key: What the file must have been written for.
    /// - Returns: The image set, or why the file cannot be trusted.
    static func decode(_ data: Data, key: CacheKey) -> Result<ImageSet, CacheRejection> {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Result<ImageSet, CacheRejection> in
            guard raw.count >= headerSize else { return .failure(.truncated) }
            guard raw.prefix(8).elementsEqual(magic) else { return .failure(.badMagic) }
            var header = ByteReader(raw, offset: 8)
            guard let fileVersion = header.u32(), fileVersion == version else { return .failure(.unsupportedVersion) }
            guard let size = header.u32(), let byteCount = header.u64(), let archiveHash = header.u64(),
                  let payloadCount = header.u64(), let payloadHash = header.u64() else { return .failure(.truncated) }
            guard Int(size) == key.imageSize, byteCount == key.archiveByteCount, archiveHash == key.archiveHash else {
                return .failure(.staleKey)
            }
            guard UInt64(raw.count - headerSize) == payloadCount else {
                return .failure(UInt64(raw.count - headerSize) < payloadCount ? .truncated : .wrongLength)
            }
            let payload = UnsafeRawBufferPointer(rebasing: raw[headerSize...])
            guard Hash64.hash(payload) == payloadHash else { return .failure(.payloadChecksumMismatch) }
            var reader = ByteReader(payload, offset: 0)
            guard let set = parsePayload(&reader, imageSize: Int(size)), reader.offset == payload.count else {
                return .failure(.inconsistentContents)
            }
            return .success(set)
        }
    }

    /// Reads the payload after its checksum was verified; `nil` when its parts disagree.
    private static func parsePayload(_ reader: inout ByteReader, imageSize: Int) -> ImageSet? {
        guard let name = reader.string(), let alphabetCount = reader.u32() else { return nil }
        var alphabets: [String] = []
        for _ in 0..<alphabetCount {
            guard let alphabet = reader.string() else { return nil }
            alphabets.append(alphabet)
        }
        guard let classCount = reader.u32() else { return nil }
        var classes: [CharacterClass] = []
        classes.reserveCapacity(Int(classCount))
        for _ in 0..<classCount {
            guard let alphabetIndex = reader.u32().map(Int.init), let first = reader.u32().map(Int.init),
                  let count = reader.u32().map(Int.init), let className = reader.string(),
                  alphabetIndex < alphabets.count else { return nil }
            classes.append(CharacterClass(alphabetIndex: alphabetIndex, alphabet: alphabets[alphabetIndex],
                                          name: className, images: first..<(first + count)))
        }
        guard let imageCount = reader.u32().map(Int.init),
              let pixels = reader.floats(imageCount * imageSize * imageSize) else { return nil }
        return try? ImageSet(name: name, imageSize: imageSize, pixels: pixels, classes: classes, alphabets: alphabets)
    }
}

/// Why a cache file was not used.
enum CacheRejection: String, Error, Sendable {
    case badMagic = "bad magic"
    case unsupportedVersion = "unsupported format version"
    case staleKey = "written for another archive or image size"
    case truncated = "truncated"
    case wrongLength = "wrong length"
    case payloadChecksumMismatch = "payload checksum mismatch"
    case inconsistentContents = "inconsistent contents"
}

/// Appends little-endian fields to a byte buffer.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func append(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func append(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }

    mutating func appendString(_ string: String) {
        append(UInt32(string.utf8.count))
        bytes.append(contentsOf: string.utf8)
    }

    mutating func appendFloats(_ values: [Float]) {
        #if _endian(little)
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for value in values { append(value.bitPattern) }
        #endif
    }
}

/// Reads little-endian fields from a byte buffer; every read returns `nil` past the end.
struct ByteReader {
    let buffer: UnsafeRawBufferPointer
    var offset: Int

    init(_ buffer: UnsafeRawBufferPointer, offset: Int) {
        self.buffer = buffer
        self.offset = offset
    }

    mutating func u32() -> UInt32? {
        guard offset + 4 <= buffer.count else { return nil }
        defer { offset += 4 }
        return UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    mutating func u64() -> UInt64? {
        guard offset + 8 <= buffer.count else { return nil }
        defer { offset += 8 }
        return UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    mutating func string() -> String? {
        guard let length = u32().map(Int.init), offset + length <= buffer.count else { return nil }
        defer { offset += length }
        return String(decoding: UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + length)]), as: UTF8.self)
    }

    mutating func floats(_ count: Int) -> [Float]? {
        guard count >= 0, offset + count * 4 <= buffer.count else { return nil }
        let start = offset
        offset += count * 4
        return [Float](unsafeUninitializedCapacity: count) { destination, initialized in
            let source = UnsafeRawBufferPointer(rebasing: buffer[start..<(start + count * 4)])
            #if _endian(little)
            UnsafeMutableRawBufferPointer(destination).copyMemory(from: source)
            #else
            for i in 0..<count {
                destination[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: i * 4,
                                                                                             as: UInt32.self)))
            }
            #endif
            initialized = count
        }
    }
}
