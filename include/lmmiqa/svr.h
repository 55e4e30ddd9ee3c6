/*
 * lmmiqa/svr.h - support vector regression models in libsvm's text format,
 * with svm-scale feature scaling, and the BRISQUE quality score built on
 * them.
 *
 * Why: the original BRISQUE release (Mittal, Moorthy, Bovik 2011) maps its
 * 36 features to a quality score with a libsvm epsilon-SVR (`allmodel`)
 * after scaling each feature to [-1, 1] with svm-scale's range file
 * (`allrange`). Reading those two files lets lmmiqa reproduce the released
 * BRISQUE scores without libsvm or MATLAB.
 *
 * Model file (libsvm `svm-train` output): header lines "svm_type
 * epsilon_svr|nu_svr", "kernel_type linear|polynomial|rbf|sigmoid" ("poly"
 * accepted), "gamma G", "coef0 C", "degree D" (each where the kernel uses
 * it), "nr_class 2", "total_sv N", "rho R", optional "probA"/"probB", then
 * "SV" and N lines "coef idx:val idx:val ..." with ascending 1-based sparse
 * indices (absent = 0). CRLF tolerated. Classification and one-class models
 * and precomputed kernels are refused. Every malformed line is an error
 * naming the file and line.
 *
 * Range file (svm-scale -s output): an optional "y" section (ignored), then
 * "x", "lower upper", and lines "index min max". Scaling is svm-scale's:
 * value == min -> lower, value == max -> upper, else
 * lower + (upper - lower) * (value - min) / (max - min), without clipping
 * values outside [min, max]; a feature with min == max is dropped by
 * svm-scale (never printed) and so reads as 0 to svm-predict: lmmiqa sets it
 * to 0 likewise. Every index 1..max must be listed once.
 *
 * Prediction: sum_i coef_i * K(x, sv_i) - rho, with K the libsvm kernel
 * (rbf: exp(-gamma * |x - sv|^2), linear: x.sv, polynomial:
 * (gamma x.sv + coef0)^degree, sigmoid: tanh(gamma x.sv + coef0)), summed in
 * libsvm's order, so full-precision results equal libsvm's bit for bit.
 *
 * A loaded model is immutable and may be shared by threads.
 */
#ifndef LMMIQA_SVR_H
#define LMMIQA_SVR_H

#include "lmmiqa/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lmmiqa_svr lmmiqa_svr;

enum { LMMIQA_SVR_EPSILON = 0, LMMIQA_SVR_NU = 1 };
enum {
    LMMIQA_SVR_KERNEL_LINEAR = 0,
    LMMIQA_SVR_KERNEL_POLY = 1,
    LMMIQA_SVR_KERNEL_RBF = 2,
    LMMIQA_SVR_KERNEL_SIGMOID = 3
};

/* Header facts of a loaded model. */
typedef struct lmmiqa_svr_info {
    int type;            /* LMMIQA_SVR_EPSILON or LMMIQA_SVR_NU */
    int kernel;          /* LMMIQA_SVR_KERNEL_* */
    double gamma, coef0; /* 0 where the kernel has none */
    int degree;          /* polynomial degree (0 otherwise) */
    double rho;
    size_t n_sv;         /* support vectors */
    size_t dim;          /* input features (see lmmiqa_svr_dim) */
    int scaled;          /* 1 when a range file was loaded */
    double lower, upper; /* the range file's target interval */
} lmmiqa_svr_info;

/* Load a libsvm model and (unless range_path is NULL) its svm-scale range
 * file. Errors (IO, FORMAT for an unsupported model, CORRUPT for a malformed
 * line, MISMATCH when the model uses feature indices the range file lacks)
 * name the file and line. */
LMMIQA_API int lmmiqa_svr_load(const char *model_path, const char *range_path,
                               lmmiqa_svr **out);

/* Free a model; NULL is a no-op. */
LMMIQA_API void lmmiqa_svr_destroy(lmmiqa_svr *svr);

/* Number of input features: the largest index of the range file, or of the
 * support vectors when there is no range file. */
LMMIQA_API size_t lmmiqa_svr_dim(const lmmiqa_svr *svr);

LMMIQA_API void lmmiqa_svr_get_info(const lmmiqa_svr *svr, lmmiqa_svr_info *info);

/* Scale raw features x[dim] as svm-scale would (a copy when the model has
 * no range file). dim must equal lmmiqa_svr_dim() (else MISMATCH); values
 * must be finite (else INVALID_ARG naming the feature). */
LMMIQA_API int lmmiqa_svr_scale(const lmmiqa_svr *svr, const double *x, size_t dim,
                                double *scaled);

/* Predict from raw features x[dim] (scaled first when the model has a
 * range file), in full double precision. Errors as lmmiqa_svr_scale. */
LMMIQA_API int lmmiqa_svr_predict(const lmmiqa_svr *svr, const double *x, size_t dim,
                                  double *out);

/* Predict from already scaled features. */
LMMIQA_API int lmmiqa_svr_predict_scaled(const lmmiqa_svr *svr, const double *scaled,
                                         size_t dim, double *out);

/* ---- BRISQUE ---- */

#define LMMIQA_BRISQUE_SCORE_DIM 36

/* lmmiqa_brisque_score flag: reproduce the original MATLAB release's text
 * round trips exactly. brisquescore.m writes the features with
 * fprintf('%d:%f ') (6 decimals), svm-scale prints each scaled value with
 * printf("%g") (6 significant digits; zero values and min == max features
 * omitted), and svm-predict (libsvm 2.89, bundled in 2011) prints the score
 * with "%g", which MATLAB loads back. Each step is emulated by formatting
 * and re-parsing the value in C, which rounds exactly as those programs did.
 * Without the flag every step keeps full double precision. */
#define LMMIQA_BRISQUE_MATLAB_IO 1

/* The BRISQUE quality score (lower = better; about 0..100 on natural images)
 * of 36 features from lmmiqa_brisque_features(). svr must be a 36-feature
 * model (e.g. allmodel + allrange of ../shared/models/brisque-live). */
LMMIQA_API int lmmiqa_brisque_score(const lmmiqa_svr *svr,
                                    const double features[LMMIQA_BRISQUE_SCORE_DIM], int flags,
                                    double *score);

#ifdef __cplusplus
}
#endif
#endif
