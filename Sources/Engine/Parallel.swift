import Dispatch

/// Runs `body(i)` for `i` in `0..<count` with the kernel threads of a tape.
///
/// Work items are distributed round-robin; callers only use it for items that write disjoint
/// memory or partial results that are later combined in a fixed order, so results never depend
/// on the thread count.
@inline(__always)
func parallelFor(_ count: Int, threads: KernelThreads, _ body: (Int) -> Void) {
    switch threads.kind {
    case .fixed(let n): parallelFor(count, threads: n, body)
    case .team(let team): team.parallelFor(count, body)
    }
}

/// Runs `body(i)` for `i` in `0..<count` on up to `threads` threads of the system's pool.
@inline(__always)
func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
    if threads <= 1 || count <= 1 {
        for i in 0..<count { body(i) }
        return
    }
    let workers = min(threads, count)
    withoutActuallyEscaping(body) { body in
        let box = UncheckedBox(body)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var i = w
            while i < count {
                box.value(i)
                i += workers
            }
        }
    }
}

/// Runs `body` over consecutive ranges that together cover `0..<count`, where item `i` spans
/// `itemSize` elements, in parallel when there is enough work (parts of at least 32K
/// elements). For element-wise work, whose results do not depend on how it is split.
@inline(__always)
func parallelRanges(_ count: Int, itemSize: Int, threads: KernelThreads, _ body: (Range<Int>) -> Void) {
    let perPart = max(1, (32 << 10) / max(itemSize, 1))
    let parts = (count + perPart - 1) / perPart
    guard parts > 1, threads.limit > 1 else {
        body(0..<count)
        return
    }
    parallelFor(parts, threads: threads) { p in body((p * perPart)..<min(count, (p + 1) * perPart)) }
}

/// Wraps a value that is shared across threads under a discipline the compiler cannot check
/// (disjoint writes through raw pointers).
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// The fixed partition of a batch into reduction chunks: it depends on the batch size only,
/// so that gradient sums are bit-identical for any number of threads.
///
/// One chunk per image: each is a part of its own for the kernel threads, so that a
/// reduction spreads over as many threads as there are images, and the threads that finish
/// first wait for at most one image's work of the others (with four chunks of five images,
/// two threads waited on each other for 4% of a forward+backward pass).
@inline(__always)
func reductionChunks(_ batch: Int) -> [Range<Int>] {
    (0..<max(batch, 0)).map { $0..<($0 + 1) }
}

import COpenBLAS

/// Keeps large tensor buffers in the heap instead of fresh `mmap` regions.
///
/// Every forward pass allocates and frees the same few hundred megabytes; by default glibc
/// returns each large block to the kernel and takes page faults to get it back, which cost a
/// sixth of a training step. Call once at start-up.
public func configureAllocatorForTensors() {
    _ = mallopt(M_MMAP_THRESHOLD, 256 << 20)
    _ = mallopt(M_TRIM_THRESHOLD, 1 << 30)
}

/// Hands freed heap memory back to the system (the allocator otherwise keeps it for reuse,
/// see ``configureAllocatorForTensors()``), e.g. before measuring a peak.
public func releaseFreeMemory() {
    _ = malloc_trim(0)
}

import Synchronization

/// A thread-safe counter for progress reports from parallel work.
public final class AtomicCounter: Sendable {
    private let value = Atomic<Int>(0)
    public init() {}
    /// Adds one and returns the new value.
    public func increment() -> Int { value.add(1, ordering: .relaxed).newValue }
}
