/*
 * src/learn/scorer.c - a quality model ready to run on images (lmmiqa/scorer.h).
 *
 * A scorer is a feature spec (one extractor per part) plus a head: a trained
 * regressor (the built-in model, compiled into the library from
 * models/<name>.safetensors, or a file of `lmmiqa train`) or the classic
 * BRISQUE SVR. Scoring one image runs each extractor on it, concatenates the
 * features (double), converts them to float32 as the feature store keeps
 * them, and predicts one row, so a score is the same whether it is computed
 * alone (lmmiqa_scorer_run) or in a parallel batch (lmmiqa_scorer_run_files,
 * which runs lmmiqa_store_compute per extractor and the same per-row head).
 * The zero-shot kind has no head: its score is the clipiqa extractor's first
 * feature (the probability of the first prompt pair's positive prompt).
 * The own-score kind has no head either: its score is a trainable
 * extractor's score hook (the model's own prediction), computed alone by
 * the hook and in a batch by the store's pool running the same hook
 * (lmmiqa__store_compute_scores), so both give the same bits.
 */
#include "lmmiqa/scorer.h"

#include "core/internal.h"
#include "data/store_internal.h"
#include "features/extractor_internal.h"
#include "learn/builtin_model.h"
#include "lmmiqa/brisque.h"
#include "lmmiqa/extractor.h"
#include "lmmiqa/regressor.h"
#include "lmmiqa/svr.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum scorer_kind { KIND_BUILTIN, KIND_MODEL, KIND_SVR, KIND_ZERO_SHOT, KIND_OWN };

struct lmmiqa_scorer {
    enum scorer_kind kind;
    lmmiqa_regressor *reg; /* KIND_BUILTIN, KIND_MODEL */
    lmmiqa_svr *svr;       /* KIND_SVR */
    int svr_flags;
    lmmiqa_feature_spec spec;
    lmmiqa_extractor *ex[LMMIQA_SPEC_MAX_PARTS];
    size_t ex_dim[LMMIQA_SPEC_MAX_PARTS];
    size_t dim;
    double min, max;
    int higher_better;
    char name[256];
    char features[LMMIQA_SPEC_MAX_PARTS * LMMIQA_SPEC_MAX_NAME];
    char sha256[65];
    char *info_json;
    char *warnings;
};

struct lmmiqa_scorer_state {
    const lmmiqa_scorer *sc;
    lmmiqa_extractor_state *st[LMMIQA_SPEC_MAX_PARTS];
    double *feat; /* dim */
    float *row;   /* dim */
};

void lmmiqa_scorer_options_init(lmmiqa_scorer_options *opt)
{
    assert(opt);
    memset(opt, 0, sizeof *opt);
    opt->size = sizeof *opt;
}

const char *lmmiqa_scorer_builtin_name(void)
{
    return LMMIQA__BUILTIN_MODEL;
}

const char *lmmiqa_scorer_builtin_recipe(lmmiqa_regressor_config *cfg, size_t *rank_images)
{
    if (cfg) {
        lmmiqa_regressor_config_init(cfg);
        cfg->head = LMMIQA__BUILTIN_HEAD;
        cfg->hidden = LMMIQA__BUILTIN_HIDDEN;
        cfg->epochs = LMMIQA__BUILTIN_EPOCHS;
        cfg->learning_rate = LMMIQA__BUILTIN_LR;
        cfg->dropout = LMMIQA__BUILTIN_DROPOUT;
        cfg->rank_lambda = LMMIQA__BUILTIN_RANK_LAMBDA;
        cfg->rank_margin = LMMIQA__BUILTIN_RANK_MARGIN;
        cfg->threads = 1;
    }
    if (rank_images)
        *rank_images = LMMIQA__BUILTIN_RANK_IMAGES;
    return LMMIQA__BUILTIN_FEATURES;
}

