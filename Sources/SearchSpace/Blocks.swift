import Engine
import NN

/// ReLU, then a convolution, then batch norm: DARTS' `ReLUConvBN` and `StdConv`.
struct ReLUConvBN: Sendable {
    let conv: Conv2D
    let norm: BatchNorm2D

    init(_ name: String, inChannels: Int, outChannels: Int, kernel: (Int, Int), stride: (Int, Int),
         padding: (Int, Int), affine: Bool, builder: inout ParameterBuilder) {
        conv = Conv2D(name + ".conv", inChannels: inChannels, outChannels: outChannels, kernel: kernel,
                      stride: stride, padding: padding, builder: &builder)
        norm = BatchNorm2D(name + ".bn", channels: outChannels, affine: affine, builder: &builder)
    }

    func callAsFunction(_ x: Variable, _ ctx: ForwardContext) -> Variable { norm(conv(ctx.relu(x), ctx), ctx) }

    func flops(batch: Int, height: Int, width: Int) -> Double { conv.flops(batch: batch, height: height, width: width) }
}

/// ReLU, a depthwise `k x k` convolution (stride, dilation), a pointwise convolution, batch norm:
/// DARTS' `DilConv`, and one half of `SepConv`.
struct DepthwiseSeparable: Sendable {
    let depthwise: Conv2D
    let pointwise: Conv2D
    let norm: BatchNorm2D

    init(_ name: String, channels: Int, kernel: Int, stride: Int, dilation: Int, affine: Bool,
         builder: inout ParameterBuilder) {
        let pad = dilation * (kernel - 1) / 2
        depthwise = Conv2D(name + ".depthwise", inChannels: channels, outChannels: channels, kernel: (kernel, kernel),
                           stride: (stride, stride), padding: (pad, pad), dilation: (dilation, dilation),
                           groups: channels, builder: &builder)
        pointwise = Conv2D(name + ".pointwise", inChannels: channels, outChannels: channels, kernel: (1, 1),
                           builder: &builder)
        norm = BatchNorm2D(name + ".bn", channels: channels, affine: affine, builder: &builder)
    }

    func callAsFunction(_ x: Variable, _ ctx: ForwardContext) -> Variable { norm(convolved(x, ctx), ctx) }

    /// The block before its batch norm.
    func convolved(_ x: Variable, _ ctx: ForwardContext) -> Variable { convolved(rectified: ctx.relu(x), ctx) }

    /// The block before its batch norm, from an input that is already rectified.
    func convolved(rectified r: Variable, _ ctx: ForwardContext) -> Variable {
        // One fused node: the depthwise result is recomputed in the backward pass, not kept.
        r.separableConv2d(depthwise: ctx[depthwise.weight], pointwise: ctx[pointwise.weight],
                          stride: depthwise.stride.0, padding: depthwise.padding.0, dilation: depthwise.dilation.0)
    }

    func flops(batch: Int, height: Int, width: Int) -> Double {
        let s = depthwise.stride.0
        let (ho, wo) = ((height - 1) / s + 1, (width - 1) / s + 1)
        return depthwise.flops(batch: batch, height: height, width: width) + pointwise.flops(batch: batch, height: ho, width: wo)
    }
}

/// Halves the resolution without losing the odd pixels: ReLU, then two 1x1 stride-2
/// convolutions, one on the input and one on the input shifted by a pixel, concatenated, then
/// batch norm.
///
/// The stride-2 convolutions are computed as plain 1x1 convolutions of the pixels they sample
/// (``Engine/Variable/phaseSampled(row:column:)``): the even pixels, and the odd ones, which the
/// shifted input's even pixels are.
public struct FactorizedReduce: Sendable {
    let left: Conv2D, right: Conv2D
    let norm: BatchNorm2D

    public init(_ name: String, inChannels: Int, outChannels: Int, affine: Bool, builder: inout ParameterBuilder) {
        precondition(outChannels % 2 == 0, "FactorizedReduce \(name): output channels \(outChannels) must be even")
        left = Conv2D(name + ".conv1", inChannels: inChannels, outChannels: outChannels / 2, kernel: (1, 1),
                      builder: &builder)
        right = Conv2D(name + ".conv2", inChannels: inChannels, outChannels: outChannels / 2, kernel: (1, 1),
                       builder: &builder)
        norm = BatchNorm2D(name + ".bn", channels: outChannels, affine: affine, builder: &builder)
    }

    public func callAsFunction(_ x: Variable, _ ctx: ForwardContext) -> Variable {
        let r = ctx.relu(x)
        // The sampled planes are the same for every reduction that reads `x` (the skip
        // connections of a reduction cell's edges from one input).
        let even = ctx.shared("even pixels", of: r) { $0.phaseSampled(row: 0, column: 0) }
        let odd = ctx.shared("odd pixels", of: r) { $0.phaseSampled(row: 1, column: 1) }
        return norm(concatChannels([left(even, ctx), right(odd, ctx)]), ctx)
    }

    public func flops(batch: Int, height: Int, width: Int) -> Double {
        let (h, w) = ((height + 1) / 2, (width + 1) / 2)
        return left.flops(batch: batch, height: h, width: w) + right.flops(batch: batch, height: h, width: w)
    }
}
