#if canImport(Glibc)
import Glibc
#endif
import JSON
import Testing
@testable import Genotype

/// A synthetic run: 10 warm-up and 30 search iterations, two meta-tests, four checkpoints
/// with genotypes and architecture states, and a final meta-test over five tasks.
private func syntheticRun(ops: [String] = referenceOps) -> RunRecord {
    var run = RunRecord(name: "synthetic <run> & co")
    run.settings = [("ways", "5"), ("testShots", "1"), ("dataset", "synthetic"), ("seed", "7")]
    run.configHash = String(repeating: "ab", count: 32)
    run.iterations = (1...40).map { i in
        let x = Double(i) / 40
        return RunRecord.Iteration(iteration: i, phase: i <= 10 ? "warmup" : "search", temperature: i <= 10 ? 1 : 0.05,
                                   trainLoss: 1.6 - x, trainAccuracy: 0.2 + 0.5 * x, queryLoss: 1.7 - x,
                                   queryAccuracy: 0.2 + 0.4 * x, activeWeights: 4000 - Double(i), seconds: 2,
                                   metaLearner: "reptile", pruner: "soft")
    }
    run.metaTests = [.init(iteration: 20, accuracy: 0.5, ci95: 0.06, tasks: 20),
                     .init(iteration: 30, accuracy: 0.55, ci95: 0.05, tasks: 20)]
    var rng = SplitMix(seed: 3)
    func logits() -> [Double] { ops.map { _ in Double(rng.below(1000)) / 5000 } }
    for (k, iteration) in [10, 20, 30, 40].enumerated() {
        func weights() -> CellWeights {
            CellWeights(alpha: (0..<3).map { node in (0..<(node + 2)).map { _ in logits() } },
                        beta: .pairs((0..<3).map { node in (0..<((node + 2) * (node + 1) / 2)).map { _ in Double(rng.below(100)) / 500 } }))
        }
        var state = ArchitectureState(operations: ops, normal: weights(), reduce: weights(), temperature: 0.05, threshold: 0.01,
                                      provenance: Provenance(configHash: run.configHash, seed: 7, split: "background",
                                                             labels: ["iteration": String(iteration)]))
        state.genotype = state.derivedGenotype()
        run.architectures.append(.init(iteration: iteration, value: state))
        run.genotypes.append(.init(iteration: iteration, value: k < 2 ? referenceGenotype : state.resolvedGenotype))
    }
    run.architecture = run.architectures.last?.value
    let tasks = (0..<5).map { k in
        RunRecord.TaskResult(accuracy: [0.6, 0.8, 1.0, 0.8, 0.4][k], activeWeights: 3800 + k,
                             genotype: k < 3 ? referenceGenotype : randomGenotype(&rng))
    }
    run.evaluation = .init(iteration: 40, pruner: "soft", accuracy: 0.74, ci95: 0.0989, meanActiveWeights: 3802,
                           seconds: 12, tasks: tasks)
    return run
}

/// The page without its doctype line, which an XML reader would not accept.
private func xmlBody(_ html: String) -> String {
    html.hasPrefix("<!DOCTYPE html>") ? String(html.dropFirst("<!DOCTYPE html>".count)) : html
}

/// Values of attribute `name` everywhere in `text`.
private func attributeValues(_ name: String, in text: String) -> [String] {
    text.ranges(of: " \(name)=\"").map { r in String(text[r.upperBound...].prefix { $0 != "\"" }) }
}

@Suite struct RunReportTests {
    @Test func reportHasEverySectionAndIsWellFormed() {
        let html = RunReport.html(syntheticRun())
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(xmlProblem(xmlBody(html)) == nil)
        for id in ["summary", "curves", "schedule", "alpha", "cells", "meta-test", "history", "settings"] {
            #expect(html.contains("id=\"\(id)\""), "section \(id)")
        }
        #expect(html.contains(">Accuracy per meta-iteration<") && html.contains(">Loss per meta-iteration<"))
        #expect(html.contains(">Temperature per meta-iteration<"))
        #expect(html.contains(">warm-up<") && html.contains(">search<"))
        #expect(html.contains(">meta-test ± 95% CI<") && html.contains(">final meta-test ± 95% CI<"))
        #expect(html.contains(">normal cell: mean weight of each op<") && html.contains(">reduce cell: strongest-op weight per edge<"))
        #expect(html.contains("74.00% ± 9.89%"))
        #expect(html.contains(">consensus of 5 task genotypes<"))
        #expect(html.contains("architecture weights (softmax at T = 0.050)"), "the heat map")
        #expect(html.contains("matches the architecture&apos;s provenance"))
        #expect(html.contains("MetaNAS run: synthetic &lt;run&gt; &amp; co"))
    }

    @Test func reportIsSelfContained() {
        let html = RunReport.html(syntheticRun())
        for forbidden in ["http:", "https:", "src=", "@import", "<script", "<link", "<img"] {
            #expect(!html.contains(forbidden), "found \(forbidden)")
        }
        #expect(attributeValues("href", in: html).allSatisfy { $0.hasPrefix("#") })
        let urls = html.ranges(of: "url(").map { html[$0.upperBound...].prefix(1) }
        #expect(urls.allSatisfy { $0 == "#" }, "only references into the page")
        let ids = attributeValues("id", in: html)
        #expect(Set(ids).count == ids.count, "ids are unique across the inlined pictures")
        for target in html.ranges(of: "url(#").map({ String(html[$0.upperBound...].prefix { $0 != ")" }) }) {
            #expect(ids.contains(target), "marker \(target) is defined")
        }
    }

