/*
 * src/features/brisque_internal.h - what the fast BRISQUE path, its plain
 * reference and the tests share: the grid of shape parameters with its
 * r(gamma) tables and searches, the fit from accumulated sums, and the two
 * feature implementations with the fitted statistics exposed (the tests use
 * them to recognise a grid near-tie).
 */
#ifndef LMMIQA_BRISQUE_INTERNAL_H
#define LMMIQA_BRISQUE_INTERNAL_H

#include "lmmiqa/brisque.h"

#include <stddef.h>

/* gam = 0.2:0.001:10 in MATLAB: 9801 values. */
#define LMMIQA__BRISQUE_GRID 9801

/* Number of fitted statistics per image: per scale the GGD rho then the
 * four AGGD rhatnorm values, i.e. the argument of each grid search. */
#define LMMIQA__BRISQUE_FITS 10

/* The grid as MATLAB's colon operator builds it (symmetric from both ends,
 * middle element (a + b) / 2). Computed once, thread-safely. */
const double *lmmiqa__brisque_grid(void);

/* r_gam tables over the grid:
 *   ggd[i]  = gamma(1/g) * gamma(3/g) / gamma(2/g)^2      (decreasing)
 *   aggd[i] = gamma(2/g)^2 / (gamma(1/g) * gamma(3/g))    (increasing) */
const double *lmmiqa__brisque_ggd_table(void);
const double *lmmiqa__brisque_aggd_table(void);

/* 1 when both tables are strictly monotone as computed (the binary searches
 * rely on it and fall back to the linear scan otherwise). */
int lmmiqa__brisque_tables_monotone(void);

/* Grid index MATLAB picks: estimateggdparam's argmin |rho - r_gam| and
 * estimateaggdparam's argmin (r_gam - rhatnorm)^2, first index on ties.
 * _linear scans all 9801 entries literally; the others binary-search the
 * monotone table and return the same index for every input. */
int lmmiqa__brisque_ggd_index(double rho);
int lmmiqa__brisque_ggd_index_linear(double rho);
int lmmiqa__brisque_aggd_index(double rhatnorm);
int lmmiqa__brisque_aggd_index_linear(double rhatnorm);

/* Sums over one sample vector (MSCN values or neighbour products). */
typedef struct lmmiqa__brisque_sums {
    double n;        /* samples */
    double sq;       /* sum x^2 (all samples) */
    double abs;      /* sum |x| */
    double neg_sq;   /* sum x^2 over x < 0 */
    double neg_n;    /* count of x < 0 */
    double pos_sq;   /* sum x^2 over x > 0 */
    double pos_n;    /* count of x > 0 */
} lmmiqa__brisque_sums;

/* estimateggdparam from sums: out[0] = alpha, out[1] = sigma^2; *rho gets
 * the fitted statistic. LMMIQA_ERR_UNDEFINED (message names `what`) when
 * mean |x| is zero. */
int lmmiqa__brisque_fit_ggd(const lmmiqa__brisque_sums *s, const char *what, double out[2],
                            double *rho);

/* estimateaggdparam + BRISQUE's eta from sums: out = alpha, eta, l^2, r^2;
 * *rhatnorm gets the fitted statistic. LMMIQA_ERR_UNDEFINED when a side has
 * no samples or a statistic is not finite. */
int lmmiqa__brisque_fit_aggd(const lmmiqa__brisque_sums *s, const char *what, double out[4],
                             double *rhatnorm);

/* The fast path with the fitted statistics (fits may be NULL). */
int lmmiqa__brisque_features_fit(lmmiqa_brisque_state *st, const uint8_t *gray, int width,
                                 int height, double out[LMMIQA_BRISQUE_DIM],
                                 double fits[LMMIQA__BRISQUE_FITS]);

/* Test hook: choose the fast path's kernels. wide = 1: AVX2 (4 doubles),
 * 0: SSE2/generic (2 doubles), -1: back to automatic. Returns 0 when the
 * choice is not available here (it is then left unchanged), else 1 (for -1:
 * whether the automatic choice is the wide one). Not thread-safe against
 * concurrent extraction; both choices give identical features. */
int lmmiqa__brisque_use_wide(int wide);

/* The plain reference: brisque_feature.m written out with 2-D loops in
 * double (filter2 with a 7x7 window, zero padding; circshift products
 * materialised; sums in pixel order). Allocates per call; slow. Same
 * conventions and errors as the fast path. */
int lmmiqa__brisque_reference(const uint8_t *gray, int width, int height,
                              double out[LMMIQA_BRISQUE_DIM],
                              double fits[LMMIQA__BRISQUE_FITS]);

/* The normalised 1-D Gaussian of the 7x7 window, g[0..6] for offsets -3..3:
 * exp(-k^2 / (2 (7/6)^2)) / sum. The 2-D window is the outer product (in
 * exact arithmetic MATLAB's fspecial('gaussian', 7, 7/6) normalised). */
void lmmiqa__brisque_gauss(double g[7]);

#endif
