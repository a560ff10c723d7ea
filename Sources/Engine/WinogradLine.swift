import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The 5-tap line convolutions (1x5 and 5x1 filters, stride 1, padding 2) by Winograd's minimal
/// filtering F(4, 5): a tile of four outputs is computed from eight transformed inputs, so the
/// matrix products do 8 multiplications per 4 outputs and input channel where direct taps do 20.
///
/// With `U_j = (B^T d)_j` the transformed input of a tile `d` (8 values), `V_j = (G g)_j` the
/// transformed filter (5 taps) and `M_j = sum_in V_j * U_j` one matrix product per component `j`,
/// the outputs are `A^T M`. The transforms come from the Toom-Cook construction at the points
/// 0, 1, -1, 2, -2, 1/2, -1/2 and infinity: with `V` the 8 x 8 Vandermonde matrix at those points
/// (infinity picks the leading coefficient), `B^T = V^-T`, and `G` and `A^T` are the Vandermonde
/// matrices of 5 and 4 columns (the latter transposed); a test checks the kernels' constants
/// against that construction.
///
/// The transforms run per image in C kernels (AVX-512, or AVX2 with FMA); the products of a
/// fixed group of images run together, so their matrices are wide. Rounding differs from the
/// direct taps by a few units in the last place of the inputs' scale; the grouping depends on
/// the geometry alone, so results do not depend on the number of threads.
struct WinogradLine {
    let g: ConvGeometry
    let isRow: Bool

    /// Whether the transforms run on this processor (AVX-512 F, or AVX2 with FMA) and are
    /// enabled. Setting `METANAS_WINOGRAD=0` in the environment keeps the direct taps (to compare
    /// the two).
    static let enabled: Bool = mn_winograd5_available() != 0 && !switchedOff("METANAS_WINOGRAD")

    /// About how many matrix columns the products of one group of images have: two 28x28
    /// images, which keeps the products on OpenBLAS's small-matrix path of its AVX-512 kernels
    /// (it leaves it past about 10^6 multiply-adds per product, at half the speed). On AVX2
    /// processors, with OpenBLAS's products, groups of 784 and 1568 columns were no faster; with
    /// the unpacked products that run there now, neither were groups of one image (196 columns,
    /// whose transformed input and products fit the second-level cache).
    static let columnsPerGroup = 392
    /// The fewest groups a batch of at least that many images is split into (see ``imagesPerGroup``).
    static let minimumGroups = 10

    init?(_ g: ConvGeometry, isRow: Bool) {
        guard Self.enabled, g.groups == 1, g.inChannels >= 8, g.outChannels >= 8 else { return nil }
        if isRow {
            guard g.kernelH == 1, g.kernelW == 5, g.padW == 2, g.dilationW == 1, g.width <= 32 else { return nil }
        } else {
            guard g.kernelW == 1, g.kernelH == 5, g.padH == 2, g.dilationH == 1 else { return nil }
        }
        self.g = g
        self.isRow = isRow
    }

    /// The width a row filter's tiles cover: the plane's, rounded up to a multiple of 4. A
    /// plane of another width is copied with zero columns up to it (the filter's own right
    /// padding), and the outputs past its width are dropped.
    var tiledWidth: Int { isRow ? (g.width + 3) / 4 * 4 : g.width }

    /// Matrix columns of one image: its tiles times (column filters) the plane's width.
    var columnsPerImage: Int { isRow ? g.height * (tiledWidth / 4) : (g.height + 3) / 4 * g.width }
    /// Images whose products run together: groups of about ``columnsPerGroup`` columns, an even
    /// number of them (so that two threads share them evenly) and at least ``minimumGroups``
    /// where the batch allows (so that threads that finish first wait for at most a tenth of
    /// the work), fixed by the geometry alone.
    var imagesPerGroup: Int {
        let groups = max((g.batch * columnsPerImage + Self.columnsPerGroup - 1) / Self.columnsPerGroup,
                         min(g.batch, Self.minimumGroups))
        let even = g.batch >= 2 ? max(2, groups + groups % 2) : 1
        return (g.batch + even - 1) / even
    }

