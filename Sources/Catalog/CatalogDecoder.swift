import JSON
import MetaLearning

/// Reads one catalog document into model values. Every problem is recorded at its place and
/// reading goes on, so one run of `metanas catalog validate` lists them all.
///
/// Checks made here need nothing but the file itself: syntax and shapes, unknown keys and
/// kinds, names, parameter declarations (types, defaults, ranges, the RunConfig setting each
/// binds to), setting keys and value types, duplicates. Cross-references (pipelines to plugins,
/// built-in names, libraries) are checked by ``CatalogValidator``.
final class CatalogDecoder {
    /// The format tag every catalog starts with.
    static let format = "metanas.catalog/1"

    private var file: CatalogFile

    private init(source: String, folder: String) { file = CatalogFile(source: source, folder: folder) }

    /// Decodes a parsed document.
    static func decode(_ document: JSONDocument, folder: String) -> CatalogFile {
        let decoder = CatalogDecoder(source: document.source, folder: folder)
        decoder.decodeRoot(document.root)
        return decoder.file
    }

    /// A file that could not be parsed or read: just its problem.
    static func failed(source: String, folder: String, _ problem: JSONError) -> CatalogFile {
        var f = CatalogFile(source: source, folder: folder)
        f.problems = [problem]
        return f
    }

    // MARK: Problems

    private func report(_ error: JSONError) { file.problems.append(error) }

    /// Runs `body`, recording a thrown `JSONError` (or any other error) as a problem.
    private func attempt<T>(_ body: () throws -> T) -> T? {
        do {
            return try body()
        } catch let error as JSONError {
            report(error)
        } catch {
            report(JSONError(source: file.source, message: "\(error)"))
        }
        return nil
    }

    /// Reports every member whose key is not in `allowed`, at the key.
    private func reportUnknownKeys(_ c: JSONCursor, _ allowed: [String], what: String) {
        guard case .object(let members) = c.value else { return }
        for m in members where !allowed.contains(m.key) {
            report(c.document.error(at: c.path + [.key(m.key)],
                                    "unknown key in \(what) (expected one of: \(allowed.joined(separator: ", ")))", atKey: true))
        }
    }

    private func requireObject(_ c: JSONCursor, _ what: String) -> Bool {
        if case .object = c.value { return true }
        report(c.error("expected \(what) (an object), found \(c.value.kindDescription)"))
        return false
    }

    // MARK: Root

    private func decodeRoot(_ root: JSONCursor) {
        guard requireObject(root, "a catalog") else { return }
        reportUnknownKeys(root, ["format", "summary", "plugins", "pipelines"], what: "a catalog")
        _ = attempt {
            let f = try root.member("format")
            let s = try f.string()
            guard s == Self.format else { throw f.error("unsupported format '\(s)' (expected '\(Self.format)')") }
        }
        _ = attempt { try root.optionalMember("summary")?.string() }
        if let plugins = attempt({ try root.optionalMember("plugins")?.elements() }) ?? nil {
            for c in plugins { decodePlugin(c) }
        }
        if let pipelines = attempt({ try root.optionalMember("pipelines")?.elements() }) ?? nil {
            for c in pipelines { decodePipeline(c) }
        }
        reportDuplicates()
    }

    /// Plugin names are unique per kind, pipeline names unique, within one file.
    private func reportDuplicates() {
        var seen: [PluginID: PluginEntry] = [:]
        for p in file.plugins {
            if let first = seen[p.id] {
                report(p.origin.error(["name"], "duplicate \(p.id) (first defined at \(place(first.origin, ["name"])))"))
            } else {
                seen[p.id] = p
            }
        }
        var pipelines: [String: Pipeline] = [:]
        for p in file.pipelines {
            if let first = pipelines[p.name] {
                report(p.origin.error(["name"], "duplicate pipeline '\(p.name)' (first defined at \(place(first.origin, ["name"])))"))
            } else {
                pipelines[p.name] = p
            }
        }
    }

    private func place(_ origin: CatalogOrigin, _ suffix: JSONPath) -> String {
        let e = origin.error(suffix, "")
        return e.line.map { "line \($0)" + (e.column.map { ":\($0)" } ?? "") } ?? "\(jsonPathDescription(origin.path + suffix))"
    }

    // MARK: Names

