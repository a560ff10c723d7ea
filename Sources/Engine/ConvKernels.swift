import CKernels

/// Convolution kernels: unfold (im2col) + matrix product for dense and grouped convolutions,
/// direct loops for depthwise ones. Forward and both backward products live side by side.
public enum ConvKernels {
    typealias Ptr = UnsafeMutablePointer<Float>
    typealias CPtr = UnsafePointer<Float>

    // MARK: Unfold / fold

    /// Whether unfolded rows are whole shifted planes: stride 1 and an output as wide as the
    /// input, so output index `ho * W + wo` reads input index `ho * W + wo + offset` for every
    /// in-bounds tap (the 1x5, 5x1 and "same" 3x3 convolutions of the search space).
    @inline(__always) static func isShiftable(_ g: ConvGeometry) -> Bool {
        g.strideH == 1 && g.strideW == 1 && g.outWidth == g.width
    }

    /// For a shiftable geometry, calls `body(row, offset, rows, cols)` for every tap of every
    /// channel: `row` of the unfolded matrix, the flat input offset, and the output rows and
    /// columns whose tap lies inside the input.
    @inline(__always)
    static func forEachShift(_ g: ConvGeometry,
                             _ body: (_ row: Int, _ offset: Int, _ rows: Range<Int>, _ cols: Range<Int>) -> Void) {
        var row = 0
        for _ in 0..<g.groupInChannels {
            for i in 0..<g.kernelH {
                let offH = i * g.dilationH - g.padH
                let hr = ConvGeometry.validRange(outExtent: g.outHeight, inExtent: g.height, stride: 1, tapOffset: offH)
                for j in 0..<g.kernelW {
                    let offW = j * g.dilationW - g.padW
                    let wr = ConvGeometry.validRange(outExtent: g.outWidth, inExtent: g.width, stride: 1, tapOffset: offW)
                    body(row, offH * g.width + offW, hr, wr)
                    row += 1
                }
            }
        }
    }

    /// Zeroes, in one unfolded row of a shiftable geometry, the in-row positions outside `cols`
    /// for the output rows in `rows`.
    @inline(__always)
    static func clearColumns(_ dst: Ptr, width W: Int, rows: Range<Int>, cols: Range<Int>) {
        let (left, right) = (cols.lowerBound, W - cols.upperBound)
        if left == 0 && right == 0 { return }
        for ho in rows {
            let d = dst + ho * W
            for w in 0..<left { d[w] = 0 }
            for w in (W - right)..<W { d[w] = 0 }
        }
    }

