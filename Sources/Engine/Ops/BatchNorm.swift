/// The batch statistics a training-mode batch norm computed, for updating running averages.
public struct BatchStatistics: Sendable {
    /// Per-channel batch mean.
    public var mean: [Float]
    /// Per-channel biased batch variance (divided by N*H*W).
    public var variance: [Float]
    /// Elements per channel that produced them (N*H*W), for the unbiased correction.
    public var count: Int
}

extension Variable {
    /// Batch normalisation with batch statistics (training mode).
    ///
    /// ```
    /// y = gamma * (x - mean_c) / sqrt(var_c + eps) + beta
    /// ```
    /// with mean and biased variance over (N, H, W) of each channel. `gamma`/`beta` are
    /// optional (`affine = false`).
    ///
    /// - Returns: the normalised output and the batch statistics it used.
    public func batchNorm(gamma: Variable? = nil, beta: Variable? = nil, epsilon: Float = 1e-5)
        -> (output: Variable, statistics: BatchStatistics) {
        let c = checkedChannels("batchNorm", gamma: gamma, beta: beta)
        let threads = tape.threads
        let x = value
        let g = gamma.map { Array($0.value.data) }
        let (y, mean, variance, invstd) = NormKernels.normalize(x, gamma: g, beta: beta.map { Array($0.value.data) }, epsilon: epsilon,
                                                                threads: threads)
        let inputs = [self] + [gamma, beta].compactMap { $0 }
        let (xid, gid, bid) = (id, gamma?.id, beta?.id)
        // Without an affine map the output is the normalised input itself: keep it instead of
        // the input, which can then be freed (the output usually lives on anyway).
        let affine = gamma != nil || beta != nil
        let (source, sourceMean, sourceScale) = affine ? (x, mean, invstd) : (y, [Float](repeating: 0, count: c), [Float](repeating: 1, count: c))
        let out = tape.record(y, inputs: inputs, sampleScaledBackward: { dy, sampleScales, grads in
            let r = NormKernels.backward(dy: dy, sampleScales: sampleScales, normalizing: source, mean: sourceMean, scale: sourceScale,
                                         invstd: invstd, gamma: g, threads: threads)
            grads.accumulate(xid, r.dx)
            if let gid { grads.accumulate(gid, Tensor(shape: [c], data: r.dGamma)) }
            if let bid { grads.accumulate(bid, Tensor(shape: [c], data: r.dBeta)) }
        })
        return (out, BatchStatistics(mean: mean, variance: variance, count: x.count / max(c, 1)))
    }

    /// `relu(batchNorm(x))` with batch statistics and no affine map, as one node: the
    /// normalised tensor is never written, and backward masks the output gradient and takes
    /// the batch-norm gradient in the same sweep. Keeps the input and the output.
    ///
    /// - Returns: the rectified output and the batch statistics it used.
    public func batchNormReLU(epsilon: Float = 1e-5) -> (output: Variable, statistics: BatchStatistics) {
        let c = checkedChannels("batchNormReLU", gamma: nil, beta: nil)
        let threads = tape.threads
        let x = value
        let (y, mean, variance, invstd) = NormKernels.normalizeReLU(x, epsilon: epsilon, threads: threads)
        let xid = id
        let out = tape.record(y, inputs: [self]) { dy, grads in
            grads.accumulate(xid, shape: x.shape) { dx, accumulating in
                NormKernels.backwardReLU(dy: dy, output: y, input: x, mean: mean, invstd: invstd, into: dx,
                                         accumulating: accumulating, threads: threads)
            }
        }
        return (out, BatchStatistics(mean: mean, variance: variance, count: x.count / max(c, 1)))
    }

    /// Batch normalisation with fixed statistics (inference mode): an affine map per channel.
    ///
    /// - Parameters:
    ///   - mean, variance: running statistics, one per channel.
    public func batchNorm(mean: [Float], variance: [Float], gamma: Variable? = nil, beta: Variable? = nil,
                          epsilon: Float = 1e-5) -> Variable {
        let c = checkedChannels("batchNorm(inference)", gamma: gamma, beta: beta)
        precondition(mean.count == c && variance.count == c,
                     "batchNorm(inference): \(mean.count) means and \(variance.count) variances for input \(shape)")
        let threads = tape.threads
        let invstd = variance.map { 1 / ($0 + epsilon).squareRoot() }
        let g = gamma?.value.data, b = beta?.value.data
        let scale = (0..<c).map { invstd[$0] * (g?[$0] ?? 1) }
        let shift = (0..<c).map { (b?[$0] ?? 0) - mean[$0] * scale[$0] }
        let x = value
        let y = NormKernels.affine(x, scale: scale, shift: shift, threads: threads)
        let inputs = [self] + [gamma, beta].compactMap { $0 }
        let (xid, gid, bid) = (id, gamma?.id, beta?.id)
        return tape.record(y, inputs: inputs) { dy, grads in
            grads.accumulate(xid, NormKernels.affine(dy, scale: scale, shift: [Float](repeating: 0, count: c), threads: threads))
            if gid != nil || bid != nil {
                let xhat = NormKernels.affine(x, scale: invstd, shift: (0..<c).map { -mean[$0] * invstd[$0] }, threads: threads)
                let sums = channelSums(dy, times: xhat)
                if let gid { grads.accumulate(gid, Tensor(shape: [c], data: sums.product)) }
                if let bid { grads.accumulate(bid, Tensor(shape: [c], data: sums.plain)) }
            }
        }
    }

    private func checkedChannels(_ op: String, gamma: Variable?, beta: Variable?) -> Int {
        precondition(rank >= 2, "\(op): input must be [N, C, ...], got shape \(shape)")
        let c = shape[1]
        if let gamma { precondition(gamma.shape == [c], "\(op): gamma shape \(gamma.shape) for input \(shape)") }
        if let beta { precondition(beta.shape == [c], "\(op): beta shape \(beta.shape) for input \(shape)") }
        return c
    }

    var rank: Int { shape.count }
}

/// Per-channel sums of `a` and of `a * b` over (N, spatial).
func channelSums(_ a: Tensor, times b: Tensor) -> (plain: [Float], product: [Float]) {
    let (n, c) = (a.shape[0], a.shape[1])
    let plane = a.count / max(n * c, 1)
    var plain = [Float](repeating: 0, count: c), product = [Float](repeating: 0, count: c)
    for i in 0..<n {
        for ch in 0..<c {
            let base = (i * c + ch) * plane
            var s: Float = 0, p: Float = 0
            for k in 0..<plane { s += a.data[base + k]; p += a.data[base + k] * b.data[base + k] }
            plain[ch] += s; product[ch] += p
        }
    }
    return (plain, product)
}
