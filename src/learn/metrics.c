/*
 * src/learn/metrics.c - PLCC, SROCC, KRCC (tau-b), RMSE and the VQEG
 * logistic mapping (see include/lmmiqa/metrics.h and docs/metrics.md).
 *
 * Design: every sum runs in long double over centred values (two-pass
 * means), so results agree with scipy to ~1e-15 and are independent of the
 * offset of the data. Constancy is tested exactly (all values equal) before
 * any division, so "undefined" never depends on rounding. Kendall's tau-b is
 * Knight's O(n log n) algorithm: sort by (x, y), count ties, then count the
 * inversions of y with a merge sort. The logistic is fitted on standardised
 * data (so the same starts and tolerances suit any MOS scale) by a small
 * Levenberg-Marquardt with the analytic Jacobian and Marquardt's diagonal
 * scaling, from three starting slopes, keeping the lowest residual.
 */
#include "lmmiqa/metrics.h"

#include "core/internal.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- checks shared by every metric ---- */

static int check_input(const char *metric, const double *pred, const double *mos, size_t n,
                       size_t min_n)
{
    assert((pred && mos) || n == 0);
    if (n < min_n)
        return lmmiqa__fail(LMMIQA_ERR_UNDEFINED, "%s is undefined for %zu pair%s (needs at least %zu)",
                            metric, n, n == 1 ? "" : "s", min_n);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(pred[i]))
            return lmmiqa__fail(LMMIQA_ERR_UNDEFINED, "%s is undefined: pred[%zu] is not finite (%g)",
                                metric, i, pred[i]);
        if (!isfinite(mos[i]))
            return lmmiqa__fail(LMMIQA_ERR_UNDEFINED, "%s is undefined: mos[%zu] is not finite (%g)",
                                metric, i, mos[i]);
    }
    return LMMIQA_OK;
}

static int is_constant(const double *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[0])
            return 0;
    return 1;
}

static int check_not_constant(const char *metric, const double *pred, const double *mos, size_t n)
{
    if (is_constant(pred, n))
        return lmmiqa__fail(LMMIQA_ERR_UNDEFINED,
                            "%s is undefined: the predictions are constant (%g for all %zu)", metric,
                            pred[0], n);
    if (is_constant(mos, n))
        return lmmiqa__fail(LMMIQA_ERR_UNDEFINED,
                            "%s is undefined: the MOS values are constant (%g for all %zu)", metric,
                            mos[0], n);
    return LMMIQA_OK;
}

static long double mean_ld(const double *v, size_t n)
{
    long double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return s / (long double)n;
}

/* x, y: [n], non-constant, finite. */
static double pearson(const double *x, const double *y, size_t n)
{
    long double mx = mean_ld(x, n), my = mean_ld(y, n);
    long double sxx = 0, syy = 0, sxy = 0;
    for (size_t i = 0; i < n; i++) {
        long double dx = x[i] - mx, dy = y[i] - my;
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    double r = (double)(sxy / sqrtl(sxx * syy));
    return r > 1 ? 1 : r < -1 ? -1 : r;
}

int lmmiqa_metric_plcc(const double *pred, const double *mos, size_t n, double *out)
{
    assert(out);
    int rc = check_input("PLCC", pred, mos, n, 3);
    if (!rc)
        rc = check_not_constant("PLCC", pred, mos, n);
    if (rc)
        return rc;
    *out = pearson(pred, mos, n);
    return LMMIQA_OK;
}

int lmmiqa_metric_rmse(const double *pred, const double *mos, size_t n, double *out)
{
    assert(out);
    int rc = check_input("RMSE", pred, mos, n, 1);
    if (rc)
        return rc;
    long double s = 0;
    for (size_t i = 0; i < n; i++) {
        long double d = (long double)pred[i] - mos[i];
        s += d * d;
    }
    *out = (double)sqrtl(s / (long double)n);
    return LMMIQA_OK;
}

/* ---- ranks ---- */

typedef struct {
    double v;
    size_t i;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    double x = ((const keyed *)a)->v, y = ((const keyed *)b)->v;
    return (x > y) - (x < y);
}

/* ranks[n] = 1-based ranks of v[n], ties averaged. work: [n] keyed. */
static void average_ranks(const double *v, size_t n, keyed *work, double *ranks)
{
    for (size_t i = 0; i < n; i++) {
        work[i].v = v[i];
        work[i].i = i;
    }
    qsort(work, n, sizeof *work, cmp_keyed);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && work[j].v == work[i].v)
            j++;
        double r = 0.5 * (double)(i + 1 + j); /* mean of ranks i+1 .. j */
        for (size_t k = i; k < j; k++)
            ranks[work[k].i] = r;
        i = j;
    }
}

