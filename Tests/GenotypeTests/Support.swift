import Testing
@testable import Genotype

/// SplitMix64: a tiny seeded generator so random cases are reproducible.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

let referenceOps = ["max_pool_3x3", "avg_pool_3x3", "skip_connect", "conv_1x5_5x1", "conv_3x3", "sep_conv_3x3", "dil_conv_3x3"]

/// The reference 3-node MetaNAS-style cells used across tests.
let referenceGenotype = Genotype(
    normal: Cell(nodes: [
        [Edge(op: "sep_conv_3x3", input: 0), Edge(op: "dil_conv_3x3", input: 1)],
        [Edge(op: "skip_connect", input: 0), Edge(op: "conv_1x5_5x1", input: 2)],
        [Edge(op: "max_pool_3x3", input: 1), Edge(op: "sep_conv_3x3", input: 3)],
    ]),
    reduce: Cell(nodes: [
        [Edge(op: "max_pool_3x3", input: 0), Edge(op: "avg_pool_3x3", input: 1)],
        [Edge(op: "max_pool_3x3", input: 1), Edge(op: "dil_conv_3x3", input: 2)],
        [Edge(op: "skip_connect", input: 2), Edge(op: "conv_3x3", input: 3)],
    ]))

/// A random valid cell: 1...maxNodes nodes, 1...(i+2) edges per node, some odd op names.
func randomCell(_ rng: inout SplitMix, maxNodes: Int = 4, ops: [String] = referenceOps + ["user op 'q'", "a\\b"]) -> Cell {
    let n = 1 + rng.below(maxNodes)
    var nodes: [[Edge]] = []
    for i in 0..<n {
        let k = 1 + rng.below(min(3, i + 2))
        nodes.append((0..<k).map { _ in Edge(op: ops[rng.below(ops.count)], input: rng.below(i + 2)) })
    }
    var concat = (2..<(2 + n)).filter { _ in rng.below(4) != 0 }
    if concat.isEmpty { concat = [2 + n - 1] }
    if rng.below(3) == 0 { concat.reverse() }
    return Cell(nodes: nodes, concat: concat)
}

func randomGenotype(_ rng: inout SplitMix) -> Genotype {
    Genotype(normal: randomCell(&rng), reduce: randomCell(&rng))
}

/// The same cell with its nodes renumbered in a random topological order and edges shuffled.
func renumbered(_ cell: Cell, _ rng: inout SplitMix) -> Cell {
    let n = cell.nodeCount
    var placed: [Int] = []
    var isPlaced = [Bool](repeating: false, count: n)
    while placed.count < n {
        let ready = (0..<n).filter { i in
            !isPlaced[i] && cell.nodes[i].allSatisfy { $0.input < 2 || isPlaced[$0.input - 2] }
        }
        let pick = ready[rng.below(ready.count)]
        isPlaced[pick] = true
        placed.append(pick)
    }
    var newIndex = [Int](repeating: 0, count: n)
    for (k, old) in placed.enumerated() { newIndex[old] = k }
    func map(_ s: Int) -> Int { s < 2 ? s : 2 + newIndex[s - 2] }
    let nodes = placed.map { old in cell.nodes[old].map { Edge(op: $0.op, input: map($0.input)) }.shuffled(using: &rng) }
    return Cell(nodes: nodes, concat: cell.concat.map(map).shuffled(using: &rng))
}

/// A minimal XML well-formedness check: one root element, balanced and properly nested tags,
/// quoted attribute values without `<`, no duplicate attributes, `&` only in entities.
/// Returns a description of the first problem, or nil.
func xmlProblem(_ text: String) -> String? {
    let s = Array(text.unicodeScalars)
    var i = 0
    var stack: [String] = []
    var roots = 0
    func isNameChar(_ c: Unicode.Scalar) -> Bool {
        c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "-" || c == "_" || c == ":" || c == "."
    }
    func entityOK(_ k: Int) -> Bool {
        var j = k + 1
        var name = ""
        while j < s.count, s[j] != ";", j - k < 12 { name.unicodeScalars.append(s[j]); j += 1 }
        guard j < s.count, s[j] == ";" else { return false }
        if ["amp", "lt", "gt", "quot", "apos"].contains(name) { return true }
        if name.hasPrefix("#x") { return name.count > 2 && UInt32(name.dropFirst(2), radix: 16) != nil }
        if name.hasPrefix("#") { return name.count > 1 && UInt32(name.dropFirst()) != nil }
        return false
    }
    // Prolog.
    if text.hasPrefix("<?xml") {
        guard let end = text.firstRange(of: "?>") else { return "unterminated XML declaration" }
        i = text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: end.upperBound)
    }
    while i < s.count {
        let c = s[i]
        if c == "<" {
            if i + 1 < s.count && s[i + 1] == "/" {
                var j = i + 2
                var name = ""
                while j < s.count, isNameChar(s[j]) { name.unicodeScalars.append(s[j]); j += 1 }
                while j < s.count, s[j].properties.isWhitespace { j += 1 }
                guard j < s.count, s[j] == ">" else { return "bad closing tag </\(name) at \(i)" }
                guard stack.last == name else { return "closing </\(name)> does not match <\(stack.last ?? "nothing")> at \(i)" }
                stack.removeLast()
                i = j + 1
                continue
            }
            var j = i + 1
            var name = ""
            while j < s.count, isNameChar(s[j]) { name.unicodeScalars.append(s[j]); j += 1 }
            if name.isEmpty { return "'<' not starting a tag at \(i)" }
            var attributes = Set<String>()
            while true {
                while j < s.count, s[j].properties.isWhitespace { j += 1 }
                guard j < s.count else { return "unterminated tag <\(name)" }
                if s[j] == ">" || (s[j] == "/" && j + 1 < s.count && s[j + 1] == ">") { break }
                var attr = ""
                while j < s.count, isNameChar(s[j]) { attr.unicodeScalars.append(s[j]); j += 1 }
                if attr.isEmpty { return "bad attribute in <\(name)> at \(j)" }
                if !attributes.insert(attr).inserted { return "duplicate attribute \(attr) in <\(name)>" }
                guard j < s.count, s[j] == "=" else { return "attribute \(attr) without value in <\(name)>" }
                j += 1
                guard j < s.count, s[j] == "\"" || s[j] == "'" else { return "unquoted attribute \(attr) in <\(name)>" }
                let quote = s[j]
                j += 1
                while j < s.count, s[j] != quote {
                    if s[j] == "<" { return "'<' in attribute \(attr) of <\(name)>" }
                    if s[j] == "&" && !entityOK(j) { return "bare '&' in attribute \(attr) of <\(name)>" }
                    j += 1
                }
                guard j < s.count else { return "unterminated attribute \(attr)" }
                j += 1
            }
            if stack.isEmpty {
                roots += 1
                if roots > 1 { return "more than one root element" }
            }
            if s[j] == "/" {
                i = j + 2
            } else {
                stack.append(name)
                i = j + 1
            }
            continue
        }
        if c == "&" && !entityOK(i) { return "bare '&' in text at \(i)" }
        if stack.isEmpty && !c.properties.isWhitespace { return "text outside the root element at \(i)" }
        i += 1
    }
    if let open = stack.last { return "unclosed <\(open)>" }
    return roots == 1 ? nil : "no root element"
}

/// How often `needle` occurs in `text`.
func count(_ needle: String, in text: String) -> Int { text.ranges(of: needle).count }
