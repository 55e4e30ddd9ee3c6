/*
 * src/features/brisque.c - the fast BRISQUE feature path (see
 * include/lmmiqa/brisque.h and docs/brisque.md).
 *
 * Design: per scale, two fused passes over the image, all in double.
 *  1. Row pass (per image row, into a 7-row ring): for each pixel the
 *     horizontal 7-tap sums of the differences e_k = x[j+k] - x[j]:
 *       H[j] = -sum_k g_k e_k     E[j] = sum_k g_k e_k^2
 *     (zero padding outside the image).
 *  2. Column pass (per output row r, from rows r-3..r+3): with
 *     f_m = I[r+m][j] - I[r][j],
 *       d   = sum_m g_m (H[r+m] - f_m)                   = I - mu
 *       var = sum_m g_m (E[r+m] + f_m (f_m - 2 H[r+m])) - d^2
 *                                                        = filter2(w, I.^2) - mu.^2
 *     so MSCN = d / (sqrt(|var|) + 1) as brisque_feature.m, but computed
 *     from local differences: a flat (or point-symmetric) neighbourhood
 *     gives exactly d = 0 and var = 0 instead of MATLAB's rounding noise,
 *     whose sign would otherwise decide which side of the AGGD a zero
 *     product falls on (docs/brisque.md, "flat regions").
 *  3. As soon as an MSCN row exists, its GGD sums and the sums of its four
 *     circshift neighbour products with the previous row (counts and sums of
 *     squares of each sign, sums of |x|) are accumulated without
 *     materialising the products; the wrap-around pairs with row 0 are added
 *     at the end. Only three MSCN rows are alive at a time.
 * Hot loops use GCC vector extensions (4 doubles; two SSE2 halves on
 * baseline x86-64) with fixed lane order, so results do not depend on the
 * instruction set. Rows are padded (4 zero doubles left, zeros right up to
 * a multiple of 4 plus 4) so the 7-tap reads need no edge cases.
 * Scratch lives in lmmiqa_brisque_state and only grows.
 */
#include "features/brisque_internal.h"

#include "core/internal.h"
#include "image/resize_internal.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef double v4d __attribute__((vector_size(32)));
typedef long long v4i __attribute__((vector_size(32)));
/* unaligned, aliasing view for loads and stores */
typedef double v4du __attribute__((vector_size(32), aligned(8), may_alias));
#define LD(p) (*(const v4du *)(const void *)(p))
#define ST(p, v) (*(v4du *)(void *)(p) = (v))

#define PAD 4 /* zero doubles left of each row */

struct lmmiqa_brisque_state {
    size_t cap;      /* bytes */
    void *buf;
    size_t gray_cap; /* bytes, for lmmiqa_brisque_features */
    uint8_t *gray;
};

int lmmiqa_brisque_state_create(lmmiqa_brisque_state **out)
{
    assert(out);
    *out = lmmiqa__calloc(1, sizeof **out);
    return *out ? LMMIQA_OK : LMMIQA_ERR_NOMEM;
}

void lmmiqa_brisque_state_destroy(lmmiqa_brisque_state *st)
{
    if (!st)
        return;
    free(st->buf);
    free(st->gray);
    free(st);
}

static int state_reserve(lmmiqa_brisque_state *st, size_t bytes)
{
    if (bytes <= st->cap)
        return LMMIQA_OK;
    size_t want = st->cap + st->cap / 2;
    if (want < bytes)
        want = bytes;
    void *p = lmmiqa__malloc(want);
    if (!p)
        return LMMIQA_ERR_NOMEM;
    free(st->buf);
    st->buf = p;
    st->cap = want;
    return LMMIQA_OK;
}

/* Row stride (doubles) of a padded row of width w. */
static size_t row_stride(int w) { return (size_t)PAD + (((size_t)w + 3) & ~(size_t)3) + 4; }

/* ---- per-scale kernels --------------------------------------------------- */

/* The 9 weight classes of the 7x7 window besides the centre: offsets
 * (dy, dx) with {|dy|, |dx|} = {a, b}, a <= b, and their sizes. */
#define NCLASS 9
static const int class_a[NCLASS] = {0, 0, 0, 1, 1, 1, 2, 2, 3};
static const int class_b[NCLASS] = {1, 2, 3, 1, 2, 3, 2, 3, 3};
static const double class_n[NCLASS] = {4, 4, 4, 4, 8, 8, 4, 8, 4};

