/// 3x3-style pooling windows (any odd size), padding 1 by default; forward and backward.
enum PoolKernels {
    /// Max pooling (padding never wins).
    static func maxForward(_ x: Tensor, _ g: ConvGeometry, threads: Int) -> Tensor {
        let (Ho, Wo, H, W) = (g.outHeight, g.outWidth, g.height, g.width)
        var out = Tensor(shape: [g.batch, g.inChannels, Ho, Wo], repeating: -.infinity)
        x.data.withUnsafeBufferPointer { xb in
            out.data.withUnsafeMutableBufferPointer { ob in
                let op = UncheckedBox(ob.baseAddress!)
                parallelFor(g.batch, threads: threads) { n in
                    for c in 0..<g.inChannels {
                        let p = n * g.inChannels + c
                        let xp = xb.baseAddress! + p * H * W
                        let o = op.value + p * Ho * Wo
                        ConvKernels.forEachTap(g) { _, rows, cols, off in
                            for ho in rows {
                                let src = xp + ho * g.strideH * W + off, dst = o + ho * Wo
                                if g.strideW == 1 {
                                    var wo = cols.lowerBound
                                    while wo + 8 <= cols.upperBound {
                                        Vector.store(pointwiseMax(Vector.load(dst + wo), Vector.load(src + wo)), dst + wo)
                                        wo += 8
                                    }
                                    while wo < cols.upperBound { dst[wo] = max(dst[wo], src[wo]); wo += 1 }
                                } else {
                                    for wo in cols { dst[wo] = max(dst[wo], src[wo * g.strideW]) }
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Routes each output gradient to the first input of its window (taps in row-major order)
    /// that equals the window's maximum.
    static func maxBackward(_ dy: Tensor, x: Tensor, y: Tensor, _ g: ConvGeometry, threads: Int) -> Tensor {
        let (Ho, Wo, H, W) = (g.outHeight, g.outWidth, g.height, g.width)
        var dx = Tensor(shape: [g.batch, g.inChannels, H, W])
        dy.data.withUnsafeBufferPointer { db in
            x.data.withUnsafeBufferPointer { xb in
                y.data.withUnsafeBufferPointer { yb in
                    dx.data.withUnsafeMutableBufferPointer { gb in
                        let gp = UncheckedBox(gb.baseAddress!)
                        parallelFor(g.batch, threads: threads) { n in
                            var routed = [Bool](repeating: false, count: Ho * Wo)
                            for c in 0..<g.inChannels {
                                let p = n * g.inChannels + c
                                let xp = xb.baseAddress! + p * H * W, d = gp.value + p * H * W
                                let yp = yb.baseAddress! + p * Ho * Wo, dyp = db.baseAddress! + p * Ho * Wo
                                for k in routed.indices { routed[k] = false }
                                ConvKernels.forEachTap(g) { _, rows, cols, off in
                                    for ho in rows {
                                        let base = ho * g.strideH * W + off
                                        for wo in cols {
                                            let k = ho * Wo + wo, idx = base + wo * g.strideW
                                            if !routed[k] && xp[idx] == yp[k] {
                                                d[idx] += dyp[k]
                                                routed[k] = true
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return dx
    }

    /// The number of in-bounds inputs of each output window (padding is not counted).
    static func windowCounts(_ g: ConvGeometry) -> [Float] {
        var counts = [Float](repeating: 0, count: g.outHeight * g.outWidth)
        ConvKernels.forEachTap(g) { _, rows, cols, _ in
            for ho in rows { for wo in cols { counts[ho * g.outWidth + wo] += 1 } }
        }
        return counts
    }

    /// Average pooling with padding excluded from the divisor.
    static func avgForward(_ x: Tensor, _ g: ConvGeometry, threads: Int) -> Tensor {
        let (Ho, Wo, H, W) = (g.outHeight, g.outWidth, g.height, g.width)
        let inv = windowCounts(g).map { 1 / $0 }
        var out = Tensor(shape: [g.batch, g.inChannels, Ho, Wo])
        x.data.withUnsafeBufferPointer { xb in
            out.data.withUnsafeMutableBufferPointer { ob in
                let op = UncheckedBox(ob.baseAddress!)
                parallelFor(g.batch, threads: threads) { n in
                    for c in 0..<g.inChannels {
                        let p = n * g.inChannels + c
                        let xp = xb.baseAddress! + p * H * W, o = op.value + p * Ho * Wo
                        ConvKernels.forEachTap(g) { _, rows, cols, off in
                            for ho in rows {
                                let src = xp + ho * g.strideH * W + off, dst = o + ho * Wo
                                if g.strideW == 1 {
                                    Vector.add(src + cols.lowerBound, dst + cols.lowerBound, cols.count)
                                } else {
                                    for wo in cols { dst[wo] += src[wo * g.strideW] }
                                }
                            }
                        }
                        for k in 0..<(Ho * Wo) { o[k] *= inv[k] }
                    }
                }
            }
        }
        return out
    }

    static func avgBackward(_ dy: Tensor, _ g: ConvGeometry, threads: Int) -> Tensor {
        let (Ho, Wo, H, W) = (g.outHeight, g.outWidth, g.height, g.width)
        let inv = windowCounts(g).map { 1 / $0 }
        var dx = Tensor(shape: [g.batch, g.inChannels, H, W])
        dy.data.withUnsafeBufferPointer { db in
            dx.data.withUnsafeMutableBufferPointer { xb in
                let xp = UncheckedBox(xb.baseAddress!)
                parallelFor(g.batch, threads: threads) { n in
                    var scaled = [Float](repeating: 0, count: Ho * Wo)
                    scaled.withUnsafeMutableBufferPointer { sb in
                        let sp = sb.baseAddress!
                        for c in 0..<g.inChannels {
                            let p = n * g.inChannels + c
                            for k in 0..<(Ho * Wo) { sp[k] = db[p * Ho * Wo + k] * inv[k] }
                            let d = xp.value + p * H * W
                            ConvKernels.forEachTap(g) { _, rows, cols, off in
                                for ho in rows {
                                    let dst = d + ho * g.strideH * W + off
                                    if g.strideW == 1 {
                                        Vector.add(sp + ho * Wo + cols.lowerBound, dst + cols.lowerBound, cols.count)
                                    } else {
                                        for wo in cols { dst[wo * g.strideW] += sp[ho * Wo + wo] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return dx
    }
}
