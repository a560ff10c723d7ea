/// Statistics over many genotypes (e.g. the architectures found on many tasks or seeds).
///
/// Cells are compared in canonical form, so cells that differ only in node numbering count as
/// one. The consensus cell takes, for the most common node count, at every canonical node the
/// most frequent (op, input) edges (as many as that node most often has), and the most frequent
/// concat; ties go to the edge that sorts first.
public struct GenotypeSummary: Sendable {
    /// Statistics of one cell kind.
    public struct CellStatistics: Sendable {
        /// Edges per op name, most frequent first (ties by name).
        public var opCounts: [(op: String, count: Int)]
        /// How many cells have k edges with the skip op: `skipHistogram[k]`.
        public var skipHistogram: [Int: Int]
        /// Mean number of skip edges per cell.
        public var meanSkips: Double
        /// Distinct cells by canonical hash, most frequent first (ties by hash).
        public var distinct: [(hash: String, cell: Cell, count: Int)]
        /// The majority cell, or `nil` for no genotypes.
        public var consensus: Cell?
    }

    /// Number of genotypes summarised.
    public var count: Int
    /// The op name counted as a skip connection.
    public var skipOp: String
    public var normal: CellStatistics
    public var reduce: CellStatistics
    /// Distinct genotypes by canonical hash, most frequent first.
    public var distinctGenotypes: [(hash: String, count: Int)]

    public subscript(kind: CellKind) -> CellStatistics { kind == .normal ? normal : reduce }

    /// The consensus genotype (both consensus cells), or `nil` for no genotypes.
    public var consensus: Genotype? {
        guard let n = normal.consensus, let r = reduce.consensus else { return nil }
        return Genotype(normal: n, reduce: r)
    }

    /// Summarises `genotypes`; `skipOp` names the identity op (DARTS: `skip_connect`).
    public init(_ genotypes: [Genotype], skipOp: String = "skip_connect") {
        count = genotypes.count
        self.skipOp = skipOp
        normal = CellStatistics(genotypes.map(\.normal), skipOp: skipOp)
        reduce = CellStatistics(genotypes.map(\.reduce), skipOp: skipOp)
        var byHash: [String: Int] = [:]
        for g in genotypes { byHash[g.canonicalHash, default: 0] += 1 }
        distinctGenotypes = byHash.map { (hash: $0.key, count: $0.value) }
            .sorted { ($1.count, $0.hash) < ($0.count, $1.hash) }
    }

    /// A plain-text report.
    public var text: String {
        var lines = ["genotypes: \(count), distinct: \(distinctGenotypes.count)"]
        for (hash, n) in distinctGenotypes.prefix(10) { lines.append("  \(hash.prefix(12))  x\(n)") }
        if distinctGenotypes.count > 10 { lines.append("  ... \(distinctGenotypes.count - 10) more") }
        for kind in CellKind.allCases {
            let s = self[kind]
            lines.append("")
            lines.append("\(kind.rawValue) cells: \(s.distinct.count) distinct")
            lines.append("  ops:")
            let width = s.opCounts.map(\.op.count).max() ?? 0
            let total = max(1, s.opCounts.reduce(0) { $0 + $1.count })
            for (op, n) in s.opCounts {
                let share = Double(n) / Double(total)
                let bar = String(repeating: "#", count: Int((share * 40).rounded()))
                lines.append("    \(op.padded(to: width))  \(String(n).leftPadded(to: 5))  \(percent(share))  \(bar)")
            }
            let skips = s.skipHistogram.keys.sorted().map { "\($0): \(s.skipHistogram[$0]!)" }.joined(separator: ", ")
            lines.append("  \(skipOp) edges per cell: mean \(fixed(s.meanSkips, 2)); cells by count {\(skips)}")
            lines.append("  most common:")
            for (hash, cell, n) in s.distinct.prefix(5) {
                lines.append("    \(hash.prefix(12))  x\(n)  \(DARTSPrinter.nodes(cell))")
            }
            if let c = s.consensus {
                lines.append("  consensus: \(DARTSPrinter.nodes(c)) concat \(DARTSPrinter.concat(c.concat))")
            }
        }
        if let consensus { lines += ["", "consensus genotype:", consensus.dartsString] }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension GenotypeSummary.CellStatistics {
    init(_ cells: [Cell], skipOp: String) {
        var ops: [String: Int] = [:]
        var skips: [Int: Int] = [:]
        var totalSkips = 0
        var byHash: [String: (cell: Cell, count: Int)] = [:]
        for cell in cells {
            var k = 0
            for (_, e) in cell.allEdges {
                ops[e.op, default: 0] += 1
                if e.op == skipOp { k += 1 }
            }
            skips[k, default: 0] += 1
            totalSkips += k
            let hash = cell.canonicalHash
            byHash[hash, default: (cell.canonicalized(), 0)].count += 1
        }
        opCounts = ops.map { (op: $0.key, count: $0.value) }.sorted { ($1.count, $0.op) < ($0.count, $1.op) }
        skipHistogram = skips
        meanSkips = cells.isEmpty ? 0 : Double(totalSkips) / Double(cells.count)
        distinct = byHash.map { (hash: $0.key, cell: $0.value.cell, count: $0.value.count) }
            .sorted { ($1.count, $0.hash) < ($0.count, $1.hash) }
        consensus = GenotypeSummary.CellStatistics.consensus(of: cells.map { $0.canonicalized() })
    }

    /// Per canonical node position, the majority edges; see ``GenotypeSummary``.
    static func consensus(of cells: [Cell]) -> Cell? {
        guard let nodeCount = mode(cells.map(\.nodeCount)) else { return nil }
        let voters = cells.filter { $0.nodeCount == nodeCount }
        var nodes: [[Edge]] = []
        for i in 0..<nodeCount {
            let edgeCount = mode(voters.map { $0.nodes[i].count }) ?? 0
            var votes: [Edge: Int] = [:]
            for cell in voters {
                for e in Set(cell.nodes[i]) { votes[e, default: 0] += 1 }
            }
            let ranked = votes.sorted { ($1.value, $0.key.input, $0.key.op) < ($0.value, $1.key.input, $1.key.op) }
            nodes.append(ranked.prefix(edgeCount).map(\.key).sorted { ($0.input, $0.op) < ($1.input, $1.op) })
        }
        var concatVotes: [[Int]: Int] = [:]
        for cell in voters { concatVotes[cell.concat, default: 0] += 1 }
        let concat = concatVotes.max { a, b in
            a.value < b.value || (a.value == b.value && b.key.lexicographicallyPrecedes(a.key))
        }?.key
        return Cell(nodes: nodes, concat: concat)
    }
}

/// The most frequent value (ties to the smallest).
private func mode(_ values: [Int]) -> Int? {
    var counts: [Int: Int] = [:]
    for v in values { counts[v, default: 0] += 1 }
    return counts.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
}

func fixed(_ x: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let r = (x * scale).rounded() / scale
    var s = String(r)
    if s.contains("e") { return s }
    if !s.contains(".") { s += "." }
    let decimals = s.split(separator: ".", omittingEmptySubsequences: false).last!.count
    if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
    if decimals > digits { s = String(s.dropLast(decimals - digits)) }
    return digits == 0 ? String(s.dropLast()) : s
}

private func percent(_ share: Double) -> String { (fixed(share * 100, 1) + "%").leftPadded(to: 6) }

extension String {
    func padded(to width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
