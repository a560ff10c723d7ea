import Engine

/// The weights that mix operations on each edge and input candidates at each node, for one
/// forward pass: per cell kind, `ops[kind]` is `[edges, operations]` and `inputs[kind][node]`
/// has one weight per input candidate of that node.
public struct MixingWeights {
    public var ops: [Variable]
    public var inputs: [[Variable]]
    /// Thresholds that decide what is executed.
    public var settings: ArchitectureSettings

    public init(ops: [Variable], inputs: [[Variable]], settings: ArchitectureSettings) {
        (self.ops, self.inputs, self.settings) = (ops, inputs, settings)
    }

    /// What these weights execute.
    public func plan(_ config: SearchSpaceConfig) -> ExecutionPlan {
        ExecutionPlan(config: config, opWeights: ops.map(\.value), inputWeights: inputs.map { $0.map(\.value) },
                      settings: settings)
    }
}
