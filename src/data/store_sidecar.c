/*
 * src/data/store_sidecar.c - a stored part of the feature store: the matrix
 * DIR/<name>.npy and its sidecar DIR/<name>.json.
 *
 * Design: the sidecar says what made the matrix (extractor, version, config,
 * weights), which image and content hash each row is, and the SHA-256 of the
 * .npy. Loading checks the two files against each other (format, counts,
 * hashes, the matrix's digest and shape), so a reader never takes the rows
 * of a half-written or edited store; a mismatch names both files. Whether a
 * part may be reused by a build is a separate question (the same extractor
 * version and config), answered by lmmiqa__store_part_matches. The writer
 * is here too, so the one format lives in one file.
 */
#include "data/store_internal.h"

#include "core/internal.h"
#include "lmmiqa/advanced/npy.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STORE_FORMAT         "lmmiqa-feature-store"
#define STORE_FORMAT_VERSION 1
#define MAX_SIDECAR_BYTES    ((size_t)1 << 30)

void lmmiqa__store_part_free(lmmiqa__store_part *p)
{
    if (!p)
        return;
    cJSON_Delete(p->sidecar);
    free(p->matrix);
    free(p->images);
    free(p->hashes);
    memset(p, 0, sizeof *p);
}

static int is_hex64(const char *s)
{
    unsigned char tmp[32];
    return s && strlen(s) == 64 && lmmiqa__store_hash_from_hex(s, tmp) == 0;
}

/* Read DIR/<name>.json and .npy, check them against each other. */
int lmmiqa__store_part_load(const char *dir, const char *name, lmmiqa__store_part *out)
{
    memset(out, 0, sizeof *out);
    char *jpath = lmmiqa__store_path(dir, name, ".json"),
         *npath = lmmiqa__store_path(dir, name, ".npy");
    unsigned char *text = NULL, *bytes = NULL;
    size_t tlen = 0, blen = 0;
    int rc = LMMIQA_ERR_NOMEM;
    if (!jpath || !npath)
        goto done;
    rc = lmmiqa__file_read_all(jpath, MAX_SIDECAR_BYTES, &text, &tlen);
    if (rc != LMMIQA_OK)
        goto done;
    out->sidecar = cJSON_ParseWithLength((const char *)text, tlen);
    if (!out->sidecar) {
        rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: not valid JSON", jpath);
        goto done;
    }
    cJSON *j = out->sidecar;
    const char *fmt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "format"));
    cJSON *fv = cJSON_GetObjectItemCaseSensitive(j, "format_version");
    char *ex = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "extractor"));
    const char *msha = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "matrix_sha256"));
    cJSON *jdim = cJSON_GetObjectItemCaseSensitive(j, "dim");
    cJSON *jrows = cJSON_GetObjectItemCaseSensitive(j, "rows");
    cJSON *imgs = cJSON_GetObjectItemCaseSensitive(j, "images");
    if (!fmt || strcmp(fmt, STORE_FORMAT) != 0 || !cJSON_IsNumber(fv)) {
        rc = lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: not an lmmiqa feature store sidecar", jpath);
        goto done;
    }
    if (fv->valuedouble != STORE_FORMAT_VERSION) {
        rc = lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: sidecar format version %g, expected %d", jpath,
                          fv->valuedouble, STORE_FORMAT_VERSION);
        goto done;
    }
    if (!ex || strcmp(ex, name) != 0 || !is_hex64(msha) || !cJSON_IsNumber(jdim) ||
        !cJSON_IsNumber(jrows) || !cJSON_IsArray(imgs) || jdim->valuedouble < 1 ||
        jrows->valuedouble < 0) {
        rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                          "%s: sidecar lacks or has a bad extractor, dim, rows, images or "
                          "matrix_sha256",
                          jpath);
        goto done;
    }
    out->dim = (size_t)jdim->valuedouble;
    out->rows = (size_t)jrows->valuedouble;
    if ((size_t)cJSON_GetArraySize(imgs) != out->rows) {
        rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: %d images listed, rows says %zu", jpath,
                          cJSON_GetArraySize(imgs), out->rows);
        goto done;
    }
    out->name = ex;
    out->version = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "version"));
    out->images = lmmiqa__calloc(out->rows + 1, sizeof *out->images);
    out->hashes = lmmiqa__calloc(out->rows + 1, sizeof *out->hashes);
    if (!out->images || !out->hashes) {
        rc = LMMIQA_ERR_NOMEM;
        goto done;
    }
    size_t i = 0;
    cJSON *it;
    cJSON_ArrayForEach(it, imgs)
    {
        char *im = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "image"));
        char *h = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "sha256"));
        if (!im || !is_hex64(h)) {
            rc =
                lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: images[%zu] lacks image or sha256", jpath, i);
            goto done;
        }
        out->images[i] = im;
        out->hashes[i] = h;
        i++;
    }
    rc = lmmiqa__file_read_all(npath, LMMIQA__STORE_MAX_NPY_BYTES, &bytes, &blen);
    if (rc != LMMIQA_OK)
        goto done;
    char hex[65];
    lmmiqa__sha256_hex(bytes, blen, hex);
    if (strcmp(hex, msha) != 0) {
        rc = lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                          "%s: SHA-256 %s differs from %s's matrix_sha256 (interrupted write or "
                          "edited file; rebuild the store)",
                          npath, hex, jpath);
        goto done;
    }
    size_t r, c;
    rc = lmmiqa_npy_parse_f32(bytes, blen, npath, &out->matrix, &r, &c);
    if (rc != LMMIQA_OK)
        goto done;
    if (r != out->rows || c != out->dim) {
        rc = lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: matrix is %zu x %zu, %s says %zu x %zu", npath,
                          r, c, jpath, out->rows, out->dim);
        goto done;
    }