/* The caller's options, read only as far as the caller's struct goes. */
static int copy_options(const lmmiqa_scorer_options *in, lmmiqa_scorer_options *o)
{
    lmmiqa_scorer_options_init(o);
    return lmmiqa__options_read(o, sizeof *o, in, LMMIQA__OPTIONS_MIN(lmmiqa_scorer_options, model),
                                "lmmiqa_scorer_options");
}

static void append_warning(lmmiqa_scorer *sc, const char *text)
{
    size_t old = sc->warnings ? strlen(sc->warnings) : 0, add = strlen(text);
    char *w = realloc(sc->warnings, old + add + 2);
    if (!w)
        return; /* a warning is advisory: losing it under memory pressure is fine */
    if (old)
        w[old++] = '\n';
    memcpy(w + old, text, add + 1);
    sc->warnings = w;
}

/* The weight file the options give extractor `name` (the last one named
 * so), or NULL. */
static const char *weights_for(const lmmiqa_scorer_options *o, const char *name)
{
    const char *file = NULL;
    if (!o->weights_names || !o->weights_files)
        return NULL;
    for (size_t w = 0; w < o->n_weights; w++)
        if (o->weights_names[w] && strcmp(o->weights_names[w], name) == 0)
            file = o->weights_files[w];
    return file;
}

/* Create the spec's extractors; warn when the model's metadata records
 * another version or configuration of one of them. */
static int create_extractors(lmmiqa_scorer *sc, const lmmiqa_scorer_options *o,
                             const cJSON *info)
{
    sc->dim = 0;
    for (size_t k = 0; k < sc->spec.count; k++) {
        const char *name = sc->spec.names[k];
        lmmiqa_extractor_options eo = {.size = sizeof eo};
        eo.threads = o->extractor_threads > 0 ? o->extractor_threads : 1;
        eo.vocab = o->vocab;
        eo.prompts = o->prompts;
        eo.logit_scale = o->logit_scale;
        eo.weights = weights_for(o, name);
        /* clipiqa shares clip-vit-b16's checkpoint unless given its own */
        if (!eo.weights && strcmp(name, "clipiqa") == 0)
            eo.weights = weights_for(o, "clip-vit-b16");
        int rc = lmmiqa_extractor_create(name, &eo, &sc->ex[k]);
        if (rc)
            return lmmiqa__fail_context(rc, "%s: ", sc->name);
        sc->ex_dim[k] = lmmiqa_extractor_dim(sc->ex[k]);
        sc->dim += sc->ex_dim[k];
        const cJSON *pi = info ? cJSON_GetArrayItem(info, (int)k) : NULL;
        if (!pi)
            continue;
        const char *ver = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pi, "version"));
        const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(pi, "config");
        cJSON *now = cJSON_Parse(lmmiqa_extractor_config_json(sc->ex[k]));
        if ((ver && strcmp(ver, lmmiqa_extractor_version(sc->ex[k])) != 0) ||
            (cfg && now && !cJSON_Compare(cfg, now, 1))) {
            char msg[512];
            snprintf(msg, sizeof msg,
                     "the model was trained on %s features of another version or "
                     "configuration (%s); scores may be off",
                     name, ver ? ver : "?");
            append_warning(sc, msg);
        }
        cJSON_Delete(now);
    }
    return LMMIQA_OK;
}

/* Spec, scale and extractors of a regressor-based scorer, from the model's
 * metadata (written by `lmmiqa train`). */
