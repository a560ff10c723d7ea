import Dispatch
import Engine
import Foundation

/// A synthetic, Omniglot-shaped data set of stroke-drawn glyphs that the toolkit generates itself.
///
/// Every character class is a template of 2-4 random strokes (lines, circular arcs, quadratic
/// curves) drawn with a round pen at 105x105; each alphabet has its own pen thickness and mix
/// of stroke kinds. Each drawer redraws the template with endpoint noise, a thickness change
/// and a small affine transform (see `GlyphTemplate.render`), so drawings of one class look
/// alike and classes look different: few-shot tasks on it are learnable.
///
/// The images are written as 1-bit (or 8-bit) grayscale PNGs by libspng into a zip with the
/// official layout, `images_background/<Alphabet>/characterNN/XXXX_YY.png`, so loading it
/// exercises exactly the path of the real archives. Generation is deterministic: every
/// drawing has its own generator derived from `(seed, alphabet, character, drawer)`, entries
/// are stored uncompressed with a fixed modification time, and the same parameters always
/// give a byte-identical zip (on a given platform's libm).
public struct SyntheticGlyphs: Sendable, Equatable {
    /// The number of alphabets.
    public var alphabets: Int
    /// Characters (classes) per alphabet.
    public var charactersPerAlphabet: Int
    /// Drawings per character.
    public var drawers: Int
    /// The seed every stroke and drawing derives from.
    public var seed: UInt64
    /// The archive's top folder (`images_background` or `images_evaluation`).
    public var splitName: String
    /// PNG bit depth, 1 (as Omniglot) or 8.
    public var bitDepth: Int

    /// Describes a synthetic data set.
    ///
    /// The defaults (20 x 10 x 20 = 4,000 drawings) generate in about a second on two cores.
    ///
    /// - Parameters:
    ///   - alphabets: The number of alphabets.
    ///   - charactersPerAlphabet: Classes per alphabet.
    ///   - drawers: Drawings per class.
    ///   - seed: The seed.
    ///   - splitName: The top folder name.
    ///   - bitDepth: 1 or 8.
    public init(alphabets: Int = 20, charactersPerAlphabet: Int = 10, drawers: Int = 20, seed: UInt64 = 0,
                splitName: String = "images_background", bitDepth: Int = 1) {
        self.alphabets = alphabets
        self.charactersPerAlphabet = charactersPerAlphabet
        self.drawers = drawers
        self.seed = seed
        self.splitName = splitName
        self.bitDepth = bitDepth
    }

    /// The usual file name of the archive: `<splitName>.zip`.
    public var archiveFileName: String { splitName + ".zip" }

    /// The number of classes.
    public var classCount: Int { alphabets * charactersPerAlphabet }

    /// The folder name of alphabet `index` (0-based): `Glyphs_01`, ...
    public func alphabetName(_ index: Int) -> String { "Glyphs_" + Self.padded(index + 1, width: 2) }

    /// The archive path of one drawing, e.g. `images_background/Glyphs_01/character01/0001_01.png`.
    public func entryPath(alphabet: Int, character: Int, drawer: Int) -> String {
        let number = alphabet * charactersPerAlphabet + character + 1
        return "\(splitName)/\(alphabetName(alphabet))/character\(Self.padded(character + 1, width: 2))/"
            + "\(Self.padded(number, width: 4))_\(Self.padded(drawer + 1, width: 2)).png"
    }

    /// Renders one drawing as 105x105 gray bytes (0 ink, 255 paper).
    ///
    /// - Parameters:
    ///   - alphabet: Alphabet index, `0 ..< alphabets`.
    ///   - character: Character index within the alphabet.
    ///   - drawer: Drawer index.
    /// - Returns: `105 * 105` bytes, row-major.
    public func render(alphabet: Int, character: Int, drawer: Int) -> [UInt8] {
        var drawing = generator(tag: 3, alphabet, character, drawer)
        return template(alphabet: alphabet, character: character)
            .render(side: ImageSet.sourceSide, using: &drawing)
    }

    /// Renders one drawing and encodes it as a PNG.
    ///
    /// - Returns: The PNG file's bytes.
    /// - Throws: ``DatasetError/writeFailed(path:reason:)`` if libspng fails.
    public func png(alphabet: Int, character: Int, drawer: Int) throws -> [UInt8] {
        try PNGCodec.encodeGray(render(alphabet: alphabet, character: character, drawer: drawer),
                                side: ImageSet.sourceSide, bitDepth: bitDepth,
                                name: entryPath(alphabet: alphabet, character: character, drawer: drawer))
    }

