import Testing
@testable import Engine

/// The vectorised inner loops against scalar loops that do the same operations in the same
/// order: where a kernel promises a result bit for bit, the comparison is exact.
@Suite("Vector kernels")
struct VectorKernelTests {
    /// Lengths that reach the 32-, 16- and 8-wide loops and the scalar tails.
    static let lengths = [3, 8, 13, 16, 31, 40, 70, 784]

    @Test("combine equals, bit for bit, one fused multiply-add chain per element in term order", arguments: lengths)
    func combineIsOneChainPerElement(n: Int) {
        let xs = (0..<7).map { normalSamples(n, seed: 40 + UInt64($0)) }
        let factors: [Float] = [0.3, -1.7, 0.01, 2.5, -0.4, 1, 0.125]
        let bias: Float = -0.75
        var expected = [Float](repeating: 0, count: n)
        for i in 0..<n {
            var acc = bias
            for k in 0..<7 { acc = acc.addingProduct(factors[k], xs[k][i]) }
            expected[i] = acc
        }
        var y = [Float](repeating: .nan, count: n)
        withBaseAddresses(xs.map { Tensor(shape: [n], data: $0) }) { sources in
            let terms = (0..<7).map { (sources[$0], factors[$0]) }
            y.withUnsafeMutableBufferPointer { Vector.combine(terms, bias: bias, into: $0.baseAddress!, n) }
        }
        #expect(y == expected)
    }

    @Test("dot3 equals three separate dot products bit for bit, and sumAndDot equals sum and dot", arguments: lengths)
    func multiDotsMatchSingleOnes(n: Int) {
        let d = normalSamples(n, seed: 1), x0 = normalSamples(n, seed: 2), x1 = normalSamples(n, seed: 3)
        let x2 = normalSamples(n, seed: 4)
        let (a, b, c) = Vector.dot3(d, x0, x1, x2, n)
        #expect(a == Vector.dot(d, x0, n))
        #expect(b == Vector.dot(d, x1, n))
        #expect(c == Vector.dot(d, x2, n))
        let (s, p) = Vector.sumAndDot(d, x0, n)
        #expect(s == Vector.sum(d, n))
        #expect(p == Vector.dot(d, x0, n))
    }

    @Test("maxPool on rows of vector width sends each window's gradient to its first maximal input (row-major)",
          arguments: [1, 2])
    func vectorisedMaxPoolTakesTheFirstMaximum(stride: Int) {
        // Values from {0, 1, 2}: most windows tie, and rows of 20 run through the vector loops.
        var g = SeededGenerator(seed: 9)
        let (H, W) = (6, 20)
        let values = (0..<(H * W)).map { _ in Float(Int(g.nextUnitFloat() * 3)) }
        let tape = Tape()
        let x = tape.parameter(Tensor(shape: [1, 1, H, W], data: values))
        let y = x.maxPool(size: 3, stride: stride, padding: 1)
        let grads = tape.gradients(of: y.sum())

        let (Ho, Wo) = ((H - 1) / stride + 1, (W - 1) / stride + 1)
        var expected = [Float](repeating: 0, count: H * W)
        for ho in 0..<Ho {
            for wo in 0..<Wo {
                var best: (value: Float, at: Int)?
                for i in 0..<3 {
                    for j in 0..<3 {
                        let (h, w) = (ho * stride + i - 1, wo * stride + j - 1)
                        guard h >= 0, h < H, w >= 0, w < W else { continue }
                        if best == nil || values[h * W + w] > best!.value { best = (values[h * W + w], h * W + w) }
                    }
                }
                expected[best!.at] += 1
                #expect(y.value[0, 0, ho, wo] == best!.value)
            }
        }
        #expect(grads[x].data == expected)
    }
}