static int setup_regressor(lmmiqa_scorer *sc, const lmmiqa_scorer_options *o, cJSON **meta_out)
{
    cJSON *meta = cJSON_Parse(lmmiqa_regressor_metadata(sc->reg));
    *meta_out = meta;
    const char *spec = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "features"));
    if (!spec)
        return lmmiqa__fail(LMMIQA_ERR_FORMAT,
                            "%s: the model's metadata does not name its features (was it "
                            "written by `lmmiqa train`?)",
                            sc->name);
    int rc = lmmiqa_feature_spec_parse(spec, &sc->spec);
    if (rc)
        return lmmiqa__fail_context(rc, "%s: model metadata: ", sc->name);
    snprintf(sc->features, sizeof sc->features, "%s", spec);
    sc->min = 0.0;
    sc->max = 100.0;
    const cJSON *range = cJSON_GetObjectItemCaseSensitive(meta, "mos_range");
    if (cJSON_GetArraySize(range) == 2 && cJSON_IsNumber(cJSON_GetArrayItem(range, 0)) &&
        cJSON_IsNumber(cJSON_GetArrayItem(range, 1))) {
        sc->min = cJSON_GetArrayItem(range, 0)->valuedouble;
        sc->max = cJSON_GetArrayItem(range, 1)->valuedouble;
    }
    sc->higher_better = 1; /* a mean opinion score */
    rc = create_extractors(sc, o, cJSON_GetObjectItemCaseSensitive(meta, "extractors"));
    if (rc)
        return rc;
    if (sc->dim != lmmiqa_regressor_dim(sc->reg))
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                            "%s: the model reads %zu features but %s gives %zu", sc->name,
                            lmmiqa_regressor_dim(sc->reg), spec, sc->dim);
    return LMMIQA_OK;
}

static int setup_svr(lmmiqa_scorer *sc, const lmmiqa_scorer_options *o)
{
    int rc = lmmiqa_svr_load(o->svr_model, o->svr_range, &sc->svr);
    if (rc)
        return rc;
    if (lmmiqa_svr_dim(sc->svr) != LMMIQA_BRISQUE_SCORE_DIM)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: a BRISQUE model has %d features, this one %zu",
                            o->svr_model, LMMIQA_BRISQUE_SCORE_DIM, lmmiqa_svr_dim(sc->svr));
    snprintf(sc->features, sizeof sc->features, "brisque");
    rc = lmmiqa_feature_spec_parse("brisque", &sc->spec);
    if (rc)
        return rc;
    sc->min = 0.0;
    sc->max = 100.0;
    sc->higher_better = 0;
    /* Identity: SHA-256 over the model file's bytes followed by the range's. */
    unsigned char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    rc = lmmiqa__file_read_all(o->svr_model, (size_t)1 << 30, &a, &na);
    if (!rc)
        rc = lmmiqa__file_read_all(o->svr_range, (size_t)1 << 30, &b, &nb);
    unsigned char *ab = rc ? NULL : lmmiqa__malloc(na + nb + 1);
    if (ab) {
        memcpy(ab, a, na);
        memcpy(ab + na, b, nb);
        lmmiqa__sha256_hex(ab, na + nb, sc->sha256);
    } else if (!rc) {
        rc = LMMIQA_ERR_NOMEM;
    }
    free(a);
    free(b);
    free(ab);
    if (rc)
        return rc;
    return create_extractors(sc, o, NULL);
}

/* CLIP-IQA zero-shot: the clipiqa extractor alone; identity = SHA-256 of its
 * configuration, which holds the hashes of the weights, the vocabulary and
 * the prompts. */
static int setup_zero_shot(lmmiqa_scorer *sc, const lmmiqa_scorer_options *o)
{
    if (strcmp(o->zero_shot, "clip") != 0)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "zero-shot method '%s' is unknown (known: clip)",
                            o->zero_shot);
    snprintf(sc->name, sizeof sc->name, "clipiqa-zero-shot");
    snprintf(sc->features, sizeof sc->features, "clipiqa");
    int rc = lmmiqa_feature_spec_parse("clipiqa", &sc->spec);
    if (!rc)
        rc = create_extractors(sc, o, NULL);
    if (rc)
        return rc;
    const char *cfg = lmmiqa_extractor_config_json(sc->ex[0]);
    lmmiqa__sha256_hex(cfg, strlen(cfg), sc->sha256);
    sc->min = 0.0;
    sc->max = 1.0;
    sc->higher_better = 1;
    return LMMIQA_OK;
}

/* A trainable model's own score: its extractor alone, with the weight file
 * the options give it; identity = the weight file's SHA-256, which the
 * extractor's configuration records (hashed as the weights were loaded). */
