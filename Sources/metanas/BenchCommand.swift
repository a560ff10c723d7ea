import Engine
import Foundation
import JSON
import NN
import SearchSpace

/// `metanas bench`: fixed workloads that print timings and throughput (release builds only
/// give meaningful numbers).
struct BenchCommand: Command {
    enum Suite: String, CaseIterable { case engine, network, operations, metanas, data, all }

    static let name = "bench"
    static let summary = "time the engine's kernels and the reference search network"
    static let usage = """
        Usage: metanas bench [--suite engine|network|operations|metanas|data|all] [--threads N[,N...]] [--repeat N]
                             [--batch N] [--record FILE]

          --suite    engine: the dominant convolutions of the reference network at batch 20
                     or --batch (each kernel timed alone: forward, input gradient and filter gradient
                     from a fixed output gradient), with the machine's sgemm peak;
                     network: forward and forward+backward of the reference supernet at
                     batch 20 or --batch; operations: the same passes with one candidate operation
                     alone on every edge, and what each adds over skip_connect alone;
                     metanas: seconds per warm-up and per search meta-iteration
                     (20-way, meta-batch 10, 5 inner steps) and per meta-test task (100
                     steps), with peak RSS, each timed after one untimed round of the
                     same kind (whose time is shown too); data: cold and warm load of
                     the Omniglot archives in --data (default ../shared/datasets/omniglot).
                     Default: engine, network and metanas
          --threads  threads (default 2); a list such as 1,2 or 1,4,8,16 runs the suites once
                     per count, each count in a fresh process (so that no count inherits
                     another's heap or caches), and the metanas suite then ends with a
                     scaling table (speed-up and efficiency relative to the first count,
                     peak RSS per count)
          --repeat   timed repetitions; the best is reported (default 5; 50 for the
                     engine suite's kernels, which take milliseconds each, so that one
                     burst of load on a shared machine does not set a kernel's figure)
          --batch    images per pass of the engine, network and operations suites
                     (default 20, the reference batch); the metanas suite's workload
                     is fixed
          --record   also write the metanas suite's figures to FILE, one JSON line per
                     thread count (threads, warmup_s, search_s, test_s_per_task,
                     peak_rss_mib), replacing the file atomically
        """

    let suite: Suite
    let dataFolder: String
    let threadCounts: [Int]
    /// The thread count of this process's run (the first of a list runs each count in a
    /// process of its own).
    let threads: Int
    /// Timed repetitions of a network pass.
    let repetitions: Int
    /// Timed repetitions of each engine-suite kernel.
    let kernelRepetitions: Int
    /// `--repeat` as given, passed on to the per-count processes.
    let givenRepetitions: Int?
    /// Where the metanas suite's figures go as JSON lines.
    let recordPath: String?
    /// Images per pass of the engine, network and operations suites.
    let batch: Int
    /// `--batch` as given, passed on to the per-count processes.
    let givenBatch: Int?
    /// Whether the chosen suites include the metanas one, whose figures can be recorded.
    var timesMetaNAS: Bool { suite == .metanas || suite == .all }

