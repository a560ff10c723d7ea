/// Everything that can go wrong while reading, caching, splitting or sampling image data.
///
/// Each case carries the context a user needs to find the problem: the archive's file name and
/// the entry inside it, or the numbers that do not fit. The ``description`` reads as one line,
/// for example:
///
/// ```
/// images_background.zip: entry 'images_background/X/character01/0001_01.png' is not a PNG (bad signature)
/// ```
public enum DatasetError: Error, CustomStringConvertible, Equatable, Sendable {
    /// No file exists at the given path.
    case archiveNotFound(path: String)
    /// The file exists but is not a readable zip archive (wrong format, unreadable, empty).
    case unreadableArchive(archive: String, reason: String)
    /// The zip stopped making sense part-way through (truncated or damaged data).
    /// `entry` is the entry being read when it happened, when known.
    case corruptArchive(archive: String, entry: String?, reason: String)
    /// An entry named `.png` whose bytes do not start with the PNG signature.
    case notPNG(archive: String, entry: String)
    /// An entry with a PNG signature that libspng could not decode.
    case corruptPNG(archive: String, entry: String, reason: String)
    /// A PNG that decodes but has the wrong size, bit depth or colour type.
    case wrongImageFormat(archive: String, entry: String, found: String, expected: String)
    /// An entry that does not fit the expected folder layout.
    case unexpectedEntry(archive: String, entry: String, reason: String)
    /// An entry the layout requires (a label file, a referenced image) is absent.
    case missingEntry(archive: String, entry: String)
    /// A line of a label file that cannot be parsed.
    case malformedLabels(archive: String, entry: String, line: Int, reason: String)
    /// A class (or alphabet) folder without a single image in it.
    case emptyFolder(archive: String, folder: String)
    /// An archive without any image.
    case emptyArchive(archive: String)
    /// A task asks for more classes than the split has.
    case tooManyWays(split: String, requested: Int, available: Int)
    /// A task asks for more images per class (shots + queries) than a class of the split has.
    case tooFewImages(split: String, className: String, shots: Int, queries: Int, available: Int)
    /// A split asks for more characters or alphabets than the data holds.
    case splitTooLarge(unit: String, requested: [Int], available: Int)
    /// A parameter outside its domain (for example an image size of 0).
    case invalidParameter(name: String, value: String, reason: String)
    /// A file or folder could not be written.
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .archiveNotFound(path):
            return "\(path): no such archive"
        case let .unreadableArchive(archive, reason):
            return "\(archive): not a readable zip archive (\(reason))"
        case let .corruptArchive(archive, entry?, reason):
            return "\(archive): archive is corrupt at entry '\(entry)' (\(reason))"
        case let .corruptArchive(archive, nil, reason):
            return "\(archive): archive is corrupt (\(reason))"
        case let .notPNG(archive, entry):
            return "\(archive): entry '\(entry)' is not a PNG (bad signature)"
        case let .corruptPNG(archive, entry, reason):
            return "\(archive): entry '\(entry)' is a damaged PNG (\(reason))"
        case let .wrongImageFormat(archive, entry, found, expected):
            return "\(archive): entry '\(entry)' is \(found), expected \(expected)"
        case let .unexpectedEntry(archive, entry, reason):
            return "\(archive): unexpected entry '\(entry)' (\(reason))"
        case let .missingEntry(archive, entry):
            return "\(archive): missing entry '\(entry)'"
        case let .malformedLabels(archive, entry, line, reason):
            return "\(archive): entry '\(entry)' line \(line): \(reason)"
        case let .emptyFolder(archive, folder):
            return "\(archive): folder '\(folder)' holds no images"
        case let .emptyArchive(archive):
            return "\(archive): archive holds no images"
        case let .tooManyWays(split, requested, available):
            return "split '\(split)': \(requested) ways requested but it has only \(available) classes"
        case let .tooFewImages(split, className, shots, queries, available):
            return "split '\(split)': \(shots) shots + \(queries) queries = \(shots + queries) images per class "
                + "requested but class '\(className)' has only \(available)"
        case let .splitTooLarge(unit, requested, available):
            let parts = requested.map(String.init).joined(separator: "/")
            return "split \(parts) needs \(requested.reduce(0, +)) \(unit) but only \(available) exist"
        case let .invalidParameter(name, value, reason):
            return "\(name) = \(value): \(reason)"
        case let .writeFailed(path, reason):
            return "\(path): cannot write (\(reason))"
        }
    }
}
