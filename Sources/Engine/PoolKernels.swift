import CKernels

/// 3x3-style pooling windows (any odd size), padding 1 by default; forward and backward.
///
/// Like depthwise convolutions (see ``ConvKernels/DepthwisePlan``), each plane is copied into
/// a padded buffer so that all window taps of eight outputs are read in one vectorised pass
/// over a "wide" stride-1 output; strided pools then sample that output.
enum PoolKernels {
    /// Max pooling (padding never wins). Also returns, per output, the window tap (row-major)
    /// of the first input that attains the maximum, so the backward pass scatters directly.
    static func maxForward(_ x: Tensor, _ g: ConvGeometry, threads: KernelThreads) -> (Tensor, [UInt8]) {
        precondition(g.kernelH * g.kernelW <= 256, "maxPool: window of \(g.kernelH)x\(g.kernelW) is too large")
        let plan = ConvKernels.DepthwisePlan(g)
        let (Ho, Wo, planeIn) = (g.outHeight, g.outWidth, g.height * g.width)
        var tapsOut = [UInt8](repeating: 0, count: g.batch * g.inChannels * Ho * Wo)
        let out = Tensor(uninitializedShape: [g.batch, g.inChannels, Ho, Wo]) { ob in
            x.data.withUnsafeBufferPointer { xb in
                tapsOut.withUnsafeMutableBufferPointer { tb in
                    plan.offsets.withUnsafeBufferPointer { offs in
                        let (op, tp) = (UncheckedBox(ob.baseAddress!), UncheckedBox(tb.baseAddress!))
                        parallelFor(g.batch, threads: threads) { n in
                            // Strided pools sample their taps from a wide row of them.
                            let arg = plan.writesRows ? nil : UnsafeMutablePointer<UInt8>.allocate(capacity: plan.wideCount)
                            defer { arg?.deallocate() }
                            plan.withScratch { padded, best in
                                for c in 0..<g.inChannels {
                                    let p = n * g.inChannels + c
                                    let o = op.value + p * Ho * Wo, to = tp.value + p * Ho * Wo
                                    if plan.registerRows {
                                        mn_maxpool3x3_forward(xb.baseAddress! + p * planeIn, Int32(g.height), Int32(g.width),
                                                              Int32(g.strideH), o, to)
                                        continue
                                    }
                                    plan.pad(xb.baseAddress! + p * planeIn, into: padded, fill: -.infinity)
                                    if plan.writesRows {
                                        Stencil.maxArgument(padded, offsets: offs.baseAddress!, taps: offs.count, best: o, arg: to, Wo,
                                                            rows: Ho, srcPitch: plan.wp, dstPitch: Wo)
                                        continue
                                    }
                                    let wide = arg!
                                    plan.forEachSampledRun { start, count in
                                        Stencil.maxArgument(padded + start, offsets: offs.baseAddress!, taps: offs.count,
                                                            best: best + start, arg: wide + start, count)
                                    }
                                    plan.sample(best, into: o)
                                    for ho in 0..<Ho {
                                        let row = wide + ho * g.strideH * plan.wp, dst = to + ho * Wo
                                        for wo in 0..<Wo { dst[wo] = row[wo * g.strideW] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (out, tapsOut)
    }

    /// Adds each output gradient to the input its window's winning tap points at: the input
    /// gradient, written to `dx` (`[batch, C, H, W]`), or added to what it holds when
    /// `accumulating`.
    static func maxBackward(_ dy: Tensor, taps: [UInt8], _ g: ConvGeometry, into dx: UnsafeMutablePointer<Float>,
                            accumulating: Bool, threads: KernelThreads) {
        let plan = ConvKernels.DepthwisePlan(g)
        let (Ho, Wo, H, W) = (g.outHeight, g.outWidth, g.height, g.width)
        dy.data.withUnsafeBufferPointer { db in
            taps.withUnsafeBufferPointer { tb in
                plan.offsets.withUnsafeBufferPointer { offsets in
                    let xq = UncheckedBox(dx)
                    parallelFor(g.batch, threads: threads) { n in
                        withAlignedScratch(plan.paddedCount) { padded in
                            for c in 0..<g.inChannels {
                                let p = n * g.inChannels + c
                                padded.update(repeating: 0, count: plan.paddedCount)
                                let d = db.baseAddress! + p * Ho * Wo, t = tb.baseAddress! + p * Ho * Wo
                                for ho in 0..<Ho {
                                    let row = ho * g.strideH * plan.wp
                                    for wo in 0..<Wo {
                                        let k = ho * Wo + wo
                                        padded[row + wo * g.strideW + offsets[Int(t[k])]] += d[k]
                                    }
                                }
                                plan.unpad(padded, into: xq.value + p * H * W, accumulating: accumulating)
                            }
                        }
                    }
                }
            }
        }
    }

    /// The reciprocal of the number of in-bounds inputs of each output window (padding is
    /// not counted).
    static func inverseWindowCounts(_ g: ConvGeometry) -> [Float] {
        var counts = [Float](repeating: 0, count: g.outHeight * g.outWidth)
        ConvKernels.forEachTap(g) { _, rows, cols, _ in
            for ho in rows { for wo in cols { counts[ho * g.outWidth + wo] += 1 } }
        }
        return counts.map { 1 / $0 }
    }

    /// Average pooling with padding excluded from the divisor: a depthwise filter of ones,
    /// then each output divided by its window's in-bounds count.
    static func avgForward(_ x: Tensor, _ g: ConvGeometry, threads: KernelThreads) -> Tensor {
        let ones = Tensor(shape: [g.inChannels, 1, g.kernelH, g.kernelW], repeating: 1)
        return ConvKernels.depthwiseForward(x: x, weight: ones, bias: nil, g, planeScale: inverseWindowCounts(g),
                                            threads: threads)
    }

    /// The input gradient of average pooling, written to `dx` (`[batch, C, H, W]`), or added
    /// to what it holds when `accumulating`.
    static func avgBackward(_ dy: Tensor, _ g: ConvGeometry, into dx: UnsafeMutablePointer<Float>, accumulating: Bool,
                            threads: KernelThreads) {
        let plan = ConvKernels.DepthwisePlan(g)
        let (Ho, Wo, H, W) = (g.outHeight, g.outWidth, g.height, g.width)
        let inv = inverseWindowCounts(g)
        let ones = [Float](repeating: 1, count: plan.offsets.count)
        dy.data.withUnsafeBufferPointer { db in
            ones.withUnsafeBufferPointer { wb in
                plan.offsets.withUnsafeBufferPointer { offs in
                    let xq = UncheckedBox(dx)
                    parallelFor(g.batch, threads: threads) { n in
                        let scaled = UnsafeMutablePointer<Float>.allocate(capacity: Ho * Wo)
                        defer { scaled.deallocate() }
                        plan.withBackwardScratch { scratch in
                            for c in 0..<g.inChannels {
                                let p = n * g.inChannels + c
                                let d = db.baseAddress! + p * Ho * Wo
                                for k in 0..<(Ho * Wo) { scaled[k] = d[k] * inv[k] }
                                // The input gradient of a filter of ones.
                                plan.backward(dy: scaled, preparedInput: nil, weights: wb.baseAddress!, offsets: offs.baseAddress!,
                                              scratch: scratch, dx: xq.value + p * H * W, accumulatingDX: accumulating,
                                              filterGradient: nil)
                            }
                        }
                    }
                }
            }
        }
    }
}
