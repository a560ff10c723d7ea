import JSON
import SearchSpace

/// One named setting of ``RunConfig``: how to read it, write it and describe it. The config
/// file, `--set key=value` flags and catalog pipelines all go through this one table.
public struct ConfigField: Sendable {
    public enum Kind: String, Sendable { case int, float, string, bool, intList, stringList }
    public let key: String
    public let kind: Kind
    public let summary: String
    let get: @Sendable (RunConfig) -> JSONValue
    let set: @Sendable (inout RunConfig, JSONValue) throws(ConfigError) -> Void
}

extension RunConfig {
    private static func int(_ key: String, _ summary: String, _ path: WritableKeyPath<RunConfig, Int> & Sendable, min: Int = 0) -> ConfigField {
        ConfigField(key: key, kind: .int, summary: summary, get: { .int(Int64($0[keyPath: path])) }, set: { c, v throws(ConfigError) in
            guard let i = v.intValue else { throw ConfigError(key: key, message: "expects an integer, got \(v.kindDescription)") }
            guard i >= min else { throw ConfigError(key: key, message: "must be at least \(min), got \(i)") }
            c[keyPath: path] = i
        })
    }

    private static func float(_ key: String, _ summary: String, _ path: WritableKeyPath<RunConfig, Float> & Sendable) -> ConfigField {
        ConfigField(key: key, kind: .float, summary: summary, get: { .double(Double($0[keyPath: path])) }, set: { c, v throws(ConfigError) in
            guard let d = v.doubleValue, d.isFinite else { throw ConfigError(key: key, message: "expects a number, got \(v.kindDescription)") }
            c[keyPath: path] = Float(d)
        })
    }

    private static func string(_ key: String, _ summary: String, _ path: WritableKeyPath<RunConfig, String> & Sendable) -> ConfigField {
        ConfigField(key: key, kind: .string, summary: summary, get: { .string($0[keyPath: path]) }, set: { c, v throws(ConfigError) in
            guard let s = v.stringValue else { throw ConfigError(key: key, message: "expects a string, got \(v.kindDescription)") }
            c[keyPath: path] = s
        })
    }

    private static func bool(_ key: String, _ summary: String, _ path: WritableKeyPath<RunConfig, Bool> & Sendable) -> ConfigField {
        ConfigField(key: key, kind: .bool, summary: summary, get: { .bool($0[keyPath: path]) }, set: { c, v throws(ConfigError) in
            guard let b = v.boolValue else { throw ConfigError(key: key, message: "expects true or false, got \(v.kindDescription)") }
            c[keyPath: path] = b
        })
    }

