import JSON
import Testing
@testable import Genotype

/// The run folder's own files are genotype inputs too.
@Suite struct RunFileInputTests {
    @Test func readsCheckpointHistoryLines() throws {
        var other = referenceGenotype
        other.normal.nodes[0][0].op = "max_pool_3x3"
        let lines: [JSONValue] = [["iteration": 10, "genotype": referenceGenotype.json],
                                  ["iteration": 20, "genotype": other.json]]
        let records = try GenotypeInput.parse(lines.map { $0.serialized() }.joined(separator: "\n"), source: "genotypes.jsonl")
        #expect(records.map(\.genotype) == [referenceGenotype, other])
        #expect(records.map(\.origin) == ["genotypes.jsonl:1 (iteration 10)", "genotypes.jsonl:2 (iteration 20)"])
    }

    @Test func readsEveryTaskOfAnEvaluation() throws {
        var other = referenceGenotype
        other.reduce.nodes[1][1].input = 0
        let evaluation: JSONValue = ["accuracy": 0.9, "per_task": [
            ["accuracy": 1.0, "genotype": referenceGenotype.json],
            ["accuracy": 0.8, "genotype": other.json],
        ]]
        let records = try GenotypeInput.parse(evaluation.serialized(pretty: true), source: "evaluation.json")
        #expect(records.map(\.genotype) == [referenceGenotype, other])
        #expect(records.map(\.origin) == ["evaluation.json task 1", "evaluation.json task 2"])
    }

    @Test func aBrokenTaskEntryIsPlaced() {
        let text = "{\"per_task\": [{\"accuracy\": 1.0}]}"
        #expect(jsonError { _ = try GenotypeInput.parse(text, source: "evaluation.json") }.hasPrefix("evaluation.json:1:15:"))
    }
}