static int setup_own(lmmiqa_scorer *sc, const lmmiqa_scorer_options *o)
{
    const char *name = o->own_score;
    if (!lmmiqa__extractor_is_trainable(name)) {
        char known[256];
        lmmiqa__extractor_trainable_names(known, sizeof known);
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "own score: extractor '%s' is not a trained model with a score of "
                            "its own (known: %s)",
                            name, known);
    }
    if (!weights_for(o, name))
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "own score of %s: no weight file given (weights %s=FILE, written by "
                            "`lmmiqa fit --extractor %s`)",
                            name, name, name);
    snprintf(sc->name, sizeof sc->name, "%s-own-score", name);
    snprintf(sc->features, sizeof sc->features, "%s", name);
    int rc = lmmiqa_feature_spec_parse(name, &sc->spec);
    if (!rc)
        rc = create_extractors(sc, o, NULL);
    if (rc)
        return rc;
    if (!lmmiqa__extractor_has_score(sc->ex[0]))
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "own score: extractor %s has no score of its own", name);
    cJSON *cfg = cJSON_Parse(lmmiqa_extractor_config_json(sc->ex[0]));
    const char *sha = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cfg, "weights_sha256"));
    if (sha && strlen(sha) == 64)
        memcpy(sc->sha256, sha, 65);
    else
        rc = lmmiqa__fail(LMMIQA_ERR_INTERNAL, "own score: %s's configuration records no "
                          "weights_sha256", name);
    cJSON_Delete(cfg);
    sc->min = 0.0;
    sc->max = 1.0;
    sc->higher_better = 1;
    return rc;
}

static int build_info(lmmiqa_scorer *sc, cJSON *meta)
{
    static const char *const kinds[] = {"builtin", "model", "brisque-svr", "zero-shot",
                                        "own-score"};
    cJSON *o = cJSON_CreateObject();
    cJSON *scale = cJSON_CreateObject();
    if (!o || !scale) {
        cJSON_Delete(o);
        cJSON_Delete(scale);
        return lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory");
    }
    cJSON_AddStringToObject(o, "name", sc->name);
    cJSON_AddStringToObject(o, "kind", kinds[sc->kind]);
    cJSON_AddStringToObject(o, "features", sc->features);
    cJSON_AddStringToObject(o, "sha256", sc->sha256);
    cJSON_AddNumberToObject(o, "dim", (double)sc->dim);
    cJSON_AddNumberToObject(scale, "min", sc->min);
    cJSON_AddNumberToObject(scale, "max", sc->max);
    cJSON_AddBoolToObject(scale, "higher_is_better", sc->higher_better);
    cJSON_AddItemToObject(o, "scale", scale);
    if (meta)
        cJSON_AddItemToObject(o, "metadata", cJSON_Duplicate(meta, 1));
    sc->info_json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return sc->info_json ? LMMIQA_OK : lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory");
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int lmmiqa_scorer_create(const lmmiqa_scorer_options *opt, lmmiqa_scorer **out)
{
    assert(out);
    *out = NULL;
    lmmiqa_scorer_options o;
    int rc = copy_options(opt, &o);
    if (rc)
        return rc;
    if (o.own_score && (o.model || o.svr_model || o.svr_range || o.zero_shot))
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "own_score (%s) is a model of its own: give it without model, "
                            "svr_model/svr_range or zero_shot",
                            o.own_score);
    if ((o.model != NULL) + (o.svr_model || o.svr_range) + (o.zero_shot != NULL) > 1)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "give one of a trained model, a BRISQUE SVR (model + range) or a "
                            "zero-shot method");
    if ((o.svr_model != NULL) != (o.svr_range != NULL))
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "a BRISQUE SVR needs both its model and its range file");
    if (o.svr_flags & ~LMMIQA_BRISQUE_MATLAB_IO)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "unknown svr_flags 0x%x", o.svr_flags);
    if (o.n_weights && (!o.weights_names || !o.weights_files))
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "n_weights is %zu but weights_names/weights_files is NULL",
                            o.n_weights);
    lmmiqa_scorer *sc = lmmiqa__calloc(1, sizeof *sc);
    if (!sc)
        return LMMIQA_ERR_NOMEM;
    cJSON *meta = NULL;
    if (o.own_score) {
        sc->kind = KIND_OWN;
        rc = setup_own(sc, &o);
    } else if (o.zero_shot) {
        sc->kind = KIND_ZERO_SHOT;
        rc = setup_zero_shot(sc, &o);
    } else if (o.svr_model) {
        sc->kind = KIND_SVR;
        sc->svr_flags = o.svr_flags;
        snprintf(sc->name, sizeof sc->name, "brisque-svr");
        rc = setup_svr(sc, &o);
    } else if (o.model) {
        sc->kind = KIND_MODEL;
        snprintf(sc->name, sizeof sc->name, "%s", base_name(o.model));
        char *dot = strrchr(sc->name, '.');
        if (dot && strcmp(dot, ".safetensors") == 0)
            *dot = '\0';
        rc = lmmiqa_regressor_load(o.model, &sc->reg);
        if (!rc)
            rc = lmmiqa__sha256_file(o.model, sc->sha256);
        if (!rc)
            rc = setup_regressor(sc, &o, &meta);
    } else {
        sc->kind = KIND_BUILTIN;
        snprintf(sc->name, sizeof sc->name, "%s", LMMIQA__BUILTIN_MODEL);
        const lmmiqa__embedded_model *m = lmmiqa__builtin_model();
        if (!m) {
            rc = lmmiqa__fail(LMMIQA_ERR_IO,
                              "this lmmiqa was built without models/%s.safetensors; give a "
                              "model file",
                              LMMIQA__BUILTIN_MODEL);
        } else {
            rc = lmmiqa_regressor_load_memory(m->data, m->size, m->name, &sc->reg);
            if (!rc) {
                lmmiqa__sha256_hex(m->data, m->size, sc->sha256);
                rc = setup_regressor(sc, &o, &meta);
            }
        }
    }
    if (!rc)
        rc = build_info(sc, meta);
    cJSON_Delete(meta);
    if (rc) {
        lmmiqa_scorer_destroy(sc);
        return rc;
    }
    *out = sc;
    return LMMIQA_OK;
}

