import JSON

/// Where a plugin's code comes from.
public enum PluginSource: Sendable, Hashable, CustomStringConvertible {
    /// Compiled into metanas.
    case builtIn
    /// A dynamic library, by the path the catalog gives (relative to the catalog's folder).
    case library(path: String)

    public var description: String {
        switch self {
        case .builtIn: return "built-in"
        case .library(let path): return path
        }
    }
}

/// One plugin documented in a catalog: what it is, where it comes from, its parameters.
public struct PluginEntry: Sendable {
    public var id: PluginID
    public var summary: String
    public var source: PluginSource
    public var parameters: [PluginParameter]
    /// The folder of the catalog file the entry comes from; library paths are relative to it.
    public var folder: String
    /// The entry object in its file.
    public var origin: CatalogOrigin
    /// Parameters whose declaration could not be read (already reported; not reported again
    /// as missing or unknown).
    var unreadableParameters: Set<String> = []

    public func parameter(_ name: String) -> PluginParameter? { parameters.first { $0.name == name } }
}

/// A value given in a catalog for a named key (a plugin parameter or a RunConfig setting).
public struct CatalogSetting: Sendable {
    public var key: String
    public var value: JSONValue
    /// Where the value stands.
    public var origin: CatalogOrigin
}

/// A pipeline's choice of one plugin, with parameter values for it:
/// `"metaLearner": "reptile"` or `"metaLearner": {"name": "reptile", "parameters": {"weightStep": 0.5}}`.
public struct PluginReference: Sendable {
    public var name: String
    public var parameters: [CatalogSetting]
    /// Where the name stands.
    public var origin: CatalogOrigin
}

/// A named composition of plugins and settings that `metanas search --pipeline NAME` runs.
///
/// Its run configuration is built in layers (see ``PipelineResolver``): the RunConfig
/// defaults, the selected plugins' parameter defaults, the base preset's own changes, the
/// pipeline's search space and settings, its plugin parameters, then command-line overrides.
public struct Pipeline: Sendable {
    public var name: String
    public var summary: String
    /// The RunConfig preset the pipeline starts from (`small`, `omniglot-20way-1shot`).
    public var preset: String?
    public var presetOrigin: CatalogOrigin?
    public var dataset: PluginReference
    public var taskLearner: PluginReference
    public var metaLearner: PluginReference
    public var pruner: PluginReference
    /// The candidate operations on every edge, in order.
    public var operations: [(name: String, origin: CatalogOrigin)]
    /// Other search-space settings, keys without the `searchSpace.` prefix.
    public var searchSpace: [CatalogSetting]
    /// Schedule and any other RunConfig settings, by RunConfig key.
    public var settings: [CatalogSetting]
    public var origin: CatalogOrigin

    /// The plugin selections with their kinds, in the order they are applied.
    public var selections: [(kind: PluginKind, reference: PluginReference)] {
        [(.dataset, dataset), (.taskLearner, taskLearner), (.metaLearner, metaLearner), (.pruner, pruner)]
    }
}

/// One catalog file as read: its entries, and the problems found while reading it.
public struct CatalogFile: Sendable {
    /// The name used in messages (the path as given, or a label).
    public var source: String
    /// The folder library paths are relative to.
    public var folder: String
    public var plugins: [PluginEntry] = []
    public var pipelines: [Pipeline] = []
    /// Syntax and shape problems, each at its place in the file.
    public var problems: [JSONError] = []
    /// Names of entries that could not be read: references to them are not reported again.
    var unreadableNames: Set<String> = []

    init(source: String, folder: String) { (self.source, self.folder) = (source, folder) }
}
