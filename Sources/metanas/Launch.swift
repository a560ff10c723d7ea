#if canImport(Glibc)
import Glibc
#endif
import MessagePassing
import MetaLearning

/// The processes `metanas` runs in: itself alone, or every rank of an MPI job.
///
/// MPI is initialised only when an MPI launcher started the process (`mpirun -np R metanas
/// ...`), and only after `main` has re-executed itself for the BLAS kernels (the process keeps
/// its PID across `exec`, so the launcher still knows it).
struct Launch {
    let communicator: any Communicator
    private let mpi: MPICommunicator?

    /// Joins the MPI job when an MPI launcher started this process; otherwise a single process.
    ///
    /// - Throws: ``CommunicationError`` when MPI cannot be initialised.
    static func start(environment: [String: String]) throws(CommunicationError) -> Launch {
        guard MPICommunicator.isLaunched(environment: environment) else {
            return Launch(communicator: SingleProcess(), mpi: nil)
        }
        let mpi = try MPICommunicator.start()
        return Launch(communicator: mpi, mpi: mpi)
    }

    /// Ends this process's part after a command: leaves the MPI job after a success; after a
    /// failure, aborts the whole job, so that no rank waits forever for one that stopped.
    func finish(status: Int32) -> Never {
        if let mpi {
            if status != 0 {
                fflush(nil)  // MPI_Abort ends the process without flushing standard output
                mpi.abort(status: status)
            }
            mpi.finish()
        }
        exit(status)
    }
}

/// A command that runs in every process of an MPI job, each doing its share; other commands run
/// on rank 0 only.
protocol DistributedCommand: Command {
    func run(across communicator: any Communicator) throws
}

extension DistributedCommand {
    func run() throws { try run(across: SingleProcess()) }
}

/// A collective operation failed during a run: where the run stood and how to resume it.
struct DistributedRunError: Error, CustomStringConvertible {
    let underlying: CommunicationError
    /// The meta-iteration being computed, and the last checkpoint's (nil: none yet).
    let iteration: Int, checkpoint: Int?
    /// The command that continues the run.
    let resumeCommand: String

    var description: String {
        "\(underlying)\nThe run stopped at meta-iteration \(iteration). "
            + (checkpoint.map { "Its last checkpoint is from meta-iteration \($0); resume with:\n  \(resumeCommand)" }
                ?? "It wrote no checkpoint yet; start it again.")
    }
}

/// The command that resumes a search with `size` processes: the same arguments, with `--run`
/// made explicit and `--resume` added.
func resumeCommand(arguments: [String], runPath: String, size: Int) -> String {
    var words = arguments.filter { $0 != "--resume" }
    if !words.contains(where: { $0 == "--run" || $0.hasPrefix("--run=") }) { words += ["--run", runPath] }
    words.append("--resume")
    let quoted = words.map { word -> String in
        let plain = !word.isEmpty && word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=,:+@%".contains($0) }
        return plain ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
    return (size > 1 ? "mpirun -np \(size) " : "") + quoted.joined(separator: " ")
}

extension String {
    /// `self` with every `target` replaced (without Foundation).
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
