import Foundation
import Testing
@testable import Datasets

@Suite("Bad input gives typed errors")
struct BadInputTests {
    let entry = "images_background/X/character01/0001_01.png"

    @Test("a missing archive")
    func missing() throws {
        let path = try Fixtures.temporaryFolder().appendingPathComponent("images_background.zip")
        expectError(.archiveNotFound(path: path.path)) { try ImageSet.load(archive: path, cache: .disabled) }
        #expect(DatasetError.archiveNotFound(path: "/x/a.zip").description == "/x/a.zip: no such archive")
    }

    @Test("a truncated zip")
    func truncated() throws {
        let folder = try Fixtures.temporaryFolder()
        let bytes = try Data(contentsOf: Fixtures.smallArchive)
        let url = folder.appendingPathComponent("truncated.zip")
        try bytes.prefix(bytes.count / 2).write(to: url)
        let error = capturedError { try ImageSet.load(archive: url, cache: .disabled) }
        guard case let .corruptArchive(archive, entry?, _) = error else {
            Issue.record("expected corruptArchive with an entry, got \(String(describing: error))")
            return
        }
        #expect(archive == "truncated.zip")
        #expect(entry.hasPrefix("images_background/Glyphs_02/"))
        #expect(error!.description.hasPrefix("truncated.zip: archive is corrupt at entry 'images_background/"))
    }

