/*
 * src/image/resize.c - MATLAB imresize (bicubic, antialiased) on double
 * images, and its dense reference (see include/lmmiqa/resize.h).
 *
 * Design: one weight/index table per dimension is built per call, exactly as
 * MATLAB's contributions() builds it (same operations in the same order, so
 * the weights are bit-identical to a literal port), with all-zero tap
 * columns dropped. The image is then resized along one dimension into an
 * intermediate buffer and along the other into the output. Along the height
 * the pass accumulates whole rows (w_k * row_k, taps in order), which
 * vectorises and keeps each output pixel's sum in tap order; along the width
 * each output pixel is a short dot product over its taps. Both give exactly
 * the per-pixel tap-order sum MATLAB's imresizemex computes.
 */
#include "image/resize_internal.h"

#include "core/internal.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TABLE_ENTRIES ((size_t)1 << 28)

/* One dimension's contributions: out_len x taps weights and 0-based input
 * indices (folded), taps after dropping all-zero columns. */
typedef struct axis_table {
    int in_len, out_len, taps;
    double *w;
    int *idx;
} axis_table;

/* MATLAB's cubic(): Keys kernel, a = -0.5. The two branches are written with
 * the operations of the MATLAB expression in its order. */
static double cubic(double x)
{
    double ax = fabs(x);
    double ax2 = ax * ax;
    double ax3 = ax2 * ax;
    if (ax <= 1.0)
        return 1.5 * ax3 - 2.5 * ax2 + 1.0;
    if (ax <= 2.0)
        return -0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0;
    return 0.0;
}

static double kernel(double x, double scale, int antialias)
{
    return antialias ? scale * cubic(scale * x) : cubic(x);
}

/* Kernel support and the number of taps P before dropping. */
static int axis_taps(double scale, double *support, size_t *taps)
{
    *support = 0.0;
    *taps = 0;
    double width = scale < 1.0 ? 4.0 / scale : 4.0;
    double p = ceil(width) + 2.0;
    if (!(p <= (double)MAX_TABLE_ENTRIES))
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE,
                            "resize: scale %g needs %.0f kernel taps (too small a scale)",
                            scale, p);
    *support = width;
    *taps = (size_t)p;
    return LMMIQA_OK;
}

/* Fold a 1-based tap position onto 1..n as MATLAB's aux = [1..n, n..1]
 * indexed with mod; returns the 0-based index. */
static int fold_index(long long j, int n)
{
    long long period = 2LL * n;
    long long m = (j - 1) % period;
    if (m < 0)
        m += period;
    return (int)(m < n ? m : period - 1 - m);
}

static int table_entries(int in_len, int out_len, double scale, size_t *entries,
                         size_t *taps)
{
    double support;
    int rc = axis_taps(scale, &support, taps);
    if (rc)
        return rc;
    (void)in_len;
    if (*taps > MAX_TABLE_ENTRIES / (size_t)out_len)
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE,
                            "resize: weight table of %d x %zu entries is too large", out_len,
                            *taps);
    *entries = (size_t)out_len * *taps;
    return LMMIQA_OK;
}

