import Testing
@testable import JSON

/// The error text for `text`, or a failure when it parses.
func parseError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> String {
    parseError(bytes: Array(text.utf8), sourceLocation: sourceLocation)
}

func parseError(bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> String {
    do {
        _ = try JSONDocument.parse(bytes: bytes, source: "my.json")
        Issue.record("expected a parse error", sourceLocation: sourceLocation)
        return ""
    } catch {
        return error.description
    }
}

@Suite struct JSONErrorTests {
    @Test func syntaxErrorsNameLineAndColumn() {
        #expect(parseError("{\n  \"a\": 1,\n  \"b\" 2\n}")
            == "my.json:3:7: error: expected ':' after an object key, found '2' [json-c: object property name separator ':' expected]")
        #expect(parseError("{\"a\": 1\n \"b\": 2}")
            == "my.json:2:2: error: expected ',' or '}' after an object member, found '\"' [json-c: object value separator ',' expected]")
        #expect(parseError("[1, 2\n 3]")
            == "my.json:2:2: error: expected ',' or ']' after an array element, found '3' [json-c: array value separator ',' expected]")
        #expect(parseError("[1, 2,]") == "my.json:1:7: error: unexpected ']' [json-c: unexpected character]")
        #expect(parseError("{\"é∑\": [1,\n   2") == "my.json:2:5: error: unexpected end of input [json-c: unexpected end of data]")
        #expect(parseError("") == "my.json:1:1: error: unexpected end of input [json-c: unexpected end of data]")
        #expect(parseError("{\"a\": 'x'}") == "my.json:1:7: error: unexpected ''' [json-c: unexpected character]")
        #expect(parseError("[\"\\x\"]") == "my.json:1:4: error: invalid escape sequence in string [json-c: invalid string sequence]")
    }

    @Test func trailingGarbageIsRejected() {
        #expect(parseError("{\"a\": 1}\n\n  x") == "my.json:3:3: error: unexpected 'x' [json-c: unexpected character]")
        #expect(parseError("1 2") == "my.json:1:3: error: unexpected '2' [json-c: unexpected character]")
        #expect(throws: Never.self) { try JSONValue.parse("  {\"a\": 1}  \n", source: "t") }
    }

    @Test func depthIsBounded() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try JSONValue.parse(ok, source: "t") }
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(parseError(deep) == "my.json:1:65: error: nesting deeper than 64 levels")
        let deepWithScalar = String(repeating: "[", count: 65) + "1" + String(repeating: "]", count: 65)
        #expect(parseError(deepWithScalar) == "my.json:1:65: error: nesting deeper than 64 levels [json-c: nesting too deep]")
        let okWithScalar = String(repeating: "[", count: 64) + "1" + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try JSONValue.parse(okWithScalar, source: "t") }
        // Far deeper input must fail cleanly, not overflow a stack.
        let abyss = String(repeating: "{\"a\":[", count: 100_000)
        #expect(parseError(abyss).contains("nesting deeper than 64 levels"))
        #expect(throws: Never.self) { try JSONValue.parse("[[[1]]]", source: "t", maxDepth: 3) }
        #expect(throws: JSONError.self) { try JSONValue.parse("[[[[1]]]]", source: "t", maxDepth: 3) }
    }

    @Test func invalidUTF8IsRejectedWithItsPlace() {
        // {"a": "x<FF>"} on the second line.
        let bytes: [UInt8] = Array("{\n \"a\": \"x".utf8) + [0xFF] + Array("\"}".utf8)
        #expect(parseError(bytes: bytes) == "my.json:2:9: error: invalid UTF-8 (byte 0xFF at offset 10)")
        // Truncated sequence, surrogate, overlong form.
        #expect(parseError(bytes: [0x22, 0xE2, 0x82, 0x22]).contains("invalid UTF-8 (byte 0xE2 at offset 1)"))
        #expect(parseError(bytes: [0x22, 0xED, 0xA0, 0x80, 0x22]).contains("offset 1"))
        #expect(parseError(bytes: [0x22, 0xC0, 0xAF, 0x22]).contains("offset 1"))
        #expect(firstInvalidUTF8Offset(in: Array("é∑😀".utf8)) == nil)
    }

    @Test func hugeNumbersAreReportedNotSaturated() {
        #expect(parseError("{\"seed\":\n  99999999999999999999}")
            == "my.json:2:3: error: number out of range: 99999999999999999999 does not fit a 64-bit integer")
        #expect(parseError("[-9223372036854775809]")
            == "my.json:1:2: error: number out of range: -9223372036854775809 does not fit a 64-bit integer")
        #expect(parseError("[1, 1e999]") == "my.json:1:5: error: number out of range: 1e999 is too large for a double")
        #expect(parseError("-1.5e400").contains("1:1: error: number out of range"))
        #expect((try? JSONValue.parse("[9223372036854775807, -9223372036854775808]", source: "t"))
            == [.int(Int64.max), .int(Int64.min)])
        // Underflow is not an error: the value is as close as a double gets.
        #expect((try? JSONValue.parse("1e-400", source: "t")) == .double(0))
    }

    @Test func duplicateKeysAreReportedAtTheSecondKey() {
        #expect(parseError("{\"a\": 1,\n \"b\": {\"x\": 1, \"x\": 2}}")
            == "my.json:2:16: error: duplicate key 'x' in object")
        // Escapes are decoded before comparing.
        #expect(parseError(#"{"a": 1, "\u0061": 2}"#) == "my.json:1:10: error: duplicate key 'a' in object")
        // The same key in different objects is fine.
        #expect(throws: Never.self) { try JSONValue.parse(#"[{"a": 1}, {"a": 2}]"#, source: "t") }
    }

    @Test func whatJsonCAcceptsButJSONForbids() {
        #expect(parseError("[NaN]") == "my.json:1:2: error: 'NaN' is not a JSON number (JSON has no NaN or infinity)")
        #expect(parseError("[1.]") == "my.json:1:2: error: invalid number '1.'")
        #expect(parseError("\"a\tb\"") == "my.json:1:3: error: control character U+0009 must be escaped in a string")
    }
}
