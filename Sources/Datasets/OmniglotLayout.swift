/// The folder structure of an Omniglot-layout archive, checked and sorted.
///
/// The official layout is `<split>/<Alphabet>/characterNN/XXXX_YY.png`, for example
/// `images_background/Alphabet_of_the_Magi/character01/0709_01.png`. Alphabets, characters
/// and files are sorted by their UTF-8 bytes, so the order does not depend on the zip's entry
/// order. Hidden entries (a path component starting with `.`) and `__MACOSX/` are ignored.
struct OmniglotLayout {
    /// One character folder and the archive files in it, sorted.
    struct Character {
        var alphabetIndex: Int
        var name: String
        /// Indices into ``ArchiveContents/files``.
        var files: [Int]
    }

    /// The common top folder (`images_background`).
    var top: String
    /// Alphabet folder names, sorted.
    var alphabets: [String]
    /// Character folders, sorted by alphabet then name.
    var characters: [Character]

    /// The number of image files.
    var imageCount: Int { characters.reduce(0) { $0 + $1.files.count } }

    /// Checks the layout of an archive's entries and groups its images by character.
    ///
    /// - Parameter contents: The archive's entries.
    /// - Throws: ``DatasetError/unexpectedEntry(archive:entry:reason:)`` for an entry outside
    ///   the layout, ``DatasetError/emptyFolder(archive:folder:)`` for an alphabet or character
    ///   folder without images, ``DatasetError/emptyArchive(archive:)`` without any image.
    init(_ contents: ArchiveContents) throws {
        let archive = contents.archiveName
        let expectedShape = "expected '<split>/<alphabet>/<character>/<image>.png'"
        var top: String?
        // alphabet -> character -> file indices
        var tree: [String: [String: [Int]]] = [:]

        func checkTop(_ first: String, _ path: String) throws {
            if let top, top != first {
                throw DatasetError.unexpectedEntry(archive: archive, entry: path,
                                                   reason: "expected every entry under '\(top)/'")
            }
            top = first
        }

        for directory in contents.directories {
            let parts = directory.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
            if Self.isIgnored(parts) || parts.isEmpty { continue }
            guard parts.count <= 3 else {
                throw DatasetError.unexpectedEntry(archive: archive, entry: directory + "/",
                                                   reason: "folder nested inside a character folder; \(expectedShape)")
            }
            try checkTop(parts[0], directory + "/")
            if parts.count >= 2, tree[parts[1]] == nil { tree[parts[1]] = [:] }
            if parts.count == 3, tree[parts[1]]![parts[2]] == nil { tree[parts[1]]![parts[2]] = [] }
        }
        for (index, file) in contents.files.enumerated() {
            let parts = file.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
            if Self.isIgnored(parts) { continue }
            guard parts.count == 4, parts[3].lowercased().hasSuffix(".png") else {
                throw DatasetError.unexpectedEntry(archive: archive, entry: file.path, reason: expectedShape)
            }
            try checkTop(parts[0], file.path)
            tree[parts[1], default: [:]][parts[2], default: []].append(index)
        }
        guard let top else { throw DatasetError.emptyArchive(archive: archive) }

        let alphabets = tree.keys.sorted(by: Self.byteOrder)
        var characters: [Character] = []
        for (alphabetIndex, alphabet) in alphabets.enumerated() {
            let folders = tree[alphabet]!
            guard !folders.isEmpty else {
                throw DatasetError.emptyFolder(archive: archive, folder: "\(top)/\(alphabet)/")
            }
            for name in folders.keys.sorted(by: Self.byteOrder) {
                let files = folders[name]!.sorted { Self.byteOrder(contents.files[$0].path, contents.files[$1].path) }
                guard !files.isEmpty else {
                    throw DatasetError.emptyFolder(archive: archive, folder: "\(top)/\(alphabet)/\(name)/")
                }
                characters.append(Character(alphabetIndex: alphabetIndex, name: name, files: files))
            }
        }
        guard !characters.isEmpty else { throw DatasetError.emptyArchive(archive: archive) }
        self.top = top
        self.alphabets = alphabets
        self.characters = characters
    }

    /// Entries that archivers add on their own: hidden files and macOS resource forks.
    static func isIgnored(_ parts: [String]) -> Bool {
        parts.first == "__MACOSX" || parts.contains { $0.hasPrefix(".") }
    }

    /// Byte-wise ordering of UTF-8 strings, independent of locale and Unicode normalisation.
    static func byteOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
