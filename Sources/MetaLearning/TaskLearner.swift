import Datasets
import Engine
import NN
import SearchSpace

/// Per-step record of one task adaptation.
public struct AdaptationLog: Sendable {
    public var losses: [Float] = []
    public var accuracies: [Float] = []
    public var temperatures: [Float] = []
}

/// Adapts weights (and architecture) to one task. A task learner sees one task at a time and
/// never the meta-learner; implement it to try another inner-loop algorithm.
public protocol TaskLearner: Sendable {
    /// The catalog name, e.g. `darts`.
    var name: String { get }
    func adapt(_ network: SearchNetwork, state: inout TaskState, task: FewShotTask, loop: InnerLoop,
               pruner: any Pruner, phase: TaskPhase, generator: inout SeededGenerator, kernelThreads: KernelThreads) -> AdaptationLog
}

/// DARTS as the task learner, first order: each inner step takes one architecture step on one
/// support batch, then one weight step on a fresh batch.
///
/// ```
/// for s in 0..<steps:
///     T = schedule(s)
///     if s < architectureSteps: alpha, beta <- Adam(grad_{alpha,beta} L(batch_a; w, alpha, T))
///     w <- Adam(grad_w L(batch_b; w, alpha, T))
/// ```
/// The architecture gradient is taken at the *current* weights. (The published reference
/// code takes it on a copy of the network made when the task starts, a quirk that is not
/// reproduced here.)
public struct DARTSTaskLearner: TaskLearner {
    public let name = "darts"

    public init() {}

    public func adapt(_ network: SearchNetwork, state: inout TaskState, task: FewShotTask, loop: InnerLoop,
                      pruner: any Pruner, phase: TaskPhase, generator: inout SeededGenerator, kernelThreads: KernelThreads) -> AdaptationLog {
        var log = AdaptationLog()
        for s in 0..<loop.steps {
            let settings = pruner.settings(step: s, loop: loop, phase: phase)
            if s < loop.architectureSteps {
                let batch = task.supportBatch(size: loop.batchSize, using: &generator)
                let r = evaluateStep(network, model: state.model, images: batch.images, labels: batch.labels,
                                     settings: settings, trainWeights: false, trainArchitecture: true,
                                     dropPathKeep: loop.dropPathKeep, generator: &generator, kernelThreads: kernelThreads)
                state.model.buffers = r.buffers
                state.architectureOptimizer.step(&state.model.architecture, gradients: r.architectureGradients!)
            }
            let batch = task.supportBatch(size: loop.batchSize, using: &generator)
            let r = evaluateStep(network, model: state.model, images: batch.images, labels: batch.labels,
                                 settings: settings, trainWeights: true, trainArchitecture: false,
                                 dropPathKeep: loop.dropPathKeep, generator: &generator, kernelThreads: kernelThreads)
            state.model.buffers = r.buffers
            state.weightOptimizer.step(&state.model.weights, gradients: r.weightGradients!)
            log.losses.append(r.loss)
            log.accuracies.append(r.accuracy)
            log.temperatures.append(settings.temperature)
        }
        return log
    }
}
