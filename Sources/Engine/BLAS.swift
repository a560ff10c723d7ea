import COpenBLAS

/// Kernels parallelise themselves over images and channels, so the BLAS library is kept to
/// one thread: this avoids oversubscription when tasks of a meta-batch run side by side, and
/// keeps results independent of the thread count.
private let blasSingleThreaded: Void = { openblas_set_num_threads(1) }()

/// Row-major single-precision matrix product `C = alpha * op(A) op(B) + beta * C`.
@inline(__always)
func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
           beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    _ = blasSingleThreaded
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
                beta, c, blasint(ldc))
}

/// Peak single-precision matrix-product throughput of this machine, in GFLOP/s, measured on a
/// square product of side `size` with `threads` threads splitting the columns.
public func measureSgemmPeak(size: Int = 1024, threads: Int, repetitions: Int = 5) -> Double {
    let a = [Float](repeating: 0.5, count: size * size)
    let b = [Float](repeating: 0.25, count: size * size)
    var c = [Float](repeating: 0, count: size * size)
    var best = Double.infinity
    a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            c.withUnsafeMutableBufferPointer { c in
                let cp = UncheckedBox(c.baseAddress!)
                let parts = max(threads, 1)
                for _ in 0..<repetitions {
                    let t0 = monotonicSeconds()
                    parallelFor(parts, threads: threads) { p in
                        let lo = p * size / parts, hi = (p + 1) * size / parts
                        sgemm(m: size, n: hi - lo, k: size, a: a.baseAddress!, lda: size,
                              b: b.baseAddress! + lo, ldb: size, beta: 0, c: cp.value + lo, ldc: size)
                    }
                    best = min(best, monotonicSeconds() - t0)
                }
            }
        }
    }
    return 2 * Double(size * size * size) / best / 1e9
}
