import Catalog
import Engine
import JSON
import MetaLearning

/// `--catalog FILE` and `--plugin PATH`: the catalog layers and the libraries the user trusts
/// explicitly. Every command that needs plugins builds its registry here, once, at start-up.
struct CatalogOptions {
    static let help = """
          --catalog FILE     a catalog layered over the built-in one (comma-separate several):
                             entries of the same kind and name replace, new ones are added
          --plugin PATH      also load this operation plugin library, wherever it lies
                             (comma-separate several); loading a plugin runs its code
        """

    /// Catalog files in layering order.
    let files: [String]
    /// Libraries named with `--plugin`.
    let libraries: [String]
    /// The built-ins plus what the catalog adds.
    let registry: PluginRegistry

    init(_ a: inout Arguments) throws {
        func list(_ name: String) -> [String] {
            (a.string(name) ?? "").split(separator: ",", omittingEmptySubsequences: true).map(String.init)
        }
        files = list("catalog")
        libraries = list("plugin")
        for file in files where !fileExists(file) {
            throw CLIError("\(a.command): --catalog '\(file)' does not exist (e.g. --catalog Plugins/ExampleOperation/catalog.json)")
        }
        for library in libraries where !fileExists(library) {
            throw CLIError("\(a.command): --plugin '\(library)' does not exist (build it first, e.g. Plugins/ExampleOperation/build.sh)")
        }
        registry = PluginRegistry(catalog: Catalog.load(layering: files), policy: LibraryPolicy(explicitLibraries: libraries))
    }

    /// Every problem of the catalog and its plugins (see `CatalogValidator`).
    func problems() -> [JSONError] { CatalogValidator(registry: registry).problems() }

    /// Refuses to go on when the catalog has problems: prints each one, then throws.
    func requireValid(_ command: String) throws {
        let problems = problems()
        guard !problems.isEmpty else { return }
        for p in problems { printError(p.description) }
        throw CatalogProblems(count: problems.count, command: command)
    }

    /// The run options of a pipeline: its configuration with the command line's `--config`,
    /// `--dataset`, `--data`, `--set` (RunConfig keys or plugin.parameter) and `--seed` applied
    /// in that order, and `--threads`.
    func pipelineOptions(_ name: String, _ a: inout Arguments) throws -> RunOptions {
        if a.string("preset") != nil {
            throw CLIError("\(a.command): --pipeline and --preset exclude each other (a pipeline names its own base preset)")
        }
        var overrides: [ConfigOverride] = []
        if let file = a.string("config") {
            let document = try JSONDocument.load(contentsOf: file)
            guard let members = document.value.objectValue else { throw document.error(at: [], "a config file must be a JSON object") }
            overrides += members.map { ConfigOverride(key: $0.key, value: .json($0.value), origin: "--config \(file)") }
        }
        if let d = a.string("dataset") { overrides.append(ConfigOverride(key: "dataset", value: .text(d), origin: "--dataset")) }
        if let d = a.string("data") { overrides.append(ConfigOverride(key: "dataFolder", value: .text(d), origin: "--data")) }
        if let sets = a.string("set") { overrides += try ConfigOverride.parseAssignments(sets) }
        if let seed = a.string("seed") { overrides.append(ConfigOverride(key: "seed", value: .text(seed), origin: "--seed")) }
        let config = try PipelineResolver(catalog: registry.catalog).config(forPipeline: name, overrides: overrides)
        let threads = try a.value("threads") ?? availableCores()
        guard threads >= 1 else { throw CLIError("\(a.command): --threads must be at least 1") }
        return RunOptions(config: config, threads: threads)
    }

    /// Checks the plugin parameters of a configuration built without a pipeline against the
    /// ranges the catalog documents.
    func checkRanges(_ config: RunConfig) throws {
        try PipelineResolver(catalog: registry.catalog).checkRanges(config, context: "config")
    }
}

extension RunOptions {
    /// Options whose configuration was built elsewhere (from a pipeline).
    init(config: RunConfig, threads: Int) {
        self.config = config
        self.threads = threads
    }
}

