import Testing
@testable import JSON

@Suite struct JSONDocumentTests {
    let text = """
        {
          "schema": "catalog/1",
          "plugins": [
            {"name": "reptile", "lr": 1.0},
            {"name": "foo",
             "args": {"k": [1, 2, 3]}}
          ],
          "empty": {}
        }
        """

    @Test func positionTable() throws {
        let doc = try JSONDocument.parse(text, source: "catalog.json")
        #expect(doc.position(of: [])! == (1, 1))
        #expect(doc.position(of: ["schema"])! == (2, 13))
        #expect(doc.keyPosition(of: ["schema"])! == (2, 3))
        #expect(doc.position(of: ["plugins"])! == (3, 14))
        #expect(doc.position(of: ["plugins", 0])! == (4, 5))
        #expect(doc.position(of: ["plugins", 1, "name"])! == (5, 14))
        #expect(doc.position(of: ["plugins", 1, "args", "k", 2])! == (6, 27))
        #expect(doc.keyPosition(of: ["plugins", 1, "args"])! == (6, 6))
        #expect(doc.position(of: ["empty"])! == (8, 12))
        #expect(doc.position(of: ["plugins", 2]) == nil)
        #expect(doc.position(of: ["nope"]) == nil)
        #expect(doc.keyPosition(of: ["plugins", 0]) == nil)
    }

    @Test func semanticErrorsArePlaced() throws {
        let doc = try JSONDocument.parse(text, source: "catalog.json")
        #expect(doc.error(at: ["plugins", 1, "name"], "unknown plugin 'foo'").description
            == "catalog.json:5:14: error: plugins[1].name: unknown plugin 'foo'")
        // A path that is not in the text falls back to its nearest enclosing value.
        #expect(doc.error(at: ["plugins", 1, "seed"], "missing").description
            == "catalog.json:5:5: error: plugins[1].seed: missing")
        #expect(doc.error(at: ["labels", "my key"], "x").description == "catalog.json:1:1: error: labels[\"my key\"]: x")
    }

    @Test func cursorErrors() throws {
        let doc = try JSONDocument.parse(text, source: "catalog.json")
        let plugin = try doc.root.member("plugins").element(1)
        #expect(try plugin.member("name").string() == "foo")
        #expect(try plugin.member("args").member("k").doubles() == [1, 2, 3])
        #expect(throws: JSONError.self) { try plugin.member("lr") }
        do {
            _ = try plugin.member("lr")
        } catch {
            #expect(error.description == "catalog.json:5:5: error: plugins[1]: missing key 'lr'")
        }
        do {
            _ = try plugin.member("name").int()
        } catch {
            #expect(error.description == "catalog.json:5:14: error: plugins[1].name: expected an integer, found a string")
        }
        do {
            try plugin.checkKeys(["name"])
        } catch {
            #expect(error.description == "catalog.json:6:6: error: plugins[1].args: unknown key (expected one of: name)")
        }
        do {
            _ = try plugin.member("args").member("k").doubles(count: 2, of: "weights")
        } catch {
            #expect(error.description == "catalog.json:6:20: error: plugins[1].args.k: expected 2 weights, found 3")
        }
    }

    @Test func documentsBuiltInCodeHaveNoPositions() throws {
        let doc = JSONDocument(value: ["a": [1, "x"]], source: "memory")
        do {
            _ = try doc.root.member("a").element(1).double()
        } catch {
            #expect(error.description == "memory: error: a[1]: expected a number, found a string")
        }
    }

    @Test func firstLineOffsetsLines() {
        do {
            _ = try JSONDocument.parse("{\"a\" 1}", source: "runs.jsonl", firstLine: 7)
        } catch {
            #expect(error.description.hasPrefix("runs.jsonl:7:6: error:"))
        }
    }
}
