import Catalog

/// `metanas plugins list`: what the registry holds after the catalog is read.
struct PluginsListCommand: Command {
    static let name = "plugins list"
    static let summary = "list registered plugins: kind, name, source (built-in or library), summary"
    static let usage = """
        Usage: metanas plugins list [--catalog FILE] [--plugin PATH] [--brief]

        Lists every plugin metanas can use: the built-ins and what the catalog adds, with the
        library each plugin came from and the parameters the catalog documents for it.

        \(CatalogOptions.help)
          --brief            one line per plugin, without parameters

        Example:
          metanas plugins list --catalog Plugins/ExampleOperation/catalog.json
        """
    static let flagNames: Set<String> = ["brief"]

    let catalog: CatalogOptions
    let brief: Bool

    init(_ a: inout Arguments) throws {
        catalog = try CatalogOptions(&a)
        brief = a.flag("brief")
    }

    func run() throws {
        print(PluginListing.text(catalog.registry, parameters: !brief), terminator: "")
        let problems = catalog.problems()
        if !problems.isEmpty {
            printError("warning: the catalog has \(problems.count) problem(s); run `metanas catalog validate` to list them")
        }
    }
}
