/// Every subcommand, in the order the help lists them.
let allCommands: [any Command.Type] = [
    SearchCommand.self,
    EvaluateCommand.self,
    GenotypeShowCommand.self,
    GenotypeDrawCommand.self,
    GenotypeDiffCommand.self,
    GenotypeSummarizeCommand.self,
    ReportCommand.self,
    BenchCommand.self,
    PluginsListCommand.self,
    CatalogValidateCommand.self,
    CatalogSettingsCommand.self,
]
