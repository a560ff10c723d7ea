import JSON
import MetaLearning

/// The type of a plugin parameter, as written in a catalog (`"type": "float"`).
public enum ParameterType: String, Sendable, Hashable, CaseIterable {
    case int, float, bool, string

    /// The ``MetaLearning/ConfigField`` kind a parameter of this type may bind to.
    var configKind: ConfigField.Kind {
        switch self {
        case .int: return .int
        case .float: return .float
        case .bool: return .bool
        case .string: return .string
        }
    }

    /// Whether `value` has this type. Integers are floats too; `2.0` is not an int.
    func accepts(_ value: JSONValue) -> Bool {
        switch (self, value) {
        case (.int, .int), (.float, .int), (.float, .double), (.bool, .bool), (.string, .string): return true
        default: return false
        }
    }

    /// "an integer", "a number", ... for messages.
    var article: String {
        switch self {
        case .int: return "an integer"
        case .float: return "a number"
        case .bool: return "true or false"
        case .string: return "a string"
        }
    }
}

/// An interval of allowed numbers, written in a catalog as in mathematics: `"[0, 10]"`,
/// `"[0, 1)"`, `"(0, inf)"`.
public struct ParameterRange: Sendable, Hashable, CustomStringConvertible {
    public var lower: Double, upper: Double
    public var includesLower: Bool, includesUpper: Bool

    public init(lower: Double, upper: Double, includesLower: Bool = true, includesUpper: Bool = true) {
        (self.lower, self.upper, self.includesLower, self.includesUpper) = (lower, upper, includesLower, includesUpper)
    }

    /// Parses interval notation; `nil` when the text is not an interval with `lower <= upper`.
    ///
    /// ```
    /// range   = ("[" | "(") bound "," bound ("]" | ")")
    /// bound   = number | "inf" | "-inf"          (infinite bounds must be open)
    /// ```
    public init?(parsing text: String) {
        let t = text.filter { $0 != " " }
        guard let open = t.first, let close = t.last, "[(".contains(open), "])".contains(close), t.count >= 5 else { return nil }
        let inner = t.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false)
        guard inner.count == 2 else { return nil }
        func bound(_ s: Substring) -> Double? {
            switch s {
            case "inf", "+inf": return .infinity
            case "-inf": return -.infinity
            default:
                // Only plain decimal numbers: no "nan", no hex floats.
                guard s.allSatisfy({ "0123456789+-.eE".contains($0) }), let d = Double(s), d.isFinite else { return nil }
                return d
            }
        }
        guard let lo = bound(inner[0]), let hi = bound(inner[1]), lo <= hi, lo != .infinity, hi != -.infinity else { return nil }
        self.init(lower: lo, upper: hi, includesLower: open == "[", includesUpper: close == "]")
        if (lo.isInfinite && includesLower) || (hi.isInfinite && includesUpper) { return nil }
        if lo == hi && !(includesLower && includesUpper) { return nil }
    }

    public func contains(_ x: Double) -> Bool {
        guard x.isFinite else { return false }
        let aboveLower = includesLower ? x >= lower : x > lower
        let belowUpper = includesUpper ? x <= upper : x < upper
        return aboveLower && belowUpper
    }

    public var description: String {
        func text(_ d: Double) -> String {
            if d.isInfinite { return d < 0 ? "-inf" : "inf" }
            if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
            return "\(d)"
        }
        return "\(includesLower ? "[" : "(")\(text(lower)), \(text(upper))\(includesUpper ? "]" : ")")"
    }
}

/// One documented parameter of a plugin, bound to the ``MetaLearning/RunConfig`` setting that
/// carries its value into the run.
///
/// ```json
/// "weightStep": {"type": "float", "default": 1.0, "range": "[0, 10]",
///                "setting": "metaWeightStep", "summary": "meta step size for weights"}
/// ```
public struct PluginParameter: Sendable {
    public var name: String
    public var type: ParameterType
    public var defaultValue: JSONValue
    public var range: ParameterRange?
    /// The RunConfig key that holds the value.
    public var setting: String
    public var summary: String
    /// Where the declaration stands in its catalog file (for messages).
    public var origin: CatalogOrigin

    /// What is wrong with `value` for this parameter, or `nil` when it fits.
    public func problem(with value: JSONValue) -> String? {
        guard type.accepts(value) else { return "expects \(type.article), found \(value.kindDescription)" }
        if let range, let d = value.doubleValue, !range.contains(d) {
            return "\(value) is out of range \(range)"
        }
        return nil
    }
}

/// A place in a catalog file: the parsed document and a path in it. Every model value keeps
/// one, so checks made long after parsing still report `file:line:column`.
public struct CatalogOrigin: Sendable {
    public let document: JSONDocument
    public let path: JSONPath

    public init(document: JSONDocument, path: JSONPath) { (self.document, self.path) = (document, path) }

    /// An error at this place, or at `suffix` below it.
    public func error(_ suffix: JSONPath = [], _ message: String, atKey: Bool = false) -> JSONError {
        document.error(at: path + suffix, message, atKey: atKey)
    }

    init(_ cursor: JSONCursor) { (document, path) = (cursor.document, cursor.path) }
}