int lmmiqa_metric_srocc(const double *pred, const double *mos, size_t n, double *out)
{
    assert(out);
    int rc = check_input("SROCC", pred, mos, n, 3);
    if (!rc)
        rc = check_not_constant("SROCC", pred, mos, n);
    if (rc)
        return rc;
    size_t bytes;
    if ((rc = lmmiqa__mul_size(n, 2 * sizeof(double) + sizeof(keyed), &bytes)))
        return rc;
    unsigned char *mem = lmmiqa__malloc(bytes);
    if (!mem)
        return LMMIQA_ERR_NOMEM;
    double *rp = (double *)mem, *rm = rp + n;
    keyed *work = (keyed *)(rm + n);
    average_ranks(pred, n, work, rp);
    average_ranks(mos, n, work, rm);
    *out = pearson(rp, rm, n);
    free(mem);
    return LMMIQA_OK;
}

/* ---- Kendall tau-b (Knight 1966) ---- */

typedef struct {
    double x, y;
} pair;

static int cmp_pair(const void *a, const void *b)
{
    const pair *p = a, *q = b;
    if (p->x != q->x)
        return (p->x > q->x) - (p->x < q->x);
    return (p->y > q->y) - (p->y < q->y);
}

/* Sort y[n] ascending (stable bottom-up merge sort, tmp: [n]) and return
 * the number of inversions (pairs i < j with y[i] > y[j]). */
static uint64_t sort_count_inversions(double *y, double *tmp, size_t n)
{
    uint64_t inv = 0;
    double *src = y, *dst = tmp;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi) {
                if (src[b] < src[a]) {
                    dst[k++] = src[b++];
                    inv += mid - a;
                } else {
                    dst[k++] = src[a++];
                }
            }
            while (a < mid)
                dst[k++] = src[a++];
            while (b < hi)
                dst[k++] = src[b++];
        }
        double *t = src;
        src = dst;
        dst = t;
    }
    if (src != y)
        memcpy(y, src, n * sizeof *y);
    return inv;
}

int lmmiqa_metric_krcc(const double *pred, const double *mos, size_t n, double *out)
{
    assert(out);
    int rc = check_input("KRCC", pred, mos, n, 3);
    if (!rc)
        rc = check_not_constant("KRCC", pred, mos, n);
    if (rc)
        return rc;
    if (n > ((size_t)1 << 31))
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "KRCC: %zu pairs exceed the limit of 2^31", n);
    size_t bytes;
    if ((rc = lmmiqa__mul_size(n, sizeof(pair) + 2 * sizeof(double), &bytes)))
        return rc;
    unsigned char *mem = lmmiqa__malloc(bytes);
    if (!mem)
        return LMMIQA_ERR_NOMEM;
    pair *p = (pair *)mem;
    double *y = (double *)(p + n), *tmp = y + n;
    for (size_t i = 0; i < n; i++) {
        p[i].x = pred[i];
        p[i].y = mos[i];
    }
    qsort(p, n, sizeof *p, cmp_pair);
    uint64_t n0 = (uint64_t)n * (n - 1) / 2, n1 = 0, n2 = 0, n3 = 0;
    for (size_t i = 0; i < n;) { /* ties in x, and joint ties in (x, y) */
        size_t j = i + 1;
        while (j < n && p[j].x == p[i].x)
            j++;
        n1 += (uint64_t)(j - i) * (j - i - 1) / 2;
        for (size_t a = i; a < j;) {
            size_t b = a + 1;
            while (b < j && p[b].y == p[a].y)
                b++;
            n3 += (uint64_t)(b - a) * (b - a - 1) / 2;
            a = b;
        }
        i = j;
    }
    for (size_t i = 0; i < n; i++)
        y[i] = p[i].y;
    uint64_t swaps = sort_count_inversions(y, tmp, n);
    for (size_t i = 0; i < n;) { /* ties in y */
        size_t j = i + 1;
        while (j < n && y[j] == y[i])
            j++;
        n2 += (uint64_t)(j - i) * (j - i - 1) / 2;
        i = j;
    }
    free(mem);
    /* concordant - discordant = n0 - n1 - n2 + n3 - 2 * swaps */
    long double s = (long double)n0 - (long double)n1 - (long double)n2 + (long double)n3 -
                    2.0L * (long double)swaps;
    long double tau = s / sqrtl((long double)(n0 - n1)) / sqrtl((long double)(n0 - n2));
    double t = (double)tau;
    *out = t > 1 ? 1 : t < -1 ? -1 : t;
    return LMMIQA_OK;
}

