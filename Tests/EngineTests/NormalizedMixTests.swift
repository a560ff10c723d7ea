import Testing
@testable import Engine

@Suite("Normalised weighted sum (batch norms fused into a MixedOp's sum)")
struct NormalizedMixTests {
    /// Terms 0, 1 and 3 are normalised (term 3 with another epsilon); term 2 is plain and is
    /// input 0 again, so that input also gets a plain gradient; the drop-path scales drop
    /// samples of two terms.
    static let normalized = [true, true, false, true]
    static let epsilons: [Float] = [1e-5, 1e-5, 1e-5, 1e-3]
    static func dropScales(batch: Int) -> [[Float]?] {
        [(0..<batch).map { $0 == 1 ? 0 : 1.25 }, nil, (0..<batch).map { $0 == 0 ? 0 : 1.25 }, nil]
    }

    /// Four inputs of `shape` with per-channel offsets and scales, then the mixing weights.
    static func inputs(shape: [Int], seed: UInt64) -> [Tensor] {
        var rng = SeededGenerator(seed: seed)
        var xs = (0..<3).map { i -> Tensor in
            var x = Tensor.randomNormal(shape: shape, using: &rng)
            let plane = shape[2] * shape[3]
            for k in 0..<x.count { x.data[k] = x.data[k] * Float(i + 1) * 0.6 + Float((k / plane) % shape[1]) - 0.5 }
            return x
        }
        xs.append(Tensor(shape: [5], data: [0.7, -1.2, 0.4, 1.6, 0.9]))
        return xs
    }

    /// The mix of `v[0], v[1], v[0], v[2]` with weights `v[3]`, fused or as separate batch norms
    /// and a weighted sum, followed by a weighted sum with per-sample scales, so that the mix
    /// receives a lazily scaled output gradient.
    static func graph(_ v: [Variable], fused: Bool) -> (output: Variable, statistics: [BatchStatistics?]) {
        let batch = v[0].shape[0]
        let sources = [v[0], v[1], v[0], v[2]]
        let indices = [0, 2, 1, 4]
        let mixed: Variable, statistics: [BatchStatistics?]
        if fused {
            let terms = (0..<4).map { MixTerm(sources[$0], normalized: normalized[$0], epsilon: epsilons[$0]) }
            (mixed, statistics) = normalizedWeightedSum(terms, weights: v[3], indices: indices, sampleScales: dropScales(batch: batch))
        } else {
            var outs: [Variable] = [], stats: [BatchStatistics?] = []
            for k in 0..<4 {
                if normalized[k] {
                    let (y, s) = sources[k].batchNorm(epsilon: epsilons[k])
                    outs.append(y)
                    stats.append(s)
                } else {
                    outs.append(sources[k])
                    stats.append(nil)
                }
            }
            mixed = weightedSum(outs, weights: v[3], indices: indices, sampleScales: dropScales(batch: batch))
            statistics = stats
        }
        let output = weightedSum([mixed, v[1]], weights: v[3], indices: [3, 0],
                                 sampleScales: [(0..<batch).map { $0 == batch - 1 ? 0 : 1.5 }, nil])
        return (output, statistics)
    }

    @Test("Equals separate batch norms and a weighted sum: output, statistics and every gradient, at 1 and 2 threads",
          arguments: [[4, 3, 5, 5], [3, 2, 4, 8]], [1, 2])
    func matchesSeparateOps(shape: [Int], threads: Int) {
        let xs = Self.inputs(shape: shape, seed: 61)
        func run(fused: Bool) -> (Tensor, [BatchStatistics?], [Tensor]) {
            let tape = Tape(threads: .fixed(threads))
            let v = xs.map { tape.parameter($0) }
            let (y, stats) = Self.graph(v, fused: fused)
            var g = SeededGenerator(seed: 62)
            let projection = tape.constant(Tensor.randomNormal(shape: y.shape, using: &g))
            let grads = tape.gradients(of: (y * projection).sum())
            return (y.value, stats, v.map { grads[$0] })
        }
        let (fusedY, fusedStats, fusedGrads) = run(fused: true)
        let (y, stats, grads) = run(fused: false)
        expectClose(fusedY, y, tolerance: 1e-5)
        for k in 0..<4 {
            #expect((fusedStats[k] == nil) == (stats[k] == nil))
            guard let a = fusedStats[k], let b = stats[k] else { continue }
            #expect(a.count == b.count)
            expectClose(Tensor(shape: [a.mean.count], data: a.mean), Tensor(shape: [b.mean.count], data: b.mean))
            expectClose(Tensor(shape: [a.variance.count], data: a.variance), Tensor(shape: [b.variance.count], data: b.variance))
        }
        for i in 0..<4 {
            let scale = max(1, grads[i].data.map(abs).max() ?? 0)
            expectClose(fusedGrads[i], grads[i], tolerance: 2e-5 * scale)
        }
        #expect(grads[3].data.allSatisfy { $0 != 0 }, "every mixing weight scales some term")
    }

    @Test("Gradients w.r.t. inputs and mixing weights match finite differences")
    func gradients() {
        expectGradientsMatch(Self.inputs(shape: [4, 3, 3, 3], seed: 63)) { _, v in Self.graph(v, fused: true).output }
    }

    @Test("A mix of plain terms only equals weightedSum exactly; a normalised term alone is a batch norm")
    func degenerateMixes() {
        let xs = Self.inputs(shape: [2, 2, 3, 4], seed: 64)
        let tape = Tape()
        let v = xs.map { tape.constant($0) }
        let plain = normalizedWeightedSum([MixTerm(v[0], normalized: false), MixTerm(v[1], normalized: false)],
                                          weights: v[3], indices: [1, 2]).output
        #expect(plain.value == weightedSum([v[0], v[1]], weights: v[3], indices: [1, 2]).value)
        let one = tape.constant(Tensor(shape: [1], data: [1]))
        let alone = normalizedWeightedSum([MixTerm(v[2], normalized: true)], weights: one, indices: [0])
        expectClose(alone.output.value, v[2].batchNorm().output.value)
        #expect(alone.statistics[0]?.count == 2 * 3 * 4)
    }
}
