/// The charts of a run report, built from a ``RunRecord``; each is `nil` when the run has no
/// data for it.
extension RunReport {
    /// Colours for lines, in order (Tableau 10).
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
    /// At most this many points per drawn line; longer runs are averaged into buckets.
    static let maxPlottedPoints = 600

    /// Query and support accuracy per iteration, meta-tests with their 95% intervals, phases shaded.
    static func accuracyChart(_ run: RunRecord) -> LineChart? {
        var chart = LineChart(title: "Accuracy per meta-iteration", xLabel: "meta-iteration", yLabel: "accuracy",
                              bands: phaseBands(run.iterations), yRange: 0...1, valueStyle: .percent)
        chart.series = curve(run.iterations, \.trainAccuracy, name: "support (train) accuracy", color: palette[0])
            + curve(run.iterations, \.queryAccuracy, name: "query accuracy", color: palette[1])
        let tests = run.metaTests.map { LineChart.IntervalPoint(x: Double($0.iteration), y: $0.accuracy, halfWidth: $0.ci95) }
        if !tests.isEmpty { chart.intervals.append(.init(name: "meta-test ± 95% CI", color: palette[2], points: tests)) }
        if let e = run.evaluation {
            let x = Double(e.iteration ?? run.iterations.last?.iteration ?? 0)
            chart.intervals.append(.init(name: "final meta-test ± 95% CI", color: palette[3],
                                         points: [.init(x: x, y: e.accuracy, halfWidth: e.ci95)]))
        }
        return chart.isEmpty ? nil : chart
    }

    /// Support and query loss per iteration.
    static func lossChart(_ run: RunRecord) -> LineChart? {
        let chart = LineChart(title: "Loss per meta-iteration", xLabel: "meta-iteration", yLabel: "cross-entropy",
                              series: curve(run.iterations, \.trainLoss, name: "support (train) loss", color: palette[0])
                                  + curve(run.iterations, \.queryLoss, name: "query loss", color: palette[1]),
                              bands: phaseBands(run.iterations))
        return chart.isEmpty ? nil : chart
    }

    /// The softmax temperature at which each iteration's query set was scored.
    static func temperatureChart(_ run: RunRecord) -> LineChart? {
        let points = run.iterations.compactMap { m in m.temperature.map { LineChart.Point(x: Double(m.iteration), y: $0) } }
        let chart = LineChart(title: "Temperature per meta-iteration", xLabel: "meta-iteration", yLabel: "temperature T",
                              series: [.init(name: "T at the query set", color: palette[4], points: thinned(points))],
                              bands: phaseBands(run.iterations))
        return chart.isEmpty ? nil : chart
    }

    /// Weights the pruned task networks execute, per iteration.
    static func activeWeightsChart(_ run: RunRecord) -> LineChart? {
        let chart = LineChart(title: "Active weights per task", xLabel: "meta-iteration", yLabel: "weights",
                              series: curve(run.iterations, \.activeWeights, name: "mean over the meta-batch", color: palette[5]),
                              bands: phaseBands(run.iterations))
        return chart.isEmpty ? nil : chart
    }

    /// Per op, its mean softmax weight over the edges of a cell kind, at each checkpoint.
    static func opMeanChart(_ run: RunRecord, _ kind: CellKind) -> LineChart? {
        guard let operations = run.architectures.last?.value.operations else { return nil }
        var chart = LineChart(title: "\(kind.rawValue) cell: mean weight of each op", xLabel: "meta-iteration",
                              yLabel: "softmax weight", bands: phaseBands(run.iterations), yRange: 0...1)
        for (o, op) in operations.enumerated() {
            let points = run.architectures.compactMap { checkpoint -> LineChart.Point? in
                let state = checkpoint.value
                guard state.operations == operations else { return nil }
                var sum = 0.0, edges = 0
                for node in state[kind].alpha.indices {
                    for input in state[kind].alpha[node].indices {
                        sum += state.opWeights(kind, node: node, input: input)[o]
                        edges += 1
                    }
                }
                return edges == 0 ? nil : LineChart.Point(x: Double(checkpoint.iteration), y: sum / Double(edges))
            }
            chart.series.append(.init(name: op, color: palette[o % palette.count], points: points, dashed: o >= palette.count))
        }
        return chart.isEmpty ? nil : chart
    }

