import Engine
import Foundation
import JSON
import NN
import SearchSpace
import Testing
@testable import Catalog

/// `line:column` of the `occurrence`-th appearance of `marker` in `text` (1-based, columns in
/// characters), found by plain text search: the expected places do not come from the JSON code.
func place(of marker: String, in text: String, occurrence: Int = 1) -> String {
    var rest = text[...], seen = 0
    while let r = rest.range(of: marker) {
        seen += 1
        if seen == occurrence {
            let before = text[..<r.lowerBound]
            let line = before.filter { $0 == "\n" }.count + 1
            let column = before.count - (before.lastIndex(of: "\n").map { before.distance(from: before.startIndex, to: $0) + 1 } ?? 0) + 1
            return "\(line):\(column)"
        }
        rest = text[r.upperBound...]
    }
    Issue.record("marker \(marker) not found \(occurrence) times")
    return "?"
}

/// Every problem `metanas catalog validate` reports, one per catalog, each at its exact place.
@Suite struct ValidationTests {
    /// Validates `text` (layered over the default catalog) and expects exactly `expected`,
    /// given as (marker, message) with the marker's place computed from the text.
    func expect(_ text: String, _ expected: [(marker: String, occurrence: Int, message: String)],
                sourceLocation: SourceLocation = #_sourceLocation) throws {
        let folder = try Fixtures.folder("validate")
        let path = try Fixtures.write(text, to: "test.json", in: folder)
        let catalog = Catalog.load(layering: [path])
        let lines = CatalogValidator(registry: PluginRegistry(catalog: catalog)).problems().map(\.description)
        let wanted = expected.map { "\(path):\(place(of: $0.marker, in: text, occurrence: $0.occurrence)): error: \($0.message)" }
        #expect(lines == wanted, sourceLocation: sourceLocation)
    }

    func expect(_ text: String, at marker: String, occurrence: Int = 1, _ message: String,
                sourceLocation: SourceLocation = #_sourceLocation) throws {
        try expect(text, [(marker, occurrence, message)], sourceLocation: sourceLocation)
    }

    /// A catalog holding one plugin entry (text of an object).
    func plugin(_ entry: String) -> String { Fixtures.catalog(plugins: "[\n    \(entry)\n  ]") }

    /// A catalog holding one pipeline; `members` replace or add to a valid small pipeline.
    func pipeline(_ members: String, operations: String = #"["skip_connect", "conv_3x3"]"#) -> String {
        Fixtures.catalog(pipelines: """
            [
                {
                  "name": "p",
                  "preset": "tiny",
                  "dataset": "synthetic",
                  "searchSpace": {"operations": \(operations)},
                  \(members)
                }
              ]
            """)
    }

    // MARK: JSON

    @Test func syntaxErrorsHaveLineAndColumn() throws {
        let text = "{\n  \"format\": \"metanas.catalog/1\",\n  \"plugins\": [1,, 2]\n}\n"
        try expect(text, at: ", 2]", "unexpected ',' [json-c: unexpected character]")
    }

    @Test func aTruncatedFileEndsAtItsLastCharacter() throws {
        let text = "{\n  \"format\": \"metanas.catalog/1\",\n  \"plugins\": ["
        let lines = try Fixtures.problems(text)
        #expect(lines.count == 1)
        #expect(lines.first?.contains(":3:15: error: unexpected end of input") == true, "\(lines)")
    }

    @Test func invalidUTF8IsPlaced() throws {
        var bytes = Array("{\n  \"format\": \"metanas.catalog/1\",\n  \"summary\": \"caf".utf8)
        bytes += [0xC3, 0x28]
        bytes += Array("\"\n}\n".utf8)
        let folder = try Fixtures.folder()
        let path = folder + "/bad.json"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let lines = Catalog.load(layering: [path]).problems.map(\.description)
        #expect(lines == ["\(path):3:18: error: invalid UTF-8 (byte 0xC3 at offset 52)"])
    }

    @Test func theRootMustBeACatalogObjectOfTheRightFormat() throws {
        try expect("[1, 2]\n", at: "[", "expected a catalog (an object), found an array")
        let text = "{\n  \"format\": \"metanas.catalog/2\"\n}\n"
        try expect(text, at: "\"metanas.catalog/2\"", "format: unsupported format 'metanas.catalog/2' (expected 'metanas.catalog/1')")
    }

