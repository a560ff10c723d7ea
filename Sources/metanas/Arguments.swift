/// A tiny command-line parser: `--name value`, `--flag`, and positionals, with errors that say
/// what to type instead. (No outside packages can be fetched, so the CLI brings its own.)
struct Arguments {
    private(set) var positionals: [String] = []
    fileprivate(set) var options: [String: String] = [:]
    private var flags: Set<String> = []
    fileprivate(set) var consumed: Set<String> = []
    let command: String

    /// Splits `raw` into options and positionals. `flagNames` lists options that take no value.
    init(command: String, _ raw: [String], flagNames: Set<String>) throws {
        self.command = command
        var i = 0
        while i < raw.count {
            let arg = raw[i]
            if arg == "--" {
                positionals += raw[(i + 1)...]
                break
            }
            if arg.hasPrefix("--") {
                var name = String(arg.dropFirst(2))
                var value: String?
                if let eq = name.firstIndex(of: "=") {
                    value = String(name[name.index(after: eq)...])
                    name = String(name[..<eq])
                }
                if flagNames.contains(name) {
                    guard value == nil else { throw CLIError("\(command): --\(name) takes no value") }
                    flags.insert(name)
                } else {
                    if value == nil {
                        guard i + 1 < raw.count else {
                            throw CLIError("\(command): --\(name) needs a value (e.g. --\(name) VALUE)")
                        }
                        i += 1
                        value = raw[i]
                    }
                    options[name] = value
                }
            } else {
                positionals.append(arg)
            }
            i += 1
        }
    }

    /// Whether `--name` was given.
    mutating func flag(_ name: String) -> Bool {
        consumed.insert(name)
        return flags.contains(name)
    }

    /// The raw value of `--name`, if given.
    mutating func string(_ name: String) -> String? {
        consumed.insert(name)
        return options[name]
    }

    /// `--name` parsed as `T`, or `nil` when absent; a value that does not parse is an error.
    mutating func value<T: LosslessStringConvertible>(_ name: String, as: T.Type = T.self) throws -> T? {
        guard let raw = string(name) else { return nil }
        guard let v = T(raw) else {
            throw CLIError("\(command): --\(name) expects \(T.self == Int.self ? "an integer" : "a number"), got '\(raw)'")
        }
        return v
    }

    /// `--name` as one of an enum's cases; the error lists the valid spellings.
    mutating func choice<T: RawRepresentable & CaseIterable>(_ name: String, as: T.Type = T.self) throws -> T?
    where T.RawValue == String {
        guard let raw = string(name) else { return nil }
        guard let v = T(rawValue: raw) else {
            let valid = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw CLIError("\(command): --\(name) '\(raw)' is not one of: \(valid)")
        }
        return v
    }

    /// Fails on any option the command did not read, so that typos are never silently ignored.
    func checkAllConsumed() throws {
        let unknown = Set(options.keys).union(flags).subtracting(consumed)
        if let first = unknown.sorted().first {
            throw CLIError("\(command): unknown option --\(first) (see `metanas \(command) --help`)")
        }
    }
}

/// An error in how the command was invoked; printed as-is, exit status 2.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

extension Arguments {
    /// A copy with `--name value` set (used when two option groups read one option).
    func with(_ name: String, _ value: String) -> Arguments {
        var copy = self
        copy.options[name] = value
        copy.consumed.remove(name)
        return copy
    }
}
