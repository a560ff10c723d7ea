import Dispatch
import Foundation

/// Where decoded images are cached between runs.
public enum CacheLocation: Sendable, Equatable {
    /// Never read or write a cache.
    case disabled
    /// `<archive folder>/.metanas-cache/`, or `fallback` when that folder cannot be written
    /// (the shared Omniglot folder is read-only); no cache when neither can.
    case automatic(fallback: URL?)
    /// Exactly this folder (created if needed).
    case folder(URL)
}

/// What happened to the cache during a load.
public enum CacheEvent: Sendable, Equatable {
    /// Caching was disabled.
    case disabled
    /// No writable cache folder was found; the archive was decoded.
    case unavailable(reason: String)
    /// The cache file was valid and used; the archive's images were not decoded.
    case hit(file: URL)
    /// No cache file existed; the archive was decoded and the file written.
    case created(file: URL)
    /// A cache file existed but could not be trusted (stale, corrupt); it was rewritten.
    case rebuilt(file: URL, reason: String)
    /// The archive was decoded but the cache file could not be written.
    case writeFailed(file: URL, reason: String)
}

/// An image set together with what the cache did while loading it.
public struct ArchiveLoad: Sendable {
    /// The archive's images.
    public let images: ImageSet
    /// Whether the images came from the cache, and what was written.
    public let cache: CacheEvent
}

extension ImageSet {
    /// The side length of Omniglot's original images (105 x 105).
    public static let sourceSide = 105

    /// Loads an Omniglot-layout zip archive, from the cache when a valid one exists.
    ///
    /// The archive is read once into memory; its hash (with its byte size and the image size)
    /// keys the cache. On a miss the PNG entries are decoded and resized in parallel and the
    /// cache file is written atomically for the next run.
    ///
    /// - Parameters:
    ///   - archive: The zip, e.g. `images_background.zip`.
    ///   - imageSize: The side length of the resized images (28 in the reference setup).
    ///   - cache: Where to look for and write the cache.
    /// - Returns: The images and what the cache did.
    /// - Throws: ``DatasetError`` for a missing, unreadable or malformed archive.
    public static func loadReporting(archive: URL, imageSize: Int = 28,
                                     cache: CacheLocation = .automatic(fallback: nil)) throws -> ArchiveLoad {
        try load(archive: archive, imageSize: imageSize, cache: cache, ignoreExistingCache: false)
    }

    /// Loads an Omniglot-layout zip archive, from the cache when a valid one exists.
    ///
    /// The same as ``loadReporting(archive:imageSize:cache:)`` without the cache report.
    ///
    /// - Parameters:
    ///   - archive: The zip, e.g. `images_background.zip`.
    ///   - imageSize: The side length of the resized images.
    ///   - cache: Where to look for and write the cache.
    /// - Returns: The archive's images.
    /// - Throws: ``DatasetError`` for a missing, unreadable or malformed archive.
    public static func load(archive: URL, imageSize: Int = 28,
                            cache: CacheLocation = .automatic(fallback: nil)) throws -> ImageSet {
        try loadReporting(archive: archive, imageSize: imageSize, cache: cache).images
    }

    /// The loader behind the public entry points; `ignoreExistingCache` forces a decode (benchmarks).
    static func load(archive: URL, imageSize: Int, cache: CacheLocation,
                     ignoreExistingCache: Bool) throws -> ArchiveLoad {
        try validate(imageSize: imageSize)
        let data = try FileIO.readArchive(at: archive)
        let archiveName = archive.lastPathComponent
        let key = CacheKey(archiveByteCount: UInt64(data.count), archiveHash: Hash64.hash(data), imageSize: imageSize)

        let folder: URL
        switch resolveCacheFolder(cache, archive: archive) {
        case .folder(let resolved):
            folder = resolved
        case .none(let event):
            return ArchiveLoad(images: try decode(data, archiveName: archiveName, imageSize: imageSize), cache: event)
        }
        let file = ImageCache.fileURL(in: folder, archiveName: archiveName, imageSize: imageSize)
        var rejection: String?
        if let existing = FileIO.readIfPresent(at: file) {
            switch ImageCache.decode(existing, key: key) {
            case .success(let images) where !ignoreExistingCache:
                return ArchiveLoad(images: images, cache: .hit(file: file))
            case .success:
                rejection = "rebuild requested"
            case .failure(let reason):
                rejection = reason.rawValue
            }
        }
        let images = try decode(data, archiveName: archiveName, imageSize: imageSize)
        do {
            try FileIO.writeAtomically(ImageCache.encode(images, key: key), to: file)
        } catch {
            return ArchiveLoad(images: images, cache: .writeFailed(file: file, reason: "\(error)"))
        }
        let event: CacheEvent = rejection.map { .rebuilt(file: file, reason: $0) } ?? .created(file: file)
        return ArchiveLoad(images: images, cache: event)
    }

