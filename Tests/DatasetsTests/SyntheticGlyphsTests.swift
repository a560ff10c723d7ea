import Dispatch
import Engine
import Foundation
import Testing
@testable import Datasets

@Suite("Synthetic glyphs")
struct SyntheticGlyphsTests {
    @Test("the archive has the Omniglot layout and reads back through the normal path")
    func layout() throws {
        let set = Fixtures.smallSet
        #expect(set.name == "images_background")
        #expect(set.alphabets == ["Glyphs_01", "Glyphs_02", "Glyphs_03"])
        #expect(set.classes.count == 12 && set.imageCount == 240)
        #expect(set.classes[5].qualifiedName == "Glyphs_02/character02")
        #expect(Fixtures.small.entryPath(alphabet: 1, character: 1, drawer: 19)
                == "images_background/Glyphs_02/character02/0006_20.png")
        let contents = try ZipReader.read(try Data(contentsOf: Fixtures.smallArchive), archiveName: "x.zip")
        #expect(contents.files.count == 240 && contents.directories.count == 1 + 3 + 12)
        // Decoded pixels are exactly the resized rendering.
        let rendered = Fixtures.small.render(alphabet: 2, character: 3, drawer: 4)
        #expect(Set(rendered) == [0, 255])
        var resized = [Float](repeating: 0, count: 28 * 28)
        var scratch = [Float](repeating: 0, count: 105 * 28)
        rendered.withUnsafeBytes { input in
            resized.withUnsafeMutableBufferPointer { output in
                scratch.withUnsafeMutableBufferPointer { AreaResizer(source: 105, target: 28).resize(input, into: output, scratch: $0) }
            }
        }
        #expect(Array(set.image(set.classes[11].images.lowerBound + 4)) == resized)
    }

    @Test("the same seed gives a byte-identical zip, another seed a different one")
    func deterministic() throws {
        let folder = try Fixtures.temporaryFolder()
        let a = folder.appendingPathComponent("a.zip"), b = folder.appendingPathComponent("b.zip")
        let c = folder.appendingPathComponent("c.zip")
        try Fixtures.small.writeArchive(to: a)
        try Fixtures.small.writeArchive(to: b)
        var other = Fixtures.small
        other.seed = 8
        try other.writeArchive(to: c)
        let bytesA = try Data(contentsOf: a)
        #expect(bytesA == (try Data(contentsOf: b)))
        #expect(bytesA == (try Data(contentsOf: Fixtures.smallArchive)))
        #expect(bytesA != (try Data(contentsOf: c)))
        // No temporary files are left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["a.zip", "b.zip", "c.zip"])
    }

    @Test("the default data set generates in a few seconds")
    func defaultSpeed() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let start = DispatchTime.now().uptimeNanoseconds
        let url = try SyntheticGlyphs().ensureArchive(in: folder)
        let set = try ImageSet.load(archive: url, cache: .disabled)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        #expect(set.classes.count == 200 && set.imageCount == 4000)
        if !Fixtures.isDebugBuild {
            #expect(seconds < 10, "generating and loading took \(seconds) s")
        }
    }

    @Test("classes are learnable: 1-nearest-neighbour beats chance by far")
    func learnable() throws {
        // 12-way 1-shot with raw-pixel nearest neighbour; chance is 1/12.
        let sampler = try TaskSampler(split: ClassSplit.all(of: Fixtures.smallSet), ways: 12, shots: 1, queries: 5)
        var generator = SeededGenerator(seed: 4)
        var correct = 0, total = 0
        for _ in 0..<20 {
            let task = sampler.sample(using: &generator)
            let perImage = 28 * 28
            for q in 0..<task.queryLabels.count {
                let query = task.query.data[(q * perImage)..<((q + 1) * perImage)]
                var best = (distance: Float.infinity, label: -1)
                for s in 0..<task.supportLabels.count {
                    let support = task.support.data[(s * perImage)..<((s + 1) * perImage)]
                    let distance = zip(query, support).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
                    if distance < best.distance { best = (distance, task.supportLabels[s]) }
                }
                correct += best.label == task.queryLabels[q] ? 1 : 0
                total += 1
            }
        }
        let accuracy = Double(correct) / Double(total)
        #expect(accuracy > 0.4, "1-NN accuracy \(accuracy) on 12-way 1-shot (chance 0.083)")
    }

    @Test("8-bit PNGs load like 1-bit ones; both decode like SPNG_FMT_G8")
    func eightBit() throws {
        for depth in [1, 8] {
            let rendered = Fixtures.small.render(alphabet: 1, character: 1, drawer: 1)
            let png = try PNGCodec.encodeGray(rendered, side: 105, bitDepth: depth, name: "t")
            var fast = [UInt8](repeating: 1, count: 105 * 105), slow = fast
            try png.withUnsafeBytes { bytes in
                try fast.withUnsafeMutableBytes { try PNGCodec.decodeGray(bytes, side: 105, into: $0, archive: "a", entry: "e") }
                try slow.withUnsafeMutableBytes {
                    try PNGCodec.decodeGray(bytes, side: 105, into: $0, archive: "a", entry: "e", viaG8: true)
                }
            }
            #expect(fast == rendered && slow == rendered)
        }
        let folder = try Fixtures.temporaryFolder()
        var spec = SyntheticGlyphs(alphabets: 1, charactersPerAlphabet: 2, drawers: 2, seed: 7)
        let oneBit = folder.appendingPathComponent("one.zip")
        try spec.writeArchive(to: oneBit)
        spec.bitDepth = 8
        let eightBit = folder.appendingPathComponent("eight.zip")
        try spec.writeArchive(to: eightBit)
        #expect(try ImageSet.load(archive: oneBit, cache: .disabled).pixels
                == (try ImageSet.load(archive: eightBit, cache: .disabled).pixels))
    }
}
