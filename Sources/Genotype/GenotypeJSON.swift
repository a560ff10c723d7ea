import JSON

/// Names of the versioned JSON formats of this module (see docs/genotype-schema.md).
///
/// A genotype document:
/// ```json
/// {
///   "schema": "metanas.genotype/1",
///   "normal": {
///     "nodes": [[{"op": "sep_conv_3x3", "input": 0}, {"op": "skip_connect", "input": 1}], ...],
///     "concat": [2, 3, 4]
///   },
///   "reduce": { ... }
/// }
/// ```
/// `nodes[i]` lists the edges of intermediate node i; `input` is 0 (c_{k-2}), 1 (c_{k-1}) or
/// 2 + j (node j < i). `concat` lists the states concatenated into the cell output. Unknown
/// keys are errors. Readers accept any `metanas.genotype/1` document and reject other versions.
public enum GenotypeSchema {
    public static let genotype = "metanas.genotype/1"
    public static let architecture = "metanas.architecture/1"

    /// Checks the `schema` member of an object against `expected`.
    ///
    /// - Throws: `JSONError` at the member (or the object when it is missing) with a message
    ///   that says what the document is and what was expected.
    static func check(_ cursor: JSONCursor, expected: String) throws(JSONError) {
        guard let member = try cursor.optionalMember("schema") else {
            throw cursor.error("missing key 'schema' (expected \"\(expected)\")")
        }
        let found = try member.string()
        guard found != expected else { return }
        let family = expected.split(separator: "/").first.map(String.init) ?? expected
        if found.hasPrefix(family + "/") {
            throw member.error("unsupported schema version '\(found)' (this build reads '\(expected)')")
        }
        throw member.error("expected a '\(expected)' document, found schema '\(found)'")
    }
}

extension Cell {
    /// The cell as a JSON object `{"nodes": [[{"op", "input"}...]...], "concat": [...]}`.
    public var json: JSONValue {
        let nodes: [JSONValue] = nodes.map { edges in
            .array(edges.map { ["op": .string($0.op), "input": .int(Int64($0.input))] })
        }
        return ["nodes": .array(nodes), "concat": .array(concat.map { .int(Int64($0)) })]
    }

    /// Reads a cell object, checking that every input and concat entry is in range.
    ///
    /// - Throws: `JSONError` naming the JSON path, line and column of the first problem.
    public init(json cursor: JSONCursor) throws(JSONError) {
        try cursor.checkKeys(["nodes", "concat"])
        let nodeCursors = try cursor.member("nodes").elements()
        var nodes: [[Edge]] = []
        for (i, nodeCursor) in nodeCursors.enumerated() {
            var edges: [Edge] = []
            for edgeCursor in try nodeCursor.elements() {
                try edgeCursor.checkKeys(["op", "input"])
                let opCursor = try edgeCursor.member("op")
                let op = try opCursor.string()
                guard !op.isEmpty else { throw opCursor.error("empty operation name") }
                let inputCursor = try edgeCursor.member("input")
                let input = try inputCursor.int()
                guard input >= 0, input < 2 + i else {
                    throw inputCursor.error("input \(input) out of range for node \(i) (expected 0...\(1 + i))")
                }
                edges.append(Edge(op: op, input: input))
            }
            nodes.append(edges)
        }
        var concat = Array(2..<(2 + nodes.count))
        if let concatCursor = try cursor.optionalMember("concat") {
            concat = []
            for entry in try concatCursor.elements() {
                let v = try entry.int()
                guard v >= 2, v < 2 + nodes.count else {
                    throw entry.error(nodes.isEmpty ? "\(v) is not a node: the cell has no intermediate nodes"
                        : "\(v) is not an intermediate state (expected 2...\(1 + nodes.count))")
                }
                guard !concat.contains(v) else { throw entry.error("\(v) is listed twice") }
                concat.append(v)
            }
        }
        self.init(nodes: nodes, concat: concat)
    }
}

extension Genotype {
    /// The genotype document (schema `metanas.genotype/1`).
    public var json: JSONValue {
        ["schema": .string(GenotypeSchema.genotype), "normal": normal.json, "reduce": reduce.json]
    }

    /// Pretty-printed JSON text of ``json`` with a final newline.
    public func jsonText(pretty: Bool = true) -> String { json.serialized(pretty: pretty) + "\n" }

    /// Reads a genotype document at `cursor` (a whole file or a member of a larger document).
    ///
    /// - Throws: `JSONError` naming the JSON path, line and column of the first problem.
    public init(json cursor: JSONCursor) throws(JSONError) {
        try GenotypeSchema.check(cursor, expected: GenotypeSchema.genotype)
        try cursor.checkKeys(["schema", "normal", "reduce"])
        self.init(normal: try Cell(json: cursor.member("normal")), reduce: try Cell(json: cursor.member("reduce")))
    }

    /// Parses a genotype document from text.
    ///
    /// - Throws: `JSONError` for syntax errors and for documents that are not genotypes.
    public init(jsonText text: String, source: String) throws(JSONError) {
        try self.init(json: JSONDocument.parse(text, source: source).root)
    }
}
