import JSON
import Testing
@testable import Genotype

func jsonError(_ body: () throws -> Void) -> String {
    do {
        try body()
        return "no error"
    } catch {
        return "\(error)"
    }
}

@Suite struct GenotypeJSONTests {
    @Test func randomRoundTrips() throws {
        var rng = SplitMix(seed: 11)
        for _ in 0..<300 {
            let g = randomGenotype(&rng)
            let text = g.jsonText(pretty: rng.below(2) == 0)
            let back = try Genotype(jsonText: text, source: "g.json")
            #expect(back == g)
            #expect(back.json == g.json)
            #expect(back.jsonText() == g.jsonText())
        }
    }

    @Test func documentShape() {
        let g = Genotype(normal: Cell(nodes: [[Edge(op: "skip_connect", input: 1)]]), reduce: Cell(nodes: []))
        #expect(g.jsonText(pretty: false)
            == #"{"schema":"metanas.genotype/1","normal":{"nodes":[[{"op":"skip_connect","input":1}]],"concat":[2]},"reduce":{"nodes":[],"concat":[]}}"# + "\n")
    }

    @Test func malformedGenotypesArePositioned() {
        let bad = """
            {
              "schema": "metanas.genotype/1",
              "normal": {"nodes": [[{"op": "a", "input": 0}],
                                   [{"op": "b", "input": 5}]], "concat": [2, 3]},
              "reduce": {"nodes": [], "concat": []}
            }
            """
        #expect(jsonError { _ = try Genotype(jsonText: bad, source: "g.json") }
            == "g.json:4:46: error: normal.nodes[1][0].input: input 5 out of range for node 1 (expected 0...2)")
        #expect(jsonError { _ = try Genotype(jsonText: #"{"normal": {}, "reduce": {}}"#, source: "g.json") }
            == "g.json:1:1: error: missing key 'schema' (expected \"metanas.genotype/1\")")
        #expect(jsonError { _ = try Genotype(jsonText: #"{"schema": "metanas.genotype/2"}"#, source: "g.json") }
            == "g.json:1:12: error: schema: unsupported schema version 'metanas.genotype/2' (this build reads 'metanas.genotype/1')")
        #expect(jsonError {
            _ = try Genotype(jsonText: #"{"schema": "metanas.genotype/1", "normal": {"nodes": [], "concat": [2]}, "reduce": {"nodes": []}}"#, source: "g.json")
        } == "g.json:1:69: error: normal.concat[0]: 2 is not a node: the cell has no intermediate nodes")
        #expect(jsonError {
            _ = try Genotype(jsonText: #"{"schema": "metanas.genotype/1", "normal": {"nodes": [[{"op": "a", "input": 0, "x": 1}]]}, "reduce": {"nodes": []}}"#, source: "g.json")
        } == "g.json:1:80: error: normal.nodes[0][0].x: unknown key (expected one of: op, input)")
        #expect(jsonError {
            _ = try Genotype(jsonText: #"{"schema": "metanas.genotype/1", "normal": {"nodes": [[{"op": 3, "input": 0}]]}, "reduce": {"nodes": []}}"#, source: "g.json")
        } == "g.json:1:63: error: normal.nodes[0][0].op: expected a string, found an integer")
    }
}

@Suite struct ArchitectureStateTests {
    /// A reference-sized state: 3 nodes, 7 ops, pair betas, random logits.
    func sampleState(seed: UInt64 = 3) -> ArchitectureState {
        var rng = SplitMix(seed: seed)
        func logits(_ n: Int) -> [Double] { (0..<n).map { _ in Double(rng.below(2001)) / 1000 - 1 } }
        func cell() -> CellWeights {
            CellWeights(alpha: (0..<3).map { i in (0..<(i + 2)).map { _ in logits(7) } },
                        beta: .pairs((0..<3).map { i in logits((i + 2) * (i + 1) / 2) }))
        }
        var state = ArchitectureState(operations: referenceOps, normal: cell(), reduce: cell(), temperature: 0.05,
                                      threshold: 0.01, genotype: referenceGenotype,
                                      provenance: Provenance(configHash: "abc123", seed: 1, split: "background", taskID: "17",
                                                             labels: ["run": "a", "host": "x"]))
        let pruned = state.prunedOps(threshold: 0.01)
        state.normal.pruned = pruned[.normal]!
        state.reduce.pruned = pruned[.reduce]!
        return state
    }

