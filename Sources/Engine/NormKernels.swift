/// Batch normalisation over (N, H, W) per channel, in training and inference form.
enum NormKernels {
    /// Training-mode normalisation in one sweep per channel: the channel's batch moments, then
    /// `y = x * scale + shift` with `scale = invstd * gamma` and `shift = beta - mean * scale`,
    /// written while the channel's planes are still in cache.
    ///
    /// - Returns: the output, and per channel the mean, biased variance and `1 / sqrt(var + eps)`.
    static func normalize(_ x: Tensor, gamma: [Float]?, beta: [Float]?, epsilon: Float, threads: KernelThreads)
        -> (y: Tensor, mean: [Float], variance: [Float], invstd: [Float]) {
        channelSweep(x, epsilon: epsilon, threads: threads) { ch, mu, inv, src, dst, plane in
            let scale = inv * (gamma?[ch] ?? 1)
            Vector.affine(scale, src, (beta?[ch] ?? 0) - mu * scale, dst, plane)
        }
    }

    /// Training-mode normalisation without an affine map, then a ReLU, in one sweep per channel:
    /// `y = max((x - mean) * invstd, 0)`.
    ///
    /// - Returns: the output, and per channel the mean, biased variance and `1 / sqrt(var + eps)`.
    static func normalizeReLU(_ x: Tensor, epsilon: Float, threads: KernelThreads)
        -> (y: Tensor, mean: [Float], variance: [Float], invstd: [Float]) {
        channelSweep(x, epsilon: epsilon, threads: threads) { _, mu, inv, src, dst, plane in
            let (scale, shift) = (Vector.V(repeating: inv), Vector.V(repeating: -mu * inv))
            var k = 0
            while k + 8 <= plane {
                Vector.store(pointwiseMax(shift.addingProduct(scale, Vector.load(src + k)), Vector.V()), dst + k)
                k += 8
            }
            while k < plane { dst[k] = max((-mu * inv).addingProduct(inv, src[k]), 0); k += 1 }
        }
    }

    /// The sweep behind the training-mode forms: channels in parallel, each taking its batch
    /// moments and then calling `write(channel, mean, invstd, source, destination, plane)` for
    /// each sample's plane, while the channel is still in cache.
    @inline(__always)
    private static func channelSweep(
        _ x: Tensor, epsilon: Float, threads: KernelThreads,
        _ write: (_ channel: Int, _ mean: Float, _ invstd: Float, _ source: UnsafePointer<Float>,
                  _ destination: UnsafeMutablePointer<Float>, _ plane: Int) -> Void
    ) -> (y: Tensor, mean: [Float], variance: [Float], invstd: [Float]) {
        let (n, c) = (x.shape[0], x.shape[1])
        let plane = x.count / max(n * c, 1)
        var mean = [Float](repeating: 0, count: c), variance = mean, invstd = mean
        let y = Tensor(uninitializedShape: x.shape) { yb in
            x.data.withUnsafeBufferPointer { xb in
                mean.withUnsafeMutableBufferPointer { mb in
                    variance.withUnsafeMutableBufferPointer { vb in
                        invstd.withUnsafeMutableBufferPointer { ib in
                            let (yp, mp, vp, ip) = (UncheckedBox(yb.baseAddress!), UncheckedBox(mb.baseAddress!),
                                                    UncheckedBox(vb.baseAddress!), UncheckedBox(ib.baseAddress!))
                            parallelFor(c, threads: threads) { ch in
                                let (mu, v) = moments(xb.baseAddress!, channel: ch, channels: c, batch: n, plane: plane)
                                let inv = 1 / (v + epsilon).squareRoot()
                                for i in 0..<n {
                                    let at = (i * c + ch) * plane
                                    write(ch, mu, inv, xb.baseAddress! + at, yp.value + at, plane)
                                }
                                (mp.value[ch], vp.value[ch], ip.value[ch]) = (mu, v, inv)
                            }
                        }
                    }
                }
            }
        }
        return (y, mean, variance, invstd)
    }

    /// Backward of ``normalizeReLU(_:epsilon:threads:)``: the batch-norm gradient of the output
    /// gradient masked where the output is positive, written to `dx` (added with `accumulating`).
    static func backwardReLU(dy: Tensor, output y: Tensor, input x: Tensor, mean: [Float], invstd: [Float],
                             into dx: UnsafeMutablePointer<Float>, accumulating: Bool, threads: KernelThreads) {
        let (n, c) = (x.shape[0], x.shape[1])
        let plane = x.count / max(n * c, 1)
        let m = Float(n * plane)
        dy.data.withUnsafeBufferPointer { db in
            y.data.withUnsafeBufferPointer { yb in
                x.data.withUnsafeBufferPointer { xb in
                    let out = UncheckedBox(dx)
                    parallelFor(c, threads: threads) { ch in
                        let (mu, inv) = (mean[ch], invstd[ch])
                        var sdy: Float = 0, sdyx: Float = 0
                        for i in 0..<n {
                            let at = (i * c + ch) * plane
                            let (a, dot) = Vector.maskedSumAndDot(db.baseAddress! + at, xb.baseAddress! + at,
                                                                   mask: yb.baseAddress! + at, plane)
                            sdy += a
                            sdyx += dot - mu * a
                        }
                        sdyx *= inv
                        // dx = inv / M * (M * dy' - sum(dy') - xhat * sum(dy' xhat)), dy' the masked gradient.
                        let k1 = inv / m
                        let (a, b, cst) = (k1 * m, -k1 * inv * sdyx, -k1 * sdy + k1 * inv * mu * sdyx)
                        for i in 0..<n {
                            let at = (i * c + ch) * plane
                            Vector.maskedLinear(a, db.baseAddress! + at, mask: yb.baseAddress! + at, b, xb.baseAddress! + at,
                                                cst, out.value + at, plane, accumulating: accumulating)
                        }
                    }
                }
            }
        }
    }

