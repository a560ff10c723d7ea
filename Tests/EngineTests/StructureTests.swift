import Testing
@testable import Engine

@Suite("Structural ops")
struct StructureTests {
    @Test("concatChannels gradients match finite differences, including the same input twice")
    func concat() {
        var rng = SeededGenerator(seed: 51)
        let xs = [[2, 2, 3, 3], [2, 3, 3, 3], [2, 1, 3, 3]].map { Tensor.randomNormal(shape: $0, using: &rng) }
        expectGradientsMatch(xs) { _, v in concatChannels(v) }
        expectGradientsMatch(Array(xs.prefix(2))) { _, v in concatChannels([v[0], v[1], v[0]]) }
    }

    @Test("concatChannels places each input's channels after the previous ones, image by image")
    func concatValues() {
        let tape = Tape()
        let a = tape.constant(Tensor(shape: [2, 1, 1, 2], data: [1, 2, 3, 4]))
        let b = tape.constant(Tensor(shape: [2, 2, 1, 2], data: [10, 20, 30, 40, 50, 60, 70, 80]))
        let y = concatChannels([a, b])
        #expect(y.shape == [2, 3, 1, 2])
        #expect(y.value.data == [1, 2, 10, 20, 30, 40, 3, 4, 50, 60, 70, 80])
        #expect(y.channels(1..<3).value.data == b.value.data)
    }

    @Test("channels(_:) gradients match finite differences; the slice and concat round-trip")
    func slice() {
        var rng = SeededGenerator(seed: 52)
        let x = Tensor.randomNormal(shape: [2, 5, 3, 3], using: &rng)
        expectGradientsMatch([x]) { _, v in v[0].channels(1..<4) }
        expectGradientsMatch([x]) { _, v in concatChannels([v[0].channels(3..<5), v[0].channels(0..<3)]) }
        let tape = Tape()
        let v = tape.constant(x)
        #expect(concatChannels([v.channels(0..<2), v.channels(2..<5)]).value == x)
    }

    @Test("phaseSampled gradients match finite differences, for each phase and odd and even sizes",
          arguments: [(0, 0), (0, 1), (1, 0), (1, 1)])
    func phases(_ phase: (Int, Int)) {
        var rng = SeededGenerator(seed: 53)
        for shape in [[2, 2, 4, 6], [1, 2, 5, 5]] {
            let x = Tensor.randomNormal(shape: shape, using: &rng)
            expectGradientsMatch([x]) { _, v in v[0].phaseSampled(row: phase.0, column: phase.1) }
        }
    }

    @Test("phaseSampled takes x[2h + row][2w + column] and zero-fills what lies past the edge")
    func phaseValues() {
        let tape = Tape()
        let x = tape.constant(.counting(shape: [1, 1, 3, 3]))
        #expect(x.phaseSampled(row: 0, column: 0).value.data == [1, 3, 7, 9])
        #expect(x.phaseSampled(row: 0, column: 1).value.data == [2, 0, 8, 0])
        #expect(x.phaseSampled(row: 1, column: 0).value.data == [4, 6, 0, 0])
        #expect(x.phaseSampled(row: 1, column: 1).value.data == [5, 0, 0, 0])
        #expect(x.phaseSampled(row: 1, column: 1).shape == [1, 1, 2, 2])
    }

    /// Rows wider than two vectors (the vector sampling), an odd height (a last output row past
    /// the edge), several images split over threads, and one input twice in a concatenation
    /// (its second gradient block added to the first).
    @Test("phaseSampled, concatChannels and channels(_:) write every element, on 1 and 3 threads", arguments: [1, 3])
    func copiesOnThreads(_ threads: Int) {
        let (n, c, h, w) = (5, 2, 4, 11), (H, W) = (2 * h - 1, 2 * w)
        let x = Tensor.counting(shape: [n, c, H, W]), z = Tensor.counting(shape: [n, 3, h, w], scale: -0.5)
        let tape = Tape(threads: .fixed(threads))
        let (xv, zv) = (tape.parameter(x), tape.parameter(z))
        let sampled = xv.phaseSampled(row: 1, column: 1)
        let y = concatChannels([sampled, zv, sampled]).channels(1..<(2 * c + 3))
        let r = Tensor.counting(shape: y.shape, scale: 0.25)
        let grads = tape.gradients(of: (y * tape.constant(r)).sum())

        // The same by index: y holds channels 1... of [sample(x), z, sample(x)].
        func at(_ t: Tensor, _ i: Int, _ ch: Int, _ row: Int, _ col: Int) -> Float {
            t.data[((i * t.shape[1] + ch) * t.shape[2] + row) * t.shape[3] + col]
        }
        func sampledAt(_ i: Int, _ ch: Int, _ row: Int, _ col: Int) -> Float {
            2 * row + 1 < H ? at(x, i, ch, 2 * row + 1, 2 * col + 1) : 0
        }
        var expected: [Float] = [], dx = [Float](repeating: 0, count: x.count), dz = [Float](repeating: 0, count: z.count)
        for i in 0..<n {
            for ch in 1..<(2 * c + 3) {
                for row in 0..<h {
                    for col in 0..<w {
                        let g = at(r, i, ch - 1, row, col)
                        if ch < c || ch >= c + 3 {
                            let k = ch < c ? ch : ch - c - 3
                            expected.append(sampledAt(i, k, row, col))
                            if 2 * row + 1 < H { dx[((i * c + k) * H + 2 * row + 1) * W + 2 * col + 1] += g }
                        } else {
                            expected.append(at(z, i, ch - c, row, col))
                            dz[((i * 3 + ch - c) * h + row) * w + col] = g
                        }
                    }
                }
            }
        }
        /// The first few positions where `a` and `b` differ.
        func differences(_ a: [Float], _ b: [Float]) -> [Int] { Array(a.indices.filter { a[$0] != b[$0] }.prefix(5)) }
        #expect(differences(Array(y.value.data), expected) == [])
        // The first copy's channel 0 is sliced off: x's channel 0 gets its gradient from the
        // second copy only, channel 1 from both.
        #expect(differences(Array(grads[xv].data), dx) == [])
        #expect(differences(Array(grads[zv].data), dz) == [])
    }

