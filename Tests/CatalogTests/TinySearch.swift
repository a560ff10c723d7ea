import Engine
import MetaLearning
import NN
import SearchSpace
import Testing
@testable import Catalog

/// A few meta-iterations of a pipeline on small synthetic data, as `metanas search` runs them.
struct TinySearch: Sendable {
    let config: RunConfig
    let network: SearchNetwork
    let initial: TrainingState
    let final: TrainingState
    let metrics: [IterationMetrics]
    let trainer: MetaTrainer

    /// Overrides that keep a run short: 3 iterations (1 warm-up) of 2 tasks, 2 inner steps on
    /// batches of 5 images.
    static let fast = [
        ConfigOverride(key: "iterations", value: .text("3"), origin: "test"),
        ConfigOverride(key: "warmupIterations", value: .text("1"), origin: "test"),
        ConfigOverride(key: "metaBatch", value: .text("2"), origin: "test"),
        ConfigOverride(key: "innerSteps", value: .text("2"), origin: "test"),
        ConfigOverride(key: "batchSize", value: .text("5"), origin: "test"),
    ]

    /// Resolves `pipeline` with `overrides` (after ``fast``) and runs all its iterations.
    init(_ registry: PluginRegistry, pipeline: String, overrides: [ConfigOverride] = []) throws {
        config = try PipelineResolver(catalog: registry.catalog).config(forPipeline: pipeline, overrides: Self.fast + overrides)
        let components = registry.components
        var g = SeededGenerator(seed: config.seed)
        network = try SearchNetwork(config.searchSpace, registry: components.operations, generator: &g)
        let runner = TaskRunner(network: network, learner: try components.taskLearner(for: config),
                                pruner: try components.pruner(for: config))
        trainer = MetaTrainer(config: config, runner: runner, metaLearner: try components.metaLearner(for: config),
                                  sources: try Fixtures.sources(for: config), threads: 1)
        initial = trainer.initialState()
        var state = initial
        var metrics: [IterationMetrics] = []
        while state.iteration < config.iterations { metrics.append(trainer.step(&state)) }
        final = state
        self.metrics = metrics
    }

    /// The temperature of each inner step when the final meta-state adapts to one training task.
    func adaptationTemperatures() throws -> [Float] {
        var g = SeededGenerator(seed: 99)
        let task = trainer.sources.training.sample(using: &g)
        let start = TaskState(model: final.meta, weightOptimizer: final.weightOptimizer,
                              architectureOptimizer: final.architectureOptimizer)
        let outcome = trainer.runner.run(from: start, task: task, loop: config.trainingLoop(warmup: false), phase: .metaTraining,
                                         queryGradients: false, generator: &g, kernelThreads: 1)
        return outcome.log.temperatures
    }

    /// The alpha entries of operation `name` (every edge of both cell kinds), before and after.
    func alphas(of name: String) throws -> (before: [Float], after: [Float]) {
        let column = try #require(config.searchSpace.operations.firstIndex(of: name))
        let count = config.searchSpace.operations.count
        func pick(_ set: ParameterSet) -> [Float] {
            network.layout.alpha.flatMap { id in
                set[id].data.enumerated().filter { $0.offset % count == column }.map(\.element)
            }
        }
        return (pick(initial.meta.architecture), pick(final.meta.architecture))
    }
}
