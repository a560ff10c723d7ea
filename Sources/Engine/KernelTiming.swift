/// Best wall times, in seconds, of the three kernels behind one `conv2d` node.
public struct ConvolutionTiming: Sendable {
    public var forward: Double
    /// The input gradient from a given output gradient.
    public var inputGradient: Double
    /// The filter gradient from a given output gradient and the input.
    public var weightGradient: Double
    /// Multiply-adds of the forward pass, times 2; each gradient costs as many again.
    public var forwardFLOPs: Double
}

/// Times the kernels that `conv2d` runs forward and backward, on the given input and filters
/// and a fixed random output gradient, without a tape or a loss in between: what the
/// convolution itself costs inside a network.
///
/// Each kernel runs once to warm up, then `repetitions` times; the best time counts.
///
/// - Throws: ``ShapeError`` when the shapes do not fit, as `conv2d` would report it.
public func timeConvolution(input x: Tensor, weight w: Tensor, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                            dilation: (Int, Int) = (1, 1), groups: Int = 1, threads: KernelThreads, repetitions: Int,
                            generator: inout SeededGenerator) throws(ShapeError) -> ConvolutionTiming {
    let g = try ConvShapes.convolution(input: x.shape, weight: w.shape, bias: nil, stride: stride, padding: padding,
                                       dilation: dilation, groups: groups)
    let dy = Tensor.randomNormal(shape: [g.batch, g.outChannels, g.outHeight, g.outWidth], using: &generator)
    func best(_ body: () -> Tensor?) -> Double {
        _ = body()
        var t = Double.infinity
        for _ in 0..<max(repetitions, 1) {
            let t0 = monotonicSeconds()
            _ = body()
            t = min(t, monotonicSeconds() - t0)
        }
        return t
    }
    let forward = best { ConvKernels.forward(x: x, weight: w, bias: nil, g, threads: threads) }
    let inputGradient = best {
        g.isDepthwise ? ConvKernels.depthwiseBackward(dy: dy, x: nil, weight: w, g, threads: threads).dx
            : ConvKernels.backwardData(dy: dy, weight: w, g, threads: threads)
    }
    let weightGradient = best {
        g.isDepthwise ? ConvKernels.depthwiseBackward(dy: dy, x: x, weight: nil, g, threads: threads).dw
            : ConvKernels.backwardWeight(dy: dy, x: x, g, threads: threads)
    }
    return ConvolutionTiming(forward: forward, inputGradient: inputGradient, weightGradient: weightGradient,
                             forwardFLOPs: g.forwardFLOPs)
}
