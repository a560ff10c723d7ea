#include "winograd_internal.h"

#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))

/// All-ones lanes `[0, count)` of an 8-lane mask (count clamped to 0 ... 8).
AVX2 static inline __m256i first_lanes8(int count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// `count` floats from `p` (0 ... 8 of them), zero past them; plain loads when all eight are read.
AVX2 static inline __m256 load_first(const float *p, int count) {
    if (count >= 8) return _mm256_loadu_ps(p);
    if (count <= 0) return _mm256_setzero_ps();
    return _mm256_maskload_ps(p, first_lanes8(count));
}

/// Writes (or, with `accumulate`, adds) the first `count` lanes of `v` at `y`.
AVX2 static inline void put_first(float *y, __m256 v, int count, int accumulate) {
    if (count <= 0) return;
    if (count >= 8) {
        if (accumulate) v = _mm256_add_ps(v, _mm256_loadu_ps(y));
        _mm256_storeu_ps(y, v);
        return;
    }
    __m256i m = first_lanes8(count);
    if (accumulate) v = _mm256_add_ps(v, _mm256_maskload_ps(y, m));
    _mm256_maskstore_ps(y, m, v);
}

DEFINE_APPLY(apply8, AVX2, __m256, _mm256_setzero_ps, _mm256_fmadd_ps, _mm256_set1_ps)

/// The transposes between eight consecutive row tiles (`a[i]` holds tiles 2i and 2i + 1, four
/// floats each, as they lie in the plane) and their phases (`p[s]` holds output or input `s` of
/// tile `l` at lane `l`). `to_phases` and `to_tiles` invert each other.
AVX2 static inline void in_lane_transpose(__m256 r0, __m256 r1, __m256 r2, __m256 r3, __m256 *out) {
    __m256 u0 = _mm256_unpacklo_ps(r0, r1), u1 = _mm256_unpackhi_ps(r0, r1);
    __m256 u2 = _mm256_unpacklo_ps(r2, r3), u3 = _mm256_unpackhi_ps(r2, r3);
    out[0] = _mm256_shuffle_ps(u0, u2, _MM_SHUFFLE(1, 0, 1, 0));
    out[1] = _mm256_shuffle_ps(u0, u2, _MM_SHUFFLE(3, 2, 3, 2));
    out[2] = _mm256_shuffle_ps(u1, u3, _MM_SHUFFLE(1, 0, 1, 0));
    out[3] = _mm256_shuffle_ps(u1, u3, _MM_SHUFFLE(3, 2, 3, 2));
}

AVX2 static inline void to_phases(const __m256 *a, __m256 *p) {
    // Halves regrouped so that each 128-bit lane holds four whole tiles (0-3 low, 4-7 high).
    in_lane_transpose(_mm256_permute2f128_ps(a[0], a[2], 0x20), _mm256_permute2f128_ps(a[0], a[2], 0x31),
                      _mm256_permute2f128_ps(a[1], a[3], 0x20), _mm256_permute2f128_ps(a[1], a[3], 0x31), p);
}

AVX2 static inline void to_tiles(const __m256 *p, __m256 *a) {
    __m256 t[4];
    in_lane_transpose(p[0], p[1], p[2], p[3], t);
    a[0] = _mm256_permute2f128_ps(t[0], t[1], 0x20);
    a[1] = _mm256_permute2f128_ps(t[2], t[3], 0x20);
    a[2] = _mm256_permute2f128_ps(t[0], t[1], 0x31);
    a[3] = _mm256_permute2f128_ps(t[2], t[3], 0x31);
}

/// The four vectors of 8 row tiles from `f0` (`count` of them, zero past them).
AVX2 static inline void load_tiles(const float *plane, int f0, int count, __m256 *a) {
    for (int i = 0; i < 4; i++) a[i] = load_first(plane + 4L * f0 + 8 * i, 4 * count - 8 * i);
}

/// Where the column-tile vector of the plane's columns from `w0` starts, and how many of its
/// lanes are new: on planes at least 8 wide, the last vector ends at the plane's edge and
/// overlaps the one before, so that no masked access is needed; narrower planes take one
/// masked vector.
typedef struct {
    int at, fresh, count;
} Span;

static inline Span span_at(int w0, int width) {
    Span s = {w0, 0, width - w0};
    if (width >= 8 && w0 + 8 > width) {
        s.at = width - 8;
        s.fresh = w0 - s.at;
        s.count = 8;
    }
    return s;
}

/// The eight components of every column tile: `reads` rows from `4t + first` (zero outside the
/// plane) through `matrix` (8 x `reads`, at the given steps). Overlapping vectors write equal
/// values twice.
AVX2 CONSTANT_FOLDED void column_components(const float *x, int channels, int height, int width, int reads, int first,
                                           const float *matrix, int row_step, int col_step, float *u,
                                           long component_stride, long channel_stride) {
    int tiles = (height + 3) / 4;
    for (int c = 0; c < channels; c++) {
        const float *plane = x + (long)c * height * width;
        float *uc = u + (long)c * channel_stride;
        for (int t = 0; t < tiles; t++) {
            for (int w0 = 0; w0 < width; w0 += 8) {
                Span s = span_at(w0, width);
                __m256 d[8], v[8];
                for (int k = 0; k < reads; k++) {
                    int h = 4 * t + first + k;
                    d[k] = (h >= 0 && h < height) ? load_first(plane + (long)h * width + s.at, s.count)
                                                  : _mm256_setzero_ps();
                }
                apply8(matrix, 8, reads, row_step, col_step, d, v);
                float *dst = uc + (long)t * width + s.at;
                for (int j = 0; j < 8; j++) put_first(dst + j * component_stride, v[j], s.count, 0);
            }
        }
    }
}

AVX2 void mn_avx2_column_input(const float *x, int channels, int height, int width, float *u, long component_stride,
                               long channel_stride) {
    column_components(x, channels, height, width, 8, -2, BT, 8, 1, u, component_stride, channel_stride);
}

AVX2 void mn_avx2_column_gradient(const float *dy, int channels, int height, int width, float *z,
                                  long component_stride, long channel_stride) {
    column_components(dy, channels, height, width, 4, 0, AT, 1, 8, z, component_stride, channel_stride);
}

AVX2 void mn_avx2_column_output(const float *mm, long component_stride, long channel_stride, int channels, int height,
                                int width, float *y, int accumulate) {
    int tiles = (height + 3) / 4;
    for (int c = 0; c < channels; c++) {
        const float *mc = mm + (long)c * channel_stride;
        float *plane = y + (long)c * height * width;
        for (int t = 0; t < tiles; t++) {
            for (int w0 = 0; w0 < width; w0 += 8) {
                Span sp = span_at(w0, width);
                // Added into the output, an overlapping vector adds only to its new lanes.
                __m256 fresh = _mm256_castsi256_ps(_mm256_xor_si256(first_lanes8(sp.fresh), _mm256_set1_epi32(-1)));
                __m256 v[8], o[4];
                const float *src = mc + (long)t * width + sp.at;
                for (int j = 0; j < 8; j++) v[j] = load_first(src + j * component_stride, sp.count);
                apply8(AT, 4, 8, 8, 1, v, o);
                for (int s = 0; s < 4 && 4 * t + s < height; s++) {
                    __m256 value = sp.fresh > 0 && accumulate ? _mm256_and_ps(o[s], fresh) : o[s];
                    put_first(plane + (long)(4 * t + s) * width + sp.at, value, sp.count, accumulate);
                }
            }
        }
    }
}

/// Lanes `l` of `v` moved to lane `l + 1` (`up`) or `l - 1`, with `edge` in the lane left
/// empty and zero in the lanes of `clear`.
AVX2 CONSTANT_FOLDED __m256 shifted(__m256 v, int up, float edge, __m256 clear) {
    if (up) {
        __m256 moved = _mm256_permutevar8x32_ps(v, _mm256_setr_epi32(0, 0, 1, 2, 3, 4, 5, 6));
        return _mm256_andnot_ps(clear, _mm256_blend_ps(moved, _mm256_set1_ps(edge), 0x01));
    }
    __m256 moved = _mm256_permutevar8x32_ps(v, _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 7));
    return _mm256_andnot_ps(clear, _mm256_blend_ps(moved, _mm256_set1_ps(edge), 0x80));
}

