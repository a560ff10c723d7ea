/// Copies a `[n, c, plane]` block layout: channels `[from, from + count)` of `src` (with `srcC`
/// channels and `n` images) to channels `[to, to + count)` of `dst` (with `dstC` channels),
/// or adds them to what `dst` holds; images are spread over `threads`.
func copyChannels(_ src: UnsafePointer<Float>, n: Int, srcC: Int, from: Int, into dst: UnsafeMutablePointer<Float>,
                  dstC: Int, to: Int, count: Int, plane: Int, adding: Bool = false, threads: KernelThreads) {
    let (s, d) = (UncheckedBox(src), UncheckedBox(dst))
    parallelFor(n, threads: threads) { i in
        let sp = s.value + (i * srcC + from) * plane
        let dp = d.value + (i * dstC + to) * plane
        if adding {
            Vector.add(sp, dp, count * plane)
        } else {
            dp.update(from: sp, count: count * plane)
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
    let n = first[0], plane = first.dropFirst(2).reduce(1, *)
    let threads = inputs[0].tape.threads
    // The inputs' channel blocks cover the output, so it needs no clearing first.
    let y = Tensor(uninitializedShape: shape) { yb in
        var offset = 0
        for (v, c) in zip(inputs, channels) {
            v.value.data.withUnsafeBufferPointer { xb in
                copyChannels(xb.baseAddress!, n: n, srcC: c, from: 0, into: yb.baseAddress!, dstC: total, to: offset,
                             count: c, plane: plane, threads: threads)
            }
            offset += c
        }
    }
    let ids = inputs.map(\.id), shapes = inputs.map(\.shape)
    return inputs[0].tape.record(y, inputs: inputs) { dy, grads in
        dy.data.withUnsafeBufferPointer { db in
            var offset = 0
            for (k, xid) in ids.enumerated() {
                // Each input's block, written into (or added to) the gradient the input holds.
                grads.accumulate(xid, shape: shapes[k]) { g, accumulating in
                    copyChannels(db.baseAddress!, n: n, srcC: total, from: offset, into: g, dstC: channels[k], to: 0,
                                 count: channels[k], plane: plane, adding: accumulating, threads: threads)
                }
                offset += channels[k]
            }
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
        let n = shape[0], plane = shape.dropFirst(2).reduce(1, *), threads = tape.threads
        let y = Tensor(uninitializedShape: outShape) { yb in
            value.data.withUnsafeBufferPointer { xb in
                copyChannels(xb.baseAddress!, n: n, srcC: c, from: range.lowerBound, into: yb.baseAddress!,
                             dstC: range.count, to: 0, count: range.count, plane: plane, threads: threads)
            }
        }
        let xid = id
        return tape.record(y, inputs: [self]) { dy, grads in
            grads.accumulate(xid, {
                // The channels outside the range get no gradient: zeros.
                var g = Tensor(shape: xshape)
                dy.data.withUnsafeBufferPointer { db in
                    g.data.withUnsafeMutableBufferPointer { gb in
                        copyChannels(db.baseAddress!, n: n, srcC: range.count, from: 0, into: gb.baseAddress!, dstC: c,
                                     to: range.lowerBound, count: range.count, plane: plane, threads: threads)
                    }
                }
                return g
            }())
        }
    }

    /// Every other pixel of an NCHW image from row `row` and column `column` (each 0 or 1):
    /// `y[h, w] = x[2h + row, 2w + column]`, zero past the input's edge, with `ceil(H / 2) x
    /// ceil(W / 2)` pixels, as a stride-2 1x1 convolution samples its input (`row` and `column`
    /// 1: the input shifted up and left by a pixel first). FactorizedReduce's two paths read these
    /// planes, so that its convolutions are plain matrix products and the sampling is done once
    /// for all reductions of an input.
    public func phaseSampled(row: Int, column: Int) -> Variable {
        precondition(shape.count == 4, "phaseSampled: input must be NCHW, got \(shape)")
        precondition((0...1).contains(row) && (0...1).contains(column),
                     "phaseSampled: row \(row) and column \(column) must each be 0 or 1")
        let (N, C, H, W) = (shape[0], shape[1], shape[2], shape[3]), xshape = shape
        let (Ho, Wo) = ((H + 1) / 2, (W + 1) / 2)
        let threads = tape.threads
        // The input columns the output reads: the even or the odd ones (of which an odd width
        // has one fewer, so that the last output column is then past the edge).
        let taken = column == 0 ? Wo : W / 2
        let y = Tensor(uninitializedShape: [N, C, Ho, Wo]) { yb in
            value.data.withUnsafeBufferPointer { xb in
                let (src, dst) = (UncheckedBox(xb.baseAddress!), UncheckedBox(yb.baseAddress!))
                parallelFor(N, threads: threads) { n in
                    for p in (n * C)..<((n + 1) * C) {
                        let (plane, out) = (src.value + p * H * W, dst.value + p * Ho * Wo)
                        for h in 0..<Ho {
                            let (r, o) = (2 * h + row, out + h * Wo)
                            guard r < H else { Vector.fill(o, 0, Wo); continue }
                            Vector.deinterleave(plane + r * W, W, even: column == 0 ? o : nil, odd: column == 1 ? o : nil)
                            if taken < Wo { o[Wo - 1] = 0 }
                        }
                    }
                }
            }
        }
        let xid = id
        return tape.record(y, inputs: [self]) { dy, grads in
            // The sampled pixels get the output gradient; written fresh, the others get zeros.
            grads.accumulate(xid, shape: xshape) { dx, accumulating in
                dy.data.withUnsafeBufferPointer { db in
                    let (src, dst) = (UncheckedBox(db.baseAddress!), UncheckedBox(dx))
                    parallelFor(N, threads: threads) { n in
                        for p in (n * C)..<((n + 1) * C) {
                            let (g, plane) = (src.value + p * Ho * Wo, dst.value + p * H * W)
                            for r in 0..<H {
                                let out = plane + r * W
                                guard (r - row) & 1 == 0, r >= row else {
                                    if !accumulating { Vector.fill(out, 0, W) }
                                    continue
                                }
                                let gr = g + (r - row) / 2 * Wo
                                Vector.interleave(even: column == 0 ? gr : nil, odd: column == 1 ? gr : nil, into: out, W,
                                                  accumulating: accumulating)
                            }
                        }
                    }
                }
            }
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
