import Testing
@testable import Engine

@Suite("Tape")
struct TapeTests {
    @Test("A parameter the output does not depend on gets no gradient and reads as zeros")
    func unusedInput() {
        let tape = Tape()
        let used = tape.parameter(Tensor(shape: [2, 3], repeating: 1.5))
        let unused = tape.parameter(Tensor(shape: [4], repeating: 2))
        let sideBranch = tape.parameter(Tensor(shape: [2, 3], repeating: -1))
        _ = (sideBranch * used).sum()                      // recorded, but not part of the loss
        let loss = (used * used).sum()
        let grads = tape.gradients(of: loss)
        #expect(grads.contains(used))
        #expect(grads[used] == Tensor(shape: [2, 3], repeating: 3))
        #expect(!grads.contains(unused))
        #expect(grads[unused] == Tensor(shape: [4]))
        #expect(!grads.contains(sideBranch))
        #expect(grads[sideBranch] == Tensor(shape: [2, 3]))
    }

    @Test("Constants need no gradient, and ops on constants only are not differentiable")
    func constants() {
        let tape = Tape()
        let c = tape.constant(Tensor(shape: [3], repeating: 1))
        let p = tape.parameter(Tensor(shape: [3], repeating: 2))
        #expect(!c.needsGradient && p.needsGradient)
        #expect(!(c + c).needsGradient)
        #expect((c * p).needsGradient)
        let grads = tape.gradients(of: (c * p).sum())
        #expect(grads[p] == Tensor(shape: [3], repeating: 1))
    }

    @Test("The gradient of a parameter that is itself the scalar output is 1")
    func outputIsParameter() {
        let tape = Tape()
        let p = tape.parameter(Tensor(scalar: 4))
        #expect(tape.gradients(of: p)[p] == Tensor(scalar: 1))
    }

    @Test("The gradient checker's unused-input case: zero analytic and numeric gradients agree")
    func unusedInputThroughChecker() {
        var rng = SeededGenerator(seed: 81)
        let x = Tensor.randomNormal(shape: [2, 3], using: &rng)
        let y = Tensor.randomNormal(shape: [5], using: &rng)
        let analytic = expectGradientsMatch([x, y], check: GradientCheck(expectsSignal: false)) { _, v in v[0].relu() + v[0] }
        #expect(analytic[1] == Tensor(shape: [5]))
    }
}
