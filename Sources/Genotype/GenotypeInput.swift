import JSON

/// A genotype read from a file or a command-line argument, with where it came from.
public struct GenotypeRecord: Sendable {
    public var genotype: Genotype
    /// The architecture state when the source was a `metanas.architecture/1` document.
    public var architecture: ArchitectureState?
    /// `file`, `file:line` for JSON-lines and DARTS-lines files, or `argument`.
    public var origin: String

    public init(genotype: Genotype, architecture: ArchitectureState? = nil, origin: String) {
        self.genotype = genotype
        self.architecture = architecture
        self.origin = origin
    }
}

/// Reading genotypes from the forms users have at hand.
///
/// A text may be one JSON document (a genotype or an architecture state, told apart by their
/// `schema`), JSON lines (one such document per line), or DARTS strings (one per line, as
/// MetaNAS logs print them); blank lines are skipped. Errors are ``JSONError``s placed at the
/// file, line and column, also for DARTS strings.
public enum GenotypeInput {
    /// Reads a JSON genotype or architecture document at `cursor`, choosing by its `schema`.
    ///
    /// - Throws: `JSONError` naming the path, line and column.
    public static func decode(_ cursor: JSONCursor, origin: String) throws(JSONError) -> GenotypeRecord {
        let known = "'\(GenotypeSchema.genotype)' or '\(GenotypeSchema.architecture)'"
        // Run-folder history lines wrap a document with its iteration:
        // {"iteration": 100, "genotype": {...}} (genotypes.jsonl).
        if try cursor.optionalMember("schema") == nil, let inner = try cursor.optionalMember("genotype") {
            let iteration = (try? cursor.optionalMember("iteration")?.int(in: 0...Int.max)).flatMap { $0 }
            return try decode(inner, origin: iteration.map { "\(origin) (iteration \($0))" } ?? origin)
        }
        guard let schemaCursor = try cursor.optionalMember("schema") else {
            throw cursor.error("missing key 'schema' (expected \(known))")
        }
        switch try schemaCursor.string() {
        case GenotypeSchema.genotype:
            return GenotypeRecord(genotype: try Genotype(json: cursor), origin: origin)
        case GenotypeSchema.architecture:
            let state = try ArchitectureState(json: cursor)
            return GenotypeRecord(genotype: state.resolvedGenotype, architecture: state, origin: origin)
        case let other where other.hasPrefix("metanas.genotype/") || other.hasPrefix("metanas.architecture/"):
            throw schemaCursor.error("unsupported schema version '\(other)' (this build reads \(known))")
        case let other:
            throw schemaCursor.error("unknown schema '\(other)' (expected \(known))")
        }
    }

    /// Reads every genotype in `text`.
    ///
    /// - Parameter source: the file name used in origins and errors.
    /// - Throws: `JSONError` at the first problem.
    public static func parse(_ text: String, source: String) throws(JSONError) -> [GenotypeRecord] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let filled = lines.enumerated().filter { !$0.element.allSatisfy(\.isWhitespace) }
        guard let first = filled.first else { throw JSONError(source: source, message: "no genotype found (the file is empty)") }
        let firstText = first.element.trimmingWhitespace()
        let linewise = firstText.hasPrefix("Genotype(")
            || (filled.count > 1 && (try? JSONDocument.parse(String(firstText), source: source)) != nil)
        if !linewise {
            let document = try JSONDocument.parse(text, source: source)
            // A meta-test report (evaluation.json) lists one cell per test task.
            if document.value["per_task"]?.arrayValue != nil {
                var records: [GenotypeRecord] = []
                for (i, task) in try document.root.member("per_task").elements().enumerated() {
                    records.append(try decode(try task.member("genotype"), origin: "\(source) task \(i + 1)"))
                }
                return records
            }
            return [try decode(document.root, origin: source)]
        }
        var records: [GenotypeRecord] = []
        for (index, line) in filled {
            let lineNumber = index + 1
            let origin = "\(source):\(lineNumber)"
            let trimmed = line.trimmingWhitespace()
            if trimmed.hasPrefix("Genotype(") {
                do {
                    records.append(GenotypeRecord(genotype: try Genotype(dartsString: String(line)), origin: origin))
                } catch {
                    throw JSONError(source: source, line: lineNumber, column: error.column, message: error.message)
                }
            } else {
                let document = try JSONDocument.parse(String(line), source: source, firstLine: lineNumber)
                records.append(try decode(document.root, origin: origin))
            }
        }
        return records
    }

    /// Reads every genotype in a file (see ``parse(_:source:)``).
    ///
    /// - Throws: `FileError` when the file cannot be read, `JSONError` for its contents.
    public static func load(path: String) throws -> [GenotypeRecord] {
        try parse(readFile(path), source: path)
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return s
    }
}
