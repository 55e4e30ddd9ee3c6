/*
 * src/io/torchzip.c - tensors of torch.save zip checkpoints (see torchzip.h).
 *
 * Layout of such a file: a zip archive (entries stored uncompressed) with one
 * top folder <root>/ holding data.pkl (the pickled object), data/<key> (raw
 * little-endian bytes of each storage), version, and in newer PyTorch
 * byteorder. data.pkl is run through the restricted pickle machine
 * (src/io/pickle.c); the resulting dictionary tree is flattened into
 * "a.b.c" names. At open every tensor is checked against its storage entry:
 * the entry exists, holds exactly numel x element-size bytes, and the
 * tensor's offset/shape/strides stay inside it.
 */
#include "io/torchzip.h"

#include "core/internal.h"
#include "io/pickle.h"
#include "tensor/dtype.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#define MAX_PICKLE_BYTES ((zip_uint64_t)256 << 20)
#define MAX_DEPTH 32

typedef struct entry {
    char *name;
    const lmmiqa__pv *t;
    zip_int64_t zip_index;
} entry;

struct lmmiqa_torchzip {
    zip_t *zip;
    char *root; /* "<root>/" */
    lmmiqa__pickle *pickle;
    entry *e;
    size_t count, cap;
    const entry **by_name; /* sorted by name */
};

static int zip_fail(zip_error_t *err, const char *what)
{
    int rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT, "torch zip: %s: %s", what, zip_error_strerror(err));
    return rc;
}

static int read_entry(zip_t *z, zip_int64_t idx, unsigned char *dst, zip_uint64_t n)
{
    zip_file_t *f = zip_fopen_index(z, (zip_uint64_t)idx, 0);
    if (!f)
        return zip_fail(zip_get_error(z), "cannot open an entry");
    zip_uint64_t got = 0;
    while (got < n) {
        zip_int64_t r = zip_fread(f, dst + got, n - got);
        if (r <= 0)
            break;
        got += (zip_uint64_t)r;
    }
    int bad = got != n;
    if (bad)
        lmmiqa__fail(LMMIQA_ERR_CORRUPT, "torch zip: entry '%s' is truncated or unreadable",
                     zip_get_name(z, (zip_uint64_t)idx, 0));
    zip_fclose(f);
    return bad ? LMMIQA_ERR_CORRUPT : LMMIQA_OK;
}

static int add_entry(lmmiqa_torchzip *tz, const char *name, const lmmiqa__pv *t)
{
    if (tz->count == tz->cap) {
        size_t nc = tz->cap ? 2 * tz->cap : 64;
        entry *ne = realloc(tz->e, nc * sizeof *ne);
        if (!ne)
            return lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory");
        tz->e = ne;
        tz->cap = nc;
    }
    size_t n = strlen(name) + 1;
    char *s = lmmiqa__malloc(n);
    if (!s)
        return LMMIQA_ERR_NOMEM;
    memcpy(s, name, n);
    tz->e[tz->count].name = s;
    tz->e[tz->count].t = t;
    tz->e[tz->count].zip_index = -1;
    tz->count++;
    return LMMIQA_OK;
}

/* Flatten dict d under `prefix` (length plen in buf). */
static int flatten(lmmiqa_torchzip *tz, const lmmiqa__pv *d, char *buf, size_t plen, size_t cap,
                   int depth)
{
    if (depth > MAX_DEPTH)
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "torch zip: dictionaries nested too deep");
    for (size_t i = 0; i + 1 < d->len; i += 2) {
        const lmmiqa__pv *k = d->items[i], *v = d->items[i + 1];
        if (v->type != LMMIQA__PV_TENSOR && v->type != LMMIQA__PV_DICT)
            continue;
        char key[32];
        const char *ks = k->s;
        size_t kl = k->len;
        if (k->type == LMMIQA__PV_INT) {
            kl = (size_t)snprintf(key, sizeof key, "%lld", (long long)k->i);
            ks = key;
        } else if (strlen(ks) != kl) {
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "torch zip: key with a NUL character");
        }
        size_t need = plen + (plen ? 1 : 0) + kl + 1;
        if (need > cap)
            return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "torch zip: tensor name too long");
        size_t at = plen;
        if (plen)
            buf[at++] = '.';
        memcpy(buf + at, ks, kl);
        buf[at + kl] = '\0';
        int rc = v->type == LMMIQA__PV_TENSOR ? add_entry(tz, buf, v)
                                              : flatten(tz, v, buf, at + kl, cap, depth + 1);
        buf[plen] = '\0';
        if (rc != LMMIQA_OK)
            return rc;
    }
    return LMMIQA_OK;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp((*(const entry *const *)a)->name, (*(const entry *const *)b)->name);
}