/* Build a table into w/idx (room for out_len x P entries). */
static void table_build(axis_table *t, int in_len, int out_len, double scale, double *w,
                        int *idx)
{
    double support;
    size_t p;
    int rc = axis_taps(scale, &support, &p);
    assert(rc == LMMIQA_OK);
    (void)rc;
    int antialias = scale < 1.0;
    size_t taps = p;
    for (int x = 0; x < out_len; x++) {
        double u = (double)(x + 1) / scale + 0.5 * (1.0 - 1.0 / scale);
        double left = floor(u - support / 2.0);
        double *wr = w + (size_t)x * taps;
        int *ir = idx + (size_t)x * taps;
        double sum = 0.0;
        for (size_t k = 0; k < taps; k++) {
            double pos = left + (double)k;
            wr[k] = kernel(u - pos, scale, antialias);
            sum += wr[k];
            ir[k] = fold_index((long long)pos, in_len);
        }
        for (size_t k = 0; k < taps; k++)
            wr[k] = wr[k] / sum;
    }
    /* Drop tap columns that are zero for every output pixel (compacting in
     * place: the write position never passes the read position). */
    size_t keep;
    size_t kept_cols[64];
    size_t nkept = 0;
    int small = taps <= 64;
    for (size_t k = 0; k < taps; k++) {
        int any = 0;
        for (int x = 0; x < out_len && !any; x++)
            any = w[(size_t)x * taps + k] != 0.0;
        if (any) {
            if (small)
                kept_cols[nkept] = k;
            nkept++;
        }
    }
    if (!small || nkept == taps || nkept == 0) {
        /* Wide tables (tiny scales) keep their zero columns: dropping them
         * changes no value, only speed. */
        keep = taps;
    } else {
        keep = nkept;
        for (int x = 0; x < out_len; x++)
            for (size_t c = 0; c < keep; c++) {
                w[(size_t)x * keep + c] = w[(size_t)x * taps + kept_cols[c]];
                idx[(size_t)x * keep + c] = idx[(size_t)x * taps + kept_cols[c]];
            }
    }
    t->in_len = in_len;
    t->out_len = out_len;
    t->taps = (int)keep;
    t->w = w;
    t->idx = idx;
}

static int check_side(int side, const char *what)
{
    if (side < 1)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "resize: %s %d is not positive", what,
                            side);
    if (side > LMMIQA_RESIZE_MAX_SIDE)
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "resize: %s %d exceeds %d", what, side,
                            LMMIQA_RESIZE_MAX_SIDE);
    return LMMIQA_OK;
}

static int out_side(int in, double scale, const char *what, int *out)
{
    double o = ceil(scale * (double)in);
    if (!(o <= (double)LMMIQA_RESIZE_MAX_SIDE))
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE,
                            "resize: output %s %.0f (scale %g) exceeds %d", what, o, scale,
                            LMMIQA_RESIZE_MAX_SIDE);
    *out = o < 1.0 ? 1 : (int)o;
    return LMMIQA_OK;
}

int lmmiqa_resize_dims(int width, int height, double scale, int *out_width, int *out_height)
{
    assert(out_width && out_height);
    int rc;
    if ((rc = check_side(width, "width")) || (rc = check_side(height, "height")))
        return rc;
    if (!(isfinite(scale) && scale > 0.0))
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "resize: scale %g is not a finite positive number", scale);
    if ((rc = out_side(width, scale, "width", out_width)) ||
        (rc = out_side(height, scale, "height", out_height)))
        return rc;
    return LMMIQA_OK;
}

/* The layout of the scratch buffer for one resize. */
typedef struct plan {
    int width, height, out_width, out_height;
    double scale_w, scale_h;
    int rows_first;          /* MATLAB order: smaller scale first, ties height first */
    size_t ent_h, ent_w;     /* table entries before dropping */
    size_t tmp;              /* intermediate image, doubles */
    size_t bytes;
} plan;

static int plan_make(int width, int height, double scale_w, double scale_h, int out_width,
                     int out_height, plan *pl)
{
    int rc;
    size_t taps;
    memset(pl, 0, sizeof *pl);
    pl->width = width;
    pl->height = height;
    pl->out_width = out_width;
    pl->out_height = out_height;
    pl->scale_w = scale_w;
    pl->scale_h = scale_h;
    pl->rows_first = scale_h <= scale_w;
    if ((rc = table_entries(height, out_height, scale_h, &pl->ent_h, &taps)) ||
        (rc = table_entries(width, out_width, scale_w, &pl->ent_w, &taps)))
        return rc;
    size_t a = (size_t)(pl->rows_first ? out_height : height);
    size_t b = (size_t)(pl->rows_first ? width : out_width);
    if ((rc = lmmiqa__mul_size(a, b, &pl->tmp)))
        return rc;
    /* doubles: two weight tables + intermediate; ints: two index tables */
    size_t doubles = pl->ent_h + pl->ent_w + pl->tmp;
    size_t ints = pl->ent_h + pl->ent_w;
    size_t d_bytes, i_bytes;
    if ((rc = lmmiqa__mul_size(doubles, sizeof(double), &d_bytes)) ||
        (rc = lmmiqa__mul_size(ints, sizeof(int), &i_bytes)))
        return rc;
    pl->bytes = d_bytes + i_bytes;
    return LMMIQA_OK;
}