    /// Picks the cache folder, or says why there is none.
    private static func resolveCacheFolder(_ cache: CacheLocation, archive: URL) -> _CacheFolder {
        switch cache {
        case .disabled:
            return .none(.disabled)
        case .folder(let folder):
            return FileIO.prepareWritableFolder(folder)
                ? .folder(folder) : .none(.unavailable(reason: "cannot write to \(folder.path)"))
        case .automatic(let fallback):
            let beside = archive.deletingLastPathComponent().appendingPathComponent(".metanas-cache")
            for candidate in [beside, fallback].compactMap({ $0 }) where FileIO.prepareWritableFolder(candidate) {
                return .folder(candidate)
            }
            return .none(.unavailable(reason: "cannot write to \(beside.path)"
                                         + (fallback.map { " or \($0.path)" } ?? " and no fallback folder was given")))
        }
    }

    /// Rejects image sizes that cannot be produced.
    static func validate(imageSize: Int) throws {
        guard (1...1024).contains(imageSize) else {
            throw DatasetError.invalidParameter(name: "imageSize", value: "\(imageSize)", reason: "must be in 1...1024")
        }
    }

    /// Decodes an archive held in memory, without any cache.
    ///
    /// The entries are read sequentially with libarchive; the PNGs are then decoded and
    /// resized in parallel, in contiguous chunks of images (`DispatchQueue.concurrentPerform`),
    /// each chunk writing its own slice of the pixel buffer. The first failing entry in archive
    /// order is reported, whatever the thread timing.
    ///
    /// - Parameters:
    ///   - data: The zip archive's bytes.
    ///   - archiveName: The archive's file name for error messages.
    ///   - imageSize: The side length of the resized images.
    /// - Returns: The images.
    /// - Throws: ``DatasetError`` for a malformed archive or image.
    static func decode(_ data: Data, archiveName: String, imageSize: Int) throws -> ImageSet {
        let contents = try ZipReader.read(data, archiveName: archiveName)
        let layout = try OmniglotLayout(contents)
        let fileOfImage = layout.characters.flatMap(\.files)
        let pixels = try decodeImages(contents, files: fileOfImage, imageSize: imageSize)

        var classes: [CharacterClass] = []
        var next = 0
        for character in layout.characters {
            classes.append(CharacterClass(alphabetIndex: character.alphabetIndex,
                                          alphabet: layout.alphabets[character.alphabetIndex],
                                          name: character.name, images: next..<(next + character.files.count)))
            next += character.files.count
        }
        return try ImageSet(name: layout.top, imageSize: imageSize, pixels: pixels,
                            classes: classes, alphabets: layout.alphabets)
    }

    /// Decodes and resizes the PNG files `files` (indices into `contents.files`) in parallel.
    ///
    /// - Returns: `files.count * imageSize * imageSize` floats in the order of `files`.
    /// - Throws: The error of the first failing file in the order of `files`.
    static func decodeImages(_ contents: ArchiveContents, files: [Int], imageSize: Int) throws -> [Float] {
        let count = files.count
        let side = sourceSide
        let perImage = imageSize * imageSize
        let resizer = AreaResizer(source: side, target: imageSize)
        let chunks = max(1, min(count, ProcessInfo.processInfo.activeProcessorCount * 8))
        var errors = [DatasetError?](repeating: nil, count: chunks)
        var pixels = [Float](repeating: 0, count: count * perImage)
        pixels.withUnsafeMutableBufferPointer { output in
            errors.withUnsafeMutableBufferPointer { errorSlots in
                contents.bytes.withUnsafeBytes { archiveBytes in
                    let shared = _UncheckedSendable((output, errorSlots, archiveBytes))
                    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                        let (output, errorSlots, archiveBytes) = shared.value
                        var gray = [UInt8](repeating: 0, count: side * side)
                        var scratch = [Float](repeating: 0, count: side * imageSize)
                        for image in (chunk * count / chunks)..<((chunk + 1) * count / chunks) {
                            let file = contents.files[files[image]]
                            do {
                                try gray.withUnsafeMutableBytes { grayBytes in
                                    try PNGCodec.decodeGray(UnsafeRawBufferPointer(rebasing: archiveBytes[file.range]),
                                                            side: side, into: grayBytes,
                                                            archive: contents.archiveName, entry: file.path)
                                    scratch.withUnsafeMutableBufferPointer { scratch in
                                        resizer.resize(UnsafeRawBufferPointer(grayBytes),
                                                       into: UnsafeMutableBufferPointer(
                                                           rebasing: output[(image * perImage)..<((image + 1) * perImage)]),
                                                       scratch: scratch)
                                    }
                                }
                            } catch {
                                errorSlots[chunk] = error as? DatasetError
                                    ?? .corruptPNG(archive: contents.archiveName, entry: file.path, reason: "\(error)")
                                return
                            }
                        }
                    }
                }
            }
        }
        if let first = errors.lazy.compactMap({ $0 }).first { throw first }
        return pixels
    }
}

/// The cache folder to use, or the event that explains why there is none.
enum _CacheFolder {
    case folder(URL)
    case none(CacheEvent)
}

/// Carries values into `concurrentPerform` workers that only touch disjoint parts of them.
struct _UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