    /// Per edge, the weight of its strongest op at each checkpoint; the legend names the op
    /// that is strongest at the last one.
    static func edgeStrengthChart(_ run: RunRecord, _ kind: CellKind) -> LineChart? {
        guard let last = run.architectures.last?.value else { return nil }
        var chart = LineChart(title: "\(kind.rawValue) cell: strongest-op weight per edge", xLabel: "meta-iteration",
                              yLabel: "softmax weight", bands: phaseBands(run.iterations), yRange: 0...1)
        var e = 0
        for node in last[kind].alpha.indices {
            for input in last[kind].alpha[node].indices {
                let final = last.opWeights(kind, node: node, input: input)
                let strongest = final.indices.max { final[$0] < final[$1] }.map { last.operations[$0] } ?? "?"
                let points = run.architectures.compactMap { checkpoint -> LineChart.Point? in
                    let alpha = checkpoint.value[kind].alpha
                    guard node < alpha.count, input < alpha[node].count else { return nil }
                    let w = checkpoint.value.opWeights(kind, node: node, input: input)
                    return w.max().map { LineChart.Point(x: Double(checkpoint.iteration), y: $0) }
                }
                chart.series.append(.init(name: "node \(node) ← \(StateName.of(input)): \(strongest)",
                                          color: palette[e % palette.count], points: points, dashed: e >= palette.count))
                e += 1
            }
        }
        return chart.isEmpty ? nil : chart
    }

    // MARK: - Helpers

    /// A faint line of the raw values under a thick moving mean (just the raw line when the
    /// window is 1).
    static func curve(_ iterations: [RunRecord.Iteration], _ value: KeyPath<RunRecord.Iteration, Double?>,
                      name: String, color: String) -> [LineChart.Series] {
        let raw = iterations.compactMap { m in m[keyPath: value].map { LineChart.Point(x: Double(m.iteration), y: $0) } }
        guard !raw.isEmpty else { return [] }
        let window = smoothingWindow(raw.count)
        if window == 1 { return [.init(name: name, color: color, points: thinned(raw))] }
        return [.init(name: name, color: color, points: thinned(raw), width: 1, opacity: 0.25, inLegend: false),
                .init(name: "\(name) (mean of \(window))", color: color, points: thinned(movingMean(raw, window: window)), width: 2.2)]
    }

    /// About a twentieth of the run, so noise from small meta-batches averages out.
    static func smoothingWindow(_ count: Int) -> Int { max(1, min(500, count / 20)) }

    /// Trailing mean over the last `window` points (fewer at the start).
    static func movingMean(_ points: [LineChart.Point], window: Int) -> [LineChart.Point] {
        var out: [LineChart.Point] = []
        var sum = 0.0
        for (k, p) in points.enumerated() {
            sum += p.y
            if k >= window { sum -= points[k - window].y }
            out.append(.init(x: p.x, y: sum / Double(min(k + 1, window))))
        }
        return out
    }

    /// At most `limit` points: consecutive points averaged in equal buckets.
    static func thinned(_ points: [LineChart.Point], limit: Int = maxPlottedPoints) -> [LineChart.Point] {
        guard points.count > limit, limit > 0 else { return points }
        return (0..<limit).map { b in
            let bucket = points[(b * points.count / limit)..<((b + 1) * points.count / limit)]
            let n = Double(bucket.count)
            return .init(x: bucket.reduce(0) { $0 + $1.x } / n, y: bucket.reduce(0) { $0 + $1.y } / n)
        }
    }

    /// One shaded band per run of equal phases: warm-up (weights only) and search.
    static func phaseBands(_ iterations: [RunRecord.Iteration]) -> [LineChart.Band] {
        var bands: [LineChart.Band] = []
        var start = iterations.first.map { Double($0.iteration) } ?? 0
        for (k, m) in iterations.enumerated() where k + 1 == iterations.count || iterations[k + 1].phase != m.phase {
            let end = Double(m.iteration)
            let (label, color) = m.phase == "warmup" ? ("warm-up", "#7f7f7f") : (m.phase, "#2ca02c")
            bands.append(.init(from: start, to: end, label: label, color: color))
            start = end
        }
        return bands
    }
}
