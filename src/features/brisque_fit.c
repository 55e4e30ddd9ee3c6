/*
 * src/features/brisque_fit.c - the distribution fits of BRISQUE:
 * estimateggdparam and estimateaggdparam of the MATLAB release, from sums.
 *
 * Design: MATLAB evaluates r(gamma) on the 9801-point grid 0.2:0.001:10 and
 * takes the argmin of the distance to the sample statistic on every call.
 * Here the grid and both r tables are computed once (pthread_once) and the
 * argmin is found by binary search: the tables are strictly monotone, so
 * the computed distance is weakly V-shaped along the grid and the minimum
 * lies at one of the two entries around the crossing point; walking left
 * over exact ties gives MATLAB's first-index rule. The literal linear scans
 * are kept for the tests, which check both return the same index.
 */
#include "features/brisque_internal.h"

#include "core/internal.h"

#include <math.h>
#include <pthread.h>

static double grid[LMMIQA__BRISQUE_GRID];
static double ggd_table[LMMIQA__BRISQUE_GRID];
static double aggd_table[LMMIQA__BRISQUE_GRID];
static int tables_monotone;
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_init(void)
{
    /* MATLAB colon a:d:b with b = a + n*d: the first half is a + k*d, the
     * second half b - (n-k)*d, and for even n the middle is (a + b) / 2. */
    const double a = 0.2, d = 0.001, b = 10.0;
    const int n = LMMIQA__BRISQUE_GRID - 1;
    for (int k = 0; k <= n; k++) {
        if (2 * k < n)
            grid[k] = a + k * d;
        else if (2 * k > n)
            grid[k] = b - (n - k) * d;
        else
            grid[k] = (a + b) / 2.0;
    }
    for (int k = 0; k <= n; k++) {
        double g = grid[k];
        double g1 = tgamma(1.0 / g), g2 = tgamma(2.0 / g), g3 = tgamma(3.0 / g);
        ggd_table[k] = (g1 * g3) / (g2 * g2);
        aggd_table[k] = (g2 * g2) / (g1 * g3);
    }
    int mono = 1;
    for (int k = 1; k <= n; k++)
        mono &= ggd_table[k] < ggd_table[k - 1] && aggd_table[k] > aggd_table[k - 1];
    tables_monotone = mono;
}

static void tables_ready(void) { pthread_once(&tables_once, tables_init); }

const double *lmmiqa__brisque_grid(void)
{
    tables_ready();
    return grid;
}

const double *lmmiqa__brisque_ggd_table(void)
{
    tables_ready();
    return ggd_table;
}

const double *lmmiqa__brisque_aggd_table(void)
{
    tables_ready();
    return aggd_table;
}

int lmmiqa__brisque_tables_monotone(void)
{
    tables_ready();
    return tables_monotone;
}

/* MATLAB's two distance functions. */
static double ggd_cost(double r, double x) { return fabs(x - r); }

static double aggd_cost(double r, double x)
{
    double t = r - x;
    return t * t;
}

static int argmin_linear(const double *t, double x, double (*cost)(double, double))
{
    int best = 0;
    double bc = cost(t[0], x);
    for (int k = 1; k < LMMIQA__BRISQUE_GRID; k++) {
        double c = cost(t[k], x);
        if (c < bc) { /* strict: MATLAB's min keeps the first minimum */
            bc = c;
            best = k;
        }
    }
    return best;
}

/* Binary search on a table increasing along the grid (`dir` = +1) or
 * decreasing (`dir` = -1). k = the last index on x's side "before" the
 * crossing (t[k] <= x for increasing, t[k] >= x for decreasing), -1 if none.
 * On [0, k] the cost is non-increasing, on [k+1, end] non-decreasing. */
static int argmin_binary(const double *t, double x, int dir,
                         double (*cost)(double, double))
{
    if (isnan(x))
        return argmin_linear(t, x, cost);
    int lo = -1, hi = LMMIQA__BRISQUE_GRID; /* invariant: before(lo), !before(hi) */
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        int before = dir > 0 ? t[mid] <= x : t[mid] >= x;
        if (before)
            lo = mid;
        else
            hi = mid;
    }
    int k = lo;
    if (k < 0)
        return 0;
    double ck = cost(t[k], x);
    if (k + 1 < LMMIQA__BRISQUE_GRID && cost(t[k + 1], x) < ck)
        return k + 1;
    while (k > 0 && cost(t[k - 1], x) == ck)
        k--;
    return k;
}

