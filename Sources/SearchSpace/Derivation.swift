import Engine
import Genotype
import NN

extension SearchNetwork {
    /// Hard discretization of architecture values into a genotype.
    ///
    /// Per edge the strongest operation other than `none`; per node, in the pairwise form the
    /// strongest input pair, in the single-input form the two inputs whose (input weight x
    /// strongest operation weight) is largest (DARTS' top-2). Ties go to the lower index.
    ///
    /// - Parameter temperature: only rescales the softmax; the choice does not depend on it.
    public func genotype(architecture: ParameterSet, temperature: Float = 1) -> Genotype {
        let zeroOps = Set(config.operations.indices.filter { config.operations[$0] == "none" })
        func cell(_ kind: CellKind) -> Cell {
            let alpha = architecture[layout.alpha[kind.rawValue]].softmax(temperature: temperature)
            let k = config.operations.count
            func strongest(edge e: Int) -> (op: Int, weight: Float) {
                var best = -1
                for o in 0..<k where !zeroOps.contains(o) {
                    if best < 0 || alpha.data[e * k + o] > alpha.data[e * k + best] { best = o }
                }
                return best < 0 ? (0, 0) : (best, alpha.data[e * k + best])
            }
            var nodes: [[Edge]] = []
            for node in 0..<config.nodes {
                let beta = architecture[layout.beta[kind.rawValue][node]].softmax(temperature: temperature).data
                let inputs: [Int]
                switch config.nodeInputs {
                case .pairs:
                    let c = beta.indices.max { beta[$0] < beta[$1] || (beta[$0] == beta[$1] && $0 > $1) }!
                    inputs = config.inputCandidates(node: node)[c]
                case .single:
                    let scored = (0..<(node + 2)).map { i in (i, beta[i] * strongest(edge: config.edgeIndex(node: node, input: i)).weight) }
                    inputs = scored.sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }.prefix(2).map(\.0).sorted()
                }
                nodes.append(inputs.map { i in
                    Edge(op: config.operations[strongest(edge: config.edgeIndex(node: node, input: i)).op], input: i)
                })
            }
            return Cell(nodes: nodes, concat: Array(2..<(2 + config.nodes)))
        }
        return Genotype(normal: cell(.normal), reduce: cell(.reduce))
    }

    /// One-hot mixing weights that execute exactly `genotype` (no mixtures): each chosen edge
    /// runs its one operation with weight 1, each node sums its chosen inputs with weight 1.
    ///
    /// - Throws: ``SearchSpaceError`` when the genotype names an operation outside this
    ///   network's list, uses an input a node cannot see, or has the wrong number of nodes.
    public func fixedMixing(_ genotype: Genotype, on tape: Tape) throws(SearchSpaceError) -> MixingWeights {
        var ops: [Variable] = [], inputs: [[Variable]] = []
        for kind in CellKind.allCases {
            let cell = kind == .normal ? genotype.normal : genotype.reduce
            guard cell.nodes.count == config.nodes else {
                throw SearchSpaceError(message: "genotype \(kind) cell has \(cell.nodes.count) nodes, the network \(config.nodes)")
            }
            var w = Tensor(shape: [config.edgesPerCell, config.operations.count])
            var perNode: [Variable] = []
            for (node, edges) in cell.nodes.enumerated() {
                let candidates = config.inputCandidates(node: node)
                var b = Tensor(shape: [candidates.count])
                for edge in edges {
                    guard edge.input >= 0 && edge.input < node + 2 else {
                        throw SearchSpaceError(message: "genotype \(kind) node \(node) reads input \(edge.input); it can read 0..<\(node + 2)")
                    }
                    guard let o = config.operations.firstIndex(of: edge.op) else {
                        throw SearchSpaceError(message: "genotype operation '\(edge.op)' is not in the network's list \(config.operations)")
                    }
                    w.data[config.edgeIndex(node: node, input: edge.input) * config.operations.count + o] = 1
                }
                let chosen = Set(edges.map(\.input)).sorted()
                switch config.nodeInputs {
                case .single:
                    for i in chosen { b.data[i] = 1 }
                case .pairs:
                    guard chosen.count == 2, let c = candidates.firstIndex(of: chosen) else {
                        throw SearchSpaceError(message: "genotype \(kind) node \(node) must read two distinct inputs in the pairwise form, reads \(chosen)")
                    }
                    b.data[c] = 1
                }
                perNode.append(tape.constant(b))
            }
            ops.append(tape.constant(w))
            inputs.append(perNode)
        }
        // Weights are exactly 0 or 1, so a threshold of 0.5 executes the chosen ones only.
        return MixingWeights(ops: ops, inputs: inputs,
                             settings: ArchitectureSettings(temperature: 1, operationThreshold: 0.5, inputThreshold: 0.5))
    }

    /// The number of weights the fixed network of `genotype` uses (stem, preprocessing,
    /// classifier and the chosen operations).
    public func weightCount(of genotype: Genotype) throws(SearchSpaceError) -> Int {
        activeWeightCount(plan: try fixedMixing(genotype, on: Tape()).plan(config))
    }
}
