import Synchronization
import Testing
@testable import Engine

@Suite("Thread team")
struct ThreadTeamTests {
    final class Counter: Sendable {
        let value = Atomic<Int>(0)
        func increment() { value.add(1, ordering: .relaxed) }
        var count: Int { value.load(ordering: .relaxed) }
    }

    @Test("map returns results in item order and runs every item once", arguments: [1, 2, 5])
    func mapRunsEachItemOnce(threads: Int) {
        let runs = (0..<37).map { _ in Counter() }
        let results = ThreadTeam.with(threads: threads) { team in
            team.map(runs.count) { i -> Int in
                runs[i].increment()
                return i * i
            }
        }
        #expect(results == (0..<37).map { $0 * $0 })
        #expect(runs.allSatisfy { $0.count == 1 }, "runs per item: \(runs.map(\.count))")
    }

    /// Many short kernels from several tasks at once reuse the team's job slots; a part claimed
    /// from a finished job, or claimed twice, shows up as a count other than one.
    @Test("Kernels opened from concurrent tasks run every part exactly once", arguments: [2, 4, 7])
    func kernelsRunEachPartOnce(threads: Int) {
        let rounds = 3000
        let failures = ThreadTeam.with(threads: threads) { team in
            team.map(9) { task -> Int in
                var failed = 0
                for round in 0..<rounds {
                    // Small jobs followed by larger ones: a stale claim on a finished small job
                    // would look valid against the larger job's count.
                    let parts = round.isMultiple(of: 2) ? 2 + (task + round) % 3 : 8 + (task * 7 + round * 13) % 33
                    let counts = (0..<parts).map { _ in Counter() }
                    var sums = [Int](repeating: 0, count: parts)
                    sums.withUnsafeMutableBufferPointer { buffer in
                        let out = UncheckedBox(buffer.baseAddress!)
                        parallelFor(parts, threads: .shared(team)) { p in
                            counts[p].increment()
                            out.value[p] = (0...p).reduce(0, +)
                        }
                    }
                    if !counts.allSatisfy({ $0.count == 1 }) || sums != (0..<parts).map({ $0 * ($0 + 1) / 2 }) {
                        failed += 1
                    }
                }
                return failed
            }
        }
        #expect(failures == [Int](repeating: 0, count: 9))
    }

    @Test("A team of one runs everything on the calling thread, in order")
    func teamOfOne() {
        var order: [Int] = []
        ThreadTeam.with(threads: 1) { team in
            parallelFor(5, threads: .shared(team)) { order.append($0) }
        }
        #expect(order == [0, 1, 2, 3, 4])
    }
}