/// The eight components of every row tile, eight tiles at a time: the input transform of the
/// tile's eight reads (two from each neighbouring tile), or with `gradient` the output
/// gradient's transform of its four values.
AVX2 CONSTANT_FOLDED void row_components(const float *x, int channels, int height, int width, int gradient, float *u,
                                        long component_stride, long channel_stride) {
    int per_row = width / 4, tiles = height * per_row;
    // Per position of lane 0's tile in its row: all-ones at the lanes whose tile starts a row
    // (their two leftmost reads are padding) and at those whose tile ends one (the rightmost two).
    __m256 starts[8], ends[8];
    for (int t0 = 0; t0 < per_row && t0 < 8; t0++) {
        int s[8], e[8];
        for (int l = 0; l < 8; l++) {
            int t = (t0 + l) % per_row;
            s[l] = t == 0 ? -1 : 0;
            e[l] = t == per_row - 1 ? -1 : 0;
        }
        starts[t0] = _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)s));
        ends[t0] = _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)e));
    }
    for (int c = 0; c < channels; c++) {
        const float *plane = x + (long)c * height * width;
        float *uc = u + (long)c * channel_stride;
        for (int f0 = 0; f0 < tiles; f0 += 8) {
            int count = tiles - f0 < 8 ? tiles - f0 : 8;
            __m256 a[4], d[8], v[8];
            load_tiles(plane, f0, count, a);
            if (gradient) {
                to_phases(a, d);
                apply8(AT, 8, 4, 1, 8, d, v);
            } else {
                // Reads 0 and 1 are the previous tile's last two inputs, reads 6 and 7 the next
                // tile's first two: phases moved by one lane, with the group's neighbours at its ends.
                to_phases(a, d + 2);
                int before = f0 > 0, after = f0 + 8 < tiles;
                __m256 start = starts[f0 % per_row], end = ends[f0 % per_row];
                d[0] = shifted(d[4], 1, before ? plane[4L * f0 - 2] : 0, start);
                d[1] = shifted(d[5], 1, before ? plane[4L * f0 - 1] : 0, start);
                d[6] = shifted(d[2], 0, after ? plane[4L * (f0 + 8)] : 0, end);
                d[7] = shifted(d[3], 0, after ? plane[4L * (f0 + 8) + 1] : 0, end);
                apply8(BT, 8, 8, 8, 1, d, v);
            }
            for (int j = 0; j < 8; j++) put_first(uc + j * component_stride + f0, v[j], count, 0);
        }
    }
}

