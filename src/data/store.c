/*
 * src/data/store.c - the feature store (include/lmmiqa/store.h): options,
 * the small helpers and the reuse table the store's files share, feature
 * specs, and reading a store back (lmmiqa_features_*).
 *
 * Design: a store folder holds, per extractor, a float32 matrix
 * DIR/<name>.npy (one row per image) and its sidecar DIR/<name>.json
 * (store_sidecar.c); a build in progress also holds DIR/<name>.journal
 * (store_journal.c). A build (store_build.c) runs the worker pool
 * (store_pool.c) over the images, reusing finished rows by image content
 * hash through the table below. Reading loads the parts a spec names
 * ("a+b"), checks that they list the same images with the same content, and
 * joins their columns in spec order; the sidecars stay in memory for the
 * image names, hashes and the info JSON. store_internal.h maps the files.
 */
#include "lmmiqa/store.h"

#include "core/internal.h"
#include "data/store_internal.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lmmiqa_store_options_init(lmmiqa_store_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->size = sizeof *opt;
    opt->sync_rows = 16;
    opt->sync_seconds = 2.0;
}

int lmmiqa__store_options_get(const lmmiqa_store_options *opt, lmmiqa_store_options *o)
{
    lmmiqa_store_options_init(o);
    return lmmiqa__options_read(o, sizeof *o, opt, LMMIQA__OPTIONS_MIN(lmmiqa_store_options, jobs),
                                "lmmiqa_store_options");
}

/* ---- small helpers ----------------------------------------------------- */

void lmmiqa__store_warn(const lmmiqa_store_options *o, const char *fmt, ...)
{
    if (!o->on_warning)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    o->on_warning(o->user, line);
}

int lmmiqa__store_hash_from_hex(const char *hex, unsigned char bin[32])
{
    for (int i = 0; i < 32; i++) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            char c = hex[2 * i + k];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0)
                return -1;
            v = v * 16 + d;
        }
        bin[i] = (unsigned char)v;
    }
    return hex[64] == '\0' ? 0 : -1;
}

void lmmiqa__store_hash_to_hex(const unsigned char bin[32], char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[bin[i] >> 4];
        hex[2 * i + 1] = digits[bin[i] & 15];
    }
    hex[64] = '\0';
}

char *lmmiqa__store_path(const char *dir, const char *name, const char *ext)
{
    size_t n = strlen(dir) + strlen(name) + strlen(ext) + 2;
    char *p = lmmiqa__malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s", dir, name, ext);
    return p;
}

/* ---- table of finished features, keyed by image hash ------------------- */

int lmmiqa__store_reuse_add(lmmiqa__store_reuse *t, const unsigned char hash[32],
                            const float *features)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 256;
        lmmiqa__store_reuse_entry *e = realloc(t->e, cap * sizeof *e);
        if (!e)
            return lmmiqa__fail(LMMIQA_ERR_NOMEM, "feature store: out of memory");
        t->e = e;
        t->cap = cap;
    }
    memcpy(t->e[t->n].hash, hash, 32);
    t->e[t->n].features = features;
    t->n++;
    return LMMIQA_OK;
}

static int cmp_entry(const void *a, const void *b)
{
    return memcmp(((const lmmiqa__store_reuse_entry *)a)->hash,
                  ((const lmmiqa__store_reuse_entry *)b)->hash, 32);
}

void lmmiqa__store_reuse_sort(lmmiqa__store_reuse *t)
{
    if (t->n)
        qsort(t->e, t->n, sizeof *t->e, cmp_entry);
}

const float *lmmiqa__store_reuse_find(const lmmiqa__store_reuse *t, const unsigned char hash[32])
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(t->e[mid].hash, hash, 32);
        if (c == 0)
            return t->e[mid].features;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- specs ------------------------------------------------------------------ */