    @Test func oddOpNamesAreEscapedInThePage() {
        let ops = ["a<b>&\"c'", "skip_connect", "sep conv"]
        var run = syntheticRun(ops: ops)
        run.evaluation?.tasks = run.architectures.map { .init(accuracy: 0.5, genotype: $0.value.resolvedGenotype) }
        run.settings.append(("searchSpace.operations", "[\"a<b>&\"]"))
        let html = RunReport.html(run)
        #expect(xmlProblem(xmlBody(html)) == nil)
        #expect(!html.contains("a<b>"))
        #expect(html.contains("a&lt;b&gt;&amp;&quot;c&apos;"))
    }

    @Test func emptyRunSaysWhatIsMissing() {
        let html = RunReport.html(RunRecord(name: "new"))
        #expect(xmlProblem(xmlBody(html)) == nil)
        #expect(html.contains("No metrics.jsonl lines"))
        #expect(html.contains("No architecture.jsonl"))
        #expect(html.contains("No evaluation.json yet"))
    }

    @Test func chartHelpersGiveKnownAnswers() {
        let points = [1.0, 3, 5, 7].enumerated().map { LineChart.Point(x: Double($0.offset), y: $0.element) }
        #expect(RunReport.movingMean(points, window: 2).map(\.y) == [1, 2, 4, 6])
        #expect(RunReport.thinned(points, limit: 2).map(\.y) == [2, 6])
        #expect(RunReport.thinned(points, limit: 2).map(\.x) == [0.5, 2.5])
        let bands = RunReport.phaseBands(syntheticRun().iterations)
        #expect(bands.map(\.label) == ["warm-up", "search"])
        #expect(bands.map(\.from) == [1, 10] && bands.map(\.to) == [10, 40])
        #expect(RunReport.smoothingWindow(40) == 2 && RunReport.smoothingWindow(30000) == 500)
    }

    @Test func readsARunFolder() throws {
        let folder = try temporaryFolder()
        defer { removeFolder(folder) }
        let run = syntheticRun()
        try writeFileAtomically("{\"ways\": 5, \"dataset\": \"synthetic\"}\n", to: folder + "/config.json")
        var metrics = run.iterations.map { m -> String in
            "{\"iteration\":\(m.iteration),\"phase\":\"\(m.phase)\",\"temperature\":\(m.temperature!),"
                + "\"query_accuracy\":\(m.queryAccuracy!),\"future_key\":[1,2]}"
        }
        metrics.insert("{\"iteration\":20,\"phase\":\"meta-test\",\"test_accuracy\":0.5,\"test_ci95\":0.06,\"tasks\":20}", at: 20)
        try writeFileAtomically(metrics.joined(separator: "\n") + "\n", to: folder + "/metrics.jsonl")
        let genotypeLines = run.genotypes.map { (["iteration": .int(Int64($0.iteration)), "genotype": $0.value.json] as JSONValue).serialized(pretty: false) }
        try writeFileAtomically(genotypeLines.joined(separator: "\n") + "\n", to: folder + "/genotypes.jsonl")
        try writeFileAtomically(run.architectures.map { $0.value.jsonText(pretty: false) }.joined(), to: folder + "/architecture.jsonl")

        let read = try RunRecord(folder: folder + "/")
        #expect(read.name == folder.split(separator: "/").last.map(String.init))
        #expect(read.settings.map(\.key) == ["ways", "dataset"] && read.settings[1].value == "synthetic")
        #expect(read.configHash == ContentHash.sha256("{\"ways\": 5, \"dataset\": \"synthetic\"}\n"))
        #expect(read.iterations.count == 40 && read.iterations[12].queryAccuracy == run.iterations[12].queryAccuracy)
        #expect(read.metaTests == [.init(iteration: 20, accuracy: 0.5, ci95: 0.06, tasks: 20)])
        #expect(read.genotypes.map(\.iteration) == [10, 20, 30, 40])
        #expect(read.genotypes.map(\.value) == run.genotypes.map(\.value))
        #expect(read.architectures.map(\.iteration) == [10, 20, 30, 40])
        #expect(read.architectures.last?.value == run.architectures.last?.value)
        #expect(read.evaluation == nil && read.architecture == nil)
        #expect(read.finalGenotype == run.architectures.last?.value.resolvedGenotype)
    }

    @Test func malformedLinesAreReportedWithTheirLine() throws {
        let folder = try temporaryFolder()
        defer { removeFolder(folder) }
        try writeFileAtomically("{\"iteration\":1,\"phase\":\"warmup\"}\n{\"iteration\":\"two\",\"phase\":\"warmup\"}\n",
                                to: folder + "/metrics.jsonl")
        do {
            _ = try RunRecord(folder: folder)
            Issue.record("expected an error")
        } catch let error as JSONError {
            #expect(error.source == folder + "/metrics.jsonl")
            #expect(error.line == 2)
            #expect(error.message.contains("integer"))
        }
    }

    @Test func aFolderWithoutRunFilesIsAnError() throws {
        let folder = try temporaryFolder()
        defer { removeFolder(folder) }
        #expect(throws: FileError.self) { try RunRecord(folder: folder) }
        do {
            _ = try RunRecord(folder: folder)
        } catch let error as FileError {
            #expect(error.reason.contains("metanas search"))
        }
    }
}

/// A new empty folder under /tmp.
private func temporaryFolder() throws -> String {
    var template = Array("/tmp/metanas-report-test-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw FileError(path: "/tmp", operation: "mkdtemp", reason: "failed") }
    return String(cString: made)
}

private func removeFolder(_ path: String) {
    for name in ["config.json", "metrics.jsonl", "genotypes.jsonl", "architecture.jsonl", "architecture.json", "evaluation.json"] {
        unlink(path + "/" + name)
    }
    rmdir(path)
}