    /// Writes the unfolded patches of channels `[c0, c0 + g.groupInChannels)` of one image into
    /// `col` (`patchSize x outH*outW`).
    static func im2col(_ x: CPtr, _ g: ConvGeometry, channelOffset c0: Int, _ col: Ptr) {
        let (H, W, Ho, Wo) = (g.height, g.width, g.outHeight, g.outWidth)
        let pitch = Ho * Wo
        if isShiftable(g) {
            let (planeOut, taps) = (Ho * W, g.kernelH * g.kernelW)
            forEachShift(g) { row, off, hr, wr in
                let src = x + (c0 + row / taps) * H * W, dst = col + row * pitch
                // Copy the flat run whose source lies in the plane, zero the rest.
                let lo = max(hr.lowerBound * W, -off), hi = max(lo, min(hr.upperBound * W, H * W - off))
                Vector.fill(dst, 0, lo)
                (dst + lo).update(from: src + lo + off, count: hi - lo)
                Vector.fill(dst + hi, 0, planeOut - hi)
                clearColumns(dst, width: W, rows: hr, cols: wr)
            }
            return
        }
        var row = 0
        for c in 0..<g.groupInChannels {
            let plane = x + (c0 + c) * H * W
            for i in 0..<g.kernelH {
                let offH = i * g.dilationH - g.padH
                let hr = ConvGeometry.validRange(outExtent: Ho, inExtent: H, stride: g.strideH, tapOffset: offH)
                for j in 0..<g.kernelW {
                    let offW = j * g.dilationW - g.padW
                    let wr = ConvGeometry.validRange(outExtent: Wo, inExtent: W, stride: g.strideW, tapOffset: offW)
                    let dst = col + row * pitch
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
                        } else if g.strideW == 2 {
                            // Vectors read whole pairs, so the last one stays inside the row only
                            // when the row has an element after the last one taken.
                            let inRow = offW + 2 * wr.upperBound <= W ? wr.count : max(wr.count - 1, 0)
                            Vector.copyEven(src + 2 * wr.lowerBound, d + wr.lowerBound, inRow)
                            for wo in (wr.lowerBound + inRow)..<wr.upperBound { d[wo] = src[wo * 2] }
                        } else {
                            for wo in wr { d[wo] = src[wo * g.strideW] }
                        }
                    }
                    row += 1
                }
            }
        }
    }

    /// The unfolded input of group `grp` of one image `xn`: the image's own channels for a
    /// pointwise convolution, else `col` after ``im2col(_:_:channelOffset:_:)`` wrote it.
    @inline(__always) static func unfolded(_ xn: CPtr, _ g: ConvGeometry, group grp: Int, into col: Ptr?) -> CPtr {
        if g.isPointwise { return xn + grp * g.groupInChannels * g.height * g.width }
        im2col(xn, g, channelOffset: grp * g.groupInChannels, col!)
        return CPtr(col!)
    }

    /// Adds the folded patches in `col` back into channels `[c0, ...)` of one image gradient.
    ///
    /// For a shiftable geometry `col` is scratch: positions that fall outside the input are
    /// zeroed in place before whole rows are added.
    static func col2im(_ col: Ptr, _ g: ConvGeometry, channelOffset c0: Int, _ dx: Ptr) {
        let (H, W, Ho, Wo) = (g.height, g.width, g.outHeight, g.outWidth)
        if isShiftable(g) {
            let (planeOut, taps) = (Ho * W, g.kernelH * g.kernelW)
            forEachShift(g) { row, off, hr, wr in
                let dst = dx + (c0 + row / taps) * H * W, src = col + row * planeOut
                let lo = max(hr.lowerBound * W, -off), hi = min(hr.upperBound * W, H * W - off)
                guard hi > lo else { return }
                clearColumns(src, width: W, rows: hr, cols: wr)
                Vector.add(src + lo, dst + lo + off, hi - lo)
            }
            return
        }
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
                        } else if g.strideW == 2 {
                            // Vectors add to whole pairs (zero to the odd ones), so they must end
                            // inside the row: past it lies memory another thread may be writing.
                            let inRow = offW + 2 * wr.upperBound <= W ? wr.count : max(wr.count - 1, 0)
                            Vector.addToEven(s + wr.lowerBound, d + 2 * wr.lowerBound, inRow)
                            for wo in (wr.lowerBound + inRow)..<wr.upperBound { d[wo * 2] += s[wo] }
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

    static func forward(x: Tensor, weight: Tensor, bias: Tensor?, _ g: ConvGeometry, threads: KernelThreads) -> Tensor {
        if g.isDepthwise { return depthwiseForward(x: x, weight: weight, bias: bias, g, threads: threads) }
        return Tensor(uninitializedShape: [g.batch, g.outChannels, g.outHeight, g.outWidth]) { ob in
            forward(x: x, weight: weight, bias: bias, g, into: ob.baseAddress!, accumulating: false, threads: threads)
        }
    }

    /// A dense or grouped convolution (line kernels where they apply, else unfolding) written
    /// to `out`, or added to what it holds when `accumulating`.
    static func forward(x: Tensor, weight: Tensor, bias: Tensor?, _ g: ConvGeometry, into out: Ptr, accumulating: Bool,
                        threads: KernelThreads) {
        if let line = LineKernel(g) {
            line.forward(x: x, weight: weight, bias: bias, into: out, accumulating: accumulating, threads: threads)
            return
        }
        if let strided = StridedRowKernel(g) {
            strided.forward(x: x, weight: weight, bias: bias, into: out, accumulating: accumulating, threads: threads)
            return
        }
        let planeOut = g.outHeight * g.outWidth
        let K = g.patchSize, Mg = g.groupOutChannels
        x.data.withUnsafeBufferPointer { xb in
            weight.data.withUnsafeBufferPointer { wb in
                let op = UncheckedBox(out)
                parallelFor(g.batch, threads: threads) { n in
                    let xn = xb.baseAddress! + n * g.inChannels * g.height * g.width
                    let on = op.value + n * g.outChannels * planeOut
                    withAlignedScratch(g.isPointwise ? 0 : K * planeOut) { col in
                        for grp in 0..<g.groups {
                            sgemm(m: Mg, n: planeOut, k: K, a: wb.baseAddress! + grp * Mg * K, lda: K,
                                  b: unfolded(xn, g, group: grp, into: col), ldb: planeOut,
                                  beta: accumulating ? 1 : 0, c: on + grp * Mg * planeOut, ldc: planeOut)
                        }
                    }
                    if let bias {
                        for c in 0..<g.outChannels { Vector.affine(1, on + c * planeOut, bias.data[c], on + c * planeOut, planeOut) }
                    }
                }
            }
        }
    }

    /// The geometry and filters of the input gradient as a forward convolution, when a
    /// stride-1 convolution has one: `dx = conv(dy, w~)` with `w~[i, o, a, b] = w[o, i, kh-1-a, kw-1-b]`
    /// and padding `dilation * (k - 1) - padding`. It reuses the fast unfold and a plain matrix
    /// product instead of scattering patches back.
    static func transposedForward(_ g: ConvGeometry, weight: Tensor) -> (ConvGeometry, Tensor)? {
        let padH = g.dilationH * (g.kernelH - 1) - g.padH, padW = g.dilationW * (g.kernelW - 1) - g.padW
        // A product with few rows (an input of few channels, like a stem's) is better served by scattering patches back.
        guard isShiftable(g), g.groups == 1, g.inChannels >= 8, padH >= 0, padW >= 0 else { return nil }
        let t = ConvGeometry(batch: g.batch, inChannels: g.outChannels, height: g.outHeight, width: g.outWidth,
                             outChannels: g.inChannels, kernelH: g.kernelH, kernelW: g.kernelW, strideH: 1, strideW: 1,
                             padH: padH, padW: padW, dilationH: g.dilationH, dilationW: g.dilationW, groups: 1)
        guard t.outHeight == g.height, t.outWidth == g.width else { return nil }
        let (O, I, taps) = (g.outChannels, g.inChannels, g.kernelH * g.kernelW)
        let flipped = Tensor(uninitializedShape: [I, O, g.kernelH, g.kernelW]) { fb in
            weight.data.withUnsafeBufferPointer { wb in
                for o in 0..<O {
                    for i in 0..<I {
                        for k in 0..<taps { fb[(i * O + o) * taps + (taps - 1 - k)] = wb[(o * I + i) * taps + k] }
                    }
                }
            }
        }
        return (t, flipped)
    }

    /// Gradient with respect to the input (depthwise convolutions use ``depthwiseBackward(dy:x:weight:_:threads:)``).
    static func backwardData(dy: Tensor, weight: Tensor, _ g: ConvGeometry, threads: KernelThreads) -> Tensor {
        Tensor(uninitializedShape: [g.batch, g.inChannels, g.height, g.width]) { xb in
            backwardData(dy: dy, weight: weight, g, into: xb.baseAddress!, accumulating: false, threads: threads)
        }
    }

    /// The input gradient written to `dx` (`[batch, inChannels, height, width]`), or added to
    /// what it holds when `accumulating`, which saves a tensor and an adding pass when the
    /// input already has a gradient from another of its users.
    static func backwardData(dy: Tensor, weight: Tensor, _ g: ConvGeometry, into dx: Ptr, accumulating: Bool,
                             threads: KernelThreads) {
        if let strided = StridedRowKernel(g) {
            strided.backwardData(dy: dy, weight: weight, into: dx, accumulating: accumulating, threads: threads)
            return
        }
        if let (t, flipped) = transposedForward(g, weight: weight) {
            forward(x: dy, weight: flipped, bias: nil, t, into: dx, accumulating: accumulating, threads: threads)
            return
        }
        let planeOut = g.outHeight * g.outWidth, planeIn = g.height * g.width
        // Patches are added back into the gradient, which starts from zero unless accumulating
        // (a plain product writes it whole).
        if !accumulating && !g.isPointwise { Vector.fill(dx, 0, g.batch * g.inChannels * planeIn) }
        let K = g.patchSize, Mg = g.groupOutChannels
        dy.data.withUnsafeBufferPointer { db in
            weight.data.withUnsafeBufferPointer { wb in
                let xp = UncheckedBox(dx)
                parallelFor(g.batch, threads: threads) { n in
                    let dyn = db.baseAddress! + n * g.outChannels * planeOut
                    let dxn = xp.value + n * g.inChannels * planeIn
                    withAlignedScratch(g.isPointwise ? 0 : K * planeOut) { col in
                        for grp in 0..<g.groups {
                            let a = wb.baseAddress! + grp * Mg * K
                            let bp = dyn + grp * Mg * planeOut
                            if g.isPointwise {
                                sgemm(transA: true, m: K, n: planeOut, k: Mg, a: a, lda: K, b: bp, ldb: planeOut,
                                      beta: accumulating ? 1 : 0, c: dxn + grp * g.groupInChannels * planeIn, ldc: planeOut)
                            } else {
                                sgemm(transA: true, m: K, n: planeOut, k: Mg, a: a, lda: K, b: bp, ldb: planeOut,
                                      beta: 0, c: col, ldc: planeOut)
                                col2im(col, g, channelOffset: grp * g.groupInChannels, dxn)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Gradient with respect to the weights, summed over the batch in a fixed chunk order
    /// (depthwise convolutions use ``depthwiseBackward(dy:x:weight:_:threads:)``).
    static func backwardWeight(dy: Tensor, x: Tensor, _ g: ConvGeometry, threads: KernelThreads) -> Tensor {
        if let line = LineKernel(g) { return line.backwardWeight(dy: dy, x: x, threads: threads) }
        if let strided = StridedRowKernel(g) { return strided.backwardWeight(dy: dy, x: x, threads: threads) }
        let planeOut = g.outHeight * g.outWidth, planeIn = g.height * g.width
        let K = g.patchSize, Mg = g.groupOutChannels
        let sum = dy.data.withUnsafeBufferPointer { db in
            x.data.withUnsafeBufferPointer { xb in
                chunkedSum(batch: g.batch, length: g.outChannels * K, cleared: false, threads: threads) { images, acc in
                    withAlignedScratch(g.isPointwise ? 0 : K * planeOut) { col in
                        for n in images {
                            let xn = xb.baseAddress! + n * g.inChannels * planeIn
                            let dyn = db.baseAddress! + n * g.outChannels * planeOut
                            for grp in 0..<g.groups {
                                sgemm(transB: true, m: Mg, n: K, k: planeOut, a: dyn + grp * Mg * planeOut,
                                      lda: planeOut, b: unfolded(xn, g, group: grp, into: col), ldb: planeOut,
                                      beta: n == images.lowerBound ? 0 : 1, c: acc + grp * Mg * K, ldc: K)
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: [g.outChannels, g.groupInChannels, g.kernelH, g.kernelW], data: sum)
    }

    /// A sum over the images of a batch in a fixed order, whatever the thread count: `body`
    /// adds the contributions of one chunk of ``reductionChunks(_:)`` into its own zeroed
    /// accumulator of `length` elements; the accumulators are then added in chunk order.
    ///
    /// - Parameter cleared: false when `body` writes every element of the accumulator with the
    ///   chunk's first image (a product with `beta` 0) instead of adding to zeros, which saves
    ///   clearing it.
    static func chunkedSum(batch: Int, length: Int, cleared: Bool = true, threads: KernelThreads,
                           _ body: (_ images: Range<Int>, _ accumulator: Ptr) -> Void) -> [Float] {
        let chunks = reductionChunks(batch)
        // Each part clears its own accumulator, so that the clearing is spread over the threads too.
        let partials = [Float](unsafeUninitializedCapacity: chunks.count * length) { pb, count in
            let pp = UncheckedBox(pb.baseAddress!)
            parallelFor(chunks.count, threads: threads) { ci in
                let acc = pp.value + ci * length
                if cleared { acc.update(repeating: 0, count: length) }
                body(chunks[ci], acc)
            }
            count = chunks.count * length
        }
        return sumChunks(partials, chunkCount: chunks.count, length: length, threads: threads)
    }

    /// Gradient with respect to a per-channel bias: the sum over batch and space.
    static func backwardBias(dy: Tensor, channels: Int, threads: KernelThreads) -> Tensor {
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

    /// The element-wise sum of `chunkCount` partial sums of `length` elements each, added in
    /// chunk order; long sums are split into ranges of elements over `threads`.
    static func sumChunks(_ partials: [Float], chunkCount: Int, length: Int, threads: KernelThreads = 1) -> [Float] {
        var out = Array(partials[0..<length])
        partials.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                let (src, dst) = (UncheckedBox(p.baseAddress!), UncheckedBox(o.baseAddress!))
                // Parts of at least 1024 elements, whole 64-byte lines.
                let parts = chunkCount * length >= 1 << 14 ? min(threads.limit * 2, max(1, length / 1024)) : 1
                let step = (length + parts * 16 - 1) / (parts * 16) * 16
                parallelFor(parts, threads: threads) { part in
                    let range = min(length, part * step)..<min(length, (part + 1) * step)
                    for ci in 1..<max(chunkCount, 1) {
                        Vector.add(src.value + ci * length + range.lowerBound, dst.value + range.lowerBound, range.count)
                    }
                }
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
    /// row-major at padded width `Wp`, every kernel tap is a fixed offset, and all taps of a
    /// "wide" stride-1 output of `Ho1 x Wp` elements (columns past the valid width are scratch)
    /// are computed in one pass (see ``Stencil``). At stride 1 with rows of eight or more, each
    /// output row is computed straight into its place instead (``writesRows``). Strided
    /// convolutions sample the wide output; backward passes scatter the output gradient into
    /// the wide grid first.
    struct DepthwisePlan {
        let g: ConvGeometry
        let hp: Int, wp: Int, ho1: Int
        /// The output plane's size (kept: ``ConvGeometry`` divides to compute it, once per plane
        /// otherwise).
        let outHeight: Int, outWidth: Int
        /// Whether outputs go straight into the destination's rows, without the wide grid: at
        /// stride 1, with rows at least a vector wide.
        let writesRows: Bool
        /// Elements of a padded plane, with slack so the last tap's run stays in bounds.
        let paddedCount: Int
        /// Elements of the wide stride-1 output.
        let wideCount: Int
        /// Offset of each tap in the padded plane, and the same negated (for gathering back).
        let offsets: [Int], negatedOffsets: [Int]
        /// Zeros kept on both sides of a wide grid that is gathered from (the largest offset).
        let margin: Int
        /// Whether planes run on the register-row kernels of ``ConvKernels/registerRows``
        /// instead of the padded-plane stencils.
        let registerRows: Bool
        /// Whether planes run on their phase split instead (stride-2 3x3 filters; see
        /// ``split(_:into:)``).
        let phased: Bool
        /// Rows of one phase plane, and its row pitch (at least the half of a padded row).
        let phaseHeight: Int, phaseWidth: Int
        /// Elements of the phase planes a split keeps (four, or one at dilation 2), with the
        /// zero slack that the filter gradient's last run reads past them.
        let phaseCount: Int
        /// Offset of each tap into the phase planes.
        let phaseOffsets: [Int]
        /// Elements of the grid after ``withScratch(_:)``'s margin: the wide stride-1 output, or
        /// an output gradient at the phase planes' pitch, whichever is larger.
        let gridCount: Int

        init(_ g: ConvGeometry) {
            self.g = g
            // The search space's 3x3 filters: dilation 1 or 2, padded to keep the size at stride 1.
            let sameSize3x3 = g.kernelH == 3 && g.kernelW == 3 && g.dilationH == g.dilationW && (1...2).contains(g.dilationH)
                && g.padH == g.dilationH && g.padW == g.dilationW
            registerRows = ConvKernels.registerRowsInUse && sameSize3x3
                && g.strideH == g.strideW && (1...2).contains(g.strideH) && mn_depthwise_fits(Int32(g.width)) != 0
            (outHeight, outWidth) = (g.outHeight, g.outWidth)
            writesRows = g.strideH == 1 && g.strideW == 1 && outWidth >= 8 && g.width >= 8
            hp = g.height + 2 * g.padH
            wp = g.width + 2 * g.padW
            ho1 = hp - g.dilationH * (g.kernelH - 1)
            wideCount = ho1 * wp
            var offs: [Int] = []
            for i in 0..<g.kernelH { for j in 0..<g.kernelW { offs.append(i * g.dilationH * wp + j * g.dilationW) } }
            offsets = offs
            negatedOffsets = offs.map { -$0 }
            margin = offs.max() ?? 0

            let d = g.dilationH
            phased = !registerRows && ConvKernels.phaseSplit && sameSize3x3 && g.strideH == 2 && g.strideW == 2
            // Rows of more than a vector are padded with zeros to whole vectors, so that each
            // starts on a vector boundary.
            let halfWidth = (wp + 1) / 2
            (phaseHeight, phaseWidth) = ((hp + 1) / 2, halfWidth > 8 ? (halfWidth + 7) / 8 * 8 : halfWidth)
            let planes = d == 1 ? 4 : 1, planeSize = phaseHeight * phaseWidth
            phaseCount = phased ? planes * planeSize + phaseWidth + 8 : 0
            var po: [Int] = []
            for i in 0..<(phased ? 3 : 0) {
                for j in 0..<3 {
                    // Tap (i, j) reads padded row 2 ho + d i and column 2 wo + d j: row ho + (d i) / 2 of
                    // the plane of phase ((d i) % 2, (d j) % 2), at column wo + (d j) / 2.
                    let (r, c) = (i * d, j * d)
                    let plane = d == 1 ? 2 * (r & 1) + (c & 1) : 0
                    po.append(plane * planeSize + (r >> 1) * phaseWidth + (c >> 1))
                }
            }
            phaseOffsets = po
            paddedCount = max(hp * wp + g.dilationW * (g.kernelW - 1), roundedToLine(phaseCount))
            // The input gradient's rows read whole vectors from the grid, up to a vector and a
            // column past its last row's end.
            gridCount = max(wideCount, phased ? planeSize + phaseWidth + 16 : 0)
        }

        /// Copies an `H x W` plane into the interior of a padded plane whose border is `fill`.
        func pad(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, fill: Float = 0) {
            // Each element is written once: the top rows with the first row's left border, then
            // per row the values and the border between it and the next row, then the bottom.
            let (W, padW) = (g.width, g.padW)
            var i = g.padH * wp + padW
            Vector.fill(dst, fill, i)
            for h in 0..<g.height {
                Vector.copyRow(src + h * W, dst + i, W)
                i += W
                if h + 1 < g.height {
                    for k in 0..<(2 * padW) { dst[i + k] = fill }
                    i += 2 * padW
                }
            }
            Vector.fill(dst + i, fill, paddedCount - i)
        }

        /// Copies the interior `H x W` of a padded plane out (the inverse of ``pad(_:into:fill:)``),
        /// or adds it to what `dst` holds.
        func unpad(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, accumulating: Bool = false) {
            for h in 0..<g.height {
                let (row, out) = (src + (h + g.padH) * wp + g.padW, dst + h * g.width)
                if accumulating { Vector.add(row, out, g.width) } else { Vector.copyRow(row, out, g.width) }
            }
        }

        /// Copies the (strided) outputs out of a wide stride-1 result.
        func sample(_ wide: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
            let (Ho, Wo) = (outHeight, outWidth)
            for ho in 0..<Ho {
                let row = wide + ho * g.strideH * wp
                if g.strideW == 1 {
                    Vector.copyRow(row, dst + ho * Wo, Wo)
                } else {
                    for wo in 0..<Wo { dst[ho * Wo + wo] = row[wo * g.strideW] }
                }
            }
        }

        /// Scatters an output-gradient plane into a zeroed wide grid at the strided positions.
        func widen(_ dy: UnsafePointer<Float>, into wide: UnsafeMutablePointer<Float>) {
            let (Ho, Wo) = (outHeight, outWidth)
            if g.strideH == 1 && g.strideW == 1 {
                // A row, then the few zeros up to the next row's start, as 4-wide stores that
                // may run into the next row (written after) or the zero margin past the grid.
                // (A fill loop here became a library call per row.)
                let gap = wp - Wo, overrunFits = margin >= gap + 3
                for ho in 0..<Ho {
                    let row = wide + ho * wp
                    Vector.copyRow(dy + ho * Wo, row, Wo)
                    guard overrunFits else { Vector.fill(row + Wo, 0, gap); continue }
                    var k = 0
                    while k < gap {
                        UnsafeMutableRawPointer(row + Wo + k).storeBytes(of: SIMD4<Float>(), as: SIMD4<Float>.self)
                        k += 4
                    }
                }
                Vector.fill(wide + Ho * wp, 0, max(0, wideCount - Ho * wp))
            } else {
                Vector.fill(wide, 0, wideCount)
                for ho in 0..<Ho { for wo in 0..<Wo { wide[ho * g.strideH * wp + wo * g.strideW] = dy[ho * Wo + wo] } }
            }
        }

        /// Calls `body(start, count)` for the runs of the wide grid that outputs are sampled
        /// from: the whole grid at stride 1, only every `strideH`-th row otherwise.
        @inline(__always)
        func forEachSampledRun(_ body: (_ start: Int, _ count: Int) -> Void) {
            if g.strideH == 1 {
                body(0, wideCount)
            } else {
                for ho in 0..<outHeight { body(ho * g.strideH * wp, wp) }
            }
        }

        /// Scratch for one plane: a padded plane, then a wide grid with `margin` zeros on both
        /// sides. Returns pointers to the padded plane and to the wide grid's first element.
        func withScratch<R>(_ body: (_ padded: UnsafeMutablePointer<Float>, _ wide: UnsafeMutablePointer<Float>) -> R) -> R {
            withAlignedScratch(paddedCount + gridCount + 2 * margin) { buffer in
                let wide = buffer + paddedCount + margin
                (wide - margin).update(repeating: 0, count: margin)
                (wide + wideCount).update(repeating: 0, count: margin)
                return body(buffer, wide)
            }
        }

        /// ``gather(_:weights:into:)`` written straight into the rows of an unpadded plane, or
        /// added to them.
        func gatherRows(_ wide: UnsafePointer<Float>, weights: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>,
                        accumulating: Bool = false) {
            negatedOffsets.withUnsafeBufferPointer { offs in
                Stencil.correlate(wide + g.padH * wp + g.padW, offsets: offs.baseAddress!, weights: weights,
                                  taps: offs.count, bias: 0, dst, g.width, accumulating: accumulating,
                                  rows: g.height, srcPitch: wp, dstPitch: g.width)
            }
        }

        /// `padded = sum_t weights[t] * wide shifted back by tap t`, over the interior rows:
        /// the transpose of the forward stencil (the input gradient of a depthwise filter).
        func gather(_ wide: UnsafePointer<Float>, weights: UnsafePointer<Float>, into padded: UnsafeMutablePointer<Float>) {
            let start = g.padH * wp
            negatedOffsets.withUnsafeBufferPointer { offs in
                Stencil.correlate(wide + start, offsets: offs.baseAddress!, weights: weights, taps: offs.count, bias: 0,
                                  padded + start, g.height * wp)
            }
        }

        /// Filters one plane: pads `src`, runs the stencil over the rows that are sampled and
        /// writes the (strided) outputs to `dst`. `padded` and `wide` come from ``withScratch(_:)``.
        @inline(__always)
        func filter(_ src: UnsafePointer<Float>, weights: UnsafePointer<Float>, offsets: UnsafePointer<Int>, bias: Float,
                    padded: UnsafeMutablePointer<Float>, wide: UnsafeMutablePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
            filter(prepared: prepared(src, in: padded), weights: weights, offsets: offsets, bias: bias, wide: wide, into: dst)
        }

        /// The plane `src` as ``filter(prepared:weights:offsets:bias:wide:into:)`` and
        /// ``backward(dy:preparedInput:weights:offsets:scratch:dx:accumulatingDX:filterGradient:)``
        /// read it: as it is for the register-row kernels, else copied into `padded` (of
        /// ``paddedCount`` elements) with its zero border.
        @inline(__always)
        func prepared(_ src: UnsafePointer<Float>, in padded: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
            if registerRows { return src }
            if phased {
                split(src, into: padded)
                return UnsafePointer(padded)
            }
            pad(src, into: padded)
            return UnsafePointer(padded)
        }

        /// Filters one plane prepared by ``prepared(_:in:)``.
        @inline(__always)
        func filter(prepared src: UnsafePointer<Float>, weights: UnsafePointer<Float>, offsets: UnsafePointer<Int>,
                    bias: Float, wide: UnsafeMutablePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
            if registerRows {
                mn_depthwise3x3_forward(src, Int32(g.height), Int32(g.width), Int32(g.dilationH), Int32(g.strideH), weights,
                                        bias, dst, 0)
            } else if phased {
                filter(phases: src, weights: weights, bias: bias, wide: wide, into: dst)
            } else {
                filter(padded: src, weights: weights, offsets: offsets, bias: bias, wide: wide, into: dst)
            }
        }

        /// ``filter(_:weights:offsets:bias:padded:wide:into:)`` of a plane that is already padded.
        @inline(__always)
        func filter(padded: UnsafePointer<Float>, weights: UnsafePointer<Float>, offsets: UnsafePointer<Int>, bias: Float,
                    wide: UnsafeMutablePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
            let taps = self.offsets.count
            if writesRows {
                Stencil.correlate(padded, offsets: offsets, weights: weights, taps: taps, bias: bias, dst, outWidth,
                                  rows: outHeight, srcPitch: wp, dstPitch: outWidth)
                return
            }
            forEachSampledRun { start, count in
                Stencil.correlate(padded + start, offsets: offsets, weights: weights, taps: taps, bias: bias, wide + start, count)
            }
            sample(wide, into: dst)
        }

        /// Scratch for ``backward(dy:paddedInput:weights:offsets:scratch:dx:filterGradient:)``.
        struct BackwardScratch {
            let padded: UnsafeMutablePointer<Float>, wide: UnsafeMutablePointer<Float>, input: UnsafeMutablePointer<Float>
        }

        func withBackwardScratch<R>(_ body: (BackwardScratch) -> R) -> R {
            withAlignedScratch(paddedCount) { input in
                withScratch { padded, wide in body(BackwardScratch(padded: padded, wide: wide, input: input)) }
            }
        }

        /// The backward pass of one plane whose input, read only for the filter gradient, was
        /// prepared by ``prepared(_:in:)``: ``backward(dy:paddedInput:weights:offsets:scratch:dx:accumulatingDX:filterGradient:)``,
        /// or the register-row kernels.
        @inline(__always)
        func backward(dy: UnsafePointer<Float>, preparedInput input: UnsafePointer<Float>?, weights: UnsafePointer<Float>?,
                      offsets: UnsafePointer<Int>, scratch: BackwardScratch,
                      dx: UnsafeMutablePointer<Float>?, accumulatingDX: Bool = false,
                      filterGradient: UnsafeMutablePointer<Float>?) {
            if phased {
                backward(dy: dy, phases: input, weights: weights, scratch: scratch, dx: dx, accumulatingDX: accumulatingDX,
                         filterGradient: filterGradient)
                return
            }
            guard registerRows else {
                backward(dy: dy, paddedInput: input, weights: weights, offsets: offsets, scratch: scratch,
                         dx: dx, accumulatingDX: accumulatingDX, filterGradient: filterGradient)
                return
            }
            let (H, W, d) = (Int32(g.height), Int32(g.width), Int32(g.dilationH))
            // At stride 2 the output gradient is spread to the even positions of a full-size
            // plane first; both gradients are then those of a stride-1 filter.
            var full = dy
            if g.strideH == 2 {
                scratch.padded.update(repeating: 0, count: g.height * g.width)
                for ho in 0..<outHeight {
                    for wo in 0..<outWidth { scratch.padded[2 * ho * g.width + 2 * wo] = dy[ho * outWidth + wo] }
                }
                full = UnsafePointer(scratch.padded)
            }
            if let dx, let weights {
                // The input gradient correlates the output gradient with the flipped filter.
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 9) { flipped in
                    for t in 0..<9 { flipped[t] = weights[8 - t] }
                    mn_depthwise3x3_forward(full, H, W, d, 1, flipped.baseAddress!, 0, dx, accumulatingDX ? 1 : 0)
                }
            }
            if let filterGradient, let input {
                mn_depthwise3x3_filter_gradient(input, full, H, W, d, filterGradient)
            }
        }

        /// The backward pass of one plane: spreads the output gradient `dy` into the wide grid,
        /// then writes the input gradient to `dx` (when given, with `weights`; added to what
        /// `dx` holds with `accumulatingDX`) and adds the filter gradient to `filterGradient`
        /// (when given, with the padded input plane).
        @inline(__always)
        func backward(dy: UnsafePointer<Float>, paddedInput: UnsafePointer<Float>?, weights: UnsafePointer<Float>?,
                      offsets: UnsafePointer<Int>, scratch: BackwardScratch,
                      dx: UnsafeMutablePointer<Float>?, accumulatingDX: Bool = false,
                      filterGradient: UnsafeMutablePointer<Float>?) {
            widen(dy, into: scratch.wide)
            if let dx, let weights {
                if writesRows {
                    gatherRows(scratch.wide, weights: weights, into: dx, accumulating: accumulatingDX)
                } else {
                    gather(scratch.wide, weights: weights, into: scratch.padded)
                    unpad(scratch.padded, into: dx, accumulating: accumulatingDX)
                }
            }
            if let filterGradient, let paddedInput {
                Stencil.correlateWeights(scratch.wide, paddedInput, offsets: offsets, taps: self.offsets.count,
                                         filterGradient, wideCount)
            }
        }
    }

    /// A depthwise convolution, plane by plane through ``DepthwisePlan``.
    ///
    /// - Parameter planeScale: when given (one factor per output position of a plane), each
    ///   output plane is multiplied by it element-wise right after it is filtered, while it is
    ///   in cache (average pooling divides by its window counts this way).
    static func depthwiseForward(x: Tensor, weight: Tensor, bias: Tensor?, _ g: ConvGeometry, planeScale: [Float]? = nil,
                                 threads: KernelThreads) -> Tensor {
        let plan = DepthwisePlan(g)
        let (planeOut, planeIn) = (g.outHeight * g.outWidth, g.height * g.width)
        precondition(planeScale == nil || planeScale!.count == planeOut,
                     "depthwiseForward: \(planeScale?.count ?? 0) plane factors for planes of \(planeOut)")
        let taps = plan.offsets.count
        return Tensor(uninitializedShape: [g.batch, g.outChannels, g.outHeight, g.outWidth]) { ob in
            x.data.withUnsafeBufferPointer { xb in
                weight.data.withUnsafeBufferPointer { wb in
                    plan.offsets.withUnsafeBufferPointer { offs in
                        (planeScale ?? []).withUnsafeBufferPointer { sb in
                            let op = UncheckedBox(ob.baseAddress!)
                            parallelFor(g.batch, threads: threads) { n in
                                plan.withScratch { padded, wide in
                                    for c in 0..<g.inChannels {
                                        let p = n * g.inChannels + c, o = op.value + p * planeOut
                                        plan.filter(xb.baseAddress! + p * planeIn, weights: wb.baseAddress! + c * taps,
                                                    offsets: offs.baseAddress!, bias: bias?.data[c] ?? 0,
                                                    padded: padded, wide: wide, into: o)
                                        if planeScale != nil { Vector.multiply(sb.baseAddress!, o, planeOut) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The gradients of a depthwise convolution in one sweep: each plane's output gradient is
    /// spread into the wide grid once and serves the input gradient (gathered back through the
    /// flipped taps; computed when `weight` is given) and the filter gradient (correlated with
    /// the padded input; computed when `x` is given). Filter sums run over fixed chunks of
    /// images, combined in order, so the result is independent of threads.
    static func depthwiseBackward(dy: Tensor, x: Tensor?, weight: Tensor?, _ g: ConvGeometry,
                                  threads: KernelThreads) -> (dx: Tensor?, dw: Tensor?) {
        let plan = DepthwisePlan(g)
        let (planeOut, planeIn) = (g.outHeight * g.outWidth, g.height * g.width)
        let taps = plan.offsets.count, C = g.inChannels
        let chunks = reductionChunks(g.batch)
        var partials = [Float](repeating: 0, count: x == nil ? 0 : chunks.count * C * taps)
        let noData = AlignedFloats()
        /// Runs the sweep, writing the input gradient to `dx` when it is not nil.
        func sweep(_ dx: UnsafeMutablePointer<Float>?) {
            dy.data.withUnsafeBufferPointer { db in
                (x?.data ?? noData).withUnsafeBufferPointer { inb in
                    (weight?.data ?? noData).withUnsafeBufferPointer { wb in
                        plan.offsets.withUnsafeBufferPointer { offs in
                            partials.withUnsafeMutableBufferPointer { pb in
                                let (xq, pq) = (UncheckedBox(dx), UncheckedBox(x == nil ? nil : pb.baseAddress))
                                parallelFor(chunks.count, threads: threads) { ci in
                                    plan.withBackwardScratch { scratch in
                                        for n in chunks[ci] {
                                            for c in 0..<C {
                                                let p = n * C + c
                                                plan.backward(dy: db.baseAddress! + p * planeOut,
                                                              preparedInput: pq.value == nil
                                                                  ? nil : plan.prepared(inb.baseAddress! + p * planeIn, in: scratch.input),
                                                              weights: xq.value == nil ? nil : wb.baseAddress! + c * taps,
                                                              offsets: offs.baseAddress!, scratch: scratch,
                                                              dx: xq.value.map { $0 + p * planeIn },
                                                              filterGradient: pq.value.map { $0 + (ci * C + c) * taps })
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
        var dx: Tensor?
        if weight != nil {
            dx = Tensor(uninitializedShape: [g.batch, C, g.height, g.width]) { sweep($0.baseAddress!) }
        } else {
            sweep(nil)
        }
        let dw = x.map { _ in
            Tensor(shape: [C, 1, g.kernelH, g.kernelW], data: sumChunks(partials, chunkCount: chunks.count, length: C * taps, threads: threads))
        }
        return (dx, dw)
    }

    /// Whether depthwise 3x3 filters (dilation 1 or 2, "same" padding, stride 1 or 2, planes
    /// up to 32 wide) run on the AVX-512 register-row kernels where the processor has them
    /// (the default) rather than on the padded-plane stencils. The two agree up to rounding;
    /// tests bind this to false to compare them.
    @TaskLocal public static var registerRows = true

    /// Whether stride-2 3x3 depthwise filters and average pools that do not run on the
    /// register-row kernels read their input split into phases (the default; see
    /// ``DepthwisePlan/split(_:into:)``) rather than computing every stride-1 output and
    /// sampling it. `METANAS_PHASE_SPLIT=0` in the environment turns it off; tests bind it.
    @TaskLocal public static var phaseSplit = !switchedOff("METANAS_PHASE_SPLIT")

    /// Whether this processor runs the register-row kernels.
    static let registerRowsAvailable = mn_depthwise_available() != 0

    /// Whether this process runs the register-row kernels where a plane fits them: available
    /// and not bound off by ``registerRows``.
    static var registerRowsInUse: Bool { registerRows && registerRowsAvailable }
}
