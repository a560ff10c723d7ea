extension GenotypeDrawing {
    /// Graphviz DOT text of the chosen cells, one cluster per cell, laid out left to right as
    /// in DARTS' `plot`: inputs, intermediate nodes, output; every edge labelled with its op.
    ///
    /// - Parameter weights: when given, edge pen widths follow the edge weights.
    public static func dot(_ genotype: Genotype, cells: [CellKind] = CellKind.allCases,
                           weights: ArchitectureState? = nil, name: String = "genotype") -> String {
        var lines = ["digraph \(dotID(name)) {",
                     "  rankdir=LR;",
                     "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=12];",
                     "  edge [fontname=\"Helvetica\", fontsize=10];"]
        for kind in cells {
            let cell = genotype[kind]
            let prefix = kind.rawValue
            func id(_ state: Int) -> String { dotID("\(prefix)_\(state == cell.nodeCount + 2 ? "out" : String(state))") }
            lines.append("  subgraph \(dotID("cluster_\(prefix)")) {")
            lines.append("    label=\(dotID("\(prefix) cell"));")
            lines.append("    \(id(0)) [label=\(dotID(StateName.of(0))), fillcolor=darkseagreen2];")
            lines.append("    \(id(1)) [label=\(dotID(StateName.of(1))), fillcolor=darkseagreen2];")
            for i in 0..<cell.nodeCount {
                lines.append("    \(id(i + 2)) [label=\(dotID(String(i))), fillcolor=lightblue];")
            }
            lines.append("    \(id(cell.nodeCount + 2)) [label=\(dotID(StateName.output)), fillcolor=palegoldenrod];")
            for (i, edges) in cell.nodes.enumerated() {
                for e in edges {
                    var attributes = "label=\(dotID(e.op))"
                    if let w = weights?.edgeWeight(kind, node: i, edge: e) {
                        attributes = "label=\(dotID("\(e.op) \(fixed(w, 2))")), penwidth=\(fixed(0.5 + 3 * w, 2))"
                    }
                    lines.append("    \(id(e.input)) -> \(id(i + 2)) [\(attributes)];")
                }
            }
            for c in cell.concat {
                lines.append("    \(id(c)) -> \(id(cell.nodeCount + 2)) [color=gray];")
            }
            lines.append("  }")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A DOT identifier: always quoted, with `"` and `\` escaped.
func dotID(_ s: String) -> String {
    var out = "\""
    for c in s.unicodeScalars {
        switch c {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        default: out.unicodeScalars.append(c)
        }
    }
    return out + "\""
}
