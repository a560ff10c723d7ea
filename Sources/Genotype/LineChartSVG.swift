#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A line chart drawn as a self-contained SVG document, for learning curves and weight
/// trajectories: lines, points with error bars (e.g. accuracy with its 95% interval), shaded
/// x ranges (e.g. the warm-up phase) and a legend under the plot.
///
/// Axes get "nice" ticks (steps of 1, 2 or 5 times a power of ten). Without an explicit
/// ``yRange`` the y axis spans the data and the error bars, padded by 5% and rounded out to
/// ticks. Non-finite values break a line instead of being drawn. All text is XML-escaped.
public struct LineChart: Sendable {
    /// A point of a line.
    public struct Point: Sendable, Equatable {
        public var x: Double
        public var y: Double
        public init(x: Double, y: Double) { (self.x, self.y) = (x, y) }
    }

    /// One line.
    public struct Series: Sendable {
        public var name: String
        /// A `#rrggbb` colour.
        public var color: String
        public var points: [Point]
        public var width: Double
        public var dashed: Bool
        public var opacity: Double
        /// Whether the line has a legend entry (a faint raw line under its smoothed version
        /// usually does not).
        public var inLegend: Bool

        public init(name: String, color: String, points: [Point], width: Double = 1.8, dashed: Bool = false,
                    opacity: Double = 1, inLegend: Bool = true) {
            (self.name, self.color, self.points) = (name, color, points)
            (self.width, self.dashed, self.opacity, self.inLegend) = (width, dashed, opacity, inLegend)
        }
    }

    /// A value with a symmetric interval, `y ± halfWidth`.
    public struct IntervalPoint: Sendable, Equatable {
        public var x: Double
        public var y: Double
        public var halfWidth: Double
        public init(x: Double, y: Double, halfWidth: Double) { (self.x, self.y, self.halfWidth) = (x, y, halfWidth) }
    }

    /// Points drawn as dots with error bars.
    public struct Intervals: Sendable {
        public var name: String
        public var color: String
        public var points: [IntervalPoint]
        public init(name: String, color: String, points: [IntervalPoint]) {
            (self.name, self.color, self.points) = (name, color, points)
        }
    }

    /// A shaded x range with a label at its top.
    public struct Band: Sendable, Equatable {
        public var from: Double
        public var to: Double
        public var label: String
        public var color: String
        public init(from: Double, to: Double, label: String, color: String) {
            (self.from, self.to, self.label, self.color) = (from, to, label, color)
        }
    }

    /// How y tick labels read.
    public enum ValueStyle: Sendable {
        case plain
        /// Fractions shown as percentages (0.5 reads `50%`).
        case percent
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var intervals: [Intervals]
    public var bands: [Band]
    /// The y axis span; `nil` fits the data.
    public var yRange: ClosedRange<Double>?
    public var valueStyle: ValueStyle
    /// Size of the whole picture in pixels (the legend adds rows below).
    public var width: Double
    public var height: Double

    public init(title: String, xLabel: String, yLabel: String, series: [Series] = [], intervals: [Intervals] = [],
                bands: [Band] = [], yRange: ClosedRange<Double>? = nil, valueStyle: ValueStyle = .plain,
                width: Double = 560, height: Double = 300) {
        (self.title, self.xLabel, self.yLabel) = (title, xLabel, yLabel)
        (self.series, self.intervals, self.bands) = (series, intervals, bands)
        (self.yRange, self.valueStyle, self.width, self.height) = (yRange, valueStyle, width, height)
    }

    /// Whether there is anything to plot.
    public var isEmpty: Bool {
        series.allSatisfy { $0.points.isEmpty } && intervals.allSatisfy { $0.points.isEmpty }
    }