/* Row-pass arrays kept per ring row: A_k = x[j+k] + x[j-k] (k = 1..3),
 * Q_0 = x[j]^2, Q_k = x[j+k]^2 + x[j-k]^2. */
enum { RA1, RA2, RA3, RQ0, RQ1, RQ2, RQ3, RN };

/* Row pass: padded row x (data at x[PAD]) -> the RN arrays of one ring slot.
 * Shapes: x [PAD + n4 + 4], out[k] [n4]; n4 = width rounded up to 4. */
static void row_pass(const double *x, size_t n4, double *const out[RN])
{
    const double *p = x + PAD;
    for (size_t j = 0; j < n4; j += 4) {
        v4d c = LD(p + j);
        v4d r1 = LD(p + j + 1), l1 = LD(p + j - 1);
        v4d r2 = LD(p + j + 2), l2 = LD(p + j - 2);
        v4d r3 = LD(p + j + 3), l3 = LD(p + j - 3);
        ST(out[RA1] + j, r1 + l1);
        ST(out[RA2] + j, r2 + l2);
        ST(out[RA3] + j, r3 + l3);
        ST(out[RQ0] + j, c * c);
        ST(out[RQ1] + j, r1 * r1 + l1 * l1);
        ST(out[RQ2] + j, r2 * r2 + l2 * l2);
        ST(out[RQ3] + j, r3 * r3 + l3 * l3);
    }
}

static inline void vsqrt_abs(double *v)
{
#if defined(__SSE2__)
    __m128d lo = _mm_loadu_pd(v), hi = _mm_loadu_pd(v + 2);
    const __m128d mask = _mm_castsi128_pd(_mm_set1_epi64x(0x7fffffffffffffffLL));
    _mm_storeu_pd(v, _mm_sqrt_pd(_mm_and_pd(lo, mask)));
    _mm_storeu_pd(v + 2, _mm_sqrt_pd(_mm_and_pd(hi, mask)));
#else
    for (int l = 0; l < 4; l++)
        v[l] = sqrt(fabs(v[l]));
#endif
}

/* Column pass for one output row r. img[m] (m = 0..6 for rows r-3..r+3) are
 * image rows (data pointers; a zero row outside), ring[m][k] the row-pass
 * arrays of those rows. For each weight class: SI = sum of the class's
 * pixels, SQ = sum of their squares (pair sums taken in a fixed order, so
 * exact on integers), S = n c - SI, S2 = SQ - 2 c SI + n c^2; then
 * d = sum w S = I - mu, var = sum w S2 - d^2, MSCN = d / (sqrt|var| + 1).
 * out [n4]. */
static void col_pass(const double *const img[7], const double *const ring[7][RN], size_t n4,
                     const double w[NCLASS], double *out)
{
#define A(m, k) LD(ring[3 + (m)][RA1 + (k) - 1] + j)
#define Q(m, k) LD(ring[3 + (m)][RQ0 + (k)] + j)
#define I(m) LD(img[3 + (m)] + j)
    for (size_t j = 0; j < n4; j += 4) {
        v4d c = I(0);
        v4d si[NCLASS], sq[NCLASS];
        si[0] = A(0, 1) + (I(1) + I(-1));
        sq[0] = Q(0, 1) + (Q(1, 0) + Q(-1, 0));
        si[1] = A(0, 2) + (I(2) + I(-2));
        sq[1] = Q(0, 2) + (Q(2, 0) + Q(-2, 0));
        si[2] = A(0, 3) + (I(3) + I(-3));
        sq[2] = Q(0, 3) + (Q(3, 0) + Q(-3, 0));
        si[3] = A(1, 1) + A(-1, 1);
        sq[3] = Q(1, 1) + Q(-1, 1);
        si[4] = (A(1, 2) + A(-1, 2)) + (A(2, 1) + A(-2, 1));
        sq[4] = (Q(1, 2) + Q(-1, 2)) + (Q(2, 1) + Q(-2, 1));
        si[5] = (A(1, 3) + A(-1, 3)) + (A(3, 1) + A(-3, 1));
        sq[5] = (Q(1, 3) + Q(-1, 3)) + (Q(3, 1) + Q(-3, 1));
        si[6] = A(2, 2) + A(-2, 2);
        sq[6] = Q(2, 2) + Q(-2, 2);
        si[7] = (A(2, 3) + A(-2, 3)) + (A(3, 2) + A(-3, 2));
        sq[7] = (Q(2, 3) + Q(-2, 3)) + (Q(3, 2) + Q(-3, 2));
        si[8] = A(3, 3) + A(-3, 3);
        sq[8] = Q(3, 3) + Q(-3, 3);
        v4d c2 = 2.0 * c, cc = c * c;
        v4d d = w[0] * (class_n[0] * c - si[0]);
        v4d v = w[0] * ((sq[0] - c2 * si[0]) + class_n[0] * cc);
        for (int k = 1; k < NCLASS; k++) {
            d += w[k] * (class_n[k] * c - si[k]);
            v += w[k] * ((sq[k] - c2 * si[k]) + class_n[k] * cc);
        }
        double sig[4];
        ST(sig, v - d * d);
        vsqrt_abs(sig);
        ST(out + j, d / (LD(sig) + 1.0));
    }
#undef A
#undef Q
#undef I
}

