import Foundation
import Testing

/// `metanas search` (one process) with settings or data it cannot use: it exits non-zero with
/// a message naming the problem, before it creates the run folder. These tests live here
/// because this target runs the built `metanas` (see ``MPIFixture``).
@Suite("metanas search refuses bad settings and data before it creates the run folder")
struct SearchRefusalTests {
    func search(_ arguments: [String], run: String) throws -> Finished {
        try MPIFixture.requireBinary()
        return try Launched(MPIFixture.binary, ["search", "--preset", "tiny", "--run", run] + arguments).wait(timeout: 120)
    }

    @Test("An unknown operation is reported before any data is read")
    func unknownOperation() throws {
        let run = MPIFixture.root + "/refused-operation"
        let finished = try search(["--set", "searchSpace.operations=no_such_op", "--data", MPIFixture.root + "/none"],
                                  run: run)
        #expect(finished.status != 0)
        #expect(finished.output.contains("unknown operation 'no_such_op'"), "\(finished.output)")
        #expect(!finished.output.contains("meta-training:"), "no data is loaded: \(finished.output)")
        #expect(!FileManager.default.fileExists(atPath: run))
    }

    @Test("Archives that are not zip files are named in the error, and no run folder is left")
    func corruptArchives() throws {
        let data = MPIFixture.root + "/corrupt-archives"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        for name in ["images_background.zip", "images_evaluation.zip"] {
            try Data("not a zip archive".utf8).write(to: URL(fileURLWithPath: data + "/" + name))
        }
        let run = MPIFixture.root + "/refused-archives"
        let finished = try search(["--dataset", "omniglot", "--data", data], run: run)
        #expect(finished.status != 0)
        #expect(finished.output.contains("images_background.zip"), "\(finished.output)")
        #expect(!FileManager.default.fileExists(atPath: run))
    }
}
