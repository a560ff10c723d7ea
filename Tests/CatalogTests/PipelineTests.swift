import JSON
import MetaLearning
import Testing
@testable import Catalog

/// Pipelines become run configurations: presets mirrored, parameters mapped onto settings,
/// overrides applied and checked, catalogs layered.
@Suite struct PipelineTests {
    let resolver = PipelineResolver(catalog: Catalog.load(layering: []))

    func set(_ text: String) throws -> [ConfigOverride] { try ConfigOverride.parseAssignments(text) }

    /// A catalog layered from the default one and `text`.
    func layered(_ text: String) throws -> Catalog {
        let folder = try Fixtures.folder("layer")
        return Catalog.load(layering: [try Fixtures.write(text, to: "mine.json", in: folder)])
    }

    @Test(arguments: [("small", "small", "datasets/synthetic"), ("omniglot-20way-1shot", "omniglot-20way-1shot", "datasets/omniglot"),
                      ("tiny", "tiny", "datasets/synthetic")])
    func referencePipelinesMirrorTheirPresets(pipeline: String, preset: String, dataFolder: String) throws {
        var expected = try #require(RunConfig.preset(preset))
        expected.dataFolder = dataFolder  // the dataset plugin's default, as `--preset` without `--data` picks
        let config = try resolver.config(forPipeline: pipeline)
        #expect(config.json == expected.json)
    }

    @Test func theDARTSBaselineDiffersOnlyInItsPruner() throws {
        var expected = try #require(RunConfig.preset("small"))
        expected.dataFolder = "datasets/synthetic"
        expected.pruner = "hard"
        #expect(try resolver.config(forPipeline: "small-darts-baseline").json == expected.json)
    }

    @Test func pluginParametersMapOntoTheirSettings() throws {
        let config = try resolver.config(forPipeline: "small", overrides: set("reptile.weightStep=0.5, reptile.architectureStep=0.25,"
                                                                              + "soft.testThreshold=0.1,darts.innerSteps=3,synthetic.dataFolder=/data"))
        #expect(config.metaWeightStep == 0.5)
        #expect(config.metaArchitectureStep == 0.25)
        #expect(config.testThreshold == 0.1)
        #expect(config.innerSteps == 3)
        #expect(config.dataFolder == "/data")
    }

    @Test func runConfigKeysStillWork() throws {
        let config = try resolver.config(forPipeline: "small", overrides: set("iterations=7,searchSpace.channels=6,seed=3"))
        #expect((config.iterations, config.searchSpace.channels, config.seed) == (7, 6, 3))
        let json = try resolver.config(forPipeline: "small", overrides: [ConfigOverride(key: "ways", value: .json(4), origin: "--config c.json")])
        #expect((json.ways, json.searchSpace.ways) == (4, 4))
    }

