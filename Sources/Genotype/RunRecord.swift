#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import JSON

/// What a run folder of `metanas search` holds, read for reports:
///
/// ```
/// config.json         settings                        -> settings, configHash
/// metrics.jsonl       one object per meta-iteration   -> iterations; phase "meta-test" lines -> metaTests
/// genotypes.jsonl     {"iteration", "genotype"}       -> genotypes
/// architecture.jsonl  metanas.architecture/1 lines    -> architectures (iteration from the label "iteration")
/// architecture.json   the latest meta-architecture    -> architecture
/// evaluation.json     the final meta-test             -> evaluation
/// ```
/// Every file is optional, but a folder with none of them is an error. Metrics lines are read
/// by key; keys this reader does not know are ignored, so newer runs still load.
public struct RunRecord: Sendable {
    /// One meta-training iteration (a line of `metrics.jsonl`).
    public struct Iteration: Sendable, Equatable {
        public var iteration: Int
        /// `warmup` or `search`.
        public var phase: String
        public var temperature: Double?
        public var trainLoss: Double?
        public var trainAccuracy: Double?
        public var queryLoss: Double?
        public var queryAccuracy: Double?
        public var activeWeights: Double?
        public var seconds: Double?
        public var metaLearner: String?
        public var pruner: String?

        public init(iteration: Int, phase: String, temperature: Double? = nil, trainLoss: Double? = nil,
                    trainAccuracy: Double? = nil, queryLoss: Double? = nil, queryAccuracy: Double? = nil,
                    activeWeights: Double? = nil, seconds: Double? = nil, metaLearner: String? = nil, pruner: String? = nil) {
            (self.iteration, self.phase, self.temperature) = (iteration, phase, temperature)
            (self.trainLoss, self.trainAccuracy, self.queryLoss, self.queryAccuracy) = (trainLoss, trainAccuracy, queryLoss, queryAccuracy)
            (self.activeWeights, self.seconds, self.metaLearner, self.pruner) = (activeWeights, seconds, metaLearner, pruner)
        }
    }

    /// An intermediate meta-test during training (a `"phase": "meta-test"` line).
    public struct MetaTest: Sendable, Equatable {
        public var iteration: Int
        public var accuracy: Double
        /// Half-width of the 95% interval.
        public var ci95: Double
        public var tasks: Int?

        public init(iteration: Int, accuracy: Double, ci95: Double, tasks: Int? = nil) {
            (self.iteration, self.accuracy, self.ci95, self.tasks) = (iteration, accuracy, ci95, tasks)
        }
    }

    /// A value recorded at a checkpoint.
    public struct Checkpoint<Value: Sendable>: Sendable {
        public var iteration: Int
        public var value: Value
        public init(iteration: Int, value: Value) { (self.iteration, self.value) = (iteration, value) }
    }

    /// One meta-test task of `evaluation.json`.
    public struct TaskResult: Sendable {
        public var accuracy: Double
        public var activeWeights: Int?
        public var genotype: Genotype
        public init(accuracy: Double, activeWeights: Int? = nil, genotype: Genotype) {
            (self.accuracy, self.activeWeights, self.genotype) = (accuracy, activeWeights, genotype)
        }
    }

    /// The final meta-test (`evaluation.json`).
    public struct Evaluation: Sendable {
        public var iteration: Int?
        public var pruner: String?
        public var accuracy: Double
        public var ci95: Double
        public var meanActiveWeights: Double?
        public var seconds: Double?
        public var tasks: [TaskResult]

        public init(iteration: Int? = nil, pruner: String? = nil, accuracy: Double, ci95: Double,
                    meanActiveWeights: Double? = nil, seconds: Double? = nil, tasks: [TaskResult] = []) {
            (self.iteration, self.pruner, self.accuracy, self.ci95) = (iteration, pruner, accuracy, ci95)
            (self.meanActiveWeights, self.seconds, self.tasks) = (meanActiveWeights, seconds, tasks)
        }
    }

    /// A short name for the run (the folder's last component).
    public var name: String
    /// `config.json` members in file order, values as compact JSON (strings unquoted).
    public var settings: [(key: String, value: String)]
    /// SHA-256 of `config.json` as on disk.
    public var configHash: String?
    public var iterations: [Iteration]
    public var metaTests: [MetaTest]
    public var genotypes: [Checkpoint<Genotype>]
    public var architectures: [Checkpoint<ArchitectureState>]
    public var architecture: ArchitectureState?
    public var evaluation: Evaluation?

    /// An empty record, to fill in code.
    public init(name: String) {
        self.name = name
        settings = []
        iterations = []
        metaTests = []
        genotypes = []
        architectures = []
    }

