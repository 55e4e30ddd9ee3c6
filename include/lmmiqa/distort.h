/*
 * lmmiqa/distort.h - synthetic distortions of an image: Gaussian blur,
 * additive Gaussian noise and JPEG compression, each at a given strength.
 *
 * Why: a synthetic distortion cannot improve an image, so an image and its
 * distorted copies are ordered without asking anyone (RankIQA, Liu et al.,
 * ICCV 2017). The regressor uses such ordered pairs as extra training signal
 * (`lmmiqa train --rank-augment`, docs/regressor.md), and tools/gen_samples
 * renders the demo's distorted samples with the same operators.
 *
 * Every operator returns a new image of the source's size; the source is not
 * changed. Results are deterministic: blur and JPEG depend only on the input,
 * noise on the input and the state of the caller's generator.
 */
#ifndef LMMIQA_DISTORT_H
#define LMMIQA_DISTORT_H

#include "lmmiqa/core.h"
#include "lmmiqa/image.h"
#include "lmmiqa/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lmmiqa_distortion {
    LMMIQA_DISTORT_BLUR = 0,  /* strength = Gaussian sigma in pixels, 0..100 (0 = copy) */
    LMMIQA_DISTORT_NOISE = 1, /* strength = noise sigma in 8-bit levels, 0..255 (0 = copy) */
    LMMIQA_DISTORT_JPEG = 2   /* strength = JPEG quality, an integer 1..100 */
} lmmiqa_distortion;

#define LMMIQA_DISTORT_COUNT 3

/* Apply distortion `type` at `strength` to `src` into a new image *out:
 *   BLUR:  separable Gaussian, kernel radius ceil(3 sigma) normalised to sum
 *          1, image edges clamped, computed in double and rounded;
 *   NOISE: each channel value plus sigma * N(0, 1) from `rng` (drawn in pixel
 *          order, R, G, B), rounded and clipped to 0..255;
 *   JPEG:  encoded with lmmiqa_image_save_jpeg's encoder (libjpeg standard
 *          tables scaled to the quality, 4:2:0) and decoded again in memory.
 * `rng` is needed for NOISE only (may be NULL otherwise). Fails with
 * LMMIQA_ERR_INVALID_ARG for an unknown type, a strength out of range or not
 * finite, a non-integral JPEG quality, or NOISE without a generator. */
LMMIQA_API int lmmiqa_image_distort(const lmmiqa_image *src, lmmiqa_distortion type,
                                    double strength, lmmiqa_rng *rng, lmmiqa_image **out);

/* "blur", "noise", "jpeg", or "?" for an unknown type. */
LMMIQA_API const char *lmmiqa_distortion_name(lmmiqa_distortion type);

#ifdef __cplusplus
}
#endif
#endif
