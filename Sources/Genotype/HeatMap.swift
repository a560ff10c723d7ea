extension GenotypeDrawing {
    /// Heat maps of an architecture state: for each chosen cell, a table of alpha (one row per
    /// edge, one column per op) coloured by the softmax weight at the exported temperature with
    /// the weight printed in each square, then a table of beta (one row per node, one square per
    /// input or input pair). Pruned ops are shown hatched grey.
    public static func heatMapSVG(_ state: ArchitectureState, cells: [CellKind] = CellKind.allCases) -> String {
        var svg = SVGWriter()
        let cellW = 58.0, cellH = 22.0
        let rowLabelWidth = (0..<8).map { textWidth("node \($0) ← c_{k-2}", size: 11) }.max()! + 16
        let headerHeight = (state.operations.map { textWidth($0, size: 11) }.max() ?? 40) * 0.72 + 24
        let white = (255.0, 255.0, 255.0), blue = (8.0, 69.0, 148.0)
        var x = 14.0
        var maxY = 0.0
        svg.element("text", [("x", "14"), ("y", "22"), ("font-size", "15"), ("font-weight", "bold"), ("fill", "#111111")],
                    text: "architecture weights (softmax at T = \(fixed(state.temperature, 3)))")
        for kind in cells {
            let weights = state[kind]
            let pruned = Set(weights.pruned)
            var y = 44.0
            svg.element("text", [("x", num(x)), ("y", num(y + 12)), ("font-size", "14"), ("font-weight", "bold"), ("fill", "#222222")],
                        text: "\(kind.rawValue) cell: alpha")
            y += 20 + headerHeight
            let left = x + rowLabelWidth
            for (o, op) in state.operations.enumerated() {
                let cx = left + Double(o) * cellW + cellW / 2
                svg.element("text", [("x", num(cx)), ("y", num(y - 6)), ("font-size", "11"), ("fill", "#222222"),
                                     ("transform", "rotate(-40 \(num(cx)) \(num(y - 6)))")], text: op)
            }
            for node in weights.alpha.indices {
                for input in weights.alpha[node].indices {
                    let w = state.opWeights(kind, node: node, input: input)
                    svg.element("text", [("x", num(left - 8)), ("y", num(y + cellH / 2 + 4)), ("font-size", "11"),
                                         ("text-anchor", "end"), ("fill", "#222222")],
                                text: "node \(node) ← \(StateName.of(input))")
                    for (o, v) in w.enumerated() {
                        let isPruned = pruned.contains(PrunedOp(node: node, input: input, op: state.operations[o]))
                        let rx = left + Double(o) * cellW
                        svg.element("rect", [("x", num(rx)), ("y", num(y)), ("width", num(cellW)), ("height", num(cellH)),
                                             ("fill", isPruned ? "#e6e6e6" : blend(white, blue, v)), ("stroke", "#ffffff")])
                        svg.element("text", [("x", num(rx + cellW / 2)), ("y", num(y + cellH / 2 + 4)), ("font-size", "10"),
                                             ("text-anchor", "middle"), ("fill", isPruned ? "#9a9a9a" : (v > 0.55 ? "#ffffff" : "#222222"))],
                                    text: fixed(v, 2))
                    }
                    y += cellH
                }
                y += 4
            }
            var width = rowLabelWidth + Double(state.operations.count) * cellW
            if let beta = weights.beta {
                y += 18
                svg.element("text", [("x", num(x)), ("y", num(y)), ("font-size", "14"), ("font-weight", "bold"), ("fill", "#222222")],
                            text: "\(kind.rawValue) cell: beta (\(beta.form))")
                y += 10
                let betaW = beta.form == "pairs" ? 92.0 : 62.0
                for (node, row) in beta.rows.enumerated() {
                    let w = softmax(row, temperature: state.temperature)
                    svg.element("text", [("x", num(left - 8)), ("y", num(y + cellH + 2)), ("font-size", "11"),
                                         ("text-anchor", "end"), ("fill", "#222222")], text: "node \(node)")
                    let names: [String]
                    if case .pairs = beta {
                        names = InputWeights.pairs(ofNode: node).map { "\(StateName.of($0.0)), \(StateName.of($0.1))" }
                    } else {
                        names = (0..<(node + 2)).map { StateName.of($0) }
                    }
                    for (k, v) in w.enumerated() {
                        let rx = left + Double(k) * betaW
                        svg.element("rect", [("x", num(rx)), ("y", num(y)), ("width", num(betaW)), ("height", num(cellH * 1.6)),
                                             ("fill", blend(white, blue, v)), ("stroke", "#ffffff")])
                        let ink = v > 0.55 ? "#ffffff" : "#222222"
                        svg.element("text", [("x", num(rx + betaW / 2)), ("y", num(y + 13)), ("font-size", "9"),
                                             ("text-anchor", "middle"), ("fill", ink)], text: names[k])
                        svg.element("text", [("x", num(rx + betaW / 2)), ("y", num(y + 28)), ("font-size", "10"),
                                             ("text-anchor", "middle"), ("fill", ink)], text: fixed(v, 2))
                    }
                    width = max(width, rowLabelWidth + Double(w.count) * betaW)
                    y += cellH * 1.6 + 3
                }
            }
            maxY = max(maxY, y)
            x += width + 40
        }
        return svg.document(width: max(x - 26, 420), height: maxY + 16)
    }
}
