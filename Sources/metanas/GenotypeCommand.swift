#if canImport(Glibc)
import Glibc
#endif
import Genotype
import JSON

// `metanas genotype show|draw|diff|summarize`: look at, draw, compare and summarise genotypes.
//
// Every command reads genotypes the same way (see `GenotypeInput`): an argument is a file (a
// `metanas.genotype/1` or `metanas.architecture/1` JSON document, JSON lines, or DARTS strings
// one per line) or, when it starts with `Genotype(`, a DARTS string itself.

/// Helpers shared by the `genotype` subcommands.
enum GenotypeCLI {
    /// Which cells to draw.
    enum CellChoice: String, CaseIterable {
        case normal, reduce, both

        var kinds: [CellKind] {
            switch self {
            case .normal: return [.normal]
            case .reduce: return [.reduce]
            case .both: return CellKind.allCases
            }
        }
    }

    /// An input that could not be read, worded for the command line.
    struct InputError: Error, CustomStringConvertible {
        let description: String
    }

    /// Reads every genotype an argument stands for; errors read `file:line:col: message`.
    static func loadGenotypes(_ argument: String) throws -> [GenotypeRecord] {
        let trimmed = argument.drop(while: { $0 == " " || $0 == "\n" || $0 == "\t" })
        if trimmed.hasPrefix("Genotype(") {
            do {
                return [GenotypeRecord(genotype: try Genotype(dartsString: argument), origin: "argument")]
            } catch {
                // Show the string with a caret under the column (single-line strings only).
                var text = "DARTS string, \(error)"
                if !error.multiline {
                    let shown = String(argument.unicodeScalars.prefix(error.column + 40))
                    text += "\n  \(shown)\(shown.unicodeScalars.count < argument.unicodeScalars.count ? "..." : "")"
                    text += "\n  " + String(repeating: " ", count: max(0, error.column - 1)) + "^"
                }
                throw GenotypeCLI.InputError(description: text)
            }
        }
        do {
            return try GenotypeInput.load(path: argument)
        } catch let error as JSONError {
            // The caller prefixes "error:"; keep the place first so editors can jump to it.
            let place = [error.source, error.line.map(String.init), error.column.map(String.init)].compactMap { $0 }
            throw GenotypeCLI.InputError(description: place.joined(separator: ":") + ": " + error.message)
        }
    }

    /// Exactly one genotype from an argument, picking entry `index` (1-based) of multi-entry files.
    static func loadOneGenotype(_ argument: String, index: Int?) throws -> GenotypeRecord {
        let records = try GenotypeCLI.loadGenotypes(argument)
        if let index {
            guard (1...records.count).contains(index) else {
                throw GenotypeCLI.InputError(description: "\(argument) holds \(records.count) genotype(s); --index must be 1...\(records.count)")
            }
            return records[index - 1]
        }
        guard records.count == 1 else {
            throw GenotypeCLI.InputError(description: "\(argument) holds \(records.count) genotypes; pick one with --index N (1...\(records.count))")
        }
        return records[0]
    }

    /// Fails early when an argument names neither an existing file nor a DARTS string.
    static func checkGenotypeArgument(_ command: String, _ argument: String) throws {
        if argument.drop(while: { $0 == " " }).hasPrefix("Genotype(") { return }
        guard access(argument, R_OK) == 0 else {
            throw CLIError("\(command): cannot read '\(argument)'; give a genotype or architecture JSON file, a JSON-lines file, or a DARTS string in quotes: \"Genotype(normal=[...], ...)\"")
        }
    }

    /// Output file kinds, told by extension.
    enum DrawingFormat {
        case svg, dot

        init(path: String, command: String) throws {
            if path.hasSuffix(".svg") {
                self = .svg
            } else if path.hasSuffix(".dot") || path.hasSuffix(".gv") {
                self = .dot
            } else {
                throw CLIError("\(command): --out '\(path)' must end in .svg or .dot (e.g. --out cell.svg)")
            }
        }
    }
}

// MARK: - genotype show

/// `metanas genotype show INPUT`: the genotype in DARTS and JSON form, with its canonical hash.
struct GenotypeShowCommand: Command {
    static let name = "genotype show"
    static let summary = "print a genotype as DARTS string and JSON, with its canonical hash"
    static let usage = """
        Usage: metanas genotype show INPUT [--canonical] [--index N]

          INPUT        a genotype or architecture JSON file, a JSON-lines file, or a DARTS
                       string such as "Genotype(normal=[[('sep_conv_3x3', 0), ...]], ...)"
          --canonical  print the canonical form (nodes renumbered by dependency, edges sorted)
          --index N    only the N-th genotype of a multi-genotype file (1-based)
        """
    static let flagNames: Set<String> = ["canonical"]

