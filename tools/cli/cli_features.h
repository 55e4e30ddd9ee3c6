/*
 * tools/cli/cli_features.h - what the extract, score, train and eval
 * commands share: extractor options (--weights, --jobs) and creation, spec
 * checking, dataset loading, the store folder, making sure a feature store
 * holds a spec's features or computing features of image files (with a
 * progress bar on a terminal), CSV fields, and regressor option parsing.
 */
#ifndef LMMIQA_CLI_FEATURES_H
#define LMMIQA_CLI_FEATURES_H

#include "lmmiqa/dataset.h"
#include "lmmiqa/extractor.h"
#include "lmmiqa/protocol.h"
#include "lmmiqa/regressor.h"
#include "lmmiqa/scorer.h"
#include "lmmiqa/store.h"

#include <stdio.h>

#define CLI_MAX_WEIGHTS 16

/* Extractor options given on the command line: --weights NAME=FILE pairs. */
typedef struct cli_extractor_opts {
    const char *weights_name[CLI_MAX_WEIGHTS];
    const char *weights_file[CLI_MAX_WEIGHTS];
    int n_weights;
    int jobs; /* --jobs, 0 = all cores */
    const char *vocab;   /* --vocab: CLIP BPE vocabulary (clipiqa) */
    const char *prompts; /* --prompts: antonym prompt pairs (clipiqa) */
    double logit_scale;  /* --logit-scale (clipiqa), 0 = the checkpoint's */
} cli_extractor_opts;

/* Parse the extractor options "--weights NAME=FILE", "--jobs N" and
 * clipiqa's "--vocab FILE", "--prompts FILE", "--logit-scale S" at
 * argv[*i]: 1 matched, 0 not one of them, -1 error (printed). */
int cli_parse_extractor_opt(const char *cmd, int argc, char **argv, int *i,
                            cli_extractor_opts *eo);

/* 1 when every part of the '+'-joined `spec` (given as option `opt`) parses
 * and names a registered extractor; else prints why and returns 0. */
int cli_check_spec(const char *cmd, const char *opt, const char *spec);

/* 1 when `name` is a registered extractor; else prints the known ones. */
int cli_check_extractor_name(const char *cmd, const char *name);

/* Create extractor `name` with the weights given for it (clipiqa falls
 * back to clip-vit-b16's: one checkpoint holds both towers). Prints errors;
 * returns a CLI exit code (0 ok). */
int cli_extractor_create(const char *cmd, const char *name, const cli_extractor_opts *eo,
                         lmmiqa_extractor **out);

/* Load a dataset by name or path (the shared folder beside the source tree
 * is a fallback). Prints errors; returns a CLI exit code. */
int cli_dataset_load(const char *cmd, const char *name, const char *image_root,
                     lmmiqa_dataset **out);

/* The rows a command trains on (train, fit): the training and validation
 * parts of split k (1-based) of a splits JSON, or every row of the dataset
 * when there is no split file. */
typedef struct cli_train_rows {
    lmmiqa_splits *splits; /* owned; NULL without a split file */
    size_t *all;           /* owned; every row, without a split file */
    const size_t *train, *val;
    size_t n_train, n_val;
} cli_train_rows;

/* Select them for `ds`; a k beyond the file's splits is a failure
 * (printed). Returns a CLI exit code; free with cli_train_rows_free either
 * way. */
int cli_train_rows_select(const char *cmd, const lmmiqa_dataset *ds, const char *split_file,
                          long k, cli_train_rows *r);
void cli_train_rows_free(cli_train_rows *r);

/* Default store folder for a dataset, written to buf: $LMMIQA_STORE_DIR/<dataset>,
 * else $XDG_CACHE_HOME/lmmiqa/features/<dataset>, else
 * ~/.cache/lmmiqa/features/<dataset>. */
void cli_default_store(const lmmiqa_dataset *ds, char *buf, size_t cap);

