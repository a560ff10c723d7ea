import Foundation
import Testing

/// `metanas bench --batch`: the images per pass of the engine, network and operations suites.
/// These tests live here because this target runs the built `metanas` (see ``MPIFixture``).
@Suite("metanas bench --batch sets the batch of the network passes and refuses what it cannot set")
struct BenchBatchTests {
    func bench(_ arguments: [String]) throws -> Finished {
        try MPIFixture.requireBinary()
        return try Launched(MPIFixture.binary, ["bench"] + arguments).wait(timeout: 300)
    }

    @Test("A network pass at batch 2 reports that batch and the FLOPs of two images")
    func networkAtBatchTwo() throws {
        let two = try bench(["--suite", "network", "--threads", "1", "--repeat", "1", "--batch", "2"])
        #expect(two.status == 0, "\(two.output)")
        let line = try #require(two.output.split(separator: "\n").first { $0.hasPrefix("batch 2, 1 thread(s)") },
                                "no batch line in:\n\(two.output)")
        // Forward FLOPs grow with the batch: the reference network at batch 20 has 6.78 G, so
        // two images have a tenth of that.
        #expect(line.contains("forward conv+linear FLOPs 0.68 G"), "\(line)")
    }

    @Test("--batch below 1, or with a suite whose workload is fixed, is refused before any timing")
    func refused() throws {
        let zero = try bench(["--suite", "network", "--batch", "0"])
        #expect(zero.status != 0)
        #expect(zero.output.contains("--batch must be at least 1"), "\(zero.output)")
        #expect(!zero.output.contains("forward:"), "\(zero.output)")

        let fixed = try bench(["--suite", "metanas", "--batch", "4"])
        #expect(fixed.status != 0)
        #expect(fixed.output.contains("not of the metanas suite"), "\(fixed.output)")
        #expect(!fixed.output.contains("meta-iteration"), "\(fixed.output)")
    }
}