void lmmiqa_scorer_destroy(lmmiqa_scorer *sc)
{
    if (!sc)
        return;
    for (size_t k = 0; k < LMMIQA_SPEC_MAX_PARTS; k++)
        lmmiqa_extractor_destroy(sc->ex[k]);
    lmmiqa_regressor_destroy(sc->reg);
    lmmiqa_svr_destroy(sc->svr);
    free(sc->info_json);
    free(sc->warnings);
    free(sc);
}

const char *lmmiqa_scorer_name(const lmmiqa_scorer *sc)
{
    assert(sc);
    return sc->name;
}

const char *lmmiqa_scorer_features(const lmmiqa_scorer *sc)
{
    assert(sc);
    return sc->features;
}

const char *lmmiqa_scorer_sha256(const lmmiqa_scorer *sc)
{
    assert(sc);
    return sc->sha256;
}

size_t lmmiqa_scorer_dim(const lmmiqa_scorer *sc)
{
    assert(sc);
    return sc->dim;
}

void lmmiqa_scorer_scale(const lmmiqa_scorer *sc, double *min, double *max, int *higher_is_better)
{
    assert(sc);
    if (min)
        *min = sc->min;
    if (max)
        *max = sc->max;
    if (higher_is_better)
        *higher_is_better = sc->higher_better;
}

const char *lmmiqa_scorer_info_json(const lmmiqa_scorer *sc)
{
    assert(sc);
    return sc->info_json;
}

const char *lmmiqa_scorer_warnings(const lmmiqa_scorer *sc)
{
    assert(sc);
    return sc->warnings ? sc->warnings : "";
}

