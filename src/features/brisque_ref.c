/*
 * src/features/brisque_ref.c - the plain reference BRISQUE, brisque_feature.m
 * written out line by line with 2-D loops in double. The tests check the
 * fast path (brisque.c) against it.
 *
 * Design: no cleverness. The 7x7 window is built as fspecial('gaussian', 7,
 * 7/6) and normalised again as the release does; filter2 is a 2-D
 * correlation with zero padding. Two expressions are evaluated in a
 * mathematically identical form that is exact where the true value is zero
 * (the convention of docs/brisque.md): grouping the window into its 9
 * weight classes (offsets with the same {|dy|, |dx|}) besides the centre,
 * with SI / SQ the sums of a class's pixels / squares in a fixed order,
 *   I - mu                       = sum_c w_c (n_c I - SI_c)
 *   filter2(w, I.^2) - mu.^2     = sum_c w_c (SQ_c - 2 I SI_c + n_c I^2) - (I - mu)^2
 * (both using sum(w) = 1). On 8-bit input every class sum is an exact
 * integer, so I - mu is exactly 0 whenever its true value is.
 * circshift products are materialised in MATLAB's column-major (:) order;
 * the fits are estimateggdparam/estimateaggdparam with linear argmin scans.
 */
#include "features/brisque_internal.h"

#include "core/internal.h"
#include "image/resize.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* fspecial('gaussian', 7, 7/6), then window / sum(sum(window)). */
static void window7(double w[7][7])
{
    const double sd = 7.0 / 6.0;
    double mx = 0, sum = 0;
    for (int y = -3; y <= 3; y++)
        for (int x = -3; x <= 3; x++) {
            w[y + 3][x + 3] = exp(-(double)(x * x + y * y) / (2 * sd * sd));
            if (w[y + 3][x + 3] > mx)
                mx = w[y + 3][x + 3];
        }
    for (int y = 0; y < 7; y++)
        for (int x = 0; x < 7; x++)
            if (w[y][x] < DBL_EPSILON * mx)
                w[y][x] = 0;
    for (int pass = 0; pass < 2; pass++) {
        sum = 0;
        for (int x = 0; x < 7; x++) /* MATLAB sums column by column */
            for (int y = 0; y < 7; y++)
                sum += w[y][x];
        for (int y = 0; y < 7; y++)
            for (int x = 0; x < 7; x++)
                w[y][x] /= sum;
    }
}

/* I(y, x) with zero padding. */
static double px(const double *im, int w, int h, int y, int x)
{
    return (y < 0 || y >= h || x < 0 || x >= w) ? 0.0 : im[(size_t)y * w + x];
}

static int ref_ggd(const double *v, size_t n, const char *what, double out[2], double *fit)
{
    double sq = 0, ab = 0;
    for (size_t i = 0; i < n; i++) {
        sq += v[i] * v[i];
        ab += fabs(v[i]);
    }
    double sigma_sq = sq / n, sigma = sqrt(sigma_sq), e = ab / n;
    if (!(e > 0))
        return lmmiqa__fail(LMMIQA_ERR_UNDEFINED,
                            "BRISQUE is undefined for this image: %s: every MSCN coefficient "
                            "is zero (a flat image)",
                            what);
    double rho = sigma_sq / (e * e);
    *fit = rho;
    out[0] = lmmiqa__brisque_grid()[lmmiqa__brisque_ggd_index_linear(rho)];
    out[1] = sigma * sigma;
    return LMMIQA_OK;
}

static int ref_aggd(const double *v, size_t n, const char *what, double out[4], double *fit)
{
    double lsum = 0, rsum = 0, ab = 0, sq = 0;
    size_t ln = 0, rn = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < 0) {
            lsum += v[i] * v[i];
            ln++;
        }
        if (v[i] > 0) {
            rsum += v[i] * v[i];
            rn++;
        }
        ab += fabs(v[i]);
        sq += v[i] * v[i];
    }
    if (ln == 0 || rn == 0)
        return lmmiqa__fail(LMMIQA_ERR_UNDEFINED,
                            "BRISQUE is undefined for this image: %s: no %s neighbour products "
                            "(a flat or tiny image)",
                            what, ln == 0 ? "negative" : "positive");
    double leftstd = sqrt(lsum / ln), rightstd = sqrt(rsum / rn);
    double gammahat = leftstd / rightstd;
    double rhat = pow(ab / n, 2) / (sq / n);
    double rhatnorm = (rhat * (pow(gammahat, 3) + 1) * (gammahat + 1)) /
                      pow(pow(gammahat, 2) + 1, 2);
    if (!isfinite(rhatnorm) || !(leftstd > 0) || !(rightstd > 0))
        return lmmiqa__fail(LMMIQA_ERR_UNDEFINED,
                            "BRISQUE is undefined for this image: %s: degenerate neighbour "
                            "products (left std %g, right std %g)",
                            what, leftstd, rightstd);
    *fit = rhatnorm;
    double alpha = lmmiqa__brisque_grid()[lmmiqa__brisque_aggd_index_linear(rhatnorm)];
    double cst = sqrt(tgamma(1 / alpha)) / sqrt(tgamma(3 / alpha));
    out[0] = alpha;
    out[1] = (rightstd - leftstd) * (tgamma(2 / alpha) / tgamma(1 / alpha)) * cst;
    out[2] = leftstd * leftstd;
    out[3] = rightstd * rightstd;
    return LMMIQA_OK;
}

