import Engine
import Genotype
import NN
import SearchSpace
import Testing
@testable import MetaLearning

@Suite("Meta-learner updates")
struct MetaLearnerTests {
    /// A tiny network's initial state and a task outcome whose adapted state and query
    /// gradients are seeded random values of the right shapes.
    static func outcome(from meta: ModelState, seed: UInt64) -> TaskOutcome {
        var g = SeededGenerator(seed: seed)
        func random(_ tensors: [Tensor]) -> [Tensor] { tensors.map { .randomNormal(shape: $0.shape, using: &g) } }
        var adapted = meta
        adapted.weights.tensors = random(meta.weights.tensors)
        adapted.buffers.tensors = random(meta.buffers.tensors)
        adapted.architecture.tensors = random(meta.architecture.tensors)
        let empty = Genotype(normal: Cell(nodes: []), reduce: Cell(nodes: []))
        return TaskOutcome(state: TaskState(model: adapted, weightOptimizer: Adam(learningRate: 0.1),
                                            architectureOptimizer: Adam(learningRate: 0.1)),
                           log: AdaptationLog(), queryLoss: 0, queryAccuracy: 0,
                           queryWeightGradients: random(meta.weights.tensors),
                           queryArchitectureGradients: random(meta.architecture.tensors),
                           pruned: PrunedArchitecture(genotype: empty, activeWeights: 0, scoring: .supernet(ArchitectureSettings())))
    }

    static func tinyState() throws -> ModelState {
        var g = SeededGenerator(seed: 1)
        return ModelState(try SearchNetwork(RunConfig.preset("tiny")!.searchSpace, registry: .builtIn, generator: &g))
    }

    /// `expected[i] = base[i] + scale * (sum_t terms[t][i]) / count`, compared element-wise.
    static func expectStep(_ after: [Tensor], from base: [Tensor], _ terms: [[Tensor]], scale: Float,
                           sourceLocation: SourceLocation = #_sourceLocation) {
        var worst: Float = 0
        for i in base.indices {
            for k in 0..<base[i].count {
                var mean: Double = 0
                for t in terms { mean += Double(t[i].data[k]) }
                mean /= Double(terms.count)
                let expected = Double(base[i].data[k]) + Double(scale) * mean
                let tolerance = 1e-6 * (1 + abs(expected))
                worst = max(worst, Float(abs(Double(after[i].data[k]) - expected) / tolerance))
            }
        }
        #expect(worst <= 1, "update off by \(worst) tolerances", sourceLocation: sourceLocation)
    }

    @Test("First-order MAML steps along the mean query gradient; statistics follow the tasks")
    func firstOrderMAML() throws {
        let meta = try Self.tinyState()
        let outcomes = [Self.outcome(from: meta, seed: 2), Self.outcome(from: meta, seed: 3)]
        let learner = FirstOrderMAML(weightStep: 0.1, architectureStep: 0.2)
        #expect(learner.needsQueryGradients)

        var updated = meta
        learner.update(&updated, outcomes: outcomes, updateArchitecture: true)
        Self.expectStep(updated.weights.tensors, from: meta.weights.tensors,
                        outcomes.map { $0.queryWeightGradients! }, scale: -0.1)
        Self.expectStep(updated.architecture.tensors, from: meta.architecture.tensors,
                        outcomes.map { $0.queryArchitectureGradients! }, scale: -0.2)
        Self.expectStep(updated.buffers.tensors, from: meta.buffers.tensors,
                        outcomes.map { zip($0.state.model.buffers.tensors, meta.buffers.tensors).map(difference) },
                        scale: 1)

        // Warm-up: weights move, the architecture does not.
        var warm = meta
        learner.update(&warm, outcomes: outcomes, updateArchitecture: false)
        #expect(warm.architecture == meta.architecture)
        #expect(warm.weights == updated.weights)
    }

