#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The continuous architecture of a MetaNAS search, as exported at the end of a run or task.
///
/// For each cell kind it holds the operation weights alpha of every edge (node i has an edge from
/// each of its i + 2 predecessors) and optionally the input weights beta, either over *pairs* of
/// inputs as in the reference MetaNAS (node i has C(i+2, 2) pairs) or per input as in
/// PC-DARTS-style searches. Weights are raw logits; the mixing weights are
///
/// ```
/// w_op(node i, input j) = softmax(alpha[i][j] / T)
/// w_pair(node i)        = softmax(beta[i] / T)
/// ```
/// with the temperature T at export. Ops whose weight fell to the pruning threshold or below are
/// listed in `pruned`. Provenance says where the state came from. The JSON form is described in
/// ``GenotypeSchema`` and docs/genotype-schema.md.
public struct ArchitectureState: Equatable, Sendable {
    /// Candidate operation names, the columns of every alpha row.
    public var operations: [String]
    public var normal: CellWeights
    public var reduce: CellWeights
    /// Softmax temperature at export (> 0).
    public var temperature: Double
    /// Pruning threshold on op (and pair) weights, if pruning was applied.
    public var threshold: Double?
    /// The discrete genotype exported with the state, if any (see ``resolvedGenotype``).
    public var genotype: Genotype?
    public var provenance: Provenance

    public init(
        operations: [String], normal: CellWeights, reduce: CellWeights, temperature: Double = 1,
        threshold: Double? = nil, genotype: Genotype? = nil, provenance: Provenance = Provenance()
    ) {
        self.operations = operations
        self.normal = normal
        self.reduce = reduce
        self.temperature = temperature
        self.threshold = threshold
        self.genotype = genotype
        self.provenance = provenance
    }

    public subscript(kind: CellKind) -> CellWeights {
        get { kind == .normal ? normal : reduce }
        set {
            if kind == .normal { normal = newValue } else { reduce = newValue }
        }
    }

    /// Softmax weights of the operations on the edge from `input` into `node`.
    public func opWeights(_ kind: CellKind, node: Int, input: Int) -> [Double] {
        softmax(self[kind].alpha[node][input], temperature: temperature)
    }

    /// Weight of each input of `node` from beta: its own softmax weight in the per-input form,
    /// or the summed weight of the pairs that contain it in the pair form; `nil` without beta.
    public func inputWeights(_ kind: CellKind, node: Int) -> [Double]? {
        guard let beta = self[kind].beta else { return nil }
        switch beta {
        case .inputs(let rows):
            return softmax(rows[node], temperature: temperature)
        case .pairs(let rows):
            let w = softmax(rows[node], temperature: temperature)
            var perInput = [Double](repeating: 0, count: node + 2)
            for (k, pair) in InputWeights.pairs(ofNode: node).enumerated() {
                perInput[pair.0] += w[k]
                perInput[pair.1] += w[k]
            }
            return perInput
        }
    }

    /// The weight to draw an edge of the genotype with: the op's softmax weight, times the
    /// input's beta weight when there is one. `nil` when the edge is not in the search space.
    public func edgeWeight(_ kind: CellKind, node: Int, edge: Edge) -> Double? {
        let cell = self[kind]
        guard node < cell.alpha.count, edge.input < cell.alpha[node].count,
            let op = operations.firstIndex(of: edge.op)
        else { return nil }
        let w = opWeights(kind, node: node, input: edge.input)[op]
        if let inputs = inputWeights(kind, node: node) { return w * min(1, inputs[edge.input]) }
        return w
    }

    /// Every op whose softmax weight is at or below `threshold`.
    public func prunedOps(threshold: Double) -> [CellKind: [PrunedOp]] {
        var result: [CellKind: [PrunedOp]] = [:]
        for kind in CellKind.allCases {
            var list: [PrunedOp] = []
            for node in self[kind].alpha.indices {
                for input in self[kind].alpha[node].indices {
                    for (o, w) in opWeights(kind, node: node, input: input).enumerated() where w <= threshold {
                        list.append(PrunedOp(node: node, input: input, op: operations[o]))
                    }
                }
            }
            result[kind] = list
        }
        return result
    }

    /// The exported genotype, or the one derived from the weights when none was exported.
    public var resolvedGenotype: Genotype { genotype ?? derivedGenotype() }

