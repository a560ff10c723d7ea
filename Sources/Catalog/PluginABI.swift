import NN
import SearchSpace

/// The contract between metanas and a plugin library.
///
/// A plugin is a shared library that exports two C symbols:
///
/// ```swift
/// @_cdecl("metanas_plugin_abi_version")          // () -> UInt32
/// public func abiVersion() -> UInt32 { PluginABI.version }
///
/// @_cdecl("metanas_plugin_register")             // (UnsafeMutableRawPointer) -> Int32
/// public func register(_ registrar: UnsafeMutableRawPointer) -> Int32 {
///     PluginRegistrar.from(registrar).registerOperation(name: "gated_conv_3x3", summary: "...") { shape, builder, prefix in
///         GatedConv(shape, builder: &builder, prefix: prefix)
///     }
///     return 0
/// }
/// ```
///
/// metanas opens the library, calls `metanas_plugin_abi_version` and refuses the library
/// unless it returns ``version``; only then it calls `metanas_plugin_register` with an opaque
/// pointer to a ``PluginRegistrar`` (valid during the call only). A non-zero return value or
/// a ``PluginRegistrar/fail(_:)`` call refuses the library.
///
/// The library is compiled against metanas' own module interfaces (`Catalog`, `SearchSpace`,
/// `NN`, `Engine`) without linking them: metanas exports those symbols (`--export-dynamic`)
/// and the dynamic linker binds the plugin to them, so both share one copy of every type.
/// Swift gives these modules no stable binary interface: rebuild a plugin whenever metanas
/// is rebuilt (`Plugins/ExampleOperation/build.sh` does it in seconds).
public enum PluginABI {
    /// The version of this contract. It changes whenever the entry points, the registrar's
    /// interface or the requirements of the protocols a plugin implements change (version 2:
    /// `CandidateOperation.beforeNorm`). Being inlined into the plugin, it records the version
    /// the plugin was compiled for.
    @_alwaysEmitIntoClient
    public static var version: UInt32 { 2 }

    /// `() -> UInt32`: the ABI version the library was built for.
    public static let versionSymbol = "metanas_plugin_abi_version"
    /// `(UnsafeMutableRawPointer) -> Int32`: registers the library's plugins; 0 on success.
    public static let registerSymbol = "metanas_plugin_register"

    typealias VersionFunction = @convention(c) () -> UInt32
    typealias RegisterFunction = @convention(c) (UnsafeMutableRawPointer) -> Int32
}

/// What a plugin library registers into during `metanas_plugin_register`.
///
/// The registrar stamps every definition with the library's path
/// (`OperationSource.plugin(path:)`) and checks names; metanas adds the definitions the
/// catalog documents to the registry it is building. The registrar is only valid during the
/// registration call.
public final class PluginRegistrar {
    /// The canonical path of the library being registered.
    public let libraryPath: String
    private(set) var operations: [OperationDefinition] = []
    private(set) var failures: [String] = []

    init(libraryPath: String) { self.libraryPath = libraryPath }

    /// The registrar behind the opaque pointer `metanas_plugin_register` receives.
    public static func from(_ pointer: UnsafeMutableRawPointer) -> PluginRegistrar {
        Unmanaged<PluginRegistrar>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// The pointer handed to the entry point.
    var opaquePointer: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    /// Registers a candidate operation.
    ///
    /// - Parameters:
    ///   - name: the name catalogs and search spaces use: 1-64 letters, digits, `_` or `-`.
    ///   - summary: one line for `metanas plugins list`.
    ///   - make: builds an instance for a channel count and stride, creating its parameters
    ///     through the builder under `prefix`. It must map `[N, C, H, W]` to
    ///     `[N, C, H/s, W/s]` (rounded up); `metanas catalog validate` checks it.
    public func registerOperation(
        name: String, summary: String,
        make: @escaping @Sendable (_ shape: OperationShape, _ builder: inout ParameterBuilder, _ prefix: String) -> any CandidateOperation
    ) {
        guard CatalogDecoder.isValidName(name) else {
            fail("invalid operation name '\(name)' (use 1 to 64 letters, digits, '_' or '-')")
            return
        }
        guard !operations.contains(where: { $0.name == name }) else {
            fail("operation '\(name)' is registered twice")
            return
        }
        operations.append(OperationDefinition(name: name, summary: summary, source: .plugin(path: libraryPath), make: make))
    }

    /// Refuses the library with a message (metanas prints it and registers nothing from it).
    public func fail(_ message: String) { failures.append(message) }
}
