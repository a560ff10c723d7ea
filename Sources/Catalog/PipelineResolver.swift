import JSON
import MetaLearning

/// A setting given on the command line or in a config file, applied over a pipeline.
///
/// `key` is a RunConfig key (`iterations`, `searchSpace.channels`) or a plugin parameter
/// qualified by its plugin's name (`reptile.weightStep`), which the catalog maps to the
/// RunConfig setting it binds (`metaWeightStep`) after checking type and range.
public struct ConfigOverride: Sendable {
    public enum Value: Sendable {
        /// A JSON value (from a config file).
        case json(JSONValue)
        /// Command-line text, parsed according to the setting's type.
        case text(String)
    }

    public var key: String
    public var value: Value
    /// Where it came from, for messages: `--set`, `--config run.json`.
    public var origin: String

    public init(key: String, value: Value, origin: String) { (self.key, self.value, self.origin) = (key, value, origin) }

    /// Parses `k=v,k2=v2` (the `--set` syntax).
    public static func parseAssignments(_ text: String, origin: String = "--set") throws(PipelineError) -> [ConfigOverride] {
        try text.split(separator: ",", omittingEmptySubsequences: true).map { (a: Substring) throws(PipelineError) -> ConfigOverride in
            guard let eq = a.firstIndex(of: "=") else { throw PipelineError("\(origin): expected KEY=VALUE, got '\(a)'") }
            return ConfigOverride(key: String(a[..<eq]).trimmed, value: .text(String(a[a.index(after: eq)...]).trimmed), origin: origin)
        }
    }
}

/// A pipeline that cannot be turned into a run configuration; the message says what to change.
public struct PipelineError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ message: String) { description = message }
}

/// Turns a pipeline into a ``MetaLearning/RunConfig``.
///
/// Layers, each over the previous one:
///
/// ```
/// 1. RunConfig()                                     the code's defaults
/// 2. catalog defaults of the selected plugins        e.g. reptile.weightStep -> metaWeightStep
/// 3. the base preset's own changes                   the keys where preset != RunConfig()
/// 4. plugin choices                                  dataset, taskLearner, metaLearner, pruner,
///                                                    searchSpace.operations
/// 5. the pipeline's searchSpace and settings
/// 6. the pipeline's plugin parameters
/// 7. overrides, in order                             RunConfig keys or plugin.parameter
/// ```
/// An override of a plugin choice (`--set metaLearner=fomaml`) is applied at step 4, so the
/// newly chosen plugin's defaults apply. Finally every parameter of every selected plugin
/// is checked against its declared range, whichever layer set it, and the configuration is
/// validated.
public struct PipelineResolver: Sendable {
    /// RunConfig keys that choose plugins rather than hold parameters.
    public static let selectionKeys = ["dataset", "taskLearner", "metaLearner", "pruner", "searchSpace.operations"]

    public let catalog: Catalog

    public init(catalog: Catalog) { self.catalog = catalog }

    /// The run configuration of the pipeline called `name`.
    ///
    /// - Throws: ``PipelineError`` naming the pipeline and the offending key.
    public func config(forPipeline name: String, overrides: [ConfigOverride] = []) throws(PipelineError) -> RunConfig {
        guard let pipeline = catalog.pipeline(name) else {
            let known = catalog.pipelines.map(\.name)
            throw PipelineError("unknown pipeline '\(name)' (pipelines: \(known.isEmpty ? "none" : known.joined(separator: ", ")))")
        }
        return try config(for: pipeline, overrides: overrides)
    }

