/*
 * src/learn/regressor.c - the public regressor: argument checks, per-feature
 * standardisation, the training loop (mini-batch Adam on the FC block, or
 * the epsilon-SVR solver), validation-based epoch selection, prediction, and
 * the safetensors model file.
 *
 * Memory plan of one MLP/linear training run: one allocation holds the
 * gradient, the two Adam moments, the best-epoch copy and every batch buffer
 * (gathered rows, targets, outputs, dropout mask, activations); the row
 * order and the validation predictions are the only others. All are made
 * before the first epoch; the batch loop never allocates. The parameters themselves
 * are one flat block owned by the regressor (layout in learn/mlp.h).
 *
 * Randomness: four independent lmmiqa_rng streams derived from cfg->seed
 * (initialisation, batch order, dropout masks, ranking-pair order), so
 * switching dropout or ranking pairs on does not change the initial weights
 * or the batch order.
 *
 * Ranking pairs (lmmiqa_regressor_train_ranked): each step's batch is its B
 * MOS rows followed by ceil(pairs / steps) "better" rows and as many "worse"
 * rows, so every pair is seen once per epoch; one forward and one backward
 * pass cover both loss terms (learn/mlp.h, lmmiqa__rank_loss_grad_y).
 *
 * The one allocation inside the epoch loop is helper C's SROCC rank scratch
 * when scoring the validation rows (once per epoch, not per batch).
 */
#include "learn/mlp.h"
#include "learn/svr_smo.h"

#include "core/internal.h"
#include "lmmiqa/metrics.h"
#include "lmmiqa/regressor.h"
#include "io/safetensors.h"

#include <assert.h>
#include <cblas.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#define WEIGHT_DIVERGED 1e8f
#define SEED_ORDER 0x6f72646572ULL   /* "order" */
#define SEED_DROPOUT 0x64726f70ULL   /* "drop" */
#define SEED_PAIRS 0x7061697273ULL   /* "pairs" */
#define FORMAT_NAME "lmmiqa-regressor"
#define FORMAT_VERSION "1"

struct lmmiqa_regressor {
    lmmiqa_head head;
    size_t dim, hidden;   /* hidden = 0 for the linear head and SVR */
    double mos_min, mos_max;
    int standardize;
    float *mean, *std;    /* [dim]; mean 0, std 1 when standardisation is off */
    float *params;        /* MLP/linear: [n_params], layout in learn/mlp.h */
    size_t n_params;
    size_t n_sv;          /* SVR: support vectors [n_sv, dim], standardised */
    float *sv, *coef;     /* [n_sv * dim], [n_sv] */
    float rho;
    double gamma, svr_c, svr_epsilon;
    char *metadata;
    lmmiqa_regressor_history hist;
    double *hist_block;   /* [3 * epochs]: train loss, val PLCC, val SROCC */
};

void lmmiqa_regressor_config_init(lmmiqa_regressor_config *cfg)
{
    assert(cfg);
    memset(cfg, 0, sizeof *cfg);
    cfg->size = sizeof *cfg;
    cfg->head = LMMIQA_HEAD_MLP;
    cfg->hidden = 512;
    cfg->epochs = 25;
    cfg->batch_size = 32;
    cfg->learning_rate = 1e-3;
    cfg->weight_decay = 0.0;
    cfg->dropout = 0.0;
    cfg->standardize = 1;
    cfg->seed = 1;
    cfg->threads = 0;
    cfg->svr_c = 1.0;
    cfg->svr_epsilon = 0.05;
    cfg->svr_gamma = 0.0;
    cfg->rank_lambda = 1.0;
    cfg->rank_margin = 0.05;
}

static const char *head_name(lmmiqa_head h)
{
    switch (h) {
    case LMMIQA_HEAD_MLP: return "mlp";
    case LMMIQA_HEAD_LINEAR: return "linear";
    case LMMIQA_HEAD_SVR: return "svr";
    }
    return "?";
}

void lmmiqa_regressor_destroy(lmmiqa_regressor *reg)
{
    if (!reg)
        return;
    free(reg->mean);
    free(reg->std);
    free(reg->params);
    free(reg->sv);
    free(reg->coef);
    free(reg->metadata);
    free(reg->hist_block);
    free(reg);
}

size_t lmmiqa_regressor_dim(const lmmiqa_regressor *reg)
{
    assert(reg);
    return reg->dim;
}

lmmiqa_head lmmiqa_regressor_head(const lmmiqa_regressor *reg)
{
    assert(reg);
    return reg->head;
}

const char *lmmiqa_regressor_metadata(const lmmiqa_regressor *reg)
{
    assert(reg);
    return reg->metadata ? reg->metadata : "";
}

void lmmiqa_regressor_get_history(const lmmiqa_regressor *reg, lmmiqa_regressor_history *out)
{
    assert(reg && out);
    *out = reg->hist;
}

const float *lmmiqa__regressor_params(const lmmiqa_regressor *reg, size_t *count)
{
    if (count)
        *count = reg->n_params;
    return reg->params;
}

/* ---- argument checks ---------------------------------------------------- */

static int check_rows(const char *what, const float *x, const double *mos, size_t n, size_t dim,
                      double mos_min, double mos_max)
{
    for (size_t i = 0; i < n; i++) {
        const float *row = x + i * dim;
        for (size_t k = 0; k < dim; k++)
            if (!isfinite(row[k]))
                return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                    "regressor: %s feature row %zu column %zu is %g "
                                    "(features must be finite)",
                                    what, i, k, (double)row[k]);
        if (mos && !(mos[i] >= mos_min && mos[i] <= mos_max))
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                "regressor: %s MOS row %zu is %g, outside the MOS range "
                                "[%g, %g]",
                                what, i, mos[i], mos_min, mos_max);
    }
    return LMMIQA_OK;
}

