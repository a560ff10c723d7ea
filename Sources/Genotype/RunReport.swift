/// One self-contained HTML page about a run: learning curves, temperature, architecture
/// weights over training, the meta-cells, the alpha/beta heat map, the meta-test with its 95%
/// interval and the cells the test tasks ended with.
///
/// The page needs nothing outside itself: CSS is inline, every picture is inline SVG drawn by
/// this module, and it links only to its own sections. Every text from the run (op names,
/// settings) is escaped, and the page is well-formed XML after its `<!DOCTYPE html>` line.
/// Section ids: `summary`, `curves`, `schedule`, `alpha`, `cells`, `meta-test`, `history`,
/// `settings`.
public enum RunReport {
    /// The report page of `run`.
    public static func html(_ run: RunRecord) -> String {
        var page = HTMLBuilder()
        page.raw("<!DOCTYPE html>")
        page.raw("<html lang=\"en\">")
        page.raw("<head>")
        page.raw("<meta charset=\"utf-8\"/>")
        page.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>")
        page.element("title", "MetaNAS run \(run.name)")
        page.raw("<style>\(stylesheet)</style>")
        page.raw("</head>")
        page.raw("<body>")
        summary(run, into: &page)
        curves(run, into: &page)
        cells(run, into: &page)
        metaTest(run, into: &page)
        history(run, into: &page)
        settings(run, into: &page)
        page.element("footer", "Written by metanas report from the files of the run folder.")
        page.raw("</body>")
        page.raw("</html>")
        return page.text
    }

    // MARK: - Sections

    private static let sections: [(id: String, title: String)] = [
        ("curves", "Learning curves"), ("schedule", "Temperature and pruning"), ("alpha", "Architecture weights"),
        ("cells", "Meta-architecture"), ("meta-test", "Meta-test"), ("history", "Genotype history"), ("settings", "Settings"),
    ]

