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