static int ref_scale(const double *im, int w, int h, int scale_no, double out[18],
                     double fits[5])
{
    static const int shifts[4][2] = {{0, 1}, {1, 0}, {1, 1}, {-1, 1}};
    static const char *const dirs[4] = {"horizontal", "vertical", "diagonal", "anti-diagonal"};
    double win[7][7];
    window7(win);
    size_t n = (size_t)w * h;
    double *sd = lmmiqa__malloc(n * sizeof *sd);
    double *vec = lmmiqa__malloc(n * sizeof *vec);
    int rc = LMMIQA_ERR_NOMEM;
    if (!sd || !vec)
        goto done;
    /* structdis = (imdist - mu) ./ (sigma + 1), stored column-major */
    static const int ca[9] = {0, 0, 0, 1, 1, 1, 2, 2, 3}, cb[9] = {1, 2, 3, 1, 2, 3, 2, 3, 3};
    static const double cn[9] = {4, 4, 4, 4, 8, 8, 4, 8, 4};
    for (int x = 0; x < w; x++)
        for (int y = 0; y < h; y++) {
#define P(dy, dx) px(im, w, h, y + (dy), x + (dx))
#define AK(dy, k) (P(dy, k) + P(dy, -(k)))
#define QK(dy, k) ((k) == 0 ? P(dy, 0) * P(dy, 0) : P(dy, k) * P(dy, k) + P(dy, -(k)) * P(dy, -(k)))
            double c = P(0, 0);
            double d = 0, v = 0;
            for (int k = 0; k < 9; k++) {
                int a = ca[k], b = cb[k];
                double si, sq;
                if (a == 0) {
                    si = AK(0, b) + (P(b, 0) + P(-b, 0));
                    sq = QK(0, b) + (QK(b, 0) + QK(-b, 0));
                } else if (a == b) {
                    si = AK(a, a) + AK(-a, a);
                    sq = QK(a, a) + QK(-a, a);
                } else {
                    si = (AK(a, b) + AK(-a, b)) + (AK(b, a) + AK(-b, a));
                    sq = (QK(a, b) + QK(-a, b)) + (QK(b, a) + QK(-b, a));
                }
                d += win[3 + a][3 + b] * (cn[k] * c - si);
                v += win[3 + a][3 + b] * ((sq - 2.0 * c * si) + cn[k] * (c * c));
            }
#undef P
#undef AK
#undef QK
            double var = v - d * d;
            sd[(size_t)x * h + y] = d / (sqrt(fabs(var)) + 1);
        }
    char what[64];
    snprintf(what, sizeof what, "scale %d, MSCN coefficients", scale_no);
    if ((rc = ref_ggd(sd, n, what, out, &fits[0])))
        goto done;
    for (int k = 0; k < 4; k++) {
        /* shifted = circshift(structdis, shifts(k,:)): shifted(y, x) =
         * structdis(y - s0 mod h, x - s1 mod w); pair = structdis(:).*shifted(:) */
        for (int x = 0; x < w; x++)
            for (int y = 0; y < h; y++) {
                int sy = ((y - shifts[k][0]) % h + h) % h;
                int sx = ((x - shifts[k][1]) % w + w) % w;
                vec[(size_t)x * h + y] = sd[(size_t)x * h + y] * sd[(size_t)sx * h + sy];
            }
        snprintf(what, sizeof what, "scale %d, %s products", scale_no, dirs[k]);
        if ((rc = ref_aggd(vec, n, what, out + 2 + 4 * k, &fits[1 + k])))
            goto done;
    }
    rc = LMMIQA_OK;
done:
    free(sd);
    free(vec);
    return rc;
}

int lmmiqa__brisque_reference(const uint8_t *gray, int width, int height,
                              double out[LMMIQA_BRISQUE_DIM],
                              double fits[LMMIQA__BRISQUE_FITS])
{
    if (width < 1 || height < 1)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "BRISQUE: image size %dx%d is empty",
                            width, height);
    double fit_local[LMMIQA__BRISQUE_FITS];
    if (!fits)
        fits = fit_local;
    size_t n = (size_t)width * height;
    int w2, h2, rc;
    if ((rc = lmmiqa_resize_dims(width, height, 0.5, &w2, &h2)))
        return rc;
    double *im = lmmiqa__malloc(n * sizeof *im);
    double *im2 = lmmiqa__malloc((size_t)w2 * h2 * sizeof *im2);
    rc = LMMIQA_ERR_NOMEM;
    if (!im || !im2)
        goto done;
    for (size_t i = 0; i < n; i++)
        im[i] = gray[i];
    if ((rc = ref_scale(im, width, height, 1, out, fits)))
        goto done;
    if ((rc = lmmiqa_resize_scale(im, width, height, 0.5, im2, NULL)))
        goto done;
    rc = ref_scale(im2, w2, h2, 2, out + 18, fits + 5);
done:
    free(im);
    free(im2);
    return rc;
}