    /// The chart as an SVG document.
    public func svg() -> String {
        var svg = SVGWriter()
        let fontSize = 11.0
        let legend = legendRows(maxWidth: width - 24)
        let top = 34.0, right = 18.0
        let bottom = 44.0 + Double(legend.count) * 17
        let (xTicks, xLo, xHi) = xAxis()
        let (yTicks, yLo, yHi) = yAxis()
        let yTickLabels = yTicks.map { yLabelText($0, step: yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1) }
        let left = 30 + (yTickLabels.map { textWidth($0, size: fontSize) }.max() ?? 20)
        let plotW = max(40, width - left - right), plotH = max(40, height - top - bottom)
        func px(_ x: Double) -> Double { left + (x - xLo) / (xHi - xLo) * plotW }
        func py(_ y: Double) -> Double { top + plotH - (min(max(y, yLo), yHi) - yLo) / (yHi - yLo) * plotH }

        svg.element("text", [("x", "12"), ("y", "21"), ("font-size", "14"), ("font-weight", "bold"), ("fill", "#111111")],
                    text: title)
        // Bands under everything else.
        for band in bands {
            let a = px(max(band.from, xLo)), b = px(min(band.to, xHi))
            guard b > a else { continue }
            svg.element("rect", [("x", num(a)), ("y", num(top)), ("width", num(b - a)), ("height", num(plotH)),
                                 ("fill", band.color), ("fill-opacity", "0.12")])
            if textWidth(band.label, size: 10) + 8 <= b - a {
                svg.element("text", [("x", num((a + b) / 2)), ("y", num(top + 13)), ("font-size", "10"),
                                     ("text-anchor", "middle"), ("fill", "#555555")], text: band.label)
            }
        }
        // Grid and ticks.
        for (k, t) in yTicks.enumerated() {
            let y = py(t)
            svg.element("line", [("x1", num(left)), ("y1", num(y)), ("x2", num(left + plotW)), ("y2", num(y)),
                                 ("stroke", "#e3e3e3"), ("stroke-width", "1")])
            svg.element("text", [("x", num(left - 6)), ("y", num(y + 4)), ("font-size", num(fontSize)),
                                 ("text-anchor", "end"), ("fill", "#444444")], text: yTickLabels[k])
        }
        let xStep = xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1
        for t in xTicks {
            let x = px(t)
            svg.element("line", [("x1", num(x)), ("y1", num(top + plotH)), ("x2", num(x)), ("y2", num(top + plotH + 4)),
                                 ("stroke", "#888888"), ("stroke-width", "1")])
            svg.element("text", [("x", num(x)), ("y", num(top + plotH + 16)), ("font-size", num(fontSize)),
                                 ("text-anchor", "middle"), ("fill", "#444444")], text: tickText(t, step: xStep))
        }
        svg.element("rect", [("x", num(left)), ("y", num(top)), ("width", num(plotW)), ("height", num(plotH)),
                             ("fill", "none"), ("stroke", "#9a9a9a"), ("stroke-width", "1")])
        svg.element("text", [("x", num(left + plotW / 2)), ("y", num(top + plotH + 32)), ("font-size", num(fontSize)),
                             ("text-anchor", "middle"), ("fill", "#333333")], text: xLabel)
        let yMid = top + plotH / 2
        svg.element("text", [("x", "13"), ("y", num(yMid)), ("font-size", num(fontSize)), ("text-anchor", "middle"),
                             ("fill", "#333333"), ("transform", "rotate(-90 13 \(num(yMid)))")], text: yLabel)
        // Lines.
        for s in series where !s.points.isEmpty {
            var d = ""
            var pen = false
            for p in s.points {
                guard p.x.isFinite, p.y.isFinite else { pen = false; continue }
                d += (pen ? " L" : (d.isEmpty ? "M" : " M")) + "\(num(px(p.x))) \(num(py(p.y)))"
                pen = true
            }
            guard !d.isEmpty else { continue }
            var attributes = [("d", d), ("fill", "none"), ("stroke", s.color), ("stroke-width", num(s.width)),
                              ("stroke-linejoin", "round"), ("stroke-linecap", "round")]
            if s.opacity < 1 { attributes.append(("stroke-opacity", fixed(s.opacity, 2))) }
            if s.dashed { attributes.append(("stroke-dasharray", "6 4")) }
            if s.points.count == 1 || s.points.filter({ $0.y.isFinite }).count == 1 {
                let p = s.points.first { $0.y.isFinite && $0.x.isFinite }!
                svg.element("circle", [("cx", num(px(p.x))), ("cy", num(py(p.y))), ("r", "2.5"), ("fill", s.color)])
            } else {
                svg.element("path", attributes)
            }
        }
        // Points with error bars, each with a tooltip.
        for group in intervals {
            for p in group.points where p.x.isFinite && p.y.isFinite {
                let x = px(p.x), y = py(p.y)
                let h = p.halfWidth.isFinite ? abs(p.halfWidth) : 0
                let y0 = py(p.y - h), y1 = py(p.y + h)
                svg.open("g")
                svg.element("title", [], text: "\(group.name) at \(tickText(p.x, step: 1)): \(valueText(p.y)) ± \(valueText(h))")
                svg.element("line", [("x1", num(x)), ("y1", num(y0)), ("x2", num(x)), ("y2", num(y1)),
                                     ("stroke", group.color), ("stroke-width", "1.5")])
                for cap in [y0, y1] {
                    svg.element("line", [("x1", num(x - 4)), ("y1", num(cap)), ("x2", num(x + 4)), ("y2", num(cap)),
                                         ("stroke", group.color), ("stroke-width", "1.5")])
                }
                svg.element("circle", [("cx", num(x)), ("cy", num(y)), ("r", "3.5"), ("fill", group.color),
                                       ("stroke", "#ffffff"), ("stroke-width", "1")])
                svg.close("g")
            }
        }
        // Legend rows under the x label.
        for (row, entries) in legend.enumerated() {
            var x = 14.0
            let y = top + plotH + 50 + Double(row) * 17
            for entry in entries {
                if entry.isInterval {
                    svg.element("line", [("x1", num(x + 9)), ("y1", num(y - 9)), ("x2", num(x + 9)), ("y2", num(y + 3)),
                                         ("stroke", entry.color), ("stroke-width", "1.5")])
                    svg.element("circle", [("cx", num(x + 9)), ("cy", num(y - 3)), ("r", "3.5"), ("fill", entry.color)])
                } else {
                    var attributes = [("x1", num(x)), ("y1", num(y - 4)), ("x2", num(x + 18)), ("y2", num(y - 4)),
                                      ("stroke", entry.color), ("stroke-width", "2.5")]
                    if entry.dashed { attributes.append(("stroke-dasharray", "5 3")) }
                    svg.element("line", attributes)
                }
                svg.element("text", [("x", num(x + 23)), ("y", num(y)), ("font-size", "11"), ("fill", "#333333")],
                            text: entry.name)
                x += entry.width
            }
        }
        return svg.document(width: width, height: height)
    }

