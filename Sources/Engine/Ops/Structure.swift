/// Copies a `[n, c, plane]` block layout: channels `[from, from + count)` of `src` (with `srcC`
/// channels) to channels `[to, to + count)` of `dst` (with `dstC` channels), optionally adding.
func copyChannels(_ src: Tensor, srcC: Int, from: Int, into dst: inout Tensor, dstC: Int, to: Int, count: Int,
                  adding: Bool = false) {
    let n = src.shape[0], plane = src.count / max(n * srcC, 1)
    src.data.withUnsafeBufferPointer { s in
        dst.data.withUnsafeMutableBufferPointer { d in
            for i in 0..<n {
                let sp = s.baseAddress! + (i * srcC + from) * plane
                let dp = d.baseAddress! + (i * dstC + to) * plane
                if adding {
                    for k in 0..<(count * plane) { dp[k] += sp[k] }
                } else {
                    dp.update(from: sp, count: count * plane)
                }
            }
        }
    }
}

/// Concatenates NCHW variables along the channel axis.
public func concatChannels(_ inputs: [Variable]) -> Variable {
    precondition(!inputs.isEmpty, "concatChannels: no inputs")
    let first = inputs[0].shape
    precondition(first.count >= 2, "concatChannels: inputs must be [N, C, ...], got \(first)")
    for v in inputs {
        precondition(v.shape.count == first.count && v.shape[0] == first[0] && Array(v.shape.dropFirst(2)) == Array(first.dropFirst(2)),
                     "concatChannels: shapes \(first) and \(v.shape) differ outside the channel axis")
    }
    let channels = inputs.map { $0.shape[1] }
    let total = channels.reduce(0, +)
    var shape = first
    shape[1] = total
    var y = Tensor(shape: shape)
    var offset = 0
    for (v, c) in zip(inputs, channels) {
        copyChannels(v.value, srcC: c, from: 0, into: &y, dstC: total, to: offset, count: c)
        offset += c
    }
    let ids = inputs.map(\.id), shapes = inputs.map(\.shape)
    return inputs[0].tape.record(y, inputs: inputs) { dy, grads in
        var offset = 0
        for (k, xid) in ids.enumerated() {
            let c = channels[k]
            grads.accumulate(xid, {
                var g = Tensor(shape: shapes[k])
                copyChannels(dy, srcC: total, from: offset, into: &g, dstC: c, to: 0, count: c)
                return g
            }())
            offset += c
        }
    }
}

extension Variable {
    /// Channels `[start, start + count)` of an NCHW variable.
    public func channels(_ range: Range<Int>) -> Variable {
        precondition(shape.count >= 2 && range.lowerBound >= 0 && range.upperBound <= shape[1] && !range.isEmpty,
                     "channels: range \(range) out of bounds for shape \(shape)")
        let c = shape[1], xshape = shape
        var outShape = shape
        outShape[1] = range.count
        var y = Tensor(shape: outShape)
        copyChannels(value, srcC: c, from: range.lowerBound, into: &y, dstC: range.count, to: 0, count: range.count)
        let xid = id
        return tape.record(y, inputs: [self]) { dy, grads in
            grads.accumulate(xid, {
                var g = Tensor(shape: xshape)
                copyChannels(dy, srcC: range.count, from: 0, into: &g, dstC: c, to: range.lowerBound, count: range.count)
                return g
            }())
        }
    }

    /// Shifts an NCHW image up and left by one pixel, filling the last row and column with zeros:
    /// `y[h, w] = x[h + 1, w + 1]`. FactorizedReduce's second path samples the odd pixels this way.
    public func shiftedUpLeft() -> Variable {
        precondition(shape.count == 4, "shiftedUpLeft: input must be NCHW, got \(shape)")
        let (H, W) = (shape[2], shape[3]), planes = shape[0] * shape[1]
        func shift(_ x: Tensor, forward: Bool) -> Tensor {
            var y = Tensor(shape: x.shape)
            guard H > 1, W > 1 else { return y }
            x.data.withUnsafeBufferPointer { xb in
                y.data.withUnsafeMutableBufferPointer { yb in
                    let (src, dst) = (xb.baseAddress!, yb.baseAddress!)
                    for p in 0..<planes {
                        for h in 0..<(H - 1) {
                            // Forward: row h + 1 from column 1 -> row h from column 0; backward: the reverse.
                            let (from, to) = ((p * H + h + 1) * W + 1, (p * H + h) * W)
                            if forward {
                                Vector.copyRow(src + from, dst + to, W - 1)
                            } else {
                                Vector.copyRow(src + to, dst + from, W - 1)
                            }
                        }
                    }
                }
            }
            return y
        }
        let xid = id
        return tape.record(shift(value, forward: true), inputs: [self]) { dy, grads in
            grads.accumulate(xid, shift(dy, forward: false))
        }
    }

    /// Mean over the spatial axes: `[N, C, H, W] -> [N, C]`.
    public func globalAveragePool() -> Variable {
        precondition(shape.count == 4, "globalAveragePool: input must be NCHW, got \(shape)")
        let (n, c, plane) = (shape[0], shape[1], shape[2] * shape[3])
        let xshape = shape
        var y = Tensor(shape: [n, c])
        let x = value
        for p in 0..<(n * c) {
            var s: Float = 0
            for k in 0..<plane { s += x.data[p * plane + k] }
            y.data[p] = s / Float(plane)
        }
        let xid = id
        return tape.record(y, inputs: [self]) { dy, grads in
            grads.accumulate(xid, {
                var g = Tensor(shape: xshape)
                for p in 0..<(n * c) {
                    let v = dy.data[p] / Float(plane)
                    for k in 0..<plane { g.data[p * plane + k] = v }
                }
                return g
            }())
        }
    }

