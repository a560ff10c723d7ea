import Engine
import NN

/// `max_pool_3x3` / `avg_pool_3x3`: pooling followed by a non-affine batch norm.
struct PoolOperation: CandidateOperation {
    let isMax: Bool, stride: Int
    let norm: BatchNorm2D

    func callAsFunction(_ x: Variable, _ ctx: ForwardContext) -> Variable { norm(pooled(x, ctx), ctx) }

    func beforeNorm(_ x: Variable, _ ctx: ForwardContext) -> (output: Variable, norm: BatchNorm2D)? { (pooled(x, ctx), norm) }

    /// Pooling has no parameters, so the edges of a cell that share an input and a stride
    /// share one pooled tensor.
    private func pooled(_ x: Variable, _ ctx: ForwardContext) -> Variable {
        ctx.shared("\(isMax ? "max" : "avg")_pool_3x3 stride \(stride)", of: x) {
            isMax ? $0.maxPool(size: 3, stride: stride) : $0.avgPool(size: 3, stride: stride)
        }
    }
}

/// `skip_connect`: the identity at stride 1, a factorized reduction at stride 2.
struct SkipOperation: CandidateOperation {
    let reduce: FactorizedReduce?
    var isIdentity: Bool { reduce == nil }

    func callAsFunction(_ x: Variable, _ ctx: ForwardContext) -> Variable {
        reduce.map { $0(x, ctx) } ?? x
    }

    func flops(batch: Int, height: Int, width: Int) -> Double {
        reduce?.flops(batch: batch, height: height, width: width) ?? 0
    }
}

/// `conv_1x5_5x1`: ReLU, a 1x5 convolution (stride s), a 5x1 convolution, batch norm.
struct FactorizedConvOperation: CandidateOperation {
    let first: Conv2D, second: Conv2D
    let norm: BatchNorm2D

    func callAsFunction(_ x: Variable, _ ctx: ForwardContext) -> Variable { norm(convolved(x, ctx), ctx) }

    func beforeNorm(_ x: Variable, _ ctx: ForwardContext) -> (output: Variable, norm: BatchNorm2D)? {
        (convolved(x, ctx), norm)
    }

    private func convolved(_ x: Variable, _ ctx: ForwardContext) -> Variable { second(first(ctx.relu(x), ctx), ctx) }

    func flops(batch: Int, height: Int, width: Int) -> Double {
        let s = first.stride.0
        return first.flops(batch: batch, height: height, width: width)
            + second.flops(batch: batch, height: (height - 1) / s + 1, width: (width - 1) / s + 1)
    }
}

/// `conv_3x3`, `dil_conv_3x3` and `sep_conv_3x3`: one or two depthwise-separable blocks.
struct SeparableOperation: CandidateOperation {
    let blocks: [DepthwiseSeparable]

    func callAsFunction(_ x: Variable, _ ctx: ForwardContext) -> Variable {
        let last = blocks[blocks.count - 1]
        return last.norm(last.convolved(rectified: rectifiedInputOfLastBlock(x, ctx), ctx), ctx)
    }

    func beforeNorm(_ x: Variable, _ ctx: ForwardContext) -> (output: Variable, norm: BatchNorm2D)? {
        let last = blocks[blocks.count - 1]
        return (last.convolved(rectified: rectifiedInputOfLastBlock(x, ctx), ctx), last.norm)
    }

    /// The blocks before the last, each block's batch norm fused with the next block's ReLU.
    private func rectifiedInputOfLastBlock(_ x: Variable, _ ctx: ForwardContext) -> Variable {
        blocks.dropLast().reduce(ctx.relu(x)) { r, block in block.norm.rectified(block.convolved(rectified: r, ctx), ctx) }
    }

    func flops(batch: Int, height: Int, width: Int) -> Double {
        var (h, w, total) = (height, width, 0.0)
        for b in blocks {
            total += b.flops(batch: batch, height: h, width: w)
            let s = b.depthwise.stride.0
            (h, w) = ((h - 1) / s + 1, (w - 1) / s + 1)
        }
        return total
    }
}