static int check_config(const lmmiqa_regressor_config *cfg)
{
    if (cfg->head != LMMIQA_HEAD_MLP && cfg->head != LMMIQA_HEAD_LINEAR &&
        cfg->head != LMMIQA_HEAD_SVR)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "regressor: unknown head %d",
                            (int)cfg->head);
    if (cfg->threads < 0)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "regressor: threads = %d must be >= 0",
                            cfg->threads);
    if (cfg->head == LMMIQA_HEAD_SVR) {
        if (!(cfg->svr_c > 0.0) || !isfinite(cfg->svr_c))
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "regressor: svr_c = %g must be > 0",
                                cfg->svr_c);
        if (!(cfg->svr_epsilon >= 0.0) || !isfinite(cfg->svr_epsilon))
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                "regressor: svr_epsilon = %g must be >= 0", cfg->svr_epsilon);
        if (!isfinite(cfg->svr_gamma))
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "regressor: svr_gamma = %g is not finite",
                                cfg->svr_gamma);
        return LMMIQA_OK;
    }
    if (cfg->head == LMMIQA_HEAD_MLP && (cfg->hidden < 1 || cfg->hidden > (1 << 20)))
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "regressor: hidden = %d must be in [1, 1048576]", cfg->hidden);
    if (cfg->epochs < 1)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "regressor: epochs = %d must be >= 1",
                            cfg->epochs);
    if (cfg->batch_size < 1)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "regressor: batch_size = %d must be >= 1",
                            cfg->batch_size);
    if (!(cfg->learning_rate > 0.0) || !isfinite(cfg->learning_rate))
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "regressor: learning_rate = %g must be > 0",
                            cfg->learning_rate);
    if (!(cfg->weight_decay >= 0.0) || !isfinite(cfg->weight_decay))
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "regressor: weight_decay = %g must be >= 0",
                            cfg->weight_decay);
    if (!(cfg->dropout >= 0.0 && cfg->dropout < 1.0))
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "regressor: dropout = %g must be in [0, 1)",
                            cfg->dropout);
    return LMMIQA_OK;
}

/* ---- standardisation ---------------------------------------------------- */

/* Mean and population std (ddof 0, like sklearn's StandardScaler) per column,
 * in double, rounded to float; a constant column gets std 1. */
static void fit_standardize(const float *x, size_t n, size_t dim, float *mean, float *std)
{
    for (size_t k = 0; k < dim; k++) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += x[i * dim + k];
        double mu = s / (double)n;
        double ss = 0.0;
        for (size_t i = 0; i < n; i++) {
            double d = x[i * dim + k] - mu;
            ss += d * d;
        }
        double sd = sqrt(ss / (double)n);
        mean[k] = (float)mu;
        std[k] = (sd > 1e-12 * (fabs(mu) > 1.0 ? fabs(mu) : 1.0) && (float)sd > 0.0f)
                     ? (float)sd
                     : 1.0f;
    }
}

/* dst [dim] = (src - mean) / std, in float: the one place rows are scaled. */
static void scale_row(const lmmiqa_regressor *reg, const float *src, float *dst)
{
    for (size_t k = 0; k < reg->dim; k++)
        dst[k] = (src[k] - reg->mean[k]) / reg->std[k];
}

/* ---- prediction ---------------------------------------------------------- */

static double to_mos(const lmmiqa_regressor *reg, double y01)
{
    return reg->mos_min + y01 * (reg->mos_max - reg->mos_min);
}

/* Network prediction of n rows with caller scratch: xs [chunk, dim],
 * ys [chunk], s bound for `chunk` rows. */
static void predict_net(const lmmiqa_regressor *reg, const float *x, size_t n, size_t chunk,
                        const float *params, float *xs, float *ys, lmmiqa__mlp_scratch *s,
                        double *out)
{
    for (size_t i0 = 0; i0 < n; i0 += chunk) {
        size_t rows = n - i0 < chunk ? n - i0 : chunk;
        for (size_t r = 0; r < rows; r++)
            scale_row(reg, x + (i0 + r) * reg->dim, xs + r * reg->dim);
        lmmiqa__mlp_forward(params, reg->dim, reg->hidden, xs, rows, NULL, s, ys);
        for (size_t r = 0; r < rows; r++)
            out[i0 + r] = to_mos(reg, ys[r]);
    }
}

double lmmiqa__svr_rbf(const float *a, const float *b, size_t dim, double gamma)
{
    double d2 = 0.0;
    for (size_t k = 0; k < dim; k++) {
        double d = (double)a[k] - (double)b[k];
        d2 += d * d;
    }
    return exp(-gamma * d2);
}

static double predict_svr_row(const lmmiqa_regressor *reg, const float *xs)
{
    double f = 0.0;
    for (size_t i = 0; i < reg->n_sv; i++)
        f += (double)reg->coef[i] * lmmiqa__svr_rbf(reg->sv + i * reg->dim, xs, reg->dim, reg->gamma);
    return f - (double)reg->rho;
}

int lmmiqa_regressor_predict(const lmmiqa_regressor *reg, const float *x, size_t n, double *out)
{
    assert(reg && (x || n == 0) && (out || n == 0));
    if (n == 0)
        return LMMIQA_OK;
    size_t total;
    int rc = lmmiqa__mul_size(n, reg->dim, &total);
    if (rc)
        return rc;
    rc = check_rows("input", x, NULL, n, reg->dim, 0.0, 0.0);
    if (rc)
        return rc;
    /* One row per forward pass: BLAS kernels round differently for
     * different batch sizes, and a row's prediction must not depend on which
     * rows are predicted with it (tests/test_regressor.c checks bit
     * identity). The head is small; a GEMV-sized pass costs microseconds. */
    size_t chunk = 1;
    size_t floats = chunk * reg->dim + chunk + lmmiqa__mlp_scratch_floats(reg->hidden, chunk);
    float *block = lmmiqa__malloc(floats * sizeof *block);
    if (!block)
        return LMMIQA_ERR_NOMEM;
    float *xs = block, *ys = xs + chunk * reg->dim;
    if (reg->head == LMMIQA_HEAD_SVR) {
        for (size_t i = 0; i < n; i++) {
            scale_row(reg, x + i * reg->dim, xs);
            out[i] = to_mos(reg, predict_svr_row(reg, xs));
        }
    } else {
        lmmiqa__mlp_scratch s;
        lmmiqa__mlp_scratch_bind(&s, ys + chunk, reg->hidden, chunk);
        predict_net(reg, x, n, chunk, reg->params, xs, ys, &s, out);
    }
    free(block);
    return LMMIQA_OK;
}

