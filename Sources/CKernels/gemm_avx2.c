#include "CKernels.h"

#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

int mn_sgemm_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/// All-ones lanes `[0, count)` of an 8-lane mask (count 0 ... 8).
AVX2 INLINE __m256i lanes_below(int count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// One tile of `C = A B (+ C)`: `MR` rows of A (element `(i, p)` at `a[i * rs + p * cs]`) against
/// `NV` vectors of eight columns of B (row `p` at `b + p * ldb`); the last vector holds only the
/// lanes of `tail` when `masked`. Accumulators stay in registers over the whole sum.
AVX2 INLINE void nn_tile(const int MR, const int NV, const int masked, __m256i tail, int k,
                         const float *a, long rs, long cs, const float *b, long ldb,
                         float *c, long ldc, int accumulate) {
    __m256 acc[6][2];
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < NV; v++) acc[i][v] = _mm256_setzero_ps();
    for (int p = 0; p < k; p++) {
        const float *bp = b + p * ldb;
        __m256 bv[2];
        for (int v = 0; v < NV; v++)
            bv[v] = (masked && v == NV - 1) ? _mm256_maskload_ps(bp + 8 * v, tail) : _mm256_loadu_ps(bp + 8 * v);
        const float *ap = a + p * cs;
        for (int i = 0; i < MR; i++) {
            __m256 ai = _mm256_broadcast_ss(ap + i * rs);
            for (int v = 0; v < NV; v++) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
        }
    }
    for (int i = 0; i < MR; i++) {
        float *ci = c + i * ldc;
        for (int v = 0; v < NV; v++) {
            if (masked && v == NV - 1) {
                __m256 r = acc[i][v];
                if (accumulate) r = _mm256_add_ps(_mm256_maskload_ps(ci + 8 * v, tail), r);
                _mm256_maskstore_ps(ci + 8 * v, tail, r);
            } else {
                __m256 r = acc[i][v];
                if (accumulate) r = _mm256_add_ps(_mm256_loadu_ps(ci + 8 * v), r);
                _mm256_storeu_ps(ci + 8 * v, r);
            }
        }
    }
}

/// The row tiles of one column panel of `NV` vectors: six rows at a time (12 sums, two B
/// vectors and one broadcast A value fill 15 of the 16 registers), then the rest.
AVX2 INLINE void nn_panel(const int NV, const int masked, __m256i tail, int m, int k,
                          const float *a, long rs, long cs, const float *b, long ldb,
                          float *c, long ldc, int accumulate) {
    int i = 0;
    for (; i + 6 <= m; i += 6) nn_tile(6, NV, masked, tail, k, a + i * rs, rs, cs, b, ldb, c + i * ldc, ldc, accumulate);
    switch (m - i) {
    case 5: nn_tile(5, NV, masked, tail, k, a + i * rs, rs, cs, b, ldb, c + i * ldc, ldc, accumulate); break;
    case 4: nn_tile(4, NV, masked, tail, k, a + i * rs, rs, cs, b, ldb, c + i * ldc, ldc, accumulate); break;
    case 3: nn_tile(3, NV, masked, tail, k, a + i * rs, rs, cs, b, ldb, c + i * ldc, ldc, accumulate); break;
    case 2: nn_tile(2, NV, masked, tail, k, a + i * rs, rs, cs, b, ldb, c + i * ldc, ldc, accumulate); break;
    case 1: nn_tile(1, NV, masked, tail, k, a + i * rs, rs, cs, b, ldb, c + i * ldc, ldc, accumulate); break;
    default: break;
    }
}

/// `C = A B (+ C)` with A's element `(i, p)` at `a[i * rs + p * cs]`: column panels of 16, then
/// one of 8 or fewer (masked). Each panel of B (k x 16 floats) stays in the first-level cache
/// while all row tiles of A pass over it.
AVX2 static void gemm_nn(int m, int n, int k, const float *a, long rs, long cs, const float *b, long ldb,
                         float *c, long ldc, int accumulate) {
    const __m256i all = _mm256_set1_epi32(-1);
    int j = 0;
    for (; j + 16 <= n; j += 16) nn_panel(2, 0, all, m, k, a, rs, cs, b + j, ldb, c + j, ldc, accumulate);
    int rest = n - j;
    if (rest > 8) nn_panel(2, 1, lanes_below(rest - 8), m, k, a, rs, cs, b + j, ldb, c + j, ldc, accumulate);
    else if (rest == 8) nn_panel(1, 0, all, m, k, a, rs, cs, b + j, ldb, c + j, ldc, accumulate);
    else if (rest > 0) nn_panel(1, 1, lanes_below(rest), m, k, a, rs, cs, b + j, ldb, c + j, ldc, accumulate);
}

