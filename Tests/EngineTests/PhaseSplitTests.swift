import Testing
@testable import Engine

/// Stride-2 3x3 depthwise filters on their input's phase planes against the padded-plane
/// path that computes every stride-1 output and samples it: both compute the same sums, so
/// they agree up to rounding, forward and backward, in a depthwise convolution, a separable
/// block and average pooling. The register-row kernels are bound off on both sides, so this
/// runs on every processor.
@Suite("Phase-split stride-2 depthwise filters")
struct PhaseSplitTests {
    struct Shape: Sendable, CustomTestStringConvertible {
        var height: Int, width: Int, dilation: Int
        var testDescription: String { "\(height)x\(width) dilation \(dilation)" }
    }

    /// The search space's planes (28 and 14 wide, outputs of 14 and 7), odd and even sizes on
    /// both sides of a vector's width, and planes of one row or column.
    static let shapes: [Shape] = [
        Shape(height: 28, width: 28, dilation: 1), Shape(height: 28, width: 28, dilation: 2),
        Shape(height: 14, width: 14, dilation: 1), Shape(height: 14, width: 14, dilation: 2),
        Shape(height: 7, width: 7, dilation: 1), Shape(height: 7, width: 7, dilation: 2),
        Shape(height: 5, width: 16, dilation: 1), Shape(height: 6, width: 17, dilation: 2),
        Shape(height: 9, width: 33, dilation: 1), Shape(height: 3, width: 40, dilation: 2),
        Shape(height: 1, width: 1, dilation: 1), Shape(height: 2, width: 3, dilation: 2),
        Shape(height: 8, width: 1, dilation: 1), Shape(height: 1, width: 12, dilation: 2),
    ]

    /// Output and every gradient of a depthwise convolution with bias, a separable block (input
    /// gradient added to one the input already holds) and a stride-2 average pool.
    static func run(_ s: Shape, phaseSplit: Bool) -> [Tensor] {
        ConvKernels.$registerRows.withValue(false) {
            ConvKernels.$phaseSplit.withValue(phaseSplit) {
                depthwiseBlocks(height: s.height, width: s.width, stride: 2, dilation: s.dilation,
                                seed: UInt64(s.height * 1000 + s.width * 10 + s.dilation)) { x in
                    [x.avgPool(size: 3, stride: 2, padding: 1)]
                }
            }
        }
    }

    @Test("Equal the padded-plane path in value and every gradient", arguments: shapes)
    func matchesPaddedPlanes(_ shape: Shape) {
        let split = Self.run(shape, phaseSplit: true), padded = Self.run(shape, phaseSplit: false)
        let names = ["depthwise output", "separable output", "average pool", "input gradient", "depthwise filter gradient",
                     "bias gradient", "pointwise filter gradient"]
        for (name, (a, b)) in zip(names, zip(split, padded)) {
            #expect(a.shape == b.shape, "\(name)")
            let scale = max(1, b.data.map(abs).max() ?? 0)
            let worst = a.maxAbsDifference(b) / scale
            #expect(worst < 1e-5, "\(name): largest difference \(worst) of the largest entry")
        }
    }

    /// Where both paths sum a row in vectors (rows of several outputs), they sum the same taps
    /// in the same order. (On a plane of one short row, one may take the scalar loop.)
    @Test("Forward values equal the padded-plane path bit for bit on planes of several rows")
    func forwardExact() {
        for s in Self.shapes where s.height >= 3 && s.width >= 7 {
            let split = Self.run(s, phaseSplit: true), padded = Self.run(s, phaseSplit: false)
            #expect(split[0] == padded[0], "\(s.testDescription)")
        }
    }

    @Test("Are used for stride-2 3x3 filters with the padding of their dilation, and only those")
    func coverage() {
        func plan(stride: Int = 2, dilation: Int = 1, padding: Int? = nil, kernel: Int = 3) -> ConvKernels.DepthwisePlan {
            ConvKernels.$registerRows.withValue(false) {
                ConvKernels.DepthwisePlan(ConvGeometry(
                    batch: 1, inChannels: 2, height: 10, width: 10, outChannels: 2, kernelH: kernel, kernelW: kernel,
                    strideH: stride, strideW: stride, padH: padding ?? dilation, padW: padding ?? dilation,
                    dilationH: dilation, dilationW: dilation, groups: 2))
            }
        }
        #expect(plan().phased)
        #expect(plan(dilation: 2).phased)
        #expect(!plan(stride: 1).phased)
        #expect(!plan(padding: 0).phased)
        #expect(!plan(dilation: 3).phased)
        #expect(!plan(padding: 2, kernel: 5).phased)
        ConvKernels.$phaseSplit.withValue(false) { #expect(!plan().phased) }
    }

    @Test("deinterleave and interleave move every element, and only those, for rows of 1 to 40")
    func rowShuffles() {
        for n in 1...40 {
            let x = (0..<n).map { Float($0 + 1) }
            var even = [Float](repeating: -1, count: n / 2 + 2), odd = even, evenOnly = even
            x.withUnsafeBufferPointer { xb in
                even.withUnsafeMutableBufferPointer { e in
                    odd.withUnsafeMutableBufferPointer { o in
                        Vector.deinterleave(xb.baseAddress!, n, even: e.baseAddress!, odd: o.baseAddress!)
                    }
                }
                evenOnly.withUnsafeMutableBufferPointer { e in
                    Vector.deinterleave(xb.baseAddress!, n, even: e.baseAddress!, odd: nil)
                }
            }
            let (ne, no) = ((n + 1) / 2, n / 2)
            let evens: [Float] = (0..<ne).map { x[2 * $0] }, odds: [Float] = (0..<no).map { x[2 * $0 + 1] }
            #expect(Array(even[0..<ne]) == evens, "n = \(n)")
            #expect(Array(odd[0..<no]) == odds, "n = \(n)")
            #expect(even[ne...].allSatisfy { $0 == -1 } && odd[no...].allSatisfy { $0 == -1 }, "n = \(n): wrote past the end")
            #expect(evenOnly[0..<ne] == even[0..<ne], "n = \(n)")

            var y = [Float](repeating: 0, count: n + 1), zeroOdd = y
            y[n] = -1
            zeroOdd[n] = -1
            var sum = x.map { $0 + 100 } + [-1]
            even.withUnsafeBufferPointer { e in
                odd.withUnsafeBufferPointer { o in
                    y.withUnsafeMutableBufferPointer { Vector.interleave(even: e.baseAddress!, odd: o.baseAddress!, into: $0.baseAddress!,
                                                                         n, accumulating: false) }
                    sum.withUnsafeMutableBufferPointer { Vector.interleave(even: e.baseAddress!, odd: o.baseAddress!, into: $0.baseAddress!,
                                                                           n, accumulating: true) }
                    zeroOdd.withUnsafeMutableBufferPointer { Vector.interleave(even: e.baseAddress!, odd: nil, into: $0.baseAddress!,
                                                                               n, accumulating: false) }
                }
            }
            let doubled = x.map { 2 * $0 + 100 }
            let evenOnlyRow: [Float] = (0..<n).map { $0 % 2 == 0 ? x[$0] : 0 }
            #expect(Array(y[0..<n]) == x && y[n] == -1, "n = \(n)")
            #expect(Array(sum[0..<n]) == doubled && sum[n] == -1, "n = \(n)")
            #expect(Array(zeroOdd[0..<n]) == evenOnlyRow && zeroOdd[n] == -1, "n = \(n)")
        }
    }
}
