/// A DARTS genotype string that could not be read, with the place where it went wrong.
///
/// Prints as `column 37: expected ')' after input index` (with a line when the text has several).
public struct DARTSSyntaxError: Error, CustomStringConvertible, Equatable, Sendable {
    /// 0-based offset in Unicode scalars from the start of the text.
    public var offset: Int
    /// 1-based line and column (in Unicode scalars).
    public var line: Int
    public var column: Int
    public var message: String
    /// Whether the text had more than one line (then the line is printed too).
    public var multiline: Bool

    public var description: String {
        multiline ? "line \(line), column \(column): \(message)" : "column \(column): \(message)"
    }
}

extension Genotype {
    /// Parses a genotype as DARTS and MetaNAS print it (Python `namedtuple` repr).
    ///
    /// Accepted forms:
    /// ```
    /// Genotype(normal=[[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], [('skip_connect', 0), ...]],
    ///          normal_concat=range(2, 5), reduce=[[...], ...], reduce_concat=range(2, 5))   # MetaNAS, per node
    /// Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...], normal_concat=[2, 3, 4], ...)  # DARTS, flat
    /// ```
    /// The flat form has two edges per node. Strings may use either quote; concat may be
    /// `range(a, b)`, `range(b)`, a list or a tuple; missing concat means every node; fields may come in
    /// any order; whitespace and trailing commas are free.
    ///
    /// - Throws: `DARTSSyntaxError` at the first place that does not fit, also for inputs and
    ///   concat entries out of range.
    public init(dartsString text: String) throws(DARTSSyntaxError) {
        var parser = DARTSParser(text)
        self = try parser.parseGenotype()
    }

    /// The genotype in MetaNAS' nested per-node form; ``init(dartsString:)`` reads it back equal.
    ///
    /// `Genotype(normal=[[('sep_conv_3x3', 0), ...], ...], normal_concat=range(2, 5), reduce=..., reduce_concat=...)`.
    /// A concat that is a run of consecutive states prints as `range(a, b)`, otherwise as a list.
    public var dartsString: String {
        "Genotype(normal=\(DARTSPrinter.nodes(normal)), normal_concat=\(DARTSPrinter.concat(normal.concat)), "
            + "reduce=\(DARTSPrinter.nodes(reduce)), reduce_concat=\(DARTSPrinter.concat(reduce.concat)))"
    }
}

extension Genotype: CustomStringConvertible {
    /// The DARTS string (see ``dartsString``).
    public var description: String { dartsString }
}

enum DARTSPrinter {
    static func nodes(_ cell: Cell) -> String {
        "[" + cell.nodes.map { edges in
            "[" + edges.map { "(\(quote($0.op)), \($0.input))" }.joined(separator: ", ") + "]"
        }.joined(separator: ", ") + "]"
    }

    static func concat(_ concat: [Int]) -> String {
        if let first = concat.first, concat == Array(first..<(first + concat.count)) {
            return "range(\(first), \(first + concat.count))"
        }
        return "[" + concat.map(String.init).joined(separator: ", ") + "]"
    }

    /// A Python single-quoted string literal.
    static func quote(_ s: String) -> String {
        var out = "'"
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "'"
    }
}

/// Recursive-descent parser over Unicode scalars.
struct DARTSParser {
    private let scalars: [Unicode.Scalar]
    private var i = 0

    init(_ text: String) { scalars = Array(text.unicodeScalars) }

    // MARK: Errors and lexing helpers

