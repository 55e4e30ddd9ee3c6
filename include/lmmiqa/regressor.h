/*
 * lmmiqa/regressor.h - the paper's FC block: regress a feature vector to a
 * mean opinion score (MOS).
 *
 * Input: one row per image, the concatenation of the chosen feature sets
 * (the paper's "switch"). Heads:
 *   - MLP: Linear(dim, hidden) -> ReLU [-> dropout] -> Linear(hidden, 1) -> sigmoid
 *   - linear: Linear(dim, 1) -> sigmoid (the paper's head for BRISQUE alone)
 *   - SVR: epsilon-SVR with an RBF kernel (the classic BRISQUE regressor)
 * The network is trained with MSE against the MOS normalised to [0, 1] by the
 * dataset's MOS range, with Adam on mini-batches; predictions are mapped back
 * to the MOS scale. Optional per-feature standardisation is fitted on the
 * training rows only. Training is deterministic for a given seed and thread
 * count.
 *
 * A trained regressor is immutable and may be shared by threads for
 * prediction. It saves to a self-describing safetensors file holding the
 * weights, the feature list, the standardisation and the MOS range.
 */
#ifndef LMMIQA_REGRESSOR_H
#define LMMIQA_REGRESSOR_H

#include "lmmiqa/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lmmiqa_head {
    LMMIQA_HEAD_MLP = 0,    /* Linear(dim, hidden) -> ReLU -> Linear(hidden, 1) -> sigmoid */
    LMMIQA_HEAD_LINEAR = 1, /* Linear(dim, 1) -> sigmoid */
    LMMIQA_HEAD_SVR = 2     /* epsilon-SVR, RBF kernel, on standardised features */
} lmmiqa_head;

/* The regressor's settings. Start from lmmiqa_regressor_config_init(): it
 * sets `size`, through which later versions add settings without breaking
 * programs built against this one (settings past a caller's size take their
 * defaults). */
typedef struct lmmiqa_regressor_config {
    size_t size;           /* sizeof(lmmiqa_regressor_config), set by _init */
    lmmiqa_head head;
    int hidden;            /* MLP hidden width (paper: 512) */
    int epochs;            /* passes over the training rows (paper shows epoch 25) */
    int batch_size;        /* mini-batch rows */
    double learning_rate;  /* Adam step size (default 1e-3; use about 1e-2 for the linear head) */
    double weight_decay;   /* L2 penalty added to the gradient (Adam), 0 = off */
    double dropout;        /* dropout probability after the hidden ReLU, 0 = off */
    int standardize;       /* 1: z-score each feature with train-split mean/std */
    uint64_t seed;         /* initialisation, batch order and dropout masks */
    int threads;           /* BLAS threads for training: > 0 pins OpenBLAS to that many
                              (openblas_set_num_threads, process-wide); 0 leaves OpenBLAS's
                              setting (by default all cores, or $OPENBLAS_NUM_THREADS).
                              Results are bit-identical for a given seed and thread count;
                              other thread counts may differ in the last bits. */
    /* SVR head only */
    double svr_c, svr_epsilon, svr_gamma; /* gamma <= 0 means 1/dim; epsilon is on the
                                             normalised [0, 1] MOS scale */
    /* Ranking pairs (lmmiqa_regressor_train_ranked only; MLP/linear heads) */
    double rank_lambda;    /* weight of the margin ranking term (default 1) */
    double rank_margin;    /* hinge margin on the sigmoid's [0, 1] output scale (default 0.05) */
} lmmiqa_regressor_config;

/* Fill `cfg` with the documented defaults (docs/regressor.md says why). */
LMMIQA_API void lmmiqa_regressor_config_init(lmmiqa_regressor_config *cfg);

typedef struct lmmiqa_regressor lmmiqa_regressor;

/* Train on n rows of x (row-major n x dim, float32) with targets mos[n] on
 * the dataset's scale [mos_min, mos_max]. Optional validation rows (x_val,
 * mos_val, n_val; NULL/0 for none) select the epoch with the best validation
 * PLCC+SROCC (n_val must then be >= 3); without them the last epoch is kept.
 * LMMIQA_ERR_INVALID_ARG with a message naming the problem for n = 0, dim = 0,
 * an empty or non-finite MOS range, a MOS outside it, a non-finite feature
 * (row and column named) or a bad config field; LMMIQA_ERR_UNDEFINED if the
 * loss becomes non-finite; LMMIQA_ERR_TOO_LARGE for SVR over 16384 rows. */
LMMIQA_API int lmmiqa_regressor_train(const lmmiqa_regressor_config *cfg, const float *x,
                                      const double *mos, size_t n, size_t dim, double mos_min,
                                      double mos_max, const float *x_val, const double *mos_val,
                                      size_t n_val, lmmiqa_regressor **out);

/* Ranking rows for lmmiqa_regressor_train_ranked: unlabelled feature rows
 * (e.g. of synthetically distorted copies of the training images) and pairs
 * of them whose order is known. */
