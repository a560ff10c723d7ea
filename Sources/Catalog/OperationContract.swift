import Engine
import NN
import SearchSpace

/// The shape contract every candidate operation must keep, checked before any training.
///
/// The operation is built for 4 channels at stride 1 and at stride 2 and applied to a seeded
/// `[2, 4, 8, 8]` input in training mode:
///
/// ```
/// stride 1: [2, 4, 8, 8] -> [2, 4, 8, 8]      stride 2: [2, 4, 8, 8] -> [2, 4, 4, 4]
/// outputs, parameter gradients and FLOP counts finite;
/// d/dx sum(y * r) != 0 for a fixed random r (except for the zero operation)
/// ```
/// The weighted sum makes the gradient check meaningful behind a batch norm, whose plain sum
/// does not depend on the input. An operation that answers ``CandidateOperation/beforeNorm(_:_:)``
/// must hand back a non-affine norm whose output, applied to what it returns, is the
/// operation's output.
public enum OperationContract {
    /// The input the contract uses.
    public static let inputShape = [2, 4, 8, 8]

    /// Checks `definition`.
    ///
    /// - Returns: one message per broken rule (empty when the operation keeps the contract).
    public static func problems(of definition: OperationDefinition) -> [String] {
        var problems: [String] = []
        for stride in [1, 2] {
            if let p = problem(definition, stride: stride) { problems.append("operation '\(definition.name)' at stride \(stride): \(p)") }
        }
        return problems
    }

    private static func problem(_ definition: OperationDefinition, stride: Int) -> String? {
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        var builder = ParameterBuilder(generator: SeededGenerator(seed: 0xC0DE))
        let op = definition.make(OperationShape(channels: c, stride: stride), &builder, "contract")
        guard builder.parameters.isFinite else { return "its initial parameters are not finite" }
        var g = SeededGenerator(seed: 0xF00D)
        let tape = Tape()
        let x = tape.parameter(.randomNormal(shape: inputShape, using: &g))
        let ctx = ForwardContext(tape: tape, weights: builder.parameters.bind(to: tape, trainable: true),
                                 buffers: builder.buffers, training: true)
        let y = op(x, ctx)
        let expected = [n, c, (h - 1) / stride + 1, (w - 1) / stride + 1]
        guard y.shape == expected else { return "output shape \(y.shape), expected \(expected) for input \(inputShape)" }
        guard y.value.data.allSatisfy(\.isFinite) else { return "the output holds NaN or infinity" }
        if let p = beforeNormProblem(op, parameters: builder.parameters, buffers: builder.buffers, input: x.value,
                                     output: y.value) { return p }
        let flops = op.flops(batch: n, height: h, width: w)
        guard flops.isFinite, flops >= 0 else { return "flops(batch:height:width:) returned \(flops)" }
        if op.isZero { return nil }
        let r = tape.constant(.randomNormal(shape: expected, using: &g))
        let gradients = tape.gradients(of: (y * r).sum())
        guard gradients.contains(x) else { return "no gradient reaches the input" }
        let gx = gradients[x].data
        guard gx.allSatisfy(\.isFinite) else { return "the input gradient holds NaN or infinity" }
        guard gx.contains(where: { $0 != 0 }) else { return "the input gradient is zero everywhere" }
        for (i, v) in ctx.weights.enumerated() where gradients.contains(v) {
            guard gradients[v].data.allSatisfy(\.isFinite) else {
                return "the gradient of parameter '\(builder.parameters.names[i])' holds NaN or infinity"
            }
        }
        return nil
    }

    /// What is wrong with the operation's `beforeNorm`, run on a fresh tape from the same input.
    private static func beforeNormProblem(_ op: any CandidateOperation, parameters: ParameterSet, buffers: BufferSet,
                                          input: Tensor, output: Tensor) -> String? {
        let tape = Tape()
        let ctx = ForwardContext(tape: tape, weights: parameters.bind(to: tape, trainable: false), buffers: buffers,
                                 training: true)
        guard let (pre, norm) = op.beforeNorm(tape.constant(input), ctx) else { return nil }
        guard !norm.isAffine else { return "beforeNorm(_:_:) returned an affine batch norm (only non-affine ones are fused)" }
        guard pre.shape == output.shape else {
            return "beforeNorm(_:_:) output shape \(pre.shape), expected \(output.shape) (the operation's own)"
        }
        let difference = norm(pre, ctx).value.maxAbsDifference(output)
        guard difference <= 1e-4 else {
            return "beforeNorm(_:_:) disagrees with the operation: its norm applied to its output differs by \(difference)"
        }
        return nil
    }
}
