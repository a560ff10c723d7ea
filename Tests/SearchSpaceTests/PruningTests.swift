import Engine
import NN
import Testing
@testable import SearchSpace

@Suite("Soft pruning")
struct PruningTests {
    /// Skipping an operation (and an input pair) whose weight is under the threshold gives the
    /// same logits and the same gradients as executing it with a weight of exactly zero.
    @Test("Skipping under the threshold equals running with weight exactly 0")
    func skipEqualsZeroWeight() throws {
        let config = Tiny.config()
        let net = try Tiny.network(config)
        let forward = Forward(network: net, images: Tiny.images(config, batch: 4))
        var g = SeededGenerator(seed: 21)
        var arch = net.architecture
        for i in arch.tensors.indices {
            arch.tensors[i] = .randomUniform(shape: arch.tensors[i].shape, low: -0.2, high: 0.2, using: &g)
        }
        let normal = CellKind.normal.rawValue
        let (edge, op) = (3, operationIndex(config, "sep_conv_3x3"))
        let (node, pair) = (1, 2)  // node 1's candidate (1, 2)
        #expect(config.inputCandidates(node: node)[pair] == [1, 2])
        arch.tensors[net.layout.alpha[normal].index][edge, op] = -5
        arch.tensors[net.layout.beta[normal][node].index][pair] = -6
        let projection = Tensor.randomNormal(shape: [4, config.ways], using: &g)

        // Skipped: thresholds 0.01 drop the operation (weight ~1e-3) and the pair (~1e-3).
        let skipping = ArchitectureSettings(temperature: 1, operationThreshold: 0.01, inputThreshold: 0.01)
        let plan = net.plan(architecture: arch, settings: skipping)
        #expect(!plan.activeOps[normal][edge].contains(op))
        #expect(plan.activeOps[normal][edge].count == config.operations.count - 1)
        #expect(plan.activeCandidates[normal][node] == [0, 1])
        let tapeA = Tape()
        let a = forward.logits(weights: net.weights, architecture: arch, settings: skipping, on: tapeA, trainable: true)
        let logitsA = a.logits.value
        let gradsA = tapeA.gradients(of: (a.logits * tapeA.constant(projection)).sum())

        // Zero weight: the same softmax, the entry multiplied by an exact 0, nothing skipped.
        let tapeB = Tape()
        let wB = net.weights.bind(to: tapeB, trainable: true)
        let archB = arch.bind(to: tapeB, trainable: true)
        var mixing = net.mixingWeights(archB, settings: ArchitectureSettings(temperature: 1))
        var opMask = Tensor(shape: [config.edgesPerCell, config.operations.count], repeating: 1)
        opMask[edge, op] = 0
        var pairMask = Tensor(shape: [config.inputCandidates(node: node).count], repeating: 1)
        pairMask[pair] = 0
        mixing.ops[normal] = mixing.ops[normal] * tapeB.constant(opMask)
        mixing.inputs[normal][node] = mixing.inputs[normal][node] * tapeB.constant(pairMask)
        mixing.settings = ArchitectureSettings(temperature: 1, operationThreshold: -1, inputThreshold: -1)
        let planB = mixing.plan(config)
        #expect(planB.activeOps[normal][edge].contains(op), "the zero-weight operation must actually run")
        #expect(planB.activeCandidates[normal][node] == [0, 1, 2])
        let ctx = ForwardContext(tape: tapeB, weights: wB, buffers: net.buffers, training: true, dropPathKeep: 1)
        let b = net.logits(tapeB.constant(forward.images), mixing: mixing, ctx)
        let logitsB = b.value  // read before the backward pass releases it
        let gradsB = tapeB.gradients(of: (b * tapeB.constant(projection)).sum())

        #expect(logitsA == logitsB, "logits differ by \(logitsA.maxAbsDifference(logitsB))")
        for i in wB.indices {
            let d = gradsA[a.weights[i]].maxAbsDifference(gradsB[wB[i]])
            #expect(d <= 1e-6, "gradient of \(net.weights.names[i]) differs by \(d)")
        }
        for i in archB.indices {
            let d = gradsA[a.architecture[i]].maxAbsDifference(gradsB[archB[i]])
            #expect(d <= 1e-6, "gradient of \(arch.names[i]) differs by \(d)")
        }
        // The skipped operation's weights get nothing; with weight 0 they get exact zeros.
        let skipped = net.weights.names.indices.filter { net.weights.names[$0].hasPrefix("cells.0.edge\(edge).sep_conv_3x3.") }
        #expect(skipped.count == 4)
        for i in skipped {
            #expect(!gradsA.contains(a.weights[i]))
            #expect(gradsB[wB[i]].data.allSatisfy { $0 == 0 })
        }
    }

    /// Alphas (and betas) set to shuffled, evenly spaced values, so no two are within `spacing`.
    static func distinctArchitecture(_ net: SearchNetwork, spacing: Float, seed: UInt64) -> ParameterSet {
        var g = SeededGenerator(seed: seed)
        var arch = net.architecture
        for i in arch.tensors.indices {
            let shape = arch.tensors[i].shape, cols = shape.last!
            var data: [Float] = []
            for _ in 0..<(arch.tensors[i].count / cols) {
                data += (0..<cols).map { spacing * Float($0) }.shuffled(using: &g)
            }
            arch.tensors[i] = Tensor(shape: shape, data: data)
        }
        return arch
    }

