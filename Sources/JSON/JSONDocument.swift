import CJSON

/// A parsed JSON text: its value plus where each part of it stands in the text.
///
/// json-c values forget their source positions, yet later checks (an unknown plugin name, a
/// weight matrix of the wrong size) must point at the offending place. After json-c accepts the
/// text, a small scanner walks it once more and records the line and column of every value and
/// every object key by JSON path, so that
///
/// ```swift
/// let doc = try JSONDocument.parse(text, source: "catalog.json")
/// doc.position(of: ["plugins", 3, "name"])   // (line: 40, column: 15)
/// throw doc.error(at: ["plugins", 3, "name"], "unknown plugin 'foo'")
/// // catalog.json:40:15: error: plugins[3].name: unknown plugin 'foo'
/// ```
public struct JSONDocument: Sendable {
    /// The default limit on nested arrays and objects.
    public static let defaultMaxDepth = 64

    /// The document's value.
    public let value: JSONValue
    /// The name the text came from, used in error messages.
    public let source: String
    private let valuePositions: [JSONPath: TextPosition]
    private let keyPositions: [JSONPath: TextPosition]

    /// A document for a value built in code: it has no positions, errors name only the path.
    public init(value: JSONValue, source: String) {
        self.value = value
        self.source = source
        self.valuePositions = [:]
        self.keyPositions = [:]
    }

    /// Parses JSON text with json-c in strict mode.
    ///
    /// - Parameters:
    ///   - text: the JSON text (one value; only whitespace may follow it).
    ///   - source: the file name or label used in error messages.
    ///   - firstLine: the line number of the text's first line (for one line of a JSON-lines file).
    ///   - maxDepth: the most arrays and objects that may nest inside each other.
    /// - Throws: `JSONError` with line and column for syntax errors (with json-c's description),
    ///   nesting deeper than `maxDepth`, duplicate keys, numbers out of range, and anything
    ///   json-c lets through that JSON forbids (`NaN`, `1.`, raw control characters in strings).
    public static func parse(
        _ text: String, source: String, firstLine: Int = 1, maxDepth: Int = defaultMaxDepth
    ) throws(JSONError) -> JSONDocument {
        try parse(bytes: Array(text.utf8), source: source, firstLine: firstLine, maxDepth: maxDepth)
    }

    /// Parses JSON bytes, which must be well-formed UTF-8.
    ///
    /// - Throws: `JSONError` as for ``parse(_:source:firstLine:maxDepth:)``, and for invalid
    ///   UTF-8 with the position and byte offset of the first bad byte.
    public static func parse(
        bytes: [UInt8], source: String, firstLine: Int = 1, maxDepth: Int = defaultMaxDepth
    ) throws(JSONError) -> JSONDocument {
        try parse(bytes: bytes, source: source, firstLine: firstLine, maxDepth: maxDepth, recordPositions: true)
    }

    static func parse(
        bytes: [UInt8], source: String, firstLine: Int, maxDepth: Int, recordPositions: Bool
    ) throws(JSONError) -> JSONDocument {
        func located(_ offset: Int, _ message: String) -> JSONError {
            var tracker = PositionTracker(bytes: bytes, firstLine: firstLine)
            let p = tracker.position(at: offset)
            return JSONError(source: source, line: p.line, column: p.column, message: message)
        }
        if let bad = firstInvalidUTF8Offset(in: bytes) {
            let hex = String(bytes[bad], radix: 16, uppercase: true)
            throw located(bad, "invalid UTF-8 (byte 0x\(hex.count == 1 ? "0" : "")\(hex) at offset \(bad))")
        }
        let value: JSONValue
        switch CJSON.parse(bytes, maxDepth: maxDepth) {
        case .success(let v):
            value = v
        case .failure(var f):
            if f.code == json_tokener_error_depth {
                // json-c may stop at a scalar inside the innermost container; point at the
                // bracket that opens one level too many instead.
                var scanner = JSONScanner(bytes: bytes, firstLine: firstLine, maxDepth: maxDepth, recordPositions: false)
                do { try scanner.scan() } catch { if error.offset <= f.offset { f.offset = error.offset } }
            }
            throw located(f.offset, syntaxMessage(f, bytes: bytes, maxDepth: maxDepth))
        }
        var scanner = JSONScanner(bytes: bytes, firstLine: firstLine, maxDepth: maxDepth, recordPositions: recordPositions)
        do {
            try scanner.scan()
        } catch {
            throw located(error.offset, error.message)
        }
        return JSONDocument(value: value, source: source, values: scanner.valuePositions, keys: scanner.keyPositions)
    }

    private init(value: JSONValue, source: String, values: [JSONPath: TextPosition], keys: [JSONPath: TextPosition]) {
        self.value = value
        self.source = source
        self.valuePositions = values
        self.keyPositions = keys
    }

