import JSON

extension ArchitectureState {
    /// The architecture document (schema `metanas.architecture/1`):
    ///
    /// ```json
    /// {
    ///   "schema": "metanas.architecture/1",
    ///   "operations": ["max_pool_3x3", "avg_pool_3x3", ...],
    ///   "temperature": 0.05,
    ///   "threshold": 0.01,
    ///   "normal": {
    ///     "alpha": [[[...one logit per op...], [...]], [[...], [...], [...]], ...],
    ///     "beta": {"form": "pairs", "weights": [[b01], [b01, b02, b12], ...]},
    ///     "pruned": [{"node": 0, "input": 1, "op": "avg_pool_3x3"}]
    ///   },
    ///   "reduce": { ... },
    ///   "genotype": { "schema": "metanas.genotype/1", ... },
    ///   "provenance": {"config_hash": "...", "seed": 1, "split": "background", "task": "17",
    ///                  "labels": {"run": "a"}}
    /// }
    /// ```
    /// `threshold`, `beta`, `pruned`, `genotype` and the members of `provenance` are optional.
    public var json: JSONValue {
        var object: JSONValue = [
            "schema": .string(GenotypeSchema.architecture),
            "operations": .array(operations.map { .string($0) }),
            "temperature": .double(temperature),
        ]
        if let threshold { object["threshold"] = .double(threshold) }
        object["normal"] = normal.json
        object["reduce"] = reduce.json
        if let genotype { object["genotype"] = genotype.json }
        object["provenance"] = provenance.json
        return object
    }

    /// Pretty-printed JSON text of ``json`` with a final newline.
    public func jsonText(pretty: Bool = true) -> String { json.serialized(pretty: pretty) + "\n" }

    /// Reads an architecture document, checking every size against the operation list and the
    /// node count, and the exported genotype against the weights.
    ///
    /// - Throws: `JSONError` naming the JSON path, line and column of the first problem.
    public init(json cursor: JSONCursor) throws(JSONError) {
        try GenotypeSchema.check(cursor, expected: GenotypeSchema.architecture)
        try cursor.checkKeys(["schema", "operations", "temperature", "threshold", "normal", "reduce", "genotype", "provenance"])
        let opsCursor = try cursor.member("operations")
        let operations = try opsCursor.strings()
        guard !operations.isEmpty else { throw opsCursor.error("expected at least one operation") }
        for (k, op) in operations.enumerated() {
            if op.isEmpty { throw opsCursor.document.error(at: opsCursor.path + [.index(k)], "empty operation name") }
            if operations[..<k].contains(op) {
                throw opsCursor.document.error(at: opsCursor.path + [.index(k)], "operation '\(op)' is listed twice")
            }
        }
        let tCursor = try cursor.member("temperature")
        let temperature = try tCursor.double()
        guard temperature > 0, temperature.isFinite else { throw tCursor.error("temperature must be positive, found \(temperature)") }
        var threshold: Double?
        if let c = try cursor.optionalMember("threshold") {
            let t = try c.double()
            guard t >= 0, t < 1 else { throw c.error("threshold must be in [0, 1), found \(t)") }
            threshold = t
        }
        let normal = try CellWeights(json: cursor.member("normal"), operations: operations)
        let reduce = try CellWeights(json: cursor.member("reduce"), operations: operations)
        var genotype: Genotype?
        if let g = try cursor.optionalMember("genotype") {
            let decoded = try Genotype(json: g)
            for (kind, weights) in [(CellKind.normal, normal), (.reduce, reduce)] {
                let cell = decoded[kind]
                let cellPath = g.path + [.key(kind.rawValue)]
                guard cell.nodeCount == weights.nodeCount else {
                    throw g.document.error(at: cellPath + ["nodes"],
                        "the genotype's \(kind.rawValue) cell has \(cell.nodeCount) nodes but its alpha has \(weights.nodeCount)")
                }
                for (i, edges) in cell.nodes.enumerated() {
                    for (j, e) in edges.enumerated() where !operations.contains(e.op) {
                        throw g.document.error(at: cellPath + ["nodes", .index(i), .index(j), "op"],
                            "operation '\(e.op)' is not in 'operations'")
                    }
                }
            }
            genotype = decoded
        }
        var provenance = Provenance()
        if let p = try cursor.optionalMember("provenance") { provenance = try Provenance(json: p) }
        self.init(operations: operations, normal: normal, reduce: reduce, temperature: temperature,
                  threshold: threshold, genotype: genotype, provenance: provenance)
    }