/* ---- the VQEG logistic ---- */

/* Logistic sigma(z) without overflow. */
static double sigmoid(double z)
{
    if (z >= 0)
        return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

double lmmiqa_metric_logistic_eval(const double beta[4], double x)
{
    return (beta[0] - beta[1]) * sigmoid((x - beta[2]) / fabs(beta[3])) + beta[1];
}

/* f and df/db at x (jac: [4], may be NULL). */
static double logistic_point(const double b[4], double x, double *jac)
{
    double s = fabs(b[3]);
    double z = (x - b[2]) / s;
    double g = sigmoid(z);
    double d = b[0] - b[1];
    if (jac) {
        double gp = g * (1.0 - g);
        jac[0] = g;
        jac[1] = 1.0 - g;
        jac[2] = -d * gp / s;
        jac[3] = -d * gp * z / s * (b[3] >= 0 ? 1.0 : -1.0);
    }
    return d * g + b[1];
}

static double sse_of(const double b[4], const double *x, const double *y, size_t n)
{
    long double s = 0;
    for (size_t i = 0; i < n; i++) {
        long double r = (long double)y[i] - logistic_point(b, x[i], NULL);
        s += r * r;
    }
    return (double)s;
}

/* Solve the 4x4 system a * d = r by Gaussian elimination with partial
 * pivoting; 0 when singular. */
static int solve4(double a[4][4], double r[4], double d[4])
{
    for (int c = 0; c < 4; c++) {
        int piv = c;
        for (int k = c + 1; k < 4; k++)
            if (fabs(a[k][c]) > fabs(a[piv][c]))
                piv = k;
        if (!(fabs(a[piv][c]) > 1e-300))
            return 0;
        if (piv != c) {
            for (int k = 0; k < 4; k++) {
                double t = a[c][k];
                a[c][k] = a[piv][k];
                a[piv][k] = t;
            }
            double t = r[c];
            r[c] = r[piv];
            r[piv] = t;
        }
        for (int k = c + 1; k < 4; k++) {
            double f = a[k][c] / a[c][c];
            for (int m = c; m < 4; m++)
                a[k][m] -= f * a[c][m];
            r[k] -= f * r[c];
        }
    }
    for (int c = 3; c >= 0; c--) {
        double s = r[c];
        for (int k = c + 1; k < 4; k++)
            s -= a[c][k] * d[k];
        d[c] = s / a[c][c];
    }
    for (int c = 0; c < 4; c++)
        if (!isfinite(d[c]))
            return 0;
    return 1;
}

#define LM_MAX_ITER 2000
#define LM_PLATEAU_ITER 50
#define LM_PLATEAU_RTOL 1e-6

/* Levenberg-Marquardt from b (updated in place). Returns 1 when converged:
 * the relative step or the relative SSE decrease of a step is negligible
 * (1e-10, 1e-15), no descent direction is left at any damping (a stationary
 * point), or the SSE has reached a plateau (less than LM_PLATEAU_RTOL
 * relative decrease over LM_PLATEAU_ITER iterations). The plateau case is
 * where the least-squares optimum lies at infinity (the data follow a
 * straight line or one exponential tail of the logistic, and b1 - b2, b4 run
 * off): the mapping then is that limit, to the stated tolerance. 0 when
 * LM_MAX_ITER iterations pass without either. */
static int lm_fit(double b[4], const double *x, const double *y, size_t n, double *sse_out)
{
    double sse = sse_of(b, x, y, n);
    double lambda = 1e-3;
    double sse_mark = sse;
    if (!isfinite(sse))
        return 0;
    for (int it = 0; it < LM_MAX_ITER; it++) {
        if (it > 0 && it % LM_PLATEAU_ITER == 0) {
            if (sse_mark - sse <= LM_PLATEAU_RTOL * sse) {
                *sse_out = sse;
                return 1;
            }
            sse_mark = sse;
        }
        double jtj[4][4] = {{0}}, jtr[4] = {0}, jac[4];
        for (size_t i = 0; i < n; i++) {
            double r = y[i] - logistic_point(b, x[i], jac);
            for (int p = 0; p < 4; p++) {
                jtr[p] += jac[p] * r;
                for (int q = 0; q <= p; q++)
                    jtj[p][q] += jac[p] * jac[q];
            }
        }
        for (int p = 0; p < 4; p++)
            for (int q = p + 1; q < 4; q++)
                jtj[p][q] = jtj[q][p];
        for (;;) {
            double a[4][4], r[4], d[4], bn[4];
            memcpy(a, jtj, sizeof a);
            memcpy(r, jtr, sizeof r);
            for (int p = 0; p < 4; p++)
                a[p][p] += lambda * (jtj[p][p] > 1e-12 ? jtj[p][p] : 1e-12);
            double ssen = INFINITY;
            if (solve4(a, r, d)) {
                for (int p = 0; p < 4; p++)
                    bn[p] = b[p] + d[p];
                if (bn[3] != 0)
                    ssen = sse_of(bn, x, y, n);
            }
            if (isfinite(ssen) && ssen <= sse) {
                double step = 0, norm = 0;
                for (int p = 0; p < 4; p++) {
                    step += d[p] * d[p];
                    norm += bn[p] * bn[p];
                }
                double decrease = sse - ssen;
                memcpy(b, bn, sizeof bn);
                sse = ssen;
                lambda = lambda / 10 > 1e-12 ? lambda / 10 : 1e-12;
                if (sqrt(step) <= 1e-10 * (1.0 + sqrt(norm)) || decrease <= 1e-15 * (sse + 1e-300)) {
                    *sse_out = sse;
                    return 1;
                }
                break;
            }
            lambda *= 10;
            if (lambda > 1e15) { /* no descent at any damping: stationary */
                *sse_out = sse;
                return 1;
            }
        }
    }
    *sse_out = sse;
    return 0;
}

int lmmiqa_metric_logistic_fit(const double *pred, const double *mos, size_t n, double beta[4])
{
    assert(beta);
    int rc = check_input("the logistic fit", pred, mos, n, 5);
    if (!rc)
        rc = check_not_constant("the logistic fit", pred, mos, n);
    if (rc)
        return rc;
    size_t bytes;
    if ((rc = lmmiqa__mul_size(n, 2 * sizeof(double), &bytes)))
        return rc;
    double *xs = lmmiqa__malloc(bytes);
    if (!xs)
        return LMMIQA_ERR_NOMEM;
    double *ys = xs + n;
    /* standardise: x' = (x - mx) / sx, y' = (y - my) / sy */
    long double mx = mean_ld(pred, n), my = mean_ld(mos, n), vx = 0, vy = 0;
    for (size_t i = 0; i < n; i++) {
        long double dx = pred[i] - mx, dy = mos[i] - my;
        vx += dx * dx;
        vy += dy * dy;
    }
    double sx = (double)sqrtl(vx / (long double)n), sy = (double)sqrtl(vy / (long double)n);
    double ymin = INFINITY, ymax = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        xs[i] = (double)((pred[i] - mx) / sx);
        ys[i] = (double)((mos[i] - my) / sy);
        ymin = ys[i] < ymin ? ys[i] : ymin;
        ymax = ys[i] > ymax ? ys[i] : ymax;
    }
    double r = pearson(xs, ys, n);
    /* starts: b1 = max(mos), b2 = min(mos) (swapped for a falling trend),
     * b3 = mean(pred), b4 = std(pred) * {1/4, 1, 4} */
    static const double slopes[3] = {0.25, 1.0, 4.0};
    double best[4] = {0}, best_sse = INFINITY;
    for (int s = 0; s < 3; s++) {
        double b[4] = {r >= 0 ? ymax : ymin, r >= 0 ? ymin : ymax, 0.0, slopes[s]};
        double sse;
        if (lm_fit(b, xs, ys, n, &sse) && sse < best_sse) {
            best_sse = sse;
            memcpy(best, b, sizeof b);
        }
    }
    free(xs);
    if (!isfinite(best_sse))
        return lmmiqa__fail(LMMIQA_ERR_UNDEFINED,
                            "the logistic fit did not converge from any of its 3 starts "
                            "(%d Levenberg-Marquardt iterations each)", LM_MAX_ITER);
    beta[0] = sy * best[0] + (double)my;
    beta[1] = sy * best[1] + (double)my;
    beta[2] = (double)mx + sx * best[2];
    beta[3] = sx * fabs(best[3]);
    if (!(beta[3] > 0) || !isfinite(beta[0]) || !isfinite(beta[1]) || !isfinite(beta[2]) ||
        !isfinite(beta[3]))
        return lmmiqa__fail(LMMIQA_ERR_UNDEFINED,
                            "the logistic fit degenerated (b = %g, %g, %g, %g)", beta[0], beta[1],
                            beta[2], beta[3]);
    return LMMIQA_OK;
}

