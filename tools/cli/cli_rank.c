/*
 * tools/cli/cli_rank.c - rank augmentation (cli_rank.h).
 *
 * Design: copy j of source image s is distortion type t at level l; its
 * store key is "<source SHA-256>|<type>|<strength>|<noise seed>", so a copy is
 * computed once across runs whatever subset of images a run asks for. The
 * copies are made inside the feature store's worker threads
 * (lmmiqa_store_build_generated): each worker loads the source, distorts it
 * with a generator seeded from the key, and runs the extractor. Pairs: within
 * one source and one type, every level is better than every stronger one,
 * the undistorted image (level 0) included.
 */
#include "cli_rank.h"

#include "cli.h"
#include "lmmiqa/distort.h"
#include "lmmiqa/rng.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RANK_SUBSET_SEED 0x72616e6bULL /* "rank": which images get copies */
#define NOISE_SEED 7                   /* part of every noise copy's key */

static const double levels[LMMIQA_DISTORT_COUNT][CLI_RANK_LEVELS] = {
    {0.8, 1.6, 3.2, 6.4},   /* blur sigma */
    {4.0, 8.0, 16.0, 32.0}, /* noise sigma */
    {30, 15, 6, 3},         /* JPEG quality */
};

#define COPIES (LMMIQA_DISTORT_COUNT * CLI_RANK_LEVELS)

typedef struct gen {
    const lmmiqa_dataset *ds;
    const size_t *src;  /* [images] dataset rows */
    char **keys;        /* [images * COPIES] */
} gen;

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int make_copy(void *user, size_t i, lmmiqa_image **out)
{
    const gen *g = user;
    size_t s = i / COPIES, c = i % COPIES;
    lmmiqa_distortion t = (lmmiqa_distortion)(c / CLI_RANK_LEVELS);
    lmmiqa_image *img = NULL;
    int rc = lmmiqa_image_load(lmmiqa_dataset_image_path(g->ds, g->src[s]), &img);
    if (rc != LMMIQA_OK)
        return rc;
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, fnv1a(g->keys[i]));
    rc = lmmiqa_image_distort(img, t, levels[t][c % CLI_RANK_LEVELS], &rng, out);
    lmmiqa_image_destroy(img);
    return rc;
}

int cli_parse_rank_augment(const char *cmd, int argc, char **argv, int *i, size_t *n)
{
    const char *v;
    int m = cli_opt_value(cmd, argc, argv, i, "--rank-augment", &v);
    if (m <= 0)
        return m;
    if (strcmp(v, "all") == 0) {
        *n = SIZE_MAX;
        return 1;
    }
    long l;
    if (cli_parse_long(cmd, "--rank-augment", v, 0, 100000000L, &l) != 0)
        return -1;
    *n = (size_t)l;
    return 1;
}

int cli_parse_training_opt(const char *cmd, int argc, char **argv, int *i,
                           cli_training_opts *t)
{
    const char *v;
    int m;
    if ((m = cli_parse_regressor_opt(cmd, argc, argv, i, t->cfg, &t->head_set)) != 0) {
        t->reg_opts |= m > 0;
        return m;
    }
    if ((m = cli_parse_rank_augment(cmd, argc, argv, i, &t->rank_n)) != 0)
        return m;
    if ((m = cli_opt_value(cmd, argc, argv, i, "--rank-lambda", &v)) != 0) {
        if (m < 0 || cli_parse_range(cmd, "--rank-lambda", v, 0, 0, HUGE_VAL, 1,
                                     &t->cfg->rank_lambda) != 0)
            return -1;
        t->reg_opts = 1;
        return 1;
    }
    if ((m = cli_opt_value(cmd, argc, argv, i, "--rank-margin", &v)) != 0) {
        if (m < 0 || cli_parse_range(cmd, "--rank-margin", v, 0, 0, 1, 0,
                                     &t->cfg->rank_margin) != 0)
            return -1;
        t->reg_opts = 1;
        return 1;
    }
    if ((m = cli_opt_value(cmd, argc, argv, i, "--mos-range", &v)) != 0)
        return m < 0 || cli_parse_mos_range(cmd, v, t->mos_range) != 0 ? -1 : 1;
    if ((m = cli_opt_value(cmd, argc, argv, i, "--seed", &v)) != 0) {
        long l;
        if (m < 0 || cli_parse_long(cmd, "--seed", v, 0, 0x7fffffffL, &l) != 0)
            return -1;
        t->cfg->seed = (uint64_t)l;
        return 1;
    }
    return 0;
}

