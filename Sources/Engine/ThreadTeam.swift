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

    /// Job 0 is the task job of ``map(_:_:)``; the others are kernel jobs.
    private let jobs: TeamJobs
    private var taskJob: TeamJob { jobs[0] }
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
        jobs = TeamJobs(count: 1 + 2 * threads)
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
        jobs.deallocate()
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
        precondition(taskJob.acquire(), "ThreadTeam.map: one map at a time per team")
        defer { taskJob.release() }
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
        job.release()
    }

    private func acquireKernelJob() -> TeamJob? {
        for j in 1..<jobs.count where jobs[j].acquire() { return jobs[j] }
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
                while job.finished < count {
                    if helpWhileWaiting { _ = helpOnce() }
                }
                job.close()
            }
        }
    }

    /// Runs one part of some open kernel job; false when there was none.
    private func helpOnce() -> Bool {
        for j in 1..<jobs.count where jobs[j].runOne() { return true }
        return false
    }

    private var hasWork: Bool {
        (0..<jobs.count).contains { jobs[$0].hasOpenParts }
    }

    private func helperLoop() {
        var idleSince = -1.0, idleScans = 0
        while !stopping.load(ordering: .relaxed) {
            if taskJob.runOne() || helpOnce() {
                idleSince = -1
                continue
            }
            // The clock is read on every 64th empty scan only: a scan is far quicker.
            idleScans &+= 1
            guard idleScans & 63 == 0 else { continue }
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

/// The jobs of a ``ThreadTeam``, each a 64-byte line of atomic words of its own, so that
/// threads scanning for work neither count references nor share lines between jobs.
struct TeamJobs: @unchecked Sendable {
    let count: Int
    private let words: UnsafeMutablePointer<Atomic<Int>>

    init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * TeamJob.words * MemoryLayout<Atomic<Int>>.stride,
                                                   alignment: 64)
        words = raw.bindMemory(to: Atomic<Int>.self, capacity: count * TeamJob.words)
        for k in 0..<(count * TeamJob.words) { (words + k).initialize(to: Atomic<Int>(0)) }
        for j in 0..<count { self[j].close() }
    }

    subscript(_ j: Int) -> TeamJob { TeamJob(words + j * TeamJob.words) }

    func deallocate() {
        words.deinitialize(count: count * TeamJob.words)
        UnsafeMutableRawPointer(words).deallocate()
    }
}

/// One job of a ``ThreadTeam``: `parts` calls of a closure that lives on its owner's stack.
///
/// `ticket` holds the job's generation in its high 32 bits and the next unclaimed part in
/// its low 32 bits. The owner closes a finished job (its ticket's part becomes 2^32 - 1)
/// before it writes the next job's part count, so a thread that read a ticket of an earlier
/// generation can never claim a part: the exchange fails. The owner waits until every
/// claimed part has finished, so the closure a claimed part points at is alive until then.
struct TeamJob {
    static let words = 8
    private let w: UnsafeMutablePointer<Atomic<Int>>
    init(_ words: UnsafeMutablePointer<Atomic<Int>>) { w = words }

    // Word 0: ticket; 1: parts; 2: address of the closure; 3: parts finished; 4: owned (0 or 1);
    // 5: generation, touched by the owner only.
    private var ticket: UnsafeMutablePointer<Atomic<Int>> { w }
    private var parts: UnsafeMutablePointer<Atomic<Int>> { w + 1 }
    private var body: UnsafeMutablePointer<Atomic<Int>> { w + 2 }
    private var finishedParts: UnsafeMutablePointer<Atomic<Int>> { w + 3 }
    private var owned: UnsafeMutablePointer<Atomic<Int>> { w + 4 }
    private var generation: UnsafeMutablePointer<Atomic<Int>> { w + 5 }
    private static let closed = 0xffff_ffff

    /// Takes the job for the calling thread; false when another thread owns it.
    func acquire() -> Bool { owned.pointee.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged }
    func release() { owned.pointee.store(0, ordering: .releasing) }

    var finished: Int { finishedParts.pointee.load(ordering: .acquiring) }

    func open(parts count: Int, body pointer: UnsafeRawPointer) {
        precondition(count < Self.closed, "ThreadTeam: \(count) parts are too many for one job")
        let g = generation.pointee.load(ordering: .relaxed) &+ 1
        generation.pointee.store(g, ordering: .relaxed)
        parts.pointee.store(count, ordering: .relaxed)
        body.pointee.store(Int(bitPattern: pointer), ordering: .relaxed)
        finishedParts.pointee.store(0, ordering: .relaxed)
        ticket.pointee.store(g &<< 32, ordering: .releasing)
    }

    /// Marks the job closed; only after every part has finished.
    func close() {
        ticket.pointee.store(generation.pointee.load(ordering: .relaxed) &<< 32 | Self.closed, ordering: .releasing)
    }

    var hasOpenParts: Bool {
        ticket.pointee.load(ordering: .acquiring) & Self.closed < parts.pointee.load(ordering: .relaxed)
    }

    /// Claims the next part and runs it; false when no part was left.
    func runOne() -> Bool {
        var t = ticket.pointee.load(ordering: .acquiring)
        while true {
            let part = t & Self.closed
            // Read after the ticket: a count of a newer generation means this ticket was closed
            // in between, and then the exchange below fails.
            guard part < parts.pointee.load(ordering: .relaxed) else { return false }
            let (claimed, current) = ticket.pointee.compareExchange(expected: t, desired: t + 1,
                                                                     ordering: .acquiringAndReleasing)
            if claimed {
                let address = body.pointee.load(ordering: .relaxed)
                invokePart(UnsafeRawPointer(bitPattern: address)!, part)
                finishedParts.pointee.add(1, ordering: .releasing)
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
