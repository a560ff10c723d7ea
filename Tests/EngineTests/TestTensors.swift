import Testing
@testable import Engine

/// Input makers for gradient checks: seeded, and shaped to keep finite differences away from kinks.
extension Tensor {
    /// Normal samples pushed at least `margin` away from zero (for ReLU, whose kink is at 0).
    static func awayFromZero(shape: [Int], margin: Float = 0.1, using generator: inout SeededGenerator) -> Tensor {
        var t = randomNormal(shape: shape, using: &generator)
        for k in 0..<t.count { t.data[k] = t.data[k] < 0 ? t.data[k] - margin : t.data[k] + margin }
        return t
    }

    /// A random permutation of evenly spaced distinct values `spacing * (k - count / 2)`, so max
    /// pooling has no ties that a step smaller than `spacing / 2` could flip.
    static func distinct(shape: [Int], spacing: Float = 0.05, using generator: inout SeededGenerator) -> Tensor {
        let count = shape.reduce(1, *)
        let values = (0..<count).map { spacing * Float($0 - count / 2) }
        return Tensor(shape: shape, data: values.shuffled(using: &generator))
    }

    /// The values `1, 2, ..., count` laid out in row-major order (for hand-computed answers).
    static func counting(shape: [Int], scale: Float = 1) -> Tensor {
        Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { scale * Float($0 + 1) })
    }
}

/// `count` standard normal samples from a generator seeded with `seed`.
func normalSamples(_ count: Int, seed: UInt64) -> [Float] {
    var g = SeededGenerator(seed: seed)
    return (0..<count).map { _ in g.nextNormal() }
}

/// Expects `actual` to have `expected`'s shape and every element within `tolerance` of it.
func expectClose(_ actual: Tensor, _ expected: Tensor, tolerance: Float = 1e-5,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    guard actual.shape == expected.shape else {
        Issue.record("shape \(actual.shape), expected \(expected.shape)", sourceLocation: sourceLocation)
        return
    }
    #expect(actual.maxAbsDifference(expected) <= tolerance,
            "got \(actual.data), expected \(expected.data)", sourceLocation: sourceLocation)
}

/// Values and gradients of a depthwise 3x3 convolution with bias and of a separable block
/// (whose input gradient is added to the one the input already holds) over one random input
/// of shape `[3, 4, height, width]`, with the outputs of `more` over the same input:
/// `[depthwise, separable] + more + [input, depthwise filter, bias, pointwise filter gradients]`.
/// The loss weights every output with fixed random factors.
func depthwiseBlocks(height: Int, width: Int, stride: Int, dilation: Int, seed: UInt64,
                     more: (Variable) -> [Variable] = { _ in [] }) -> [Tensor] {
    var g = SeededGenerator(seed: seed)
    let (n, c, o) = (3, 4, 5)
    let tape = Tape()
    let x = tape.parameter(.randomUniform(shape: [n, c, height, width], low: -1, high: 1, using: &g))
    let wd = tape.parameter(.randomUniform(shape: [c, 1, 3, 3], low: -1, high: 1, using: &g))
    let b = tape.parameter(.randomUniform(shape: [c], low: -1, high: 1, using: &g))
    let wp = tape.parameter(.randomUniform(shape: [o, c, 1, 1], low: -1, high: 1, using: &g))
    let outputs = [x.conv2d(wd, bias: b, stride: (stride, stride), padding: (dilation, dilation),
                            dilation: (dilation, dilation), groups: c),
                   x.separableConv2d(depthwise: wd, pointwise: wp, stride: stride, padding: dilation, dilation: dilation)]
        + more(x)
    var loss = (outputs[0] * tape.constant(.randomUniform(shape: outputs[0].shape, low: -1, high: 1, using: &g))).sum()
    for y in outputs.dropFirst() {
        loss = loss + (y * tape.constant(.randomUniform(shape: y.shape, low: -1, high: 1, using: &g))).sum()
    }
    let grads = tape.gradients(of: loss)
    return outputs.map(\.value) + [grads[x], grads[wd], grads[b], grads[wp]]
}
