/// A 1x5 filter with padding (0, 2) at stride 2 in both directions (the search space's
/// `conv_1x5_5x1` on a reduction edge), as a stride-1 1x3 filter over twice the channels.
///
/// Output column `w` reads input columns `2w - 2 ... 2w + 2` of row `2h`. Split each read row
/// into its even columns `e[v] = x[2v]` and odd columns `o[v] = x[2v + 1]`; then
///
/// ```
/// y[w] = W0 e[w-1] + W1 o[w-1] + W2 e[w] + W3 o[w] + W4 e[w+1]
/// ```
///
/// a 1x3 filter with padding 1 over the channels `[e; o]`, whose taps are `[W0 | W1]`,
/// `[W2 | W3]` and `[W4 | 0]`. That runs on ``LineKernel`` (a matrix product per tap, in place),
/// where unfolding the strided patches and folding them back cost about as much as the products.
/// The split input is made anew for the forward pass and for the filter gradient.
struct StridedRowKernel {
    let g: ConvGeometry
    /// The 1x3 convolution over the split rows.
    let inner: ConvGeometry

    init?(_ g: ConvGeometry) {
        guard g.groups == 1, g.strideH == 2, g.strideW == 2, g.kernelH == 1, g.kernelW == 5, g.padH == 0, g.padW == 2,
              g.dilationH == 1, g.dilationW == 1, g.inChannels >= 8, g.width >= 4 else { return nil }
        let inner = ConvGeometry(batch: g.batch, inChannels: 2 * g.inChannels, height: g.outHeight, width: g.outWidth,
                                 outChannels: g.outChannels, kernelH: 1, kernelW: 3, strideH: 1, strideW: 1,
                                 padH: 0, padW: 1, dilationH: 1, dilationW: 1, groups: 1)
        guard LineKernel(inner) != nil, inner.outWidth == g.outWidth, inner.outHeight == g.outHeight else { return nil }
        self.g = g
        self.inner = inner
    }

    /// The even rows of `x` split into even and odd columns: `[batch, 2 * inChannels, outHeight, outWidth]`,
    /// zero past the last odd column of an odd-width row.
    func split(_ x: Tensor, threads: KernelThreads) -> Tensor {
        let (I, H, W, Ho, Wo) = (g.inChannels, g.height, g.width, g.outHeight, g.outWidth)
        let odd = W / 2
        return Tensor(uninitializedShape: [g.batch, 2 * I, Ho, Wo]) { s in
            x.data.withUnsafeBufferPointer { xb in
                let sp = UncheckedBox(s.baseAddress!)
                parallelFor(g.batch, threads: threads) { n in
                    for i in 0..<I {
                        let src = xb.baseAddress! + (n * I + i) * H * W
                        let even = sp.value + (n * 2 * I + i) * Ho * Wo, oddPlane = even + I * Ho * Wo
                        for h in 0..<Ho {
                            let o = oddPlane + h * Wo
                            Vector.deinterleave(src + 2 * h * W, W, even: even + h * Wo, odd: o)
                            for v in odd..<Wo { o[v] = 0 }
                        }
                    }
                }
            }
        }
    }

    /// The 1x3 filters `[O, 2I, 1, 3]` of a 1x5 filter `[O, I, 1, 5]`.
    func innerWeight(_ weight: Tensor) -> Tensor {
        let (O, I) = (g.outChannels, g.inChannels)
        var inner = Tensor(shape: [O, 2 * I, 1, 3])
        inner.data.withUnsafeMutableBufferPointer { p in
            weight.data.withUnsafeBufferPointer { w in
                for o in 0..<O {
                    for i in 0..<I {
                        let taps = w.baseAddress! + (o * I + i) * 5
                        let (e, od) = ((o * 2 * I + i) * 3, (o * 2 * I + I + i) * 3)
                        (p[e], p[od], p[e + 1], p[od + 1], p[e + 2]) = (taps[0], taps[1], taps[2], taps[3], taps[4])
                    }
                }
            }
        }
        return inner
    }

    func forward(x: Tensor, weight: Tensor, bias: Tensor?, into out: UnsafeMutablePointer<Float>, accumulating: Bool,
                 threads: KernelThreads) {
        ConvKernels.forward(x: split(x, threads: threads), weight: innerWeight(weight), bias: bias, inner, into: out,
                            accumulating: accumulating, threads: threads)
    }

    /// The input gradient: the split rows' gradient put back in place; odd rows read nothing.
    func backwardData(dy: Tensor, weight: Tensor, into dx: UnsafeMutablePointer<Float>, accumulating: Bool,
                      threads: KernelThreads) {
        let ds = ConvKernels.backwardData(dy: dy, weight: innerWeight(weight), inner, threads: threads)
        let (I, H, W, Ho, Wo) = (g.inChannels, g.height, g.width, g.outHeight, g.outWidth)
        ds.data.withUnsafeBufferPointer { db in
            let dp = UncheckedBox(dx)
            parallelFor(g.batch, threads: threads) { n in
                for i in 0..<I {
                    let dst = dp.value + (n * I + i) * H * W
                    let even = db.baseAddress! + (n * 2 * I + i) * Ho * Wo, oddPlane = even + I * Ho * Wo
                    if !accumulating { Vector.fill(dst, 0, H * W) }
                    for h in 0..<Ho {
                        Vector.interleave(even: even + h * Wo, odd: oddPlane + h * Wo, into: dst + 2 * h * W, W,
                                          accumulating: true)
                    }
                }
            }
        }
    }

    /// The filter gradient, from the 1x3 filters' gradient (the odd channels' third tap reads
    /// nothing of the 1x5 filter and is dropped).
    func backwardWeight(dy: Tensor, x: Tensor, threads: KernelThreads) -> Tensor {
        let p = ConvKernels.backwardWeight(dy: dy, x: split(x, threads: threads), inner, threads: threads)
        let (O, I) = (g.outChannels, g.inChannels)
        return Tensor(uninitializedShape: [O, I, 1, 5]) { w in
            p.data.withUnsafeBufferPointer { pb in
                for o in 0..<O {
                    for i in 0..<I {
                        let (e, od) = ((o * 2 * I + i) * 3, (o * 2 * I + I + i) * 3)
                        let t = (o * I + i) * 5
                        (w[t], w[t + 1], w[t + 2], w[t + 3], w[t + 4]) = (pb[e], pb[od], pb[e + 1], pb[od + 1], pb[e + 2])
                    }
                }
            }
        }
    }
}
