import Testing
@testable import Genotype

@Suite struct LineChartTests {
    private func chart(name: String = "query accuracy") -> LineChart {
        let points = (1...40).map { LineChart.Point(x: Double($0), y: 0.3 + 0.01 * Double($0)) }
        return LineChart(
            title: "Accuracy <per> iteration & more", xLabel: "meta-iteration", yLabel: "accuracy",
            series: [.init(name: name, color: "#1f77b4", points: points),
                     .init(name: "raw", color: "#1f77b4", points: points, opacity: 0.25, inLegend: false)],
            intervals: [.init(name: "meta-test", color: "#2ca02c",
                              points: [.init(x: 20, y: 0.5, halfWidth: 0.05), .init(x: 40, y: 0.7, halfWidth: 0.04)])],
            bands: [.init(from: 1, to: 10, label: "warm-up", color: "#7f7f7f"),
                    .init(from: 10, to: 40, label: "search", color: "#2ca02c")],
            yRange: 0...1, valueStyle: .percent)
    }

    @Test func svgIsWellFormedWithEverythingDrawn() {
        let svg = chart().svg()
        #expect(xmlProblem(svg) == nil)
        #expect(svg.contains("Accuracy &lt;per&gt; iteration &amp; more"))
        #expect(svg.contains(">query accuracy<") && !svg.contains(">raw<"), "only legend series are named")
        #expect(svg.contains(">warm-up<") && svg.contains(">search<"))
        #expect(count("<title>", in: svg) == 2, "one tooltip per interval point")
        #expect(svg.contains(">0%<") && svg.contains(">100%<"))
        #expect(count("<path ", in: svg) == 2)
    }

    @Test func oddSeriesNamesAreEscaped() {
        let svg = chart(name: "a<b>&\"c'\u{1}").svg()
        #expect(xmlProblem(svg) == nil)
        #expect(svg.contains("a&lt;b&gt;&amp;&quot;c&apos;"))
    }

    @Test func gapsSinglePointsAndEmptyChartsStayWellFormed() {
        let gappy = LineChart(title: "t", xLabel: "x", yLabel: "y", series: [
            .init(name: "gap", color: "#000000", points: [.init(x: 1, y: 1), .init(x: 2, y: .nan), .init(x: 3, y: 2)]),
            .init(name: "one", color: "#ff0000", points: [.init(x: 2, y: 5)]),
        ])
        let svg = gappy.svg()
        #expect(xmlProblem(svg) == nil)
        #expect(!svg.contains("nan") && !svg.contains("inf"))
        #expect(svg.contains(" M"), "a non-finite value starts a new subpath")
        #expect(svg.contains("<circle"), "a single point is drawn as a dot")
        let empty = LineChart(title: "nothing", xLabel: "x", yLabel: "y")
        #expect(empty.isEmpty)
        #expect(xmlProblem(empty.svg()) == nil)
        let flat = LineChart(title: "flat", xLabel: "x", yLabel: "y",
                             series: [.init(name: "c", color: "#000000", points: [.init(x: 0, y: 3), .init(x: 0, y: 3)])])
        #expect(xmlProblem(flat.svg()) == nil)
    }

    @Test func ticksAreNiceNumbers() {
        #expect(niceTicks(0, 1, count: 5) == [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1])
        #expect(niceTicks(1, 40, count: 6) == [5, 10, 15, 20, 25, 30, 35, 40])
        #expect(niceTicks(0, 30000, count: 6) == [0, 5000, 10000, 15000, 20000, 25000, 30000])
        #expect(tickText(0.6000000000000001, step: 0.2) == "0.6")
        #expect(tickText(-1e-17, step: 0.1) == "0.0")
        #expect(tickText(15000, step: 5000) == "15000")
    }

    @Test func legendWrapsIntoRowsInsteadOfOverlapping() {
        let many = (0..<14).map { k in
            LineChart.Series(name: "node \(k / 3) ← c_{k-1}: sep_conv_3x3", color: "#1f77b4",
                             points: [.init(x: 0, y: 0), .init(x: 1, y: Double(k))])
        }
        let svg = LineChart(title: "t", xLabel: "x", yLabel: "y", series: many, width: 560).svg()
        #expect(xmlProblem(svg) == nil)
        // Every legend text starts inside the picture.
        let xs = svg.split(separator: "\n").filter { $0.contains(">node ") }.compactMap { line -> Double? in
            guard let r = line.firstRange(of: "x=\"") else { return nil }
            return Double(line[r.upperBound...].prefix { $0 != "\"" })
        }
        #expect(xs.count == 14)
        #expect(xs.allSatisfy { $0 < 560 - 100 })
    }
}
