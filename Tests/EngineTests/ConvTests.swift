import Testing
@testable import Engine

/// One convolution configuration for the gradient check.
struct ConvCase: Sendable, CustomTestStringConvertible {
    var name: String
    var input: [Int]
    var weight: [Int]
    var bias = true
    var stride = (1, 1)
    var padding = (0, 0)
    var dilation = (1, 1)
    var groups = 1

    var testDescription: String { name }

    static let all: [ConvCase] = [
        ConvCase(name: "dense 3x3 pad 1", input: [2, 3, 5, 5], weight: [4, 3, 3, 3], padding: (1, 1)),
        ConvCase(name: "dense 3x3 pad 1 no bias", input: [2, 3, 5, 5], weight: [4, 3, 3, 3], bias: false,
                 padding: (1, 1)),
        ConvCase(name: "dense 3x3 stride 2", input: [2, 3, 6, 6], weight: [4, 3, 3, 3], stride: (2, 2),
                 padding: (1, 1)),
        ConvCase(name: "dense 3x3 stride (1, 2)", input: [2, 2, 5, 6], weight: [3, 2, 3, 3], stride: (1, 2),
                 padding: (1, 1)),
        ConvCase(name: "dense 3x3 dilation 2 pad 2", input: [2, 2, 6, 6], weight: [3, 2, 3, 3], padding: (2, 2),
                 dilation: (2, 2)),
        ConvCase(name: "dense 3x3 no padding", input: [2, 2, 5, 5], weight: [3, 2, 3, 3], bias: false),
        ConvCase(name: "batch 1", input: [1, 3, 5, 5], weight: [2, 3, 3, 3], padding: (1, 1)),
        ConvCase(name: "1x5 pad (0, 2)", input: [2, 3, 6, 6], weight: [4, 3, 1, 5], padding: (0, 2)),
        ConvCase(name: "5x1 pad (2, 0)", input: [2, 3, 6, 6], weight: [4, 3, 5, 1], padding: (2, 0)),
        ConvCase(name: "1x1 pointwise", input: [2, 3, 4, 4], weight: [5, 3, 1, 1]),
        ConvCase(name: "1x1 pointwise no bias", input: [2, 3, 4, 4], weight: [5, 3, 1, 1], bias: false),
        ConvCase(name: "1x1 pointwise groups 2", input: [2, 4, 4, 4], weight: [6, 2, 1, 1], groups: 2),
        ConvCase(name: "1x1 stride 2", input: [2, 3, 6, 6], weight: [4, 3, 1, 1], bias: false, stride: (2, 2)),
        // Stride 2 over rows of 8 or more outputs: strided rows are gathered and scattered a
        // vector at a time, the last element of a row that ends on a taken one apart.
        ConvCase(name: "1x1 stride 2 rows of 9", input: [1, 2, 3, 18], weight: [2, 2, 1, 1], bias: false, stride: (2, 2)),
        ConvCase(name: "1x1 stride 2 odd rows of 17", input: [1, 2, 3, 17], weight: [2, 2, 1, 1], stride: (2, 2)),
        ConvCase(name: "1x5 stride 2 pad (0, 2) rows of 20", input: [1, 2, 2, 20], weight: [2, 2, 1, 5], stride: (2, 2),
                 padding: (0, 2)),
        ConvCase(name: "grouped 3x3 groups 2", input: [2, 4, 5, 5], weight: [6, 2, 3, 3], padding: (1, 1),
                 groups: 2),
        ConvCase(name: "depthwise 3x3 stride 1", input: [2, 4, 5, 5], weight: [4, 1, 3, 3], padding: (1, 1),
                 groups: 4),
        ConvCase(name: "depthwise 3x3 stride 1 no bias", input: [2, 4, 5, 5], weight: [4, 1, 3, 3], bias: false,
                 padding: (1, 1), groups: 4),
        ConvCase(name: "depthwise 3x3 stride 2", input: [2, 4, 6, 6], weight: [4, 1, 3, 3], stride: (2, 2),
                 padding: (1, 1), groups: 4),
        ConvCase(name: "depthwise 3x3 dilation 2 pad 2", input: [2, 3, 6, 6], weight: [3, 1, 3, 3],
                 padding: (2, 2), dilation: (2, 2), groups: 3),
        ConvCase(name: "depthwise 5x5 dilation 2 pad 4 stride 2", input: [1, 2, 7, 7], weight: [2, 1, 5, 5],
                 stride: (2, 2), padding: (4, 4), dilation: (2, 2), groups: 2),
        ConvCase(name: "depthwise 1x5 pad (0, 2)", input: [2, 3, 5, 6], weight: [3, 1, 1, 5], padding: (0, 2),
                 groups: 3),
        ConvCase(name: "dense 3x3 wide plane", input: [1, 2, 4, 19], weight: [3, 2, 3, 3], padding: (1, 1)),
        ConvCase(name: "depthwise 3x3 wide plane", input: [1, 2, 4, 19], weight: [2, 1, 3, 3], padding: (1, 1),
                 groups: 2),
        ConvCase(name: "depthwise 3x3 wide plane stride 2", input: [1, 2, 5, 19], weight: [2, 1, 3, 3],
                 stride: (2, 2), padding: (1, 1), groups: 2),
        // Rows of eight or more outputs at stride 1 are written straight into the output rows.
        ConvCase(name: "depthwise 3x3 rows of exactly 8", input: [2, 3, 5, 8], weight: [3, 1, 3, 3], padding: (1, 1),
                 groups: 3),
        ConvCase(name: "depthwise 3x3 dilation 2 rows of 13", input: [1, 2, 6, 13], weight: [2, 1, 3, 3],
                 padding: (2, 2), dilation: (2, 2), groups: 2),
        ConvCase(name: "depthwise 1x5 rows of 12", input: [1, 2, 3, 12], weight: [2, 1, 1, 5], padding: (0, 2),
                 groups: 2),
        ConvCase(name: "depthwise multiplier 2", input: [2, 2, 5, 5], weight: [4, 1, 3, 3], padding: (1, 1),
                 groups: 2),
        // Eight or more input channels: the input gradient of a stride-1 convolution runs as a
        // forward convolution with flipped, transposed filters.
        ConvCase(name: "1x5 pad (0, 2), 8 channels", input: [2, 8, 5, 6], weight: [3, 8, 1, 5], padding: (0, 2)),
        ConvCase(name: "5x1 pad (2, 0), 8 channels", input: [2, 8, 6, 5], weight: [4, 8, 5, 1], bias: false,
                 padding: (2, 0)),
        ConvCase(name: "3x3 dilation 2 pad 2, 8 channels", input: [1, 8, 6, 7], weight: [2, 8, 3, 3],
                 padding: (2, 2), dilation: (2, 2)),
        ConvCase(name: "3x3 pad (0, 1), 8 channels", input: [2, 8, 5, 6], weight: [3, 8, 3, 3], padding: (0, 1)),
        ConvCase(name: "1x1 pointwise, 9 channels", input: [3, 9, 3, 4], weight: [2, 9, 1, 1]),
        // One product per tap (1-D filters at stride 1 that keep the width).
        ConvCase(name: "5x1 pad (3, 0): no tap reaches every output row", input: [2, 8, 4, 5], weight: [3, 8, 5, 1],
                 padding: (3, 0)),
        ConvCase(name: "1x3 dilation 2 pad (0, 2), 8 channels", input: [2, 8, 3, 7], weight: [3, 8, 1, 3],
                 padding: (0, 2), dilation: (2, 2)),
        ConvCase(name: "3x1 dilation 2 pad (2, 0), 8 channels", input: [3, 8, 6, 4], weight: [2, 8, 3, 1],
                 bias: false, padding: (2, 0), dilation: (2, 2)),
        ConvCase(name: "4x1 pad (1, 0): an even column filter", input: [2, 8, 5, 3], weight: [2, 8, 4, 1],
                 padding: (1, 0)),
        // Same-size 2-D filters over 8 channels, in and out.
        ConvCase(name: "3x3 pad 1, 8 -> 8 channels", input: [2, 8, 5, 6], weight: [8, 8, 3, 3], padding: (1, 1)),
        ConvCase(name: "5x5 pad 2 on rows of 3, 8 -> 8 channels", input: [1, 8, 4, 3], weight: [8, 8, 5, 5],
                 bias: false, padding: (2, 2)),
    ]
}

