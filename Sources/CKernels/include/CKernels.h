#ifndef METANAS_CKERNELS_H
#define METANAS_CKERNELS_H

/// Depthwise 3x3 filters and 3x3 max pooling of one plane with AVX-512, with the plane's rows
/// held in vector registers (at most 32 columns): no padded copy of the plane, and each input
/// row is loaded once per pass instead of once per window tap.
///
/// The filters take an `height x width` plane (row-major) and a 3x3 filter at dilation
/// `dilation` (1 or 2) with zero padding `dilation`, so that at stride 1 the output has the
/// input's size.

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

#endif
