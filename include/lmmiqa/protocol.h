/*
 * lmmiqa/protocol.h - the paper's evaluation protocol: for every feature
 * combination, train a regressor on the training part of every split,
 * predict the test part, and report PLCC / SROCC / KRCC / RMSE per split and
 * their mean and standard deviation over splits.
 *
 * Why: the paper's tables (e.g. Table 2: "PLCC (std)  SRCC (std)" per
 * feature set and dataset) are exactly this loop over 10 random 80/20
 * splits; doing it in one place makes every number reproducible from a seed
 * and resumable after an interruption.
 *
 * Inputs: a dataset (labels), a split set (include/lmmiqa/splits.h), feature
 * specs ("brisque", "clip-vit-b16+brisque") whose features are already in a
 * feature store (include/lmmiqa/store.h), and a base regressor
 * configuration. Trainable extractors (cnniqa, metaiqa) are the exception:
 * the runner trains them per split on the training rows only and builds
 * their features per split (see fit_epochs below).
 *
 * Defaults decided here (docs/protocol.md says why):
 *   - head: the paper's Linear(36,1) -> sigmoid for "brisque" alone, the MLP
 *     for every other spec, unless a head is forced;
 *   - MOS normalisation: the dataset's nominal scale (lmmiqa_dataset_scale,
 *     e.g. 0..100 for LIVE Challenge), widened to cover a training MOS
 *     outside it; optionally the training part's observed min..max (never
 *     the test part);
 *   - split k (1-based in every output) trains with seed base_seed + k - 1;
 *   - the std is the population standard deviation over splits (numpy.std);
 *     mean and std are taken over the splits where the metric is defined.
 *
 * Output folder DIR:
 *   DIR/splits.json                    the splits used (lmmiqa_splits_save_json)
 *   DIR/runs/<spec>/split-<k>.json     one file per finished (spec, split):
 *                                      metrics, settings, fingerprint, test
 *                                      predictions; written atomically as soon
 *                                      as that split finishes
 *   DIR/results.md                     Markdown, rows = specs, columns =
 *                                      PLCC (std), SRCC (std) (paper layout),
 *                                      then a KRCC / RMSE table
 *   DIR/results.csv, DIR/results.json  the same numbers, machine-readable
 *   DIR/per_split.csv                  spec, split, n_train, n_test, metrics
 *   DIR/predictions.csv                spec, split, image, mos, pred (test rows)
 *   DIR/train_predictions.csv          the same for the training rows, when
 *                                      train_predictions is set
 *   DIR/runs/<E>/split-<k>.safetensors, .fit.json
 *                                      trainable extractor E's weights for
 *                                      split k and its fit record
 *   DIR/stores/split-<k>/              per-split store of those features
 *
 * Resume: a run skips every (spec, split) whose result file exists and whose
 * fingerprint (a SHA-256 over the features' extractor configurations and
 * image hashes, the split's indices, the regressor configuration, the head
 * and the MOS range) equals the one it would compute now; anything else is
 * recomputed and overwritten.
 */
#ifndef LMMIQA_PROTOCOL_H
#define LMMIQA_PROTOCOL_H

#include "lmmiqa/core.h"
#include "lmmiqa/dataset.h"
#include "lmmiqa/metrics.h"
#include "lmmiqa/regressor.h"
#include "lmmiqa/splits.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How MOS values are mapped to the regressor's [0, 1] target range. */
typedef enum lmmiqa_mos_range {
    LMMIQA_MOS_RANGE_NOMINAL = 0, /* the dataset's nominal scale (default), see below */
    LMMIQA_MOS_RANGE_TRAIN = 1    /* min..max of the training part's MOS */
} lmmiqa_mos_range;

