/// Fused inner loops of depthwise convolutions and pools over padded planes: every window tap
/// is a fixed offset into a plane, so one pass reads all taps of eight outputs at a time and
/// writes each output once (instead of one read-modify-write pass per tap).
enum Stencil {
    typealias V = SIMD8<Float>
    typealias Ptr = UnsafeMutablePointer<Float>
    typealias CPtr = UnsafePointer<Float>

    /// `dst[i] = bias + sum_t weights[t] * src[i + offsets[t]]` for `i` in `0..<count`
    /// (offsets may be negative when `src` has room before it).
    ///
    /// With `overlappingTail` and at least eight outputs, the last partial vector is computed
    /// as the whole vector ending at `count` (recomputing a few outputs) instead of one output
    /// at a time: for short rows, such as image rows of 28 or 14 pixels.
    @inline(__always)
    static func correlate(_ src: CPtr, offsets: UnsafePointer<Int>, weights: CPtr, taps: Int, bias: Float,
                          _ dst: Ptr, _ count: Int, overlappingTail: Bool = false) {
        var i = 0
        if overlappingTail && count >= 8 {
            // Vectors start at 0, 8, ... and finally at count - 8.
            if taps == 9 {
                let (o0, o1, o2, o3, o4, o5, o6, o7, o8) = (offsets[0], offsets[1], offsets[2], offsets[3], offsets[4],
                                                            offsets[5], offsets[6], offsets[7], offsets[8])
                let (w0, w1, w2) = (V(repeating: weights[0]), V(repeating: weights[1]), V(repeating: weights[2]))
                let (w3, w4, w5) = (V(repeating: weights[3]), V(repeating: weights[4]), V(repeating: weights[5]))
                let (w6, w7, w8) = (V(repeating: weights[6]), V(repeating: weights[7]), V(repeating: weights[8]))
                var start = 0
                while true {
                    let p = src + start
                    var a = V(repeating: bias)
                    a.addProduct(w0, Vector.load(p + o0)); a.addProduct(w1, Vector.load(p + o1))
                    a.addProduct(w2, Vector.load(p + o2)); a.addProduct(w3, Vector.load(p + o3))
                    a.addProduct(w4, Vector.load(p + o4)); a.addProduct(w5, Vector.load(p + o5))
                    a.addProduct(w6, Vector.load(p + o6)); a.addProduct(w7, Vector.load(p + o7))
                    a.addProduct(w8, Vector.load(p + o8))
                    Vector.store(a, dst + start)
                    if start == count - 8 { return }
                    start = min(start + 8, count - 8)
                }
            }
            var start = 0
            while true {
                var a = V(repeating: bias)
                for t in 0..<taps { a.addProduct(V(repeating: weights[t]), Vector.load(src + offsets[t] + start)) }
                Vector.store(a, dst + start)
                if start == count - 8 { return }
                start = min(start + 8, count - 8)
            }
        }
        if taps == 9 {
            // 3x3 windows: offsets and weights stay in registers.
            let (o0, o1, o2, o3, o4, o5, o6, o7, o8) = (offsets[0], offsets[1], offsets[2], offsets[3], offsets[4],
                                                        offsets[5], offsets[6], offsets[7], offsets[8])
            let (w0, w1, w2) = (V(repeating: weights[0]), V(repeating: weights[1]), V(repeating: weights[2]))
            let (w3, w4, w5) = (V(repeating: weights[3]), V(repeating: weights[4]), V(repeating: weights[5]))
            let (w6, w7, w8) = (V(repeating: weights[6]), V(repeating: weights[7]), V(repeating: weights[8]))
            let b = V(repeating: bias)
            while i + 8 <= count {
                let p = src + i
                var a = b
                a.addProduct(w0, Vector.load(p + o0)); a.addProduct(w1, Vector.load(p + o1))
                a.addProduct(w2, Vector.load(p + o2)); a.addProduct(w3, Vector.load(p + o3))
                a.addProduct(w4, Vector.load(p + o4)); a.addProduct(w5, Vector.load(p + o5))
                a.addProduct(w6, Vector.load(p + o6)); a.addProduct(w7, Vector.load(p + o7))
                a.addProduct(w8, Vector.load(p + o8))
                Vector.store(a, dst + i)
                i += 8
            }
        }
        while i + 16 <= count {
            var a0 = V(repeating: bias), a1 = a0
            for t in 0..<taps {
                let w = V(repeating: weights[t]), p = src + offsets[t] + i
                a0.addProduct(w, Vector.load(p))
                a1.addProduct(w, Vector.load(p + 8))
            }
            Vector.store(a0, dst + i)
            Vector.store(a1, dst + i + 8)
            i += 16
        }
        while i + 8 <= count {
            var a = V(repeating: bias)
            for t in 0..<taps { a.addProduct(V(repeating: weights[t]), Vector.load(src + offsets[t] + i)) }
            Vector.store(a, dst + i)
            i += 8
        }
        while i < count {
            var a = bias
            for t in 0..<taps { a = a.addingProduct(weights[t], src[offsets[t] + i]) }
            dst[i] = a
            i += 1
        }
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
    /// `overlappingTail` as in ``correlate(_:offsets:weights:taps:bias:_:_:overlappingTail:)``.
    @inline(__always)
    static func maxArgument(_ src: CPtr, offsets: UnsafePointer<Int>, taps: Int, best: Ptr,
                            arg: UnsafeMutablePointer<UInt8>, _ count: Int, overlappingTail: Bool = false) {
        typealias I = SIMD8<Int32>
        @inline(__always) func store(_ m: V, _ a: I, at i: Int) {
            Vector.store(m, best + i)
            UnsafeMutableRawPointer(arg + i).storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: a), as: SIMD8<UInt8>.self)
        }
        var i = 0
        if taps == 9 {
            // 3x3 windows: offsets and tap numbers stay in registers.
            let (o0, o1, o2, o3, o4, o5, o6, o7, o8) = (offsets[0], offsets[1], offsets[2], offsets[3], offsets[4],
                                                        offsets[5], offsets[6], offsets[7], offsets[8])
            @inline(__always) func window(at i: Int) {
                let p = src + i
                var m = Vector.load(p + o0)
                var a = I()
                @inline(__always) func take(_ offset: Int, _ t: Int32) {
                    let v = Vector.load(p + offset)
                    let better = v .> m
                    m.replace(with: v, where: better)
                    a.replace(with: I(repeating: t), where: better)
                }
                take(o1, 1); take(o2, 2); take(o3, 3); take(o4, 4); take(o5, 5); take(o6, 6); take(o7, 7); take(o8, 8)
                store(m, a, at: i)
            }
            while i + 8 <= count { window(at: i); i += 8 }
            if overlappingTail && count >= 8 && i < count { window(at: count - 8); return }
        }
        while i + 8 <= count {
            var m = Vector.load(src + offsets[0] + i)
            var a = I()
            for t in 1..<taps {
                let v = Vector.load(src + offsets[t] + i)
                let better = v .> m
                m.replace(with: v, where: better)
                a.replace(with: I(repeating: Int32(t)), where: better)
            }
            store(m, a, at: i)
            i += 8
        }
        while i < count {
            var m = src[offsets[0] + i]
            var a: Int32 = 0
            for t in 1..<taps {
                let v = src[offsets[t] + i]
                let better = v > m
                m = better ? v : m
                a = better ? Int32(t) : a
            }
            best[i] = m
            arg[i] = UInt8(truncatingIfNeeded: a)
            i += 1
        }
    }
}