/* Lane accumulators of one sample vector. */
typedef struct acc {
    double sq[4], abs[4], neg_sq[4], neg_n[4], pos_sq[4], pos_n[4];
} acc;

/* Add the products a[j] * b[j], j < n. */
static void acc_products(acc *A, const double *a, const double *b, size_t n)
{
    const v4i absm = {0x7fffffffffffffffLL, 0x7fffffffffffffffLL, 0x7fffffffffffffffLL,
                      0x7fffffffffffffffLL};
    const v4d one = {1.0, 1.0, 1.0, 1.0}, zero = {0.0, 0.0, 0.0, 0.0};
    v4d ab = LD(A->abs), nsq = LD(A->neg_sq), nn = LD(A->neg_n);
    v4d psq = LD(A->pos_sq), pn = LD(A->pos_n);
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        v4d p = LD(a + j) * LD(b + j);
        v4d q = p * p;
        v4i neg = p < zero, pos = p > zero;
        ab += (v4d)((v4i)p & absm);
        nsq += (v4d)((v4i)q & neg);
        nn += (v4d)((v4i)one & neg);
        psq += (v4d)((v4i)q & pos);
        pn += (v4d)((v4i)one & pos);
    }
    ST(A->abs, ab);
    ST(A->neg_sq, nsq);
    ST(A->neg_n, nn);
    ST(A->pos_sq, psq);
    ST(A->pos_n, pn);
    for (; j < n; j++) {
        double p = a[j] * b[j], q = p * p;
        A->abs[0] += fabs(p);
        if (p < 0) {
            A->neg_sq[0] += q;
            A->neg_n[0] += 1;
        } else if (p > 0) {
            A->pos_sq[0] += q;
            A->pos_n[0] += 1;
        }
    }
}

/* GGD sums of x[j], j < n. */
static void acc_values(acc *A, const double *x, size_t n)
{
    const v4i absm = {0x7fffffffffffffffLL, 0x7fffffffffffffffLL, 0x7fffffffffffffffLL,
                      0x7fffffffffffffffLL};
    v4d sq = LD(A->sq), ab = LD(A->abs);
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        v4d v = LD(x + j);
        sq += v * v;
        ab += (v4d)((v4i)v & absm);
    }
    ST(A->sq, sq);
    ST(A->abs, ab);
    for (; j < n; j++) {
        A->sq[0] += x[j] * x[j];
        A->abs[0] += fabs(x[j]);
    }
}

static double lanes(const double l[4]) { return (l[0] + l[1]) + (l[2] + l[3]); }

static void acc_sums(const acc *A, double n, lmmiqa__brisque_sums *s)
{
    s->n = n;
    s->abs = lanes(A->abs);
    s->neg_sq = lanes(A->neg_sq);
    s->neg_n = lanes(A->neg_n);
    s->pos_sq = lanes(A->pos_sq);
    s->pos_n = lanes(A->pos_n);
    s->sq = lanes(A->sq);
}

/* The four circshift products of row `cur` (row r) with `prev` (row r-1,
 * circular): shifts [1 0] and [1 1] of row r, [-1 1] of row r-1. */
static void acc_vertical(acc A[4], const double *cur, const double *prev, size_t w)
{
    acc_products(&A[1], cur, prev, w);                 /* X[r][j] X[r-1][j]   */
    acc_products(&A[2], cur + 1, prev, w - 1);         /* X[r][j] X[r-1][j-1] */
    acc_products(&A[2], cur, prev + w - 1, 1);         /*   j = 0 wraps       */
    acc_products(&A[3], prev + 1, cur, w - 1);         /* X[r-1][j] X[r][j-1] */
    acc_products(&A[3], prev, cur + w - 1, 1);
}

