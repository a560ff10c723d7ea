#if canImport(Glibc)
import Glibc
#endif
import Genotype
import JSON

/// `metanas report RUN_FOLDER`: one self-contained HTML page about a run.
struct ReportCommand: Command {
    static let name = "report"
    static let summary = "one self-contained HTML page of a run: curves, cells, weights, meta-test"
    static let usage = """
        Usage: metanas report RUN_FOLDER [--out FILE.html]

        Reads the run folder written by `metanas search` (metrics.jsonl, genotypes.jsonl,
        architecture.json and .jsonl, evaluation.json, config.json; whichever exist) and writes
        one HTML page with no outside files: learning curves with the warm-up and search phases
        and the meta-tests' 95% intervals, the temperature, the architecture weights over
        training, the meta-cells and their alpha/beta heat map, the meta-test accuracy and the
        cells the test tasks ended with. Works on a run still in progress.

          RUN_FOLDER   the folder given to `metanas search --run`
          --out FILE   where to write the page (default RUN_FOLDER/report.html)

        Example:
          metanas report runs/small-seed0 && xdg-open runs/small-seed0/report.html
        """

    let folder: String
    let out: String

    init(_ a: inout Arguments) throws {
        guard a.positionals.count == 1 else {
            throw CLIError("report: expected one RUN_FOLDER, got \(a.positionals.count) (e.g. metanas report runs/small-seed0)")
        }
        folder = a.positionals[0]
        var info = stat()
        guard stat(folder, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw CLIError("report: '\(folder)' is not a folder; give the folder written by `metanas search --run DIR`")
        }
        out = a.string("out") ?? (folder.hasSuffix("/") ? folder : folder + "/") + "report.html"
        guard out.hasSuffix(".html") || out.hasSuffix(".htm") else {
            throw CLIError("report: --out '\(out)' must end in .html (e.g. --out report.html)")
        }
    }

    func run() throws {
        let record: RunRecord
        do {
            record = try RunRecord(folder: folder)
        } catch let error as JSONError {
            // Keep the place first so editors can jump to it.
            let place = [error.source, error.line.map(String.init), error.column.map(String.init)].compactMap { $0 }
            throw GenotypeCLI.InputError(description: place.joined(separator: ":") + ": " + error.message)
        }
        try writeFileAtomically(RunReport.html(record), to: out)
        var parts = ["\(record.iterations.count) iterations", "\(record.genotypes.count) genotype checkpoints",
                     "\(record.architectures.count) architecture checkpoints"]
        if let e = record.evaluation { parts.append("meta-test \(fixed2(e.accuracy * 100))% ± \(fixed2(e.ci95 * 100))%") }
        print("wrote \(out) (\(parts.joined(separator: ", ")))")
    }

    private func fixed2(_ x: Double) -> String {
        let r = (x * 100).rounded() / 100
        let text = String(r)
        guard let dot = text.firstIndex(of: ".") else { return text + ".00" }
        let decimals = text.distance(from: dot, to: text.endIndex) - 1
        return decimals >= 2 ? text : text + String(repeating: "0", count: 2 - decimals)
    }
}
