import Engine
import JSON
import MetaLearning
import SearchSpace

/// Every check a catalog gets before any training, with one positioned problem per finding:
///
/// - what ``Catalog`` reading found: JSON syntax (line and column), unknown keys and kinds,
///   parameter declarations with wrong types or out-of-range defaults, duplicate names;
/// - what building the ``PluginRegistry`` found: unknown built-in names, libraries outside the
///   catalog's folder, missing, of another ABI version, or registering other names;
/// - built-in entries that do not document a setting their plugin reads;
/// - pipelines: references to missing plugins (or plugins of another kind), parameters the
///   plugin does not declare, values of the wrong type or out of range, and the resolved
///   configuration (``PipelineResolver``) that does not validate;
/// - every registered operation's ``OperationContract``.
public struct CatalogValidator: Sendable {
    public let registry: PluginRegistry

    public init(registry: PluginRegistry) { self.registry = registry }

    /// All problems, in file order where they have a place.
    public func problems() -> [JSONError] {
        var problems = registry.catalog.problems + registry.problems
        problems += documentationProblems()
        for pipeline in registry.catalog.pipelines { problems += self.problems(of: pipeline) }
        problems += contractProblems()
        return problems
    }

    /// Built-in entries must declare a parameter for every setting their plugin reads.
    func documentationProblems() -> [JSONError] {
        var problems: [JSONError] = []
        for entry in registry.catalog.plugins where entry.source == .builtIn && entry.unreadableParameters.isEmpty {
            let bound = Set(entry.parameters.map(\.setting))
            for setting in BuiltInPlugins.settingsRead(by: entry.id) where !bound.contains(setting) {
                let path: JSONPath = entry.parameters.isEmpty ? ["name"] : ["parameters"]
                problems.append(entry.origin.error(path, "missing parameter: \(entry.id) reads the setting '\(setting)' "
                                                   + "but declares no parameter bound to it"))
            }
        }
        return problems
    }

    /// References, parameters and the resolved configuration of one pipeline.
    func problems(of pipeline: Pipeline) -> [JSONError] {
        var problems: [JSONError] = []
        let unreadable = registry.catalog.unreadableNames
        func reference(_ kind: PluginKind, _ name: String, _ origin: CatalogOrigin) -> Bool {
            if registry.plugin(PluginID(kind, name)) != nil { return true }
            if unreadable.contains(name) { return false }
            let others = registry.kinds(of: name)
            if let other = others.first {
                problems.append(origin.error([], "'\(name)' is \(article(other)) \(other), not \(article(kind)) \(kind)"))
            } else {
                problems.append(origin.error([], "unknown \(kind) '\(name)' (registered: \(registry.names(kind).joined(separator: ", ")))"))
            }
            return false
        }
        var complete = true
        for (kind, ref) in pipeline.selections {
            guard reference(kind, ref.name, ref.origin) else {
                complete = false
                continue
            }
            let entry = registry.catalog.plugin(PluginID(kind, ref.name))
            for s in ref.parameters {
                guard let p = entry?.parameter(s.key) else {
                    complete = false
                    if entry?.unreadableParameters.contains(s.key) == true { continue }
                    let names = entry?.parameters.map(\.name) ?? []
                    problems.append(s.origin.error([], "\(kind) '\(ref.name)' has no parameter '\(s.key)' "
                                                   + "(parameters: \(names.isEmpty ? "none" : names.joined(separator: ", ")))", atKey: true))
                    continue
                }
                if let problem = p.problem(with: s.value) {
                    problems.append(s.origin.error([], problem.hasPrefix("expects") ? "wrong type: \(ref.name).\(p.name) \(problem)"
                                                   : "\(ref.name).\(p.name) \(problem)"))
                    complete = false
                }
            }
        }
        var seen: Set<String> = []
        for (name, origin) in pipeline.operations {
            if !reference(.operation, name, origin) { complete = false }
            if !seen.insert(name).inserted {
                problems.append(origin.error([], "operation '\(name)' is listed twice"))
                complete = false
            }
        }
        guard complete else { return problems }
        do {
            let config = try PipelineResolver(catalog: registry.catalog).config(for: pipeline)
            try config.searchSpace.validate(registry: registry.components.operations)
        } catch let error as PipelineError {
            problems.append(pipeline.origin.error(["name"], error.description))
        } catch {
            problems.append(pipeline.origin.error(["searchSpace"], "\(error)"))
        }
        return problems
    }

    /// Builds every registered operation and checks its shape contract.
    func contractProblems() -> [JSONError] {
        var problems: [JSONError] = []
        let operations = registry.components.operations
        for name in operations.names {
            guard let definition = operations.definition(name) else { continue }
            for message in OperationContract.problems(of: definition) {
                if let entry = registry.plugin(PluginID(.operation, name))?.entry {
                    problems.append(entry.origin.error(["name"], message))
                } else {
                    problems.append(JSONError(source: definition.source == .builtIn ? "metanas" : "\(definition.source)", message: message))
                }
            }
        }
        return problems
    }

    private func article(_ kind: PluginKind) -> String { kind == .operation ? "an" : "a" }
}
