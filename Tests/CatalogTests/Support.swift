import Datasets
import Engine
import Foundation
import JSON
import MetaLearning
import Testing
@testable import Catalog

/// Temporary folders, catalog texts and the package's files, shared by the catalog tests.
enum Fixtures {
    /// The package root, found from this file's path.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// One folder per test process for everything the tests write; removed when it exits.
    static let root: URL = {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("metanas-catalog-tests-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: Fixtures.root) }
        return url
    }()

    /// A fresh, empty temporary folder (canonical path, no symbolic links).
    static func folder(_ label: String = #function) throws -> String {
        let safe = label.filter { $0.isLetter || $0.isNumber }
        let url = root.appendingPathComponent("\(safe)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.resolvingSymlinksInPath().path
    }

    /// Writes `text` to `folder/name` and returns the path.
    @discardableResult
    static func write(_ text: String, to name: String, in folder: String) throws -> String {
        let path = folder + "/" + name
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The text of a package file.
    static func packageFile(_ relative: String) throws -> String {
        try String(contentsOf: packageRoot.appendingPathComponent(relative), encoding: .utf8)
    }

    /// Validates `text` as a file called `name`, layered over the default catalog, and returns
    /// the problems as printed lines.
    static func problems(_ text: String, name: String = "test.json", policy: LibraryPolicy = LibraryPolicy()) throws -> [String] {
        let folder = try folder("problems")
        let path = try write(text, to: name, in: folder)
        let catalog = Catalog.load(layering: [path])
        return CatalogValidator(registry: PluginRegistry(catalog: catalog, policy: policy)).problems().map(\.description)
    }

    /// A minimal valid catalog with `plugins` and `pipelines` (JSON array texts).
    static func catalog(plugins: String = "[]", pipelines: String = "[]") -> String {
        """
        {
          "format": "metanas.catalog/1",
          "plugins": \(plugins),
          "pipelines": \(pipelines)
        }
        """
    }

    /// Task sources for `config` from small synthetic glyph sets decoded in memory: 3
    /// alphabets x 4 characters x 10 drawers for training and for testing.
    static func sources(for config: RunConfig) throws -> TaskSources {
        let folder = URL(fileURLWithPath: try folder("sources"))
        func split(_ seed: UInt64, _ name: String) throws -> ClassSplit {
            let glyphs = SyntheticGlyphs(alphabets: 3, charactersPerAlphabet: 4, drawers: 10, seed: seed, splitName: name)
            let url = folder.appendingPathComponent(glyphs.archiveFileName)
            try glyphs.writeArchive(to: url)
            return ClassSplit.all(of: try ImageSet.load(archive: url, imageSize: config.imageSize, cache: .disabled), name: name)
        }
        return TaskSources(
            training: try TaskSampler(split: try split(1, "images_background"), ways: config.ways, shots: config.trainShots,
                                      queries: config.trainQueries),
            test: try TaskSampler(split: try split(2, "images_evaluation"), ways: config.ways, shots: config.testShots,
                                  queries: config.testQueries))
    }
}

/// The example operation plugin, built once per test process against this test runner's
/// own build (the module interfaces next to the running executable).
enum ExamplePlugin {
    /// The Swift compiler: on PATH, or next to the runtime this process loaded.
    static let swiftc: String? = {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(dir)/swiftc"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        // <toolchain>/usr/lib/swift/linux/libswiftCore.so -> <toolchain>/usr/bin/swiftc
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8),
              let line = maps.split(separator: "\n").first(where: { $0.hasSuffix("/libswiftCore.so") }),
              let slash = line.firstIndex(of: "/") else { return nil }
        let candidate = URL(fileURLWithPath: String(line[slash...])).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("bin/swiftc").path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }()

    /// The folder of the running test executable, which holds `Modules/`.
    static let binFolder: String = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path

    /// Whether the plugin can be built here (a compiler and this build's module interfaces).
    static var canBuild: Bool {
        swiftc != nil && FileManager.default.fileExists(atPath: binFolder + "/Modules/Catalog.swiftmodule")
    }

    /// A folder holding `catalog.json` (the example's) and `.build/libGatedConv.so`, built
    /// once by `Plugins/ExampleOperation/build.sh`.
    static let folder: Result<String, BuildError> = {
        do {
            let folder = try Fixtures.folder("plugin")
            let script = Fixtures.packageRoot.appendingPathComponent("Plugins/ExampleOperation/build.sh").path
            let output = try run("/bin/bash", [script, "--bin-path", binFolder, "-o", folder + "/.build/libGatedConv.so"],
                                 environment: ["SWIFTC": swiftc ?? "swiftc"])
            guard output.status == 0 else { return .failure(BuildError(message: "build.sh failed:\n\(output.text)")) }
            try Fixtures.write(try Fixtures.packageFile("Plugins/ExampleOperation/catalog.json"), to: "catalog.json", in: folder)
            return .success(folder)
        } catch {
            return .failure(BuildError(message: "\(error)"))
        }
    }()

    struct BuildError: Error, CustomStringConvertible { let message: String; var description: String { message } }

    /// Runs a program and returns its status and combined output.
    static func run(_ program: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, text: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Compiles C source into a shared library (plugins that misbehave on purpose).
    static func compileC(_ source: String, named name: String, in folder: String) throws -> String {
        let c = try Fixtures.write(source, to: name + ".c", in: folder)
        let clang = URL(fileURLWithPath: swiftc ?? "/usr/bin/swiftc").deletingLastPathComponent().appendingPathComponent("clang").path
        let compiler = FileManager.default.isExecutableFile(atPath: clang) ? clang : "/usr/bin/cc"
        let out = folder + "/" + name + ".so"
        let r = try run(compiler, ["-shared", "-fPIC", "-o", out, c])
        guard r.status == 0 else { throw BuildError(message: "cannot compile \(name).c: \(r.text)") }
        return out
    }
}

extension Array where Element == String {
    /// Whether some line starts with `prefix` and contains `fragment`; records a readable
    /// failure listing every line otherwise.
    func expectLine(_ prefix: String, containing fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let found = contains { $0.hasPrefix(prefix) && $0.contains(fragment) }
        #expect(found, "no line starting with '\(prefix)' containing '\(fragment)' in:\n\(joined(separator: "\n"))",
                sourceLocation: sourceLocation)
    }
}
