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
    public let threads: KernelThreads

    /// Adds the contribution of a node's output gradient to its inputs' gradients. The
    /// gradient is `dy` with sample `n` (along the first axis) scaled by `scales[n]`, when
    /// `scales` is given (only to nodes recorded as accepting such gradients).
    typealias Backward = (_ dy: Tensor, _ scales: [Float]?, inout GradientTable) -> Void

    struct Record {
        var backward: Backward?
        /// Whether `backward` takes per-sample scaled gradients; others get them applied first.
        var acceptsSampleScales = false
    }

    private(set) var needsGradient: [Bool] = []
    private var records: [Record] = []
    private var isLeafParameter: [Bool] = []

    /// Creates an empty tape.
    ///
    /// - Parameter threads: threads each kernel may use: a fixed number, or the idle threads of
    ///   the ``ThreadTeam`` that runs the tape's task.
    public init(threads: KernelThreads = 1) {
        self.threads = threads
    }

    /// The number of recorded nodes (for tests and memory accounting).
    public var nodeCount: Int { needsGradient.count }

    /// A leaf that receives a gradient.
    public func parameter(_ value: Tensor) -> Variable {
        append(value, needsGradient: true, leaf: true)
    }

    /// A leaf that never receives a gradient (data, labels, fixed statistics).
    public func constant(_ value: Tensor) -> Variable {
        append(value, needsGradient: false, leaf: false)
    }

    /// Records a node computed from `inputs`; `backward` is kept only when an input needs a gradient.
    func record(_ value: Tensor, inputs: [Variable],
                backward: @escaping (Tensor, inout GradientTable) -> Void) -> Variable {
        let needs = inputs.contains { needsGradient[$0.id] }
        return append(value, needsGradient: needs, leaf: false,
                      record: Record(backward: needs ? { dy, _, grads in backward(dy, &grads) } : nil))
    }

    /// Records a node whose backward pass takes its output gradient as a tensor plus optional
    /// per-sample scales, so that a scaled gradient (from a weighted sum or drop-path) is
    /// never written out as a tensor of its own.
    func record(_ value: Tensor, inputs: [Variable], sampleScaledBackward backward: @escaping Backward) -> Variable {
        let needs = inputs.contains { needsGradient[$0.id] }
        return append(value, needsGradient: needs, leaf: false,
                      record: Record(backward: needs ? backward : nil, acceptsSampleScales: true))
    }

    private func append(_ value: Tensor, needsGradient needs: Bool, leaf: Bool, record: Record = Record()) -> Variable {
        needsGradient.append(needs)
        isLeafParameter.append(leaf)
        records.append(record)
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
        var table = GradientTable(needsGradient: needsGradient, threads: threads)
        table.add(output.id, Tensor(shape: output.shape, repeating: 1))
        var result: [Int: Tensor] = [:]
        var i = output.id
        while i >= 0 {
            if isLeafParameter[i] {
                if let g = table.take(i) { result[i] = g }
            } else if let backward = records[i].backward {
                if records[i].acceptsSampleScales {
                    if let (g, scales) = table.takeScaled(i) { backward(g, scales, &table) }
                } else if let g = table.take(i) {
                    backward(g, nil, &table)
                }
            } else {
                _ = table.take(i)
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
/// A node's gradient may be held as a tensor shared with other nodes plus per-sample scales
/// (what a weighted sum passes to its inputs); the scales are applied when the gradient is
/// added to or taken by a node that does not accept them, and never written out otherwise.
///
/// Backward closures refer to their inputs by node id only (never by `Variable`, which would
/// keep the tape alive through its own records).
struct GradientTable {
    private var grads: [Tensor?]
    /// Per-sample scales still to be applied to `grads[id]`, when not nil.
    private var scales: [[Float]?]
    private let needs: [Bool]

    /// Threads for the element-wise work of adding gradients.
    private let threads: KernelThreads

    init(needsGradient: [Bool], threads: KernelThreads = 1) {
        self.threads = threads
        needs = needsGradient
        grads = Array(repeating: nil, count: needsGradient.count)
        scales = Array(repeating: nil, count: needsGradient.count)
    }

    /// Adds the gradient computed by `g` into node `id` when that node needs one; `g` is not
    /// evaluated otherwise, so unneeded backward products are never computed.
    mutating func accumulate(_ id: Int, _ g: @autoclosure () -> Tensor) {
        if needs[id] { add(id, g()) }
    }

    /// Adds `g` with sample `n` scaled by `sampleScales[n]` into node `id`'s gradient, when the
    /// node needs one. The first gradient a node receives is kept as `g` plus the scales,
    /// without a copy.
    mutating func accumulate(_ id: Int, _ g: Tensor, sampleScales: [Float]) {
        guard needs[id] else { return }
        precondition(sampleScales.count == g.shape.first ?? 1,
                     "\(sampleScales.count) sample scales for a gradient of shape \(g.shape)")
        guard grads[id] != nil else {
            grads[id] = g
            scales[id] = sampleScales
            return
        }
        applyScales(id)
        let per = g.count / max(sampleScales.count, 1)
        grads[id]!.data.withUnsafeMutableBufferPointer { dst in
            g.data.withUnsafeBufferPointer { src in
                precondition(dst.count == src.count, "gradient of shape \(g.shape) added to one of \(dst.count) elements")
                let (x, y) = (UncheckedBox(src.baseAddress!), UncheckedBox(dst.baseAddress!))
                parallelRanges(sampleScales.count, itemSize: per, threads: threads) { samples in
                    for n in samples where sampleScales[n] != 0 {
                        Vector.axpy(sampleScales[n], x.value + n * per, y.value + n * per, per)
                    }
                }
            }
        }
    }

    /// Lets `write` produce node `id`'s gradient contribution in place, when the node needs a
    /// gradient: into a fresh uninitialised buffer of `shape` (`accumulating` false, every
    /// element must be written) or into the gradient the node already holds (`accumulating`
    /// true, the contribution must be added), which saves the separate tensor and adding pass
    /// of ``accumulate(_:_:)``.
    mutating func accumulate(_ id: Int, shape: [Int],
                             _ write: (_ gradient: UnsafeMutablePointer<Float>, _ accumulating: Bool) -> Void) {
        guard needs[id] else { return }
        guard grads[id] != nil else {
            grads[id] = Tensor(uninitializedShape: shape) { write($0.baseAddress!, false) }
            return
        }
        applyScales(id)
        let count = shape.reduce(1, *)
        grads[id]!.data.withUnsafeMutableBufferPointer { dst in
            precondition(dst.count == count, "gradient of shape \(shape) added to one of \(dst.count) elements")
            write(dst.baseAddress!, true)
        }
    }

    /// Adds `g` into node `id`'s gradient.
    mutating func add(_ id: Int, _ g: Tensor) {
        if grads[id] == nil {
            grads[id] = g
        } else if let s = scales[id] {
            // One pass: a fresh tensor of the scaled gradient plus `g`.
            let held = grads[id]!
            precondition(held.count == g.count, "gradient of shape \(g.shape) added to one of shape \(held.shape)")
            let per = g.count / max(s.count, 1)
            grads[id] = Tensor(uninitializedShape: held.shape) { out in
                held.data.withUnsafeBufferPointer { hb in
                    g.data.withUnsafeBufferPointer { gb in
                        let (h, x, z) = (UncheckedBox(hb.baseAddress!), UncheckedBox(gb.baseAddress!), UncheckedBox(out.baseAddress!))
                        parallelRanges(s.count, itemSize: per, threads: threads) { samples in
                            for n in samples {
                                Vector.linear(s[n], h.value + n * per, 1, x.value + n * per, 0, z.value + n * per, per)
                            }
                        }
                    }
                }
            }
            scales[id] = nil
        } else {
            grads[id]!.data.withUnsafeMutableBufferPointer { dst in
                g.data.withUnsafeBufferPointer { src in
                    precondition(dst.count == src.count,
                                 "gradient of shape \(g.shape) added to one of \(dst.count) elements")
                    let (x, y) = (UncheckedBox(src.baseAddress!), UncheckedBox(dst.baseAddress!))
                    parallelRanges(dst.count, itemSize: 1, threads: threads) { r in
                        Vector.add(x.value + r.lowerBound, y.value + r.lowerBound, r.count)
                    }
                }
            }
        }
    }

    /// Replaces a scaled gradient by a tensor of its own with the scales applied.
    private mutating func applyScales(_ id: Int) {
        guard let s = scales[id], let held = grads[id] else { return }
        let per = held.count / max(s.count, 1)
        grads[id] = Tensor(uninitializedShape: held.shape) { out in
            held.data.withUnsafeBufferPointer { hb in
                let (x, z) = (UncheckedBox(hb.baseAddress!), UncheckedBox(out.baseAddress!))
                parallelRanges(s.count, itemSize: per, threads: threads) { samples in
                    for n in samples { Vector.affine(s[n], x.value + n * per, 0, z.value + n * per, per) }
                }
            }
        }
        scales[id] = nil
    }

    /// Node `id`'s gradient with any scales applied; the table lets go of it.
    mutating func take(_ id: Int) -> Tensor? {
        applyScales(id)
        defer { grads[id] = nil }
        return grads[id]
    }

    /// Node `id`'s gradient as held: a tensor and the per-sample scales still to apply to it.
    mutating func takeScaled(_ id: Int) -> (Tensor, [Float]?)? {
        defer { grads[id] = nil; scales[id] = nil }
        return grads[id].map { ($0, scales[id]) }
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