/* The store folder to use: `given` when not NULL, else the default one
 * (cli_default_store), whose parent folders are created; its path is printed
 * when it does not exist yet, unless quiet. Written to buf. Returns a CLI
 * exit code (a parent that cannot be created is printed). */
int cli_store_dir(const char *cmd, const lmmiqa_dataset *ds, const char *given, int quiet,
                  char *buf, size_t cap);

/* Build (or verify and complete) the store parts of every extractor of
 * `spec` over the dataset, with a progress bar when stderr is a terminal
 * and a one-line summary per extractor unless quiet. Per-image failures are
 * printed as they happen. Returns a CLI exit code. */
int cli_store_ensure(const char *cmd, const char *store_dir, const lmmiqa_dataset *ds,
                     const char *spec, const cli_extractor_opts *eo, int quiet);

/* Progress of a long job for lmmiqa_store_options.progress: a bar redrawn in
 * place when stderr is a terminal; otherwise (a log file, a pipe) a plain
 * line "lmmiqa <cmd>: <label>: done/total (p%), rate img/s, ETA m:ss" at most
 * every 10 s (LMMIQA_PROGRESS_SECONDS overrides), so long runs are not
 * silent in logs. Clear both flags for --quiet. */
typedef struct cli_progress {
    const char *cmd;
    const char *label;
    int tty;         /* draw the bar (stderr is a terminal) */
    int plain;       /* print periodic lines (stderr is not a terminal) */
    double interval; /* seconds between plain lines */
    double last;     /* last redraw or line */
    int drawn;
    size_t errors;   /* failures reported so far */
} cli_progress;

/* Failures printed one by one before the rest are only counted. */
#define CLI_MAX_ERRORS_SHOWN 20

void cli_progress_init(cli_progress *p, const char *cmd, const char *label);
void cli_progress_cb(void *user, const lmmiqa_store_progress *pr);
void cli_progress_done(cli_progress *p);

/* Store error callback: prints "lmmiqa <cmd>: <message>" on a fresh line.
 * user = the cli_progress (also given to cli_progress_cb). */
void cli_store_error_cb(void *user, size_t row, const char *image, int status,
                        const char *message);
/* lmmiqa_store_options.on_warning for the same cli_progress: prints
 * "lmmiqa <cmd>: warning: <message>". */
void cli_store_warning_cb(void *user, const char *message);

/* Features of n image files in parallel (lmmiqa_store_compute) with a
 * progress bar labelled `label` (drawn on a terminal for 20 images or more).
 * Each failing image is printed when report_errors is set. feat is n x
 * dim(ex), status has n entries; result may be NULL. Returns the status of
 * lmmiqa_store_compute. */
int cli_store_compute(const char *cmd, const char *label, const lmmiqa_extractor *ex, int n,
                      char **images, const cli_extractor_opts *eo, int report_errors,
                      double *feat, int *status, lmmiqa_store_progress *result);

/* Write one CSV field, quoted when it holds a comma, quote or line break. */
void cli_csv_field(FILE *f, const char *s);

/* Regressor options shared by train and eval: --head, --epochs, --lr,
 * --batch, --hidden, --dropout, --weight-decay, --standardize, --svr-c,
 * --svr-epsilon, --svr-gamma, --threads. Returns 1 matched, 0 not one of
 * them, -1 error (printed). *head_set is set when --head was given. */
int cli_parse_regressor_opt(const char *cmd, int argc, char **argv, int *i,
                            lmmiqa_regressor_config *cfg, int *head_set);

/* The extractor options' help text (--weights, --jobs, --vocab, --prompts,
 * --logit-scale). */
extern const char cli_extractor_help[];

/* The regressor options' help text. */
extern const char cli_regressor_help[];

/* Parse "nominal" / "train". -1 on error (printed). */
int cli_parse_mos_range(const char *cmd, const char *s, lmmiqa_mos_range *out);

#endif
