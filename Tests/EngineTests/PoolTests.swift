import Testing
@testable import Engine

@Suite("Pooling")
struct PoolTests {
    /// Small planes, and a plane 19 wide so that rows run through the vectorised loops and their tails.
    static let shapes = [[2, 2, 5, 5], [1, 2, 4, 19]]

    @Test("maxPool 3x3 / pad 1 gradients match finite differences", arguments: [1, 2], shapes)
    func maxPoolGradients(stride: Int, shape: [Int]) {
        var rng = SeededGenerator(seed: 21)
        // Distinct values 0.05 apart: a step of 0.01 never changes which input wins a window.
        let x = Tensor.distinct(shape: shape, using: &rng)
        expectGradientsMatch([x]) { _, v in v[0].maxPool(size: 3, stride: stride, padding: 1) }
    }

    @Test("avgPool 3x3 / pad 1 gradients match finite differences", arguments: [1, 2], shapes)
    func avgPoolGradients(stride: Int, shape: [Int]) {
        var rng = SeededGenerator(seed: 22)
        let x = Tensor.randomNormal(shape: shape, using: &rng)
        expectGradientsMatch([x]) { _, v in v[0].avgPool(size: 3, stride: stride, padding: 1) }
    }

    @Test("maxPool 3x3 / pad 1 on a 4x4 grid takes the window maximum at the border")
    func knownMax() {
        let tape = Tape()
        let x = tape.constant(.counting(shape: [1, 1, 4, 4]))
        expectClose(x.maxPool(size: 3, stride: 1, padding: 1).value,
                    Tensor(shape: [1, 1, 4, 4], data: [6, 7, 8, 8,
                                                       10, 11, 12, 12,
                                                       14, 15, 16, 16,
                                                       14, 15, 16, 16]))
        expectClose(x.maxPool(size: 3, stride: 2, padding: 1).value,
                    Tensor(shape: [1, 1, 2, 2], data: [6, 8, 14, 16]))
    }

    @Test("maxPool routes each output's gradient to exactly one input, even when a window ties")
    func maxTiesRouteOnce() {
        let tape = Tape()
        let x = tape.parameter(Tensor(shape: [1, 1, 4, 4], repeating: 2))
        let grads = tape.gradients(of: x.maxPool(size: 3, stride: 1, padding: 1).sum())
        #expect(grads[x].data.reduce(0, +) == 16, "16 outputs, each passing its gradient of 1 to one input: \(grads[x].data)")
        #expect(grads[x].data.allSatisfy { $0 == $0.rounded() && $0 >= 0 })
    }

    @Test("maxPool padding never wins, even over negative inputs")
    func maxPaddingIsNegativeInfinity() {
        let tape = Tape()
        let x = tape.constant(.counting(shape: [1, 1, 4, 4], scale: -1))
        expectClose(x.maxPool(size: 3, stride: 1, padding: 1).value,
                    Tensor(shape: [1, 1, 4, 4], data: [-1, -1, -2, -3,
                                                       -1, -1, -2, -3,
                                                       -5, -5, -6, -7,
                                                       -9, -9, -10, -11]))
    }

    @Test("avgPool 3x3 / pad 1 divides by the in-bounds count: a corner averages 4 values, an edge 6")
    func knownAverage() {
        let tape = Tape()
        let x = tape.constant(.counting(shape: [1, 1, 4, 4]))
        // Corner (0, 0): (1 + 2 + 5 + 6) / 4; edge (0, 1): (1 + 2 + 3 + 5 + 6 + 7) / 6; inside: 9 values.
        expectClose(x.avgPool(size: 3, stride: 1, padding: 1).value,
                    Tensor(shape: [1, 1, 4, 4], data: [3.5, 4, 5, 5.5,
                                                       5.5, 6, 7, 7.5,
                                                       9.5, 10, 11, 11.5,
                                                       11.5, 12, 13, 13.5]))
        expectClose(x.avgPool(size: 3, stride: 2, padding: 1).value,
                    Tensor(shape: [1, 1, 2, 2], data: [3.5, 5, 9.5, 11]))
    }

    @Test("Pooling keeps channels and images apart")
    func poolsPerPlane() {
        let tape = Tape()
        // Plane p holds the constant p: each pooled plane must still be the constant p.
        let x = Tensor(shape: [2, 3, 4, 4], data: (0..<96).map { Float($0 / 16) })
        let expected = Tensor(shape: [2, 3, 2, 2], data: (0..<24).map { Float($0 / 4) })
        expectClose(tape.constant(x).maxPool(size: 3, stride: 2, padding: 1).value, expected)
        expectClose(tape.constant(x).avgPool(size: 3, stride: 2, padding: 1).value, expected)
    }
}
