import Foundation
import NN
import Testing

/// The built `metanas`, `mpirun`, and a tiny search run with either, shared by the MPI tests.
enum MPIFixture {
    /// `metanas` from the same build as this test runner (SwiftPM puts every product of the
    /// package into one folder, and `swift test` builds them all).
    static let binary: String = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        .deletingLastPathComponent().appendingPathComponent("metanas").path

    /// `mpirun` on PATH, if any.
    static let mpirun: String? = {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(dir)/mpirun"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }()

    /// Continuous integration must run these tests; elsewhere they are skipped without mpirun.
    static let required = ProcessInfo.processInfo.environment["CI"] == "true"

    /// Whether the tests run: always in CI (where a missing mpirun is a failure), elsewhere
    /// only with mpirun installed.
    static let enabled = required || mpirun != nil

    /// Fails with what to install when mpirun or the binary is missing.
    static func requireTools(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let mpirun = try #require(mpirun, "mpirun is not on PATH: install openmpi-bin (apt-get install openmpi-bin libopenmpi-dev)",
                                  sourceLocation: sourceLocation)
        try requireBinary(sourceLocation: sourceLocation)
        return mpirun
    }

    /// Fails with what to do when the built `metanas` is missing.
    static func requireBinary(sourceLocation: SourceLocation = #_sourceLocation) throws {
        try #require(FileManager.default.isExecutableFile(atPath: binary),
                     "no metanas next to the test runner at \(binary): build the package first (swift build -c release)",
                     sourceLocation: sourceLocation)
    }

    /// One folder per test process for everything the tests write; removed when it exits.
    static let root: String = {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("metanas-mpi-tests-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: url)
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: MPIFixture.root) }
        return url.path
    }()

    /// Meta-iterations of the compared runs.
    static let iterations = 12

    /// `metanas search` arguments for a tiny network: 3 tasks per meta-batch (split 2 + 1
    /// across two processes), a checkpoint after every iteration, a 3-task meta-test; one
    /// worker thread, so that two processes fit two cores.
    static func searchArguments(run: String, iterations: Int = iterations, evaluate: Bool = true) -> [String] {
        ["search", "--preset", "tiny", "--seed", "3", "--threads", "1", "--data", root + "/data", "--run", run,
         "--iterations", "\(iterations)",
         "--set", "metaBatch=3,warmupIterations=2,checkpointEvery=1,testTasks=3,testSteps=3,testArchitectureSteps=2"]
            + (evaluate ? [] : ["--no-evaluate"])
    }

    /// `mpirun` options for `ranks` processes on this machine over loopback TCP (the transport
    /// used between machines), wherever the tests run: as root, on few cores.
    static func mpirunArguments(ranks: Int) -> [String] {
        ["-np", "\(ranks)", "--oversubscribe", "--bind-to", "none",
         "--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo"]
    }

    /// Open MPI refuses to start as root without these (CI runs as root).
    static let environment = ProcessInfo.processInfo.environment.merging(
        ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"]) { $1 }

    /// The single-process reference run, made once per test process.
    static let reference: Result<Finished, Error> = Result {
        let run = root + "/single"
        let finished = try Launched(binary, searchArguments(run: run)).wait(timeout: 300)
        guard finished.status == 0 else { throw Failure("the single-process run failed:\n\(finished.output)") }
        return finished
    }
}

/// A test-side failure with a readable message.
struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// A process that ran to its end.
struct Finished {
    let status: Int32
    let output: String
    let seconds: Double
}

/// A started process whose standard output and error go to one file.
final class Launched {
    let process = Process()
    let outputPath: String
    let started = Date()

    init(_ program: String, _ arguments: [String]) throws {
        outputPath = MPIFixture.root + "/output-\(UUID().uuidString).txt"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.environment = MPIFixture.environment
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Everything printed so far.
    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Waits for the process to end; after `timeout` seconds it is killed and this throws.
    func wait(timeout: Double) throws -> Finished {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                Thread.sleep(forTimeInterval: 2)
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                throw Failure("still running after \(Int(timeout)) s; output:\n\(output)")
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return Finished(status: process.terminationStatus, output: output, seconds: Date().timeIntervalSince(started))
    }
}

/// The processes whose command line contains `fragment` and whose environment says they are
/// MPI rank `rank`.
func processes(rank: Int, commandLineContaining fragment: String) -> [pid_t] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { Int32($0) }.filter { pid in
        guard let commandLine = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
              let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
        let words = commandLine.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        let variables = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return words.first.map { $0.hasSuffix("metanas") } == true && words.contains(fragment)
            && variables.contains("OMPI_COMM_WORLD_RANK=\(rank)")
    }
}

/// The tensors and texts of a run folder's checkpoint.
func checkpoint(_ run: String) throws -> TensorArchive {
    try TensorArchive(contentsOf: run + "/checkpoint.mnas")
}

/// Expects two checkpoints to hold bit-identical meta-parameters, inner-optimizer states,
/// generator, iteration and settings, naming the first tensor that differs.
func expectIdenticalCheckpoints(_ a: TensorArchive, _ b: TensorArchive, _ what: String,
                                sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.tensors.map(\.name) == b.tensors.map(\.name), "\(what): different entries", sourceLocation: sourceLocation)
    let differing = zip(a.tensors, b.tensors).first { $0.0.value.data.map(\.bitPattern) != $0.1.value.data.map(\.bitPattern) }
    let largest = differing.map { $0.0.value.maxAbsDifference($0.1.value) } ?? 0
    #expect(differing == nil, "\(what): '\(differing?.0.name ?? "")' differs (max |diff| \(largest))",
            sourceLocation: sourceLocation)
    for name in ["iteration", "generator", "config"] {
        #expect(a.text(name) == b.text(name), "\(what): '\(name)' differs", sourceLocation: sourceLocation)
    }
    #expect(a.tensors.contains { $0.name.hasPrefix("meta.weights.") }, "\(what): no meta weights", sourceLocation: sourceLocation)
}

/// A run folder's `metrics.jsonl` lines without the `seconds` member (the only one that
/// depends on timing).
func metricsWithoutTimes(_ run: String) throws -> [String] {
    try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map { line in
        String(line.replacing(/"seconds":[-0-9.eE+]+,?/, with: ""))
    }
}

/// `evaluation.json` without its `seconds` member.
func evaluationWithoutTimes(_ run: String) throws -> String {
    try String(contentsOfFile: run + "/evaluation.json", encoding: .utf8).replacing(/"seconds": ?[-0-9.eE+]+,?/, with: "")
}
