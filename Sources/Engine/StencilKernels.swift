/// Fused inner loops of depthwise convolutions and pools over padded planes: every window tap
/// is a fixed offset into a plane, so one pass reads all taps of eight outputs at a time and
/// writes each output once (instead of one read-modify-write pass per tap).
enum Stencil {
    typealias V = SIMD8<Float>
    typealias Ptr = UnsafeMutablePointer<Float>
    typealias CPtr = UnsafePointer<Float>

    /// `dst[i] = bias + sum_t weights[t] * src[i + offsets[t]]` for `i` in `0..<count`
    /// (offsets may be negative when `src` has room before it). With `accumulating`, the sum
    /// is added to what `dst` holds instead: `dst[i] + (bias + sum)`, rounded as when the sum
    /// is written first and added afterwards.
    ///
    /// With `rows` above one, the same is done for `rows` runs: run `r` reads from
    /// `src + r * srcPitch` and writes to `dst + r * dstPitch` (the rows of a plane), with the
    /// weights and offsets loaded once for all of them.
    @inline(__always)
    static func correlate(_ src: CPtr, offsets: UnsafePointer<Int>, weights: CPtr, taps: Int, bias: Float,
                          _ dst: Ptr, _ count: Int, accumulating: Bool = false,
                          rows: Int = 1, srcPitch: Int = 0, dstPitch: Int = 0) {
        if count < 8 {
            for r in 0..<rows {
                let (s, d) = (src + r * srcPitch, dst + r * dstPitch)
                for i in 0..<count {
                    var a = bias
                    for t in 0..<taps { a = a.addingProduct(weights[t], s[offsets[t] + i]) }
                    d[i] = accumulating ? d[i] + a : a
                }
            }
            return
        }
        if taps == 9 {
            // 3x3 windows: offsets and weights stay in registers. Each window row is its own
            // chain of multiply-adds, so that three chains of three overlap where one chain of
            // nine would keep the adder waiting.
            let (o0, o1, o2, o3, o4, o5, o6, o7, o8) = (offsets[0], offsets[1], offsets[2], offsets[3], offsets[4],
                                                        offsets[5], offsets[6], offsets[7], offsets[8])
            let (w0, w1, w2) = (V(repeating: weights[0]), V(repeating: weights[1]), V(repeating: weights[2]))
            let (w3, w4, w5) = (V(repeating: weights[3]), V(repeating: weights[4]), V(repeating: weights[5]))
            let (w6, w7, w8) = (V(repeating: weights[6]), V(repeating: weights[7]), V(repeating: weights[8]))
            let b = V(repeating: bias)
            for r in 0..<rows {
                let s = src + r * srcPitch
                forEachOutput(dst + r * dstPitch, count, accumulating: accumulating) { i in
                    let p = s + i
                    var a = b, c = w3 * Vector.load(p + o3), d = w6 * Vector.load(p + o6)
                    a.addProduct(w0, Vector.load(p + o0)); c.addProduct(w4, Vector.load(p + o4)); d.addProduct(w7, Vector.load(p + o7))
                    a.addProduct(w1, Vector.load(p + o1)); c.addProduct(w5, Vector.load(p + o5)); d.addProduct(w8, Vector.load(p + o8))
                    a.addProduct(w2, Vector.load(p + o2))
                    return a + (c + d)
                }
            }
            return
        }
        for r in 0..<rows {
            let s = src + r * srcPitch
            forEachOutput(dst + r * dstPitch, count, accumulating: accumulating) { i in
                var a = V(repeating: bias)
                for t in 0..<taps { a.addProduct(V(repeating: weights[t]), Vector.load(s + offsets[t] + i)) }
                return a
            }
        }
    }

