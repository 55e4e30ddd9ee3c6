/*
 * src/features/nss.c - the "nss" extractor: BRISQUE plus the quality
 * statistics it lacks (see nss_internal.h for the list and
 * docs/default-model.md for why each group is there).
 *
 * Design: the image is turned once into double planes on the 0..255 scale
 * (grey Y = 0.299 R + 0.587 G + 0.114 B and the opponent planes rg = R - G,
 * yb = (R + G) / 2 - B) and a 2x2 box pyramid of Y. Every statistic is
 * a sum over one of these planes, so the whole extractor is a dozen passes
 * over the image. MSCN statistics use moments (mean square, the ratio rho =
 * E|x|^2 / E[x^2] that BRISQUE's GGD fit inverts, left/right mean squares of
 * neighbour products) instead of a fitted distribution: always defined,
 * cheap, and monotone in the same shape parameters. The MSCN window is the
 * 7-tap Gaussian of BRISQUE applied separably (a plain 2-D version,
 * lmmiqa__nss_mscn_moments_reference, is the tests' reference). Scratch
 * lives in the state and only grows. All sums run in a fixed order, so the
 * features are the same bits on every run and thread count.
 */
#include "features/nss_internal.h"

#include "core/internal.h"
#include "lmmiqa/brisque.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_SHARP 32 /* side of the blocks of the local sharpness percentiles */
#define BLOCK_NOISE 8  /* side of the blocks of the flat-region noise percentile */
#define MSQ_FLOOR 1e-6 /* mean squares are reported as log(value + MSQ_FLOOR) */

struct lmmiqa__nss_state {
    size_t cap; /* doubles */
    double *buf;
    size_t vcap; /* doubles, block values */
    double *vals;
    lmmiqa_brisque_state *brisque;
};

#define B0 LMMIQA__NSS_BRISQUE_DIM
static const lmmiqa__nss_group groups[] = {
    {"brisque", 0, LMMIQA__NSS_BRISQUE_DIM},
    {"grey", B0, LMMIQA__NSS_GREY_DIM},
    {"sharp", B0 + LMMIQA__NSS_GREY_DIM, LMMIQA__NSS_SHARP_DIM},
    {"noise", B0 + LMMIQA__NSS_GREY_DIM + LMMIQA__NSS_SHARP_DIM,
     LMMIQA__NSS_NOISE_DIM},
    {"block",
     B0 + LMMIQA__NSS_GREY_DIM + LMMIQA__NSS_SHARP_DIM +
         LMMIQA__NSS_NOISE_DIM,
     LMMIQA__NSS_BLOCK_DIM},
    {"exposure",
     B0 + LMMIQA__NSS_GREY_DIM + LMMIQA__NSS_SHARP_DIM +
         LMMIQA__NSS_NOISE_DIM + LMMIQA__NSS_BLOCK_DIM,
     LMMIQA__NSS_EXPOSURE_DIM},
    {"colour",
     B0 + LMMIQA__NSS_GREY_DIM + LMMIQA__NSS_SHARP_DIM +
         LMMIQA__NSS_NOISE_DIM + LMMIQA__NSS_BLOCK_DIM + LMMIQA__NSS_EXPOSURE_DIM,
     LMMIQA__NSS_COLOUR_DIM},
    {"local",
     B0 + LMMIQA__NSS_GREY_DIM + LMMIQA__NSS_SHARP_DIM +
         LMMIQA__NSS_NOISE_DIM + LMMIQA__NSS_BLOCK_DIM + LMMIQA__NSS_EXPOSURE_DIM +
         LMMIQA__NSS_COLOUR_DIM,
     LMMIQA__NSS_LOCAL_DIM},
    {"region",
     B0 + LMMIQA__NSS_GREY_DIM + LMMIQA__NSS_SHARP_DIM + LMMIQA__NSS_NOISE_DIM +
         LMMIQA__NSS_BLOCK_DIM + LMMIQA__NSS_EXPOSURE_DIM + LMMIQA__NSS_COLOUR_DIM +
         LMMIQA__NSS_LOCAL_DIM,
     LMMIQA__NSS_REGION_DIM},
};
#undef B0

const lmmiqa__nss_group *lmmiqa__nss_groups(size_t *n)
{
    *n = sizeof groups / sizeof groups[0];
    return groups;
}

