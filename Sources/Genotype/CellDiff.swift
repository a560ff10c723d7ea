/// One difference between two cells, in the numbering of each cell.
public enum CellDifference: Equatable, Sendable, CustomStringConvertible {
    /// The edge kept its input but runs another op.
    case opChanged(nodeA: Int, nodeB: Int, from: Edge, to: Edge)
    /// The edge kept its op but reads another state.
    case inputChanged(nodeA: Int, nodeB: Int, from: Edge, to: Edge)
    /// An edge of cell A has no counterpart in B.
    case edgeRemoved(nodeA: Int, edge: Edge)
    /// An edge of cell B has no counterpart in A.
    case edgeAdded(nodeB: Int, edge: Edge)
    /// Node `nodeA` of A is concatenated into the output, its counterpart in B is not.
    case concatRemoved(nodeA: Int)
    /// Node `nodeB` of B is concatenated into the output, its counterpart in A is not.
    case concatAdded(nodeB: Int)

    public var description: String {
        func where_(_ a: Int, _ b: Int) -> String { a == b ? "node \(a)" : "node \(a) (B: node \(b))" }
        switch self {
        case let .opChanged(a, b, from, to):
            return "\(where_(a, b)): op \(from.op) -> \(to.op) on the edge from \(StateName.of(from.input))"
        case let .inputChanged(a, b, from, to):
            return "\(where_(a, b)): \(from.op) reads \(StateName.of(to.input)) instead of \(StateName.of(from.input))"
        case let .edgeRemoved(a, e):
            return "node \(a): edge removed: \(e.op) from \(StateName.of(e.input))"
        case let .edgeAdded(b, e):
            return "node \(b) of B: edge added: \(e.op) from \(StateName.of(e.input))"
        case let .concatRemoved(a):
            return "concat: node \(a) is no longer an output"
        case let .concatAdded(b):
            return "concat: node \(b) of B is a new output"
        }
    }
}

/// How an edge fares in a diff.
public enum EdgeStatus: Hashable, Sendable {
    /// Present, identical, in the other cell.
    case same
    /// Matched with an edge that differs in op or input.
    case changed
    /// Only in cell A.
    case removed
    /// Only in cell B.
    case added
}

/// The edit distance between two cells and the edits that realise it.
///
/// Costs: changing an edge's op 1, changing its input 1, removing or adding an edge 1, adding or
/// removing a node from the concat 1 (an edge whose op and input both change counts as removed
/// plus added, 2). The distance is the minimum over all matchings of the nodes of A to those of
/// B (the smaller cell padded with empty nodes), where an edge's input is translated through the
/// matching; it is 0 exactly when the cells are equal up to renumbering. All matchings are tried
/// for up to 7 nodes (with branch and bound); larger cells are matched by canonical order.
public struct CellDiff: Sendable {
    public var distance: Int
    /// For each node of A, the node of B matched to it (`nil`: B has no node there).
    public var matching: [Int?]
    public var differences: [CellDifference]
    /// Status of each edge of A (same shape as `a.nodes`): `.same`, `.changed` or `.removed`.
    public var statusA: [[EdgeStatus]]
    /// Status of each edge of B: `.same`, `.changed` or `.added`.
    public var statusB: [[EdgeStatus]]

    /// Compares cell `a` with cell `b` (both must be valid).
    public init(_ a: Cell, _ b: Cell) {
        precondition(a.problem == nil && b.problem == nil, "CellDiff of invalid cells: \(a.problem ?? b.problem ?? "")")
        let n = max(a.nodeCount, b.nodeCount)
        var best: (cost: Int, perm: [Int])
        if n <= 7 {
            var search = MatchingSearch(a: a, b: b, n: n)
            search.run()
            best = (search.bestCost, search.bestPerm)
        } else {
            // A node of A goes to the B node at the same canonical position.
            let oa = a.canonicalOrder() + Array(a.nodeCount..<n)
            let ob = b.canonicalOrder() + Array(b.nodeCount..<n)
            var perm = [Int](repeating: 0, count: n)
            for k in 0..<n { perm[oa[k]] = ob[k] }
            best = (totalCost(a, b, perm), perm)
        }
        self = CellDiff.explain(a, b, perm: best.perm, cost: best.cost)
    }

