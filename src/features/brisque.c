/*
 * src/features/brisque.c - the fast BRISQUE feature path (see
 * include/lmmiqa/brisque.h and docs/brisque.md).
 *
 * Design: per scale, two fused passes over the image, all in double.
 *  1. Row pass (per image row, into a 7-row ring): pair sums of the row
 *     neighbours A_k = x[j+k] + x[j-k] and of their squares Q_k (k = 1..3,
 *     Q_0 = x^2), zero padding outside the image.
 *  2. Column pass (per output row r, from rows r-3..r+3): the 7x7 window
 *     has 9 weight classes besides the centre (offsets with the same
 *     {|dy|, |dx|}); from the ring, each class's pixel sum SI and square sum
 *     SQ, then
 *       d   = sum_c w_c (n_c c - SI_c)                        = I - mu
 *       var = sum_c w_c ((SQ_c - 2 c SI_c) + n_c c^2) - d^2   = filter2(w, I.^2) - mu.^2
 *     (both use sum(w) = 1) and MSCN = d / (sqrt|var| + 1) as
 *     brisque_feature.m. On 8-bit input the class sums are exact integers,
 *     so d is exactly 0 wherever its true value is (flat or symmetric
 *     neighbourhoods), where MATLAB's I - mu is rounding noise whose sign
 *     would decide which side of the AGGD the zero products fall on
 *     (docs/brisque.md, "exact zeros"). The reference and the NumPy port
 *     form the class sums in the same order.
 *  3. As soon as an MSCN row exists, its GGD sums and the sums of its four
 *     circshift neighbour products with the previous row (counts and sums of
 *     squares of each sign, sums of |x|) are accumulated without
 *     materialising the products; the wrap-around pairs with row 0 are added
 *     at the end. Only three MSCN rows are alive at a time.
 * The loops (brisque_kernels.h) are instantiated for 2-double vectors
 * (SSE2 baseline / generic) and 4-double AVX2, picked at run time; both give
 * the same bits. Rows are padded (4 zero doubles left, zeros right up to a
 * multiple of 4 plus 4) so the 7-tap reads need no edge cases. Scratch lives
 * in lmmiqa_brisque_state and only grows.
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

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif


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

/* Row-pass arrays kept per ring row: A_k = x[j+k] + x[j-k] (k = 1..3),
 * Q_0 = x[j]^2, Q_k = x[j+k]^2 + x[j-k]^2. */
enum { RA1, RA2, RA3, RQ0, RQ1, RQ2, RQ3, RN };

/* Lane accumulators of one sample vector: 4 logical lanes (element j of a
 * row goes to lane j % 4 whatever the vector width, so the sums are the
 * same bits on every instruction set). */
typedef struct acc {
    double sq[4], abs[4], neg_sq[4], neg_n[4], pos_sq[4], pos_n[4];
} acc;

/* The kernels, instantiated for SSE2 (2 doubles per vector; the x86-64
 * baseline, or plain C elsewhere) and, on x86-64, AVX2 (4 doubles) chosen at
 * run time. Per element they execute the same operations in the same
 * order, so both give identical results. */
#define VW 2
#define FN(x) x##_w2
#include "features/brisque_kernels.h"
#undef VW
#undef FN
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC target("avx2")
#define VW 4
#define FN(x) x##_w4
#include "features/brisque_kernels.h"
#undef VW
#undef FN
#pragma GCC pop_options
#define HAVE_W4 1
#endif

typedef struct kernels {
    void (*row_pass)(const double *, size_t, double *const[RN]);
    void (*col_pass)(const double *const[7], const double *const[7][RN], size_t,
                     const double[NCLASS], double *);
    void (*acc_products)(acc *, const double *, const double *, size_t);
    void (*acc_values)(acc *, const double *, size_t);
} kernels;

static const kernels kernels_w2 = {row_pass_w2, col_pass_w2, acc_products_w2, acc_values_w2};
#ifdef HAVE_W4
static const kernels kernels_w4 = {row_pass_w4, col_pass_w4, acc_products_w4, acc_values_w4};
#endif

/* -1: not chosen yet; 0: w2; 1: w4. Written once per process (benign race:
 * every thread computes the same value). */
static int kernel_choice = -1;

static const kernels *kernels_get(void)
{
    int c = __atomic_load_n(&kernel_choice, __ATOMIC_RELAXED);
    if (c < 0) {
#ifdef HAVE_W4
        __builtin_cpu_init();
        c = __builtin_cpu_supports("avx2") ? 1 : 0;
#else
        c = 0;
#endif
        __atomic_store_n(&kernel_choice, c, __ATOMIC_RELAXED);
    }
#ifdef HAVE_W4
    if (c == 1)
        return &kernels_w4;
#endif
    return &kernels_w2;
}

int lmmiqa__brisque_use_wide(int wide)
{
    if (wide < 0) {
        __atomic_store_n(&kernel_choice, -1, __ATOMIC_RELAXED);
        return kernels_get() != &kernels_w2;
    }
#ifdef HAVE_W4
    __builtin_cpu_init();
    if (wide && !__builtin_cpu_supports("avx2"))
        return 0;
    __atomic_store_n(&kernel_choice, wide ? 1 : 0, __ATOMIC_RELAXED);
    return 1;
#else
    return wide ? 0 : 1;
#endif
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
static void acc_vertical(const kernels *K, acc A[4], const double *cur, const double *prev,
                         size_t w)
{
    K->acc_products(&A[1], cur, prev, w);              /* X[r][j] X[r-1][j]   */
    K->acc_products(&A[2], cur + 1, prev, w - 1);      /* X[r][j] X[r-1][j-1] */
    K->acc_products(&A[2], cur, prev + w - 1, 1);      /*   j = 0 wraps       */
    K->acc_products(&A[3], prev + 1, cur, w - 1);      /* X[r-1][j] X[r][j-1] */
    K->acc_products(&A[3], prev, cur + w - 1, 1);
}

static void acc_horizontal(const kernels *K, acc A[4], const double *cur, size_t w)
{
    K->acc_products(&A[0], cur + 1, cur, w - 1);       /* X[r][j] X[r][j-1]   */
    K->acc_products(&A[0], cur, cur + w - 1, 1);
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
    const kernels *K = kernels_get();
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
            K->row_pass(img + (size_t)next * stride, n4, slot);
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
        K->col_pass(rows, rr, n4, w8, cur);
        K->acc_values(&G, cur, (size_t)w);
        acc_horizontal(K, A, cur, (size_t)w);
        if (r > 0)
            acc_vertical(K, A, cur, prev, (size_t)w);
        prev = cur;
    }
    /* wrap-around: row 0 pairs with row h-1 (for h == 1, with itself) */
    acc_vertical(K, A, m0, prev, (size_t)w);

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
