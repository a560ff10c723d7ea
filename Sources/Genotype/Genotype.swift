/// One input of an intermediate node: an operation applied to an earlier state.
///
/// States are numbered as in DARTS: `0` is the cell input c_{k-2}, `1` is c_{k-1}, and `2 + i`
/// is intermediate node `i`. Operation names are plain strings; operations are registered by
/// name in the search space, so user-defined ones need no change here.
public struct Edge: Hashable, Sendable {
    /// The operation's registered name, e.g. `sep_conv_3x3`.
    public var op: String
    /// The state the edge reads (0, 1, or 2 + the index of an earlier node).
    public var input: Int

    public init(op: String, input: Int) {
        self.op = op
        self.input = input
    }
}

/// A discrete cell: intermediate nodes that each sum their incoming edges, and the nodes whose
/// outputs are concatenated into the cell output.
///
/// ```
/// s_0 = c_{k-2},  s_1 = c_{k-1}
/// s_{2+i} = sum over edges e of node i:  op_e(s_{input_e})        (input_e < 2 + i)
/// c_k = concat(s_j for j in concat)
/// ```
/// MetaNAS keeps a variable number of edges per node after pruning; DARTS keeps two.
public struct Cell: Hashable, Sendable {
    /// Incoming edges of each intermediate node, node by node.
    public var nodes: [[Edge]]
    /// State indices (2 + node index) whose outputs form the cell output, in channel order.
    public var concat: [Int]

    /// A cell; `concat` defaults to every intermediate node, as in DARTS (`range(2, 2 + n)`).
    public init(nodes: [[Edge]], concat: [Int]? = nil) {
        self.nodes = nodes
        self.concat = concat ?? Array(2..<(2 + nodes.count))
    }

    /// Number of intermediate nodes.
    public var nodeCount: Int { nodes.count }

    /// Number of edges over all nodes.
    public var edgeCount: Int { nodes.reduce(0) { $0 + $1.count } }

    /// Every edge with the node it belongs to.
    public var allEdges: [(node: Int, edge: Edge)] {
        nodes.enumerated().flatMap { i, edges in edges.map { (node: i, edge: $0) } }
    }

    /// What is wrong with the cell, or `nil` when it is well-formed: every edge reads an earlier
    /// state, op names are non-empty, concat lists distinct existing nodes.
    public var problem: String? {
        for (i, edges) in nodes.enumerated() {
            for e in edges {
                if e.op.isEmpty { return "node \(i): empty operation name" }
                if e.input < 0 || e.input >= 2 + i {
                    return "node \(i): input \(e.input) out of range (a node may read states 0...\(1 + i))"
                }
            }
        }
        var seen = Set<Int>()
        for c in concat {
            if c < 2 || c >= 2 + nodes.count {
                return nodes.isEmpty ? "concat \(c): the cell has no intermediate nodes"
                    : "concat \(c) out of range (intermediate states are 2...\(1 + nodes.count))"
            }
            if !seen.insert(c).inserted { return "concat lists \(c) twice" }
        }
        return nil
    }

    /// Throws ``GenotypeError/invalidCell(_:)`` when the cell is not well-formed.
    public func validate() throws(GenotypeError) {
        if let problem { throw .invalidCell(problem) }
    }
}

/// Which of a genotype's two cells.
public enum CellKind: String, CaseIterable, Hashable, Sendable {
    case normal, reduce
}

/// A discrete architecture: the normal cell and the reduction cell.
public struct Genotype: Hashable, Sendable {
    public var normal: Cell
    public var reduce: Cell

    public init(normal: Cell, reduce: Cell) {
        self.normal = normal
        self.reduce = reduce
    }

    public subscript(kind: CellKind) -> Cell {
        get { kind == .normal ? normal : reduce }
        set {
            if kind == .normal { normal = newValue } else { reduce = newValue }
        }
    }

    /// Throws ``GenotypeError/invalidCell(_:)`` naming the cell when one is not well-formed.
    public func validate() throws(GenotypeError) {
        for kind in CellKind.allCases {
            if let problem = self[kind].problem { throw .invalidCell("\(kind.rawValue) cell: \(problem)") }
        }
    }
}

/// A genotype value that is not well-formed, or an operation that does not apply to it.
public enum GenotypeError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalidCell(String)
    case mismatch(String)

    public var description: String {
        switch self {
        case .invalidCell(let m): return "invalid cell: \(m)"
        case .mismatch(let m): return m
        }
    }
}

/// Human names of cell states, shared by the text, DOT and SVG output.
public enum StateName {
    /// `c_{k-2}`, `c_{k-1}`, or the intermediate node index as text.
    public static func of(_ state: Int) -> String {
        switch state {
        case 0: return "c_{k-2}"
        case 1: return "c_{k-1}"
        default: return String(state - 2)
        }
    }

    public static let output = "c_{k}"
}
