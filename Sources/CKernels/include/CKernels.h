#ifndef METANAS_CKERNELS_H
#define METANAS_CKERNELS_H

/// Depthwise 3x3 filters and 3x3 max pooling of one plane with AVX-512, with the plane's rows
/// held in vector registers (at most 32 columns): no padded copy of the plane, and each input
/// row is loaded once per pass instead of once per window tap.
///
/// The filters take an `height x width` plane (row-major) and a 3x3 filter at dilation
/// `dilation` (1 or 2) with zero padding `dilation`, so that at stride 1 the output has the
/// input's size.

/// Asks the processor to bring the cache line holding `p` into its caches ahead of use.
static inline void mn_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

/// Whether the processor runs these kernels (AVX-512 F).
int mn_depthwise_available(void);

/// Whether a plane of `width` columns fits the kernels (1 ... 32).
int mn_depthwise_fits(int width);

/// `y = bias + sum_t w[t] * x(shifted by tap t)` at `stride` 1 or 2; the output is
/// `((height - 1) / stride + 1) x ((width - 1) / stride + 1)`. With `accumulate`, the result is
/// added to what `y` holds.
void mn_depthwise3x3_forward(const float *x, int height, int width, int dilation, int stride,
                             const float *w, float bias, float *y, int accumulate);

/// `g[t] += sum over the plane of dy * x(shifted by tap t)`: the filter gradient at stride 1,
/// where `dy` has the input's size.
void mn_depthwise3x3_filter_gradient(const float *x, const float *dy, int height, int width, int dilation,
                                     float *g);

/// 3x3 max pooling with padding 1 (padding never wins) at `stride` 1 or 2: `best` gets each
/// window's maximum and `arg` the first tap (row-major, 0-8) that attains it.
void mn_maxpool3x3_forward(const float *x, int height, int width, int stride, float *best, unsigned char *arg);

/// Whether the processor runs the Winograd transforms below (AVX-512 F, or AVX2 with FMA; each
/// transform picks the widest of the two).
int mn_winograd5_available(void);

/// Winograd F(4, 5) transforms for 5-tap line convolutions (stride 1, padding 2, dilation 1):
/// four outputs of a tile come from eight transformed inputs, so the filters' matrix products
/// do 8 / 4 multiplications per output instead of 5.
///
/// A column filter (5 x 1) tiles each plane's columns in runs of four rows (the last run is
/// padded with zeros); tile `t` of a `height x width` plane is `width` matrix columns, at
/// `t * width`. A row filter (1 x 5) needs `width % 4 == 0`: the tiles are the plane's runs of four
/// columns in row-major order, tile `f` is matrix column `f`.
///
/// The input transforms write component `j` of channel `c` at
/// `u + j * component_stride + c * channel_stride`; the output transforms read the products
/// from the same layout and write (or, with `accumulate`, add to) whole planes of `y`.
///
/// The transforms are those of the Toom-Cook construction at the points 0, 1, -1, 2, -2, 1/2,
/// -1/2 and infinity: `mn_winograd5_matrices` copies out the 8 x 8 input transform `B^T`, the
/// 8 x 5 filter transform `G` and the 4 x 8 output transform `A^T` (row-major), and the
/// convolution is `A^T [(G g) * (B^T d)]` for a tile `d` of eight inputs and a filter `g`.
void mn_winograd5_matrices(float *bt, float *g, float *at);
void mn_winograd5_column_input(const float *x, int channels, int height, int width,
                               float *u, long component_stride, long channel_stride);
void mn_winograd5_column_output(const float *m, long component_stride, long channel_stride, int channels,
                                int height, int width, float *y, int accumulate);
void mn_winograd5_row_input(const float *x, int channels, int height, int width,
                            float *u, long component_stride, long channel_stride);
void mn_winograd5_row_output(const float *m, long component_stride, long channel_stride, int channels,
                             int height, int width, float *y, int accumulate);

/// The filter gradient's transform of an output gradient `dy` (`channels` planes): component `j`
/// of a tile is `sum_s A^T[s][j] * dy[s]` over its four outputs, written in the input
/// transforms' layout. The filter gradient is then `G^T` applied to the sums over tiles of the
/// products of these components with the input's.
void mn_winograd5_column_gradient(const float *dy, int channels, int height, int width, float *z,
                                  long component_stride, long channel_stride);
void mn_winograd5_row_gradient(const float *dy, int channels, int height, int width, float *z,
                               long component_stride, long channel_stride);

/// Whether the processor runs `mn_sgemm` (AVX2 with FMA).
int mn_sgemm_available(void);

/// Row-major `C = op(A) op(B)`, or `C += op(A) op(B)` with `accumulate`, for the small products
/// of this project's convolutions, without packing either operand: op(A) is `m x k`, op(B) is
/// `k x n`. Without `trans_b`, tiles of 6 rows x 16 columns keep their sums in registers while
/// a panel of B's rows stays in cache; with `trans_b` (A and B both contiguous along the sum),
/// 6 x 2 dot products run in eight-lane partial sums. Summation order is fixed by the shape, so
/// results do not depend on where or when a product runs. Returns 0 without touching `c` for
/// the one form it does not take (both operands transposed).
int mn_sgemm(int trans_a, int trans_b, int m, int n, int k, const float *a, long lda, const float *b, long ldb,
             int accumulate, float *c, long ldc);

#endif
