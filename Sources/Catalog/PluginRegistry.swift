import JSON
import MetaLearning
import SearchSpace

/// One plugin metanas can use, with its documentation when a catalog has it.
public struct RegisteredPlugin: Sendable {
    public var id: PluginID
    public var summary: String
    /// Built in, or the canonical path of the library it came from.
    public var source: OperationSource
    /// The catalog entry documenting it (parameters, summary), if any.
    public var entry: PluginEntry?
}

/// Everything a run can be composed from: the built-ins plus what a catalog adds.
///
/// A value built once at start-up from a ``Catalog`` and passed down (to `SearchNetwork`
/// through ``components``); there is no global registry. Building it is the only step that
/// loads dynamic libraries, each at most once, under a ``LibraryPolicy``.
public struct PluginRegistry: Sendable {
    /// Factories by name, as the training code consumes them.
    public private(set) var components: Components
    /// Every plugin, built-ins first, in registration order.
    public private(set) var plugins: [RegisteredPlugin] = []
    /// The catalog the registry was built from.
    public let catalog: Catalog
    /// Problems met while building: unknown built-in names, libraries refused or not loaded,
    /// undocumented operations in a library. Each sits at its place in a catalog file.
    public private(set) var problems: [JSONError] = []

    /// Builds the registry.
    ///
    /// - Parameters:
    ///   - catalog: the layered catalog.
    ///   - policy: which libraries may be loaded; its explicit libraries (`--plugin`) are
    ///     loaded even when no catalog entry names them, and all their operations registered.
    public init(catalog: Catalog, policy: LibraryPolicy = LibraryPolicy()) {
        self.catalog = catalog
        components = .builtIn
        for kind in PluginKind.allCases {
            for name in BuiltInPlugins.names(kind) {
                let summary = kind == .operation ? (OperationRegistry.builtIn.definition(name)?.summary ?? "") : ""
                plugins.append(RegisteredPlugin(id: PluginID(kind, name), summary: summary, source: .builtIn, entry: nil))
            }
        }
        var loader = LibraryLoader(policy: policy)
        for path in policy.explicitLibraries {
            switch loader.operations(explicit: path) {
            case .success(let definitions):
                for d in definitions { add(d, entry: nil) }
            case .failure(let e):
                problems.append(JSONError(source: path, message: e.message))
            }
        }
        var documented: [String: Set<String>] = [:]  // library -> names documented
        var firstEntry: [String: PluginEntry] = [:]
        for entry in catalog.plugins {
            switch entry.source {
            case .builtIn:
                guard BuiltInPlugins.names(entry.id.kind).contains(entry.id.name) else {
                    problems.append(entry.origin.error(["name"], "unknown built-in \(entry.id.kind) '\(entry.id.name)' (built in: "
                                                       + "\(BuiltInPlugins.names(entry.id.kind).joined(separator: ", ")); "
                                                       + "a plugin of your own needs \"source\": {\"library\": \"...\"})"))
                    continue
                }
                if let i = plugins.firstIndex(where: { $0.id == entry.id }) {
                    plugins[i].entry = entry
                    plugins[i].summary = entry.summary
                }
            case .library(let path):
                guard entry.id.kind == .operation else {
                    problems.append(entry.origin.error(["source"], "only operations can come from a library (plugin ABI \(PluginABI.version)); "
                                                       + "a \(entry.id.kind) must be built in"))
                    continue
                }
                switch loader.operations(library: path, catalogFolder: entry.folder) {
                case .failure(let e):
                    problems.append(entry.origin.error(["source", "library"], e.message))
                case .success(let (real, definitions)):
                    documented[real, default: []].insert(entry.id.name)
                    if firstEntry[real] == nil { firstEntry[real] = entry }
                    guard let d = definitions.first(where: { $0.name == entry.id.name }) else {
                        problems.append(entry.origin.error(["name"], "library '\(path)' registers no operation '\(entry.id.name)' "
                                                           + "(it registers: \(definitions.map(\.name).joined(separator: ", ")))"))
                        continue
                    }
                    add(d, entry: entry)
                }
            }
        }
        for (real, names) in documented.sorted(by: { $0.key < $1.key }) {
            guard case .success(let (_, definitions)) = loader.cache[real], let entry = firstEntry[real] else { continue }
            for d in definitions where !names.contains(d.name) {
                problems.append(entry.origin.error(["source", "library"], "the library also registers operation '\(d.name)', "
                                                   + "which no catalog entry documents (add an entry for it)"))
            }
        }
    }