int lmmiqa_scorer_state_create(const lmmiqa_scorer *sc, lmmiqa_scorer_state **out)
{
    assert(sc && out);
    *out = NULL;
    lmmiqa_scorer_state *st = lmmiqa__calloc(1, sizeof *st);
    if (!st)
        return LMMIQA_ERR_NOMEM;
    st->sc = sc;
    st->feat = lmmiqa__calloc(sc->dim ? sc->dim : 1, sizeof *st->feat);
    st->row = lmmiqa__calloc(sc->dim ? sc->dim : 1, sizeof *st->row);
    int rc = st->feat && st->row ? LMMIQA_OK : LMMIQA_ERR_NOMEM;
    for (size_t k = 0; k < sc->spec.count && !rc; k++)
        rc = lmmiqa_extractor_state_create(sc->ex[k], &st->st[k]);
    if (rc) {
        lmmiqa_scorer_state_destroy(st);
        return rc;
    }
    *out = st;
    return LMMIQA_OK;
}

void lmmiqa_scorer_state_destroy(lmmiqa_scorer_state *st)
{
    if (!st)
        return;
    for (size_t k = 0; k < LMMIQA_SPEC_MAX_PARTS; k++)
        lmmiqa_extractor_state_destroy(st->st[k]);
    free(st->feat);
    free(st->row);
    free(st);
}

/* The head on one feature row (double, as the extractors give it): the
 * regressor reads it as float32, the store's precision; the SVR reads the
 * doubles, as brisquescore.m does. */
static int head_run(const lmmiqa_scorer *sc, const double *feat, float *row, double *score)
{
    if (sc->kind == KIND_SVR)
        return lmmiqa_brisque_score(sc->svr, feat, sc->svr_flags, score);
    if (sc->kind == KIND_ZERO_SHOT) {
        *score = feat[0];
        return LMMIQA_OK;
    }
    for (size_t d = 0; d < sc->dim; d++)
        row[d] = (float)feat[d];
    int rc = lmmiqa_regressor_predict(sc->reg, row, 1, score);
    /* The built-in model promises its 0..100 scale; its SVR head can step
     * slightly outside it on images unlike any training image. */
    if (rc == LMMIQA_OK && sc->kind == KIND_BUILTIN)
        *score = *score < sc->min ? sc->min : *score > sc->max ? sc->max : *score;
    return rc;
}

int lmmiqa_scorer_run(const lmmiqa_scorer *sc, lmmiqa_scorer_state *st, const lmmiqa_image *img,
                      double *score, double *features)
{
    assert(sc && st && st->sc == sc && img && score);
    *score = NAN;
    if (sc->kind == KIND_OWN) /* one forward pass gives the score and the features */
        return lmmiqa__extractor_score(sc->ex[0], st->st[0], img, score, features);
    size_t off = 0;
    for (size_t k = 0; k < sc->spec.count; k++) {
        int rc = lmmiqa_extractor_run(sc->ex[k], st->st[k], img, st->feat + off);
        if (rc)
            return rc;
        off += sc->ex_dim[k];
    }
    if (features)
        memcpy(features, st->feat, sc->dim * sizeof *features);
    return head_run(sc, st->feat, st->row, score);
}

/* Forwards the store's error callback for extractors after the first only
 * for images that had not failed yet, so each bad image is reported once. */
typedef struct error_filter {
    const lmmiqa_store_options *opt;
    const int *status; /* status before this extractor */
} error_filter;

static void filtered_error(void *user, size_t row, const char *image, int status,
                           const char *message)
{
    const error_filter *f = user;
    if (f->status[row] == LMMIQA_OK && f->opt->on_error)
        f->opt->on_error(f->opt->user, row, image, status, message);
}

static void filtered_progress(void *user, const lmmiqa_store_progress *p)
{
    const error_filter *f = user;
    if (f->opt->progress)
        f->opt->progress(f->opt->user, p);
}

/* The batch of a scorer with a head: each extractor over all files (the
 * store's pool), then the head per row. Fills scores and status; returns
 * only a status that stops the batch (LMMIQA_ERR_NOMEM/INTERNAL). */
