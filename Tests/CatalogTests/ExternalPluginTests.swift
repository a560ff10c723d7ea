import Foundation
import JSON
import SearchSpace
import Testing
@testable import Catalog

/// The example operation plugin: built by its script, loaded through its catalog entry,
/// validated, listed and searched; and libraries that must be refused.
@Suite(.enabled(if: ExamplePlugin.canBuild, "needs swiftc and this build's Modules/ folder to build the example plugin"))
struct ExternalPluginTests {
    func registry() throws -> (PluginRegistry, String) {
        let folder = try ExamplePlugin.folder.get()
        let catalog = Catalog.load(layering: [folder + "/catalog.json"])
        return (PluginRegistry(catalog: catalog), folder)
    }

    @Test func exampleLoadsFromItsCatalogEntryAndPassesValidation() throws {
        let (registry, folder) = try registry()
        #expect(registry.problems.map(\.description) == [])
        #expect(CatalogValidator(registry: registry).problems().map(\.description) == [])
        let definition = try #require(registry.components.operations.definition("gated_conv_3x3"))
        #expect(definition.source == .plugin(path: folder + "/.build/libGatedConv.so"))
        #expect(OperationContract.problems(of: definition) == [])
    }

    @Test func exampleAppearsInPluginsList() throws {
        let (registry, folder) = try registry()
        let row = try #require(PluginListing.rows(registry).first { $0.name == "gated_conv_3x3" })
        #expect(row == PluginListing.Row(kind: "operation", name: "gated_conv_3x3", source: "plugin \(folder)/.build/libGatedConv.so",
                                         summary: "ReLU, 3x3 convolution, batch norm, learned per-channel gate in (0, 1)"))
        let text = PluginListing.text(registry)
        #expect(text.contains("gated_conv_3x3"))
        #expect(text.contains("small-gated"))
    }

    @Test func exampleTakesPartInASearchAndItsAlphaMoves() throws {
        let (registry, _) = try registry()
        let run = try TinySearch(registry, pipeline: "tiny-gated")
        #expect(run.config.searchSpace.operations == ["skip_connect", "conv_3x3", "gated_conv_3x3"])
        #expect(run.metrics.count == 3)
        #expect(run.metrics.allSatisfy { $0.queryLoss.isFinite })
        let (before, after) = try run.alphas(of: "gated_conv_3x3")
        #expect(before.count == after.count && !before.isEmpty)
        #expect(zip(before, after).contains { $0 != $1 }, "the plugin operation's alpha did not change")
        // Its parameters are part of the network the meta-learner updates.
        let gates = run.network.weights.names.filter { $0.hasSuffix(".gate") }
        #expect(!gates.isEmpty)
    }

    @Test func aLibraryNamedWithPluginIsLoadedWithoutACatalogEntry() throws {
        let folder = try ExamplePlugin.folder.get()
        let library = folder + "/.build/libGatedConv.so"
        let registry = PluginRegistry(catalog: Catalog.load(layering: []), policy: LibraryPolicy(explicitLibraries: [library]))
        #expect(registry.problems.map(\.description) == [])
        let plugin = try #require(registry.plugin(PluginID(.operation, "gated_conv_3x3")))
        #expect(plugin.source == .plugin(path: library))
        #expect(plugin.entry == nil)
        #expect(plugin.summary == "ReLU, 3x3 convolution, batch norm, learned per-channel gate in (0, 1)")
    }

    @Test func anUndocumentedEntryNameIsReported() throws {
        let folder = try ExamplePlugin.folder.get()
        let text = Fixtures.catalog(plugins: """
            [
                {"kind": "operation", "name": "gated_conv_5x5", "summary": "s", "source": {"library": ".build/libGatedConv.so"}}
              ]
            """)
        let path = try Fixtures.write(text, to: "other.json", in: folder)
        let registry = PluginRegistry(catalog: Catalog.load(layering: [path]))
        let lines = registry.problems.map(\.description)
        lines.expectLine("\(path):4:35: error: plugins[0].name:", containing: "registers no operation 'gated_conv_5x5' (it registers: gated_conv_3x3)")
        lines.expectLine("\(path):4:91: error: plugins[0].source.library:", containing: "also registers operation 'gated_conv_3x3'")
    }
}

/// Libraries that are refused, with a message at the catalog entry; none of these needs Swift.
@Suite(.enabled(if: ExamplePlugin.swiftc != nil, "needs the toolchain's clang to compile test libraries"))
struct RefusedLibraryTests {
    static let entry = """
        {
          "format": "metanas.catalog/1",
          "plugins": [
            {"kind": "operation", "name": "evil_op", "summary": "s", "source": {"library": "LIB"}}
          ]
        }
        """
    /// The position of the library path in ``entry``.
    static let libraryPlace = "4:84"

    func problems(library: String, in folder: String, policy: LibraryPolicy = LibraryPolicy()) throws -> (String, [String]) {
        let path = try Fixtures.write(Self.entry.replacingOccurrences(of: "LIB", with: library), to: "catalog.json", in: folder)
        return (path, PluginRegistry(catalog: Catalog.load(layering: [path]), policy: policy).problems.map(\.description))
    }

