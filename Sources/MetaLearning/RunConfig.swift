import JSON
import SearchSpace

/// Where tasks come from.
public enum DatasetChoice: String, Sendable, Hashable, CaseIterable {
    /// The project's generated glyphs (works on a fresh machine).
    case synthetic
    /// The Omniglot archives in ``RunConfig/dataFolder``.
    case omniglot
}

/// Every setting of a meta-training and meta-test run. A value: presets build one, a config
/// file or flags override fields, and the run folder stores it as JSON.
public struct RunConfig: Sendable, Hashable {
    // Data
    public var dataset: DatasetChoice = .synthetic
    /// Folder with `images_background.zip` / `images_evaluation.zip` (Omniglot).
    public var dataFolder: String = "datasets"
    public var imageSize = 28
    /// Add 90/180/270-degree rotations as new classes to the meta-training split.
    public var rotateTrainingClasses = true

    // Tasks
    public var ways = 20
    /// Support images per class during meta-training (the reference uses 15 whatever the shots).
    public var trainShots = 15
    public var trainQueries = 1
    /// Support images per class at meta-test time.
    public var testShots = 1
    public var testQueries = 1

    // Search space
    public var searchSpace = SearchSpaceConfig.reference()

    // Plugins by name
    public var taskLearner = "darts"
    public var metaLearner = "reptile"
    public var pruner = "soft"

    // Meta-training
    public var iterations = 30_000
    public var warmupIterations = 15_000
    public var metaBatch = 10
    public var innerSteps = 5
    public var batchSize = 20
    public var weightLearningRate: Float = 0.005
    public var architectureLearningRate: Float = 0.005
    public var architectureWeightDecay: Float = 1e-3
    public var innerBeta1: Float = 0
    public var innerBeta2: Float = 0.999
    public var startTemperature: Float = 1.0
    public var endTemperature: Float = 0.05
    public var dropPath: Float = 0.2
    public var trainingThreshold: Float = 0.01
    public var metaWeightStep: Float = 1.0
    public var metaArchitectureStep: Float = 0.6
    public var hardRetrainSteps = 10
    /// The virtual weight step (xi) of the unrolled architecture gradient (`darts-unrolled`).
    public var unrolledStep: Float = 0.005

    // Meta-testing
    public var testTasks = 600
    public var testSteps = 100
    public var testArchitectureSteps = 50
    public var testBatchSize = 10
    public var testEndTemperature: Float = 0.1
    public var testThreshold: Float = 0.05
    /// Run a small meta-test every this many iterations (0: only at the end).
    public var evaluateEvery = 0
    public var evaluateTasks = 20

    // Run
    public var seed: UInt64 = 0
    public var checkpointEvery = 100

    public init() {}

    /// Named presets: `omniglot-20way-1shot` (the reference settings) and `small` (a useful run
    /// in minutes on two cores).
    public static let presetNames = ["omniglot-20way-1shot", "small", "tiny"]

    /// The preset called `name`.
    public static func preset(_ name: String) -> RunConfig? {
        var c = RunConfig()
        switch name {
        case "omniglot-20way-1shot":
            c.dataset = .omniglot
            return c
        case "small":
            c.ways = 5
            c.trainShots = 5
            c.testShots = 1
            c.searchSpace.channels = 8
            c.searchSpace.cellCount = 3
            c.searchSpace.reductionCells = [1]
            c.searchSpace.nodes = 2
            c.searchSpace.ways = 5
            c.iterations = 400
            c.warmupIterations = 150
            c.metaBatch = 5
            c.batchSize = 10
            c.testTasks = 100
            c.testSteps = 50
            c.testArchitectureSteps = 25
            c.evaluateEvery = 100
            c.evaluateTasks = 20
            c.checkpointEvery = 50
            return c
        case "tiny":
            c.ways = 5
            c.trainShots = 5
            c.imageSize = 14
            c.searchSpace.inputSize = 14
            c.searchSpace.channels = 4
            c.searchSpace.stemMultiplier = 2
            c.searchSpace.cellCount = 2
            c.searchSpace.reductionCells = [1]
            c.searchSpace.nodes = 2
            c.searchSpace.ways = 5
            c.iterations = 40
            c.warmupIterations = 10
            c.metaBatch = 4
            c.batchSize = 10
            c.testTasks = 20
            c.testSteps = 20
            c.testArchitectureSteps = 10
            c.evaluateEvery = 0
            c.checkpointEvery = 10
            return c
        default:
            return nil
        }
    }

    /// The inner loop of meta-training at `iteration` (warm-up: weights only, T = 1).
    public func trainingLoop(warmup: Bool) -> InnerLoop {
        InnerLoop(steps: innerSteps, architectureSteps: warmup ? 0 : innerSteps, batchSize: batchSize,
                  startTemperature: startTemperature, endTemperature: warmup ? startTemperature : endTemperature,
                  dropPathKeep: 1 - dropPath)
    }

    /// The inner loop of a meta-test task.
    public var testLoop: InnerLoop {
        InnerLoop(steps: testSteps, architectureSteps: testArchitectureSteps, batchSize: testBatchSize,
                  startTemperature: startTemperature, endTemperature: testEndTemperature, dropPathKeep: 1)
    }

    /// Checks that the settings fit together before any work starts.
    public func validate() throws(ConfigError) {
        func fail(_ key: String, _ m: String) -> ConfigError { ConfigError(key: key, message: m) }
        if ways < 2 { throw fail("ways", "must be at least 2, got \(ways)") }
        if searchSpace.ways != ways { throw fail("searchSpace.ways", "is \(searchSpace.ways) but ways is \(ways)") }
        if searchSpace.inputSize != imageSize { throw fail("imageSize", "is \(imageSize) but the search space expects \(searchSpace.inputSize)") }
        if trainShots < 1 || testShots < 1 { throw fail("trainShots", "shots must be at least 1") }
        if trainQueries < 1 || testQueries < 1 { throw fail("trainQueries", "queries must be at least 1") }
        if iterations < 0 || warmupIterations < 0 { throw fail("iterations", "must not be negative") }
        if metaBatch < 1 { throw fail("metaBatch", "must be at least 1, got \(metaBatch)") }
        if innerSteps < 1 || testSteps < 1 { throw fail("innerSteps", "must be at least 1") }
        if testArchitectureSteps > testSteps { throw fail("testArchitectureSteps", "\(testArchitectureSteps) exceeds testSteps \(testSteps)") }
        if batchSize < 2 || testBatchSize < 2 { throw fail("batchSize", "must be at least 2 (batch norm needs two samples)") }
        if !(dropPath >= 0 && dropPath < 1) { throw fail("dropPath", "must be in [0, 1), got \(dropPath)") }
        if !(startTemperature > 0 && endTemperature > 0 && testEndTemperature > 0) { throw fail("startTemperature", "temperatures must be positive") }
        if testTasks < 1 { throw fail("testTasks", "must be at least 1") }
        if checkpointEvery < 1 { throw fail("checkpointEvery", "must be at least 1") }
    }
}

/// A setting that does not fit; names the key to change.
public struct ConfigError: Error, CustomStringConvertible {
    public let key: String, message: String
    public init(key: String, message: String) { (self.key, self.message) = (key, message) }
    public var description: String { "config: \(key) \(message)" }
}
