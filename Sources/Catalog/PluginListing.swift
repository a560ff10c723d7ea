import JSON
import SearchSpace

/// The text of `metanas plugins list`: one line per registered plugin (kind, name, source,
/// summary), its documented parameters below it, then the pipelines.
public enum PluginListing {
    /// One row of the listing.
    public struct Row: Sendable, Equatable {
        public var kind: String, name: String, source: String, summary: String
    }

    /// The rows, built-ins first, in registration order.
    public static func rows(_ registry: PluginRegistry) -> [Row] {
        registry.plugins.map { p in
            let source: String
            switch p.source {
            case .builtIn: source = "built-in"
            case .plugin(let path): source = "plugin \(path)"
            }
            return Row(kind: p.id.kind.rawValue, name: p.id.name, source: source,
                       summary: p.summary.isEmpty ? "(not documented in the catalog)" : p.summary)
        }
    }

    /// The whole listing.
    ///
    /// - Parameter parameters: also list each plugin's parameters.
    public static func text(_ registry: PluginRegistry, parameters: Bool = true) -> String {
        let rows = rows(registry)
        let header = Row(kind: "KIND", name: "NAME", source: "SOURCE", summary: "SUMMARY")
        let kindWidth = (rows + [header]).map(\.kind.count).max()!
        let nameWidth = (rows + [header]).map(\.name.count).max()!
        let sourceWidth = min(40, (rows + [header]).map(\.source.count).max()!)
        func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(1, w - s.count + 2)) }
        var text = ""
        for (row, plugin) in [(header, nil)] + zip(rows, registry.plugins).map({ ($0, Optional($1)) }) {
            text += pad(row.kind, kindWidth) + pad(row.name, nameWidth)
            text += row.source.count > sourceWidth ? row.source + "\n" + String(repeating: " ", count: kindWidth + nameWidth + 4)
                + pad("", sourceWidth) : pad(row.source, sourceWidth)
            text += row.summary + "\n"
            guard parameters, let entry = plugin?.entry else { continue }
            for p in entry.parameters {
                let range = p.range.map { " in \($0)" } ?? ""
                let summary = p.summary.isEmpty ? "" : ": \(p.summary)"
                text += String(repeating: " ", count: kindWidth + 2) + "  \(entry.id.name).\(p.name) \(p.type.rawValue) = "
                    + "\(p.defaultValue)\(range) -> \(p.setting)\(summary)\n"
            }
        }
        let pipelines = registry.catalog.pipelines
        text += "\npipelines (metanas search --pipeline NAME): "
            + (pipelines.isEmpty ? "none" : pipelines.map(\.name).joined(separator: ", ")) + "\n"
        return text
    }
}
