import Datasets
import Foundation
import Engine
import NN
import SearchSpace
import Testing
@testable import MetaLearning

/// The unrolled (second-order) architecture gradient against central differences of the
/// function it approximates,
/// ```
/// F(alpha) = L(batch_a; w - xi * grad_w L(batch_b; w, alpha), alpha)
/// ```
/// with drop-path off, so that `F` is deterministic, and its outer loss summed in double
/// precision from the logits.
///
/// The network has one cell of one node: every operation then reads the cell's preprocessed
/// inputs, which do not depend on alpha, so no ReLU inside the inner pass switches when alpha
/// moves and `grad_w L(batch_b)` is a smooth function of alpha. (With more nodes it jumps at
/// every switching ReLU, and central differences of `F` at two steps disagree by 13-93%.)
/// Here they agree to 0.3%, the unrolled gradient is within 0.6% of them and the first-order
/// gradient at the virtual weights 15-41% off.
@Suite("Unrolled architecture gradient")
struct UnrolledGradientTests {
    typealias Batch = (images: Tensor, labels: [Int])
    static let settings = ArchitectureSettings(temperature: 1, operationThreshold: 0, inputThreshold: 0)

    struct Setup {
        let network: SearchNetwork
        var model: ModelState
        let a: Batch, b: Batch
    }

    /// The tiny network with architecture parameters spread in +-0.3, and two support batches
    /// of one synthetic task.
    static func setup() throws -> Setup {
        var config = Fixture.config(seed: 3)
        config.searchSpace.cellCount = 1
        config.searchSpace.reductionCells = []
        config.searchSpace.nodes = 1
        var g = SeededGenerator(seed: 5)
        let network = try SearchNetwork(config.searchSpace, registry: .builtIn, generator: &g)
        var model = ModelState(network)
        for i in model.architecture.tensors.indices {
            model.architecture.tensors[i] = .randomUniform(shape: model.architecture.tensors[i].shape, low: -0.3, high: 0.3, using: &g)
        }
        let task = try Fixture.sources().training.sample(using: &g)
        let a = task.supportBatch(size: 10, using: &g), b = task.supportBatch(size: 10, using: &g)
        return Setup(network: network, model: model, a: a, b: b)
    }

    /// `model` after the virtual weight step `w - xi * grad_w L(batch_b; w, alpha)`.
    static func virtualModel(_ s: Setup, model: ModelState, xi: Float) -> ModelState {
        var g = SeededGenerator(seed: 0)
        let inner = evaluateStep(s.network, model: model, images: s.b.images, labels: s.b.labels, settings: settings,
                                 trainWeights: true, trainArchitecture: false, dropPathKeep: 1, generator: &g, kernelThreads: 1)
        var virtual = model
        virtual.weights.add(tensors: inner.weightGradients!, scaledBy: -xi)
        return virtual
    }

    /// `F` at `model`'s architecture.
    static func virtualStepLoss(_ s: Setup, model: ModelState, xi: Float) -> Double {
        let virtual = virtualModel(s, model: model, xi: xi)
        let tape = Tape(threads: 1)
        let ctx = ForwardContext(tape: tape, weights: virtual.weights.bind(to: tape, trainable: false), buffers: virtual.buffers,
                                 training: true, dropPathKeep: 1, generator: SeededGenerator(seed: 0))
        let mixing = s.network.mixingWeights(virtual.architecture.bind(to: tape, trainable: false), settings: settings)
        let logits = s.network.logits(tape.constant(s.a.images), mixing: mixing, ctx).value
        let ways = logits.shape[1]
        var total = 0.0
        for (n, label) in s.a.labels.enumerated() {
            let row = (0..<ways).map { Double(logits.data[n * ways + $0]) }
            let top = row.max()!
            total += top + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - top) }) - row[label]
        }
        return total / Double(s.a.labels.count)
    }

    /// Central differences of `F` over every architecture parameter, flattened.
    static func numericGradient(_ s: Setup, xi: Float, step h: Float) -> [Double] {
        var out: [Double] = []
        for i in s.model.architecture.tensors.indices {
            for k in 0..<s.model.architecture.tensors[i].count {
                var plus = s.model, minus = s.model
                let x = s.model.architecture.tensors[i].data[k]
                plus.architecture.tensors[i].data[k] = x + h
                minus.architecture.tensors[i].data[k] = x - h
                // The step as rounded, so that the quotient uses the step actually taken.
                let taken = Double(plus.architecture.tensors[i].data[k]) - Double(minus.architecture.tensors[i].data[k])
                out.append((virtualStepLoss(s, model: plus, xi: xi) - virtualStepLoss(s, model: minus, xi: xi)) / taken)
            }
        }
        return out
    }

    static func flat(_ tensors: [Tensor]) -> [Double] { tensors.flatMap { $0.data.map(Double.init) } }

    /// `|x - y| / |y|`.
    static func relativeError(_ x: [Double], _ y: [Double]) -> Double {
        let d = zip(x, y).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        return (d / y.reduce(0) { $0 + $1 * $1 }).squareRoot()
    }

    static func unrolled(_ s: Setup, xi: Float) -> [Tensor] {
        var g = SeededGenerator(seed: 0)
        return unrolledArchitectureGradient(s.network, model: s.model, architectureBatch: s.a, weightBatch: s.b,
                                            settings: settings, virtualStep: xi, dropPathKeep: 1, generator: &g,
                                            kernelThreads: 1).gradients
    }

    @Test("It matches central differences of the loss after a virtual weight step; first order does not")
    func matchesCentralDifferences() throws {
        let s = try Self.setup()
        for xi: Float in [0.2, 0.5] {
            let numeric = Self.numericGradient(s, xi: xi, step: 1e-2)
            let second = Self.flat(Self.unrolled(s, xi: xi))
            // The first-order gradient at the virtual weights: the unrolled one without its correction.
            var g = SeededGenerator(seed: 0)
            let first = Self.flat(evaluateStep(s.network, model: Self.virtualModel(s, model: s.model, xi: xi), images: s.a.images, labels: s.a.labels,
                                               settings: Self.settings, trainWeights: false, trainArchitecture: true,
                                               dropPathKeep: 1, generator: &g, kernelThreads: 1).architectureGradients!)
            let (unrolledError, firstOrderError) = (Self.relativeError(second, numeric), Self.relativeError(first, numeric))
            #expect(unrolledError < 0.02, "xi \(xi): unrolled gradient off by \(unrolledError) of the central differences")
            // The correction matters here: without it the gradient is far off.
            #expect(firstOrderError > 0.1, "xi \(xi): first-order gradient only \(firstOrderError) off")
        }
    }

    @Test("With xi = 0 it is the first-order gradient at the current weights, bit for bit")
    func zeroStepIsFirstOrder() throws {
        let s = try Self.setup()
        var g = SeededGenerator(seed: 0)
        let first = evaluateStep(s.network, model: s.model, images: s.a.images, labels: s.a.labels, settings: Self.settings,
                                 trainWeights: true, trainArchitecture: true, dropPathKeep: 1, generator: &g, kernelThreads: 1)
        let unrolled = Self.unrolled(s, xi: 0)
        #expect(unrolled.map { $0.data.map(\.bitPattern) } == first.architectureGradients!.map { $0.data.map(\.bitPattern) })
    }
}
