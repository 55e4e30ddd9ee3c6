/*
 * lmmiqa/metrics.h - agreement between predicted quality and mean opinion
 * scores (MOS): the figures every IQA paper reports.
 *
 *   PLCC   Pearson linear correlation of (pred, mos).
 *   SROCC  Spearman rank correlation: PLCC of the ranks, tied values get the
 *          average of the ranks they span (as scipy.stats.spearmanr).
 *   KRCC   Kendall tau-b (ties in either vector corrected, as
 *          scipy.stats.kendalltau), computed in O(n log n) (Knight 1966).
 *   RMSE   sqrt(mean((pred - mos)^2)), in MOS units.
 *   PLCC/RMSE after the VQEG 4-parameter logistic mapping
 *          f(x) = (b1 - b2) / (1 + exp(-(x - b3) / |b4|)) + b2
 *          fitted to (pred, mos) by least squares (Levenberg-Marquardt).
 *
 * Why: PLCC and SROCC over random splits are the paper's figures; KRCC and
 * the logistic-mapped PLCC are the VQEG conventions other work reports.
 *
 * Undefined cases are errors, never NaN noise: fewer than 3 pairs (fewer
 * than 5 for the logistic fit, which has 4 parameters; RMSE needs 1), a
 * constant vector (zero variance: correlation is 0/0), or a NaN/infinite
 * input value. Those return LMMIQA_ERR_UNDEFINED with a message saying why
 * (read it with lmmiqa_error_message()) and leave *out untouched.
 * docs/metrics.md gives the definitions and the fit details.
 *
 * All functions are thread-safe and take the vectors as given (pred[i] is
 * paired with mos[i]); the correlations are symmetric in the two vectors.
 */
#ifndef LMMIQA_METRICS_H
#define LMMIQA_METRICS_H

#include "lmmiqa/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Pearson linear correlation coefficient, in [-1, 1]. */
LMMIQA_API int lmmiqa_metric_plcc(const double *pred, const double *mos, size_t n, double *out);

/* Spearman rank-order correlation (average ranks for ties), in [-1, 1].
 * Undefined when either vector is constant. May fail with NOMEM. */
LMMIQA_API int lmmiqa_metric_srocc(const double *pred, const double *mos, size_t n, double *out);

/* Kendall rank correlation, tau-b, in [-1, 1]. Undefined when either vector
 * is constant. O(n log n); may fail with NOMEM. */
LMMIQA_API int lmmiqa_metric_krcc(const double *pred, const double *mos, size_t n, double *out);

/* Root mean squared error sqrt(sum (pred-mos)^2 / n); defined for n >= 1. */
LMMIQA_API int lmmiqa_metric_rmse(const double *pred, const double *mos, size_t n, double *out);

/* Fit the VQEG logistic f(x) = (b1 - b2) / (1 + exp(-(x - b3) / |b4|)) + b2
 * of pred onto mos by Levenberg-Marquardt (analytic Jacobian, data
 * standardised internally, three starts; see docs/metrics.md). beta receives
 * {b1, b2, b3, b4} in the original units, with b4 > 0. Undefined for n < 5,
 * a constant vector, non-finite input, or when no start converges. */
LMMIQA_API int lmmiqa_metric_logistic_fit(const double *pred, const double *mos, size_t n,
                                          double beta[4]);

/* The fitted mapping at x. */
LMMIQA_API double lmmiqa_metric_logistic_eval(const double beta[4], double x);

/* Fit the logistic, then the PLCC and RMSE of (f(pred), mos). Either output
 * pointer may be NULL; beta (may be NULL) receives the parameters. */
LMMIQA_API int lmmiqa_metric_logistic(const double *pred, const double *mos, size_t n,
                                      double beta[4], double *plcc, double *rmse);

/* Bits of lmmiqa_metrics.defined_mask. */
enum {
    LMMIQA_METRIC_PLCC = 1 << 0,
    LMMIQA_METRIC_SROCC = 1 << 1,
    LMMIQA_METRIC_KRCC = 1 << 2,
    LMMIQA_METRIC_RMSE = 1 << 3,
    LMMIQA_METRIC_PLCC_LOGISTIC = 1 << 4,
    LMMIQA_METRIC_RMSE_LOGISTIC = 1 << 5,
    LMMIQA_METRIC_ALL = (1 << 6) - 1
};

typedef struct lmmiqa_metrics {
    double plcc, srocc, krcc, rmse;    /* NAN where undefined (see the mask) */
    double plcc_logistic, rmse_logistic;
    int defined_mask;                  /* LMMIQA_METRIC_* bits of the defined fields */
    double logistic[4];                /* b1..b4 when the fit is defined, else NAN */
} lmmiqa_metrics;

/* Every metric above at once. Fills what is defined, sets the mask, and
 * returns LMMIQA_OK when PLCC, SROCC, KRCC and RMSE are all defined (check
 * the mask for the logistic ones, which are undefined more often);
 * otherwise LMMIQA_ERR_UNDEFINED with the first reason (the struct is still
 * filled), or LMMIQA_ERR_NOMEM. */
LMMIQA_API int lmmiqa_metrics_compute(const double *pred, const double *mos, size_t n,
                                      lmmiqa_metrics *out);

#ifdef __cplusplus
}
#endif
#endif
