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
/// never changes what meta-training continues with. Across several processes each runs its
/// share of the tasks (drawn identically everywhere) and every process gets all results in
/// task order.
///
/// - Parameter progress: called with (tasks done, tasks) of this process's share.
/// - Throws: ``CommunicationError`` when the exchange between processes fails.
public func metaTest(runner: TaskRunner, meta: ModelState, weightOptimizer: Adam, architectureOptimizer: Adam,
                     sampler: TaskSampler, loop: InnerLoop, tasks: Int, seed: UInt64, threads: Int,
                     across communicator: any Communicator = SingleProcess(),
                     progress: ((Int, Int) -> Void)? = nil) throws(CommunicationError) -> EvaluationReport {
    let t0 = monotonicSeconds()
    var generator = SeededGenerator(seed: seed)
    // Draw every task and its stream up front, in order, so results do not depend on threads.
    let drawn = (0..<tasks).map { _ in (sampler.sample(using: &generator), generator.split()) }
    let start = TaskState(model: meta, weightOptimizer: weightOptimizer, architectureOptimizer: architectureOptimizer)
    let outcomes = try communicator.distributedMap(
        tasks, what: "meta-test results", encode: TestResult.encode, decode: { bytes, _ in try TestResult(decoding: bytes) }
    ) { mine -> [TestResult] in
        let done = AtomicCounter()
        return ThreadTeam.with(threads: threads) { team in
            team.map(mine.count) { k -> TestResult in
                let i = mine[k]
                var g = drawn[i].1
                let o = runner.run(from: start, task: drawn[i].0, loop: loop, phase: .metaTesting, queryGradients: false,
                                   generator: &g, kernelThreads: .shared(team))
                progress?(done.increment(), mine.count)
                return TestResult(accuracy: o.queryAccuracy, genotype: o.pruned.genotype, activeWeights: o.pruned.activeWeights)
            }
        }
    }
    return EvaluationReport(accuracies: outcomes.map(\.accuracy), genotypes: outcomes.map(\.genotype),
                            activeWeights: outcomes.map(\.activeWeights), seconds: monotonicSeconds() - t0)
}

/// What meta-testing keeps of one task, and its bytes for the exchange between processes (a
/// ``TensorArchive`` with tensor `accuracy` and texts `genotype`, `activeWeights`).
struct TestResult {
    var accuracy: Float
    var genotype: Genotype
    var activeWeights: Int

    static func encode(_ r: TestResult) -> [UInt8] {
        var a = TensorArchive()
        a.append("accuracy", Tensor(scalar: r.accuracy))
        a.append("genotype", text: r.genotype.json.serialized(pretty: false))
        a.append("activeWeights", text: "\(r.activeWeights)")
        return a.encoded()
    }

    init(accuracy: Float, genotype: Genotype, activeWeights: Int) {
        (self.accuracy, self.genotype, self.activeWeights) = (accuracy, genotype, activeWeights)
    }

    init(decoding bytes: [UInt8]) throws {
        let a = try TensorArchive(decoding: bytes, source: "meta-test result")
        guard let accuracy = a.tensor("accuracy"), accuracy.count == 1, let text = a.text("genotype"),
              let active = a.text("activeWeights").flatMap({ Int($0) }) else {
            throw OutcomeArchiveError(reason: "meta-test result lacks accuracy, genotype or active weights")
        }
        self.init(accuracy: accuracy.data[0], genotype: try Genotype(jsonText: text, source: "meta-test result"),
                  activeWeights: active)
    }
}
