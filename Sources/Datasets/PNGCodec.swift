import CSPNG
import Foundation

/// Decodes and encodes the grayscale PNGs of Omniglot-style archives with libspng.
///
/// Only square grayscale images of 1 or 8 bits per pixel are accepted, which covers Omniglot
/// (105x105, 1 bit) and the images this module writes itself. Pixels come out as bytes,
/// 0 for ink and 255 for background, exactly what `SPNG_FMT_G8` gives.
///
/// Speed note: libspng's `SPNG_FMT_G8` conversion of 1-bit rows costs about 170 us per Omniglot
/// image, eight times the decode itself (about 20 us). So by default the rows are decoded in
/// their stored format (`SPNG_FMT_PNG`: packed bits, or bytes for 8-bit) and unpacked here
/// (`bit 1 -> 255, bit 0 -> 0`); the tests check that this equals `SPNG_FMT_G8` byte for byte.
enum PNGCodec {
    /// The eight bytes every PNG starts with.
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Decodes one PNG into `side * side` gray bytes.
    ///
    /// - Parameters:
    ///   - png: The PNG file's bytes.
    ///   - side: The width and height the image must have.
    ///   - output: Receives `side * side` bytes, row-major.
    ///   - archive: The archive name for error messages.
    ///   - entry: The entry name for error messages.
    ///   - viaG8: Let libspng convert to 8-bit gray (`SPNG_FMT_G8`, slow) instead of unpacking here.
    /// - Throws: ``DatasetError/notPNG(archive:entry:)`` without a PNG signature,
    ///   ``DatasetError/wrongImageFormat(archive:entry:found:expected:)`` for another size,
    ///   bit depth or colour type, ``DatasetError/corruptPNG(archive:entry:reason:)`` when
    ///   libspng fails.
    static func decodeGray(_ png: UnsafeRawBufferPointer, side: Int, into output: UnsafeMutableRawBufferPointer,
                           archive: String, entry: String, viaG8: Bool = false) throws {
        precondition(output.count == side * side, "decodeGray: output holds \(output.count) bytes, need \(side * side)")
        guard png.count >= signature.count, zip(png.prefix(signature.count), signature).allSatisfy({ $0 == $1 }) else {
            throw DatasetError.notPNG(archive: archive, entry: entry)
        }
        let context = try _SpngContext(encoder: false, archive: archive, entry: entry)
        try context.setBuffer(png)
        let header = try context.header()
        let found = "\(header.width)x\(header.height) pixels, \(header.bit_depth)-bit \(colorTypeName(header.color_type))"
        let expected = "\(side)x\(side) pixels, 1- or 8-bit grayscale"
        guard header.width == side, header.height == side, header.color_type == 0,
              header.bit_depth == 1 || header.bit_depth == 8 else {
            throw DatasetError.wrongImageFormat(archive: archive, entry: entry, found: found, expected: expected)
        }
        if viaG8 || header.bit_depth == 8 {
            try context.decode(format: viaG8 ? SPNG_FMT_G8 : SPNG_FMT_PNG, into: output)
            return
        }
        let stride = (side + 7) / 8
        var packed = [UInt8](repeating: 0, count: stride * side)
        try packed.withUnsafeMutableBytes { try context.decode(format: SPNG_FMT_PNG, into: $0) }
        unpackBits(packed, stride: stride, side: side, into: output.bindMemory(to: UInt8.self))
    }

    /// For each byte of packed 1-bit samples, the eight unpacked bytes (MSB first) as one
    /// little-endian word: bit 1 -> 255, bit 0 -> 0.
    private static let unpackTable: [UInt64] = (0..<256).map { (byte: Int) -> UInt64 in
        var word: UInt64 = 0
        for i in 0..<8 where (byte >> (7 - i)) & 1 == 1 {
            word |= UInt64(0xFF) << UInt64(8 * i)
        }
        return word
    }

    /// Expands rows of packed 1-bit samples into bytes, eight at a time.
    private static func unpackBits(_ packed: [UInt8], stride: Int, side: Int, into out: UnsafeMutableBufferPointer<UInt8>) {
        let fullBytes = side / 8
        packed.withUnsafeBufferPointer { packed in
            unpackTable.withUnsafeBufferPointer { table in
                let raw = UnsafeMutableRawPointer(out.baseAddress!)
                for row in 0..<side {
                    let source = row * stride, destination = row * side
                    for i in 0..<fullBytes {
                        raw.storeBytes(of: table[Int(packed[source + i])].littleEndian,
                                       toByteOffset: destination + 8 * i, as: UInt64.self)
                    }
                    for column in (fullBytes * 8)..<side {
                        let bit = (packed[source + column >> 3] >> (7 - UInt8(column & 7))) & 1
                        out[destination + column] = bit == 0 ? 0 : 255
                    }
                }
            }
        }
    }

