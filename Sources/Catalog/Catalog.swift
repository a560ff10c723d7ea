import JSON

/// The plugins and pipelines of one or more catalog files, layered in order: an entry of a
/// later file replaces the entry of the same kind and name (or the pipeline of the same name)
/// of an earlier one, and new entries are added.
///
/// A catalog is untrusted input. Reading one never throws and never loads code: problems are
/// collected (``problems``) with their `file:line:column`, and dynamic libraries are only
/// opened when a ``PluginRegistry`` is built from it, under a ``LibraryPolicy``.
public struct Catalog: Sendable {
    /// The files, in layering order.
    public private(set) var files: [CatalogFile] = []
    /// Every plugin entry after layering, in first-appearance order.
    public private(set) var plugins: [PluginEntry] = []
    /// Every pipeline after layering, in first-appearance order.
    public private(set) var pipelines: [Pipeline] = []

    /// The largest catalog file read (a catalog is a few kilobytes).
    public static let maxFileSize = 4 << 20
    /// The deepest nesting of arrays and objects accepted (a catalog needs five levels).
    public static let maxDepth = 16

    public init() {}

    /// The files layered in order.
    public init(layers: [CatalogFile]) {
        for f in layers { layer(f) }
    }

    /// Problems found while reading the files (syntax, shapes, duplicates); see
    /// ``CatalogValidator`` for the complete check.
    public var problems: [JSONError] { files.flatMap(\.problems) }

    /// Adds `file` over the current entries.
    public mutating func layer(_ file: CatalogFile) {
        files.append(file)
        for p in file.plugins {
            if let i = plugins.firstIndex(where: { $0.id == p.id }) { plugins[i] = p } else { plugins.append(p) }
        }
        for p in file.pipelines {
            if let i = pipelines.firstIndex(where: { $0.name == p.name }) { pipelines[i] = p } else { pipelines.append(p) }
        }
    }

    public func plugin(_ id: PluginID) -> PluginEntry? { plugins.first { $0.id == id } }

    public func pipeline(_ name: String) -> Pipeline? { pipelines.first { $0.name == name } }

    /// Names of entries that could not be read (references to them are not reported twice).
    var unreadableNames: Set<String> { files.reduce(into: []) { $0.formUnion($1.unreadableNames) } }

    // MARK: Reading

    /// Parses catalog text. Library paths of the file's entries are relative to `folder`.
    ///
    /// - Parameters:
    ///   - bytes: the file's contents (any bytes: invalid UTF-8 is a reported problem).
    ///   - source: the name for messages.
    ///   - folder: the absolute folder the file lives in.
    public static func parse(_ bytes: [UInt8], source: String, folder: String) -> CatalogFile {
        guard bytes.count <= maxFileSize else {
            return CatalogDecoder.failed(source: source, folder: folder,
                                         JSONError(source: source, line: 1, column: 1,
                                                   message: "catalog is larger than \(maxFileSize >> 20) MiB"))
        }
        do {
            let document = try JSONDocument.parse(bytes: bytes, source: source, maxDepth: maxDepth)
            return CatalogDecoder.decode(document, folder: folder)
        } catch {
            return CatalogDecoder.failed(source: source, folder: folder, error)
        }
    }

    /// Reads a catalog file; an unreadable file gives a file with one problem.
    public static func read(contentsOf path: String) -> CatalogFile {
        let folder = FileSystem.realPath(FileSystem.folder(of: path)) ?? FileSystem.folder(of: path)
        guard FileSystem.size(of: path).map({ $0 <= maxFileSize }) ?? true else {
            return CatalogDecoder.failed(source: path, folder: folder,
                                         JSONError(source: path, message: "catalog is larger than \(maxFileSize >> 20) MiB"))
        }
        do {
            return parse(try readFileBytes(path), source: path, folder: folder)
        } catch {
            return CatalogDecoder.failed(source: path, folder: folder, JSONError(source: path, message: "\(error.operation): \(error.reason)"))
        }
    }

    /// The catalog built into metanas: a copy of the package's `catalog.json` documenting every
    /// built-in plugin and the reference pipelines. It names no libraries.
    public static var defaultFile: CatalogFile {
        parse(Array(DefaultCatalog.text.utf8), source: DefaultCatalog.source, folder: "")
    }

    /// The default catalog with the files at `paths` layered over it, in order.
    public static func load(layering paths: [String], includeDefault: Bool = true) -> Catalog {
        var c = Catalog()
        if includeDefault { c.layer(defaultFile) }
        for p in paths { c.layer(read(contentsOf: p)) }
        return c
    }
}
