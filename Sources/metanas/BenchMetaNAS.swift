#if canImport(Glibc)
import Glibc
#endif
import Datasets
import Engine
import Foundation
import JSON
import MetaLearning
import SearchSpace

/// Timings of one run of the reference MetaNAS workload.
struct MetaNASTiming {
    var threads: Int
    var warmup: Double, search: Double, testPerTask: Double
    /// The largest peak RSS of the three parts, in MiB.
    var peakMiB: Int

    /// The figures as one line of JSON (the `--record` format).
    var jsonLine: String {
        JSONValue.object([
            ("threads", .int(Int64(threads))), ("warmup_s", .double(warmup)), ("search_s", .double(search)),
            ("test_s_per_task", .double(testPerTask)), ("peak_rss_mib", .int(Int64(peakMiB))),
        ]).serialized()
    }
}

extension MetaNASTiming {
    /// Reads ``jsonLine``; nil when a field is missing or of the wrong kind.
    init?(jsonLine: String, source: String) throws {
        let v = try JSONValue.parse(jsonLine, source: source)
        guard let threads = v["threads"]?.intValue, let warmup = v["warmup_s"]?.doubleValue,
              let search = v["search_s"]?.doubleValue, let test = v["test_s_per_task"]?.doubleValue,
              let peak = v["peak_rss_mib"]?.intValue else { return nil }
        self.init(threads: threads, warmup: warmup, search: search, testPerTask: test, peakMiB: peak)
    }
}

extension BenchCommand {
    /// The reference workload of the method (SPEC section 4): 20-way tasks with 15 support
    /// images per class, meta-batch 10, 5 inner steps at batch 20, the supernet at
    /// initialisation; meta-test tasks of 100 steps at batch 10.
    ///
    /// Each part is timed in the steady state a long run spends its time in: one untimed round
    /// (a meta-iteration of the same phase, or a meta-test round) first takes the one-time
    /// costs (first touch of the working sets, thread start-up), then the next round is timed.
    /// The first round's time is printed too. Peak RSS covers both rounds.
    @discardableResult
    func metaNAS() throws -> MetaNASTiming {
        var config = RunConfig.preset("omniglot-20way-1shot")!
        config.dataset = .synthetic
        config.dataFolder = "datasets/synthetic"
        config.iterations = 4
        config.warmupIterations = 2
        let sources = try TaskSources(config: config)
        var g = SeededGenerator(seed: 1)
        let network = try SearchNetwork(config.searchSpace, registry: .builtIn, generator: &g)
        let components = Components.builtIn
        let runner = TaskRunner(network: network, learner: try components.taskLearner(for: config),
                                pruner: try components.pruner(for: config))
        let trainer = MetaTrainer(config: config, runner: runner, metaLearner: try components.metaLearner(for: config),
                                  sources: sources, threads: threads)
        print("reference MetaNAS workload (20-way, meta-batch 10, 5 inner steps, batch 20), \(threads) thread(s)")
        var state = trainer.initialState()
        /// Runs `round` twice after resetting the peak RSS; returns the seconds of both.
        func timedTwice(_ round: () -> Void) -> (first: Double, second: Double) {
            resetPeakRSS()
            var t = monotonicSeconds()
            round()
            let first = monotonicSeconds() - t
            t = monotonicSeconds()
            round()
            return (first, monotonicSeconds() - t)
        }
        let warmup = timedTwice { _ = trainer.step(&state) }
        var peak = peakRSSMiB()
        print("warm-up meta-iteration:  \(fmt(warmup.second, 2)) s (the first: \(fmt(warmup.first, 2)) s)   peak RSS \(peakRSS())")
        let search = timedTwice { _ = trainer.step(&state) }
        peak = max(peak, peakRSSMiB())
        print("search meta-iteration:   \(fmt(search.second, 2)) s (the first: \(fmt(search.first, 2)) s)   peak RSS \(peakRSS())")
        // As many tasks as workers: the wall time per task is what a 600-task evaluation costs;
        // each task alone runs on one worker for the whole wall time. Evaluation leaves the
        // state as it is, so both rounds meta-test the same parameters (on other tasks).
        let tasks = max(1, min(threads, 4)), workers = min(threads, tasks)
        var reports: [EvaluationReport] = []
        _ = timedTwice { reports.append(trainer.evaluate(state, tasks: tasks, seed: UInt64(2 + reports.count))) }
        let (first, second) = (reports[0].seconds / Double(tasks), reports[1].seconds / Double(tasks))
        print("meta-test task (100 steps, batch 10): \(fmt(second, 2)) s per task (the first round: \(fmt(first, 2)) s; "
              + "\(tasks) task(s) side by side on \(workers) worker(s) in \(fmt(reports[1].seconds, 2)) s)   peak RSS \(peakRSS())")
        peak = max(peak, peakRSSMiB())
        return MetaNASTiming(threads: threads, warmup: warmup.second, search: search.second, testPerTask: second,
                             peakMiB: peak)
    }

    func data() throws {
        let folder = URL(fileURLWithPath: dataFolder)
        let cache = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("metanas-bench-cache-\(getpid())")
        defer { try? FileManager.default.removeItem(at: cache) }
        let timing = try benchmarkOmniglotLoad(folder: folder, imageSize: 28, cacheFolder: cache)
        print("Omniglot load (\(dataFolder)): \(timing)")
    }
}

/// Resets the kernel's peak-RSS mark of this process (Linux `clear_refs` 5), after handing
/// freed heap memory back, so that an earlier, larger run does not count.
func resetPeakRSS() {
    releaseFreeMemory()
    let fd = open("/proc/self/clear_refs", O_WRONLY)
    guard fd >= 0 else { return }
    _ = "5".withCString { write(fd, $0, 1) }
    close(fd)
}

/// The peak resident set size since the last reset, e.g. `612 MiB`.
func peakRSS() -> String {
    let mib = peakRSSMiB()
    return mib < 0 ? "unknown" : "\(mib) MiB"
}

/// The peak resident set size since the last reset in MiB, or -1 when it cannot be read.
func peakRSSMiB() -> Int {
    guard let bytes = try? Engine.readFile("/proc/self/status") else { return -1 }
    let text = String(decoding: bytes, as: UTF8.self)
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = line.split(separator: " ").compactMap({ Int($0) }).first else { return -1 }
    return kb / 1024
}
