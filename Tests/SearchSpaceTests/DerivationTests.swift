import Engine
import Genotype
import NN
import Testing
@testable import SearchSpace

@Suite("Genotype derivation and fixed networks")
struct DerivationTests {
    static let withNone = OperationRegistry.metaNASOperations + ["none"]

    /// An alpha row: `best` at 1, `none` at 2 when `noneFirst`, every other operation at 0.
    static func row(_ config: SearchSpaceConfig, _ best: String, noneFirst: Bool = false) -> [Float] {
        config.operations.map { $0 == best ? 1 : ($0 == "none" && noneFirst ? 2 : 0) }
    }

    static func setAlpha(_ arch: inout ParameterSet, _ net: SearchNetwork, _ kind: SearchSpace.CellKind, _ rows: [[Float]]) {
        arch[net.layout.alpha[kind.rawValue]] = Tensor(shape: [rows.count, rows[0].count], data: rows.flatMap { $0 })
    }

    static func setBeta(_ arch: inout ParameterSet, _ net: SearchNetwork, _ kind: SearchSpace.CellKind, node: Int, _ values: [Float]) {
        arch[net.layout.beta[kind.rawValue][node]] = Tensor(shape: [values.count], data: values)
    }

    /// The hand-set pairwise architecture of the tiny network and the genotype it must give.
    ///
    /// Edges (2 nodes): 0 = (node 0, input 0), 1 = (0, 1), 2 = (1, 0), 3 = (1, 1), 4 = (1, 2).
    /// Edges 1 (normal) and 3 (reduce) have `none` strongest; the next strongest must be chosen.
    static func pairwise() throws -> (SearchNetwork, ParameterSet, Genotype) {
        let config = Tiny.config(operations: withNone)
        let net = try Tiny.network(config)
        var arch = net.architecture
        setAlpha(&arch, net, .normal, [row(config, "sep_conv_3x3"), row(config, "conv_1x5_5x1", noneFirst: true),
                                       row(config, "skip_connect"), row(config, "max_pool_3x3"), row(config, "dil_conv_3x3")])
        setBeta(&arch, net, .normal, node: 1, [0, 0, 1])  // pairs (0,1), (0,2), (1,2): choose (1,2)
        setAlpha(&arch, net, .reduce, [row(config, "avg_pool_3x3"), row(config, "skip_connect"),
                                       row(config, "conv_3x3"), row(config, "sep_conv_3x3", noneFirst: true),
                                       row(config, "conv_1x5_5x1")])
        setBeta(&arch, net, .reduce, node: 1, [0.5, 0, 0])  // choose (0,1)
        let expected = Genotype(
            normal: Cell(nodes: [[Edge(op: "sep_conv_3x3", input: 0), Edge(op: "conv_1x5_5x1", input: 1)],
                                 [Edge(op: "max_pool_3x3", input: 1), Edge(op: "dil_conv_3x3", input: 2)]]),
            reduce: Cell(nodes: [[Edge(op: "avg_pool_3x3", input: 0), Edge(op: "skip_connect", input: 1)],
                                 [Edge(op: "conv_3x3", input: 0), Edge(op: "sep_conv_3x3", input: 1)]]))
        return (net, arch, expected)
    }

    @Test("Pairwise form: strongest pair per node, strongest non-none operation per edge")
    func pairwiseGenotype() throws {
        let (net, arch, expected) = try Self.pairwise()
        #expect(net.genotype(architecture: arch) == expected)
        #expect(net.genotype(architecture: arch, temperature: 0.05) == expected)
    }

    @Test("Single-input form: top-2 inputs by input weight x strongest operation weight")
    func singleGenotype() throws {
        let config = Tiny.config(nodeInputs: .single, operations: Self.withNone)
        let net = try Tiny.network(config)
        var arch = net.architecture
        // Normal node 1: softmax(beta) = (0.280, 0.378, 0.342). Input 1's edge has `none`
        // strongest, so its best real operation weighs e / (e^2 + e + 6) = 0.169 against
        // e / (e + 7) = 0.280 on the others: scores 0.078, 0.064, 0.096, so inputs 0 and 2 win
        // although input 1 has the largest beta.
        Self.setAlpha(&arch, net, .normal, [Self.row(config, "conv_3x3"), Self.row(config, "avg_pool_3x3", noneFirst: true),
                                            Self.row(config, "dil_conv_3x3"), Self.row(config, "sep_conv_3x3", noneFirst: true),
                                            Self.row(config, "skip_connect")])
        Self.setBeta(&arch, net, .normal, node: 1, [0, 0.3, 0.2])
        Self.setAlpha(&arch, net, .reduce, [Self.row(config, "max_pool_3x3"), Self.row(config, "conv_1x5_5x1"),
                                            Self.row(config, "skip_connect"), Self.row(config, "conv_3x3"),
                                            Self.row(config, "avg_pool_3x3")])
        Self.setBeta(&arch, net, .reduce, node: 1, [0.2, -0.4, 0.1])
        let expected = Genotype(
            normal: Cell(nodes: [[Edge(op: "conv_3x3", input: 0), Edge(op: "avg_pool_3x3", input: 1)],
                                 [Edge(op: "dil_conv_3x3", input: 0), Edge(op: "skip_connect", input: 2)]]),
            reduce: Cell(nodes: [[Edge(op: "max_pool_3x3", input: 0), Edge(op: "conv_1x5_5x1", input: 1)],
                                 [Edge(op: "skip_connect", input: 0), Edge(op: "avg_pool_3x3", input: 2)]]))
        #expect(net.genotype(architecture: arch) == expected)
    }