int lmmiqa_resize_scratch_bytes(int width, int height, double scale, size_t *bytes)
{
    assert(bytes);
    int ow, oh, rc;
    plan pl;
    if ((rc = lmmiqa_resize_dims(width, height, scale, &ow, &oh)) ||
        (rc = plan_make(width, height, scale, scale, ow, oh, &pl)))
        return rc;
    *bytes = pl.bytes;
    return LMMIQA_OK;
}

static int to_scales(int width, int height, int out_width, int out_height, double *sw,
                     double *sh)
{
    int rc;
    if ((rc = check_side(width, "width")) || (rc = check_side(height, "height")) ||
        (rc = check_side(out_width, "output width")) ||
        (rc = check_side(out_height, "output height")))
        return rc;
    *sw = (double)out_width / (double)width;
    *sh = (double)out_height / (double)height;
    return LMMIQA_OK;
}

typedef double v2d __attribute__((vector_size(16)));
typedef double v2du __attribute__((vector_size(16), aligned(8), may_alias));
#define LD2(p) (*(const v2du *)(const void *)(p))
#define ST2(p, v) (*(v2du *)(void *)(p) = (v))

/* Resize along the height: in [in_len rows x width] -> out [out_len x width].
 * Each output pixel is sum_k w_k * in[idx_k][x], accumulated tap by tap;
 * vectorised across x (4 pixels per step), which keeps every pixel's sum
 * in tap order. */
static void pass_rows(const double *in, size_t in_stride, int width, const axis_table *t,
                      double *out, size_t out_stride)
{
    enum { MAXT = 16 };
    size_t wd = (size_t)width;
    const double *src[MAXT];
    for (int y = 0; y < t->out_len; y++) {
        const double *wy = t->w + (size_t)y * t->taps;
        const int *iy = t->idx + (size_t)y * t->taps;
        double *restrict dst = out + (size_t)y * out_stride;
        if (t->taps <= MAXT) {
            int taps = t->taps;
            for (int k = 0; k < taps; k++)
                src[k] = in + (size_t)iy[k] * in_stride;
            size_t x = 0;
            for (; x + 4 <= wd; x += 4) {
                v2d a0 = wy[0] * LD2(src[0] + x), a1 = wy[0] * LD2(src[0] + x + 2);
                for (int k = 1; k < taps; k++) {
                    a0 = a0 + wy[k] * LD2(src[k] + x);
                    a1 = a1 + wy[k] * LD2(src[k] + x + 2);
                }
                ST2(dst + x, a0);
                ST2(dst + x + 2, a1);
            }
            for (; x < wd; x++) {
                double a = wy[0] * src[0][x];
                for (int k = 1; k < taps; k++)
                    a = a + wy[k] * src[k][x];
                dst[x] = a;
            }
            continue;
        }
        /* wide tables (small scales): accumulate row by row */
        const double *restrict s0 = in + (size_t)iy[0] * in_stride;
        for (size_t x = 0; x < wd; x++)
            dst[x] = wy[0] * s0[x];
        for (int k = 1; k < t->taps; k++) {
            const double *restrict s = in + (size_t)iy[k] * in_stride;
            double wk = wy[k];
            for (size_t x = 0; x < wd; x++)
                dst[x] = dst[x] + wk * s[x];
        }
    }
}

