/// What a plugin provides: the five kinds of building blocks a pipeline is composed from.
///
/// The raw values are the spellings used in catalog files (`"kind": "meta-learner"`).
public enum PluginKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// A candidate operation on the edges of a cell (`conv_3x3`, a plugin's `gated_conv_3x3`).
    case operation
    /// The inner-loop algorithm that adapts one task (`darts`).
    case taskLearner = "task-learner"
    /// The outer-loop rule that combines adapted tasks (`reptile`, `fomaml`).
    case metaLearner = "meta-learner"
    /// How a relaxed architecture is made discrete (`soft`, `hard`).
    case pruner
    /// Where tasks come from (`synthetic`, `omniglot`).
    case dataset

    public var description: String {
        switch self {
        case .operation: return "operation"
        case .taskLearner: return "task learner"
        case .metaLearner: return "meta-learner"
        case .pruner: return "pruner"
        case .dataset: return "dataset"
        }
    }

    /// The ``MetaLearning/RunConfig`` key that selects a plugin of this kind by name, or `nil`
    /// for operations (a search space lists several, under `searchSpace.operations`).
    public var selectionKey: String? {
        switch self {
        case .operation: return nil
        case .taskLearner: return "taskLearner"
        case .metaLearner: return "metaLearner"
        case .pruner: return "pruner"
        case .dataset: return "dataset"
        }
    }

    /// The spellings for messages: `operation, task-learner, ...`.
    static var spellings: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// A plugin's identity in a catalog: names are unique per kind.
public struct PluginID: Hashable, Sendable, CustomStringConvertible {
    public var kind: PluginKind
    public var name: String

    public init(_ kind: PluginKind, _ name: String) { (self.kind, self.name) = (kind, name) }

    public var description: String { "\(kind) '\(name)'" }
}