/* Keep only names under `prefix.` (stripped). */
static int select_prefix(lmmiqa_torchzip *tz, const char *prefix)
{
    size_t pl = strlen(prefix), k = 0;
    for (size_t i = 0; i < tz->count; i++) {
        entry *e = &tz->e[i];
        if (strncmp(e->name, prefix, pl) == 0 && e->name[pl] == '.') {
            memmove(e->name, e->name + pl + 1, strlen(e->name + pl + 1) + 1);
            tz->e[k++] = *e;
        } else {
            free(e->name);
        }
    }
    tz->count = k;
    if (k == 0)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "torch zip: no tensors under '%s'", prefix);
    return LMMIQA_OK;
}

/* Check every tensor against its storage entry. */
static int validate(lmmiqa_torchzip *tz)
{
    char path[256];
    for (size_t i = 0; i < tz->count; i++) {
        entry *e = &tz->e[i];
        const lmmiqa__pv *t = e->t, *st = t->storage;
        size_t es = lmmiqa__dtype_size(t->dtype);
        snprintf(path, sizeof path, "%sdata/%s", tz->root, st->s);
        zip_int64_t idx = zip_name_locate(tz->zip, path, 0);
        if (idx < 0)
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                "torch zip: tensor '%s': storage entry '%s' is missing", e->name,
                                path);
        zip_stat_t zs;
        if (zip_stat_index(tz->zip, (zip_uint64_t)idx, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_SIZE))
            return zip_fail(zip_get_error(tz->zip), path);
        size_t bytes;
        if (lmmiqa__mul_size((size_t)st->i, es, &bytes) != 0 || zs.size != (zip_uint64_t)bytes)
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                "torch zip: tensor '%s': storage '%s' holds %llu bytes, the "
                                "checkpoint declares %lld elements of %zu bytes",
                                e->name, path, (unsigned long long)zs.size, (long long)st->i, es);
        size_t numel = 1;
        uint64_t last = (uint64_t)t->offset;
        for (int d = 0; d < t->ndim; d++) {
            if (lmmiqa__mul_size(numel, (size_t)t->shape[d], &numel) != 0)
                return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                    "torch zip: tensor '%s': element count overflows", e->name);
            if (t->shape[d] > 0) {
                /* (shape-1)*stride without overflow: both < 2^62 after these checks */
                if ((uint64_t)t->stride[d] > ((uint64_t)1 << 40) ||
                    (uint64_t)t->shape[d] > ((uint64_t)1 << 40))
                    return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                        "torch zip: tensor '%s': stride or size too large",
                                        e->name);
                last += (uint64_t)(t->shape[d] - 1) * (uint64_t)t->stride[d];
            }
        }
        if (numel > 0 && last >= (uint64_t)st->i)
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                "torch zip: tensor '%s': offset/shape/strides reach element %llu "
                                "of a storage of %lld",
                                e->name, (unsigned long long)last, (long long)st->i);
        e->zip_index = idx;
    }
    return LMMIQA_OK;
}

