/*
 * tools/cli/cli_rank.h - rank augmentation for `lmmiqa train --rank-augment`
 * (and any command that trains a head): distorted copies of training images,
 * their features (cached in a generated feature store beside the dataset's),
 * and the ordered pairs among them (docs/regressor.md, "Ranking pairs").
 */
#ifndef LMMIQA_CLI_RANK_H
#define LMMIQA_CLI_RANK_H

#include "cli_features.h"

/* Distortion levels per type, mildest first: the demo's three
 * (tools/gen_samples.c) plus a stronger fourth. */
#define CLI_RANK_LEVELS 4

/* The rows and pairs handed to lmmiqa_regressor_train_ranked. */
typedef struct cli_rank_data {
    float *x;          /* [n, dim]: the images' own features, then their copies */
    size_t n, dim;
    size_t *pairs;     /* [n_pairs][2] (better, worse) */
    size_t *owner;     /* [n_pairs] dataset row of each pair's source image */
    size_t n_pairs;
    size_t images;     /* source images used */
} cli_rank_data;

/* Parse "--rank-augment N|all" at argv[*i] into *n (SIZE_MAX for all):
 * 1 matched, 0 not this option, -1 error (printed). */
int cli_parse_rank_augment(const char *cmd, int argc, char **argv, int *i, size_t *n);

/* The options of the commands that train a head (train, eval): the
 * regressor's (cli_parse_regressor_opt) into *cfg, --seed into cfg->seed,
 * --mos-range into *mos_range, --rank-augment into rank_n, --rank-lambda
 * and --rank-margin into cfg. */
typedef struct cli_training_opts {
    lmmiqa_regressor_config *cfg;
    lmmiqa_mos_range *mos_range;
    int head_set;  /* --head was given */
    int reg_opts;  /* a regressor option or --rank-lambda / --rank-margin was given */
    size_t rank_n; /* --rank-augment (SIZE_MAX for all), 0 = off */
} cli_training_opts;

/* Parse one of them at argv[*i]: 1 matched, 0 not one of them, -1 error
 * (printed). */
int cli_parse_training_opt(const char *cmd, int argc, char **argv, int *i,
                           cli_training_opts *t);

/* `--features default`: the built-in model's whole recipe (regressor
 * settings, head and rank augmentation) into t, keeping t->cfg->seed.
 * Returns the spec. */
const char *cli_training_default_recipe(cli_training_opts *t);

/* Build the ranking data of `n_aug` images (all when larger) among the
 * training rows `train` [n_train] of dataset `ds`, whose features `f` (spec
 * `spec`, loaded from `store_dir`) are already stored. The distorted copies'
 * features go to the generated store `store_dir`/rank-augment (computed once,
 * in parallel, reused by later runs). The images are the first n_aug of the
 * training rows in a fixed shuffled order. Returns a CLI exit code. */
int cli_rank_augment(const char *cmd, const char *store_dir, const lmmiqa_dataset *ds,
                     const lmmiqa_features *f, const char *spec, const cli_extractor_opts *eo,
                     const size_t *train, size_t n_train, size_t n_aug, int quiet,
                     cli_rank_data *out);

void cli_rank_data_free(cli_rank_data *d);

/* A lmmiqa_protocol_options.rank_fn for `lmmiqa eval --rank-augment`: the
 * pairs of n_aug images among all of the dataset's (each split keeps those of
 * its training images). */
typedef struct cli_rank_provider {
    const char *cmd, *store_dir;
    const lmmiqa_dataset *ds;
    const cli_extractor_opts *eo;
    size_t n_aug;
    int quiet;
    cli_rank_data data; /* the last spec's */
    char tag[1024];     /* for rank_tag */
} cli_rank_provider;

int cli_rank_provide(void *user, const char *spec, lmmiqa_rank_set *rank, const size_t **owner);

/* Fill p->tag from the levels, n_aug, lambda and margin. */
void cli_rank_provider_tag(cli_rank_provider *p, double lambda, double margin);

/* The levels as a JSON object {"blur": [...], "noise": [...], "jpeg": [...]}
 * (malloc'd), for model metadata. */
char *cli_rank_levels_json(void);

#endif
