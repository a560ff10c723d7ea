import Engine

/// A position in a ``ParameterSet``: layers hold these instead of tensors, so that a network's
/// structure is separate from the values a meta-learner copies, averages and restores.
public struct ParameterID: Hashable, Sendable {
    public let index: Int
    public init(_ index: Int) { self.index = index }
}

/// A flat, named list of tensors: the weights (or architecture parameters) of a network.
///
/// Meta-learners treat a set as a vector: ``count``, differences and interpolation are defined
/// tensor by tensor in a fixed order, so updates are reproducible.
public struct ParameterSet: Sendable, Equatable {
    /// A name per tensor, e.g. `cells.0.edges.3.sep_conv_3x3.pointwise1.weight`.
    public private(set) var names: [String] = []
    /// The values, in registration order.
    public var tensors: [Tensor] = []

    public init() {}

    /// Appends a tensor and returns its position.
    @discardableResult
    public mutating func append(_ name: String, _ value: Tensor) -> ParameterID {
        names.append(name)
        tensors.append(value)
        return ParameterID(tensors.count - 1)
    }

    /// The tensor at `id`.
    public subscript(_ id: ParameterID) -> Tensor {
        get { tensors[id.index] }
        set {
            precondition(newValue.shape == tensors[id.index].shape,
                         "ParameterSet: \(names[id.index]) has shape \(tensors[id.index].shape), not \(newValue.shape)")
            tensors[id.index] = newValue
        }
    }

    /// The total number of scalars.
    public var scalarCount: Int { tensors.reduce(0) { $0 + $1.count } }

    /// Scalars of the listed tensors only (e.g. the parameters of operations still active).
    public func scalarCount(of ids: some Sequence<ParameterID>) -> Int {
        ids.reduce(0) { $0 + tensors[$1.index].count }
    }

    /// A zero-filled set of the same names and shapes.
    public func zeros() -> ParameterSet {
        var z = self
        for i in z.tensors.indices { z.tensors[i] = Tensor(shape: tensors[i].shape) }
        return z
    }

    /// `self += factor * other`, tensor by tensor (shapes must match).
    public mutating func add(_ other: ParameterSet, scaledBy factor: Float = 1) {
        add(tensors: other.tensors, scaledBy: factor)
    }

    /// `self += factor * other`, with `other` one tensor per tensor of the set (a gradient list).
    public mutating func add(tensors other: [Tensor], scaledBy factor: Float = 1) {
        precondition(tensors.count == other.count, "ParameterSet.add: \(tensors.count) tensors vs \(other.count)")
        for i in tensors.indices { tensors[i].add(other[i], scaledBy: factor) }
    }

    /// `self - other`, tensor by tensor.
    public func subtracting(_ other: ParameterSet) -> ParameterSet {
        var d = self
        d.add(other, scaledBy: -1)
        return d
    }

    /// Binds every tensor to `tape` as a parameter leaf (gradients wanted) or a constant.
    public func bind(to tape: Tape, trainable: Bool) -> [Variable] {
        tensors.map { trainable ? tape.parameter($0) : tape.constant($0) }
    }

    /// Whether every element of every tensor is finite.
    public var isFinite: Bool { tensors.allSatisfy { $0.data.allSatisfy(\.isFinite) } }
}

extension Tensor {
    /// `self += factor * other` element-wise (same shape).
    public mutating func add(_ other: Tensor, scaledBy factor: Float = 1) {
        precondition(shape == other.shape, "Tensor.add: shapes \(shape) and \(other.shape) differ")
        data.withUnsafeMutableBufferPointer { d in
            other.data.withUnsafeBufferPointer { o in
                for k in 0..<d.count { d[k] = d[k].addingProduct(factor, o[k]) }
            }
        }
    }

    /// The sum of squares of all elements.
    public var squaredNorm: Float {
        var s: Float = 0
        for v in data { s = s.addingProduct(v, v) }
        return s
    }
}
