/// Checks that `bytes` are well-formed UTF-8 (no overlong forms, no surrogates, nothing above
/// U+10FFFF, no truncated sequences).
///
/// - Returns: the byte offset of the first byte of the first ill-formed sequence, or `nil`.
public func firstInvalidUTF8Offset<C: Collection>(in bytes: C) -> Int? where C.Element == UInt8, C.Index == Int {
    var i = bytes.startIndex
    let end = bytes.endIndex
    while i < end {
        let b0 = bytes[i]
        if b0 < 0x80 {
            i += 1
            continue
        }
        let length: Int
        var lowerBound: UInt8 = 0x80  // allowed range of the second byte
        var upperBound: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lowerBound = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upperBound = 0x9F  // no UTF-16 surrogates
        case 0xF0: length = 4; lowerBound = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upperBound = 0x8F  // nothing above U+10FFFF
        default: return i - bytes.startIndex
        }
        guard i + length <= end else { return i - bytes.startIndex }
        let b1 = bytes[i + 1]
        guard b1 >= lowerBound, b1 <= upperBound else { return i - bytes.startIndex }
        for k in 2..<length where bytes[i + k] & 0xC0 != 0x80 { return i - bytes.startIndex }
        i += length
    }
    return nil
}
