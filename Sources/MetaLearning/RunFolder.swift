import Engine
import Foundation
import Genotype
import JSON
import NN

/// The files of one run:
///
/// ```
/// <run>/config.json          the settings, as JSON
/// <run>/metrics.jsonl        one JSON object per meta-iteration (and per intermediate meta-test)
/// <run>/checkpoint.mnas      the latest full training state (a TensorArchive)
/// <run>/genotypes.jsonl      the meta-architecture's genotype at every checkpoint
/// <run>/evaluation.json      the final meta-test: accuracy, interval, per-task cells
/// ```
/// Every file is replaced atomically; `metrics.jsonl` is rewritten whole (it is small) so a
/// killed run never leaves half a line.
public struct RunFolder: Sendable {
    public let path: String

    public init(path: String) throws {
        self.path = path
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw Engine.FileError(path: path, reason: "cannot create the run folder: \(error.localizedDescription)")
        }
    }

    /// The folder at `path` without touching the file system: for its file paths only (the
    /// MPI ranks that do not write the run folder).
    public init(naming path: String) { self.path = path }

    public var configPath: String { path + "/config.json" }
    public var metricsPath: String { path + "/metrics.jsonl" }
    public var checkpointPath: String { path + "/checkpoint.mnas" }
    public var genotypesPath: String { path + "/genotypes.jsonl" }
    public var evaluationPath: String { path + "/evaluation.json" }

    /// Lines of a JSON-lines file, or none when it does not exist.
    public func lines(_ file: String) -> [String] {
        guard let bytes = try? Engine.readFile(file) else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// Replaces a JSON-lines file with `lines`.
    public func writeLines(_ lines: [String], to file: String) throws {
        try Engine.writeFileAtomically(lines.map { $0 + "\n" }.joined(), to: file)
    }

    /// Appends one line (rewriting the file atomically).
    public func append(_ line: String, to file: String) throws {
        try writeLines(lines(file) + [line], to: file)
    }

    /// Keeps the lines whose iteration is at most `iteration` (used when resuming); lines
    /// without one are kept.
    ///
    /// - Parameter iterationOf: reads a line's iteration (default: its `iteration` member).
    public func truncate(_ file: String, afterIteration iteration: Int,
                         iterationOf: (JSONValue) -> Int? = { $0["iteration"]?.intValue }) throws {
        let kept = lines(file).filter { line in
            guard let v = try? JSONValue.parse(line, source: file), let it = iterationOf(v) else { return true }
            return it <= iteration
        }
        try writeLines(kept, to: file)
    }
}
