import CArchive
import Foundation

/// One entry to put into a zip archive: a folder (`data == nil`) or a regular file.
struct ZipEntry: Sendable {
    /// The path inside the archive; folders without a trailing slash.
    var path: String
    /// The file's bytes, or `nil` for a folder.
    var data: [UInt8]?

    static func folder(_ path: String) -> ZipEntry { ZipEntry(path: path, data: nil) }
    static func file(_ path: String, _ data: [UInt8]) -> ZipEntry { ZipEntry(path: path, data: data) }
}

/// Writes zip archives with libarchive, deterministically and atomically.
///
/// Entries are stored uncompressed (PNGs are already deflated; Omniglot's own zips store them
/// too), with one fixed modification time, owner 0 and fixed permissions, so the same entries
/// always give a byte-identical archive.
enum ZipWriter {
    /// The modification time written for every entry: 2015-10-20 18:47:00 UTC, the date the
    /// Omniglot archives carry.
    static let fixedModificationTime = 1_445_366_820

    /// Writes `entries` in the given order as a zip archive at `url`, atomically.
    ///
    /// - Parameters:
    ///   - entries: Folders and files, in archive order.
    ///   - url: The destination; its folder must exist.
    /// - Throws: ``DatasetError/writeFailed(path:reason:)``.
    static func write(_ entries: [ZipEntry], to url: URL) throws {
        try FileIO.writeAtomically(to: url) { temporary in
            let writer = try _LibArchiveZipWriter(path: temporary.path, reportedPath: url.path)
            for entry in entries { try writer.add(entry) }
            try writer.close()
        }
    }
}

/// A libarchive zip write handle; every C call it makes is one method that throws on failure.
final class _LibArchiveZipWriter {
    private let handle: OpaquePointer
    private let reportedPath: String
    private var closed = false

    init(path: String, reportedPath: String) throws {
        guard let handle = archive_write_new() else {
            throw DatasetError.writeFailed(path: reportedPath, reason: "libarchive could not allocate a writer")
        }
        self.handle = handle
        self.reportedPath = reportedPath
        try check(archive_write_set_format_zip(handle))
        try check(archive_write_zip_set_compression_store(handle))
        try check(archive_write_open_filename(handle, path))
    }

    deinit { archive_write_free(handle) }

    /// Turns a libarchive status into a thrown error (anything but `ARCHIVE_OK`).
    private func check(_ status: Int32) throws {
        guard status == ARCHIVE_OK else {
            let reason = archive_error_string(handle).map { String(cString: $0) } ?? "libarchive status \(status)"
            throw DatasetError.writeFailed(path: reportedPath, reason: reason)
        }
    }

    /// Adds one folder or file (`archive_write_header` + `archive_write_data`).
    func add(_ entry: ZipEntry) throws {
        guard let header = archive_entry_new() else {
            throw DatasetError.writeFailed(path: reportedPath, reason: "libarchive could not allocate an entry")
        }
        defer { archive_entry_free(header) }
        let isFolder = entry.data == nil
        archive_entry_set_pathname_utf8(header, isFolder ? entry.path + "/" : entry.path)
        archive_entry_set_filetype(header, isFolder ? _LibArchiveReader.directoryType : _LibArchiveReader.regularFileType)
        archive_entry_set_perm(header, isFolder ? 0o755 : 0o644)
        archive_entry_set_mtime(header, ZipWriter.fixedModificationTime, 0)
        archive_entry_set_uid(header, 0)
        archive_entry_set_gid(header, 0)
        archive_entry_set_size(header, Int64(entry.data?.count ?? 0))
        try check(archive_write_header(handle, header))
        if let data = entry.data, !data.isEmpty {
            let written = data.withUnsafeBytes { archive_write_data(handle, $0.baseAddress, $0.count) }
            guard written == data.count else {
                try check(written < 0 ? Int32(written) : ARCHIVE_FATAL)
                return
            }
        }
        try check(archive_write_finish_entry(handle))
    }

    /// Finishes the archive (`archive_write_close`): writes the central directory.
    func close() throws {
        guard !closed else { return }
        closed = true
        try check(archive_write_close(handle))
    }
}