    @Test func aWrongABIVersionIsRefusedBeforeRegistering() throws {
        let folder = try Fixtures.folder()
        _ = try ExamplePlugin.compileC("""
            #include <stdlib.h>
            unsigned metanas_plugin_abi_version(void) { return 999; }
            int metanas_plugin_register(void *registrar) { abort(); }
            """, named: "wrongabi", in: folder)
        let (path, lines) = try problems(library: "wrongabi.so", in: folder)
        #expect(lines == ["\(path):\(Self.libraryPlace): error: plugins[0].source.library: built for plugin ABI version 999, "
                          + "but this metanas loads version \(PluginABI.version); rebuild the plugin against this metanas"])
    }

    @Test func aLibraryWithoutEntryPointsIsRefused() throws {
        let folder = try Fixtures.folder()
        _ = try ExamplePlugin.compileC("int unrelated(void) { return 1; }", named: "plain", in: folder)
        let (path, lines) = try problems(library: "plain.so", in: folder)
        #expect(lines == ["\(path):\(Self.libraryPlace): error: plugins[0].source.library: not a metanas plugin: it does not export "
                          + "'metanas_plugin_abi_version'"])
    }

    @Test func aRegistrationThatFailsIsRefused() throws {
        let folder = try Fixtures.folder()
        _ = try ExamplePlugin.compileC("""
            unsigned metanas_plugin_abi_version(void) { return \(PluginABI.version); }
            int metanas_plugin_register(void *registrar) { return 3; }
            """, named: "failing", in: folder)
        let (path, lines) = try problems(library: "failing.so", in: folder)
        #expect(lines == ["\(path):\(Self.libraryPlace): error: plugins[0].source.library: registration failed (status 3)"])
    }

    @Test func aFileThatIsNotALibraryIsRefused() throws {
        let folder = try Fixtures.folder()
        try Fixtures.write("not an ELF file", to: "fake.so", in: folder)
        let (path, lines) = try problems(library: "fake.so", in: folder)
        lines.expectLine("\(path):\(Self.libraryPlace): error: plugins[0].source.library: cannot load:", containing: "fake.so")
    }

    @Test func aMissingLibraryIsReported() throws {
        let folder = try Fixtures.folder()
        let (path, lines) = try problems(library: "build/nothing.so", in: folder)
        #expect(lines == ["\(path):\(Self.libraryPlace): error: plugins[0].source.library: no such file '\(folder)/build/nothing.so' "
                          + "(build the plugin first)"])
    }

    @Test func aLibraryOutsideTheCatalogFolderIsRefused() throws {
        let outside = try Fixtures.folder("outside")
        let library = try ExamplePlugin.compileC("""
            #include <stdlib.h>
            unsigned metanas_plugin_abi_version(void) { abort(); }
            """, named: "elsewhere", in: outside)
        let folder = try Fixtures.folder("catalog")
        for requested in [library, "../" + URL(fileURLWithPath: outside).lastPathComponent + "/elsewhere.so"] {
            let (path, lines) = try problems(library: requested, in: folder)
            #expect(lines == ["\(path):\(Self.libraryPlace): error: plugins[0].source.library: resolves to '\(library)', "
                              + "outside the catalog's folder '\(folder)'; only libraries inside it, or named with --plugin PATH, are loaded"])
        }
    }

    @Test func aSymbolicLinkIsResolvedBeforeTheCheck() throws {
        let outside = try Fixtures.folder("outside")
        let library = try ExamplePlugin.compileC("""
            #include <stdlib.h>
            unsigned metanas_plugin_abi_version(void) { abort(); }
            """, named: "target", in: outside)
        let folder = try Fixtures.folder("catalog")
        try FileManager.default.createDirectory(atPath: folder + "/lib", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: folder + "/lib/inside.so", withDestinationPath: library)
        let (path, lines) = try problems(library: "lib/inside.so", in: folder)
        lines.expectLine("\(path):\(Self.libraryPlace): error:", containing: "resolves to '\(library)', outside the catalog's folder")
    }

    @Test func aLibraryNamedOnTheCommandLineMayLieOutside() throws {
        let outside = try Fixtures.folder("outside")
        let library = try ExamplePlugin.compileC("unsigned metanas_plugin_abi_version(void) { return 7; }", named: "explicit", in: outside)
        let folder = try Fixtures.folder("catalog")
        let (path, lines) = try problems(library: library, in: folder, policy: LibraryPolicy(explicitLibraries: [library]))
        // It is loaded (and then refused for its version, which shows the load was allowed).
        lines.expectLine("\(path):\(Self.libraryPlace): error:", containing: "built for plugin ABI version 7")
        lines.expectLine(library + ": error:", containing: "built for plugin ABI version 7")
    }

    @Test func onlyOperationsComeFromLibraries() throws {
        let lines = try Fixtures.problems("""
            {
              "format": "metanas.catalog/1",
              "plugins": [
                {"kind": "pruner", "name": "mine", "summary": "s", "source": {"library": "x.so"}}
              ]
            }
            """)
        lines.expectLine("", containing: ":4:66: error: plugins[0].source: only operations can come from a library")
    }
}