int lmmiqa__nss_state_create(lmmiqa__nss_state **out)
{
    assert(out);
    *out = lmmiqa__calloc(1, sizeof **out);
    if (!*out)
        return LMMIQA_ERR_NOMEM;
    int rc = lmmiqa_brisque_state_create(&(*out)->brisque);
    if (rc) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

void lmmiqa__nss_state_destroy(lmmiqa__nss_state *st)
{
    if (!st)
        return;
    free(st->buf);
    free(st->vals);
    lmmiqa_brisque_state_destroy(st->brisque);
    free(st);
}

static int reserve(double **buf, size_t *cap, size_t want)
{
    if (want <= *cap)
        return LMMIQA_OK;
    double *p = lmmiqa__malloc(want * sizeof *p);
    if (!p)
        return LMMIQA_ERR_NOMEM;
    free(*buf);
    *buf = p;
    *cap = want;
    return LMMIQA_OK;
}

/* ---- MSCN moments --------------------------------------------------------- */

static void gauss7(double g[7])
{
    const double s = 7.0 / 6.0;
    double sum = 0;
    for (int k = 0; k < 7; k++) {
        g[k] = exp(-(double)((k - 3) * (k - 3)) / (2 * s * s));
        sum += g[k];
    }
    for (int k = 0; k < 7; k++)
        g[k] /= sum;
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Accumulators of one neighbour-product direction. */
typedef struct prod_acc {
    double n, sum, abs_sum, sq, neg_n, neg_sq, pos_n, pos_sq;
} prod_acc;

static void prod_add(prod_acc *a, double p)
{
    a->n += 1;
    a->sum += p;
    a->abs_sum += fabs(p);
    a->sq += p * p;
    if (p < 0) {
        a->neg_n += 1;
        a->neg_sq += p * p;
    } else if (p > 0) {
        a->pos_n += 1;
        a->pos_sq += p * p;
    }
}

static double rho_of(double n, double abs_sum, double sq)
{
    if (n <= 0 || sq <= 0)
        return 0;
    double m1 = abs_sum / n;
    return m1 * m1 / (sq / n);
}

/* The statistics of an MSCN plane m (w x h). */
static void mscn_stats(const double *m, int w, int h, double out[LMMIQA__NSS_MSCN_DIM])
{
    double sq = 0, abs_sum = 0;
    prod_acc acc[4];
    memset(acc, 0, sizeof acc);
    for (int y = 0; y < h; y++) {
        const double *r = m + (size_t)y * (size_t)w;
        const double *d = y + 1 < h ? r + w : NULL;
        for (int x = 0; x < w; x++) {
            double v = r[x];
            sq += v * v;
            abs_sum += fabs(v);
            if (x + 1 < w)
                prod_add(&acc[0], v * r[x + 1]);
            if (d) {
                prod_add(&acc[1], v * d[x]);
                if (x + 1 < w) {
                    prod_add(&acc[2], v * d[x + 1]);
                    prod_add(&acc[3], r[x + 1] * d[x]);
                }
            }
        }
    }
    double n = (double)w * (double)h;
    out[0] = log(sq / n + MSQ_FLOOR);
    out[1] = rho_of(n, abs_sum, sq);
    for (int k = 0; k < 4; k++) {
        const prod_acc *a = &acc[k];
        out[2 + 4 * k] = a->n > 0 ? a->sum / a->n : 0;
        out[3 + 4 * k] = log((a->neg_n > 0 ? a->neg_sq / a->neg_n : 0) + MSQ_FLOOR);
        out[4 + 4 * k] = log((a->pos_n > 0 ? a->pos_sq / a->pos_n : 0) + MSQ_FLOOR);
        out[5 + 4 * k] = rho_of(a->n, a->abs_sum, a->sq);
    }
}

void lmmiqa__nss_mscn_moments(const double *x, int w, int h, double *scratch,
                              double out[LMMIQA__NSS_MSCN_DIM])
{
    size_t n = (size_t)w * (size_t)h;
    double *hm = scratch, *hq = scratch + n, *m = scratch + 2 * n;
    double g[7];
    gauss7(g);
    for (int y = 0; y < h; y++) {
        const double *r = x + (size_t)y * (size_t)w;
        double *om = hm + (size_t)y * (size_t)w, *oq = hq + (size_t)y * (size_t)w;
        for (int c = 0; c < w; c++) {
            double sm = 0, sq = 0;
            for (int k = 0; k < 7; k++) {
                double v = r[clampi(c + k - 3, 0, w - 1)];
                sm += g[k] * v;
                sq += g[k] * (v * v);
            }
            om[c] = sm;
            oq[c] = sq;
        }
    }
    for (int y = 0; y < h; y++) {
        size_t rows[7];
        for (int k = 0; k < 7; k++)
            rows[k] = (size_t)clampi(y + k - 3, 0, h - 1) * (size_t)w;
        const double *r = x + (size_t)y * (size_t)w;
        double *om = m + (size_t)y * (size_t)w;
        for (int c = 0; c < w; c++) {
            double mu = 0, q = 0;
            for (int k = 0; k < 7; k++) {
                mu += g[k] * hm[rows[k] + (size_t)c];
                q += g[k] * hq[rows[k] + (size_t)c];
            }
            double var = q - mu * mu;
            om[c] = (r[c] - mu) / (sqrt(var > 0 ? var : 0) + 1);
        }
    }
    mscn_stats(m, w, h, out);
}

void lmmiqa__nss_mscn_moments_reference(const double *x, int w, int h,
                                        double out[LMMIQA__NSS_MSCN_DIM])
{
    double g[7];
    gauss7(g);
    double *m = malloc((size_t)w * (size_t)h * sizeof *m);
    if (!m) {
        for (int k = 0; k < LMMIQA__NSS_MSCN_DIM; k++)
            out[k] = NAN;
        return;
    }
    for (int y = 0; y < h; y++)
        for (int c = 0; c < w; c++) {
            double mu = 0, q = 0;
            for (int i = 0; i < 7; i++)
                for (int j = 0; j < 7; j++) {
                    double v = x[(size_t)clampi(y + i - 3, 0, h - 1) * (size_t)w +
                                 (size_t)clampi(c + j - 3, 0, w - 1)];
                    mu += g[i] * g[j] * v;
                    q += g[i] * g[j] * v * v;
                }
            double var = q - mu * mu;
            m[(size_t)y * (size_t)w + (size_t)c] =
                (x[(size_t)y * (size_t)w + (size_t)c] - mu) / (sqrt(var > 0 ? var : 0) + 1);
        }
    mscn_stats(m, w, h, out);
    free(m);
}

/* ---- small building blocks -------------------------------------------------- */

void lmmiqa__nss_halve(const double *in, int w, int h, double *out)
{
    int ow = w / 2, oh = h / 2;
    for (int y = 0; y < oh; y++) {
        const double *a = in + (size_t)(2 * y) * (size_t)w, *b = a + w;
        double *o = out + (size_t)y * (size_t)ow;
        for (int x = 0; x < ow; x++)
            o[x] = 0.25 * ((a[2 * x] + a[2 * x + 1]) + (b[2 * x] + b[2 * x + 1]));
    }
}

double lmmiqa__nss_noise_sigma(const double *x, int w, int h)
{
    if (w < 3 || h < 3)
        return 0;
    double sum = 0;
    for (int y = 1; y + 1 < h; y++) {
        const double *a = x + (size_t)(y - 1) * (size_t)w, *b = a + w, *c = b + w;
        for (int i = 1; i + 1 < w; i++) {
            double v = (a[i - 1] + a[i + 1] + c[i - 1] + c[i + 1]) -
                       2 * (a[i] + b[i - 1] + b[i + 1] + c[i]) + 4 * b[i];
            sum += fabs(v);
        }
    }
    const double pi = 3.14159265358979323846;
    return sqrt(pi / 2) * sum / (6.0 * (double)(w - 2) * (double)(h - 2));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* q-quantile of sorted v[n] (nearest rank). */
static double quantile(const double *v, size_t n, double q)
{
    size_t i = (size_t)floor(q * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

/* Laplacian 4x - (4 neighbours) squared at interior pixel (x, y). */
static double lap2(const double *p, int w, int x, int y)
{
    const double *r = p + (size_t)y * (size_t)w;
    double v = 4 * r[x] - (r[x - 1] + r[x + 1]) - (r[x - w] + r[x + w]);
    return v * v;
}

/* log1p(mean squared Laplacian), log1p(mean gradient magnitude) of a plane. */
static void sharp_global(const double *p, int w, int h, double out[2])
{
    double l = 0, g = 0;
    for (int y = 1; y + 1 < h; y++)
        for (int x = 1; x + 1 < w; x++) {
            const double *r = p + (size_t)y * (size_t)w;
            double gx = 0.5 * (r[x + 1] - r[x - 1]), gy = 0.5 * (r[x + w] - r[x - w]);
            l += lap2(p, w, x, y);
            g += sqrt(gx * gx + gy * gy);
        }
    double n = (double)(w - 2) * (double)(h - 2);
    out[0] = log1p(l / n);
    out[1] = log1p(g / n);
}

static const double local_q[5] = {0.1, 0.25, 0.5, 0.75, 0.9};

/* Sort v[n] and write its local_q quantiles to out[0..4]. */
static void quantiles5(double *v, size_t n, double *out)
{
    qsort(v, n, sizeof *v, cmp_double);
    for (int k = 0; k < 5; k++)
        out[k] = quantile(v, n, local_q[k]);
}

/* Block statistics of the grey plane (BLOCK_SHARP blocks of Y, half-size
 * blocks of Y/2, the same image regions): quantiles over blocks of
 * [0..4] log contrast log1p(std), [5..9] contrast-normalised sharpness
 * log((Laplacian energy + 1) / (variance + 1)), [10..14] mean brightness / 255,
 * [15..19] log1p(Laplacian energy) of Y/2, [20..24] the blur ratio
 * log1p(energy of Y) - log1p(energy of Y/2), and [25..27] the 50/90/99 %
 * quantiles of the gradient magnitude of Y (log1p, from a 0.25-wide
 * histogram). */
static int local_stats(lmmiqa__nss_state *st, const double *Y, int w, int h, const double *Y2,
                       int w2, int h2, double *o)
{
    const int B = BLOCK_SHARP, B2 = BLOCK_SHARP / 2;
    int bw = (w2 - 2) / B2, bh = (h2 - 2) / B2;
    size_t nb = (size_t)bw * (size_t)bh;
    int rc = reserve(&st->vals, &st->vcap, 5 * nb);
    if (rc)
        return rc;
    double *con = st->vals, *nsh = con + nb, *bri = nsh + nb, *e2 = bri + nb, *ratio = e2 + nb;
    for (int by = 0; by < bh; by++)
        for (int bx = 0; bx < bw; bx++) {
            double e = 0, s = 0, q = 0, f = 0;
            for (int y = 2 + by * B; y < 2 + (by + 1) * B; y++)
                for (int x = 2 + bx * B; x < 2 + (bx + 1) * B; x++) {
                    double v = Y[(size_t)y * (size_t)w + (size_t)x];
                    e += lap2(Y, w, x, y);
                    s += v;
                    q += v * v;
                }
            for (int y = 1 + by * B2; y < 1 + (by + 1) * B2; y++)
                for (int x = 1 + bx * B2; x < 1 + (bx + 1) * B2; x++)
                    f += lap2(Y2, w2, x, y);
            double cnt = (double)B * B, m = s / cnt, var = q / cnt - m * m;
            var = var > 0 ? var : 0;
            e /= cnt;
            f /= (double)B2 * B2;
            size_t i = (size_t)by * (size_t)bw + (size_t)bx;
            con[i] = log1p(sqrt(var));
            nsh[i] = log((e + 1) / (var + 1));
            bri[i] = m / 255;
            e2[i] = log1p(f);
            ratio[i] = log1p(e) - log1p(f);
        }
    quantiles5(con, nb, o);
    quantiles5(nsh, nb, o + 5);
    quantiles5(bri, nb, o + 10);
    quantiles5(e2, nb, o + 15);
    quantiles5(ratio, nb, o + 20);
    /* gradient magnitude histogram: bins of 0.25 up to 512 */
    enum { GM_BINS = 2048 };
    double *hist = lmmiqa__calloc(GM_BINS, sizeof *hist);
    if (!hist)
        return LMMIQA_ERR_NOMEM;
    double total = 0;
    for (int y = 1; y + 1 < h; y++) {
        const double *r = Y + (size_t)y * (size_t)w;
        for (int x = 1; x + 1 < w; x++) {
            double gx = 0.5 * (r[x + 1] - r[x - 1]), gy = 0.5 * (r[x + w] - r[x - w]);
            int b = (int)(4 * sqrt(gx * gx + gy * gy));
            hist[b < GM_BINS ? b : GM_BINS - 1] += 1;
            total += 1;
        }
    }
    static const double gq[3] = {0.5, 0.9, 0.99};
    double cum = 0;
    int qi = 0;
    for (int b = 0; b < GM_BINS && qi < 3; b++) {
        cum += hist[b];
        while (qi < 3 && cum >= gq[qi] * total)
            o[25 + qi++] = log1p(0.25 * b);
    }
    while (qi < 3)
        o[25 + qi++] = log1p(0.25 * GM_BINS);
    free(hist);
    return LMMIQA_OK;
}

/* Regional colour and focus over BLOCK_SHARP blocks of the image: [0..2]
 * the 10/50/90 % quantiles of the blocks' colourfulness (as the global one,
 * / 255), [3..5] those of their mean HSV saturation, [6] the mean
 * contrast-normalised sharpness (as local_stats) of the blocks whose centre
 * lies in the middle half of the image (both axes) minus that of all
 * blocks, [7] and [8] the same difference for the mean brightness (/ 255)
 * and the contrast log1p(std). */
static int region_stats(lmmiqa__nss_state *st, const lmmiqa_image *img, const double *Y,
                        const double *RG, const double *YB, double *o)
{
    const int B = BLOCK_SHARP, w = img->width, h = img->height;
    int bw = (w - 2) / B, bh = (h - 2) / B;
    size_t nb = (size_t)bw * (size_t)bh;
    int rc = reserve(&st->vals, &st->vcap, 2 * nb);
    if (rc)
        return rc;
    double *col = st->vals, *sat = col + nb;
    double all[3] = {0}, centre[3] = {0}, n_centre = 0;
    for (int by = 0; by < bh; by++)
        for (int bx = 0; bx < bw; bx++) {
            double s_rg = 0, q_rg = 0, s_yb = 0, q_yb = 0, s_sat = 0, e = 0, s = 0, q = 0;
            for (int y = 1 + by * B; y < 1 + (by + 1) * B; y++)
                for (int x = 1 + bx * B; x < 1 + (bx + 1) * B; x++) {
                    size_t i = (size_t)y * (size_t)w + (size_t)x;
                    const uint8_t *p = img->pixels + 3 * i;
                    int mx = p[0] > p[1] ? (p[0] > p[2] ? p[0] : p[2]) : (p[1] > p[2] ? p[1] : p[2]);
                    int mn = p[0] < p[1] ? (p[0] < p[2] ? p[0] : p[2]) : (p[1] < p[2] ? p[1] : p[2]);
                    s_sat += mx > 0 ? (double)(mx - mn) / mx : 0;
                    s_rg += RG[i];
                    q_rg += RG[i] * RG[i];
                    s_yb += YB[i];
                    q_yb += YB[i] * YB[i];
                    e += lap2(Y, w, x, y);
                    s += Y[i];
                    q += Y[i] * Y[i];
                }
            double cnt = (double)B * B;
            double m_rg = s_rg / cnt, m_yb = s_yb / cnt, m = s / cnt;
            double v = (q_rg / cnt - m_rg * m_rg) + (q_yb / cnt - m_yb * m_yb);
            double var = q / cnt - m * m;
            size_t i = (size_t)by * (size_t)bw + (size_t)bx;
            col[i] = (sqrt(v > 0 ? v : 0) + 0.3 * sqrt(m_rg * m_rg + m_yb * m_yb)) / 255;
            sat[i] = s_sat / cnt;
            var = var > 0 ? var : 0;
            double f[3] = {log((e / cnt + 1) / (var + 1)), m / 255, log1p(sqrt(var))};
            int cx = 1 + bx * B + B / 2, cy = 1 + by * B + B / 2;
            int in = 4 * cx >= w && 4 * cx < 3 * w && 4 * cy >= h && 4 * cy < 3 * h;
            for (int k = 0; k < 3; k++) {
                all[k] += f[k];
                centre[k] += in ? f[k] : 0;
            }
            n_centre += in;
        }
    static const double q3[3] = {0.1, 0.5, 0.9};
    qsort(col, nb, sizeof *col, cmp_double);
    qsort(sat, nb, sizeof *sat, cmp_double);
    for (int k = 0; k < 3; k++) {
        o[k] = quantile(col, nb, q3[k]);
        o[3 + k] = quantile(sat, nb, q3[k]);
    }
    for (int k = 0; k < 3; k++)
        o[6 + k] = n_centre > 0 ? centre[k] / n_centre - all[k] / (double)nb : 0;
    return LMMIQA_OK;
}

/* ---- the extractor ---------------------------------------------------------- */

int lmmiqa__nss_features(lmmiqa__nss_state *st, const lmmiqa_image *img, double *out)
{
    assert(st && img && out);
    int w = img->width, h = img->height;
    if (w < LMMIQA__NSS_MIN_SIDE || h < LMMIQA__NSS_MIN_SIDE)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "nss: the image is %dx%d; both sides must be at least %d", w, h,
                            LMMIQA__NSS_MIN_SIDE);
    size_t n = (size_t)w * (size_t)h;
    /* planes: Y, rg, yb (n each); Y/2, Y/4, Y/8; scratch 3 * n/16 for the
     * MSCN moments (largest plane: Y/4). */
    size_t need = 3 * n + (n / 4 + 1) + (n / 16 + 1) + (n / 64 + 1) + 3 * (n / 16 + 1);
    int rc = reserve(&st->buf, &st->cap, need);
    if (rc)
        return rc;
    double *Y = st->buf, *RG = Y + n, *YB = RG + n;
    double *Y2 = YB + n, *Y4 = Y2 + n / 4 + 1, *Y8 = Y4 + n / 16 + 1;
    double *scratch = Y8 + n / 64 + 1;

    /* colour planes, exposure histogram and colourfulness in one pass */
    double hist[256] = {0};
    double s_rg = 0, s_yb = 0, q_rg = 0, q_yb = 0, s_sat = 0, q_sat = 0, s_y = 0, q_y = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = img->pixels + 3 * i;
        double r = p[0], g = p[1], b = p[2];
        double y = 0.299 * r + 0.587 * g + 0.114 * b;
        double rg = r - g, yb = 0.5 * (r + g) - b;
        Y[i] = y;
        RG[i] = rg;
        YB[i] = yb;
        hist[(int)(y + 0.5)] += 1;
        s_y += y;
        q_y += y * y;
        s_rg += rg;
        q_rg += rg * rg;
        s_yb += yb;
        q_yb += yb * yb;
        double mx = r > g ? (r > b ? r : b) : (g > b ? g : b);
        double mn = r < g ? (r < b ? r : b) : (g < b ? g : b);
        double sat = mx > 0 ? (mx - mn) / mx : 0;
        s_sat += sat;
        q_sat += sat * sat;
    }
    int w2 = w / 2, h2 = h / 2, w4 = w2 / 2, h4 = h2 / 2, w8 = w4 / 2, h8 = h4 / 2;
    lmmiqa__nss_halve(Y, w, h, Y2);
    lmmiqa__nss_halve(Y2, w2, h2, Y4);
    lmmiqa__nss_halve(Y4, w4, h4, Y8);

    double *o = out;
    /* BRISQUE; of every scale's 18 values the GGD alpha and sigma^2 and each
     * direction's AGGD alpha, l^2 and r^2 (all positive) as logs */
    rc = lmmiqa_brisque_features(st->brisque, img, o);
    if (rc)
        return rc;
    for (int k = 0; k < LMMIQA__NSS_BRISQUE_DIM; k++)
        if (k % 18 < 2 || (k % 18 - 2) % 4 != 1)
            o[k] = log(o[k]);
    o += LMMIQA__NSS_BRISQUE_DIM;
    /* grey MSCN at scales 3 and 4 (BRISQUE has 1 and 2) */
    lmmiqa__nss_mscn_moments(Y4, w4, h4, scratch, o);
    lmmiqa__nss_mscn_moments(Y8, w8, h8, scratch, o + LMMIQA__NSS_MSCN_DIM);
    o += LMMIQA__NSS_GREY_DIM;

    /* sharpness: global Laplacian energy and gradient at 3 scales, then the
     * local Laplacian energy of 32x32 blocks (10/50/90 % and the maximum) */
    sharp_global(Y, w, h, o);
    sharp_global(Y2, w2, h2, o + 2);
    sharp_global(Y4, w4, h4, o + 4);
    int bw = (w - 2) / BLOCK_SHARP, bh = (h - 2) / BLOCK_SHARP;
    size_t nb = (size_t)bw * (size_t)bh;
    int bn_w = w / BLOCK_NOISE, bn_h = h / BLOCK_NOISE;
    size_t nbn = (size_t)bn_w * (size_t)bn_h;
    rc = reserve(&st->vals, &st->vcap, nb > nbn ? nb : nbn);
    if (rc)
        return rc;
    for (int by = 0; by < bh; by++)
        for (int bx = 0; bx < bw; bx++) {
            double e = 0;
            for (int y = 1 + by * BLOCK_SHARP; y < 1 + (by + 1) * BLOCK_SHARP; y++)
                for (int x = 1 + bx * BLOCK_SHARP; x < 1 + (bx + 1) * BLOCK_SHARP; x++)
                    e += lap2(Y, w, x, y);
            st->vals[(size_t)by * (size_t)bw + (size_t)bx] =
                log1p(e / (BLOCK_SHARP * BLOCK_SHARP));
        }
    qsort(st->vals, nb, sizeof *st->vals, cmp_double);
    o[6] = quantile(st->vals, nb, 0.1);
    o[7] = quantile(st->vals, nb, 0.5);
    o[8] = quantile(st->vals, nb, 0.9);
    o[9] = st->vals[nb - 1];
    o += LMMIQA__NSS_SHARP_DIM;

    /* noise: Immerkaer's sigma of Y, Y/2, rg, yb; the 10 % quantile of the
     * standard deviation of 8x8 blocks (the flattest regions) */
    o[0] = log1p(lmmiqa__nss_noise_sigma(Y, w, h));
    o[1] = log1p(lmmiqa__nss_noise_sigma(Y2, w2, h2));
    o[2] = log1p(lmmiqa__nss_noise_sigma(RG, w, h));
    o[3] = log1p(lmmiqa__nss_noise_sigma(YB, w, h));
    for (int by = 0; by < bn_h; by++)
        for (int bx = 0; bx < bn_w; bx++) {
            double s = 0, q = 0;
            for (int y = by * BLOCK_NOISE; y < (by + 1) * BLOCK_NOISE; y++)
                for (int x = bx * BLOCK_NOISE; x < (bx + 1) * BLOCK_NOISE; x++) {
                    double v = Y[(size_t)y * (size_t)w + (size_t)x];
                    s += v;
                    q += v * v;
                }
            double m = s / (BLOCK_NOISE * BLOCK_NOISE);
            double var = q / (BLOCK_NOISE * BLOCK_NOISE) - m * m;
            st->vals[(size_t)by * (size_t)bn_w + (size_t)bx] = sqrt(var > 0 ? var : 0);
        }
    qsort(st->vals, nbn, sizeof *st->vals, cmp_double);
    o[4] = log1p(quantile(st->vals, nbn, 0.1));
    o += LMMIQA__NSS_NOISE_DIM;

    /* JPEG blockiness: mean absolute neighbour difference by position modulo
     * 8, across 8x8 block boundaries against inside blocks */
    double dh[8] = {0}, dv[8] = {0}, ch[8] = {0}, cv[8] = {0};
    for (int y = 0; y < h; y++) {
        const double *r = Y + (size_t)y * (size_t)w;
        for (int x = 0; x + 1 < w; x++) {
            dh[x & 7] += fabs(r[x + 1] - r[x]);
            ch[x & 7] += 1;
        }
        if (y + 1 < h)
            for (int x = 0; x < w; x++) {
                dv[y & 7] += fabs(r[x + w] - r[x]);
                cv[y & 7] += 1;
            }
    }
    double mh[8], mv[8], inner_h = 0, inner_v = 0, all = 0, mx = 0;
    for (int k = 0; k < 8; k++) {
        mh[k] = dh[k] / ch[k];
        mv[k] = dv[k] / cv[k];
        if (k < 7) {
            inner_h += mh[k] / 7;
            inner_v += mv[k] / 7;
        }
        double both = mh[k] + mv[k];
        all += both / 8;
        if (both > mx)
            mx = both;
    }
    const double eps = 1e-3;
    o[0] = log((mh[7] + eps) / (inner_h + eps));
    o[1] = log((mv[7] + eps) / (inner_v + eps));
    o[2] = log((mx + eps) / (all + eps));
    o += LMMIQA__NSS_BLOCK_DIM;

    /* exposure: mean, RMS contrast, quantiles, clipping, entropy */
    double nn = (double)n;
    double mean_y = s_y / nn, var_y = q_y / nn - mean_y * mean_y;
    o[0] = mean_y / 255;
    o[1] = sqrt(var_y > 0 ? var_y : 0) / 255;
    static const double qs[7] = {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99};
    double cum = 0;
    int qi = 0;
    for (int v = 0; v < 256 && qi < 7; v++) {
        cum += hist[v];
        while (qi < 7 && cum >= qs[qi] * nn)
            o[2 + qi++] = v / 255.0;
    }
    while (qi < 7)
        o[2 + qi++] = 1;
    o[9] = (hist[0] + hist[1] + hist[2]) / nn;
    o[10] = (hist[253] + hist[254] + hist[255]) / nn;
    double ent = 0;
    for (int v = 0; v < 256; v++)
        if (hist[v] > 0)
            ent -= hist[v] / nn * log2(hist[v] / nn);
    o[11] = ent;
    o += LMMIQA__NSS_EXPOSURE_DIM;

    /* colourfulness (Hasler and Suesstrunk) and HSV saturation */
    double m_rg = s_rg / nn, m_yb = s_yb / nn;
    double v_rg = q_rg / nn - m_rg * m_rg, v_yb = q_yb / nn - m_yb * m_yb;
    double sd_rg = sqrt(v_rg > 0 ? v_rg : 0), sd_yb = sqrt(v_yb > 0 ? v_yb : 0);
    double m_sat = s_sat / nn, v_sat = q_sat / nn - m_sat * m_sat;
    o[0] = m_rg / 255;
    o[1] = m_yb / 255;
    o[2] = sd_rg / 255;
    o[3] = sd_yb / 255;
    o[4] = (sqrt(sd_rg * sd_rg + sd_yb * sd_yb) + 0.3 * sqrt(m_rg * m_rg + m_yb * m_yb)) / 255;
    o[5] = m_sat;
    o[6] = sqrt(v_sat > 0 ? v_sat : 0);
    o += LMMIQA__NSS_COLOUR_DIM;

    rc = local_stats(st, Y, w, h, Y2, w2, h2, o);
    if (rc)
        return rc;
    o += LMMIQA__NSS_LOCAL_DIM;
    return region_stats(st, img, Y, RG, YB, o);
}

void lmmiqa__nss_feature_name(size_t i, char *buf, size_t size)
{
    static const char *const mscn[LMMIQA__NSS_MSCN_DIM] = {
        "msq", "rho", "h_mean", "h_l2", "h_r2", "h_rho", "v_mean", "v_l2", "v_r2", "v_rho",
        "d1_mean", "d1_l2", "d1_r2", "d1_rho", "d2_mean", "d2_l2", "d2_r2", "d2_rho"};
    static const char *const sharp[LMMIQA__NSS_SHARP_DIM] = {
        "lap_s1", "grad_s1", "lap_s2", "grad_s2", "lap_s3", "grad_s3",
        "local_p10", "local_p50", "local_p90", "local_max"};
    static const char *const noise[LMMIQA__NSS_NOISE_DIM] = {"sigma_s1", "sigma_s2", "sigma_rg",
                                                             "sigma_yb", "flat_std_p10"};
    static const char *const block[LMMIQA__NSS_BLOCK_DIM] = {"h", "v", "phase_peak"};
    static const char *const expo[LMMIQA__NSS_EXPOSURE_DIM] = {
        "mean", "contrast", "p01", "p05", "p25", "p50", "p75", "p95", "p99",
        "clip_low", "clip_high", "entropy"};
    static const char *const colour[LMMIQA__NSS_COLOUR_DIM] = {
        "mean_rg", "mean_yb", "std_rg", "std_yb", "colourfulness", "sat_mean", "sat_std"};
    static const char *const local_kind[6] = {"contrast", "nsharp", "bright", "lap_s2", "blur",
                                              "grad"};
    static const char *const local_q_name[5] = {"p10", "p25", "p50", "p75", "p90"};
    static const char *const grad_q_name[3] = {"p50", "p90", "p99"};
    size_t k = i;
    if (k < LMMIQA__NSS_BRISQUE_DIM) {
        snprintf(buf, size, "brisque_%s", lmmiqa_brisque_feature_name((int)k));
        return;
    }
    k -= LMMIQA__NSS_BRISQUE_DIM;
    if (k < LMMIQA__NSS_GREY_DIM) {
        snprintf(buf, size, "grey_s%zu_%s", 3 + k / LMMIQA__NSS_MSCN_DIM,
                 mscn[k % LMMIQA__NSS_MSCN_DIM]);
        return;
    }
    k -= LMMIQA__NSS_GREY_DIM;
    size_t before_local = LMMIQA__NSS_SHARP_DIM + LMMIQA__NSS_NOISE_DIM + LMMIQA__NSS_BLOCK_DIM +
                          LMMIQA__NSS_EXPOSURE_DIM + LMMIQA__NSS_COLOUR_DIM;
    if (k >= before_local && k < before_local + LMMIQA__NSS_LOCAL_DIM) {
        size_t j = k - before_local;
        if (j < 25)
            snprintf(buf, size, "local_%s_%s", local_kind[j / 5], local_q_name[j % 5]);
        else
            snprintf(buf, size, "local_%s_%s", local_kind[5], grad_q_name[j - 25]);
        return;
    }
    static const char *const region[LMMIQA__NSS_REGION_DIM] = {
        "colourful_p10", "colourful_p50", "colourful_p90", "sat_p10", "sat_p50", "sat_p90",
        "centre_nsharp", "centre_bright", "centre_contrast"};
    if (k >= before_local + LMMIQA__NSS_LOCAL_DIM &&
        k < before_local + LMMIQA__NSS_LOCAL_DIM + LMMIQA__NSS_REGION_DIM) {
        snprintf(buf, size, "region_%s", region[k - before_local - LMMIQA__NSS_LOCAL_DIM]);
        return;
    }
    const char *const *tables[] = {sharp, noise, block, expo, colour};
    const char *prefix[] = {"sharp", "noise", "block", "exposure", "colour"};
    const size_t dims[] = {LMMIQA__NSS_SHARP_DIM, LMMIQA__NSS_NOISE_DIM, LMMIQA__NSS_BLOCK_DIM,
                           LMMIQA__NSS_EXPOSURE_DIM, LMMIQA__NSS_COLOUR_DIM};
    for (size_t t = 0; t < 5; t++) {
        if (k < dims[t]) {
            snprintf(buf, size, "%s_%s", prefix[t], tables[t][k]);
            return;
        }
        k -= dims[t];
    }
    snprintf(buf, size, "f%zu", i + 1);
}