    /// The transformed filters: 8 matrices of `outChannels x inChannels`.
    ///
    /// The taps are first laid out tap by tap, so that each matrix is a sum of five scaled
    /// tap matrices in vector passes (the transform runs on one thread before the products).
    func transformedFilters(_ weight: Tensor) -> [Float] {
        let n = g.outChannels * g.inChannels
        let G = WinogradMatrices.shared.filter
        return withAlignedScratch(5 * n) { taps in
            weight.data.withUnsafeBufferPointer { w in
                for m in 0..<n {
                    for k in 0..<5 { taps[k * n + m] = w[m * 5 + k] }
                }
            }
            return [Float](unsafeUninitializedCapacity: 8 * n) { v, count in
                for j in 0..<8 {
                    let out = v.baseAddress! + j * n
                    Vector.affine(G[j * 5], taps, 0, out, n)
                    for k in 1..<5 where G[j * 5 + k] != 0 { Vector.axpy(G[j * 5 + k], taps + k * n, out, n) }
                }
                count = 8 * n
            }
        }
    }

    /// The eight components of every tile of one image's `channels` planes, written at `u` into
    /// matrices `columns` wide (one per component, `channels` rows each): the input transform,
    /// or with `gradient` the output gradient's transform of the filter gradient.
    private func transform(_ planes: UnsafePointer<Float>, channels: Int, gradient: Bool,
                           into u: UnsafeMutablePointer<Float>, columns: Int) {
        func run(_ planes: UnsafePointer<Float>, width: Int) {
            let (c, h, w, stride) = (Int32(channels), Int32(g.height), Int32(width), channels * columns)
            switch (isRow, gradient) {
            case (true, false): mn_winograd5_row_input(planes, c, h, w, u, stride, columns)
            case (false, false): mn_winograd5_column_input(planes, c, h, w, u, stride, columns)
            case (true, true): mn_winograd5_row_gradient(planes, c, h, w, u, stride, columns)
            case (false, true): mn_winograd5_column_gradient(planes, c, h, w, u, stride, columns)
            }
        }
        guard tiledWidth != g.width else {
            run(planes, width: g.width)
            return
        }
        withTiledPlanes(channels) { tiled in
            let (W, wide) = (g.width, tiledWidth)
            for r in 0..<channels * g.height {
                let row = tiled + r * wide
                row.update(from: planes + r * W, count: W)
                (row + W).update(repeating: 0, count: wide - W)
            }
            run(tiled, width: wide)
        }
    }

    /// `channels` planes at ``tiledWidth``, for `body`.
    private func withTiledPlanes(_ channels: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) {
        withAlignedScratch(channels * g.height * tiledWidth) { body($0) }
    }

    /// The outputs of `channels` planes from their products at `m` (the layout of
    /// ``transform(_:channels:gradient:into:columns:)``), written to `out` or added to it.
    private func output(_ m: UnsafePointer<Float>, channels: Int, columns: Int, into out: UnsafeMutablePointer<Float>,
                        accumulating: Bool) {
        let (c, h, w, stride, add) = (Int32(channels), Int32(g.height), Int32(g.width), channels * columns,
                                      Int32(accumulating ? 1 : 0))
        guard isRow else {
            mn_winograd5_column_output(m, stride, columns, c, h, w, out, add)
            return
        }
        guard tiledWidth != g.width else {
            mn_winograd5_row_output(m, stride, columns, c, h, w, out, add)
            return
        }
        // Rows at the tiled width, of which the first `width` outputs are kept.
        withTiledPlanes(channels) { tiled in
            let (W, wide) = (g.width, tiledWidth)
            mn_winograd5_row_output(m, stride, columns, c, h, Int32(wide), tiled, 0)
            for r in 0..<channels * g.height {
                if accumulating {
                    Vector.add(tiled + r * wide, out + r * W, W)
                } else {
                    (out + r * W).update(from: tiled + r * wide, count: W)
                }
            }
        }
    }

    /// Scratch for one group's products: the input's components (`inChannels` rows) and the
    /// outputs' (`outChannels` rows), each 8 matrices `columns` wide, on their own cache lines.
    private func withGroupScratch(columns: Int,
                                  _ body: (_ input: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>) -> Void) {
        let inputSize = roundedToLine(8 * g.inChannels * columns)
        withAlignedScratch(inputSize + 8 * g.outChannels * columns) { u in body(u, u + inputSize) }
    }