    private init(distance: Int, matching: [Int?], differences: [CellDifference], statusA: [[EdgeStatus]], statusB: [[EdgeStatus]]) {
        self.distance = distance
        self.matching = matching
        self.differences = differences
        self.statusA = statusA
        self.statusB = statusB
    }

    /// Spells out the edits of a matching.
    private static func explain(_ a: Cell, _ b: Cell, perm: [Int], cost: Int) -> CellDiff {
        var differences: [CellDifference] = []
        var statusA = a.nodes.map { $0.map { _ in EdgeStatus.removed } }
        var statusB = b.nodes.map { $0.map { _ in EdgeStatus.added } }
        for i in 0..<perm.count {
            let j = perm[i]
            let edgesA = i < a.nodeCount ? a.nodes[i] : []
            let edgesB = j < b.nodeCount ? b.nodes[j] : []
            let mapped = edgesA.map { translate($0.input, perm, b.nodeCount) }
            let (_, pairs) = matchEdges(edgesA, mapped, edgesB)
            var matchedB = Set<Int>()
            for (x, y) in pairs {
                let ea = edgesA[x]
                let eb = edgesB[y]
                let sameOp = ea.op == eb.op
                let sameInput = mapped[x] == eb.input
                matchedB.insert(y)
                if sameOp && sameInput {
                    statusA[i][x] = .same
                    statusB[j][y] = .same
                } else if sameOp {
                    statusA[i][x] = .changed
                    statusB[j][y] = .changed
                    differences.append(.inputChanged(nodeA: i, nodeB: j, from: ea, to: eb))
                } else if sameInput {
                    statusA[i][x] = .changed
                    statusB[j][y] = .changed
                    differences.append(.opChanged(nodeA: i, nodeB: j, from: ea, to: eb))
                } else {
                    matchedB.remove(y)  // counted as a removal plus an addition
                }
            }
            for (x, e) in edgesA.enumerated() where statusA[i][x] == .removed {
                differences.append(.edgeRemoved(nodeA: i, edge: e))
            }
            for (y, e) in edgesB.enumerated() where !matchedB.contains(y) {
                statusB[j][y] = .added
                differences.append(.edgeAdded(nodeB: j, edge: e))
            }
        }
        let concatA = Set(a.concat.map { translate($0, perm, b.nodeCount) })
        let concatB = Set(b.concat)
        for c in a.concat.sorted() where !concatB.contains(translate(c, perm, b.nodeCount)) {
            differences.append(.concatRemoved(nodeA: c - 2))
        }
        for c in b.concat.sorted() where !concatA.contains(c) {
            differences.append(.concatAdded(nodeB: c - 2))
        }
        let matching = (0..<a.nodeCount).map { perm[$0] < b.nodeCount ? perm[$0] : nil }
        return CellDiff(distance: cost, matching: matching, differences: differences, statusA: statusA, statusB: statusB)
    }
}

/// The state of B that state `s` of A maps to (`-1` for a padding node B lacks).
private func translate(_ s: Int, _ perm: [Int], _ bCount: Int) -> Int {
    if s < 2 { return s }
    let j = perm[s - 2]
    return j < bCount ? 2 + j : -1
}

/// Cost of a node pair's edges: minimum over matchings of A's edges to B's edges.
/// `mapped` holds A's inputs translated to B's numbering. Returns the cost and the matched pairs.
private func matchEdges(_ edgesA: [Edge], _ mapped: [Int], _ edgesB: [Edge]) -> (Int, [(Int, Int)]) {
    let na = edgesA.count
    let nb = edgesB.count
    if na == 0 || nb == 0 { return (na + nb, []) }
    func pairCost(_ x: Int, _ y: Int) -> Int {
        (edgesA[x].op == edgesB[y].op ? 0 : 1) + (mapped[x] == edgesB[y].input ? 0 : 1)
    }
    guard nb <= 16 else {
        // Unrealistically wide node: pair edges greedily, exact matches first.
        var used = Set<Int>()
        var pairs: [(Int, Int)] = []
        var cost = 0
        for x in 0..<na {
            if let y = (0..<nb).filter({ !used.contains($0) }).min(by: { pairCost(x, $0) < pairCost(x, $1) }), pairCost(x, y) < 2 {
                used.insert(y)
                pairs.append((x, y))
                cost += pairCost(x, y)
            } else {
                cost += 1
            }
        }
        return (cost + nb - used.count, pairs)
    }
    // dp[x][mask]: least cost for A's edges x..< given B's edges in `mask` are taken.
    let full = 1 << nb
    let unset = Int.max / 4
    var dp = [[Int]](repeating: [Int](repeating: unset, count: full), count: na + 1)
    for mask in 0..<full { dp[na][mask] = nb - mask.nonzeroBitCount }
    for x in stride(from: na - 1, through: 0, by: -1) {
        for mask in 0..<full {
            var best = 1 + dp[x + 1][mask]  // remove A's edge x
            for y in 0..<nb where mask & (1 << y) == 0 {
                best = min(best, min(pairCost(x, y), 2) + dp[x + 1][mask | (1 << y)])
            }
            dp[x][mask] = best
        }
    }
    var pairs: [(Int, Int)] = []
    var mask = 0
    for x in 0..<na {
        if dp[x][mask] == 1 + dp[x + 1][mask] { continue }
        for y in 0..<nb where mask & (1 << y) == 0 {
            if dp[x][mask] == min(pairCost(x, y), 2) + dp[x + 1][mask | (1 << y)] {
                pairs.append((x, y))
                mask |= 1 << y
                break
            }
        }
    }
    return (dp[0][0], pairs)
}

