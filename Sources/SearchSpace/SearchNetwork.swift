import Engine
import NN

/// The DARTS supernet of MetaNAS: a stem, a stack of normal and reduction cells whose edges mix
/// every candidate operation, global average pooling and a linear classifier.
///
/// The network is structure only. Its weights (``weights``), running statistics (``buffers``)
/// and architecture parameters (``architecture``) are separate values, so a meta-learner can
/// copy, average and restore each with its own rule.
public struct SearchNetwork: Sendable {
    public let config: SearchSpaceConfig
    let stem: Conv2D
    let stemNorm: BatchNorm2D
    let cells: [SearchCell]
    let classifier: Linear
    /// Where the architecture tensors sit in ``architecture``.
    public let layout: ArchitectureLayout
    /// Initial weights (PyTorch default initialisation, from the seed).
    public let weights: ParameterSet
    /// Initial batch-norm running statistics.
    public let buffers: BufferSet
    /// Initial architecture parameters, `1e-3 * N(0, 1)`.
    public let architecture: ParameterSet

    /// Builds the network and draws its initial parameters.
    ///
    /// - Parameters:
    ///   - config: the shape of the network; validated first.
    ///   - registry: where operation names are looked up.
    ///   - generator: seeds weights, then architecture parameters.
    /// - Throws: ``SearchSpaceError`` when the configuration does not fit or names an unknown operation.
    public init(_ config: SearchSpaceConfig, registry: OperationRegistry, generator: inout SeededGenerator) throws(SearchSpaceError) {
        try config.validate(registry: registry)
        self.config = config
        var builder = ParameterBuilder(generator: generator.split())
        let stemChannels = config.stemMultiplier * config.channels
        stem = Conv2D("stem.conv", inChannels: config.inputChannels, outChannels: stemChannels, kernel: (3, 3),
                      padding: (1, 1), builder: &builder)
        stemNorm = BatchNorm2D("stem.bn", channels: stemChannels, affine: true, builder: &builder)
        var (ppChannels, pChannels, c) = (stemChannels, stemChannels, config.channels)
        var reductionPrevious = false
        var cells: [SearchCell] = []
        for i in 0..<config.cellCount {
            let isReduction = config.reductionCells.contains(i)
            if isReduction { c *= config.reductionChannelFactor }
            do {
                cells.append(try SearchCell("cells.\(i)", kind: isReduction ? .reduce : .normal, previousPrevious: ppChannels,
                                            previous: pChannels, channels: c, reductionPrevious: reductionPrevious,
                                            config: config, registry: registry, builder: &builder))
            } catch {
                throw SearchSpaceError(message: error.description)
            }
            reductionPrevious = isReduction
            (ppChannels, pChannels) = (pChannels, c * config.nodes)
        }
        self.cells = cells
        classifier = Linear("classifier", inFeatures: pChannels, outFeatures: config.ways, builder: &builder)
        weights = builder.parameters
        buffers = builder.buffers
        var archGenerator = generator.split()
        (layout, architecture) = ArchitectureLayout.make(config, generator: &archGenerator)
    }

    /// Softmaxed mixing weights on the tape: per cell kind, `[edges, ops]` op weights and per
    /// node input-candidate weights.
    public func mixingWeights(_ architecture: [Variable], settings: ArchitectureSettings) -> MixingWeights {
        let t = settings.temperature
        return MixingWeights(ops: layout.alpha.map { architecture[$0.index].softmax(temperature: t) },
                             inputs: layout.beta.map { $0.map { architecture[$0.index].softmax(temperature: t) } },
                             settings: settings)
    }

    /// The execution plan for architecture values (no tape needed).
    public func plan(architecture: ParameterSet, settings: ArchitectureSettings) -> ExecutionPlan {
        let t = settings.temperature
        return ExecutionPlan(config: config,
                             opWeights: layout.alpha.map { architecture[$0].softmax(temperature: t) },
                             inputWeights: layout.beta.map { $0.map { architecture[$0].softmax(temperature: t) } },
                             settings: settings)
    }

