/// Convolution kernels: unfold (im2col) + matrix product for dense and grouped convolutions,
/// direct loops for depthwise ones. Forward and both backward products live side by side.
enum ConvKernels {
    typealias Ptr = UnsafeMutablePointer<Float>
    typealias CPtr = UnsafePointer<Float>

    // MARK: Unfold / fold

    /// A buffer whose contents are about to be overwritten in full (unfolded patches).
    @inline(__always) static func scratch(_ count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { _, n in n = count }
    }

    /// Writes the unfolded patches of channels `[c0, c0 + g.groupInChannels)` of one image into
    /// `col` (`patchSize x outH*outW`).
    static func im2col(_ x: CPtr, _ g: ConvGeometry, channelOffset c0: Int, _ col: Ptr) {
        let (H, W, Ho, Wo) = (g.height, g.width, g.outHeight, g.outWidth)
        var row = 0
        for c in 0..<g.groupInChannels {
            let plane = x + (c0 + c) * H * W
            for i in 0..<g.kernelH {
                let offH = i * g.dilationH - g.padH
                let hr = ConvGeometry.validRange(outExtent: Ho, inExtent: H, stride: g.strideH, tapOffset: offH)
                for j in 0..<g.kernelW {
                    let offW = j * g.dilationW - g.padW
                    let wr = ConvGeometry.validRange(outExtent: Wo, inExtent: W, stride: g.strideW, tapOffset: offW)
                    let dst = col + row * Ho * Wo
                    // Rows above and below the input, then per row the columns outside it, are zero.
                    dst.update(repeating: 0, count: hr.lowerBound * Wo)
                    (dst + hr.upperBound * Wo).update(repeating: 0, count: (Ho - hr.upperBound) * Wo)
                    for ho in hr {
                        let src = plane + (ho * g.strideH + offH) * W + offW
                        let d = dst + ho * Wo
                        d.update(repeating: 0, count: wr.lowerBound)
                        (d + wr.upperBound).update(repeating: 0, count: Wo - wr.upperBound)
                        if g.strideW == 1 {
                            (d + wr.lowerBound).update(from: src + wr.lowerBound, count: wr.count)
                        } else {
                            for wo in wr { d[wo] = src[wo * g.strideW] }
                        }
                    }
                    row += 1
                }
            }
        }
    }

    /// Adds the folded patches in `col` back into channels `[c0, ...)` of one image gradient.
    static func col2im(_ col: CPtr, _ g: ConvGeometry, channelOffset c0: Int, _ dx: Ptr) {
        let (H, W, Ho, Wo) = (g.height, g.width, g.outHeight, g.outWidth)
        var row = 0
        for c in 0..<g.groupInChannels {
            let plane = dx + (c0 + c) * H * W
            for i in 0..<g.kernelH {
                let offH = i * g.dilationH - g.padH
                let hr = ConvGeometry.validRange(outExtent: Ho, inExtent: H, stride: g.strideH, tapOffset: offH)
                for j in 0..<g.kernelW {
                    let offW = j * g.dilationW - g.padW
                    let wr = ConvGeometry.validRange(outExtent: Wo, inExtent: W, stride: g.strideW, tapOffset: offW)
                    let src = col + row * Ho * Wo
                    for ho in hr {
                        let d = plane + (ho * g.strideH + offH) * W + offW
                        let s = src + ho * Wo
                        if g.strideW == 1 {
                            for wo in wr { d[wo] += s[wo] }
                        } else {
                            for wo in wr { d[wo * g.strideW] += s[wo] }
                        }
                    }
                    row += 1
                }
            }
        }
    }

    // MARK: Dense and grouped

