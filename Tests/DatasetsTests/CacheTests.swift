import Engine
import Foundation
import Testing
@testable import Datasets

@Suite("Decoded-image cache")
struct CacheTests {
    /// A private copy of the small archive, so each test owns its folder and cache.
    func archiveCopy() throws -> URL {
        let folder = try Fixtures.temporaryFolder()
        let url = folder.appendingPathComponent(Fixtures.small.archiveFileName)
        try FileManager.default.copyItem(at: Fixtures.smallArchive, to: url)
        return url
    }

    func isHit(_ event: CacheEvent) -> Bool { if case .hit = event { true } else { false } }

    @Test("the second load hits the cache and equals the cold load")
    func hit() throws {
        let archive = try archiveCopy()
        let cold = try ImageSet.loadReporting(archive: archive)
        let file = archive.deletingLastPathComponent()
            .appendingPathComponent(".metanas-cache/images_background-28px.metanas-images")
        #expect(cold.cache == .created(file: file))
        let warm = try ImageSet.loadReporting(archive: archive)
        #expect(warm.cache == .hit(file: file))
        #expect(warm.images == cold.images)
        #expect(warm.images == Fixtures.smallSet)
        // Another image size is another cache file.
        let other = try ImageSet.loadReporting(archive: archive, imageSize: 14)
        #expect(other.images.imageSize == 14)
        #expect(!isHit(other.cache))
    }

    @Test("corrupt or stale cache files are detected and rebuilt",
          arguments: ["payload", "magic", "truncated", "stale", "longer"])
    func rebuilt(damage: String) throws {
        let archive = try archiveCopy()
        let cacheFolder = try Fixtures.temporaryFolder()
        let location = CacheLocation.folder(cacheFolder)
        let cold = try ImageSet.loadReporting(archive: archive, cache: location)
        guard case let .created(file) = cold.cache else {
            Issue.record("expected a new cache file, got \(cold.cache)")
            return
        }
        var bytes = [UInt8](try Data(contentsOf: file))
        let expectedReason: String
        switch damage {
        case "payload":
            bytes[bytes.count - 100] ^= 0x01
            expectedReason = "payload checksum mismatch"
        case "magic":
            bytes[0] = UInt8(ascii: "X")
            expectedReason = "bad magic"
        case "truncated":
            bytes.removeLast(bytes.count / 3)
            expectedReason = "truncated"
        case "longer":
            bytes += [0, 0, 0, 0]
            expectedReason = "wrong length"
        default:
            bytes[24] ^= 0x01 // the archive hash in the header: written for another archive
            expectedReason = "written for another archive or image size"
        }
        try Data(bytes).write(to: file)
        let reloaded = try ImageSet.loadReporting(archive: archive, cache: location)
        #expect(reloaded.cache == .rebuilt(file: file, reason: expectedReason))
        #expect(reloaded.images == cold.images)
        #expect(isHit(try ImageSet.loadReporting(archive: archive, cache: location).cache))
    }

    @Test("a changed archive invalidates its cache")
    func changedArchive() throws {
        let folder = try Fixtures.temporaryFolder()
        let archive = folder.appendingPathComponent("images_background.zip")
        try SyntheticGlyphs(alphabets: 1, charactersPerAlphabet: 2, drawers: 3, seed: 1).writeArchive(to: archive)
        let first = try ImageSet.loadReporting(archive: archive)
        try SyntheticGlyphs(alphabets: 1, charactersPerAlphabet: 2, drawers: 3, seed: 2).writeArchive(to: archive)
        let second = try ImageSet.loadReporting(archive: archive)
        guard case .rebuilt(_, "written for another archive or image size") = second.cache else {
            Issue.record("expected a rebuild, got \(second.cache)")
            return
        }
        #expect(first.images.pixels != second.images.pixels)
    }

    @Test("an unwritable default folder falls back to the caller's folder")
    func fallback() throws {
        let archive = try archiveCopy()
        // A plain file where the cache folder should go makes the default unusable (tests run as root,
        // so permissions cannot be used for this).
        try Data([1]).write(to: archive.deletingLastPathComponent().appendingPathComponent(".metanas-cache"))
        let fallback = try Fixtures.temporaryFolder()
        let load = try ImageSet.loadReporting(archive: archive, cache: .automatic(fallback: fallback))
        #expect(load.cache == .created(file: fallback.appendingPathComponent("images_background-28px.metanas-images")))
        let none = try ImageSet.loadReporting(archive: archive, cache: .automatic(fallback: nil))
        guard case .unavailable = none.cache else {
            Issue.record("expected no cache, got \(none.cache)")
            return
        }
        #expect(none.images == load.images)
        #expect(try ImageSet.loadReporting(archive: archive, cache: .disabled).cache == .disabled)
    }

    @Test("the hash is stable and sensitive to every byte")
    func hash() {
        let bytes = [UInt8]((0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let base = Hash64.hash(bytes)
        #expect(base == Hash64.hash(bytes))
        for position in [0, 7, 31, 32, 500, 995, 999] {
            var changed = bytes
            changed[position] ^= 0x10
            #expect(Hash64.hash(changed) != base)
        }
        #expect(Hash64.hash(bytes + [0]) != base)
        #expect(Hash64.hash([UInt8]()) != Hash64.hash([UInt8(0)]))
    }
}
