import Catalog
import Engine
import Genotype
import JSON
import MetaLearning
import NN
import SearchSpace

/// `metanas search`: meta-train weights and architecture, then meta-test.
struct SearchCommand: Command {
    static let name = "search"
    static let summary = "meta-train weights and architecture (MetaNAS), then meta-test"
    static let usage = """
        Usage: metanas search [options]

        Meta-trains a DARTS supernet with a meta-learner on few-shot tasks, writing a run folder
        (config.json, metrics.jsonl, checkpoint.mnas, genotypes.jsonl, architecture.json,
        architecture.jsonl, evaluation.json), then meta-tests the result on held-out tasks.
        `metanas report DIR` turns the folder into one HTML page.

        \(RunOptions.help)
          --pipeline NAME    run a catalog pipeline instead of a preset (see `metanas plugins list`);
                             --set also takes its plugins' parameters, e.g. --set reptile.weightStep=0.5
        \(CatalogOptions.help)
          --run DIR          run folder (default runs/<preset or pipeline>-seed<seed>)
          --resume           continue the run in --run from its checkpoint (settings come from it)
          --iterations N     stop after N meta-iterations in total (default: the config's)
          --time-limit MIN   stop meta-training after MIN minutes (checkpoint, then meta-test)
          --no-evaluate      skip the final meta-test

        Examples:
          metanas search --preset small
          metanas search --pipeline small --set soft.testThreshold=0.1
          metanas search --catalog Plugins/ExampleOperation/catalog.json --pipeline small-gated
          metanas search --preset small --set metaLearner=fomaml,metaWeightStep=0.001,pruner=hard --run runs/fomaml-hard
          metanas search --preset omniglot-20way-1shot --data ../omniglot --threads 16
        """
    static let flagNames: Set<String> = ["resume", "no-evaluate"]

    var options: RunOptions
    let runPath: String
    let resume: Bool
    let evaluateAtEnd: Bool
    let iterationLimit: Int?
    let timeLimitMinutes: Double?
    /// The registry built from the catalog at start-up.
    let components: Components

    init(_ a: inout Arguments) throws {
        let catalog = try CatalogOptions(&a)
        try catalog.requireValid(Self.name)
        components = catalog.registry.components
        let pipeline = a.string("pipeline")
        let preset = pipeline == nil ? a.string("preset") ?? "small" : "small"
        if let pipeline {
            options = try catalog.pipelineOptions(pipeline, &a)
        } else {
            a = try Self.reinsert(a, preset: preset)
            options = try RunOptions(&a)
            try catalog.checkRanges(options.config)
        }
        runPath = a.string("run") ?? "runs/\(pipeline ?? preset)-seed\(options.config.seed)"
        resume = a.flag("resume")
        evaluateAtEnd = !a.flag("no-evaluate")
        iterationLimit = try a.value("iterations")
        timeLimitMinutes = try a.value("time-limit")
    }

    /// Puts the preset back for ``RunOptions`` (it reads the same option).
    static func reinsert(_ a: Arguments, preset: String) throws -> Arguments { a.with("preset", preset) }

    func run() throws {
        let folder = try RunFolder(path: runPath)
        var config = options.config
        if resume {
            let saved = try JSONDocument.load(contentsOf: folder.configPath)
            config = RunConfig()
            try config.apply(saved.value)
        }
        if let limit = iterationLimit { config.iterations = limit }
        try config.validate()
        let sources = try TaskSources(config: config)
        print(sources.summary)
        var g = SeededGenerator(seed: config.seed)
        let network = try SearchNetwork(config.searchSpace, registry: components.operations, generator: &g)
        let runner = TaskRunner(network: network, learner: try components.taskLearner(for: config),
                                pruner: try components.pruner(for: config))
        let trainer = MetaTrainer(config: config, runner: runner, metaLearner: try components.metaLearner(for: config),
                                  sources: sources, threads: options.threads)
        print("network: \(network.weights.scalarCount) weights, \(network.architecture.scalarCount) architecture parameters; "
              + "\(config.taskLearner) + \(config.metaLearner) + \(config.pruner) pruning; \(options.threads) thread(s)")

        var state = trainer.initialState()
        if resume && fileExists(folder.checkpointPath) {
            state = try TrainingState(restoring: try TensorArchive(contentsOf: folder.checkpointPath), into: state,
                                      source: folder.checkpointPath)
            try folder.truncate(folder.metricsPath, afterIteration: state.iteration)
            try folder.truncate(folder.genotypesPath, afterIteration: state.iteration)
            try folder.truncateArchitectureHistory(afterIteration: state.iteration)
            print("resuming \(runPath) at iteration \(state.iteration)")
        } else {
            if resume { print("no checkpoint in \(runPath): starting from the beginning") }
            try Engine.writeFileAtomically(config.json.serialized(pretty: true) + "\n", to: folder.configPath)
            try folder.writeLines([], to: folder.metricsPath)
            try folder.writeLines([], to: folder.genotypesPath)
            try folder.writeLines([], to: folder.architectureHistoryPath)
        }
        let provenance = folder.provenance(config: config, split: sources.training.split.name)

        let bar = ProgressBar(total: config.iterations, label: "meta-train")
        /// The checkpoint, with the meta-architecture's genotype and weights beside it.
        func saveCheckpoint() throws {
            try state.archive(config: config).write(to: folder.checkpointPath)
            let genotypeLine: JSONValue = ["iteration": .int(Int64(state.iteration)),
                                           "genotype": trainer.metaGenotype(state).json]
            try folder.append(genotypeLine.serialized(pretty: false), to: folder.genotypesPath)
            try folder.recordArchitecture(trainer.metaArchitecture(state, provenance: provenance))
        }
        let deadline = timeLimitMinutes.map { monotonicSeconds() + $0 * 60 }
        while state.iteration < config.iterations {
            if let deadline, monotonicSeconds() > deadline {
                try saveCheckpoint()
                print("time limit reached after \(state.iteration) iterations")
                break
            }
            let m = trainer.step(&state)
            try folder.append(m.json.serialized(pretty: false), to: folder.metricsPath)
            bar.update(state.iteration, extra: "\(m.phase) query acc \(percent(m.queryAccuracy))%")
            if config.evaluateEvery > 0 && state.iteration % config.evaluateEvery == 0 && state.iteration < config.iterations {
                let r = trainer.evaluate(state, tasks: config.evaluateTasks, seed: config.seed &+ 0xE7A1)
                let line: JSONValue = ["iteration": .int(Int64(state.iteration)), "phase": "meta-test",
                                       "test_accuracy": .double(r.mean), "test_ci95": .double(r.confidence95),
                                       "tasks": .int(Int64(r.accuracies.count)), "seconds": .double(r.seconds)]
                try folder.append(line.serialized(pretty: false), to: folder.metricsPath)
                printError("  meta-test at \(state.iteration): \(r.summary)")
            }
            if state.iteration % config.checkpointEvery == 0 || state.iteration == config.iterations {
                try saveCheckpoint()
            }
        }
        let meta = trainer.metaGenotype(state)
        print("meta-architecture after \(state.iteration) iterations:\n  \(meta.dartsString)")
        if evaluateAtEnd {
            try EvaluateCommand.evaluate(trainer: trainer, state: state, tasks: config.testTasks, folder: folder)
        }
    }
}

/// `--threads`-style percentages for progress lines.
func percent(_ v: Float) -> String { fmt(Double(v) * 100, 1) }