/* Resize along the width: in [rows x in_len] -> out [rows x out_len]. */
static void pass_cols(const double *in, size_t in_stride, int rows, const axis_table *t,
                      double *out, size_t out_stride)
{
    size_t out_w = (size_t)t->out_len;
    int taps = t->taps;
    for (int y = 0; y < rows; y++) {
        const double *src = in + (size_t)y * in_stride;
        double *dst = out + (size_t)y * out_stride;
        const double *w = t->w;
        const int *ix = t->idx;
        for (size_t x = 0; x < out_w; x++, w += taps, ix += taps) {
            double acc = w[0] * src[ix[0]];
            for (int k = 1; k < taps; k++)
                acc = acc + w[k] * src[ix[k]];
            dst[x] = acc;
        }
    }
}

static int resize_run(const double *in, size_t in_stride, const plan *pl, double *out,
                      size_t out_stride, void *scratch)
{
    void *owned = NULL;
    if (!scratch) {
        owned = lmmiqa__malloc(pl->bytes ? pl->bytes : 1);
        if (!owned)
            return LMMIQA_ERR_NOMEM;
        scratch = owned;
    }
    double *wh = scratch;
    double *ww = wh + pl->ent_h;
    double *tmp = ww + pl->ent_w;
    int *ih = (int *)(tmp + pl->tmp);
    int *iw = ih + pl->ent_h;
    axis_table th, tw;
    table_build(&th, pl->height, pl->out_height, pl->scale_h, wh, ih);
    table_build(&tw, pl->width, pl->out_width, pl->scale_w, ww, iw);
    if (pl->rows_first) {
        pass_rows(in, in_stride, pl->width, &th, tmp, (size_t)pl->width);
        pass_cols(tmp, (size_t)pl->width, pl->out_height, &tw, out, out_stride);
    } else {
        pass_cols(in, in_stride, pl->height, &tw, tmp, (size_t)pl->out_width);
        pass_rows(tmp, (size_t)pl->out_width, pl->out_width, &th, out, out_stride);
    }
    free(owned);
    return LMMIQA_OK;
}

int lmmiqa_resize_scale(const double *in, int width, int height, double scale, double *out,
                        void *scratch)
{
    assert(in && out);
    int ow, oh, rc;
    plan pl;
    if ((rc = lmmiqa_resize_dims(width, height, scale, &ow, &oh)) ||
        (rc = plan_make(width, height, scale, scale, ow, oh, &pl)))
        return rc;
    return resize_run(in, (size_t)width, &pl, out, (size_t)ow, scratch);
}

int lmmiqa__resize_scale_strided(const double *in, int width, int height, size_t in_stride,
                                 double scale, double *out, size_t out_stride, void *scratch)
{
    assert(in && out && scratch);
    int ow, oh, rc;
    plan pl;
    if ((rc = lmmiqa_resize_dims(width, height, scale, &ow, &oh)) ||
        (rc = plan_make(width, height, scale, scale, ow, oh, &pl)))
        return rc;
    assert(in_stride >= (size_t)width && out_stride >= (size_t)ow);
    return resize_run(in, in_stride, &pl, out, out_stride, scratch);
}

int lmmiqa_resize_to(const double *in, int width, int height, int out_width, int out_height,
                     double *out)
{
    assert(in && out);
    double sw, sh;
    plan pl;
    int rc;
    if ((rc = to_scales(width, height, out_width, out_height, &sw, &sh)) ||
        (rc = plan_make(width, height, sw, sh, out_width, out_height, &pl)))
        return rc;
    return resize_run(in, (size_t)width, &pl, out, (size_t)out_width, NULL);
}

/* ---- reference ---------------------------------------------------------- */

