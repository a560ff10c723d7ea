import Engine

/// One N-way few-shot task: a labelled support set to adapt on and a query set to score.
///
/// Images are engine tensors in NCHW layout with one channel. Support row `i * shots + s`
/// is image `s` of the task's `i`-th drawn class, whose label is `supportLabels[i * shots + s]`
/// (likewise for queries); labels are `0 ..< ways` in a random order per task.
public struct FewShotTask: Sendable {
    /// Classes per task (N).
    public let ways: Int
    /// Support images per class (k).
    public let shots: Int
    /// Query images per class (q).
    public let queries: Int
    /// `[ways * shots, 1, S, S]`.
    public let support: Tensor
    /// The label of each support row.
    public let supportLabels: [Int]
    /// `[ways * queries, 1, S, S]`.
    public let query: Tensor
    /// The label of each query row.
    public let queryLabels: [Int]
    /// For each label, the index of its class in the split the task was drawn from.
    public let classOfLabel: [Int]

    /// The side length of the images.
    public var imageSize: Int { support.shape[3] }

    /// Draws a training batch of `size` support images uniformly with replacement.
    ///
    /// The reference setup draws batches of 20 from a 15-shot support set for every inner step.
    ///
    /// - Parameters:
    ///   - size: The batch size (B).
    ///   - generator: The random stream; advanced by `size` draws.
    /// - Returns: Images `[B, 1, S, S]` and their labels.
    public func supportBatch(size: Int, using generator: inout SeededGenerator) -> (images: Tensor, labels: [Int]) {
        precondition(size > 0, "supportBatch: size \(size) must be positive")
        let side = imageSize
        let perImage = side * side
        let rows = (0..<size).map { _ in generator.nextInt(below: supportLabels.count) }
        var data = [Float](repeating: 0, count: size * perImage)
        support.data.withUnsafeBufferPointer { source in
            data.withUnsafeMutableBufferPointer { destination in
                for (i, row) in rows.enumerated() {
                    _ = UnsafeMutableBufferPointer(rebasing: destination[(i * perImage)..<((i + 1) * perImage)])
                        .update(fromContentsOf: source[(row * perImage)..<((row + 1) * perImage)])
                }
            }
        }
        return (Tensor(shape: [size, 1, side, side], data: data), rows.map { supportLabels[$0] })
    }
}

/// Where the classes of a task come from.
public enum ClassDraw: Sendable, Hashable {
    /// Any classes of the split.
    case anyClasses
    /// Classes of one alphabet (of one source image set), as in Lake et al.'s one-shot runs.
    case withinAlphabet
}

/// Draws N-way, k-shot, q-query tasks from a split, reproducibly from a caller's generator.
///
/// The sampler is an immutable value: all randomness comes from the ``SeededGenerator`` passed
/// to ``sample(using:)``, so a checkpoint that saves the generator's `state` resumes the same
/// task stream. The constructor checks once that the split has enough classes and images;
/// sampling then cannot fail and costs only the copies of the chosen images (a 20-way task
/// with 15 + 1 images per class of 28x28 is 320 image copies), so a meta-training loop can
/// draw ten tasks per iteration without measurable cost.
///
/// Per task:
/// 1. `ways` distinct classes are drawn without replacement (partial Fisher-Yates), from the
///    whole split or, with ``ClassDraw/withinAlphabet``, from one alphabet drawn uniformly among
///    those with at least `ways` classes (Lake's within-alphabet protocol);
/// 2. the labels `0 ..< ways` are shuffled and given to the drawn classes in draw order;
/// 3. per class, `shots + queries` distinct images are drawn; the first `shots` form the
///    support set and the rest the query set, so the two never share an image.
public struct TaskSampler: Sendable {
    /// The split tasks are drawn from.
    public let split: ClassSplit
    /// Classes per task.
    public let ways: Int
    /// Support images per class.
    public let shots: Int
    /// Query images per class.
    public let queries: Int
    /// Where each task's classes come from.
    public let classDraw: ClassDraw
    /// The groups classes are drawn from: one group of all classes, or one per eligible alphabet.
    private let groups: [[Int]]

