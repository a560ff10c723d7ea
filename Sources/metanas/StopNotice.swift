#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A message printed when this process is told to stop (SIGTERM, SIGINT), then exit.
///
/// When one process of an MPI job dies, `mpirun` terminates the others with SIGTERM before they
/// can notice anything themselves; its own report names the rank that died but not where the
/// run stood. The notice fills that in: the meta-iteration, the last checkpoint and the command
/// that resumes the run. It is kept up to date as training proceeds.
///
/// A signal handler can only reach global state and may only call async-signal-safe functions,
/// so the message lives in two fixed buffers allocated once: ``set(_:)`` fills the one not in
/// use and then publishes it with one atomic store; the handler writes the published one to
/// standard error and calls `_exit`. This is the one piece of global state in `metanas`.
enum StopNotice {
    /// Installs the handlers for SIGTERM and SIGINT (once per process).
    static func install() {
        // Initialise the globals here: the handler must not be the first to touch them.
        _ = published.load(ordering: .relaxed)
        _ = buffers
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            let published = StopNotice.published.load(ordering: .acquiring)
            if published >= 0 {
                _ = write(2, StopNotice.buffers + (published & 1) * StopNotice.capacity, published >> 1)
            }
            _exit(128 + signal)
        }
        sigemptyset(&action.sa_mask)
        sigaction(SIGTERM, &action, nil)
        sigaction(SIGINT, &action, nil)
    }

    /// Replaces the message (call from one thread; a message longer than 4 KiB is cut).
    static func set(_ message: String) {
        var bytes = Array(message.utf8)
        if bytes.last != 10 { bytes.append(10) }
        bytes = Array(bytes.prefix(capacity))
        let current = published.load(ordering: .relaxed)
        let slot = current >= 0 ? 1 - (current & 1) : 0
        bytes.withUnsafeBytes { (buffers + slot * capacity).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        published.store(slot | bytes.count << 1, ordering: .releasing)
    }

    /// Bytes per buffer.
    private static let capacity = 4096
    /// Two message buffers, never freed.
    nonisolated(unsafe) private static let buffers = UnsafeMutableRawPointer.allocate(byteCount: 2 * 4096, alignment: 16)
    /// The buffer in use (low bit) and its length (the other bits); -1 before the first message.
    private static let published = Atomic<Int>(-1)
}
