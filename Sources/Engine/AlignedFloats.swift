#if canImport(Glibc)
import Glibc
#endif

/// The elements of a ``Tensor``: contiguous `Float`s whose first element starts a 64-byte cache
/// line, with the value semantics of an array (copies share storage until one is written).
///
/// Why not `[Float]`: an array's elements start 32 bytes into a 16-byte-aligned allocation,
/// so a tensor's planes would begin on a cache line only one time in four. The small matrix
/// products of the search network lose a sixth (forward) to two fifths (filter gradients) of
/// their speed when a plane starts off a line, because then every vector load spans two lines.
///
/// It behaves as a random-access, mutable collection of `Float`; `Array(t.data)` gives an array.
public struct AlignedFloats: RandomAccessCollection, MutableCollection, Sendable {
    /// The bytes every buffer is aligned to.
    public static let alignment = 64

    final class Storage: @unchecked Sendable {
        let base: UnsafeMutablePointer<Float>
        let count: Int
        /// What `malloc` returned: a line more than needed, so that `base` can start a line.
        /// (`posix_memalign` would do it too, but its split-off remainders fragment the heap:
        /// a training step's peak memory grew by a quarter.)
        private let block: UnsafeMutableRawPointer

        /// Uninitialised storage for `count` elements (`Float` needs no initialisation).
        init(count: Int) {
            self.count = count
            let line = AlignedFloats.alignment
            guard let block = malloc(Swift.max(count, 1) * MemoryLayout<Float>.stride + line) else {
                fatalError("AlignedFloats: out of memory for \(count) elements")
            }
            self.block = block
            let start = (Int(bitPattern: block) + line - 1) & ~(line - 1)
            base = UnsafeMutableRawPointer(bitPattern: start)!.bindMemory(to: Float.self, capacity: Swift.max(count, 1))
        }

        deinit { free(block) }
    }

    private var storage: Storage

    /// `count` elements that `initializer` must all write.
    public init(unsafeUninitializedCount count: Int, initializingWith initializer: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        precondition(count >= 0, "AlignedFloats: negative count \(count)")
        storage = Storage(count: count)
        try initializer(UnsafeMutableBufferPointer(start: storage.base, count: count))
    }

    public init(repeating value: Float, count: Int) {
        self.init(unsafeUninitializedCount: count) { $0.initialize(repeating: value) }
    }

    public init() { self.init(repeating: 0, count: 0) }

    public init(_ elements: [Float]) {
        self.init(unsafeUninitializedCount: elements.count) { b in
            elements.withUnsafeBufferPointer { src in
                if let s = src.baseAddress { b.baseAddress!.update(from: s, count: src.count) }
            }
        }
    }

    public init<S: Sequence>(_ elements: S) where S.Element == Float {
        self.init(Array(elements))
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.count }
    public var count: Int { storage.count }

    public subscript(i: Int) -> Float {
        get {
            precondition(i >= 0 && i < storage.count, "AlignedFloats: index \(i) out of range 0..<\(storage.count)")
            return storage.base[i]
        }
        set {
            precondition(i >= 0 && i < storage.count, "AlignedFloats: index \(i) out of range 0..<\(storage.count)")
            makeUnique()
            storage.base[i] = newValue
        }
    }

    /// Calls `body` with the elements; the pointer is valid during the call only.
    @inline(__always)
    public func withUnsafeBufferPointer<R, E: Error>(_ body: (UnsafeBufferPointer<Float>) throws(E) -> R) throws(E) -> R {
        try withExtendedLifetime(storage) { () throws(E) -> R in
            try body(UnsafeBufferPointer(start: storage.base, count: storage.count))
        }
    }

    /// Calls `body` with the elements to write (after copying them if the storage is shared).
    @inline(__always)
    public mutating func withUnsafeMutableBufferPointer<R, E: Error>(
        _ body: (inout UnsafeMutableBufferPointer<Float>) throws(E) -> R) throws(E) -> R {
        makeUnique()
        var buffer = UnsafeMutableBufferPointer(start: storage.base, count: storage.count)
        return try withExtendedLifetime(storage) { () throws(E) -> R in try body(&buffer) }
    }

    /// Calls `body` with the elements' bytes; the pointer is valid during the call only.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBufferPointer { try body(UnsafeRawBufferPointer($0)) }
    }

    public func withContiguousStorageIfAvailable<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R? {
        try withUnsafeBufferPointer(body)
    }

    @inline(__always)
    private mutating func makeUnique() {
        if isKnownUniquelyReferenced(&storage) { return }
        let old = storage
        storage = Storage(count: old.count)
        storage.base.update(from: old.base, count: old.count)
    }
}

extension AlignedFloats: Equatable {
    /// Element by element, as arrays compare (so NaN differs from itself).
    public static func == (a: AlignedFloats, b: AlignedFloats) -> Bool {
        guard a.count == b.count else { return false }
        if a.storage === b.storage { return !a.contains { $0.isNaN } }
        for i in 0..<a.count where a.storage.base[i] != b.storage.base[i] { return false }
        return true
    }
}

extension AlignedFloats {
    /// Whether the elements equal an array's, element by element.
    public static func == (a: AlignedFloats, b: [Float]) -> Bool { a.elementsEqual(b) }
    public static func == (a: [Float], b: AlignedFloats) -> Bool { b.elementsEqual(a) }
    public static func != (a: AlignedFloats, b: [Float]) -> Bool { !(a == b) }
    public static func != (a: [Float], b: AlignedFloats) -> Bool { !(a == b) }
}

extension AlignedFloats: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: Float...) { self.init(elements) }
}

extension AlignedFloats: CustomStringConvertible {
    public var description: String { Array(self).description }
}

/// Runs `body` with uninitialised scratch for `count` floats that starts on a 64-byte cache
/// line (storage of the same kind as ``AlignedFloats``), freed when `body` returns.
@inline(__always)
func withAlignedScratch<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
    let storage = AlignedFloats.Storage(count: count)
    return withExtendedLifetime(storage) { body(storage.base) }
}

/// `count` floats rounded up to whole cache lines, so that what follows them in one scratch
/// buffer starts on a line too.
@inline(__always) func roundedToLine(_ count: Int) -> Int {
    let perLine = AlignedFloats.alignment / MemoryLayout<Float>.stride
    return (count + perLine - 1) / perLine * perLine
}
