import Testing
@testable import Engine

@Suite("Thread-count determinism")
struct DeterminismTests {
    /// Outputs (read before the backward pass releases them) and parameter gradients of one evaluation.
    struct Run: Equatable {
        var outputs: [Tensor]
        var gradients: [Tensor]
    }

    /// A small network over a batch of 6 (so weight gradients are reduced over several chunks):
    /// dense, depthwise, pointwise and grouped convolutions, batch norm, both poolings, a linear head.
    static func evaluate(threads: KernelThreads) -> Run {
        var rng = SeededGenerator(seed: 71)
        let tape = Tape(threads: threads)
        let x = tape.parameter(.randomNormal(shape: [6, 4, 8, 8], using: &rng))
        let w1 = tape.parameter(.randomNormal(shape: [8, 4, 3, 3], std: 0.3, using: &rng))
        let b1 = tape.parameter(.randomNormal(shape: [8], using: &rng))
        let gamma = tape.parameter(.randomNormal(shape: [8], using: &rng))
        let beta = tape.parameter(.randomNormal(shape: [8], using: &rng))
        let wd = tape.parameter(.randomNormal(shape: [8, 1, 3, 3], std: 0.3, using: &rng))
        let wp = tape.parameter(.randomNormal(shape: [6, 8, 1, 1], std: 0.3, using: &rng))
        let wg = tape.parameter(.randomNormal(shape: [6, 3, 3, 3], std: 0.3, using: &rng))
        let head = tape.parameter(.randomNormal(shape: [5, 6], using: &rng))

        let c1 = x.conv2d(w1, bias: b1, padding: (1, 1))
        let (bn, _) = c1.batchNorm(gamma: gamma, beta: beta)
        let p1 = bn.relu().maxPool(size: 3, stride: 2, padding: 1)
        let d = p1.conv2d(wd, stride: (1, 1), padding: (2, 2), dilation: (2, 2), groups: 8)
        let e = d.conv2d(wp)
        let f = e.conv2d(wg, padding: (1, 1), groups: 2).avgPool(size: 3, stride: 2, padding: 1)
        let logits = f.globalAveragePool().linear(head)
        let loss = logits.crossEntropy(labels: [0, 1, 2, 3, 4, 0])

        let parameters = [x, w1, b1, gamma, beta, wd, wp, wg, head]
        let outputs = [c1, bn, p1, d, e, f, logits, loss].map(\.value)
        let grads = tape.gradients(of: loss)
        return Run(outputs: outputs, gradients: parameters.map { grads[$0] })
    }

    @Test("Forward values and gradients are bit-identical with 1 and 2 threads (batch 6)")
    func oneAndTwoThreads() {
        let one = Self.evaluate(threads: 1), two = Self.evaluate(threads: 2)
        for (k, (a, b)) in zip(one.outputs, two.outputs).enumerated() {
            #expect(a.data == b.data, "output \(k) \(a.shape) differs: max \(a.maxAbsDifference(b))")
        }
        for (k, (a, b)) in zip(one.gradients, two.gradients).enumerated() {
            #expect(a.data == b.data, "gradient \(k) \(a.shape) differs: max \(a.maxAbsDifference(b))")
        }
        #expect(one.gradients.allSatisfy { g in g.data.contains { $0 != 0 } }, "every parameter receives a gradient")
    }

    @Test("A shared thread team gives the same values and gradients as 1 thread", arguments: [2, 3])
    func sharedTeam(threads: Int) {
        let one = Self.evaluate(threads: 1)
        let team = ThreadTeam.with(threads: threads) { team in Self.evaluate(threads: .shared(team)) }
        #expect(one == team)
    }

    @Test("Repeating an evaluation with 2 threads reproduces it exactly")
    func repeatable() {
        #expect(Self.evaluate(threads: 2) == Self.evaluate(threads: 2))
    }
}