/* Reported after each (spec, split). */
typedef struct lmmiqa_protocol_event {
    const char *spec;
    size_t combo, n_combos;       /* 0-based spec index, number of specs */
    size_t split, n_splits;       /* 1-based split number, number of splits */
    int reused;                   /* 1: read back from a finished result file */
    lmmiqa_head head;
    const lmmiqa_metrics *metrics; /* of the test part */
    double seconds;               /* training + prediction time (0 when reused) */
} lmmiqa_protocol_event;

/* Options of lmmiqa_protocol_run. Start from lmmiqa_protocol_options_init():
 * it sets `size`, through which later versions add fields without breaking
 * programs built against this one. */
typedef struct lmmiqa_protocol_options {
    size_t size;                  /* sizeof(lmmiqa_protocol_options), set by _init */
    const char *store_dir;        /* feature store holding every part of every spec */
    const char *out_dir;          /* results folder, created if missing */
    lmmiqa_regressor_config reg;  /* base configuration (seed = base seed) */
    int force_head;               /* 1: reg.head for every spec; 0: per-spec default */
    lmmiqa_mos_range mos_range;
    int resume;                   /* 1: reuse finished (spec, split) results */
    void (*progress)(void *user, const lmmiqa_protocol_event *ev); /* may be NULL */
    void *user;
    /* Optional ranking pairs (lmmiqa_regressor_train_ranked; `lmmiqa eval
     * --rank-augment`). rank_fn (NULL = none) is called once per spec with
     * rank_user and the normalised spec; it fills *rank (rows and pairs) and
     * *owner [rank->n_pairs], the dataset row of each pair's source image. A
     * split trains with the pairs whose owner is in its training part, so a
     * test image's copies never enter. The data stays the provider's until
     * its next call or the end of the run. rank_tag describes the pairs
     * (levels, image count, lambda, margin) and enters every result's
     * fingerprint. */
    int (*rank_fn)(void *user, const char *spec, lmmiqa_rank_set *rank, const size_t **owner);
    void *rank_user;
    const char *rank_tag;
    /* Trainable extractors (lmmiqa_protocol_is_trainable: "cnniqa",
     * "metaiqa"). A spec holding one is never read from store_dir for that
     * part: for each split k the extractor is trained on split k's TRAINING
     * rows only (never its validation or test rows) into
     * DIR/runs/<extractor>/split-<k>.safetensors, with seed reg.seed + k - 1
     * and the nominal MOS scale widened to the training MOS; the fit is
     * described by DIR/runs/<extractor>/split-<k>.fit.json (fingerprint,
     * settings, the training rows and images used) and resumes from
     * split-<k>.checkpoint.safetensors after an interruption. Its features
     * for every row of the dataset are then built with those weights into
     * DIR/stores/split-<k>/ (the store's own resume), where the spec's fixed
     * extractors' files of store_dir are linked, and split k's regression
     * reads that store. A finished fit with the same fingerprint is reused.
     * Not combinable with rank_fn. */
    int fit_epochs;           /* training epochs, >= 1 (default 2) */
    int fit_patches;          /* CNNIQA random patches per image per epoch, 0 = all (default 32) */
    const char *metaiqa_init; /* MetaIQA starting weights; NULL = random initialisation */
    int jobs;                 /* threads building the per-split stores; 0 = all cores */
    /* Progress lines of the fits (start, reuse, each epoch), with `user`,
     * and warnings, which start with "warning: " (a split result file that
     * exists but is not reused - other inputs, no or a wrong content digest,
     * not JSON - is named with the reason and recomputed). May be NULL. */
    void (*log)(void *user, const char *line);
    /* 1: also predict each split's training rows, keep them in the split's
     * result file ("train_predictions") and write DIR/train_predictions.csv
     * (the columns of predictions.csv); a finished split without them is
     * recomputed. For the paper's training/test scatter panels
     * (`lmmiqa plot scatter --train`). Default 0. */
    int train_predictions;
    /* Optional: which (spec, split) pairs this call computes, e.g. `mpirun
     * lmmiqa eval` hands pairs to other processes (docs/scale-out.md). Called
     * with select_user, the normalised spec, its 0-based index and the
     * 0-based split before computing a pair that is not reused from its
     * result file; 0 skips the pair (no file, no progress event). When any
     * pair was skipped the summaries are not written and `rows` is left as
     * is; the call still returns LMMIQA_OK. NULL: every pair. */
    int (*select)(void *select_user, const char *spec, size_t combo, size_t split);
    void *select_user;
    /* 1: also score each split's test rows with every trainable extractor's
     * own prediction (CNNIQA's mean patch score, MetaIQA's head), mapped
     * back to the MOS scale with the fit's MOS range, and report its
     * metrics beside the specs': a third table in results.md,
     * "model_scores" in results.json, DIR/model_scores.csv (per split, the
     * columns of per_split.csv with "extractor" first) and
     * DIR/model_predictions.csv (the columns of predictions.csv). Scores
     * are recomputed on every run (they are deterministic). Default 0. */
    int model_score;
} lmmiqa_protocol_options;

