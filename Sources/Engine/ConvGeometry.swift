/// Sizes of a 2-D convolution or pooling window over NCHW tensors.
public struct ConvGeometry: Equatable, Sendable {
    public var batch: Int, inChannels: Int, height: Int, width: Int
    public var outChannels: Int, kernelH: Int, kernelW: Int
    public var strideH: Int, strideW: Int, padH: Int, padW: Int, dilationH: Int, dilationW: Int
    public var groups: Int

    public var outHeight: Int { (height + 2 * padH - dilationH * (kernelH - 1) - 1) / strideH + 1 }
    public var outWidth: Int { (width + 2 * padW - dilationW * (kernelW - 1) - 1) / strideW + 1 }
    /// Input channels seen by each output channel.
    public var groupInChannels: Int { inChannels / groups }
    public var groupOutChannels: Int { outChannels / groups }
    /// Rows of the unfolded input of one group: `groupInChannels * kernelH * kernelW`.
    public var patchSize: Int { groupInChannels * kernelH * kernelW }
    /// Whether this is a plain matrix product over channels (1x1, stride 1, no padding).
    var isPointwise: Bool { kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0 }
    /// Whether each channel is filtered on its own (groups == channels).
    var isDepthwise: Bool { groups == inChannels && outChannels == inChannels && groups > 1 }

    /// Multiply-adds x 2 of the forward pass.
    public var forwardFLOPs: Double {
        2 * Double(batch * outChannels * outHeight * outWidth * patchSize)
    }

    /// The range of output indices whose window tap at offset `tapOffset` (= i * dilation - pad)
    /// lands inside an input extent, given the stride.
    @inline(__always)
    static func validRange(outExtent: Int, inExtent: Int, stride: Int, tapOffset: Int) -> Range<Int> {
        // Need 0 <= o * stride + tapOffset < inExtent.
        let lo = tapOffset >= 0 ? 0 : (-tapOffset + stride - 1) / stride
        let hiInclusive = inExtent - 1 - tapOffset
        if hiInclusive < 0 { return 0..<0 }
        let hi = min(outExtent, hiInclusive / stride + 1)
        return lo < hi ? lo..<hi : 0..<0
    }
}