    /// Registers `definition`, documented by `entry`, replacing an operation of the same name.
    mutating func add(_ definition: OperationDefinition, entry: PluginEntry?) {
        components.operations.register(definition)
        let plugin = RegisteredPlugin(id: PluginID(.operation, definition.name), summary: entry?.summary ?? definition.summary,
                                      source: definition.source, entry: entry)
        if let i = plugins.firstIndex(where: { $0.id == plugin.id }) { plugins[i] = plugin } else { plugins.append(plugin) }
    }

    /// The registered names of `kind`.
    public func names(_ kind: PluginKind) -> [String] { plugins.filter { $0.id.kind == kind }.map(\.id.name) }

    public func plugin(_ id: PluginID) -> RegisteredPlugin? { plugins.first { $0.id == id } }

    /// The kinds under which `name` is registered (to say "soft is a pruner").
    func kinds(of name: String) -> [PluginKind] { plugins.filter { $0.id.name == name }.map(\.id.kind) }
}

/// Opens plugin libraries, checks their ABI version and collects what they register. Each
/// canonical path is loaded once; later requests get the cached outcome.
struct LibraryLoader {
    let policy: LibraryPolicy
    private(set) var cache: [String: Result<(String, [OperationDefinition]), PluginLoadError>] = [:]

    init(policy: LibraryPolicy) { self.policy = policy }

    /// A library named by a catalog in `catalogFolder`.
    mutating func operations(library path: String, catalogFolder: String) -> Result<(String, [OperationDefinition]), PluginLoadError> {
        let real: String
        do { real = try policy.resolve(path, catalogFolder: catalogFolder) } catch { return .failure(error) }
        if let cached = cache[real] { return cached }
        let policy = self.policy
        let result = Result { () throws(PluginLoadError) -> (String, [OperationDefinition]) in
            let lib = try DynamicLibrary.load(real, requested: path) { (opened: String) throws(PluginLoadError) in
                try policy.check(opened, requested: path, catalogFolder: catalogFolder)
            }
            return (real, try Self.register(lib, requested: path))
        }
        cache[real] = result
        return result
    }

    /// A library the user named with `--plugin`.
    mutating func operations(explicit path: String) -> Result<[OperationDefinition], PluginLoadError> {
        guard let real = FileSystem.realPath(path) else {
            return .failure(PluginLoadError(library: path, message: "no such file"))
        }
        if let cached = cache[real] { return cached.map(\.1) }
        let result = Result { () throws(PluginLoadError) -> (String, [OperationDefinition]) in
            let lib = try DynamicLibrary.load(real, requested: path) { (_: String) throws(PluginLoadError) in }
            return (real, try Self.register(lib, requested: path))
        }
        cache[real] = result
        return result.map(\.1)
    }

    /// Checks the ABI version, then calls the registration entry point.
    private static func register(_ lib: DynamicLibrary, requested: String) throws(PluginLoadError) -> [OperationDefinition] {
        func fail(_ m: String) -> PluginLoadError { PluginLoadError(library: requested, message: m) }
        guard let versionSymbol = lib.symbol(PluginABI.versionSymbol) else {
            throw fail("not a metanas plugin: it does not export '\(PluginABI.versionSymbol)'")
        }
        let version = unsafeBitCast(versionSymbol, to: PluginABI.VersionFunction.self)()
        guard version == PluginABI.version else {
            throw fail("built for plugin ABI version \(version), but this metanas loads version \(PluginABI.version); "
                       + "rebuild the plugin against this metanas")
        }
        guard let registerSymbol = lib.symbol(PluginABI.registerSymbol) else {
            throw fail("not a metanas plugin: it does not export '\(PluginABI.registerSymbol)'")
        }
        let registrar = PluginRegistrar(libraryPath: lib.path)
        let status = withExtendedLifetime(registrar) {
            unsafeBitCast(registerSymbol, to: PluginABI.RegisterFunction.self)(registrar.opaquePointer)
        }
        guard status == 0, registrar.failures.isEmpty else {
            let reasons = registrar.failures.isEmpty ? "" : ": " + registrar.failures.joined(separator: "; ")
            throw fail("registration failed (status \(status))\(reasons)")
        }
        guard !registrar.operations.isEmpty else { throw fail("the library registered no operations") }
        return registrar.operations
    }
}
