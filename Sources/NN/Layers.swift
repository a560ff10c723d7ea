import Engine

/// Everything one forward pass needs besides its input: the bound parameters, the running
/// statistics it may update, whether batch norm uses batch statistics, and the generator
/// for drop-path masks. One context belongs to one task on one thread.
public final class ForwardContext {
    public let tape: Tape
    /// The bound weights, indexed by ``ParameterID``.
    public let weights: [Variable]
    /// Running means and variances of batch-norm layers, indexed by ``BufferID``.
    public var buffers: BufferSet
    /// Batch-statistics normalisation (and running-average updates) when true.
    public var training: Bool
    /// Keep probability of drop-path (1 disables it).
    public var dropPathKeep: Float
    /// Draws drop-path masks.
    public var generator: SeededGenerator

    public init(tape: Tape, weights: [Variable], buffers: BufferSet, training: Bool,
                dropPathKeep: Float = 1, generator: SeededGenerator = SeededGenerator(seed: 0)) {
        self.tape = tape
        self.weights = weights
        self.buffers = buffers
        self.training = training
        self.dropPathKeep = dropPathKeep
        self.generator = generator
    }

    public subscript(_ id: ParameterID) -> Variable { weights[id.index] }

    /// Results computed once per forward pass, by what was computed and from which input.
    private var sharedResults: [SharedKey: Variable] = [:]

    private struct SharedKey: Hashable {
        let input: Int
        let what: String
    }

    /// The result of `compute` on `x`, computed once per forward pass for each `what`:
    /// later calls with the same input and the same `what` return the first call's result.
    ///
    /// Operations on different edges of a cell often start from the same tensor, and parameter-
    /// free steps on it (a ReLU, a pooling) then give equal results; sharing them saves their
    /// time, their saved activations and, backward, their gradient passes (the gradients of
    /// all users are summed first). `what` must name everything the result depends on besides
    /// `x`, such as a stride, and `compute` must not use parameters.
    public func shared(_ what: String, of x: Variable, _ compute: (Variable) -> Variable) -> Variable {
        let key = SharedKey(input: x.identifier, what: what)
        if let r = sharedResults[key] { return r }
        let r = compute(x)
        sharedResults[key] = r
        return r
    }

    /// `x.relu()`, computed once per forward pass for each input (see ``shared(_:of:_:)``).
    public func relu(_ x: Variable) -> Variable { shared("relu", of: x) { $0.relu() } }
}

/// A position in a ``BufferSet``.
public struct BufferID: Hashable, Sendable {
    public let index: Int
}

/// Non-trainable state of a network (batch-norm running statistics).
public struct BufferSet: Sendable, Equatable {
    public var names: [String] = []
    public var tensors: [Tensor] = []
    public init() {}

    @discardableResult
    public mutating func append(_ name: String, _ value: Tensor) -> BufferID {
        names.append(name)
        tensors.append(value)
        return BufferID(index: tensors.count - 1)
    }
}

/// Collects parameters and buffers while a network is built; initialises them from a seeded
/// generator with PyTorch's default schemes, so that parameter counts and scales match.
public struct ParameterBuilder {
    public var parameters = ParameterSet()
    public var buffers = BufferSet()
    public var generator: SeededGenerator

    public init(generator: SeededGenerator) { self.generator = generator }

    /// A tensor drawn from `U(-1/sqrt(fanIn), 1/sqrt(fanIn))` (PyTorch's default for convolutions
    /// and linear layers).
    public mutating func uniform(_ name: String, shape: [Int], fanIn: Int) -> ParameterID {
        let bound = 1 / Float(max(fanIn, 1)).squareRoot()
        return parameters.append(name, .randomUniform(shape: shape, low: -bound, high: bound, using: &generator))
    }

    public mutating func constant(_ name: String, shape: [Int], value: Float) -> ParameterID {
        parameters.append(name, Tensor(shape: shape, repeating: value))
    }
}