static void acc_horizontal(acc A[4], const double *cur, size_t w)
{
    acc_products(&A[0], cur + 1, cur, w - 1);          /* X[r][j] X[r][j-1]   */
    acc_products(&A[0], cur, cur + w - 1, 1);
}

/* Scratch (doubles) one scale needs besides its image: the ring (7 rows of
 * RN arrays), a zero row, three MSCN rows. */
static size_t scale_scratch(int w) { return row_stride(w) * (7 * RN + 1 + 3); }

static const char *const direction_names[4] = {"horizontal", "vertical", "diagonal",
                                               "anti-diagonal"};

/* The 18 features of one scale. img: padded rows (data at PAD), h rows. */
static int scale_features(const double *img, int w, int h, size_t stride, double *scratch,
                          int scale_no, double out[18], double fits[5])
{
    double g7[7], w8[NCLASS];
    lmmiqa__brisque_gauss(g7);
    for (int k = 0; k < NCLASS; k++)
        w8[k] = g7[3 + class_a[k]] * g7[3 + class_b[k]];
    size_t n4 = ((size_t)w + 3) & ~(size_t)3;
    size_t rs = row_stride(w);
    double *ring = scratch, *zero = ring + 7 * RN * rs;
    double *m0 = zero + rs, *ma = m0 + rs, *mb = ma + rs;
    memset(zero, 0, rs * sizeof *zero);

    acc G, A[4];
    memset(&G, 0, sizeof G);
    memset(A, 0, sizeof A);
    int next = 0; /* rows done by the row pass */
    double *prev = NULL;
    for (int r = 0; r < h; r++) {
        int need = r + 3 < h ? r + 3 : h - 1;
        for (; next <= need; next++) {
            double *slot[RN];
            for (int k = 0; k < RN; k++)
                slot[k] = ring + ((size_t)(next % 7) * RN + k) * rs;
            row_pass(img + (size_t)next * stride, n4, slot);
        }
        const double *rows[7], *rr[7][RN];
        for (int m = -3; m <= 3; m++) {
            int q = r + m;
            int out = q < 0 || q >= h;
            rows[m + 3] = out ? zero : img + (size_t)q * stride + PAD;
            for (int k = 0; k < RN; k++)
                rr[m + 3][k] = out ? zero : ring + ((size_t)(q % 7) * RN + k) * rs;
        }
        double *cur = r == 0 ? m0 : (prev == ma ? mb : ma);
        col_pass(rows, rr, n4, w8, cur);
        acc_values(&G, cur, (size_t)w);
        acc_horizontal(A, cur, (size_t)w);
        if (r > 0)
            acc_vertical(A, cur, prev, (size_t)w);
        prev = cur;
    }
    /* wrap-around: row 0 pairs with row h-1 (for h == 1, with itself) */
    acc_vertical(A, m0, prev, (size_t)w);

    char what[64];
    double npix = (double)w * (double)h;
    lmmiqa__brisque_sums s;
    acc_sums(&G, npix, &s);
    snprintf(what, sizeof what, "scale %d, MSCN coefficients", scale_no);
    int rc = lmmiqa__brisque_fit_ggd(&s, what, out, fits ? &fits[0] : NULL);
    if (rc)
        return rc;
    for (int k = 0; k < 4; k++) {
        acc_sums(&A[k], npix, &s);
        s.sq = s.neg_sq + s.pos_sq;
        snprintf(what, sizeof what, "scale %d, %s products", scale_no, direction_names[k]);
        rc = lmmiqa__brisque_fit_aggd(&s, what, out + 2 + 4 * k, fits ? &fits[1 + k] : NULL);
        if (rc)
            return rc;
    }
    return LMMIQA_OK;
}

/* ---- public entry points ------------------------------------------------- */

static int check_dims(int width, int height)
{
    if (width < 1 || height < 1)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "BRISQUE: image size %dx%d is empty",
                            width, height);
    if (width > LMMIQA_BRISQUE_MAX_SIDE || height > LMMIQA_BRISQUE_MAX_SIDE)
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE,
                            "BRISQUE: image size %dx%d exceeds %d pixels a side", width,
                            height, LMMIQA_BRISQUE_MAX_SIDE);
    return LMMIQA_OK;
}

