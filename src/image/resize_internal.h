/*
 * src/image/resize_internal.h - the plain reference version of the MATLAB
 * imresize resampler (include/lmmiqa/resize.h), used by the tests to check
 * the table-driven separable version.
 */
#ifndef LMMIQA_RESIZE_INTERNAL_H
#define LMMIQA_RESIZE_INTERNAL_H

#include "image/resize.h"

/* Reference imresize with per-dimension scales (scale_h along the height,
 * scale_w along the width) and the given output size: builds the two dense
 * weight matrices A_h [out_height x height] and A_w [out_width x width]
 * literally as MATLAB's contributions() does (no tap dropping; repeated
 * folded taps add up), then out = A_h * in * A_w^T in MATLAB's dimension
 * order. Allocates; slow (O(out * in) per dimension). Agrees with
 * lmmiqa_resize_scale up to rounding (the dense form adds folded weights
 * before multiplying). */
int lmmiqa__resize_reference(const double *in, int width, int height, double scale_w,
                             double scale_h, int out_width, int out_height, double *out);

/* lmmiqa_resize_scale on row-strided images (in_stride >= width doubles,
 * out_stride >= output width); scratch is required. Lets BRISQUE resize
 * straight between its padded rows. */
int lmmiqa__resize_scale_strided(const double *in, int width, int height, size_t in_stride,
                                 double scale, double *out, size_t out_stride, void *scratch);

#endif