/* ---- validation score ---------------------------------------------------- */

/* PLCC + SROCC of the validation predictions (helper C's metrics: SROCC
 * allocates its rank scratch, once per epoch); NAN when undefined (constant
 * predictions), which never wins the epoch selection. */
static void score_val(const double *pred, const double *mos, size_t n, double *plcc,
                      double *srocc)
{
    *plcc = *srocc = NAN;
    if (lmmiqa_metric_plcc(pred, mos, n, plcc) != LMMIQA_OK)
        *plcc = NAN;
    if (lmmiqa_metric_srocc(pred, mos, n, srocc) != LMMIQA_OK)
        *srocc = NAN;
    lmmiqa_error_clear();
}

/* ---- network training --------------------------------------------------- */

static int train_net(const lmmiqa_regressor_config *cfg, lmmiqa_regressor *reg, const float *x,
                     const double *mos, size_t n, const float *x_val, const double *mos_val,
                     size_t n_val, const lmmiqa_rank_set *rank, const lmmiqa__train_hooks *hooks)
{
    const size_t dim = reg->dim, hidden = reg->hidden;
    const size_t np = lmmiqa__mlp_param_count(dim, hidden);
    const size_t B = (size_t)cfg->batch_size < n ? (size_t)cfg->batch_size : n;
    const size_t epochs = (size_t)cfg->epochs;
    const size_t steps_per_epoch = (n + B - 1) / B;
    const int use_dropout = hidden > 0 && cfg->dropout > 0.0;
    /* Ranking pairs: every pair once per epoch, spread evenly over its steps. */
    const size_t n_pairs = rank ? rank->n_pairs : 0;
    const size_t P = (n_pairs + steps_per_epoch - 1) / steps_per_epoch;
    const size_t step_rows = B + 2 * P;
    const size_t chunk = step_rows > 64 ? step_rows : 64; /* rows per forward pass */
    reg->n_params = np;

    /* Sizes, overflow-checked: rows x dim and rows x hidden blocks. */
    size_t xb_n, h_n, p4, total = 0;
    int rc = lmmiqa__mul_size(chunk, dim, &xb_n);
    if (!rc)
        rc = lmmiqa__mul_size(chunk, hidden, &h_n);
    if (!rc)
        rc = lmmiqa__mul_size(np, 5, &p4);
    if (rc)
        return rc;
    size_t scratch_n = lmmiqa__mlp_scratch_floats(hidden, chunk);
    total = p4 + xb_n + 3 * chunk + (use_dropout ? h_n : 0) + scratch_n;
    if (total < p4 || total > ((size_t)1 << 40))
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE,
                            "regressor: training buffers for dim %zu, hidden %zu, batch %zu "
                            "are too large",
                            dim, hidden, chunk);

    reg->params = lmmiqa__malloc(np * sizeof *reg->params);
    float *work = lmmiqa__calloc(total, sizeof *work);
    size_t *order = lmmiqa__malloc(n * sizeof *order);
    size_t *porder = n_pairs ? lmmiqa__malloc(n_pairs * sizeof *porder) : NULL;
    double *vpred = n_val ? lmmiqa__malloc(n_val * sizeof *vpred) : NULL;
    reg->hist_block = lmmiqa__calloc(3 * epochs, sizeof *reg->hist_block);
    if (!reg->params || !work || !order || (n_val && !vpred) || !reg->hist_block ||
        (n_pairs && !porder)) {
        rc = LMMIQA_ERR_NOMEM;
        goto done;
    }
    float *grad = work, *m = grad + np, *v = m + np, *best = v + np;
    float *xb = best + np, *tb = xb + xb_n, *yb = tb + chunk, *gy = yb + chunk;
    float *dmask = use_dropout ? gy + chunk : NULL;
    float *sblock = gy + chunk + (use_dropout ? h_n : 0);
    lmmiqa__mlp_scratch s;
    lmmiqa__mlp_scratch_bind(&s, sblock, hidden, chunk);

    lmmiqa_rng rng_init, rng_order, rng_drop, rng_pairs;
    lmmiqa_rng_seed(&rng_pairs, cfg->seed ^ SEED_PAIRS);
    for (size_t p = 0; p < n_pairs; p++)
        porder[p] = p;
    lmmiqa_rng_seed(&rng_init, cfg->seed);
    lmmiqa_rng_seed(&rng_order, cfg->seed ^ SEED_ORDER);
    lmmiqa_rng_seed(&rng_drop, cfg->seed ^ SEED_DROPOUT);
    if (hooks && hooks->init_params)
        memcpy(reg->params, hooks->init_params, np * sizeof *reg->params);
    else
        lmmiqa__mlp_init(reg->params, dim, hidden, &rng_init);
    for (size_t i = 0; i < n; i++)
        order[i] = i;

    lmmiqa__adam adam;
    lmmiqa__adam_init(&adam, cfg->learning_rate, cfg->weight_decay);
    const double range = reg->mos_max - reg->mos_min;
    const float keep_scale = use_dropout ? (float)(1.0 / (1.0 - cfg->dropout)) : 1.0f;
    double best_score = -INFINITY;
    int selected = 0;
    double *h_loss = reg->hist_block, *h_plcc = h_loss + epochs, *h_srocc = h_plcc + epochs;

    for (size_t e = 0; e < epochs; e++) {
        const size_t *ord = order;
        if (hooks && hooks->order)
            ord = hooks->order + e * n;
        else
            lmmiqa_rng_shuffle(&rng_order, order, n);
        if (n_pairs)
            lmmiqa_rng_shuffle(&rng_pairs, porder, n_pairs);
        double epoch_loss = 0.0;
        for (size_t st = 0; st < steps_per_epoch; st++) {
            size_t r0 = st * B, rows = n - r0 < B ? n - r0 : B;
            for (size_t r = 0; r < rows; r++) {
                size_t i = ord[r0 + r];
                scale_row(reg, x + i * dim, xb + r * dim);
                tb[r] = (float)((mos[i] - reg->mos_min) / range);
            }
            /* pairs of this step: better rows after the MOS rows, then worse rows */
            size_t p0 = st * P, pc = p0 < n_pairs ? (n_pairs - p0 < P ? n_pairs - p0 : P) : 0;
            for (size_t q = 0; q < pc; q++) {
                const size_t *pr = rank->pairs + 2 * porder[p0 + q];
                scale_row(reg, rank->x + pr[0] * dim, xb + (rows + q) * dim);
                scale_row(reg, rank->x + pr[1] * dim, xb + (rows + pc + q) * dim);
            }
            const size_t all = rows + 2 * pc;
            if (use_dropout)
                for (size_t j = 0; j < all * hidden; j++)
                    dmask[j] = lmmiqa_rng_uniform(&rng_drop) < cfg->dropout ? 0.0f : keep_scale;
            lmmiqa__mlp_forward(reg->params, dim, hidden, xb, all, dmask, &s, yb);
            double loss, mse;
            if (n_pairs) {
                loss = lmmiqa__rank_loss_grad_y(yb, tb, rows, pc, cfg->rank_lambda,
                                                cfg->rank_margin, gy, &mse, NULL);
                lmmiqa__mlp_backward_gy(reg->params, dim, hidden, xb, all, dmask, yb, gy, &s,
                                        grad);
            } else {
                loss = mse = lmmiqa__mlp_backward(reg->params, dim, hidden, xb, rows, dmask, yb,
                                                  tb, &s, grad);
            }
            if (!isfinite(loss)) {
                rc = lmmiqa__fail(LMMIQA_ERR_UNDEFINED,
                                  "regressor: training diverged (loss %g) at epoch %zu step %zu; "
                                  "lower the learning rate",
                                  loss, e + 1, st + 1);
                goto done;
            }
            if (hooks && hooks->step_loss)
                hooks->step_loss[e * steps_per_epoch + st] = loss;
            epoch_loss += mse * (double)rows;
            lmmiqa__adam_step(&adam, reg->params, grad, m, v, np);
        }
        /* The sigmoid output keeps the loss finite when a linear head's
         * weights run away (it saturates and its gradient vanishes), so look
         * at the weights too: none is anywhere near WEIGHT_DIVERGED on
         * standardized features. */
        for (size_t j = 0; j < np; j++)
            if (!isfinite(reg->params[j]) || fabsf(reg->params[j]) > WEIGHT_DIVERGED) {
                rc = lmmiqa__fail(LMMIQA_ERR_UNDEFINED,
                                  "regressor: training diverged (a weight reached %g) at epoch "
                                  "%zu; lower the learning rate",
                                  (double)reg->params[j], e + 1);
                goto done;
            }
        h_loss[e] = epoch_loss / (double)n;
        h_plcc[e] = h_srocc[e] = NAN;
        if (n_val) {
            predict_net(reg, x_val, n_val, 1, reg->params, xb, yb, &s, vpred); /* per row, as predict */
            score_val(vpred, mos_val, n_val, &h_plcc[e], &h_srocc[e]);
            double score = h_plcc[e] + h_srocc[e];
            if (isfinite(score) && score > best_score) {
                best_score = score;
                selected = (int)e + 1;
                memcpy(best, reg->params, np * sizeof *best);
            }
        }
    }
    if (selected > 0)
        memcpy(reg->params, best, np * sizeof *best);
    else
        selected = (int)epochs;
    reg->hist.epochs = epochs;
    reg->hist.train_loss = h_loss;
    reg->hist.val_plcc = h_plcc;
    reg->hist.val_srocc = h_srocc;
    reg->hist.selected_epoch = selected;
    rc = LMMIQA_OK;
