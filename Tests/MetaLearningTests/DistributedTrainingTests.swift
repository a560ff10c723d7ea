import Engine
import Foundation
import Genotype
import NN
import SearchSpace
import Testing
@testable import MetaLearning

/// Several processes simulated by threads of this one: a ``Communicator`` per rank over a
/// shared exchange, so the splitting and gathering of ``MetaTrainer/step(_:across:)`` is
/// tested without MPI (the `mpirun` runs are in MessagePassingTests).
final class LoopbackGroup: @unchecked Sendable {
    let size: Int
    private let condition = NSCondition()
    private var posted: [[UInt8]?]
    private var arrived = 0
    private var round = 0
    private var result: [[UInt8]] = []

    init(size: Int) {
        self.size = size
        posted = Array(repeating: nil, count: size)
    }

    /// Every rank's bytes once all ranks have posted theirs.
    func exchange(_ bytes: [UInt8], rank: Int) -> [[UInt8]] {
        condition.lock()
        defer { condition.unlock() }
        let mine = round
        posted[rank] = bytes
        arrived += 1
        if arrived == size {
            result = posted.map { $0! }
            posted = Array(repeating: nil, count: size)
            (arrived, round) = (0, round + 1)
            condition.broadcast()
        } else {
            while round == mine { condition.wait() }
        }
        return result
    }

    /// Runs `body` once per rank, each on its own thread, and returns the results in rank order.
    func run<T>(_ body: @escaping @Sendable (any Communicator) throws -> T) throws -> [T] {
        let results = Results<T>(count: size)
        let done = DispatchGroup()
        for rank in 0..<size {
            done.enter()
            let thread = Thread { [self] in
                results.set(rank, Result { try body(LoopbackRank(group: self, rank: rank)) })
                done.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        done.wait()
        return try results.values.map { try $0!.get() }
    }

    private final class Results<T>: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var values: [Result<T, any Error>?]
        init(count: Int) { values = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ r: Result<T, any Error>) { lock.withLock { values[i] = r } }
    }
}

/// One rank of a ``LoopbackGroup``.
struct LoopbackRank: Communicator {
    let group: LoopbackGroup
    let rank: Int
    var size: Int { group.size }

    func allGather(_ bytes: [UInt8]) throws(CommunicationError) -> [[UInt8]] { group.exchange(bytes, rank: rank) }

    func broadcast(_ bytes: [UInt8], from root: Int) throws(CommunicationError) -> [UInt8] {
        group.exchange(bytes, rank: rank)[root]
    }
}

@Suite("Meta-training across processes")
struct DistributedTrainingTests {
    /// 3 tasks of 3 inner steps per meta-iteration, warm-up for 1 of 3 iterations.
    static func config(metaLearner: String = "reptile", pruner: String = "soft") -> RunConfig {
        var c = Fixture.config(seed: 11)
        c.metaBatch = 3
        c.innerSteps = 3
        c.warmupIterations = 1
        c.testSteps = 3
        c.testArchitectureSteps = 2
        c.metaLearner = metaLearner
        c.pruner = pruner
        if metaLearner == "fomaml" { (c.metaWeightStep, c.metaArchitectureStep) = (0.01, 0.01) }
        return c
    }

    @Test("Two or three processes end bit-identical to one, and so does their meta-test",
          arguments: [(2, "reptile", "soft"), (3, "reptile", "soft"), (2, "fomaml", "hard")])
    func processesMatchOne(ranks: Int, metaLearner: String, pruner: String) throws {
        let config = Self.config(metaLearner: metaLearner, pruner: pruner)
        let trainer = try Fixture.trainer(config)
        var single = trainer.initialState()
        let singleMetrics = (0..<3).map { _ in trainer.step(&single) }
        let singleReport = trainer.evaluate(single, tasks: 4, seed: 21)

        let outputs = try LoopbackGroup(size: ranks).run { communicator in
            var state = trainer.initialState()
            var metrics: [IterationMetrics] = []
            for _ in 0..<3 { metrics.append(try trainer.step(&state, across: communicator)) }
            return (state, metrics, try trainer.evaluate(state, tasks: 4, seed: 21, across: communicator))
        }
        for (rank, (state, metrics, report)) in outputs.enumerated() {
            expectIdentical(state, single, "rank \(rank) of \(ranks), \(metaLearner) + \(pruner)")
            #expect(metrics.map(\.queryLoss) == singleMetrics.map(\.queryLoss), "rank \(rank): query losses")
            #expect(metrics.map(\.trainAccuracy) == singleMetrics.map(\.trainAccuracy), "rank \(rank): train accuracies")
            #expect(metrics.map(\.activeWeights) == singleMetrics.map(\.activeWeights), "rank \(rank): active weights")
            #expect(report.accuracies == singleReport.accuracies, "rank \(rank): meta-test accuracies")
            #expect(report.genotypes == singleReport.genotypes, "rank \(rank): meta-test cells")
            #expect(report.activeWeights == singleReport.activeWeights, "rank \(rank): meta-test active weights")
        }
    }