    @Test func unknownKeysArePlacedAtTheKey() throws {
        let text = plugin(#"{"kind": "operation", "name": "conv_3x3", "summary": "s", "source": "built-in", "sumary": "typo"}"#)
        try expect(text, at: "\"sumary\"", "plugins[0].sumary: unknown key in a plugin (expected one of: kind, name, summary, source, parameters)")
    }

    // MARK: Plugins

    @Test func unknownKinds() throws {
        let text = plugin(#"{"kind": "optimizer", "name": "adam", "summary": "s", "source": "built-in"}"#)
        try expect(text, at: "\"optimizer\"", "plugins[0].kind: unknown kind 'optimizer' (expected one of: operation, task-learner, meta-learner, pruner, dataset)")
    }

    @Test func unknownBuiltInNames() throws {
        let text = plugin(#"{"kind": "meta-learner", "name": "reptil", "summary": "s", "source": "built-in"}"#)
        try expect(text, at: "\"reptil\"", "plugins[0].name: unknown built-in meta-learner 'reptil' (built in: reptile, fomaml; "
                   + "a plugin of your own needs \"source\": {\"library\": \"...\"})")
    }

    @Test func missingKeys() throws {
        let text = plugin(#"{"kind": "operation", "name": "conv_3x3", "source": "built-in"}"#)
        try expect(text, at: "{\"kind\"", "plugins[0]: missing key 'summary'")
    }

    @Test func invalidNames() throws {
        let text = plugin(#"{"kind": "operation", "name": "conv 3x3", "summary": "s", "source": "built-in"}"#)
        try expect(text, at: "\"conv 3x3\"", "plugins[0].name: invalid name 'conv 3x3' (use 1 to 64 letters, digits, '_' or '-')")
    }

    @Test func missingParametersOfABuiltIn() throws {
        let text = plugin("""
            {"kind": "meta-learner", "name": "reptile", "summary": "s", "source": "built-in",
                 "parameters": {"weightStep": {"type": "float", "default": 1.0, "setting": "metaWeightStep"}}}
            """)
        let lines = try Fixtures.problems(text)
        #expect(lines.count == 2)
        lines.expectLine("", containing: "test.json:\(place(of: "{\"weightStep\"", in: text)): error: plugins[0].parameters: missing parameter: "
                         + "meta-learner 'reptile' reads the setting 'metaArchitectureStep' but declares no parameter bound to it")
        // The replaced entry no longer has the parameter the default catalog's reference pipeline sets.
        let defaultText = try Fixtures.packageFile("catalog.json")
        lines.expectLine("catalog.json (built in):\(place(of: "\"architectureStep\": 0.6", in: defaultText)): error:",
                         containing: "pipelines[0].metaLearner.parameters.architectureStep: meta-learner 'reptile' has no parameter 'architectureStep'")
    }

    @Test func outOfRangeDefaults() throws {
        let text = plugin("""
            {"kind": "pruner", "name": "hard", "summary": "s", "source": "built-in",
                 "parameters": {"retrainSteps": {"type": "int", "default": 20000, "range": "[0, 10000]", "setting": "hardRetrainSteps"}}}
            """)
        try expect(text, at: "20000", "plugins[0].parameters.retrainSteps.default: default 20000 is out of range [0, 10000]")
        let open = plugin("""
            {"kind": "pruner", "name": "soft", "summary": "s", "source": "built-in",
                 "parameters": {"trainingThreshold": {"type": "float", "default": 1, "range": "[0, 1)", "setting": "trainingThreshold"},
                                "testThreshold": {"type": "float", "default": 0.05, "range": "[0, 1)", "setting": "testThreshold"}}}
            """)
        try expect(open, at: "1, \"range\"", "plugins[0].parameters.trainingThreshold.default: default 1 is out of range [0, 1)")
    }

    @Test func wrongTypes() throws {
        let text = plugin("""
            {"kind": "pruner", "name": "hard", "summary": "s", "source": "built-in",
                 "parameters": {"retrainSteps": {"type": "int", "default": 2.5, "setting": "hardRetrainSteps"}}}
            """)
        try expect(text, at: "2.5", "plugins[0].parameters.retrainSteps.default: wrong type: the default of a int parameter must be an integer, found a number")
        let setting = plugin("""
            {"kind": "pruner", "name": "hard", "summary": "s", "source": "built-in",
                 "parameters": {"retrainSteps": {"type": "float", "default": 2.5, "setting": "hardRetrainSteps"}}}
            """)
        try expect(setting, at: "\"hardRetrainSteps\"",
                   "plugins[0].parameters.retrainSteps.setting: setting 'hardRetrainSteps' holds int values, but the parameter is float")
    }

    @Test func unknownTypesSettingsAndRanges() throws {
        let text = plugin("""
            {"kind": "task-learner", "name": "darts", "summary": "s", "source": "built-in",
                 "parameters": {"a": {"type": "double", "default": 1, "setting": "innerSteps"},
                                "b": {"type": "int", "default": 1, "setting": "innerStep"},
                                "c": {"type": "int", "default": 1, "range": "[2, 1]", "setting": "batchSize"},
                                "d": {"type": "string", "default": "x", "range": "[0, 1]", "setting": "dataFolder"},
                                "e": {"type": "string", "default": "x", "setting": "pruner"}}}
            """)
        try expect(text, [
            ("\"double\"", 1, "plugins[0].parameters.a.type: unknown type 'double' (expected one of: int, float, bool, string)"),
            ("\"innerStep\"", 1, "plugins[0].parameters.b.setting: 'innerStep' is not a RunConfig setting (see `metanas catalog settings`)"),
            ("\"[2, 1]\"", 1, "plugins[0].parameters.c.range: invalid range '[2, 1]' (write an interval such as \"[0, 10]\", \"[0, 1)\" or \"(0, inf)\")"),
            ("\"[0, 1]\"", 1, "plugins[0].parameters.d.range: a string parameter cannot have a range"),
            ("\"pruner\"", 1, "plugins[0].parameters.e.setting: 'pruner' chooses plugins; it cannot hold a parameter"),
        ])
    }

    @Test func operationsTakeNoParameters() throws {
        let text = plugin(#"{"kind": "operation", "name": "conv_3x3", "summary": "s", "source": "built-in", "parameters": {}}"#)
        try expect(text, at: "{}", "plugins[0].parameters: operations take no parameters: their shape (channels, stride) comes from the search space")
    }

    @Test func duplicateNames() throws {
        let text = Fixtures.catalog(plugins: """
            [
                {"kind": "operation", "name": "conv_3x3", "summary": "a", "source": "built-in"},
                {"kind": "operation", "name": "conv_3x3", "summary": "b", "source": "built-in"}
              ]
            """)
        try expect(text, at: "\"conv_3x3\"", occurrence: 2, "plugins[1].name: duplicate operation 'conv_3x3' (first defined at line \(place(of: "\"conv_3x3\"", in: text)))")
        let pipelines = Fixtures.catalog(pipelines: """
            [
                {"name": "same", "dataset": "synthetic", "searchSpace": {"operations": ["conv_3x3"]}, "taskLearner": "darts", "metaLearner": "reptile", "pruner": "soft", "preset": "tiny"},
                {"name": "same", "dataset": "synthetic", "searchSpace": {"operations": ["conv_3x3"]}, "taskLearner": "darts", "metaLearner": "reptile", "pruner": "soft", "preset": "tiny"}
              ]
            """)
        try expect(pipelines, at: "\"same\"", occurrence: 2, "pipelines[1].name: duplicate pipeline 'same' (first defined at line \(place(of: "\"same\"", in: pipelines)))")
    }

    // MARK: Pipelines

    @Test func pipelinesReferencingMissingPlugins() throws {
        let text = pipeline(#""taskLearner": "darts", "metaLearner": "reptilian", "pruner": "soft""#)
        try expect(text, at: "\"reptilian\"", "pipelines[0].metaLearner: unknown meta-learner 'reptilian' (registered: reptile, fomaml)")
        let wrongKind = pipeline(#""taskLearner": "darts", "metaLearner": "reptile", "pruner": "reptile""#)
        try expect(wrongKind, at: "\"reptile\"", occurrence: 2, "pipelines[0].pruner: 'reptile' is a meta-learner, not a pruner")
        let operation = pipeline(#""taskLearner": "darts", "metaLearner": "reptile", "pruner": "soft""#,
                                 operations: #"["skip_connect", "conv_9x9", "skip_connect"]"#)
        try expect(operation, [("\"conv_9x9\"", 1, "pipelines[0].searchSpace.operations[1]: unknown operation 'conv_9x9' (registered: max_pool_3x3, "
                                + "avg_pool_3x3, skip_connect, conv_1x5_5x1, conv_3x3, sep_conv_3x3, dil_conv_3x3, none)"),
                               ("\"skip_connect\"", 2, "pipelines[0].searchSpace.operations[2]: operation 'skip_connect' is listed twice")])
    }

    @Test func pipelineParameters() throws {
        let unknown = pipeline(#""taskLearner": "darts", "metaLearner": {"name": "reptile", "parameters": {"step": 1}}, "pruner": "soft""#)
        try expect(unknown, at: "\"step\"", "pipelines[0].metaLearner.parameters.step: meta-learner 'reptile' has no parameter 'step' (parameters: weightStep, architectureStep)")
        let range = pipeline(#""taskLearner": "darts", "metaLearner": "reptile", "pruner": {"name": "soft", "parameters": {"trainingThreshold": 1.0}}"#)
        try expect(range, at: "1.0", "pipelines[0].pruner.parameters.trainingThreshold: soft.trainingThreshold 1.0 is out of range [0, 1)")
        let type = pipeline(#""taskLearner": "darts", "metaLearner": "reptile", "pruner": {"name": "hard", "parameters": {"retrainSteps": "ten"}}"#)
        try expect(type, at: "\"ten\"", "pipelines[0].pruner.parameters.retrainSteps: wrong type: hard.retrainSteps expects an integer, found a string")
    }

    @Test func pipelineSettings() throws {
        let unknown = pipeline(#""taskLearner": "darts", "metaLearner": "reptile", "pruner": "soft", "settings": {"iteration": 3}"#)
        try expect(unknown, at: "\"iteration\"", "pipelines[0].settings.iteration: unknown setting 'iteration'")
        let type = pipeline(#""taskLearner": "darts", "metaLearner": "reptile", "pruner": "soft", "settings": {"iterations": "many"}"#)
        try expect(type, at: "\"many\"", "pipelines[0].settings.iterations: wrong type or value: iterations expects an integer, got a string")
        let chooser = pipeline(#""taskLearner": "darts", "metaLearner": "reptile", "pruner": "soft", "settings": {"pruner": "hard"}"#)
        try expect(chooser, at: "\"pruner\": \"hard\"", "pipelines[0].settings.pruner: plugins are chosen with the pipeline's 'pruner' member, not in settings")
    }

    @Test func searchSpaceKeysAndPresets() throws {
        let text = pipeline(#""taskLearner": "darts", "metaLearner": "reptile", "pruner": "soft""#,
                            operations: #"["conv_3x3"], "chanels": 8"#)
        try expect(text, at: "\"chanels\"", "pipelines[0].searchSpace.chanels: unknown search-space setting 'chanels'")
        let preset = pipeline(#""taskLearner": "darts", "metaLearner": "reptile", "pruner": "soft""#).replacingOccurrences(of: "\"tiny\"", with: "\"huge\"")
        try expect(preset, at: "\"huge\"", "pipelines[0].preset: unknown preset 'huge' (presets: omniglot-20way-1shot, small, tiny)")
    }

    @Test func aPipelineWhoseConfigurationDoesNotFit() throws {
        let text = pipeline(#""taskLearner": "darts", "metaLearner": "reptile", "pruner": "soft", "settings": {"testSteps": 5, "testArchitectureSteps": 50}"#)
        try expect(text, at: "\"p\"", "pipelines[0].name: pipeline 'p': config: testArchitectureSteps 50 exceeds testSteps 5")
    }

    // MARK: Operations

    @Test func theShapeContractCatchesBrokenOperations() {
        struct Shrinks: CandidateOperation {
            func callAsFunction(_ x: Engine.Variable, _ ctx: NN.ForwardContext) -> Engine.Variable { x.maxPool(size: 3, stride: 2) }
        }
        struct Dead: CandidateOperation {
            func callAsFunction(_ x: Engine.Variable, _ ctx: NN.ForwardContext) -> Engine.Variable { ctx.tape.constant(Tensor(shape: x.shape)) }
        }
        struct Exploding: CandidateOperation {
            let stride: Int
            func callAsFunction(_ x: Engine.Variable, _ ctx: NN.ForwardContext) -> Engine.Variable {
                x.avgPool(size: 3, stride: stride).scaled(by: .infinity)
            }
        }
        let shrinks = OperationDefinition(name: "shrinks", summary: "") { _, _, _ in Shrinks() }
        #expect(OperationContract.problems(of: shrinks) == ["operation 'shrinks' at stride 1: output shape [2, 4, 4, 4], expected [2, 4, 8, 8] for input [2, 4, 8, 8]"])
        let dead = OperationDefinition(name: "dead", summary: "") { s, _, _ in s.stride == 1 ? Dead() as any CandidateOperation : Shrinks() }
        #expect(OperationContract.problems(of: dead) == ["operation 'dead' at stride 1: no gradient reaches the input"])
        let exploding = OperationDefinition(name: "exploding", summary: "") { s, _, _ in Exploding(stride: s.stride) }
        #expect(OperationContract.problems(of: exploding) == ["operation 'exploding' at stride 1: the output holds NaN or infinity",
                                                              "operation 'exploding' at stride 2: the output holds NaN or infinity"])
        for name in OperationRegistry.builtIn.names {
            #expect(OperationContract.problems(of: OperationRegistry.builtIn.definition(name)!) == [])
        }
    }

    @Test func theContractChecksWhatBeforeNormHandsBack() {
        /// Pooling then a non-affine norm; `beforeNorm` hands back `mistake` instead when set.
        struct Pooled: CandidateOperation {
            enum Mistake { case none, wrongOutput, affineNorm }
            let norm: BatchNorm2D, affine: BatchNorm2D, mistake: Mistake, stride: Int
            func callAsFunction(_ x: Engine.Variable, _ ctx: NN.ForwardContext) -> Engine.Variable {
                norm(x.avgPool(size: 3, stride: stride), ctx)
            }
            func beforeNorm(_ x: Engine.Variable, _ ctx: NN.ForwardContext) -> (output: Engine.Variable, norm: BatchNorm2D)? {
                switch mistake {
                case .none: return (x.avgPool(size: 3, stride: stride), norm)
                case .wrongOutput: return (x.maxPool(size: 3, stride: stride), norm)
                case .affineNorm: return (x.avgPool(size: 3, stride: stride), affine)
                }
            }
        }
        func definition(_ mistake: Pooled.Mistake) -> OperationDefinition {
            OperationDefinition(name: "pooled", summary: "") { s, b, p in
                Pooled(norm: BatchNorm2D(p + ".bn", channels: s.channels, affine: false, builder: &b),
                       affine: BatchNorm2D(p + ".abn", channels: s.channels, affine: true, builder: &b), mistake: mistake,
                       stride: s.stride)
            }
        }
        #expect(OperationContract.problems(of: definition(.none)) == [])
        let wrong = OperationContract.problems(of: definition(.wrongOutput))
        #expect(wrong.count == 2 && wrong.allSatisfy { $0.contains("beforeNorm(_:_:) disagrees with the operation") })
        #expect(OperationContract.problems(of: definition(.affineNorm)) == [1, 2].map {
            "operation 'pooled' at stride \($0): beforeNorm(_:_:) returned an affine batch norm (only non-affine ones are fused)"
        })
    }

    @Test func contractProblemsArePlacedAtTheOperationsEntry() throws {
        let text = plugin(#"{"kind": "operation", "name": "shrinks", "summary": "s", "source": {"library": "none.so"}}"#)
        let folder = try Fixtures.folder()
        let path = try Fixtures.write(text, to: "ops.json", in: folder)
        var registry = PluginRegistry(catalog: Catalog.load(layering: [path]))
        let entry = try #require(registry.catalog.plugin(PluginID(.operation, "shrinks")))
        registry.add(OperationDefinition(name: "shrinks", summary: "", source: .plugin(path: "none.so")) { _, _, _ in ShrinkingOperation() },
                     entry: entry)
        let lines = CatalogValidator(registry: registry).contractProblems().map(\.description)
        #expect(lines == ["\(path):\(place(of: "\"shrinks\"", in: text)): error: plugins[0].name: operation 'shrinks' at stride 1: "
                          + "output shape [2, 4, 4, 4], expected [2, 4, 8, 8] for input [2, 4, 8, 8]"])
    }

    @Test func theDefaultCatalogHasNoProblems() {
        let registry = PluginRegistry(catalog: Catalog.load(layering: []))
        #expect(CatalogValidator(registry: registry).problems().map(\.description) == [])
    }
}

/// Halves its input at any stride (breaks the contract at stride 1).
struct ShrinkingOperation: CandidateOperation {
    func callAsFunction(_ x: Engine.Variable, _ ctx: NN.ForwardContext) -> Engine.Variable { x.maxPool(size: 3, stride: 2) }
}
