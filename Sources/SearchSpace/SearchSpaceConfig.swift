/// How a node combines its predecessors.
public enum NodeInputForm: String, Sendable, Hashable, CaseIterable {
    /// MetaNAS' reference form: a softmax over *pairs* of inputs,
    /// `node = sum_{a<b} w_ab (mixed_a(s_a) + mixed_b(s_b))`.
    case pairs
    /// DARTS' form with an input weight per predecessor, `node = sum_a w_a mixed_a(s_a)`.
    case single
}

/// The shape of a search network: everything needed to build it, nothing learned.
public struct SearchSpaceConfig: Sendable, Hashable {
    /// Image channels (1 for Omniglot).
    public var inputChannels = 1
    /// Image side in pixels.
    public var inputSize = 28
    /// Channels per node, `C`.
    public var channels = 28
    /// The stem outputs `stemMultiplier * C` channels.
    public var stemMultiplier = 3
    /// Number of cells.
    public var cellCount = 4
    /// Positions (0-based) of the reduction cells.
    public var reductionCells: [Int] = [1, 3]
    /// Channel growth at a reduction cell (1 keeps `C`; DARTS uses 2).
    public var reductionChannelFactor = 1
    /// Intermediate nodes per cell.
    public var nodes = 3
    /// Output classes.
    public var ways = 20
    /// Candidate operations on every edge, by registered name.
    public var operations: [String] = OperationRegistry.metaNASOperations
    /// How nodes weigh their inputs.
    public var nodeInputs: NodeInputForm = .pairs

    public init() {}

    /// The reference Omniglot configuration of MetaNAS (SPEC section 3) for `ways` classes.
    public static func reference(ways: Int = 20) -> SearchSpaceConfig {
        var c = SearchSpaceConfig()
        c.ways = ways
        return c
    }

    /// Edges per cell: node `i` has `i + 2` predecessors.
    public var edgesPerCell: Int { (0..<nodes).reduce(0) { $0 + $1 + 2 } }

    /// Index of the edge from predecessor `input` into node `node`.
    public func edgeIndex(node: Int, input: Int) -> Int { (0..<node).reduce(0) { $0 + $1 + 2 } + input }

    /// The input candidates of a node that beta weighs: pairs `(a, b)`, `a < b`, or single inputs.
    public func inputCandidates(node: Int) -> [[Int]] {
        let n = node + 2
        switch nodeInputs {
        case .single: return (0..<n).map { [$0] }
        case .pairs:
            var out: [[Int]] = []
            for a in 0..<n { for b in (a + 1)..<n { out.append([a, b]) } }
            return out
        }
    }

    /// Checks the numbers fit together; the message says what to change.
    public func validate(registry: OperationRegistry) throws(SearchSpaceError) {
        func fail(_ m: String) -> SearchSpaceError { SearchSpaceError(message: m) }
        guard inputChannels >= 1, inputSize >= 2 else { throw fail("input must have at least 1 channel and 2 pixels, got \(inputChannels)x\(inputSize)x\(inputSize)") }
        guard channels >= 2, channels % 2 == 0 else { throw fail("channels C = \(channels) must be an even number >= 2 (factorized reductions split it in halves)") }
        guard cellCount >= 1 else { throw fail("cellCount must be at least 1") }
        guard reductionChannelFactor >= 1 else { throw fail("reductionChannelFactor must be at least 1, got \(reductionChannelFactor)") }
        guard stemMultiplier >= 1 else { throw fail("stemMultiplier must be at least 1, got \(stemMultiplier)") }
        guard nodes >= 1 else { throw fail("nodes per cell must be at least 1") }
        guard ways >= 2 else { throw fail("ways must be at least 2, got \(ways)") }
        guard !operations.isEmpty else { throw fail("the operation list is empty") }
        guard Set(operations).count == operations.count else { throw fail("the operation list \(operations) repeats a name") }
        for r in reductionCells where r < 0 || r >= cellCount {
            throw fail("reduction cell position \(r) is outside 0..<\(cellCount)")
        }
        var size = inputSize
        for _ in reductionCells { size = (size - 1) / 2 + 1 }
        guard size >= 1 else { throw fail("too many reductions for \(inputSize)-pixel inputs") }
        for name in operations {
            do { _ = try registry.lookup(name) } catch { throw fail(error.description) }
        }
    }
}

/// A search space configuration that cannot be built.
public struct SearchSpaceError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { "search space: \(message)" }
}
