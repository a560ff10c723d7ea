#include "CKernels.h"
#include "winograd_internal.h"

#include <immintrin.h>
#include <string.h>

#define AVX512 __attribute__((target("avx512f")))

/// The filter transform `G` (8 x 5), applied by the caller to the filters.
static const float G[40] = {
    1, 0, 0, 0, 0,
    1, 1, 1, 1, 1,
    1, -1, 1, -1, 1,
    1, 2, 4, 8, 16,
    1, -2, 4, -8, 16,
    1, 0.5f, 0.25f, 0.125f, 0.0625f,
    1, -0.5f, 0.25f, -0.125f, 0.0625f,
    0, 0, 0, 0, 1,
};
void mn_winograd5_matrices(float *bt, float *g, float *at) {
    memcpy(bt, BT, sizeof BT);
    memcpy(g, G, sizeof G);
    memcpy(at, AT, sizeof AT);
}

/// Lanes `[0, count)` of a 16-lane mask (count clamped to 0 ... 16).
static inline __mmask16 first_lanes(int count) {
    if (count <= 0) return 0;
    if (count >= 16) return (__mmask16)0xFFFF;
    return (__mmask16)((1u << count) - 1);
}

DEFINE_APPLY(apply, AVX512, __m512, _mm512_setzero_ps, _mm512_fmadd_ps, _mm512_set1_ps)

/// The input transform `B^T d` of eight inputs.
#define transform8(d, out) apply(BT, 8, 8, 8, 1, d, out)
/// The output transform `A^T m` of eight products.
#define inverse4(m, out) apply(AT, 4, 8, 8, 1, m, out)
/// The transposed output transform `A dy`, for filter gradients.
#define gradient8(dy, out) apply(AT, 8, 4, 1, 8, dy, out)

AVX512 static inline void put(float *y, __m512 v, __mmask16 m, int accumulate) {
    if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, y));
    _mm512_mask_storeu_ps(y, m, v);
}

/// The eight transformed components of every column tile: `reads` rows from `4t + first`
/// (zero outside the plane) through `matrix` (8 x `reads`, at the given steps).
AVX512 CONSTANT_FOLDED void column_components(const float *x, int channels, int height, int width, int reads, int first,
                                            const float *matrix, int row_step, int col_step, float *u,
                                            long component_stride, long channel_stride) {
    int tiles = (height + 3) / 4;
    for (int c = 0; c < channels; c++) {
        const float *plane = x + (long)c * height * width;
        float *uc = u + (long)c * channel_stride;
        for (int t = 0; t < tiles; t++) {
            for (int w0 = 0; w0 < width; w0 += 16) {
                __mmask16 m = first_lanes(width - w0);
                __m512 d[8], v[8];
                for (int k = 0; k < reads; k++) {
                    int h = 4 * t + first + k;
                    d[k] = (h >= 0 && h < height) ? _mm512_maskz_loadu_ps(m, plane + (long)h * width + w0)
                                                  : _mm512_setzero_ps();
                }
                apply(matrix, 8, reads, row_step, col_step, d, v);
                float *dst = uc + (long)t * width + w0;
                for (int j = 0; j < 8; j++) _mm512_mask_storeu_ps(dst + j * component_stride, m, v[j]);
            }
        }
    }
}

AVX512 static void avx512_column_input(const float *x, int channels, int height, int width,
                                       float *u, long component_stride, long channel_stride) {
    column_components(x, channels, height, width, 8, -2, BT, 8, 1, u, component_stride, channel_stride);
}

AVX512 static void avx512_column_output(const float *mm, long component_stride, long channel_stride, int channels,
                                        int height, int width, float *y, int accumulate) {
    int tiles = (height + 3) / 4;
    for (int c = 0; c < channels; c++) {
        const float *mc = mm + (long)c * channel_stride;
        float *plane = y + (long)c * height * width;
        for (int t = 0; t < tiles; t++) {
            for (int w0 = 0; w0 < width; w0 += 16) {
                __mmask16 m = first_lanes(width - w0);
                __m512 v[8], o[4];
                const float *src = mc + (long)t * width + w0;
                for (int j = 0; j < 8; j++) v[j] = _mm512_maskz_loadu_ps(m, src + j * component_stride);
                inverse4(v, o);
                for (int s = 0; s < 4 && 4 * t + s < height; s++) {
                    put(plane + (long)(4 * t + s) * width + w0, o[s], m, accumulate);
                }
            }
        }
    }
}