/// `none`: the zero operation of DARTS (never chosen when discretizing).
struct ZeroOperation: CandidateOperation {
    let stride: Int
    var isZero: Bool { true }

    func callAsFunction(_ x: Variable, _ ctx: ForwardContext) -> Variable {
        let s = x.shape
        return ctx.tape.constant(Tensor(shape: [s[0], s[1], (s[2] - 1) / stride + 1, (s[3] - 1) / stride + 1]))
    }
}

extension OperationRegistry {
    /// The operations of the MetaNAS Omniglot search space, plus DARTS' `none`.
    ///
    /// All batch norms inside operations are non-affine, as in the reference search space.
    public static var builtIn: OperationRegistry {
        var r = OperationRegistry()
        r.register(OperationDefinition(name: "max_pool_3x3", summary: "3x3 max pooling, then batch norm") { s, b, p in
            PoolOperation(isMax: true, stride: s.stride, norm: BatchNorm2D(p + ".bn", channels: s.channels, affine: false, builder: &b))
        })
        r.register(OperationDefinition(name: "avg_pool_3x3", summary: "3x3 average pooling (padding not counted), then batch norm") { s, b, p in
            PoolOperation(isMax: false, stride: s.stride, norm: BatchNorm2D(p + ".bn", channels: s.channels, affine: false, builder: &b))
        })
        r.register(OperationDefinition(name: "skip_connect", summary: "identity; factorized reduction at stride 2") { s, b, p in
            SkipOperation(reduce: s.stride == 1 ? nil
                : FactorizedReduce(p + ".reduce", inChannels: s.channels, outChannels: s.channels, affine: false, builder: &b))
        })
        r.register(OperationDefinition(name: "conv_1x5_5x1", summary: "ReLU, 1x5 then 5x1 convolution, batch norm") { s, b, p in
            FactorizedConvOperation(
                first: Conv2D(p + ".conv1x5", inChannels: s.channels, outChannels: s.channels, kernel: (1, 5),
                              stride: (s.stride, s.stride), padding: (0, 2), builder: &b),
                second: Conv2D(p + ".conv5x1", inChannels: s.channels, outChannels: s.channels, kernel: (5, 1),
                               padding: (2, 0), builder: &b),
                norm: BatchNorm2D(p + ".bn", channels: s.channels, affine: false, builder: &b))
        })
        r.register(OperationDefinition(name: "conv_3x3", summary: "ReLU, depthwise 3x3, pointwise, batch norm") { s, b, p in
            SeparableOperation(blocks: [DepthwiseSeparable(p, channels: s.channels, kernel: 3, stride: s.stride, dilation: 1,
                                                           affine: false, builder: &b)])
        })
        r.register(OperationDefinition(name: "sep_conv_3x3", summary: "the conv_3x3 block twice (stride in the first)") { s, b, p in
            SeparableOperation(blocks: [
                DepthwiseSeparable(p + ".0", channels: s.channels, kernel: 3, stride: s.stride, dilation: 1, affine: false, builder: &b),
                DepthwiseSeparable(p + ".1", channels: s.channels, kernel: 3, stride: 1, dilation: 1, affine: false, builder: &b),
            ])
        })
        r.register(OperationDefinition(name: "dil_conv_3x3", summary: "ReLU, depthwise 3x3 dilation 2, pointwise, batch norm") { s, b, p in
            SeparableOperation(blocks: [DepthwiseSeparable(p, channels: s.channels, kernel: 3, stride: s.stride, dilation: 2,
                                                           affine: false, builder: &b)])
        })
        r.register(OperationDefinition(name: "none", summary: "zero (DARTS' 'none'; never chosen by discretization)") { s, _, _ in
            ZeroOperation(stride: s.stride)
        })
        return r
    }

    /// The seven operations of the reference MetaNAS Omniglot search space, in its order.
    public static let metaNASOperations = [
        "max_pool_3x3", "avg_pool_3x3", "skip_connect", "conv_1x5_5x1", "conv_3x3", "sep_conv_3x3", "dil_conv_3x3",
    ]
}
