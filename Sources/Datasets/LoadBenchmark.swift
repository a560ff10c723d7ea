import Dispatch
import Foundation

/// How long loading both Omniglot archives takes, with and without the cache.
public struct OmniglotLoadTiming: Sendable, CustomStringConvertible {
    /// Seconds to decode both archives from the zips and write their cache files.
    public let coldSeconds: Double
    /// Seconds to load both archives from the cache files written by the cold load.
    public let warmSeconds: Double
    /// The number of images loaded (both archives).
    public let imageCount: Int

    /// `cold 3.21 s, warm 0.12 s (32460 images)`.
    public var description: String {
        "cold \(Self.format(coldSeconds)) s, warm \(Self.format(warmSeconds)) s (\(imageCount) images)"
    }

    private static func format(_ seconds: Double) -> String {
        let hundredths = Int((seconds * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

/// Measures a cold and a warm load of Omniglot's two archives.
///
/// The cold load decodes both zips while ignoring any cache file already present (and writes
/// fresh ones); the warm load then reads those cache files. Both include reading and hashing
/// the archives, as a real run does.
///
/// - Parameters:
///   - folder: The folder holding `images_background.zip` and `images_evaluation.zip`.
///   - imageSize: The side length of the resized images.
///   - cacheFolder: A writable folder for the cache files.
/// - Returns: Both durations in seconds.
/// - Throws: ``DatasetError`` when an archive cannot be loaded or the cache cannot be written.
public func benchmarkOmniglotLoad(folder: URL, imageSize: Int = 28, cacheFolder: URL) throws -> OmniglotLoadTiming {
    let cache = CacheLocation.folder(cacheFolder)
    let coldStart = DispatchTime.now().uptimeNanoseconds
    let cold = try Omniglot.load(folder: folder, imageSize: imageSize, cache: cache, ignoreExistingCache: true)
    let coldEnd = DispatchTime.now().uptimeNanoseconds
    for event in cold.cache {
        if case let .writeFailed(file, reason) = event { throw DatasetError.writeFailed(path: file.path, reason: reason) }
        if case let .unavailable(reason) = event { throw DatasetError.writeFailed(path: cacheFolder.path, reason: reason) }
    }
    let warm = try Omniglot.load(folder: folder, imageSize: imageSize, cache: cache, ignoreExistingCache: false)
    let warmEnd = DispatchTime.now().uptimeNanoseconds
    return OmniglotLoadTiming(coldSeconds: Double(coldEnd - coldStart) / 1e9,
                              warmSeconds: Double(warmEnd - coldEnd) / 1e9,
                              imageCount: warm.omniglot.background.imageCount + warm.omniglot.evaluation.imageCount)
}