AVX512 static void avx512_row_input(const float *x, int channels, int height, int width,
                                    float *u, long component_stride, long channel_stride) {
    int per_row = width / 4, tiles = height * per_row;
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    // Per position of the first lane's tile in its row: the lanes whose tile starts a row (their
    // two leftmost reads are padding) and those whose tile ends one (the two rightmost).
    __mmask16 start_masks[8], end_masks[8];
    for (int t0 = 0; t0 < per_row && t0 < 8; t0++) {
        start_masks[t0] = end_masks[t0] = 0;
        for (int l = 0; l < 16; l++) {
            int t = (t0 + l) % per_row;
            if (t == 0) start_masks[t0] |= (__mmask16)(1u << l);
            if (t == per_row - 1) end_masks[t0] |= (__mmask16)(1u << l);
        }
    }
    for (int c = 0; c < channels; c++) {
        const float *plane = x + (long)c * height * width;
        float *uc = u + (long)c * channel_stride;
        for (int f0 = 0; f0 < tiles; f0 += 16) {
            __mmask16 valid = first_lanes(tiles - f0);
            __mmask16 starts = start_masks[f0 % per_row], ends = end_masks[f0 % per_row];
            __m512i base = _mm512_slli_epi32(_mm512_add_epi32(_mm512_set1_epi32(f0), lane), 2);
            __m512 d[8], v[8];
            for (int k = 0; k < 8; k++) {
                __mmask16 m = valid;
                if (k < 2) m &= (__mmask16)~starts;
                if (k >= 6) m &= (__mmask16)~ends;
                __m512i index = _mm512_add_epi32(base, _mm512_set1_epi32(k - 2));
                d[k] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, index, plane, 4);
            }
            transform8(d, v);
            for (int j = 0; j < 8; j++) _mm512_mask_storeu_ps(uc + j * component_stride + f0, valid, v[j]);
        }
    }
}

AVX512 static void avx512_row_output(const float *mm, long component_stride, long channel_stride, int channels,
                                     int height, int width, float *y, int accumulate) {
    int tiles = height * (width / 4);
    // Output vector q of 16 tiles holds, at element e, output e % 4 of tile 4q + e / 4.
    __m512i low[4], high[4];
    __mmask16 upper = 0;
    for (int e = 0; e < 16; e++) {
        if (e % 4 >= 2) upper |= (__mmask16)(1u << e);
    }
    for (int q = 0; q < 4; q++) {
        int lo[16], hi[16];
        for (int e = 0; e < 16; e++) {
            int tile = 4 * q + e / 4, s = e % 4;
            lo[e] = s == 1 ? 16 + tile : tile;
            hi[e] = s == 3 ? 16 + tile : tile;
        }
        low[q] = _mm512_loadu_si512(lo);
        high[q] = _mm512_loadu_si512(hi);
    }
    for (int c = 0; c < channels; c++) {
        const float *mc = mm + (long)c * channel_stride;
        float *plane = y + (long)c * height * width;
        for (int f0 = 0; f0 < tiles; f0 += 16) {
            int count = tiles - f0 < 16 ? tiles - f0 : 16;
            __mmask16 valid = first_lanes(count);
            __m512 v[8], o[4];
            for (int j = 0; j < 8; j++) v[j] = _mm512_maskz_loadu_ps(valid, mc + j * component_stride + f0);
            inverse4(v, o);
            for (int q = 0; q < 4 && 4 * q < count; q++) {
                __m512 a = _mm512_permutex2var_ps(o[0], low[q], o[1]);
                __m512 b = _mm512_permutex2var_ps(o[2], high[q], o[3]);
                put(plane + 4L * (f0 + 4 * q), _mm512_mask_blend_ps(upper, a, b), first_lanes(4 * (count - 4 * q)),
                    accumulate);
            }
        }
    }
}

AVX512 static void avx512_column_gradient(const float *dy, int channels, int height, int width, float *z,
                                          long component_stride, long channel_stride) {
    column_components(dy, channels, height, width, 4, 0, AT, 1, 8, z, component_stride, channel_stride);
}