@Suite("Convolution")
struct ConvTests {
    /// Gradients of `op` for the inputs marked trainable (the others enter as constants).
    static func gradients(_ inputs: [Tensor], trainable: [Bool], _ op: ([Variable]) -> Variable) -> [Tensor?] {
        let tape = Tape()
        let vars = zip(inputs, trainable).map { $1 ? tape.parameter($0) : tape.constant($0) }
        var rng = SeededGenerator(seed: 5)
        let y = op(vars)
        let r = Tensor.randomNormal(shape: y.shape, using: &rng)
        let grads = tape.gradients(of: (y * tape.constant(r)).sum())
        return zip(vars, trainable).map { $1 ? grads[$0] : nil }
    }

    @Test("Depthwise gradients are the same whether the input, the filters or both need them",
          arguments: ConvCase.all.filter { $0.groups > 1 && $0.groups == $0.input[1] && $0.weight[0] == $0.input[1] })
    func depthwiseGradientSubsets(_ c: ConvCase) {
        var rng = SeededGenerator(seed: 12)
        let inputs = [Tensor.randomNormal(shape: c.input, using: &rng), Tensor.randomNormal(shape: c.weight, using: &rng)]
        let op = { (v: [Variable]) in
            v[0].conv2d(v[1], stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups)
        }
        let both = Self.gradients(inputs, trainable: [true, true], op)
        let onlyInput = Self.gradients(inputs, trainable: [true, false], op)
        let onlyFilters = Self.gradients(inputs, trainable: [false, true], op)
        expectClose(both[0]!, onlyInput[0]!, tolerance: 1e-5)
        expectClose(both[1]!, onlyFilters[1]!, tolerance: 1e-4)
    }

