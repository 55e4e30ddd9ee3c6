/*
 * src/features/extractor.c - the registry of feature extractors: a static
 * table from name to create function, and the generic handle that wraps an
 * implementation (dimension, names, configuration, per-thread state).
 */
#include "extractor_internal.h"

#include "core/internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

struct lmmiqa_extractor {
    const char *name;
    lmmiqa__extractor_impl impl;
    char *names;  /* dim column names, each 32 bytes */
};

struct lmmiqa_extractor_state {
    const lmmiqa_extractor *ex;
    void *impl_state;
};

#define NAME_SIZE 32

static const struct {
    const char *name;
    lmmiqa__extractor_create_fn create;
    lmmiqa__extractor_fit_fn fit; /* trainable extractors only */
} registry[] = {
    {"brisque", lmmiqa__brisque_extractor_create, NULL},
    {"nss", lmmiqa__nss_extractor_create, NULL},
    {"cnniqa", lmmiqa__cnniqa_extractor_create, lmmiqa__cnniqa_extractor_fit},
    {"metaiqa", lmmiqa__metaiqa_extractor_create, lmmiqa__metaiqa_extractor_fit},
    {"clip-vit-b16", lmmiqa__clip_vit_b16_extractor_create, NULL},
    {"altclip", lmmiqa__altclip_extractor_create, NULL},
    {"hps", lmmiqa__hps_extractor_create, NULL},
    {"clipiqa", lmmiqa__clipiqa_extractor_create, NULL},
    {"align", lmmiqa__align_extractor_create, NULL},
};

#define REGISTRY_SIZE (sizeof registry / sizeof registry[0])

const char *const *lmmiqa_extractor_names(void)
{
    static const char *names[REGISTRY_SIZE + 1];
    for (size_t i = 0; i < REGISTRY_SIZE; i++)
        names[i] = registry[i].name;
    names[REGISTRY_SIZE] = NULL;
    return names;
}

/* The table entry of `name`, or REGISTRY_SIZE. */
static size_t registry_find(const char *name)
{
    size_t k = 0;
    while (k < REGISTRY_SIZE && strcmp(registry[k].name, name) != 0)
        k++;
    return k;
}

int lmmiqa__extractor_is_trainable(const char *name)
{
    size_t k = registry_find(name);
    return k < REGISTRY_SIZE && registry[k].fit != NULL;
}

void lmmiqa__extractor_trainable_names(char *buf, size_t cap)
{
    assert(buf && cap > 0);
    buf[0] = '\0';
    for (size_t i = 0; i < REGISTRY_SIZE; i++)
        if (registry[i].fit) {
            strncat(buf, buf[0] ? ", " : "", cap - strlen(buf) - 1);
            strncat(buf, registry[i].name, cap - strlen(buf) - 1);
        }
}

int lmmiqa__extractor_fit(const char *name, const lmmiqa__extractor_fit_args *args)
{
    size_t k = registry_find(name);
    if (k == REGISTRY_SIZE || !registry[k].fit)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "extractor '%s' is not trainable", name);
    return registry[k].fit(args);
}

void lmmiqa_extractor_options_init(lmmiqa_extractor_options *opt)
{
    assert(opt);
    memset(opt, 0, sizeof *opt);
    opt->size = sizeof *opt;
}