    /// Generates the data set and writes it as an Omniglot-layout zip, atomically.
    ///
    /// Drawings are rendered and encoded in parallel; the zip is written in sorted entry
    /// order with folder entries, like the official archives.
    ///
    /// - Parameter url: The destination file; its folder must exist.
    /// - Throws: ``DatasetError/invalidParameter(name:value:reason:)`` for counts below 1 or a
    ///   bit depth other than 1 or 8; ``DatasetError/writeFailed(path:reason:)``.
    public func writeArchive(to url: URL) throws {
        try validate()
        let perClass = drawers
        let total = classCount * perClass
        var pngs = [[UInt8]](repeating: [], count: total)
        var errors = [DatasetError?](repeating: nil, count: total)
        pngs.withUnsafeMutableBufferPointer { pngSlots in
            errors.withUnsafeMutableBufferPointer { errorSlots in
                let shared = _UncheckedSendable((pngSlots, errorSlots))
                DispatchQueue.concurrentPerform(iterations: classCount) { classIndex in
                    let (pngSlots, errorSlots) = shared.value
                    let alphabet = classIndex / charactersPerAlphabet, character = classIndex % charactersPerAlphabet
                    for drawer in 0..<perClass {
                        let slot = classIndex * perClass + drawer
                        do {
                            pngSlots[slot] = try png(alphabet: alphabet, character: character, drawer: drawer)
                        } catch {
                            errorSlots[slot] = error as? DatasetError
                                ?? .writeFailed(path: url.path, reason: "\(error)")
                        }
                    }
                }
            }
        }
        if let first = errors.lazy.compactMap({ $0 }).first { throw first }

        var entries: [ZipEntry] = [.folder(splitName)]
        for alphabet in 0..<alphabets {
            entries.append(.folder("\(splitName)/\(alphabetName(alphabet))"))
            for character in 0..<charactersPerAlphabet {
                let path = entryPath(alphabet: alphabet, character: character, drawer: 0)
                entries.append(.folder(String(path[..<path.lastIndex(of: "/")!])))
                for drawer in 0..<perClass {
                    entries.append(.file(entryPath(alphabet: alphabet, character: character, drawer: drawer),
                                         pngs[(alphabet * charactersPerAlphabet + character) * perClass + drawer]))
                }
            }
        }
        try ZipWriter.write(entries, to: url)
    }

    /// Writes the archive to `folder/<splitName>.zip` unless a file is already there.
    ///
    /// - Parameter folder: The destination folder (created if needed).
    /// - Returns: The archive's location.
    /// - Throws: ``DatasetError/writeFailed(path:reason:)``.
    @discardableResult
    public func ensureArchive(in folder: URL) throws -> URL {
        let url = folder.appendingPathComponent(archiveFileName)
        if FileManager.default.fileExists(atPath: url.path) { return url }
        guard FileIO.prepareWritableFolder(folder) else {
            throw DatasetError.writeFailed(path: folder.path, reason: "folder cannot be created or written")
        }
        try writeArchive(to: url)
        return url
    }

    /// Checks the parameters.
    private func validate() throws {
        for (name, value) in [("alphabets", alphabets), ("charactersPerAlphabet", charactersPerAlphabet),
                              ("drawers", drawers)] where value < 1 {
            throw DatasetError.invalidParameter(name: name, value: "\(value)", reason: "must be at least 1")
        }
        guard bitDepth == 1 || bitDepth == 8 else {
            throw DatasetError.invalidParameter(name: "bitDepth", value: "\(bitDepth)", reason: "must be 1 or 8")
        }
        guard !splitName.isEmpty, !splitName.contains("/") else {
            throw DatasetError.invalidParameter(name: "splitName", value: splitName, reason: "must be one folder name")
        }
    }

    /// The stroke template of one class; its style comes from the alphabet's own stream.
    func template(alphabet: Int, character: Int) -> GlyphTemplate {
        var styleStream = generator(tag: 1, alphabet, 0, 0)
        let weights = SIMD3<Double>(0.3 + Double(styleStream.nextUnitFloat()),
                                    0.3 + Double(styleStream.nextUnitFloat()),
                                    0.3 + Double(styleStream.nextUnitFloat()))
        let penRadius = 2.2 + 1.4 * Double(styleStream.nextUnitFloat())
        var classStream = generator(tag: 2, alphabet, character, 0)
        return GlyphTemplate.random(style: (weights, penRadius), using: &classStream)
    }

    /// An independent generator for one (purpose, alphabet, character, drawer).
    private func generator(tag: UInt64, _ alphabet: Int, _ character: Int, _ drawer: Int) -> SeededGenerator {
        let words: [UInt64] = [seed, tag, UInt64(alphabet), UInt64(character), UInt64(drawer)]
        return SeededGenerator(seed: words.withUnsafeBytes { Hash64.hash($0) })
    }

    /// `value` in decimal, zero-padded to at least `width` digits.
    private static func padded(_ value: Int, width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
