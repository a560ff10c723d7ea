import Engine
import Foundation

/// One run of Lake's one-shot classification benchmark: N training images, one per class, and
/// test images to classify.
public struct OneShotRun: Sendable {
    /// The run folder's name (`run01`).
    public let name: String
    /// `[N, 1, S, S]`: the training images in class order.
    public let support: Tensor
    /// `0 ..< N`: the label of each support image (its position in class order).
    public let supportLabels: [Int]
    /// `[M, 1, S, S]`: the test images in `class_labels.txt` order.
    public let query: Tensor
    /// The label of each test image: the index of its training image.
    public let queryLabels: [Int]

    /// The number of classes (N).
    public var ways: Int { supportLabels.count }
}

/// Reads Lake et al.'s one-shot benchmark (`all_runs`) as an evaluation source.
///
/// The archive holds folders `runNN/` (at its root or under one common folder), each with
/// `training/classKK.png` (one image per class), `test/itemMM.png` and `class_labels.txt`
/// whose lines pair a test image with its training image, paths relative to the folder
/// holding the runs:
///
/// ```
/// run01/test/item01.png run01/training/class12.png
/// ```
///
/// Support labels are the training images' positions in sorted file-name order; queries come
/// in label-file order. Images must be 105x105 grayscale PNGs and are resized like Omniglot's.
public enum OneShotBenchmark {
    /// The label file of each run.
    public static let labelFile = "class_labels.txt"

    /// Loads every run of a one-shot benchmark zip.
    ///
    /// - Parameters:
    ///   - archive: The zip (e.g. `all_runs.zip`).
    ///   - imageSize: The side length of the resized images.
    /// - Returns: The runs, sorted by folder name.
    /// - Throws: ``DatasetError`` for a missing or malformed archive, a missing label file or
    ///   referenced image, a malformed label line, an empty `training/` folder or a bad image.
    public static func load(archive: URL, imageSize: Int = 28) throws -> [OneShotRun] {
        try ImageSet.validate(imageSize: imageSize)
        let data = try FileIO.readArchive(at: archive)
        let contents = try ZipReader.read(data, archiveName: archive.lastPathComponent)
        let archiveName = contents.archiveName

        var fileIndex: [String: Int] = [:]
        var runRoots = Set<String>()
        for (index, file) in contents.files.enumerated() {
            let parts = file.path.split(separator: "/").map(String.init)
            if OmniglotLayout.isIgnored(parts) { continue }
            fileIndex[file.path] = index
            if let k = parts.firstIndex(where: isRunFolderName), k < parts.count - 1 {
                runRoots.insert(parts[0...k].joined(separator: "/"))
            }
        }
        guard !runRoots.isEmpty else { throw DatasetError.emptyArchive(archive: archiveName) }

        return try runRoots.sorted(by: OmniglotLayout.byteOrder).map { root in
            let parent = root.split(separator: "/").dropLast().map { $0 + "/" }.joined()
            let trainingPrefix = root + "/training/"
            let training = fileIndex.keys
                .filter { $0.hasPrefix(trainingPrefix) && $0.lowercased().hasSuffix(".png") }
                .sorted(by: OmniglotLayout.byteOrder)
            guard !training.isEmpty else { throw DatasetError.emptyFolder(archive: archiveName, folder: trainingPrefix) }
            let labelPath = root + "/" + labelFile
            guard let labelIndex = fileIndex[labelPath] else {
                throw DatasetError.missingEntry(archive: archiveName, entry: labelPath)
            }
            let text = String(decoding: contents.data(of: contents.files[labelIndex]), as: UTF8.self)
            var queryFiles: [Int] = []
            var queryLabels: [Int] = []
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
                if fields.isEmpty { continue }
                guard fields.count == 2 else {
                    throw DatasetError.malformedLabels(archive: archiveName, entry: labelPath, line: number + 1,
                                                       reason: "expected '<test image> <training image>', found '\(line)'")
                }
                let testPath = parent + fields[0].replacingOccurrences(of: "\\", with: "/")
                let trainingPath = parent + fields[1].replacingOccurrences(of: "\\", with: "/")
                guard let testIndex = fileIndex[testPath] else {
                    throw DatasetError.missingEntry(archive: archiveName, entry: testPath)
                }
                guard let label = training.firstIndex(of: trainingPath) else {
                    throw DatasetError.missingEntry(archive: archiveName, entry: trainingPath)
                }
                queryFiles.append(testIndex)
                queryLabels.append(label)
            }
            let supportFiles = training.map { fileIndex[$0]! }
            let pixels = try ImageSet.decodeImages(contents, files: supportFiles + queryFiles, imageSize: imageSize)
            let split = supportFiles.count * imageSize * imageSize
            return OneShotRun(
                name: String(root.split(separator: "/").last!),
                support: Tensor(shape: [supportFiles.count, 1, imageSize, imageSize], data: Array(pixels[..<split])),
                supportLabels: Array(0..<supportFiles.count),
                query: Tensor(shape: [queryFiles.count, 1, imageSize, imageSize], data: Array(pixels[split...])),
                queryLabels: queryLabels)
        }
    }

    /// `run` followed by digits.
    private static func isRunFolderName(_ name: String) -> Bool {
        name.count > 3 && name.hasPrefix("run") && name.utf8.dropFirst(3).allSatisfy { $0 >= 48 && $0 <= 57 }
    }
}
