/// Canonical forms and isomorphism-aware hashes of cells.
///
/// Intermediate nodes are numbered only so that every edge reads an earlier state; any
/// renumbering that keeps that property computes the same function. The canonical form removes
/// this freedom:
///
/// ```
/// sig(c_{k-2}) = "s0",  sig(c_{k-1}) = "s1"
/// sig(node)    = SHA-256("n(" + sorted(len(op) ":" op "<" sig(input) for each edge) joined by "," + ")")
/// depth(node)  = 1 + max depth of its inputs (cell inputs have depth 0)
/// ```
/// Nodes are ordered by (depth, signature), which is a topological order with a deterministic
/// tie-break; edges within a node are sorted by (input, op); concat is mapped and sorted.
/// Two nodes with the same signature compute the same function of the cell inputs; the
/// canonical text (and so the hash) lists each distinct signature once with its multiplicity,
/// so it is the same for every numbering of the same cell, while changing any edge changes it.
extension Cell {
    /// The canonical signature and depth of every node, by original index.
    func nodeSignatures() -> (signatures: [String], depths: [Int]) {
        precondition(problem == nil, "canonical form of an invalid cell: \(problem ?? "")")
        var signatures: [String] = []
        var depths: [Int] = []
        for edges in nodes {
            var items: [String] = []
            var depth = 1
            for e in edges {
                let inputSignature: String
                if e.input < 2 {
                    inputSignature = "s\(e.input)"
                } else {
                    inputSignature = signatures[e.input - 2]
                    depth = max(depth, depths[e.input - 2] + 1)
                }
                items.append("\(e.op.utf8.count):\(e.op)<\(inputSignature)")
            }
            signatures.append(SHA256.hex("n(" + items.sorted().joined(separator: ",") + ")"))
            depths.append(depth)
        }
        return (signatures, depths)
    }

    /// The canonical node order: `order[k]` is the original index of canonical node `k`.
    public func canonicalOrder() -> [Int] {
        let (signatures, depths) = nodeSignatures()
        return nodes.indices.sorted {
            (depths[$0], signatures[$0], $0) < (depths[$1], signatures[$1], $1)
        }
    }

    /// The cell renumbered into canonical order, with sorted edges and a sorted concat.
    public func canonicalized() -> Cell {
        let order = canonicalOrder()
        var newIndex = [Int](repeating: 0, count: nodes.count)
        for (k, old) in order.enumerated() { newIndex[old] = k }
        func map(_ state: Int) -> Int { state < 2 ? state : 2 + newIndex[state - 2] }
        let newNodes = order.map { old in
            nodes[old].map { Edge(op: $0.op, input: map($0.input)) }.sorted { ($0.input, $0.op) < ($1.input, $1.op) }
        }
        return Cell(nodes: newNodes, concat: concat.map(map).sorted())
    }

    /// The text the canonical hash is taken of: one line per distinct node signature, in
    /// canonical order, with multiplicity and edges (inputs by group), then the concat groups.
    ///
    /// ```
    /// metanas.cell/1
    /// g0 x1: 12:sep_conv_3x3<s0,12:skip_connect<s1
    /// g1 x1: 12:dil_conv_3x3<g0,...
    /// concat: g0 g1
    /// ```
    public var canonicalForm: String {
        let signatures = nodeSignatures().signatures
        let order = canonicalOrder()
        var groupOf: [String: Int] = [:]
        var groups: [(representative: Int, count: Int)] = []
        for old in order {
            if let g = groupOf[signatures[old]] {
                groups[g].count += 1
            } else {
                groupOf[signatures[old]] = groups.count
                groups.append((old, 1))
            }
        }
        func ref(_ state: Int) -> String { state < 2 ? "s\(state)" : "g\(groupOf[signatures[state - 2]]!)" }
        var lines = ["metanas.cell/1"]
        for (g, group) in groups.enumerated() {
            let items = nodes[group.representative].map { "\($0.op.utf8.count):\($0.op)<\(ref($0.input))" }.sorted()
            lines.append("g\(g) x\(group.count): " + items.joined(separator: ","))
        }
        let concatGroups = concat.map { groupOf[signatures[$0 - 2]]! }.sorted()
        lines.append("concat: " + concatGroups.map { "g\($0)" }.joined(separator: " "))
        return lines.joined(separator: "\n") + "\n"
    }

    /// SHA-256 of ``canonicalForm`` as 64 hex digits: equal for cells that differ only in node
    /// numbering (or in the order of edges or concat entries), different when an edge changes.
    public var canonicalHash: String { SHA256.hex(canonicalForm) }
}

extension Genotype {
    /// Both cells in canonical form.
    public func canonicalized() -> Genotype {
        Genotype(normal: normal.canonicalized(), reduce: reduce.canonicalized())
    }

    /// SHA-256 over both cells' canonical forms, as 64 hex digits.
    public var canonicalHash: String {
        SHA256.hex("metanas.genotype/1\nnormal\n\(normal.canonicalForm)reduce\n\(reduce.canonicalForm)")
    }

    /// The first 12 hex digits of ``canonicalHash``, for tables and file names.
    public var shortHash: String { String(canonicalHash.prefix(12)) }
}