/// A 2-D convolution layer.
public struct Conv2D: Sendable {
    public let weight: ParameterID
    public let bias: ParameterID?
    public let stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int), groups: Int
    public let inChannels: Int, outChannels: Int, kernel: (Int, Int)

    public init(_ name: String, inChannels: Int, outChannels: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1),
                padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1, bias: Bool = false,
                builder: inout ParameterBuilder) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv2D \(name): groups \(groups) must divide \(inChannels) and \(outChannels) channels")
        let fanIn = inChannels / groups * kernel.0 * kernel.1
        weight = builder.uniform(name + ".weight", shape: [outChannels, inChannels / groups, kernel.0, kernel.1], fanIn: fanIn)
        self.bias = bias ? builder.uniform(name + ".bias", shape: [outChannels], fanIn: fanIn) : nil
        (self.stride, self.padding, self.dilation, self.groups) = (stride, padding, dilation, groups)
        (self.inChannels, self.outChannels, self.kernel) = (inChannels, outChannels, kernel)
    }

    public func callAsFunction(_ x: Variable, _ ctx: ForwardContext) -> Variable {
        x.conv2d(ctx[weight], bias: bias.map { ctx[$0] }, stride: stride, padding: padding,
                 dilation: dilation, groups: groups)
    }

    /// Multiply-adds x 2 for an input of `height x width` per image.
    public func flops(batch: Int, height: Int, width: Int) -> Double {
        let ho = (height + 2 * padding.0 - dilation.0 * (kernel.0 - 1) - 1) / stride.0 + 1
        let wo = (width + 2 * padding.1 - dilation.1 * (kernel.1 - 1) - 1) / stride.1 + 1
        return 2 * Double(batch * outChannels * ho * wo * (inChannels / groups) * kernel.0 * kernel.1)
    }
}

/// Batch normalisation over channels, with optional affine parameters and running statistics.
public struct BatchNorm2D: Sendable {
    public let gamma: ParameterID?, beta: ParameterID?
    public let runningMean: BufferID, runningVariance: BufferID
    public let momentum: Float, epsilon: Float

    public init(_ name: String, channels: Int, affine: Bool, momentum: Float = 0.1, epsilon: Float = 1e-5,
                builder: inout ParameterBuilder) {
        gamma = affine ? builder.constant(name + ".weight", shape: [channels], value: 1) : nil
        beta = affine ? builder.constant(name + ".bias", shape: [channels], value: 0) : nil
        runningMean = builder.buffers.append(name + ".running_mean", Tensor(shape: [channels]))
        runningVariance = builder.buffers.append(name + ".running_var", Tensor(shape: [channels], repeating: 1))
        self.momentum = momentum
        self.epsilon = epsilon
    }

    /// Normalises with batch statistics (and updates the running averages) in training mode,
    /// with the running averages otherwise.
    public func callAsFunction(_ x: Variable, _ ctx: ForwardContext) -> Variable {
        let g = gamma.map { ctx[$0] }, b = beta.map { ctx[$0] }
        guard ctx.training else {
            return x.batchNorm(mean: Array(ctx.buffers.tensors[runningMean.index].data),
                               variance: Array(ctx.buffers.tensors[runningVariance.index].data),
                               gamma: g, beta: b, epsilon: epsilon)
        }
        let (y, stats) = x.batchNorm(gamma: g, beta: b, epsilon: epsilon)
        updateRunningStatistics(stats, ctx)
        return y
    }

    /// `relu(self(x))`: with batch statistics and no affine map as one node
    /// (``Variable/batchNormReLU(epsilon:)``), otherwise the norm then a ReLU.
    public func rectified(_ x: Variable, _ ctx: ForwardContext) -> Variable {
        guard ctx.training, !isAffine else { return self(x, ctx).relu() }
        let (y, stats) = x.batchNormReLU(epsilon: epsilon)
        updateRunningStatistics(stats, ctx)
        return y
    }

    /// Moves the running averages towards batch statistics by `momentum` (the variance
    /// unbiased), as a training-mode pass does; for callers that normalise elsewhere, such as
    /// ``normalizedWeightedSum(_:weights:indices:sampleScales:)``.
    public func updateRunningStatistics(_ stats: BatchStatistics, _ ctx: ForwardContext) {
        let unbias = Float(stats.count) / Float(max(stats.count - 1, 1))
        for c in 0..<stats.mean.count {
            let m = ctx.buffers.tensors[runningMean.index].data[c]
            let v = ctx.buffers.tensors[runningVariance.index].data[c]
            ctx.buffers.tensors[runningMean.index].data[c] = (1 - momentum) * m + momentum * stats.mean[c]
            ctx.buffers.tensors[runningVariance.index].data[c] = (1 - momentum) * v + momentum * stats.variance[c] * unbias
        }
    }

    /// Whether this norm is a plain standardisation (no gamma and beta).
    public var isAffine: Bool { gamma != nil }
}

/// A fully connected layer `[N, in] -> [N, out]` with bias.
public struct Linear: Sendable {
    public let weight: ParameterID, bias: ParameterID

    public init(_ name: String, inFeatures: Int, outFeatures: Int, builder: inout ParameterBuilder) {
        weight = builder.uniform(name + ".weight", shape: [outFeatures, inFeatures], fanIn: inFeatures)
        bias = builder.uniform(name + ".bias", shape: [outFeatures], fanIn: inFeatures)
    }

    public func callAsFunction(_ x: Variable, _ ctx: ForwardContext) -> Variable {
        x.linear(ctx[weight], bias: ctx[bias])
    }
}