    @Test("At T -> 0 soft pruning keeps exactly one operation per edge and one pair per node",
          arguments: ["reference", "tiny"])
    func oneOperationPerEdge(network name: String) throws {
        let config = name == "reference" ? SearchSpaceConfig.reference(ways: 5) : Tiny.config()
        let net = try Tiny.network(config)
        let arch = Self.distinctArchitecture(net, spacing: 0.1, seed: 3)
        let k = config.operations.count
        func argmax(_ row: ArraySlice<Float>) -> Int { row.indices.max { row[$0] < row[$1] }! - row.startIndex }

        // Every input candidate kept: each edge runs exactly its strongest operation.
        let allInputs = net.plan(architecture: arch,
                                 settings: ArchitectureSettings(temperature: 0.01, operationThreshold: 0.01, inputThreshold: -1))
        for kind in CellKind.allCases {
            let alpha = Array(arch[net.layout.alpha[kind.rawValue]].data)
            for e in 0..<config.edgesPerCell {
                #expect(allInputs.activeOps[kind.rawValue][e] == [argmax(alpha[(e * k)..<((e + 1) * k)])], "\(kind) edge \(e)")
            }
        }

        // Inputs pruned too: one pair per node, and only that pair's two edges run.
        let settings = ArchitectureSettings(temperature: 0.01, operationThreshold: 0.01, inputThreshold: 0.01)
        let plan = net.plan(architecture: arch, settings: settings)
        for kind in CellKind.allCases {
            let alpha = Array(arch[net.layout.alpha[kind.rawValue]].data)
            for node in 0..<config.nodes {
                let beta = Array(arch[net.layout.beta[kind.rawValue][node]].data)
                let best = argmax(beta[...])
                #expect(plan.activeCandidates[kind.rawValue][node] == [best])
                let inputs = config.inputCandidates(node: node)[best]
                for input in 0..<(node + 2) {
                    let e = config.edgeIndex(node: node, input: input)
                    let expected = inputs.contains(input) ? [argmax(alpha[(e * k)..<((e + 1) * k)])] : []
                    #expect(plan.activeOps[kind.rawValue][e] == expected, "\(kind) node \(node) input \(input)")
                }
            }
        }
        // What runs is then exactly the discrete network of the derived genotype.
        #expect(net.activeWeightCount(plan: plan) == (try net.weightCount(of: net.genotype(architecture: arch))))
    }
}

@Suite("MixedOp")
struct MixedOpTests {
    /// In training mode a MixedOp normalises the outputs of its batch-norm-terminated operations
    /// inside the weighted sum; that must be what running each operation and mixing gives.
    @Test("Fusing the operations' batch norms into the mix changes nothing: output, running statistics and gradients",
          arguments: [0, 1])  // a stride-1 edge of the normal cell and a stride-2 edge of the reduction cell
    func fusedNormsEqualSeparateOperations(cell: Int) throws {
        let config = Tiny.config()
        let net = try Tiny.network(config)
        let edge = net.cells[cell].edges[cell == 0 ? 3 : 1]
        var g = SeededGenerator(seed: 31)
        let size = config.inputSize
        let x = Tensor.randomNormal(shape: [6, config.channels, size, size], using: &g)
        let alphas = Tensor.randomUniform(shape: [config.operations.count], low: 0.05, high: 1, using: &g)
        let active = Array(config.operations.indices)
        func run(fused: Bool) -> (y: Tensor, buffers: BufferSet, grads: [Tensor]) {
            let tape = Tape()
            let w = net.weights.bind(to: tape, trainable: true)
            let ctx = ForwardContext(tape: tape, weights: w, buffers: net.buffers, training: true, dropPathKeep: 0.7,
                                     generator: SeededGenerator(seed: 5))
            let input = tape.parameter(x), weights = tape.parameter(alphas)
            let y: Variable
            if fused {
                y = edge(input, weights: weights, active: active, ctx)
            } else {
                var outs: [Variable] = [], scales: [[Float]?] = []
                for k in active {
                    outs.append(edge.ops[k](input, ctx))
                    scales.append(edge.ops[k].isIdentity ? nil : dropPathScales(batch: 6, keep: 0.7, using: &ctx.generator))
                }
                y = weightedSum(outs, weights: weights, indices: active, sampleScales: scales)
            }
            let value = y.value
            var pg = SeededGenerator(seed: 9)
            let grads = tape.gradients(of: (y * tape.constant(.randomNormal(shape: y.shape, using: &pg))).sum())
            return (value, ctx.buffers, [grads[input], grads[weights]] + w.map { grads[$0] })
        }
        let fused = run(fused: true), separate = run(fused: false)
        #expect(fused.y.maxAbsDifference(separate.y) <= 1e-5)
        for (a, b) in zip(fused.buffers.tensors, separate.buffers.tensors) { #expect(a.maxAbsDifference(b) <= 1e-6) }
        #expect(fused.buffers.tensors != net.buffers.tensors, "the running statistics moved")
        for (i, (a, b)) in zip(fused.grads, separate.grads).enumerated() {
            let scale = max(1, b.data.map(abs).max() ?? 0)
            #expect(a.maxAbsDifference(b) <= 3e-5 * scale, "gradient \(i) differs by \(a.maxAbsDifference(b))")
        }
        #expect(fused.grads[1].data.allSatisfy { $0 != 0 }, "every operation's weight gets a gradient")
    }
}
