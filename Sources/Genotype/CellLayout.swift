/// Geometry helpers for the drawings.
struct Point {
    var x: Double
    var y: Double
}

struct Rect {
    var x: Double
    var y: Double
    var w: Double
    var h: Double

    var maxX: Double { x + w }
    var maxY: Double { y + h }
    var midY: Double { y + h / 2 }

    func inflated(_ d: Double) -> Rect { Rect(x: x - d, y: y - d, w: w + 2 * d, h: h + 2 * d) }
    func contains(_ p: Point) -> Bool { p.x >= x && p.x <= maxX && p.y >= y && p.y <= maxY }
    func overlap(_ o: Rect) -> Double {
        max(0, min(maxX, o.maxX) - max(x, o.x)) * max(0, min(maxY, o.maxY) - max(y, o.y))
    }
    func union(_ o: Rect) -> Rect {
        let x0 = min(x, o.x), y0 = min(y, o.y)
        return Rect(x: x0, y: y0, w: max(maxX, o.maxX) - x0, h: max(maxY, o.maxY) - y0)
    }
}

/// How to draw one edge.
struct EdgeStyle {
    var label: String
    var color = "#3a3a3a"
    var width = 1.4
    var opacity = 1.0
    var dashed = false
    var bold = false
}

/// A cell with everything needed to draw it.
struct CellPicture {
    var cell: Cell
    var title: String
    /// One style per edge, shaped like `cell.nodes`.
    var styles: [[EdgeStyle]]
    /// Style of the edges from concatenated nodes to the output.
    var outputStyle = EdgeStyle(label: "", color: "#9a9a9a", width: 1.2)

    init(cell: Cell, title: String, styles: [[EdgeStyle]]? = nil) {
        self.cell = cell
        self.title = title
        self.styles = styles ?? cell.nodes.map { $0.map { EdgeStyle(label: $0.op) } }
    }
}

/// Column layout of a cell: inputs left, intermediate nodes by depth, output right. Edges are
/// cubic curves bent around nodes they would cross; labels sit on their curve at the place
/// that overlaps nodes, other labels and other curves the least.
struct CellLayout {
    struct NodeBox {
        var state: Int
        var label: String
        var rect: Rect
        var fill: String
    }

    struct Route {
        var from: Int
        var to: Int
        var curve: [Point]  // the four Bézier control points
        var style: EdgeStyle
        var labelRect: Rect?
    }

    static let fontSize = 11.0
    static let labelHeight = 15.0
    static let titleHeight = 26.0
    static let margin = 14.0

    private(set) var boxes: [NodeBox] = []
    private(set) var routes: [Route] = []
    private(set) var title: String
    /// Bounding box of everything but the title, in layout coordinates.
    private(set) var bounds = Rect(x: 0, y: 0, w: 0, h: 0)

    /// Size of the drawing including title and margins.
    var width: Double { max(bounds.w, textWidth(title, size: 14)) + 2 * CellLayout.margin }
    var height: Double { bounds.h + CellLayout.titleHeight + 2 * CellLayout.margin }

