/*
 * src/models/efficientnet_kernels.h - float32 channels-last (NHWC) kernels
 * of the EfficientNet runtime (ALIGN's image tower): depthwise convolution
 * fused with bias, swish and per-channel sums (the squeeze-excitation
 * mean), bias + swish rows, channel scaling, and the stem's im2col.
 *
 * Each fast kernel has a plain reference version (suffix _ref: scalar
 * loops, double accumulation, libm exp) that tests/test_align.c compares it
 * with (tolerances stated there). The fast versions use AVX2+FMA when the
 * CPU has them (runtime dispatch) and portable loops otherwise.
 * Images are [h, w, c] with c contiguous; shapes are in each comment.
 */
#ifndef LMMIQA_MODELS_EFFICIENTNET_KERNELS_H
#define LMMIQA_MODELS_EFFICIENTNET_KERNELS_H

#include <stddef.h>

/* Geometry of a k x k convolution with stride s and zero padding
 * pad_top/pad_left (the bottom/right padding is implied by oh, ow):
 * output (oy, ox) reads input rows oy*s - pad_top + ky, ky < k. */
typedef struct lmmiqa__conv_geom {
    int h, w;       /* input */
    int oh, ow;     /* output */
    int k, stride;
    int pad_top, pad_left;
} lmmiqa__conv_geom;

/* out[oh, ow, c] = swish(bias[c] + sum_{ky,kx} in[iy, ix, c] * wt[ky*k + kx, c])
 * (zero outside the input); in [h, w, c], wt [k*k, c], bias [c].
 * If sums != NULL, sums[c] += sum over positions of out[., ., c].
 * Rows [row0, row1) of the output only (for splitting among threads). */
void lmmiqa__dwconv_swish(const lmmiqa__conv_geom *g, int c, const float *in, const float *wt,
                          const float *bias, float *out, double *sums, int row0, int row1);
void lmmiqa__dwconv_swish_ref(const lmmiqa__conv_geom *g, int c, const float *in,
                              const float *wt, const float *bias, float *out, double *sums,
                              int row0, int row1);

/* x[rows, n] (contiguous) = swish(x + bias[n]); swish(v) = v / (1 + exp(-v)). */
void lmmiqa__bias_swish(size_t rows, int n, float *x, const float *bias);
void lmmiqa__bias_swish_ref(size_t rows, int n, float *x, const float *bias);

/* x[rows, n] *= scale[n]. */
void lmmiqa__scale_cols(size_t rows, int n, float *x, const float *scale);

/* y[rows, n] = x[rows, n] + bias[n] (x may be NULL: y = bias rows). */
void lmmiqa__rows_bias(size_t rows, int n, const float *x, const float *bias, float *y);

/* Stem patches: planes [3, h, w] (channel planes) -> cols [oh*ow, k*k*3]
 * ordered (ky, kx, ci), zero outside the image. */
void lmmiqa__im2col_planes(const lmmiqa__conv_geom *g, const float *planes, float *cols);

/* Scalar swish / sigmoid in double (reference). */
double lmmiqa__swish_d(double v);
double lmmiqa__sigmoid_d(double v);

#endif