int lmmiqa_extractor_create(const char *name, const lmmiqa_extractor_options *opts,
                            lmmiqa_extractor **out)
{
    assert(name && out);
    *out = NULL;
    lmmiqa_extractor_options given;
    lmmiqa_extractor_options_init(&given);
    int grc = lmmiqa__options_read(&given, sizeof given, opts,
                                   LMMIQA__OPTIONS_MIN(lmmiqa_extractor_options, weights),
                                   "lmmiqa_extractor_options");
    if (grc)
        return grc;
    opts = &given;
    size_t k = registry_find(name);
    if (k == REGISTRY_SIZE) {
        char known[512] = "";
        for (size_t i = 0; i < REGISTRY_SIZE; i++) {
            strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
            strncat(known, registry[i].name, sizeof known - strlen(known) - 1);
        }
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "unknown extractor '%s' (known: %s)", name,
                            known);
    }
    lmmiqa_extractor *ex = lmmiqa__calloc(1, sizeof *ex);
    if (!ex)
        return LMMIQA_ERR_NOMEM;
    ex->name = registry[k].name;
    int rc = registry[k].create(opts, &ex->impl);
    if (rc != LMMIQA_OK) {
        lmmiqa_extractor_destroy(ex);
        return lmmiqa__fail_context(rc, "extractor %s: ", name);
    }
    assert(ex->impl.dim > 0 && ex->impl.run);
    ex->names = lmmiqa__calloc(ex->impl.dim, NAME_SIZE);
    if (!ex->names) {
        lmmiqa_extractor_destroy(ex);
        return LMMIQA_ERR_NOMEM;
    }
    for (size_t i = 0; i < ex->impl.dim; i++) {
        char *dst = ex->names + i * NAME_SIZE;
        if (ex->impl.feature_name)
            ex->impl.feature_name(ex->impl.model, i, dst, NAME_SIZE);
        else
            snprintf(dst, NAME_SIZE, "%s%zu", ex->impl.name_prefix ? ex->impl.name_prefix : "f",
                     i + 1);
    }
    *out = ex;
    return LMMIQA_OK;
}

void lmmiqa_extractor_destroy(lmmiqa_extractor *ex)
{
    if (!ex)
        return;
    if (ex->impl.model_destroy)
        ex->impl.model_destroy(ex->impl.model);
    free(ex->impl.config_json);
    free(ex->names);
    free(ex);
}

size_t lmmiqa_extractor_dim(const lmmiqa_extractor *ex) { return ex->impl.dim; }
const char *lmmiqa_extractor_name(const lmmiqa_extractor *ex) { return ex->name; }
const char *lmmiqa_extractor_version(const lmmiqa_extractor *ex) { return ex->impl.version; }

const char *lmmiqa_extractor_config_json(const lmmiqa_extractor *ex)
{
    return ex->impl.config_json ? ex->impl.config_json : "{}";
}

const char *lmmiqa_extractor_feature_name(const lmmiqa_extractor *ex, size_t i)
{
    assert(i < ex->impl.dim);
    return ex->names + i * NAME_SIZE;
}

int lmmiqa_extractor_state_create(const lmmiqa_extractor *ex, lmmiqa_extractor_state **out)
{
    assert(ex && out);
    *out = NULL;
    lmmiqa_extractor_state *st = lmmiqa__calloc(1, sizeof *st);
    if (!st)
        return LMMIQA_ERR_NOMEM;
    st->ex = ex;
    if (ex->impl.state_create) {
        int rc = ex->impl.state_create(ex->impl.model, &st->impl_state);
        if (rc != LMMIQA_OK) {
            free(st);
            return rc;
        }
    }
    *out = st;
    return LMMIQA_OK;
}

void lmmiqa_extractor_state_destroy(lmmiqa_extractor_state *st)
{
    if (!st)
        return;
    if (st->ex->impl.state_destroy)
        st->ex->impl.state_destroy(st->impl_state);
    free(st);
}

int lmmiqa_extractor_run(const lmmiqa_extractor *ex, lmmiqa_extractor_state *st,
                         const lmmiqa_image *img, double *out)
{
    assert(ex && st && img && out);
    if (st->ex != ex)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "extractor %s: state belongs to extractor %s", ex->name,
                            st->ex->name);
    return ex->impl.run(ex->impl.model, st->impl_state, img, out);
}

int lmmiqa__extractor_has_score(const lmmiqa_extractor *ex) { return ex->impl.score != NULL; }

int lmmiqa__extractor_score(const lmmiqa_extractor *ex, lmmiqa_extractor_state *st,
                            const lmmiqa_image *img, double *score, double *features)
{
    assert(ex && st && img && score);
    if (!ex->impl.score)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "extractor %s has no score of its own",
                            ex->name);
    if (st->ex != ex)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "extractor %s: state belongs to extractor %s", ex->name,
                            st->ex->name);
    return ex->impl.score(ex->impl.model, st->impl_state, img, score, features);
}
