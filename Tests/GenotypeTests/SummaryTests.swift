import JSON
import Testing
@testable import Genotype

@Suite struct SummaryTests {
    @Test func countsHistogramsAndConsensus() {
        var rng = SplitMix(seed: 17)
        let base = referenceGenotype
        var variant = base
        variant.normal.nodes[2][0].op = "skip_connect"
        // 3 x base (two of them renumbered), 1 x variant.
        let renumberedBase = Genotype(normal: renumbered(base.normal, &rng), reduce: renumbered(base.reduce, &rng))
        let all = [base, renumberedBase, base, variant]
        let summary = GenotypeSummary(all)
        #expect(summary.count == 4)
        #expect(summary.distinctGenotypes.map(\.count) == [3, 1])
        #expect(summary.distinctGenotypes[0].hash == base.canonicalHash)
        #expect(summary.normal.distinct.map(\.count) == [3, 1])
        #expect(summary.reduce.distinct.map(\.count) == [4])
        #expect(summary.normal.skipHistogram == [1: 3, 2: 1])
        #expect(summary.normal.meanSkips == 1.25)
        #expect(summary.normal.opCounts.first! == (op: "sep_conv_3x3", count: 8))
        #expect(summary.normal.opCounts.first(where: { $0.op == "skip_connect" })!.count == 5)
        #expect(summary.consensus?.canonicalHash == base.canonicalHash)
        let text = summary.text
        #expect(text.hasPrefix("genotypes: 4, distinct: 2\n"))
        #expect(text.contains("skip_connect edges per cell: mean 1.25; cells by count {1: 3, 2: 1}"))
        #expect(text.contains("consensus genotype:\n" + summary.consensus!.dartsString))
    }

    @Test func emptySummary() {
        let summary = GenotypeSummary([])
        #expect(summary.count == 0)
        #expect(summary.consensus == nil)
        #expect(summary.text.hasPrefix("genotypes: 0, distinct: 0"))
    }
}
