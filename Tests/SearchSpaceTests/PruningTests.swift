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
            let alpha = arch[net.layout.alpha[kind.rawValue]].data
            for e in 0..<config.edgesPerCell {
                #expect(allInputs.activeOps[kind.rawValue][e] == [argmax(alpha[(e * k)..<((e + 1) * k)])], "\(kind) edge \(e)")
            }
        }

        // Inputs pruned too: one pair per node, and only that pair's two edges run.
        let settings = ArchitectureSettings(temperature: 0.01, operationThreshold: 0.01, inputThreshold: 0.01)
        let plan = net.plan(architecture: arch, settings: settings)
        for kind in CellKind.allCases {
            let alpha = arch[net.layout.alpha[kind.rawValue]].data
            for node in 0..<config.nodes {
                let beta = arch[net.layout.beta[kind.rawValue][node]].data
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
