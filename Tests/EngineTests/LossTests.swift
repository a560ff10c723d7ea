import Testing
@testable import Engine

@Suite("Softmax, cross-entropy and accuracy")
struct LossTests {
    @Test("softmax gradients match finite differences", arguments: [Float(1), 0.3])
    func softmax(temperature: Float) {
        var rng = SeededGenerator(seed: 61)
        let x = Tensor.randomNormal(shape: [3, 5], using: &rng)
        // A smaller step at low temperature, where x / T curves the softmax more sharply.
        let check = GradientCheck(epsilon: temperature < 1 ? 3e-3 : 1e-2)
        expectGradientsMatch([x], check: check) { _, v in v[0].softmax(temperature: temperature) }
        expectGradientsMatch([Tensor(shape: [6], data: Array(x.data.prefix(6)))], check: check) { _, v in
            v[0].softmax(temperature: temperature)
        }
    }

    @Test("softmax of [1, 2, 3] at temperature 1 and 0.5")
    func softmaxValues() {
        let tape = Tape()
        let x = tape.constant(Tensor(shape: [1, 3], data: [1, 2, 3]))
        // e^x / sum e^x, and at T = 0.5 the same for [2, 4, 6].
        expectClose(x.softmax(temperature: 1).value, Tensor(shape: [1, 3], data: [0.09003057, 0.24472847, 0.66524096]),
                    tolerance: 1e-6)
        expectClose(x.softmax(temperature: 0.5).value, Tensor(shape: [1, 3], data: [0.01587624, 0.11731043, 0.86681333]),
                    tolerance: 1e-6)
    }

    @Test("softmax normalises each row on its own and survives large logits")
    func softmaxRowsAndOverflow() {
        let tape = Tape()
        let y = tape.constant(Tensor(shape: [2, 2], data: [1000, 1000, -5, -5])).softmax().value
        #expect(y.data == [0.5, 0.5, 0.5, 0.5])
    }

    @Test("crossEntropy gradients match finite differences")
    func crossEntropy() {
        var rng = SeededGenerator(seed: 62)
        let logits = Tensor.randomNormal(shape: [4, 5], std: 2, using: &rng)
        expectGradientsMatch([logits]) { _, v in v[0].crossEntropy(labels: [0, 3, 1, 4]) }
    }

    @Test("crossEntropy of known logits is the mean negative log-probability of the labels")
    func crossEntropyValues() {
        let tape = Tape()
        // Row 0: uniform over 3 classes -> ln 3; row 1: -log softmax([1, 2, 3])[2] = 0.40760596.
        let loss = tape.constant(Tensor(shape: [2, 3], data: [0, 0, 0, 1, 2, 3])).crossEntropy(labels: [1, 2])
        #expect(loss.shape == [])
        #expect(abs(loss.value.scalar - (1.0986123 + 0.40760596) / 2) < 1e-6, "loss \(loss.value.scalar)")
        let far = tape.constant(Tensor(shape: [1, 2], data: [0, 50])).crossEntropy(labels: [0])
        #expect(abs(far.value.scalar - 50) < 1e-3, "a logit gap of 50 costs 50 nats, got \(far.value.scalar)")
    }

    @Test("accuracy counts rows whose first arg-max is the label")
    func accuracyValues() {
        let logits = Tensor(shape: [4, 2], data: [0.1, 0.9,    // predicts 1
                                                  0.8, 0.2,    // predicts 0
                                                  0.5, 0.5,    // tie: first index, 0
                                                  -3, -1])     // predicts 1
        #expect(accuracy(logits: logits, labels: [1, 1, 0, 1]) == 0.75)
        #expect(accuracy(logits: logits, labels: [0, 1, 1, 0]) == 0)
    }
}
