#include "CKernels.h"

#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))

int mn_depthwise_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

int mn_depthwise_fits(int width) { return width >= 1 && width <= 32; }

/// One input row as two 16-lane halves (columns 0-15 and 16-31, zero past the width) and its
/// copies shifted by the dilation: `l` holds column c - d at lane c, `r` column c + d.
typedef struct {
    __m512 l0, c0, r0, l1, c1, r1;
} Row;

/// Lane masks of the two halves for a row of `width` columns.
typedef struct {
    __mmask16 m0, m1;
} Masks;

static inline Masks masks_for(int width) {
    Masks m;
    m.m0 = width >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << width) - 1);
    m.m1 = width <= 16 ? (__mmask16)0 : (__mmask16)((1u << (width - 16)) - 1);
    return m;
}

/// Row `rr` of the plane, with `fill` outside it (the padding).
AVX512 static inline Row load_row_filled(const float *x, int rr, int height, int width, int dilation, Masks m,
                                         __m512 fill) {
    if (rr < 0 || rr >= height) {
        Row f;
        f.l0 = f.c0 = f.r0 = f.l1 = f.c1 = f.r1 = fill;
        return f;
    }
    const float *p = x + (long)rr * width;
    __m512i z = _mm512_castps_si512(fill);
    __m512i a = _mm512_castps_si512(_mm512_mask_loadu_ps(fill, m.m0, p));
    __m512i b = _mm512_castps_si512(_mm512_mask_loadu_ps(fill, m.m1, p + 16));
    Row row;
    row.c0 = _mm512_castsi512_ps(a);
    row.c1 = _mm512_castsi512_ps(b);
    if (dilation == 1) {
        row.l0 = _mm512_castsi512_ps(_mm512_alignr_epi32(a, z, 15));
        row.l1 = _mm512_castsi512_ps(_mm512_alignr_epi32(b, a, 15));
        row.r0 = _mm512_castsi512_ps(_mm512_alignr_epi32(b, a, 1));
        row.r1 = _mm512_castsi512_ps(_mm512_alignr_epi32(z, b, 1));
    } else {
        row.l0 = _mm512_castsi512_ps(_mm512_alignr_epi32(a, z, 14));
        row.l1 = _mm512_castsi512_ps(_mm512_alignr_epi32(b, a, 14));
        row.r0 = _mm512_castsi512_ps(_mm512_alignr_epi32(b, a, 2));
        row.r1 = _mm512_castsi512_ps(_mm512_alignr_epi32(z, b, 2));
    }
    return row;
}

/// Row `rr` of the plane, or zeros outside it (the padding).
AVX512 static inline Row load_row(const float *x, int rr, int height, int width, int dilation, Masks m) {
    return load_row_filled(x, rr, height, width, dilation, m, _mm512_setzero_ps());
}

/// The filter's weights broadcast, and the bias.
typedef struct {
    __m512 w[9];
    __m512 bias;
} Filter;

/// The 3x3 sum over three window rows, in the order of the plane stencils: one chain of
/// multiply-adds per window row, then `top + (middle + bottom)`.
AVX512 static inline void window(const Filter *f, const Row *t, const Row *c, const Row *b, __m512 *h0, __m512 *h1) {
    __m512 a0 = _mm512_fmadd_ps(f->w[0], t->l0, f->bias), m0 = _mm512_mul_ps(f->w[3], c->l0), e0 = _mm512_mul_ps(f->w[6], b->l0);
    __m512 a1 = _mm512_fmadd_ps(f->w[0], t->l1, f->bias), m1 = _mm512_mul_ps(f->w[3], c->l1), e1 = _mm512_mul_ps(f->w[6], b->l1);
    a0 = _mm512_fmadd_ps(f->w[1], t->c0, a0); m0 = _mm512_fmadd_ps(f->w[4], c->c0, m0); e0 = _mm512_fmadd_ps(f->w[7], b->c0, e0);
    a1 = _mm512_fmadd_ps(f->w[1], t->c1, a1); m1 = _mm512_fmadd_ps(f->w[4], c->c1, m1); e1 = _mm512_fmadd_ps(f->w[7], b->c1, e1);
    a0 = _mm512_fmadd_ps(f->w[2], t->r0, a0); m0 = _mm512_fmadd_ps(f->w[5], c->r0, m0); e0 = _mm512_fmadd_ps(f->w[8], b->r0, e0);
    a1 = _mm512_fmadd_ps(f->w[2], t->r1, a1); m1 = _mm512_fmadd_ps(f->w[5], c->r1, m1); e1 = _mm512_fmadd_ps(f->w[8], b->r1, e1);
    *h0 = _mm512_add_ps(a0, _mm512_add_ps(m0, e0));
    *h1 = _mm512_add_ps(a1, _mm512_add_ps(m1, e1));
}

