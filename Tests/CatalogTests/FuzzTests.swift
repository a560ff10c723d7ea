import Engine
import Foundation
import JSON
import Testing
@testable import Catalog

/// Thousands of mutated catalogs through the whole loader (parse, decode, registry, pipeline
/// checks): none may crash or hang, and each must come back with problems or a catalog.
@Suite struct FuzzTests {
    static let cases = 2_400

    /// Catalog texts to mutate: the default catalog, the example plugin's, and a small one.
    static let seeds: [[UInt8]] = {
        let example = (try? Fixtures.packageFile("Plugins/ExampleOperation/catalog.json")) ?? "{}"
        let small = Fixtures.catalog(plugins: """
            [{"kind": "pruner", "name": "hard", "summary": "s", "source": "built-in",
              "parameters": {"retrainSteps": {"type": "int", "default": 3, "range": "[0, 9]", "setting": "hardRetrainSteps"}}},
             {"kind": "operation", "name": "x", "summary": "s", "source": {"library": "lib/x.so"}}]
            """, pipelines: """
            [{"name": "p", "preset": "tiny", "dataset": "synthetic", "searchSpace": {"operations": ["x", "conv_3x3"], "nodes": 1},
              "taskLearner": "darts", "metaLearner": {"name": "reptile", "parameters": {"weightStep": 2}}, "pruner": "hard",
              "settings": {"iterations": 2}}]
            """)
        return [DefaultCatalog.text, example, small].map { Array($0.utf8) }
    }()

    /// Values of every JSON type, including awkward ones.
    static let oddValues: [JSONValue] = [
        .null, true, 0, -1, .int(Int64.max), .int(Int64.min), 1e308, -0.0, .double(.leastNonzeroMagnitude), "", "built-in", "[0, 1)", "(0, inf)",
        "../../../etc/passwd", "/lib/x86_64-linux-gnu/libc.so.6", "operation", "meta-learner", .string(String(repeating: "a", count: 5000)),
        "\u{0}", "ü\u{FFFF}", [], [1, "a", nil], [:], ["library": "x.so"], ["name": "reptile", "parameters": ["weightStep": 1e300]],
    ]

