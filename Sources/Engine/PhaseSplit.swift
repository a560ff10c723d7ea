/// Stride-2 3x3 depthwise filters on their input's phases.
///
/// A stride-2 filter reads the padded plane only at rows `2 ho + d i` and columns `2 wo + d j`
/// (dilation `d`, tap `(i, j)`). Split the padded plane by the parity of its rows and columns
/// into four phase planes, plane `(pr, pc)` holding elements `(2a + pr, 2b + pc)`, and tap
/// `(i, j)` reads row `ho + (d i) / 2`, column `wo + (d j) / 2` of plane
/// `((d i) % 2, (d j) % 2)`: a stride-1 stencil over half-size planes that computes each
/// output once. (At dilation 2 every tap falls on an even row and column, so only plane
/// `(0, 0)` is kept.) The padded-plane path instead computes the stride-1 output on every
/// sampled row and keeps every other column, and backward spreads the output gradient over a
/// full-size grid three quarters zeros; the split does a quarter of that work.
///
/// Backward, the output gradient is laid out at the phase planes' pitch with zeros past its
/// width, so that the filter gradient is a dot product of it with each tap's shifted plane.
/// The input gradient's rows are formed from it a vector at a time, their even and odd
/// columns apart, and interleaved back.
extension ConvKernels.DepthwisePlan {
    /// Elements of one phase plane.
    var phasePlaneSize: Int { phaseHeight * phaseWidth }

    /// The plane of phase `(pr, pc)` in a split starting at `base`.
    @inline(__always)
    func phasePlane(_ base: UnsafeMutablePointer<Float>, _ pr: Int, _ pc: Int) -> UnsafeMutablePointer<Float> {
        base + (g.dilationH == 1 ? 2 * pr + pc : 0) * phasePlaneSize
    }

    /// Writes the phase planes of the zero-padded plane of `src` (``phaseCount`` elements).
    func split(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
        let d = g.dilationH, wq = phaseWidth
        Vector.fill(dst, 0, phaseCount)
        for r in 0..<g.height {
            // Input row r is padded row r + d; input column 2k is padded column 2k + d.
            let (pr, a) = ((r + d) & 1, (r + d) >> 1)
            if d == 2 && pr == 1 { continue }
            let row = src + r * g.width
            if d == 1 {
                // Even columns land on odd padded columns (phase 1, from b = 0), odd ones on even
                // padded columns (phase 0, from b = 1).
                Vector.deinterleave(row, g.width, even: phasePlane(dst, pr, 1) + a * wq,
                                    odd: phasePlane(dst, pr, 0) + a * wq + 1)
            } else {
                Vector.deinterleave(row, g.width, even: phasePlane(dst, 0, 0) + a * wq + 1, odd: nil)
            }
        }
    }

    /// Filters one plane split by ``split(_:into:)`` into `dst` (the strided output).
    @inline(__always)
    func filter(phases: UnsafePointer<Float>, weights: UnsafePointer<Float>, bias: Float,
                wide: UnsafeMutablePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
        let (Ho, Wo, wq) = (outHeight, outWidth, phaseWidth)
        phaseOffsets.withUnsafeBufferPointer { offs in
            if Wo >= 8 {
                Stencil.correlate(phases, offsets: offs.baseAddress!, weights: weights, taps: 9, bias: bias, dst, Wo,
                                  rows: Ho, srcPitch: wq, dstPitch: Wo)
            } else {
                // Rows shorter than a vector: one run over the rows at the planes' pitch, then
                // each row's outputs copied out.
                Stencil.correlate(phases, offsets: offs.baseAddress!, weights: weights, taps: 9, bias: bias, wide,
                                  (Ho - 1) * wq + Wo)
                for ho in 0..<Ho { Vector.copyRow(wide + ho * wq, dst + ho * Wo, Wo) }
            }
        }
    }

