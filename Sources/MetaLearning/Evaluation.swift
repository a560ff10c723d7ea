import Datasets
import Engine
import Genotype
import NN
import SearchSpace

/// The result of meta-testing: per-task accuracies with their mean and 95% interval, and the
/// architecture each task ended with.
public struct EvaluationReport: Sendable {
    public var accuracies: [Float]
    public var genotypes: [Genotype]
    public var activeWeights: [Int]
    public var seconds: Double

    /// Mean query accuracy.
    public var mean: Double { accuracies.isEmpty ? 0 : accuracies.reduce(0.0) { $0 + Double($1) } / Double(accuracies.count) }

    /// Half-width of the 95% confidence interval of the mean (normal approximation,
    /// `1.96 * sd / sqrt(n)` with the sample standard deviation), the few-shot convention.
    public var confidence95: Double {
        let n = Double(accuracies.count)
        guard n > 1 else { return 0 }
        let m = mean
        let variance = accuracies.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / (n - 1)
        return 1.96 * variance.squareRoot() / n.squareRoot()
    }

    public var meanActiveWeights: Double {
        activeWeights.isEmpty ? 0 : Double(activeWeights.reduce(0, +)) / Double(activeWeights.count)
    }

    /// `97.12 +- 0.34 % over 600 tasks`.
    public var summary: String {
        "\(percent(mean)) +- \(percent(confidence95)) % over \(accuracies.count) tasks"
    }
}

func percent(_ v: Double) -> String {
    let r = (v * 10000).rounded() / 100
    var s = "\(r)"
    if let dot = s.firstIndex(of: "."), s.distance(from: dot, to: s.endIndex) == 2 { s += "0" }
    return s
}

/// Meta-testing: adapt to held-out tasks from the meta-state and score their query sets.
///
/// Every task starts from a copy of the meta-state and of the inner optimizers, so evaluation
/// never changes what meta-training continues with.
public func metaTest(runner: TaskRunner, meta: ModelState, weightOptimizer: Adam, architectureOptimizer: Adam,
                     sampler: TaskSampler, loop: InnerLoop, tasks: Int, seed: UInt64, threads: Int,
                     progress: ((Int, Int) -> Void)? = nil) -> EvaluationReport {
    let t0 = monotonicSeconds()
    var generator = SeededGenerator(seed: seed)
    // Draw every task and its stream up front, in order, so results do not depend on threads.
    let drawn = (0..<tasks).map { _ in (sampler.sample(using: &generator), generator.split()) }
    let start = TaskState(model: meta, weightOptimizer: weightOptimizer, architectureOptimizer: architectureOptimizer)
    let workers = max(1, min(threads, tasks))
    let kernelThreads = max(1, threads / workers)
    let done = AtomicCounter()
    let outcomes = concurrentMap(tasks, threads: workers) { i -> (Float, Genotype, Int) in
        var g = drawn[i].1
        let o = runner.run(from: start, task: drawn[i].0, loop: loop, phase: .metaTesting, queryGradients: false,
                           generator: &g, kernelThreads: kernelThreads)
        progress?(done.increment(), tasks)
        return (o.queryAccuracy, o.pruned.genotype, o.pruned.activeWeights)
    }
    return EvaluationReport(accuracies: outcomes.map(\.0), genotypes: outcomes.map(\.1), activeWeights: outcomes.map(\.2),
                            seconds: monotonicSeconds() - t0)
}