int lmmiqa_feature_spec_parse(const char *spec, lmmiqa_feature_spec *out)
{
    memset(out, 0, sizeof *out);
    const char *s = spec;
    if (!s || !*s)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "empty feature spec");
    for (;;) {
        const char *e = strchr(s, '+');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == 0)
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "feature spec '%s' has an empty part",
                                spec);
        if (len >= LMMIQA_SPEC_MAX_NAME)
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                "feature spec '%s': a name is longer than %d characters", spec,
                                LMMIQA_SPEC_MAX_NAME - 1);
        if (out->count == LMMIQA_SPEC_MAX_PARTS)
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "feature spec '%s' has more than %d parts",
                                spec, LMMIQA_SPEC_MAX_PARTS);
        for (size_t k = 0; k < len; k++) {
            char c = s[k];
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                  c == '.'))
                return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                    "feature spec '%s': character '%c' is not allowed in an "
                                    "extractor name (a-z 0-9 . _ -; parts are joined by '+')",
                                    spec, c);
        }
        if (len == 1 && s[0] == '.')
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "feature spec '%s': bad name '.'", spec);
        char *dst = out->names[out->count];
        memcpy(dst, s, len);
        dst[len] = '\0';
        if (strcmp(dst, "..") == 0)
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "feature spec '%s': bad name '..'", spec);
        for (size_t k = 0; k < out->count; k++)
            if (strcmp(out->names[k], dst) == 0)
                return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "feature spec '%s' names %s twice",
                                    spec, dst);
        out->count++;
        if (!e)
            break;
        s = e + 1;
    }
    return LMMIQA_OK;
}

/* ---- reading ------------------------------------------------------------------ */

struct lmmiqa_features {
    char spec[LMMIQA_SPEC_MAX_PARTS * LMMIQA_SPEC_MAX_NAME];
    size_t rows, dim;
    float *data;
    char **images, **hashes; /* point into parts[0]'s sidecar */
    lmmiqa__store_part parts[LMMIQA_SPEC_MAX_PARTS];
    size_t n_parts;
    char *info;
};

void lmmiqa_features_destroy(lmmiqa_features *f)
{
    if (!f)
        return;
    for (size_t k = 0; k < f->n_parts; k++)
        lmmiqa__store_part_free(&f->parts[k]);
    free(f->data);
    free(f->info);
    free(f);
}

