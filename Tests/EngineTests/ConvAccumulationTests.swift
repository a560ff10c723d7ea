import Testing
@testable import Engine

/// A convolution adds its input gradient into the one its input already holds (from another
/// user) instead of handing over a tensor of its own: the sum must equal the separate
/// gradients added, for each way the input gradient is computed.
@Suite("Convolution input gradients added in place")
struct ConvAccumulationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var channels: Int, kernel: (Int, Int), stride: Int, padding: (Int, Int)
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "1x5 (a row filter, transposed)", channels: 8, kernel: (1, 5), stride: 1, padding: (0, 2)),
        Case(name: "5x1 (a column filter, transposed)", channels: 8, kernel: (5, 1), stride: 1, padding: (2, 0)),
        Case(name: "3x3 stride 2 (patches added back)", channels: 8, kernel: (3, 3), stride: 2, padding: (1, 1)),
        Case(name: "1x5 stride 2 (even and odd columns put back)", channels: 8, kernel: (1, 5), stride: 2, padding: (0, 2)),
        Case(name: "1x1 of 3 channels (a plain product)", channels: 3, kernel: (1, 1), stride: 1, padding: (0, 0)),
        Case(name: "3x3 same, 8 channels (transposed, unfolded)", channels: 8, kernel: (3, 3), stride: 1, padding: (1, 1)),
    ]

    /// The gradient of `x` from `sum(relu(x) * r0)` and, when `conv` is set, `sum(conv(x) * r1)`.
    static func gradient(_ c: Case, conv: Bool, relu: Bool) -> Tensor {
        var g = SeededGenerator(seed: 9)
        let tape = Tape()
        let x = tape.parameter(.randomUniform(shape: [2, c.channels, 6, 7], low: -1, high: 1, using: &g))
        let w = tape.constant(.randomUniform(shape: [4, c.channels, c.kernel.0, c.kernel.1], low: -1, high: 1, using: &g))
        let y = x.conv2d(w, stride: (c.stride, c.stride), padding: c.padding)
        let r0 = tape.constant(.randomUniform(shape: x.shape, low: -1, high: 1, using: &g))
        let r1 = tape.constant(.randomUniform(shape: y.shape, low: -1, high: 1, using: &g))
        var loss = tape.constant(Tensor(scalar: 0))
        if relu { loss = loss + (x.relu() * r0).sum() }
        if conv { loss = loss + (y * r1).sum() }
        return tape.gradients(of: loss)[x]
    }

    @Test("Added into another user's gradient, equal to the two gradients summed", arguments: cases)
    func accumulates(_ c: Case) {
        let both = Self.gradient(c, conv: true, relu: true)
        let convOnly = Self.gradient(c, conv: true, relu: false), reluOnly = Self.gradient(c, conv: false, relu: true)
        let sum = Tensor(shape: both.shape, data: zip(convOnly.data, reluOnly.data).map { $0 + $1 })
        #expect(both.maxAbsDifference(sum) < 1e-5)
        #expect(convOnly.data.contains { $0 != 0 } && reluOnly.data.contains { $0 != 0 })
    }
}