    private static func summary(_ run: RunRecord, into page: inout HTMLBuilder) {
        page.raw("<header id=\"summary\">")
        page.element("h1", "MetaNAS run: \(run.name)")
        let warmup = run.iterations.filter { $0.phase == "warmup" }.count
        var facts = ["\(run.iterations.last?.iteration ?? 0) meta-iterations (\(warmup) warm-up, \(run.iterations.count - warmup) search)"]
        if let m = run.iterations.last, let learner = m.metaLearner, let pruner = m.pruner {
            facts.append("\(learner) meta-learner, \(pruner) pruning")
        }
        let setting = Dictionary(run.settings.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        if let ways = setting["ways"], let shots = setting["testShots"] { facts.append("\(ways)-way \(shots)-shot") }
        if let dataset = setting["dataset"] { facts.append("\(dataset) data") }
        if let seed = setting["seed"] { facts.append("seed \(seed)") }
        page.element("p", facts.joined(separator: " · "), class: "facts")

        page.raw("<div class=\"cards\">")
        if let e = run.evaluation {
            card(&page, "meta-test accuracy", "\(percent(e.accuracy)) ± \(percent(e.ci95))",
                 "95% CI over \(e.tasks.count) tasks" + (e.iteration.map { " at iteration \($0)" } ?? ""))
        } else if let t = run.metaTests.last {
            card(&page, "latest meta-test", "\(percent(t.accuracy)) ± \(percent(t.ci95))", "at iteration \(t.iteration)")
        }
        let tail = run.iterations.suffix(max(1, run.iterations.count / 10)).compactMap(\.queryAccuracy)
        if !tail.isEmpty {
            card(&page, "query accuracy", percent(tail.reduce(0, +) / Double(tail.count)),
                 "mean of the last \(tail.count) meta-iteration(s)")
        }
        if let g = run.finalGenotype {
            card(&page, "meta-architecture", g.shortHash,
                 "canonical hash" + (run.finalIteration.map { ", iteration \($0)" } ?? ""))
        }
        let seconds = run.iterations.compactMap(\.seconds).reduce(0, +)
        if seconds > 0 { card(&page, "meta-training time", duration(seconds), "sum over iterations") }
        page.raw("</div>")
        page.raw("<nav>")
        for (id, title) in sections { page.raw("<a href=\"#\(id)\">\(escape(title))</a>") }
        page.raw("</nav>")
        page.raw("</header>")
    }

    private static func curves(_ run: RunRecord, into page: inout HTMLBuilder) {
        page.section("curves", "Learning curves")
        let charts = [accuracyChart(run), lossChart(run)].compactMap { $0 }
        if charts.isEmpty {
            page.element("p", "No metrics.jsonl lines in this run folder.", class: "note")
        } else {
            let window = smoothingWindow(run.iterations.count)
            page.element("p", "Each meta-iteration adapts a meta-batch of tasks; its line is the batch mean"
                + (window > 1 ? " (faint), with a moving mean of \(window) iterations (thick)" : "")
                + ". Shaded: the warm-up (weights only) and search phases. Dots: meta-tests with their 95% interval.",
                class: "note")
            page.grid(charts.map { $0.svg() })
        }
        page.endSection()

        page.section("schedule", "Temperature and pruning")
        let schedule = [temperatureChart(run), activeWeightsChart(run)].compactMap { $0 }
        if schedule.isEmpty {
            page.element("p", "No temperatures or active weights recorded.", class: "note")
        } else {
            page.grid(schedule.map { $0.svg() })
        }
        page.endSection()

        page.section("alpha", "Architecture weights over training")
        if run.architectures.isEmpty {
            page.element("p", "No architecture.jsonl in this run folder: runs made before architecture export record "
                + "only genotypes (see the genotype history below).", class: "note")
        } else {
            let t = run.architectures.last!.value.temperature
            page.element("p", "Softmax weights of the meta-architecture at each of \(run.architectures.count) checkpoint(s), "
                + "at T = \(fixed(t, 3)) (the temperature at which tasks are scored).", class: "note")
            page.grid(CellKind.allCases.flatMap { [opMeanChart(run, $0), edgeStrengthChart(run, $0)] }.compactMap { $0?.svg() })
        }
        page.endSection()
    }

    private static func cells(_ run: RunRecord, into page: inout HTMLBuilder) {
        page.section("cells", "Meta-architecture")
        guard let genotype = run.finalGenotype else {
            page.element("p", "No genotype recorded yet.", class: "note")
            page.endSection()
            return
        }
        let state = run.latestArchitecture
        let title = "meta-architecture" + (run.finalIteration.map { " at iteration \($0)" } ?? "")
        page.element("p", "The cells derived from the meta-architecture" + (state == nil ? "." :
            "; edges are drawn thicker the larger their weight (op weight × input weight)."), class: "note")
        page.figure(GenotypeDrawing.svg(genotype, weights: state, title: title), caption: nil)
        page.raw("<pre>\(escape(genotype.dartsString))</pre>")
        if let state {
            page.element("h3", "Weights (alpha and beta)")
            page.figure(GenotypeDrawing.heatMapSVG(state), caption: state.threshold.map {
                "Grey squares: ops at or below the pruning threshold \(fixed($0, 3))."
            })
        }
        page.endSection()
    }

    private static func metaTest(_ run: RunRecord, into page: inout HTMLBuilder) {
        page.section("meta-test", "Meta-test")
        guard let e = run.evaluation else {
            page.element("p", "No evaluation.json yet: run `metanas evaluate --run` on this folder.", class: "note")
            page.endSection()
            return
        }
        var line = "Accuracy \(percent(e.accuracy)) ± \(percent(e.ci95)) (95% interval) over \(e.tasks.count) tasks"
        if let p = e.pruner { line += ", \(p) pruning" }
        if let w = e.meanActiveWeights { line += ", \(Int(w.rounded())) active weights per task on average" }
        if let s = e.seconds { line += ", \(duration(s))" }
        page.element("p", line + ".", class: "big")
        let accuracies = e.tasks.map(\.accuracy).sorted()
        if let lo = accuracies.first, let hi = accuracies.last {
            page.element("p", "Per task: min \(percent(lo)), median \(percent(accuracies[accuracies.count / 2])), max \(percent(hi)).")
        }
        let genotypes = e.tasks.map(\.genotype)
        guard !genotypes.isEmpty else { page.endSection(); return }
        let summary = GenotypeSummary(genotypes)
        page.element("h3", "Cells of the \(genotypes.count) tasks")
        page.element("p", "\(summary.distinctGenotypes.count) distinct genotype(s) (up to node renumbering); "
            + "normal cells: \(summary.normal.distinct.count) distinct, reduce cells: \(summary.reduce.distinct.count) distinct.")
        page.raw("<div class=\"columns\">")
        for kind in CellKind.allCases { cellStatistics(summary[kind], kind: kind, total: genotypes.count, into: &page) }
        page.raw("</div>")
        if let consensus = summary.consensus {
            var caption = "Consensus: per node, the edges most tasks chose."
            if let meta = run.finalGenotype {
                caption += " Edit distance to the meta-architecture: \(GenotypeDiff(meta, consensus).distance)."
            }
            page.element("h3", "Consensus cells")
            page.figure(GenotypeDrawing.svg(consensus, title: "consensus of \(genotypes.count) task genotypes"), caption: caption)
            if let meta = run.finalGenotype, meta.canonicalHash != consensus.canonicalHash {
                page.raw("<details><summary>Meta-architecture vs consensus</summary>")
                page.figure(GenotypeDrawing.diffSVG(meta, consensus, names: ("meta", "consensus")), caption: nil)
                page.raw("</details>")
            }
        }
        page.endSection()
    }

    private static func cellStatistics(_ s: GenotypeSummary.CellStatistics, kind: CellKind, total: Int,
                                       into page: inout HTMLBuilder) {
        page.raw("<div>")
        page.element("h4", "\(kind.rawValue) cells")
        page.raw("<table><thead><tr><th>op</th><th class=\"num\">edges</th><th>share</th></tr></thead><tbody>")
        let edges = max(1, s.opCounts.reduce(0) { $0 + $1.count })
        for (op, n) in s.opCounts {
            let share = Double(n) / Double(edges)
            page.raw("<tr><td>\(escape(op))</td><td class=\"num\">\(n)</td><td class=\"share\"><div class=\"bar\" "
                + "style=\"width: \(num(share * 120))px\"></div> \(percent(share, digits: 1))</td></tr>")
        }
        page.raw("</tbody></table>")
        page.raw("<table><thead><tr><th>cell (canonical)</th><th class=\"num\">tasks</th></tr></thead><tbody>")
        for (hash, cell, n) in s.distinct.prefix(8) {
            page.raw("<tr><td><code title=\"\(escape(hash))\">\(escape(String(hash.prefix(12))))</code> "
                + "\(escape(DARTSPrinter.nodes(cell)))</td><td class=\"num\">\(n) (\(percent(Double(n) / Double(total), digits: 0)))</td></tr>")
        }
        if s.distinct.count > 8 {
            page.raw("<tr><td>\(s.distinct.count - 8) more</td><td class=\"num\">\(s.distinct.dropFirst(8).reduce(0) { $0 + $1.count })</td></tr>")
        }
        page.raw("</tbody></table>")
        page.raw("</div>")
    }

    private static func history(_ run: RunRecord, into page: inout HTMLBuilder) {
        page.section("history", "Genotype history")
        let checkpoints = run.genotypes.isEmpty
            ? run.architectures.map { RunRecord.Checkpoint(iteration: $0.iteration, value: $0.value.resolvedGenotype) }
            : run.genotypes
        guard !checkpoints.isEmpty else {
            page.element("p", "No genotypes.jsonl lines yet.", class: "note")
            page.endSection()
            return
        }
        var rows: [(RunRecord.Checkpoint<Genotype>, Int?)] = []
        for (k, c) in checkpoints.enumerated() {
            let distance = k == 0 ? nil : GenotypeDiff(checkpoints[k - 1].value, c.value).distance
            if k == 0 || k == checkpoints.count - 1 || distance != 0 { rows.append((c, distance)) }
        }
        let changes = rows.filter { ($0.1 ?? 0) > 0 }.count
        page.element("p", "The meta-architecture's genotype at \(checkpoints.count) checkpoint(s); it changed \(changes) time(s). "
            + "Shown: the first and last checkpoints and every change, with the edit distance to the checkpoint before.", class: "note")
        page.raw("<table><thead><tr><th class=\"num\">iteration</th><th>hash</th><th class=\"num\">distance</th>"
            + "<th>normal cell</th><th>reduce cell</th></tr></thead><tbody>")
        for (c, distance) in rows {
            page.raw("<tr><td class=\"num\">\(c.iteration)</td><td><code>\(escape(c.value.shortHash))</code></td>"
                + "<td class=\"num\">\(distance.map(String.init) ?? "")</td>"
                + "<td>\(escape(DARTSPrinter.nodes(c.value.normal)))</td><td>\(escape(DARTSPrinter.nodes(c.value.reduce)))</td></tr>")
        }
        page.raw("</tbody></table>")
        page.endSection()
    }

    private static func settings(_ run: RunRecord, into page: inout HTMLBuilder) {
        page.section("settings", "Settings")
        if let hash = run.configHash {
            var text = "config.json SHA-256 \(hash)"
            if let recorded = run.latestArchitecture?.provenance.configHash {
                text += recorded == hash ? " (matches the architecture's provenance)"
                    : " (the architecture's provenance names \(recorded): the config changed after it was exported)"
            }
            page.raw("<p class=\"note\"><code>\(escape(text))</code></p>")
        }
        if let p = run.latestArchitecture?.provenance {
            let parts = [p.seed.map { "seed \($0)" }, p.split.map { "split \($0)" }, p.taskID.map { "task \($0)" }].compactMap { $0 }
            if !parts.isEmpty { page.element("p", "Architecture provenance: " + parts.joined(separator: ", ") + ".", class: "note") }
        }
        if run.settings.isEmpty {
            page.element("p", "No config.json in this run folder.", class: "note")
        } else {
            page.raw("<details><summary>All \(run.settings.count) settings (config.json)</summary>")
            page.raw("<table class=\"settings\"><tbody>")
            for (key, value) in run.settings {
                page.raw("<tr><td><code>\(escape(key))</code></td><td><code>\(escape(value))</code></td></tr>")
            }
            page.raw("</tbody></table></details>")
        }
        page.endSection()
    }

    // MARK: - Pieces

    private static func card(_ page: inout HTMLBuilder, _ label: String, _ value: String, _ detail: String) {
        page.raw("<div class=\"card\"><div class=\"label\">\(escape(label))</div><div class=\"value\">\(escape(value))</div>"
            + "<div class=\"detail\">\(escape(detail))</div></div>")
    }

    static func percent(_ x: Double, digits: Int = 2) -> String { fixed(x * 100, digits) + "%" }

    static func duration(_ seconds: Double) -> String {
        if seconds < 120 { return fixed(seconds, 1) + " s" }
        if seconds < 7200 { return fixed(seconds / 60, 1) + " min" }
        return fixed(seconds / 3600, 1) + " h"
    }

    static func escape(_ text: String) -> String { SVGWriter.escape(text) }

    /// Styles of the page; no `<` or `&`, so the page stays well-formed XML.
    static let stylesheet = """
        body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #1b1b1b; margin: 0 auto; padding: 16px 24px 40px; max-width: 1200px; line-height: 1.4; }
        h1 { font-size: 24px; margin: 8px 0 4px; }
        h2 { font-size: 19px; margin: 30px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #d8d8d8; }
        h3 { font-size: 15px; margin: 18px 0 6px; }
        h4 { font-size: 14px; margin: 8px 0 4px; }
        .facts { color: #444444; margin: 0 0 12px; }
        .note { color: #555555; font-size: 13px; }
        .big { font-size: 17px; }
        .cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 8px 0 12px; }
        .card { border: 1px solid #d8d8d8; border-radius: 6px; padding: 8px 14px; min-width: 190px; background: #fafafa; }
        .card .label { font-size: 12px; color: #666666; text-transform: uppercase; letter-spacing: 0.04em; }
        .card .value { font-size: 22px; font-weight: bold; }
        .card .detail { font-size: 12px; color: #666666; }
        nav { display: flex; flex-wrap: wrap; gap: 14px; font-size: 14px; }
        nav a { color: #1f5fa8; text-decoration: none; }
        .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 14px; }
        .columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 20px; }
        figure { margin: 8px 0; }
        figcaption { font-size: 13px; color: #555555; }
        svg { max-width: 100%; height: auto; display: block; }
        pre { white-space: pre-wrap; word-break: break-all; font-size: 12px; background: #f5f5f5; padding: 8px; border-radius: 4px; }
        table { border-collapse: collapse; font-size: 13px; margin: 6px 0 12px; }
        th, td { text-align: left; padding: 3px 10px 3px 0; border-bottom: 1px solid #eeeeee; vertical-align: top; }
        td.num, th.num { text-align: right; white-space: nowrap; }
        td.share { white-space: nowrap; }
        .bar { display: inline-block; height: 10px; background: #1f77b4; vertical-align: middle; margin-right: 4px; }
        details { margin: 8px 0; }
        summary { cursor: pointer; color: #1f5fa8; }
        footer { margin-top: 36px; font-size: 12px; color: #777777; }
        """
}

/// Lines of an HTML page; everything from the run goes through ``RunReport/escape(_:)``.
struct HTMLBuilder {
    private var lines: [String] = []
    private var pictures = 0