    @Test func roundTrip() throws {
        let state = sampleState()
        #expect(!state.normal.pruned.isEmpty)
        let text = state.jsonText()
        let back = try ArchitectureState(jsonText: text, source: "a.json")
        #expect(back == state)
        #expect(back.jsonText() == text)
        var perInput = state
        perInput.normal.beta = .inputs((0..<3).map { i in (0..<(i + 2)).map { Double($0) / 10 } })
        perInput.reduce.beta = nil
        perInput.genotype = nil
        perInput.provenance = Provenance()
        #expect(try ArchitectureState(jsonText: perInput.jsonText(pretty: false), source: "a.json") == perInput)
    }

    @Test func pairsAndDerivation() {
        #expect(InputWeights.pairs(ofNode: 0).map { [$0.0, $0.1] } == [[0, 1]])
        #expect(InputWeights.pairs(ofNode: 1).map { [$0.0, $0.1] } == [[0, 1], [0, 2], [1, 2]])
        #expect(InputWeights.pairs(ofNode: 2).count == 6)
        // One dominant op per edge and a dominant pair per node give a predictable genotype.
        let ops = ["none", "a", "b"]
        func row(_ best: Int) -> [Double] { (0..<3).map { $0 == best ? 5 : 0 } }
        let weights = CellWeights(alpha: [[row(1), row(2)], [row(2), row(0), row(1)]],
                                  beta: .pairs([[0], [0, 0, 3]]))
        let state = ArchitectureState(operations: ops, normal: weights, reduce: weights, temperature: 1)
        let g = state.derivedGenotype()
        // Node 1 picks pair (1, 2); on input 1 'none' is strongest but excluded, and 'a' and 'b' tie (first wins).
        #expect(g.normal.nodes == [[Edge(op: "a", input: 0), Edge(op: "b", input: 1)], [Edge(op: "a", input: 1), Edge(op: "a", input: 2)]])
        #expect(state.resolvedGenotype == g)
        let w = state.edgeWeight(.normal, node: 0, edge: Edge(op: "a", input: 0))!
        #expect(abs(w - exp5 / (exp5 + 2)) < 1e-12)
    }

    let exp5 = 148.4131591025766

    @Test func mismatchedDocumentsArePositioned() throws {
        var value = sampleState().json
        // Drop one weight of normal.alpha[1][2].
        if case .array(var nodes)? = value["normal"]?["alpha"], case .array(var inputs) = nodes[1], case .array(var row) = inputs[2] {
            row.removeLast()
            inputs[2] = .array(row)
            nodes[1] = .array(inputs)
            var normal = value["normal"]!
            normal["alpha"] = .array(nodes)
            value["normal"] = normal
        }
        let text = value.serialized(pretty: true)
        let message = jsonError { _ = try ArchitectureState(jsonText: text, source: "a.json") }
        #expect(message.hasSuffix("error: normal.alpha[1][2]: expected 7 weights (one per operation), found 6"), "\(message)")
        let doc = try JSONDocument.parse(text, source: "a.json")
        let place = doc.position(of: ["normal", "alpha", 1, 2])!
        #expect(message.hasPrefix("a.json:\(place.line):\(place.column): "))

        #expect(jsonError {
            _ = try ArchitectureState(jsonText: """
                {"schema": "metanas.architecture/1", "operations": ["a", "b"], "temperature": 1,
                 "normal": {"alpha": [[[0, 0], [0, 0]]], "beta": {"form": "pairs", "weights": [[1, 2]]}},
                 "reduce": {"alpha": []}}
                """, source: "a.json")
        } == "a.json:2:80: error: normal.beta.weights[0]: expected 1 pair weights for node 0, found 2")
        #expect(jsonError {
            _ = try ArchitectureState(jsonText: """
                {"schema": "metanas.architecture/1", "operations": ["a", "b"], "temperature": 1,
                 "normal": {"alpha": [[[0, 0], [0, 0]]]}, "reduce": {"alpha": []},
                 "genotype": {"schema": "metanas.genotype/1", "normal": {"nodes": [[{"op": "c", "input": 0}]]},
                              "reduce": {"nodes": []}}}
                """, source: "a.json")
        } == "a.json:3:76: error: genotype.normal.nodes[0][0].op: operation 'c' is not in 'operations'")
        #expect(jsonError {
            _ = try ArchitectureState(jsonText: """
                {"schema": "metanas.architecture/1", "operations": ["a"], "temperature": 0,
                 "normal": {"alpha": []}, "reduce": {"alpha": []}}
                """, source: "a.json")
        } == "a.json:1:74: error: temperature: temperature must be positive, found 0.0")
    }
}
