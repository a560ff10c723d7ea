import Engine
import NN
import Testing
@testable import SearchSpace

/// The edges of a cell that read the same input at the same stride share one pooled tensor.
/// These tests compare the built-in pools with a test-local pool that pools on every edge.
@Suite("Shared pooling across edges")
struct SharedPoolingTests {
    /// Pooling then a non-affine batch norm, computed anew on every call.
    struct SeparatePool: CandidateOperation {
        let isMax: Bool, stride: Int
        let norm: BatchNorm2D

        func callAsFunction(_ x: Variable, _ ctx: ForwardContext) -> Variable { norm(pooled(x), ctx) }
        func beforeNorm(_ x: Variable, _ ctx: ForwardContext) -> (output: Variable, norm: BatchNorm2D)? { (pooled(x), norm) }
        private func pooled(_ x: Variable) -> Variable {
            isMax ? x.maxPool(size: 3, stride: stride) : x.avgPool(size: 3, stride: stride)
        }
    }

    static func separateRegistry() -> OperationRegistry {
        var r = OperationRegistry.builtIn
        for isMax in [true, false] {
            let name = isMax ? "max_pool_3x3" : "avg_pool_3x3"
            r.register(OperationDefinition(name: name, summary: "pooling on every edge") { s, b, p in
                SeparatePool(isMax: isMax, stride: s.stride,
                             norm: BatchNorm2D(p + ".bn", channels: s.channels, affine: false, builder: &b))
            })
        }
        return r
    }

    struct Pass {
        var logits: Tensor
        var weightGradients: [Tensor]
        var architectureGradients: [Tensor]
        var nodes: Int
    }

    static func pass(_ net: SearchNetwork, images: Tensor) -> Pass {
        let tape = Tape()
        let forward = Forward(network: net, images: images)
        let settings = ArchitectureSettings(temperature: 1, operationThreshold: 0.01, inputThreshold: 0.01)
        var g = SeededGenerator(seed: 5)
        var arch = net.architecture
        for i in arch.tensors.indices {
            arch.tensors[i] = .randomUniform(shape: arch.tensors[i].shape, low: -0.3, high: 0.3, using: &g)
        }
        let (logits, w, a) = forward.logits(weights: net.weights, architecture: arch, settings: settings, on: tape,
                                            trainable: true)
        let r = Tensor.randomUniform(shape: logits.shape, low: -1, high: 1, using: &g)
        let grads = tape.gradients(of: (logits * tape.constant(r)).sum())
        return Pass(logits: logits.value, weightGradients: w.map { grads[$0] }, architectureGradients: a.map { grads[$0] },
                    nodes: tape.nodeCount)
    }

    @Test("Same logits bit for bit and the same gradients up to rounding as pooling on every edge, with fewer tape nodes")
    func sharedEqualsSeparate() throws {
        let config = Tiny.config()
        var g1 = SeededGenerator(seed: 7), g2 = SeededGenerator(seed: 7)
        let shared = try SearchNetwork(config, registry: .builtIn, generator: &g1)
        let separate = try SearchNetwork(config, registry: Self.separateRegistry(), generator: &g2)
        #expect(shared.weights == separate.weights)
        let images = Tiny.images(config, batch: 4)
        let a = Self.pass(shared, images: images), b = Self.pass(separate, images: images)

        #expect(a.logits == b.logits)
        // With two nodes, inputs 0 and 1 of a cell each feed two edges, so each cell pools
        // each of them once per pool kind instead of twice.
        #expect(a.nodes < b.nodes)
        var worst: Float = 0
        for (x, y) in zip(a.weightGradients + a.architectureGradients, b.weightGradients + b.architectureGradients) {
            #expect(x.shape == y.shape)
            let scale = max(1e-3, y.data.map(abs).max() ?? 0)
            worst = max(worst, zip(x.data, y.data).map { abs($0 - $1) / scale }.max() ?? 0)
        }
        #expect(worst < 1e-4, "largest gradient difference relative to the tensor's largest entry: \(worst)")
    }

    @Test("ForwardContext.shared computes once per input and name")
    func sharedMemo() {
        let tape = Tape()
        let ctx = ForwardContext(tape: tape, weights: [], buffers: BufferSet(), training: true)
        let x = tape.constant(Tensor(shape: [4], data: [-1, 2, -3, 4]))
        let y = tape.constant(Tensor(shape: [4], data: [1, -2, 3, -4]))
        var calls = 0
        func relu(_ v: Variable) -> Variable { calls += 1; return v.relu() }
        let r1 = ctx.shared("r", of: x, relu), r2 = ctx.shared("r", of: x, relu)
        #expect(calls == 1 && r1.identifier == r2.identifier)
        let r3 = ctx.shared("other", of: x, relu), r4 = ctx.shared("r", of: y, relu)
        #expect(calls == 3 && r3.identifier != r1.identifier && r4.identifier != r1.identifier)
        #expect(ctx.relu(x).value.data == [0, 2, 0, 4])
    }
}
