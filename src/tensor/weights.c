/*
 * src/tensor/weights.c - the format-neutral weight reader (see weights.h).
 * Safetensors files are read through the memory map; torch zip checkpoints
 * through lmmiqa_torchzip (storages read on demand, strides honoured). A
 * "used" flag per tensor lets loaders report unexpected tensors.
 */
#include "weights.h"

#include "core/internal.h"
#include "io/torchzip.h"
#include "tensor/dtype.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lmmiqa__weights {
    char *path;
    lmmiqa_safetensors *st;
    lmmiqa_torchzip *tz;
    size_t count;
    unsigned char *used;
};

int lmmiqa__weights_open(const char *path, const char *prefix, lmmiqa__weights **out)
{
    assert(path && out);
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return lmmiqa__fail(LMMIQA_ERR_IO, "%s: cannot open weights", path);
    unsigned char magic[9] = {0};
    size_t got = fread(magic, 1, sizeof magic, f);
    fclose(f);
    lmmiqa__weights *w = lmmiqa__calloc(1, sizeof *w);
    if (!w)
        return LMMIQA_ERR_NOMEM;
    w->path = lmmiqa__malloc(strlen(path) + 1);
    if (!w->path) {
        free(w);
        return LMMIQA_ERR_NOMEM;
    }
    strcpy(w->path, path);
    int rc;
    /* safetensors: 8-byte length then '{'; zip: "PK\3\4"; legacy torch.save:
     * a bare pickle (PROTO 2..5) */
    if (got == 9 && magic[8] == '{') {
        rc = lmmiqa_safetensors_open(path, &w->st);
        if (rc == LMMIQA_OK)
            w->count = lmmiqa_safetensors_count(w->st);
    } else if (got >= 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4) {
        rc = lmmiqa_torchzip_open(path, prefix, &w->tz);
        if (rc == LMMIQA_OK)
            w->count = lmmiqa_torchzip_count(w->tz);
    } else if (got >= 2 && magic[0] == 0x80 && magic[1] >= 2 && magic[1] <= 5) {
        rc = lmmiqa__fail(LMMIQA_ERR_FORMAT,
                          "%s: a legacy (pre-1.6, non-zip) torch.save file or a bare pickle; "
                          "re-save it with torch.save in a current PyTorch, or convert it to "
                          "safetensors",
                          path);
    } else {
        rc = lmmiqa_safetensors_open(path, &w->st);
        if (rc == LMMIQA_OK)
            w->count = lmmiqa_safetensors_count(w->st);
    }
    if (rc == LMMIQA_OK) {
        w->used = lmmiqa__calloc(w->count ? w->count : 1, 1);
        if (!w->used)
            rc = LMMIQA_ERR_NOMEM;
    }
    if (rc != LMMIQA_OK) {
        lmmiqa__weights_close(w);
        return rc;
    }
    *out = w;
    return LMMIQA_OK;
}

void lmmiqa__weights_close(lmmiqa__weights *w)
{
    if (!w)
        return;
    lmmiqa_safetensors_close(w->st);
    lmmiqa_torchzip_close(w->tz);
    free(w->used);
    free(w->path);
    free(w);
}

const char *lmmiqa__weights_path(const lmmiqa__weights *w) { return w->path; }
const char *lmmiqa__weights_format(const lmmiqa__weights *w)
{
    return w->st ? "safetensors" : "torch zip";
}
size_t lmmiqa__weights_count(const lmmiqa__weights *w) { return w->count; }

static int get_info(const lmmiqa__weights *w, size_t i, lmmiqa_tensor_info *info)
{
    if (w->st)
        return lmmiqa_safetensors_get(w->st, i, info);
    lmmiqa_torch_tensor_info ti;
    int rc = lmmiqa_torchzip_get(w->tz, i, &ti);
    if (rc == LMMIQA_OK)
        *info = ti.info;
    return rc;
}

const char *lmmiqa__weights_name(const lmmiqa__weights *w, size_t i)
{
    lmmiqa_tensor_info info;
    if (get_info(w, i, &info) != LMMIQA_OK)
        return "";
    return info.name;
}

/* Index of a name; the formats keep name order internally, a linear scan
 * over <= a few thousand names per lookup is negligible next to reading. */
static long index_of(const lmmiqa__weights *w, const char *name)
{
    for (size_t i = 0; i < w->count; i++) {
        lmmiqa_tensor_info info;
        if (get_info(w, i, &info) == LMMIQA_OK && strcmp(info.name, name) == 0)
            return (long)i;
    }
    return -1;
}

int lmmiqa__weights_has(const lmmiqa__weights *w, const char *name)
{
    return index_of(w, name) >= 0;
}

int lmmiqa__weights_find(lmmiqa__weights *w, const char *name, lmmiqa_tensor_info *info)
{
    long i = index_of(w, name);
    if (i < 0)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: missing tensor '%s'", w->path, name);
    w->used[i] = 1;
    return get_info(w, (size_t)i, info);
}