static int open_zip(lmmiqa_torchzip *tz, const char *prefix)
{
    /* the root folder is the one holding data.pkl */
    zip_int64_t n = zip_get_num_entries(tz->zip, 0), pkl = -1;
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(tz->zip, (zip_uint64_t)i, 0);
        if (!name)
            continue;
        const char *slash = strchr(name, '/');
        if (slash && strcmp(slash + 1, "data.pkl") == 0) {
            pkl = i;
            size_t rl = (size_t)(slash - name) + 1;
            tz->root = lmmiqa__malloc(rl + 1);
            if (!tz->root)
                return LMMIQA_ERR_NOMEM;
            memcpy(tz->root, name, rl);
            tz->root[rl] = '\0';
            break;
        }
    }
    if (pkl < 0)
        return lmmiqa__fail(LMMIQA_ERR_FORMAT,
                            "torch zip: no <archive>/data.pkl entry: not a torch.save checkpoint "
                            "(TorchScript archives from torch.jit.save are not supported)");
    char path[256];
    snprintf(path, sizeof path, "%sbyteorder", tz->root);
    zip_int64_t bo = zip_name_locate(tz->zip, path, 0);
    if (bo >= 0) {
        unsigned char b[8] = {0};
        zip_stat_t zs;
        if (zip_stat_index(tz->zip, (zip_uint64_t)bo, 0, &zs) == 0 && zs.size <= 6 &&
            read_entry(tz->zip, bo, b, zs.size) == LMMIQA_OK && memcmp(b, "big", 3) == 0)
            return lmmiqa__fail(LMMIQA_ERR_FORMAT, "torch zip: big-endian checkpoint");
    }
    zip_stat_t zs;
    if (zip_stat_index(tz->zip, (zip_uint64_t)pkl, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_SIZE))
        return zip_fail(zip_get_error(tz->zip), "data.pkl");
    if (zs.size > MAX_PICKLE_BYTES)
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "torch zip: data.pkl of %llu bytes",
                            (unsigned long long)zs.size);
    unsigned char *pk = lmmiqa__malloc((size_t)zs.size + 1);
    if (!pk)
        return LMMIQA_ERR_NOMEM;
    int rc = read_entry(tz->zip, pkl, pk, zs.size);
    const lmmiqa__pv *root = NULL;
    if (rc == LMMIQA_OK)
        rc = lmmiqa__pickle_load(pk, (size_t)zs.size, &tz->pickle, &root);
    free(pk);
    if (rc != LMMIQA_OK)
        return lmmiqa__fail_context(rc, "%sdata.pkl: ", tz->root);
    if (root->type != LMMIQA__PV_DICT)
        return lmmiqa__fail(LMMIQA_ERR_FORMAT,
                            "torch zip: the checkpoint is not a dictionary of tensors");
    char *buf = lmmiqa__malloc(4096);
    if (!buf)
        return LMMIQA_ERR_NOMEM;
    buf[0] = '\0';
    rc = flatten(tz, root, buf, 0, 4096, 0);
    free(buf);
    if (rc != LMMIQA_OK)
        return rc;
    if (!prefix) {
        int top_tensor = 0;
        const lmmiqa__pv *sd = NULL;
        for (size_t i = 0; i + 1 < root->len; i += 2) {
            const lmmiqa__pv *k = root->items[i], *v = root->items[i + 1];
            top_tensor |= v->type == LMMIQA__PV_TENSOR;
            if (k->type == LMMIQA__PV_STR && strcmp(k->s, "state_dict") == 0 &&
                v->type == LMMIQA__PV_DICT)
                sd = v;
        }
        if (!top_tensor && sd)
            prefix = "state_dict";
    }
    if (prefix && *prefix && (rc = select_prefix(tz, prefix)) != LMMIQA_OK)
        return rc;
    tz->by_name = lmmiqa__malloc((tz->count ? tz->count : 1) * sizeof *tz->by_name);
    if (!tz->by_name)
        return LMMIQA_ERR_NOMEM;
    for (size_t i = 0; i < tz->count; i++)
        tz->by_name[i] = &tz->e[i];
    qsort(tz->by_name, tz->count, sizeof *tz->by_name, cmp_entry);
    for (size_t i = 1; i < tz->count; i++)
        if (strcmp(tz->by_name[i - 1]->name, tz->by_name[i]->name) == 0)
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "torch zip: duplicate tensor name '%s'",
                                tz->by_name[i]->name);
    return validate(tz);
}

static int finish_open(lmmiqa_torchzip *tz, const char *prefix, lmmiqa_torchzip **out)
{
    int rc = open_zip(tz, prefix);
    if (rc != LMMIQA_OK) {
        lmmiqa_torchzip_close(tz);
        return rc;
    }
    *out = tz;
    return LMMIQA_OK;
}

int lmmiqa_torchzip_open(const char *path, const char *prefix, lmmiqa_torchzip **out)
{
    assert(path && out);
    *out = NULL;
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    if (!z) {
        zip_error_t e;
        zip_error_init_with_code(&e, zerr);
        int rc = lmmiqa__fail(zerr == ZIP_ER_NOENT || zerr == ZIP_ER_OPEN ? LMMIQA_ERR_IO
                                                                          : LMMIQA_ERR_CORRUPT,
                              "%s: cannot open as zip: %s", path, zip_error_strerror(&e));
        zip_error_fini(&e);
        return rc;
    }
    lmmiqa_torchzip *tz = lmmiqa__calloc(1, sizeof *tz);
    if (!tz) {
        zip_discard(z);
        return LMMIQA_ERR_NOMEM;
    }
    tz->zip = z;
    int rc = finish_open(tz, prefix, out);
    if (rc != LMMIQA_OK)
        return lmmiqa__fail_context(rc, "%s: ", path);
    return LMMIQA_OK;
}

int lmmiqa_torchzip_open_memory(const void *data, size_t size, const char *prefix,
                                lmmiqa_torchzip **out)
{
    assert(out && (data || !size));
    *out = NULL;
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t *src = zip_source_buffer_create(data, size, 0, &err);
    if (!src) {
        int rc = zip_fail(&err, "buffer");
        zip_error_fini(&err);
        return rc;
    }
    zip_t *z = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (!z) {
        zip_source_free(src);
        int rc = zip_fail(&err, "not a zip archive");
        zip_error_fini(&err);
        return rc;
    }
    zip_error_fini(&err);
    lmmiqa_torchzip *tz = lmmiqa__calloc(1, sizeof *tz);
    if (!tz) {
        zip_discard(z);
        return LMMIQA_ERR_NOMEM;
    }
    tz->zip = z;
    return finish_open(tz, prefix, out);
}