/// The even lanes of two 16-lane halves (columns 0, 2, ..., 30 of a row): a stride-2 row.
AVX512 static inline __m512i even_lanes(void) {
    return _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
}

/// The lane mask of a stride-2 output row of `wo` (at most 16) columns.
static inline __mmask16 strided_mask(int wo) { return (__mmask16)((1u << wo) - 1); }

AVX512 static inline void store(float *y, __m512 v, __mmask16 m, int accumulate) {
    if (accumulate) v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, y), v);
    _mm512_mask_storeu_ps(y, m, v);
}

AVX512 void mn_depthwise3x3_forward(const float *x, int height, int width, int dilation, int stride,
                                    const float *w, float bias, float *y, int accumulate) {
    Filter f;
    for (int t = 0; t < 9; t++) f.w[t] = _mm512_set1_ps(w[t]);
    f.bias = _mm512_set1_ps(bias);
    const Masks m = masks_for(width);
    const int d = dilation;
    if (stride == 1) {
        // Output rows p, p + d, p + 2d, ... read input rows that step by d too, so each input
        // row's shifted copies are made once and roll from window row to window row.
        for (int p = 0; p < d && p < height; p++) {
            Row top = load_row(x, p - d, height, width, d, m), mid = load_row(x, p, height, width, d, m);
            for (int r = p; r < height; r += d) {
                Row bottom = load_row(x, r + d, height, width, d, m);
                __m512 h0, h1;
                window(&f, &top, &mid, &bottom, &h0, &h1);
                store(y + (long)r * width, h0, m.m0, accumulate);
                if (m.m1) store(y + (long)r * width + 16, h1, m.m1, accumulate);
                top = mid;
                mid = bottom;
            }
        }
        return;
    }
    // Stride 2: the stride-1 sums of every other row, of which the even lanes are kept.
    const int ho = (height - 1) / 2 + 1, wo = (width - 1) / 2 + 1;
    const __m512i even = even_lanes();
    const __mmask16 mo = strided_mask(wo);
    for (int o = 0; o < ho; o++) {
        int r = 2 * o;
        Row top = load_row(x, r - d, height, width, d, m), mid = load_row(x, r, height, width, d, m);
        Row bottom = load_row(x, r + d, height, width, d, m);
        __m512 h0, h1;
        window(&f, &top, &mid, &bottom, &h0, &h1);
        store(y + (long)o * wo, _mm512_permutex2var_ps(h0, even, h1), mo, accumulate);
    }
}

AVX512 void mn_depthwise3x3_filter_gradient(const float *x, const float *dy, int height, int width, int dilation,
                                            float *g) {
    const Masks m = masks_for(width);
    const int d = dilation;
    __m512 acc[9];
    for (int t = 0; t < 9; t++) acc[t] = _mm512_setzero_ps();
    for (int p = 0; p < d && p < height; p++) {
        Row top = load_row(x, p - d, height, width, d, m), mid = load_row(x, p, height, width, d, m);
        for (int r = p; r < height; r += d) {
            Row bottom = load_row(x, r + d, height, width, d, m);
            const float *q = dy + (long)r * width;
            __m512 g0 = _mm512_maskz_loadu_ps(m.m0, q), g1 = _mm512_maskz_loadu_ps(m.m1, q + 16);
            const Row *rows[3] = {&top, &mid, &bottom};
            for (int k = 0; k < 3; k++) {
                const Row *s = rows[k];
                acc[3 * k + 0] = _mm512_fmadd_ps(g1, s->l1, _mm512_fmadd_ps(g0, s->l0, acc[3 * k + 0]));
                acc[3 * k + 1] = _mm512_fmadd_ps(g1, s->c1, _mm512_fmadd_ps(g0, s->c0, acc[3 * k + 1]));
                acc[3 * k + 2] = _mm512_fmadd_ps(g1, s->r1, _mm512_fmadd_ps(g0, s->r0, acc[3 * k + 2]));
            }
            top = mid;
            mid = bottom;
        }
    }
    for (int t = 0; t < 9; t++) g[t] += _mm512_reduce_add_ps(acc[t]);
}