/* Defaults: lmmiqa_regressor_config_init with threads = 1 (small heads
 * train fastest on one BLAS thread, and results then do not depend on the
 * core count), per-spec head, nominal MOS range, resume on, no callback,
 * fit_epochs 2, fit_patches 32, all cores;
 * store_dir and out_dir must be set. */
LMMIQA_API void lmmiqa_protocol_options_init(lmmiqa_protocol_options *opt);

/* 1 for an extractor trained per split by the protocol (one with a fit
 * hook in the extractor registry: "cnniqa", "metaiqa"), 0 for a fixed one
 * read from the shared store. */
LMMIQA_API int lmmiqa_protocol_is_trainable(const char *extractor);

/* The head a spec gets by default: LMMIQA_HEAD_LINEAR for exactly
 * "brisque", else LMMIQA_HEAD_MLP. */
LMMIQA_API lmmiqa_head lmmiqa_protocol_default_head(const char *spec);

/* "mlp", "linear" or "svr"; lmmiqa_head_parse returns -1 for other text. */
LMMIQA_API const char *lmmiqa_head_name(lmmiqa_head head);
LMMIQA_API int lmmiqa_head_parse(const char *name);

/* A regressor configuration as a JSON object (malloc'd string; free()). NULL
 * when out of memory or cfg was not initialised (size unset; the message
 * says so). Used in result files and model metadata. */
LMMIQA_API char *lmmiqa_regressor_config_json(const lmmiqa_regressor_config *cfg);

/* The MOS range used to train on the given training rows: NOMINAL gives
 * the dataset's nominal scale, widened to cover any training MOS outside it;
 * TRAIN gives the training rows' min..max (n_train > 0). Test rows never
 * enter. */
LMMIQA_API void lmmiqa_protocol_mos_range(const lmmiqa_dataset *ds, lmmiqa_mos_range mode,
                                          const size_t *train, size_t n_train, double *lo,
                                          double *hi);

/* Mean and standard deviation over splits of one spec's metrics. */
typedef struct lmmiqa_protocol_row {
    char spec[512];
    lmmiqa_head head;
    size_t splits;                 /* splits run */
    double plcc_mean, plcc_std, srocc_mean, srocc_std;
    double krcc_mean, krcc_std, rmse_mean, rmse_std;
} lmmiqa_protocol_row;

/* Run the protocol for n_specs specs over every split of `splits` (whose n
 * must equal the dataset size). Writes DIR as described above. rows (may be
 * NULL) receives n_specs summaries. Fails on the first error (a missing
 * store part, a training failure), keeping every result already written. */
LMMIQA_API int lmmiqa_protocol_run(const lmmiqa_dataset *ds, const lmmiqa_splits *splits,
                                   size_t n_specs, const char *const *specs,
                                   const lmmiqa_protocol_options *opt,
                                   lmmiqa_protocol_row *rows);

#ifdef __cplusplus
}
#endif
#endif
