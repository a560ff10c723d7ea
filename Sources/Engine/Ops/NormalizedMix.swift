/// One input of ``normalizedWeightedSum(_:weights:indices:sampleScales:)``: a tensor that is
/// mixed as it is, or after a batch norm with batch statistics and no affine map.
public struct MixTerm {
    public var input: Variable
    /// Normalise `input` per channel with its batch mean and variance before mixing.
    public var normalized: Bool
    public var epsilon: Float

    public init(_ input: Variable, normalized: Bool, epsilon: Float = 1e-5) {
        (self.input, self.normalized, self.epsilon) = (input, normalized, epsilon)
    }
}

/// ``weightedSum(_:weights:indices:sampleScales:)`` of inputs of which some first pass through a
/// non-affine training-mode batch norm, in one node:
///
/// ```
/// y[n] = sum_k weights[indices[k]] * sampleScales[k][n] * t_k(inputs[k])[n]
/// t_k(x) = (x - mean_c(x)) / sqrt(var_c(x) + eps_k)  for a normalized term, else x
/// ```
/// The normalised tensors are never written out: channel by channel, each term's moments are
/// taken and its planes are added to the output while they are still in cache. Backward, the
/// output gradient of a channel is read once for all terms, and the per-sample dot products
/// that the batch-norm gradient needs also give the weights' gradient. This is what a MixedOp
/// of operations that end with a batch norm computes; it equals the separate batch norms and
/// weighted sum up to rounding.
///
/// - Returns: the output and, per term, the batch statistics it used (nil for a plain term),
///   for updating running averages.
public func normalizedWeightedSum(_ terms: [MixTerm], weights: Variable, indices: [Int],
                                  sampleScales: [[Float]?]? = nil) -> (output: Variable, statistics: [BatchStatistics?]) {
    precondition(!terms.isEmpty, "normalizedWeightedSum: no inputs")
    precondition(terms.count == indices.count, "normalizedWeightedSum: \(terms.count) inputs for \(indices.count) weight indices")
    let shape = terms[0].input.shape
    precondition(shape.count >= 2, "normalizedWeightedSum: inputs must be [N, C, ...], got shape \(shape)")
    for t in terms {
        precondition(t.input.shape == shape, "normalizedWeightedSum: input shapes \(shape) and \(t.input.shape) differ")
    }
    precondition(indices.allSatisfy { $0 >= 0 && $0 < weights.value.count },
                 "normalizedWeightedSum: indices \(indices) out of range for weights of shape \(weights.shape)")
    let (batch, channels) = (shape[0], shape[1])
    let plane = shape.reduce(1, *) / max(batch * channels, 1)
    let scales = sampleScales ?? Array(repeating: nil, count: terms.count)
    precondition(scales.count == terms.count && scales.allSatisfy { $0 == nil || $0!.count == batch },
                 "normalizedWeightedSum: sample scales \(scales.map { $0?.count ?? 0 }) for \(terms.count) inputs of shape \(shape)")
    let tape = weights.tape, threads = tape.threads
    let w = weights.value.data
    let normalized = terms.map(\.normalized), epsilons = terms.map(\.epsilon)
    let count = terms.count
    /// The factor of term `k` on sample `n`.
    func factor(_ k: Int, _ n: Int) -> Float { w[indices[k]] * (scales[k]?[n] ?? 1) }
    let values = terms.map(\.input.value)

    // Per term and channel: mean, biased variance and 1 / sqrt(var + eps) (unused for plain terms).
    var mean = [Float](repeating: 0, count: count * channels), variance = mean
    var invstd = [Float](repeating: 1, count: count * channels)
    let y = Tensor(uninitializedShape: shape) { yb in
        withBaseAddresses(values) { sources in
            mean.withUnsafeMutableBufferPointer { mb in
                variance.withUnsafeMutableBufferPointer { vb in
                    invstd.withUnsafeMutableBufferPointer { ib in
                        let (out, mp, vp, ip) = (UncheckedBox(yb.baseAddress!), UncheckedBox(mb.baseAddress!),
                                                 UncheckedBox(vb.baseAddress!), UncheckedBox(ib.baseAddress!))
                        parallelFor(channels, threads: threads) { ch in
                            for k in 0..<count where normalized[k] {
                                let (mu, v) = NormKernels.moments(sources[k], channel: ch, channels: channels, batch: batch,
                                                                  plane: plane)
                                let at = k * channels + ch
                                (mp.value[at], vp.value[at], ip.value[at]) = (mu, v, 1 / (v + epsilons[k]).squareRoot())
                            }
                            var coefficients: [(UnsafePointer<Float>, Float)] = []
                            coefficients.reserveCapacity(count)
                            for n in 0..<batch {
                                coefficients.removeAll(keepingCapacity: true)
                                var bias: Float = 0
                                let offset = (n * channels + ch) * plane
                                for k in 0..<count {
                                    let f = factor(k, n)
                                    if f == 0 { continue }
                                    if normalized[k] {
                                        let (mu, inv) = (mp.value[k * channels + ch], ip.value[k * channels + ch])
                                        coefficients.append((sources[k] + offset, f * inv))
                                        bias -= f * inv * mu
                                    } else {
                                        coefficients.append((sources[k] + offset, f))
                                    }
                                }
                                Vector.combine(coefficients, bias: bias, into: out.value + offset, plane)
                            }
                        }
                    }
                }
            }
        }
    }
    let statistics: [BatchStatistics?] = (0..<count).map { k in
        normalized[k] ? BatchStatistics(mean: Array(mean[k * channels..<(k + 1) * channels]),
                                        variance: Array(variance[k * channels..<(k + 1) * channels]),
                                        count: batch * plane) : nil
    }

    let (means, invstds) = (mean, invstd)
    let ids = terms.map(\.input.id), needs = terms.map { tape.needsGradient($0.input) }
    let wid = weights.id, wshape = weights.shape, needsWeights = weights.needsGradient
    // A plain input is needed backward only for the weights' gradient.
    let saved = (0..<count).map { k in normalized[k] && needs[k] || needsWeights ? values[k] : Tensor(shape: [0]) }
    let inputs = terms.map(\.input) + [weights]
    let output = tape.record(y, inputs: inputs, sampleScaledBackward: { dy, incoming, grads in
        // Plain inputs receive the output gradient with per-sample factors, never written out.
        for k in 0..<count where !normalized[k] {
            grads.accumulate(ids[k], dy, sampleScales: (0..<batch).map { n in factor(k, n) * (incoming?[n] ?? 1) })
        }
        let written = (0..<count).filter { normalized[$0] && needs[$0] }
        // Per term, sample and channel: <dy, t_k(x)> over the plane (for the weights' gradient).
        var dots = [Float](repeating: 0, count: needsWeights ? count * batch * channels : 0)
        let m = Float(batch * plane)
        // The terms whose per-sample products <dy, x> are needed.
        let dotted = (0..<count).filter { (normalized[$0] && needs[$0]) || needsWeights }
        let gradients = makeUninitializedTensors(written.count, shape: shape) { dxs in
            dy.data.withUnsafeBufferPointer { db in
                withBaseAddresses(saved) { sources in
                    dots.withUnsafeMutableBufferPointer { dotb in
                        let dq = UncheckedBox(dotb.baseAddress)
                        parallelFor(channels, threads: threads) { ch in
                            // Per sample: sum(dy) and, per term, <dy, x>.
                            var sums = [Float](repeating: 0, count: batch), products = [Float](repeating: 0, count: count * batch)
                            for n in 0..<batch {
                                let offset = (n * channels + ch) * plane
                                let d = db.baseAddress! + offset
                                // Three products per pass over d; the sum rides with the last one.
                                var j = 0
                                while j + 3 <= dotted.count {
                                    let (k0, k1, k2) = (dotted[j], dotted[j + 1], dotted[j + 2])
                                    (products[k0 * batch + n], products[k1 * batch + n], products[k2 * batch + n]) =
                                        Vector.dot3(d, sources[k0] + offset, sources[k1] + offset, sources[k2] + offset, plane)
                                    j += 3
                                }
                                if j < dotted.count {
                                    (sums[n], products[dotted[j] * batch + n]) = Vector.sumAndDot(d, sources[dotted[j]] + offset, plane)
                                    if j + 1 < dotted.count {
                                        products[dotted[j + 1] * batch + n] = Vector.dot(d, sources[dotted[j + 1]] + offset, plane)
                                    }
                                } else {
                                    sums[n] = Vector.sum(d, plane)
                                }
                            }
                            for k in 0..<count {
                                let (mu, inv) = (means[k * channels + ch], invstds[k * channels + ch])
                                if needsWeights, let dots = dq.value {
                                    for n in 0..<batch {
                                        let p = products[k * batch + n]
                                        dots[(k * batch + n) * channels + ch] = normalized[k] ? inv * (p - mu * sums[n]) : p
                                    }
                                }
                                guard normalized[k] && needs[k] else { continue }
                                // Batch-norm backward with output gradient F_n * dy[n], F_n = factor * incoming:
                                // dx = inv / M * (M * F_n * dy - sum(F dy) - xhat * sum(F dy xhat)).
                                var sdy: Float = 0, sdyx: Float = 0
                                for n in 0..<batch {
                                    let f = factor(k, n) * (incoming?[n] ?? 1)
                                    if f == 0 { continue }
                                    sdy += f * sums[n]
                                    sdyx += f * (products[k * batch + n] - mu * sums[n])
                                }
                                sdyx *= inv
                                let k1 = inv / m
                                let dx = dxs[written.firstIndex(of: k)!]
                                for n in 0..<batch {
                                    let offset = (n * channels + ch) * plane
                                    let f = factor(k, n) * (incoming?[n] ?? 1)
                                    let (a, b) = (k1 * m * f, -k1 * inv * sdyx)
                                    let c = -k1 * sdy + k1 * inv * mu * sdyx
                                    Vector.linear(a, db.baseAddress! + offset, b, sources[k] + offset, c, dx + offset, plane)
                                }
                            }
                        }
                    }
                }
            }
        }
        for (j, k) in written.enumerated() { grads.accumulate(ids[k], gradients[j]) }
        guard needsWeights else { return }
        // Channel sums in a fixed order, then the weights' gradient as weightedSum forms it.
        var dw = Tensor(shape: wshape)
        for k in 0..<count {
            for n in 0..<batch {
                let f = (scales[k]?[n] ?? 1) * (incoming?[n] ?? 1)
                if f == 0 { continue }
                var s: Float = 0
                for ch in 0..<channels { s += dots[(k * batch + n) * channels + ch] }
                dw.data[indices[k]] += f * s
            }
        }
        grads.accumulate(wid, dw)
    })
    return (output, statistics)
}

/// `count` tensors of `shape` whose storage `body` must fill completely.
func makeUninitializedTensors(_ count: Int, shape: [Int], _ body: ([UnsafeMutablePointer<Float>]) -> Void) -> [Tensor] {
    var pointers: [UnsafeMutablePointer<Float>] = [], made: [Tensor] = []
    func level(_ i: Int) {
        if i == count { body(pointers); return }
        // The innermost tensor is finished first, so `made` fills in reverse.
        made.append(Tensor(uninitializedShape: shape) { b in
            pointers.append(b.baseAddress ?? UnsafeMutablePointer(bitPattern: MemoryLayout<Float>.alignment)!)
            level(i + 1)
        })
    }
    level(0)
    return made.reversed()
}
