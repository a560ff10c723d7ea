/// A minimal SVG builder: every attribute and text goes through XML escaping, so the output is
/// well-formed whatever the op names contain.
struct SVGWriter {
    private(set) var lines: [String] = []
    private var markers: [String: String] = [:]  // colour -> marker id

    /// `&`, `<`, `>`, `"` and `'` escaped, and characters XML 1.0 forbids dropped.
    static func escape(_ text: String) -> String {
        var out = ""
        for s in text.unicodeScalars {
            switch s {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(s)
            default:
                if s.value < 0x20 || s.value == 0xFFFE || s.value == 0xFFFF { continue }
                out.unicodeScalars.append(s)
            }
        }
        return out
    }

    /// An element with attributes in the given order; `text` becomes escaped content.
    mutating func element(_ name: String, _ attributes: [(String, String)], text: String? = nil) {
        let attrs = attributes.map { " \($0.0)=\"\(SVGWriter.escape($0.1))\"" }.joined()
        if let text {
            lines.append("<\(name)\(attrs)>\(SVGWriter.escape(text))</\(name)>")
        } else {
            lines.append("<\(name)\(attrs)/>")
        }
    }

    mutating func open(_ name: String, _ attributes: [(String, String)] = []) {
        let attrs = attributes.map { " \($0.0)=\"\(SVGWriter.escape($0.1))\"" }.joined()
        lines.append("<\(name)\(attrs)>")
    }

    mutating func close(_ name: String) { lines.append("</\(name)>") }

    /// The id of an arrowhead marker in `color` (a `#rrggbb` value), defined once per document.
    mutating func arrow(_ color: String) -> String {
        if let id = markers[color] { return id }
        let id = "arrow-\(markers.count)"
        markers[color] = id
        return id
    }

    /// The finished document.
    func document(width: Double, height: Double) -> String {
        var out = [
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(num(width))\" height=\"\(num(height))\" "
                + "viewBox=\"0 0 \(num(width)) \(num(height))\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">",
            "<rect x=\"0\" y=\"0\" width=\"\(num(width))\" height=\"\(num(height))\" fill=\"#ffffff\"/>",
        ]
        if !markers.isEmpty {
            out.append("<defs>")
            for (color, id) in markers.sorted(by: { $0.value < $1.value }) {
                out.append("<marker id=\"\(id)\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"9\" "
                    + "markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto\">"
                    + "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"\(SVGWriter.escape(color))\"/></marker>")
            }
            out.append("</defs>")
        }
        return (out + lines + ["</svg>"]).joined(separator: "\n") + "\n"
    }
}

/// A coordinate with at most one decimal, without Foundation.
func num(_ x: Double) -> String {
    let r = (x * 10).rounded() / 10
    if r == r.rounded() { return String(Int(r)) }
    return fixed(r, 1)
}

/// Estimated width of `text` in pixels at `size` (DejaVu Sans averages about 0.62 em).
func textWidth(_ text: String, size: Double) -> Double {
    var w = 0.0
    for c in text.unicodeScalars {
        switch c {
        case "i", "l", "j", "1", ".", ",", "'", "|", "(", ")", "[", "]", " ": w += 0.36
        case "m", "w", "M", "W": w += 0.92
        case "A"..."Z": w += 0.7
        default: w += 0.62
        }
    }
    return w * size
}

/// Linear blend of two `#rrggbb` colours.
func blend(_ a: (Double, Double, Double), _ b: (Double, Double, Double), _ t: Double) -> String {
    let t = max(0, min(1, t))
    func hex(_ v: Double) -> String {
        let s = String(Int((v).rounded()), radix: 16)
        return s.count == 1 ? "0" + s : s
    }
    return "#" + hex(a.0 + (b.0 - a.0) * t) + hex(a.1 + (b.1 - a.1) * t) + hex(a.2 + (b.2 - a.2) * t)
}