    /// Encodes square gray bytes (0 ink ... 255 background) as a grayscale PNG.
    ///
    /// - Parameters:
    ///   - pixels: `side * side` bytes, row-major.
    ///   - side: Width and height.
    ///   - bitDepth: 1 (pixels are thresholded at 128, as in Omniglot) or 8.
    ///   - name: A name for error messages.
    /// - Returns: The PNG file's bytes (deterministic for given inputs).
    /// - Throws: ``DatasetError/writeFailed(path:reason:)`` when libspng fails.
    static func encodeGray(_ pixels: [UInt8], side: Int, bitDepth: Int, name: String) throws -> [UInt8] {
        precondition(pixels.count == side * side, "encodeGray: \(pixels.count) pixels for a \(side)x\(side) image")
        precondition(bitDepth == 1 || bitDepth == 8, "encodeGray: bit depth \(bitDepth) must be 1 or 8")
        var raw: [UInt8]
        if bitDepth == 8 {
            raw = pixels
        } else {
            let stride = (side + 7) / 8
            raw = [UInt8](repeating: 0, count: stride * side)
            for row in 0..<side {
                for column in 0..<side where pixels[row * side + column] >= 128 {
                    raw[row * stride + column / 8] |= UInt8(0x80) >> UInt8(column % 8)
                }
            }
        }
        let context = try _SpngContext(encoder: true, archive: name, entry: name)
        return try context.encode(raw, side: side, bitDepth: bitDepth)
    }

    /// A readable name for a PNG colour type.
    static func colorTypeName(_ type: UInt8) -> String {
        switch type {
        case 0: return "grayscale"
        case 2: return "RGB"
        case 3: return "palette"
        case 4: return "grayscale+alpha"
        case 6: return "RGBA"
        default: return "colour type \(type)"
        }
    }
}

/// A libspng context; every C call it makes is one method that throws a ``DatasetError``.
final class _SpngContext {
    private let handle: OpaquePointer
    private let archive: String
    private let entry: String

    init(encoder: Bool, archive: String, entry: String) throws {
        self.archive = archive
        self.entry = entry
        guard let handle = spng_ctx_new(encoder ? Int32(SPNG_CTX_ENCODER.rawValue) : 0) else {
            throw DatasetError.corruptPNG(archive: archive, entry: entry, reason: "libspng could not allocate a context")
        }
        self.handle = handle
    }

    deinit { spng_ctx_free(handle) }

    /// A decoding failure as a typed error (signature errors become ``DatasetError/notPNG(archive:entry:)``).
    private func decodeCheck(_ status: Int32) throws {
        guard status != 0 else { return }
        if status == Int32(SPNG_ESIGNATURE.rawValue) {
            throw DatasetError.notPNG(archive: archive, entry: entry)
        }
        throw DatasetError.corruptPNG(archive: archive, entry: entry, reason: String(cString: spng_strerror(status)))
    }

    /// An encoding failure as a typed error.
    private func encodeCheck(_ status: Int32) throws {
        guard status != 0 else { return }
        throw DatasetError.writeFailed(path: entry, reason: "PNG encoding: " + String(cString: spng_strerror(status)))
    }

    /// Points the decoder at the PNG bytes (`spng_set_png_buffer`); they must outlive the context's use.
    func setBuffer(_ png: UnsafeRawBufferPointer) throws {
        try decodeCheck(spng_set_png_buffer(handle, png.baseAddress, png.count))
    }

    /// Reads the image header (`spng_get_ihdr`).
    func header() throws -> spng_ihdr {
        var header = spng_ihdr()
        try decodeCheck(spng_get_ihdr(handle, &header))
        return header
    }

    /// Decodes the image in `format` (`spng_decoded_image_size` + `spng_decode_image`);
    /// `output` must have exactly the decoded size.
    func decode(format spngFormat: spng_format, into output: UnsafeMutableRawBufferPointer) throws {
        let format = Int32(spngFormat.rawValue)
        var size = 0
        try decodeCheck(spng_decoded_image_size(handle, format, &size))
        guard size == output.count else {
            throw DatasetError.corruptPNG(archive: archive, entry: entry,
                                          reason: "decoded size \(size) bytes, expected \(output.count)")
        }
        try decodeCheck(spng_decode_image(handle, output.baseAddress, output.count, format, 0))
    }

    /// Encodes raw (already packed) gray rows into an in-memory PNG
    /// (`spng_set_option`, `spng_set_ihdr`, `spng_encode_image`, `spng_get_png_buffer`).
    func encode(_ raw: [UInt8], side: Int, bitDepth: Int) throws -> [UInt8] {
        try encodeCheck(spng_set_option(handle, SPNG_ENCODE_TO_BUFFER, 1))
        var header = spng_ihdr(width: UInt32(side), height: UInt32(side), bit_depth: UInt8(bitDepth),
                               color_type: 0, compression_method: 0, filter_method: 0, interlace_method: 0)
        try encodeCheck(spng_set_ihdr(handle, &header))
        try raw.withUnsafeBytes { bytes in
            try encodeCheck(spng_encode_image(handle, bytes.baseAddress, bytes.count, Int32(SPNG_FMT_PNG.rawValue),
                                              Int32(SPNG_ENCODE_FINALIZE.rawValue)))
        }
        var length = 0
        var status: Int32 = 0
        guard let buffer = spng_get_png_buffer(handle, &length, &status) else {
            try encodeCheck(status == 0 ? Int32(SPNG_EINTERNAL.rawValue) : status)
            return []
        }
        defer { free(buffer) }
        return [UInt8](UnsafeRawBufferPointer(start: buffer, count: length))
    }
}
