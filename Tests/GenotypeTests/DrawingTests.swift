import Testing
@testable import Genotype

@Suite struct DrawingTests {
    @Test func xmlCheckerCatchesProblems() {
        #expect(xmlProblem("<a><b x=\"1\"/>t &amp; u</a>") == nil)
        #expect(xmlProblem("<a><b></a>") != nil)
        #expect(xmlProblem("<a x=1/>") != nil)
        #expect(xmlProblem("<a>x & y</a>") != nil)
        #expect(xmlProblem("<a x=\"<\"/>") != nil)
        #expect(xmlProblem("<a/><b/>") != nil)
        #expect(xmlProblem("<a x=\"1\" x=\"2\"/>") != nil)
    }

    @Test func cellSVGIsWellFormedAndComplete() {
        let svg = GenotypeDrawing.svg(referenceGenotype, title: "reference & <friends>")
        #expect(xmlProblem(svg) == nil)
        #expect(svg.contains("reference &amp; &lt;friends&gt;"))
        #expect(svg.contains(">normal cell<") && svg.contains(">reduce cell<"))
        // Every edge has a curve and a label: 12 labelled edges plus 6 output edges.
        #expect(count("marker-end=", in: svg) == 18)
        #expect(count(">sep_conv_3x3<", in: svg) == 2)
        #expect(svg.contains(">c_{k-2}<") && svg.contains(">c_{k}<"))
    }

    @Test func oddOpNamesAreEscaped() {
        var rng = SplitMix(seed: 13)
        for _ in 0..<25 {
            let g = randomGenotype(&rng)
            let svg = GenotypeDrawing.svg(g)
            #expect(xmlProblem(svg) == nil)
            #expect(xmlProblem(GenotypeDrawing.diffSVG(g, randomGenotype(&rng))) == nil)
        }
        let weird = Genotype(normal: Cell(nodes: [[Edge(op: "a<b>&\"c'\u{1}", input: 0)]]), reduce: Cell(nodes: []))
        let svg = GenotypeDrawing.svg(weird)
        #expect(xmlProblem(svg) == nil)
        #expect(svg.contains("a&lt;b&gt;&amp;&quot;c&apos;"))
    }

    @Test func labelsDoNotOverlapForTheReferenceCells() {
        for kind in CellKind.allCases {
            let layout = CellLayout(CellPicture(cell: referenceGenotype[kind], title: kind.rawValue))
            let labels = layout.routes.compactMap(\.labelRect)
            #expect(labels.count == 6)
            for (i, a) in labels.enumerated() {
                for b in labels[(i + 1)...] { #expect(a.overlap(b) == 0) }
                for box in layout.boxes { #expect(a.overlap(box.rect) == 0) }
            }
            // No curve runs through a node other than its own ends.
            for route in layout.routes {
                for box in layout.boxes where box.state != route.from && box.state != route.to {
                    let inside = CellLayout.sample(route.curve, count: 64).filter { box.rect.contains($0) }
                    #expect(inside.isEmpty, "\(kind) edge \(route.from)->\(route.to) crosses node \(box.state)")
                }
            }
        }
    }

    @Test func weightedDrawingAndHeatMap() {
        let ops = referenceOps
        func rows(_ n: Int) -> [[Double]] { (0..<n).map { k in ops.indices.map { Double(($0 + k) % 7) / 3 } } }
        let weights = CellWeights(alpha: [rows(2), rows(3), rows(4)], beta: .pairs([[0], [0, 1, 2], [0, 1, 2, 3, 4, 5]]),
                                  pruned: [PrunedOp(node: 0, input: 0, op: "max_pool_3x3")])
        let state = ArchitectureState(operations: ops, normal: weights, reduce: weights, temperature: 0.5, genotype: referenceGenotype)
        let svg = GenotypeDrawing.svg(referenceGenotype, weights: state)
        #expect(xmlProblem(svg) == nil)
        #expect(svg.contains("stroke-opacity=\"0."))
        let heat = GenotypeDrawing.heatMapSVG(state)
        #expect(xmlProblem(heat) == nil)
        // 2 cells x 9 edges x 7 ops squares, plus 2 x 10 beta squares.
        let squares = count("<rect x=", in: heat)
        #expect(squares == 2 * 9 * 7 + 2 * 10 + 1)
        #expect(heat.contains("node 2 ← c_{k-1}"))
        #expect(heat.contains("beta (pairs)"))
        let single = GenotypeDrawing.svg(referenceGenotype.normal, title: "n", edgeWeights: [[1, 0.5], [0.2, 0.1], [0, 1]])
        #expect(xmlProblem(single) == nil)
    }

    @Test func dotContainsEveryEdge() {
        let dot = GenotypeDrawing.dot(referenceGenotype)
        #expect(dot.hasPrefix("digraph \"genotype\" {"))
        for kind in CellKind.allCases {
            for (i, edges) in referenceGenotype[kind].nodes.enumerated() {
                for e in edges {
                    #expect(dot.contains("\"\(kind.rawValue)_\(e.input)\" -> \"\(kind.rawValue)_\(i + 2)\" [label=\"\(e.op)\"];"))
                }
            }
            for c in referenceGenotype[kind].concat {
                #expect(dot.contains("\"\(kind.rawValue)_\(c)\" -> \"\(kind.rawValue)_out\" [color=gray];"))
            }
        }
        #expect(count(" -> ", in: dot) == 12 + 6)
        let quoted = GenotypeDrawing.dot(Genotype(normal: Cell(nodes: [[Edge(op: "say \"hi\"", input: 0)]]), reduce: Cell(nodes: [])))
        #expect(quoted.contains("[label=\"say \\\"hi\\\"\"]"))
    }
}
