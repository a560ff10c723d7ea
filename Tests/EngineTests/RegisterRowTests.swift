import Testing
@testable import Engine

/// The AVX-512 register-row depthwise kernels against the padded-plane stencils they stand in
/// for: both compute the same sums, so they must agree up to rounding, forward and backward,
/// in a depthwise convolution and in a separable block.
@Suite("Register-row depthwise kernels")
struct RegisterRowTests {
    struct Shape: Sendable, CustomTestStringConvertible {
        var height: Int, width: Int, dilation: Int, stride: Int
        var testDescription: String { "\(height)x\(width) dilation \(dilation) stride \(stride)" }
    }

    /// Widths on both sides of one and two 16-lane halves, odd heights, both dilations and strides.
    /// Where the kernels do not run, there is nothing to compare with the stencils.
    static let skipReason: Comment = "this processor has no AVX-512: only the stencils run here"

    static let shapes: [Shape] = [
        Shape(height: 28, width: 28, dilation: 1, stride: 1), Shape(height: 28, width: 28, dilation: 2, stride: 1),
        Shape(height: 28, width: 28, dilation: 1, stride: 2), Shape(height: 28, width: 28, dilation: 2, stride: 2),
        Shape(height: 14, width: 14, dilation: 1, stride: 1), Shape(height: 14, width: 14, dilation: 2, stride: 2),
        Shape(height: 7, width: 7, dilation: 1, stride: 1), Shape(height: 7, width: 7, dilation: 2, stride: 2),
        Shape(height: 5, width: 16, dilation: 1, stride: 1), Shape(height: 5, width: 17, dilation: 2, stride: 1),
        Shape(height: 3, width: 32, dilation: 1, stride: 2), Shape(height: 1, width: 1, dilation: 1, stride: 1),
        Shape(height: 2, width: 3, dilation: 2, stride: 2), Shape(height: 9, width: 31, dilation: 2, stride: 1),
    ]

    struct Outcome {
        var values: [Tensor]
    }

    /// Output, input gradient and filter gradients of a depthwise convolution (with bias) and of
    /// a separable block (input gradient added to one the input already holds) on the same input.
    static func run(_ s: Shape, registerRows: Bool) -> Outcome {
        ConvKernels.$registerRows.withValue(registerRows) {
            Outcome(values: depthwiseBlocks(height: s.height, width: s.width, stride: s.stride, dilation: s.dilation,
                                            seed: UInt64(s.height * 1000 + s.width * 10 + s.dilation + 4 * s.stride)))
        }
    }

    @Test("Agree with the padded-plane stencils up to rounding", .enabled(if: ConvKernels.registerRowsAvailable, skipReason),
          arguments: shapes)
    func agree(_ shape: Shape) {
        let rows = Self.run(shape, registerRows: true), stencils = Self.run(shape, registerRows: false)
        let names = ["depthwise output", "separable output", "input gradient", "depthwise filter gradient",
                     "bias gradient", "pointwise filter gradient"]
        for (name, (a, b)) in zip(names, zip(rows.values, stencils.values)) {
            #expect(a.shape == b.shape, "\(name)")
            let scale = max(1, b.data.map(abs).max() ?? 0)
            let worst = a.maxAbsDifference(b) / scale
            #expect(worst < 1e-5, "\(name): largest difference \(worst) of the largest entry")
        }
    }

    /// Max and average pooling (3x3, padding 1) at stride 1 and 2, and their input gradients.
    static func pools(_ s: Shape, registerRows: Bool) -> Outcome {
        ConvKernels.$registerRows.withValue(registerRows) {
            var g = SeededGenerator(seed: UInt64(s.height * 100 + s.width + s.stride))
            let tape = Tape()
            var input = Tensor.randomUniform(shape: [2, 3, s.height, s.width], low: -1, high: 1, using: &g)
            // Ties: a constant plane, so that the first maximal tap must be the one chosen.
            for k in 0..<(s.height * s.width) { input.data[k] = 0.5 }
            let x = tape.parameter(input)
            let ym = x.maxPool(size: 3, stride: s.stride), ya = x.avgPool(size: 3, stride: s.stride)
            let rm = tape.constant(.randomUniform(shape: ym.shape, low: -1, high: 1, using: &g))
            let ra = tape.constant(.randomUniform(shape: ya.shape, low: -1, high: 1, using: &g))
            let grads = tape.gradients(of: (ym * rm).sum() + (ya * ra).sum())
            return Outcome(values: [ym.value, ya.value, grads[x]])
        }
    }

    @Test("Pools: max pooling and its gradient equal the stencils' exactly, average pooling up to rounding",
          .enabled(if: ConvKernels.registerRowsAvailable, skipReason), arguments: shapes.filter { $0.dilation == 1 })
    func pools(_ shape: Shape) {
        let rows = Self.pools(shape, registerRows: true), stencils = Self.pools(shape, registerRows: false)
        #expect(rows.values[0] == stencils.values[0], "max pooling")
        let scale = max(1, stencils.values[2].data.map(abs).max() ?? 0)
        #expect(rows.values[1].maxAbsDifference(stencils.values[1]) < 1e-6, "average pooling")
        #expect(rows.values[2].maxAbsDifference(stencils.values[2]) / scale < 1e-5, "input gradient")
    }

    @Test("Are used for the geometries they cover, and only those")
    func coverage() {
        func geometry(width: Int, kernel: Int = 3, dilation: Int = 1, padding: Int? = nil, stride: Int = 1) -> ConvGeometry {
            ConvGeometry(batch: 1, inChannels: 2, height: 6, width: width, outChannels: 2, kernelH: kernel, kernelW: kernel,
                         strideH: stride, strideW: stride, padH: padding ?? dilation, padW: padding ?? dilation,
                         dilationH: dilation, dilationW: dilation, groups: 2)
        }
        let available = ConvKernels.registerRowsAvailable
        #expect(ConvKernels.DepthwisePlan(geometry(width: 28)).registerRows == available)
        #expect(ConvKernels.DepthwisePlan(geometry(width: 28, dilation: 2, stride: 2)).registerRows == available)
        #expect(!ConvKernels.DepthwisePlan(geometry(width: 33)).registerRows)
        #expect(!ConvKernels.DepthwisePlan(geometry(width: 28, kernel: 5, padding: 2)).registerRows)
        #expect(!ConvKernels.DepthwisePlan(geometry(width: 28, padding: 0)).registerRows)
        #expect(!ConvKernels.DepthwisePlan(geometry(width: 28, dilation: 3)).registerRows)
        ConvKernels.$registerRows.withValue(false) {
            #expect(!ConvKernels.DepthwisePlan(geometry(width: 28)).registerRows)
        }
    }
}