const char *cli_training_default_recipe(cli_training_opts *t)
{
    uint64_t seed = t->cfg->seed;
    const char *spec = lmmiqa_scorer_builtin_recipe(t->cfg, &t->rank_n);
    t->cfg->seed = seed;
    t->head_set = 1;
    return spec;
}

char *cli_rank_levels_json(void)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    for (int t = 0; ok && t < LMMIQA_DISTORT_COUNT; t++) {
        cJSON *a = cJSON_CreateDoubleArray(levels[t], CLI_RANK_LEVELS);
        if (!a || !cJSON_AddItemToObject(o, lmmiqa_distortion_name((lmmiqa_distortion)t), a)) {
            cJSON_Delete(a);
            ok = 0;
        }
    }
    char *s = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

void cli_rank_data_free(cli_rank_data *d)
{
    free(d->x);
    free(d->pairs);
    free(d->owner);
    memset(d, 0, sizeof *d);
}

int cli_rank_augment(const char *cmd, const char *store_dir, const lmmiqa_dataset *ds,
                     const lmmiqa_features *f, const char *spec, const cli_extractor_opts *eo,
                     const size_t *train, size_t n_train, size_t n_aug, int quiet,
                     cli_rank_data *out)
{
    memset(out, 0, sizeof *out);
    size_t images = n_aug < n_train ? n_aug : n_train;
    if (images == 0)
        return CLI_EXIT_OK;
    const size_t dim = lmmiqa_features_dim(f), n_copies = images * COPIES;
    int code = CLI_EXIT_OK;
    lmmiqa_features *fc = NULL;
    size_t *order = malloc(n_train * sizeof *order);
    char **names = calloc(n_copies, sizeof *names);
    char **keys = calloc(n_copies, sizeof *keys);
    size_t *src = malloc(images * sizeof *src);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/rank-augment", store_dir);
    if (!order || !names || !keys || !src) {
        code = CLI_EXIT_INTERNAL;
        goto done;
    }
    memcpy(order, train, n_train * sizeof *order);
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, RANK_SUBSET_SEED);
    lmmiqa_rng_shuffle(&rng, order, n_train);
    for (size_t s = 0; s < images; s++) {
        src[s] = order[s];
        const char *img = lmmiqa_dataset_image(ds, src[s]);
        const char *sha = lmmiqa_features_image_sha256(f, src[s]);
        for (size_t c = 0; c < COPIES; c++) {
            int t = (int)(c / CLI_RANK_LEVELS), l = (int)(c % CLI_RANK_LEVELS);
            const char *tn = lmmiqa_distortion_name((lmmiqa_distortion)t);
            size_t k = s * COPIES + c;
            size_t ln = strlen(img) + 32, lk = strlen(sha) + 64;
            names[k] = malloc(ln);
            keys[k] = malloc(lk);
            if (!names[k] || !keys[k]) {
                code = CLI_EXIT_INTERNAL;
                goto done;
            }
            snprintf(names[k], ln, "%s#%s%d", img, tn, l + 1);
            snprintf(keys[k], lk, "%s|%s|%.17g|%d", sha, tn, levels[t][l],
                     t == LMMIQA_DISTORT_NOISE ? NOISE_SEED : 0);
        }
    }
    if ((code = cli_mkdir(cmd, dir)) != CLI_EXIT_OK)
        goto done;
    gen g = {ds, src, keys};
    lmmiqa_feature_spec sp;
    if (lmmiqa_feature_spec_parse(spec, &sp) != LMMIQA_OK) {
        code = cli_fail_status(cmd, LMMIQA_ERR_INVALID_ARG);
        goto done;
    }
    for (size_t k = 0; k < sp.count; k++) {
        lmmiqa_extractor *ex = NULL;
        code = cli_extractor_create(cmd, sp.names[k], eo, &ex);
        if (code != CLI_EXIT_OK)
            goto done;
        char label[128];
        snprintf(label, sizeof label, "%s (rank copies)", sp.names[k]);
        cli_progress prog;
        cli_progress_init(&prog, cmd, label);
        lmmiqa_store_options o;
        lmmiqa_store_options_init(&o);
        o.jobs = eo->jobs;
        o.progress = cli_progress_cb;
        o.on_error = cli_store_error_cb;
        o.on_warning = cli_store_warning_cb;
        o.user = &prog;
        o.dataset = lmmiqa_dataset_name(ds);
        lmmiqa_store_progress res;
        int rc = lmmiqa_store_build_generated(dir, ex, n_copies, (const char *const *)names,
                                              (const char *const *)keys, make_copy, &g, &o, &res);
        cli_progress_done(&prog);
        lmmiqa_extractor_destroy(ex);
        if (!quiet || rc != LMMIQA_OK)
            fprintf(stderr,
                    "lmmiqa %s: %s: %zu distorted copies of %zu images, %zu reused, %zu "
                    "computed, %zu failed in %.1f s\n",
                    cmd, sp.names[k], res.total, images, res.reused, res.computed, res.failed,
                    res.elapsed_s);
        if (rc != LMMIQA_OK) {
            code = cli_fail_status(cmd, rc);
            goto done;
        }
    }
    int rc = lmmiqa_features_load(dir, spec, &fc);
    if (rc == LMMIQA_OK && (lmmiqa_features_rows(fc) != n_copies || lmmiqa_features_dim(fc) != dim))
        rc = LMMIQA_ERR_MISMATCH;
    if (rc != LMMIQA_OK) {
        code = cli_fail_status(cmd, rc);
        goto done;
    }
    /* rows: [images originals | images * COPIES copies] */
    out->n = images + n_copies;
    out->dim = dim;
    out->n_pairs = images * LMMIQA_DISTORT_COUNT * (CLI_RANK_LEVELS + 1) * CLI_RANK_LEVELS / 2;
    out->x = malloc(out->n * dim * sizeof *out->x);
    out->pairs = malloc(out->n_pairs * 2 * sizeof *out->pairs);
    out->owner = malloc(out->n_pairs * sizeof *out->owner);
    if (!out->x || !out->pairs || !out->owner) {
        code = CLI_EXIT_INTERNAL;
        goto done;
    }
    lmmiqa_features_gather(f, src, images, out->x);
    memcpy(out->x + images * dim, lmmiqa_features_data(fc), n_copies * dim * sizeof *out->x);
    size_t q = 0;
    for (size_t s = 0; s < images; s++)
        for (size_t t = 0; t < LMMIQA_DISTORT_COUNT; t++) {
            /* level 0 = row s; level l >= 1 = its copy */
            size_t row[CLI_RANK_LEVELS + 1];
            row[0] = s;
            for (size_t l = 0; l < CLI_RANK_LEVELS; l++)
                row[l + 1] = images + s * COPIES + t * CLI_RANK_LEVELS + l;
            for (size_t u = 0; u <= CLI_RANK_LEVELS; u++)
                for (size_t v = u + 1; v <= CLI_RANK_LEVELS; v++) {
                    out->pairs[2 * q] = row[u];
                    out->pairs[2 * q + 1] = row[v];
                    out->owner[q] = src[s];
                    q++;
                }
        }
    out->images = images;