static void shape_str(char *buf, size_t size, int ndim, const int64_t *shape)
{
    size_t len = 0;
    len += (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < ndim && len < size; d++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld", d ? ", " : "",
                                (long long)shape[d]);
    if (len < size)
        snprintf(buf + len, size - len, "]");
}

/* Find `name` and check its shape and that it is floating point. */
static int find_checked(lmmiqa__weights *w, const char *name, int ndim, const int64_t *shape,
                        lmmiqa_tensor_info *info)
{
    int rc = lmmiqa__weights_find(w, name, info);
    if (rc != LMMIQA_OK)
        return rc;
    int same = info->ndim == ndim;
    for (int d = 0; same && d < ndim; d++)
        same = info->shape[d] == shape[d];
    if (!same) {
        char have[160], want[160];
        shape_str(have, sizeof have, info->ndim, info->shape);
        shape_str(want, sizeof want, ndim, shape);
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: tensor '%s' has shape %s, expected %s",
                            w->path, name, have, want);
    }
    if (info->dtype != LMMIQA_DTYPE_F32 && info->dtype != LMMIQA_DTYPE_F16 &&
        info->dtype != LMMIQA_DTYPE_BF16 && info->dtype != LMMIQA_DTYPE_F64)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                            "%s: tensor '%s' has dtype %s, expected a floating type (F32, F16, "
                            "BF16, F64)",
                            w->path, name, lmmiqa__dtype_name(info->dtype));
    return LMMIQA_OK;
}

int lmmiqa__weights_read(lmmiqa__weights *w, const char *name, int ndim, const int64_t *shape,
                         float *out)
{
    lmmiqa_tensor_info info;
    int rc = find_checked(w, name, ndim, shape, &info);
    if (rc != LMMIQA_OK)
        return rc;
    if (w->st)
        rc = lmmiqa_safetensors_read_f32(w->st, name, out, info.numel);
    else
        rc = lmmiqa_torchzip_read_f32(w->tz, name, out, info.numel);
    if (rc != LMMIQA_OK)
        return lmmiqa__fail_context(rc, "%s: ", w->path);
    return LMMIQA_OK;
}

/* Whether a tensor's bytes can be used in place as float32. */
static int in_place(const lmmiqa__weights *w, const lmmiqa_tensor_info *info)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return w->st && info->dtype == LMMIQA_DTYPE_F32 && info->data &&
           (uintptr_t)info->data % sizeof(float) == 0;
#else
    (void)w;
    (void)info;
    return 0;
#endif
}

int lmmiqa__weights_mappable(const lmmiqa__weights *w)
{
    if (!w->st)
        return 0;
    for (size_t i = 0; i < w->count; i++) {
        lmmiqa_tensor_info info;
        if (get_info(w, i, &info) != LMMIQA_OK)
            return 0;
        int floating = info.dtype == LMMIQA_DTYPE_F32 || info.dtype == LMMIQA_DTYPE_F16 ||
                       info.dtype == LMMIQA_DTYPE_BF16 || info.dtype == LMMIQA_DTYPE_F64;
        if (floating && !in_place(w, &info))
            return 0;
    }
    return 1;
}

int lmmiqa__weights_map(lmmiqa__weights *w, const char *name, int ndim, const int64_t *shape,
                        const float **out)
{
    lmmiqa_tensor_info info;
    *out = NULL;
    int rc = find_checked(w, name, ndim, shape, &info);
    if (rc != LMMIQA_OK)
        return rc;
    if (!in_place(w, &info))
        return lmmiqa__fail(LMMIQA_ERR_INTERNAL,
                            "%s: tensor '%s' (%s) cannot be used in place", w->path, name,
                            lmmiqa__dtype_name(info.dtype));
    *out = info.data;
    return LMMIQA_OK;
}

int lmmiqa__weights_used(const lmmiqa__weights *w, size_t i) { return w->used[i]; }

int lmmiqa__weights_check_unused(lmmiqa__weights *w, const char *where,
                                 int (*belongs)(const char *name, const void *ctx),
                                 const void *ctx)
{
    size_t extra = 0;
    char list[512] = "";
    for (size_t i = 0; i < w->count; i++) {
        if (w->used[i])
            continue;
        const char *name = lmmiqa__weights_name(w, i);
        if (!belongs(name, ctx))
            continue;
        if (extra < 4) {
            strncat(list, extra ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, name, sizeof list - strlen(list) - 1);
        }
        extra++;
    }
    if (extra)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: %zu unexpected tensor%s in %s: %s%s",
                            w->path, extra, extra > 1 ? "s" : "", where, list,
                            extra > 4 ? ", ..." : "");
    return LMMIQA_OK;
}