    @Test("globalAveragePool gradients match finite differences; value is the plane mean")
    func globalAverage() {
        var rng = SeededGenerator(seed: 54)
        let x = Tensor.randomNormal(shape: [2, 3, 4, 4], using: &rng)
        expectGradientsMatch([x], check: GradientCheck(absoluteTolerance: 1e-4)) { _, v in v[0].globalAveragePool() }
        let tape = Tape()
        let y = tape.constant(.counting(shape: [1, 2, 2, 2])).globalAveragePool()
        #expect(y.value == Tensor(shape: [1, 2], data: [2.5, 6.5]))
    }

    @Test("linear gradients match finite differences, with and without bias")
    func linear() {
        var rng = SeededGenerator(seed: 55)
        let x = Tensor.randomNormal(shape: [3, 5], using: &rng)
        let w = Tensor.randomNormal(shape: [4, 5], using: &rng)
        let b = Tensor.randomNormal(shape: [4], using: &rng)
        expectGradientsMatch([x, w, b]) { _, v in v[0].linear(v[1], bias: v[2]) }
        expectGradientsMatch([x, w]) { _, v in v[0].linear(v[1]) }
    }

    @Test("linear computes x W^T + b")
    func linearValue() {
        let tape = Tape()
        let x = tape.constant(Tensor(shape: [2, 2], data: [1, 2, 3, 4]))
        let w = tape.constant(Tensor(shape: [3, 2], data: [1, 0, 0, 1, 1, -1]))
        let b = tape.constant(Tensor(shape: [3], data: [0.5, 0, -1]))
        #expect(x.linear(w, bias: b).value == Tensor(shape: [2, 3], data: [1.5, 2, -2, 3.5, 4, -2]))
    }

    @Test("row(_:) gradients match finite differences and the row is the right slice")
    func row() {
        var rng = SeededGenerator(seed: 56)
        let x = Tensor.randomNormal(shape: [3, 2, 4], using: &rng)
        expectGradientsMatch([x]) { _, v in v[0].row(1) }
        expectGradientsMatch([x]) { _, v in v[0].row(2) + v[0].row(0) }
        let tape = Tape()
        #expect(tape.constant(x).row(1).value == Tensor(shape: [2, 4], data: Array(x.data[8..<16])))
    }

    @Test("dropPath gradients match finite differences with the mask re-drawn from the same seed")
    func dropPath() {
        var rng = SeededGenerator(seed: 57)
        let x = Tensor.awayFromZero(shape: [6, 2, 2, 3], using: &rng)
        let keep: Float = 0.5, seed: UInt64 = 3
        func drop(_ v: Variable) -> Variable {
            var generator = SeededGenerator(seed: seed)
            return v.dropPath(keep: keep, using: &generator)
        }
        // The mask must both drop and keep samples, or the check would not test the mask.
        let tape = Tape()
        let y = drop(tape.constant(x)).value
        let per = 12
        let kept = (0..<6).map { i in (0..<per).allSatisfy { y.data[i * per + $0] == x.data[i * per + $0] / keep } }
        let dropped = (0..<6).map { i in (0..<per).allSatisfy { y.data[i * per + $0] == 0 } }
        #expect(zip(kept, dropped).allSatisfy { $0 != $1 }, "each sample is either kept and scaled by 1 / keep, or zeroed")
        #expect(kept.contains(true) && dropped.contains(true), "seed \(seed) should keep some samples and drop others: kept \(kept)")

        expectGradientsMatch([x]) { _, v in drop(v[0]) }
    }

    @Test("dropPath with keep 1 is the identity")
    func dropPathKeepAll() {
        let tape = Tape()
        var generator = SeededGenerator(seed: 1)
        let x = tape.constant(.counting(shape: [3, 2]))
        #expect(x.dropPath(keep: 1, using: &generator).value == x.value)
    }
}