typedef struct lmmiqa_rank_set {
    const float *x;       /* [n, dim] feature rows, row-major, same features as training */
    size_t n;
    const size_t *pairs;  /* [n_pairs][2] = (better, worse): row indices into x */
    size_t n_pairs;
} lmmiqa_rank_set;

/* lmmiqa_regressor_train plus a margin ranking term (RankIQA, Liu et al.,
 * ICCV 2017: a synthetic distortion cannot improve an image, so an image and
 * its distorted copies give ordered pairs without new labels). The loss of a
 * step is
 *   MSE(MOS rows of the batch)
 *     + cfg->rank_lambda * mean over the step's pairs of
 *       max(0, cfg->rank_margin - (f(better) - f(worse)))
 * on the sigmoid outputs (the [0, 1] MOS scale). Every pair is used once
 * per epoch, spread evenly over the epoch's mini-batches; both terms share
 * one backward pass and the same Adam optimiser. Standardisation is fitted on
 * the MOS rows only. `rank` NULL or with no pairs is plain
 * lmmiqa_regressor_train. Errors as lmmiqa_regressor_train, plus
 * LMMIQA_ERR_INVALID_ARG for the SVR head with pairs, a pair index outside
 * [0, rank->n) or a pair of a row with itself, a non-finite ranking row, or
 * rank_lambda < 0 / rank_margin outside [0, 1]. */
LMMIQA_API int lmmiqa_regressor_train_ranked(const lmmiqa_regressor_config *cfg, const float *x,
                                             const double *mos, size_t n, size_t dim,
                                             double mos_min, double mos_max, const float *x_val,
                                             const double *mos_val, size_t n_val,
                                             const lmmiqa_rank_set *rank,
                                             lmmiqa_regressor **out);

/* Predict n rows of x (n x dim) into out[n], on the MOS scale. Batch
 * invariant: a row's prediction is bit-identical whether it is predicted
 * alone or with any other rows. Safe to call from several threads on one
 * regressor (it allocates its own scratch).
 * LMMIQA_ERR_INVALID_ARG naming the row and column on a non-finite feature.
 * MLP/linear outputs lie in [mos_min, mos_max]; SVR outputs are not clamped. */
LMMIQA_API int lmmiqa_regressor_predict(const lmmiqa_regressor *reg, const float *x, size_t n,
                                        double *out);

/* Input width the regressor expects. */
LMMIQA_API size_t lmmiqa_regressor_dim(const lmmiqa_regressor *reg);

/* The head this regressor uses. */
LMMIQA_API lmmiqa_head lmmiqa_regressor_head(const lmmiqa_regressor *reg);

/* What training did (not saved in the model file: after load, epochs = 0). */
typedef struct lmmiqa_regressor_history {
    size_t epochs;             /* epochs run (0 for SVR or a loaded model) */
    const double *train_loss;  /* [epochs] mean training MSE (normalised MOS) per epoch */
    const double *val_plcc;    /* [epochs] validation PLCC per epoch (NAN without validation) */
    const double *val_srocc;   /* [epochs] validation SROCC per epoch (NAN without validation) */
    int selected_epoch;        /* 1-based epoch whose weights were kept (0 for SVR) */
    long svr_iterations;       /* SMO iterations (SVR) */
    int svr_converged;         /* 1 when SMO met its tolerance (SVR) */
} lmmiqa_regressor_history;

/* The training record; pointers valid while `reg` lives. */
LMMIQA_API void lmmiqa_regressor_get_history(const lmmiqa_regressor *reg,
                                             lmmiqa_regressor_history *out);

/* Free; NULL is a no-op. */
LMMIQA_API void lmmiqa_regressor_destroy(lmmiqa_regressor *reg);

/* Save with free-form metadata (e.g. the feature spec "clip-vit-b16+brisque"
 * and extractor configurations, as a JSON string; may be NULL). Atomic. */
LMMIQA_API int lmmiqa_regressor_save(const lmmiqa_regressor *reg, const char *path,
                                     const char *metadata_json);

/* Load a saved regressor; checks every tensor's name, shape and dtype (F32)
 * and fails with LMMIQA_ERR_MISMATCH naming a missing, extra or misshaped
 * tensor. File format: docs/regressor.md. */
LMMIQA_API int lmmiqa_regressor_load(const char *path, lmmiqa_regressor **out);

/* Load a regressor from a safetensors image in memory (e.g. a model embedded
 * in a binary), with the same checks; `name` is used in messages. The bytes
 * need not outlive the call. */
LMMIQA_API int lmmiqa_regressor_load_memory(const void *data, size_t size, const char *name,
                                            lmmiqa_regressor **out);

/* The metadata JSON string stored with the model ("" if none). */
LMMIQA_API const char *lmmiqa_regressor_metadata(const lmmiqa_regressor *reg);

#ifdef __cplusplus
}
#endif
#endif
