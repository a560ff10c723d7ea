import Engine

extension ClassSplit {
    /// Vinyals et al.'s train/validation/test sizes in characters (1028 + 172 + 423 = 1623).
    public static let vinyalsSizes = [1028, 172, 423]

    /// Splits the characters of several image sets at random into parts of the given sizes.
    ///
    /// All classes of all sets are pooled (in set order, then class order), shuffled with the
    /// generator (Fisher-Yates), and cut into consecutive parts; each part keeps its classes
    /// in pool order. The same seed always gives the same split. Sizes that add up to less
    /// than the pool leave the rest unused.
    ///
    /// - Parameters:
    ///   - sets: The image sets to pool (e.g. Omniglot's background and evaluation).
    ///   - sizes: Characters per part, e.g. `[1200, 423]` or `[1100, 100, 423]`.
    ///   - names: Part names; `train`/`test` or `train`/`validation`/`test` by default.
    ///   - generator: The random stream; advanced by the shuffle.
    /// - Returns: One split per size.
    /// - Throws: ``DatasetError/splitTooLarge(unit:requested:available:)`` when the sizes add
    ///   up to more characters than exist; ``DatasetError/invalidParameter(name:value:reason:)``
    ///   for a size below 1 or a wrong number of names.
    public static func randomCharacters(from sets: [ImageSet], sizes: [Int], names: [String]? = nil,
                                        using generator: inout SeededGenerator) throws -> [ClassSplit] {
        let names = try partNames(names, count: sizes.count)
        try validate(sizes: sizes, unit: "characters")
        var pool: [SplitClass] = []
        for (source, set) in sets.enumerated() {
            pool += set.classes.indices.map { SplitClass(source: source, classIndex: $0) }
        }
        guard sizes.reduce(0, +) <= pool.count else {
            throw DatasetError.splitTooLarge(unit: "characters", requested: sizes, available: pool.count)
        }
        shuffle(&pool, using: &generator)
        var start = 0
        return try zip(sizes, names).map { size, name in
            defer { start += size }
            let part = pool[start..<(start + size)].sorted { ($0.source, $0.classIndex) < ($1.source, $1.classIndex) }
            return try ClassSplit(name: name, sources: sets, classes: part)
        }
    }

    /// Splits whole alphabets of several image sets at random into parts of the given counts.
    ///
    /// All alphabets of all sets are shuffled with the generator and cut into consecutive
    /// parts of `alphabetCounts` alphabets; a part holds every character of its alphabets, so
    /// no alphabet is shared between parts. The class counts of the parts depend on which
    /// alphabets were drawn; read them from ``classCount``.
    ///
    /// - Parameters:
    ///   - sets: The image sets to pool.
    ///   - alphabetCounts: Alphabets per part, e.g. `[30, 20]` or `[25, 5, 20]`.
    ///   - names: Part names; `train`/`test` or `train`/`validation`/`test` by default.
    ///   - generator: The random stream; advanced by the shuffle.
    /// - Returns: One split per count.
    /// - Throws: ``DatasetError/splitTooLarge(unit:requested:available:)`` when the counts add
    ///   up to more alphabets than exist; ``DatasetError/invalidParameter(name:value:reason:)``
    ///   for a count below 1 or a wrong number of names.
    public static func byAlphabet(from sets: [ImageSet], alphabetCounts: [Int], names: [String]? = nil,
                                  using generator: inout SeededGenerator) throws -> [ClassSplit] {
        let names = try partNames(names, count: alphabetCounts.count)
        try validate(sizes: alphabetCounts, unit: "alphabets")
        var pool: [(source: Int, alphabet: Int)] = []
        for (source, set) in sets.enumerated() {
            pool += set.alphabets.indices.map { (source, $0) }
        }
        guard alphabetCounts.reduce(0, +) <= pool.count else {
            throw DatasetError.splitTooLarge(unit: "alphabets", requested: alphabetCounts, available: pool.count)
        }
        shuffle(&pool, using: &generator)
        var start = 0
        return try zip(alphabetCounts, names).map { count, name in
            defer { start += count }
            let chosen = pool[start..<(start + count)].sorted { ($0.source, $0.alphabet) < ($1.source, $1.alphabet) }
            var classes: [SplitClass] = []
            for (source, alphabet) in chosen {
                for (index, characterClass) in sets[source].classes.enumerated()
                where characterClass.alphabetIndex == alphabet {
                    classes.append(SplitClass(source: source, classIndex: index))
                }
            }
            return try ClassSplit(name: name, sources: sets, classes: classes)
        }
    }

    /// Default or checked part names.
    private static func partNames(_ names: [String]?, count: Int) throws -> [String] {
        if let names {
            guard names.count == count else {
                throw DatasetError.invalidParameter(name: "names", value: names.joined(separator: ","),
                                                    reason: "need one name per part (\(count))")
            }
            return names
        }
        switch count {
        case 2: return ["train", "test"]
        case 3: return ["train", "validation", "test"]
        default: return (1...max(1, count)).prefix(count).map { "part\($0)" }
        }
    }

    /// Rejects empty or non-positive part sizes.
    private static func validate(sizes: [Int], unit: String) throws {
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 > 0 }) else {
            throw DatasetError.invalidParameter(name: "sizes", value: sizes.map(String.init).joined(separator: "/"),
                                                reason: "need at least one part and a positive number of \(unit) per part")
        }
    }

    /// Fisher-Yates shuffle driven by the seeded generator (stable across Swift versions).
    static func shuffle<T>(_ array: inout [T], using generator: inout SeededGenerator) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(i, generator.nextInt(below: i + 1))
        }
    }
}