done:
    free(work);
    free(order);
    free(porder);
    free(vpred);
    return rc;
}

/* ---- SVR training -------------------------------------------------------- */

static int train_svr(const lmmiqa_regressor_config *cfg, lmmiqa_regressor *reg, const float *x,
                     const double *mos, size_t n)
{
    const size_t dim = reg->dim;
    if (n > LMMIQA__SVR_MAX_ROWS)
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE,
                            "regressor: the SVR head trains on at most %d rows (its kernel "
                            "matrix is n x n floats); got %zu",
                            LMMIQA__SVR_MAX_ROWS, n);
    reg->gamma = cfg->svr_gamma > 0.0 ? cfg->svr_gamma : 1.0 / (double)dim;
    reg->svr_c = cfg->svr_c;
    reg->svr_epsilon = cfg->svr_epsilon;
    float *xs = lmmiqa__malloc(n * dim * sizeof *xs);
    double *y = lmmiqa__malloc(n * sizeof *y);
    int rc = LMMIQA_OK;
    lmmiqa__svr_solution sol = {0};
    if (!xs || !y) {
        rc = LMMIQA_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        scale_row(reg, x + i * dim, xs + i * dim);
        y[i] = (mos[i] - reg->mos_min) / (reg->mos_max - reg->mos_min);
    }
    lmmiqa__svr_problem p = {xs, y, n, dim, reg->svr_c, reg->svr_epsilon, reg->gamma, 1e-3, 0};
    rc = lmmiqa__svr_solve(&p, &sol);
    if (rc)
        goto done;
    size_t nsv = 0;
    for (size_t i = 0; i < n; i++)
        nsv += sol.coef[i] != 0.0;
    reg->n_sv = nsv;
    reg->sv = lmmiqa__malloc((nsv ? nsv : 1) * dim * sizeof *reg->sv);
    reg->coef = lmmiqa__malloc((nsv ? nsv : 1) * sizeof *reg->coef);
    reg->hist_block = lmmiqa__calloc(3, sizeof *reg->hist_block);
    if (!reg->sv || !reg->coef || !reg->hist_block) {
        rc = LMMIQA_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0, k = 0; i < n; i++) {
        if (sol.coef[i] == 0.0)
            continue;
        memcpy(reg->sv + k * dim, xs + i * dim, dim * sizeof *xs);
        reg->coef[k++] = (float)sol.coef[i];
    }
    reg->rho = (float)sol.rho;
    reg->hist.epochs = 0;
    reg->hist.train_loss = reg->hist.val_plcc = reg->hist.val_srocc = reg->hist_block;
    reg->hist.selected_epoch = 0;
    reg->hist.svr_iterations = sol.iterations;
    reg->hist.svr_converged = sol.converged;