/// The sum of the eight lanes of `v`, in a fixed order.
AVX2 INLINE float lane_sum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// The lane sums of four vectors, `(sum v0, sum v1, sum v2, sum v3)`, in a fixed order.
AVX2 INLINE __m128 sum4(__m256 v0, __m256 v1, __m256 v2, __m256 v3) {
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(v0, v1), _mm256_hadd_ps(v2, v3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/// One tile of `C = A B^T (+ C)`: `MR` rows of A against `NR` rows of B, both contiguous along
/// the sum; eight-lane partial sums per pair, the last `k % 8` terms through masked loads.
AVX2 INLINE void nt_tile(const int MR, const int NR, int k, const float *a, long lda, const float *b, long ldb,
                         float *c, long ldc, int accumulate) {
    __m256 acc[6][2];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) acc[i][j] = _mm256_setzero_ps();
    int p = 0;
    for (; p + 8 <= k; p += 8) {
        __m256 bv[2];
        for (int j = 0; j < NR; j++) bv[j] = _mm256_loadu_ps(b + j * ldb + p);
        for (int i = 0; i < MR; i++) {
            __m256 av = _mm256_loadu_ps(a + i * lda + p);
            for (int j = 0; j < NR; j++) acc[i][j] = _mm256_fmadd_ps(av, bv[j], acc[i][j]);
        }
    }
    if (p < k) {
        __m256i tail = lanes_below(k - p);
        __m256 bv[2];
        for (int j = 0; j < NR; j++) bv[j] = _mm256_maskload_ps(b + j * ldb + p, tail);
        for (int i = 0; i < MR; i++) {
            __m256 av = _mm256_maskload_ps(a + i * lda + p, tail);
            for (int j = 0; j < NR; j++) acc[i][j] = _mm256_fmadd_ps(av, bv[j], acc[i][j]);
        }
    }
    int i = 0;
    if (NR == 2)
        for (; i + 2 <= MR; i += 2) {
            // Rows i and i + 1: four sums at once, two to each row.
            __m128 s = sum4(acc[i][0], acc[i][1], acc[i + 1][0], acc[i + 1][1]);
            float *c0 = c + i * ldc, *c1 = c0 + ldc;
            if (accumulate) s = _mm_add_ps(s, _mm_loadh_pi(_mm_loadl_pi(_mm_setzero_ps(), (const __m64 *)c0), (const __m64 *)c1));
            _mm_storel_pi((__m64 *)c0, s);
            _mm_storeh_pi((__m64 *)c1, s);
        }
    for (; i < MR; i++)
        for (int j = 0; j < NR; j++) {
            float s = lane_sum(acc[i][j]);
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + s : s;
        }
}

AVX2 INLINE void nt_row(const int MR, int n, int k, const float *a, long lda, const float *b, long ldb,
                        float *c, long ldc, int accumulate) {
    int j = 0;
    for (; j + 2 <= n; j += 2) nt_tile(MR, 2, k, a, lda, b + j * ldb, ldb, c + j, ldc, accumulate);
    if (j < n) nt_tile(MR, 1, k, a, lda, b + j * ldb, ldb, c + j, ldc, accumulate);
}

/// `C = A B^T (+ C)`: tiles of six rows of A against two of B, so that the six rows of A stay
/// in the first-level cache while B's rows stream past them from the second.
AVX2 static void gemm_nt(int m, int n, int k, const float *a, long lda, const float *b, long ldb,
                         float *c, long ldc, int accumulate) {
    int i = 0;
    for (; i + 6 <= m; i += 6) nt_row(6, n, k, a + i * lda, lda, b, ldb, c + i * ldc, ldc, accumulate);
    switch (m - i) {
    case 5: nt_row(5, n, k, a + i * lda, lda, b, ldb, c + i * ldc, ldc, accumulate); break;
    case 4: nt_row(4, n, k, a + i * lda, lda, b, ldb, c + i * ldc, ldc, accumulate); break;
    case 3: nt_row(3, n, k, a + i * lda, lda, b, ldb, c + i * ldc, ldc, accumulate); break;
    case 2: nt_row(2, n, k, a + i * lda, lda, b, ldb, c + i * ldc, ldc, accumulate); break;
    case 1: nt_row(1, n, k, a + i * lda, lda, b, ldb, c + i * ldc, ldc, accumulate); break;
    default: break;
    }
}

int mn_sgemm(int trans_a, int trans_b, int m, int n, int k, const float *a, long lda, const float *b, long ldb,
             int accumulate, float *c, long ldc) {
    if (m <= 0 || n <= 0) return 1;
    if (k <= 0) {
        if (!accumulate)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) c[i * ldc + j] = 0;
        return 1;
    }
    if (!trans_b) {
        // A's element (i, p) is a[i * lda + p], or a[p * lda + i] when A is stored transposed.
        if (trans_a) gemm_nn(m, n, k, a, 1, lda, b, ldb, c, ldc, accumulate);
        else gemm_nn(m, n, k, a, lda, 1, b, ldb, c, ldc, accumulate);
        return 1;
    }
    if (trans_a) return 0;
    gemm_nt(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
    return 1;
}