int lmmiqa_metric_logistic(const double *pred, const double *mos, size_t n, double beta[4],
                           double *plcc, double *rmse)
{
    double b[4];
    int rc = lmmiqa_metric_logistic_fit(pred, mos, n, b);
    if (rc)
        return rc;
    size_t bytes;
    if ((rc = lmmiqa__mul_size(n, sizeof(double), &bytes)))
        return rc;
    double *mapped = lmmiqa__malloc(bytes);
    if (!mapped)
        return LMMIQA_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        mapped[i] = lmmiqa_metric_logistic_eval(b, pred[i]);
    double p = 0, e = 0;
    rc = lmmiqa_metric_plcc(mapped, mos, n, &p);
    if (rc) {
        lmmiqa__fail_context(rc, "after the logistic mapping: ");
    } else {
        rc = lmmiqa_metric_rmse(mapped, mos, n, &e);
    }
    free(mapped);
    if (rc)
        return rc;
    if (beta)
        memcpy(beta, b, sizeof b);
    if (plcc)
        *plcc = p;
    if (rmse)
        *rmse = e;
    return LMMIQA_OK;
}

int lmmiqa_metrics_compute(const double *pred, const double *mos, size_t n, lmmiqa_metrics *out)
{
    assert(out);
    out->plcc = out->srocc = out->krcc = out->rmse = NAN;
    out->plcc_logistic = out->rmse_logistic = NAN;
    for (int i = 0; i < 4; i++)
        out->logistic[i] = NAN;
    out->defined_mask = 0;
    int first = LMMIQA_OK;
    char reason[512] = "";
    struct {
        int (*fn)(const double *, const double *, size_t, double *);
        double *dst;
        int bit;
    } basic[4] = {
        {lmmiqa_metric_plcc, &out->plcc, LMMIQA_METRIC_PLCC},
        {lmmiqa_metric_srocc, &out->srocc, LMMIQA_METRIC_SROCC},
        {lmmiqa_metric_krcc, &out->krcc, LMMIQA_METRIC_KRCC},
        {lmmiqa_metric_rmse, &out->rmse, LMMIQA_METRIC_RMSE},
    };
    for (int k = 0; k < 4; k++) {
        double v;
        int rc = basic[k].fn(pred, mos, n, &v);
        if (rc == LMMIQA_OK) {
            *basic[k].dst = v;
            out->defined_mask |= basic[k].bit;
        } else if (rc == LMMIQA_ERR_UNDEFINED) {
            if (!first) {
                first = rc;
                snprintf(reason, sizeof reason, "%s", lmmiqa_error_message());
            }
        } else {
            return rc;
        }
    }
    double b[4], p, e;
    int rc = lmmiqa_metric_logistic(pred, mos, n, b, &p, &e);
    if (rc == LMMIQA_OK) {
        out->plcc_logistic = p;
        out->rmse_logistic = e;
        memcpy(out->logistic, b, sizeof b);
        out->defined_mask |= LMMIQA_METRIC_PLCC_LOGISTIC | LMMIQA_METRIC_RMSE_LOGISTIC;
    } else if (rc != LMMIQA_ERR_UNDEFINED) {
        return rc;
    }
    if (first)
        return lmmiqa__fail(first, "%s", reason);
    return LMMIQA_OK;
}
