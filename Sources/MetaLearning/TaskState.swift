import Engine
import NN
import SearchSpace

/// The learned values of a network: weights, batch-norm statistics and architecture.
public struct ModelState: Sendable, Equatable {
    public var weights: ParameterSet
    public var buffers: BufferSet
    public var architecture: ParameterSet

    public init(weights: ParameterSet, buffers: BufferSet, architecture: ParameterSet) {
        (self.weights, self.buffers, self.architecture) = (weights, buffers, architecture)
    }

    /// The initial state of a freshly built network.
    public init(_ network: SearchNetwork) {
        self.init(weights: network.weights, buffers: network.buffers, architecture: network.architecture)
    }
}

/// What a task learner adapts: a copy of the meta state plus the inner optimizers.
public struct TaskState: Sendable {
    public var model: ModelState
    public var weightOptimizer: Adam
    public var architectureOptimizer: Adam

    public init(model: ModelState, weightOptimizer: Adam, architectureOptimizer: Adam) {
        (self.model, self.weightOptimizer, self.architectureOptimizer) = (model, weightOptimizer, architectureOptimizer)
    }
}

/// Loss and accuracy of one forward pass, with gradients when asked for.
public struct StepResult {
    public var loss: Float
    public var accuracy: Float
    public var weightGradients: [Tensor]?
    public var architectureGradients: [Tensor]?
    /// Batch-norm statistics after the pass.
    public var buffers: BufferSet
}

/// One forward (and optionally backward) pass of the search network on labelled images.
///
/// - Parameters:
///   - mixing: fixed mixing weights (a genotype); when nil the architecture is softmaxed with
///     `settings`.
///   - trainWeights, trainArchitecture: which gradients to compute.
public func evaluateStep(_ network: SearchNetwork, model: ModelState, images: Tensor, labels: [Int],
                         settings: ArchitectureSettings, fixed genotypeMixing: ((Tape) -> MixingWeights)? = nil,
                         trainWeights: Bool, trainArchitecture: Bool, dropPathKeep: Float,
                         generator: inout SeededGenerator, kernelThreads: KernelThreads) -> StepResult {
    let tape = Tape(threads: kernelThreads)
    let ctx = ForwardContext(tape: tape, weights: model.weights.bind(to: tape, trainable: trainWeights),
                             buffers: model.buffers, training: true, dropPathKeep: dropPathKeep, generator: generator)
    let arch = model.architecture.bind(to: tape, trainable: trainArchitecture)
    let mixing = genotypeMixing?(tape) ?? network.mixingWeights(arch, settings: settings)
    let logits = network.logits(tape.constant(images), mixing: mixing, ctx)
    let loss = logits.crossEntropy(labels: labels)
    let acc = accuracy(logits: logits.value, labels: labels)
    let lossValue = loss.value.scalar
    var result = StepResult(loss: lossValue, accuracy: acc, buffers: ctx.buffers)
    generator = ctx.generator
    if trainWeights || trainArchitecture {
        let grads = tape.gradients(of: loss)
        if trainWeights { result.weightGradients = ctx.weights.map { grads[$0] } }
        if trainArchitecture { result.architectureGradients = arch.map { grads[$0] } }
    }
    return result
}
