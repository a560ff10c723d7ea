/// A place in a ``JSONDocument`` for reading it field by field with positioned errors.
///
/// Decoders of document formats (genotypes, catalogs) walk a document with cursors; every
/// "expected a string" or "missing key" error then names the JSON path and the line and column:
///
/// ```swift
/// let name = try doc.root.member("plugins").element(3).member("name").string()
/// // catalog.json:40:7: error: plugins[3]: missing key 'name'
/// ```
public struct JSONCursor: Sendable {
    /// The document the cursor reads.
    public let document: JSONDocument
    /// Where the cursor stands.
    public let path: JSONPath
    /// The value at ``path``.
    public let value: JSONValue

    init(document: JSONDocument, path: JSONPath) {
        self.document = document
        self.path = path
        var v = document.value
        for component in path {
            switch component {
            case .key(let k): v = v[k] ?? .null
            case .index(let i): v = v[i] ?? .null
            }
        }
        self.value = v
    }

    private init(document: JSONDocument, path: JSONPath, value: JSONValue) {
        self.document = document
        self.path = path
        self.value = value
    }

    /// An error placed at this value (see ``JSONDocument/error(at:_:atKey:)``).
    public func error(_ message: String) -> JSONError { document.error(at: path, message) }

    /// An error placed at this member's key (for unknown or misplaced keys).
    public func keyError(_ message: String) -> JSONError { document.error(at: path, message, atKey: true) }

    private func typeError(_ expected: String) -> JSONError {
        error("expected \(expected), found \(value.kindDescription)")
    }

    // MARK: Objects

    /// The object's members in document order.
    ///
    /// - Throws: `JSONError` when the value is not an object.
    public func members() throws(JSONError) -> [(key: String, cursor: JSONCursor)] {
        guard case .object(let m) = value else { throw typeError("an object") }
        return m.map { (key: $0.key, cursor: JSONCursor(document: document, path: path + [.key($0.key)], value: $0.value)) }
    }

    /// The member named `key`, which must exist.
    ///
    /// - Throws: `JSONError` when the value is not an object or lacks `key`.
    public func member(_ key: String) throws(JSONError) -> JSONCursor {
        guard case .object(let m) = value else { throw typeError("an object") }
        guard let v = m.first(where: { $0.key == key })?.value else { throw error("missing key '\(key)'") }
        return JSONCursor(document: document, path: path + [.key(key)], value: v)
    }

    /// The member named `key`, or `nil` when it is absent or `null`.
    ///
    /// - Throws: `JSONError` when the value is not an object.
    public func optionalMember(_ key: String) throws(JSONError) -> JSONCursor? {
        guard case .object(let m) = value else { throw typeError("an object") }
        guard let v = m.first(where: { $0.key == key })?.value, !v.isNull else { return nil }
        return JSONCursor(document: document, path: path + [.key(key)], value: v)
    }

    /// Rejects members whose names are not in `allowed` (typos should not pass silently).
    ///
    /// - Throws: `JSONError` at the first unknown key, listing the allowed ones.
    public func checkKeys(_ allowed: [String]) throws(JSONError) {
        guard case .object(let m) = value else { throw typeError("an object") }
        for member in m where !allowed.contains(member.key) {
            let cursor = JSONCursor(document: document, path: path + [.key(member.key)], value: member.value)
            throw cursor.keyError("unknown key (expected one of: \(allowed.joined(separator: ", ")))")
        }
    }

    // MARK: Arrays

    /// The array's elements.
    ///
    /// - Throws: `JSONError` when the value is not an array.
    public func elements() throws(JSONError) -> [JSONCursor] {
        guard case .array(let a) = value else { throw typeError("an array") }
        return a.enumerated().map { JSONCursor(document: document, path: path + [.index($0.offset)], value: $0.element) }
    }

    /// The array's elements, which must number `count`.
    ///
    /// - Parameter what: what the elements are, for the message ("weights (one per operation)").
    /// - Throws: `JSONError` when the value is not an array or has another length.
    public func elements(count: Int, of what: String) throws(JSONError) -> [JSONCursor] {
        let e = try elements()
        guard e.count == count else { throw error("expected \(count) \(what), found \(e.count)") }
        return e
    }

    /// The element at `index`, which must exist.
    public func element(_ index: Int) throws(JSONError) -> JSONCursor {
        let e = try elements()
        guard e.indices.contains(index) else { throw error("expected at least \(index + 1) elements, found \(e.count)") }
        return e[index]
    }

    // MARK: Scalars

    public func string() throws(JSONError) -> String {
        guard case .string(let s) = value else { throw typeError("a string") }
        return s
    }

    public func bool() throws(JSONError) -> Bool {
        guard case .bool(let b) = value else { throw typeError("a boolean") }
        return b
    }

    /// The value as an `Int`; `2.0` is not accepted where an integer is expected.
    public func int() throws(JSONError) -> Int {
        guard case .int(let i) = value else { throw typeError("an integer") }
        guard let v = Int(exactly: i) else { throw error("integer \(i) out of range") }
        return v
    }

    /// An integer in `range`.
    public func int(in range: ClosedRange<Int>) throws(JSONError) -> Int {
        let v = try int()
        guard range.contains(v) else { throw error("\(v) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return v
    }

    /// The value as a `Double`; integers convert.
    public func double() throws(JSONError) -> Double {
        guard let d = value.doubleValue else { throw typeError("a number") }
        return d
    }

    /// An array of numbers.
    public func doubles() throws(JSONError) -> [Double] {
        try elements().map { (c: JSONCursor) throws(JSONError) -> Double in try c.double() }
    }

    /// An array of numbers of a given length.
    public func doubles(count: Int, of what: String) throws(JSONError) -> [Double] {
        try elements(count: count, of: what).map { (c: JSONCursor) throws(JSONError) -> Double in try c.double() }
    }

    /// An array of strings.
    public func strings() throws(JSONError) -> [String] {
        try elements().map { (c: JSONCursor) throws(JSONError) -> String in try c.string() }
    }
}