done:
    lmmiqa__svr_solution_free(&sol);
    free(xs);
    free(y);
    return rc;
}

/* ---- training entry points ------------------------------------------------ */

static int check_rank(const lmmiqa_regressor_config *cfg, const lmmiqa_rank_set *rank,
                      size_t dim)
{
    if (cfg->head == LMMIQA_HEAD_SVR)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "regressor: ranking pairs need the mlp or linear head, not svr");
    if (!(cfg->rank_lambda >= 0.0) || !isfinite(cfg->rank_lambda))
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "regressor: rank_lambda = %g must be >= 0",
                            cfg->rank_lambda);
    if (!(cfg->rank_margin >= 0.0 && cfg->rank_margin <= 1.0))
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "regressor: rank_margin = %g must be in [0, 1]", cfg->rank_margin);
    if (!rank->x || !rank->pairs || rank->n == 0)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "regressor: %zu ranking pairs but no ranking rows", rank->n_pairs);
    size_t cells;
    int rc = lmmiqa__mul_size(rank->n, dim, &cells);
    if (!rc)
        rc = lmmiqa__mul_size(rank->n_pairs, 2, &cells);
    if (rc)
        return rc;
    for (size_t p = 0; p < rank->n_pairs; p++) {
        size_t a = rank->pairs[2 * p], b = rank->pairs[2 * p + 1];
        if (a >= rank->n || b >= rank->n)
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                "regressor: ranking pair %zu = (%zu, %zu) refers to a row "
                                "outside the %zu ranking rows",
                                p, a, b, rank->n);
        if (a == b)
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                "regressor: ranking pair %zu compares row %zu with itself", p, a);
    }
    return check_rows("ranking", rank->x, NULL, rank->n, dim, 0.0, 0.0);
}

static int train_impl(const lmmiqa_regressor_config *cfg, const float *x, const double *mos,
                      size_t n, size_t dim, double mos_min, double mos_max, const float *x_val,
                      const double *mos_val, size_t n_val, const lmmiqa_rank_set *rank,
                      const lmmiqa__train_hooks *hooks, lmmiqa_regressor **out)
{
    assert(cfg && out);
    *out = NULL;
    lmmiqa_regressor_config given;
    lmmiqa_regressor_config_init(&given);
    int grc = lmmiqa__options_read(&given, sizeof given, cfg,
                                   LMMIQA__OPTIONS_MIN(lmmiqa_regressor_config, head),
                                   "lmmiqa_regressor_config");
    if (grc)
        return grc;
    cfg = &given;
    if (n == 0)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "regressor: no training rows (n = 0)");
    if (dim == 0)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "regressor: feature dimension is 0");
    if (!x || !mos)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "regressor: training features or MOS missing");
    if (!isfinite(mos_min) || !isfinite(mos_max) || !(mos_min < mos_max))
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "regressor: MOS range [%g, %g] must be finite with min < max",
                            mos_min, mos_max);
    if (n_val && (!x_val || !mos_val))
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "regressor: %zu validation rows but no validation data", n_val);
    if (n_val && n_val < 3)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "regressor: %zu validation rows; epoch selection by PLCC/SROCC "
                            "needs at least 3 (or 0 to keep the last epoch)",
                            n_val);
    int rc = check_config(cfg);
    size_t cells;
    if (!rc)
        rc = lmmiqa__mul_size(n, dim, &cells);
    if (!rc)
        rc = lmmiqa__mul_size(n_val, dim, &cells);
    if (!rc)
        rc = check_rows("training", x, mos, n, dim, mos_min, mos_max);
    if (!rc && n_val)
        rc = check_rows("validation", x_val, mos_val, n_val, dim, mos_min, mos_max);
    if (rank && rank->n_pairs == 0)
        rank = NULL;
    if (!rc && rank)
        rc = check_rank(cfg, rank, dim);
    if (rc)
        return rc;
    if (cfg->threads > 0)
        openblas_set_num_threads(cfg->threads);

    lmmiqa_regressor *reg = lmmiqa__calloc(1, sizeof *reg);
    if (!reg)
        return LMMIQA_ERR_NOMEM;
    reg->head = cfg->head;
    reg->dim = dim;
    reg->hidden = cfg->head == LMMIQA_HEAD_MLP ? (size_t)cfg->hidden : 0;
    reg->mos_min = mos_min;
    reg->mos_max = mos_max;
    reg->standardize = cfg->standardize != 0;
    reg->mean = lmmiqa__malloc(dim * sizeof *reg->mean);
    reg->std = lmmiqa__malloc(dim * sizeof *reg->std);
    if (!reg->mean || !reg->std) {
        lmmiqa_regressor_destroy(reg);
        return LMMIQA_ERR_NOMEM;
    }
    if (reg->standardize) {
        fit_standardize(x, n, dim, reg->mean, reg->std);
    } else {
        for (size_t k = 0; k < dim; k++) {
            reg->mean[k] = 0.0f;
            reg->std[k] = 1.0f;
        }
    }
    if (cfg->head == LMMIQA_HEAD_SVR)
        rc = train_svr(cfg, reg, x, mos, n);
    else
        rc = train_net(cfg, reg, x, mos, n, x_val, mos_val, n_val, rank, hooks);
    if (rc) {
        lmmiqa_regressor_destroy(reg);
        return rc;
    }
    *out = reg;
    return LMMIQA_OK;
}