/// Cost of one node pair under a matching.
private func nodeCost(_ a: Cell, _ b: Cell, _ i: Int, _ perm: [Int]) -> Int {
    let j = perm[i]
    let edgesA = i < a.nodeCount ? a.nodes[i] : []
    let edgesB = j < b.nodeCount ? b.nodes[j] : []
    return matchEdges(edgesA, edgesA.map { translate($0.input, perm, b.nodeCount) }, edgesB).0
}

private func concatCost(_ a: Cell, _ b: Cell, _ perm: [Int]) -> Int {
    let mapped = Set(a.concat.map { translate($0, perm, b.nodeCount) })
    return mapped.symmetricDifference(Set(b.concat)).count
}

private func totalCost(_ a: Cell, _ b: Cell, _ perm: [Int]) -> Int {
    (0..<perm.count).reduce(0) { $0 + nodeCost(a, b, $1, perm) } + concatCost(a, b, perm)
}

/// Depth-first search over node matchings. Node i of A only reads nodes j < i, so once nodes
/// 0..<i are matched the cost of node i is fixed and partial sums bound the search.
private struct MatchingSearch {
    let a: Cell
    let b: Cell
    let n: Int
    var perm: [Int]
    var used: [Bool]
    var bestCost = Int.max
    var bestPerm: [Int]

    init(a: Cell, b: Cell, n: Int) {
        self.a = a
        self.b = b
        self.n = n
        perm = Array(0..<n)
        used = [Bool](repeating: false, count: n)
        bestPerm = Array(0..<n)
    }

    mutating func run() {
        if n == 0 {
            bestCost = concatCost(a, b, [])
            bestPerm = []
            return
        }
        // Start from the identity so that equal costs keep the given numbering.
        bestCost = totalCost(a, b, bestPerm)
        search(0, 0)
    }

    private mutating func search(_ i: Int, _ partial: Int) {
        if partial >= bestCost { return }
        if i == n {
            let total = partial + concatCost(a, b, perm)
            if total < bestCost {
                bestCost = total
                bestPerm = perm
            }
            return
        }
        for j in 0..<n where !used[j] {
            used[j] = true
            perm[i] = j
            search(i + 1, partial + nodeCost(a, b, i, perm))
            used[j] = false
        }
    }
}

/// The diff of both cells of two genotypes.
public struct GenotypeDiff: Sendable {
    public var normal: CellDiff
    public var reduce: CellDiff

    public init(_ a: Genotype, _ b: Genotype) {
        normal = CellDiff(a.normal, b.normal)
        reduce = CellDiff(a.reduce, b.reduce)
    }

    public subscript(kind: CellKind) -> CellDiff { kind == .normal ? normal : reduce }

    /// Sum of both cells' distances.
    public var distance: Int { normal.distance + reduce.distance }

    /// The distance and one line per difference, grouped by cell.
    public var text: String {
        var lines = ["edit distance: \(distance) (normal \(normal.distance), reduce \(reduce.distance))"]
        for kind in CellKind.allCases {
            for d in self[kind].differences { lines.append("  \(kind.rawValue): \(d)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