done:
    if (code != CLI_EXIT_OK)
        cli_rank_data_free(out);
    lmmiqa_features_destroy(fc);
    for (size_t k = 0; names && keys && k < n_copies; k++) {
        free(names[k]);
        free(keys[k]);
    }
    free(names);
    free(keys);
    free(order);
    free(src);
    return code;
}

void cli_rank_provider_tag(cli_rank_provider *p, double lambda, double margin)
{
    char *lv = cli_rank_levels_json();
    char n[32];
    if (p->n_aug == SIZE_MAX)
        snprintf(n, sizeof n, "all");
    else
        snprintf(n, sizeof n, "%zu", p->n_aug);
    snprintf(p->tag, sizeof p->tag, "images %s lambda %.17g margin %.17g levels %s", n, lambda,
             margin, lv ? lv : "?");
    free(lv);
}

int cli_rank_provide(void *user, const char *spec, lmmiqa_rank_set *rank, const size_t **owner)
{
    cli_rank_provider *p = user;
    cli_rank_data_free(&p->data);
    lmmiqa_features *f = NULL;
    int rc = lmmiqa_features_load(p->store_dir, spec, &f);
    if (rc != LMMIQA_OK)
        return rc;
    size_t n = lmmiqa_features_rows(f);
    size_t *all = malloc((n ? n : 1) * sizeof *all);
    if (!all) {
        lmmiqa_features_destroy(f);
        return lmmiqa_error_set(LMMIQA_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        all[i] = i;
    int code = cli_rank_augment(p->cmd, p->store_dir, p->ds, f, spec, p->eo, all, n, p->n_aug,
                                p->quiet, &p->data);
    free(all);
    lmmiqa_features_destroy(f);
    if (code != CLI_EXIT_OK)
        return lmmiqa_error_set(code == CLI_EXIT_INTERNAL ? LMMIQA_ERR_NOMEM : LMMIQA_ERR_IO,
                            "rank augmentation of %s failed (see above)", spec);
    rank->x = p->data.x;
    rank->n = p->data.n;
    rank->pairs = p->data.pairs;
    rank->n_pairs = p->data.n_pairs;
    *owner = p->data.owner;
    return LMMIQA_OK;
}