    /// Every setting, in the order the config file lists them.
    public static let fields: [ConfigField] = [
        ConfigField(key: "dataset", kind: .string, summary: "synthetic or omniglot", get: { .string($0.dataset.rawValue) },
                    set: { c, v throws(ConfigError) in
                        guard let s = v.stringValue, let d = DatasetChoice(rawValue: s) else {
                            throw ConfigError(key: "dataset", message: "must be one of: \(DatasetChoice.allCases.map(\.rawValue).joined(separator: ", "))")
                        }
                        c.dataset = d
                    }),
        string("dataFolder", "folder holding images_background.zip and images_evaluation.zip", \.dataFolder),
        int("imageSize", "image side after resizing", \.imageSize, min: 4),
        bool("rotateTrainingClasses", "add 90/180/270-degree rotations of training classes as new classes", \.rotateTrainingClasses),
        int("ways", "classes per task", \.ways, min: 2),
        int("trainShots", "support images per class during meta-training", \.trainShots, min: 1),
        int("trainQueries", "query images per class during meta-training", \.trainQueries, min: 1),
        int("testShots", "support images per class at meta-test time", \.testShots, min: 1),
        int("testQueries", "query images per class at meta-test time", \.testQueries, min: 1),
        int("searchSpace.channels", "channels per node (C)", \.searchSpace.channels, min: 2),
        int("searchSpace.stemMultiplier", "stem outputs stemMultiplier * C channels", \.searchSpace.stemMultiplier, min: 1),
        int("searchSpace.cellCount", "number of cells", \.searchSpace.cellCount, min: 1),
        ConfigField(key: "searchSpace.reductionCells", kind: .intList, summary: "positions of reduction cells",
                    get: { .array($0.searchSpace.reductionCells.map { .int(Int64($0)) }) },
                    set: { c, v throws(ConfigError) in
                        guard let a = v.arrayValue, let ints = Optional(a.compactMap(\.intValue)), ints.count == a.count else {
                            throw ConfigError(key: "searchSpace.reductionCells", message: "expects a list of integers")
                        }
                        c.searchSpace.reductionCells = ints
                    }),
        int("searchSpace.reductionChannelFactor", "channel growth at reduction cells", \.searchSpace.reductionChannelFactor, min: 1),
        int("searchSpace.nodes", "intermediate nodes per cell", \.searchSpace.nodes, min: 1),
        ConfigField(key: "searchSpace.operations", kind: .stringList, summary: "candidate operations on every edge",
                    get: { .array($0.searchSpace.operations.map { .string($0) }) },
                    set: { c, v throws(ConfigError) in
                        guard let a = v.arrayValue, let s = Optional(a.compactMap(\.stringValue)), s.count == a.count else {
                            throw ConfigError(key: "searchSpace.operations", message: "expects a list of operation names")
                        }
                        c.searchSpace.operations = s
                    }),
        ConfigField(key: "searchSpace.nodeInputs", kind: .string, summary: "pairs (MetaNAS) or single (DARTS)",
                    get: { .string($0.searchSpace.nodeInputs.rawValue) },
                    set: { c, v throws(ConfigError) in
                        guard let s = v.stringValue, let f = NodeInputForm(rawValue: s) else {
                            throw ConfigError(key: "searchSpace.nodeInputs", message: "must be pairs or single")
                        }
                        c.searchSpace.nodeInputs = f
                    }),
        string("taskLearner", "task learner plugin", \.taskLearner),
        string("metaLearner", "meta-learner plugin (reptile, fomaml)", \.metaLearner),
        string("pruner", "pruner plugin (soft, hard)", \.pruner),
        int("iterations", "meta-iterations in total", \.iterations),
        int("warmupIterations", "first meta-iterations that train weights only", \.warmupIterations),
        int("metaBatch", "tasks per meta-iteration", \.metaBatch, min: 1),
        int("innerSteps", "adaptation steps per task in meta-training", \.innerSteps, min: 1),
        int("batchSize", "support images per inner step (drawn with replacement)", \.batchSize, min: 2),
        float("weightLearningRate", "inner Adam learning rate for weights", \.weightLearningRate),
        float("architectureLearningRate", "inner Adam learning rate for alpha and beta", \.architectureLearningRate),
        float("architectureWeightDecay", "inner Adam weight decay for alpha and beta", \.architectureWeightDecay),
        float("innerBeta1", "inner Adam beta1", \.innerBeta1),
        float("innerBeta2", "inner Adam beta2", \.innerBeta2),
        float("startTemperature", "softmax temperature at the first inner step", \.startTemperature),
        float("endTemperature", "softmax temperature at the last inner step (meta-training)", \.endTemperature),
        float("dropPath", "drop-path probability during meta-training", \.dropPath),
        float("trainingThreshold", "soft-pruning threshold during meta-training", \.trainingThreshold),
        float("metaWeightStep", "meta step size for weights", \.metaWeightStep),
        float("metaArchitectureStep", "meta step size for alpha and beta", \.metaArchitectureStep),
        int("hardRetrainSteps", "weight steps of the fixed network after hard pruning", \.hardRetrainSteps),
        float("unrolledStep", "virtual weight step (xi) of the unrolled architecture gradient", \.unrolledStep),
        int("testTasks", "meta-test tasks", \.testTasks, min: 1),
        int("testSteps", "adaptation steps per meta-test task", \.testSteps, min: 1),
        int("testArchitectureSteps", "first meta-test steps that also update the architecture", \.testArchitectureSteps),
        int("testBatchSize", "support images per meta-test step", \.testBatchSize, min: 2),
        float("testEndTemperature", "temperature at the last architecture step of a meta-test task", \.testEndTemperature),
        float("testThreshold", "soft-pruning threshold at meta-test time", \.testThreshold),
        int("evaluateEvery", "meta-test every this many iterations during training (0: never)", \.evaluateEvery),
        int("evaluateTasks", "tasks of those intermediate meta-tests", \.evaluateTasks, min: 1),
        ConfigField(key: "seed", kind: .int, summary: "seed of every random stream", get: { .int(Int64(bitPattern: $0.seed)) },
                    set: { c, v throws(ConfigError) in
                        guard let i = v.int64Value else { throw ConfigError(key: "seed", message: "expects an integer") }
                        c.seed = UInt64(bitPattern: i)
                    }),
        int("checkpointEvery", "write a checkpoint every this many iterations", \.checkpointEvery, min: 1),
    ]

    /// The config as a JSON object (every field, in table order).
    public var json: JSONValue {
        .object(Self.fields.map { (key: $0.key, value: $0.get(self)) })
    }

    /// Sets one field by key.
    public mutating func set(_ key: String, _ value: JSONValue) throws(ConfigError) {
        guard let field = Self.fields.first(where: { $0.key == key }) else {
            let close = Self.fields.map(\.key).filter { $0.lowercased().contains(key.lowercased()) || key.lowercased().contains($0.lowercased()) }
            throw ConfigError(key: key, message: "is not a setting" + (close.isEmpty ? "" : " (did you mean \(close.joined(separator: ", "))?)"))
        }
        try field.set(&self, value)
        if key == "ways" { searchSpace.ways = ways }
        if key == "imageSize" { searchSpace.inputSize = imageSize }
    }

    /// Sets a field from command-line text: numbers, booleans and comma-separated lists are
    /// parsed according to the field's kind.
    public mutating func set(_ key: String, text: String) throws(ConfigError) {
        guard let field = Self.fields.first(where: { $0.key == key }) else { try set(key, .string(text)); return }
        let value: JSONValue
        switch field.kind {
        case .int: value = Int64(text).map { .int($0) } ?? .string(text)
        case .float: value = Double(text).map { .double($0) } ?? .string(text)
        case .bool: value = text == "true" ? .bool(true) : text == "false" ? .bool(false) : .string(text)
        case .string: value = .string(text)
        case .intList: value = .array(text.split(separator: ",").map { Int64($0.trimmingWhitespace).map { .int($0) } ?? .string(String($0)) })
        case .stringList: value = .array(text.split(separator: ",").map { .string(String($0.trimmingWhitespace)) })
        }
        try set(key, value)
    }

    /// Applies every key of a JSON object (a config file or a pipeline's settings).
    public mutating func apply(_ object: JSONValue) throws(ConfigError) {
        guard let pairs = object.objectValue else { throw ConfigError(key: "(config)", message: "must be a JSON object") }
        for (key, value) in pairs { try set(key, value) }
    }
}

extension Substring {
    var trimmingWhitespace: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