AVX2 void mn_avx2_row_input(const float *x, int channels, int height, int width, float *u, long component_stride,
                            long channel_stride) {
    row_components(x, channels, height, width, 0, u, component_stride, channel_stride);
}

AVX2 void mn_avx2_row_gradient(const float *dy, int channels, int height, int width, float *z, long component_stride,
                               long channel_stride) {
    row_components(dy, channels, height, width, 1, z, component_stride, channel_stride);
}

AVX2 void mn_avx2_row_output(const float *mm, long component_stride, long channel_stride, int channels, int height,
                             int width, float *y, int accumulate) {
    int tiles = height * (width / 4);
    for (int c = 0; c < channels; c++) {
        const float *mc = mm + (long)c * channel_stride;
        float *plane = y + (long)c * height * width;
        for (int f0 = 0; f0 < tiles; f0 += 8) {
            int count = tiles - f0 < 8 ? tiles - f0 : 8;
            __m256 v[8], o[4], a[4];
            for (int j = 0; j < 8; j++) v[j] = load_first(mc + j * component_stride + f0, count);
            apply8(AT, 4, 8, 8, 1, v, o);
            to_tiles(o, a);
            for (int i = 0; i < 4; i++) put_first(plane + 4L * f0 + 8 * i, a[i], 4 * count - 8 * i, accumulate);
        }
    }
}