    init(_ a: inout Arguments) throws {
        suite = try a.choice("suite") ?? .all
        dataFolder = a.string("data") ?? "../shared/datasets/omniglot"
        let list = a.string("threads") ?? "2"
        let counts = list.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw CLIError("bench: --threads takes whole numbers of at least 1, separated by commas (got '\(list)')")
        }
        threadCounts = counts.map { $0! }
        threads = threadCounts[0]
        let given: Int? = try a.value("repeat")
        if let given, given < 1 { throw CLIError("bench: --repeat must be at least 1") }
        givenRepetitions = given
        repetitions = given ?? 5
        kernelRepetitions = given ?? 50
        recordPath = a.string("record")
        givenBatch = try a.value("batch")
        if let givenBatch, givenBatch < 1 { throw CLIError("bench: --batch must be at least 1") }
        if givenBatch != nil, ![.engine, .network, .operations, .all].contains(suite) {
            throw CLIError("bench: --batch sets the images per pass of the engine, network and operations suites, "
                           + "not of the \(suite.rawValue) suite")
        }
        batch = givenBatch ?? 20
        if recordPath != nil, !timesMetaNAS {
            throw CLIError("bench: --record writes the metanas suite's figures; use it with --suite metanas or all")
        }
        // Checked now rather than after minutes of timing.
        if let recordPath {
            let folder = URL(fileURLWithPath: recordPath).deletingLastPathComponent().path
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
                throw CLIError("bench: --record \(recordPath): the folder \(folder) does not exist")
            }
        }
    }

    func run() throws {
        let timings: [MetaNASTiming]
        if threadCounts.count == 1 {
            print(kernelSelection())
            var found: MetaNASTiming?
            if suite == .engine || suite == .all { engine() }
            if suite == .network || suite == .all { try network() }
            if suite == .operations { try operations() }
            if timesMetaNAS { found = try metaNAS() }
            if suite == .data { try data() }
            timings = found.map { [$0] } ?? []
        } else {
            timings = try threadCounts.compactMap { try runInFreshProcess(threads: $0) }
            if timings.count > 1 { printScaling(timings) }
        }
        if let recordPath {
            do {
                try Engine.writeFileAtomically(timings.map { $0.jsonLine + "\n" }.joined(), to: recordPath)
            } catch {
                throw CLIError("bench: cannot write the record: \(error)")
            }
        }
    }

    /// Runs this benchmark with one thread count in a child process of the same executable,
    /// which prints to the same output, and returns its metanas figures (nil when the suite
    /// has none).
    private func runInFreshProcess(threads count: Int) throws -> MetaNASTiming? {
        let record = FileManager.default.temporaryDirectory
            .appendingPathComponent("metanas-bench-\(getpid())-\(count).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: record) }
        var arguments = ["bench", "--suite", suite.rawValue, "--threads", "\(count)", "--data", dataFolder]
        if timesMetaNAS { arguments += ["--record", record] }
        if let givenRepetitions { arguments += ["--repeat", "\(givenRepetitions)"] }
        if let givenBatch { arguments += ["--batch", "\(givenBatch)"] }
        fflush(nil)  // what this process printed comes before the child's output
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        child.arguments = arguments
        do { try child.run() } catch {
            throw CLIError("bench: cannot start the run with \(count) thread(s) (\(child.executableURL!.path)): \(error)")
        }
        child.waitUntilExit()
        guard child.terminationReason == .exit, child.terminationStatus == 0 else {
            let how = child.terminationReason == .exit ? "exit status" : "signal"
            throw CLIError("bench: the run with \(count) thread(s) failed (\(how) \(child.terminationStatus))")
        }
        guard timesMetaNAS else { return nil }
        let text: String
        do { text = String(decoding: try Engine.readFile(record), as: UTF8.self) } catch {
            throw CLIError("bench: the run with \(count) thread(s) left no figures: \(error)")
        }
        guard let timing = try MetaNASTiming(jsonLine: text.trimmingCharacters(in: .whitespacesAndNewlines), source: record) else {
            throw CLIError("bench: \(record): the run with \(count) thread(s) wrote figures that cannot be read: \(text)")
        }
        return timing
    }

    /// Speed-up and efficiency of each thread count relative to the first.
    func printScaling(_ timings: [MetaNASTiming]) {
        let base = timings[0]
        print("scaling relative to \(base.threads) thread(s): speed-up = time(\(base.threads)) / time(N), "
              + "efficiency = speed-up / (N / \(base.threads))")
        let header = ["threads", "warm-up s", "search s", "test s/task", "peak MiB", "search x", "search eff", "warm-up eff"]
        print(header.enumerated().map { i, h in i == 0 ? h.padding(toLength: 8, withPad: " ", startingAt: 0)
            : String(repeating: " ", count: max(0, 12 - h.count)) + h }.joined())
        for t in timings {
            let scale = Double(t.threads) / Double(base.threads)
            let (search, warmup) = (base.search / t.search, base.warmup / t.warmup)
            let cells = [fmt(t.warmup, 2), fmt(t.search, 2), fmt(t.testPerTask, 2), "\(t.peakMiB)",
                         fmt(search, 2), "\(fmt(100 * search / scale, 0))%", "\(fmt(100 * warmup / scale, 0))%"]
            print("\(t.threads)".padding(toLength: 8, withPad: " ", startingAt: 0)
                  + cells.map { String(repeating: " ", count: max(0, 12 - $0.count)) + $0 }.joined())
        }
    }

    /// Best wall time of `body` over the repetitions, after one warm-up run.
    func best(_ body: () -> Void) -> Double {
        body()
        var t = Double.infinity
        for _ in 0..<repetitions {
            let t0 = monotonicSeconds()
            body()
            t = min(t, monotonicSeconds() - t0)
        }
        return t
    }

    func engine() {
        // The peak is the best of measurements before and after the table, so that a slow
        // moment of a shared machine cannot inflate the percentages.
        var peak = measureSgemmPeak(size: 1024, threads: threads, repetitions: 10)
        struct Case { let name: String; let cin: Int; let cout: Int; let size: Int; let k: (Int, Int); let pad: (Int, Int); let dil: Int; let groups: Int
            var stride = 1 }
        let cases = [
            Case(name: "conv 1x5 28->28 @28", cin: 28, cout: 28, size: 28, k: (1, 5), pad: (0, 2), dil: 1, groups: 1),
            Case(name: "conv 5x1 28->28 @28", cin: 28, cout: 28, size: 28, k: (5, 1), pad: (2, 0), dil: 1, groups: 1),
            Case(name: "conv 1x5 28->28 @14", cin: 28, cout: 28, size: 14, k: (1, 5), pad: (0, 2), dil: 1, groups: 1),
            Case(name: "conv 5x1 28->28 @14", cin: 28, cout: 28, size: 14, k: (5, 1), pad: (2, 0), dil: 1, groups: 1),
            Case(name: "pointwise 28->28 @28", cin: 28, cout: 28, size: 28, k: (1, 1), pad: (0, 0), dil: 1, groups: 1),
            Case(name: "pointwise 28->28 @14", cin: 28, cout: 28, size: 14, k: (1, 1), pad: (0, 0), dil: 1, groups: 1),
            Case(name: "conv 1x1 84->28 @28", cin: 84, cout: 28, size: 28, k: (1, 1), pad: (0, 0), dil: 1, groups: 1),
            Case(name: "conv 1x1 84->28 @14", cin: 84, cout: 28, size: 14, k: (1, 1), pad: (0, 0), dil: 1, groups: 1),
            Case(name: "depthwise 3x3 @28", cin: 28, cout: 28, size: 28, k: (3, 3), pad: (1, 1), dil: 1, groups: 28),
            Case(name: "depthwise 3x3 @14", cin: 28, cout: 28, size: 14, k: (3, 3), pad: (1, 1), dil: 1, groups: 28),
            Case(name: "dilated dw 3x3 d2 @28", cin: 28, cout: 28, size: 28, k: (3, 3), pad: (2, 2), dil: 2, groups: 28),
            Case(name: "dilated dw 3x3 d2 @14", cin: 28, cout: 28, size: 14, k: (3, 3), pad: (2, 2), dil: 2, groups: 28),
            Case(name: "dw 3x3 s2 @28->14", cin: 28, cout: 28, size: 28, k: (3, 3), pad: (1, 1), dil: 1, groups: 28, stride: 2),
            Case(name: "dil dw 3x3 d2 s2 @28->14", cin: 28, cout: 28, size: 28, k: (3, 3), pad: (2, 2), dil: 2, groups: 28, stride: 2),
            Case(name: "stem 3x3 1->84 @28", cin: 1, cout: 84, size: 28, k: (3, 3), pad: (1, 1), dil: 1, groups: 1),
        ]
        var lines: [(String, Double)] = []
        var g = SeededGenerator(seed: 7)
        ThreadTeam.with(threads: threads) { team in
            for c in cases {
                let x = Tensor.randomNormal(shape: [batch, c.cin, c.size, c.size], using: &g)
                let w = Tensor.randomNormal(shape: [c.cout, c.cin / c.groups, c.k.0, c.k.1], std: 0.1, using: &g)
                // The shapes above are valid, so this cannot throw.
                let t = try! timeConvolution(input: x, weight: w, stride: (c.stride, c.stride), padding: c.pad, dilation: (c.dil, c.dil), groups: c.groups,
                                             threads: .shared(team), repetitions: kernelRepetitions, generator: &g)
                let flops = t.forwardFLOPs
                let total = 3 * flops / (t.forward + t.inputGradient + t.weightGradient) / 1e9
                lines.append((row([c.name, fmt(t.forward * 1e3, 2), fmt(flops / t.forward / 1e9, 1),
                                   fmt(t.inputGradient * 1e3, 2), fmt(t.weightGradient * 1e3, 2),
                                   fmt(2 * flops / (t.inputGradient + t.weightGradient) / 1e9, 1), fmt(total, 1)]), total))
            }
        }
        peak = max(peak, measureSgemmPeak(size: 1024, threads: threads, repetitions: 10))
        print("sgemm peak (1024^3, \(threads) thread\(threads == 1 ? "" : "s"), best before and after): \(fmt(peak, 1)) GFLOP/s")
        print("batch \(batch), \(threads) thread(s); backward = input gradient (dx) + weight gradient (dw)")
        print(row(["shape", "fwd ms", "fwd GF/s", "dx ms", "dw ms", "bwd GF/s", "f+b GF/s", "% peak"]))
        for (line, total) in lines { print(line + row(["", fmt(100 * total / peak, 0)]).dropFirst(24)) }
    }

    func network() throws {
        let (net, fwd, both, flops) = try timeNetwork(.reference(ways: 20))
        print("reference supernet: \(net.weights.scalarCount) weights, \(net.architecture.scalarCount) architecture parameters; "
              + "\(net.activeWeightCount(plan: net.plan(architecture: net.architecture, settings: benchSettings))) active at initialisation")
        print("batch \(batch), \(threads) thread(s), forward conv+linear FLOPs \(fmt(flops / 1e9, 2)) G")
        print("forward:          \(fmt(fwd * 1e3, 1)) ms  \(fmt(flops / fwd / 1e9, 1)) GFLOP/s")
        print("forward+backward: \(fmt(both * 1e3, 1)) ms  \(fmt(3 * flops / both / 1e9, 1)) GFLOP/s (backward counted as 2x forward)")
    }

    /// What each candidate operation costs in the reference pass: the supernet with that
    /// operation alone on every edge, and what it adds over the same network with
    /// `skip_connect` alone (the identity at stride 1, so that network is mostly the stem,
    /// preprocessing, node sums and head, with gradients reaching all of them).
    func operations() throws {
        let whole = try timeNetwork(.reference(ways: 20))
        let base = try timeNetwork(alone: "skip_connect")
        print("batch \(batch), \(threads) thread(s): the reference supernet with one operation alone on every edge")
        print(row(["operation", "fwd ms", "f+b ms", "f+b GF/s", "+fwd ms", "+f+b ms"]))
        for name in OperationRegistry.metaNASOperations {
            let t = name == "skip_connect" ? base : try timeNetwork(alone: name)
            let added = name == "skip_connect" ? ["(base)", "(base)"]
                : [fmt((t.forward - base.forward) * 1e3, 1), fmt((t.both - base.both) * 1e3, 1)]
            print(row([name, fmt(t.forward * 1e3, 1), fmt(t.both * 1e3, 1), fmt(3 * t.flops / t.both / 1e9, 1)] + added))
        }
        print(row(["all seven (supernet)", fmt(whole.forward * 1e3, 1), fmt(whole.both * 1e3, 1),
                   fmt(3 * whole.flops / whole.both / 1e9, 1), fmt((whole.forward - base.forward) * 1e3, 1),
                   fmt((whole.both - base.both) * 1e3, 1)]))
        print("+ms: over the skip_connect network; the supernet's figure exceeds the sum of its operations' "
              + "by what mixing seven outputs per edge costs")
    }

    private func timeNetwork(alone operation: String) throws -> (forward: Double, both: Double, flops: Double) {
        var config = SearchSpaceConfig.reference(ways: 20)
        config.operations = [operation]
        let t = try timeNetwork(config)
        return (t.forward, t.both, t.flops)
    }

    /// Architecture settings of the timed passes: T = 1, nothing under the threshold.
    private var benchSettings: ArchitectureSettings {
        ArchitectureSettings(temperature: 1, operationThreshold: 0.01, inputThreshold: 0.01)
    }

    /// Best forward and forward+backward times of a search network at `batch`, with drop-path
    /// as in meta-training, and its forward FLOPs.
    private func timeNetwork(_ config: SearchSpaceConfig) throws
        -> (network: SearchNetwork, forward: Double, both: Double, flops: Double) {
        var g = SeededGenerator(seed: 11)
        let net = try SearchNetwork(config, registry: .builtIn, generator: &g)
        let x = Tensor.randomUniform(shape: [batch, 1, 28, 28], low: 0, high: 1, using: &g)
        let labels = (0..<batch).map { $0 % 20 }
        let settings = benchSettings
        let plan = net.plan(architecture: net.architecture, settings: settings)
        func pass(backward: Bool, team: ThreadTeam) {
            let tape = Tape(threads: .shared(team))
            let ctx = ForwardContext(tape: tape, weights: net.weights.bind(to: tape, trainable: backward),
                                     buffers: net.buffers, training: true, dropPathKeep: 0.8, generator: SeededGenerator(seed: 3))
            let arch = net.architecture.bind(to: tape, trainable: backward)
            let loss = net.logits(tape.constant(x), architecture: arch, settings: settings, ctx).crossEntropy(labels: labels)
            if backward { _ = tape.gradients(of: loss) }
        }
        let (fwd, both) = ThreadTeam.with(threads: threads) { team in
            (best { pass(backward: false, team: team) }, best { pass(backward: true, team: team) })
        }
        return (net, fwd, both, net.forwardFLOPs(plan: plan, batch: batch))
    }

    func row(_ cells: [String]) -> String {
        cells.enumerated().map { i, s in
            let width = i == 0 ? 24 : 10
            return i == 0 ? s + String(repeating: " ", count: max(0, width - s.count))
                : String(repeating: " ", count: max(0, width - s.count)) + s
        }.joined()
    }
}

/// A number with `digits` decimals.
func fmt(_ v: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let r = (v * scale).rounded() / scale
    var s = "\(r)"
    if digits == 0, s.hasSuffix(".0") { s.removeLast(2) }
    if let dot = s.firstIndex(of: ".") {
        let decimals = s.distance(from: dot, to: s.endIndex) - 1
        if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
    }
    return s
}
