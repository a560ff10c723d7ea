import Testing
@testable import Engine

@Suite("Batch normalisation")
struct BatchNormTests {
    /// Three channels with different offsets and scales, so per-channel statistics matter.
    static func input(seed: UInt64, shape: [Int] = [4, 3, 3, 3]) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        var x = Tensor.randomNormal(shape: shape, using: &rng)
        let plane = shape[2] * shape[3]
        for k in 0..<x.count {
            let c = (k / plane) % shape[1]
            x.data[k] = x.data[k] * Float(c + 1) * 0.7 + Float(c) - 1
        }
        return x
    }

    @Test("Training batch norm gradients (x, gamma, beta) match finite differences")
    func affineGradients() {
        var rng = SeededGenerator(seed: 31)
        let gamma = Tensor.randomNormal(shape: [3], using: &rng)
        let beta = Tensor.randomNormal(shape: [3], using: &rng)
        expectGradientsMatch([Self.input(seed: 32), gamma, beta]) { _, v in
            v[0].batchNorm(gamma: v[1], beta: v[2]).output
        }
    }

    @Test("Training batch norm without gamma and beta: gradient w.r.t. x matches finite differences")
    func plainGradients() {
        expectGradientsMatch([Self.input(seed: 33)]) { _, v in v[0].batchNorm().output }
    }

    @Test("Training batch norm on wider planes (5x5, 4x19): gradients match finite differences",
          arguments: [[2, 3, 5, 5], [2, 2, 4, 19]])
    func widePlaneGradients(shape: [Int]) {
        var rng = SeededGenerator(seed: 39)
        let gamma = Tensor.randomNormal(shape: [shape[1]], using: &rng)
        let beta = Tensor.randomNormal(shape: [shape[1]], using: &rng)
        expectGradientsMatch([Self.input(seed: 40, shape: shape), gamma, beta]) { _, v in
            v[0].batchNorm(gamma: v[1], beta: v[2]).output
        }
    }

    @Test("Training batch norm on [N, C] rows: gradients match finite differences")
    func rankTwoGradients() {
        var rng = SeededGenerator(seed: 34)
        let x = Tensor.randomNormal(shape: [6, 4], using: &rng)
        let gamma = Tensor.randomNormal(shape: [4], using: &rng)
        expectGradientsMatch([x, gamma]) { _, v in v[0].batchNorm(gamma: v[1]).output }
    }

    @Test("Inference batch norm gradients (x, gamma, beta) match finite differences")
    func inferenceGradients() {
        var rng = SeededGenerator(seed: 35)
        let gamma = Tensor.randomNormal(shape: [3], using: &rng)
        let beta = Tensor.randomNormal(shape: [3], using: &rng)
        expectGradientsMatch([Self.input(seed: 36), gamma, beta]) { _, v in
            v[0].batchNorm(mean: [0.5, -1, 2], variance: [0.25, 2, 1], gamma: v[1], beta: v[2])
        }
    }

    @Test("Training output has per-channel mean 0 and biased variance 1; statistics are the batch's")
    func normalises() {
        let x = Self.input(seed: 37)
        let tape = Tape()
        let (y, stats) = tape.constant(x).batchNorm(epsilon: 1e-5)
        let (n, c, plane) = (4, 3, 9)
        #expect(stats.count == n * plane)
        for ch in 0..<c {
            var xs: [Double] = [], ys: [Double] = []
            for i in 0..<n {
                for k in 0..<plane {
                    xs.append(Double(x.data[(i * c + ch) * plane + k]))
                    ys.append(Double(y.value.data[(i * c + ch) * plane + k]))
                }
            }
            let (xMean, xVar) = meanAndBiasedVariance(xs)
            let (yMean, yVar) = meanAndBiasedVariance(ys)
            #expect(abs(yMean) < 1e-5, "channel \(ch): output mean \(yMean)")
            #expect(abs(yVar - xVar / (xVar + 1e-5)) < 1e-4, "channel \(ch): output variance \(yVar)")
            #expect(abs(Double(stats.mean[ch]) - xMean) < 1e-5, "channel \(ch): mean \(stats.mean[ch]) vs \(xMean)")
            #expect(abs(Double(stats.variance[ch]) - xVar) < 1e-4 * xVar, "channel \(ch): variance \(stats.variance[ch]) vs \(xVar)")
        }
    }

    @Test("Training output with gamma and beta has per-channel mean beta and standard deviation |gamma|")
    func affineShiftsAndScales() {
        let tape = Tape()
        let gamma: [Float] = [2, -0.5, 1], beta: [Float] = [1, 0, -3]
        let (y, _) = tape.constant(Self.input(seed: 38)).batchNorm(
            gamma: tape.constant(Tensor(shape: [3], data: gamma)), beta: tape.constant(Tensor(shape: [3], data: beta)),
            epsilon: 0)
        for ch in 0..<3 {
            var ys: [Double] = []
            for i in 0..<4 { for k in 0..<9 { ys.append(Double(y.value.data[(i * 3 + ch) * 9 + k])) } }
            let (m, v) = meanAndBiasedVariance(ys)
            #expect(abs(m - Double(beta[ch])) < 1e-5, "channel \(ch): mean \(m)")
            #expect(abs(v.squareRoot() - Double(abs(gamma[ch]))) < 1e-4, "channel \(ch): std \(v.squareRoot())")
        }
    }

    @Test("Inference batch norm applies the given statistics: gamma (x - mean) / sqrt(var + eps) + beta")
    func knownInference() {
        let tape = Tape()
        let x = Tensor(shape: [1, 2, 1, 2], data: [1, 3, -2, 6])
        let y = tape.constant(x).batchNorm(mean: [1, 2], variance: [4, 16], gamma: tape.constant(Tensor(shape: [2], data: [2, 1])),
                                           beta: tape.constant(Tensor(shape: [2], data: [0.5, -1])), epsilon: 0)
        // Channel 0: 2 * (x - 1) / 2 + 0.5; channel 1: (x - 2) / 4 - 1.
        expectClose(y.value, Tensor(shape: [1, 2, 1, 2], data: [0.5, 2.5, -2, 0]))
    }

    /// The input also feeds a product, so its gradient from the fused node is added to one it
    /// already holds; planes of 25 and 35 elements end in a partial vector.
    @Test("batchNormReLU equals batchNorm then relu: output, statistics and gradients, at 1 and 2 threads",
          arguments: [[4, 3, 5, 5], [2, 2, 5, 7]], [1, 2])
    func fusedReLU(shape: [Int], threads: Int) {
        let x = Self.input(seed: 44, shape: shape)
        func run(fused: Bool) -> (Tensor, BatchStatistics, Tensor) {
            let tape = Tape(threads: .fixed(threads))
            let v = tape.parameter(x)
            let (y, stats) = fused ? v.batchNormReLU(epsilon: 1e-3) : {
                let (b, s) = v.batchNorm(epsilon: 1e-3)
                return (b.relu(), s)
            }()
            var g = SeededGenerator(seed: 45)
            let r = tape.constant(Tensor.randomNormal(shape: shape, using: &g))
            let grads = tape.gradients(of: (y * r + v * v).sum())
            return (y.value, stats, grads[v])
        }
        let (fy, fs, fg) = run(fused: true)
        let (y, s, g) = run(fused: false)
        expectClose(fy, y, tolerance: 1e-6)
        #expect(fy.data.contains(0) && fy.data.contains { $0 > 0 }, "both sides of the kink occur")
        #expect(fs.count == s.count && fs.mean == s.mean && fs.variance == s.variance)
        expectClose(fg, g, tolerance: 2e-5)
    }

    @Test("batchNormReLU gradients match finite differences away from the kink")
    func fusedReLUGradients() {
        // Values spaced apart per channel, so that no normalised value lies within the step of 0.
        var x = Tensor(shape: [3, 2, 2, 3])
        var g = SeededGenerator(seed: 46)
        let order = (0..<36).shuffled(using: &g)
        for k in 0..<36 { x.data[k] = Float(order[k]) * 0.37 - 6.1 + Float((k / 6) % 2) * 2 }
        expectGradientsMatch([x], check: GradientCheck(epsilon: 1e-3)) { _, v in v[0].batchNormReLU().output }
    }

    private func meanAndBiasedVariance(_ v: [Double]) -> (Double, Double) {
        let m = v.reduce(0, +) / Double(v.count)
        return (m, v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count))
    }
}