    /// Plugin and pipeline names: letters, digits, `_` and `-`, at most 64 characters. Dots are
    /// reserved for qualified parameter names (`reptile.weightStep`).
    static func isValidName(_ s: String) -> Bool {
        !s.isEmpty && s.unicodeScalars.count <= 64 && s.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-")
        }
    }

    private func name(_ c: JSONCursor) throws -> String {
        let s = try c.string()
        guard Self.isValidName(s) else {
            throw c.error("invalid name '\(s)' (use 1 to 64 letters, digits, '_' or '-')")
        }
        return s
    }

    // MARK: Plugins

    private func decodePlugin(_ c: JSONCursor) {
        guard requireObject(c, "a plugin") else { return }
        reportUnknownKeys(c, ["kind", "name", "summary", "source", "parameters"], what: "a plugin")
        let name = attempt { try self.name(c.member("name")) }
        let kind: PluginKind? = attempt {
            let k = try c.member("kind")
            let s = try k.string()
            guard let kind = PluginKind(rawValue: s) else {
                throw k.error("unknown kind '\(s)' (expected one of: \(PluginKind.spellings))")
            }
            return kind
        }
        let summary = attempt { try c.member("summary").string() }
        let source = attempt { try decodeSource(c.member("source")) }
        var parameters: [PluginParameter] = []
        var unreadableParameters: Set<String> = []
        if let pc = attempt({ try c.optionalMember("parameters") }) ?? nil {
            if kind == .operation {
                report(pc.error("operations take no parameters: their shape (channels, stride) comes from the search space"))
            } else if let members = attempt({ try pc.members() }) {
                var bound: [String: String] = [:]
                for (key, cursor) in members {
                    guard let p = decodeParameter(key, cursor) else {
                        unreadableParameters.insert(key)
                        continue
                    }
                    if let other = bound[p.setting] {
                        report(cursor.error("binds setting '\(p.setting)', which parameter '\(other)' already binds"))
                        continue
                    }
                    bound[p.setting] = key
                    parameters.append(p)
                }
            }
        }
        guard let name, let kind, let summary, let source else {
            if let name { file.unreadableNames.insert(name) }
            return
        }
        file.plugins.append(PluginEntry(id: PluginID(kind, name), summary: summary, source: source, parameters: parameters,
                                        folder: file.folder, origin: CatalogOrigin(c), unreadableParameters: unreadableParameters))
    }

    /// `"source": "built-in"` or `"source": {"library": "relative/path.so"}`.
    private func decodeSource(_ c: JSONCursor) throws -> PluginSource {
        switch c.value {
        case .string(let s):
            guard s == "built-in" else {
                throw c.error("unknown source '\(s)' (expected \"built-in\" or {\"library\": \"path/to/lib.so\"})")
            }
            return .builtIn
        case .object:
            reportUnknownKeys(c, ["library"], what: "a source")
            let l = try c.member("library")
            let path = try l.string()
            guard !path.isEmpty, !path.utf8.contains(0) else { throw l.error("the library path is empty") }
            return .library(path: path)
        default:
            throw c.error("expected \"built-in\" or {\"library\": \"path/to/lib.so\"}, found \(c.value.kindDescription)")
        }
    }

    static func isValidParameterName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic else { return false }
        return s.unicodeScalars.count <= 64 && s.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_")
        }
    }

    private func decodeParameter(_ key: String, _ c: JSONCursor) -> PluginParameter? {
        guard Self.isValidParameterName(key) else {
            report(c.document.error(at: c.path, "invalid parameter name (use a letter, then letters, digits or '_')", atKey: true))
            return nil
        }
        guard requireObject(c, "a parameter") else { return nil }
        reportUnknownKeys(c, ["type", "default", "range", "setting", "summary"], what: "a parameter")
        let type: ParameterType? = attempt {
            let t = try c.member("type")
            let s = try t.string()
            guard let type = ParameterType(rawValue: s) else {
                throw t.error("unknown type '\(s)' (expected one of: \(ParameterType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return type
        }
        let summary = attempt { try c.optionalMember("summary")?.string() ?? "" }
        let range: ParameterRange?? = attempt {
            guard let r = try c.optionalMember("range") else { return nil }
            let s = try r.string()
            guard let range = ParameterRange(parsing: s) else {
                throw r.error("invalid range '\(s)' (write an interval such as \"[0, 10]\", \"[0, 1)\" or \"(0, inf)\")")
            }
            if let type, type != .int && type != .float { throw r.error("a \(type.rawValue) parameter cannot have a range") }
            return range
        }
        let setting: String? = attempt {
            let sc = try c.member("setting")
            let s = try sc.string()
            guard let field = RunConfig.fields.first(where: { $0.key == s }) else {
                throw sc.error("'\(s)' is not a RunConfig setting (see `metanas catalog settings`)")
            }
            if PipelineResolver.selectionKeys.contains(s) {
                throw sc.error("'\(s)' chooses plugins; it cannot hold a parameter")
            }
            if let type, field.kind != type.configKind {
                throw sc.error("setting '\(s)' holds \(field.kind.rawValue) values, but the parameter is \(type.rawValue)")
            }
            return s
        }
        let defaultValue: JSONValue? = attempt {
            let d = try c.member("default")
            if let type, !type.accepts(d.value) {
                throw d.error("wrong type: the default of a \(type.rawValue) parameter must be \(type.article), found \(d.value.kindDescription)")
            }
            if let range = range ?? nil, let v = d.value.doubleValue, !range.contains(v) {
                throw d.error("default \(d.value) is out of range \(range)")
            }
            return d.value
        }
        guard let type, let summary, let range, let setting, let defaultValue else { return nil }
        return PluginParameter(name: key, type: type, defaultValue: defaultValue, range: range, setting: setting,
                               summary: summary, origin: CatalogOrigin(c))
    }

    // MARK: Pipelines

    private func decodePipeline(_ c: JSONCursor) {
        guard requireObject(c, "a pipeline") else { return }
        reportUnknownKeys(c, ["name", "summary", "preset", "dataset", "searchSpace", "taskLearner", "metaLearner", "pruner", "settings"],
                          what: "a pipeline")
        let name = attempt { try self.name(c.member("name")) }
        let summary = attempt { try c.optionalMember("summary")?.string() ?? "" }
        var presetOrigin: CatalogOrigin?
        let preset: String?? = attempt {
            guard let p = try c.optionalMember("preset") else { return nil }
            let s = try p.string()
            guard RunConfig.preset(s) != nil else {
                throw p.error("unknown preset '\(s)' (presets: \(RunConfig.presetNames.joined(separator: ", ")))")
            }
            presetOrigin = CatalogOrigin(p)
            return s
        }
        let dataset = attempt { try decodeReference(c.member("dataset")) }
        let taskLearner = attempt { try decodeReference(c.member("taskLearner")) }
        let metaLearner = attempt { try decodeReference(c.member("metaLearner")) }
        let pruner = attempt { try decodeReference(c.member("pruner")) }
        var operations: [(name: String, origin: CatalogOrigin)]?
        var searchSpace: [CatalogSetting] = []
        if let sc = attempt({ try c.member("searchSpace") }), requireObject(sc, "a search space") {
            operations = attempt {
                let list = try sc.member("operations").elements()
                guard !list.isEmpty else { throw try sc.member("operations").error("the operation list is empty") }
                return try list.map { e throws -> (name: String, origin: CatalogOrigin) in (try e.string(), CatalogOrigin(e)) }
            }
            for (key, v) in (attempt { try sc.members() } ?? []).map({ ($0.key, $0.cursor) }) where key != "operations" {
                if let s = checkedSetting("searchSpace." + key, v, displayKey: key, what: "search-space setting") {
                    searchSpace.append(s)
                }
            }
        }
        var settings: [CatalogSetting] = []
        if let sc = attempt({ try c.optionalMember("settings") }) ?? nil, requireObject(sc, "settings") {
            for (key, v) in (attempt { try sc.members() } ?? []).map({ ($0.key, $0.cursor) }) {
                if let chooser = PipelineResolver.selectionKeys.first(where: { $0 == key }) {
                    let member = chooser == "searchSpace.operations" ? "searchSpace.operations" : chooser
                    report(v.document.error(at: v.path, "plugins are chosen with the pipeline's '\(member)' member, not in settings", atKey: true))
                    continue
                }
                if key.hasPrefix("searchSpace.") {
                    report(v.document.error(at: v.path, "put search-space settings under 'searchSpace' (without the prefix)", atKey: true))
                    continue
                }
                if let s = checkedSetting(key, v, displayKey: key, what: "setting") { settings.append(s) }
            }
        }
        guard let name, let summary, let preset, let dataset, let taskLearner, let metaLearner, let pruner, let operations else {
            if let name { file.unreadableNames.insert("pipeline:" + name) }
            return
        }
        file.pipelines.append(Pipeline(name: name, summary: summary, preset: preset, presetOrigin: presetOrigin, dataset: dataset,
                                       taskLearner: taskLearner, metaLearner: metaLearner, pruner: pruner,
                                       operations: operations, searchSpace: searchSpace, settings: settings,
                                       origin: CatalogOrigin(c)))
    }

    /// A RunConfig key and value, checked by applying it to a scratch configuration.
    private func checkedSetting(_ key: String, _ v: JSONCursor, displayKey: String, what: String) -> CatalogSetting? {
        guard let field = RunConfig.fields.first(where: { $0.key == key }) else {
            let close = RunConfig.fields.map(\.key).filter { $0.lowercased() == key.lowercased() }
            report(v.document.error(at: v.path, "unknown \(what) '\(displayKey)'" + (close.isEmpty ? "" : " (did you mean '\(close[0])'?)"),
                                    atKey: true))
            return nil
        }
        var scratch = RunConfig()
        do {
            try scratch.set(field.key, v.value)
        } catch {
            report(v.error("wrong type or value: \(displayKey) \(error.message)"))
            return nil
        }
        return CatalogSetting(key: key, value: v.value, origin: CatalogOrigin(v))
    }

    /// `"reptile"` or `{"name": "reptile", "parameters": {"weightStep": 0.5}}`.
    private func decodeReference(_ c: JSONCursor) throws -> PluginReference {
        if case .string = c.value { return PluginReference(name: try name(c), parameters: [], origin: CatalogOrigin(c)) }
        guard case .object = c.value else {
            throw c.error("expected a plugin name or {\"name\": ..., \"parameters\": {...}}, found \(c.value.kindDescription)")
        }
        reportUnknownKeys(c, ["name", "parameters"], what: "a plugin reference")
        let n = try c.member("name")
        var parameters: [CatalogSetting] = []
        if let pc = try c.optionalMember("parameters") {
            for (key, v) in try pc.members() {
                parameters.append(CatalogSetting(key: key, value: v.value, origin: CatalogOrigin(v)))
            }
        }
        return PluginReference(name: try name(n), parameters: parameters, origin: CatalogOrigin(n))
    }
}
