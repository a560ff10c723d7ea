import Testing
@testable import Engine

@Suite("Shape errors")
struct ShapeErrorTests {
    /// Expects the convolution shape check to throw an error that names `conv2d` and every shape involved.
    func expectConvolutionError(input: [Int], weight: [Int], bias: [Int]? = nil, stride: (Int, Int) = (1, 1),
                                padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1,
                                sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let geometry = try ConvShapes.convolution(input: input, weight: weight, bias: bias, stride: stride,
                                                      padding: padding, dilation: dilation, groups: groups)
            Issue.record("expected a ShapeError for input \(input), weight \(weight); got output \(geometry.outHeight)x\(geometry.outWidth)",
                         sourceLocation: sourceLocation)
        } catch {
            #expect(error.operation == "conv2d", sourceLocation: sourceLocation)
            let text = error.description
            #expect(text.hasPrefix("conv2d: "), "\(text)", sourceLocation: sourceLocation)
            for shape in [input, weight] + (bias.map { [$0] } ?? []) {
                #expect(text.contains("\(shape)"), "'\(text)' does not name shape \(shape)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test("Input channels that do not match the weight")
    func channelMismatch() {
        expectConvolutionError(input: [1, 3, 5, 5], weight: [4, 2, 3, 3])
    }

    @Test("A kernel larger than the padded input")
    func kernelTooLarge() {
        expectConvolutionError(input: [1, 1, 4, 4], weight: [1, 1, 7, 7], padding: (1, 1))
    }

    @Test("A kernel larger than the input also fails with stride 2")
    func kernelTooLargeStrided() {
        // 4 + 0 - 5 < 0: no window fits, whatever the stride.
        expectConvolutionError(input: [1, 1, 4, 4], weight: [1, 1, 5, 5], stride: (2, 2))
    }

    @Test("A dilated kernel whose span exceeds the input")
    func dilatedTooLarge() {
        expectConvolutionError(input: [1, 2, 4, 4], weight: [2, 2, 3, 3], dilation: (2, 2))
    }

    @Test("Groups that do not divide the channels")
    func groupsDoNotDivide() {
        expectConvolutionError(input: [1, 4, 5, 5], weight: [3, 4, 3, 3], groups: 3)
    }

    @Test("A bias of the wrong size")
    func wrongBias() {
        expectConvolutionError(input: [1, 3, 5, 5], weight: [4, 3, 3, 3], bias: [3])
    }

    @Test("A valid convolution passes the check with the expected output size")
    func validGeometry() throws {
        let g = try ConvShapes.convolution(input: [2, 4, 7, 7], weight: [4, 1, 3, 3], bias: [4], stride: (2, 2),
                                           padding: (2, 2), dilation: (2, 2), groups: 4)
        #expect(g.outHeight == 4 && g.outWidth == 4)
    }

    @Test("Pooling a rank-3 input throws an error that names the op and the shape", arguments: ["maxPool", "avgPool"])
    func poolingRank3(op: String) {
        #expect {
            try ConvShapes.pooling(op, input: [1, 4, 4], size: 3, stride: 1, padding: 1)
        } throws: { error in
            let text = "\(error)"
            return (error as? ShapeError)?.operation == op && text.hasPrefix("\(op): ") && text.contains("[1, 4, 4]")
        }
    }

    @Test("Pooling with a window that does not fit throws")
    func poolingTooLarge() {
        #expect(throws: ShapeError.self) {
            try ConvShapes.pooling("maxPool", input: [1, 1, 2, 2], size: 5, stride: 1, padding: 0)
        }
        #expect(throws: ShapeError.self) {
            try ConvShapes.pooling("maxPool", input: [1, 1, 2, 2], size: 3, stride: 2, padding: 0)
        }
    }
}
