import Engine
import Foundation
import Testing
@testable import Datasets

@Suite("Real Omniglot archives", .enabled(if: Fixtures.realAvailable, Fixtures.realSkipMessage))
struct RealOmniglotTests {
    @Test("background and evaluation have the published counts")
    func counts() {
        let omniglot = Fixtures.real.omniglot
        #expect(omniglot.background.alphabets.count == 30)
        #expect(omniglot.background.classes.count == 964)
        #expect(omniglot.background.imageCount == 19_280)
        #expect(omniglot.evaluation.alphabets.count == 20)
        #expect(omniglot.evaluation.classes.count == 659)
        #expect(omniglot.evaluation.imageCount == 13_180)
        #expect(omniglot.background.classes.allSatisfy { $0.images.count == 20 })
        #expect(omniglot.background.name == "images_background")
        #expect(omniglot.background.classes[0].qualifiedName == "Alphabet_of_the_Magi/character01")
        #expect(omniglot.background.pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    /// Expected values for `images_background/Alphabet_of_the_Magi/character01/0709_01.png`,
    /// computed independently of libspng and of this module: Python's `zipfile` + `zlib` and a
    /// hand-written PNG chunk parser, unfilter and 1-bit unpack, then an exact area-average
    /// resize with `fractions.Fraction` (weights = overlap of [i, i+1) with [o*3.75, (o+1)*3.75)):
    /// 10,120 of the 11,025 pixels are background (905 ink); the 28x28 image sums to
    /// 32384/45 = 719.6444...; its pixel (row 9, column 4) is 127/225.
    @Test("a known image decodes to independently computed values")
    func knownImage() throws {
        let set = Fixtures.real.omniglot.background
        let first = set.image(0)
        #expect(abs(first.reduce(0, +) - 32384.0 / 45.0) < 1e-3)
        #expect(abs(first[first.startIndex + 9 * 28 + 4] - 127.0 / 225.0) < 1e-6)

        // The same entry at full size, straight from the decoder.
        let data = try FileIO.readArchive(at: Fixtures.realFolder!.appendingPathComponent(Omniglot.backgroundArchive))
        let contents = try ZipReader.read(data, archiveName: Omniglot.backgroundArchive)
        let index = try #require(contents.files.firstIndex {
            $0.path == "images_background/Alphabet_of_the_Magi/character01/0709_01.png"
        })
        let full = try ImageSet.decodeImages(contents, files: [index], imageSize: 105)
        #expect(full.reduce(0, +) == 10_120)
        #expect(Set(full) == [0, 1])