    @Test("Reptile moves weights by 1.0 and the architecture by 0.6 of the mean task difference")
    func reptileFormula() throws {
        let meta = try Self.tinyState()
        let outcomes = [Self.outcome(from: meta, seed: 4), Self.outcome(from: meta, seed: 5), Self.outcome(from: meta, seed: 6)]
        let learner = Reptile()
        #expect(!learner.needsQueryGradients)
        var updated = meta
        learner.update(&updated, outcomes: outcomes, updateArchitecture: true)
        func differences(_ keyPath: KeyPath<ModelState, [Tensor]>) -> [[Tensor]] {
            outcomes.map { zip($0.state.model[keyPath: keyPath], meta[keyPath: keyPath]).map(difference) }
        }
        Self.expectStep(updated.weights.tensors, from: meta.weights.tensors, differences(\.weights.tensors), scale: 1.0)
        Self.expectStep(updated.buffers.tensors, from: meta.buffers.tensors, differences(\.buffers.tensors), scale: 1.0)
        Self.expectStep(updated.architecture.tensors, from: meta.architecture.tensors, differences(\.architecture.tensors),
                        scale: 0.6)
        var warm = meta
        learner.update(&warm, outcomes: outcomes, updateArchitecture: false)
        #expect(warm.architecture == meta.architecture)
    }

    /// With one task per meta-batch and both meta step sizes 1, a Reptile meta-iteration is
    /// plain task training: the meta-state becomes the task's adapted state.
    @Test("Reptile with one task and meta step 1.0 equals plain task training")
    func reptileOneTaskIsTaskTraining() throws {
        var config = Fixture.config(seed: 3)
        config.metaBatch = 1
        config.warmupIterations = 0
        config.innerSteps = 3
        config.metaWeightStep = 1
        config.metaArchitectureStep = 1
        let trainer = try Fixture.trainer(config)
        let initial = trainer.initialState()

        // The task and stream MetaTrainer draws: a task, then a split of the training generator.
        var generator = initial.generator
        let task = trainer.sources.training.sample(using: &generator)
        var taskGenerator = generator.split()
        let start = TaskState(model: initial.meta, weightOptimizer: initial.weightOptimizer,
                              architectureOptimizer: initial.architectureOptimizer)
        let direct = trainer.runner.run(from: start, task: task, loop: config.trainingLoop(warmup: false), phase: .metaTraining,
                                        queryGradients: false, generator: &taskGenerator, kernelThreads: 1)

        var state = initial
        let metrics = trainer.step(&state)
        #expect(metrics.phase == "search")
        #expect(metrics.queryAccuracy == direct.queryAccuracy)
        #expect(state.generator == generator)

        // w + 1 * (w_task - w) rounds to w_task within one unit in the last place.
        func expectMatches(_ meta: [Tensor], _ adapted: [Tensor], _ base: [Tensor], _ what: String) {
            var worst: Float = 0
            for i in meta.indices {
                for k in 0..<meta[i].count {
                    let scale = max(abs(adapted[i].data[k]), abs(base[i].data[k]))
                    worst = max(worst, abs(meta[i].data[k] - adapted[i].data[k]) / max(scale.ulp, Float.leastNormalMagnitude))
                }
            }
            #expect(worst <= 1, "\(what): meta-state is \(worst) ulps from the adapted state")
        }
        expectMatches(state.meta.weights.tensors, direct.state.model.weights.tensors, initial.meta.weights.tensors, "weights")
        expectMatches(state.meta.buffers.tensors, direct.state.model.buffers.tensors, initial.meta.buffers.tensors, "statistics")
        expectMatches(state.meta.architecture.tensors, direct.state.model.architecture.tensors,
                      initial.meta.architecture.tensors, "architecture")
        #expect(maxDifference(state.meta.weights.tensors, initial.meta.weights.tensors) > 1e-3, "training changed nothing")
        #expect(maxDifference(state.meta.architecture.tensors, initial.meta.architecture.tensors) > 1e-4)
        // The inner optimizers carried forward are the task's.
        #expect(state.weightOptimizer.stateTensors().map { $0.1 } == direct.state.weightOptimizer.stateTensors().map { $0.1 })
        #expect(state.architectureOptimizer.stateTensors().map { $0.1 } == direct.state.architectureOptimizer.stateTensors().map { $0.1 })
        #expect(state.weightOptimizer.stepCount == 3)
    }
}
