#if canImport(CMPI)
import CMPI
#endif
#if canImport(Glibc)
import Glibc
#endif
import MetaLearning

/// The processes of an MPI job (`mpirun -np R metanas ...`), joined by MPI's world communicator.
///
/// Only the main thread calls MPI (the library is initialised for `MPI_THREAD_FUNNELED`).
/// Errors are returned rather than fatal (`MPI_ERRORS_RETURN`), so a failed exchange becomes a
/// ``CommunicationError`` that names the rank and the operation. Call ``finish()`` after a
/// successful run and ``abort(status:)`` after a failed one.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int

    /// Whether this process was started by an MPI launcher (Open MPI's `mpirun`, or a PMIx
    /// launcher such as `srun --mpi=pmix`); without one, MPI is never initialised.
    public static func isLaunched(environment: [String: String]) -> Bool {
        environment["OMPI_COMM_WORLD_SIZE"] != nil || environment["PMIX_RANK"] != nil
    }

    /// The number of processes of the job on this machine (1 when unknown).
    public static func localSize(environment: [String: String]) -> Int {
        environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) }.map { max(1, $0) } ?? 1
    }

    /// Whether this build can join MPI jobs (`METANAS_WITHOUT_MPI=1` builds leave MPI out).
    public static var isAvailable: Bool {
        #if canImport(CMPI)
        return true
        #else
        return false
        #endif
    }

    #if canImport(CMPI)
    private let world: MPI_Comm

    private init(world: MPI_Comm, rank: Int, size: Int) {
        (self.world, self.rank, self.size) = (world, rank, size)
    }

    /// Initialises MPI and joins the job.
    ///
    /// - Throws: ``CommunicationError`` when MPI cannot be initialised.
    public static func start() throws(CommunicationError) -> MPICommunicator {
        var provided: Int32 = 0
        let required = Int32(MPI_THREAD_FUNNELED)
        try check(MPI_Init_thread(nil, nil, required, &provided), "MPI initialisation", rank: 0, size: 0)
        guard let world = metanas_mpi_comm_world() else {
            throw CommunicationError(operation: "MPI initialisation", rank: 0, size: 0, reason: "no world communicator")
        }
        var rank: Int32 = 0, size: Int32 = 0
        try check(MPI_Comm_set_errhandler(world, metanas_mpi_errors_return()), "MPI error handler", rank: 0, size: 0)
        try check(MPI_Comm_rank(world, &rank), "MPI rank", rank: 0, size: 0)
        try check(MPI_Comm_size(world, &size), "MPI size", rank: Int(rank), size: 0)
        guard provided >= required else {
            MPI_Finalize()
            throw CommunicationError(operation: "MPI initialisation", rank: Int(rank), size: Int(size),
                                     reason: "the MPI library offers thread level \(provided), metanas needs MPI_THREAD_FUNNELED")
        }
        return MPICommunicator(world: world, rank: Int(rank), size: Int(size))
    }

    /// Leaves the job after a successful run (every process calls it).
    public func finish() { MPI_Finalize() }

    /// Ends every process of the job with `status` (after a failure in this one).
    public func abort(status: Int32) -> Never {
        MPI_Abort(world, status)
        exit(status)
    }

    public func allGather(_ bytes: [UInt8]) throws(CommunicationError) -> [[UInt8]] {
        var mine = UInt64(bytes.count)
        var lengths = [UInt64](repeating: 0, count: size)
        let type64 = metanas_mpi_uint64()
        try check(MPI_Allgather(&mine, 1, type64, &lengths, 1, type64, world), "all-gather of message lengths")
        let total = lengths.reduce(0, +)
        guard total <= UInt64(Int32.max) else {
            throw CommunicationError(operation: "all-gather", rank: rank, size: size,
                                     reason: "\(total) bytes in all exceed the 2 GiB one MPI call can move")
        }
        var counts = lengths.map { Int32($0) }
        var offsets = [Int32](repeating: 0, count: size)
        for r in 1..<max(1, size) { offsets[r] = offsets[r - 1] + counts[r - 1] }
        var received = [UInt8](repeating: 0, count: Int(total))
        let byte = metanas_mpi_byte()
        let rc = bytes.withUnsafeBytes { send in
            received.withUnsafeMutableBytes { recv in
                MPI_Allgatherv(send.baseAddress, Int32(bytes.count), byte, recv.baseAddress, &counts, &offsets, byte, world)
            }
        }
        try check(rc, "all-gather")
        return (0..<size).map { r in Array(received[Int(offsets[r])..<Int(offsets[r] + counts[r])]) }
    }

    public func broadcast(_ bytes: [UInt8], from root: Int) throws(CommunicationError) -> [UInt8] {
        var length = UInt64(bytes.count)
        try check(MPI_Bcast(&length, 1, metanas_mpi_uint64(), Int32(root), world), "broadcast of the message length")
        guard length <= UInt64(Int32.max) else {
            throw CommunicationError(operation: "broadcast", rank: rank, size: size,
                                     reason: "\(length) bytes exceed the 2 GiB one MPI call can move")
        }
        var buffer = rank == root ? bytes : [UInt8](repeating: 0, count: Int(length))
        let rc = buffer.withUnsafeMutableBytes { MPI_Bcast($0.baseAddress, Int32(length), metanas_mpi_byte(), Int32(root), world) }
        try check(rc, "broadcast")
        return buffer
    }

    private func check(_ code: Int32, _ operation: String) throws(CommunicationError) {
        try Self.check(code, operation, rank: rank, size: size)
    }

    /// Turns an MPI return code into a ``CommunicationError`` carrying the library's text.
    private static func check(_ code: Int32, _ operation: String, rank: Int, size: Int) throws(CommunicationError) {
        guard code != MPI_SUCCESS else { return }
        var text = [CChar](repeating: 0, count: Int(metanas_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        let reason = MPI_Error_string(code, &text, &length) == MPI_SUCCESS
            ? String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : "MPI error code \(code)"
        throw CommunicationError(operation: operation, rank: rank, size: size, reason: reason)
    }
    #else
    private init() { (rank, size) = (0, 1) }

    /// Fails: this build has no MPI.
    public static func start() throws(CommunicationError) -> MPICommunicator {
        throw CommunicationError(operation: "MPI initialisation", rank: 0, size: 0,
                                 reason: "this metanas was built without MPI (METANAS_WITHOUT_MPI); "
                                     + "build it without that variable to run under mpirun")
    }

    public func finish() {}

    public func abort(status: Int32) -> Never { exit(status) }

    public func allGather(_ bytes: [UInt8]) throws(CommunicationError) -> [[UInt8]] { [bytes] }

    public func broadcast(_ bytes: [UInt8], from root: Int) throws(CommunicationError) -> [UInt8] { bytes }
    #endif
}
