import Datasets
import Engine
import Genotype
import NN
import SearchSpace

/// Whether a task is adapted during meta-training or scored at meta-test time.
public enum TaskPhase: String, Sendable {
    case metaTraining, metaTesting
}

/// How the architecture that scores a task's query set is obtained.
public enum Scoring: Sendable {
    /// The supernet under these mixing settings (soft pruning: annealed weights, thresholds).
    case supernet(ArchitectureSettings)
    /// The fixed network of a genotype (hard pruning).
    case fixed(Genotype)
}

/// What a pruner made of an adapted task.
public struct PrunedArchitecture: Sendable {
    public var genotype: Genotype
    /// Weights the scoring network executes.
    public var activeWeights: Int
    public var scoring: Scoring
}

/// Turns a relaxed architecture into a (nearly) discrete one. Swap implementations to compare
/// soft pruning (MetaNAS) with hard pruning (DARTS + retraining) in one command.
public protocol Pruner: Sendable {
    /// The catalog name, e.g. `soft`.
    var name: String { get }
    /// Mixing settings (temperature and thresholds) at inner step `step`.
    func settings(step: Int, loop: InnerLoop, phase: TaskPhase) -> ArchitectureSettings
    /// Produces the network that scores the task after adaptation; may train it further.
    func prune(_ network: SearchNetwork, state: inout TaskState, task: FewShotTask, loop: InnerLoop,
               phase: TaskPhase, generator: inout SeededGenerator, kernelThreads: KernelThreads) -> PrunedArchitecture
}

/// Soft pruning (MetaNAS): the temperature anneals inside every task and operations or input
/// pairs whose weight falls to the threshold are not executed; no retraining.
public struct SoftPruner: Pruner {
    public let name = "soft"
    /// Threshold during meta-training (the reference uses 0.01).
    public var trainingThreshold: Float
    /// Threshold at meta-test time (the reference uses 0.05).
    public var testThreshold: Float

    public init(trainingThreshold: Float = 0.01, testThreshold: Float = 0.05) {
        (self.trainingThreshold, self.testThreshold) = (trainingThreshold, testThreshold)
    }

    public func settings(step: Int, loop: InnerLoop, phase: TaskPhase) -> ArchitectureSettings {
        let t = phase == .metaTraining ? trainingThreshold : testThreshold
        return ArchitectureSettings(temperature: loop.temperature(step: step), operationThreshold: t, inputThreshold: t)
    }

    public func prune(_ network: SearchNetwork, state: inout TaskState, task: FewShotTask, loop: InnerLoop,
                      phase: TaskPhase, generator: inout SeededGenerator, kernelThreads: KernelThreads) -> PrunedArchitecture {
        var s = settings(step: loop.steps, loop: loop, phase: phase)
        s.temperature = loop.finalTemperature
        let plan = network.plan(architecture: state.model.architecture, settings: s)
        return PrunedArchitecture(genotype: network.genotype(architecture: state.model.architecture),
                                  activeWeights: network.activeWeightCount(plan: plan), scoring: .supernet(s))
    }
}

/// Hard pruning (the DARTS baseline): search at a constant temperature without thresholds,
/// then discretize to a genotype (argmax operation per edge, strongest inputs per node) and
/// train that fixed network's inherited weights for `retrainSteps` more steps.
public struct HardPruner: Pruner {
    public let name = "hard"
    public var retrainSteps: Int

    public init(retrainSteps: Int = 10) { self.retrainSteps = retrainSteps }

    public func settings(step: Int, loop: InnerLoop, phase: TaskPhase) -> ArchitectureSettings {
        ArchitectureSettings(temperature: 1, operationThreshold: 0, inputThreshold: 0)
    }

    public func prune(_ network: SearchNetwork, state: inout TaskState, task: FewShotTask, loop: InnerLoop,
                      phase: TaskPhase, generator: inout SeededGenerator, kernelThreads: KernelThreads) -> PrunedArchitecture {
        let genotype = network.genotype(architecture: state.model.architecture)
        // The genotype comes from this network, so its operations and inputs always fit.
        let fixed: (Tape) -> MixingWeights = { tape in try! network.fixedMixing(genotype, on: tape) }
        let steps = phase == .metaTesting ? retrainSteps : 0
        for _ in 0..<steps {
            let batch = task.supportBatch(size: loop.batchSize, using: &generator)
            let r = evaluateStep(network, model: state.model, images: batch.images, labels: batch.labels,
                                 settings: ArchitectureSettings(), fixed: fixed, trainWeights: true, trainArchitecture: false,
                                 dropPathKeep: 1, generator: &generator, kernelThreads: kernelThreads)
            state.model.buffers = r.buffers
            state.weightOptimizer.step(&state.model.weights, gradients: r.weightGradients!)
        }
        let count = (try? network.weightCount(of: genotype)) ?? 0
        return PrunedArchitecture(genotype: genotype, activeWeights: count, scoring: .fixed(genotype))
    }
}