    /// Checks the task shape against the split.
    ///
    /// - Parameters:
    ///   - split: The classes to draw from.
    ///   - ways: Classes per task (at least 1).
    ///   - shots: Support images per class (at least 1).
    ///   - queries: Query images per class (at least 0).
    ///   - classDraw: Draw a task's classes from the whole split (default) or from one alphabet.
    /// - Throws: ``DatasetError/tooManyWays(split:requested:available:)`` when the split (or,
    ///   within alphabets, its largest alphabet) has fewer classes than `ways`;
    ///   ``DatasetError/tooFewImages(split:className:shots:queries:available:)``
    ///   naming the smallest class when it has fewer than `shots + queries` images;
    ///   ``DatasetError/invalidParameter(name:value:reason:)`` for counts out of range.
    public init(split: ClassSplit, ways: Int, shots: Int, queries: Int, classDraw: ClassDraw = .anyClasses) throws {
        for (name, value, minimum) in [("ways", ways, 1), ("shots", shots, 1), ("queries", queries, 0)]
        where value < minimum {
            throw DatasetError.invalidParameter(name: name, value: "\(value)", reason: "must be at least \(minimum)")
        }
        guard ways <= split.classCount else {
            throw DatasetError.tooManyWays(split: split.name, requested: ways, available: split.classCount)
        }
        switch classDraw {
        case .anyClasses:
            groups = [Array(split.classes.indices)]
        case .withinAlphabet:
            var byAlphabet: [String: [Int]] = [:]
            var order: [String] = []
            for index in split.classes.indices {
                let key = "\(split.classes[index].source)/\(split.characterClass(index).alphabetIndex)"
                if byAlphabet[key] == nil { order.append(key) }
                byAlphabet[key, default: []].append(index)
            }
            let all = order.map { byAlphabet[$0]! }
            groups = all.filter { $0.count >= ways }
            guard !groups.isEmpty else {
                throw DatasetError.tooManyWays(split: "\(split.name) (within one alphabet)", requested: ways,
                                               available: all.map(\.count).max() ?? 0)
            }
        }
        if let smallest = split.classes.indices.min(by: { split.imageCount(ofClass: $0) < split.imageCount(ofClass: $1) }),
           split.imageCount(ofClass: smallest) < shots + queries {
            throw DatasetError.tooFewImages(split: split.name, className: split.className(smallest), shots: shots,
                                            queries: queries, available: split.imageCount(ofClass: smallest))
        }
        self.split = split
        self.ways = ways
        self.shots = shots
        self.queries = queries
        self.classDraw = classDraw
    }

    /// Draws one task.
    ///
    /// - Parameter generator: The random stream; the same state always gives the same task.
    /// - Returns: The task's support and query sets.
    public func sample(using generator: inout SeededGenerator) -> FewShotTask {
        let side = split.imageSize
        let perImage = side * side
        let group = groups.count == 1 ? groups[0] : groups[generator.nextInt(below: groups.count)]
        let chosen = Self.drawDistinct(ways, from: group.count, using: &generator).map { group[$0] }
        var labels = Array(0..<ways)
        ClassSplit.shuffle(&labels, using: &generator)

        var supportData = [Float](repeating: 0, count: ways * shots * perImage)
        var queryData = [Float](repeating: 0, count: ways * queries * perImage)
        var supportLabels: [Int] = []
        var queryLabels: [Int] = []
        supportLabels.reserveCapacity(ways * shots)
        queryLabels.reserveCapacity(ways * queries)
        var classOfLabel = [Int](repeating: 0, count: ways)

        supportData.withUnsafeMutableBufferPointer { support in
            queryData.withUnsafeMutableBufferPointer { query in
                for (position, classIndex) in chosen.enumerated() {
                    let label = labels[position]
                    classOfLabel[label] = classIndex
                    let samples = Self.drawDistinct(shots + queries, from: split.imageCount(ofClass: classIndex),
                                                    using: &generator)
                    for (j, sample) in samples.enumerated() {
                        let isSupport = j < shots
                        let row = isSupport ? position * shots + j : position * queries + (j - shots)
                        let target = isSupport ? support : query
                        let slot = target[(row * perImage)..<((row + 1) * perImage)]
                        split.copyImage(ofClass: classIndex, sample: sample, into: UnsafeMutableBufferPointer(rebasing: slot))
                        if isSupport { supportLabels.append(label) } else { queryLabels.append(label) }
                    }
                }
            }
        }
        return FewShotTask(ways: ways, shots: shots, queries: queries,
                           support: Tensor(shape: [ways * shots, 1, side, side], data: supportData),
                           supportLabels: supportLabels,
                           query: Tensor(shape: [ways * queries, 1, side, side], data: queryData),
                           queryLabels: queryLabels, classOfLabel: classOfLabel)
    }

    /// Draws `count` distinct integers from `0 ..< bound` in random order (partial Fisher-Yates).
    static func drawDistinct(_ count: Int, from bound: Int, using generator: inout SeededGenerator) -> [Int] {
        precondition(count <= bound, "drawDistinct: \(count) distinct values from 0..<\(bound)")
        var pool = Array(0..<bound)
        for i in 0..<count {
            pool.swapAt(i, i + generator.nextInt(below: bound - i))
        }
        return Array(pool[0..<count])
    }
}
