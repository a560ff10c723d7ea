#if canImport(Glibc)
import Glibc
#endif
import Engine
import MetaLearning

/// One subcommand of `metanas`: parses its own arguments, validates them, then runs.
protocol Command {
    /// The word that selects it, e.g. `search`.
    static var name: String { get }
    /// One line for the top-level help.
    static var summary: String { get }
    /// Full usage text printed for `--help`.
    static var usage: String { get }
    /// Options that take no value.
    static var flagNames: Set<String> { get }
    init(_ arguments: inout Arguments) throws
    func run() throws
}

extension Command {
    static var flagNames: Set<String> { [] }
}

/// Writes a line to standard error.
func printError(_ message: String, newline: Bool = true) {
    var line = message
    if newline && !line.hasSuffix("\n") { line += "\n" }
    _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress!, $0.count - 1) }
}

func topLevelHelp() -> String {
    let commands = allCommands
    var text = "metanas: meta-learning neural architectures for few-shot learning\n\nUsage: metanas <command> [options]\n\nCommands:\n"
    for c in commands {
        text += "  " + c.name + String(repeating: " ", count: max(1, 20 - c.name.count)) + c.summary + "\n"
    }
    text += "\nRun `metanas <command> --help` for a command's options.\n"
    return text
}

@main
enum MetaNAS {
  static func main() {
    selectBLASKernels()
    configureAllocatorForTensors()
    let launch: Launch
    do {
        launch = try Launch.start(environment: environment())
    } catch {
        printError("metanas: \(error)")
        exit(1)
    }
    launch.finish(status: run(launch.communicator))
  }

  /// The process environment as a dictionary.
  static func environment() -> [String: String] {
    var out: [String: String] = [:]
    var p = environ
    while let entry = p.pointee {
        let text = String(cString: entry)
        if let eq = text.firstIndex(of: "=") { out[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
        p += 1
    }
    return out
  }

  /// Re-executes the program once with `OPENBLAS_CORETYPE` set when the BLAS library would not
  /// recognise this processor on its own (see `recommendedBLASCoreType`). A value the user set
  /// is always kept.
  static func selectBLASKernels() {
    guard getenv("OPENBLAS_CORETYPE") == nil, getenv("METANAS_NO_REEXEC") == nil,
          let core = recommendedBLASCoreType() else { return }
    setenv("OPENBLAS_CORETYPE", core, 1)
    setenv("METANAS_NO_REEXEC", "1", 1)
    var argv = CommandLine.arguments.map { strdup($0) }
    argv.append(nil)
    execv("/proc/self/exe", &argv)
    // If exec fails the program simply continues with the library's own choice.
  }

  /// Runs the command named on the command line in `communicator`'s processes and returns the
  /// exit status. Rank 0 prints help and results; every rank prints its own errors (ranks
  /// other than 0 name themselves).
  static func run(_ communicator: any Communicator) -> Int32 {
    let commands = allCommands
    var raw = Array(CommandLine.arguments.dropFirst())
    let leader = communicator.isLeader
    let prefix = leader ? "metanas" : "metanas (rank \(communicator.rank) of \(communicator.size))"
    guard let word = raw.first, word != "--help", word != "-h", word != "help" else {
        if leader { print(topLevelHelp(), terminator: "") }
        return raw.isEmpty ? 2 : 0
    }
    raw.removeFirst()
    // Two-word commands (`genotype draw`, `catalog validate`) are matched first.
    var type: (any Command.Type)?
    if let second = raw.first, let t = commands.first(where: { $0.name == "\(word) \(second)" }) {
        type = t
        raw.removeFirst()
    } else {
        type = commands.first(where: { $0.name == word })
    }
    guard let type else {
        let known = commands.map { $0.name }.joined(separator: ", ")
        printError("\(prefix): unknown command '\(word)'. Commands: \(known)")
        return 2
    }
    if raw.contains("--help") || raw.contains("-h") {
        if leader { print(type.usage) }
        return 0
    }
    do {
        try execute(type, raw, across: communicator)
        return 0
    } catch let error as CLIError {
        printError("\(prefix): \(error)")
        return 2
    } catch {
        printError("\(prefix) \(type.name): error: \(error)")
        return 1
    }
}
}

/// Parses, validates and runs one command (generic, so the existential is opened here): a
/// ``DistributedCommand`` in every process, any other on rank 0 only.
func execute<C: Command>(_ type: C.Type, _ raw: [String], across communicator: any Communicator) throws {
    var args = try Arguments(command: C.name, raw, flagNames: C.flagNames)
    let command = try C(&args)
    try args.checkAllConsumed()
    if let distributed = command as? any DistributedCommand {
        try distributed.run(across: communicator)
    } else if communicator.isLeader {
        try command.run()
    }
}
