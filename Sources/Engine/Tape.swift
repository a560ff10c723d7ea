/// A recording of differentiable operations for reverse-mode differentiation.
///
/// A tape belongs to one thread at a time: each task of a meta-batch builds its own graph on
/// its own tape, so nothing is shared between concurrently running tasks. Operations are
/// recorded only when at least one input needs a gradient; the backward pass walks the
/// records once in reverse and drops each record's saved tensors as soon as it has run.
/// The tape itself holds no values: a ``Variable`` carries its own, so an intermediate result
/// that no backward closure saved is freed as soon as the forward pass lets go of it.
///
/// ```
/// let tape = Tape()
/// let w = tape.parameter(weights)          // leaf that receives a gradient
/// let loss = model(tape.constant(x), w).crossEntropy(labels: y)
/// let grads = tape.gradients(of: loss)     // grads[w] is dLoss/dw
/// ```
public final class Tape {
    /// Threads that kernels may use inside one operation (results do not depend on it).
    public let threads: Int

    struct Record {
        /// Adds the contribution of this node's output gradient to its inputs' gradients.
        var backward: ((Tensor, inout GradientTable) -> Void)?
    }

    private(set) var needsGradient: [Bool] = []
    private var records: [Record] = []
    private var isLeafParameter: [Bool] = []

    /// Creates an empty tape.
    ///
    /// - Parameter threads: threads each kernel may use (1 when tasks run in parallel).
    public init(threads: Int = 1) {
        precondition(threads >= 1, "Tape: threads must be at least 1, got \(threads)")
        self.threads = threads
    }

    /// The number of recorded nodes (for tests and memory accounting).
    public var nodeCount: Int { needsGradient.count }

    /// A leaf that receives a gradient.
    public func parameter(_ value: Tensor) -> Variable {
        append(value, needsGradient: true, leaf: true, backward: nil)
    }

    /// A leaf that never receives a gradient (data, labels, fixed statistics).
    public func constant(_ value: Tensor) -> Variable {
        append(value, needsGradient: false, leaf: false, backward: nil)
    }

    /// Records a node computed from `inputs`; `backward` is kept only when an input needs a gradient.
    func record(_ value: Tensor, inputs: [Variable],
                backward: @escaping (Tensor, inout GradientTable) -> Void) -> Variable {
        let needs = inputs.contains { needsGradient[$0.id] }
        return append(value, needsGradient: needs, leaf: false, backward: needs ? backward : nil)
    }

    private func append(_ value: Tensor, needsGradient needs: Bool, leaf: Bool,
                        backward: ((Tensor, inout GradientTable) -> Void)?) -> Variable {
        needsGradient.append(needs)
        isLeafParameter.append(leaf)
        records.append(Record(backward: backward))
        return Variable(tape: self, id: needsGradient.count - 1, value: value)
    }

    /// Whether gradients flow into `v`.
    public func needsGradient(_ v: Variable) -> Bool { needsGradient[v.id] }

    /// Backpropagates from a scalar and returns the gradients of all parameter leaves.
    ///
    /// After this call the tape's records are consumed: saved tensors are released node by node
    /// during the sweep, and the tape may not be differentiated again.
    ///
    /// - Parameter output: a variable with exactly one element.
    /// - Returns: gradients of every parameter leaf that `output` depends on.
    public func gradients(of output: Variable) -> Gradients {
        precondition(output.tape === self, "gradients(of:): variable belongs to another tape")
        precondition(output.value.count == 1,
                     "gradients(of:): output must have one element, has shape \(output.shape)")
        var table = GradientTable(needsGradient: needsGradient)
        table.add(output.id, Tensor(shape: output.shape, repeating: 1))
        var result: [Int: Tensor] = [:]
        var i = output.id
        while i >= 0 {
            if let g = table.take(i) {
                if isLeafParameter[i] {
                    result[i] = g
                } else if let backward = records[i].backward {
                    backward(g, &table)
                }
            }
            records[i].backward = nil
            i -= 1
        }
        return Gradients(storage: result)
    }
}

/// Gradients of parameter leaves, looked up by variable.
public struct Gradients {
    let storage: [Int: Tensor]

    /// The gradient of `v`, or zeros of its shape when the output did not depend on it.
    public subscript(_ v: Variable) -> Tensor {
        storage[v.id] ?? Tensor(shape: v.shape)
    }

    /// Whether any gradient reached `v`.
    public func contains(_ v: Variable) -> Bool { storage[v.id] != nil }
}

/// Gradients accumulated during the backward sweep, one optional tensor per node.
///
/// Backward closures refer to their inputs by node id only (never by `Variable`, which would
/// keep the tape alive through its own records).
struct GradientTable {
    private var grads: [Tensor?]
    private let needs: [Bool]

    init(needsGradient: [Bool]) {
        needs = needsGradient
        grads = Array(repeating: nil, count: needsGradient.count)
    }

    /// Adds the gradient computed by `g` into node `id` when that node needs one; `g` is not
    /// evaluated otherwise, so unneeded backward products are never computed.
    mutating func accumulate(_ id: Int, _ g: @autoclosure () -> Tensor) {
        if needs[id] { add(id, g()) }
    }

    /// Adds `g` into node `id`'s gradient.
    mutating func add(_ id: Int, _ g: Tensor) {
        if grads[id] == nil {
            grads[id] = g
        } else {
            grads[id]!.data.withUnsafeMutableBufferPointer { dst in
                g.data.withUnsafeBufferPointer { src in
                    precondition(dst.count == src.count,
                                 "gradient of shape \(g.shape) added to one of \(dst.count) elements")
                    Vector.add(src.baseAddress!, dst.baseAddress!, dst.count)
                }
            }
        }
    }

    mutating func take(_ id: Int) -> Tensor? {
        defer { grads[id] = nil }
        return grads[id]
    }
}

/// A node of a tape: a tensor value with a place in the graph.
public struct Variable {
    /// The tape that recorded it.
    public let tape: Tape
    let id: Int

    /// The forward value.
    public let value: Tensor
    /// The value's shape.
    public var shape: [Int] { value.shape }
    /// Whether gradients flow into this variable.
    public var needsGradient: Bool { tape.needsGradient[id] }
    /// The node's position on its tape: stable for the tape's life, usable as a cache key.
    public var identifier: Int { id }
}
