import Foundation
import NN
import Testing

/// `mpirun -np 2 metanas search ...` on this machine against one process with the same seed.
///
/// Runs in CI (where a missing `mpirun` fails the tests) and wherever Open MPI is installed;
/// elsewhere the suite is skipped. About 15 s on two cores.
@Suite("metanas under mpirun", .serialized,
       .enabled(if: MPIFixture.enabled, "mpirun not found: install openmpi-bin and libopenmpi-dev to run the MPI tests"))
struct MPIRunTests {
    @Test("Two processes give the single process's meta-parameters, metrics and meta-test, bit for bit")
    func twoProcessesEqualOne() throws {
        let mpirun = try MPIFixture.requireTools()
        let single = try MPIFixture.reference.get()
        let run = MPIFixture.root + "/two"
        let two = try Launched(mpirun, MPIFixture.mpirunArguments(ranks: 2) + [MPIFixture.binary]
                                   + MPIFixture.searchArguments(run: run)).wait(timeout: 300)
        try #require(two.status == 0, "mpirun -np 2 failed (status \(two.status)):\n\(two.output)")
        print("single process: \(String(format: "%.1f", single.seconds)) s; mpirun -np 2: \(String(format: "%.1f", two.seconds)) s")

        expectIdenticalCheckpoints(try checkpoint(MPIFixture.root + "/single"), try checkpoint(run), "1 vs 2 processes")
        #expect(try metricsWithoutTimes(run) == metricsWithoutTimes(MPIFixture.root + "/single"))
        #expect(try evaluationWithoutTimes(run) == evaluationWithoutTimes(MPIFixture.root + "/single"))
        // Rank 0 alone writes and prints: one line per iteration, one summary.
        #expect(try metricsWithoutTimes(run).count == MPIFixture.iterations)
        #expect(two.output.components(separatedBy: "meta-architecture after").count == 2, "\(two.output)")
        #expect(two.output.contains("in each of 2 MPI processes"))
    }

    @Test("A rank that dies stops the run with a resume command; resuming gives the uninterrupted result")
    func deadRankThenResume() throws {
        let mpirun = try MPIFixture.requireTools()
        _ = try MPIFixture.reference.get()
        let run = MPIFixture.root + "/killed"
        // Room for 40 iterations, so that the kill lands mid-run; the resumed run stops at the
        // reference's iteration count.
        let arguments = MPIFixture.searchArguments(run: run, iterations: 40, evaluate: false)
        let job = try Launched(mpirun, MPIFixture.mpirunArguments(ranks: 2) + [MPIFixture.binary] + arguments)
        let metrics = run + "/metrics.jsonl"
        let deadline = Date().addingTimeInterval(120)
        while job.process.isRunning && Date() < deadline {
            let lines = (try? String(contentsOfFile: metrics, encoding: .utf8))?.split(separator: "\n").count ?? 0
            if lines >= 2 { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        let victims = processes(rank: 1, commandLineContaining: run)
        try #require(victims.count == 1, "rank 1 not found (\(victims)); output:\n\(job.output)")
        kill(victims[0], SIGKILL)
        let killed = try job.wait(timeout: 60)
        print("killed run output:\n\(killed.output)")

        #expect(killed.status != 0)
        #expect(killed.output.contains("rank 1"), "mpirun names the rank that died")
        #expect(killed.output.contains("terminated during meta-iteration"), "the notice of the surviving rank")
        let expectedCommand = "mpirun -np 2 \(MPIFixture.binary) \(arguments.joined(separator: " ")) --resume"
        #expect(killed.output.contains(expectedCommand), "the resume command, expected:\n\(expectedCommand)")
        let stoppedAt = try #require(Int(try checkpoint(run).text("iteration") ?? ""))
        try #require(stoppedAt < MPIFixture.iterations, "the run got past iteration \(MPIFixture.iterations) before the kill")

        let resumed = try Launched(mpirun, MPIFixture.mpirunArguments(ranks: 2) + [MPIFixture.binary]
                                       + MPIFixture.searchArguments(run: run, evaluate: false) + ["--resume"]).wait(timeout: 300)
        try #require(resumed.status == 0, "resume failed:\n\(resumed.output)")
        #expect(resumed.output.contains("resuming \(run) at iteration \(stoppedAt)"))
        expectIdenticalCheckpoints(try checkpoint(MPIFixture.root + "/single"), try checkpoint(run), "resumed after a dead rank")
        #expect(try metricsWithoutTimes(run) == metricsWithoutTimes(MPIFixture.root + "/single"))
    }
}
