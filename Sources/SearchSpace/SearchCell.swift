import Engine
import NN

/// A MixedOp: every candidate operation of one edge, mixed by the edge's softmax weights.
///
/// ```
/// mixed(x) = sum over executed ops o of w_o * dropPath(o(x))
/// ```
/// Operations outside the plan are not executed and receive no gradient, which is exactly
/// what a weight of zero would give.
struct MixedOp: Sendable {
    let ops: [any CandidateOperation]
    /// Parameter positions of each operation, for counting active parameters.
    let parameterRanges: [Range<Int>]

    func callAsFunction(_ x: Variable, weights: Variable, active: [Int], _ ctx: ForwardContext) -> Variable {
        // Drop-path is fused into the weighted sum: one pass, and no masked copy of each output.
        // With batch statistics, the final batch norms of the operations are fused into it too.
        var scales: [[Float]?] = [], terms: [MixTerm] = [], norms: [BatchNorm2D?] = []
        for k in active {
            if ctx.training, let (pre, norm) = ops[k].beforeNorm(x, ctx), !norm.isAffine {
                terms.append(MixTerm(pre, normalized: true, epsilon: norm.epsilon))
                norms.append(norm)
            } else {
                terms.append(MixTerm(ops[k](x, ctx), normalized: false))
                norms.append(nil)
            }
            let dropped = !ops[k].isIdentity && ctx.dropPathKeep < 1
            scales.append(dropped ? dropPathScales(batch: x.shape[0], keep: ctx.dropPathKeep, using: &ctx.generator) : nil)
        }
        guard norms.contains(where: { $0 != nil }) else {
            return weightedSum(terms.map(\.input), weights: weights, indices: active, sampleScales: scales)
        }
        let (y, statistics) = normalizedWeightedSum(terms, weights: weights, indices: active, sampleScales: scales)
        for (norm, stats) in zip(norms, statistics) {
            if let norm, let stats { norm.updateRunningStatistics(stats, ctx) }
        }
        return y
    }
}

/// One cell of the search network: preprocessing of its two inputs, intermediate nodes built
/// from MixedOps, and the channel concatenation of all nodes as output.
struct SearchCell: Sendable {
    enum Preprocess: Sendable {
        case standard(ReLUConvBN)
        case factorized(FactorizedReduce)

        func callAsFunction(_ x: Variable, _ ctx: ForwardContext) -> Variable {
            switch self {
            case .standard(let p): return p(x, ctx)
            case .factorized(let p): return p(x, ctx)
            }
        }

        func flops(batch: Int, height: Int, width: Int) -> Double {
            switch self {
            case .standard(let p): return p.flops(batch: batch, height: height, width: width)
            case .factorized(let p): return p.flops(batch: batch, height: height, width: width)
            }
        }
    }

    let kind: CellKind
    let preprocess0: Preprocess, preprocess1: Preprocess
    let edges: [MixedOp]
    let config: SearchSpaceConfig

    init(_ name: String, kind: CellKind, previousPrevious: Int, previous: Int, channels: Int, reductionPrevious: Bool,
         config: SearchSpaceConfig, registry: OperationRegistry, builder: inout ParameterBuilder) throws(UnknownOperationError) {
        self.kind = kind
        self.config = config
        preprocess0 = reductionPrevious
            ? .factorized(FactorizedReduce(name + ".preprocess0", inChannels: previousPrevious, outChannels: channels,
                                           affine: false, builder: &builder))
            : .standard(ReLUConvBN(name + ".preprocess0", inChannels: previousPrevious, outChannels: channels,
                                   kernel: (1, 1), stride: (1, 1), padding: (0, 0), affine: false, builder: &builder))
        preprocess1 = .standard(ReLUConvBN(name + ".preprocess1", inChannels: previous, outChannels: channels,
                                           kernel: (1, 1), stride: (1, 1), padding: (0, 0), affine: false, builder: &builder))
        let definitions = try config.operations.map { name throws(UnknownOperationError) in try registry.lookup(name) }
        var edges: [MixedOp] = []
        for node in 0..<config.nodes {
            for input in 0..<(node + 2) {
                let stride = kind == .reduce && input < 2 ? 2 : 1
                var ops: [any CandidateOperation] = [], ranges: [Range<Int>] = []
                for d in definitions {
                    let start = builder.parameters.tensors.count
                    ops.append(d.make(OperationShape(channels: channels, stride: stride), &builder,
                                      "\(name).edge\(config.edgeIndex(node: node, input: input)).\(d.name)"))
                    ranges.append(start..<builder.parameters.tensors.count)
                }
                edges.append(MixedOp(ops: ops, parameterRanges: ranges))
            }
        }
        self.edges = edges
    }

    /// The cell's output: the concatenation of its intermediate nodes.
    func callAsFunction(_ s0: Variable, _ s1: Variable, opWeights: Variable, inputWeights: [Variable],
                        plan: ExecutionPlan, _ ctx: ForwardContext) -> Variable {
        var states = [preprocess0(s0, ctx), preprocess1(s1, ctx)]
        let opRows = (0..<config.edgesPerCell).map { opWeights.row($0) }
        for node in 0..<config.nodes {
            let candidates = config.inputCandidates(node: node)
            let kept = plan.activeCandidates[kind.rawValue][node]
            let inputs = Array(Set(kept.flatMap { candidates[$0] })).sorted()
            let mixed = inputs.map { input -> Variable in
                let e = config.edgeIndex(node: node, input: input)
                return edges[e](states[input], weights: opRows[e], active: plan.activeOps[kind.rawValue][e], ctx)
            }
            // Coefficient of each input: the summed weights of the kept candidates containing it.
            let groups = inputs.map { input in kept.filter { candidates[$0].contains(input) } }
            let coefficients = inputWeights[node].groupSums(groups)
            states.append(weightedSum(mixed, weights: coefficients, indices: Array(inputs.indices)))
        }
        return concatChannels(Array(states[2...]))
    }
}
