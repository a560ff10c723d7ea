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
/// training generator; the tasks then run on up to `threads` workers, each from the same
/// meta-state and inner-optimizer state; the meta-learner reduces their outcomes in task
/// order, and the inner optimizers carried forward are the mean of the tasks' states. The
/// result is therefore bit-identical for any thread count.
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

    /// Runs one meta-iteration and returns its metrics.
    public func step(_ state: inout TrainingState) -> IterationMetrics {
        let t0 = monotonicSeconds()
        let warmup = state.iteration < config.warmupIterations
        let loop = config.trainingLoop(warmup: warmup)
        let drawn = (0..<config.metaBatch).map { _ in
            (sources.training.sample(using: &state.generator), state.generator.split())
        }
        let start = TaskState(model: state.meta, weightOptimizer: state.weightOptimizer,
                              architectureOptimizer: state.architectureOptimizer)
        let workers = max(1, min(threads, config.metaBatch))
        let kernelThreads = max(1, threads / workers)
        let needsGradients = metaLearner.needsQueryGradients
        let outcomes = concurrentMap(config.metaBatch, threads: workers) { i -> TaskOutcome in
            var g = drawn[i].1
            return runner.run(from: start, task: drawn[i].0, loop: loop, phase: .metaTraining, queryGradients: needsGradients,
                              generator: &g, kernelThreads: kernelThreads)
        }
        metaLearner.update(&state.meta, outcomes: outcomes, updateArchitecture: !warmup)
        state.weightOptimizer = Adam.mean(outcomes.map(\.state.weightOptimizer))
        state.architectureOptimizer = Adam.mean(outcomes.map(\.state.architectureOptimizer))
        state.iteration += 1
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
        metaTest(runner: runner, meta: state.meta, weightOptimizer: state.weightOptimizer,
                 architectureOptimizer: state.architectureOptimizer, sampler: sources.test, loop: config.testLoop,
                 tasks: tasks, seed: seed, threads: threads, progress: progress)
    }

    /// The meta-architecture's genotype.
    public func metaGenotype(_ state: TrainingState) -> Genotype {
        runner.network.genotype(architecture: state.meta.architecture)
    }
}