    @Test("separableConv2d gradients match finite differences", arguments: [(1, 1, 1), (2, 1, 1), (1, 2, 2), (2, 2, 2)])
    func separableGradients(stride: Int, padding: Int, dilation: Int) {
        var rng = SeededGenerator(seed: 13)
        let inputs = [Tensor.randomNormal(shape: [2, 3, 6, 6], using: &rng),
                      Tensor.randomNormal(shape: [3, 1, 3, 3], std: 0.5, using: &rng),
                      Tensor.randomNormal(shape: [4, 3, 1, 1], std: 0.5, using: &rng)]
        expectGradientsMatch(inputs) { _, v in
            v[0].separableConv2d(depthwise: v[1], pointwise: v[2], stride: stride, padding: padding, dilation: dilation)
        }
    }

    /// (batch, stride, padding, dilation): a batch of 9 puts several images in each chunk of
    /// the filter-gradient sums; rows of 11 are written straight into the output at stride 1.
    @Test("separableConv2d equals a depthwise then a pointwise conv2d, in value and in every subset of gradients",
          arguments: [(3, 2, 2, 2), (9, 1, 1, 1), (9, 2, 1, 1)])
    func separableMatchesComposition(batch: Int, stride: Int, padding: Int, dilation: Int) {
        var rng = SeededGenerator(seed: 14)
        let inputs = [Tensor.randomNormal(shape: [batch, 8, 7, 11], using: &rng),
                      Tensor.randomNormal(shape: [8, 1, 3, 3], using: &rng),
                      Tensor.randomNormal(shape: [5, 8, 1, 1], using: &rng)]
        let fused = { (v: [Variable]) in
            v[0].separableConv2d(depthwise: v[1], pointwise: v[2], stride: stride, padding: padding, dilation: dilation)
        }
        let composed = { (v: [Variable]) in
            v[0].conv2d(v[1], stride: (stride, stride), padding: (padding, padding), dilation: (dilation, dilation),
                        groups: 8).conv2d(v[2])
        }
        let tape = Tape()
        let vs = inputs.map { tape.constant($0) }
        expectClose(fused(vs).value, composed(vs).value, tolerance: 1e-5)
        for mask in [[true, true, true], [true, false, false], [false, true, false], [false, false, true], [false, true, true]] {
            let a = Self.gradients(inputs, trainable: mask, fused), b = Self.gradients(inputs, trainable: mask, composed)
            for k in 0..<3 where mask[k] { expectClose(a[k]!, b[k]!, tolerance: 1e-4) }
        }
    }

    /// (height, width, stride): rows of 11 end in a vector that overlaps the one before it, rows
    /// of 5 and strided filters take the gather-and-unpad path.
    @Test("Input gradients of separableConv2d, relu and pooling are added into the gradient the input already holds",
          arguments: [(7, 11, 1), (7, 11, 2), (5, 5, 1), (6, 16, 1)])
    func accumulatedInputGradients(height: Int, width: Int, stride: Int) {
        var rng = SeededGenerator(seed: 15)
        let x = Tensor.randomNormal(shape: [3, 4, height, width], using: &rng)
        let filters = (0..<2).map { _ in
            [Tensor.randomNormal(shape: [4, 1, 3, 3], using: &rng), Tensor.randomNormal(shape: [5, 4, 1, 1], using: &rng)]
        }
        // Branches 0 and 1 are separable convolutions, then a ReLU, a max pool and an average
        // pool; each is scored against fixed random weights.
        func branch(_ k: Int, _ v: Variable, _ tape: Tape) -> Variable {
            switch k {
            case 2: return v.relu()
            case 3: return v.maxPool(size: 3, stride: stride, padding: 1)
            case 4: return v.avgPool(size: 3, stride: stride, padding: 1)
            default: break
            }
            return v.separableConv2d(depthwise: tape.parameter(filters[k][0]), pointwise: tape.parameter(filters[k][1]),
                                     stride: stride, padding: 1)
        }
        let scratch = Tape()
        let scores = (0..<5).map { Tensor.randomNormal(shape: branch($0, scratch.constant(x), scratch).shape, using: &rng) }
        func inputGradient(_ branches: [Int]) -> Tensor {
            let tape = Tape()
            let v = tape.parameter(x)
            let terms = branches.map { (branch($0, v, tape) * tape.constant(scores[$0])).sum() }
            return tape.gradients(of: terms.dropFirst().reduce(terms[0], +))[v]
        }
        var separate = [Float](repeating: 0, count: x.count)
        for k in 0..<5 {
            for (i, g) in inputGradient([k]).data.enumerated() { separate[i] += g }
        }
        // The branch recorded last is differentiated first and writes a fresh gradient; the
        // others add to it.
        for order in [[0, 1, 2, 3, 4], [4, 3, 2, 0, 1], [2, 3, 0, 4, 1]] {
            expectClose(inputGradient(order), Tensor(shape: x.shape, data: separate), tolerance: 1e-5)
        }
    }

