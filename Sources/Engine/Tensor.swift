/// A dense float32 tensor with contiguous row-major storage (NCHW for images).
///
/// `Tensor` is a value: copies share storage until one of them is written (copy on write),
/// so passing tensors around and capturing them for the backward pass is cheap.
public struct Tensor: Sendable, Equatable {
    /// The extent of each axis, outermost first.
    public private(set) var shape: [Int]
    /// The elements in row-major order; `data.count == shape.reduce(1, *)`. They start on a
    /// 64-byte cache line (see ``AlignedFloats``).
    public var data: AlignedFloats

    /// Wraps existing elements.
    ///
    /// - Precondition: `data.count` equals the product of `shape`.
    public init(shape: [Int], data: AlignedFloats) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative extent in shape \(shape)")
        precondition(data.count == shape.reduce(1, *),
                     "Tensor: \(data.count) elements do not fill shape \(shape)")
        self.shape = shape
        self.data = data
    }

    /// Copies the elements of an array.
    ///
    /// - Precondition: `data.count` equals the product of `shape`.
    public init(shape: [Int], data: [Float]) {
        self.init(shape: shape, data: AlignedFloats(data))
    }

    /// A tensor filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.init(shape: shape, data: AlignedFloats(repeating: value, count: shape.reduce(1, *)))
    }

    /// A rank-0 tensor holding one number.
    public init(scalar: Float) { self.init(shape: [], data: [scalar]) }

    /// Samples `N(0, std^2)` elements from `generator`.
    public static func randomNormal(shape: [Int], std: Float = 1, using generator: inout SeededGenerator) -> Tensor {
        var t = Tensor(shape: shape)
        for i in 0..<t.data.count { t.data[i] = std * generator.nextNormal() }
        return t
    }

    /// Samples elements uniformly from `[low, high)`.
    public static func randomUniform(shape: [Int], low: Float, high: Float,
                                     using generator: inout SeededGenerator) -> Tensor {
        var t = Tensor(shape: shape)
        for i in 0..<t.data.count { t.data[i] = low + (high - low) * generator.nextUnitFloat() }
        return t
    }

    /// The number of elements.
    public var count: Int { data.count }
    /// The number of axes.
    public var rank: Int { shape.count }
    /// The single element of a tensor with one element.
    public var scalar: Float {
        precondition(data.count == 1, "Tensor.scalar: shape \(shape) has \(data.count) elements")
        return data[0]
    }

    /// The same elements viewed with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count,
                     "reshape: cannot view shape \(shape) as \(newShape)")
        return Tensor(shape: newShape, data: data)
    }

    /// Element at a multi-index (slow; for tests and small tensors).
    public subscript(index: Int...) -> Float {
        get { data[flatIndex(index)] }
        set { data[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "Tensor index \(index) for shape \(shape)")
        var flat = 0
        for (i, extent) in zip(index, shape) {
            precondition(i >= 0 && i < extent, "Tensor index \(index) out of range for shape \(shape)")
            flat = flat * extent + i
        }
        return flat
    }

    /// The largest absolute difference to `other` (same shape).
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "maxAbsDifference: shapes \(shape) and \(other.shape)")
        var m: Float = 0
        for i in 0..<count { m = max(m, abs(data[i] - other.data[i])) }
        return m
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = data.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(shape: \(shape), data: [\(head)\(count > 8 ? ", ..." : "")])"
    }
}
