import CKernels
import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

/// Kernels parallelise themselves over images and channels, so the BLAS library is kept to
/// one thread: this avoids oversubscription when tasks of a meta-batch run side by side, and
/// keeps results independent of the thread count.
private let blasSingleThreaded: Void = { openblas_set_num_threads(1) }()

/// Row-major single-precision matrix product `C = alpha * op(A) op(B) + beta * C`.
///
/// On processors with AVX2 and FMA but without AVX-512, small products (see
/// ``isSmallProduct(transB:m:n:k:)``) with `alpha` 1 and `beta` 0 or 1 run on the kernels of
/// ``smallProducts`` instead of OpenBLAS.
@inline(__always)
func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
           beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    if smallProducts && alpha == 1 && (beta == 0 || beta == 1) && isSmallProduct(transB: transB, m: m, n: n, k: k)
        && mn_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), a, lda, b, ldb,
                    beta == 1 ? 1 : 0, c, ldc) != 0 {
        return
    }
    openblasSgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                  beta: beta, c: c, ldc: ldc)
}

/// Whether a product fits the unpacked kernels' use of the cache: a 16-column panel of B
/// (`k` rows) within the first-level cache for `A B`, six rows of A (`k` long) in the
/// second-level cache for `A B^T`, whose few rows and columns are dot products. Larger
/// products, which OpenBLAS blocks for the caches, stay there.
@inline(__always)
func isSmallProduct(transB: Bool, m: Int, n: Int, k: Int) -> Bool {
    transB ? k <= 8192 && m <= 512 && n <= 512 : k <= 512
}

/// `sgemm` on OpenBLAS, whatever the processor.
@inline(__always)
func openblasSgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                   a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                   beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    _ = blasSingleThreaded
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
                beta, c, blasint(ldc))
}

/// Whether matrix products run on the kernels of `Sources/CKernels/gemm_avx2.c` rather than
/// OpenBLAS: on processors with AVX2 and FMA but without AVX-512.
///
/// The products of this project's convolutions are small (28 filters of 28 channels against a
/// plane of 784 columns, or the 28 x 28 filter gradient summed over such a plane). OpenBLAS's
/// AVX2 ("Haswell") kernels have no path for such sizes: every call copies both operands into
/// packed panels and clears C before adding to it, which took a third as long as the products
/// themselves in a profile of the reference network. The kernels of `gemm_avx2.c` read the
/// operands where they lie. OpenBLAS's AVX-512 kernels do have a small-matrix path, faster than
/// these, and keep the products there. `METANAS_SMALL_GEMM=0` in the environment keeps OpenBLAS
/// everywhere (to compare the two).
let smallProducts: Bool = mn_sgemm_available() != 0 && recommendedBLASCoreType() == "Haswell"
    && !switchedOff("METANAS_SMALL_GEMM")

/// Peak single-precision matrix-product throughput of this machine, in GFLOP/s, measured with
/// OpenBLAS on a square product of side `size` with `threads` threads splitting the columns.
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
                        openblasSgemm(transA: false, transB: false, m: size, n: hi - lo, k: size, alpha: 1,
                                      a: a.baseAddress!, lda: size, b: b.baseAddress! + lo, ldb: size, beta: 0,
                                      c: cp.value + lo, ldc: size)
                    }
                    best = min(best, monotonicSeconds() - t0)
                }
            }
        }
    }
    return 2 * Double(size * size * size) / best / 1e9
}
