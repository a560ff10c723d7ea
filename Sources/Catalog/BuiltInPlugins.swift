import MetaLearning
import SearchSpace

/// What metanas itself provides, seen from the catalog: the built-in names of each kind and
/// the RunConfig settings each built-in reads (its catalog entry must document them).
enum BuiltInPlugins {
    /// The built-in names of `kind`, in registration order.
    static func names(_ kind: PluginKind) -> [String] { allNames[kind] ?? [] }

    private static let allNames: [PluginKind: [String]] = {
        let components = Components.builtIn
        return [.operation: components.operations.names, .taskLearner: components.taskLearners.map(\.name),
                .metaLearner: components.metaLearners.map(\.name), .pruner: components.pruners.map(\.name),
                .dataset: DatasetChoice.allCases.map(\.rawValue)]
    }()

    /// The settings a built-in's factory (or data loader) reads. A catalog entry for it must
    /// declare a parameter bound to each, so that the catalog documents every knob.
    static func settingsRead(by id: PluginID) -> [String] {
        switch (id.kind, id.name) {
        case (.metaLearner, "reptile"), (.metaLearner, "fomaml"): return ["metaWeightStep", "metaArchitectureStep"]
        case (.pruner, "soft"): return ["trainingThreshold", "testThreshold"]
        case (.pruner, "hard"): return ["hardRetrainSteps"]
        case (.taskLearner, "darts-unrolled"): return ["unrolledStep"]
        case (.dataset, _): return ["dataFolder"]
        default: return []
        }
    }
}
