/*
 * lmmiqa/resize.h - MATLAB imresize (bicubic, antialiased) on double images.
 *
 * BRISQUE and other hand-crafted features were defined with MATLAB's
 * `imresize(I, scale)`; reproducing their numbers needs the same resampler,
 * which no common C library provides (OpenCV's INTER_CUBIC uses a = -0.75,
 * no antialiasing and different borders). This resampler follows MATLAB's
 * imresize.m for double input exactly:
 *
 *   - Keys cubic kernel with a = -0.5, support 4;
 *   - when shrinking along a dimension (scale < 1) the kernel is stretched
 *     for antialiasing: h(x) = scale * cubic(scale * x), support 4 / scale;
 *     when enlarging (scale >= 1) h = cubic, support 4;
 *   - output pixel x (1-based) maps to u = x / scale + 0.5 * (1 - 1 / scale);
 *     taps left = floor(u - support / 2) + 0 .. P-1 with P = ceil(support) + 2;
 *     weights h(u - tap) normalised to sum 1 (summed tap by tap);
 *   - taps outside the image are folded symmetrically (index 0 reads pixel 1,
 *     -1 reads pixel 2, N + 1 reads N, ...: aux = [1..N, N..1] with mod);
 *   - tap positions whose weight is zero for every output pixel are dropped;
 *   - output size ceil(scale * N) (or the size given);
 *   - the two dimensions are resized one after the other, the one with the
 *     smaller scale first; on equal scales rows (height, MATLAB dim 1) first;
 *   - each output value is the sum over taps in tap order of weight * input,
 *     in double, without rounding or clamping (MATLAB does not clamp doubles).
 *
 * Images are single-channel, row-major, `width` doubles per row.
 * The weight and index tables are built once per call; the two passes are
 * separable. Callers that resize many images without allocating pass a
 * scratch buffer of lmmiqa_resize_scratch_bytes(); NULL makes the call
 * allocate (and free) its own.
 */
#ifndef LMMIQA_RESIZE_H
#define LMMIQA_RESIZE_H

#include "lmmiqa/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest output side accepted (and largest input side): 1 << 20 pixels. */
#define LMMIQA_RESIZE_MAX_SIDE (1 << 20)

/* Output size of MATLAB imresize(I, scale) for an input of width x height:
 * ceil(scale * width) x ceil(scale * height). LMMIQA_ERR_INVALID_ARG for a
 * side < 1 or a scale that is not finite and > 0; LMMIQA_ERR_TOO_LARGE when
 * a side exceeds LMMIQA_RESIZE_MAX_SIDE. */
int lmmiqa_resize_dims(int width, int height, double scale, int *out_width,
                                  int *out_height);

/* Bytes of scratch lmmiqa_resize_scale needs for this input and scale
 * (weight/index tables plus the intermediate image). Same errors as
 * lmmiqa_resize_dims, and LMMIQA_ERR_TOO_LARGE when the tables would exceed
 * 2^28 entries (absurdly small scales). */
int lmmiqa_resize_scratch_bytes(int width, int height, double scale, size_t *bytes);

/* MATLAB imresize(in, scale), bicubic, antialiased: `in` is width x height,
 * `out` receives the lmmiqa_resize_dims() size. `scratch`: NULL, or at
 * least lmmiqa_resize_scratch_bytes() bytes aligned for double. Errors as
 * lmmiqa_resize_scratch_bytes, LMMIQA_ERR_NOMEM when allocating. */
int lmmiqa_resize_scale(const double *in, int width, int height, double scale,
                                   double *out, void *scratch);

/* MATLAB imresize(in, [out_height out_width]): the scale of each dimension is
 * out / in, then as lmmiqa_resize_scale (scratch allocated per call). */
int lmmiqa_resize_to(const double *in, int width, int height, int out_width,
                     int out_height, double *out);

#ifdef __cplusplus
}
#endif
#endif