int lmmiqa__brisque_features_fit(lmmiqa_brisque_state *st, const uint8_t *gray, int width,
                                 int height, double out[LMMIQA_BRISQUE_DIM],
                                 double fits[LMMIQA__BRISQUE_FITS])
{
    assert(st && gray && out);
    int rc = check_dims(width, height);
    if (rc)
        return rc;
    int w2, h2;
    size_t rbytes;
    if ((rc = lmmiqa_resize_dims(width, height, 0.5, &w2, &h2)) ||
        (rc = lmmiqa_resize_scratch_bytes(width, height, 0.5, &rbytes)))
        return rc;
    size_t s1 = row_stride(width), s2 = row_stride(w2);
    /* doubles: image 1, image 2, per-scale scratch (scale 1 is the larger);
     * then the resize scratch. Sides <= 65536 keep every product in size_t. */
    size_t doubles = s1 * (size_t)height + s2 * (size_t)h2 + scale_scratch(width);
    size_t bytes = doubles * sizeof(double) + rbytes;
    if ((rc = state_reserve(st, bytes)))
        return rc;
    double *img1 = st->buf, *img2 = img1 + s1 * (size_t)height;
    double *scr = img2 + s2 * (size_t)h2;
    void *rscr = scr + scale_scratch(width);

    for (int y = 0; y < height; y++) {
        double *row = img1 + (size_t)y * s1;
        const uint8_t *src = gray + (size_t)y * width;
        memset(row, 0, PAD * sizeof *row);
        for (int x = 0; x < width; x++)
            row[PAD + x] = (double)src[x];
        memset(row + PAD + width, 0, (s1 - PAD - (size_t)width) * sizeof *row);
    }
    rc = scale_features(img1, width, height, s1, scr, 1, out, fits);
    if (rc)
        return rc;
    for (int y = 0; y < h2; y++) {
        double *row = img2 + (size_t)y * s2;
        memset(row, 0, PAD * sizeof *row);
        memset(row + PAD + w2, 0, (s2 - PAD - (size_t)w2) * sizeof *row);
    }
    rc = lmmiqa__resize_scale_strided(img1 + PAD, width, height, s1, 0.5, img2 + PAD, s2, rscr);
    if (rc)
        return rc;
    return scale_features(img2, w2, h2, s2, scr, 2, out + 18, fits ? fits + 5 : NULL);
}

int lmmiqa_brisque_features_gray(lmmiqa_brisque_state *st, const uint8_t *gray, int width,
                                 int height, double out[LMMIQA_BRISQUE_DIM])
{
    return lmmiqa__brisque_features_fit(st, gray, width, height, out, NULL);
}

int lmmiqa_brisque_features(lmmiqa_brisque_state *st, const lmmiqa_image *img,
                            double out[LMMIQA_BRISQUE_DIM])
{
    assert(st && img && out);
    int rc = check_dims(img->width, img->height);
    if (rc)
        return rc;
    size_t n = (size_t)img->width * (size_t)img->height;
    if (n > st->gray_cap) {
        uint8_t *p = lmmiqa__malloc(n);
        if (!p)
            return LMMIQA_ERR_NOMEM;
        free(st->gray);
        st->gray = p;
        st->gray_cap = n;
    }
    lmmiqa_image_to_gray(img, st->gray);
    return lmmiqa__brisque_features_fit(st, st->gray, img->width, img->height, out, NULL);
}

const char *lmmiqa_brisque_feature_name(int i)
{
    static const char *const names[LMMIQA_BRISQUE_DIM] = {
        "s1_ggd_alpha", "s1_ggd_sigma2",
        "s1_h_alpha", "s1_h_eta", "s1_h_l2", "s1_h_r2",
        "s1_v_alpha", "s1_v_eta", "s1_v_l2", "s1_v_r2",
        "s1_d1_alpha", "s1_d1_eta", "s1_d1_l2", "s1_d1_r2",
        "s1_d2_alpha", "s1_d2_eta", "s1_d2_l2", "s1_d2_r2",
        "s2_ggd_alpha", "s2_ggd_sigma2",
        "s2_h_alpha", "s2_h_eta", "s2_h_l2", "s2_h_r2",
        "s2_v_alpha", "s2_v_eta", "s2_v_l2", "s2_v_r2",
        "s2_d1_alpha", "s2_d1_eta", "s2_d1_l2", "s2_d1_r2",
        "s2_d2_alpha", "s2_d2_eta", "s2_d2_l2", "s2_d2_r2",
    };
    return i >= 0 && i < LMMIQA_BRISQUE_DIM ? names[i] : NULL;
}