        // Unpacking the stored 1-bit rows ourselves equals libspng's own SPNG_FMT_G8 conversion.
        var fast = [UInt8](repeating: 0, count: 105 * 105), slow = fast
        try contents.bytes.withUnsafeBytes { archiveBytes in
            for file in contents.files.prefix(300) {
                let png = UnsafeRawBufferPointer(rebasing: archiveBytes[file.range])
                try fast.withUnsafeMutableBytes {
                    try PNGCodec.decodeGray(png, side: 105, into: $0, archive: "a", entry: file.path)
                }
                try slow.withUnsafeMutableBytes {
                    try PNGCodec.decodeGray(png, side: 105, into: $0, archive: "a", entry: file.path, viaG8: true)
                }
                #expect(fast == slow)
            }
        }
    }

    @Test("rotations are exact pixel permutations")
    func rotations() throws {
        let omniglot = Fixtures.real.omniglot
        let base = ClassSplit.all(of: omniglot.background)
        let rotated = base.withRotations()
        #expect(rotated.classCount == 4 * 964)
        #expect(rotated.imageCount == 4 * 19_280)
        let side = 28
        for classIndex in [0, 1, 500, 963] {
            for rotation in Rotation.allCases {
                let rotatedIndex = classIndex * 4 + rotation.rawValue / 90
                #expect(rotated.classes[rotatedIndex] == SplitClass(source: 0, classIndex: classIndex, rotation: rotation))
                for sample in [0, 19] {
                    let original = base.image(ofClass: classIndex, sample: sample)
                    let turned = rotated.image(ofClass: rotatedIndex, sample: sample)
                    #expect(turned.sorted() == original.sorted())
                    var back = turned
                    for _ in 0..<((4 - rotation.rawValue / 90) % 4) { back = Rotation.r90.applied(to: back, side: side) }
                    #expect(back == original)
                }
            }
            let original = base.image(ofClass: classIndex, sample: 3)
            let quarter = rotated.image(ofClass: classIndex * 4 + 1, sample: 3)
            for r in 0..<side {
                for c in 0..<side {
                    #expect(quarter[(side - 1 - c) * side + r] == original[r * side + c])
                }
            }
            var four = original
            for _ in 0..<4 { four = Rotation.r90.applied(to: four, side: side) }
            #expect(four == original)
        }
    }

    @Test("splits report the requested class and image counts")
    func splits() throws {
        let omniglot = Fixtures.real.omniglot
        let lake = omniglot.lakeSplit
        #expect(lake.background.classCount == 964 && lake.evaluation.classCount == 659)

        var generator = SeededGenerator(seed: 1)
        let twoWay = try omniglot.randomCharacterSplit(sizes: [1200, 423], using: &generator)
        #expect(twoWay.map(\.classCount) == [1200, 423])
        #expect(twoWay.map(\.imageCount) == [24_000, 8_460])
        #expect(twoWay.map(\.name) == ["train", "test"])

        let threeWay = try omniglot.randomCharacterSplit(sizes: [1100, 100, 423], using: &generator)
        #expect(threeWay.map(\.classCount) == [1100, 100, 423])
        let all = Set(threeWay.flatMap(\.classes))
        #expect(all.count == 1623)

        let vinyals = try omniglot.vinyalsSplit(using: &generator)
        #expect(vinyals.map(\.classCount) == [1028, 172, 423])
        #expect(vinyals[0].withRotations().classCount == 4 * 1028)
        #expect(vinyals[2].classCount == 423)

        let byAlphabet = try omniglot.alphabetSplit(alphabetCounts: [30, 20], using: &generator)
        #expect(byAlphabet.map(\.classCount).reduce(0, +) == 1623)
        func alphabets(_ split: ClassSplit) -> Set<String> {
            Set(split.classes.indices.map { "\(split.classes[$0].source)/\(split.characterClass($0).alphabet)" })
        }
        let trainAlphabets = alphabets(byAlphabet[0]), testAlphabets = alphabets(byAlphabet[1])
        #expect(trainAlphabets.count == 30 && testAlphabets.count == 20 && trainAlphabets.isDisjoint(with: testAlphabets))

        expectError(.splitTooLarge(unit: "characters", requested: [1600, 100], available: 1623)) {
            try omniglot.randomCharacterSplit(sizes: [1600, 100], using: &generator)
        }
    }

    @Test("20-way 1-shot tasks on the rotated background split")
    func tasks() throws {
        let split = ClassSplit.all(of: Fixtures.real.omniglot.background).withRotations()
        let sampler = try TaskSampler(split: split, ways: 20, shots: 15, queries: 1)
        var generator = SeededGenerator(seed: 3)
        for _ in 0..<10 {
            let task = sampler.sample(using: &generator)
            #expect(task.support.shape == [300, 1, 28, 28])
            #expect(task.query.shape == [20, 1, 28, 28])
            let batch = task.supportBatch(size: 20, using: &generator)
            #expect(batch.images.shape == [20, 1, 28, 28])
        }
        // Lake's protocol: 20-way 1-shot within one evaluation alphabet.
        let evaluation = ClassSplit.all(of: Fixtures.real.omniglot.evaluation)
        let lake = try TaskSampler(split: evaluation, ways: 20, shots: 1, queries: 1, classDraw: .withinAlphabet)
        for _ in 0..<10 {
            let task = lake.sample(using: &generator)
            #expect(Set(task.classOfLabel.map { evaluation.characterClass($0).alphabet }).count == 1)
        }
    }

    @Test("the second load hits the cache and equals the cold load")
    func cache() throws {
        let cold = Fixtures.real
        // The only test that reads the cache after the shared load: it removes the 100 MB when done.
        defer { try? FileManager.default.removeItem(at: Fixtures.realCacheFolder) }
        #expect(cold.cache.allSatisfy { if case .created = $0 { true } else { false } })
        let warm = try Omniglot.loadReporting(folder: Fixtures.realFolder!, cache: .folder(Fixtures.realCacheFolder))
        #expect(warm.cache.allSatisfy { if case .hit = $0 { true } else { false } })
        #expect(warm.omniglot.background == cold.omniglot.background)
        #expect(warm.omniglot.evaluation == cold.omniglot.evaluation)
    }
}

@Suite("Real Omniglot load benchmark", .enabled(if: Fixtures.realAvailable, Fixtures.realSkipMessage),
       .disabled(if: Fixtures.isDebugBuild, "timings need an optimised build (-c release)"))
struct RealOmniglotBenchmarkTests {
    /// Loose bounds: other suites run in parallel with this one. Run it alone
    /// (`--filter RealOmniglotBenchmarkTests`) for the numbers to quote.
    @Test("cold and warm loads of both archives")
    func benchmark() throws {
        let cacheFolder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: cacheFolder) }
        let timing = try benchmarkOmniglotLoad(folder: Fixtures.realFolder!, cacheFolder: cacheFolder)
        print("Omniglot load: \(timing)")
        #expect(timing.imageCount == 32_460)
        #expect(timing.coldSeconds < 20)
        #expect(timing.warmSeconds < 2)
    }
}
