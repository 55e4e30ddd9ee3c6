/*
 * src/features/nss_internal.h - the "nss" extractor's statistics, exposed to
 * the tests (tests/test_nss.c) and to the extractor wrapper.
 *
 * "nss" is BRISQUE (scales 1 and 2 of the grey MSCN coefficients; its
 * GGD/AGGD shapes and variances as logarithms, which suit a standardising
 * head better than their skewed raw values) plus hand-crafted statistics
 * of what BRISQUE does not see: the grey MSCN statistics at coarser scales,
 * sharpness, noise, JPEG blockiness, exposure and colourfulness, and how
 * sharpness, contrast and brightness vary over the image (quantiles of
 * block statistics: a photo is judged by its best and worst regions), and
 * where: colour by region, and whether the centre is sharper than the rest
 * (a subject in focus against a soft background is not a blurred photo).
 * Every value is a plain, always-defined statistic (moments rather than
 * fitted distributions, so flat or grey images give finite numbers); the
 * groups are listed in nss_groups[] so ablations can name them
 * (docs/default-model.md).
 */
#ifndef LMMIQA_FEATURES_NSS_INTERNAL_H
#define LMMIQA_FEATURES_NSS_INTERNAL_H

#include "lmmiqa/image.h"

#include <stddef.h>

/* Feature counts per group, in output order. */
#define LMMIQA__NSS_BRISQUE_DIM 36 /* BRISQUE, positive shape/scale values as logs */
#define LMMIQA__NSS_MSCN_DIM 18 /* moment statistics of one MSCN plane */
#define LMMIQA__NSS_GREY_DIM (2 * LMMIQA__NSS_MSCN_DIM)   /* grey, scales 3 and 4 */
#define LMMIQA__NSS_SHARP_DIM 10
#define LMMIQA__NSS_NOISE_DIM 5
#define LMMIQA__NSS_BLOCK_DIM 3
#define LMMIQA__NSS_EXPOSURE_DIM 12
#define LMMIQA__NSS_COLOUR_DIM 7
#define LMMIQA__NSS_LOCAL_DIM 28
#define LMMIQA__NSS_REGION_DIM 9
#define LMMIQA__NSS_DIM                                                                     \
    (LMMIQA__NSS_BRISQUE_DIM + LMMIQA__NSS_GREY_DIM + LMMIQA__NSS_SHARP_DIM +                \
     LMMIQA__NSS_NOISE_DIM + LMMIQA__NSS_BLOCK_DIM + LMMIQA__NSS_EXPOSURE_DIM +             \
     LMMIQA__NSS_COLOUR_DIM + LMMIQA__NSS_LOCAL_DIM + LMMIQA__NSS_REGION_DIM)

/* Smallest side accepted: the local statistics need one 32x32 block inside
 * the 1-pixel border at full size and one 16x16 block at half size (36),
 * the coarsest MSCN scale (1/8) then has 5 pixels a side. */
#define LMMIQA__NSS_MIN_SIDE 40

typedef struct lmmiqa__nss_group {
    const char *name; /* "brisque", "grey", "sharp", "noise", "block", "exposure", "colour",
                         "local", "region" */
    size_t first, count;
} lmmiqa__nss_group;

/* The groups in output order; *n receives their number. */
const lmmiqa__nss_group *lmmiqa__nss_groups(size_t *n);

typedef struct lmmiqa__nss_state lmmiqa__nss_state;

int lmmiqa__nss_state_create(lmmiqa__nss_state **out);
void lmmiqa__nss_state_destroy(lmmiqa__nss_state *st);

/* All LMMIQA__NSS_DIM features of an RGB image. LMMIQA_ERR_INVALID_ARG for
 * a side below LMMIQA__NSS_MIN_SIDE, LMMIQA_ERR_UNDEFINED where BRISQUE is
 * (a flat image), LMMIQA_ERR_NOMEM. */
int lmmiqa__nss_features(lmmiqa__nss_state *st, const lmmiqa_image *img, double *out);

/* Column name of feature i, e.g. "grey_s3_rho", "noise_sigma_s1". */
void lmmiqa__nss_feature_name(size_t i, char *buf, size_t size);

/* The building blocks, exposed for the tests. */

/* MSCN moments of a plane (w x h doubles, 0..255 scale): mu and sigma^2 from
 * a 7-tap separable Gaussian (sigma 7/6, edge samples repeated), MSCN =
 * (x - mu) / (sigma + 1), then [0] log(mean square + 1e-6), [1] rho = E|x|^2 / E[x^2]
 * (the statistic the BRISQUE GGD fit inverts; 0 for a flat plane) and for
 * the horizontal, vertical, main- and anti-diagonal neighbour products
 * (pairs inside the image): mean, log(left mean square (negative products)
 * + 1e-6), log(right mean square (positive products) + 1e-6), rho. Mean
 * squares are logs because their spread is skewed over orders of magnitude.
 * Scratch: 3*w*h doubles. */
void lmmiqa__nss_mscn_moments(const double *x, int w, int h, double *scratch,
                              double out[LMMIQA__NSS_MSCN_DIM]);

/* The same computed literally: the 2-D 7x7 window summed per pixel, no
 * separable passes (the reference the tests hold the fast version to). */
void lmmiqa__nss_mscn_moments_reference(const double *x, int w, int h,
                                        double out[LMMIQA__NSS_MSCN_DIM]);

/* Immerkaer's fast noise estimate: sigma = sqrt(pi/2) / (6 (w-2)(h-2)) *
 * sum |x * [1 -2 1; -2 4 -2; 1 -2 1]| over interior pixels. */
double lmmiqa__nss_noise_sigma(const double *x, int w, int h);

/* 2x2 box average: out is (w/2) x (h/2), odd last row/column dropped. */
void lmmiqa__nss_halve(const double *in, int w, int h, double *out);

#endif