AVX512 static void avx512_row_gradient(const float *dy, int channels, int height, int width, float *z,
                                       long component_stride, long channel_stride) {
    int tiles = height * (width / 4);
    // Phase s of lane l is element 4l + s of the 64 floats of 16 tiles: lanes 0-7 come from the
    // first two vectors, lanes 8-15 from the last two.
    __m512i phase[4];
    for (int s = 0; s < 4; s++) {
        int idx[16];
        for (int l = 0; l < 16; l++) idx[l] = 4 * (l % 8) + s;
        phase[s] = _mm512_loadu_si512(idx);
    }
    for (int c = 0; c < channels; c++) {
        const float *plane = dy + (long)c * height * width;
        float *zc = z + (long)c * channel_stride;
        for (int f0 = 0; f0 < tiles; f0 += 16) {
            int count = tiles - f0 < 16 ? tiles - f0 : 16;
            const float *src = plane + 4L * f0;
            __m512 q[4], d[4], v[8];
            for (int i = 0; i < 4; i++) q[i] = _mm512_maskz_loadu_ps(first_lanes(4 * count - 16 * i), src + 16 * i);
            for (int s = 0; s < 4; s++) {
                __m512 lo = _mm512_permutex2var_ps(q[0], phase[s], q[1]);
                __m512 hi = _mm512_permutex2var_ps(q[2], phase[s], q[3]);
                d[s] = _mm512_mask_blend_ps((__mmask16)0xFF00, lo, hi);
            }
            gradient8(d, v);
            __mmask16 valid = first_lanes(count);
            for (int j = 0; j < 8; j++) _mm512_mask_storeu_ps(zc + j * component_stride + f0, valid, v[j]);
        }
    }
}

/// The transforms of one instruction set.
typedef struct {
    void (*column_input)(const float *, int, int, int, float *, long, long);
    void (*column_output)(const float *, long, long, int, int, int, float *, int);
    void (*row_input)(const float *, int, int, int, float *, long, long);
    void (*row_output)(const float *, long, long, int, int, int, float *, int);
    void (*column_gradient)(const float *, int, int, int, float *, long, long);
    void (*row_gradient)(const float *, int, int, int, float *, long, long);
} Transforms;

static const Transforms with_avx512 = {avx512_column_input, avx512_column_output, avx512_row_input,
                                       avx512_row_output, avx512_column_gradient, avx512_row_gradient};
static const Transforms with_avx2 = {mn_avx2_column_input, mn_avx2_column_output, mn_avx2_row_input,
                                     mn_avx2_row_output, mn_avx2_column_gradient, mn_avx2_row_gradient};

/// The widest transforms this processor runs: AVX-512 F, else AVX2 with FMA, else none.
static const Transforms *transforms(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return &with_avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &with_avx2;
    return 0;
}

int mn_winograd5_available(void) { return transforms() != 0; }

void mn_winograd5_column_input(const float *x, int channels, int height, int width, float *u, long component_stride,
                               long channel_stride) {
    transforms()->column_input(x, channels, height, width, u, component_stride, channel_stride);
}

void mn_winograd5_column_output(const float *m, long component_stride, long channel_stride, int channels, int height,
                                int width, float *y, int accumulate) {
    transforms()->column_output(m, component_stride, channel_stride, channels, height, width, y, accumulate);
}

void mn_winograd5_row_input(const float *x, int channels, int height, int width, float *u, long component_stride,
                            long channel_stride) {
    transforms()->row_input(x, channels, height, width, u, component_stride, channel_stride);
}

void mn_winograd5_row_output(const float *m, long component_stride, long channel_stride, int channels, int height,
                             int width, float *y, int accumulate) {
    transforms()->row_output(m, component_stride, channel_stride, channels, height, width, y, accumulate);
}

void mn_winograd5_column_gradient(const float *dy, int channels, int height, int width, float *z,
                                  long component_stride, long channel_stride) {
    transforms()->column_gradient(dy, channels, height, width, z, component_stride, channel_stride);
}

void mn_winograd5_row_gradient(const float *dy, int channels, int height, int width, float *z, long component_stride,
                               long channel_stride) {
    transforms()->row_gradient(dy, channels, height, width, z, component_stride, channel_stride);
}
