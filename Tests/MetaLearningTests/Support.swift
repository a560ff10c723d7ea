import Datasets
import Engine
import Foundation
import NN
import SearchSpace
import Testing
@testable import MetaLearning

/// The synthetic glyph tasks and tiny runs shared by the meta-learning tests.
enum Fixture {
    /// The `tiny` preset (5-way; 14x14 images; C = 4, two cells, two nodes) with short test
    /// adaptation, reading data from a per-process temporary folder.
    static func config(seed: UInt64 = 0) -> RunConfig {
        var c = RunConfig.preset("tiny")!
        c.dataFolder = folder.path
        c.seed = seed
        c.testSteps = 10
        c.testArchitectureSteps = 5
        return c
    }

    static let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("metanas-metalearning-tests-\(ProcessInfo.processInfo.processIdentifier)")

    /// Generated and loaded once per process; the folder is removed once the images are in
    /// memory. Only the data fields of the config (ways, shots, queries, image size) matter.
    static let loaded: Result<TaskSources, any Error> = Result {
        defer { try? FileManager.default.removeItem(at: folder) }
        return try TaskSources(config: config())
    }

    static func sources() throws -> TaskSources { try loaded.get() }

    /// A trainer for `config` with the built-in components it names, on `threads` threads.
    static func trainer(_ config: RunConfig, threads: Int = 1) throws -> MetaTrainer {
        let components = Components.builtIn
        var g = SeededGenerator(seed: config.seed)
        let network = try SearchNetwork(config.searchSpace, registry: components.operations, generator: &g)
        let runner = TaskRunner(network: network, learner: try components.taskLearner(for: config),
                                pruner: try components.pruner(for: config))
        return MetaTrainer(config: config, runner: runner, metaLearner: try components.metaLearner(for: config),
                           sources: try sources(), threads: threads)
    }
}

/// Expects two training states to be bit-identical: meta weights, running statistics,
/// architecture, both inner optimizers, generator and iteration.
func expectIdentical(_ a: TrainingState, _ b: TrainingState, _ what: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
    func bits(_ tensors: [Tensor]) -> [[UInt32]] { tensors.map { $0.data.map(\.bitPattern) } }
    func optimizer(_ o: Adam) -> [String: [UInt32]] {
        Dictionary(uniqueKeysWithValues: o.stateTensors().map { ($0.0, $0.1.data.map(\.bitPattern)) })
    }
    #expect(bits(a.meta.weights.tensors) == bits(b.meta.weights.tensors), "\(what): meta weights differ",
            sourceLocation: sourceLocation)
    #expect(bits(a.meta.buffers.tensors) == bits(b.meta.buffers.tensors), "\(what): batch-norm statistics differ",
            sourceLocation: sourceLocation)
    #expect(bits(a.meta.architecture.tensors) == bits(b.meta.architecture.tensors), "\(what): architecture differs",
            sourceLocation: sourceLocation)
    #expect(optimizer(a.weightOptimizer) == optimizer(b.weightOptimizer), "\(what): inner weight optimizer differs",
            sourceLocation: sourceLocation)
    #expect(optimizer(a.architectureOptimizer) == optimizer(b.architectureOptimizer),
            "\(what): inner architecture optimizer differs", sourceLocation: sourceLocation)
    #expect(a.generator == b.generator, "\(what): task generator differs", sourceLocation: sourceLocation)
    #expect(a.iteration == b.iteration, "\(what): iteration \(a.iteration) vs \(b.iteration)", sourceLocation: sourceLocation)
}

/// The largest element-wise difference between two tensor lists of equal shapes.
func maxDifference(_ a: [Tensor], _ b: [Tensor]) -> Float {
    zip(a, b).reduce(0) { max($0, $1.0.maxAbsDifference($1.1)) }
}

/// `a - b` element-wise.
func difference(_ a: Tensor, _ b: Tensor) -> Tensor {
    var d = a
    d.add(b, scaledBy: -1)
    return d
}
