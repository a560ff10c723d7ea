/// A lightweight second pass over JSON text that json-c has already accepted.
///
/// json-c keeps no source positions, keeps the last of duplicate keys, saturates huge integers and
/// accepts a few non-JSON spellings in strict mode (`NaN`, `Infinity`, `1.`, raw tabs in strings).
/// This scanner walks the same bytes without building values and
/// - records the position of every value and every object key by JSON path,
/// - rejects duplicate keys (at the position of the second key),
/// - rejects numbers that do not fit an `Int64` (integers) or a finite `Double`,
/// - rejects what RFC 8259 forbids but json-c lets through,
/// - enforces the nesting limit exactly (json-c counts a scalar inside the innermost container
///   as one more level, so it is given one level of slack).
/// It is iterative, so its stack use does not grow with nesting depth.
struct JSONScanner {
    struct Failure: Error {
        var offset: Int
        var message: String
    }

    private enum Frame {
        case object(keys: Set<String>)
        case array(count: Int)
    }

    private enum State {
        case value, key, afterValue, done
    }

    private let bytes: [UInt8]
    private let maxDepth: Int
    private let recordPositions: Bool
    private var tracker: PositionTracker
    private var i = 0
    private(set) var valuePositions: [JSONPath: TextPosition] = [:]
    private(set) var keyPositions: [JSONPath: TextPosition] = [:]

    init(bytes: [UInt8], firstLine: Int, maxDepth: Int, recordPositions: Bool) {
        self.bytes = bytes
        self.maxDepth = maxDepth
        self.recordPositions = recordPositions
        self.tracker = PositionTracker(bytes: bytes, firstLine: firstLine)
    }

    mutating func scan() throws(Failure) {
        var path: JSONPath = []
        var stack: [Frame] = []
        var state = State.value
        skipWhitespace()
        while true {
            switch state {
            case .done:
                skipWhitespace()
                guard i == bytes.count else { throw Failure(offset: i, message: "unexpected text after the document") }
                return
            case .value:
                if recordPositions { valuePositions[path] = tracker.position(at: i) }
                guard i < bytes.count else { throw Failure(offset: i, message: "unexpected end of input") }
                switch bytes[i] {
                case UInt8(ascii: "{"):
                    guard stack.count < maxDepth else {
                        throw Failure(offset: i, message: "nesting deeper than \(maxDepth) levels")
                    }
                    i += 1
                    skipWhitespace()
                    if peek(UInt8(ascii: "}")) {
                        i += 1
                        state = .afterValue
                    } else {
                        stack.append(.object(keys: []))
                        state = .key
                    }
                case UInt8(ascii: "["):
                    guard stack.count < maxDepth else {
                        throw Failure(offset: i, message: "nesting deeper than \(maxDepth) levels")
                    }
                    i += 1
                    skipWhitespace()
                    if peek(UInt8(ascii: "]")) {
                        i += 1
                        state = .afterValue
                    } else {
                        stack.append(.array(count: 0))
                        path.append(.index(0))
                        state = .value
                    }
                case UInt8(ascii: "\""):
                    _ = try scanString(decode: false)
                    state = .afterValue
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    try scanNumber()
                    state = .afterValue
                default:
                    try scanLiteral()
                    state = .afterValue
                }
            case .key:
                guard peek(UInt8(ascii: "\"")) else { throw Failure(offset: i, message: "expected a string key") }
                let keyStart = i
                let key = try scanString(decode: true)
                guard case .object(var keys) = stack[stack.count - 1] else {
                    preconditionFailure("JSONScanner: key state outside an object")
                }
                if keys.contains(key) {
                    throw Failure(offset: keyStart, message: "duplicate key '\(key)' in object")
                }
                keys.insert(key)
                stack[stack.count - 1] = .object(keys: keys)
                path.append(.key(key))
                if recordPositions { keyPositions[path] = tracker.position(at: keyStart) }
                skipWhitespace()
                guard peek(UInt8(ascii: ":")) else { throw Failure(offset: i, message: "expected ':' after object key") }
                i += 1
                skipWhitespace()
                state = .value
            case .afterValue:
                skipWhitespace()
                guard let top = stack.last else {
                    state = .done
                    continue
                }
                guard i < bytes.count else { throw Failure(offset: i, message: "unexpected end of input") }
                let c = bytes[i]
                i += 1
                path.removeLast()
                switch (top, c) {
                case (.object, UInt8(ascii: ",")):
                    skipWhitespace()
                    state = .key
                case (.object, UInt8(ascii: "}")), (.array, UInt8(ascii: "]")):
                    stack.removeLast()
                    state = .afterValue
                case (.array(let count), UInt8(ascii: ",")):
                    stack[stack.count - 1] = .array(count: count + 1)
                    path.append(.index(count + 1))
                    skipWhitespace()
                    state = .value
                default:
                    throw Failure(offset: i - 1, message: "unexpected character")
                }
            }
        }
    }

    private func peek(_ c: UInt8) -> Bool { i < bytes.count && bytes[i] == c }