    var text: String { lines.joined(separator: "\n") + "\n" }

    mutating func raw(_ html: String) { lines.append(html) }

    /// `<tag class="...">escaped text</tag>`.
    mutating func element(_ tag: String, _ text: String, class name: String? = nil) {
        let attribute = name.map { " class=\"\(RunReport.escape($0))\"" } ?? ""
        lines.append("<\(tag)\(attribute)>\(RunReport.escape(text))</\(tag)>")
    }

    mutating func section(_ id: String, _ title: String) {
        lines.append("<section id=\"\(RunReport.escape(id))\">")
        element("h2", title)
    }

    mutating func endSection() { lines.append("</section>") }

    /// An SVG document placed in the page, in a figure with an optional caption.
    mutating func figure(_ svg: String, caption: String?) {
        lines.append("<figure>")
        lines.append(inline(svg))
        if let caption { element("figcaption", caption) }
        lines.append("</figure>")
    }

    /// SVG documents side by side, wrapping on narrow screens.
    mutating func grid(_ svgs: [String]) {
        lines.append("<div class=\"grid\">")
        for svg in svgs { figure(svg, caption: nil) }
        lines.append("</div>")
    }

    /// An SVG document as an element of the page: without its XML declaration and namespace
    /// (HTML gives inline `<svg>` its namespace), and with its ids made unique in the page, so
    /// that arrowheads of one picture never point at another's markers.
    mutating func inline(_ svg: String) -> String {
        pictures += 1
        let prefix = "p\(pictures)-"
        var s = Substring(svg)
        if s.hasPrefix("<?xml"), let end = s.firstRange(of: "?>") { s = s[end.upperBound...] }
        var text = String(s.drop(while: { $0 == "\n" || $0 == " " }))
        // Attribute values are escaped, so `id="` and `"url(#` only ever start attributes.
        text = text.replacing(" xmlns=\"http://www.w3.org/2000/svg\"", with: "")
        text = text.replacing(" id=\"", with: " id=\"\(prefix)")
        text = text.replacing("\"url(#", with: "\"url(#\(prefix)")
        if text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}
