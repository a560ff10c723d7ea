import Engine
import Testing
@testable import Datasets

@Suite("Task sampler")
struct TaskSamplerTests {
    /// The pixels of support or query row `row` of an NCHW tensor.
    func row(_ tensor: Tensor, _ row: Int) -> [Float] {
        let perImage = tensor.shape[2] * tensor.shape[3]
        return Array(tensor.data[(row * perImage)..<((row + 1) * perImage)])
    }

    func checkInvariants(_ task: FewShotTask, split: ClassSplit, ways: Int, shots: Int, queries: Int,
                         sourceLocation: SourceLocation = #_sourceLocation) {
        let side = split.imageSize
        #expect(task.support.shape == [ways * shots, 1, side, side], sourceLocation: sourceLocation)
        #expect(task.query.shape == [ways * queries, 1, side, side], sourceLocation: sourceLocation)
        #expect(task.supportLabels.count == ways * shots && task.queryLabels.count == ways * queries,
                sourceLocation: sourceLocation)
        // Distinct classes, labels exactly 0..<N, each label `shots` (`queries`) times.
        #expect(Set(task.classOfLabel).count == ways, sourceLocation: sourceLocation)
        for label in 0..<ways {
            #expect(task.supportLabels.filter { $0 == label }.count == shots, sourceLocation: sourceLocation)
            #expect(task.queryLabels.filter { $0 == label }.count == queries, sourceLocation: sourceLocation)
        }
        #expect(Set(task.supportLabels) == Set(0..<ways), sourceLocation: sourceLocation)
        // Every image belongs to its label's class; support and query images are disjoint.
        for label in 0..<ways {
            let classIndex = task.classOfLabel[label]
            let classImages = (0..<split.imageCount(ofClass: classIndex)).map { split.image(ofClass: classIndex, sample: $0) }
            let supportRows = task.supportLabels.indices.filter { task.supportLabels[$0] == label }.map { row(task.support, $0) }
            let queryRows = task.queryLabels.indices.filter { task.queryLabels[$0] == label }.map { row(task.query, $0) }
            for image in supportRows + queryRows {
                #expect(classImages.contains(image), sourceLocation: sourceLocation)
            }
            let supportSamples = Set(supportRows.compactMap { classImages.firstIndex(of: $0) })
            let querySamples = Set(queryRows.compactMap { classImages.firstIndex(of: $0) })
            #expect(supportSamples.count == shots && querySamples.count == queries, sourceLocation: sourceLocation)
            #expect(supportSamples.isDisjoint(with: querySamples), sourceLocation: sourceLocation)
        }
    }

    @Test("invariants hold over many seeded tasks", arguments: [(5, 1, 1), (5, 5, 15), (12, 15, 1), (3, 19, 1)])
    func invariants(ways: Int, shots: Int, queries: Int) throws {
        let split = ClassSplit.all(of: Fixtures.smallSet)
        let sampler = try TaskSampler(split: split, ways: ways, shots: shots, queries: queries)
        var generator = SeededGenerator(seed: 42)
        var firstLabels = Set<Int>()
        for _ in 0..<60 {
            let task = sampler.sample(using: &generator)
            checkInvariants(task, split: split, ways: ways, shots: shots, queries: queries)
            firstLabels.insert(task.supportLabels[0])
        }
        #expect(firstLabels.count > 1, "labels must be assigned in a random order")
    }

    @Test("rotated splits: every task image is a rotated image of its class")
    func rotatedInvariants() throws {
        let split = ClassSplit.all(of: Fixtures.smallSet).withRotations()
        #expect(split.classCount == 48)
        let sampler = try TaskSampler(split: split, ways: 20, shots: 5, queries: 3)
        var generator = SeededGenerator(seed: 9)
        for _ in 0..<20 {
            checkInvariants(sampler.sample(using: &generator), split: split, ways: 20, shots: 5, queries: 3)
        }
    }

    @Test("the same seed gives the same task, another seed another task")
    func reproducible() throws {
        let sampler = try TaskSampler(split: ClassSplit.all(of: Fixtures.smallSet), ways: 5, shots: 2, queries: 1)
        var a = SeededGenerator(seed: 5), b = SeededGenerator(seed: 5), c = SeededGenerator(seed: 6)
        for _ in 0..<10 {
            let taskA = sampler.sample(using: &a), taskB = sampler.sample(using: &b), taskC = sampler.sample(using: &c)
            #expect(taskA.support == taskB.support && taskA.query == taskB.query)
            #expect(taskA.supportLabels == taskB.supportLabels && taskA.classOfLabel == taskB.classOfLabel)
            #expect(taskA.support != taskC.support || taskA.classOfLabel != taskC.classOfLabel)
        }
        // Saving and restoring the generator's state resumes the same stream.
        let saved = SeededGenerator(state: a.state)
        var restored = saved
        #expect(sampler.sample(using: &a).support == sampler.sample(using: &restored).support)
    }

    @Test("batches drawn with replacement come from the support set with matching labels")
    func batchWithReplacement() throws {
        let sampler = try TaskSampler(split: ClassSplit.all(of: Fixtures.smallSet), ways: 5, shots: 15, queries: 1)
        var generator = SeededGenerator(seed: 11)
        let task = sampler.sample(using: &generator)
        let supportRows = (0..<task.supportLabels.count).map { row(task.support, $0) }
        var seenRows = 0
        for _ in 0..<10 {
            let batch = task.supportBatch(size: 20, using: &generator)
            #expect(batch.images.shape == [20, 1, 28, 28] && batch.labels.count == 20)
            for i in 0..<20 {
                let image = row(batch.images, i)
                let matches = supportRows.indices.filter { supportRows[$0] == image }
                #expect(!matches.isEmpty && matches.allSatisfy { task.supportLabels[$0] == batch.labels[i] })
                seenRows += 1
            }
        }
        #expect(seenRows == 200)
        var again = SeededGenerator(seed: 1), same = SeededGenerator(seed: 1)
        #expect(task.supportBatch(size: 20, using: &again).images == task.supportBatch(size: 20, using: &same).images)
    }

    @Test("asking for more ways or images than the split has throws")
    func tooLarge() throws {
        let split = ClassSplit.all(of: Fixtures.smallSet, name: "small")
        expectError(.tooManyWays(split: "small", requested: 13, available: 12)) {
            try TaskSampler(split: split, ways: 13, shots: 1, queries: 1)
        }
        expectError(.tooFewImages(split: "small", className: "images_background/Glyphs_01/character01",
                                  shots: 19, queries: 2, available: 20)) {
            try TaskSampler(split: split, ways: 5, shots: 19, queries: 2)
        }
        expectError(.invalidParameter(name: "shots", value: "0", reason: "must be at least 1")) {
            try TaskSampler(split: split, ways: 5, shots: 0, queries: 2)
        }
        let message = DatasetError.tooFewImages(split: "small", className: "images_background/Glyphs_01/character01",
                                                shots: 19, queries: 2, available: 20).description
        #expect(message == "split 'small': 19 shots + 2 queries = 21 images per class requested "
                + "but class 'images_background/Glyphs_01/character01' has only 20")
    }

    @Test("within-alphabet tasks draw all classes from one alphabet")
    func withinAlphabet() throws {
        let split = ClassSplit.all(of: Fixtures.smallSet, name: "small")
        let sampler = try TaskSampler(split: split, ways: 4, shots: 1, queries: 1, classDraw: .withinAlphabet)
        var generator = SeededGenerator(seed: 8)
        var alphabetsSeen = Set<Int>()
        for _ in 0..<30 {
            let task = sampler.sample(using: &generator)
            checkInvariants(task, split: split, ways: 4, shots: 1, queries: 1)
            let alphabets = Set(task.classOfLabel.map { split.characterClass($0).alphabetIndex })
            #expect(alphabets.count == 1)
            alphabetsSeen.formUnion(alphabets)
        }
        #expect(alphabetsSeen == [0, 1, 2])
        expectError(.tooManyWays(split: "small (within one alphabet)", requested: 5, available: 4)) {
            try TaskSampler(split: split, ways: 5, shots: 1, queries: 1, classDraw: .withinAlphabet)
        }
    }

    @Test("random and alphabet splits of a small set")
    func smallSplits() throws {
        var generator = SeededGenerator(seed: 2)
        let parts = try ClassSplit.randomCharacters(from: [Fixtures.smallSet], sizes: [6, 2, 4], using: &generator)
        #expect(parts.map(\.classCount) == [6, 2, 4] && parts.map(\.imageCount) == [120, 40, 80])
        #expect(Set(parts.flatMap(\.classes)).count == 12)
        var same = SeededGenerator(seed: 2)
        let again = try ClassSplit.randomCharacters(from: [Fixtures.smallSet], sizes: [6, 2, 4], using: &same)
        #expect(parts.map(\.classes) == again.map(\.classes))
        let alphabets = try ClassSplit.byAlphabet(from: [Fixtures.smallSet], alphabetCounts: [2, 1], using: &generator)
        #expect(alphabets.map(\.classCount) == [8, 4])
        expectError(.splitTooLarge(unit: "alphabets", requested: [3, 1], available: 3)) {
            try ClassSplit.byAlphabet(from: [Fixtures.smallSet], alphabetCounts: [3, 1], using: &generator)
        }
    }
}
