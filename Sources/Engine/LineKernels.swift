/// A dense convolution whose filter is one line, `k x 1` (a column) or `1 x k` (a row), with
/// stride 1 and an output as wide as the input: the 1x5 and 5x1 convolutions of the search
/// space, and the input gradients of both (which are such convolutions too).
///
/// Instead of unfolding `k` shifted copies of the input into one matrix, each tap runs its own
/// matrix product (filters of that tap, `outChannels x inChannels`, times the input it reads)
/// and adds into the outputs that read through it. A column tap reads whole input rows, so its
/// product reads the input in place and writes only the output rows whose tap lies inside the
/// input. A row tap reads the flat plane shifted by the tap's offset; the positions where that
/// shift wraps into the neighbouring row must read zero, so row taps read one copy of the
/// image whose planes carry zero margins and whose wrapped columns are zeroed tap by tap.
///
/// Five-tap filters with padding 2 (the search space's 1x5 and 5x1) take the Winograd form of
/// ``WinogradLine`` instead, where the processor runs it, for all three products.
struct LineKernel {
    typealias Ptr = UnsafeMutablePointer<Float>
    typealias CPtr = UnsafePointer<Float>

    let g: ConvGeometry
    /// Whether the filter is a row (`1 x k`), else a column (`k x 1`).
    let isRow: Bool
    /// Per tap: the flat offset it reads at (row taps) or its row offset (column taps).
    let offsets: [Int]
    /// Row taps: zeros before and after each plane of the copy (at least the largest offset).
    let margin: Int
    /// Column taps: the output rows each tap reaches.
    let rows: [Range<Int>]
    /// The taps in the order ``forEachTap(_:copy:_:)`` visits them. Columns: widest coverage
    /// first. Rows: the centre (no wrap), then right shifts in increasing order (a shift by `o`
    /// wraps into columns `[0, o)` of the next row, which no larger right shift reads), then
    /// left shifts by increasing magnitude.
    let order: [Int]
    /// Whether the first tap visited covers every output position.
    let firstTapCoversAll: Bool
    /// The Winograd form of the forward pass, where it applies (5-tap filters, padding 2).
    let winograd: WinogradLine?

    init?(_ g: ConvGeometry) {
        guard g.groups == 1, g.strideH == 1, g.strideW == 1, g.outWidth == g.width else { return nil }
        if g.kernelW == 1 && g.kernelH > 1 && g.padW == 0 {
            isRow = false
            offsets = (0..<g.kernelH).map { $0 * g.dilationH - g.padH }
        } else if g.kernelH == 1 && g.kernelW > 1 && g.padH == 0 && g.outHeight == g.height {
            isRow = true
            offsets = (0..<g.kernelW).map { $0 * g.dilationW - g.padW }
            // A wrapped read must land in the neighbouring row, not further.
            guard offsets.allSatisfy({ abs($0) < g.width }) else { return nil }
        } else {
            return nil
        }
        self.g = g
        winograd = WinogradLine(g, isRow: isRow)
        let offsets = offsets
        if isRow {
            // Whole cache lines, so that the centre tap reads each plane from a line's start.
            margin = roundedToLine(offsets.map(abs).max() ?? 0)
            rows = []
            order = offsets.indices.filter { offsets[$0] == 0 }
                + offsets.indices.filter { offsets[$0] > 0 }.sorted { offsets[$0] < offsets[$1] }
                + offsets.indices.filter { offsets[$0] < 0 }.sorted { offsets[$0] > offsets[$1] }
            firstTapCoversAll = offsets.contains(0)
        } else {
            margin = 0
            let rows = offsets.map { ConvGeometry.validRange(outExtent: g.outHeight, inExtent: g.height, stride: 1, tapOffset: $0) }
            self.rows = rows
            order = offsets.indices.sorted { t, u in (rows[t].count, -t) > (rows[u].count, -u) }
            firstTapCoversAll = order.first.map { rows[$0].count == g.outHeight } ?? false
        }
    }

    var taps: Int { offsets.count }
    var planeIn: Int { g.height * g.width }
    var planeOut: Int { g.outHeight * g.outWidth }
    /// Elements of the per-image copy a row kernel reads from.
    var copyCount: Int { isRow ? g.inChannels * (planeIn + 2 * margin) : 0 }

    /// The filters as one `outChannels x inChannels` matrix per tap.
    func tapMatrices(_ weight: Tensor) -> [Float] {
        let (O, I, k) = (g.outChannels, g.inChannels, taps)
        return [Float](unsafeUninitializedCapacity: k * O * I) { m, count in
            weight.data.withUnsafeBufferPointer { w in
                for o in 0..<O { for i in 0..<I { for t in 0..<k { m[(t * O + o) * I + i] = w[(o * I + i) * k + t] } } }
            }
            count = k * O * I
        }
    }

