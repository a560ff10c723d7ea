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
          --threads N        worker threads (default: all cores, shared among the MPI ranks on one machine)
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

/// The default number of worker threads: the processors this process may run on, shared among
/// the processes of an MPI job on this machine.
///
/// A process pinned to some processors (`taskset`, `mpirun`'s default binding of one or two
/// ranks to cores) uses those; an unpinned one gets an equal part of all online processors when
/// `mpirun` started several ranks here.
func availableCores() -> Int {
    #if canImport(Glibc)
    let online = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    if let allowed = allowedProcessors(), allowed > 0 && allowed < online { return allowed }
    let localRanks = getenv("OMPI_COMM_WORLD_LOCAL_SIZE").flatMap { Int(String(cString: $0)) } ?? 1
    return max(1, online / max(1, localRanks))
    #else
    return 1
    #endif
}

/// The number of processors this process may run on (its affinity mask, from the
/// `Cpus_allowed` line of `/proc/self/status`), or `nil` when that cannot be read.
func allowedProcessors() -> Int? {
    guard let bytes = try? Engine.readFile("/proc/self/status") else { return nil }
    let text = String(decoding: bytes, as: UTF8.self)
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) else { return nil }
    let mask = line.dropFirst("Cpus_allowed:".count).filter { $0.isHexDigit }
    return mask.reduce(0) { $0 + ($1.hexDigitValue ?? 0).nonzeroBitCount }
}
