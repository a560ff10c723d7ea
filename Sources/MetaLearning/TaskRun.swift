import Datasets
import Engine
import Genotype
import NN
import SearchSpace

/// Everything a meta-learner may need from one adapted task.
public struct TaskOutcome: Sendable {
    /// The task state after adaptation (and pruning).
    public var state: TaskState
    public var log: AdaptationLog
    public var queryLoss: Float
    public var queryAccuracy: Float
    /// Query-set gradients at the adapted parameters (first-order MAML).
    public var queryWeightGradients: [Tensor]?
    public var queryArchitectureGradients: [Tensor]?
    public var pruned: PrunedArchitecture
}

/// The pieces that together adapt one task: a task learner, a pruner and a network.
public struct TaskRunner: Sendable {
    public let network: SearchNetwork
    public let learner: any TaskLearner
    public let pruner: any Pruner

    public init(network: SearchNetwork, learner: any TaskLearner, pruner: any Pruner) {
        (self.network, self.learner, self.pruner) = (network, learner, pruner)
    }

    /// Adapts a copy of `start` to `task`, prunes, and scores the query set.
    ///
    /// - Parameter queryGradients: also compute query-set gradients at the adapted parameters.
    public func run(from start: TaskState, task: FewShotTask, loop: InnerLoop, phase: TaskPhase,
                    queryGradients: Bool, generator: inout SeededGenerator, kernelThreads: KernelThreads) -> TaskOutcome {
        var state = start
        let log = learner.adapt(network, state: &state, task: task, loop: loop, pruner: pruner, phase: phase,
                                generator: &generator, kernelThreads: kernelThreads)
        let pruned = pruner.prune(network, state: &state, task: task, loop: loop, phase: phase,
                                  generator: &generator, kernelThreads: kernelThreads)
        let settings: ArchitectureSettings
        var fixed: ((Tape) -> MixingWeights)?
        switch pruned.scoring {
        case .supernet(let s): settings = s
        case .fixed(let g):
            settings = ArchitectureSettings()
            let net = network
            fixed = { tape in try! net.fixedMixing(g, on: tape) }
        }
        // The query set is scored with batch statistics, as in MAML and the reference.
        let r = evaluateStep(network, model: state.model, images: task.query, labels: task.queryLabels,
                             settings: settings, fixed: fixed, trainWeights: queryGradients,
                             trainArchitecture: queryGradients && fixed == nil, dropPathKeep: 1,
                             generator: &generator, kernelThreads: kernelThreads)
        return TaskOutcome(state: state, log: log, queryLoss: r.loss, queryAccuracy: r.accuracy,
                           queryWeightGradients: r.weightGradients, queryArchitectureGradients: r.architectureGradients,
                           pruned: pruned)
    }
}