    @Test("conv2d gradients match finite differences", arguments: ConvCase.all)
    func gradients(_ c: ConvCase) {
        var rng = SeededGenerator(seed: 11)
        var inputs = [Tensor.randomNormal(shape: c.input, using: &rng),
                      Tensor.randomNormal(shape: c.weight, std: 0.5, using: &rng)]
        if c.bias { inputs.append(Tensor.randomNormal(shape: [c.weight[0]], using: &rng)) }
        expectGradientsMatch(inputs) { _, v in
            v[0].conv2d(v[1], bias: c.bias ? v[2] : nil, stride: c.stride, padding: c.padding,
                        dilation: c.dilation, groups: c.groups)
        }
    }

    /// `x = 1...16` on a 4x4 grid and a kernel with three taps: top-left 1, centre 2, bottom-right -1.
    static let grid = Tensor.counting(shape: [1, 1, 4, 4])
    static let kernel = Tensor(shape: [1, 1, 3, 3], data: [1, 0, 0,
                                                           0, 2, 0,
                                                           0, 0, -1])

    @Test("3x3 convolution with padding 1 is a cross-correlation with zeros outside")
    func knownPadded() {
        let tape = Tape()
        let y = tape.constant(Self.grid).conv2d(tape.constant(Self.kernel), padding: (1, 1))
        // y[h][w] = x[h-1][w-1] + 2 x[h][w] - x[h+1][w+1], out-of-range terms zero.
        expectClose(y.value, Tensor(shape: [1, 1, 4, 4], data: [-4, -3, -2, 8,
                                                                0, 2, 4, 19,
                                                                4, 10, 12, 31,
                                                                26, 37, 40, 43]))
    }

    @Test("3x3 convolution with stride 2 samples every other window and adds the bias")
    func knownStrided() {
        let tape = Tape()
        let y = tape.constant(Self.grid).conv2d(tape.constant(Self.kernel), bias: tape.constant(Tensor(shape: [1], data: [0.5])),
                                                stride: (2, 2), padding: (1, 1))
        expectClose(y.value, Tensor(shape: [1, 1, 2, 2], data: [-3.5, -1.5, 4.5, 12.5]))
    }

    @Test("A dense convolution sums over input channels")
    func knownChannelSum() {
        let tape = Tape()
        // Two channels: 1...16 and all ones; the kernel sees channel 0 at weight 1 and channel 1 at weight 10.
        var x = Tensor(shape: [1, 2, 4, 4], repeating: 1)
        for k in 0..<16 { x.data[k] = Float(k + 1) }
        var w = Tensor(shape: [1, 2, 1, 1])
        w.data = [1, 10]
        let y = tape.constant(x).conv2d(tape.constant(w))
        expectClose(y.value, Tensor(shape: [1, 1, 4, 4], data: (1...16).map { Float($0) + 10 }))
    }