    // MARK: - Layout helpers

    private struct LegendEntry {
        var name: String, color: String, dashed: Bool, isInterval: Bool
        var width: Double { 23 + textWidth(name, size: 11) + 14 }
    }

    /// Legend entries packed into rows no wider than `maxWidth`.
    private func legendRows(maxWidth: Double) -> [[LegendEntry]] {
        let entries = series.filter { $0.inLegend && !$0.points.isEmpty }
            .map { LegendEntry(name: $0.name, color: $0.color, dashed: $0.dashed, isInterval: false) }
            + intervals.filter { !$0.points.isEmpty }
            .map { LegendEntry(name: $0.name, color: $0.color, dashed: false, isInterval: true) }
        var rows: [[LegendEntry]] = []
        var used = 0.0
        for entry in entries {
            if rows.isEmpty || used + entry.width > maxWidth {
                rows.append([entry])
                used = entry.width
            } else {
                rows[rows.count - 1].append(entry)
                used += entry.width
            }
        }
        return rows
    }

    private var xValues: [Double] {
        (series.flatMap { $0.points.map(\.x) } + intervals.flatMap { $0.points.map(\.x) }).filter(\.isFinite)
    }

    /// Ticks and span of the x axis: the data's extent (bands do not widen it), with room for
    /// error bars at either end.
    private func xAxis() -> ([Double], Double, Double) {
        var lo = xValues.min() ?? 0, hi = xValues.max() ?? 1
        if hi <= lo { (lo, hi) = (lo - 1, hi + 1) }
        let span = hi - lo
        let barXs = intervals.flatMap { $0.points.map(\.x) }
        let (tickLo, tickHi) = (lo, hi)
        if barXs.contains(where: { $0 <= lo }) { lo -= 0.025 * span }
        if barXs.contains(where: { $0 >= hi }) { hi += 0.025 * span }
        return (niceTicks(tickLo, tickHi, count: 6), lo, hi)
    }

