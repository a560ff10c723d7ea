import Testing
@testable import Datasets

@Suite("Resizing and rotation")
struct TransformTests {
    func resize(_ input: [UInt8], from source: Int, to target: Int) -> [Float] {
        var output = [Float](repeating: -1, count: target * target)
        var scratch = [Float](repeating: 0, count: source * target)
        input.withUnsafeBytes { bytes in
            output.withUnsafeMutableBufferPointer { out in
                scratch.withUnsafeMutableBufferPointer { AreaResizer(source: source, target: target).resize(bytes, into: out, scratch: $0) }
            }
        }
        return output
    }

    @Test("area averaging preserves ink and uses exact fractional weights")
    func areaWeights() {
        // One ink pixel at (0, 0) of a 105x105 image: output (0, 0) covers [0, 3.75)^2, so it
        // loses 1/3.75^2 of its brightness; everything else stays white.
        var input = [UInt8](repeating: 255, count: 105 * 105)
        input[0] = 0
        let out = resize(input, from: 105, to: 28)
        #expect(abs(out[0] - (1 - 1 / (3.75 * 3.75))) < 1e-6)
        #expect(out.dropFirst().allSatisfy { $0 == 1 })
        // Pixel (3, 3) straddles outputs 0 and 1 in both directions: it covers 0.75 of its width in
        // output 0 and 0.25 in output 1.
        input[0] = 255
        input[3 * 105 + 3] = 0
        let straddle = resize(input, from: 105, to: 28)
        #expect(abs((1 - straddle[0]) * 3.75 * 3.75 - 0.75 * 0.75) < 1e-5)
        #expect(abs((1 - straddle[1]) * 3.75 * 3.75 - 0.75 * 0.25) < 1e-5)
        #expect(abs((1 - straddle[29]) * 3.75 * 3.75 - 0.25 * 0.25) < 1e-5)
        // Total ink scales by (28/105)^2 for any image.
        let random = (0..<(105 * 105)).map { UInt8(($0 * 7919 % 13 < 4) ? 0 : 255) }
        let inkIn = Float(random.filter { $0 == 0 }.count)
        let inkOut = resize(random, from: 105, to: 28).reduce(0) { $0 + (1 - $1) }
        #expect(abs(inkOut - inkIn * 28 * 28 / (105 * 105)) < 0.05)
        // The same size is the identity.
        #expect(resize(random, from: 105, to: 105) == random.map { Float($0) / 255 })
    }

    @Test("rotations map pixels as documented and compose")
    func rotation() {
        let side = 5
        let image = (0..<(side * side)).map(Float.init)
        let quarter = Rotation.r90.applied(to: image, side: side)
        for r in 0..<side { for c in 0..<side { #expect(quarter[(side - 1 - c) * side + r] == image[r * side + c]) } }
        #expect(Rotation.r90.applied(to: quarter, side: side) == Rotation.r180.applied(to: image, side: side))
        #expect(Rotation.r180.applied(to: quarter, side: side) == Rotation.r270.applied(to: image, side: side))
        #expect(Rotation.r270.applied(to: quarter, side: side) == image)
        #expect(Rotation(degrees: -90) == .r270 && Rotation(degrees: 450) == .r90 && Rotation(degrees: 45) == nil)
        #expect(Rotation.r270.then(.r180) == .r90)
    }
}
