import JSON
import Testing
@testable import Genotype

@Suite struct GenotypeInputTests {
    @Test func readsEveryForm() throws {
        let g = referenceGenotype
        let single = try GenotypeInput.parse(g.jsonText(), source: "g.json")
        #expect(single.map(\.genotype) == [g])
        #expect(single[0].origin == "g.json")
        let lines = [g.json.serialized(), "", g.dartsString, g.json.serialized()].joined(separator: "\n")
        let many = try GenotypeInput.parse(lines, source: "runs.jsonl")
        #expect(many.map(\.genotype) == [g, g, g])
        #expect(many.map(\.origin) == ["runs.jsonl:1", "runs.jsonl:3", "runs.jsonl:4"])
        let state = ArchitectureState(operations: referenceOps,
                                      normal: CellWeights(alpha: (0..<3).map { i in (0..<(i + 2)).map { _ in [0, 0, 0, 0, 0, 1, 0] } }),
                                      reduce: CellWeights(alpha: (0..<3).map { i in (0..<(i + 2)).map { _ in [1, 0, 0, 0, 0, 0, 0] } }))
        let fromState = try GenotypeInput.parse(state.jsonText(), source: "a.json")
        #expect(fromState[0].architecture == state)
        #expect(fromState[0].genotype.normal.nodes.allSatisfy { $0.count == 2 && $0.allSatisfy { $0.op == "sep_conv_3x3" } })
    }

    @Test func errorsNameFileLineAndColumn() {
        let text = referenceGenotype.json.serialized() + "\nGenotype(normal=[[('a', 0]], reduce=[])\n"
        #expect(jsonError { _ = try GenotypeInput.parse(text, source: "runs.txt") }
            == "runs.txt:2:26: error: expected ')' after input index, found ']'")
        #expect(jsonError { _ = try GenotypeInput.parse("{\"schema\": \"other/1\"}", source: "x.json") }
            == "x.json:1:12: error: schema: unknown schema 'other/1' (expected 'metanas.genotype/1' or 'metanas.architecture/1')")
        #expect(jsonError { _ = try GenotypeInput.parse("{\"schema\": \"metanas.architecture/9\"}", source: "x.json") }
            == "x.json:1:12: error: schema: unsupported schema version 'metanas.architecture/9' (this build reads 'metanas.genotype/1' or 'metanas.architecture/1')")
        #expect(jsonError { _ = try GenotypeInput.parse("  \n", source: "e.json") } == "e.json: error: no genotype found (the file is empty)")
    }
}
