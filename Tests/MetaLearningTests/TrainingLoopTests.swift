import Engine
import NN
import Testing
@testable import MetaLearning

@Suite("Meta-training loop")
struct TrainingLoopTests {
    /// A short, cheap run: 2 tasks of 3 inner steps per meta-iteration, warm-up for 2.
    static func config(seed: UInt64 = 5) -> RunConfig {
        var c = Fixture.config(seed: seed)
        c.metaBatch = 2
        c.innerSteps = 3
        c.warmupIterations = 2
        c.testSteps = 3
        c.testArchitectureSteps = 2
        return c
    }

    static func run(_ trainer: MetaTrainer, from state: TrainingState, iterations: Int) -> TrainingState {
        var s = state
        for _ in 0..<iterations { _ = trainer.step(&s) }
        return s
    }

    /// Both task learners: the unrolled one draws more passes per step from the same streams.
    static let taskLearners = ["darts", "darts-unrolled"]

    @Test("Resuming from an encoded checkpoint equals running uninterrupted", arguments: taskLearners)
    func resumeEqualsUninterrupted(taskLearner: String) throws {
        var config = Self.config()
        config.taskLearner = taskLearner
        let trainer = try Fixture.trainer(config)
        let straight = Self.run(trainer, from: trainer.initialState(), iterations: 6)

        let firstHalf = Self.run(trainer, from: trainer.initialState(), iterations: 3)
        let bytes = firstHalf.archive(config: config).encoded()
        // A fresh trainer (network rebuilt from the seed) restores the decoded file.
        let fresh = try Fixture.trainer(config)
        let restored = try TrainingState(restoring: try TensorArchive(decoding: bytes, source: "checkpoint"),
                                         into: fresh.initialState(), source: "checkpoint")
        expectIdentical(restored, firstHalf, "restored checkpoint")
        #expect(restored.architectureOptimizer.stepCount == 3, "the checkpoint lies in the search phase")
        let resumed = Self.run(fresh, from: restored, iterations: 3)
        expectIdentical(resumed, straight, "resumed run")
        #expect(straight.iteration == 6)
    }

    @Test("One thread or two: bit-identical meta-parameters and evaluation", arguments: taskLearners)
    func threadCountDoesNotMatter(taskLearner: String) throws {
        var config = Self.config(seed: 6)
        config.taskLearner = taskLearner
        config.metaBatch = 3
        config.warmupIterations = 1
        let one = try Fixture.trainer(config, threads: 1)
        let two = try Fixture.trainer(config, threads: 2)
        let a = Self.run(one, from: one.initialState(), iterations: 3)
        let b = Self.run(two, from: two.initialState(), iterations: 3)
        expectIdentical(a, b, "1 vs 2 threads")
        #expect(a.meta.weights != one.initialState().meta.weights)
        let ra = one.evaluate(a, tasks: 3, seed: 17), rb = two.evaluate(b, tasks: 3, seed: 17)
        #expect(ra.accuracies == rb.accuracies)
        #expect(ra.genotypes == rb.genotypes)
    }

    @Test("Evaluating between iterations does not change training")
    func evaluationDoesNotLeak() throws {
        let config = Self.config(seed: 7)
        let trainer = try Fixture.trainer(config)
        let plain = Self.run(trainer, from: trainer.initialState(), iterations: 4)

        var state = trainer.initialState()
        for i in 0..<4 {
            _ = trainer.step(&state)
            if i % 2 == 1 || i == 0 {
                let before = state
                let report = trainer.evaluate(state, tasks: 2, seed: 99 &+ UInt64(i))
                #expect(report.accuracies.count == 2)
                expectIdentical(state, before, "state after evaluation \(i)")
            }
        }
        expectIdentical(state, plain, "training with evaluations in between")
    }
}
