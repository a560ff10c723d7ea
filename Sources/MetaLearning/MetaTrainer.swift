import Datasets
import Engine
import Foundation
import Genotype
import JSON
import NN
import SearchSpace

/// One line of `metrics.jsonl`.
public struct IterationMetrics: Sendable {
    public var iteration: Int
    public var phase: String
    public var temperature: Float
    public var trainLoss: Float, trainAccuracy: Float
    public var queryLoss: Float, queryAccuracy: Float
    public var activeWeights: Double
    public var seconds: Double
    public var metaLearner: String, pruner: String

    public var json: JSONValue {
        ["iteration": .int(Int64(iteration)), "phase": .string(phase), "temperature": .double(Double(temperature)),
         "train_loss": .double(Double(trainLoss)), "train_accuracy": .double(Double(trainAccuracy)),
         "query_loss": .double(Double(queryLoss)), "query_accuracy": .double(Double(queryAccuracy)),
         "active_weights": .double(activeWeights), "seconds": .double(seconds),
         "meta_learner": .string(metaLearner), "pruner": .string(pruner)]
    }
}

/// Meta-training: meta-batches of tasks adapted in parallel, combined by a meta-learner.
///
/// Per meta-iteration, tasks and one random stream per task are drawn in order from the
/// training generator; the tasks then run on a ``ThreadTeam`` of `threads` threads (threads
/// without a task of their own help the running tasks' kernels), each from the same
/// meta-state and inner-optimizer state; the meta-learner reduces their outcomes in task
/// order, and the inner optimizers carried forward are the mean of the tasks' states. The
/// result is therefore bit-identical for any thread count.
///
/// Across several processes (``step(_:across:)``) every process draws the same tasks, runs
/// its share of them, and receives the others' outcomes; each then reduces all outcomes in
/// task order exactly as one process would, so the result is bit-identical for any number of
/// processes too.
public struct MetaTrainer: Sendable {
    public let config: RunConfig
    public let runner: TaskRunner
    public let metaLearner: any MetaLearner
    public let sources: TaskSources
    public let threads: Int

    public init(config: RunConfig, runner: TaskRunner, metaLearner: any MetaLearner, sources: TaskSources, threads: Int) {
        (self.config, self.runner, self.metaLearner, self.sources, self.threads) = (config, runner, metaLearner, sources, threads)
    }

    /// The state before the first iteration.
    public func initialState() -> TrainingState {
        TrainingState(meta: ModelState(runner.network),
                      weightOptimizer: Adam(learningRate: config.weightLearningRate, beta1: config.innerBeta1,
                                            beta2: config.innerBeta2),
                      architectureOptimizer: Adam(learningRate: config.architectureLearningRate, beta1: config.innerBeta1,
                                                  beta2: config.innerBeta2, weightDecay: config.architectureWeightDecay),
                      generator: SeededGenerator(seed: config.seed &+ 0x5EED),
                      iteration: 0)
    }

    /// Runs one meta-iteration in this process alone and returns its metrics.
    public func step(_ state: inout TrainingState) -> IterationMetrics {
        // A single process has nothing to exchange, so it cannot fail to communicate.
        try! step(&state, across: SingleProcess())
    }

