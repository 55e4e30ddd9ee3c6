/*
 * lmmiqa/brisque.h - BRISQUE natural-scene-statistics features, computed as
 * the original MATLAB release (brisque_feature.m, Mittal, Moorthy and Bovik
 * 2011) does, in double precision.
 *
 * BRISQUE describes how an image's locally normalised luminance (MSCN
 * coefficients) and the products of neighbouring coefficients deviate from
 * the statistics of pristine photographs. Distortions (blur, noise,
 * compression) change these distributions, so the 36 numbers are a compact
 * distortion descriptor: lmmiqa concatenates them with foundation-model
 * embeddings, and the original LIVE SVR model scores them directly.
 *
 * The 36 features, for scale 1 (the image) then scale 2 (MATLAB
 * imresize(I, 0.5), see lmmiqa/resize.h), 18 each:
 *   [0]  alpha   shape of the generalised Gaussian fitted to the MSCN values
 *   [1]  sigma^2 their mean square
 *   then for the neighbour products along the horizontal, vertical, main
 *   diagonal and anti-diagonal directions (MATLAB circshift [0 1], [1 0],
 *   [1 1], [-1 1], circular), 4 values each (features [2..17]):
 *        alpha   shape of the asymmetric generalised Gaussian fit
 *        eta     its mean
 *        l^2     left (negative side) variance
 *        r^2     right (positive side) variance
 * docs/brisque.md pins every convention (grey conversion, zero padding,
 * the grid search, the exact zeros of I - mu) and states
 * the agreement with MATLAB, OpenCV and pyiqa.
 *
 * Undefined cases: a flat image (every MSCN coefficient zero) or one whose
 * neighbour products are all of one sign (e.g. a 1x1 image) has no BRISQUE
 * features (MATLAB returns NaN there); these calls fail with
 * LMMIQA_ERR_UNDEFINED and a message naming the scale and direction, and
 * never return NaN.
 *
 * Threads: the features need per-call scratch memory, kept in an
 * lmmiqa_brisque_state. One state per thread; it grows to the largest image
 * seen and is reused, so steady-state extraction does not allocate. The
 * computation of one image is single-threaded; parallelise across images.
 */
#ifndef LMMIQA_BRISQUE_H
#define LMMIQA_BRISQUE_H

#include "lmmiqa/core.h"
#include "lmmiqa/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Number of BRISQUE features. */
#define LMMIQA_BRISQUE_DIM 36

/* Largest image side accepted (pixels). */
#define LMMIQA_BRISQUE_MAX_SIDE 65536

typedef struct lmmiqa_brisque_state lmmiqa_brisque_state;

/* A fresh per-thread state (no scratch yet). LMMIQA_ERR_NOMEM on failure. */
LMMIQA_API int lmmiqa_brisque_state_create(lmmiqa_brisque_state **out);

/* Release a state; NULL is a no-op. */
LMMIQA_API void lmmiqa_brisque_state_destroy(lmmiqa_brisque_state *st);

/* The 36 features of an 8-bit grey image (width*height bytes, row-major),
 * on the 0..255 scale as brisque_feature.m receives double(rgb2gray(I)).
 * LMMIQA_ERR_INVALID_ARG for a side < 1, LMMIQA_ERR_TOO_LARGE over
 * LMMIQA_BRISQUE_MAX_SIDE, LMMIQA_ERR_UNDEFINED (see above),
 * LMMIQA_ERR_NOMEM when the scratch cannot grow. out is left unspecified
 * on failure. */
LMMIQA_API int lmmiqa_brisque_features_gray(lmmiqa_brisque_state *st, const uint8_t *gray,
                                            int width, int height,
                                            double out[LMMIQA_BRISQUE_DIM]);

/* The same for a decoded image: converted to grey first with
 * lmmiqa_image_to_gray (MATLAB rgb2gray, rounded to uint8). */
LMMIQA_API int lmmiqa_brisque_features(lmmiqa_brisque_state *st, const lmmiqa_image *img,
                                       double out[LMMIQA_BRISQUE_DIM]);

/* Short name of feature i (0..35), e.g. "s1_ggd_alpha", "s2_v_r2"; NULL
 * when out of range. */
LMMIQA_API const char *lmmiqa_brisque_feature_name(int i);

#ifdef __cplusplus
}
#endif
#endif