    init(_ picture: CellPicture) {
        title = picture.title
        let cell = picture.cell
        let n = cell.nodeCount
        let output = n + 2

        // Depth of every state; the output sits one column after the deepest node.
        var depth = [0, 0]
        for edges in cell.nodes {
            depth.append(1 + edges.map { depth[$0.input] }.reduce(0, max))
        }
        let lastColumn = (depth.max() ?? 0) + 1
        depth.append(lastColumn)

        // Edges: (from, to, style).
        var edges: [(from: Int, to: Int, style: EdgeStyle)] = []
        for (i, nodeEdges) in cell.nodes.enumerated() {
            for (k, e) in nodeEdges.enumerated() { edges.append((e.input, i + 2, picture.styles[i][k])) }
        }
        for c in cell.concat { edges.append((c, output, picture.outputStyle)) }

        // Node sizes.
        func label(_ s: Int) -> String { s == output ? StateName.output : StateName.of(s) }
        func size(_ s: Int) -> (Double, Double) { (max(34, textWidth(label(s), size: 12) + 20), 30) }

        // Column positions: wide enough for the longest label between two columns.
        let longest = edges.map { textWidth($0.style.label, size: CellLayout.fontSize) }.max() ?? 0
        // Busy gaps (many labelled edges ending in the next column) get more room.
        var columnX: [Double] = []
        var x = 0.0
        for c in 0...lastColumn {
            let width = (0...output).filter { depth[$0] == c }.map { size($0).0 }.max() ?? 34
            columnX.append(x + width / 2)
            let arriving = edges.filter { !$0.style.label.isEmpty && depth[$0.to] == c + 1 }.count
            x += width + max(120, longest + 56) + 28 * Double(max(0, arriving - 3))
        }

        // Rows: order each column by the mean height of its predecessors, then space evenly.
        let rowGap = 96.0
        var y = [Double](repeating: 0, count: output + 1)
        y[0] = -rowGap * 0.6
        y[1] = rowGap * 0.6
        if lastColumn >= 1 {
            for c in 1...lastColumn {
                let members = (2...output).filter { depth[$0] == c }
                func barycenter(_ s: Int) -> Double {
                    let preds = edges.filter { $0.to == s }.map { y[$0.from] }
                    return preds.isEmpty ? 0 : preds.reduce(0, +) / Double(preds.count)
                }
                let ordered = members.sorted { (barycenter($0), $0) < (barycenter($1), $1) }
                for (k, s) in ordered.enumerated() { y[s] = (Double(k) - Double(ordered.count - 1) / 2) * rowGap }
            }
        }
        for s in 0...output {
            let (w, h) = size(s)
            let fill = s < 2 ? "#b4eeb4" : (s == output ? "#eee8aa" : "#add8e6")
            boxes.append(NodeBox(state: s, label: label(s), rect: Rect(x: columnX[depth[s]] - w / 2, y: y[s] - h / 2, w: w, h: h), fill: fill))
        }

        // Attachment points: edges leave and enter spread out, ordered by the other end's height.
        var start = [Point](repeating: Point(x: 0, y: 0), count: edges.count)
        var end = start
        for s in 0...output {
            let r = boxes[s].rect
            // Edges to farther columns bend away from the middle, so above the middle they
            // leave from the top and below it from the bottom.
            let away: Double = y[s] <= 0 ? -1 : 1
            let outgoing = edges.indices.filter { edges[$0].from == s }.sorted {
                (y[edges[$0].to], away * Double(depth[edges[$0].to]), $0) < (y[edges[$1].to], away * Double(depth[edges[$1].to]), $1)
            }
            for (k, e) in outgoing.enumerated() {
                start[e] = Point(x: r.maxX, y: r.midY + (Double(k) - Double(outgoing.count - 1) / 2) * min(7, (r.h - 8) / Double(max(1, outgoing.count - 1))))
            }
            let incoming = edges.indices.filter { edges[$0].to == s }.sorted {
                (y[edges[$0].from], away * -Double(depth[edges[$0].from]), $0) < (y[edges[$1].from], away * -Double(depth[edges[$1].from]), $1)
            }
            for (k, e) in incoming.enumerated() {
                end[e] = Point(x: r.x, y: r.midY + (Double(k) - Double(incoming.count - 1) / 2) * min(7, (r.h - 8) / Double(max(1, incoming.count - 1))))
            }
        }

        // Curves: the least bend that misses every other node (and differs from parallel edges).
        var usedBends: [String: [Double]] = [:]
        for (k, e) in edges.enumerated() {
            let obstacles = boxes.filter { $0.state != e.from && $0.state != e.to }.map { $0.rect.inflated(8) }
            let p0 = start[k], p3 = end[k]
            let preferred: Double = (p0.y + p3.y) / 2 <= 0 ? -1 : 1
            let key = "\(e.from)-\(e.to)"
            var chosen = [p0, p0, p3, p3]
            var fallback: (hits: Int, curve: [Point])?
            search: for magnitude in stride(from: 0.0, through: 480, by: 24) {
                for sign in magnitude == 0 ? [1.0] : [preferred, -preferred] {
                    let bend = sign * magnitude
                    if usedBends[key, default: []].contains(where: { abs($0 - bend) < 20 }) { continue }
                    let curve = CellLayout.curve(p0, p3, bend: bend)
                    var hits = 0
                    for p in CellLayout.sample(curve, count: 32).dropFirst(2).dropLast(2) {
                        for o in obstacles where o.contains(p) { hits += 1 }
                    }
                    if hits == 0 {
                        chosen = curve
                        usedBends[key, default: []].append(bend)
                        break search
                    }
                    if fallback == nil || hits < fallback!.hits { fallback = (hits, curve) }
                }
                if magnitude == 480, let fallback { chosen = fallback.curve }
            }
            routes.append(Route(from: e.from, to: e.to, curve: chosen, style: e.style, labelRect: nil))
        }

        // Labels: short edges first (they have the fewest good places).
        let samples = routes.map { CellLayout.sample($0.curve, count: 80) }
        let sampleBounds = samples.map { pts in pts.dropFirst().reduce(Rect(x: pts[0].x, y: pts[0].y, w: 0, h: 0)) { $0.union(Rect(x: $1.x, y: $1.y, w: 0, h: 0)) } }
        var placed: [Rect] = []
        let nodeRects = boxes.map { $0.rect.inflated(3) }
        let order = routes.indices.filter { !routes[$0].style.label.isEmpty }
            .sorted { (routes[$0].curve[3].x - routes[$0].curve[0].x, $0) < (routes[$1].curve[3].x - routes[$1].curve[0].x, $1) }
        for r in order {
            let text = routes[r].style.label
            let w = textWidth(text, size: CellLayout.fontSize) + 8
            let h = CellLayout.labelHeight
            var best: (cost: Double, rect: Rect)?
            // The label is centred on its own curve, so it is never read as another edge's.
            for t in stride(from: 0.15, through: 0.851, by: 0.035) {
                let p = CellLayout.point(routes[r].curve, t)
                for dy in [0.0, -3, 3] {
                    let rect = Rect(x: p.x - w / 2, y: p.y - h / 2 + dy, w: w, h: h)
                    var cost = abs(t - 0.5) * 8 + abs(dy) * 0.5
                    for nr in nodeRects { cost += nr.overlap(rect) * 10 }
                    for pr in placed { cost += pr.inflated(2).overlap(rect) * 10 }
                    for o in samples.indices where o != r && CellLayout.intersects(sampleBounds[o], rect) {
                        var inside = 0
                        for p in samples[o] where rect.contains(p) { inside += 1 }
                        cost += Double(inside) * 8
                    }
                    if best == nil || cost < best!.cost { best = (cost, rect) }
                }
            }
            routes[r].labelRect = best!.rect
            placed.append(best!.rect)
        }

        // Bounds of nodes, curves and labels.
        var b = boxes[0].rect
        for box in boxes { b = b.union(box.rect) }
        for (r, route) in routes.enumerated() {
            for p in samples[r] { b = b.union(Rect(x: p.x, y: p.y, w: 0, h: 0)) }
            if let l = route.labelRect { b = b.union(l) }
        }
        bounds = b
    }