    /// Parses an architecture document from text.
    ///
    /// - Throws: `JSONError` for syntax errors and malformed or mismatched documents.
    public init(jsonText text: String, source: String) throws(JSONError) {
        try self.init(json: JSONDocument.parse(text, source: source).root)
    }
}

extension CellWeights {
    var json: JSONValue {
        var object: JSONValue = [
            "alpha": .array(alpha.map { node in .array(node.map { row in .array(row.map { .double($0) }) }) })
        ]
        if let beta {
            object["beta"] = [
                "form": .string(beta.form),
                "weights": .array(beta.rows.map { row in .array(row.map { .double($0) }) }),
            ]
        }
        if !pruned.isEmpty {
            object["pruned"] = .array(pruned.map {
                ["node": .int(Int64($0.node)), "input": .int(Int64($0.input)), "op": .string($0.op)]
            })
        }
        return object
    }

    init(json cursor: JSONCursor, operations: [String]) throws(JSONError) {
        try cursor.checkKeys(["alpha", "beta", "pruned"])
        var alpha: [[[Double]]] = []
        for (i, node) in try cursor.member("alpha").elements().enumerated() {
            var rows: [[Double]] = []
            for input in try node.elements(count: i + 2, of: "input rows for node \(i) (one per predecessor)") {
                rows.append(try input.doubles(count: operations.count, of: "weights (one per operation)"))
            }
            alpha.append(rows)
        }
        var beta: InputWeights?
        if let b = try cursor.optionalMember("beta") {
            try b.checkKeys(["form", "weights"])
            let formCursor = try b.member("form")
            let form = try formCursor.string()
            guard form == "pairs" || form == "inputs" else {
                throw formCursor.error("unknown beta form '\(form)' (expected pairs or inputs)")
            }
            let weights = try b.member("weights")
            var rows: [[Double]] = []
            for (i, node) in try weights.elements(count: alpha.count, of: "beta rows (one per node)").enumerated() {
                let n = form == "pairs" ? (i + 2) * (i + 1) / 2 : i + 2
                rows.append(try node.doubles(count: n, of: form == "pairs" ? "pair weights for node \(i)" : "input weights for node \(i)"))
            }
            beta = form == "pairs" ? .pairs(rows) : .inputs(rows)
        }
        var pruned: [PrunedOp] = []
        if let p = try cursor.optionalMember("pruned") {
            for entry in try p.elements() {
                try entry.checkKeys(["node", "input", "op"])
                let nodeCursor = try entry.member("node")
                guard !alpha.isEmpty else { throw nodeCursor.error("the cell has no nodes to prune") }
                let node = try nodeCursor.int(in: 0...(alpha.count - 1))
                let input = try entry.member("input").int(in: 0...(node + 1))
                let opCursor = try entry.member("op")
                let op = try opCursor.string()
                guard operations.contains(op) else { throw opCursor.error("operation '\(op)' is not in 'operations'") }
                pruned.append(PrunedOp(node: node, input: input, op: op))
            }
        }
        self.init(alpha: alpha, beta: beta, pruned: pruned)
    }
}

extension Provenance {
    var json: JSONValue {
        var object: JSONValue = [:]
        if let configHash { object["config_hash"] = .string(configHash) }
        if let seed { object["seed"] = .int(Int64(seed)) }
        if let split { object["split"] = .string(split) }
        if let taskID { object["task"] = .string(taskID) }
        if !labels.isEmpty {
            object["labels"] = .object(labels.sorted { $0.key < $1.key }.map { (key: $0.key, value: .string($0.value)) })
        }
        return object
    }

    init(json cursor: JSONCursor) throws(JSONError) {
        try cursor.checkKeys(["config_hash", "seed", "split", "task", "labels"])
        self.init()
        configHash = try cursor.optionalMember("config_hash")?.string()
        seed = try cursor.optionalMember("seed")?.int()
        split = try cursor.optionalMember("split")?.string()
        if let task = try cursor.optionalMember("task") {
            // Task ids may be written as numbers.
            if let n = task.value.int64Value { taskID = String(n) } else { taskID = try task.string() }
        }
        if let l = try cursor.optionalMember("labels") {
            for (key, value) in try l.members() { labels[key] = try value.string() }
        }
    }
}
