import Engine
import NN

/// Normal or reduction cell: the two kinds share architecture parameters among cells.
public enum CellKind: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case normal = 0, reduce = 1
    public var description: String { self == .normal ? "normal" : "reduce" }
}

/// Temperature and pruning thresholds that turn architecture parameters into mixing weights.
///
/// ```
/// w_op   = softmax(alpha_edge / T);  ops with w_op <= operationThreshold are not executed
/// w_in   = softmax(beta_node / T);   input candidates with w_in <= inputThreshold are dropped
/// ```
public struct ArchitectureSettings: Sendable, Hashable {
    public var temperature: Float
    public var operationThreshold: Float
    public var inputThreshold: Float

    public init(temperature: Float = 1, operationThreshold: Float = 0, inputThreshold: Float = 0) {
        (self.temperature, self.operationThreshold, self.inputThreshold) = (temperature, operationThreshold, inputThreshold)
    }
}

/// Where each architecture tensor sits in the architecture ``ParameterSet``.
///
/// Layout: `alpha.normal` `[edges, ops]`, `alpha.reduce` `[edges, ops]`, then per cell kind and
/// node `beta.<kind>.node<i>` with one entry per input candidate (pair or single input).
public struct ArchitectureLayout: Sendable {
    public let alpha: [ParameterID]
    public let beta: [[ParameterID]]

    /// Creates the tensors, initialised `1e-3 * N(0, 1)` from `generator`.
    public static func make(_ config: SearchSpaceConfig, generator: inout SeededGenerator) -> (ArchitectureLayout, ParameterSet) {
        var set = ParameterSet()
        var alpha: [ParameterID] = [], beta: [[ParameterID]] = []
        for kind in CellKind.allCases {
            alpha.append(set.append("alpha.\(kind)", .randomNormal(shape: [config.edgesPerCell, config.operations.count],
                                                                    std: 1e-3, using: &generator)))
        }
        for kind in CellKind.allCases {
            beta.append((0..<config.nodes).map { i in
                set.append("beta.\(kind).node\(i)", .randomNormal(shape: [config.inputCandidates(node: i).count],
                                                                  std: 1e-3, using: &generator))
            })
        }
        return (ArchitectureLayout(alpha: alpha, beta: beta), set)
    }
}

/// Which operations and inputs one forward pass executes, and with which weights.
///
/// Computed once from the architecture values; the forward pass, FLOP counting and active
/// parameter counting all follow the same plan, so they cannot disagree.
public struct ExecutionPlan: Sendable {
    /// `activeOps[kind][edge]`: indices of operations executed on that edge.
    public var activeOps: [[[Int]]]
    /// `activeCandidates[kind][node]`: indices of the input candidates kept for that node.
    public var activeCandidates: [[[Int]]]

    /// Derives the plan from mixing weights (already softmaxed).
    public init(config: SearchSpaceConfig, opWeights: [Tensor], inputWeights: [[Tensor]], settings: ArchitectureSettings) {
        activeOps = []
        activeCandidates = []
        for kind in CellKind.allCases {
            let w = opWeights[kind.rawValue], k = config.operations.count
            var perNode: [[Int]] = []
            var used = Set<Int>()  // edges fed by a kept candidate
            for node in 0..<config.nodes {
                let iw = inputWeights[kind.rawValue][node].data
                var keep = iw.indices.filter { iw[$0] > settings.inputThreshold }
                if keep.isEmpty { keep = [iw.indices.max { iw[$0] < iw[$1] }!] }
                perNode.append(keep)
                let candidates = config.inputCandidates(node: node)
                for c in keep { for input in candidates[c] { used.insert(config.edgeIndex(node: node, input: input)) } }
            }
            activeCandidates.append(perNode)
            activeOps.append((0..<config.edgesPerCell).map { e in
                guard used.contains(e) else { return [] }
                let row = Array(w.data[(e * k)..<((e + 1) * k)])
                let keep = row.indices.filter { row[$0] > settings.operationThreshold }
                return keep.isEmpty ? [row.indices.max { row[$0] < row[$1] }!] : keep
            })
        }
    }
}
