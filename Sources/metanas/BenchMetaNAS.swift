#if canImport(Glibc)
import Glibc
#endif
import Datasets
import Engine
import Foundation
import MetaLearning
import SearchSpace

extension BenchCommand {
    /// The reference workload of the method (SPEC section 4): 20-way tasks with 15 support
    /// images per class, meta-batch 10, 5 inner steps at batch 20, the supernet at
    /// initialisation; meta-test tasks of 100 steps at batch 10.
    func metaNAS() throws {
        var config = RunConfig.preset("omniglot-20way-1shot")!
        config.dataset = .synthetic
        config.dataFolder = "datasets/synthetic"
        config.iterations = 2
        config.warmupIterations = 1
        let sources = try TaskSources(config: config)
        var g = SeededGenerator(seed: 1)
        let network = try SearchNetwork(config.searchSpace, registry: .builtIn, generator: &g)
        let components = Components.builtIn
        let runner = TaskRunner(network: network, learner: try components.taskLearner(for: config),
                                pruner: try components.pruner(for: config))
        let trainer = MetaTrainer(config: config, runner: runner, metaLearner: try components.metaLearner(for: config),
                                  sources: sources, threads: threads)
        print("reference MetaNAS workload (20-way, meta-batch 10, 5 inner steps, batch 20), \(threads) thread(s)")
        resetPeakRSS()
        var state = trainer.initialState()
        var t = monotonicSeconds()
        _ = trainer.step(&state)
        print("warm-up meta-iteration:  \(fmt(monotonicSeconds() - t, 2)) s   peak RSS \(peakRSS())")
        resetPeakRSS()
        t = monotonicSeconds()
        _ = trainer.step(&state)
        print("search meta-iteration:   \(fmt(monotonicSeconds() - t, 2)) s   peak RSS \(peakRSS())")
        resetPeakRSS()
        // As many tasks as workers: the wall time per task is what a 600-task evaluation costs;
        // each task alone runs on one worker for the whole wall time.
        let tasks = max(1, min(threads, 4)), workers = min(threads, tasks)
        let report = trainer.evaluate(state, tasks: tasks, seed: 3)
        print("meta-test task (100 steps, batch 10): \(fmt(report.seconds / Double(tasks), 2)) s per task "
              + "(\(tasks) task(s) side by side on \(workers) worker(s) in \(fmt(report.seconds, 2)) s)   peak RSS \(peakRSS())")
    }

    func data() throws {
        let folder = URL(fileURLWithPath: dataFolder)
        let cache = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("metanas-bench-cache-\(getpid())")
        defer { try? FileManager.default.removeItem(at: cache) }
        let timing = try benchmarkOmniglotLoad(folder: folder, imageSize: 28, cacheFolder: cache)
        print("Omniglot load (\(dataFolder)): \(timing)")
    }
}

/// Resets the kernel's peak-RSS mark of this process (Linux `clear_refs` 5).
func resetPeakRSS() {
    let fd = open("/proc/self/clear_refs", O_WRONLY)
    guard fd >= 0 else { return }
    _ = "5".withCString { write(fd, $0, 1) }
    close(fd)
}

/// The peak resident set size since the last reset, e.g. `612 MiB`.
func peakRSS() -> String {
    guard let bytes = try? Engine.readFile("/proc/self/status") else { return "unknown" }
    let text = String(decoding: bytes, as: UTF8.self)
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = line.split(separator: " ").compactMap({ Int($0) }).first else { return "unknown" }
    return "\(kb / 1024) MiB"
}
