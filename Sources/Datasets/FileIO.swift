import Foundation

/// Reading whole files and writing files atomically.
///
/// Every file this module writes (caches, generated archives) goes through
/// ``writeAtomically(to:_:)``: the bytes land in a temporary file in the destination's own
/// folder, which is then renamed over the destination. A reader therefore sees either the old
/// file or the complete new one, never a half-written file, even if the process dies mid-write.
enum FileIO {
    /// Reads a whole archive into memory.
    ///
    /// - Parameter url: The archive's location.
    /// - Returns: The file's bytes.
    /// - Throws: ``DatasetError/archiveNotFound(path:)`` when nothing is there,
    ///   ``DatasetError/unreadableArchive(archive:reason:)`` when it cannot be read.
    static func readArchive(at url: URL) throws -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw DatasetError.archiveNotFound(path: url.path)
        }
        if isDirectory.boolValue {
            throw DatasetError.unreadableArchive(archive: url.lastPathComponent, reason: "it is a folder")
        }
        do {
            return try Data(contentsOf: url)
        } catch {
            throw DatasetError.unreadableArchive(archive: url.lastPathComponent, reason: "\(error.localizedDescription)")
        }
    }

    /// Reads a file if it exists, returning `nil` when it does not or cannot be read.
    static func readIfPresent(at url: URL) -> Data? {
        try? Data(contentsOf: url)
    }

    /// Writes a file atomically by letting `produce` fill a temporary sibling, then renaming it.
    ///
    /// - Parameters:
    ///   - url: The final destination; its folder must exist.
    ///   - produce: Writes the complete file at the temporary location it is given.
    /// - Throws: ``DatasetError/writeFailed(path:reason:)`` when the rename fails, or whatever
    ///   `produce` throws; the temporary file is removed in both cases.
    static func writeAtomically(to url: URL, _ produce: (URL) throws -> Void) throws {
        let folder = url.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        do {
            try produce(temporary)
            guard rename(temporary.path, url.path) == 0 else {
                throw DatasetError.writeFailed(path: url.path, reason: String(cString: strerror(errno)))
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    /// Writes `data` to `url` atomically (temporary sibling, then rename).
    ///
    /// - Throws: ``DatasetError/writeFailed(path:reason:)``.
    static func writeAtomically(_ data: Data, to url: URL) throws {
        try writeAtomically(to: url) { temporary in
            do {
                try data.write(to: temporary)
            } catch {
                throw DatasetError.writeFailed(path: url.path, reason: error.localizedDescription)
            }
        }
    }

    /// Makes sure a folder exists and that files can be created in it.
    ///
    /// - Returns: `true` when the folder exists (or was created) and is writable.
    static func prepareWritableFolder(_ url: URL) -> Bool {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: url.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { return false }
        } else {
            guard (try? manager.createDirectory(at: url, withIntermediateDirectories: true)) != nil else {
                return false
            }
        }
        return manager.isWritableFile(atPath: url.path)
    }
}
