import Foundation
import Testing
@testable import Datasets

@Suite("Lake's one-shot benchmark format")
struct OneShotBenchmarkTests {
    /// Writes `runs` runs of `ways` classes in Lake's layout under `all_runs/`: class `k` of run
    /// `r` is synthetic character `(r + k) % 12`; its test item is drawn by drawer 1, in a
    /// shuffled order. Returns the zip and, per run, the expected query labels.
    func writeRuns(runs: Int, ways: Int, in folder: URL) throws -> (URL, [[Int]]) {
        var entries: [ZipEntry] = [.folder("all_runs")]
        var expected: [[Int]] = []
        for r in 1...runs {
            let run = "run" + (r < 10 ? "0" : "") + "\(r)"
            entries += [.folder("all_runs/\(run)"), .folder("all_runs/\(run)/training"), .folder("all_runs/\(run)/test")]
            var lines: [String] = []
            var labels: [Int] = []
            for k in 0..<ways {
                let character = (r + k) % 12
                entries.append(.file("all_runs/\(run)/training/class0\(k + 1).png",
                                     try Fixtures.small.png(alphabet: character / 4, character: character % 4, drawer: 0)))
            }
            for item in 0..<ways {
                let label = (item * 3 + r) % ways // a permutation when gcd(3, ways) == 1
                let character = (r + label) % 12
                entries.append(.file("all_runs/\(run)/test/item0\(item + 1).png",
                                     try Fixtures.small.png(alphabet: character / 4, character: character % 4, drawer: 1)))
                lines.append("\(run)/test/item0\(item + 1).png \(run)/training/class0\(label + 1).png")
                labels.append(label)
            }
            entries.append(.file("all_runs/\(run)/class_labels.txt", Array((lines.joined(separator: "\n") + "\n").utf8)))
            expected.append(labels)
        }
        return (try Fixtures.zip(entries, named: "all_runs.zip", in: folder), expected)
    }

    @Test("runs read back with support labels in class order and query labels from the label file")
    func roundTrip() throws {
        let folder = try Fixtures.temporaryFolder()
        let (url, expected) = try writeRuns(runs: 2, ways: 5, in: folder)
        let runs = try OneShotBenchmark.load(archive: url)
        #expect(runs.map(\.name) == ["run01", "run02"])
        for (run, labels) in zip(runs, expected) {
            #expect(run.ways == 5 && run.supportLabels == [0, 1, 2, 3, 4])
            #expect(run.support.shape == [5, 1, 28, 28] && run.query.shape == [5, 1, 28, 28])
            #expect(run.queryLabels == labels)
        }
        // Support image k of run 1 is drawer 0 of character (1 + k) % 12, as loaded from the Omniglot-layout archive.
        let set = Fixtures.smallSet
        for k in 0..<5 {
            let character = (1 + k) % 12
            let fromArchive = Array(set.image(set.classes[character].images.lowerBound))
            #expect(Array(runs[0].support.data[(k * 784)..<((k + 1) * 784)]) == fromArchive)
        }
    }

    @Test("missing label files, bad lines and unknown references throw")
    func errors() throws {
        let folder = try Fixtures.temporaryFolder()
        let png = try Fixtures.glyphPNG()
        let noLabels = try Fixtures.zip([.file("run01/training/class01.png", png), .file("run01/test/item01.png", png)],
                                        named: "nolabels.zip", in: folder)
        expectError(.missingEntry(archive: "nolabels.zip", entry: "run01/class_labels.txt")) {
            try OneShotBenchmark.load(archive: noLabels)
        }
        let badLine = try Fixtures.zip([.file("run01/training/class01.png", png), .file("run01/test/item01.png", png),
                                        .file("run01/class_labels.txt", Array("\nrun01/test/item01.png\n".utf8))],
                                       named: "badline.zip", in: folder)
        expectError(.malformedLabels(archive: "badline.zip", entry: "run01/class_labels.txt", line: 2,
                                     reason: "expected '<test image> <training image>', found 'run01/test/item01.png'")) {
            try OneShotBenchmark.load(archive: badLine)
        }
        let unknown = try Fixtures.zip([.file("run01/training/class01.png", png), .file("run01/test/item01.png", png),
                                        .file("run01/class_labels.txt",
                                              Array("run01/test/item01.png run01/training/class07.png\n".utf8))],
                                       named: "unknown.zip", in: folder)
        expectError(.missingEntry(archive: "unknown.zip", entry: "run01/training/class07.png")) {
            try OneShotBenchmark.load(archive: unknown)
        }
        let noTraining = try Fixtures.zip([.file("run01/test/item01.png", png)], named: "notraining.zip", in: folder)
        expectError(.emptyFolder(archive: "notraining.zip", folder: "run01/training/")) {
            try OneShotBenchmark.load(archive: noTraining)
        }
    }
}
