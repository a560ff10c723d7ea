#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A fixed set of threads that runs the tasks of a meta-batch and helps with their kernels.
///
/// The thread that calls ``map(_:_:)`` is one of the team; the others are helpers. A helper
/// first takes a task nobody has started, then joins any running kernel that still has parts
/// left. So a meta-batch of 10 tasks keeps 16 threads busy (10 run tasks, 6 help their
/// kernels), and with 8 threads the last 2 tasks are helped by the threads that finished
/// theirs. A kernel's parts each write their own memory (or their own fixed reduction chunk),
/// so results never depend on which thread ran which part.
///
/// Idle helpers spin for a fraction of a millisecond before they sleep, so that the many short
/// kernels of a training step do not each pay for waking a thread.
///
/// ```
/// let outcomes = ThreadTeam.with(threads: 16) { team in
///     team.map(tasks.count) { i in train(tasks[i], tape: Tape(threads: .shared(team))) }
/// }
/// ```
public final class ThreadTeam: @unchecked Sendable {
    /// Threads in the team, the caller of ``map(_:_:)`` included.
    public let threads: Int

    private let taskJob = TeamJob()
    private let kernelJobs: [TeamJob]
    private let stopping = Atomic<Bool>(false)
    private let sleepers = Atomic<Int>(0)
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let wake: UnsafeMutablePointer<pthread_cond_t>
    private var helpers: [pthread_t] = []

    /// How long an idle helper keeps looking for work before it sleeps.
    private static let spinSeconds = 0.0003

    /// Runs `body` with a team of `threads` threads (the calling thread and `threads - 1`
    /// helpers), which stop when `body` returns.
    public static func with<R>(threads: Int, _ body: (ThreadTeam) throws -> R) rethrows -> R {
        let team = ThreadTeam(threads: threads)
        defer { team.stop() }
        return try body(team)
    }

    private init(threads: Int) {
        precondition(threads >= 1, "ThreadTeam: threads must be at least 1, got \(threads)")
        self.threads = threads
        kernelJobs = (0..<(2 * threads)).map { _ in TeamJob() }
        mutex = .allocate(capacity: 1)
        wake = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        for _ in 1..<threads {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(self).toOpaque()
            let started = pthread_create(&thread, nil, { context in
                let team = Unmanaged<ThreadTeam>.fromOpaque(context!).takeRetainedValue()
                team.helperLoop()
                return nil
            }, context)
            if started == 0 {
                helpers.append(thread)
            } else {
                // Fewer helpers only make the team slower, never wrong.
                Unmanaged<ThreadTeam>.fromOpaque(context).release()
            }
        }
    }

    deinit {
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(mutex)
        wake.deallocate()
        mutex.deallocate()
    }

    private func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
        for thread in helpers { pthread_join(thread, nil) }
        helpers = []
    }

    /// `body(i)` for `i` in `0..<count` on the team, results in index order.
    ///
    /// Each item must be independent (its own tape, its own generator). One `map` runs at a
    /// time per team; kernels inside the items share the team through
    /// ``KernelThreads/shared(_:)``.
    public func map<T>(_ count: Int, _ body: (Int) -> T) -> [T] {
        precondition(taskJob.owned.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged,
                     "ThreadTeam.map: one map at a time per team")
        defer { taskJob.owned.store(false, ordering: .releasing) }
        var results = [T?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { buffer in
            let out = UncheckedBox(buffer.baseAddress!)
            run(count, on: taskJob, helpWhileWaiting: true) { i in out.value[i] = body(i) }
        }
        return results.map { $0! }
    }

    /// `body(i)` for `i` in `0..<count`, with whichever team threads are idle joining in.
    func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        guard threads > 1, count > 1, let job = acquireKernelJob() else {
            for i in 0..<count { body(i) }
            return
        }
        run(count, on: job, helpWhileWaiting: false, body)
        job.owned.store(false, ordering: .releasing)
    }

    private func acquireKernelJob() -> TeamJob? {
        for job in kernelJobs where job.owned.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            return job
        }
        return nil
    }

    /// Opens `job` with `count` parts, works on it, and returns once every part has finished.
    private func run(_ count: Int, on job: TeamJob, helpWhileWaiting: Bool, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            withUnsafePointer(to: body) { pointer in
                job.open(parts: count, body: UnsafeRawPointer(pointer))
                notifySleepers()
                while job.runOne() {}
                // Parts taken by helpers may still be running; `body` must outlive them.
                while job.finished.load(ordering: .acquiring) < count {
                    if helpWhileWaiting { _ = helpOnce() }
                }
                job.close()
            }
        }
    }

    /// Runs one part of some open kernel job; false when there was none.
    private func helpOnce() -> Bool {
        for job in kernelJobs where job.runOne() { return true }
        return false
    }

    private var hasWork: Bool {
        taskJob.hasOpenParts || kernelJobs.contains { $0.hasOpenParts }
    }

    private func helperLoop() {
        var idleSince = -1.0
        while !stopping.load(ordering: .relaxed) {
            if taskJob.runOne() || helpOnce() {
                idleSince = -1
                continue
            }
            let now = monotonicSeconds()
            if idleSince < 0 {
                idleSince = now
            } else if now - idleSince > Self.spinSeconds {
                sleep()
                idleSince = -1
            }
        }
    }

    /// Sleeps until work is opened (or 10 ms pass, a safety net for a missed signal).
    private func sleep() {
        pthread_mutex_lock(mutex)
        sleepers.add(1, ordering: .sequentiallyConsistent)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if !stopping.load(ordering: .sequentiallyConsistent) && !hasWork {
            var deadline = timespec()
            clock_gettime(CLOCK_REALTIME, &deadline)
            deadline.tv_nsec += 10_000_000
            if deadline.tv_nsec >= 1_000_000_000 {
                deadline.tv_sec += 1
                deadline.tv_nsec -= 1_000_000_000
            }
            pthread_cond_timedwait(wake, mutex, &deadline)
        }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
    }

    private func notifySleepers() {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        guard sleepers.load(ordering: .sequentiallyConsistent) > 0 else { return }
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
    }
}