    let input: String
    let canonical: Bool
    let index: Int?

    init(_ a: inout Arguments) throws {
        guard a.positionals.count == 1 else {
            throw CLIError("genotype show: expected one INPUT, got \(a.positionals.count) (e.g. metanas genotype show best.json)")
        }
        input = a.positionals[0]
        canonical = a.flag("canonical")
        index = try a.value("index")
        try GenotypeCLI.checkGenotypeArgument(Self.name, input)
    }

    func run() throws {
        var records = try GenotypeCLI.loadGenotypes(input)
        if let index {
            guard (1...max(1, records.count)).contains(index), !records.isEmpty else {
                throw GenotypeCLI.InputError(description: "\(input) holds \(records.count) genotype(s); --index must be 1...\(records.count)")
            }
            records = [records[index - 1]]
        }
        for (k, record) in records.enumerated() {
            let g = canonical ? record.genotype.canonicalized() : record.genotype
            if records.count > 1 { print("\(k == 0 ? "" : "\n")# \(record.origin)") }
            print("canonical hash: \(g.canonicalHash)")
            print("normal: \(g.normal.nodeCount) nodes, \(g.normal.edgeCount) edges; reduce: \(g.reduce.nodeCount) nodes, \(g.reduce.edgeCount) edges")
            if let state = record.architecture {
                let source = state.genotype == nil ? "derived from the weights" : "as exported"
                print("architecture: \(state.operations.count) operations, temperature \(state.temperature), genotype \(source)")
                let p = state.provenance
                let parts = [p.configHash.map { "config \($0)" }, p.seed.map { "seed \($0)" }, p.split.map { "split \($0)" },
                             p.taskID.map { "task \($0)" }].compactMap { $0 }
                    + p.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                if !parts.isEmpty { print("provenance: " + parts.joined(separator: ", ")) }
            }
            print("DARTS:")
            print(g.dartsString)
            print("JSON:")
            print(g.jsonText(), terminator: "")
        }
    }
}

// MARK: - genotype draw

/// `metanas genotype draw INPUT --out FILE`: an SVG or DOT picture, or an alpha/beta heat map.
struct GenotypeDrawCommand: Command {
    static let name = "genotype draw"
    static let summary = "draw a genotype's cells (SVG or Graphviz DOT) or an architecture heat map"
    static let usage = """
        Usage: metanas genotype draw INPUT --out FILE.svg|FILE.dot [--cell normal|reduce|both]
                                     [--heatmap] [--title TEXT] [--index N]

          INPUT      a genotype or architecture JSON file, a JSON-lines file, or a DARTS string
          --out      the picture to write; .svg draws the cells side by side, .dot writes
                     Graphviz text (render with `dot -Tpng`)
          --cell     which cells (default both)
          --heatmap  draw the alpha/beta weights of an architecture file instead (SVG only)
          --title    a caption above the cells
          --index    the N-th genotype of a multi-genotype file (1-based)
        Edges of an architecture file are drawn thicker the larger their weight.
        """
    static let flagNames: Set<String> = ["heatmap"]

    let input: String
    let out: String
    let format: GenotypeCLI.DrawingFormat
    let cells: GenotypeCLI.CellChoice
    let heatmap: Bool
    let title: String?
    let index: Int?

    init(_ a: inout Arguments) throws {
        guard a.positionals.count == 1 else {
            throw CLIError("genotype draw: expected one INPUT, got \(a.positionals.count) (e.g. metanas genotype draw best.json --out best.svg)")
        }
        input = a.positionals[0]
        guard let out = a.string("out") else {
            throw CLIError("genotype draw: --out is required (e.g. --out cell.svg or --out cell.dot)")
        }
        self.out = out
        format = try GenotypeCLI.DrawingFormat(path: out, command: Self.name)
        cells = try a.choice("cell") ?? .both
        heatmap = a.flag("heatmap")
        title = a.string("title")
        index = try a.value("index")
        if heatmap && format != .svg {
            throw CLIError("genotype draw: --heatmap writes SVG; use --out FILE.svg")
        }
        try GenotypeCLI.checkGenotypeArgument(Self.name, input)
    }