    /// Stores `value(i)` to `dst[i..<i+8]` for the vectors that cover `0..<count` (at least
    /// eight), or adds it to what is there. The last vector may overlap the one before it;
    /// when adding, its overlapped lanes already hold their final values and keep them.
    @inline(__always)
    static func forEachOutput(_ dst: Ptr, _ count: Int, accumulating: Bool, _ value: (Int) -> V) {
        guard accumulating else {
            Vector.forEachVector(count) { i in Vector.store(value(i), dst + i) }
            return
        }
        // The vectors of ``Vector/forEachVector(_:_:)``: whole ones, then the last at `count - 8`,
        // whose lanes below `covered` the whole ones already finished.
        var covered = 0
        while covered + 8 < count {
            Vector.store(Vector.load(dst + covered) + value(covered), dst + covered)
            covered += 8
        }
        let last = count - 8
        let fresh = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7) .>= SIMD8<Int32>(repeating: Int32(covered - last))
        let old = Vector.load(dst + last)
        Vector.store(old.replacing(with: old + value(last), where: fresh), dst + last)
    }

    /// `acc[t] += sum_i dy[i] * src[i + offsets[t]]` for every tap: the weight gradient of a
    /// depthwise filter, reading `dy` once for all taps.
    @inline(__always)
    static func correlateWeights(_ dy: CPtr, _ src: CPtr, offsets: UnsafePointer<Int>, taps: Int,
                                 _ acc: Ptr, _ count: Int) {
        var i = 0
        if taps == 9 {
            // 3x3 windows: nine accumulators in registers.
            let (o0, o1, o2, o3, o4, o5, o6, o7, o8) = (offsets[0], offsets[1], offsets[2], offsets[3], offsets[4],
                                                        offsets[5], offsets[6], offsets[7], offsets[8])
            var (a0, a1, a2, a3, a4, a5, a6, a7, a8) = (V(), V(), V(), V(), V(), V(), V(), V(), V())
            while i + 8 <= count {
                let d = Vector.load(dy + i), p = src + i
                a0.addProduct(d, Vector.load(p + o0)); a1.addProduct(d, Vector.load(p + o1))
                a2.addProduct(d, Vector.load(p + o2)); a3.addProduct(d, Vector.load(p + o3))
                a4.addProduct(d, Vector.load(p + o4)); a5.addProduct(d, Vector.load(p + o5))
                a6.addProduct(d, Vector.load(p + o6)); a7.addProduct(d, Vector.load(p + o7))
                a8.addProduct(d, Vector.load(p + o8))
                i += 8
            }
            let sums = [a0, a1, a2, a3, a4, a5, a6, a7, a8]
            for t in 0..<9 {
                var s = sums[t].sum()
                var k = i
                while k < count { s = s.addingProduct(dy[k], src[offsets[t] + k]); k += 1 }
                acc[t] += s
            }
            return
        }
        let lanes = UnsafeMutablePointer<V>.allocate(capacity: taps)
        defer { lanes.deallocate() }
        lanes.initialize(repeating: V(), count: taps)
        while i + 8 <= count {
            let d = Vector.load(dy + i)
            for t in 0..<taps { lanes[t].addProduct(d, Vector.load(src + offsets[t] + i)) }
            i += 8
        }
        for t in 0..<taps {
            var s = lanes[t].sum()
            var k = i
            while k < count { s = s.addingProduct(dy[k], src[offsets[t] + k]); k += 1 }
            acc[t] += s
        }
    }

    /// `best[i] = max_t src[i + offsets[t]]` and `arg[i]` the first tap attaining it (at most 256 taps);
    /// with `rows` above one, for each row `r` of a plane as in ``correlate(_:offsets:weights:taps:bias:_:_:accumulating:rows:srcPitch:dstPitch:)``
    /// (`best` and `arg` share `dstPitch`).
    @inline(__always)
    static func maxArgument(_ src: CPtr, offsets: UnsafePointer<Int>, taps: Int, best: Ptr,
                            arg: UnsafeMutablePointer<UInt8>, _ count: Int,
                            rows: Int = 1, srcPitch: Int = 0, dstPitch: Int = 0) {
        if count < 8 {
            for r in 0..<rows {
                let (s, o) = (src + r * srcPitch, r * dstPitch)
                for i in 0..<count {
                    var m = s[offsets[0] + i]
                    var a = 0
                    for t in 1..<taps where s[offsets[t] + i] > m { m = s[offsets[t] + i]; a = t }
                    best[o + i] = m
                    arg[o + i] = UInt8(truncatingIfNeeded: a)
                }
            }
            return
        }
        // Tap numbers are tracked as floats, so that the comparison masks select them directly.
        // Adding 2^23 puts a small whole number in the low bits of the float's pattern, which
        // converts it without a rounding call.
        @inline(__always) func store(_ m: V, _ a: V, at i: Int) {
            Vector.store(m, best + i)
            let bits = unsafeBitCast(a + V(repeating: 8_388_608), to: SIMD8<UInt32>.self)
            UnsafeMutableRawPointer(arg + i).storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: bits), as: SIMD8<UInt8>.self)
        }
        if taps == 9 {
            // 3x3 windows: offsets stay in registers.
            let (o0, o1, o2, o3, o4, o5, o6, o7, o8) = (offsets[0], offsets[1], offsets[2], offsets[3], offsets[4],
                                                        offsets[5], offsets[6], offsets[7], offsets[8])
            // A tournament of depth four instead of a chain of eight: in each match the later
            // taps win only when strictly greater, so the first tap attaining the maximum wins.
            @inline(__always) func match(_ m0: V, _ a0: V, _ m1: V, _ a1: V) -> (V, V) {
                let later = m1 .> m0
                return (m0.replacing(with: m1, where: later), a0.replacing(with: a1, where: later))
            }
            let (t0, t1, t2, t3, t4) = (V(), V(repeating: 1), V(repeating: 2), V(repeating: 3), V(repeating: 4))
            let (t5, t6, t7, t8) = (V(repeating: 5), V(repeating: 6), V(repeating: 7), V(repeating: 8))
            for r in 0..<rows {
                let (s, o) = (src + r * srcPitch, r * dstPitch)
                Vector.forEachVector(count) { i in
                    let p = s + i
                    let (m01, a01) = match(Vector.load(p + o0), t0, Vector.load(p + o1), t1)
                    let (m23, a23) = match(Vector.load(p + o2), t2, Vector.load(p + o3), t3)
                    let (m45, a45) = match(Vector.load(p + o4), t4, Vector.load(p + o5), t5)
                    let (m67, a67) = match(Vector.load(p + o6), t6, Vector.load(p + o7), t7)
                    let (m03, a03) = match(m01, a01, m23, a23), (m47, a47) = match(m45, a45, m67, a67)
                    let (m07, a07) = match(m03, a03, m47, a47)
                    let (m, a) = match(m07, a07, Vector.load(p + o8), t8)
                    store(m, a, at: o + i)
                }
            }
            return
        }
        for r in 0..<rows {
            let (s, o) = (src + r * srcPitch, r * dstPitch)
            Vector.forEachVector(count) { i in
                var m = Vector.load(s + offsets[0] + i), a = V()
                for t in 1..<taps {
                    let v = Vector.load(s + offsets[t] + i)
                    a.replace(with: Float(t), where: v .> m)
                    m = pointwiseMax(m, v)
                }
                store(m, a, at: o + i)
            }
        }
    }
}