    /// The run configuration of `pipeline` with `overrides` applied.
    public func config(for pipeline: Pipeline, overrides: [ConfigOverride] = []) throws(PipelineError) -> RunConfig {
        let context = "pipeline '\(pipeline.name)'"
        // 4 (decided first): the plugin choices.
        var choice: [String: JSONValue] = [
            "dataset": .string(pipeline.dataset.name), "taskLearner": .string(pipeline.taskLearner.name),
            "metaLearner": .string(pipeline.metaLearner.name), "pruner": .string(pipeline.pruner.name),
            "searchSpace.operations": .array(pipeline.operations.map { .string($0.name) }),
        ]
        var rest: [ConfigOverride] = []
        for o in overrides {
            if Self.selectionKeys.contains(o.key) { choice[o.key] = try value(of: o, forField: o.key) } else { rest.append(o) }
        }
        let selected = selectedEntries(choice)

        var c = RunConfig()
        func set(_ key: String, _ v: JSONValue, _ origin: String) throws(PipelineError) {
            do { try c.set(key, v) } catch { throw PipelineError("\(origin): \(key) \(error.message)") }
        }
        // 2: plugin defaults.
        for entry in selected {
            for p in entry.parameters { try set(p.setting, p.defaultValue, "\(entry.id) default of '\(p.name)'") }
        }
        // 3: the preset's own changes.
        if let presetName = pipeline.preset {
            guard let preset = RunConfig.preset(presetName) else { throw PipelineError("\(context): unknown preset '\(presetName)'") }
            let base = RunConfig().json, changed = preset.json
            for field in RunConfig.fields where !Self.selectionKeys.contains(field.key) {
                if let v = changed[field.key], v != base[field.key] { try set(field.key, v, "preset '\(presetName)'") }
            }
        }
        // 4.
        for key in Self.selectionKeys { try set(key, choice[key]!, context) }
        // 5.
        for s in pipeline.searchSpace { try set(s.key, s.value, context) }
        for s in pipeline.settings { try set(s.key, s.value, context) }
        // 6: only for plugins that are still selected.
        for (kind, reference) in pipeline.selections where choice[kind.selectionKey!] == .string(reference.name) {
            guard let entry = catalog.plugin(PluginID(kind, reference.name)) else { continue }
            for s in reference.parameters {
                let p = try parameter(entry, s.key, context)
                if let problem = p.problem(with: s.value) { throw PipelineError("\(context): \(entry.id.name).\(p.name) \(problem)") }
                try set(p.setting, s.value, "\(context), \(entry.id.name).\(p.name)")
            }
        }
        // 7.
        for o in rest {
            if RunConfig.fields.contains(where: { $0.key == o.key }) {
                try set(o.key, try value(of: o, forField: o.key), o.origin)
                continue
            }
            guard let dot = o.key.firstIndex(of: ".") else {
                throw PipelineError("\(o.origin): '\(o.key)' is neither a setting nor a plugin parameter (plugin.parameter, e.g. reptile.weightStep)")
            }
            let pluginName = String(o.key[..<dot]), parameterName = String(o.key[o.key.index(after: dot)...])
            guard let entry = selected.first(where: { $0.id.name == pluginName }) else {
                let kinds = catalog.plugins.filter { $0.id.name == pluginName }.map(\.id.kind)
                if let kind = kinds.first, let key = kind.selectionKey {
                    throw PipelineError("\(o.origin): \(o.key): '\(pluginName)' is not part of this run (its \(kind) is "
                                        + "'\(choice[key]?.stringValue ?? "?")'); its parameters would have no effect")
                }
                throw PipelineError("\(o.origin): '\(o.key)': no selected plugin is called '\(pluginName)'")
            }
            let p = try parameter(entry, parameterName, o.origin)
            let v = try value(of: o, type: p.type)
            if let problem = p.problem(with: v) { throw PipelineError("\(o.origin): \(o.key) \(problem)") }
            try set(p.setting, v, "\(o.origin) \(o.key)")
        }
        try checkRanges(c, context: context)
        do { try c.validate() } catch { throw PipelineError("\(context): \(error)") }
        return c
    }

    /// Checks every parameter of the plugins `config` selects against its declared range.
    ///
    /// - Throws: ``PipelineError`` naming the plugin parameter and the setting it binds.
    public func checkRanges(_ config: RunConfig, context: String = "config") throws(PipelineError) {
        let json = config.json
        var choice: [String: JSONValue] = [:]
        for key in Self.selectionKeys { choice[key] = json[key] }
        for entry in selectedEntries(choice) {
            for p in entry.parameters {
                guard let v = json[p.setting] else { continue }
                // Floats are stored as Float: compare the value that was written, not its widening.
                let value: JSONValue = p.type == .float ? v.doubleValue.map { .double(Double(Float($0)).roundedToFloatText) } ?? v : v
                if let problem = p.problem(with: value) {
                    throw PipelineError("\(context): \(entry.id.name).\(p.name) (setting \(p.setting)) \(problem)")
                }
            }
        }
    }

    /// The catalog entries of the plugins a choice selects (operations have no parameters).
    private func selectedEntries(_ choice: [String: JSONValue]) -> [PluginEntry] {
        PluginKind.allCases.compactMap { kind in
            guard let key = kind.selectionKey, let name = choice[key]?.stringValue else { return nil }
            return catalog.plugin(PluginID(kind, name))
        }
    }

    private func parameter(_ entry: PluginEntry, _ name: String, _ origin: String) throws(PipelineError) -> PluginParameter {
        guard let p = entry.parameter(name) else {
            let names = entry.parameters.map(\.name)
            throw PipelineError("\(origin): \(entry.id) has no parameter '\(name)' (parameters: \(names.isEmpty ? "none" : names.joined(separator: ", ")))")
        }
        return p
    }

    /// An override's value for a RunConfig field (text parsed by the field's kind).
    private func value(of o: ConfigOverride, forField key: String) throws(PipelineError) -> JSONValue {
        switch o.value {
        case .json(let v): return v
        case .text(let t):
            var scratch = RunConfig()
            do { try scratch.set(key, text: t) } catch { throw PipelineError("\(o.origin): \(key) \(error.message)") }
            return scratch.json[key] ?? .string(t)
        }
    }

    /// An override's value for a plugin parameter of `type`.
    private func value(of o: ConfigOverride, type: ParameterType) throws(PipelineError) -> JSONValue {
        switch o.value {
        case .json(let v): return v
        case .text(let t):
            switch type {
            case .int: if let i = Int64(t) { return .int(i) }
            case .float: if let d = Double(t), d.isFinite { return .double(d) }
            case .bool: if t == "true" || t == "false" { return .bool(t == "true") }
            case .string: return .string(t)
            }
            throw PipelineError("\(o.origin): \(o.key) expects \(type.article), got '\(t)'")
        }
    }
}

private extension Double {
    /// The shortest decimal that reads back as the same `Float` (0.6 rather than 0.60000002384).
    var roundedToFloatText: Double { Double("\(Float(self))") ?? self }
}

private extension String {
    var trimmed: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