    @Test("`none` is never chosen, even when it is every edge's strongest operation")
    func noneNeverChosen() throws {
        let config = Tiny.config(operations: Self.withNone)
        let net = try Tiny.network(config)
        var arch = net.architecture
        var g = SeededGenerator(seed: 4)
        for kind in SearchSpace.CellKind.allCases {
            let rows = (0..<config.edgesPerCell).map { _ in
                config.operations.map { $0 == "none" ? 5 : g.nextUnitFloat() }
            }
            Self.setAlpha(&arch, net, kind, rows)
        }
        let genotype = net.genotype(architecture: arch)
        let ops = (genotype.normal.allEdges + genotype.reduce.allEdges).map(\.edge.op)
        #expect(ops.count == 8)
        #expect(!ops.contains("none"))
    }

    @Test("The fixed tiny network executes exactly the genotype and has its hand-counted size")
    func tinyFixedNetwork() throws {
        let (net, arch, expected) = try Self.pairwise()
        let genotype = net.genotype(architecture: arch)
        #expect(genotype == expected)
        // C = 4, stem 2C = 8 channels, cells output 2C = 8 channels, 3 ways.
        let stem = 1 * 8 * 9 + 2 * 8                  // conv 3x3, affine batch norm
        let preprocessing = 4 * (8 * 4)               // ReLU-Conv1x1(8 -> 4), two per cell
        let classifier = 8 * 3 + 3
        // sep_conv_3x3 = 2 (9C + C^2) = 104, conv_1x5_5x1 = 10 C^2 = 160, dil_conv_3x3 = 9C + C^2 = 52
        let normal = 104 + 160 + 0 + 52               // sep, conv_1x5_5x1, max_pool, dil
        // avg_pool, skip at stride 2 (factorized reduce, C^2 = 16), conv_3x3 (52), sep (104)
        let reduce = 0 + 16 + 52 + 104
        #expect(try net.weightCount(of: genotype) == stem + preprocessing + classifier + normal + reduce)
        #expect(try net.weightCount(of: genotype) == 731)

        let plan = try net.fixedMixing(genotype, on: Tape()).plan(net.config)
        let op = { (name: String) in [operationIndex(net.config, name)] }
        #expect(plan.activeOps[0] == [op("sep_conv_3x3"), op("conv_1x5_5x1"), [], op("max_pool_3x3"), op("dil_conv_3x3")])
        #expect(plan.activeOps[1] == [op("avg_pool_3x3"), op("skip_connect"), op("conv_3x3"), op("sep_conv_3x3"), []])
        #expect(plan.activeCandidates == [[[0], [2]], [[0], [0]]])
    }

    @Test("The fixed reference network of a chosen genotype has its hand-counted size")
    func referenceFixedNetwork() throws {
        let net = try Tiny.network(.reference(ways: 20))
        let genotype = Genotype(
            normal: Cell(nodes: [[Edge(op: "sep_conv_3x3", input: 0), Edge(op: "conv_1x5_5x1", input: 1)],
                                 [Edge(op: "skip_connect", input: 0), Edge(op: "dil_conv_3x3", input: 2)],
                                 [Edge(op: "max_pool_3x3", input: 1), Edge(op: "conv_3x3", input: 3)]]),
            reduce: Cell(nodes: [[Edge(op: "skip_connect", input: 0), Edge(op: "conv_1x5_5x1", input: 1)],
                                 [Edge(op: "avg_pool_3x3", input: 0), Edge(op: "sep_conv_3x3", input: 2)],
                                 [Edge(op: "skip_connect", input: 2), Edge(op: "dil_conv_3x3", input: 3)]]))
        // C = 28, 3C = 84 channels: conv_1x5_5x1 = 7840, sep_conv_3x3 = 2072, conv_3x3 =
        // dil_conv_3x3 = 1036, skip_connect = 784 at stride 2 and 0 at stride 1, pools 0.
        let stem = 84 * 9 + 2 * 84                    // 924
        let preprocessing = 8 * 2352                  // 84 -> 28, ReLU-Conv-BN or factorized reduce
        let classifier = 84 * 20 + 20
        let normal = 2072 + 7840 + 0 + 1036 + 0 + 1036
        let reduce = 784 + 7840 + 0 + 2072 + 0 + 1036
        let expected = stem + preprocessing + classifier + 2 * normal + 2 * reduce
        #expect(expected == 68_872)
        #expect(try net.weightCount(of: genotype) == expected)
    }
}
