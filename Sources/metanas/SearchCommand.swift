import Catalog
import Engine
import Genotype
import JSON
import MetaLearning
import NN
import SearchSpace

/// `metanas search`: meta-train weights and architecture, then meta-test.
struct SearchCommand: DistributedCommand {
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

        Under MPI (`mpirun -np R metanas search ...`) each meta-batch and the meta-test are split
        across the R processes with the same result as one process; rank 0 writes the run folder.

        Examples:
          metanas search --preset small
          metanas search --pipeline small --set soft.testThreshold=0.1
          metanas search --catalog Plugins/ExampleOperation/catalog.json --pipeline small-gated
          metanas search --preset small --set metaLearner=fomaml,metaWeightStep=0.001,pruner=hard --run runs/fomaml-hard
          metanas search --preset omniglot-20way-1shot --data ../omniglot --threads 16
          mpirun -np 4 metanas search --preset small --run runs/small-mpi
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

    func run(across communicator: any Communicator) throws {
        let leader = communicator.isLeader
        let paths = RunFolder(naming: runPath)
        func say(_ line: String) { if leader { print(line) } }

        var config = options.config
        if resume {
            guard let bytes = try communicator.leaderFile({ try Engine.readFile(paths.configPath) }) else {
                throw CLIError("search: --resume needs \(paths.configPath)")
            }
            config = RunConfig()
            try config.apply(try JSONDocument.parse(bytes: bytes, source: paths.configPath).value)
        }
        if let limit = iterationLimit { config.iterations = limit }
        try config.validate()
        // Settings first (operations, learners, pruner), then the data: a mistake in either is
        // reported before anything is read or the run folder exists.
        var g = SeededGenerator(seed: config.seed)
        let network = try SearchNetwork(config.searchSpace, registry: components.operations, generator: &g)
        let runner = TaskRunner(network: network, learner: try components.taskLearner(for: config),
                                pruner: try components.pruner(for: config))
        let metaLearner = try components.metaLearner(for: config)
        let sources = try TaskSources(config: config)
        say(sources.summary)
        /// Rank 0 owns the run folder: it alone creates, reads and writes it.
        let folder: RunFolder? = leader ? try RunFolder(path: runPath) : nil
        let trainer = MetaTrainer(config: config, runner: runner, metaLearner: metaLearner,
                                  sources: sources, threads: options.threads)
        say("network: \(network.weights.scalarCount) weights, \(network.architecture.scalarCount) architecture parameters; "
            + "\(config.taskLearner) + \(config.metaLearner) + \(config.pruner) pruning; \(options.threads) thread(s)"
            + (communicator.size > 1 ? " in each of \(communicator.size) MPI processes" : ""))
        try communicator.expectAgreement(on: hash(config.json.serialized(pretty: false) + sources.summary),
                                         about: "the settings and data (same command line and data folder everywhere?)")

        var state = trainer.initialState()
        let saved = resume ? try communicator.leaderFile({
            fileExists(paths.checkpointPath) ? try Engine.readFile(paths.checkpointPath) : nil
        }) : nil
        if let saved {
            state = try TrainingState(restoring: try TensorArchive(decoding: saved, source: paths.checkpointPath), into: state,
                                      source: paths.checkpointPath)
            if let folder {
                try folder.truncate(folder.metricsPath, afterIteration: state.iteration)
                try folder.truncate(folder.genotypesPath, afterIteration: state.iteration)
                try folder.truncateArchitectureHistory(afterIteration: state.iteration)
            }
            say("resuming \(runPath) at iteration \(state.iteration)")
        } else {
            if resume { say("no checkpoint in \(runPath): starting from the beginning") }
            if let folder {
                try Engine.writeFileAtomically(config.json.serialized(pretty: true) + "\n", to: folder.configPath)
                try folder.writeLines([], to: folder.metricsPath)
                try folder.writeLines([], to: folder.genotypesPath)
                try folder.writeLines([], to: folder.architectureHistoryPath)
            }
        }
        try communicator.expectAgreement(on: state.checksum, about: "the starting state")
        let provenance = folder?.provenance(config: config, split: sources.training.split.name)

        // Where the run stands, for the messages that tell how to resume it.
        let resumeWith = resumeCommand(arguments: CommandLine.arguments, runPath: runPath, size: communicator.size)
        var lastCheckpoint: Int? = saved == nil ? nil : state.iteration
        func updateStopNotice() {
            guard communicator.size > 1 else { return }
            StopNotice.set(
                "metanas search (rank \(communicator.rank) of \(communicator.size)): terminated during meta-iteration "
                    + "\(state.iteration + 1) of \(config.iterations), usually because another rank died (see mpirun's report). "
                    + (lastCheckpoint.map { "The last checkpoint, from meta-iteration \($0), is in \(runPath); resume with:\n  \(resumeWith)" }
                        ?? "No checkpoint was written yet; start the run again."))
        }
        if communicator.size > 1 {
            updateStopNotice()
            StopNotice.install()
        }

        let bar = ProgressBar(total: config.iterations, label: "meta-train", enabled: leader)
        /// The checkpoint, with the meta-architecture's genotype and weights beside it (rank 0).
        func saveCheckpoint() throws {
            if let folder, let provenance {
                try state.archive(config: config).write(to: folder.checkpointPath)
                let genotypeLine: JSONValue = ["iteration": .int(Int64(state.iteration)),
                                               "genotype": trainer.metaGenotype(state).json]
                try folder.append(genotypeLine.serialized(pretty: false), to: folder.genotypesPath)
                try folder.recordArchitecture(trainer.metaArchitecture(state, provenance: provenance))
            }
            lastCheckpoint = state.iteration
            updateStopNotice()
        }
        /// Rank 0's clock decides, so that every process stops after the same iteration.
        func pastDeadline(_ deadline: Double) throws -> Bool {
            try communicator.broadcast([monotonicSeconds() > deadline ? 1 : 0], from: 0) == [1]
        }
        let deadline = timeLimitMinutes.map { monotonicSeconds() + $0 * 60 }
        var inProgress = state.iteration + 1
        do {
            while state.iteration < config.iterations {
                inProgress = state.iteration + 1
                if let deadline, try pastDeadline(deadline) {
                    try saveCheckpoint()
                    say("time limit reached after \(state.iteration) iterations")
                    break
                }
                let m = try trainer.step(&state, across: communicator)
                try folder?.append(m.json.serialized(pretty: false), to: paths.metricsPath)
                bar.update(state.iteration, extra: "\(m.phase) query acc \(percent(m.queryAccuracy))%")
                if config.evaluateEvery > 0 && state.iteration % config.evaluateEvery == 0 && state.iteration < config.iterations {
                    let r = try trainer.evaluate(state, tasks: config.evaluateTasks, seed: config.seed &+ 0xE7A1, across: communicator)
                    let line: JSONValue = ["iteration": .int(Int64(state.iteration)), "phase": "meta-test",
                                           "test_accuracy": .double(r.mean), "test_ci95": .double(r.confidence95),
                                           "tasks": .int(Int64(r.accuracies.count)), "seconds": .double(r.seconds)]
                    try folder?.append(line.serialized(pretty: false), to: paths.metricsPath)
                    if leader { printError("  meta-test at \(state.iteration): \(r.summary)") }
                }
                if state.iteration % config.checkpointEvery == 0 || state.iteration == config.iterations {
                    try saveCheckpoint()
                } else {
                    updateStopNotice()
                }
            }
        } catch let error as CommunicationError {
            throw DistributedRunError(underlying: error, iteration: inProgress, checkpoint: lastCheckpoint,
                                      resumeCommand: resumeWith)
        }
        let meta = trainer.metaGenotype(state)
        say("meta-architecture after \(state.iteration) iterations:\n  \(meta.dartsString)")
        if evaluateAtEnd {
            try EvaluateCommand.evaluate(trainer: trainer, state: state, tasks: config.testTasks, folder: folder,
                                         across: communicator)
        }
    }
}

/// A 64-bit FNV-1a hash of a text (to check that processes agree on it).
func hash(_ text: String) -> UInt64 {
    text.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
}

/// `--threads`-style percentages for progress lines.
func percent(_ v: Float) -> String { fmt(Double(v) * 100, 1) }
