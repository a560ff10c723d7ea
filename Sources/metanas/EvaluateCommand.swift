import Catalog
import Engine
import Genotype
import JSON
import MetaLearning
import NN
import SearchSpace

/// `metanas evaluate`: meta-test the checkpoint of a run.
struct EvaluateCommand: DistributedCommand {
    static let name = "evaluate"
    static let summary = "meta-test a run's checkpoint: accuracy +- 95% CI, cells, active weights"
    static let usage = """
        Usage: metanas evaluate --run DIR [--tasks N] [--pruner soft|hard] [--threads N]

        Loads DIR/config.json and DIR/checkpoint.mnas, adapts to N held-out tasks (weights for all
        test steps, architecture for the first testArchitectureSteps), scores each query set and
        writes DIR/evaluation.json (per-task accuracy, genotype and active weights). A run folder
        without DIR/architecture.json gets one, exported from the checkpoint.

          --run DIR        the run folder written by `metanas search`
          --tasks N        meta-test tasks (default: the config's testTasks)
          --pruner NAME    score with another pruner than the run's (soft or hard)
          --threads N      worker threads (default: all cores)
          --catalog FILE   the catalog layered over the built-in one when the run used it (plugins)
          --plugin PATH    also load this operation plugin library; loading a plugin runs its code
        """

    let runPath: String
    let tasks: Int?
    let pruner: String?
    let threads: Int
    /// The registry built from the catalog at start-up.
    let catalog: CatalogOptions

    init(_ a: inout Arguments) throws {
        guard let run = a.string("run") else { throw CLIError("evaluate: --run DIR is required (a folder written by `metanas search`)") }
        runPath = run
        tasks = try a.value("tasks")
        pruner = a.string("pruner")
        threads = try a.value("threads") ?? availableCores()
        catalog = try CatalogOptions(&a)
        try catalog.requireValid(Self.name)
    }

    func run(across communicator: any Communicator) throws {
        let leader = communicator.isLeader
        let paths = RunFolder(naming: runPath)
        let folder: RunFolder? = leader ? try RunFolder(path: runPath) : nil
        /// Rank 0 reads the run folder and passes its files on.
        func read(_ path: String) throws -> [UInt8] {
            guard let bytes = try communicator.leaderFile({ try Engine.readFile(path) }) else {
                throw CLIError("evaluate: cannot read \(path)")
            }
            return bytes
        }
        var config = RunConfig()
        try config.apply(try JSONDocument.parse(bytes: try read(paths.configPath), source: paths.configPath).value)
        if let pruner { config.pruner = pruner }
        try config.validate()
        let components = catalog.registry.components
        let sources = try TaskSources(config: config)
        var g = SeededGenerator(seed: config.seed)
        let network = try SearchNetwork(config.searchSpace, registry: components.operations, generator: &g)
        let runner = TaskRunner(network: network, learner: try components.taskLearner(for: config),
                                pruner: try components.pruner(for: config))
        let trainer = MetaTrainer(config: config, runner: runner, metaLearner: try components.metaLearner(for: config),
                                  sources: sources, threads: threads)
        let state = try TrainingState(restoring: try TensorArchive(decoding: try read(paths.checkpointPath), source: paths.checkpointPath),
                                      into: trainer.initialState(), source: paths.checkpointPath)
        try communicator.expectAgreement(on: hash(config.json.serialized(pretty: false) + sources.summary),
                                         about: "the settings and data (same command line and data folder everywhere?)")
        if leader { print("evaluating \(runPath) at iteration \(state.iteration) with \(config.pruner) pruning") }
        if let folder, !fileExists(folder.architecturePath) {
            // Runs from before architecture files: export the checkpoint's meta-architecture.
            let provenance = folder.provenance(config: config, split: sources.training.split.name)
            try Engine.writeFileAtomically(trainer.metaArchitecture(state, provenance: provenance).jsonText(), to: folder.architecturePath)
            print("wrote \(folder.architecturePath)")
        }
        try Self.evaluate(trainer: trainer, state: state, tasks: tasks ?? config.testTasks, folder: folder, across: communicator)
    }

    /// Runs the meta-test (split across `communicator`'s processes), prints the summary and
    /// writes `evaluation.json`; only rank 0, which has the `folder`, prints and writes.
    static func evaluate(trainer: MetaTrainer, state: TrainingState, tasks: Int, folder: RunFolder?,
                         across communicator: any Communicator) throws {
        // Rank 0's bar shows its own share of the tasks.
        let bar = ProgressBar(total: communicator.share(of: tasks).count, label: "meta-test ", enabled: folder != nil)
        let report = try trainer.evaluate(state, tasks: tasks, seed: trainer.config.seed &+ 0x7E57, across: communicator) {
            done, _ in bar.update(done)
        }
        guard let folder else { return }
        var counts: [String: (Genotype, Int)] = [:]
        for g in report.genotypes { counts[g.canonicalHash, default: (g, 0)].1 += 1 }
        let distinct = counts.values.sorted { $0.1 > $1.1 }
        print("meta-test accuracy: \(report.summary) (\(trainer.config.ways)-way \(trainer.config.testShots)-shot, "
              + "\(trainer.config.pruner) pruning, \(fmt(report.seconds, 1)) s)")
        print("active weights per task: \(Int(report.meanActiveWeights.rounded())) on average "
              + "(supernet \(trainer.runner.network.weights.scalarCount))")
        print("\(distinct.count) distinct cell pair(s) over \(tasks) tasks; most frequent:")
        for (g, n) in distinct.prefix(3) { print("  \(n)x \(g.dartsString)") }
        let json: JSONValue = [
            "iteration": .int(Int64(state.iteration)),
            "pruner": .string(trainer.config.pruner),
            "tasks": .int(Int64(tasks)),
            "accuracy": .double(report.mean),
            "ci95": .double(report.confidence95),
            "mean_active_weights": .double(report.meanActiveWeights),
            "seconds": .double(report.seconds),
            "per_task": .array((0..<tasks).map { i in
                ["accuracy": .double(Double(report.accuracies[i])), "active_weights": .int(Int64(report.activeWeights[i])),
                 "genotype": report.genotypes[i].json]
            }),
        ]
        try Engine.writeFileAtomically(json.serialized(pretty: true) + "\n", to: folder.evaluationPath)
        print("wrote \(folder.evaluationPath)")
    }
}
