/// Shape rules for convolution and pooling, exposed so callers can validate before building.
public enum ConvShapes {
    /// The geometry of `conv2d(x, weight, ...)`; throws when the shapes do not fit.
    public static func convolution(input: [Int], weight: [Int], bias: [Int]?, stride: (Int, Int),
                                   padding: (Int, Int), dilation: (Int, Int), groups: Int) throws(ShapeError) -> ConvGeometry {
        let op = "conv2d"
        guard input.count == 4 else { throw ShapeError(op, "input must be NCHW, got shape \(input) (weight \(weight))") }
        guard weight.count == 4 else { throw ShapeError(op, "weight must be [out, in/groups, kh, kw], got \(weight) (input \(input))") }
        guard groups >= 1, input[1] % groups == 0, weight[0] % groups == 0 else {
            throw ShapeError(op, "groups \(groups) must divide input channels (input \(input)) and output channels (weight \(weight))")
        }
        guard weight[1] == input[1] / groups else {
            throw ShapeError(op, "weight \(weight) expects \(weight[1] * groups) input channels with groups \(groups), input is \(input)")
        }
        guard stride.0 >= 1, stride.1 >= 1, dilation.0 >= 1, dilation.1 >= 1, padding.0 >= 0, padding.1 >= 0 else {
            throw ShapeError(op, "stride \(stride), dilation \(dilation) must be >= 1 and padding \(padding) >= 0")
        }
        if let bias, bias != [weight[0]] {
            throw ShapeError(op, "bias shape \(bias) does not match \(weight[0]) output channels of weight \(weight) (input \(input))")
        }
        for (extent, pad, dil, k) in [(input[2], padding.0, dilation.0, weight[2]), (input[3], padding.1, dilation.1, weight[3])]
        where extent + 2 * pad < dil * (k - 1) + 1 {
            throw ShapeError(op, "weight \(weight) (dilation \(dilation), padding \(padding)) does not fit input \(input)")
        }
        let g = ConvGeometry(batch: input[0], inChannels: input[1], height: input[2], width: input[3],
                             outChannels: weight[0], kernelH: weight[2], kernelW: weight[3],
                             strideH: stride.0, strideW: stride.1, padH: padding.0, padW: padding.1,
                             dilationH: dilation.0, dilationW: dilation.1, groups: groups)
        guard g.outHeight >= 1, g.outWidth >= 1 else {
            throw ShapeError(op, "weight \(weight) (dilation \(dilation), padding \(padding)) does not fit input \(input)")
        }
        return g
    }

    /// The geometry of a `size x size` pooling window with the given stride and padding.
    public static func pooling(_ op: String, input: [Int], size: Int, stride: Int, padding: Int) throws(ShapeError) -> ConvGeometry {
        guard input.count == 4 else { throw ShapeError(op, "input must be NCHW, got shape \(input)") }
        guard size >= 1, stride >= 1, padding >= 0, padding <= size / 2 else {
            throw ShapeError(op, "window \(size), stride \(stride), padding \(padding) are not valid for input \(input)")
        }
        guard input[2] + 2 * padding >= size, input[3] + 2 * padding >= size else {
            throw ShapeError(op, "window \(size) with padding \(padding) does not fit input \(input)")
        }
        let g = ConvGeometry(batch: input[0], inChannels: input[1], height: input[2], width: input[3],
                             outChannels: input[1], kernelH: size, kernelW: size, strideH: stride, strideW: stride,
                             padH: padding, padW: padding, dilationH: 1, dilationW: 1, groups: input[1])
        guard g.outHeight >= 1, g.outWidth >= 1 else {
            throw ShapeError(op, "window \(size) does not fit input \(input)")
        }
        return g
    }
}

