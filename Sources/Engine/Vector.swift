import CKernels

/// Vectorised inner loops over raw float buffers. Swift does not reassociate floating-point
/// sums, so reductions written as scalar loops run one add at a time; these keep eight
/// independent SIMD lanes (AVX2 with `-target-cpu haswell`) and combine them at the end in a
/// fixed order, so results are deterministic.
enum Vector {
    typealias V = SIMD8<Float>

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// `sum(x[0..<n])`.
    @inline(__always) static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc0 = V(), acc1 = V()
        var i = 0
        while i + 16 <= n { acc0 += load(x + i); acc1 += load(x + i + 8); i += 16 }
        if i + 8 <= n { acc0 += load(x + i); i += 8 }
        var s = (acc0 + acc1).sum()
        while i < n { s += x[i]; i += 1 }
        return s
    }

    /// `sum(x[i] * y[i])`.
    @inline(__always) static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc0 = V(), acc1 = V()
        var i = 0
        while i + 16 <= n {
            acc0.addProduct(load(x + i), load(y + i))
            acc1.addProduct(load(x + i + 8), load(y + i + 8))
            i += 16
        }
        if i + 8 <= n { acc0.addProduct(load(x + i), load(y + i)); i += 8 }
        var s = (acc0 + acc1).sum()
        while i < n { s = s.addingProduct(x[i], y[i]); i += 1 }
        return s
    }

    /// `(dot(d, x0, n), dot(d, x1, n), dot(d, x2, n))`, equal to them bit for bit, in one pass
    /// over `d`: six independent chains instead of two, so that the adds overlap.
    @inline(__always) static func dot3(_ d: UnsafePointer<Float>, _ x0: UnsafePointer<Float>, _ x1: UnsafePointer<Float>,
                                       _ x2: UnsafePointer<Float>, _ n: Int) -> (Float, Float, Float) {
        var (a0, a1, b0, b1, c0, c1) = (V(), V(), V(), V(), V(), V())
        var i = 0
        while i + 16 <= n {
            let (u, v) = (load(d + i), load(d + i + 8))
            a0.addProduct(u, load(x0 + i)); a1.addProduct(v, load(x0 + i + 8))
            b0.addProduct(u, load(x1 + i)); b1.addProduct(v, load(x1 + i + 8))
            c0.addProduct(u, load(x2 + i)); c1.addProduct(v, load(x2 + i + 8))
            i += 16
        }
        if i + 8 <= n {
            let u = load(d + i)
            a0.addProduct(u, load(x0 + i)); b0.addProduct(u, load(x1 + i)); c0.addProduct(u, load(x2 + i))
            i += 8
        }
        var (a, b, c) = ((a0 + a1).sum(), (b0 + b1).sum(), (c0 + c1).sum())
        while i < n {
            a = a.addingProduct(d[i], x0[i]); b = b.addingProduct(d[i], x1[i]); c = c.addingProduct(d[i], x2[i])
            i += 1
        }
        return (a, b, c)
    }

    /// `(sum(x[i]), sum(x[i] * y[i]))` in one pass.
    @inline(__always) static func sumAndDot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> (Float, Float) {
        var s0 = V(), s1 = V(), p0 = V(), p1 = V()
        var i = 0
        while i + 16 <= n {
            let (a, b) = (load(x + i), load(x + i + 8))
            s0 += a; s1 += b
            p0.addProduct(a, load(y + i)); p1.addProduct(b, load(y + i + 8))
            i += 16
        }
        if i + 8 <= n { let a = load(x + i); s0 += a; p0.addProduct(a, load(y + i)); i += 8 }
        var (s, p) = ((s0 + s1).sum(), (p0 + p1).sum())
        while i < n { s += x[i]; p = p.addingProduct(x[i], y[i]); i += 1 }
        return (s, p)
    }

    /// `(sum(d[i]), sum(d[i] * x[i]))` over the elements where `mask[i] > 0`: the sums the
    /// gradient of a batch norm followed by a ReLU needs (`mask` is the ReLU's output).
    @inline(__always) static func maskedSumAndDot(_ d: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
                                                  mask: UnsafePointer<Float>, _ n: Int) -> (Float, Float) {
        var (s0, s1, p0, p1) = (V(), V(), V(), V())
        var i = 0
        while i + 16 <= n {
            let a = load(d + i).replacing(with: 0, where: load(mask + i) .<= 0)
            let b = load(d + i + 8).replacing(with: 0, where: load(mask + i + 8) .<= 0)
            s0 += a; s1 += b
            p0.addProduct(a, load(x + i)); p1.addProduct(b, load(x + i + 8))
            i += 16
        }
        if i + 8 <= n {
            let a = load(d + i).replacing(with: 0, where: load(mask + i) .<= 0)
            s0 += a
            p0.addProduct(a, load(x + i))
            i += 8
        }
        var (ss, pp) = ((s0 + s1).sum(), (p0 + p1).sum())
        while i < n { if mask[i] > 0 { ss += d[i]; pp = pp.addingProduct(d[i], x[i]) }; i += 1 }
        return (ss, pp)
    }

    /// `z[i] = a * (mask[i] > 0 ? d[i] : 0) + b * x[i] + c`, or added to `z` with `accumulating`.
    @inline(__always) static func maskedLinear(_ a: Float, _ d: UnsafePointer<Float>, mask: UnsafePointer<Float>,
                                               _ b: Float, _ x: UnsafePointer<Float>, _ c: Float,
                                               _ z: UnsafeMutablePointer<Float>, _ n: Int, accumulating: Bool) {
        let (av, bv, cv) = (V(repeating: a), V(repeating: b), V(repeating: c))
        var i = 0
        while i + 8 <= n {
            let g = load(d + i).replacing(with: 0, where: load(mask + i) .<= 0)
            let v = cv.addingProduct(av, g).addingProduct(bv, load(x + i))
            store(accumulating ? load(z + i) + v : v, z + i)
            i += 8
        }
        while i < n {
            let v = c.addingProduct(a, mask[i] > 0 ? d[i] : 0).addingProduct(b, x[i])
            z[i] = accumulating ? z[i] + v : v
            i += 1
        }
    }

    /// `z[i] = a * x[i] + b * y[i] + c`.
    @inline(__always) static func linear(_ a: Float, _ x: UnsafePointer<Float>, _ b: Float, _ y: UnsafePointer<Float>,
                                         _ c: Float, _ z: UnsafeMutablePointer<Float>, _ n: Int) {
        let (av, bv, cv) = (V(repeating: a), V(repeating: b), V(repeating: c))
        var i = 0
        while i + 8 <= n { store(cv.addingProduct(av, load(x + i)).addingProduct(bv, load(y + i)), z + i); i += 8 }
        while i < n { z[i] = c.addingProduct(a, x[i]).addingProduct(b, y[i]); i += 1 }
    }

    /// `y[i] = bias + sum_k a_k * x_k[i]` over `terms` `(x_k, a_k)` in one pass (`bias` when empty).
    ///
    /// Each output is one chain of multiply-adds in term order; four vectors of outputs are
    /// formed side by side, so that their chains overlap instead of each waiting on the last.
    @inline(__always) static func combine(_ terms: [(UnsafePointer<Float>, Float)], bias: Float = 0,
                                          into y: UnsafeMutablePointer<Float>, _ n: Int) {
        terms.withUnsafeBufferPointer { t in
            let b = V(repeating: bias)
            var i = 0
            while i + 32 <= n {
                var (a0, a1, a2, a3) = (b, b, b, b)
                for (x, a) in t {
                    let (av, p) = (V(repeating: a), x + i)
                    a0.addProduct(av, load(p)); a1.addProduct(av, load(p + 8))
                    a2.addProduct(av, load(p + 16)); a3.addProduct(av, load(p + 24))
                }
                store(a0, y + i); store(a1, y + i + 8); store(a2, y + i + 16); store(a3, y + i + 24)
                i += 32
            }
            while i + 8 <= n {
                var acc = b
                for (x, a) in t { acc.addProduct(V(repeating: a), load(x + i)) }
                store(acc, y + i)
                i += 8
            }
            while i < n {
                var acc = bias
                for (x, a) in t { acc = acc.addingProduct(a, x[i]) }
                y[i] = acc
                i += 1
            }
        }
    }

    /// `(sum(x[i] - c), sum((x[i] - c)^2))` in one pass, over four pairs of lanes so that the
    /// adds of one vector do not wait on the previous vector's.
    @inline(__always) static func shiftedMoments(_ x: UnsafePointer<Float>, _ c: Float, _ n: Int) -> (Float, Float) {
        let cv = V(repeating: c)
        var (s0, s1, s2, s3) = (V(), V(), V(), V()), (q0, q1, q2, q3) = (V(), V(), V(), V())
        var i = 0
        while i + 32 <= n {
            let (a, b) = (load(x + i) - cv, load(x + i + 8) - cv)
            let (d, e) = (load(x + i + 16) - cv, load(x + i + 24) - cv)
            s0 += a; s1 += b; s2 += d; s3 += e
            q0.addProduct(a, a); q1.addProduct(b, b); q2.addProduct(d, d); q3.addProduct(e, e)
            i += 32
        }
        while i + 8 <= n { let a = load(x + i) - cv; s0 += a; q0.addProduct(a, a); i += 8 }
        var (s, q) = (((s0 + s1) + (s2 + s3)).sum(), ((q0 + q1) + (q2 + q3)).sum())
        while i < n { let d = x[i] - c; s += d; q = q.addingProduct(d, d); i += 1 }
        return (s, q)
    }

    /// `y[i] += a * x[i]`.
    @inline(__always) static func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let av = V(repeating: a)
        var i = 0
        while i + 8 <= n {
            var yv = load(y + i)
            yv.addProduct(av, load(x + i))
            store(yv, y + i)
            i += 8
        }
        while i < n { y[i] = y[i].addingProduct(a, x[i]); i += 1 }
    }

    /// `y[i] = a * x[i] + b`.
    @inline(__always) static func affine(_ a: Float, _ x: UnsafePointer<Float>, _ b: Float, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let (av, bv) = (V(repeating: a), V(repeating: b))
        var i = 0
        while i + 8 <= n { store(bv.addingProduct(av, load(x + i)), y + i); i += 8 }
        while i < n { y[i] = b.addingProduct(a, x[i]); i += 1 }
    }

    /// Calls `body(i)` for the starts of the vectors that cover `0..<count` (at least eight):
    /// `0, 8, 16, ...` and finally `count - 8`, which may overlap the vector before it (or the
    /// same with vectors of `width` elements). Kernels
    /// whose outputs depend only on their inputs recompute those few outputs instead of
    /// finishing one output at a time: image rows are short (28 or 14 pixels).
    @inline(__always) static func forEachVector(_ count: Int, width: Int = 8, _ body: (Int) -> Void) {
        var start = 0
        while start + width < count { body(start); start += width }
        body(count - width)
    }

    /// Whether ``prefetch(_:_:)`` asks for lines ahead of use (`METANAS_PREFETCH=0` turns it off).
    static let prefetching = !switchedOff("METANAS_PREFETCH")

    /// Asks for the cache lines of `x[0..<n]` ahead of use: for a run that starts a read far
    /// from the previous one (the next image's plane of a channel), which the processor's
    /// own prefetchers only pick up after a few misses.
    @inline(__always) static func prefetch(_ x: UnsafePointer<Float>, _ n: Int) {
        guard prefetching else { return }
        var i = 0
        while i < n { mn_prefetch(x + i); i += 16 }
        mn_prefetch(x + (n - 1))
    }

    /// `y[i] = x[i]` for one image row: whole vectors only, the last one overlapping the one
    /// before (no scalar tail) when the row is at least a vector wide.
    @inline(__always) static func copyRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        if n >= 8 {
            forEachVector(n) { i in store(load(x + i), y + i) }
        } else if n >= 4 {
            let raw = (UnsafeRawPointer(x), UnsafeMutableRawPointer(y))
            raw.1.storeBytes(of: raw.0.loadUnaligned(as: SIMD4<Float>.self), as: SIMD4<Float>.self)
            raw.1.storeBytes(of: raw.0.loadUnaligned(fromByteOffset: 4 * (n - 4), as: SIMD4<Float>.self),
                             toByteOffset: 4 * (n - 4), as: SIMD4<Float>.self)
        } else {
            for i in 0..<n { y[i] = x[i] }
        }
    }

    /// `y[i] = x[2 * i]` for `i` in `0..<n`; reads `x[0..<2n]` (one element past the last taken).
    @inline(__always) static func copyEven(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        guard n >= 8 else {
            for i in 0..<n { y[i] = x[2 * i] }
            return
        }
        forEachVector(n) { i in
            store(UnsafeRawPointer(x + 2 * i).loadUnaligned(as: SIMD16<Float>.self).evenHalf, y + i)
        }
    }

    /// `y[2 * i] += x[i]` for `i` in `0..<n`; reads and writes `y[0..<2n]` (adding zero to the
    /// odd elements, one past the last taken included).
    @inline(__always) static func addToEven(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 8 <= n {
            let raw = UnsafeMutableRawPointer(y + 2 * i)
            var spread = SIMD16<Float>()
            spread.evenHalf = load(x + i)
            raw.storeBytes(of: raw.loadUnaligned(as: SIMD16<Float>.self) + spread, as: SIMD16<Float>.self)
            i += 8
        }
        while i < n { y[2 * i] += x[i]; i += 1 }
    }

    /// `even[k] = x[2k]` and `odd[k] = x[2k + 1]` for the elements of `x[0..<n]` (either may be
    /// nil, when only the other elements are wanted).
    @inline(__always)
    static func deinterleave(_ x: UnsafePointer<Float>, _ n: Int, even: UnsafeMutablePointer<Float>?,
                             odd: UnsafeMutablePointer<Float>?) {
        let raw = UnsafeRawPointer(x)
        // Whole vectors, the last overlapping the one before (it copies the same values again).
        if n >= 16 && n % 2 == 0 {
            forEachVector(n, width: 16) { k in
                let v = raw.loadUnaligned(fromByteOffset: 4 * k, as: SIMD16<Float>.self)
                if let even { store(v.evenHalf, even + k / 2) }
                if let odd { store(v.oddHalf, odd + k / 2) }
            }
        } else if n >= 8 && n % 2 == 0 {
            forEachVector(n) { k in
                let v = raw.loadUnaligned(fromByteOffset: 4 * k, as: SIMD8<Float>.self)
                if let even { UnsafeMutableRawPointer(even + k / 2).storeBytes(of: v.evenHalf, as: SIMD4<Float>.self) }
                if let odd { UnsafeMutableRawPointer(odd + k / 2).storeBytes(of: v.oddHalf, as: SIMD4<Float>.self) }
            }
        } else {
            for k in 0..<n {
                if k & 1 == 0 { even?[k >> 1] = x[k] } else { odd?[k >> 1] = x[k] }
            }
        }
    }

    /// `y[2k] = even[k]` and `y[2k + 1] = odd[k]` for the elements of `y[0..<n]`, a nil source
    /// reading as zeros; with `accumulating`, added to what `y` holds.
    @inline(__always)
    static func interleave(even: UnsafePointer<Float>?, odd: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                           _ n: Int, accumulating: Bool) {
        @inline(__always) func put(_ v: SIMD8<Float>, _ at: Int) {
            store(accumulating ? load(y + at) + v : v, y + at)
        }
        var i = 0
        while i + 16 <= n {
            let e = even.map { load($0 + i / 2) } ?? SIMD8(), o = odd.map { load($0 + i / 2) } ?? SIMD8()
            put(SIMD8(e[0], o[0], e[1], o[1], e[2], o[2], e[3], o[3]), i)
            put(SIMD8(e[4], o[4], e[5], o[5], e[6], o[6], e[7], o[7]), i + 8)
            i += 16
        }
        if i + 8 <= n {
            let e = even.map { UnsafeRawPointer($0 + i / 2).loadUnaligned(as: SIMD4<Float>.self) } ?? SIMD4()
            let o = odd.map { UnsafeRawPointer($0 + i / 2).loadUnaligned(as: SIMD4<Float>.self) } ?? SIMD4()
            put(SIMD8(e[0], o[0], e[1], o[1], e[2], o[2], e[3], o[3]), i)
            i += 8
        }
        while i < n {
            let v = (i & 1 == 0 ? even?[i >> 1] : odd?[i >> 1]) ?? 0
            y[i] = accumulating ? y[i] + v : v
            i += 1
        }
    }

    /// `y[i] = value` for short runs (borders), inline instead of a library call.
    @inline(__always) static func fill(_ y: UnsafeMutablePointer<Float>, _ value: Float, _ n: Int) {
        let v = V(repeating: value)
        var i = 0
        while i + 8 <= n { store(v, y + i); i += 8 }
        while i < n { y[i] = value; i += 1 }
    }

    /// `y[i] *= x[i]`.
    @inline(__always) static func multiply(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 8 <= n { store(load(y + i) * load(x + i), y + i); i += 8 }
        while i < n { y[i] *= x[i]; i += 1 }
    }

    /// `y[i] += x[i]`.
    @inline(__always) static func add(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 8 <= n { store(load(y + i) + load(x + i), y + i); i += 8 }
        while i < n { y[i] += x[i]; i += 1 }
    }
}

extension Tensor {
    /// A tensor whose elements are all written by `initializer` (no zero-fill first).
    ///
    /// - Precondition: `initializer` writes every element.
    @inline(__always)
    init(uninitializedShape shape: [Int], _ initializer: (UnsafeMutableBufferPointer<Float>) -> Void) {
        self.init(shape: shape, data: AlignedFloats(unsafeUninitializedCount: shape.reduce(1, *), initializingWith: initializer))
    }
}

/// Lane-wise maximum.
@inline(__always) func pointwiseMax(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
    a.replacing(with: b, where: b .> a)
}
