/// One step of a path into a JSON document: an object member or an array element.
///
/// Paths are written as array literals: `["plugins", 3, "name"]`.
public enum JSONPathComponent: Hashable, Sendable {
    case key(String)
    case index(Int)
}

extension JSONPathComponent: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public init(stringLiteral value: String) { self = .key(value) }
    public init(integerLiteral value: Int) { self = .index(value) }
}

/// A path from the document root; empty for the root itself.
public typealias JSONPath = [JSONPathComponent]

/// Formats a path the way a reader would write it: `plugins[3].name`, `(root)` for the root.
///
/// Keys that are not simple identifiers are quoted: `labels["my key"]`.
public func jsonPathDescription(_ path: JSONPath) -> String {
    if path.isEmpty { return "(root)" }
    var text = ""
    for component in path {
        switch component {
        case .index(let i):
            text += "[\(i)]"
        case .key(let k):
            let simple = !k.isEmpty && k.unicodeScalars.allSatisfy { s in
                s == "_" || s == "-" || (s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s)))
            }
            if simple {
                text += text.isEmpty ? k : ".\(k)"
            } else {
                let escaped = k.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"")
                text += "[\"\(escaped)\"]"
            }
        }
    }
    return text
}

extension String {
    /// Replaces every occurrence of `target` (non-empty) by `replacement`, without Foundation.
    func replacingAll(_ target: String, with replacement: String) -> String {
        precondition(!target.isEmpty, "replacingAll: empty target")
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        result += rest
        return result
    }
}
