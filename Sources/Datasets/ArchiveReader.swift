import CArchive
import Foundation

/// The entries of a zip archive read into memory: every regular file's bytes back to back in
/// one buffer, and the folder entries by name.
struct ArchiveContents: Sendable {
    /// One regular file of the archive.
    struct File: Sendable {
        /// The path inside the archive, as stored (`a/b/c.png`).
        var path: String
        /// Where the file's bytes sit in ``ArchiveContents/bytes``.
        var range: Range<Int>
    }

    /// The archive's file name, used in error messages.
    var archiveName: String
    /// The concatenated bytes of all regular files.
    var bytes: [UInt8] = []
    /// Regular files in archive order.
    var files: [File] = []
    /// Folder entries (without their trailing slash) in archive order.
    var directories: [String] = []

    /// The bytes of one file.
    func data(of file: File) -> ArraySlice<UInt8> { bytes[file.range] }
}

/// Reads zip archives with libarchive, one sequential pass over the entries.
///
/// Each libarchive call is wrapped in one small function of ``_LibArchiveReader`` that turns a
/// failure into a ``DatasetError`` naming the archive (and the entry when there is one); no
/// libarchive handle leaves this file.
enum ZipReader {
    /// Reads every entry of a zip archive held in memory.
    ///
    /// - Parameters:
    ///   - archive: The archive's bytes.
    ///   - archiveName: The file name to put in error messages.
    /// - Returns: All regular files and folders of the archive.
    /// - Throws: ``DatasetError/unreadableArchive(archive:reason:)`` when the bytes are not a zip,
    ///   ``DatasetError/corruptArchive(archive:entry:reason:)`` when an entry cannot be read.
    static func read(_ archive: Data, archiveName: String) throws -> ArchiveContents {
        var contents = ArchiveContents(archiveName: archiveName)
        contents.bytes.reserveCapacity(archive.count)
        try archive.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            let reader = try _LibArchiveReader(archiveName: archiveName)
            try reader.open(buffer)
            var scratch = [UInt8](repeating: 0, count: 1 << 16)
            while let entry = try reader.nextEntry() {
                if entry.isDirectory {
                    contents.directories.append(entry.path.hasSuffix("/") ? String(entry.path.dropLast()) : entry.path)
                    continue
                }
                guard entry.isRegularFile else { continue }
                let start = contents.bytes.count
                try reader.readData(of: entry.path, appendingTo: &contents.bytes, scratch: &scratch)
                contents.files.append(.init(path: entry.path, range: start..<contents.bytes.count))
            }
        }
        return contents
    }
}

/// The entry header fields this module needs.
struct _ArchiveEntryHeader {
    var path: String
    var isDirectory: Bool
    var isRegularFile: Bool
}

/// A libarchive read handle; every C call it makes is one method that throws on failure.
final class _LibArchiveReader {
    private let handle: OpaquePointer
    private let archiveName: String
    /// The entry whose header was read last, for error messages.
    private var currentEntry: String?

    /// `AE_IFREG` and `AE_IFDIR` (macros with casts are not imported into Swift).
    static let regularFileType: UInt32 = 0o100000
    static let directoryType: UInt32 = 0o040000

    init(archiveName: String) throws {
        guard let handle = archive_read_new() else {
            throw DatasetError.unreadableArchive(archive: archiveName, reason: "libarchive could not allocate a reader")
        }
        self.handle = handle
        self.archiveName = archiveName
        guard archive_read_support_format_zip(handle) == ARCHIVE_OK else {
            throw DatasetError.unreadableArchive(archive: archiveName, reason: errorString())
        }
    }

    deinit { archive_read_free(handle) }

    /// The last libarchive error message for this handle.
    private func errorString() -> String {
        guard let message = archive_error_string(handle) else { return "unknown libarchive error" }
        return String(cString: message)
    }

    /// Opens the reader on an in-memory archive (`archive_read_open_memory`).
    func open(_ buffer: UnsafeRawBufferPointer) throws {
        guard let base = buffer.baseAddress, buffer.count > 0 else {
            throw DatasetError.unreadableArchive(archive: archiveName, reason: "file is empty")
        }
        guard archive_read_open_memory(handle, base, buffer.count) == ARCHIVE_OK else {
            throw DatasetError.unreadableArchive(archive: archiveName, reason: errorString())
        }
    }

    /// Reads the next entry header (`archive_read_next_header`); `nil` at the end of the archive.
    func nextEntry() throws -> _ArchiveEntryHeader? {
        var entry: OpaquePointer?
        let status = archive_read_next_header(handle, &entry)
        if status == ARCHIVE_EOF { return nil }
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
            throw DatasetError.corruptArchive(archive: archiveName, entry: currentEntry, reason: errorString())
        }
        let pathPointer = archive_entry_pathname_utf8(entry) ?? archive_entry_pathname(entry)
        guard let pathPointer else {
            throw DatasetError.corruptArchive(archive: archiveName, entry: currentEntry,
                                              reason: "entry without a readable path name")
        }
        let path = String(cString: pathPointer)
        currentEntry = path
        let type = UInt32(archive_entry_filetype(entry))
        return _ArchiveEntryHeader(path: path,
                                   isDirectory: type == Self.directoryType || path.hasSuffix("/"),
                                   isRegularFile: type == Self.regularFileType)
    }

    /// Reads the current entry's data (`archive_read_data`) and appends it to `bytes`.
    func readData(of path: String, appendingTo bytes: inout [UInt8], scratch: inout [UInt8]) throws {
        while true {
            let count = scratch.withUnsafeMutableBytes { archive_read_data(handle, $0.baseAddress, $0.count) }
            if count == 0 { return }
            guard count > 0 else {
                throw DatasetError.corruptArchive(archive: archiveName, entry: path, reason: errorString())
            }
            bytes.append(contentsOf: scratch[0..<count])
        }
    }
}