/// One job of a ``ThreadTeam``: `parts` calls of a closure that lives on its owner's stack.
///
/// `ticket` holds the job's generation in its high 32 bits and the next unclaimed part in
/// its low 32 bits. The owner closes a finished job (its ticket's part becomes 2^32 - 1)
/// before it writes the next job's part count, so a thread that read a ticket of an earlier
/// generation can never claim a part: the exchange fails. The owner waits until every
/// claimed part has finished, so the closure a claimed part points at is alive until then.
final class TeamJob: @unchecked Sendable {
    let ticket = Atomic<UInt64>(UInt64(UInt32.max))
    let parts = Atomic<Int>(0)
    let body = Atomic<Int>(0)
    let finished = Atomic<Int>(0)
    let owned = Atomic<Bool>(false)
    /// Touched by the owner only.
    private var generation: UInt64 = 0

    func open(parts count: Int, body pointer: UnsafeRawPointer) {
        generation &+= 1
        parts.store(count, ordering: .relaxed)
        body.store(Int(bitPattern: pointer), ordering: .relaxed)
        finished.store(0, ordering: .relaxed)
        ticket.store(generation << 32, ordering: .releasing)
    }

    /// Marks the job closed; only after every part has finished.
    func close() {
        ticket.store(generation << 32 | UInt64(UInt32.max), ordering: .releasing)
    }

    var hasOpenParts: Bool {
        Int(ticket.load(ordering: .acquiring) & 0xffff_ffff) < parts.load(ordering: .relaxed)
    }

    /// Claims the next part and runs it; false when no part was left.
    func runOne() -> Bool {
        var t = ticket.load(ordering: .acquiring)
        while true {
            let part = Int(t & 0xffff_ffff)
            // Read after the ticket: a count of a newer generation means this ticket was closed
            // in between, and then the exchange below fails.
            guard part < parts.load(ordering: .relaxed) else { return false }
            let (claimed, current) = ticket.compareExchange(expected: t, desired: t + 1, ordering: .acquiringAndReleasing)
            if claimed {
                let address = body.load(ordering: .relaxed)
                invokePart(UnsafeRawPointer(bitPattern: address)!, part)
                finished.add(1, ordering: .releasing)
                return true
            }
            t = current
        }
    }
}

/// Calls the closure at `body` for `part`; not inlined, so the closure's retain and release
/// both happen before the caller reports the part finished.
@inline(never)
private func invokePart(_ body: UnsafeRawPointer, _ part: Int) {
    body.assumingMemoryBound(to: ((Int) -> Void).self).pointee(part)
}

/// How the kernels of one tape use threads: a fixed number, or the idle threads of a
/// ``ThreadTeam`` that several tapes share. Results never depend on it.
public struct KernelThreads: Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    enum Kind: Sendable {
        case fixed(Int)
        case team(ThreadTeam)
    }
    let kind: Kind

    /// Up to `count` threads for each kernel.
    public static func fixed(_ count: Int) -> KernelThreads {
        precondition(count >= 1, "KernelThreads: at least 1 thread, got \(count)")
        return KernelThreads(kind: .fixed(count))
    }

    /// The idle threads of `team`, whenever a kernel starts.
    public static func shared(_ team: ThreadTeam) -> KernelThreads { KernelThreads(kind: .team(team)) }

    public init(integerLiteral count: Int) { self = .fixed(count) }
    private init(kind: Kind) { self.kind = kind }

    /// The most threads a kernel may use.
    public var limit: Int {
        switch kind {
        case .fixed(let n): n
        case .team(let team): team.threads
        }
    }

    public var description: String {
        switch kind {
        case .fixed(let n): "\(n) thread\(n == 1 ? "" : "s")"
        case .team(let team): "shared team of \(team.threads)"
        }
    }
}