    /// Ticks and span of the y axis: ``yRange``, or the data padded and rounded out to ticks.
    private func yAxis() -> ([Double], Double, Double) {
        if let yRange, yRange.upperBound > yRange.lowerBound {
            return (niceTicks(yRange.lowerBound, yRange.upperBound, count: 5), yRange.lowerBound, yRange.upperBound)
        }
        var values = series.flatMap { $0.points.map(\.y) }
        for group in intervals {
            for p in group.points where p.halfWidth.isFinite { values += [p.y - abs(p.halfWidth), p.y + abs(p.halfWidth)] }
        }
        values = values.filter(\.isFinite)
        var lo = values.min() ?? 0, hi = values.max() ?? 1
        if hi - lo < 1e-12 * max(1, abs(hi)) { (lo, hi) = (lo - max(0.5, abs(lo) * 0.1), hi + max(0.5, abs(hi) * 0.1)) }
        let pad = (hi - lo) * 0.05
        (lo, hi) = (lo - pad, hi + pad)
        let step = tickStep(lo, hi, count: 5)
        (lo, hi) = ((lo / step).rounded(.down) * step, (hi / step).rounded(.up) * step)
        return (niceTicks(lo, hi, count: 5), lo, hi)
    }

    private func yLabelText(_ v: Double, step: Double) -> String {
        switch valueStyle {
        case .plain: return tickText(v, step: step)
        case .percent: return tickText(v * 100, step: step * 100) + "%"
        }
    }

    private func valueText(_ v: Double) -> String {
        switch valueStyle {
        case .plain: return fixed(v, 4)
        case .percent: return fixed(v * 100, 2) + "%"
        }
    }
}

/// The step of about `count` nice ticks over `lo...hi`: 1, 2 or 5 times a power of ten.
func tickStep(_ lo: Double, _ hi: Double, count: Int) -> Double {
    let raw = max(hi - lo, 1e-300) / Double(max(1, count))
    let magnitude = pow(10, (log10(raw)).rounded(.down))
    let r = raw / magnitude
    return (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * magnitude
}

/// Multiples of ``tickStep(_:_:count:)`` inside `lo...hi`.
func niceTicks(_ lo: Double, _ hi: Double, count: Int) -> [Double] {
    guard lo.isFinite, hi.isFinite, hi > lo else { return [] }
    let step = tickStep(lo, hi, count: count)
    var ticks: [Double] = []
    var k = (lo / step).rounded(.up)
    while k * step <= hi + step * 1e-9 && ticks.count < 100 {
        ticks.append(k * step == 0 ? 0 : k * step)  // no "-0"
        k += 1
    }
    return ticks
}

/// A tick value with as many decimals as its step needs.
func tickText(_ v: Double, step: Double) -> String {
    let decimals = step >= 1 ? 0 : min(6, Int((-log10(step) - 1e-9).rounded(.up)))
    return fixed(abs(v) < abs(step) * 1e-6 ? 0 : v, decimals)  // never "-0"
}
