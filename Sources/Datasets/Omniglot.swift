import Engine
import Foundation

/// Omniglot: the background and evaluation archives, decoded, and the splits users expect.
///
/// Lake et al.'s split is the two archives themselves (30 alphabets / 964 characters and
/// 20 alphabets / 659 characters, 20 drawers each). The other splits pool both archives'
/// 1623 characters or 50 alphabets and cut them at random with a seeded generator.
/// Rotation augmentation is applied per split with ``ClassSplit/withRotations(_:)``, so only
/// the splits a caller chooses (usually the training split) get the 4x classes.
public struct Omniglot: Sendable {
    /// The file names of the two official archives.
    public static let backgroundArchive = "images_background.zip"
    public static let evaluationArchive = "images_evaluation.zip"

    /// Lake's background set (meta-training in the reference setup).
    public let background: ImageSet
    /// Lake's evaluation set (meta-testing).
    public let evaluation: ImageSet

    public init(background: ImageSet, evaluation: ImageSet) {
        self.background = background
        self.evaluation = evaluation
    }

    /// Loads both archives from a folder, using the cache when valid.
    ///
    /// - Parameters:
    ///   - folder: The folder holding `images_background.zip` and `images_evaluation.zip`.
    ///   - imageSize: The side length of the resized images.
    ///   - cache: Where to read and write the decoded images.
    /// - Returns: Both image sets.
    /// - Throws: ``DatasetError`` for a missing or malformed archive.
    public static func load(folder: URL, imageSize: Int = 28,
                            cache: CacheLocation = .automatic(fallback: nil)) throws -> Omniglot {
        try loadReporting(folder: folder, imageSize: imageSize, cache: cache).omniglot
    }

    /// Loads both archives from a folder and reports what the cache did for each.
    ///
    /// - Parameters:
    ///   - folder: The folder holding the two archives.
    ///   - imageSize: The side length of the resized images.
    ///   - cache: Where to read and write the decoded images.
    /// - Returns: Both image sets and the cache events (background, evaluation).
    /// - Throws: ``DatasetError`` for a missing or malformed archive.
    public static func loadReporting(folder: URL, imageSize: Int = 28,
                                     cache: CacheLocation = .automatic(fallback: nil))
        throws -> (omniglot: Omniglot, cache: [CacheEvent]) {
        try load(folder: folder, imageSize: imageSize, cache: cache, ignoreExistingCache: false)
    }

    /// The loader behind the public entry points (benchmarks force a decode).
    static func load(folder: URL, imageSize: Int, cache: CacheLocation,
                     ignoreExistingCache: Bool) throws -> (omniglot: Omniglot, cache: [CacheEvent]) {
        let background = try ImageSet.load(archive: folder.appendingPathComponent(backgroundArchive),
                                           imageSize: imageSize, cache: cache, ignoreExistingCache: ignoreExistingCache)
        let evaluation = try ImageSet.load(archive: folder.appendingPathComponent(evaluationArchive),
                                           imageSize: imageSize, cache: cache, ignoreExistingCache: ignoreExistingCache)
        return (Omniglot(background: background.images, evaluation: evaluation.images),
                [background.cache, evaluation.cache])
    }

    /// Both image sets, background first.
    public var imageSets: [ImageSet] { [background, evaluation] }

    /// Lake's split: the background archive for training, the evaluation archive for testing.
    public var lakeSplit: (background: ClassSplit, evaluation: ClassSplit) {
        (ClassSplit.all(of: background), ClassSplit.all(of: evaluation))
    }

    /// A seeded random split of all 1623 characters, e.g. `[1200, 423]` or `[1100, 100, 423]`.
    ///
    /// - Parameters:
    ///   - sizes: Characters per part.
    ///   - generator: The random stream.
    /// - Returns: One split per size (named `train`/`test` or `train`/`validation`/`test`).
    /// - Throws: ``DatasetError/splitTooLarge(unit:requested:available:)`` when the sizes add
    ///   up to more than 1623.
    public func randomCharacterSplit(sizes: [Int], using generator: inout SeededGenerator) throws -> [ClassSplit] {
        try ClassSplit.randomCharacters(from: imageSets, sizes: sizes, using: &generator)
    }

    /// Vinyals et al.'s split sizes, 1028/172/423 characters, drawn at random with the seed.
    ///
    /// The original split lists named characters in a file this project does not ship; this
    /// draws the same sizes from both archives, reproducibly for a given generator state.
    ///
    /// - Parameter generator: The random stream.
    /// - Returns: `train`, `validation` and `test` splits.
    /// - Throws: Never for the full data set; ``DatasetError`` for a smaller one.
    public func vinyalsSplit(using generator: inout SeededGenerator) throws -> [ClassSplit] {
        try ClassSplit.randomCharacters(from: imageSets, sizes: ClassSplit.vinyalsSizes, using: &generator)
    }

    /// A seeded split of the 50 alphabets, e.g. `[30, 20]` or `[25, 5, 20]`.
    ///
    /// - Parameters:
    ///   - alphabetCounts: Alphabets per part.
    ///   - generator: The random stream.
    /// - Returns: One split per count.
    /// - Throws: ``DatasetError/splitTooLarge(unit:requested:available:)`` when the counts add
    ///   up to more than 50.
    public func alphabetSplit(alphabetCounts: [Int], using generator: inout SeededGenerator) throws -> [ClassSplit] {
        try ClassSplit.byAlphabet(from: imageSets, alphabetCounts: alphabetCounts, using: &generator)
    }
}