    /// The backward pass of one plane whose input, read only for the filter gradient, was split
    /// by ``split(_:into:)``: the input gradient to `dx` (when given, with `weights`; added to
    /// what `dx` holds with `accumulatingDX`) and the filter gradient added to `filterGradient`
    /// (when given, with the split input).
    @inline(__always)
    func backward(dy: UnsafePointer<Float>, phases: UnsafePointer<Float>?, weights: UnsafePointer<Float>?,
                  scratch: BackwardScratch, dx: UnsafeMutablePointer<Float>?, accumulatingDX: Bool,
                  filterGradient: UnsafeMutablePointer<Float>?) {
        let (Ho, Wo, wq, d) = (outHeight, outWidth, phaseWidth, g.dilationH)
        // The output gradient at the planes' pitch, with zero columns past its width and zero
        // rows below it up to the planes' height. The planes are d columns wider and d rows
        // taller than the output, as far as a tap reaches, so the shifted reads of the gather
        // find zeros (or the margin before the grid) wherever no output lies.
        let grid = scratch.wide
        Vector.fill(grid, 0, phasePlaneSize)
        for ho in 0..<Ho { Vector.copyRow(dy + ho * Wo, grid + ho * wq, Wo) }
        if let filterGradient, let phases {
            phaseOffsets.withUnsafeBufferPointer { offs in
                Stencil.correlateWeights(grid, phases, offsets: offs.baseAddress!, taps: 9, filterGradient, Ho * wq)
            }
        }
        guard let dx, let weights else { return }
        if d == 1 {
            inputGradientRows(grid: grid, weights: weights, scratch: scratch.padded, dx: dx, accumulating: accumulatingDX)
            return
        }
        // Dilation 2: the one plane's gradient gathers all nine taps; its rows and columns are
        // the even ones of the padded plane, the odd ones get nothing.
        let plane = scratch.padded
        phaseOffsets.withUnsafeBufferPointer { offs in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: 9) { back in
                for t in 0..<9 { back[t] = -offs[t] }
                Stencil.correlate(grid, offsets: back.baseAddress!, weights: weights, taps: 9, bias: 0, plane, phasePlaneSize)
            }
        }
        for r in 0..<g.height {
            let out = dx + r * g.width
            if (r + d) & 1 == 0 {
                Vector.interleave(even: plane + ((r + d) >> 1) * wq + 1, odd: nil, into: out, g.width,
                                  accumulating: accumulatingDX)
            } else if !accumulatingDX {
                Vector.fill(out, 0, g.width)
            }
        }
    }
}

extension ConvKernels.DepthwisePlan {
    /// The input gradient at dilation 1, row by row from the output gradient's grid `dy` (at the
    /// phase planes' pitch): an input row r is padded row r + 1, so at even r its even columns
    /// take tap (1, 1) and its odd columns taps (1, 0) and (1, 2) from output row r / 2; at odd r
    /// its even columns take taps (0, 1) and (2, 1), its odd columns the four corner taps, from
    /// output rows (r + 1) / 2 and (r - 1) / 2. Each row's even and odd columns are formed a
    /// vector at a time in `scratch` and interleaved into `dx`.
    @inline(__always)
    func inputGradientRows(grid dy: UnsafePointer<Float>, weights w: UnsafePointer<Float>,
                           scratch: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>, accumulating: Bool) {
        typealias V = SIMD8<Float>
        let (W, wq) = (g.width, phaseWidth)
        let pairs = (W + 1) / 2, lanes = (pairs + 7) / 8 * 8
        let (even, odd) = (scratch, scratch + lanes)
        let (w00, w01, w02) = (V(repeating: w[0]), V(repeating: w[1]), V(repeating: w[2]))
        let (w10, w11, w12) = (V(repeating: w[3]), V(repeating: w[4]), V(repeating: w[5]))
        let (w20, w21, w22) = (V(repeating: w[6]), V(repeating: w[7]), V(repeating: w[8]))
        for r in 0..<g.height {
            let a = (r + 1) >> 1
            let near = dy + a * wq
            var k = 0
            if r & 1 == 0 {
                while k < pairs {
                    let (g0, g1) = (Vector.load(near + k), Vector.load(near + k + 1))
                    Vector.store(w11 * g0, even + k)
                    Vector.store((w10 * g1).addingProduct(w12, g0), odd + k)
                    k += 8
                }
            } else {
                let far = near - wq
                while k < pairs {
                    let (g0, g1, f0, f1) = (Vector.load(near + k), Vector.load(near + k + 1),
                                            Vector.load(far + k), Vector.load(far + k + 1))
                    Vector.store((w01 * g0).addingProduct(w21, f0), even + k)
                    Vector.store((w00 * g1).addingProduct(w02, g0) + (w20 * f1).addingProduct(w22, f0), odd + k)
                    k += 8
                }
            }
            Vector.interleave(even: even, odd: odd, into: dx + r * W, W, accumulating: accumulating)
        }
    }
}
