#ifndef METANAS_WINOGRAD_INTERNAL_H
#define METANAS_WINOGRAD_INTERNAL_H

/// What the AVX-512 transforms (winograd.c) and the AVX2 ones (winograd_avx2.c) share: the
/// matrices, which both inline as constants, and the AVX2 entry points, which the public
/// functions call on processors without AVX-512.

/// Inlined wherever called, so that the constant matrices and sizes unroll the loops.
#define CONSTANT_FOLDED __attribute__((always_inline)) static inline

/// Defines `name(matrix, rows, cols, row_step, col_step, in, out)` for vectors of type `vec`:
/// `out[r] = sum_c matrix[r * row_step + c * col_step] * in[c]`. With the matrix one of the
/// constant transforms and the sizes constant after inlining, the loops unroll fully and the
/// zero entries drop out.
#define DEFINE_APPLY(name, target, vec, zero, fmadd, broadcast)                                             \
    target CONSTANT_FOLDED void name(const float *matrix, int rows, int cols, int row_step, int col_step,  \
                                     const vec *in, vec *out) {                                            \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < rows; r++) {                               \
            vec acc = zero();                                                                              \
            _Pragma("clang loop unroll(full)") for (int c = 0; c < cols; c++) {                           \
                float w = matrix[r * row_step + c * col_step];                                             \
                if (w != 0.0f) acc = fmadd(broadcast(w), in[c], acc);                                      \
            }                                                                                              \
            out[r] = acc;                                                                                  \
        }                                                                                                  \
    }

/// The F(4, 5) input transform `B^T` and output transform `A^T` at the points 0, 1, -1, 2, -2,
/// 1/2, -1/2 and infinity (see `mn_winograd5_matrices`). As constants, the fully unrolled
/// transforms skip their zeros.
static const float BT[64] = {
    1, 0, -21.f / 4, 0, 21.f / 4, 0, -1, 0,
    0, -2.f / 9, -2.f / 9, 17.f / 18, 17.f / 18, -2.f / 9, -2.f / 9, 0,
    0, 2.f / 9, -2.f / 9, -17.f / 18, 17.f / 18, 2.f / 9, -2.f / 9, 0,
    0, 1.f / 180, 1.f / 360, -1.f / 36, -1.f / 72, 1.f / 45, 1.f / 90, 0,
    0, -1.f / 180, 1.f / 360, 1.f / 36, -1.f / 72, -1.f / 45, 1.f / 90, 0,
    0, 64.f / 45, 128.f / 45, -16.f / 9, -32.f / 9, 16.f / 45, 32.f / 45, 0,
    0, -64.f / 45, 128.f / 45, 16.f / 9, -32.f / 9, -16.f / 45, 32.f / 45, 0,
    0, -1, 0, 21.f / 4, 0, -21.f / 4, 0, 1,
};
static const float AT[32] = {
    1, 1, 1, 1, 1, 1, 1, 0,
    0, 1, -1, 2, -2, 0.5f, -0.5f, 0,
    0, 1, 1, 4, 4, 0.25f, 0.25f, 0,
    0, 1, -1, 8, -8, 0.125f, -0.125f, 1,
};

/// The public transforms of CKernels.h, for AVX2 with FMA: 8-lane vectors, row tiles regrouped by
/// in-register transposes instead of gathers.
void mn_avx2_column_input(const float *x, int channels, int height, int width, float *u, long component_stride,
                          long channel_stride);
void mn_avx2_column_output(const float *m, long component_stride, long channel_stride, int channels, int height,
                           int width, float *y, int accumulate);
void mn_avx2_row_input(const float *x, int channels, int height, int width, float *u, long component_stride,
                       long channel_stride);
void mn_avx2_row_output(const float *m, long component_stride, long channel_stride, int channels, int height,
                        int width, float *y, int accumulate);
void mn_avx2_column_gradient(const float *dy, int channels, int height, int width, float *z, long component_stride,
                             long channel_stride);
void mn_avx2_row_gradient(const float *dy, int channels, int height, int width, float *z, long component_stride,
                          long channel_stride);

#endif