    /// One mutation of `seed`, chosen and shaped by `g`.
    static func mutate(_ seed: [UInt8], _ g: inout SeededGenerator) -> [UInt8] {
        var bytes = seed
        switch g.nextInt(below: 8) {
        case 0:  // truncation
            bytes = Array(bytes.prefix(g.nextInt(below: bytes.count + 1)))
        case 1:  // random byte flips, including bytes that make UTF-8 invalid
            for _ in 0..<(1 + g.nextInt(below: 8)) where !bytes.isEmpty {
                bytes[g.nextInt(below: bytes.count)] = UInt8(truncatingIfNeeded: g.next())
            }
        case 2:  // insert invalid UTF-8 or control bytes
            let junk: [[UInt8]] = [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x00], [0xE2, 0x82]]
            bytes.insert(contentsOf: junk[g.nextInt(below: junk.count)], at: g.nextInt(below: bytes.count + 1))
        case 3:  // deep nesting
            let depth = 1 + g.nextInt(below: 5000)
            let open = g.nextInt(below: 2) == 0 ? "[" : "{\"a\":"
            let text = String(repeating: open, count: depth) + "1" + String(repeating: open == "[" ? "]" : "}", count: depth)
            if g.nextInt(below: 2) == 0 {
                bytes = Array(text.utf8)
            } else {
                let at = bytes.firstIndex(of: UInt8(ascii: ":")).map { $0 + 1 } ?? 0
                bytes.insert(contentsOf: Array(text.utf8), at: at)
            }
        case 4:  // huge or odd numbers in place of a number
            let numbers = ["1e999999", "-1e400", "123456789012345678901234567890", "1.", ".5", "-", "0x10", "NaN", "Infinity",
                           "1e-400", "9223372036854775808", "-9223372036854775809", "00", "1e+"]
            let digits = bytes.indices.filter { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[$0]) }
            if let at = digits.isEmpty ? nil : digits[g.nextInt(below: digits.count)] {
                bytes.replaceSubrange(at...at, with: Array(numbers[g.nextInt(below: numbers.count)].utf8))
            }
        default:  // structural: replace, drop or duplicate a node of the parsed value (wrong types, missing keys)
            guard let value = try? JSONValue.parse(bytes: bytes, source: "seed") else { return bytes }
            var v = value
            for _ in 0..<(1 + g.nextInt(below: 3)) { v = mutateValue(v, &g, depth: 0) }
            bytes = Array(v.serialized(pretty: g.nextInt(below: 2) == 0).utf8)
        }
        return bytes
    }

    static func mutateValue(_ v: JSONValue, _ g: inout SeededGenerator, depth: Int) -> JSONValue {
        let descend = depth < 6 && g.nextInt(below: 4) != 0
        switch v {
        case .object(var members) where !members.isEmpty && descend:
            let i = g.nextInt(below: members.count)
            switch g.nextInt(below: 6) {
            case 0: members.remove(at: i)
            case 1: members[i].key += ["", "x", "Name", " "][g.nextInt(below: 4)]
            default: members[i].value = mutateValue(members[i].value, &g, depth: depth + 1)
            }
            return .object(members)
        case .array(var elements) where !elements.isEmpty && descend:
            let i = g.nextInt(below: elements.count)
            switch g.nextInt(below: 5) {
            case 0: elements.remove(at: i)
            case 1: elements.append(elements[i])  // duplicates
            default: elements[i] = mutateValue(elements[i], &g, depth: depth + 1)
            }
            return .array(elements)
        default:
            return oddValues[g.nextInt(below: oddValues.count)]
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func mutatedCatalogsNeverCrashOrHang() throws {
        let folder = try Fixtures.folder("fuzz")  // empty: no library can be found, so none is loaded
        var g = SeededGenerator(seed: 20_240_601)
        var slowest = 0.0, withProblems = 0, clean = 0
        let base = Catalog.defaultFile
        let start = monotonicSeconds()
        for k in 0..<Self.cases {
            let bytes = Self.mutate(Self.seeds[k % Self.seeds.count], &g)
            let t0 = monotonicSeconds()
            let file = Catalog.parse(bytes, source: "fuzz-\(k).json", folder: folder)
            var catalog = Catalog()
            catalog.layer(base)
            catalog.layer(file)
            let validator = CatalogValidator(registry: PluginRegistry(catalog: catalog))
            var problems = catalog.problems + validator.registry.problems + validator.documentationProblems()
            // The mutated file's pipelines (the default ones are checked elsewhere), as layered.
            for name in file.pipelines.map(\.name) { problems += catalog.pipeline(name).map { validator.problems(of: $0) } ?? [] }
            for p in problems { #expect(!p.description.isEmpty) }
            if problems.isEmpty { clean += 1 } else { withProblems += 1 }
            slowest = max(slowest, monotonicSeconds() - t0)
        }
        let total = monotonicSeconds() - start
        #expect(withProblems + clean == Self.cases)
        #expect(withProblems > Self.cases / 2, "most mutations should be reported")
        #expect(slowest < 2, "one catalog took \(slowest) s")
        #expect(total < 120, "\(Self.cases) catalogs took \(total) s")
    }

    @Test func hugeAndEmptyFilesAreRefusedPolitely() throws {
        let folder = try Fixtures.folder()
        let huge = try Fixtures.write(String(repeating: " ", count: Catalog.maxFileSize + 1), to: "huge.json", in: folder)
        #expect(Catalog.read(contentsOf: huge).problems.map(\.description) == ["\(huge): error: catalog is larger than 4 MiB"])
        let empty = try Fixtures.write("", to: "empty.json", in: folder)
        #expect(Catalog.read(contentsOf: empty).problems.first?.description.hasPrefix("\(empty):1:1: error: unexpected end of input") == true)
        #expect(Catalog.read(contentsOf: folder).problems.map(\.description) == ["\(folder): error: cannot read: is a directory"])
        #expect(Catalog.read(contentsOf: folder + "/missing.json").problems.map(\.description)
                == ["\(folder)/missing.json: error: cannot open: No such file or directory"])
    }
}
