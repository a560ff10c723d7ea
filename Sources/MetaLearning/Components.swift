import SearchSpace

/// A plugin name that is not registered for its kind.
public struct UnknownComponentError: Error, CustomStringConvertible {
    public let kind: String, name: String, known: [String]
    public var description: String { "unknown \(kind) '\(name)' (registered: \(known.joined(separator: ", ")))" }
}

/// The building blocks a run is composed from, by name: operations, task learners,
/// meta-learners and pruners. A value built at start-up (built-ins, then whatever a catalog
/// adds) and passed down; nothing is global.
public struct Components: Sendable {
    public typealias Factory<T> = @Sendable (RunConfig) -> T

    public var operations: OperationRegistry
    public private(set) var taskLearners: [(name: String, make: Factory<any TaskLearner>)] = []
    public private(set) var metaLearners: [(name: String, make: Factory<any MetaLearner>)] = []
    public private(set) var pruners: [(name: String, make: Factory<any Pruner>)] = []

    public init(operations: OperationRegistry) { self.operations = operations }

    /// DARTS (first order and unrolled); Reptile and first-order MAML; soft and hard pruning; the built-in operations.
    public static var builtIn: Components {
        var c = Components(operations: .builtIn)
        c.registerTaskLearner("darts") { _ in DARTSTaskLearner() }
        c.registerTaskLearner("darts-unrolled") { UnrolledDARTSTaskLearner(virtualStep: $0.unrolledStep) }
        c.registerMetaLearner("reptile") { Reptile(weightStep: $0.metaWeightStep, architectureStep: $0.metaArchitectureStep) }
        c.registerMetaLearner("fomaml") { FirstOrderMAML(weightStep: $0.metaWeightStep, architectureStep: $0.metaArchitectureStep) }
        c.registerPruner("soft") { SoftPruner(trainingThreshold: $0.trainingThreshold, testThreshold: $0.testThreshold) }
        c.registerPruner("hard") { HardPruner(retrainSteps: $0.hardRetrainSteps) }
        return c
    }

    public mutating func registerTaskLearner(_ name: String, _ make: @escaping Factory<any TaskLearner>) {
        taskLearners.removeAll { $0.name == name }
        taskLearners.append((name, make))
    }

    public mutating func registerMetaLearner(_ name: String, _ make: @escaping Factory<any MetaLearner>) {
        metaLearners.removeAll { $0.name == name }
        metaLearners.append((name, make))
    }

    public mutating func registerPruner(_ name: String, _ make: @escaping Factory<any Pruner>) {
        pruners.removeAll { $0.name == name }
        pruners.append((name, make))
    }

    private static func find<T>(_ list: [(name: String, make: Factory<T>)], _ kind: String, _ name: String,
                                _ config: RunConfig) throws(UnknownComponentError) -> T {
        guard let entry = list.first(where: { $0.name == name }) else {
            throw UnknownComponentError(kind: kind, name: name, known: list.map(\.name))
        }
        return entry.make(config)
    }

    public func taskLearner(for config: RunConfig) throws(UnknownComponentError) -> any TaskLearner {
        try Self.find(taskLearners, "task learner", config.taskLearner, config)
    }

    public func metaLearner(for config: RunConfig) throws(UnknownComponentError) -> any MetaLearner {
        try Self.find(metaLearners, "meta-learner", config.metaLearner, config)
    }

    public func pruner(for config: RunConfig) throws(UnknownComponentError) -> any Pruner {
        try Self.find(pruners, "pruner", config.pruner, config)
    }
}
