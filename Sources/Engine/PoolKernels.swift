/// 3x3-style pooling windows (any odd size), padding 1 by default; forward and backward.
enum PoolKernels {
    /// Max pooling (padding never wins). Also returns, per output, the window tap (row-major)
    /// of the first input that attains the maximum, so the backward pass scatters directly.
    static func maxForward(_ x: Tensor, _ g: ConvGeometry, threads: Int) -> (Tensor, [Int32]) {
        let (Ho, Wo, H, W) = (g.outHeight, g.outWidth, g.height, g.width)
        var out = Tensor(shape: [g.batch, g.inChannels, Ho, Wo], repeating: -.infinity)
        var taps = [Int32](repeating: 0, count: out.count)
        x.data.withUnsafeBufferPointer { xb in
            out.data.withUnsafeMutableBufferPointer { ob in
                taps.withUnsafeMutableBufferPointer { tb in
                    let (op, tp) = (UncheckedBox(ob.baseAddress!), UncheckedBox(tb.baseAddress!))
                    parallelFor(g.batch, threads: threads) { n in
                        for c in 0..<g.inChannels {
                            let p = n * g.inChannels + c
                            let xp = xb.baseAddress! + p * H * W
                            let o = op.value + p * Ho * Wo, t = tp.value + p * Ho * Wo
                            ConvKernels.forEachTap(g) { tap, rows, cols, off in
                                let tapV = SIMD8<Int32>(repeating: Int32(tap))
                                for ho in rows {
                                    let src = xp + ho * g.strideH * W + off, dst = o + ho * Wo, tdst = t + ho * Wo
                                    var wo = cols.lowerBound
                                    if g.strideW == 1 {
                                        while wo + 8 <= cols.upperBound {
                                            let (v, m) = (Vector.load(src + wo), Vector.load(dst + wo))
                                            let better = v .> m
                                            Vector.store(m.replacing(with: v, where: better), dst + wo)
                                            let raw = UnsafeMutableRawPointer(tdst + wo)
                                            let old = raw.loadUnaligned(as: SIMD8<Int32>.self)
                                            raw.storeBytes(of: old.replacing(with: tapV, where: better), as: SIMD8<Int32>.self)
                                            wo += 8
                                        }
                                    }
                                    // Branch-free: a data-dependent branch here mispredicts half the time.
                                    let (sw, tap32) = (g.strideW, Int32(tap))
                                    while wo < cols.upperBound {
                                        let v = src[wo &* sw], m = dst[wo]
                                        let better = v > m
                                        dst[wo] = better ? v : m
                                        tdst[wo] = better ? tap32 : tdst[wo]
                                        wo &+= 1
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (out, taps)
    }

    /// Adds each output gradient to the input its window's winning tap points at.
    static func maxBackward(_ dy: Tensor, taps: [Int32], _ g: ConvGeometry, threads: Int) -> Tensor {
        let (Ho, Wo, H, W) = (g.outHeight, g.outWidth, g.height, g.width)
        var dx = Tensor(shape: [g.batch, g.inChannels, H, W])
        dy.data.withUnsafeBufferPointer { db in
            taps.withUnsafeBufferPointer { tb in
                dx.data.withUnsafeMutableBufferPointer { gb in
                    let gp = UncheckedBox(gb.baseAddress!)
                    parallelFor(g.batch, threads: threads) { n in
                        for c in 0..<g.inChannels {
                            let p = n * g.inChannels + c
                            let d = gp.value + p * H * W
                            for ho in 0..<Ho {
                                for wo in 0..<Wo {
                                    let k = p * Ho * Wo + ho * Wo + wo
                                    let t = Int(tb[k])
                                    let i = ho * g.strideH - g.padH + (t / g.kernelW) * g.dilationH
                                    let j = wo * g.strideW - g.padW + (t % g.kernelW) * g.dilationW
                                    d[i * W + j] += db[k]
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