done:
    if (rc != LMMIQA_OK)
        lmmiqa__store_part_free(out);
    free(text);
    free(bytes);
    free(jpath);
    free(npath);
    return rc;
}

/* Does the stored part come from exactly this extractor configuration? */
int lmmiqa__store_part_matches(const lmmiqa__store_part *p, const lmmiqa_extractor *ex)
{
    const char *ver = lmmiqa_extractor_version(ex);
    if (p->dim != lmmiqa_extractor_dim(ex) || !p->version ||
        strcmp(p->version, ver ? ver : "") != 0)
        return 0;
    cJSON *cfg = cJSON_Parse(lmmiqa_extractor_config_json(ex));
    cJSON *stored = cJSON_GetObjectItemCaseSensitive(p->sidecar, "config");
    int same = cfg && stored && cJSON_Compare(cfg, stored, 1);
    cJSON_Delete(cfg);
    return same;
}

int lmmiqa__store_sidecar_write(const char *path, const lmmiqa_extractor *ex, size_t n,
                                const char *const *names, const unsigned char (*hashes)[32],
                                const char *matrix_file, const char *matrix_sha,
                                const char *dataset)
{
    int rc = LMMIQA_ERR_NOMEM;
    cJSON *j = cJSON_CreateObject();
    cJSON *cfg = cJSON_Parse(lmmiqa_extractor_config_json(ex));
    char *text = NULL;
    if (!j)
        goto done;
    if (!cfg)
        cfg = cJSON_CreateObject();
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(cfg, "weights_sha256");
    const char *ver = lmmiqa_extractor_version(ex);
    char stamp[32] = "";
    time_t t = time(NULL);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON_AddStringToObject(j, "format", STORE_FORMAT);
    cJSON_AddNumberToObject(j, "format_version", STORE_FORMAT_VERSION);
    cJSON_AddStringToObject(j, "extractor", lmmiqa_extractor_name(ex));
    cJSON_AddStringToObject(j, "version", ver ? ver : "");
    cJSON_AddNumberToObject(j, "dim", (double)lmmiqa_extractor_dim(ex));
    if (cJSON_IsString(w))
        cJSON_AddStringToObject(j, "weights_sha256", w->valuestring);
    else
        cJSON_AddNullToObject(j, "weights_sha256");
    cJSON_AddItemToObject(j, "config", cfg);
    cfg = NULL;
    cJSON *fn = cJSON_AddArrayToObject(j, "feature_names");
    for (size_t k = 0; fn && k < lmmiqa_extractor_dim(ex); k++)
        cJSON_AddItemToArray(fn, cJSON_CreateString(lmmiqa_extractor_feature_name(ex, k)));
    cJSON_AddStringToObject(j, "dtype", "float32");
    cJSON_AddNumberToObject(j, "rows", (double)n);
    cJSON_AddStringToObject(j, "matrix", matrix_file);
    cJSON_AddStringToObject(j, "matrix_sha256", matrix_sha);
    if (dataset)
        cJSON_AddStringToObject(j, "dataset", dataset);
    else
        cJSON_AddNullToObject(j, "dataset");
    cJSON_AddStringToObject(j, "lmmiqa_version", lmmiqa_version());
    cJSON_AddStringToObject(j, "created_utc", stamp);
    cJSON *imgs = cJSON_AddArrayToObject(j, "images");
    for (size_t i = 0; imgs && i < n; i++) {
        char hex[65];
        lmmiqa__store_hash_to_hex(hashes[i], hex);
        cJSON *o = cJSON_CreateObject();
        if (!o)
            goto done;
        cJSON_AddStringToObject(o, "image", names[i]);
        cJSON_AddStringToObject(o, "sha256", hex);
        cJSON_AddItemToArray(imgs, o);
    }
    text = cJSON_Print(j);
    if (!text)
        goto done;
    size_t len = strlen(text);
    text[len] = '\n'; /* replace the NUL; written length includes it */
    rc = lmmiqa__file_write_atomic(path, text, len + 1);
done:
    if (rc == LMMIQA_ERR_NOMEM)
        lmmiqa__fail(rc, "%s: out of memory writing the sidecar", path);
    cJSON_Delete(cfg);
    cJSON_Delete(j);
    free(text);
    return rc;
}
