import Testing
@testable import Genotype

@Suite struct DARTSStringTests {
    let nested = "Genotype(normal=[[('sep_conv_3x3', 0), ('dil_conv_3x3', 1)], [('skip_connect', 0), ('conv_1x5_5x1', 2)], [('max_pool_3x3', 1), ('sep_conv_3x3', 3)]], normal_concat=range(2, 5), reduce=[[('max_pool_3x3', 0), ('avg_pool_3x3', 1)], [('max_pool_3x3', 1), ('dil_conv_3x3', 2)], [('skip_connect', 2), ('conv_3x3', 3)]], reduce_concat=range(2, 5))"

    @Test func parsesMetaNASNestedForm() throws {
        let g = try Genotype(dartsString: nested)
        #expect(g == referenceGenotype)
        #expect(g.dartsString == nested)
    }

    @Test func parsesDARTSFlatForm() throws {
        let darts = """
            Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), \
            ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], \
            reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), \
            ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])
            """
        let g = try Genotype(dartsString: darts)
        #expect(g.normal.nodeCount == 4)
        #expect(g.normal.nodes[3] == [Edge(op: "skip_connect", input: 0), Edge(op: "dil_conv_3x3", input: 2)])
        #expect(g.reduce.concat == [2, 3, 4, 5])
        #expect(g.dartsString.contains("normal_concat=range(2, 6)"))
        #expect(try Genotype(dartsString: g.dartsString) == g)
    }

    @Test func acceptsLooseSpelling() throws {
        let loose = """
            Genotype( reduce = [[("max_pool_3x3",0),("avg_pool_3x3",1),]] ,
                      normal=[[('sep_conv_3x3', 0,), ('skip_connect', 1)]], normal_concat=(2,), )
            """
        let g = try Genotype(dartsString: loose)
        #expect(g.normal.concat == [2])
        #expect(g.reduce.concat == [2])  // missing concat: every node
        #expect(g.reduce.nodes[0][1] == Edge(op: "avg_pool_3x3", input: 1))
        #expect(try Genotype(dartsString: "Genotype(normal=[], normal_concat=[], reduce=[], reduce_concat=range(2, 2))").normal.nodeCount == 0)
    }

    @Test func randomRoundTrips() throws {
        var rng = SplitMix(seed: 7)
        for _ in 0..<300 {
            let g = randomGenotype(&rng)
            let text = g.dartsString
            let back = try Genotype(dartsString: text)
            #expect(back == g, "\(text)")
            #expect(back.dartsString == text)
        }
    }

    func message(_ text: String) -> String {
        do {
            _ = try Genotype(dartsString: text)
            return "no error"
        } catch {
            return error.description
        }
    }

    @Test func positionedErrors() {
        #expect(message("Genotype(normal=[[('sep_conv_3x3', 0]], reduce=[])")
            == "column 37: expected ')' after input index, found ']'")
        #expect(message("Genotype(normal=[[('sep_conv_3x3' 0)]], reduce=[])")
            == "column 35: expected ',' after operation name, found '0'")
        #expect(message("Genotype(normal=[[('sep_conv_3x3', x)]], reduce=[])")
            == "column 36: expected an input index, found 'x'")
        #expect(message("Genotype(normal=[[(sep_conv_3x3, 0)]], reduce=[])")
            == "column 20: expected an operation name in quotes, found 's'")
        #expect(message("Genotype(normal=[[('a', 0)]], reduce=[[('b', 1)]], extra=1)")
            == "column 52: unknown field 'extra' (expected normal, normal_concat, reduce, reduce_concat)")
        #expect(message("Genotype(normal=[[('a', 0)], [('b', 3)]], reduce=[])")
            == "column 37: input 3 out of range for node 1 of the normal cell (expected 0...2)")
        #expect(message("Genotype(normal=[('a', 0), ('b', 1), ('c', 0)], reduce=[])")
            == "column 18: a flat edge list needs two edges per node, found 3 edges")
        #expect(message("Genotype(normal=[[('a', 0)]], normal_concat=[2, 3], reduce=[])")
            == "column 49: normal_concat: 3 is not an intermediate state of a 1-node cell (expected 2...2)")
        #expect(message("Genotype(normal=[[('a', 0)]])") == "column 29: missing field 'reduce'")
        #expect(message("Genotype(normal=[[('a', 0)]], reduce=[]) trailing") == "column 42: unexpected text after the genotype")
        #expect(message("genotype(normal=[])") == "column 1: expected 'Genotype('")
        #expect(message("Genotype(normal=[[('a, 0)]], reduce=[])") == "column 20: unterminated string")
        #expect(message("Genotype(normal=[[('a', 0)]],\n reduce=[[('b', 0)]")
            == "line 2, column 20: expected ']' after the last node, found end of text")
    }
}