static int head_files(const lmmiqa_scorer *sc, size_t n, const char *const *paths,
                      const lmmiqa_store_options *base, double *scores, int *status)
{
    size_t cells, max_dim = 0;
    for (size_t k = 0; k < sc->spec.count; k++)
        if (sc->ex_dim[k] > max_dim)
            max_dim = sc->ex_dim[k];
    int rc = lmmiqa__mul_size(n, sc->dim, &cells);
    if (rc)
        return rc;
    double *feat = lmmiqa__malloc(cells * sizeof *feat);
    double *part = lmmiqa__malloc(n * max_dim * sizeof *part);
    int *pst = lmmiqa__malloc(n * sizeof *pst);
    float *row = lmmiqa__malloc((sc->dim ? sc->dim : 1) * sizeof *row);
    if (!feat || !part || !pst || !row) {
        free(feat);
        free(part);
        free(pst);
        free(row);
        return LMMIQA_ERR_NOMEM;
    }
    size_t off = 0;
    for (size_t k = 0; k < sc->spec.count && !rc; k++) {
        error_filter filter = {base, status};
        lmmiqa_store_options o = *base;
        o.user = &filter;
        o.on_error = filtered_error;
        o.progress = filtered_progress;
        int crc = lmmiqa_store_compute(sc->ex[k], n, paths, &o, part, pst, NULL);
        if (crc == LMMIQA_ERR_NOMEM || crc == LMMIQA_ERR_INTERNAL) {
            rc = crc;
            break;
        }
        size_t dk = sc->ex_dim[k];
        for (size_t i = 0; i < n; i++) {
            if (pst[i] != LMMIQA_OK && status[i] == LMMIQA_OK)
                status[i] = pst[i];
            memcpy(feat + i * sc->dim + off, part + i * dk, dk * sizeof *feat);
        }
        off += dk;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        if (status[i] != LMMIQA_OK)
            continue;
        int hrc = head_run(sc, feat + i * sc->dim, row, &scores[i]);
        if (hrc == LMMIQA_ERR_NOMEM || hrc == LMMIQA_ERR_INTERNAL) {
            rc = hrc;
        } else if (hrc) {
            status[i] = hrc;
            scores[i] = NAN;
            if (base->on_error)
                base->on_error(base->user, i, paths[i], hrc, lmmiqa_error_message());
        }
    }
    free(feat);
    free(part);
    free(pst);
    free(row);
    return rc;
}

int lmmiqa_scorer_run_files(const lmmiqa_scorer *sc, size_t n, const char *const *paths,
                            const lmmiqa_store_options *opt, double *scores, int *status)
{
    assert(sc && (paths || n == 0) && (scores || n == 0) && (status || n == 0));
    lmmiqa_store_options base;
    int rc = lmmiqa__store_options_get(opt, &base);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        scores[i] = NAN;
        status[i] = LMMIQA_OK;
    }
    if (n == 0)
        return LMMIQA_OK;
    if (sc->kind == KIND_OWN) {
        rc = lmmiqa__store_compute_scores(sc->ex[0], n, paths, &base, scores, status);
        if (rc != LMMIQA_ERR_NOMEM && rc != LMMIQA_ERR_INTERNAL)
            rc = LMMIQA_OK; /* image failures: counted below */
    } else {
        rc = head_files(sc, n, paths, &base, scores, status);
    }
    if (rc)
        return rc;
    size_t failed = 0, first = n;
    for (size_t i = 0; i < n; i++)
        if (status[i] != LMMIQA_OK) {
            failed++;
            if (first == n)
                first = i;
        }
    if (failed)
        return lmmiqa__fail(status[first], "%zu of %zu images could not be scored (first: %s)",
                            failed, n, paths[first]);
    return LMMIQA_OK;
}

const lmmiqa__embedded_model *lmmiqa__builtin_model(void)
{
    for (const lmmiqa__embedded_model *m = lmmiqa__embedded_models; m->name; m++)
        if (strcmp(m->name, LMMIQA__BUILTIN_MODEL) == 0)
            return m;
    return NULL;
}
