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
            weightStep(network, state: &state, batch: batch, settings: settings, loop: loop, log: &log,
                       generator: &generator, kernelThreads: kernelThreads)
        }
        return log
    }
}

/// One Adam step of the weights on `batch`, logged: the second half of a DARTS inner step.
func weightStep(_ network: SearchNetwork, state: inout TaskState, batch: (images: Tensor, labels: [Int]),
                settings: ArchitectureSettings, loop: InnerLoop, log: inout AdaptationLog,
                generator: inout SeededGenerator, kernelThreads: KernelThreads) {
    let r = evaluateStep(network, model: state.model, images: batch.images, labels: batch.labels,
                         settings: settings, trainWeights: true, trainArchitecture: false,
                         dropPathKeep: loop.dropPathKeep, generator: &generator, kernelThreads: kernelThreads)
    state.model.buffers = r.buffers
    state.weightOptimizer.step(&state.model.weights, gradients: r.weightGradients!)
    log.losses.append(r.loss)
    log.accuracies.append(r.accuracy)
    log.temperatures.append(settings.temperature)
}

/// DARTS with the unrolled (second-order) architecture gradient of the DARTS paper: the
/// architecture step follows the gradient of the loss *after* a virtual weight step.
///
/// ```
/// w'      = w - xi * grad_w L(batch_b; w, alpha)             (virtual weight step)
/// v       = grad_w' L(batch_a; w', alpha)
/// g_alpha = grad_alpha L(batch_a; w', alpha)
///           - xi * (grad_alpha L(batch_b; w + eps v, alpha) - grad_alpha L(batch_b; w - eps v, alpha)) / (2 eps)
/// eps     = 0.01 / |v|
/// ```
/// The second term is a central difference for `xi * grad^2_{alpha,w} L(batch_b) v`, as in the
/// paper. An architecture step costs four passes instead of one; the weight step that follows
/// is the first-order learner's, on `batch_b`. The three passes on `batch_b` share one
/// drop-path draw, so that they evaluate one function. Running batch-norm statistics follow
/// the pass at the real weights `w` only.
///
/// With `xi = 0` the architecture gradient is the first-order one (at the current weights).
public struct UnrolledDARTSTaskLearner: TaskLearner {
    public let name = "darts-unrolled"
    /// `xi`: the size of the virtual weight step (a plain gradient step).
    public var virtualStep: Float

    public init(virtualStep: Float = 0.005) { self.virtualStep = virtualStep }

    public func adapt(_ network: SearchNetwork, state: inout TaskState, task: FewShotTask, loop: InnerLoop,
                      pruner: any Pruner, phase: TaskPhase, generator: inout SeededGenerator, kernelThreads: KernelThreads) -> AdaptationLog {
        var log = AdaptationLog()
        for s in 0..<loop.steps {
            let settings = pruner.settings(step: s, loop: loop, phase: phase)
            let batch: (images: Tensor, labels: [Int])
            if s < loop.architectureSteps {
                let architectureBatch = task.supportBatch(size: loop.batchSize, using: &generator)
                batch = task.supportBatch(size: loop.batchSize, using: &generator)
                let r = unrolledArchitectureGradient(
                    network, model: state.model, architectureBatch: architectureBatch, weightBatch: batch,
                    settings: settings, virtualStep: virtualStep, dropPathKeep: loop.dropPathKeep,
                    generator: &generator, kernelThreads: kernelThreads)
                state.model.buffers = r.buffers
                state.architectureOptimizer.step(&state.model.architecture, gradients: r.gradients)
            } else {
                batch = task.supportBatch(size: loop.batchSize, using: &generator)
            }
            weightStep(network, state: &state, batch: batch, settings: settings, loop: loop, log: &log,
                       generator: &generator, kernelThreads: kernelThreads)
        }
        return log
    }
}

/// The unrolled architecture gradient of ``UnrolledDARTSTaskLearner`` at `model`, with the
/// running statistics after the pass at the real weights.
public func unrolledArchitectureGradient(_ network: SearchNetwork, model: ModelState,
                                         architectureBatch a: (images: Tensor, labels: [Int]),
                                         weightBatch b: (images: Tensor, labels: [Int]),
                                         settings: ArchitectureSettings, virtualStep xi: Float, dropPathKeep: Float,
                                         generator: inout SeededGenerator,
                                         kernelThreads: KernelThreads) -> (gradients: [Tensor], buffers: BufferSet) {
    // The drop-path draw of every pass on batch b.
    let weightBatchDraw = generator
    var draw = weightBatchDraw
    let atW = evaluateStep(network, model: model, images: b.images, labels: b.labels, settings: settings,
                           trainWeights: true, trainArchitecture: false, dropPathKeep: dropPathKeep,
                           generator: &draw, kernelThreads: kernelThreads)
    generator = draw
    var virtual = model
    virtual.weights.add(tensors: atW.weightGradients!, scaledBy: -xi)
    let atVirtual = evaluateStep(network, model: virtual, images: a.images, labels: a.labels, settings: settings,
                                 trainWeights: true, trainArchitecture: true, dropPathKeep: dropPathKeep,
                                 generator: &generator, kernelThreads: kernelThreads)
    var gradients = atVirtual.architectureGradients!
    let v = atVirtual.weightGradients!
    let norm = v.reduce(0) { $0 + Double($1.squaredNorm) }.squareRoot()
    guard xi != 0, norm > 0 else { return (gradients, atW.buffers) }
    let eps = Float(0.01 / norm)
    /// grad_alpha L(batch b) at `w + sign * eps * v`.
    func architectureGradient(_ sign: Float) -> [Tensor] {
        var shifted = model
        shifted.weights.add(tensors: v, scaledBy: sign * eps)
        var d = weightBatchDraw
        return evaluateStep(network, model: shifted, images: b.images, labels: b.labels, settings: settings,
                            trainWeights: false, trainArchitecture: true, dropPathKeep: dropPathKeep,
                            generator: &d, kernelThreads: kernelThreads).architectureGradients!
    }
    let (plus, minus) = (architectureGradient(1), architectureGradient(-1))
    for i in gradients.indices {
        gradients[i].add(plus[i], scaledBy: -xi / (2 * eps))
        gradients[i].add(minus[i], scaledBy: xi / (2 * eps))
    }
    return (gradients, atW.buffers)
}