    /// Class logits `[N, ways]` for images `[N, C, H, W]` under an architecture.
    ///
    /// - Parameters:
    ///   - x: input images on `ctx.tape`.
    ///   - architecture: architecture tensors bound to the same tape (parameters when their
    ///     gradient is wanted, constants otherwise), in the order of ``architecture``.
    ///   - settings: temperature and thresholds.
    ///   - ctx: weights, buffers, batch-norm mode and drop-path.
    public func logits(_ x: Variable, architecture: [Variable], settings: ArchitectureSettings, _ ctx: ForwardContext) -> Variable {
        logits(x, mixing: mixingWeights(architecture, settings: settings), ctx)
    }

    /// Class logits under explicit mixing weights (a softmaxed architecture, or the one-hot
    /// weights of a fixed genotype).
    public func logits(_ x: Variable, mixing: MixingWeights, _ ctx: ForwardContext) -> Variable {
        let expected = [config.inputChannels, config.inputSize, config.inputSize]
        precondition(x.shape.count == 4 && Array(x.shape.dropFirst()) == expected,
                     "SearchNetwork: input shape \(x.shape) does not match [N] + \(expected)")
        let plan = mixing.plan(config)
        let s = stemNorm(stem(x, ctx), ctx)
        var (s0, s1) = (s, s)
        for cell in cells {
            let k = cell.kind.rawValue
            (s0, s1) = (s1, cell(s0, s1, opWeights: mixing.ops[k], inputWeights: mixing.inputs[k], plan: plan, ctx))
        }
        return classifier(s1.globalAveragePool(), ctx)
    }

    /// Parameter positions always executed (stem, preprocessing, classifier).
    var alwaysActiveParameters: [Range<Int>] {
        var out: [Range<Int>] = []
        let firstOp = cells.first?.edges.first?.parameterRanges.first?.lowerBound ?? weights.tensors.count
        out.append(0..<firstOp)  // stem + first cell's preprocessing
        for (i, cell) in cells.enumerated() {
            let lastOp = cell.edges.last?.parameterRanges.last?.upperBound ?? 0
            let nextStart = i + 1 < cells.count ? (cells[i + 1].edges.first?.parameterRanges.first?.lowerBound ?? lastOp) : weights.tensors.count
            out.append(lastOp..<nextStart)  // next cell's preprocessing, or the classifier
        }
        return out
    }

    /// The number of weights a forward pass under `plan` uses (pruned operations excluded).
    public func activeWeightCount(plan: ExecutionPlan) -> Int {
        var ids = Set(alwaysActiveParameters.flatMap { $0 })
        for cell in cells {
            for (e, edge) in cell.edges.enumerated() {
                for k in plan.activeOps[cell.kind.rawValue][e] { ids.formUnion(edge.parameterRanges[k]) }
            }
        }
        return weights.scalarCount(of: ids.map(ParameterID.init))
    }

    /// Forward FLOPs (multiply-adds x 2) of the convolutions and the classifier that `plan`
    /// executes for `batch` images.
    public func forwardFLOPs(plan: ExecutionPlan, batch: Int) -> Double {
        var size = config.inputSize
        var total = stem.flops(batch: batch, height: size, width: size)
        var (ppSize, pSize) = (size, size)
        for cell in cells {
            size = pSize
            total += cell.preprocess0.flops(batch: batch, height: ppSize, width: ppSize)
            total += cell.preprocess1.flops(batch: batch, height: pSize, width: pSize)
            for (e, edge) in cell.edges.enumerated() {
                for k in plan.activeOps[cell.kind.rawValue][e] {
                    total += edge.ops[k].flops(batch: batch, height: size, width: size)
                }
            }
            (ppSize, pSize) = (pSize, cell.kind == .reduce ? (size - 1) / 2 + 1 : size)
        }
        let (outFeatures, inFeatures) = (weights[classifier.weight].shape[0], weights[classifier.weight].shape[1])
        return total + 2 * Double(batch * outFeatures * inFeatures)
    }
}
