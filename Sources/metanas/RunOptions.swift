#if canImport(Glibc)
import Glibc
#endif
import Engine
import JSON
import MetaLearning

/// Options shared by `search` and `evaluate`: where the settings come from and how many
/// threads to use.
struct RunOptions {
    static let flagNames: Set<String> = []
    static let help = """
          --preset NAME      start from a named preset: \(RunConfig.presetNames.joined(separator: ", ")) (default small)
          --config FILE      a JSON object of settings applied over the preset
          --set KEY=VALUE    one setting (repeatable as --set a=1,b=2 or several --set); see `metanas catalog settings`
          --dataset NAME     synthetic (generated, default) or omniglot
          --data DIR         folder with the archives (default datasets/synthetic or datasets/omniglot)
          --seed N           seed of every random stream
          --threads N        worker threads (default: all cores)
        """

    var config: RunConfig
    let threads: Int

    init(_ a: inout Arguments, defaultPreset: String = "small") throws {
        let presetName = a.string("preset") ?? defaultPreset
        guard var c = RunConfig.preset(presetName) else {
            throw CLIError("\(a.command): unknown preset '\(presetName)'; presets: \(RunConfig.presetNames.joined(separator: ", "))")
        }
        if let file = a.string("config") {
            let doc = try JSONDocument.load(contentsOf: file)
            try c.apply(doc.value)
        }
        if let d = a.string("dataset") { try c.set("dataset", text: d) }
        c.dataFolder = a.string("data") ?? (c.dataset == .synthetic ? "datasets/synthetic" : "datasets/omniglot")
        if let sets = a.string("set") {
            for assignment in sets.split(separator: ",", omittingEmptySubsequences: true) {
                guard let eq = assignment.firstIndex(of: "=") else {
                    throw CLIError("\(a.command): --set expects KEY=VALUE, got '\(assignment)'")
                }
                try c.set(String(assignment[..<eq]), text: String(assignment[assignment.index(after: eq)...]))
            }
        }
        if let seed: Int = try a.value("seed") { c.seed = UInt64(truncatingIfNeeded: seed) }
        try c.validate()
        config = c
        threads = try a.value("threads") ?? availableCores()
        guard threads >= 1 else { throw CLIError("\(a.command): --threads must be at least 1") }
    }
}

/// The number of online processors.
func availableCores() -> Int {
    #if canImport(Glibc)
    return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    #else
    return 1
    #endif
}