extension Variable {
    /// 2-D convolution (cross-correlation) of NCHW input with `[out, in/groups, kh, kw]` weights.
    ///
    /// Dense and grouped convolutions unfold patches and call a matrix product; depthwise ones
    /// (`groups == channels`) run direct loops. Gradients flow to input, weight and bias.
    ///
    /// - Parameters:
    ///   - weight: filters, `[outChannels, inChannels / groups, kernelH, kernelW]`.
    ///   - bias: optional per-output-channel offset, `[outChannels]`.
    ///   - stride, padding, dilation: per axis (height, width).
    ///   - groups: channel groups; equal to the channel count for a depthwise convolution.
    public func conv2d(_ weight: Variable, bias: Variable? = nil, stride: (Int, Int) = (1, 1),
                       padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Variable {
        let g = checked { () throws(ShapeError) in
            try ConvShapes.convolution(input: shape, weight: weight.shape, bias: bias?.shape, stride: stride,
                                       padding: padding, dilation: dilation, groups: groups)
        }
        let threads = tape.threads
        let (x, w) = (value, weight.value)
        let y = ConvKernels.forward(x: x, weight: w, bias: bias?.value, g, threads: threads)
        let inputs = [self, weight] + (bias.map { [$0] } ?? [])
        let (xid, wid, bid) = (id, weight.id, bias?.id)
        // The input is kept for the backward pass only when the weight needs a gradient.
        let saved: Tensor? = weight.needsGradient ? x : nil
        let (needsInput, inputShape) = (needsGradient, shape)
        return tape.record(y, inputs: inputs) { dy, grads in
            if g.isDepthwise {
                // One sweep serves whichever of the two gradients is needed.
                let (dx, dw) = ConvKernels.depthwiseBackward(dy: dy, x: saved, weight: needsInput ? w : nil, g,
                                                              threads: threads)
                if let dx { grads.accumulate(xid, dx) }
                if let dw { grads.accumulate(wid, dw) }
            } else {
                // The input gradient is written into (or added to) the gradient the input holds.
                grads.accumulate(xid, shape: inputShape) { dx, accumulating in
                    ConvKernels.backwardData(dy: dy, weight: w, g, into: dx, accumulating: accumulating, threads: threads)
                }
                if let saved { grads.accumulate(wid, ConvKernels.backwardWeight(dy: dy, x: saved, g, threads: threads)) }
            }
            if let bid { grads.accumulate(bid, ConvKernels.backwardBias(dy: dy, channels: g.outChannels, threads: threads)) }
        }
    }

    /// Max pooling over `size x size` windows (padding never wins: it counts as minus infinity).
    public func maxPool(size: Int = 3, stride: Int, padding: Int = 1) -> Variable {
        let g = checked { () throws(ShapeError) in
            try ConvShapes.pooling("maxPool", input: shape, size: size, stride: stride, padding: padding)
        }
        let threads = tape.threads
        let (y, taps) = PoolKernels.maxForward(value, g, threads: threads)
        let (xid, inputShape) = (id, shape)
        return tape.record(y, inputs: [self]) { dy, grads in
            grads.accumulate(xid, shape: inputShape) { dx, accumulating in
                PoolKernels.maxBackward(dy, taps: taps, g, into: dx, accumulating: accumulating, threads: threads)
            }
        }
    }

    /// Average pooling over `size x size` windows; padded positions are not counted in the mean.
    public func avgPool(size: Int = 3, stride: Int, padding: Int = 1) -> Variable {
        let g = checked { () throws(ShapeError) in
            try ConvShapes.pooling("avgPool", input: shape, size: size, stride: stride, padding: padding)
        }
        let threads = tape.threads
        let y = PoolKernels.avgForward(value, g, threads: threads)
        let (xid, inputShape) = (id, shape)
        return tape.record(y, inputs: [self]) { dy, grads in
            grads.accumulate(xid, shape: inputShape) { dx, accumulating in
                PoolKernels.avgBackward(dy, g, into: dx, accumulating: accumulating, threads: threads)
            }
        }
    }
}

extension Variable {
    /// A depthwise `k x k` convolution followed by a pointwise (1x1) convolution, as one node:
    /// `pointwise(depthwise(x))`, both without bias.
    ///
    /// Equal to composing two ``conv2d(_:bias:stride:padding:dilation:groups:)`` calls, but it
    /// runs image by image, so the intermediate result of an image stays in cache between the
    /// two filters, and it is not kept for the backward pass: when the pointwise filters need a
    /// gradient it is recomputed from the input, which costs one cheap depthwise pass and saves
    /// one activation per block (most of a separable network's memory).
    ///
    /// - Parameters:
    ///   - depthwise: `[C, 1, k, k]` filters.
    ///   - pointwise: `[outChannels, C, 1, 1]` filters.
    public func separableConv2d(depthwise: Variable, pointwise: Variable, stride: Int = 1, padding: Int = 0,
                                dilation: Int = 1) -> Variable {
        let c = shape.count == 4 ? shape[1] : 0
        let gd = checked { () throws(ShapeError) in
            guard depthwise.shape.count == 4, depthwise.shape[0] == c, depthwise.shape[1] == 1 else {
                throw ShapeError("separableConv2d", "depthwise filters \(depthwise.shape) do not fit input \(shape) (need [\(c), 1, k, k])")
            }
            return try ConvShapes.convolution(input: shape, weight: depthwise.shape, bias: nil, stride: (stride, stride),
                                              padding: (padding, padding), dilation: (dilation, dilation), groups: max(c, 1))
        }
        let gp = checked { () throws(ShapeError) in
            guard pointwise.shape.count == 4, pointwise.shape[2] == 1, pointwise.shape[3] == 1 else {
                throw ShapeError("separableConv2d", "pointwise filters \(pointwise.shape) must be [out, \(c), 1, 1] (input \(shape))")
            }
            return try ConvShapes.convolution(input: [gd.batch, c, gd.outHeight, gd.outWidth], weight: pointwise.shape,
                                              bias: nil, stride: (1, 1), padding: (0, 0), dilation: (1, 1), groups: 1)
        }
        let threads = tape.threads
        let (x, wd, wp) = (value, depthwise.value, pointwise.value)
        let y = ConvKernels.separableForward(x: x, depthwise: wd, pointwise: wp, gd, gp, threads: threads)
        let (xid, did, pid) = (id, depthwise.id, pointwise.id)
        let (needsInput, needsDepthwise, needsPointwise) = (needsGradient, depthwise.needsGradient, pointwise.needsGradient)
        // The input is kept only when a filter gradient needs it.
        let saved: Tensor? = needsDepthwise || needsPointwise ? x : nil
        let inputShape = shape
        return tape.record(y, inputs: [self, depthwise, pointwise]) { dy, grads in
            // The input gradient is written into (or added to) the gradient the input holds.
            func sweep(dx: UnsafeMutablePointer<Float>?, accumulating: Bool) -> (Tensor?, Tensor?) {
                ConvKernels.separableBackward(dy: dy, x: saved, depthwise: wd, pointwise: wp, gd, gp, dx: dx,
                                              accumulatingDX: accumulating, needDepthwise: needsDepthwise,
                                              needPointwise: needsPointwise, threads: threads)
            }
            var (dwd, dwp): (Tensor?, Tensor?) = (nil, nil)
            if needsInput {
                grads.accumulate(xid, shape: inputShape) { dx, accumulating in
                    (dwd, dwp) = sweep(dx: dx, accumulating: accumulating)
                }
            } else {
                (dwd, dwp) = sweep(dx: nil, accumulating: false)
            }
            if let dwp { grads.accumulate(pid, dwp) }
            if let dwd { grads.accumulate(did, dwd) }
        }
    }
}
