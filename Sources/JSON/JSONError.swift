/// A JSON document that could not be read or does not have the expected shape.
///
/// Prints like a compiler diagnostic so that editors can jump to it:
/// `catalog.json:12:5: error: expected ',' or '}' after an object member`.
/// Errors about values built in code (no text behind them) have no line and column:
/// `catalog: error: plugins[3].name: expected a string, found an integer`.
public struct JSONError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file name (or any label) the text came from.
    public var source: String
    /// 1-based line, if the error has a place in a text.
    public var line: Int?
    /// 1-based column counted in Unicode scalars, if the error has a place in a text.
    public var column: Int?
    /// What went wrong, without the location prefix.
    public var message: String

    public init(source: String, line: Int? = nil, column: Int? = nil, message: String) {
        self.source = source
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        if let line, let column { return "\(source):\(line):\(column): error: \(message)" }
        if let line { return "\(source):\(line): error: \(message)" }
        return "\(source): error: \(message)"
    }
}

/// A 1-based line and column in a text; columns count Unicode scalars.
public struct TextPosition: Hashable, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
    public var description: String { "\(line):\(column)" }
}
