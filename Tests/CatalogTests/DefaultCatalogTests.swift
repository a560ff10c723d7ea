import Foundation
import MetaLearning
import SearchSpace
import Testing
@testable import Catalog

/// The package's `catalog.json`, the copy metanas carries, and the documentation in Plugins/.
@Suite struct DefaultCatalogTests {
    @Test func theBuiltInCopyIsTheFile() throws {
        let file = try Fixtures.packageFile("catalog.json")
        #expect(file == DefaultCatalog.text, "catalog.json and Sources/Catalog/DefaultCatalog.swift differ: run Plugins/update-default-catalog.sh")
    }

    @Test func itDocumentsEveryBuiltInPlugin() {
        let catalog = Catalog.load(layering: [])
        for kind in PluginKind.allCases {
            for name in BuiltInPlugins.names(kind) {
                let entry = catalog.plugin(PluginID(kind, name))
                #expect(entry?.source == .builtIn, "\(kind) '\(name)' is not documented in catalog.json")
                #expect(entry?.summary.isEmpty == false)
            }
        }
        let registry = PluginRegistry(catalog: catalog)
        #expect(PluginListing.rows(registry).allSatisfy { !$0.summary.contains("not documented") })
    }

    @Test func theReferenceParametersAreDocumented() throws {
        let catalog = Catalog.load(layering: [])
        func parameter(_ kind: PluginKind, _ name: String, _ p: String) throws -> PluginParameter {
            try #require(catalog.plugin(PluginID(kind, name))?.parameter(p))
        }
        let weightStep = try parameter(.metaLearner, "reptile", "weightStep")
        #expect((weightStep.type, weightStep.defaultValue, weightStep.range, weightStep.setting)
                == (.float, 1.0, ParameterRange(lower: 0, upper: 10), "metaWeightStep"))
        #expect(try parameter(.metaLearner, "reptile", "architectureStep").defaultValue == 0.6)
        let training = try parameter(.pruner, "soft", "trainingThreshold")
        #expect((training.defaultValue, training.range?.description) == (0.01, "[0, 1)"))
        #expect(try parameter(.pruner, "soft", "testThreshold").defaultValue == 0.05)
        let retrain = try parameter(.pruner, "hard", "retrainSteps")
        #expect((retrain.type, retrain.defaultValue, retrain.range?.description, retrain.setting) == (.int, 10, "[0, 10000]", "hardRetrainSteps"))
        #expect(try parameter(.metaLearner, "fomaml", "weightStep").setting == "metaWeightStep")
        #expect(try parameter(.dataset, "omniglot", "dataFolder").defaultValue == "datasets/omniglot")
        #expect(try parameter(.dataset, "synthetic", "dataFolder").defaultValue == "datasets/synthetic")
        // The documented defaults are the code's defaults.
        let defaults = RunConfig().json
        for entry in catalog.plugins where entry.id.kind != .dataset {
            for p in entry.parameters {
                #expect(defaults[p.setting]?.doubleValue.map { Float($0) } == p.defaultValue.doubleValue.map { Float($0) },
                        "\(entry.id.name).\(p.name) documents \(p.defaultValue), RunConfig has \(defaults[p.setting] ?? nil)")
            }
        }
    }

    @Test func pluginsReadmeDocumentsEveryParameter() throws {
        let readme = try Fixtures.packageFile("Plugins/README.md")
        for entry in Catalog.load(layering: []).plugins {
            #expect(readme.contains("`\(entry.id.name)`"), "Plugins/README.md does not mention \(entry.id)")
            for p in entry.parameters {
                #expect(readme.contains("`\(entry.id.name).\(p.name)`"), "Plugins/README.md does not document \(entry.id.name).\(p.name)")
            }
        }
        #expect(readme.contains(PluginABI.versionSymbol) && readme.contains(PluginABI.registerSymbol))
    }

    @Test func theExampleCatalogNamesItsLibraryInsideItsFolder() throws {
        let file = Catalog.read(contentsOf: Fixtures.packageRoot.appendingPathComponent("Plugins/ExampleOperation/catalog.json").path)
        #expect(file.problems.map(\.description) == [])
        #expect(file.plugins.map(\.source) == [.library(path: ".build/libGatedConv.so")])
        #expect(file.pipelines.map(\.name) == ["small-gated", "tiny-gated"])
    }
}
