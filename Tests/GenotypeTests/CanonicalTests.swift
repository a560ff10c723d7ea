import Testing
@testable import Genotype

@Suite struct CanonicalTests {
    @Test func sha256KnownAnswers() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex(String(repeating: "a", count: 1000)).hasPrefix("41edece42d63e8d9bf515a9ba6932e1c"))
    }

    @Test func hashIsInvariantUnderRenumbering() {
        var rng = SplitMix(seed: 5)
        for _ in 0..<300 {
            let cell = randomCell(&rng, maxNodes: 5)
            let other = renumbered(cell, &rng)
            #expect(other.canonicalHash == cell.canonicalHash)
            #expect(other.canonicalized().canonicalHash == cell.canonicalHash)
            #expect(CellDiff(cell, other).distance == 0)
        }
    }

    @Test func swappingIndependentNodesKeepsTheHash() {
        // Nodes 0 and 1 both read only the cell inputs: numbering them either way is the same cell.
        let a = Cell(nodes: [
            [Edge(op: "sep_conv_3x3", input: 0), Edge(op: "skip_connect", input: 1)],
            [Edge(op: "max_pool_3x3", input: 1)],
            [Edge(op: "conv_3x3", input: 2), Edge(op: "dil_conv_3x3", input: 3)],
        ])
        let b = Cell(nodes: [
            [Edge(op: "max_pool_3x3", input: 1)],
            [Edge(op: "skip_connect", input: 1), Edge(op: "sep_conv_3x3", input: 0)],
            [Edge(op: "dil_conv_3x3", input: 2), Edge(op: "conv_3x3", input: 3)],
        ])
        #expect(a != b)
        #expect(a.canonicalHash == b.canonicalHash)
        #expect(a.canonicalized() == b.canonicalized())
        #expect(Genotype(normal: a, reduce: b).canonicalHash == Genotype(normal: b, reduce: a).canonicalHash)
    }

    @Test func changingOneEdgeChangesTheHashAtDistanceOne() {
        var rng = SplitMix(seed: 9)
        for _ in 0..<300 {
            let cell = randomCell(&rng, maxNodes: 4)
            var changed = cell
            let node = rng.below(cell.nodeCount)
            let k = rng.below(cell.nodes[node].count)
            if rng.below(2) == 0 {
                changed.nodes[node][k].op += "_x"
            } else {
                // Only when another input exists; the op stays.
                let alternatives = (0..<(node + 2)).filter { $0 != cell.nodes[node][k].input }
                changed.nodes[node][k].input = alternatives[rng.below(alternatives.count)]
                if CellDiff(cell, changed).distance == 0 { continue }  // an equivalent cell, rare
            }
            #expect(changed.canonicalHash != cell.canonicalHash)
            let diff = CellDiff(cell, changed)
            #expect(diff.distance == 1, "\(cell) vs \(changed)")
            #expect(diff.differences.count == 1)
            #expect(CellDiff(renumbered(cell, &rng), changed).distance == 1)
        }
    }

    @Test func diffListsTheEdits() {
        let a = referenceGenotype.normal
        var b = a
        b.nodes[1][1].op = "sep_conv_3x3"                       // op change
        b.nodes[2].append(Edge(op: "skip_connect", input: 0))  // new edge
        b.concat = [3, 4]                                       // node 0 no longer an output
        let diff = CellDiff(a, b)
        #expect(diff.distance == 3)
        #expect(diff.differences.map(\.description) == [
            "node 1: op conv_1x5_5x1 -> sep_conv_3x3 on the edge from 0",
            "node 2 of B: edge added: skip_connect from c_{k-2}",
            "concat: node 0 is no longer an output",
        ])
        #expect(diff.statusA[1] == [.same, .changed])
        #expect(diff.statusB[2] == [.same, .same, .added])
        #expect(diff.matching == [0, 1, 2])
        // Node counts may differ: the extra node's edges count as additions.
        var bigger = a
        bigger.nodes.append([Edge(op: "conv_3x3", input: 4)])
        bigger.concat = [2, 3, 4, 5]
        #expect(CellDiff(a, bigger).distance == 2)
        #expect(CellDiff(bigger, a).distance == 2)
        let g = GenotypeDiff(referenceGenotype, Genotype(normal: b, reduce: referenceGenotype.reduce))
        #expect(g.distance == 3)
        #expect(g.text.hasPrefix("edit distance: 3 (normal 3, reduce 0)\n"))
    }

    @Test func canonicalFormIsReadable() {
        let cell = Cell(nodes: [[Edge(op: "skip_connect", input: 1), Edge(op: "sep_conv_3x3", input: 0)]])
        let lines = cell.canonicalForm.split(separator: "\n")
        #expect(lines == ["metanas.cell/1", "g0 x1: 12:sep_conv_3x3<s0,12:skip_connect<s1", "concat: g0"])
        #expect(cell.canonicalized().nodes[0].map(\.input) == [0, 1])
        #expect(referenceGenotype.shortHash.count == 12)
    }

    @Test func largeCellsUseCanonicalMatching() {
        var rng = SplitMix(seed: 21)
        for _ in 0..<20 {
            let cell = randomCell(&rng, maxNodes: 9)
            let other = renumbered(cell, &rng)
            #expect(CellDiff(cell, other).distance == 0)
        }
    }
}