    private mutating func skipWhitespace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    /// Scans a string starting at its opening quote; returns its decoded text when `decode`.
    private mutating func scanString(decode: Bool) throws(Failure) -> String {
        i += 1  // opening quote
        var scalars = String.UnicodeScalarView()
        var runStart = i
        func flushRun(_ end: Int) {
            if decode && end > runStart {
                scalars.append(contentsOf: String(decoding: bytes[runStart..<end], as: UTF8.self).unicodeScalars)
            }
        }
        while true {
            guard i < bytes.count else { throw Failure(offset: i, message: "unterminated string") }
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                flushRun(i)
                i += 1
                return String(scalars)
            }
            if c < 0x20 {
                let hex = String(c, radix: 16, uppercase: true)
                throw Failure(offset: i, message: "control character U+\(String(repeating: "0", count: 4 - hex.count))\(hex) must be escaped in a string")
            }
            if c != UInt8(ascii: "\\") {
                i += 1
                continue
            }
            flushRun(i)
            let escapeStart = i
            i += 1
            guard i < bytes.count else { throw Failure(offset: i, message: "unterminated string") }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var code = try hex4(at: escapeStart)
                if (0xD800...0xDBFF).contains(code), i + 1 < bytes.count,
                    bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u")
                {
                    let save = i
                    i += 2
                    let low = try hex4(at: save)
                    if (0xDC00...0xDFFF).contains(low) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        i = save  // a lone high surrogate; the next escape stands alone
                    }
                }
                // Lone surrogates become U+FFFD, as json-c does.
                scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
            default:
                throw Failure(offset: escapeStart, message: "invalid escape sequence in string")
            }
            runStart = i
        }
    }

    private mutating func hex4(at escapeStart: Int) throws(Failure) -> UInt32 {
        guard i + 4 <= bytes.count else { throw Failure(offset: escapeStart, message: "invalid \\u escape in string") }
        var value: UInt32 = 0
        for k in 0..<4 {
            let c = bytes[i + k]
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw Failure(offset: escapeStart, message: "invalid \\u escape in string")
            }
            value = value * 16 + digit
        }
        i += 4
        return value
    }

    /// Checks the RFC 8259 number grammar and that the value is representable.
    private mutating func scanNumber() throws(Failure) {
        let start = i
        func isDigit(_ k: Int) -> Bool { k < bytes.count && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[k]) }
        var integral = true
        if peek(UInt8(ascii: "-")) { i += 1 }
        var grammarOK = isDigit(i)
        if peek(UInt8(ascii: "0")) {
            i += 1
        } else {
            while isDigit(i) { i += 1 }
        }
        if peek(UInt8(ascii: ".")) {
            integral = false
            i += 1
            grammarOK = grammarOK && isDigit(i)
            while isDigit(i) { i += 1 }
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            integral = false
            i += 1
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { i += 1 }
            grammarOK = grammarOK && isDigit(i)
            while isDigit(i) { i += 1 }
        }
        // Swallow whatever else json-c took as part of the token so the message shows all of it.
        while i < bytes.count, isTokenByte(bytes[i]) { i += 1 }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        guard grammarOK, !text.isEmpty, isNumberEnd(i) else {
            throw Failure(offset: start, message: "invalid number '\(text)'")
        }
        if integral {
            guard Int64(text) != nil else {
                throw Failure(offset: start, message: "number out of range: \(text) does not fit a 64-bit integer")
            }
        } else {
            guard let d = Double(text), d.isFinite else {
                throw Failure(offset: start, message: "number out of range: \(text) is too large for a double")
            }
        }
    }

    private func isTokenByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "."), UInt8(ascii: "+"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    private func isNumberEnd(_ k: Int) -> Bool { k >= bytes.count || !isTokenByte(bytes[k]) }

    private mutating func scanLiteral() throws(Failure) {
        let start = i
        while i < bytes.count, isTokenByte(bytes[i]) { i += 1 }
        let word = String(decoding: bytes[start..<i], as: UTF8.self)
        switch word {
        case "true", "false", "null":
            return
        case "NaN", "Infinity", "-Infinity", "nan", "inf", "-inf":
            throw Failure(offset: start, message: "'\(word)' is not a JSON number (JSON has no NaN or infinity)")
        case "":
            throw Failure(offset: start, message: "unexpected character")
        default:
            throw Failure(offset: start, message: "invalid literal '\(word)'")
        }
    }
}

/// Turns increasing byte offsets into lines and columns in one forward pass.
struct PositionTracker {
    private let bytes: [UInt8]
    private var offset = 0
    private var line: Int
    private var column = 1

    init(bytes: [UInt8], firstLine: Int) {
        self.bytes = bytes
        self.line = firstLine
    }

    /// The position of `target`; calls must not go backwards.
    mutating func position(at target: Int) -> TextPosition {
        precondition(target >= offset, "PositionTracker: offsets must increase (\(target) < \(offset))")
        let target = min(target, bytes.count)
        while offset < target {
            let b = bytes[offset]
            if b == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += 1
            }
            offset += 1
        }
        return TextPosition(line: line, column: column)
    }
}