    /// Control points of a curve from `p0` to `p3` whose middle is pushed by `bend`.
    static func curve(_ p0: Point, _ p3: Point, bend: Double) -> [Point] {
        let dx = (p3.x - p0.x) * 0.5
        return [p0, Point(x: p0.x + dx, y: p0.y + bend), Point(x: p3.x - dx, y: p3.y + bend), p3]
    }

    static func intersects(_ a: Rect, _ b: Rect) -> Bool {
        a.x <= b.maxX && b.x <= a.maxX && a.y <= b.maxY && b.y <= a.maxY
    }

    static func point(_ c: [Point], _ t: Double) -> Point {
        let u = 1 - t
        let a = u * u * u, b = 3 * u * u * t, d = 3 * u * t * t, e = t * t * t
        return Point(x: a * c[0].x + b * c[1].x + d * c[2].x + e * c[3].x,
                     y: a * c[0].y + b * c[1].y + d * c[2].y + e * c[3].y)
    }

    static func sample(_ c: [Point], count: Int) -> [Point] {
        (0...count).map { point(c, Double($0) / Double(count)) }
    }

    /// Draws the cell with its top-left corner (title included) at `origin`.
    func render(into svg: inout SVGWriter, at origin: Point) {
        let dx = origin.x + CellLayout.margin - bounds.x
        let dy = origin.y + CellLayout.margin + CellLayout.titleHeight - bounds.y
        svg.open("g", [("transform", "translate(\(num(dx)),\(num(dy)))")])
        svg.element("text", [("x", num(bounds.x)), ("y", num(bounds.y - CellLayout.titleHeight + 12)),
                             ("font-size", "14"), ("font-weight", "bold"), ("fill", "#222222")], text: title)
        for route in routes {
            let c = route.curve
            let d = "M\(num(c[0].x)),\(num(c[0].y)) C\(num(c[1].x)),\(num(c[1].y)) \(num(c[2].x)),\(num(c[2].y)) \(num(c[3].x)),\(num(c[3].y))"
            var attributes = [("d", d), ("fill", "none"), ("stroke", route.style.color),
                              ("stroke-width", num(route.style.width)), ("stroke-opacity", fixed(route.style.opacity, 2)),
                              ("marker-end", "url(#\(svg.arrow(route.style.color)))")]
            if route.style.dashed { attributes.append(("stroke-dasharray", "5,3")) }
            svg.element("path", attributes)
        }
        for box in boxes {
            let r = box.rect
            svg.element("rect", [("x", num(r.x)), ("y", num(r.y)), ("width", num(r.w)), ("height", num(r.h)),
                                 ("rx", "7"), ("fill", box.fill), ("stroke", "#555555"), ("stroke-width", "1")])
            svg.element("text", [("x", num(r.x + r.w / 2)), ("y", num(r.midY + 4)), ("font-size", "12"),
                                 ("text-anchor", "middle"), ("fill", "#111111")], text: box.label)
        }
        for route in routes {
            guard let l = route.labelRect else { continue }
            svg.element("rect", [("x", num(l.x)), ("y", num(l.y)), ("width", num(l.w)), ("height", num(l.h)),
                                 ("rx", "3"), ("fill", "#ffffff"), ("fill-opacity", "0.9"),
                                 ("stroke", route.style.color), ("stroke-width", "0.6"), ("stroke-opacity", "0.6")])
            var attributes = [("x", num(l.x + l.w / 2)), ("y", num(l.y + l.h - 4)), ("font-size", num(CellLayout.fontSize)),
                              ("text-anchor", "middle"), ("fill", route.style.color == "#3a3a3a" ? "#222222" : route.style.color)]
            if route.style.bold { attributes.append(("font-weight", "bold")) }
            svg.element("text", attributes, text: route.style.label)
        }
        svg.close("g")
    }
}

/// Lays several pictures out side by side in one SVG document.
func sideBySide(_ pictures: [CellPicture], caption: String? = nil, footer: [(text: String, color: String)] = []) -> String {
    let layouts = pictures.map(CellLayout.init)
    var svg = SVGWriter()
    var x = 0.0
    let top = caption == nil ? 0.0 : 30.0
    if let caption {
        svg.element("text", [("x", "14"), ("y", "22"), ("font-size", "15"), ("font-weight", "bold"), ("fill", "#111111")], text: caption)
    }
    for layout in layouts {
        layout.render(into: &svg, at: Point(x: x, y: top))
        x += layout.width + 20
    }
    var height = top + (layouts.map(\.height).max() ?? 0)
    var width = max(x - 20, textWidth(caption ?? "", size: 15) + 28)
    for (k, line) in footer.enumerated() {
        svg.element("text", [("x", "14"), ("y", num(height + 16 + Double(k) * 16)), ("font-size", "12"), ("fill", line.color)], text: line.text)
        width = max(width, textWidth(line.text, size: 12) + 28)
    }
    if !footer.isEmpty { height += Double(footer.count) * 16 + 12 }
    return svg.document(width: width, height: height)
}