    /// Runs one meta-iteration with the tasks split across `communicator`'s processes and
    /// returns its metrics (the same on every process).
    ///
    /// Process `r` of `n` runs tasks `r`, `r + n`, ...; every process then holds every
    /// outcome and reduces them in task order. Afterwards the processes compare a checksum of
    /// their training state, so a divergence stops the run instead of going unnoticed.
    ///
    /// - Throws: ``CommunicationError`` when the exchange fails or the processes disagree.
    public func step(_ state: inout TrainingState, across communicator: any Communicator) throws(CommunicationError)
        -> IterationMetrics {
        let t0 = monotonicSeconds()
        let warmup = state.iteration < config.warmupIterations
        let loop = config.trainingLoop(warmup: warmup)
        let drawn = (0..<config.metaBatch).map { _ in
            (sources.training.sample(using: &state.generator), state.generator.split())
        }
        let start = TaskState(model: state.meta, weightOptimizer: state.weightOptimizer,
                              architectureOptimizer: state.architectureOptimizer)
        let needsGradients = metaLearner.needsQueryGradients
        let outcomes = try communicator.distributedMap(
            config.metaBatch, what: "task outcomes at meta-iteration \(state.iteration + 1)",
            encode: { $0.archive().encoded() },
            decode: { bytes, i in
                try TaskOutcome(restoring: try TensorArchive(decoding: bytes, source: "task \(i)"), start: start)
            }
        ) { mine -> [TaskOutcome] in
            ThreadTeam.with(threads: threads) { team in
                team.map(mine.count) { k -> TaskOutcome in
                    let i = mine[k]
                    var g = drawn[i].1
                    return runner.run(from: start, task: drawn[i].0, loop: loop, phase: .metaTraining,
                                      queryGradients: needsGradients, generator: &g, kernelThreads: .shared(team))
                }
            }
        }
        metaLearner.update(&state.meta, outcomes: outcomes, updateArchitecture: !warmup)
        state.weightOptimizer = Adam.mean(outcomes.map(\.state.weightOptimizer))
        state.architectureOptimizer = Adam.mean(outcomes.map(\.state.architectureOptimizer))
        state.iteration += 1
        if communicator.size > 1 {
            try communicator.expectAgreement(on: state.checksum, about: "the training state after meta-iteration \(state.iteration)")
        }
        let n = Float(outcomes.count)
        return IterationMetrics(
            iteration: state.iteration, phase: warmup ? "warmup" : "search",
            temperature: runner.pruner.settings(step: loop.steps - 1, loop: loop, phase: .metaTraining).temperature,
            trainLoss: outcomes.reduce(0) { $0 + ($1.log.losses.last ?? 0) } / n,
            trainAccuracy: outcomes.reduce(0) { $0 + ($1.log.accuracies.last ?? 0) } / n,
            queryLoss: outcomes.reduce(0) { $0 + $1.queryLoss } / n,
            queryAccuracy: outcomes.reduce(0) { $0 + $1.queryAccuracy } / n,
            activeWeights: Double(outcomes.reduce(0) { $0 + $1.pruned.activeWeights }) / Double(n),
            seconds: monotonicSeconds() - t0, metaLearner: metaLearner.name, pruner: runner.pruner.name)
    }

    /// Meta-tests the current state on `tasks` tasks of the test split (seeded separately from
    /// training, so it never changes the training stream).
    public func evaluate(_ state: TrainingState, tasks: Int, seed: UInt64, progress: ((Int, Int) -> Void)? = nil) -> EvaluationReport {
        // A single process has nothing to exchange, so it cannot fail to communicate.
        try! evaluate(state, tasks: tasks, seed: seed, across: SingleProcess(), progress: progress)
    }

    /// Meta-tests with the tasks split across `communicator`'s processes; every process gets
    /// the whole report, equal to a single process's.
    ///
    /// - Parameter progress: called with (tasks done, tasks) of this process's share.
    /// - Throws: ``CommunicationError`` when the exchange fails.
    public func evaluate(_ state: TrainingState, tasks: Int, seed: UInt64, across communicator: any Communicator,
                         progress: ((Int, Int) -> Void)? = nil) throws(CommunicationError) -> EvaluationReport {
        try metaTest(runner: runner, meta: state.meta, weightOptimizer: state.weightOptimizer,
                     architectureOptimizer: state.architectureOptimizer, sampler: sources.test, loop: config.testLoop,
                     tasks: tasks, seed: seed, threads: threads, across: communicator, progress: progress)
    }

    /// The meta-architecture's genotype.
    public func metaGenotype(_ state: TrainingState) -> Genotype {
        runner.network.genotype(architecture: state.meta.architecture)
    }
}