int lmmiqa__regressor_train_ex(const lmmiqa_regressor_config *cfg, const float *x,
                               const double *mos, size_t n, size_t dim, double mos_min,
                               double mos_max, const float *x_val, const double *mos_val,
                               size_t n_val, const lmmiqa__train_hooks *hooks,
                               lmmiqa_regressor **out)
{
    return train_impl(cfg, x, mos, n, dim, mos_min, mos_max, x_val, mos_val, n_val, NULL, hooks,
                      out);
}

int lmmiqa_regressor_train(const lmmiqa_regressor_config *cfg, const float *x,
                           const double *mos, size_t n, size_t dim, double mos_min,
                           double mos_max, const float *x_val, const double *mos_val,
                           size_t n_val, lmmiqa_regressor **out)
{
    return train_impl(cfg, x, mos, n, dim, mos_min, mos_max, x_val, mos_val, n_val, NULL, NULL,
                      out);
}

int lmmiqa_regressor_train_ranked(const lmmiqa_regressor_config *cfg, const float *x,
                                  const double *mos, size_t n, size_t dim, double mos_min,
                                  double mos_max, const float *x_val, const double *mos_val,
                                  size_t n_val, const lmmiqa_rank_set *rank,
                                  lmmiqa_regressor **out)
{
    return train_impl(cfg, x, mos, n, dim, mos_min, mos_max, x_val, mos_val, n_val, rank, NULL,
                      out);
}

/* ---- model file ---------------------------------------------------------- */

static int add_tensor(lmmiqa_safetensors_writer *w, const char *name, const float *data, int ndim,
                      int64_t d0, int64_t d1)
{
    int64_t shape[2] = {d0, d1};
    return lmmiqa_safetensors_writer_add(w, name, LMMIQA_DTYPE_F32, data, ndim, shape);
}

static int set_meta_num(lmmiqa_safetensors_writer *w, const char *key, double v, int integer)
{
    char buf[64];
    if (integer)
        snprintf(buf, sizeof buf, "%.0f", v);
    else
        snprintf(buf, sizeof buf, "%.17g", v);
    return lmmiqa_safetensors_writer_set_metadata(w, key, buf);
}

int lmmiqa_regressor_save(const lmmiqa_regressor *reg, const char *path,
                          const char *metadata_json)
{
    assert(reg && path);
    if (metadata_json) {
        cJSON *j = cJSON_Parse(metadata_json);
        if (!j)
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                "regressor: metadata for %s is not valid JSON", path);
        cJSON_Delete(j);
    }
    lmmiqa_safetensors_writer *w = NULL;
    int rc = lmmiqa_safetensors_writer_create(&w);
    if (rc)
        return rc;
    const int64_t D = (int64_t)reg->dim, H = (int64_t)reg->hidden;
    rc = add_tensor(w, "input.mean", reg->mean, 1, D, 0);
    if (!rc)
        rc = add_tensor(w, "input.std", reg->std, 1, D, 0);
    if (!rc && reg->head == LMMIQA_HEAD_MLP) {
        lmmiqa__mlp_layout l = lmmiqa__mlp_layout_of(reg->dim, reg->hidden);
        rc = add_tensor(w, "head.fc1.weight", reg->params + l.w1, 2, H, D);
        if (!rc)
            rc = add_tensor(w, "head.fc1.bias", reg->params + l.b1, 1, H, 0);
        if (!rc)
            rc = add_tensor(w, "head.fc2.weight", reg->params + l.w2, 2, 1, H);
        if (!rc)
            rc = add_tensor(w, "head.fc2.bias", reg->params + l.b2, 1, 1, 0);
    } else if (!rc && reg->head == LMMIQA_HEAD_LINEAR) {
        lmmiqa__mlp_layout l = lmmiqa__mlp_layout_of(reg->dim, 0);
        rc = add_tensor(w, "head.fc.weight", reg->params + l.w1, 2, 1, D);
        if (!rc)
            rc = add_tensor(w, "head.fc.bias", reg->params + l.b1, 1, 1, 0);
    } else if (!rc) {
        float rho = reg->rho;
        rc = add_tensor(w, "svr.support_vectors", reg->sv, 2, (int64_t)reg->n_sv, D);
        if (!rc)
            rc = add_tensor(w, "svr.coef", reg->coef, 1, (int64_t)reg->n_sv, 0);
        if (!rc)
            rc = add_tensor(w, "svr.rho", &rho, 1, 1, 0);
    }
    if (!rc)
        rc = lmmiqa_safetensors_writer_set_metadata(w, "format", FORMAT_NAME);
    if (!rc)
        rc = lmmiqa_safetensors_writer_set_metadata(w, "version", FORMAT_VERSION);
    if (!rc)
        rc = lmmiqa_safetensors_writer_set_metadata(w, "head", head_name(reg->head));
    if (!rc)
        rc = set_meta_num(w, "dim", (double)reg->dim, 1);
    if (!rc)
        rc = set_meta_num(w, "hidden", (double)reg->hidden, 1);
    if (!rc)
        rc = set_meta_num(w, "standardize", reg->standardize, 1);
    if (!rc)
        rc = set_meta_num(w, "mos_min", reg->mos_min, 0);
    if (!rc)
        rc = set_meta_num(w, "mos_max", reg->mos_max, 0);
    if (!rc && reg->head == LMMIQA_HEAD_SVR) {
        rc = set_meta_num(w, "svr_gamma", reg->gamma, 0);
        if (!rc)
            rc = set_meta_num(w, "svr_c", reg->svr_c, 0);
        if (!rc)
            rc = set_meta_num(w, "svr_epsilon", reg->svr_epsilon, 0);
    }
    if (!rc)
        rc = lmmiqa_safetensors_writer_set_metadata(w, "metadata",
                                                    metadata_json ? metadata_json : "");
    if (!rc)
        rc = lmmiqa_safetensors_writer_save(w, path);
    lmmiqa_safetensors_writer_destroy(w);
    return rc;
}

