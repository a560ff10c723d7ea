/// A rotation of a square image by a multiple of 90 degrees, counter-clockwise.
///
/// Rotations are exact pixel permutations of the resized image (no resampling), so a rotated
/// class holds exactly rotated copies of its source class's images. With `S` the side length,
/// a counter-clockwise quarter turn moves the pixel at row `r`, column `c` to
///
/// ```
/// r90:  (r, c) -> (S-1-c, r)
/// r180: (r, c) -> (S-1-r, S-1-c)
/// r270: (r, c) -> (c, S-1-r)
/// ```
///
/// (the convention of NumPy's `rot90`).
public enum Rotation: Int, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    /// The identity.
    case r0 = 0
    /// A quarter turn counter-clockwise.
    case r90 = 90
    /// A half turn.
    case r180 = 180
    /// Three quarter turns counter-clockwise (a quarter turn clockwise).
    case r270 = 270

    /// The rotation by `degrees` (any multiple of 90, also negative).
    ///
    /// - Returns: `nil` when `degrees` is not a multiple of 90.
    public init?(degrees: Int) {
        guard degrees % 90 == 0 else { return nil }
        self.init(rawValue: ((degrees % 360) + 360) % 360)
    }

    /// The rotation by this one followed by `other`.
    public func then(_ other: Rotation) -> Rotation {
        Rotation(rawValue: (rawValue + other.rawValue) % 360)!
    }

    public var description: String { "rot\(rawValue)" }

    /// Copies a `side x side` image, rotated, into `destination` (the two must not overlap).
    ///
    /// - Parameters:
    ///   - source: `side * side` pixels, row-major.
    ///   - side: The image's width and height.
    ///   - destination: Receives `side * side` pixels.
    public func apply<Source: Collection>(_ source: Source, side: Int, into destination: UnsafeMutableBufferPointer<Float>)
    where Source.Element == Float, Source.Index == Int {
        precondition(source.count == side * side && destination.count == side * side,
                     "Rotation.apply: \(source.count) -> \(destination.count) pixels for side \(side)")
        let base = source.startIndex
        let last = side - 1
        switch self {
        case .r0:
            for i in 0..<(side * side) { destination[i] = source[base + i] }
        case .r90:
            for r in 0..<side { for c in 0..<side { destination[(last - c) * side + r] = source[base + r * side + c] } }
        case .r180:
            for r in 0..<side {
                for c in 0..<side { destination[(last - r) * side + last - c] = source[base + r * side + c] }
            }
        case .r270:
            for r in 0..<side { for c in 0..<side { destination[c * side + last - r] = source[base + r * side + c] } }
        }
    }

    /// A rotated copy of a `side x side` image.
    ///
    /// - Parameters:
    ///   - image: `side * side` pixels, row-major.
    ///   - side: The image's width and height.
    /// - Returns: The rotated pixels.
    public func applied(to image: [Float], side: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: image.count) { buffer, count in
            apply(image, side: side, into: buffer)
            count = image.count
        }
    }
}