    func run() throws {
        let record = try GenotypeCLI.loadOneGenotype(input, index: index)
        let text: String
        if heatmap {
            guard let state = record.architecture else {
                throw GenotypeCLI.InputError(description: "\(record.origin): --heatmap needs a metanas.architecture/1 file (this is a genotype without weights)")
            }
            text = GenotypeDrawing.heatMapSVG(state, cells: cells.kinds)
        } else if format == .svg {
            text = GenotypeDrawing.svg(record.genotype, cells: cells.kinds, weights: record.architecture, title: title)
        } else {
            text = GenotypeDrawing.dot(record.genotype, cells: cells.kinds, weights: record.architecture, name: title ?? "genotype")
        }
        try writeFileAtomically(text, to: out)
        print("wrote \(out)")
    }
}

// MARK: - genotype diff

/// `metanas genotype diff A B`: edit distance after canonicalisation and the list of edits.
struct GenotypeDiffCommand: Command {
    static let name = "genotype diff"
    static let summary = "edit distance between two genotypes, the edits, and a highlighted SVG"
    static let usage = """
        Usage: metanas genotype diff A B [--out diff.svg] [--index-a N] [--index-b N]

          A, B       genotypes: JSON files, JSON-lines files or DARTS strings
          --out      also write both genotypes side by side with the differing edges
                     highlighted (red: only in A or changed, green: only in B or changed)
          --index-a  the N-th genotype of a multi-genotype file A (1-based); --index-b for B
        Node numbering does not count: cells equal up to renumbering have distance 0.
        """

    let a: String
    let b: String
    let out: String?
    let indexA: Int?
    let indexB: Int?

    init(_ arguments: inout Arguments) throws {
        guard arguments.positionals.count == 2 else {
            throw CLIError("genotype diff: expected two inputs A B, got \(arguments.positionals.count) (e.g. metanas genotype diff run1.json run2.json)")
        }
        a = arguments.positionals[0]
        b = arguments.positionals[1]
        out = arguments.string("out")
        indexA = try arguments.value("index-a")
        indexB = try arguments.value("index-b")
        if let out, !out.hasSuffix(".svg") {
            throw CLIError("genotype diff: --out '\(out)' must end in .svg (e.g. --out diff.svg)")
        }
        try GenotypeCLI.checkGenotypeArgument(Self.name, a)
        try GenotypeCLI.checkGenotypeArgument(Self.name, b)
    }

    func run() throws {
        let ga = try GenotypeCLI.loadOneGenotype(a, index: indexA).genotype
        let gb = try GenotypeCLI.loadOneGenotype(b, index: indexB).genotype
        let diff = GenotypeDiff(ga, gb)
        print("A: \(ga.canonicalHash)")
        print("B: \(gb.canonicalHash)")
        print(diff.text, terminator: "")
        if let out {
            try writeFileAtomically(GenotypeDrawing.diffSVG(ga, gb, diff: diff), to: out)
            print("wrote \(out)")
        }
    }
}

// MARK: - genotype summarize

/// `metanas genotype summarize FILES...`: op histograms, distinct cells, consensus.
struct GenotypeSummarizeCommand: Command {
    static let name = "genotype summarize"
    static let summary = "op histograms, distinct cells and a consensus over many genotypes"
    static let usage = """
        Usage: metanas genotype summarize FILE... [--skip-op NAME] [--out summary.txt]
                                          [--consensus consensus.json]

          FILE         genotype or architecture JSON files, JSON-lines files (one genotype
                       per line) or files of DARTS strings (one per line); any mix
          --skip-op    the op counted as a skip connection (default skip_connect)
          --out        also write the report to a file
          --consensus  write the consensus genotype as a metanas.genotype/1 file
        Cells are compared up to node renumbering (canonical hash).
        """

    let files: [String]
    let skipOp: String
    let out: String?
    let consensusOut: String?

    init(_ a: inout Arguments) throws {
        guard !a.positionals.isEmpty else {
            throw CLIError("genotype summarize: expected at least one FILE (e.g. metanas genotype summarize runs/*/genotype.json)")
        }
        files = a.positionals
        skipOp = a.string("skip-op") ?? "skip_connect"
        out = a.string("out")
        consensusOut = a.string("consensus")
        for file in files { try GenotypeCLI.checkGenotypeArgument(Self.name, file) }
    }

    func run() throws {
        var genotypes: [Genotype] = []
        for file in files { genotypes += try GenotypeCLI.loadGenotypes(file).map(\.genotype) }
        let summary = GenotypeSummary(genotypes, skipOp: skipOp)
        let report = "files: \(files.count)\n" + summary.text
        print(report, terminator: "")
        if let out { try writeFileAtomically(report, to: out) }
        if let consensusOut, let consensus = summary.consensus {
            try writeFileAtomically(consensus.jsonText(), to: consensusOut)
        }
    }
}
