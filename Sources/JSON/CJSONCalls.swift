import CJSON

/// The only place that talks to json-c. Every call that can fail turns its failure into a Swift
/// value here; no `json_object *` or `json_tokener *` leaves this file.
enum CJSON {
    struct SyntaxFailure: Error {
        var offset: Int
        var code: json_tokener_error
        var description: String
    }

    /// Parses `bytes` (without a terminating NUL) in strict mode with a bounded nesting depth.
    ///
    /// json-c only finishes a top-level scalar (`123`) when it sees the end of the input, so the
    /// buffer handed to it carries one extra NUL byte; text after the document is an error.
    static func parse(_ bytes: [UInt8], maxDepth: Int) -> Result<JSONValue, SyntaxFailure> {
        guard bytes.count < Int(Int32.max) - 1 else {
            return .failure(SyntaxFailure(offset: 0, code: json_tokener_error_size, description: "document is larger than 2 GiB"))
        }
        guard let tokener = json_tokener_new_ex(Int32(clamping: maxDepth + 1)) else {
            return .failure(SyntaxFailure(offset: 0, code: json_tokener_error_size, description: "out of memory"))
        }
        defer { json_tokener_free(tokener) }
        json_tokener_set_flags(tokener, JSON_TOKENER_STRICT)
        var buffer = bytes
        buffer.append(0)
        let (object, error, end): (OpaquePointer?, json_tokener_error, Int) = buffer.withUnsafeBufferPointer { raw in
            raw.withMemoryRebound(to: CChar.self) { chars in
                let o = json_tokener_parse_ex(tokener, chars.baseAddress, Int32(chars.count))
                return (o, json_tokener_get_error(tokener), Int(json_tokener_get_parse_end(tokener)))
            }
        }
        defer { if let object { json_object_put(object) } }
        if error != json_tokener_success {
            let description = String(cString: json_tokener_error_desc(error))
            return .failure(SyntaxFailure(offset: min(end, bytes.count), code: error, description: description))
        }
        // Only whitespace may follow the document (json-c stops at the first byte after it).
        var k = end
        while k < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[k]) { k += 1 }
        if k < bytes.count {
            return .failure(SyntaxFailure(offset: k, code: json_tokener_error_parse_unexpected, description: "unexpected character"))
        }
        return .success(convert(object))
    }

    /// Builds the Swift value of a json-c tree (recursion depth is bounded by the tokener's).
    private static func convert(_ object: OpaquePointer?) -> JSONValue {
        guard let object else { return .null }
        switch json_object_get_type(object) {
        case json_type_null:
            return .null
        case json_type_boolean:
            return .bool(json_object_get_boolean(object) != 0)
        case json_type_int:
            return .int(json_object_get_int64(object))
        case json_type_double:
            return .double(json_object_get_double(object))
        case json_type_string:
            let length = Int(json_object_get_string_len(object))
            guard let chars = json_object_get_string(object) else { return .string("") }
            let bytes = UnsafeRawBufferPointer(start: chars, count: length)
            return .string(String(decoding: bytes, as: UTF8.self))
        case json_type_array:
            let count = json_object_array_length(object)
            var elements: [JSONValue] = []
            elements.reserveCapacity(count)
            for k in 0..<count { elements.append(convert(json_object_array_get_idx(object, k))) }
            return .array(elements)
        case json_type_object:
            var members: [(key: String, value: JSONValue)] = []
            var it = json_object_iter_begin(object)
            var end = json_object_iter_end(object)
            while json_object_iter_equal(&it, &end) == 0 {
                let key = String(cString: json_object_iter_peek_name(&it))
                members.append((key: key, value: convert(json_object_iter_peek_value(&it))))
                json_object_iter_next(&it)
            }
            return .object(members)
        default:
            preconditionFailure("json-c returned an unknown type \(json_object_get_type(object))")
        }
    }

    /// Serializes a value with json-c. Doubles carry their own shortest round-trip text
    /// (`json_object_new_double_s`), so no global or per-thread format state is touched.
    static func serialize(_ value: JSONValue, pretty: Bool) -> String {
        let root = makeObject(value)
        defer { if let root { json_object_put(root) } }
        var flags = JSON_C_TO_STRING_NOSLASHESCAPE
        if pretty { flags |= JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED }
        var length = 0
        guard let text = json_object_to_json_string_length(root, flags, &length) else {
            preconditionFailure("json-c failed to serialize a value (out of memory?)")
        }
        let bytes = UnsafeRawBufferPointer(start: text, count: length)
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func makeObject(_ value: JSONValue) -> OpaquePointer? {
        switch value {
        case .null:
            return nil
        case .bool(let b):
            return json_object_new_boolean(b ? 1 : 0)
        case .int(let i):
            return json_object_new_int64(i)
        case .double(let d):
            // JSON has no NaN or infinity; they are written as null.
            guard d.isFinite else { return nil }
            return json_object_new_double_s(d, d.description)
        case .string(let s):
            var copy = s
            return copy.withUTF8 { utf8 in
                utf8.withMemoryRebound(to: CChar.self) { chars in
                    guard let base = chars.baseAddress else { return json_object_new_string("") }
                    return json_object_new_string_len(base, Int32(clamping: chars.count))
                }
            }
        case .array(let elements):
            let array = json_object_new_array_ext(Int32(clamping: elements.count))
            for e in elements { json_object_array_add(array, makeObject(e)) }
            return array
        case .object(let members):
            let object = json_object_new_object()
            for m in members { json_object_object_add(object, m.key, makeObject(m.value)) }
            return object
        }
    }
}
