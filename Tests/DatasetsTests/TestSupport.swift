import Engine
import Foundation
import Testing
@testable import Datasets

/// Shared fixtures: temporary folders, small synthetic archives and the real Omniglot archives.
enum Fixtures {
    /// One folder per test process for everything the tests write; removed when the process exits.
    static let root: URL = {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("metanas-datasets-tests-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: Fixtures.root) }
        return url
    }()

    /// A fresh, empty temporary folder.
    static func temporaryFolder(_ label: String = #function) throws -> URL {
        let safe = label.filter { $0.isLetter || $0.isNumber }
        let url = root.appendingPathComponent("\(safe)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A small synthetic data set: 3 alphabets x 4 characters x 20 drawers (240 images).
    static let small = SyntheticGlyphs(alphabets: 3, charactersPerAlphabet: 4, drawers: 20, seed: 7)

    /// The small synthetic archive, written once per test process.
    static let smallArchive: URL = {
        let folder = try! temporaryFolder("small")
        let url = folder.appendingPathComponent(small.archiveFileName)
        try! small.writeArchive(to: url)
        return url
    }()

    /// The small synthetic set decoded at 28x28 without a cache.
    static let smallSet: ImageSet = try! ImageSet.load(archive: smallArchive, imageSize: 28, cache: .disabled)

    /// Writes a zip of `entries` to `folder/name` and returns its location.
    static func zip(_ entries: [ZipEntry], named name: String, in folder: URL) throws -> URL {
        let url = folder.appendingPathComponent(name)
        try ZipWriter.write(entries, to: url)
        return url
    }

    /// A 105x105 one-bit PNG of a synthetic drawing.
    static func glyphPNG(_ character: Int = 0, drawer: Int = 0) throws -> [UInt8] {
        try small.png(alphabet: 0, character: character, drawer: drawer)
    }

    // MARK: Real Omniglot

    /// The folder with the real archives, if present: `/work/shared/datasets/omniglot` or
    /// `../shared/datasets/omniglot` relative to the package root (found from this file's path).
    static let realFolder: URL? = {
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidates = [URL(fileURLWithPath: "/work/shared/datasets/omniglot"),
                          packageRoot.appendingPathComponent("../shared/datasets/omniglot").standardizedFileURL]
        return candidates.first { folder in
            FileManager.default.fileExists(atPath: folder.appendingPathComponent(Omniglot.backgroundArchive).path)
                && FileManager.default.fileExists(atPath: folder.appendingPathComponent(Omniglot.evaluationArchive).path)
        }
    }()

    static let realAvailable = realFolder != nil

    /// Whether this is an unoptimised build, where timings mean nothing.
    static let isDebugBuild: Bool = {
        #if DEBUG
        return true
        #else
        return false
        #endif
    }()
    static let realSkipMessage: Comment =
        "real Omniglot archives not found at /work/shared/datasets/omniglot or ../shared/datasets/omniglot; skipped"

    /// The cache folder the shared real load writes to.
    static let realCacheFolder: URL = try! temporaryFolder("realcache")

    /// Both real archives at 28x28, loaded once per process (cold, writing a fresh cache).
    static let real: (omniglot: Omniglot, cache: [CacheEvent]) = {
        try! Omniglot.loadReporting(folder: realFolder!, imageSize: 28, cache: .folder(realCacheFolder))
    }()
}

/// Checks that `body` throws exactly `expected`, forwarding the caller's source location.
func expectError<R>(_ expected: DatasetError, sourceLocation: SourceLocation = #_sourceLocation,
                    _ body: () throws -> R) {
    do {
        _ = try body()
        Issue.record("expected \(expected) but nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as DatasetError {
        #expect(error == expected, sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(expected) but got \(error)", sourceLocation: sourceLocation)
    }
}

/// Runs `body`, returning the `DatasetError` it throws (recording an issue if it throws none).
func capturedError<R>(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> R) -> DatasetError? {
    do {
        _ = try body()
        Issue.record("expected a DatasetError but nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as DatasetError {
        return error
    } catch {
        Issue.record("expected a DatasetError but got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