    /// The convolution written to `out`, or added to what it holds when `accumulating`.
    func forward(x: Tensor, weight: Tensor, bias: Tensor?, into out: UnsafeMutablePointer<Float>, accumulating: Bool,
                 threads: KernelThreads) {
        let (O, I, H, W, batch) = (g.outChannels, g.inChannels, g.height, g.width, g.batch)
        let (perImage, perGroup) = (columnsPerImage, imagesPerGroup)
        let groups = (batch + perGroup - 1) / perGroup
        let filters = transformedFilters(weight)
        let plane = H * W
        x.data.withUnsafeBufferPointer { xb in
            filters.withUnsafeBufferPointer { fb in
                let op = UncheckedBox(out)
                parallelFor(groups, threads: threads) { group in
                    let images = (group * perGroup)..<min(batch, (group + 1) * perGroup)
                    let columns = images.count * perImage
                    withGroupScratch(columns: columns) { u, m in
                        for (k, n) in images.enumerated() {
                            transform(xb.baseAddress! + n * I * plane, channels: I, gradient: false, into: u + k * perImage,
                                      columns: columns)
                        }
                        for j in 0..<8 {
                            sgemm(m: O, n: columns, k: I, a: fb.baseAddress! + j * O * I, lda: I,
                                  b: u + j * I * columns, ldb: columns, beta: 0, c: m + j * O * columns, ldc: columns)
                        }
                        for (k, n) in images.enumerated() {
                            let on = op.value + n * O * plane
                            output(m + k * perImage, channels: O, columns: columns, into: on, accumulating: accumulating)
                            if let bias {
                                for c in 0..<O { Vector.affine(1, on + c * plane, bias.data[c], on + c * plane, plane) }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The filter gradient, summed over the batch in a fixed chunk order: with `Z_j` the
    /// output gradient's transform and `U_j` the input's, `dW = G^T P` for
    /// `P_j = sum over tiles of Z_j U_j^T`.
    func backwardWeight(dy: Tensor, x: Tensor, threads: KernelThreads) -> Tensor {
        let (O, I) = (g.outChannels, g.inChannels)
        let (perImage, perGroup, plane) = (columnsPerImage, imagesPerGroup, g.height * g.width)
        let sum = dy.data.withUnsafeBufferPointer { db in
            x.data.withUnsafeBufferPointer { xb in
                ConvKernels.chunkedSum(batch: g.batch, length: 8 * O * I, cleared: false, threads: threads) { images, acc in
                    for first in stride(from: images.lowerBound, to: images.upperBound, by: perGroup) {
                        let group = first..<min(images.upperBound, first + perGroup)
                        let columns = group.count * perImage
                        withGroupScratch(columns: columns) { u, z in
                            for (k, n) in group.enumerated() {
                                transform(xb.baseAddress! + n * I * plane, channels: I, gradient: false,
                                          into: u + k * perImage, columns: columns)
                                transform(db.baseAddress! + n * O * plane, channels: O, gradient: true,
                                          into: z + k * perImage, columns: columns)
                            }
                            for j in 0..<8 {
                                sgemm(transB: true, m: O, n: I, k: columns, a: z + j * O * columns, lda: columns,
                                      b: u + j * I * columns, ldb: columns, beta: first == images.lowerBound ? 0 : 1,
                                      c: acc + j * O * I, ldc: I)
                            }
                        }
                    }
                }
            }
        }
        let G = WinogradMatrices.shared.filter
        return Tensor(uninitializedShape: [O, I, g.kernelH, g.kernelW]) { w in
            for o in 0..<O {
                for i in 0..<I {
                    for k in 0..<5 {
                        var s: Float = 0
                        for j in 0..<8 { s += G[j * 5 + k] * sum[(j * O + o) * I + i] }
                        w[(o * I + i) * 5 + k] = s
                    }
                }
            }
        }
    }
}

/// The F(4, 5) transforms the kernels use (row-major, as `mn_winograd5_matrices` gives them).
struct WinogradMatrices {
    /// `B^T`, 8 x 8: transformed input `j` is `sum_k input[j * 8 + k] * d[k]`.
    let input: [Float]
    /// `G`, 8 x 5: transformed filter `j` is `sum_k filter[j * 5 + k] * g[k]`.
    let filter: [Float]
    /// `A^T`, 4 x 8: output `s` is `sum_j output[s * 8 + j] * m[j]`.
    let output: [Float]

    static let shared: WinogradMatrices = {
        var (bt, g, at) = ([Float](repeating: 0, count: 64), [Float](repeating: 0, count: 40), [Float](repeating: 0, count: 32))
        mn_winograd5_matrices(&bt, &g, &at)
        return WinogradMatrices(input: bt, filter: g, output: at)
    }()
}
