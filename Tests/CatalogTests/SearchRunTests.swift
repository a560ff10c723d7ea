import Engine
import MetaLearning
import SearchSpace
import Testing
@testable import Catalog

/// Pipelines from a catalog run: a tiny search on synthetic data, and swapping plugins in the
/// catalog changes what runs.
@Suite struct SearchRunTests {
    /// The default catalog's `tiny` pipeline (Reptile, soft pruning), run once per process.
    static let baseline = Result { try TinySearch(PluginRegistry(catalog: Catalog.load(layering: [])), pipeline: "tiny") }

    /// The default catalog with its `tiny` pipeline replaced by one with another meta-learner
    /// or pruner (a user catalog layered over it).
    func swapped(metaLearner: String = "reptile", pruner: String = "soft") throws -> TinySearch {
        let operations = OperationRegistry.metaNASOperations.map { "\"\($0)\"" }.joined(separator: ", ")
        let text = Fixtures.catalog(pipelines: """
            [
                {"name": "tiny", "preset": "tiny", "dataset": "synthetic", "searchSpace": {"operations": [\(operations)]},
                 "taskLearner": "darts", "metaLearner": "\(metaLearner)", "pruner": "\(pruner)"}
              ]
            """)
        let path = try Fixtures.write(text, to: "swap.json", in: try Fixtures.folder("swap"))
        let registry = PluginRegistry(catalog: Catalog.load(layering: [path]))
        #expect(CatalogValidator(registry: registry).problems().map(\.description) == [])
        return try TinySearch(registry, pipeline: "tiny")
    }

    @Test func theTinyPipelineRunsASearch() throws {
        let run = try Self.baseline.get()
        #expect(run.config.searchSpace.operations == OperationRegistry.metaNASOperations)
        #expect(run.metrics.map(\.phase) == ["warmup", "search", "search"])
        #expect(run.metrics.allSatisfy { $0.metaLearner == "reptile" && $0.pruner == "soft" })
        #expect(run.metrics.allSatisfy { $0.queryLoss.isFinite && $0.trainLoss.isFinite })
        #expect(run.final.meta.weights != run.initial.meta.weights)
        #expect(run.final.meta.architecture != run.initial.meta.architecture)
    }

    @Test func swappingReptileForFOMAMLChangesTheRun() throws {
        let reptile = try Self.baseline.get()
        let fomaml = try swapped(metaLearner: "fomaml")
        #expect(fomaml.config.metaLearner == "fomaml")
        #expect(fomaml.metrics.map(\.metaLearner) == ["fomaml", "fomaml", "fomaml"])
        // Same tasks and start, different meta-updates.
        #expect(reptile.initial.meta == fomaml.initial.meta)
        #expect(reptile.final.meta.weights != fomaml.final.meta.weights)
    }

    @Test func swappingSoftForHardKeepsTheTemperatureAtOne() throws {
        let soft = try Self.baseline.get()
        let hard = try swapped(pruner: "hard")
        #expect(hard.config.pruner == "hard")
        #expect(hard.metrics.map(\.pruner) == ["hard", "hard", "hard"])
        // The temperatures the tasks ran at: soft anneals to endTemperature, hard stays at 1.
        let softT = try soft.adaptationTemperatures()
        let hardT = try hard.adaptationTemperatures()
        #expect(softT.first == 1 && abs((softT.last ?? 0) - soft.config.endTemperature) < 1e-6)
        #expect(!hardT.isEmpty && hardT.allSatisfy { $0 == 1 })
        #expect(soft.final.meta.architecture != hard.final.meta.architecture)
    }
}
