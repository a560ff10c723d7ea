#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a plugin library was not loaded; printed as-is after the catalog location.
public struct PluginLoadError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The library as the catalog or the command line names it.
    public var library: String
    public var message: String

    public init(library: String, message: String) { (self.library, self.message) = (library, message) }

    public var description: String { "library '\(library)': \(message)" }
}

/// Which dynamic libraries may be loaded.
///
/// A catalog is untrusted input, and loading a library runs its code. A library is loaded
/// only when its canonical path (symbolic links resolved) lies inside the folder of the
/// catalog that names it, or when the user named it on the command line (`--plugin PATH`).
/// The check is made on the opened file itself, so swapping a link after the check does not
/// get another file loaded.
public struct LibraryPolicy: Sendable {
    /// Canonical paths of the libraries the user named explicitly.
    public private(set) var explicitLibraries: [String] = []

    /// - Parameter explicitLibraries: paths given with `--plugin`; they are resolved now.
    public init(explicitLibraries: [String] = []) {
        self.explicitLibraries = explicitLibraries.map { FileSystem.realPath($0) ?? $0 }
    }

    /// The canonical path of a library named by a catalog, if it may be loaded.
    ///
    /// - Parameters:
    ///   - path: the path in the catalog; relative paths start at `catalogFolder`.
    ///   - catalogFolder: the canonical folder of the catalog file (empty for the built-in one).
    /// - Throws: ``PluginLoadError`` when the library does not exist or lies elsewhere.
    func resolve(_ path: String, catalogFolder: String) throws(PluginLoadError) -> String {
        guard !catalogFolder.isEmpty else {
            throw PluginLoadError(library: path, message: "the built-in catalog cannot name libraries")
        }
        let joined = FileSystem.join(catalogFolder, path)
        guard let real = FileSystem.realPath(joined) else {
            throw PluginLoadError(library: path, message: "no such file '\(joined)' (build the plugin first)")
        }
        try check(real, requested: path, catalogFolder: catalogFolder)
        return real
    }

    /// Refuses a canonical path outside the catalog's folder that was not named explicitly.
    func check(_ real: String, requested: String, catalogFolder: String?) throws(PluginLoadError) {
        if explicitLibraries.contains(real) { return }
        guard let catalogFolder, let folder = FileSystem.realPath(catalogFolder), FileSystem.isInside(real, folder: folder) else {
            let folderText = catalogFolder.map { "the catalog's folder '\($0)'" } ?? "the catalog's folder"
            throw PluginLoadError(library: requested, message: "resolves to '\(real)', outside \(folderText); "
                                  + "only libraries inside it, or named with --plugin PATH, are loaded")
        }
    }
}

/// An opened dynamic library. It is never closed: registered operations run its code.
struct DynamicLibrary: @unchecked Sendable {
    /// The canonical path of the file that was opened.
    let path: String
    private let handle: UnsafeMutableRawPointer

    /// Opens the regular file at the canonical path `real` with `dlopen(RTLD_NOW | RTLD_LOCAL)`.
    ///
    /// The file is opened first and the descriptor's own path re-checked with `accept`, then
    /// `dlopen` reads `/proc/self/fd/N`: what was checked is what is loaded. The descriptor
    /// stays open for the life of the process, like the library: the dynamic linker knows a
    /// library by the name it was opened with, and a reused `/proc/self/fd/N` would name
    /// another, already loaded, library. `RTLD_NOW` makes a library built against another
    /// metanas fail here with "undefined symbol", not later.
    ///
    /// - Throws: ``PluginLoadError`` with `dlerror()`'s message.
    static func load(_ real: String, requested: String,
                     accept: (String) throws(PluginLoadError) -> Void) throws(PluginLoadError) -> DynamicLibrary {
        func fail(_ m: String) -> PluginLoadError { PluginLoadError(library: requested, message: m) }
        let fd = open(real, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw fail("cannot open '\(real)': \(String(cString: strerror(errno)))") }
        var keepOpen = false
        defer { if !keepOpen { close(fd) } }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { throw fail("'\(real)' is not a regular file") }
        let procPath = "/proc/self/fd/\(fd)"
        guard let opened = FileSystem.realPath(procPath) else { throw fail("cannot examine '\(real)'") }
        try accept(opened)
        _ = dlerror()
        guard let handle = dlopen(procPath, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw fail("cannot load: \(reason.replacingOccurrences(of: procPath, with: opened))")
        }
        keepOpen = true
        return DynamicLibrary(path: opened, handle: handle)
    }

    /// The address of an exported symbol, or `nil`.
    func symbol(_ name: String) -> UnsafeMutableRawPointer? {
        dlsym(handle, name)
    }
}

private extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = "", rest = self[...]
        while let r = rest.firstRange(of: target) {
            result += rest[..<r.lowerBound] + replacement
            rest = rest[r.upperBound...]
        }
        return result + rest
    }
}