/* Dense contributions matrix A [out_len x in_len], MATLAB's contributions()
 * written out literally: P taps, weights h(u - j) / sum, folded indices;
 * repeated folded taps add into the same column. */
static int dense_matrix(int in_len, int out_len, double scale, double **out)
{
    size_t n;
    int rc = lmmiqa__mul_size((size_t)in_len, (size_t)out_len, &n);
    if (rc)
        return rc;
    double *a = lmmiqa__calloc(n, sizeof *a);
    if (!a)
        return LMMIQA_ERR_NOMEM;
    int antialias = scale < 1.0;
    double support = antialias ? 4.0 / scale : 4.0;
    int p = (int)ceil(support) + 2;
    double *wt = lmmiqa__malloc((size_t)p * sizeof *wt);
    if (!wt) {
        free(a);
        return LMMIQA_ERR_NOMEM;
    }
    for (int x = 1; x <= out_len; x++) {
        double u = x / scale + 0.5 * (1 - 1 / scale);
        double left = floor(u - support / 2);
        double sum = 0;
        for (int k = 0; k < p; k++) {
            double j = left + k;
            wt[k] = antialias ? scale * cubic(scale * (u - j)) : cubic(u - j);
            sum += wt[k];
        }
        for (int k = 0; k < p; k++) {
            long long j = (long long)left + k;
            /* aux = [1:n, n:-1:1]; j -> aux(mod(j - 1, 2n) + 1) */
            long long m = ((j - 1) % (2LL * in_len) + 2LL * in_len) % (2LL * in_len) + 1;
            long long col = m <= in_len ? m : 2LL * in_len - m + 1;
            a[(size_t)(x - 1) * in_len + (size_t)(col - 1)] += wt[k] / sum;
        }
    }
    free(wt);
    *out = a;
    return LMMIQA_OK;
}

/* out [out_h x w] = A [out_h x h] * in [h x w]. */
static void dense_along_height(const double *a, int h, int out_h, const double *in, int w,
                               double *out)
{
    for (int y = 0; y < out_h; y++)
        for (int x = 0; x < w; x++) {
            double s = 0;
            for (int i = 0; i < h; i++)
                s += a[(size_t)y * h + i] * in[(size_t)i * w + x];
            out[(size_t)y * w + x] = s;
        }
}

/* out [rows x out_w] = in [rows x w] * A^T, A [out_w x w]. */
static void dense_along_width(const double *a, int w, int out_w, const double *in, int rows,
                              double *out)
{
    for (int y = 0; y < rows; y++)
        for (int x = 0; x < out_w; x++) {
            double s = 0;
            for (int i = 0; i < w; i++)
                s += a[(size_t)x * w + i] * in[(size_t)y * w + i];
            out[(size_t)y * out_w + x] = s;
        }
}

int lmmiqa__resize_reference(const double *in, int width, int height, double scale_w,
                             double scale_h, int out_width, int out_height, double *out)
{
    double *ah = NULL, *aw = NULL, *tmp = NULL;
    int rc;
    if ((rc = dense_matrix(height, out_height, scale_h, &ah)) ||
        (rc = dense_matrix(width, out_width, scale_w, &aw)))
        goto done;
    int rows_first = scale_h <= scale_w;
    size_t tn = rows_first ? (size_t)out_height * width : (size_t)height * out_width;
    tmp = lmmiqa__malloc(tn * sizeof *tmp);
    if (!tmp) {
        rc = LMMIQA_ERR_NOMEM;
        goto done;
    }
    if (rows_first) {
        /* tmp = A_h * in ; out = tmp * A_w^T */
        dense_along_height(ah, height, out_height, in, width, tmp);
        dense_along_width(aw, width, out_width, tmp, out_height, out);
    } else {
        dense_along_width(aw, width, out_width, in, height, tmp);
        dense_along_height(ah, height, out_height, tmp, out_width, out);
    }
done:
    free(ah);
    free(aw);
    free(tmp);
    return rc;
}