int lmmiqa_features_load(const char *dir, const char *spec, lmmiqa_features **out)
{
    *out = NULL;
    lmmiqa_feature_spec sp;
    int rc = lmmiqa_feature_spec_parse(spec, &sp);
    if (rc != LMMIQA_OK)
        return rc;
    lmmiqa_features *f = lmmiqa__calloc(1, sizeof *f);
    if (!f)
        return LMMIQA_ERR_NOMEM;
    for (size_t k = 0; k < sp.count; k++) {
        rc = lmmiqa__store_part_load(dir, sp.names[k], &f->parts[k]);
        if (rc != LMMIQA_OK)
            goto fail;
        f->n_parts++;
        lmmiqa__store_part *a = &f->parts[0], *b = &f->parts[k];
        if (k > 0) {
            if (b->rows != a->rows) {
                rc = lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                                  "feature store %s: %s has %zu images, %s has %zu; extract both "
                                  "over the same dataset",
                                  dir, a->name, a->rows, b->name, b->rows);
                goto fail;
            }
            for (size_t i = 0; i < a->rows; i++) {
                if (strcmp(a->images[i], b->images[i]) != 0) {
                    rc = lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                                      "feature store %s: row %zu is image %s in %s but %s in %s",
                                      dir, i, a->images[i], a->name, b->images[i], b->name);
                    goto fail;
                }
                if (strcmp(a->hashes[i], b->hashes[i]) != 0) {
                    rc = lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                                      "feature store %s: image %s (row %zu) has different content "
                                      "in %s and %s (SHA-256 %.12s... vs %.12s...); re-extract",
                                      dir, a->images[i], i, a->name, b->name, a->hashes[i],
                                      b->hashes[i]);
                    goto fail;
                }
            }
        }
        f->dim += b->dim;
        if (k)
            strcat(f->spec, "+");
        strcat(f->spec, sp.names[k]);
    }
    f->rows = f->parts[0].rows;
    f->images = f->parts[0].images;
    f->hashes = f->parts[0].hashes;
    size_t cells;
    rc = lmmiqa__mul_size(f->rows ? f->rows : 1, f->dim, &cells);
    if (rc != LMMIQA_OK)
        goto fail;
    f->data = lmmiqa__malloc(cells * sizeof *f->data);
    if (!f->data) {
        rc = LMMIQA_ERR_NOMEM;
        goto fail;
    }
    size_t off = 0;
    for (size_t k = 0; k < f->n_parts; k++) {
        const lmmiqa__store_part *pp = &f->parts[k];
        for (size_t i = 0; i < f->rows; i++)
            memcpy(f->data + i * f->dim + off, pp->matrix + i * pp->dim, pp->dim * sizeof(float));
        off += pp->dim;
        free(f->parts[k].matrix);
        f->parts[k].matrix = NULL;
    }
    cJSON *arr = cJSON_CreateArray();
    for (size_t k = 0; arr && k < f->n_parts; k++) {
        const cJSON *sc = f->parts[k].sidecar;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "extractor", f->parts[k].name);
        cJSON_AddStringToObject(o, "version", f->parts[k].version ? f->parts[k].version : "");
        cJSON_AddNumberToObject(o, "dim", (double)f->parts[k].dim);
        cJSON *cfg = cJSON_GetObjectItemCaseSensitive(sc, "config");
        cJSON_AddItemToObject(o, "config", cfg ? cJSON_Duplicate(cfg, 1) : cJSON_CreateObject());
        cJSON *w = cJSON_GetObjectItemCaseSensitive(sc, "weights_sha256");
        cJSON_AddItemToObject(o, "weights_sha256", w ? cJSON_Duplicate(w, 1) : cJSON_CreateNull());
        cJSON_AddItemToArray(arr, o);
    }
    f->info = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    if (!f->info) {
        rc = lmmiqa__fail(LMMIQA_ERR_NOMEM, "feature store: out of memory");
        goto fail;
    }
    *out = f;
    return LMMIQA_OK;
fail:
    lmmiqa_features_destroy(f);
    return rc;
}

size_t lmmiqa_features_rows(const lmmiqa_features *f)
{
    return f->rows;
}
size_t lmmiqa_features_dim(const lmmiqa_features *f)
{
    return f->dim;
}
const float *lmmiqa_features_data(const lmmiqa_features *f)
{
    return f->data;
}
const char *lmmiqa_features_spec(const lmmiqa_features *f)
{
    return f->spec;
}
const char *lmmiqa_features_info_json(const lmmiqa_features *f)
{
    return f->info;
}

const char *lmmiqa_features_image(const lmmiqa_features *f, size_t i)
{
    return i < f->rows ? f->images[i] : NULL;
}

const char *lmmiqa_features_image_sha256(const lmmiqa_features *f, size_t i)
{
    return i < f->rows ? f->hashes[i] : NULL;
}

int lmmiqa_features_gather(const lmmiqa_features *f, const size_t *rows, size_t n, float *out)
{
    for (size_t k = 0; k < n; k++) {
        if (rows[k] >= f->rows)
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                "feature row %zu out of range (the store has %zu rows)", rows[k],
                                f->rows);
        memcpy(out + k * f->dim, f->data + rows[k] * f->dim, f->dim * sizeof *out);
    }
    return LMMIQA_OK;
}

int lmmiqa_features_check_dataset(const lmmiqa_features *f, const lmmiqa_dataset *ds)
{
    size_t n = lmmiqa_dataset_size(ds);
    if (n != f->rows)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                            "features %s have %zu rows, dataset %s has %zu images", f->spec,
                            f->rows, lmmiqa_dataset_name(ds), n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(f->images[i], lmmiqa_dataset_image(ds, i)) != 0)
            return lmmiqa__fail(
                LMMIQA_ERR_MISMATCH, "features %s: row %zu is image %s, dataset %s has %s there",
                f->spec, i, f->images[i], lmmiqa_dataset_name(ds), lmmiqa_dataset_image(ds, i));
    return LMMIQA_OK;
}
