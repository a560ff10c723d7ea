import Datasets
import Engine
import Foundation

/// The meta-training and meta-test task samplers of a run.
public struct TaskSources: Sendable {
    public let training: TaskSampler
    public let test: TaskSampler
    /// One line per split with its class and image counts.
    public let summary: String

    /// Loads (or, for the synthetic set, generates) the data and builds the samplers.
    ///
    /// Meta-training draws from the background split (with rotations as new classes when
    /// asked), meta-testing from the evaluation split, as in Lake's protocol.
    ///
    /// - Throws: ``DatasetError`` for missing or malformed archives, or task shapes that the
    ///   splits cannot supply.
    public init(config: RunConfig) throws {
        let folder = URL(fileURLWithPath: config.dataFolder)
        let background: ImageSet, evaluation: ImageSet
        switch config.dataset {
        case .synthetic:
            let train = SyntheticGlyphs(alphabets: 20, charactersPerAlphabet: 10, drawers: 20, seed: 1,
                                        splitName: "images_background")
            let test = SyntheticGlyphs(alphabets: 10, charactersPerAlphabet: 10, drawers: 20, seed: 2,
                                       splitName: "images_evaluation")
            background = try ImageSet.load(archive: try train.ensureArchive(in: folder), imageSize: config.imageSize)
            evaluation = try ImageSet.load(archive: try test.ensureArchive(in: folder), imageSize: config.imageSize)
        case .omniglot:
            let o = try Omniglot.load(folder: folder, imageSize: config.imageSize)
            (background, evaluation) = (o.background, o.evaluation)
        }
        var trainSplit = ClassSplit.all(of: background, name: "background")
        if config.rotateTrainingClasses { trainSplit = trainSplit.withRotations() }
        let testSplit = ClassSplit.all(of: evaluation, name: "evaluation")
        training = try TaskSampler(split: trainSplit, ways: config.ways, shots: config.trainShots, queries: config.trainQueries)
        test = try TaskSampler(split: testSplit, ways: config.ways, shots: config.testShots, queries: config.testQueries)
        summary = "meta-training: \(trainSplit.summary)\nmeta-test:     \(testSplit.summary)"
    }

    public init(training: TaskSampler, test: TaskSampler) {
        (self.training, self.test) = (training, test)
        summary = "meta-training: \(training.split.summary)\nmeta-test:     \(test.split.summary)"
    }
}