    /// Derives a discrete genotype from the weights.
    ///
    /// Each edge keeps its strongest op that is neither pruned nor in `excluded`. Each node then
    /// keeps two inputs: the pair with the largest beta (pair form); or the two inputs with the
    /// largest `beta weight x op weight` (per-input form); or the two with the largest op weight
    /// (no beta, DARTS). Ties go to the lower index. All nodes are concatenated.
    ///
    /// - Parameter excluded: op names never chosen (DARTS excludes `none`).
    public func derivedGenotype(excluding excluded: Set<String> = ["none"]) -> Genotype {
        func cell(_ kind: CellKind) -> Cell {
            let weights = self[kind]
            let pruned = Set(weights.pruned)
            var nodes: [[Edge]] = []
            for node in weights.alpha.indices {
                var best: [(op: Int, weight: Double)?] = []
                for input in weights.alpha[node].indices {
                    let w = opWeights(kind, node: node, input: input)
                    var choice: (op: Int, weight: Double)?
                    for (o, v) in w.enumerated()
                    where !excluded.contains(operations[o])
                        && !pruned.contains(PrunedOp(node: node, input: input, op: operations[o]))
                    {
                        if choice == nil || v > choice!.weight { choice = (o, v) }
                    }
                    best.append(choice)
                }
                var chosen: [Int]
                switch weights.beta {
                case .pairs(let rows)?:
                    let pairs = InputWeights.pairs(ofNode: node)
                    let k = rows[node].indices.max(by: { rows[node][$0] < rows[node][$1] || (rows[node][$0] == rows[node][$1] && $0 > $1) }) ?? 0
                    chosen = [pairs[k].0, pairs[k].1]
                case .inputs(let rows)?:
                    let b = softmax(rows[node], temperature: temperature)
                    chosen = topTwo(best.indices.map { j in best[j].map { $0.weight * b[j] } ?? -1 })
                case nil:
                    chosen = topTwo(best.map { $0?.weight ?? -1 })
                }
                nodes.append(chosen.sorted().compactMap { j in best[j].map { Edge(op: operations[$0.op], input: j) } })
            }
            return Cell(nodes: nodes)
        }
        return Genotype(normal: cell(.normal), reduce: cell(.reduce))
    }
}

/// Indices of the two largest scores (ties to the lower index).
private func topTwo(_ scores: [Double]) -> [Int] {
    Array(scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }.prefix(2))
}

/// `softmax(x / T)`, computed stably.
public func softmax(_ x: [Double], temperature: Double = 1) -> [Double] {
    guard let m = x.max() else { return [] }
    let e = x.map { exp(($0 - m) / temperature) }
    let s = e.reduce(0, +)
    return e.map { $0 / s }
}

/// Architecture weights of one cell kind.
public struct CellWeights: Equatable, Sendable {
    /// `alpha[node][input][op]`: node i has i + 2 inputs, each with one logit per operation.
    public var alpha: [[[Double]]]
    /// Input weights, if the search had them.
    public var beta: InputWeights?
    /// Ops at or below the pruning threshold.
    public var pruned: [PrunedOp]

    public init(alpha: [[[Double]]], beta: InputWeights? = nil, pruned: [PrunedOp] = []) {
        self.alpha = alpha
        self.beta = beta
        self.pruned = pruned
    }

    public var nodeCount: Int { alpha.count }
}

/// Weights over the inputs of each node.
public enum InputWeights: Equatable, Sendable {
    /// MetaNAS: one logit per pair of inputs (a < b), pairs in the order of ``pairs(ofNode:)``.
    case pairs([[Double]])
    /// One logit per input (i + 2 for node i).
    case inputs([[Double]])

    /// The form's name in JSON.
    public var form: String {
        switch self {
        case .pairs: return "pairs"
        case .inputs: return "inputs"
        }
    }

    public var rows: [[Double]] {
        switch self {
        case .pairs(let r), .inputs(let r): return r
        }
    }

    /// The input pairs of node `i` in beta order: (0,1), (0,2), (1,2), (0,3), ... — pairs
    /// sorted by their larger member, then the smaller; C(i+2, 2) of them.
    public static func pairs(ofNode i: Int) -> [(Int, Int)] {
        var result: [(Int, Int)] = []
        for b in 1..<(i + 2) {
            for a in 0..<b { result.append((a, b)) }
        }
        return result
    }
}

/// One pruned op: `op` on the edge from state `input` into intermediate node `node`.
public struct PrunedOp: Hashable, Sendable {
    public var node: Int
    public var input: Int
    public var op: String

    public init(node: Int, input: Int, op: String) {
        self.node = node
        self.input = input
        self.op = op
    }
}

/// Where an architecture state came from.
public struct Provenance: Equatable, Sendable {
    /// Hash of the configuration that produced it.
    public var configHash: String?
    public var seed: Int?
    /// Data split, e.g. `background` or `vinyals/test`.
    public var split: String?
    /// Task identifier for states exported after adapting to one task.
    public var taskID: String?
    /// Free-form labels (written sorted by key).
    public var labels: [String: String]

    public init(configHash: String? = nil, seed: Int? = nil, split: String? = nil, taskID: String? = nil,
                labels: [String: String] = [:]) {
        self.configHash = configHash
        self.seed = seed
        self.split = split
        self.taskID = taskID
        self.labels = labels
    }
}
