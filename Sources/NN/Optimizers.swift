import Engine

/// Updates a parameter set from its gradients. State (moments, step count) lives in the
/// conforming value, so saving an optimizer is copying it and restoring is assigning it back.
public protocol Optimizer: Sendable {
    /// Applies one update; `gradients[i]` belongs to `parameters.tensors[i]`.
    mutating func step(_ parameters: inout ParameterSet, gradients: [Tensor])
    /// The state as named tensors, for checkpoints.
    func stateTensors() -> [(String, Tensor)]
    /// Restores what ``stateTensors()`` produced.
    mutating func restore(from tensors: [String: Tensor]) throws(OptimizerStateError)
}

/// A checkpointed optimizer state that does not fit the optimizer it is loaded into.
public struct OptimizerStateError: Error, CustomStringConvertible {
    public let description: String
}

/// Stochastic gradient descent with optional momentum and L2 weight decay (PyTorch semantics).
///
/// ```
/// g = grad + decay * p;   buf = momentum * buf + g (buf = g at the first step);   p -= lr * buf
/// ```
public struct SGD: Optimizer {
    public var learningRate: Float, momentum: Float, weightDecay: Float
    var buffers: [Tensor]?

    public init(learningRate: Float, momentum: Float = 0, weightDecay: Float = 0) {
        (self.learningRate, self.momentum, self.weightDecay) = (learningRate, momentum, weightDecay)
    }

    public mutating func step(_ parameters: inout ParameterSet, gradients: [Tensor]) {
        precondition(gradients.count == parameters.tensors.count,
                     "SGD.step: \(gradients.count) gradients for \(parameters.tensors.count) parameters")
        let firstStep = buffers == nil
        if firstStep && momentum != 0 { buffers = [] }
        for i in parameters.tensors.indices {
            var g = gradients[i]
            if weightDecay != 0 { g.add(parameters.tensors[i], scaledBy: weightDecay) }
            if momentum != 0 {
                if firstStep {
                    buffers!.append(g)
                } else {
                    for k in 0..<g.count { buffers![i].data[k] = momentum * buffers![i].data[k] + g.data[k] }
                    g = buffers![i]
                }
            }
            parameters.tensors[i].add(g, scaledBy: -learningRate)
        }
    }

    public func stateTensors() -> [(String, Tensor)] {
        (buffers ?? []).enumerated().map { ("momentum.\($0.offset)", $0.element) }
    }

    public mutating func restore(from tensors: [String: Tensor]) throws(OptimizerStateError) {
        var b: [Tensor] = []
        while let t = tensors["momentum.\(b.count)"] { b.append(t) }
        buffers = b.isEmpty ? nil : b
    }
}

/// Adam with L2 weight decay added to the gradient (PyTorch's `Adam`, not `AdamW`).
///
/// ```
/// g = grad + decay * p
/// m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
/// p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
/// ```
/// `beta1 = 0` (as MetaNAS uses) makes it RMSProp with bias correction.
public struct Adam: Optimizer {
    public var learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    /// Completed steps.
    public private(set) var stepCount: Int = 0
    var m: [Tensor] = [], v: [Tensor] = []

    public init(learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0) {
        (self.learningRate, self.beta1, self.beta2, self.epsilon, self.weightDecay) =
            (learningRate, beta1, beta2, epsilon, weightDecay)
    }

    public mutating func step(_ parameters: inout ParameterSet, gradients: [Tensor]) {
        precondition(gradients.count == parameters.tensors.count,
                     "Adam.step: \(gradients.count) gradients for \(parameters.tensors.count) parameters")
        if m.isEmpty {
            m = gradients.map { Tensor(shape: $0.shape) }
            v = m
        }
        stepCount += 1
        let c1 = 1 - pow(beta1, stepCount), c2 = 1 - pow(beta2, stepCount)
        let (b1, b2, lr, eps, wd) = (beta1, beta2, learningRate, epsilon, weightDecay)
        let c2root = c2.squareRoot()
        for i in parameters.tensors.indices {
            parameters.tensors[i].data.withUnsafeMutableBufferPointer { p in
                gradients[i].data.withUnsafeBufferPointer { gr in
                    m[i].data.withUnsafeMutableBufferPointer { mb in
                        v[i].data.withUnsafeMutableBufferPointer { vb in
                            precondition(p.count == gr.count, "Adam.step: gradient \(i) has \(gr.count) elements, parameter \(p.count)")
                            for k in 0..<p.count {
                                let g = gr[k] + wd * p[k]
                                mb[k] = b1 * mb[k] + (1 - b1) * g
                                vb[k] = b2 * vb[k] + (1 - b2) * g * g
                                let denom = vb[k].squareRoot() / c2root + eps
                                p[k] -= lr * (mb[k] / c1) / denom
                            }
                        }
                    }
                }
            }
        }
    }

    public func stateTensors() -> [(String, Tensor)] {
        var out: [(String, Tensor)] = [("step", Tensor(scalar: Float(stepCount)))]
        for i in m.indices { out.append(("m.\(i)", m[i])); out.append(("v.\(i)", v[i])) }
        return out
    }

    public mutating func restore(from tensors: [String: Tensor]) throws(OptimizerStateError) {
        guard let step = tensors["step"] else { throw OptimizerStateError(description: "Adam state lacks 'step'") }
        var (mm, vv) = ([Tensor](), [Tensor]())
        while let a = tensors["m.\(mm.count)"] {
            guard let b = tensors["v.\(mm.count)"], b.shape == a.shape else {
                throw OptimizerStateError(description: "Adam state: 'v.\(mm.count)' missing or shaped unlike 'm.\(mm.count)'")
            }
            mm.append(a); vv.append(b)
        }
        (stepCount, m, v) = (Int(step.scalar), mm, vv)
    }
}

@inline(__always) func pow(_ base: Float, _ exponent: Int) -> Float {
    var r: Float = 1
    for _ in 0..<exponent { r *= base }
    return r
}

/// Rescales gradients so that their joint L2 norm is at most `maxNorm` (PyTorch's
/// `clip_grad_norm_`).
///
/// - Returns: the norm before clipping.
@discardableResult
public func clipGradients(_ gradients: inout [Tensor], maxNorm: Float) -> Float {
    let norm = gradients.reduce(Float(0)) { $0 + $1.squaredNorm }.squareRoot()
    let scale = maxNorm / (norm + 1e-6)
    if scale < 1 {
        for i in gradients.indices { for k in 0..<gradients[i].count { gradients[i].data[k] *= scale } }
    }
    return norm
}

extension Adam {
    /// The element-wise mean of several states of one optimizer (same step count and shapes),
    /// summed in the given order.
    ///
    /// Tasks of a meta-batch run in parallel from one shared inner-optimizer state; the state
    /// carried to the next meta-batch is their mean, which does not depend on thread timing.
    public static func mean(_ states: [Adam]) -> Adam {
        precondition(!states.isEmpty, "Adam.mean: no states")
        var out = states[0]
        guard states.count > 1, !out.m.isEmpty else { return out }
        let scale = 1 / Float(states.count)
        for i in out.m.indices {
            for s in states.dropFirst() {
                out.m[i].add(s.m[i])
                out.v[i].add(s.v[i])
            }
            for k in 0..<out.m[i].count { out.m[i].data[k] *= scale; out.v[i].data[k] *= scale }
        }
        return out
    }
}
