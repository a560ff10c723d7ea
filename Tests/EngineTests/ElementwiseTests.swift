import Testing
@testable import Engine

@Suite("Element-wise ops and reductions")
struct ElementwiseTests {
    /// 30 elements: vectorised loops of 16 and 8 lanes plus a scalar tail.
    static let shape = [2, 3, 5]

    static func inputs(_ count: Int, seed: UInt64) -> [Tensor] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Tensor.randomNormal(shape: shape, using: &rng) }
    }

    @Test("relu gradients match finite differences away from the kink")
    func relu() {
        var rng = SeededGenerator(seed: 41)
        let x = Tensor.awayFromZero(shape: Self.shape, using: &rng)
        expectGradientsMatch([x]) { _, v in v[0].relu() }
    }

    @Test("relu zeroes negatives and keeps positives")
    func reluValues() {
        let tape = Tape()
        let y = tape.constant(Tensor(shape: [4], data: [-2, -0.5, 0.5, 3])).relu()
        #expect(y.value.data == [0, 0, 0.5, 3])
    }

    @Test("add, subtract and multiply gradients match finite differences")
    func arithmetic() {
        let xs = Self.inputs(2, seed: 42)
        expectGradientsMatch(xs) { _, v in v[0] + v[1] }
        expectGradientsMatch(xs) { _, v in v[0] - v[1] }
        expectGradientsMatch(xs) { _, v in v[0] * v[1] }
    }

    @Test("A variable used twice accumulates both contributions: x * x and x + x")
    func reuse() {
        let xs = Self.inputs(1, seed: 43)
        expectGradientsMatch(xs) { _, v in v[0] * v[0] }
        expectGradientsMatch(xs) { _, v in (v[0] + v[0]) - v[0].scaled(by: 0.5) }
    }

    @Test("scaled(by:) a constant and by a differentiable scalar: gradients match finite differences")
    func scaled() {
        var rng = SeededGenerator(seed: 44)
        let x = Tensor.randomNormal(shape: Self.shape, using: &rng)
        expectGradientsMatch([x]) { _, v in v[0].scaled(by: -1.7) }
        expectGradientsMatch([x, Tensor(shape: [], data: [0.8])]) { _, v in v[0].scaled(by: v[1]) }
        expectGradientsMatch([x, Tensor(shape: [1], data: [-1.3])]) { _, v in v[0].scaled(by: v[1]) }
    }

    @Test("sum() and mean() gradients match finite differences; values are the sum and mean")
    func reductions() {
        let xs = Self.inputs(1, seed: 45)
        expectGradientsMatch(xs) { _, v in v[0].sum() }
        expectGradientsMatch(xs, check: GradientCheck(absoluteTolerance: 1e-4)) { _, v in v[0].mean() }
        let tape = Tape()
        let x = tape.constant(Tensor(shape: [2, 2], data: [1, 2, 3, 6]))
        #expect(x.sum().value.shape == [])
        #expect(x.sum().value.scalar == 12)
        #expect(x.mean().value.scalar == 3)
    }

    @Test("reshaped gradients match finite differences")
    func reshaped() {
        let xs = Self.inputs(1, seed: 46)
        expectGradientsMatch(xs) { _, v in v[0].reshaped([5, 6]) }
        expectGradientsMatch(xs) { _, v in v[0].reshaped([30]).reshaped([3, 10]) }
    }

    @Test("weightedSum gradients w.r.t. inputs and weights match, with an input used twice and a weight unused")
    func weightedSum() {
        var xs = Self.inputs(2, seed: 47)
        xs.append(Tensor(shape: [4], data: [0.7, -1.2, 0.4, 2.0]))
        let analytic = expectGradientsMatch(xs) { _, v in
            Engine.weightedSum([v[0], v[1], v[0]], weights: v[2], indices: [0, 2, 1])
        }
        #expect(analytic[2].data[3] == 0, "weight 3 scales no input, so its gradient is exactly 0")
    }

    @Test("weightedSum with per-sample scales (fused drop-path): gradients match, dropped samples get none")
    func weightedSumWithSampleScales() {
        var rng = SeededGenerator(seed: 49)
        var xs = (0..<2).map { _ in Tensor.randomNormal(shape: [3, 2, 5], using: &rng) }
        xs.append(Tensor(shape: [3], data: [0.7, -1.2, 0.4]))
        let scales: [[Float]?] = [[1.25, 0, 2], nil, [0, 0.5, 1.25]]
        let analytic = expectGradientsMatch(xs) { _, v in
            Engine.weightedSum([v[0], v[1], v[0]], weights: v[2], indices: [0, 2, 1], sampleScales: scales)
        }
        // Sample 1 of input 0 is dropped by its first use and scaled by 0.5 * w[1] in its second.
        #expect(analytic[0].data[10..<20].allSatisfy { $0 != 0 })
        #expect(analytic[1].data.allSatisfy { $0 != 0 })
    }

    /// The gradients a weighted sum hands on are `dy` with per-sample scales, applied lazily:
    /// this graph passes them through a second weighted sum, into batch norms (which take them
    /// as they are), into a product (which gets them applied) and into an input that also receives
    /// plain gradients, in each order.
    @Test("Lazily scaled gradients through nested weighted sums and batch norms match finite differences")
    func scaledGradientsThroughNestedSums() {
        var rng = SeededGenerator(seed: 51)
        let xs = [Tensor.randomNormal(shape: [4, 3, 2, 2], using: &rng),
                  Tensor(shape: [3], data: [0.7, -1.2, 0.4]), Tensor(shape: [3], data: [1.1, 0.3, -0.8]),
                  Tensor(shape: [3], data: [1.5, 0.5, -0.7]), Tensor(shape: [3], data: [0.2, -0.1, 0.3])]
        expectGradientsMatch(xs) { _, v in
            let a = v[0].batchNorm().output, r = v[0] * v[0]
            let s1 = Engine.weightedSum([a, r, v[0]], weights: v[1], indices: [0, 1, 2],
                                        sampleScales: [[1.25, 0, 2, 1], nil, [0, 0.5, 1.25, 1]])
            let a2 = s1.batchNorm(gamma: v[3], beta: v[4]).output
            return Engine.weightedSum([a2, s1, v[0]], weights: v[2], indices: [0, 1, 2],
                                      sampleScales: [nil, [2, 1, 0, 1], nil])
        }
    }

    @Test("weightedSum with drop-path scales equals the sum of drop-path'd inputs from the same seed")
    func weightedSumMatchesDropPath() {
        var rng = SeededGenerator(seed: 50)
        let xs = (0..<2).map { _ in Tensor.randomNormal(shape: [8, 3, 4], using: &rng) }
        let tape = Tape()
        let (a, b) = (tape.constant(xs[0]), tape.constant(xs[1]))
        let w = tape.constant(Tensor(shape: [2], data: [0.3, 1.7]))
        var g1 = SeededGenerator(seed: 7), g2 = SeededGenerator(seed: 7)
        let separate = Engine.weightedSum([a.dropPath(keep: 0.6, using: &g1), b.dropPath(keep: 0.6, using: &g1)],
                                          weights: w, indices: [0, 1])
        let masks = [dropPathScales(batch: 8, keep: 0.6, using: &g2), dropPathScales(batch: 8, keep: 0.6, using: &g2)]
        let fused = Engine.weightedSum([a, b], weights: w, indices: [0, 1], sampleScales: masks)
        #expect(masks.joined().contains(0) && masks.joined().contains { $0 > 1 }, "both kept and dropped samples occur")
        expectClose(fused.value, separate.value)
    }

    @Test("weightedSum computes sum_k weights[indices[k]] * inputs[k]")
    func weightedSumValue() {
        let tape = Tape()
        let a = tape.constant(Tensor(shape: [2], data: [1, 2])), b = tape.constant(Tensor(shape: [2], data: [10, 20]))
        let w = tape.constant(Tensor(shape: [3], data: [0.5, 3, -1]))
        let y = Engine.weightedSum([a, b, a], weights: w, indices: [2, 1, 0])
        let expected: [Float] = [-1 * 1 + 3 * 10 + 0.5 * 1, -1 * 2 + 3 * 20 + 0.5 * 2]
        #expect(y.value.data == expected)
    }

    @Test("sum of a list gradients match finite differences, including a repeated input")
    func sumOfList() {
        let xs = Self.inputs(3, seed: 48)
        expectGradientsMatch(xs) { _, v in Engine.sum([v[0], v[1], v[2], v[1]]) }
        expectGradientsMatch(Array(xs.prefix(1))) { _, v in Engine.sum([v[0]]) }
    }
}