    @Test("A task outcome survives encoding bit for bit, gradients and fixed scoring included")
    func outcomeRoundTrip() throws {
        let config = Self.config(metaLearner: "fomaml", pruner: "hard")
        let trainer = try Fixture.trainer(config)
        let state = trainer.initialState()
        let start = TaskState(model: state.meta, weightOptimizer: state.weightOptimizer,
                              architectureOptimizer: state.architectureOptimizer)
        var g = SeededGenerator(seed: 5)
        let task = trainer.sources.training.sample(using: &g)
        let outcome = trainer.runner.run(from: start, task: task, loop: config.trainingLoop(warmup: false), phase: .metaTesting,
                                         queryGradients: true, generator: &g, kernelThreads: 1)
        let bytes = outcome.archive().encoded()
        let back = try TaskOutcome(restoring: try TensorArchive(decoding: bytes, source: "outcome"), start: start)

        func bits(_ t: [Tensor]?) -> [[UInt32]]? { t?.map { $0.data.map(\.bitPattern) } }
        #expect(bits(back.state.model.weights.tensors) == bits(outcome.state.model.weights.tensors))
        #expect(bits(back.state.model.buffers.tensors) == bits(outcome.state.model.buffers.tensors))
        #expect(bits(back.state.model.architecture.tensors) == bits(outcome.state.model.architecture.tensors))
        #expect(back.state.model.weights.names == outcome.state.model.weights.names)
        for (a, b) in [(back.state.weightOptimizer, outcome.state.weightOptimizer),
                       (back.state.architectureOptimizer, outcome.state.architectureOptimizer)] {
            #expect(a.stepCount == b.stepCount && a.learningRate == b.learningRate)
            #expect(a.stateTensors().map { $0.1.data.map(\.bitPattern) } == b.stateTensors().map { $0.1.data.map(\.bitPattern) })
        }
        #expect(back.log.losses.map(\.bitPattern) == outcome.log.losses.map(\.bitPattern))
        #expect(back.log.accuracies == outcome.log.accuracies && back.log.temperatures == outcome.log.temperatures)
        #expect(back.queryLoss.bitPattern == outcome.queryLoss.bitPattern && back.queryAccuracy == outcome.queryAccuracy)
        #expect(outcome.queryWeightGradients != nil)
        #expect(bits(back.queryWeightGradients) == bits(outcome.queryWeightGradients))
        #expect(bits(back.queryArchitectureGradients) == bits(outcome.queryArchitectureGradients))
        #expect(back.pruned.genotype == outcome.pruned.genotype && back.pruned.activeWeights == outcome.pruned.activeWeights)
        guard case .fixed(let genotype) = back.pruned.scoring else {
            Issue.record("hard pruning scores with a fixed genotype, got \(back.pruned.scoring)")
            return
        }
        #expect(genotype == outcome.pruned.genotype)
    }

    @Test("Processes that disagree, or a message that does not decode, stop with the rank named")
    func disagreementIsReported() throws {
        let errors = try LoopbackGroup(size: 2).run { communicator -> String in
            do {
                try communicator.expectAgreement(on: UInt64(communicator.rank == 1 ? 7 : 5), about: "the test value")
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(errors == ["rank 0 of 2: agreement on the test value failed: rank 1 has 0x7, rank 0 has 0x5",
                           "rank 1 of 2: agreement on the test value failed: rank 1 has 0x7, rank 0 has 0x5"])

        let garbled = try LoopbackGroup(size: 2).run { communicator -> String in
            do {
                // Rank 1 sends two bytes per number, which rank 0 cannot read.
                _ = try communicator.distributedMap(
                    2, what: "numbers", encode: { (n: Int) in communicator.rank == 1 ? [1, 2] : [UInt8(n)] },
                    decode: { bytes, _ in
                        guard bytes.count == 1 else { throw OutcomeArchiveError(reason: "\(bytes.count) bytes for one number") }
                        return Int(bytes[0])
                    }) { mine in mine }
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(garbled[0].hasPrefix("rank 0 of 2: all-gather of numbers failed: the message from rank 1 is unusable"),
                "\(garbled[0])")
    }

    @Test("Each process takes every size-th task from its rank")
    func shares() {
        let group = LoopbackGroup(size: 3)
        #expect((0..<3).map { LoopbackRank(group: group, rank: $0).share(of: 7) } == [[0, 3, 6], [1, 4], [2, 5]])
        #expect(SingleProcess().share(of: 3) == [0, 1, 2])
    }
}
