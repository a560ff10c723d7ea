import Testing
@testable import JSON

@Suite struct JSONRoundTripTests {
    let sample: JSONValue = [
        "name": "metanas",
        "zeta": 1,
        "alpha": [0.1, 1e-05, -0.0, 2.0, 1e300, .double(.leastNonzeroMagnitude), 123456789.125],
        "ints": [0, -1, .int(Int64.max), .int(Int64.min)],
        "nested": ["empty_object": [:], "empty_array": [], "null": nil, "flags": [true, false]],
        "text": "quote \" backslash \\ slash / tab \t newline \n nul \u{0} é ∑ 😀",
    ]

    @Test func compactAndPrettyRoundTrip() throws {
        for pretty in [false, true] {
            let text = sample.serialized(pretty: pretty)
            let back = try JSONValue.parse(text, source: "t.json")
            #expect(back == sample, "pretty=\(pretty): \(text)")
        }
    }

    @Test func keyOrderIsKept() throws {
        let text = #"{"z":1,"a":2,"m":{"y":true,"b":false}}"#
        let value = try JSONValue.parse(text, source: "t.json")
        #expect(value.objectValue?.map(\.key) == ["z", "a", "m"])
        #expect(value.serialized() == text)
    }

    @Test func compactOutputIsExact() {
        let v: JSONValue = ["a": 1, "b": [true, nil, 0.1], "c": "x/y", "d": 1.5e-7]
        #expect(v.serialized() == #"{"a":1,"b":[true,null,0.1],"c":"x/y","d":1.5e-07}"#)
    }

    @Test func integersStayIntegers() throws {
        let v = try JSONValue.parse("[1, 1.0, -0, 2e0]", source: "t")
        #expect(v == [.int(1), .double(1.0), .int(0), .double(2.0)])
        #expect(v.serialized() == "[1,1.0,0,2.0]")
    }

    @Test func nonFiniteDoublesBecomeNull() {
        let v: JSONValue = [.double(.nan), .double(.infinity)]
        #expect(v.serialized() == "[null,null]")
    }

    @Test func randomValuesRoundTrip() throws {
        var rng = SplitMix(seed: 42)
        for _ in 0..<200 {
            let v = randomValue(&rng, depth: 0)
            let back = try JSONValue.parse(v.serialized(pretty: rng.next() % 2 == 0), source: "r")
            #expect(back == v)
        }
    }

    @Test func accessors() {
        var v: JSONValue = ["n": 3, "d": 2.5, "s": "x", "a": [1, 2], "b": true]
        #expect(v["n"]?.intValue == 3)
        #expect(v["n"]?.doubleValue == 3.0)
        #expect(v["d"]?.intValue == nil)
        #expect(v["d"]?.doubleValue == 2.5)
        #expect(v["s"]?.stringValue == "x")
        #expect(v["a"]?[1]?.intValue == 2)
        #expect(v["a"]?[5] == nil)
        #expect(v["b"]?.boolValue == true)
        #expect(v["missing"] == nil)
        v["n"] = 4
        v["new"] = "last"
        v["s"] = nil
        #expect(v.objectValue?.map(\.key) == ["n", "d", "a", "b", "new"])
        #expect(v["n"] == 4)
    }
}

/// A tiny seeded generator (SplitMix64) so random cases are reproducible.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func randomValue(_ rng: inout SplitMix, depth: Int) -> JSONValue {
    let pick = depth > 3 ? rng.next() % 5 : rng.next() % 7
    switch pick {
    case 0: return .null
    case 1: return .bool(rng.next() % 2 == 0)
    case 2: return .int(Int64(bitPattern: rng.next()) >> (rng.next() % 64))
    case 3:
        let d = Double(bitPattern: rng.next())
        return .double(d.isFinite ? d : 0.5)
    case 4:
        let alphabet = Array("abc \"\\/\n\t\u{1}é😀∑")
        return .string(String((0..<Int(rng.next() % 8)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }))
    case 5:
        return .array((0..<Int(rng.next() % 4)).map { _ in randomValue(&rng, depth: depth + 1) })
    default:
        return .object((0..<Int(rng.next() % 4)).map { k in (key: "k\(k)", value: randomValue(&rng, depth: depth + 1)) })
    }
}