    @Test("bytes that are not a zip, and an empty file")
    func notAZip() throws {
        let folder = try Fixtures.temporaryFolder()
        let url = folder.appendingPathComponent("noise.zip")
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) }).write(to: url)
        let error = capturedError { try ImageSet.load(archive: url, cache: .disabled) }
        guard case .unreadableArchive(archive: "noise.zip", _) = error else {
            Issue.record("expected unreadableArchive, got \(String(describing: error))")
            return
        }
        let empty = folder.appendingPathComponent("empty.zip")
        try Data().write(to: empty)
        expectError(.unreadableArchive(archive: "empty.zip", reason: "file is empty")) {
            try ImageSet.load(archive: empty, cache: .disabled)
        }
    }

    @Test("a damaged entry inside an otherwise valid zip")
    func damagedEntry() throws {
        // Stored entries carry a CRC: flipping a byte of a PNG's data must be caught.
        let folder = try Fixtures.temporaryFolder()
        var bytes = [UInt8](try Data(contentsOf: Fixtures.smallArchive))
        let png = try Fixtures.small.png(alphabet: 1, character: 2, drawer: 3)
        let offset = try #require(bytes.firstRange(of: png)).lowerBound
        bytes[offset + png.count - 20] ^= 0xFF
        let url = folder.appendingPathComponent("damaged.zip")
        try Data(bytes).write(to: url)
        let error = capturedError { try ImageSet.load(archive: url, cache: .disabled) }
        #expect(error != nil)
        #expect(error?.description.hasPrefix("damaged.zip: ") == true)
    }

    @Test("a text file named .png")
    func textAsPNG() throws {
        let folder = try Fixtures.temporaryFolder()
        let url = try Fixtures.zip([.folder("images_background"), .file(entry, Array("hello, world\n".utf8))],
                                   named: "images_background.zip", in: folder)
        expectError(.notPNG(archive: "images_background.zip", entry: entry)) {
            try ImageSet.load(archive: url, cache: .disabled)
        }
        #expect(DatasetError.notPNG(archive: "images_background.zip", entry: entry).description
                == "images_background.zip: entry 'images_background/X/character01/0001_01.png' is not a PNG (bad signature)")
    }

    @Test("a PNG of the wrong size")
    func wrongSize() throws {
        let folder = try Fixtures.temporaryFolder()
        let small = try PNGCodec.encodeGray([UInt8](repeating: 255, count: 64 * 64), side: 64, bitDepth: 1, name: "t")
        let url = try Fixtures.zip([.file(entry, small)], named: "sizes.zip", in: folder)
        let expected = DatasetError.wrongImageFormat(archive: "sizes.zip", entry: entry,
                                                     found: "64x64 pixels, 1-bit grayscale",
                                                     expected: "105x105 pixels, 1- or 8-bit grayscale")
        expectError(expected) { try ImageSet.load(archive: url, cache: .disabled) }
        #expect(expected.description == "sizes.zip: entry '\(entry)' is 64x64 pixels, 1-bit grayscale, "
                + "expected 105x105 pixels, 1- or 8-bit grayscale")
    }

    @Test("a PNG of the wrong bit depth")
    func wrongDepth() throws {
        let folder = try Fixtures.temporaryFolder()
        // 16-bit grayscale, written with the raw encoder (two bytes per pixel).
        let context = try _SpngContext(encoder: true, archive: "t", entry: "t")
        let deep = try context.encode([UInt8](repeating: 255, count: 105 * 105 * 2), side: 105, bitDepth: 16)
        let url = try Fixtures.zip([.file(entry, deep)], named: "depth.zip", in: folder)
        expectError(.wrongImageFormat(archive: "depth.zip", entry: entry, found: "105x105 pixels, 16-bit grayscale",
                                      expected: "105x105 pixels, 1- or 8-bit grayscale")) {
            try ImageSet.load(archive: url, cache: .disabled)
        }
    }

    @Test("a PNG signature followed by garbage")
    func corruptPNG() throws {
        let folder = try Fixtures.temporaryFolder()
        let url = try Fixtures.zip([.file(entry, PNGCodec.signature + [UInt8](repeating: 7, count: 40))],
                                   named: "garbage.zip", in: folder)
        let error = capturedError { try ImageSet.load(archive: url, cache: .disabled) }
        guard case .corruptPNG(archive: "garbage.zip", entry: entry, _) = error else {
            Issue.record("expected corruptPNG, got \(String(describing: error))")
            return
        }
    }

    @Test("an empty class folder")
    func emptyClassFolder() throws {
        let folder = try Fixtures.temporaryFolder()
        let url = try Fixtures.zip([.folder("images_background"), .folder("images_background/X"),
                                    .folder("images_background/X/character01"), .file(entry, try Fixtures.glyphPNG()),
                                    .folder("images_background/X/character02")],
                                   named: "images_background.zip", in: folder)
        expectError(.emptyFolder(archive: "images_background.zip", folder: "images_background/X/character02/")) {
            try ImageSet.load(archive: url, cache: .disabled)
        }
    }

    @Test("entries outside the layout, and a zip without images")
    func layout() throws {
        let folder = try Fixtures.temporaryFolder()
        let shallow = try Fixtures.zip([.file("images_background/X/0001_01.png", try Fixtures.glyphPNG())],
                                       named: "shallow.zip", in: folder)
        expectError(.unexpectedEntry(archive: "shallow.zip", entry: "images_background/X/0001_01.png",
                                     reason: "expected '<split>/<alphabet>/<character>/<image>.png'")) {
            try ImageSet.load(archive: shallow, cache: .disabled)
        }
        let twoTops = try Fixtures.zip([.file(entry, try Fixtures.glyphPNG()),
                                        .file("other/X/character01/0001_01.png", try Fixtures.glyphPNG())],
                                       named: "tops.zip", in: folder)
        expectError(.unexpectedEntry(archive: "tops.zip", entry: "other/X/character01/0001_01.png",
                                     reason: "expected every entry under 'images_background/'")) {
            try ImageSet.load(archive: twoTops, cache: .disabled)
        }
        let hiddenOnly = try Fixtures.zip([.folder("images_background"), .file("images_background/.DS_Store", [1, 2])],
                                          named: "nothing.zip", in: folder)
        expectError(.emptyArchive(archive: "nothing.zip")) { try ImageSet.load(archive: hiddenOnly, cache: .disabled) }
    }

    @Test("an image size out of range")
    func badImageSize() throws {
        expectError(.invalidParameter(name: "imageSize", value: "0", reason: "must be in 1...1024")) {
            try ImageSet.load(archive: Fixtures.smallArchive, imageSize: 0, cache: .disabled)
        }
    }
}