/// One half of a window row's maximum: taps `t`, `t + 1`, `t + 2` (left, centre, right),
/// each later tap winning only when strictly greater, so the first maximal tap is kept.
AVX512 static inline void max_taps(__m512 l, __m512 c, __m512 r, int t, __m512 *m, __m512i *a) {
    __mmask16 k = _mm512_cmp_ps_mask(l, *m, _CMP_GT_OQ);
    *m = _mm512_mask_blend_ps(k, *m, l);
    *a = _mm512_mask_blend_epi32(k, *a, _mm512_set1_epi32(t));
    k = _mm512_cmp_ps_mask(c, *m, _CMP_GT_OQ);
    *m = _mm512_mask_blend_ps(k, *m, c);
    *a = _mm512_mask_blend_epi32(k, *a, _mm512_set1_epi32(t + 1));
    k = _mm512_cmp_ps_mask(r, *m, _CMP_GT_OQ);
    *m = _mm512_mask_blend_ps(k, *m, r);
    *a = _mm512_mask_blend_epi32(k, *a, _mm512_set1_epi32(t + 2));
}

AVX512 void mn_maxpool3x3_forward(const float *x, int height, int width, int stride, float *best, unsigned char *arg) {
    const Masks m = masks_for(width);
    const __m512 low = _mm512_set1_ps(-__builtin_inff());
    const int ho = (height - 1) / stride + 1, wo = (width - 1) / stride + 1;
    const __m512i even = even_lanes();
    const __mmask16 mo = strided_mask(wo);
    Row top = load_row_filled(x, -1, height, width, 1, m, low), mid = load_row_filled(x, 0, height, width, 1, m, low);
    for (int r = 0; r < height; r++) {
        Row bottom = load_row_filled(x, r + 1, height, width, 1, m, low);
        if (r % stride == 0) {
            // Tap 0 starts each window; every later tap is compared in row-major order.
            __m512 m0 = top.l0, m1 = top.l1;
            __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
            max_taps(top.l0, top.c0, top.r0, 0, &m0, &a0);
            max_taps(top.l1, top.c1, top.r1, 0, &m1, &a1);
            max_taps(mid.l0, mid.c0, mid.r0, 3, &m0, &a0);
            max_taps(mid.l1, mid.c1, mid.r1, 3, &m1, &a1);
            max_taps(bottom.l0, bottom.c0, bottom.r0, 6, &m0, &a0);
            max_taps(bottom.l1, bottom.c1, bottom.r1, 6, &m1, &a1);
            const int o = r / stride;
            if (stride == 1) {
                _mm512_mask_storeu_ps(best + (long)o * width, m.m0, m0);
                _mm512_mask_cvtepi32_storeu_epi8(arg + (long)o * width, m.m0, a0);
                if (m.m1) {
                    _mm512_mask_storeu_ps(best + (long)o * width + 16, m.m1, m1);
                    _mm512_mask_cvtepi32_storeu_epi8(arg + (long)o * width + 16, m.m1, a1);
                }
            } else {
                _mm512_mask_storeu_ps(best + (long)o * wo, mo, _mm512_permutex2var_ps(m0, even, m1));
                _mm512_mask_cvtepi32_storeu_epi8(arg + (long)o * wo, mo, _mm512_permutex2var_epi32(a0, even, a1));
            }
        }
        top = mid;
        mid = bottom;
    }
}
