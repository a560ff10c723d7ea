import Engine
import NN

/// What an operation is built for: its channel count (in = out) and stride (1 or 2).
public struct OperationShape: Hashable, Sendable {
    public var channels: Int
    public var stride: Int
    public init(channels: Int, stride: Int) { (self.channels, self.stride) = (channels, stride) }
}

/// A candidate operation on one edge of a cell: maps `[N, C, H, W]` to `[N, C, H/s, W/s]`.
///
/// Implement this (and register a factory in an ``OperationRegistry``) to add an operation to
/// the search space; parameters are created through the ``ParameterBuilder`` the factory gets.
public protocol CandidateOperation: Sendable {
    /// Applies the operation.
    func callAsFunction(_ x: Variable, _ ctx: ForwardContext) -> Variable
    /// True for the parameter-free identity, which is not followed by drop-path.
    var isIdentity: Bool { get }
    /// True for the `none` (zero) operation, which discretization never picks.
    var isZero: Bool { get }
    /// Forward multiply-adds x 2 for `batch` inputs of `height x width` pixels.
    func flops(batch: Int, height: Int, width: Int) -> Double
    /// For an operation that ends with a non-affine batch norm: its output before that norm,
    /// and the norm (nil otherwise, the default). In training mode a MixedOp then normalises
    /// these outputs of an edge and mixes them in one pass, without writing the normalised
    /// tensors; the result equals `callAsFunction`'s up to rounding.
    func beforeNorm(_ x: Variable, _ ctx: ForwardContext) -> (output: Variable, norm: BatchNorm2D)?
}

extension CandidateOperation {
    public var isIdentity: Bool { false }
    public var isZero: Bool { false }
    public func flops(batch: Int, height: Int, width: Int) -> Double { 0 }
    public func beforeNorm(_ x: Variable, _ ctx: ForwardContext) -> (output: Variable, norm: BatchNorm2D)? { nil }
}

/// Where a registered operation comes from.
public enum OperationSource: Hashable, Sendable, CustomStringConvertible {
    case builtIn
    /// Loaded at run time from a dynamic library.
    case plugin(path: String)

    public var description: String {
        switch self {
        case .builtIn: return "built in"
        case .plugin(let path): return "plugin \(path)"
        }
    }
}

/// How to build one named operation.
public struct OperationDefinition: Sendable {
    public let name: String
    public let summary: String
    public let source: OperationSource
    /// Builds an instance, registering its parameters under `prefix`.
    public let make: @Sendable (_ shape: OperationShape, _ builder: inout ParameterBuilder, _ prefix: String) -> any CandidateOperation

    public init(name: String, summary: String, source: OperationSource = .builtIn,
                make: @escaping @Sendable (OperationShape, inout ParameterBuilder, String) -> any CandidateOperation) {
        (self.name, self.summary, self.source, self.make) = (name, summary, source, make)
    }
}

/// An operation name that is not registered.
public struct UnknownOperationError: Error, CustomStringConvertible, Equatable {
    public let name: String
    public let known: [String]
    public var description: String {
        "unknown operation '\(name)' (registered: \(known.joined(separator: ", ")))"
    }
}

/// The operations a search space can use, by name. A value: build it at start-up (built-ins
/// plus plugins) and pass it down; there is no global registry.
public struct OperationRegistry: Sendable {
    private var definitions: [String: OperationDefinition] = [:]
    /// Names in registration order.
    public private(set) var names: [String] = []

    public init() {}

    /// Adds or replaces a definition.
    public mutating func register(_ definition: OperationDefinition) {
        if definitions[definition.name] == nil { names.append(definition.name) }
        definitions[definition.name] = definition
    }

    public func definition(_ name: String) -> OperationDefinition? { definitions[name] }

    /// The definition of `name`, or an error listing what is registered.
    public func lookup(_ name: String) throws(UnknownOperationError) -> OperationDefinition {
        guard let d = definitions[name] else { throw UnknownOperationError(name: name, known: names) }
        return d
    }
}