    @Test func overridesAreCheckedAgainstTheCatalog() throws {
        #expect(throws: PipelineError("--set: reptile.weightStep 11.0 is out of range [0, 10]")) {
            try resolver.config(forPipeline: "small", overrides: set("reptile.weightStep=11"))
        }
        #expect(throws: PipelineError("--set: soft.trainingThreshold 1.0 is out of range [0, 1)")) {
            try resolver.config(forPipeline: "small", overrides: set("soft.trainingThreshold=1"))
        }
        #expect(throws: PipelineError("--set: hard.retrainSteps expects an integer, got 'ten'")) {
            try resolver.config(forPipeline: "small-darts-baseline", overrides: set("hard.retrainSteps=ten"))
        }
        #expect(throws: PipelineError("--set: meta-learner 'reptile' has no parameter 'step' (parameters: weightStep, architectureStep)")) {
            try resolver.config(forPipeline: "small", overrides: set("reptile.step=1"))
        }
        #expect(throws: PipelineError("--set: hard.retrainSteps: 'hard' is not part of this run (its pruner is 'soft'); its parameters would have no effect")) {
            try resolver.config(forPipeline: "small", overrides: set("hard.retrainSteps=3"))
        }
        #expect(throws: PipelineError("--set: 'iteration' is neither a setting nor a plugin parameter (plugin.parameter, e.g. reptile.weightStep)")) {
            try resolver.config(forPipeline: "small", overrides: set("iteration=3"))
        }
        // A RunConfig key bound to a parameter is range-checked too.
        #expect(throws: PipelineError("pipeline 'small': reptile.weightStep (setting metaWeightStep) 12.0 is out of range [0, 10]")) {
            try resolver.config(forPipeline: "small", overrides: set("metaWeightStep=12"))
        }
        #expect(throws: PipelineError("unknown pipeline 'large' (pipelines: omniglot-20way-1shot, small, small-darts-baseline, tiny)")) {
            try resolver.config(forPipeline: "large")
        }
    }

    @Test func choosingAnotherPluginAppliesItsDefaultsAndParameters() throws {
        let catalog = try layered(Fixtures.catalog(plugins: """
            [
                {"kind": "meta-learner", "name": "fomaml", "summary": "smaller steps", "source": "built-in", "parameters": {
                  "weightStep": {"type": "float", "default": 0.01, "range": "[0, 1]", "setting": "metaWeightStep"},
                  "architectureStep": {"type": "float", "default": 0.02, "range": "[0, 1]", "setting": "metaArchitectureStep"}}}
              ]
            """))
        let resolver = PipelineResolver(catalog: catalog)
        let config = try resolver.config(forPipeline: "small", overrides: set("metaLearner=fomaml,fomaml.architectureStep=0.5"))
        #expect(config.metaLearner == "fomaml")
        #expect(config.metaWeightStep == 0.01)
        #expect(config.metaArchitectureStep == 0.5)
        // The pipeline's own reptile parameters no longer apply; fomaml's range does.
        #expect(throws: PipelineError("--set: fomaml.weightStep 2.0 is out of range [0, 1]")) {
            try resolver.config(forPipeline: "small", overrides: set("metaLearner=fomaml,fomaml.weightStep=2"))
        }
    }

    @Test func aLayeredCatalogReplacesAndAdds() throws {
        let catalog = try layered(Fixtures.catalog(plugins: """
            [
                {"kind": "task-learner", "name": "darts", "summary": "bigger batches", "source": "built-in", "parameters": {
                  "batchSize": {"type": "int", "default": 30, "range": "[2, 100]", "setting": "batchSize"}}}
              ]
            """, pipelines: """
            [
                {"name": "small", "preset": "small", "dataset": "synthetic", "searchSpace": {"operations": ["conv_3x3", "skip_connect"]},
                 "taskLearner": "darts", "metaLearner": "fomaml", "pruner": "hard"},
                {"name": "bare", "dataset": "omniglot", "searchSpace": {"operations": ["conv_3x3"]},
                 "taskLearner": "darts", "metaLearner": "reptile", "pruner": "soft", "settings": {"iterations": 9}}
              ]
            """))
        #expect(catalog.pipelines.map(\.name) == ["omniglot-20way-1shot", "small", "small-darts-baseline", "tiny", "bare"])
        #expect(catalog.plugin(PluginID(.taskLearner, "darts"))?.summary == "bigger batches")
        #expect(catalog.plugins.count == Catalog.load(layering: []).plugins.count)
        let resolver = PipelineResolver(catalog: catalog)
        let small = try resolver.config(forPipeline: "small")
        #expect((small.metaLearner, small.pruner, small.searchSpace.operations) == ("fomaml", "hard", ["conv_3x3", "skip_connect"]))
        // The preset's own change (batchSize 10) wins over the plugin default (30) ...
        #expect(small.batchSize == 10)
        // ... which applies where no preset sets it.
        let bare = try resolver.config(forPipeline: "bare")
        #expect((bare.batchSize, bare.iterations, bare.dataset, bare.dataFolder) == (30, 9, .omniglot, "datasets/omniglot"))
        #expect(throws: PipelineError("--set: darts.batchSize 200 is out of range [2, 100]")) {
            try resolver.config(forPipeline: "bare", overrides: set("darts.batchSize=200"))
        }
    }

    @Test func assignmentsParse() throws {
        let list = try set(" a=1, b.c = x ,,d=")
        #expect(list.map(\.key) == ["a", "b.c", "d"])
        #expect(throws: PipelineError("--set: expected KEY=VALUE, got 'oops'")) { try set("a=1,oops") }
    }

    @Test func rangesParseAsIntervals() {
        #expect(ParameterRange(parsing: "[0, 10]") == ParameterRange(lower: 0, upper: 10))
        #expect(ParameterRange(parsing: "(0,inf)") == ParameterRange(lower: 0, upper: .infinity, includesLower: false, includesUpper: false))
        #expect(ParameterRange(parsing: "[0, 1)")?.contains(1) == false)
        #expect(ParameterRange(parsing: "[0, 1)")?.contains(0) == true)
        #expect(ParameterRange(parsing: "(0, 1]")?.contains(0) == false)
        #expect(ParameterRange(parsing: "[0, 1)")?.description == "[0, 1)")
        for bad in ["", "[0 10]", "[1, 0]", "[0, inf]", "(nan, 1)", "[0, 1", "0, 1", "[1, 1)", "[0x10, 20]", "[,]"] {
            #expect(ParameterRange(parsing: bad) == nil, "\(bad)")
        }
    }
}