void lmmiqa_torchzip_close(lmmiqa_torchzip *tz)
{
    if (!tz)
        return;
    if (tz->zip)
        zip_discard(tz->zip);
    for (size_t i = 0; i < tz->count; i++)
        free(tz->e[i].name);
    free(tz->e);
    free((void *)tz->by_name);
    free(tz->root);
    lmmiqa__pickle_destroy(tz->pickle);
    free(tz);
}

size_t lmmiqa_torchzip_count(const lmmiqa_torchzip *tz) { return tz->count; }

static void fill_info(const entry *e, lmmiqa_torch_tensor_info *info)
{
    const lmmiqa__pv *t = e->t;
    memset(info, 0, sizeof *info);
    info->info.name = e->name;
    info->info.dtype = t->dtype;
    info->info.ndim = t->ndim;
    size_t numel = 1;
    for (int d = 0; d < t->ndim; d++) {
        info->info.shape[d] = t->shape[d];
        info->stride[d] = t->stride[d];
        numel *= (size_t)t->shape[d]; /* overflow excluded by validate() */
    }
    info->info.numel = numel;
    info->info.nbytes = numel * lmmiqa__dtype_size(t->dtype);
    info->info.data = NULL;
    info->storage_offset = t->offset;
    info->storage_key = t->storage->s;
}

int lmmiqa_torchzip_get(const lmmiqa_torchzip *tz, size_t index, lmmiqa_torch_tensor_info *info)
{
    assert(tz && info);
    if (index >= tz->count)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "torch zip: tensor index %zu out of range",
                            index);
    fill_info(&tz->e[index], info);
    return LMMIQA_OK;
}

static const entry *lookup(const lmmiqa_torchzip *tz, const char *name)
{
    size_t lo = 0, hi = tz->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const entry *e = tz->by_name[mid];
        int c = strcmp(name, e->name);
        if (c == 0)
            return e;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

int lmmiqa_torchzip_find(const lmmiqa_torchzip *tz, const char *name,
                         lmmiqa_torch_tensor_info *info)
{
    const entry *e = lookup(tz, name);
    if (!e)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "torch zip: no tensor named '%s'", name);
    fill_info(e, info);
    return LMMIQA_OK;
}

int lmmiqa_torchzip_read_f32(lmmiqa_torchzip *tz, const char *name, float *out, size_t count)
{
    assert(tz && name && (out || !count));
    const entry *e = lookup(tz, name);
    if (!e)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "torch zip: no tensor named '%s'", name);
    lmmiqa_torch_tensor_info ti;
    fill_info(e, &ti);
    if (count != ti.info.numel)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                            "torch zip: tensor '%s' has %zu elements, %zu requested", name,
                            ti.info.numel, count);
    if (count == 0)
        return LMMIQA_OK;
    const lmmiqa__pv *t = e->t;
    size_t es = lmmiqa__dtype_size(t->dtype);
    size_t bytes = (size_t)t->storage->i * es;
    unsigned char *buf = lmmiqa__malloc(bytes ? bytes : 1);
    if (!buf)
        return LMMIQA_ERR_NOMEM;
    int rc = read_entry(tz->zip, e->zip_index, buf, bytes);
    if (rc != LMMIQA_OK) {
        free(buf);
        return lmmiqa__fail_context(rc, "tensor '%s': ", name);
    }
    /* walk the index space in row-major order, honouring strides */
    int nd = t->ndim;
    int64_t idx[LMMIQA_TENSOR_MAX_DIMS] = {0};
    int contiguous_last = nd == 0 || t->stride[nd - 1] == 1;
    int64_t inner = nd ? t->shape[nd - 1] : 1;
    size_t o = 0;
    while (o < count) {
        int64_t off = t->offset;
        for (int d = 0; d < nd - 1; d++)
            off += idx[d] * t->stride[d];
        if (contiguous_last) {
            lmmiqa__dtype_convert_f32(t->dtype, buf + (size_t)off * es, (size_t)inner, out + o);
        } else {
            for (int64_t k = 0; k < inner; k++)
                out[o + (size_t)k] =
                    lmmiqa__dtype_load_f32(t->dtype, buf + (size_t)(off + k * t->stride[nd - 1]) * es);
        }
        o += (size_t)inner;
        for (int d = nd - 2; d >= 0; d--) {
            if (++idx[d] < t->shape[d])
                break;
            idx[d] = 0;
        }
    }
    free(buf);
    return LMMIQA_OK;
}