    static func forward(x: Tensor, weight: Tensor, bias: Tensor?, _ g: ConvGeometry, threads: Int) -> Tensor {
        if g.isDepthwise { return depthwiseForward(x: x, weight: weight, bias: bias, g, threads: threads) }
        let (Ho, Wo) = (g.outHeight, g.outWidth)
        let planeOut = Ho * Wo
        var out = Tensor(shape: [g.batch, g.outChannels, Ho, Wo])
        let K = g.patchSize, Mg = g.groupOutChannels
        x.data.withUnsafeBufferPointer { xb in
            weight.data.withUnsafeBufferPointer { wb in
                out.data.withUnsafeMutableBufferPointer { ob in
                    let op = UncheckedBox(ob.baseAddress!)
                    parallelFor(g.batch, threads: threads) { n in
                        let xn = xb.baseAddress! + n * g.inChannels * g.height * g.width
                        let on = op.value + n * g.outChannels * planeOut
                        var col = g.isPointwise ? [] : scratch(K * planeOut)
                        col.withUnsafeMutableBufferPointer { cb in
                            for grp in 0..<g.groups {
                                let b: CPtr
                                if g.isPointwise {
                                    b = xn + grp * g.groupInChannels * planeOut
                                } else {
                                    im2col(xn, g, channelOffset: grp * g.groupInChannels, cb.baseAddress!)
                                    b = CPtr(cb.baseAddress!)
                                }
                                sgemm(m: Mg, n: planeOut, k: K, a: wb.baseAddress! + grp * Mg * K, lda: K,
                                      b: b, ldb: planeOut, beta: 0, c: on + grp * Mg * planeOut, ldc: planeOut)
                            }
                        }
                        if let bias {
                            for c in 0..<g.outChannels {
                                Vector.affine(1, on + c * planeOut, bias.data[c], on + c * planeOut, planeOut)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Gradient with respect to the input.
    static func backwardData(dy: Tensor, weight: Tensor, _ g: ConvGeometry, threads: Int) -> Tensor {
        if g.isDepthwise { return depthwiseBackwardData(dy: dy, weight: weight, g, threads: threads) }
        let planeOut = g.outHeight * g.outWidth, planeIn = g.height * g.width
        var dx = Tensor(shape: [g.batch, g.inChannels, g.height, g.width])
        let K = g.patchSize, Mg = g.groupOutChannels
        dy.data.withUnsafeBufferPointer { db in
            weight.data.withUnsafeBufferPointer { wb in
                dx.data.withUnsafeMutableBufferPointer { xb in
                    let xp = UncheckedBox(xb.baseAddress!)
                    parallelFor(g.batch, threads: threads) { n in
                        let dyn = db.baseAddress! + n * g.outChannels * planeOut
                        let dxn = xp.value + n * g.inChannels * planeIn
                        var col = g.isPointwise ? [] : scratch(K * planeOut)
                        col.withUnsafeMutableBufferPointer { cb in
                            for grp in 0..<g.groups {
                                let a = wb.baseAddress! + grp * Mg * K
                                let bp = dyn + grp * Mg * planeOut
                                if g.isPointwise {
                                    sgemm(transA: true, m: K, n: planeOut, k: Mg, a: a, lda: K, b: bp, ldb: planeOut,
                                          beta: 0, c: dxn + grp * g.groupInChannels * planeIn, ldc: planeOut)
                                } else {
                                    sgemm(transA: true, m: K, n: planeOut, k: Mg, a: a, lda: K, b: bp, ldb: planeOut,
                                          beta: 0, c: cb.baseAddress!, ldc: planeOut)
                                    col2im(cb.baseAddress!, g, channelOffset: grp * g.groupInChannels, dxn)
                                }
                            }
                        }
                    }
                }
            }
        }
        return dx
    }

    /// Gradient with respect to the weights, summed over the batch in a fixed chunk order.
    static func backwardWeight(dy: Tensor, x: Tensor, _ g: ConvGeometry, threads: Int) -> Tensor {
        if g.isDepthwise { return depthwiseBackwardWeight(dy: dy, x: x, g, threads: threads) }
        let planeOut = g.outHeight * g.outWidth, planeIn = g.height * g.width
        let K = g.patchSize, Mg = g.groupOutChannels
        let chunks = reductionChunks(g.batch)
        let wCount = g.outChannels * K
        var partials = [Float](repeating: 0, count: chunks.count * wCount)
        dy.data.withUnsafeBufferPointer { db in
            x.data.withUnsafeBufferPointer { xb in
                partials.withUnsafeMutableBufferPointer { pb in
                    let pp = UncheckedBox(pb.baseAddress!)
                    parallelFor(chunks.count, threads: threads) { ci in
                        let acc = pp.value + ci * wCount
                        var col = g.isPointwise ? [] : scratch(K * planeOut)
                        col.withUnsafeMutableBufferPointer { cb in
                            for n in chunks[ci] {
                                let xn = xb.baseAddress! + n * g.inChannels * planeIn
                                let dyn = db.baseAddress! + n * g.outChannels * planeOut
                                for grp in 0..<g.groups {
                                    let b: CPtr
                                    if g.isPointwise {
                                        b = xn + grp * g.groupInChannels * planeIn
                                    } else {
                                        im2col(xn, g, channelOffset: grp * g.groupInChannels, cb.baseAddress!)
                                        b = CPtr(cb.baseAddress!)
                                    }
                                    sgemm(transB: true, m: Mg, n: K, k: planeOut, a: dyn + grp * Mg * planeOut,
                                          lda: planeOut, b: b, ldb: planeOut, beta: 1,
                                          c: acc + grp * Mg * K, ldc: K)
                                }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: [g.outChannels, g.groupInChannels, g.kernelH, g.kernelW],
                      data: sumChunks(partials, chunkCount: chunks.count, length: wCount))
    }

    /// Gradient with respect to a per-channel bias: the sum over batch and space.
    static func backwardBias(dy: Tensor, channels: Int, threads: Int) -> Tensor {
        let n = dy.shape[0], plane = dy.count / max(n * channels, 1)
        var db = [Float](repeating: 0, count: channels)
        dy.data.withUnsafeBufferPointer { d in
            db.withUnsafeMutableBufferPointer { out in
                let op = UncheckedBox(out.baseAddress!)
                parallelFor(channels, threads: threads) { c in
                    var s: Float = 0
                    for i in 0..<n { s += Vector.sum(d.baseAddress! + (i * channels + c) * plane, plane) }
                    op.value[c] = s
                }
            }
        }
        return Tensor(shape: [channels], data: db)
    }

    static func sumChunks(_ partials: [Float], chunkCount: Int, length: Int) -> [Float] {
        var out = Array(partials[0..<length])
        partials.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                for ci in 1..<max(chunkCount, 1) { Vector.add(p.baseAddress! + ci * length, o.baseAddress!, length) }
            }
        }
        return out
    }

    // MARK: Depthwise

    /// Visits every kernel tap of a depthwise window with the output rows and columns it touches.
    @inline(__always)
    static func forEachTap(_ g: ConvGeometry,
                           _ body: (_ tap: Int, _ rows: Range<Int>, _ cols: Range<Int>, _ inOffset: Int) -> Void) {
        for i in 0..<g.kernelH {
            let offH = i * g.dilationH - g.padH
            let hr = ConvGeometry.validRange(outExtent: g.outHeight, inExtent: g.height, stride: g.strideH, tapOffset: offH)
            for j in 0..<g.kernelW {
                let offW = j * g.dilationW - g.padW
                let wr = ConvGeometry.validRange(outExtent: g.outWidth, inExtent: g.width, stride: g.strideW, tapOffset: offW)
                body(i * g.kernelW + j, hr, wr, offH * g.width + offW)
            }
        }
    }

    /// Depthwise convolutions work on one zero-padded plane at a time: with the plane stored
    /// row-major at padded width `Wp`, every kernel tap becomes one long contiguous
    /// multiply-add over a "wide" stride-1 output of `Ho1 x Wp` elements (columns past the valid
    /// width are scratch). Strided convolutions sample that output; their backward passes
    /// scatter the output gradient into the wide grid first.
    struct DepthwisePlan {
        let g: ConvGeometry
        let hp: Int, wp: Int, ho1: Int
        /// Elements of a padded plane, with slack so the last tap's run stays in bounds.
        let paddedCount: Int
        /// Elements of the wide stride-1 output.
        let wideCount: Int
        /// Offset of each tap in the padded plane.
        let offsets: [Int]

        init(_ g: ConvGeometry) {
            self.g = g
            hp = g.height + 2 * g.padH
            wp = g.width + 2 * g.padW
            ho1 = hp - g.dilationH * (g.kernelH - 1)
            wideCount = ho1 * wp
            paddedCount = hp * wp + g.dilationW * (g.kernelW - 1)
            var offs: [Int] = []
            for i in 0..<g.kernelH { for j in 0..<g.kernelW { offs.append(i * g.dilationH * wp + j * g.dilationW) } }
            offsets = offs
        }

        /// Copies an `H x W` plane into the interior of a zeroed padded plane.
        func pad(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
            dst.update(repeating: 0, count: paddedCount)
            for h in 0..<g.height {
                (dst + (h + g.padH) * wp + g.padW).update(from: src + h * g.width, count: g.width)
            }
        }

        /// Scatters an output-gradient plane into a zeroed wide grid at the strided positions.
        func widen(_ dy: UnsafePointer<Float>, into wide: UnsafeMutablePointer<Float>) {
            let (Ho, Wo) = (g.outHeight, g.outWidth)
            if g.strideH == 1 && g.strideW == 1 {
                for ho in 0..<Ho {
                    let row = wide + ho * wp
                    row.update(from: dy + ho * Wo, count: Wo)
                    (row + Wo).update(repeating: 0, count: wp - Wo)
                }
                (wide + Ho * wp).update(repeating: 0, count: wideCount - Ho * wp)
            } else {
                wide.update(repeating: 0, count: wideCount)
                for ho in 0..<Ho { for wo in 0..<Wo { wide[ho * g.strideH * wp + wo * g.strideW] = dy[ho * Wo + wo] } }
            }
        }
    }

    static func depthwiseForward(x: Tensor, weight: Tensor, bias: Tensor?, _ g: ConvGeometry, threads: Int) -> Tensor {
        let plan = DepthwisePlan(g)
        let (Ho, Wo, planeIn) = (g.outHeight, g.outWidth, g.height * g.width)
        let taps = plan.offsets.count
        return Tensor(uninitializedShape: [g.batch, g.outChannels, Ho, Wo]) { ob in
            x.data.withUnsafeBufferPointer { xb in
                weight.data.withUnsafeBufferPointer { wb in
                    let op = UncheckedBox(ob.baseAddress!)
                    parallelFor(g.batch, threads: threads) { n in
                        var scratch = [Float](repeating: 0, count: plan.paddedCount + plan.wideCount)
                        scratch.withUnsafeMutableBufferPointer { sb in
                            let padded = sb.baseAddress!, wide = sb.baseAddress! + plan.paddedCount
                            for c in 0..<g.inChannels {
                                let p = n * g.inChannels + c
                                plan.pad(xb.baseAddress! + p * planeIn, into: padded)
                                wide.update(repeating: bias?.data[c] ?? 0, count: plan.wideCount)
                                for t in 0..<taps {
                                    Vector.axpy(wb[c * taps + t], padded + plan.offsets[t], wide, plan.wideCount)
                                }
                                let o = op.value + p * Ho * Wo
                                for ho in 0..<Ho {
                                    let row = wide + ho * g.strideH * plan.wp
                                    if g.strideW == 1 {
                                        (o + ho * Wo).update(from: row, count: Wo)
                                    } else {
                                        for wo in 0..<Wo { o[ho * Wo + wo] = row[wo * g.strideW] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    static func depthwiseBackwardData(dy: Tensor, weight: Tensor, _ g: ConvGeometry, threads: Int) -> Tensor {
        let plan = DepthwisePlan(g)
        let (Ho, Wo, H, W) = (g.outHeight, g.outWidth, g.height, g.width)
        let taps = plan.offsets.count
        return Tensor(uninitializedShape: [g.batch, g.inChannels, H, W]) { xb in
            dy.data.withUnsafeBufferPointer { db in
                weight.data.withUnsafeBufferPointer { wb in
                    let xq = UncheckedBox(xb.baseAddress!)
                    parallelFor(g.batch, threads: threads) { n in
                        var scratch = [Float](repeating: 0, count: plan.paddedCount + plan.wideCount)
                        scratch.withUnsafeMutableBufferPointer { sb in
                            let padded = sb.baseAddress!, wide = sb.baseAddress! + plan.paddedCount
                            for c in 0..<g.inChannels {
                                let p = n * g.inChannels + c
                                plan.widen(db.baseAddress! + p * Ho * Wo, into: wide)
                                padded.update(repeating: 0, count: plan.paddedCount)
                                for t in 0..<taps {
                                    Vector.axpy(wb[c * taps + t], wide, padded + plan.offsets[t], plan.wideCount)
                                }
                                let dst = xq.value + p * H * W
                                for h in 0..<H { (dst + h * W).update(from: padded + (h + g.padH) * plan.wp + g.padW, count: W) }
                            }
                        }
                    }
                }
            }
        }
    }

    static func depthwiseBackwardWeight(dy: Tensor, x: Tensor, _ g: ConvGeometry, threads: Int) -> Tensor {
        let plan = DepthwisePlan(g)
        let (Ho, Wo, planeIn) = (g.outHeight, g.outWidth, g.height * g.width)
        let taps = plan.offsets.count
        var dw = Tensor(shape: [g.outChannels, 1, g.kernelH, g.kernelW])
        dy.data.withUnsafeBufferPointer { db in
            x.data.withUnsafeBufferPointer { xb in
                dw.data.withUnsafeMutableBufferPointer { wb in
                    let wq = UncheckedBox(wb.baseAddress!)
                    // Parallel over channels; each channel sums its images in order.
                    parallelFor(g.inChannels, threads: threads) { c in
                        var scratch = [Float](repeating: 0, count: plan.paddedCount + plan.wideCount)
                        var acc = [Float](repeating: 0, count: taps)
                        scratch.withUnsafeMutableBufferPointer { sb in
                            let padded = sb.baseAddress!, wide = sb.baseAddress! + plan.paddedCount
                            for n in 0..<g.batch {
                                let p = n * g.inChannels + c
                                plan.pad(xb.baseAddress! + p * planeIn, into: padded)
                                plan.widen(db.baseAddress! + p * Ho * Wo, into: wide)
                                for t in 0..<taps { acc[t] += Vector.dot(wide, padded + plan.offsets[t], plan.wideCount) }
                            }
                        }
                        for t in 0..<taps { wq.value[c * taps + t] = acc[t] }
                    }
                }
            }
        }
        return dw
    }
}