/// A catalog that did not pass validation; its problems were printed one per line before.
struct CatalogProblems: Error, CustomStringConvertible {
    let count: Int
    let command: String
    var description: String {
        let hint = command == CatalogValidateCommand.name ? "listed above" : "listed above; `metanas catalog validate FILE` checks a catalog alone"
        return "the catalog has \(count) problem\(count == 1 ? "" : "s") (\(hint))"
    }
}

// MARK: - catalog validate

/// `metanas catalog validate [FILE...]`: every check, before any training.
struct CatalogValidateCommand: Command {
    static let name = "catalog validate"
    static let summary = "check a catalog: JSON, kinds, names, parameters, pipelines, libraries, operation shapes"
    static let usage = """
        Usage: metanas catalog validate [FILE...] [--alone] [--plugin PATH]

        Reads each FILE layered over the built-in catalog (later files over earlier ones), loads
        the libraries it names, builds every operation at stride 1 and 2 on a [2, 4, 8, 8] input
        and resolves every pipeline. Prints one line per problem,
          FILE:LINE:COLUMN: error: MESSAGE
        and exits with status 1 when there is any. Without FILE it checks the built-in catalog.
        Loading a plugin library runs its code: validate only catalogs whose libraries you trust.

          --alone        do not layer FILE over the built-in catalog
          --plugin PATH  also load this library (comma-separate several)

        Examples:
          metanas catalog validate catalog.json
          metanas catalog validate Plugins/ExampleOperation/catalog.json
        """
    static let flagNames: Set<String> = ["alone"]

    let files: [String]
    let alone: Bool
    let libraries: [String]

    init(_ a: inout Arguments) throws {
        files = a.positionals
        alone = a.flag("alone")
        libraries = (a.string("plugin") ?? "").split(separator: ",").map(String.init)
        if alone && files.isEmpty { throw CLIError("catalog validate: --alone needs a FILE (e.g. metanas catalog validate --alone my.json)") }
    }

    func run() throws {
        let catalog = Catalog.load(layering: files, includeDefault: !alone)
        let registry = PluginRegistry(catalog: catalog, policy: LibraryPolicy(explicitLibraries: libraries))
        let problems = CatalogValidator(registry: registry).problems()
        for p in problems { print(p.description) }
        let name = files.isEmpty ? "the built-in catalog" : files.joined(separator: " + ")
        guard problems.isEmpty else { throw CatalogProblems(count: problems.count, command: Self.name) }
        let operations = registry.names(.operation).count
        print("\(name): OK (\(registry.plugins.count) plugins, \(catalog.pipelines.count) pipelines; "
              + "\(operations) operations keep the shape contract)")
    }
}

// MARK: - catalog settings

/// `metanas catalog settings`: the RunConfig keys catalogs, config files and `--set` use.
struct CatalogSettingsCommand: Command {
    static let name = "catalog settings"
    static let summary = "list the RunConfig settings and the plugin parameters bound to them"
    static let usage = """
        Usage: metanas catalog settings [--catalog FILE]

        Lists every RunConfig key with its type and meaning, and the plugin parameters of the
        catalog that bind it (set those as plugin.parameter, e.g. --set reptile.weightStep=0.5).
        """

    let catalog: CatalogOptions

    init(_ a: inout Arguments) throws {
        catalog = try CatalogOptions(&a)
    }

    func run() throws {
        var bound: [String: [String]] = [:]
        for entry in catalog.registry.catalog.plugins {
            for p in entry.parameters { bound[p.setting, default: []].append("\(entry.id.name).\(p.name)") }
        }
        let width = RunConfig.fields.map(\.key.count).max() ?? 0
        for field in RunConfig.fields {
            let pad = String(repeating: " ", count: width - field.key.count + 2)
            let kind = field.kind.rawValue + String(repeating: " ", count: max(1, 11 - field.kind.rawValue.count))
            let parameters = bound[field.key].map { "  [\($0.joined(separator: ", "))]" } ?? ""
            print("\(field.key)\(pad)\(kind)\(field.summary)\(parameters)")
        }
    }
}