static int meta_str(const lmmiqa_safetensors *st, const char *path, const char *key,
                    const char **out)
{
    *out = lmmiqa_safetensors_metadata(st, key);
    if (!*out)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: regressor metadata \"%s\" is missing", path,
                            key);
    return LMMIQA_OK;
}

static int meta_num(const lmmiqa_safetensors *st, const char *path, const char *key, double *out)
{
    const char *s;
    int rc = meta_str(st, path, key, &s);
    if (rc)
        return rc;
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(*out))
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: regressor metadata \"%s\" = \"%s\" is not a "
                            "finite number", path, key, s);
    return LMMIQA_OK;
}

static int meta_size(const lmmiqa_safetensors *st, const char *path, const char *key, size_t lo,
                     size_t hi, size_t *out)
{
    double v;
    int rc = meta_num(st, path, key, &v);
    if (rc)
        return rc;
    if (v != floor(v) || v < (double)lo || v > (double)hi)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                            "%s: regressor metadata \"%s\" = %g is not an integer in [%zu, %zu]",
                            path, key, v, lo, hi);
    *out = (size_t)v;
    return LMMIQA_OK;
}

typedef struct expect {
    const char *name;
    int ndim;
    int64_t shape[2];
    float *dst;
} expect;

/* Check the file holds exactly the expected tensors (names, F32, shapes)
 * and read them. */
static int read_expected(const lmmiqa_safetensors *st, const char *path, expect *ex, size_t count)
{
    size_t nt = lmmiqa_safetensors_count(st);
    for (size_t t = 0; t < nt; t++) {
        lmmiqa_tensor_info info;
        int rc = lmmiqa_safetensors_get(st, t, &info);
        if (rc)
            return rc;
        size_t k = 0;
        while (k < count && strcmp(ex[k].name, info.name) != 0)
            k++;
        if (k == count)
            return lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                                "%s: unexpected tensor \"%s\" in a regressor file", path,
                                info.name);
    }
    for (size_t k = 0; k < count; k++) {
        lmmiqa_tensor_info info;
        if (lmmiqa_safetensors_find(st, ex[k].name, &info) != LMMIQA_OK)
            return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: regressor tensor \"%s\" is missing",
                                path, ex[k].name);
        if (info.dtype != LMMIQA_DTYPE_F32)
            return lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                                "%s: regressor tensor \"%s\" has dtype %d, expected F32", path,
                                ex[k].name, (int)info.dtype);
        int ok = info.ndim == ex[k].ndim;
        for (int d = 0; ok && d < ex[k].ndim; d++)
            ok = info.shape[d] == ex[k].shape[d];
        if (!ok) {
            char got[128] = "", want[64];
            size_t used = 0;
            for (int d = 0; d < info.ndim && used < sizeof got - 24; d++)
                used += (size_t)snprintf(got + used, sizeof got - used, "%s%lld", d ? ", " : "",
                                         (long long)info.shape[d]);
            if (ex[k].ndim == 1)
                snprintf(want, sizeof want, "%lld", (long long)ex[k].shape[0]);
            else
                snprintf(want, sizeof want, "%lld, %lld", (long long)ex[k].shape[0],
                         (long long)ex[k].shape[1]);
            return lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                                "%s: regressor tensor \"%s\" has shape [%s], expected [%s]", path,
                                ex[k].name, got, want);
        }
        size_t numel = (size_t)ex[k].shape[0] * (ex[k].ndim == 2 ? (size_t)ex[k].shape[1] : 1);
        int rc = lmmiqa_safetensors_read_f32(st, ex[k].name, ex[k].dst, numel);
        if (rc)
            return lmmiqa__fail_context(rc, "%s: ", path);
        for (size_t i = 0; i < numel; i++)
            if (!isfinite(ex[k].dst[i]))
                return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                    "%s: regressor tensor \"%s\" element %zu is not finite", path,
                                    ex[k].name, i);
    }
    return LMMIQA_OK;
}

