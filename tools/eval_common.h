/*
 * tools/eval_common.h - helpers shared by the protocol tools that train a
 * model per split straight on the library (cnniqa_eval, metaiqa_eval):
 * timing, the trainer's log sink, error reporting, opening the dataset and
 * scoring a split (model score and features + the paper's MLP regressor).
 * Header-only (static inline) because each tool source is its own program.
 */
#ifndef LMMIQA_TOOLS_EVAL_COMMON_H
#define LMMIQA_TOOLS_EVAL_COMMON_H

#include "lmmiqa/core.h"
#include "lmmiqa/dataset.h"
#include "lmmiqa/metrics.h"
#include "lmmiqa/regressor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double eval_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Trainer log callback: one indented line on stderr. */
static inline void eval_log_line(void *user, const char *line)
{
    (void)user;
    fprintf(stderr, "  %s\n", line);
}

/* Print "prog: what: <library error>" and return exit status 1. */
static inline int eval_fail(const char *prog, const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", prog, what, lmmiqa_error_message());
    return 1;
}

/* Open the dataset at path (falling back to $LMMIQA_SHARED_DIR). */
static inline int eval_dataset_open(const char *path, lmmiqa_dataset **ds)
{
    lmmiqa_dataset_options o;
    lmmiqa_dataset_options_init(&o);
    o.fallback_shared_dir = getenv("LMMIQA_SHARED_DIR");
    *ds = NULL;
    return lmmiqa_dataset_load_ex(path, &o, ds);
}

/* PLCC/SROCC of score[te[i]] against the MOS of test rows te[nte]. */
static inline void eval_score_corr(const double *score, const lmmiqa_dataset *ds,
                                   const size_t *te, size_t nte, double *pl, double *sr)
{
    double *ps = malloc(nte * sizeof *ps), *ms = malloc(nte * sizeof *ms);
    for (size_t i = 0; i < nte; i++)
        ps[i] = score[te[i]], ms[i] = lmmiqa_dataset_mos(ds, te[i]);
    lmmiqa_metric_plcc(ps, ms, nte, pl);
    lmmiqa_metric_srocc(ps, ms, nte, sr);
    free(ps), free(ms);
}

/* Train the MLP on rows `tr` of feat[n, dim], predict rows `te`, PLCC/SROCC
 * into pl/sr. */
static inline int eval_regress(const float *feat, size_t dim, const lmmiqa_dataset *ds,
                               const size_t *tr, size_t ntr, const size_t *te, size_t nte,
                               double lo, double hi, double *pl, double *sr)
{
    float *xtr = malloc(ntr * dim * sizeof *xtr), *xte = malloc(nte * dim * sizeof *xte);
    double *ytr = malloc(ntr * sizeof *ytr), *yte = malloc(nte * sizeof *yte);
    double *pred = malloc(nte * sizeof *pred);
    for (size_t i = 0; i < ntr; i++) {
        memcpy(xtr + i * dim, feat + tr[i] * dim, dim * sizeof *xtr);
        ytr[i] = lmmiqa_dataset_mos(ds, tr[i]);
    }
    for (size_t i = 0; i < nte; i++) {
        memcpy(xte + i * dim, feat + te[i] * dim, dim * sizeof *xte);
        yte[i] = lmmiqa_dataset_mos(ds, te[i]);
    }
    lmmiqa_regressor_config rc;
    lmmiqa_regressor_config_init(&rc);
    lmmiqa_regressor *reg = NULL;
    int st = lmmiqa_regressor_train(&rc, xtr, ytr, ntr, dim, lo, hi, NULL, NULL, 0, &reg);
    if (st == 0)
        st = lmmiqa_regressor_predict(reg, xte, nte, pred);
    if (st == 0)
        st = lmmiqa_metric_plcc(pred, yte, nte, pl);
    if (st == 0)
        st = lmmiqa_metric_srocc(pred, yte, nte, sr);
    lmmiqa_regressor_destroy(reg);
    free(xtr), free(xte), free(ytr), free(yte), free(pred);
    return st;
}

#endif
