/// Pictures of genotypes without Graphviz: SVG documents and DOT text.
///
/// Every SVG is a self-contained, well-formed XML document (all text escaped) with the cells
/// side by side: inputs c_{k-2} and c_{k-1} on the left, intermediate nodes in columns by
/// depth, the output c_{k} on the right, and each edge a curve labelled with its op.
public enum GenotypeDrawing {
    /// The cells of `genotype` side by side.
    ///
    /// - Parameters:
    ///   - genotype: what to draw.
    ///   - cells: which cells, in order.
    ///   - weights: when given, each edge is drawn thicker and more opaque the larger its weight
    ///     (``ArchitectureState/edgeWeight(_:node:edge:)``), and its label shows the weight.
    ///   - title: a caption above the cells.
    /// - Returns: the SVG document.
    public static func svg(
        _ genotype: Genotype, cells: [CellKind] = CellKind.allCases, weights: ArchitectureState? = nil, title: String? = nil
    ) -> String {
        let pictures = cells.map { kind in
            let cell = genotype[kind]
            var picture = CellPicture(cell: cell, title: "\(kind.rawValue) cell")
            if let weights {
                for (i, edges) in cell.nodes.enumerated() {
                    for (k, e) in edges.enumerated() {
                        guard let w = weights.edgeWeight(kind, node: i, edge: e) else { continue }
                        picture.styles[i][k].width = 0.8 + 3.2 * w
                        picture.styles[i][k].opacity = 0.3 + 0.7 * w
                        picture.styles[i][k].label = "\(e.op) \(fixed(w, 2))"
                    }
                }
            }
            return picture
        }
        return sideBySide(pictures, caption: title)
    }

    /// One cell on its own.
    ///
    /// - Parameter edgeWeights: optional weights in [0, 1] shaped like `cell.nodes`.
    public static func svg(_ cell: Cell, title: String, edgeWeights: [[Double]]? = nil) -> String {
        var picture = CellPicture(cell: cell, title: title)
        if let edgeWeights {
            precondition(edgeWeights.map(\.count) == cell.nodes.map(\.count), "edgeWeights must be shaped like cell.nodes")
            for (i, row) in edgeWeights.enumerated() {
                for (k, w) in row.enumerated() {
                    picture.styles[i][k].width = 0.8 + 3.2 * w
                    picture.styles[i][k].opacity = 0.3 + 0.7 * w
                    picture.styles[i][k].label = "\(cell.nodes[i][k].op) \(fixed(w, 2))"
                }
            }
        }
        return sideBySide([picture])
    }

    /// Two genotypes side by side per cell kind, differing edges highlighted: in A, edges that
    /// B lacks or changed are red; in B, new or changed edges are green; the rest grey.
    public static func diffSVG(_ a: Genotype, _ b: Genotype, diff: GenotypeDiff? = nil,
                               names: (String, String) = ("A", "B"), cells: [CellKind] = CellKind.allCases) -> String {
        let diff = diff ?? GenotypeDiff(a, b)
        let red = "#d62728", green = "#2ca02c", grey = "#8a8a8a"
        var svg = SVGWriter()
        var y = 36.0
        var width = 0.0
        svg.element("text", [("x", "14"), ("y", "22"), ("font-size", "15"), ("font-weight", "bold"), ("fill", "#111111")],
                    text: "\(names.0) vs \(names.1): edit distance \(diff.distance)")
        for kind in cells {
            let d = diff[kind]
            func styles(_ cell: Cell, _ status: [[EdgeStatus]], changed: String) -> [[EdgeStyle]] {
                cell.nodes.enumerated().map { i, edges in
                    edges.enumerated().map { k, e in
                        switch status[i][k] {
                        case .same: return EdgeStyle(label: e.op, color: grey, width: 1.2)
                        case .changed: return EdgeStyle(label: e.op, color: changed, width: 2.6, bold: true)
                        case .removed: return EdgeStyle(label: e.op, color: red, width: 2.6, dashed: true, bold: true)
                        case .added: return EdgeStyle(label: e.op, color: green, width: 2.6, bold: true)
                        }
                    }
                }
            }
            let left = CellLayout(CellPicture(cell: a[kind], title: "\(names.0): \(kind.rawValue) cell", styles: styles(a[kind], d.statusA, changed: red)))
            let right = CellLayout(CellPicture(cell: b[kind], title: "\(names.1): \(kind.rawValue) cell (distance \(d.distance))",
                                               styles: styles(b[kind], d.statusB, changed: green)))
            left.render(into: &svg, at: Point(x: 0, y: y))
            right.render(into: &svg, at: Point(x: left.width + 20, y: y))
            width = max(width, left.width + 20 + right.width)
            y += max(left.height, right.height) + 8
        }
        let legend: [(String, String)] = [
            ("red: only in \(names.0) or changed (dashed: removed)", red), ("green: only in \(names.1) or changed", green),
            ("grey: unchanged", grey),
        ]
        for (k, (text, color)) in legend.enumerated() {
            svg.element("text", [("x", "14"), ("y", num(y + 14 + Double(k) * 16)), ("font-size", "12"), ("fill", color)], text: text)
        }
        return svg.document(width: max(width, 360), height: y + 14 + Double(legend.count) * 16)
    }
}
