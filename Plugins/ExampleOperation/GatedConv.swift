// An operation plugin for metanas: `gated_conv_3x3`.
//
// Built as a shared library by build.sh and loaded at run time through a catalog entry
// (catalog.json in this folder); nothing in Sources/ knows about it. Loading a plugin runs
// its code with your permissions: only load libraries you built or trust.

import Catalog
import Engine
import NN
import SearchSpace

/// `gated_conv_3x3`: ReLU, a 3x3 convolution (stride 1 or 2), non-affine batch norm, then a
/// learned gate per channel.
///
/// ```
/// y_c = g_c * BN(conv3x3(relu(x)))_c,    g_c = softmax(l_c)[0] = sigmoid(l_c0 - l_c1) in (0, 1)
/// ```
/// The gate logits `l` (`[C, 2]`, zero at the start: every gate 0.5) let the operation scale
/// each channel's contribution without an affine batch norm. Everything is built from engine
/// primitives, so the gradients come from the tape: the gate is picked from the softmax by a
/// constant `[1, 2]` linear map and applied as a depthwise 1x1 convolution.
struct GatedConv3x3: CandidateOperation {
    let conv: Conv2D
    let norm: BatchNorm2D
    let gateLogits: ParameterID
    let channels: Int

    init(_ shape: OperationShape, builder: inout ParameterBuilder, prefix: String) {
        let c = shape.channels
        conv = Conv2D(prefix + ".conv", inChannels: c, outChannels: c, kernel: (3, 3), stride: (shape.stride, shape.stride),
                      padding: (1, 1), builder: &builder)
        norm = BatchNorm2D(prefix + ".bn", channels: c, affine: false, builder: &builder)
        gateLogits = builder.constant(prefix + ".gate", shape: [c, 2], value: 0)
        channels = c
    }

    func callAsFunction(_ x: Variable, _ ctx: ForwardContext) -> Variable {
        let y = norm(conv(ctx.relu(x), ctx), ctx)
        let first = ctx.tape.constant(Tensor(shape: [1, 2], data: [1, 0]))
        let gate = ctx[gateLogits].softmax().linear(first).reshaped([channels, 1, 1, 1])
        return y.conv2d(gate, groups: channels)
    }

    func flops(batch: Int, height: Int, width: Int) -> Double {
        let s = conv.stride.0
        let (ho, wo) = ((height - 1) / s + 1, (width - 1) / s + 1)
        return conv.flops(batch: batch, height: height, width: width) + 2 * Double(batch * channels * ho * wo)
    }
}

// MARK: - The plugin ABI (see `PluginABI` in the Catalog module)

/// The ABI version this library was compiled for; metanas refuses the library when it differs
/// from its own, before registering anything.
@_cdecl("metanas_plugin_abi_version")
public func metanasPluginABIVersion() -> UInt32 {
    PluginABI.version
}

/// Registers this library's operations. `registrar` is an opaque pointer to a
/// `PluginRegistrar`, valid during this call only. Returns 0 on success.
@_cdecl("metanas_plugin_register")
public func metanasPluginRegister(_ registrar: UnsafeMutableRawPointer) -> Int32 {
    PluginRegistrar.from(registrar).registerOperation(
        name: "gated_conv_3x3", summary: "ReLU, 3x3 convolution, batch norm, learned per-channel gate in (0, 1)"
    ) { shape, builder, prefix in
        GatedConv3x3(shape, builder: &builder, prefix: prefix)
    }
    return 0
}