    /// Reads and parses a file; errors carry the path as their source.
    ///
    /// - Throws: `FileError` when the file cannot be read, `JSONError` when it is not valid JSON.
    public static func load(contentsOf path: String, maxDepth: Int = defaultMaxDepth) throws -> JSONDocument {
        try parse(bytes: readFileBytes(path), source: path, maxDepth: maxDepth)
    }

    /// Where the value at `path` starts, or `nil` when the path is not in the document.
    public func position(of path: JSONPath) -> (line: Int, column: Int)? {
        valuePositions[path].map { (line: $0.line, column: $0.column) }
    }

    /// Where the key of the object member at `path` starts (its opening quote), or `nil` when
    /// `path` does not end in a key of the document.
    public func keyPosition(of path: JSONPath) -> (line: Int, column: Int)? {
        keyPositions[path].map { (line: $0.line, column: $0.column) }
    }

    /// An error about the value at `path`, placed at that value, or at its nearest enclosing
    /// value that exists in the text. The message is prefixed with the path (unless it is the root).
    ///
    /// - Parameters:
    ///   - path: where the problem is.
    ///   - message: what is wrong, e.g. `unknown plugin 'foo'`.
    ///   - atKey: place the error at the member's key rather than at its value.
    public func error(at path: JSONPath, _ message: String, atKey: Bool = false) -> JSONError {
        let text = path.isEmpty ? message : "\(jsonPathDescription(path)): \(message)"
        var place: TextPosition? = atKey ? keyPositions[path] : nil
        var prefix = path[...]
        while place == nil {
            place = valuePositions[Array(prefix)]
            if prefix.isEmpty { break }
            prefix = prefix.dropLast()
        }
        return JSONError(source: source, line: place?.line, column: place?.column, message: text)
    }

    /// A cursor at the root value, for reading the document with positioned errors.
    public var root: JSONCursor { JSONCursor(document: self, path: []) }
}

extension JSONValue {
    /// Parses JSON text with json-c (see ``JSONDocument/parse(_:source:firstLine:maxDepth:)``).
    ///
    /// - Throws: `JSONError` with line and column.
    public static func parse(_ text: String, source: String, maxDepth: Int = JSONDocument.defaultMaxDepth) throws(JSONError) -> JSONValue {
        try JSONDocument.parse(bytes: Array(text.utf8), source: source, firstLine: 1, maxDepth: maxDepth, recordPositions: false).value
    }

    /// Parses JSON bytes, which must be well-formed UTF-8.
    ///
    /// - Throws: `JSONError` with line and column.
    public static func parse(bytes: [UInt8], source: String, maxDepth: Int = JSONDocument.defaultMaxDepth) throws(JSONError) -> JSONValue {
        try JSONDocument.parse(bytes: bytes, source: source, firstLine: 1, maxDepth: maxDepth, recordPositions: false).value
    }
}

/// Our wording for a json-c tokener error; json-c's own description follows in brackets.
private func syntaxMessage(_ f: CJSON.SyntaxFailure, bytes: [UInt8], maxDepth: Int) -> String {
    let here: String
    if f.offset < bytes.count {
        let b = bytes[f.offset]
        if b >= 0x20 && b < 0x7F {
            here = "'\(Character(Unicode.Scalar(b)))'"
        } else if b < 0x80 {
            let hex = String(b, radix: 16, uppercase: true)
            here = "byte 0x\(hex.count == 1 ? "0" : "")\(hex)"
        } else {
            here = "a non-ASCII character"
        }
    } else {
        here = "end of input"
    }
    let ours: String
    switch f.code {
    case json_tokener_error_depth: ours = "nesting deeper than \(maxDepth) levels"
    case json_tokener_error_parse_eof: ours = f.offset >= bytes.count ? "unexpected end of input" : "unexpected \(here)"
    case json_tokener_error_parse_unexpected:
        ours = f.offset >= bytes.count ? "unexpected end of input" : "unexpected \(here)"
    case json_tokener_error_parse_null: ours = "invalid literal (expected 'null')"
    case json_tokener_error_parse_boolean: ours = "invalid literal (expected 'true' or 'false')"
    case json_tokener_error_parse_number: ours = "invalid number"
    case json_tokener_error_parse_array: ours = "expected ',' or ']' after an array element, found \(here)"
    case json_tokener_error_parse_object_key_name: ours = "expected a string key, found \(here)"
    case json_tokener_error_parse_object_key_sep: ours = "expected ':' after an object key, found \(here)"
    case json_tokener_error_parse_object_value_sep: ours = "expected ',' or '}' after an object member, found \(here)"
    case json_tokener_error_parse_string: ours = "invalid escape sequence in string"
    case json_tokener_error_parse_comment: ours = "comments are not allowed in JSON"
    case json_tokener_error_parse_utf8_string: ours = "invalid UTF-8 in string"
    case json_tokener_error_size: ours = "document too large"
    default: ours = "syntax error"
    }
    return "\(ours) [json-c: \(f.description)]"
}