    /// Reads the run folder at `folder`.
    ///
    /// - Throws: `FileError` when the folder holds none of the run files or one cannot be read;
    ///   `JSONError` naming the file, line and column of malformed content.
    public init(folder: String) throws {
        var trimmed = folder
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.init(name: trimmed.split(separator: "/").last.map(String.init) ?? trimmed)
        func path(_ file: String) -> String { trimmed + "/" + file }
        func exists(_ file: String) -> Bool { access(path(file), F_OK) == 0 }
        let files = ["metrics.jsonl", "genotypes.jsonl", "architecture.json", "architecture.jsonl", "evaluation.json"]
        guard files.contains(where: exists) else {
            throw FileError(path: folder, operation: "cannot read the run folder",
                            reason: "it has none of \(files.joined(separator: ", ")) (is it a folder written by `metanas search`?)")
        }
        if exists("config.json") {
            let text = try readFile(path("config.json"))
            configHash = ContentHash.sha256(text)
            let root = try JSONDocument.parse(text, source: path("config.json")).root
            settings = try root.members().map { (key: $0.key, value: Self.settingText($0.cursor.value)) }
        }
        if exists("metrics.jsonl") {
            for cursor in try Self.jsonLines(path("metrics.jsonl")) { try readMetrics(cursor) }
        }
        if exists("genotypes.jsonl") {
            for cursor in try Self.jsonLines(path("genotypes.jsonl")) {
                try cursor.checkKeys(["iteration", "genotype"])
                genotypes.append(Checkpoint(iteration: try cursor.member("iteration").int(),
                                            value: try Genotype(json: cursor.member("genotype"))))
            }
        }
        if exists("architecture.jsonl") {
            for (k, cursor) in try Self.jsonLines(path("architecture.jsonl")).enumerated() {
                let state = try ArchitectureState(json: cursor)
                // Lines without the label keep their order: they are numbered 1, 2, ...
                let iteration = state.provenance.labels["iteration"].flatMap { Int($0) } ?? (k + 1)
                architectures.append(Checkpoint(iteration: iteration, value: state))
            }
        }
        if exists("architecture.json") {
            architecture = try ArchitectureState(json: JSONDocument.parse(readFile(path("architecture.json")),
                                                                          source: path("architecture.json")).root)
        }
        if exists("evaluation.json") {
            evaluation = try Self.readEvaluation(JSONDocument.parse(readFile(path("evaluation.json")),
                                                                    source: path("evaluation.json")).root)
        }
    }

    /// The meta-architecture's latest genotype: from `architecture.json`, else the last
    /// checkpoint of either history.
    public var finalGenotype: Genotype? {
        architecture?.resolvedGenotype ?? latestArchitecture?.resolvedGenotype ?? genotypes.last?.value
    }

    /// The latest architecture state: `architecture.json`, else the last line of `architecture.jsonl`.
    public var latestArchitecture: ArchitectureState? { architecture ?? architectures.last?.value }

    /// The iteration of ``finalGenotype``, when known.
    public var finalIteration: Int? {
        if let label = architecture?.provenance.labels["iteration"], let it = Int(label) { return it }
        return architectures.last?.iteration ?? genotypes.last?.iteration ?? iterations.last?.iteration
    }

    // MARK: - Reading

    /// The non-blank lines of a JSON-lines file, each parsed (errors name the line).
    private static func jsonLines(_ path: String) throws -> [JSONCursor] {
        let lines = try readFile(path).split(separator: "\n", omittingEmptySubsequences: false)
        var out: [JSONCursor] = []
        for (k, line) in lines.enumerated() where !line.allSatisfy(\.isWhitespace) {
            out.append(try JSONDocument.parse(String(line), source: path, firstLine: k + 1).root)
        }
        return out
    }

    private mutating func readMetrics(_ c: JSONCursor) throws(JSONError) {
        let iteration = try c.member("iteration").int()
        let phase = try c.member("phase").string()
        func number(_ key: String) throws(JSONError) -> Double? { try c.optionalMember(key)?.double() }
        func text(_ key: String) throws(JSONError) -> String? { try c.optionalMember(key)?.string() }
        if phase == "meta-test" {
            metaTests.append(MetaTest(iteration: iteration, accuracy: try c.member("test_accuracy").double(),
                                      ci95: try number("test_ci95") ?? 0, tasks: try c.optionalMember("tasks")?.int()))
            return
        }
        iterations.append(Iteration(
            iteration: iteration, phase: phase, temperature: try number("temperature"), trainLoss: try number("train_loss"),
            trainAccuracy: try number("train_accuracy"), queryLoss: try number("query_loss"),
            queryAccuracy: try number("query_accuracy"), activeWeights: try number("active_weights"),
            seconds: try number("seconds"), metaLearner: try text("meta_learner"), pruner: try text("pruner")))
    }

    private static func readEvaluation(_ c: JSONCursor) throws(JSONError) -> Evaluation {
        var tasks: [TaskResult] = []
        if let list = try c.optionalMember("per_task") {
            for entry in try list.elements() {
                tasks.append(TaskResult(accuracy: try entry.member("accuracy").double(),
                                        activeWeights: try entry.optionalMember("active_weights")?.int(),
                                        genotype: try Genotype(json: entry.member("genotype"))))
            }
        }
        return Evaluation(iteration: try c.optionalMember("iteration")?.int(), pruner: try c.optionalMember("pruner")?.string(),
                          accuracy: try c.member("accuracy").double(), ci95: try c.optionalMember("ci95")?.double() ?? 0,
                          meanActiveWeights: try c.optionalMember("mean_active_weights")?.double(),
                          seconds: try c.optionalMember("seconds")?.double(), tasks: tasks)
    }

    /// A setting's value as one line: strings bare, everything else compact JSON.
    private static func settingText(_ value: JSONValue) -> String {
        if case .string(let s) = value { return s }
        return value.serialized(pretty: false)
    }
}