    /// Affine map of `[N, in]` rows: `y = x W^T + b` with `W: [out, in]`, `b: [out]`.
    public func linear(_ weight: Variable, bias: Variable? = nil) -> Variable {
        precondition(shape.count == 2 && weight.shape.count == 2 && weight.shape[1] == shape[1],
                     "linear: input \(shape) does not match weight \(weight.shape) (expected [N, in] and [out, in])")
        let (n, inF, outF) = (shape[0], shape[1], weight.shape[0])
        if let bias { precondition(bias.shape == [outF], "linear: bias shape \(bias.shape) for weight \(weight.shape)") }
        let (x, w) = (value, weight.value)
        var y = Tensor(shape: [n, outF])
        if let b = bias?.value { for i in 0..<n { for o in 0..<outF { y.data[i * outF + o] = b.data[o] } } }
        x.data.withUnsafeBufferPointer { xb in
            w.data.withUnsafeBufferPointer { wb in
                y.data.withUnsafeMutableBufferPointer { yb in
                    sgemm(transB: true, m: n, n: outF, k: inF, a: xb.baseAddress!, lda: inF, b: wb.baseAddress!, ldb: inF,
                          beta: 1, c: yb.baseAddress!, ldc: outF)
                }
            }
        }
        let (xid, wid, bid) = (id, weight.id, bias?.id)
        return tape.record(y, inputs: [self, weight] + (bias.map { [$0] } ?? [])) { dy, grads in
            grads.accumulate(xid, {
                var dx = Tensor(shape: [n, inF])
                dy.data.withUnsafeBufferPointer { db in
                    w.data.withUnsafeBufferPointer { wb in
                        dx.data.withUnsafeMutableBufferPointer { xb in
                            sgemm(m: n, n: inF, k: outF, a: db.baseAddress!, lda: outF, b: wb.baseAddress!, ldb: inF,
                                  beta: 0, c: xb.baseAddress!, ldc: inF)
                        }
                    }
                }
                return dx
            }())
            grads.accumulate(wid, {
                var dw = Tensor(shape: [outF, inF])
                dy.data.withUnsafeBufferPointer { db in
                    x.data.withUnsafeBufferPointer { xb in
                        dw.data.withUnsafeMutableBufferPointer { wb in
                            sgemm(transA: true, m: outF, n: inF, k: n, a: db.baseAddress!, lda: outF, b: xb.baseAddress!, ldb: inF,
                                  beta: 0, c: wb.baseAddress!, ldc: inF)
                        }
                    }
                }
                return dw
            }())
            if let bid {
                grads.accumulate(bid, {
                    var db = Tensor(shape: [outF])
                    for i in 0..<n { for o in 0..<outF { db.data[o] += dy.data[i * outF + o] } }
                    return db
                }())
            }
        }
    }

    /// Row `index` of the outermost axis (`[R, ...] -> [...]`).
    public func row(_ index: Int) -> Variable {
        precondition(shape.count >= 1 && index >= 0 && index < shape[0], "row: index \(index) out of range for shape \(shape)")
        let inner = Array(shape.dropFirst()), len = inner.reduce(1, *), xshape = shape
        let y = Tensor(shape: inner, data: Array(value.data[(index * len)..<((index + 1) * len)]))
        let xid = id
        return tape.record(y, inputs: [self]) { dy, grads in
            grads.accumulate(xid, {
                var g = Tensor(shape: xshape)
                for k in 0..<len { g.data[index * len + k] = dy.data[k] }
                return g
            }())
        }
    }

    /// Per-sample drop-path: each sample is zeroed with probability `1 - keep` and the survivors
    /// are scaled by `1 / keep`, so the expectation is unchanged.
    ///
    /// - Parameters:
    ///   - keep: keep probability in (0, 1]; 1 returns the input unchanged.
    ///   - generator: the seeded stream that draws the mask (one draw per sample).
    public func dropPath(keep: Float, using generator: inout SeededGenerator) -> Variable {
        precondition(keep > 0 && keep <= 1, "dropPath: keep probability \(keep) must be in (0, 1]")
        if keep >= 1 { return self }
        let n = shape[0], per = value.count / max(n, 1)
        let mask = dropPathScales(batch: n, keep: keep, using: &generator)
        func apply(_ t: Tensor) -> Tensor {
            Tensor(uninitializedShape: t.shape) { y in
                t.data.withUnsafeBufferPointer { src in
                    for i in 0..<n {
                        Vector.affine(mask[i], src.baseAddress! + i * per, 0, y.baseAddress! + i * per, per)
                    }
                }
            }
        }
        let xid = id
        return tape.record(apply(value), inputs: [self]) { dy, grads in
            grads.accumulate(xid, apply(dy))
        }
    }
}

extension Variable {
    /// Sums of selected elements of a vector: `y[j] = sum over i in groups[j] of x[i]`.
    ///
    /// Pairwise node inputs use it to turn pair weights into per-input coefficients.
    public func groupSums(_ groups: [[Int]]) -> Variable {
        let n = value.count
        precondition(groups.allSatisfy { $0.allSatisfy { $0 >= 0 && $0 < n } },
                     "groupSums: groups \(groups) out of range for shape \(shape)")
        var y = Tensor(shape: [groups.count])
        for (j, g) in groups.enumerated() { for i in g { y.data[j] += value.data[i] } }
        let xid = id, xshape = shape
        return tape.record(y, inputs: [self]) { dy, grads in
            grads.accumulate(xid, {
                var dx = Tensor(shape: xshape)
                for (j, g) in groups.enumerated() { for i in g { dx.data[i] += dy.data[j] } }
                return dx
            }())
        }
    }
}