    /// Mean and biased variance of one channel: moments about the channel's first element
    /// (close to the data, so the variance does not cancel), summed over planes in double.
    @inline(__always)
    static func moments(_ x: UnsafePointer<Float>, channel ch: Int, channels c: Int, batch n: Int, plane: Int)
        -> (mean: Float, variance: Float) {
        let shift = x[ch * plane]
        var s: Double = 0, q: Double = 0
        for i in 0..<n {
            if i + 1 < n { Vector.prefetch(x + ((i + 1) * c + ch) * plane, plane) }
            let (a, b) = Vector.shiftedMoments(x + (i * c + ch) * plane, shift, plane)
            s += Double(a)
            q += Double(b)
        }
        let count = Double(n * plane)
        let d = s / count
        return (Float(Double(shift) + d), Float(max(q / count - d * d, 0)))
    }

    /// `y = x * scale + shift` per channel (`shift` already holds `beta - mean * scale`).
    static func affine(_ x: Tensor, scale: [Float], shift: [Float], threads: KernelThreads) -> Tensor {
        let (n, c) = (x.shape[0], x.shape[1])
        let plane = x.count / max(n * c, 1)
        return Tensor(uninitializedShape: x.shape) { yb in
            x.data.withUnsafeBufferPointer { xb in
                let yp = UncheckedBox(yb.baseAddress!)
                parallelFor(n, threads: threads) { i in
                    for ch in 0..<c {
                        let at = (i * c + ch) * plane
                        Vector.affine(scale[ch], xb.baseAddress! + at, shift[ch], yp.value + at, plane)
                    }
                }
            }
        }
    }

    /// Backward of training-mode normalisation.
    ///
    /// ```
    /// xhat = (x - mean) * invstd,   y = gamma * xhat + beta
    /// dx   = gamma * invstd / M * (M * dy - sum(dy) - xhat * sum(dy * xhat))
    /// ```
    /// `xhat` is recovered as `(source - mean) * scale`: from the input `x` with the batch mean and
    /// `invstd`, or from a non-affine output (which is `xhat`) with mean 0 and scale 1. The
    /// output gradient is `dy` with sample `i` scaled by `sampleScales[i]`, when given.
    /// - Returns: `dx`, and the per-channel `sum(dy * xhat)` and `sum(dy)` (the affine gradients).
    static func backward(dy: Tensor, sampleScales: [Float]? = nil, normalizing x: Tensor, mean: [Float], scale: [Float],
                         invstd: [Float], gamma: [Float]?, threads: KernelThreads) -> (dx: Tensor, dGamma: [Float], dBeta: [Float]) {
        let (n, c) = (x.shape[0], x.shape[1])
        let plane = x.count / max(n * c, 1)
        let m = Float(n * plane)
        var dx = Tensor(uninitializedShape: x.shape) { _ in }  // every element is written below
        var dGamma = [Float](repeating: 0, count: c), dBeta = [Float](repeating: 0, count: c)
        dy.data.withUnsafeBufferPointer { db in
            x.data.withUnsafeBufferPointer { xb in
                dx.data.withUnsafeMutableBufferPointer { ob in
                    dGamma.withUnsafeMutableBufferPointer { gb in
                        dBeta.withUnsafeMutableBufferPointer { bb in
                            let (op, gp, bp) = (UncheckedBox(ob.baseAddress!), UncheckedBox(gb.baseAddress!),
                                                UncheckedBox(bb.baseAddress!))
                            parallelFor(c, threads: threads) { ch in
                                let (mu, inv) = (mean[ch], scale[ch])
                                var sdy: Float = 0, sdyx: Float = 0
                                for i in 0..<n {
                                    let f = sampleScales?[i] ?? 1
                                    if f == 0 { continue }
                                    let d = db.baseAddress! + (i * c + ch) * plane
                                    let (a, dot) = Vector.sumAndDot(d, xb.baseAddress! + (i * c + ch) * plane, plane)
                                    sdy += f * a
                                    sdyx += f * (dot - mu * a)
                                }
                                sdyx *= inv
                                gp.value[ch] = sdyx
                                bp.value[ch] = sdy
                                let g = gamma?[ch] ?? 1
                                let k1 = g * invstd[ch] / m
                                let meanDy = sdy, meanDyx = sdyx
                                for i in 0..<n {
                                    let d = db.baseAddress! + (i * c + ch) * plane
                                    let xp = xb.baseAddress! + (i * c + ch) * plane
                                    let o = op.value + (i * c + ch) * plane
                                    // o = k1 * (m * dy - sum(dy) - xhat * sum(dy * xhat)), as a(dy) + b(x) + c.
                                    let (a, b) = (k1 * m * (sampleScales?[i] ?? 1), -k1 * inv * meanDyx)
                                    let cst = -k1 * meanDy + k1 * inv * mu * meanDyx
                                    Vector.linear(a, d, b, xp, cst, o, plane)
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dx, dGamma, dBeta)
    }
}