int lmmiqa__brisque_ggd_index_linear(double rho)
{
    tables_ready();
    return argmin_linear(ggd_table, rho, ggd_cost);
}

int lmmiqa__brisque_aggd_index_linear(double rhatnorm)
{
    tables_ready();
    return argmin_linear(aggd_table, rhatnorm, aggd_cost);
}

int lmmiqa__brisque_ggd_index(double rho)
{
    tables_ready();
    if (!tables_monotone)
        return argmin_linear(ggd_table, rho, ggd_cost);
    return argmin_binary(ggd_table, rho, -1, ggd_cost);
}

int lmmiqa__brisque_aggd_index(double rhatnorm)
{
    tables_ready();
    if (!tables_monotone)
        return argmin_linear(aggd_table, rhatnorm, aggd_cost);
    return argmin_binary(aggd_table, rhatnorm, +1, aggd_cost);
}

int lmmiqa__brisque_fit_ggd(const lmmiqa__brisque_sums *s, const char *what, double out[2],
                            double *rho_out)
{
    /* sigma_sq = mean(x.^2); sigma = sqrt(sigma_sq); E = mean(abs(x));
     * rho = sigma_sq / E^2; feature [gam(argmin), sigma^2] */
    double sigma_sq = s->sq / s->n;
    double sigma = sqrt(sigma_sq);
    double e = s->abs / s->n;
    if (!(e > 0.0) || !isfinite(sigma_sq))
        return lmmiqa__fail(LMMIQA_ERR_UNDEFINED,
                            "BRISQUE is undefined for this image: %s: every MSCN coefficient "
                            "is zero (a flat image)",
                            what);
    double rho = sigma_sq / pow(e, 2.0);
    if (rho_out)
        *rho_out = rho;
    out[0] = lmmiqa__brisque_grid()[lmmiqa__brisque_ggd_index(rho)];
    out[1] = sigma * sigma;
    return LMMIQA_OK;
}

int lmmiqa__brisque_fit_aggd(const lmmiqa__brisque_sums *s, const char *what, double out[4],
                             double *rhatnorm_out)
{
    if (s->neg_n == 0 || s->pos_n == 0)
        return lmmiqa__fail(LMMIQA_ERR_UNDEFINED,
                            "BRISQUE is undefined for this image: %s: no %s neighbour products "
                            "(a flat or tiny image)",
                            what, s->neg_n == 0 ? "negative" : "positive");
    double leftstd = sqrt(s->neg_sq / s->neg_n);
    double rightstd = sqrt(s->pos_sq / s->pos_n);
    double gammahat = leftstd / rightstd;
    double rhat = pow(s->abs / s->n, 2.0) / (s->sq / s->n);
    double rhatnorm = (rhat * (pow(gammahat, 3.0) + 1.0) * (gammahat + 1.0)) /
                      pow(pow(gammahat, 2.0) + 1.0, 2.0);
    if (!isfinite(rhatnorm) || !(rightstd > 0.0) || !(leftstd > 0.0))
        return lmmiqa__fail(LMMIQA_ERR_UNDEFINED,
                            "BRISQUE is undefined for this image: %s: degenerate neighbour "
                            "products (left std %g, right std %g)",
                            what, leftstd, rightstd);
    if (rhatnorm_out)
        *rhatnorm_out = rhatnorm;
    double alpha = lmmiqa__brisque_grid()[lmmiqa__brisque_aggd_index(rhatnorm)];
    double cst = sqrt(tgamma(1.0 / alpha)) / sqrt(tgamma(3.0 / alpha));
    double meanparam = (rightstd - leftstd) * (tgamma(2.0 / alpha) / tgamma(1.0 / alpha)) * cst;
    out[0] = alpha;
    out[1] = meanparam;
    out[2] = leftstd * leftstd;
    out[3] = rightstd * rightstd;
    return LMMIQA_OK;
}

void lmmiqa__brisque_gauss(double g[7])
{
    const double sd = 7.0 / 6.0;
    double sum = 0.0;
    for (int k = -3; k <= 3; k++) {
        g[k + 3] = exp(-(double)(k * k) / (2.0 * sd * sd));
        sum += g[k + 3];
    }
    for (int k = 0; k < 7; k++)
        g[k] /= sum;
}
