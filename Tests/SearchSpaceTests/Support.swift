import Engine
import NN
import Testing
@testable import SearchSpace

/// Small networks and forward passes shared by the search-space tests.
enum Tiny {
    /// A two-cell network (normal, then reduction) on 8x8 images: big enough to exercise every
    /// operation at both strides, small enough for finite differences.
    static func config(inputSize: Int = 8, ways: Int = 3, nodeInputs: NodeInputForm = .pairs,
                       operations: [String] = OperationRegistry.metaNASOperations) -> SearchSpaceConfig {
        var c = SearchSpaceConfig()
        c.inputSize = inputSize
        c.channels = 4
        c.stemMultiplier = 2
        c.cellCount = 2
        c.reductionCells = [1]
        c.nodes = 2
        c.ways = ways
        c.operations = operations
        c.nodeInputs = nodeInputs
        return c
    }

    static func network(_ config: SearchSpaceConfig, seed: UInt64 = 7) throws -> SearchNetwork {
        var g = SeededGenerator(seed: seed)
        return try SearchNetwork(config, registry: .builtIn, generator: &g)
    }

    /// Images in [0, 1], `[batch, 1, S, S]`.
    static func images(_ config: SearchSpaceConfig, batch: Int, seed: UInt64 = 11) -> Tensor {
        var g = SeededGenerator(seed: seed)
        return .randomUniform(shape: [batch, config.inputChannels, config.inputSize, config.inputSize],
                              low: 0, high: 1, using: &g)
    }
}

/// One forward pass of `network` on its own tape: batch-statistics BN, no drop-path.
struct Forward {
    let network: SearchNetwork
    let images: Tensor

    /// Logits with weights and architecture bound as parameters (`trainable`) or constants.
    func logits(weights: ParameterSet, architecture: ParameterSet, settings: ArchitectureSettings, on tape: Tape,
                trainable: Bool) -> (logits: Variable, weights: [Variable], architecture: [Variable]) {
        let w = weights.bind(to: tape, trainable: trainable)
        let a = architecture.bind(to: tape, trainable: trainable)
        let ctx = ForwardContext(tape: tape, weights: w, buffers: network.buffers, training: true, dropPathKeep: 1,
                                 generator: SeededGenerator(seed: 3))
        return (network.logits(tape.constant(images), architecture: a, settings: settings, ctx), w, a)
    }

    /// Logits under explicit mixing weights built on the tape by `mixing`.
    func logits(weights: ParameterSet, on tape: Tape, mixing: (Tape) -> MixingWeights) -> Variable {
        let ctx = ForwardContext(tape: tape, weights: weights.bind(to: tape, trainable: false), buffers: network.buffers,
                                 training: true, dropPathKeep: 1, generator: SeededGenerator(seed: 3))
        return network.logits(tape.constant(images), mixing: mixing(tape), ctx)
    }
}

/// Index of the parameter tensor called `name`; records an issue when there is none.
func parameterIndex(_ set: ParameterSet, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) -> Int {
    guard let i = set.names.firstIndex(of: name) else {
        Issue.record("no parameter named \(name); names start \(set.names.prefix(6))", sourceLocation: sourceLocation)
        return 0
    }
    return i
}

/// Operation index `name` in `config`'s list.
func operationIndex(_ config: SearchSpaceConfig, _ name: String) -> Int {
    config.operations.firstIndex(of: name)!
}
