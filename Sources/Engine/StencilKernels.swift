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
    @inline(__always)
    static func correlate(_ src: CPtr, offsets: UnsafePointer<Int>, weights: CPtr, taps: Int, bias: Float,
                          _ dst: Ptr, _ count: Int, accumulating: Bool = false) {
        if count < 8 {
            for i in 0..<count {
                var a = bias
                for t in 0..<taps { a = a.addingProduct(weights[t], src[offsets[t] + i]) }
                dst[i] = accumulating ? dst[i] + a : a
            }
            return
        }
        if taps == 9 {
            // 3x3 windows: offsets and weights stay in registers.
            let (o0, o1, o2, o3, o4, o5, o6, o7, o8) = (offsets[0], offsets[1], offsets[2], offsets[3], offsets[4],
                                                        offsets[5], offsets[6], offsets[7], offsets[8])
            let (w0, w1, w2) = (V(repeating: weights[0]), V(repeating: weights[1]), V(repeating: weights[2]))
            let (w3, w4, w5) = (V(repeating: weights[3]), V(repeating: weights[4]), V(repeating: weights[5]))
            let (w6, w7, w8) = (V(repeating: weights[6]), V(repeating: weights[7]), V(repeating: weights[8]))
            let b = V(repeating: bias)
            forEachOutput(dst, count, accumulating: accumulating) { i in
                let p = src + i
                var a = b
                a.addProduct(w0, Vector.load(p + o0)); a.addProduct(w1, Vector.load(p + o1))
                a.addProduct(w2, Vector.load(p + o2)); a.addProduct(w3, Vector.load(p + o3))
                a.addProduct(w4, Vector.load(p + o4)); a.addProduct(w5, Vector.load(p + o5))
                a.addProduct(w6, Vector.load(p + o6)); a.addProduct(w7, Vector.load(p + o7))
                a.addProduct(w8, Vector.load(p + o8))
                return a
            }
            return
        }
        forEachOutput(dst, count, accumulating: accumulating) { i in
            var a = V(repeating: bias)
            for t in 0..<taps { a.addProduct(V(repeating: weights[t]), Vector.load(src + offsets[t] + i)) }
            return a
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

    /// `best[i] = max_t src[i + offsets[t]]` and `arg[i]` the first tap attaining it (at most 256 taps).
    @inline(__always)
    static func maxArgument(_ src: CPtr, offsets: UnsafePointer<Int>, taps: Int, best: Ptr,
                            arg: UnsafeMutablePointer<UInt8>, _ count: Int) {
        if count < 8 {
            for i in 0..<count {
                var m = src[offsets[0] + i]
                var a = 0
                for t in 1..<taps where src[offsets[t] + i] > m { m = src[offsets[t] + i]; a = t }
                best[i] = m
                arg[i] = UInt8(truncatingIfNeeded: a)
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
            Vector.forEachVector(count) { i in
                let p = src + i
                var m = Vector.load(p + o0), a = V()
                var v = Vector.load(p + o1); a.replace(with: 1, where: v .> m); m = pointwiseMax(m, v)
                v = Vector.load(p + o2); a.replace(with: 2, where: v .> m); m = pointwiseMax(m, v)
                v = Vector.load(p + o3); a.replace(with: 3, where: v .> m); m = pointwiseMax(m, v)
                v = Vector.load(p + o4); a.replace(with: 4, where: v .> m); m = pointwiseMax(m, v)
                v = Vector.load(p + o5); a.replace(with: 5, where: v .> m); m = pointwiseMax(m, v)
                v = Vector.load(p + o6); a.replace(with: 6, where: v .> m); m = pointwiseMax(m, v)
                v = Vector.load(p + o7); a.replace(with: 7, where: v .> m); m = pointwiseMax(m, v)
                v = Vector.load(p + o8); a.replace(with: 8, where: v .> m); m = pointwiseMax(m, v)
                store(m, a, at: i)
            }
            return
        }
        Vector.forEachVector(count) { i in
            var m = Vector.load(src + offsets[0] + i), a = V()
            for t in 1..<taps {
                let v = Vector.load(src + offsets[t] + i)
                a.replace(with: Float(t), where: v .> m)
                m = pointwiseMax(m, v)
            }
            store(m, a, at: i)
        }
    }
}