    /// Calls `body(tap, b, ldb, first, count)` once per tap for one image `xn`, in ``order``:
    /// `b` is the `inChannels x count` matrix (row pitch `ldb`) whose column `j` is what output
    /// position `first + j` reads through the tap, zero where the tap falls outside the input.
    ///
    /// - Parameter copy: scratch of ``copyCount`` elements (row kernels only).
    func forEachTap(_ xn: CPtr, copy: Ptr?, _ body: (_ tap: Int, _ b: CPtr, _ ldb: Int, _ first: Int, _ count: Int) -> Void) {
        let W = g.width
        if !isRow {
            for t in order where !rows[t].isEmpty {
                body(t, xn + (rows[t].lowerBound + offsets[t]) * W, planeIn, rows[t].lowerBound * W, rows[t].count * W)
            }
            return
        }
        let copy = copy!
        let (I, H, m, pitch) = (g.inChannels, g.height, margin, planeIn + 2 * margin)
        for c in 0..<I {
            let dst = copy + c * pitch
            Vector.fill(dst, 0, m)
            Vector.copyRow(xn + c * planeIn, dst + m, planeIn)
            Vector.fill(dst + m + planeIn, 0, m)
        }
        /// Sets columns `cols` of every row of every plane of the copy to zero, or back to the input.
        func setColumns(_ cols: Range<Int>, restore: Bool) {
            for c in 0..<I {
                let (dst, src) = (copy + c * pitch + m, xn + c * planeIn)
                for w in cols {
                    if restore {
                        for h in 0..<H { dst[h * W + w] = src[h * W + w] }
                    } else {
                        for h in 0..<H { dst[h * W + w] = 0 }
                    }
                }
            }
        }
        // Right shifts zero the columns they wrap into, cumulatively; the first left shift
        // restores them, then left shifts zero the right columns they wrap into.
        var (zeroedLeft, zeroedRightFrom) = (0, W)
        for t in order {
            let o = offsets[t]
            if o > 0 {
                setColumns(zeroedLeft..<o, restore: false)
                zeroedLeft = o
            } else if o < 0 {
                setColumns(0..<zeroedLeft, restore: true)
                zeroedLeft = 0
                setColumns((W + o)..<zeroedRightFrom, restore: false)
                zeroedRightFrom = W + o
            }
            body(t, copy + m + o, pitch, 0, planeOut)
        }
    }

    /// The convolution written to `out` (`[batch, outChannels, outHeight, outWidth]`), or
    /// added to what it holds when `accumulating` (every tap's product then adds).
    func forward(x: Tensor, weight: Tensor, bias: Tensor?, into out: Ptr, accumulating: Bool, threads: KernelThreads) {
        if let winograd {
            winograd.forward(x: x, weight: weight, bias: bias, into: out, accumulating: accumulating, threads: threads)
            return
        }
        let (O, I) = (g.outChannels, g.inChannels)
        let (planeIn, planeOut, copyCount, coversAll) = (planeIn, planeOut, copyCount, firstTapCoversAll)
        let filters = tapMatrices(weight)
        x.data.withUnsafeBufferPointer { xb in
            filters.withUnsafeBufferPointer { fb in
                let op = UncheckedBox(out)
                parallelFor(g.batch, threads: threads) { n in
                    let on = op.value + n * O * planeOut
                    if !coversAll && !accumulating { Vector.fill(on, 0, O * planeOut) }
                    withAlignedScratch(copyCount) { copy in
                        var first = !accumulating
                        forEachTap(xb.baseAddress! + n * I * planeIn, copy: copy) { t, b, ldb, start, count in
                            sgemm(m: O, n: count, k: I, a: fb.baseAddress! + t * O * I, lda: I, b: b, ldb: ldb,
                                  beta: first && coversAll ? 0 : 1, c: on + start, ldc: planeOut)
                            first = false
                        }
                    }
                    if let bias {
                        for c in 0..<O { Vector.affine(1, on + c * planeOut, bias.data[c], on + c * planeOut, planeOut) }
                    }
                }
            }
        }
    }

    /// The filter gradient, summed over the batch in a fixed chunk order.
    func backwardWeight(dy: Tensor, x: Tensor, threads: KernelThreads) -> Tensor {
        if let winograd { return winograd.backwardWeight(dy: dy, x: x, threads: threads) }
        let (O, I, k) = (g.outChannels, g.inChannels, taps)
        let (planeIn, planeOut, copyCount) = (planeIn, planeOut, copyCount)
        let sum = dy.data.withUnsafeBufferPointer { db in
            x.data.withUnsafeBufferPointer { xb in
                ConvKernels.chunkedSum(batch: g.batch, length: k * O * I, threads: threads) { images, acc in
                    withAlignedScratch(copyCount) { copy in
                        for n in images {
                            let dyn = db.baseAddress! + n * O * planeOut
                            forEachTap(xb.baseAddress! + n * I * planeIn, copy: copy) { t, b, ldb, start, count in
                                sgemm(transB: true, m: O, n: I, k: count, a: dyn + start, lda: planeOut, b: b, ldb: ldb,
                                      beta: 1, c: acc + t * O * I, ldc: I)
                            }
                        }
                    }
                }
            }
        }
        // Tap-major matrices back to the [out, in, kh, kw] filter layout.
        return Tensor(uninitializedShape: [O, I, g.kernelH, g.kernelW]) { w in
            for o in 0..<O { for i in 0..<I { for t in 0..<k { w[(o * I + i) * k + t] = sum[(t * O + o) * I + i] } } }
        }
    }
}