static int load_body(const lmmiqa_safetensors *st, const char *path, lmmiqa_regressor *reg)
{
    const char *s;
    int rc = meta_str(st, path, "format", &s);
    if (rc)
        return rc;
    if (strcmp(s, FORMAT_NAME) != 0)
        return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: format \"%s\" is not \"%s\"", path, s,
                            FORMAT_NAME);
    if ((rc = meta_str(st, path, "version", &s)))
        return rc;
    if (strcmp(s, FORMAT_VERSION) != 0)
        return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: regressor file version \"%s\" is not supported "
                            "(this build reads version %s)", path, s, FORMAT_VERSION);
    if ((rc = meta_str(st, path, "head", &s)))
        return rc;
    if (strcmp(s, "mlp") == 0)
        reg->head = LMMIQA_HEAD_MLP;
    else if (strcmp(s, "linear") == 0)
        reg->head = LMMIQA_HEAD_LINEAR;
    else if (strcmp(s, "svr") == 0)
        reg->head = LMMIQA_HEAD_SVR;
    else
        return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: unknown regressor head \"%s\"", path, s);
    size_t stdz;
    if ((rc = meta_size(st, path, "dim", 1, (size_t)1 << 24, &reg->dim)) ||
        (rc = meta_size(st, path, "hidden", reg->head == LMMIQA_HEAD_MLP ? 1 : 0,
                        reg->head == LMMIQA_HEAD_MLP ? (1 << 20) : 0, &reg->hidden)) ||
        (rc = meta_size(st, path, "standardize", 0, 1, &stdz)) ||
        (rc = meta_num(st, path, "mos_min", &reg->mos_min)) ||
        (rc = meta_num(st, path, "mos_max", &reg->mos_max)))
        return rc;
    reg->standardize = (int)stdz;
    if (!(reg->mos_min < reg->mos_max))
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: MOS range [%g, %g] is empty", path,
                            reg->mos_min, reg->mos_max);
    const char *md = lmmiqa_safetensors_metadata(st, "metadata");
    reg->metadata = strdup(md ? md : "");
    if (!reg->metadata)
        return lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory");
    const size_t D = reg->dim;
    reg->mean = lmmiqa__malloc(D * sizeof *reg->mean);
    reg->std = lmmiqa__malloc(D * sizeof *reg->std);
    if (!reg->mean || !reg->std)
        return LMMIQA_ERR_NOMEM;
    expect ex[6] = {{"input.mean", 1, {(int64_t)D, 0}, reg->mean},
                    {"input.std", 1, {(int64_t)D, 0}, reg->std}};
    size_t count = 2;
    if (reg->head == LMMIQA_HEAD_SVR) {
        lmmiqa_tensor_info info;
        if (lmmiqa_safetensors_find(st, "svr.coef", &info) != LMMIQA_OK)
            return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: regressor tensor \"svr.coef\" is missing",
                                path);
        if (info.ndim != 1 || info.shape[0] < 0 || info.shape[0] > LMMIQA__SVR_MAX_ROWS)
            return lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                                "%s: regressor tensor \"svr.coef\" must be 1-D with at most %d "
                                "entries", path, LMMIQA__SVR_MAX_ROWS);
        reg->n_sv = (size_t)info.shape[0];
        if ((rc = meta_num(st, path, "svr_gamma", &reg->gamma)) ||
            (rc = meta_num(st, path, "svr_c", &reg->svr_c)) ||
            (rc = meta_num(st, path, "svr_epsilon", &reg->svr_epsilon)))
            return rc;
        size_t svn;
        if ((rc = lmmiqa__mul_size(reg->n_sv ? reg->n_sv : 1, D, &svn)))
            return rc;
        reg->sv = lmmiqa__malloc(svn * sizeof *reg->sv);
        reg->coef = lmmiqa__malloc((reg->n_sv ? reg->n_sv : 1) * sizeof *reg->coef);
        if (!reg->sv || !reg->coef)
            return LMMIQA_ERR_NOMEM;
        ex[count++] = (expect){"svr.support_vectors", 2, {(int64_t)reg->n_sv, (int64_t)D}, reg->sv};
        ex[count++] = (expect){"svr.coef", 1, {(int64_t)reg->n_sv, 0}, reg->coef};
        ex[count++] = (expect){"svr.rho", 1, {1, 0}, &reg->rho};
    } else {
        reg->n_params = lmmiqa__mlp_param_count(D, reg->hidden);
        reg->params = lmmiqa__malloc(reg->n_params * sizeof *reg->params);
        if (!reg->params)
            return LMMIQA_ERR_NOMEM;
        lmmiqa__mlp_layout l = lmmiqa__mlp_layout_of(D, reg->hidden);
        const int64_t H = (int64_t)reg->hidden;
        if (reg->head == LMMIQA_HEAD_MLP) {
            ex[count++] = (expect){"head.fc1.weight", 2, {H, (int64_t)D}, reg->params + l.w1};
            ex[count++] = (expect){"head.fc1.bias", 1, {H, 0}, reg->params + l.b1};
            ex[count++] = (expect){"head.fc2.weight", 2, {1, H}, reg->params + l.w2};
            ex[count++] = (expect){"head.fc2.bias", 1, {1, 0}, reg->params + l.b2};
        } else {
            ex[count++] = (expect){"head.fc.weight", 2, {1, (int64_t)D}, reg->params + l.w1};
            ex[count++] = (expect){"head.fc.bias", 1, {1, 0}, reg->params + l.b1};
        }
    }
    rc = read_expected(st, path, ex, count);
    if (rc)
        return rc;
    for (size_t k = 0; k < D; k++)
        if (!(reg->std[k] > 0.0f))
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: input.std[%zu] = %g must be > 0", path,
                                k, (double)reg->std[k]);
    return LMMIQA_OK;
}

int lmmiqa_regressor_load(const char *path, lmmiqa_regressor **out)
{
    assert(path && out);
    *out = NULL;
    lmmiqa_safetensors *st = NULL;
    int rc = lmmiqa_safetensors_open(path, &st);
    if (rc)
        return rc;
    lmmiqa_regressor *reg = lmmiqa__calloc(1, sizeof *reg);
    if (!reg) {
        lmmiqa_safetensors_close(st);
        return LMMIQA_ERR_NOMEM;
    }
    rc = load_body(st, path, reg);
    lmmiqa_safetensors_close(st);
    if (rc) {
        lmmiqa_regressor_destroy(reg);
        return rc;
    }
    *out = reg;
    return LMMIQA_OK;
}

int lmmiqa_regressor_load_memory(const void *data, size_t size, const char *name,
                                 lmmiqa_regressor **out)
{
    assert(data && name && out);
    *out = NULL;
    lmmiqa_safetensors *st = NULL;
    int rc = lmmiqa_safetensors_open_memory(data, size, &st);
    if (rc)
        return lmmiqa__fail_context(rc, "%s: ", name);
    lmmiqa_regressor *reg = lmmiqa__calloc(1, sizeof *reg);
    if (!reg) {
        lmmiqa_safetensors_close(st);
        return LMMIQA_ERR_NOMEM;
    }
    rc = load_body(st, name, reg);
    lmmiqa_safetensors_close(st);
    if (rc) {
        lmmiqa_regressor_destroy(reg);
        return rc;
    }
    *out = reg;
    return LMMIQA_OK;
}
