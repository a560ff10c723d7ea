#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The file-system calls the catalog needs, each wrapped once (no C types leave this file).
enum FileSystem {
    /// The canonical absolute path (`realpath(3)`: symbolic links, `.` and `..` resolved), or
    /// `nil` when the path does not exist.
    static func realPath(_ path: String) -> String? {
        guard !path.isEmpty, !path.utf8.contains(0), let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The folder part of a path (`.` for a bare file name).
    static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let f = String(path[..<slash])
        return f.isEmpty ? "/" : f
    }

    /// `relative` joined to `folder`; absolute paths stay as they are.
    static func join(_ folder: String, _ relative: String) -> String {
        if relative.hasPrefix("/") { return relative }
        return folder.hasSuffix("/") ? folder + relative : folder + "/" + relative
    }

    /// Whether `path` lies strictly inside the folder `folder` (both canonical).
    static func isInside(_ path: String, folder: String) -> Bool {
        let prefix = folder.hasSuffix("/") ? folder : folder + "/"
        return path.hasPrefix(prefix) && path.count > prefix.count
    }

    /// The size of a regular file, or `nil` when it cannot be examined.
    static func size(of path: String) -> Int? {
        var info = stat()
        guard !path.utf8.contains(0), stat(path, &info) == 0 else { return nil }
        return Int(info.st_size)
    }

    /// The current folder.
    static var currentFolder: String {
        guard let cwd = getcwd(nil, 0) else { return "." }
        defer { free(cwd) }
        return String(cString: cwd)
    }

    /// `path` made absolute against the current folder and canonical when it exists.
    static func absolute(_ path: String) -> String {
        realPath(path) ?? join(currentFolder, path)
    }
}
