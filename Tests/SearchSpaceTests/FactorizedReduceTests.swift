import Engine
import NN
import Testing
@testable import SearchSpace

/// FactorizedReduce samples the pixels its stride-2 1x1 convolutions read and multiplies them
/// as plain 1x1 convolutions. These tests hold it to the definition: stride-2 convolutions of
/// the rectified input and of that input shifted up and left by a pixel.
@Suite("FactorizedReduce")
struct FactorizedReduceTests {
    @Test("equals stride-2 1x1 convolutions of the input and of the shifted input, values and gradients",
          arguments: [[2, 4, 6, 6], [3, 4, 5, 7]])
    func matchesDefinition(_ shape: [Int]) {
        var builder = ParameterBuilder(generator: SeededGenerator(seed: 61))
        let block = FactorizedReduce("reduce", inChannels: shape[1], outChannels: 6, affine: false, builder: &builder)
        var rng = SeededGenerator(seed: 62)
        let x = Tensor.randomNormal(shape: shape, using: &rng)

        let tape = Tape()
        let ctx = ForwardContext(tape: tape, weights: builder.parameters.bind(to: tape, trainable: true),
                                 buffers: builder.buffers, training: true)
        let input = tape.parameter(x)
        let y = block(input, ctx)
        let projection = Tensor.randomNormal(shape: y.shape, using: &rng)
        let grads = tape.gradients(of: (y * tape.constant(projection)).sum())

        // The definition: the shift is a depthwise 3x3 filter with a single 1 in its last tap
        // (y[h, w] = x[h + 1, w + 1], zero past the edge).
        let reference = Tape()
        let (w1, w2) = (reference.parameter(builder.parameters.tensors[0]), reference.parameter(builder.parameters.tensors[1]))
        let rx = reference.parameter(x)
        let c = shape[1]
        let shift = reference.constant(Tensor(shape: [c, 1, 3, 3],
                                              data: (0..<(9 * c)).map { $0 % 9 == 8 ? 1 : 0 }))
        let r = rx.relu()
        let left = r.conv2d(w1, stride: (2, 2))
        let right = r.conv2d(shift, padding: (1, 1), groups: c).conv2d(w2, stride: (2, 2))
        let expected = concatChannels([left, right]).batchNorm().output
        let referenceGrads = reference.gradients(of: (expected * reference.constant(projection)).sum())

        func largestDifference(_ a: Tensor, _ b: Tensor) -> Float {
            #expect(a.shape == b.shape)
            return zip(a.data, b.data).map { abs($0 - $1) }.max() ?? .infinity
        }
        #expect(largestDifference(y.value, expected.value) < 1e-5)
        #expect(largestDifference(grads[input], referenceGrads[rx]) < 1e-4)
        #expect(largestDifference(grads[ctx.weights[0]], referenceGrads[w1]) < 1e-4)
        #expect(largestDifference(grads[ctx.weights[1]], referenceGrads[w2]) < 1e-4)
    }
}
