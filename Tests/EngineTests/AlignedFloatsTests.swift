import Testing
@testable import Engine

/// Tensor elements start on a 64-byte cache line and keep an array's value semantics.
@Suite("Aligned tensor storage")
struct AlignedFloatsTests {
    static func offset(_ t: Tensor) -> Int {
        t.data.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress!) % AlignedFloats.alignment }
    }

    @Test("every way of making a tensor, and a kernel's output, starts on a 64-byte line")
    func tensorsStartOnALine() {
        var g = SeededGenerator(seed: 5)
        // Many sizes, kept alive together, so that the allocator cannot hand back one lucky block.
        var kept: [Tensor] = []
        for n in [1, 3, 7, 16, 100, 785, 20 * 28 * 784] {
            kept.append(Tensor(shape: [n]))
            kept.append(Tensor(shape: [n], data: [Float](repeating: 1, count: n)))
            kept.append(Tensor.randomNormal(shape: [n], using: &g))
            kept.append(Tensor(uninitializedShape: [n]) { $0.initialize(repeating: 2) })
        }
        let x = Tensor.randomNormal(shape: [2, 3, 9, 9], using: &g), w = Tensor.randomNormal(shape: [4, 3, 1, 5], using: &g)
        let tape = Tape()
        kept.append(tape.constant(x).conv2d(tape.constant(w), padding: (0, 2)).value)
        for t in kept { #expect(Self.offset(t) == 0, "shape \(t.shape)") }
        // A copy that is written gets storage of its own, aligned too.
        var copy = kept[5]
        copy.data[0] = 42
        #expect(Self.offset(copy) == 0)
    }

    @Test("copies share elements until one is written; equality is element by element")
    func valueSemantics() {
        let a = Tensor(shape: [4], data: [1, 2, 3, 4])
        var b = a
        b.data[2] = -3
        #expect(a.data == [1, 2, 3, 4] as [Float])
        #expect(b.data == [1, 2, -3, 4] as [Float])
        var c = a
        c.data.withUnsafeMutableBufferPointer { $0[0] = 10 }
        #expect(a.data[0] == 1 && c.data[0] == 10)
        #expect(a == Tensor(shape: [4], data: [1, 2, 3, 4]))
        #expect(a != b)
        let nan = Tensor(shape: [1], data: [.nan])
        #expect(nan != nan, "NaN differs from itself, as in arrays")
        #expect(Array(b.data.reversed()) == [4, -3, 2, 1])
        #expect(AlignedFloats([1.5, 2.5]).description == "[1.5, 2.5]")
    }
}
