import Engine
import Genotype
import JSON
import NN
import SearchSpace

extension SearchNetwork {
    /// Architecture values as an exportable ``ArchitectureState`` (`metanas.architecture/1`).
    ///
    /// Row `edgeIndex(node: i, input: j)` of the tensor `alpha.<kind>` becomes `alpha[i][j]`.
    /// In the pair form the tensor `beta.<kind>.node<i>` follows ``SearchSpaceConfig/inputCandidates(node:)``
    /// ((0,1), (0,2), (0,3), (1,2), ...), which is reordered into the schema's order
    /// ((0,1), (0,2), (1,2), (0,3), ...); the single-input form is written as `inputs`.
    /// Weights stay raw logits; the state records the temperature of `settings`, so readers
    /// compute the same mixing weights as the network:
    ///
    /// ```
    /// w = softmax(alpha[i][j] / T),  T = settings.temperature
    /// ```
    /// Ops whose weight is at or below a positive `settings.operationThreshold` are listed as
    /// pruned, and the genotype is the network's own derivation (``genotype(architecture:temperature:)``).
    ///
    /// - Parameters:
    ///   - architecture: values laid out as ``architecture`` (e.g. a meta-state's or a task's).
    ///   - settings: the temperature and threshold the values are read under.
    ///   - provenance: where the values came from.
    /// - Returns: the state, ready for `jsonText()`.
    public func architectureState(_ architecture: ParameterSet, settings: ArchitectureSettings,
                                  provenance: Provenance = Provenance()) -> ArchitectureState {
        let k = config.operations.count
        func weights(_ kind: SearchSpace.CellKind) -> CellWeights {
            let alpha = architecture[layout.alpha[kind.rawValue]].data
            let rows: [[[Double]]] = (0..<config.nodes).map { node in
                (0..<(node + 2)).map { input in
                    let e = config.edgeIndex(node: node, input: input)
                    return alpha[(e * k)..<((e + 1) * k)].map(Double.init)
                }
            }
            let beta: [[Double]] = (0..<config.nodes).map { node in
                let values = architecture[layout.beta[kind.rawValue][node]].data.map(Double.init)
                guard config.nodeInputs == .pairs else { return values }
                let candidates = config.inputCandidates(node: node)
                return InputWeights.pairs(ofNode: node).map { pair in
                    // Both orders enumerate every pair a < b of the node's inputs exactly once.
                    values[candidates.firstIndex(of: [pair.0, pair.1])!]
                }
            }
            return CellWeights(alpha: rows, beta: config.nodeInputs == .pairs ? .pairs(beta) : .inputs(beta))
        }
        let threshold = settings.operationThreshold > 0 ? shortestDouble(settings.operationThreshold) : nil
        var state = ArchitectureState(operations: config.operations, normal: weights(.normal), reduce: weights(.reduce),
                                      temperature: shortestDouble(settings.temperature), threshold: threshold,
                                      genotype: genotype(architecture: architecture), provenance: provenance)
        if let threshold {
            let pruned = state.prunedOps(threshold: threshold)
            state.normal.pruned = pruned[.normal] ?? []
            state.reduce.pruned = pruned[.reduce] ?? []
        }
        return state
    }
}

/// The `Double` that prints like `value` (a `Float` setting of 0.05 becomes 0.05, not
/// 0.05000000074505806), so exported files show the settings as the user typed them.
private func shortestDouble(_ value: Float) -> Double { Double(String(value)) ?? Double(value) }

extension MetaTrainer {
    /// The settings the meta-architecture is exported under: the temperature and thresholds
    /// with which the pruner scores a task at the end of a search-phase meta-training task
    /// (soft pruning: `endTemperature` and `trainingThreshold`; hard pruning: T = 1, none).
    public var architectureExportSettings: ArchitectureSettings {
        let loop = config.trainingLoop(warmup: false)
        var settings = runner.pruner.settings(step: loop.steps, loop: loop, phase: .metaTraining)
        settings.temperature = loop.finalTemperature
        return settings
    }

    /// The meta-architecture of `state` as an architecture state, its iteration recorded as
    /// the provenance label `iteration`.
    ///
    /// - Parameter provenance: where the run came from (see ``RunFolder/provenance(config:split:)``).
    public func metaArchitecture(_ state: TrainingState, provenance: Provenance) -> ArchitectureState {
        var provenance = provenance
        provenance.labels["iteration"] = String(state.iteration)
        return runner.network.architectureState(state.meta.architecture, settings: architectureExportSettings,
                                                provenance: provenance)
    }
}

extension RunFolder {
    /// `<run>/architecture.json`: the latest meta-architecture (`metanas.architecture/1`).
    public var architecturePath: String { path + "/architecture.json" }
    /// `<run>/architecture.jsonl`: the meta-architecture at every checkpoint, one
    /// `metanas.architecture/1` document per line with the provenance label `iteration`.
    public var architectureHistoryPath: String { path + "/architecture.jsonl" }

    /// SHA-256 of `config.json` as it is on disk (what `sha256sum config.json` prints), or
    /// `nil` when the file cannot be read.
    public func configHash() -> String? {
        guard let text = try? JSON.readFile(configPath) else { return nil }
        return ContentHash.sha256(text)
    }

    /// Where this run's architectures come from: the config hash, the seed and the split.
    public func provenance(config: RunConfig, split: String) -> Provenance {
        Provenance(configHash: configHash(), seed: Int(truncatingIfNeeded: config.seed), split: split)
    }

    /// Replaces `architecture.json` with `state` and appends it to `architecture.jsonl`, both
    /// atomically.
    ///
    /// - Throws: `FileError` naming the file that could not be written.
    public func recordArchitecture(_ state: ArchitectureState) throws {
        try JSON.writeFileAtomically(state.jsonText(pretty: true), to: architecturePath)
        try append(state.json.serialized(pretty: false), to: architectureHistoryPath)
    }

    /// Keeps the lines of `architecture.jsonl` whose `iteration` label is at most `iteration`
    /// (used when resuming; lines without the label are kept).
    public func truncateArchitectureHistory(afterIteration iteration: Int) throws {
        // Architecture documents carry their iteration as a provenance label.
        try truncate(architectureHistoryPath, afterIteration: iteration) { value in
            value["provenance"]?["labels"]?["iteration"]?.stringValue.flatMap { Int($0) }
        }
    }
}