    private func error(_ message: String, at offset: Int? = nil) -> DARTSSyntaxError {
        let offset = offset ?? i
        var line = 1
        var column = 1
        for k in 0..<min(offset, scalars.count) {
            if scalars[k] == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return DARTSSyntaxError(offset: offset, line: line, column: column, message: message,
                                multiline: scalars.contains("\n"))
    }

    /// What stands at the cursor, for "found ..." in messages.
    private var found: String {
        guard i < scalars.count else { return "end of text" }
        return "'\(Character(scalars[i]))'"
    }

    private mutating func skipSpace() {
        while i < scalars.count, scalars[i].properties.isWhitespace { i += 1 }
    }

    private mutating func peek(_ c: Unicode.Scalar) -> Bool {
        skipSpace()
        return i < scalars.count && scalars[i] == c
    }

    private mutating func accept(_ c: Unicode.Scalar) -> Bool {
        if peek(c) {
            i += 1
            return true
        }
        return false
    }

    private mutating func expect(_ c: Unicode.Scalar, _ context: String) throws(DARTSSyntaxError) {
        guard accept(c) else { throw error("expected '\(Character(c))' \(context), found \(found)") }
    }

    private mutating func identifier() -> String? {
        skipSpace()
        let start = i
        while i < scalars.count, scalars[i] == "_" || (scalars[i].isASCII && scalars[i].properties.isAlphabetic)
            || (i > start && ("0"..."9").contains(scalars[i]))
        {
            i += 1
        }
        return i > start ? String(String.UnicodeScalarView(scalars[start..<i])) : nil
    }

    private mutating func integer(_ what: String) throws(DARTSSyntaxError) -> (value: Int, offset: Int) {
        skipSpace()
        let start = i
        if i < scalars.count, scalars[i] == "-" { i += 1 }
        let digitsStart = i
        while i < scalars.count, ("0"..."9").contains(scalars[i]) { i += 1 }
        guard i > digitsStart else {
            i = start
            throw error("expected \(what), found \(found)")
        }
        guard let v = Int(String(String.UnicodeScalarView(scalars[start..<i]))) else {
            throw error("\(what) is too large", at: start)
        }
        return (v, start)
    }

    private mutating func string(_ what: String) throws(DARTSSyntaxError) -> String {
        skipSpace()
        guard i < scalars.count, scalars[i] == "'" || scalars[i] == "\"" else {
            throw error("expected \(what) in quotes, found \(found)")
        }
        let quote = scalars[i]
        let start = i
        i += 1
        var text = String.UnicodeScalarView()
        while true {
            guard i < scalars.count else { throw error("unterminated string", at: start) }
            let c = scalars[i]
            i += 1
            if c == quote { break }
            if c == "\n" { throw error("unterminated string", at: start) }
            if c == "\\" {
                guard i < scalars.count else { throw error("unterminated string", at: start) }
                let e = scalars[i]
                i += 1
                switch e {
                case "n": text.append("\n")
                case "t": text.append("\t")
                case "r": text.append("\r")
                case "\\", "'", "\"": text.append(e)
                default: throw error("unsupported escape '\\\(Character(e))' in string", at: i - 2)
                }
            } else {
                text.append(c)
            }
        }
        return String(text)
    }

    // MARK: Grammar

    mutating func parseGenotype() throws(DARTSSyntaxError) -> Genotype {
        skipSpace()
        let nameStart = i
        guard identifier() == "Genotype" else {
            i = nameStart
            throw error("expected 'Genotype('")
        }
        try expect("(", "after 'Genotype'")
        var nodes: [CellKind: (edges: [[(Edge, Int)]], offset: Int)] = [:]
        var concats: [CellKind: (values: [(Int, Int)], offset: Int)] = [:]
        let fields = ["normal", "normal_concat", "reduce", "reduce_concat"]
        while !peek(")") {
            let fieldStart = i
            guard let name = identifier() else { throw error("expected a field name (\(fields.joined(separator: ", "))), found \(found)") }
            guard fields.contains(name) else {
                throw error("unknown field '\(name)' (expected \(fields.joined(separator: ", ")))", at: fieldStart)
            }
            try expect("=", "after '\(name)'")
            let kind: CellKind = name.hasPrefix("normal") ? .normal : .reduce
            if name.hasSuffix("_concat") {
                guard concats[kind] == nil else { throw error("field '\(name)' given twice", at: fieldStart) }
                concats[kind] = (try concatList(), fieldStart)
            } else {
                guard nodes[kind] == nil else { throw error("field '\(name)' given twice", at: fieldStart) }
                nodes[kind] = (try nodeList(), fieldStart)
            }
            if !accept(",") {
                guard peek(")") else { throw error("expected ',' or ')' after field '\(name)', found \(found)") }
            }
        }
        let closing = i
        i += 1
        skipSpace()
        guard i == scalars.count else { throw error("unexpected text after the genotype") }

        var cells: [CellKind: Cell] = [:]
        for kind in CellKind.allCases {
            guard let parsed = nodes[kind] else { throw error("missing field '\(kind.rawValue)'", at: closing) }
            // Inputs are checked once the node they belong to is known.
            for (node, edges) in parsed.edges.enumerated() {
                for (edge, offset) in edges where edge.input < 0 || edge.input >= 2 + node {
                    throw error("input \(edge.input) out of range for node \(node) of the \(kind.rawValue) cell (expected 0...\(1 + node))", at: offset)
                }
            }
            let count = parsed.edges.count
            var concat = Array(2..<(2 + count))
            if let given = concats[kind] {
                var seen = Set<Int>()
                for (value, offset) in given.values {
                    guard value >= 2, value < 2 + count else {
                        throw error("\(kind.rawValue)_concat: \(value) is not an intermediate state of a \(count)-node cell (expected 2...\(1 + count))", at: offset)
                    }
                    guard seen.insert(value).inserted else { throw error("\(kind.rawValue)_concat lists \(value) twice", at: offset) }
                }
                concat = given.values.map(\.0)
            }
            cells[kind] = Cell(nodes: parsed.edges.map { $0.map(\.0) }, concat: concat)
        }
        return Genotype(normal: cells[.normal]!, reduce: cells[.reduce]!)
    }

    /// `[[edge, ...], ...]` (per node) or `[edge, edge, ...]` (flat, two per node).
    private mutating func nodeList() throws(DARTSSyntaxError) -> [[(Edge, Int)]] {
        try expect("[", "to open the list of nodes")
        if accept("]") { return [] }
        if peek("(") {
            let start = i
            var flat: [(Edge, Int)] = []
            repeat {
                if peek("]") { break }
                flat.append(try edge())
            } while accept(",")
            try expect("]", "after the last edge")
            guard flat.count % 2 == 0 else {
                throw error("a flat edge list needs two edges per node, found \(flat.count) edges", at: start)
            }
            return stride(from: 0, to: flat.count, by: 2).map { Array(flat[$0..<($0 + 2)]) }
        }
        var nodes: [[(Edge, Int)]] = []
        repeat {
            if peek("]") { break }
            try expect("[", "to open a node's edge list")
            var edges: [(Edge, Int)] = []
            repeat {
                if peek("]") { break }
                edges.append(try edge())
            } while accept(",")
            try expect("]", "after the last edge of a node")
            nodes.append(edges)
        } while accept(",")
        try expect("]", "after the last node")
        return nodes
    }

    /// `('op', input)`.
    private mutating func edge() throws(DARTSSyntaxError) -> (Edge, Int) {
        try expect("(", "to open an edge")
        let op = try string("an operation name")
        if op.isEmpty { throw error("empty operation name", at: i - 2) }
        try expect(",", "after operation name")
        let (input, offset) = try integer("an input index")
        _ = accept(",")
        try expect(")", "after input index")
        return (Edge(op: op, input: input), offset)
    }

    /// `range(a, b)`, `range(b)`, `[a, b, ...]` or `(a, b, ...)`; returns values with offsets.
    private mutating func concatList() throws(DARTSSyntaxError) -> [(Int, Int)] {
        skipSpace()
        let start = i
        if identifier() == "range" {
            try expect("(", "after 'range'")
            let first = try integer("a concat bound")
            var bounds = (lower: 0, upper: first.value)
            if accept(",") {
                let second = try integer("a concat bound")
                bounds = (first.value, second.value)
            }
            try expect(")", "to close 'range'")
            guard bounds.lower <= bounds.upper else { throw error("empty range(\(bounds.lower), \(bounds.upper))", at: start) }
            return (bounds.lower..<bounds.upper).map { ($0, start) }
        }
        i = start
        let close: Unicode.Scalar
        if accept("[") {
            close = "]"
        } else if accept("(") {
            close = ")"
        } else {
            throw error("expected range(a, b) or a list of node indices, found \(found)")
        }
        var values: [(Int, Int)] = []
        repeat {
            if peek(close) { break }
            values.append(try integer("a node index"))
        } while accept(",")
        try expect(close, "after the last concat index")
        return values
    }
}