    /// `y[n][o][h][w] = sum over c, i, j of w[o][c][i][j] * x[n][c][h*sh + i*dh - ph][w*sw + j*dw - pw]`, zero outside.
    static func direct(_ x: Tensor, _ w: Tensor, stride: (Int, Int) = (1, 1), padding: (Int, Int),
                       dilation: (Int, Int)) -> Tensor {
        let (N, C, H, W) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (O, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
        let Ho = (H + 2 * padding.0 - dilation.0 * (kh - 1) - 1) / stride.0 + 1
        let Wo = (W + 2 * padding.1 - dilation.1 * (kw - 1) - 1) / stride.1 + 1
        var y = Tensor(shape: [N, O, Ho, Wo])
        for n in 0..<N { for o in 0..<O { for h in 0..<Ho { for v in 0..<Wo {
            var s: Float = 0
            for c in 0..<C { for i in 0..<kh { for j in 0..<kw {
                let (a, b) = (h * stride.0 + i * dilation.0 - padding.0, v * stride.1 + j * dilation.1 - padding.1)
                if a >= 0 && a < H && b >= 0 && b < W { s += w.data[((o * C + c) * kh + i) * kw + j] * x.data[((n * C + c) * H + a) * W + b] }
            } } }
            y.data[((n * O + o) * Ho + h) * Wo + v] = s
        } } } }
        return y
    }

    /// (input, weight, padding, dilation): 1-D filters, which run one matrix product per tap,
    /// then same-size 2-D filters over 8 or more channels on rows as narrow as 2 and as wide as 9.
    @Test("Stride-1 filters that keep the width equal a direct convolution",
          arguments: [([2, 5, 6, 7], [4, 5, 1, 5], (0, 2), (1, 1)), ([2, 5, 6, 7], [4, 5, 5, 1], (2, 0), (1, 1)),
                      ([1, 9, 4, 9], [3, 9, 1, 3], (0, 2), (2, 2)), ([2, 3, 7, 4], [2, 3, 3, 1], (2, 0), (2, 2)),
                      ([2, 8, 4, 5], [3, 8, 5, 1], (3, 0), (1, 1)), ([2, 3, 6, 5], [2, 3, 5, 1], (0, 0), (1, 1)),
                      ([1, 8, 5, 3], [2, 8, 4, 1], (1, 0), (1, 1)), ([3, 2, 3, 2], [2, 2, 1, 3], (0, 1), (1, 1)),
                      ([2, 8, 6, 7], [3, 8, 3, 3], (1, 1), (1, 1)), ([1, 9, 5, 5], [2, 9, 3, 3], (2, 2), (2, 2)),
                      ([2, 8, 4, 6], [3, 8, 3, 5], (1, 2), (1, 1)), ([1, 8, 3, 3], [2, 8, 3, 3], (1, 1), (1, 1)),
                      ([1, 8, 7, 2], [2, 8, 3, 3], (1, 1), (1, 1)), ([1, 8, 4, 3], [2, 8, 5, 5], (2, 2), (1, 1)),
                      ([2, 8, 5, 9], [2, 8, 1, 5], (0, 4), (2, 2))])
    func sameWidthFilters(_ input: [Int], _ weight: [Int], _ padding: (Int, Int), _ dilation: (Int, Int)) {
        var rng = SeededGenerator(seed: 21)
        let x = Tensor.randomNormal(shape: input, using: &rng), w = Tensor.randomNormal(shape: weight, using: &rng)
        let tape = Tape()
        let y = tape.parameter(x).conv2d(tape.constant(w), padding: padding, dilation: dilation)
        expectClose(y.value, Self.direct(x, w, padding: padding, dilation: dilation), tolerance: 1e-4)
    }

    /// (input, weight, padding): 5-tap filters over 8 or more channels, which run as Winograd
    /// F(4, 5) where the processor has AVX-512 or AVX2: columns of 28, 14, 9 and 7 rows (tiles
    /// padded past the last row), rows of 28, 12 and 4 columns and of 14, 7, 30 and 3 (tiles
    /// padded past the last column), batches of several product groups and a last group of
    /// fewer images.
    @Test("5-tap filters by Winograd's transforms equal a direct convolution, and so do their input gradients",
          arguments: [([5, 8, 28, 28], [8, 8, 5, 1], (2, 0)), ([5, 8, 28, 28], [9, 8, 1, 5], (0, 2)),
                      ([3, 12, 14, 14], [8, 12, 5, 1], (2, 0)), ([2, 8, 9, 5], [8, 8, 5, 1], (2, 0)),
                      ([20, 8, 7, 7], [10, 8, 5, 1], (2, 0)), ([2, 8, 3, 12], [8, 8, 1, 5], (0, 2)),
                      ([3, 10, 6, 4], [8, 10, 1, 5], (0, 2)), ([5, 8, 14, 14], [8, 8, 1, 5], (0, 2)),
                      ([3, 9, 7, 7], [10, 9, 1, 5], (0, 2)), ([2, 8, 3, 30], [8, 8, 1, 5], (0, 2)),
                      ([2, 8, 3, 3], [8, 8, 1, 5], (0, 2))])
    func winogradLineFilters(_ input: [Int], _ weight: [Int], _ padding: (Int, Int)) {
        let g = ConvGeometry(batch: input[0], inChannels: input[1], height: input[2], width: input[3],
                             outChannels: weight[0], kernelH: weight[2], kernelW: weight[3], strideH: 1, strideW: 1,
                             padH: padding.0, padW: padding.1, dilationH: 1, dilationW: 1, groups: 1)
        let line = LineKernel(g)
        #expect(line != nil)
        #expect((line?.winograd != nil) == WinogradLine.enabled, "the Winograd form applies wherever AVX-512 or AVX2 runs")
        var rng = SeededGenerator(seed: 23)
        let x = Tensor.randomNormal(shape: input, using: &rng), w = Tensor.randomNormal(shape: weight, using: &rng)
        let b = Tensor.randomNormal(shape: [weight[0]], using: &rng)
        let tape = Tape()
        let (xv, wv) = (tape.parameter(x), tape.parameter(w))
        let y = xv.conv2d(wv, bias: tape.constant(b), padding: padding)
        var expected = Self.direct(x, w, padding: padding, dilation: (1, 1))
        for i in expected.data.indices { expected.data[i] += b.data[(i / (input[2] * input[3])) % weight[0]] }
        expectClose(y.value, expected, tolerance: 1e-4)
        // The input gradient of a sum weighted by r is the transposed convolution of r.
        let r = Tensor.randomNormal(shape: y.shape, using: &rng)
        let grads = tape.gradients(of: (y * tape.constant(r)).sum())
        let (dx, dw) = (grads[xv], grads[wv])
        let flipped = Tensor(uninitializedShape: [weight[1], weight[0], weight[2], weight[3]]) { f in
            for o in 0..<weight[0] { for i in 0..<weight[1] { for k in 0..<5 {
                f[(i * weight[0] + o) * 5 + 4 - k] = w.data[(o * weight[1] + i) * 5 + k]
            } } }
        }
        expectClose(dx, Self.direct(r, flipped, padding: padding, dilation: (1, 1)), tolerance: 1e-4)
        // The filter gradient: dw[o][i][tap] = sum over images and positions of r[o] * x[i] read through the tap.
        let (N, I, H, W, O) = (input[0], input[1], input[2], input[3], weight[0])
        var expectedDW = Tensor(shape: weight)
        for o in 0..<O { for i in 0..<I { for k in 0..<5 {
            var s: Float = 0
            for n in 0..<N { for h in 0..<H { for v in 0..<W {
                let (a, c) = weight[2] == 5 ? (h + k - 2, v) : (h, v + k - 2)
                if a >= 0 && a < H && c >= 0 && c < W { s += r.data[((n * O + o) * H + h) * W + v] * x.data[((n * I + i) * H + a) * W + c] }
            } } }
            expectedDW.data[(o * I + i) * 5 + k] = s
        } } }
        expectClose(dw, expectedDW, tolerance: 2e-4 * Float(N * H * W).squareRoot())
    }

    @Test("The Winograd transforms are the Toom-Cook construction at 0, +-1, +-2, +-1/2 and infinity")
    func winogradMatrices() {
        // Vandermonde rows at the points; infinity picks the leading coefficient.
        let points: [Double?] = [0, 1, -1, 2, -2, 0.5, -0.5, nil]
        func row(_ p: Double?, _ length: Int) -> [Double] {
            guard let p else { return (0..<length).map { $0 == length - 1 ? 1 : 0 } }
            return (0..<length).map { j in (0..<j).reduce(1.0) { v, _ in v * p } }
        }
        // B^T = V^-T by Gauss-Jordan elimination of [V | I].
        var m = points.enumerated().map { i, p in row(p, 8) + (0..<8).map { $0 == i ? 1.0 : 0.0 } }
        for c in 0..<8 {
            let pivot = (c..<8).max { abs(m[$0][c]) < abs(m[$1][c]) }!
            m.swapAt(c, pivot)
            m[c] = m[c].map { $0 / m[c][c] }
            for r in 0..<8 where r != c { m[r] = zip(m[r], m[c]).map { $0 - m[r][c] * $1 } }
        }
        let bt = (0..<8).flatMap { j in (0..<8).map { k in Float(m[k][8 + j]) } }
        let g = points.flatMap { row($0, 5).map(Float.init) }
        let at = (0..<4).flatMap { s in points.map { Float(row($0, 4)[s]) } }
        let matrices = WinogradMatrices.shared
        #expect(zip(matrices.input, bt).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($1)) })
        #expect(matrices.filter == g)
        #expect(matrices.output == at)
    }

    /// (input): reduction edges' 1x5 filters at stride 2, split into even and odd columns: even
    /// and odd widths and heights, planes of 28, 14 and 7.
    @Test("1x5 filters at stride 2 equal a direct convolution in value and both gradients",
          arguments: [[2, 8, 28, 28], [3, 8, 14, 14], [2, 9, 7, 7], [2, 8, 6, 5], [1, 8, 5, 4]])
    func stridedRowFilters(_ input: [Int]) {
        let (N, I, H, W, O) = (input[0], input[1], input[2], input[3], 6)
        let g = ConvGeometry(batch: N, inChannels: I, height: H, width: W, outChannels: O, kernelH: 1, kernelW: 5,
                             strideH: 2, strideW: 2, padH: 0, padW: 2, dilationH: 1, dilationW: 1, groups: 1)
        #expect(StridedRowKernel(g) != nil)
        var rng = SeededGenerator(seed: 25)
        let x = Tensor.randomNormal(shape: input, using: &rng), w = Tensor.randomNormal(shape: [O, I, 1, 5], using: &rng)
        let b = Tensor.randomNormal(shape: [O], using: &rng)
        let tape = Tape()
        let (xv, wv) = (tape.parameter(x), tape.parameter(w))
        let y = xv.conv2d(wv, bias: tape.constant(b), stride: (2, 2), padding: (0, 2))
        var expected = Self.direct(x, w, stride: (2, 2), padding: (0, 2), dilation: (1, 1))
        let (Ho, Wo) = (expected.shape[2], expected.shape[3])
        for i in expected.data.indices { expected.data[i] += b.data[(i / (Ho * Wo)) % O] }
        expectClose(y.value, expected, tolerance: 1e-4)
        let r = Tensor.randomNormal(shape: y.shape, using: &rng)
        let grads = tape.gradients(of: (y * tape.constant(r)).sum())
        // Each output position (h, v) reads row 2h, columns 2v - 2 ... 2v + 2.
        var dx = Tensor(shape: input), dw = Tensor(shape: [O, I, 1, 5])
        for n in 0..<N { for o in 0..<O { for h in 0..<Ho { for v in 0..<Wo {
            let rv = r.data[((n * O + o) * Ho + h) * Wo + v]
            for i in 0..<I { for k in 0..<5 where (0..<W).contains(2 * v + k - 2) {
                let at = ((n * I + i) * H + 2 * h) * W + 2 * v + k - 2
                dx.data[at] += rv * w.data[(o * I + i) * 5 + k]
                dw.data[(o * I + i) * 5 + k] += rv * x.data[at]
            } }
        } } } }
        expectClose(grads[xv], dx, tolerance: 1e-4)
        expectClose(grads[wv], dw, tolerance: 1e-3)
    }

    /// (input, weight, stride, padding): the Winograd filters over several image groups, and the
    /// split stride-2 filter, on one kernel thread and on three.
    @Test("Winograd and split stride-2 filters give bit-identical values and gradients on 1 and 3 threads",
          arguments: [([20, 8, 28, 28], [8, 8, 5, 1], 1, (2, 0)), ([20, 8, 28, 28], [8, 8, 1, 5], 1, (0, 2)),
                      ([20, 8, 14, 14], [8, 8, 5, 1], 1, (2, 0)), ([20, 8, 14, 14], [8, 8, 1, 5], 1, (0, 2)),
                      ([10, 8, 28, 28], [8, 8, 1, 5], 2, (0, 2))])
    func threadCountInvariance(_ input: [Int], _ weight: [Int], _ stride: Int, _ padding: (Int, Int)) {
        var rng = SeededGenerator(seed: 26)
        let x = Tensor.randomNormal(shape: input, using: &rng), w = Tensor.randomNormal(shape: weight, using: &rng)
        func run(_ threads: Int) -> [Tensor] {
            var g = SeededGenerator(seed: 27)
            let tape = Tape(threads: .fixed(threads))
            let (xv, wv) = (tape.parameter(x), tape.parameter(w))
            let y = xv.conv2d(wv, stride: (stride, stride), padding: padding)
            let r = Tensor.randomNormal(shape: y.shape, using: &g)
            let grads = tape.gradients(of: (y * tape.constant(r)).sum())
            return [y.value, grads[xv], grads[wv]]
        }
        let (one, three) = (run(1), run(3))
        for (a, b) in zip(one, three) { #expect(a.data == b.data) }
    }

    /// (input, weight, padding): added into an output that holds values already, the Winograd
    /// form adds its result: row filters on planes 8 and 14 wide (the latter tiled past its last
    /// column), and column filters on planes 28, 14 (where a vector of the last columns overlaps
    /// the one before) and 7 wide.
    @Test("The Winograd form adds into what the output holds when accumulating",
          arguments: [([3, 8, 10, 8], [8, 8, 1, 5], (0, 2)), ([2, 8, 5, 14], [8, 8, 1, 5], (0, 2)),
                      ([2, 8, 6, 28], [8, 8, 5, 1], (2, 0)),
                      ([2, 8, 9, 14], [8, 8, 5, 1], (2, 0)), ([3, 8, 7, 7], [8, 8, 5, 1], (2, 0))])
    func winogradAccumulates(_ input: [Int], _ weight: [Int], _ padding: (Int, Int)) {
        let g = ConvGeometry(batch: input[0], inChannels: input[1], height: input[2], width: input[3],
                             outChannels: weight[0], kernelH: weight[2], kernelW: weight[3], strideH: 1, strideW: 1,
                             padH: padding.0, padW: padding.1, dilationH: 1, dilationW: 1, groups: 1)
        #expect((LineKernel(g)?.winograd != nil) == WinogradLine.enabled)
        var rng = SeededGenerator(seed: 24)
        let x = Tensor.randomNormal(shape: input, using: &rng), w = Tensor.randomNormal(shape: weight, using: &rng)
        let start = Tensor.randomNormal(shape: input, using: &rng)
        var out = start
        out.data.withUnsafeMutableBufferPointer { ConvKernels.forward(x: x, weight: w, bias: nil, g, into: $0.baseAddress!,
                                                                      accumulating: true, threads: 2) }
        var expected = Self.direct(x, w, padding: padding, dilation: (1, 1))
        for i in expected.data.indices { expected.data[i] += start.data[i] }
        expectClose(out, expected, tolerance: 1e-4)
    }

    /// (input, weight, stride, padding): rows of 8 to 10 outputs, even and odd input widths, taps
    /// that start before the row and end after it.
    @Test("Stride-2 filters on rows of eight or more outputs equal a direct convolution",
          arguments: [([2, 3, 4, 18], [2, 3, 1, 1], (2, 2), (0, 0)), ([1, 2, 3, 17], [3, 2, 1, 1], (2, 2), (0, 0)),
                      ([2, 2, 3, 20], [2, 2, 1, 5], (2, 2), (0, 2)), ([1, 3, 5, 19], [2, 3, 3, 3], (2, 2), (1, 1)),
                      ([1, 2, 2, 21], [2, 2, 1, 4], (1, 2), (0, 1))])
    func strideTwoFilters(_ input: [Int], _ weight: [Int], _ stride: (Int, Int), _ padding: (Int, Int)) {
        var rng = SeededGenerator(seed: 22)
        let x = Tensor.randomNormal(shape: input, using: &rng), w = Tensor.randomNormal(shape: weight, using: &rng)
        let tape = Tape()
        let y = tape.parameter(x).conv2d(tape.constant(w), stride: stride, padding: padding)
        expectClose(y.value, Self.direct(x, w, stride: stride, padding: padding, dilation: (1, 1)), tolerance: 1e-4)
    }

    @Test("A depthwise convolution filters each channel with its own kernel")
    func knownDepthwise() {
        let tape = Tape()
        let x = Tensor.counting(shape: [1, 2, 3, 3])  // channel 0: 1...9, channel 1: 10...18
        let w = Tensor(shape: [2, 1, 2, 2], data: [1, 0,
                                                   0, 1,     // channel 0: x[h][w] + x[h+1][w+1]
                                                   0, 1,
                                                   3, 0])    // channel 1: x[h][w+1] + 3 x[h+1][w]
        let b = Tensor(shape: [2], data: [1, -1])
        let y = tape.constant(x).conv2d(tape.constant(w), bias: tape.constant(b), groups: 2)
        expectClose(y.value, Tensor(shape: [1, 2, 2, 2], data: [7, 9, 13, 15,
                                                                49, 53, 61, 65]))
    }
}

@Suite("Kernel timing")
struct KernelTimingTests {
    @Test("timeConvolution counts the forward FLOPs of the geometry and times every kernel")
    func counts() throws {
        var rng = SeededGenerator(seed: 31)
        let x = Tensor.randomNormal(shape: [2, 8, 6, 5], using: &rng), w = Tensor.randomNormal(shape: [3, 8, 5, 1], using: &rng)
        let t = try timeConvolution(input: x, weight: w, padding: (2, 0), threads: 1, repetitions: 2, generator: &rng)
        // 2 images x 3 channels x 6x5 outputs x (8 channels x 5 taps) multiply-adds, x 2.
        #expect(t.forwardFLOPs == 2 * Double(2 * 3 * 30 * 40))
        #expect(t.forward > 0 && t.inputGradient > 0 && t.weightGradient > 0)
    }

    @Test("timeConvolution rejects shapes that conv2d would reject, naming both")
    func rejectsBadShapes() {
        var rng = SeededGenerator(seed: 32)
        let x = Tensor.randomNormal(shape: [1, 3, 5, 5], using: &rng), w = Tensor.randomNormal(shape: [4, 2, 3, 3], using: &rng)
        #expect {
            _ = try timeConvolution(input: x, weight: w, threads: 1, repetitions: 1, generator: &rng)
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("conv2d: ") && text.contains("[1, 3, 5, 5]") && text.contains("[4, 2, 3, 3]")
        }
    }
}
