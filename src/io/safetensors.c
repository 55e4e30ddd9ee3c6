/*
 * src/io/safetensors.c - reader and writer of the safetensors format.
 *
 * Reader: the file is memory-mapped read-only; the whole header is validated
 * before open returns, so later accesses never need to re-check anything:
 *   - 8-byte little-endian header length, at most LMMIQA__ST_MAX_HEADER and
 *     within the file;
 *   - the header is a JSON object (cJSON) whose members are tensors
 *     {"dtype": known name, "shape": [non-negative integers, <= 8 dims],
 *      "data_offsets": [begin, end]} and an optional "__metadata__" object of
 *     strings; no duplicate names, no other keys;
 *   - numel * dtype size (overflow-checked) == end - begin;
 *   - sorted by offset, the tensors tile the data area exactly: the first
 *     starts at 0, each begins where the previous ended (so no overlap and no
 *     gap) and the last ends at the end of the file, as the reference Rust
 *     implementation requires.
 * Lookup by name goes through an index sorted by name (bsearch).
 * Integrity: when the metadata holds LMMIQA__ST_SHA_KEY (every file lmmiqa
 * writes does), it must be the SHA-256 of the data area, else open fails
 * with LMMIQA_ERR_CORRUPT; files without it (other tools, lmmiqa < 0.2)
 * are accepted unchecked.
 *
 * Writer: tensors are copied (converted to the target dtype) when added; save
 * emits a compact header padded with spaces to a multiple of 8 bytes, the
 * data in insertion order, and writes everything atomically.
 */
#include "io/safetensors.h"

#include "core/internal.h"
#include "tensor/dtype.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Metadata key holding the SHA-256 (64 lowercase hex digits) of the data
 * area, i.e. of every tensor's bytes after the header. */
#define LMMIQA__ST_SHA_KEY "lmmiqa.data_sha256"

/* The reference implementation's limit (100 MB); real headers are < 1 MB. */
#define LMMIQA__ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)

typedef struct meta_entry {
    char *key, *value;
} meta_entry;

struct lmmiqa_safetensors {
    const unsigned char *base; /* whole file */
    size_t size;
    int mapped;
    size_t count;
    lmmiqa_tensor_info *tensors; /* header order */
    const lmmiqa_tensor_info **by_name; /* sorted by name */
    char *strings;               /* names, NUL-separated */
    size_t meta_count;
    meta_entry *meta;
    const struct stat *identity; /* the mapped file's, while opening (hash cache) */
};

static int fail_header(const char *what, const char *name)
{
    if (name)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "safetensors header: tensor '%s': %s", name,
                            what);
    return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "safetensors header: %s", what);
}

/* A JSON number that is a non-negative integer below 2^53, else -1. */
static int json_uint(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j))
        return -1;
    double d = j->valuedouble;
    if (!(d >= 0.0) || d > 9007199254740992.0 || d != floor(d))
        return -1;
    *out = (uint64_t)d;
    return 0;
}

typedef struct sort_item {
    uint64_t begin, end;
    size_t index;
} sort_item;

static int cmp_offsets(const void *a, const void *b)
{
    const sort_item *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp((*(const lmmiqa_tensor_info *const *)a)->name,
                  (*(const lmmiqa_tensor_info *const *)b)->name);
}

static int parse_metadata(lmmiqa_safetensors *st, const cJSON *obj, char **strp)
{
    if (!cJSON_IsObject(obj))
        return fail_header("__metadata__ is not an object", NULL);
    size_t n = 0;
    for (const cJSON *e = obj->child; e; e = e->next)
        n++;
    if (n == 0)
        return LMMIQA_OK;
    st->meta = lmmiqa__calloc(n, sizeof *st->meta);
    if (!st->meta)
        return LMMIQA_ERR_NOMEM;
    for (const cJSON *e = obj->child; e; e = e->next) {
        if (!cJSON_IsString(e) || !e->valuestring)
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                "safetensors header: __metadata__ value '%s' is not a string",
                                e->string ? e->string : "");
        st->meta[st->meta_count].key = *strp;
        size_t lk = strlen(e->string) + 1;
        memcpy(*strp, e->string, lk);
        *strp += lk;
        st->meta[st->meta_count].value = *strp;
        size_t lv = strlen(e->valuestring) + 1;
        memcpy(*strp, e->valuestring, lv);
        *strp += lv;
        st->meta_count++;
    }
    return LMMIQA_OK;
}

static int parse_tensor(const cJSON *e, lmmiqa_tensor_info *t, uint64_t *begin, uint64_t *end)
{
    const char *name = e->string;
    if (!cJSON_IsObject(e))
        return fail_header("entry is not an object", name);
    const cJSON *dtype = NULL, *shape = NULL, *offs = NULL;
    for (const cJSON *f = e->child; f; f = f->next) {
        const cJSON **slot = NULL;
        if (strcmp(f->string, "dtype") == 0)
            slot = &dtype;
        else if (strcmp(f->string, "shape") == 0)
            slot = &shape;
        else if (strcmp(f->string, "data_offsets") == 0)
            slot = &offs;
        else
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                "safetensors header: tensor '%s': unknown key '%s'", name,
                                f->string);
        if (*slot)
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                "safetensors header: tensor '%s': duplicate key '%s'", name,
                                f->string);
        *slot = f;
    }
    if (!dtype || !shape || !offs)
        return fail_header("needs dtype, shape and data_offsets", name);
    if (!cJSON_IsString(dtype) || !dtype->valuestring)
        return fail_header("dtype is not a string", name);
    int dt = lmmiqa__dtype_parse(dtype->valuestring);
    if (dt < 0)
        return lmmiqa__fail(LMMIQA_ERR_FORMAT,
                            "safetensors: tensor '%s': unsupported dtype '%s' (supported: F32, "
                            "F16, BF16, F64, I64, I32, U8, I8, BOOL)",
                            name, dtype->valuestring);
    t->dtype = (lmmiqa_dtype)dt;
    if (!cJSON_IsArray(shape))
        return fail_header("shape is not an array", name);
    int nd = cJSON_GetArraySize(shape);
    if (nd > LMMIQA_TENSOR_MAX_DIMS)
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE,
                            "safetensors: tensor '%s': %d dimensions (at most %d)", name, nd,
                            LMMIQA_TENSOR_MAX_DIMS);
    t->ndim = nd;
    size_t numel = 1;
    int k = 0;
    for (const cJSON *d = shape->child; d; d = d->next, k++) {
        uint64_t v;
        if (json_uint(d, &v) != 0)
            return fail_header("shape entry is not a non-negative integer", name);
        t->shape[k] = (int64_t)v;
        if (v > SIZE_MAX || lmmiqa__mul_size(numel, (size_t)v, &numel) != 0)
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                "safetensors: tensor '%s': element count overflows", name);
    }
    t->numel = numel;
    size_t nbytes;
    if (lmmiqa__mul_size(numel, lmmiqa__dtype_size(t->dtype), &nbytes) != 0)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "safetensors: tensor '%s': byte size overflows",
                            name);
    t->nbytes = nbytes;
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 ||
        json_uint(offs->child, begin) != 0 || json_uint(offs->child->next, end) != 0)
        return fail_header("data_offsets is not a pair of non-negative integers", name);
    if (*end < *begin)
        return fail_header("data_offsets end before begin", name);
    if (*end - *begin != (uint64_t)nbytes)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                            "safetensors: tensor '%s': data_offsets span %llu bytes but shape x "
                            "%s needs %zu",
                            name, (unsigned long long)(*end - *begin),
                            lmmiqa__dtype_name(t->dtype), nbytes);
    return LMMIQA_OK;
}

static int parse(lmmiqa_safetensors *st)
{
    if (st->size < 8)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                            "safetensors: file of %zu bytes is shorter than the 8-byte header "
                            "length",
                            st->size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | st->base[i];
    if (n > LMMIQA__ST_MAX_HEADER)
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE,
                            "safetensors: header length %llu exceeds the limit of %llu bytes",
                            (unsigned long long)n, (unsigned long long)LMMIQA__ST_MAX_HEADER);
    if (n > st->size - 8)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                            "safetensors: header length %llu runs past the end of the file "
                            "(%zu bytes): truncated?",
                            (unsigned long long)n, st->size);
    if (n < 2)
        return fail_header("too short to be a JSON object", NULL);
    const char *hdr = (const char *)st->base + 8;
    if (hdr[0] != '{')
        return fail_header("does not start with '{'", NULL);
    if (memchr(hdr, '\0', (size_t)n))
        return fail_header("contains a NUL byte", NULL);
    const char *parse_end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(hdr, (size_t)n, &parse_end, 0);
    if (!root)
        return fail_header("is not valid JSON", NULL);
    int rc = LMMIQA_OK;
    sort_item *items = NULL;
    /* only trailing spaces may follow the object (padding) */
    for (const char *p = parse_end; p && p < hdr + n; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            rc = fail_header("trailing bytes after the JSON object", NULL);
            goto done;
        }
    if (!cJSON_IsObject(root)) {
        rc = fail_header("is not a JSON object", NULL);
        goto done;
    }
    size_t count = 0, strbytes = 0;
    const cJSON *meta = NULL;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (!e->string) {
            rc = fail_header("member without a name", NULL);
            goto done;
        }
        if (strcmp(e->string, "__metadata__") == 0) {
            if (meta) {
                rc = fail_header("duplicate __metadata__", NULL);
                goto done;
            }
            meta = e;
            for (const cJSON *m = e->child; m; m = m->next)
                strbytes += strlen(m->string ? m->string : "") + 1 +
                            (cJSON_IsString(m) && m->valuestring ? strlen(m->valuestring) : 0) + 1;
            continue;
        }
        count++;
        strbytes += strlen(e->string) + 1;
    }
    st->strings = lmmiqa__malloc(strbytes + 1);
    st->tensors = lmmiqa__calloc(count ? count : 1, sizeof *st->tensors);
    st->by_name = lmmiqa__calloc(count ? count : 1, sizeof *st->by_name);
    items = lmmiqa__calloc(count ? count : 1, sizeof *items);
    if (!st->strings || !st->tensors || !st->by_name || !items) {
        rc = LMMIQA_ERR_NOMEM;
        goto done;
    }
    char *sp = st->strings;
    if (meta && (rc = parse_metadata(st, meta, &sp)) != LMMIQA_OK)
        goto done;
    size_t data_size = st->size - 8 - (size_t)n;
    const unsigned char *data = st->base + 8 + n;
    size_t k = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (e == meta)
            continue;
        lmmiqa_tensor_info *t = &st->tensors[k];
        size_t ln = strlen(e->string) + 1;
        memcpy(sp, e->string, ln);
        t->name = sp;
        sp += ln;
        rc = parse_tensor(e, t, &items[k].begin, &items[k].end);
        if (rc != LMMIQA_OK)
            goto done;
        if (items[k].end > data_size) {
            rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                              "safetensors: tensor '%s': data_offsets [%llu, %llu] run past the "
                              "%zu data bytes of the file: truncated?",
                              t->name, (unsigned long long)items[k].begin,
                              (unsigned long long)items[k].end, data_size);
            goto done;
        }
        t->data = data + items[k].begin;
        items[k].index = k;
        st->by_name[k] = t;
        k++;
    }
    st->count = count;
    /* the data area must be tiled exactly */
    qsort(items, count, sizeof *items, cmp_offsets);
    uint64_t pos = 0;
    for (size_t i = 0; i < count; i++) {
        if (items[i].begin != pos) {
            const char *nm = st->tensors[items[i].index].name;
            rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                              items[i].begin < pos
                                  ? "safetensors: tensor '%s' overlaps the previous tensor "
                                    "(begins at %llu, previous ends at %llu)"
                                  : "safetensors: tensor '%s' leaves a gap (begins at %llu, "
                                    "previous ends at %llu)",
                              nm, (unsigned long long)items[i].begin, (unsigned long long)pos);
            goto done;
        }
        pos = items[i].end;
    }
    if (pos != data_size) {
        rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                          "safetensors: tensors cover %llu bytes but the file holds %zu data "
                          "bytes",
                          (unsigned long long)pos, data_size);
        goto done;
    }
    const char *want = lmmiqa_safetensors_metadata(st, LMMIQA__ST_SHA_KEY);
    char got[65];
    /* a file verified before and unchanged since (hash.c's cache) is not
     * hashed again: 0.3 s per GB */
    if (want && !(st->identity && lmmiqa__hash_cache_get(st->identity, "data", got) &&
                  strcmp(got, want) == 0)) {
        lmmiqa__sha256_hex(data, data_size, got);
        if (strcmp(got, want) == 0 && st->identity)
            lmmiqa__hash_cache_put(st->identity, "data", got);
        if (strcmp(got, want) != 0) {
            rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                              "safetensors: tensor data checksum mismatch (%s is %.12s..., the "
                              "data hash to %.12s...): the file is corrupt or was modified",
                              LMMIQA__ST_SHA_KEY, want, got);
            goto done;
        }
    }
    qsort(st->by_name, count, sizeof *st->by_name, cmp_names);
    for (size_t i = 1; i < count; i++)
        if (strcmp(st->by_name[i - 1]->name, st->by_name[i]->name) == 0) {
            rc = fail_header("duplicate tensor name", st->by_name[i]->name);
            goto done;
        }
done:
    free(items);
    cJSON_Delete(root);
    return rc;
}

static int open_common(lmmiqa_safetensors *st, lmmiqa_safetensors **out)
{
    int rc = parse(st);
    if (rc != LMMIQA_OK) {
        lmmiqa_safetensors_close(st);
        return rc;
    }
    *out = st;
    return LMMIQA_OK;
}

int lmmiqa_safetensors_open_memory(const void *data, size_t size, lmmiqa_safetensors **out)
{
    assert(out && (data || size == 0));
    *out = NULL;
    lmmiqa_safetensors *st = lmmiqa__calloc(1, sizeof *st);
    if (!st)
        return LMMIQA_ERR_NOMEM;
    st->base = data;
    st->size = size;
    return open_common(st, out);
}

int lmmiqa_safetensors_open(const char *path, lmmiqa_safetensors **out)
{
    assert(path && out);
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lmmiqa__fail(LMMIQA_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return lmmiqa__fail(LMMIQA_ERR_IO, "%s: not a regular file", path);
    }
    if (sb.st_size < 8) {
        close(fd);
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                            "%s: safetensors: file of %lld bytes is shorter than the 8-byte "
                            "header length",
                            path, (long long)sb.st_size);
    }
    /* populated: loaders read every tensor, and a model using its matrices in
     * place would otherwise take one page fault per 4 KB in its first pass */
    void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return lmmiqa__fail(LMMIQA_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
    lmmiqa_safetensors *st = lmmiqa__calloc(1, sizeof *st);
    if (!st) {
        munmap(map, (size_t)sb.st_size);
        return LMMIQA_ERR_NOMEM;
    }
    st->base = map;
    st->size = (size_t)sb.st_size;
    st->mapped = 1;
    st->identity = &sb;
    int rc = open_common(st, out);
    if (rc == LMMIQA_OK)
        (*out)->identity = NULL;
    if (rc != LMMIQA_OK)
        return lmmiqa__fail_context(rc, "%s: ", path);
    return LMMIQA_OK;
}

void lmmiqa_safetensors_close(lmmiqa_safetensors *st)
{
    if (!st)
        return;
    if (st->mapped)
        munmap((void *)st->base, st->size);
    free(st->tensors);
    free(st->by_name);
    free(st->strings);
    free(st->meta);
    free(st);
}

size_t lmmiqa_safetensors_count(const lmmiqa_safetensors *st) { return st->count; }

int lmmiqa_safetensors_get(const lmmiqa_safetensors *st, size_t index, lmmiqa_tensor_info *info)
{
    assert(st && info);
    if (index >= st->count)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "safetensors: tensor index %zu out of range (%zu tensors)", index,
                            st->count);
    *info = st->tensors[index];
    return LMMIQA_OK;
}

static const lmmiqa_tensor_info *lookup(const lmmiqa_safetensors *st, const char *name)
{
    size_t lo = 0, hi = st->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const lmmiqa_tensor_info *t = st->by_name[mid];
        int c = strcmp(name, t->name);
        if (c == 0)
            return t;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

int lmmiqa_safetensors_find(const lmmiqa_safetensors *st, const char *name,
                            lmmiqa_tensor_info *info)
{
    assert(st && name && info);
    const lmmiqa_tensor_info *t = lookup(st, name);
    if (!t)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "safetensors: no tensor named '%s'", name);
    *info = *t;
    return LMMIQA_OK;
}

int lmmiqa_safetensors_read_f32(const lmmiqa_safetensors *st, const char *name, float *out,
                                size_t count)
{
    assert(st && name && (out || count == 0));
    const lmmiqa_tensor_info *t = lookup(st, name);
    if (!t)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "safetensors: no tensor named '%s'", name);
    if (count != t->numel)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                            "safetensors: tensor '%s' has %zu elements, %zu requested", name,
                            t->numel, count);
    lmmiqa__dtype_convert_f32(t->dtype, t->data, count, out);
    return LMMIQA_OK;
}

const char *lmmiqa_safetensors_metadata(const lmmiqa_safetensors *st, const char *key)
{
    for (size_t i = 0; i < st->meta_count; i++)
        if (strcmp(st->meta[i].key, key) == 0)
            return st->meta[i].value;
    return NULL;
}

/* ------------------------------------------------------------------ writer */

typedef struct w_tensor {
    char *name;
    lmmiqa_dtype dtype;
    int ndim;
    int64_t shape[LMMIQA_TENSOR_MAX_DIMS];
    unsigned char *bytes;
    size_t nbytes;
} w_tensor;

struct lmmiqa_safetensors_writer {
    w_tensor *t;
    size_t count, cap;
    meta_entry *meta;
    size_t meta_count, meta_cap;
};

int lmmiqa_safetensors_writer_create(lmmiqa_safetensors_writer **out)
{
    assert(out);
    *out = lmmiqa__calloc(1, sizeof **out);
    return *out ? LMMIQA_OK : LMMIQA_ERR_NOMEM;
}

void lmmiqa_safetensors_writer_destroy(lmmiqa_safetensors_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->count; i++) {
        free(w->t[i].name);
        free(w->t[i].bytes);
    }
    for (size_t i = 0; i < w->meta_count; i++) {
        free(w->meta[i].key);
        free(w->meta[i].value);
    }
    free(w->t);
    free(w->meta);
    free(w);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = lmmiqa__malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

int lmmiqa_safetensors_writer_add(lmmiqa_safetensors_writer *w, const char *name,
                                  lmmiqa_dtype dtype, const float *data, int ndim,
                                  const int64_t *shape)
{
    assert(w && name && (shape || ndim == 0));
    if (dtype != LMMIQA_DTYPE_F32 && dtype != LMMIQA_DTYPE_F16 && dtype != LMMIQA_DTYPE_BF16)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "safetensors writer: tensor '%s': dtype %s not writable (F32, F16, "
                            "BF16)",
                            name, lmmiqa__dtype_name(dtype));
    if (ndim < 0 || ndim > LMMIQA_TENSOR_MAX_DIMS)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "safetensors writer: tensor '%s': %d dimensions", name, ndim);
    if (*name == '\0' || strcmp(name, "__metadata__") == 0)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "safetensors writer: invalid tensor name '%s'",
                            name);
    for (size_t i = 0; i < w->count; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                "safetensors writer: duplicate tensor name '%s'", name);
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                "safetensors writer: tensor '%s': negative dimension", name);
        if (lmmiqa__mul_size(numel, (size_t)shape[i], &numel) != 0)
            return LMMIQA_ERR_TOO_LARGE;
    }
    if (numel && !data)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "safetensors writer: tensor '%s': no data",
                            name);
    size_t es = lmmiqa__dtype_size(dtype), nbytes;
    if (lmmiqa__mul_size(numel, es, &nbytes) != 0)
        return LMMIQA_ERR_TOO_LARGE;
    if (w->count == w->cap) {
        size_t nc = w->cap ? 2 * w->cap : 16;
        w_tensor *nt = realloc(w->t, nc * sizeof *nt);
        if (!nt)
            return lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory");
        w->t = nt;
        w->cap = nc;
    }
    w_tensor *t = &w->t[w->count];
    memset(t, 0, sizeof *t);
    t->name = dup_str(name);
    t->bytes = lmmiqa__malloc(nbytes ? nbytes : 1);
    if (!t->name || !t->bytes) {
        free(t->name);
        free(t->bytes);
        return LMMIQA_ERR_NOMEM;
    }
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    t->nbytes = nbytes;
    for (size_t i = 0; i < numel; i++) {
        if (dtype == LMMIQA_DTYPE_F32) {
            memcpy(t->bytes + 4 * i, &data[i], 4);
        } else {
            uint16_t h = dtype == LMMIQA_DTYPE_F16 ? lmmiqa__f32_to_f16(data[i])
                                                   : lmmiqa__f32_to_bf16(data[i]);
            t->bytes[2 * i] = (unsigned char)(h & 0xff);
            t->bytes[2 * i + 1] = (unsigned char)(h >> 8);
        }
    }
    w->count++;
    return LMMIQA_OK;
}

int lmmiqa_safetensors_writer_set_metadata(lmmiqa_safetensors_writer *w, const char *key,
                                           const char *value)
{
    assert(w && key && value);
    for (size_t i = 0; i < w->meta_count; i++)
        if (strcmp(w->meta[i].key, key) == 0) {
            char *v = dup_str(value);
            if (!v)
                return LMMIQA_ERR_NOMEM;
            free(w->meta[i].value);
            w->meta[i].value = v;
            return LMMIQA_OK;
        }
    if (w->meta_count == w->meta_cap) {
        size_t nc = w->meta_cap ? 2 * w->meta_cap : 8;
        meta_entry *nm = realloc(w->meta, nc * sizeof *nm);
        if (!nm)
            return lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory");
        w->meta = nm;
        w->meta_cap = nc;
    }
    char *k = dup_str(key), *v = dup_str(value);
    if (!k || !v) {
        free(k);
        free(v);
        return LMMIQA_ERR_NOMEM;
    }
    w->meta[w->meta_count].key = k;
    w->meta[w->meta_count].value = v;
    w->meta_count++;
    return LMMIQA_OK;
}

/* The header is built in the shared growable buffer (core/util.c). */
static void sb_json_string(lmmiqa__buf *b, const char *s)
{
    lmmiqa__buf_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            lmmiqa__buf_put(b, esc, 2);
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            lmmiqa__buf_put(b, esc, 6);
        } else {
            lmmiqa__buf_put(b, (const char *)p, 1);
        }
    }
    lmmiqa__buf_put(b, "\"", 1);
}

int lmmiqa_safetensors_writer_save(lmmiqa_safetensors_writer *w, const char *path)
{
    assert(w && path);
    lmmiqa__buf h = {0};
    char num[64];
    lmmiqa__buf_str(&h, "{");
    /* The checksum goes first as 64 placeholder digits, filled in once the
     * data are laid out. */
    lmmiqa__buf_str(&h, "\"__metadata__\":{\"" LMMIQA__ST_SHA_KEY "\":\"");
    size_t sha_at = h.len;
    lmmiqa__buf_str(&h, "0000000000000000000000000000000000000000000000000000000000000000\"");
    for (size_t i = 0; i < w->meta_count; i++) {
        if (strcmp(w->meta[i].key, LMMIQA__ST_SHA_KEY) == 0)
            continue;
        lmmiqa__buf_str(&h, ",");
        sb_json_string(&h, w->meta[i].key);
        lmmiqa__buf_str(&h, ":");
        sb_json_string(&h, w->meta[i].value);
    }
    lmmiqa__buf_str(&h, "}");
    size_t off = 0;
    for (size_t i = 0; i < w->count; i++) {
        const w_tensor *t = &w->t[i];
        lmmiqa__buf_str(&h, ",");
        sb_json_string(&h, t->name);
        lmmiqa__buf_str(&h, ":{\"dtype\":\"");
        lmmiqa__buf_str(&h, lmmiqa__dtype_name(t->dtype));
        lmmiqa__buf_str(&h, "\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            snprintf(num, sizeof num, "%s%lld", d ? "," : "", (long long)t->shape[d]);
            lmmiqa__buf_str(&h, num);
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%zu,%zu]}", off, off + t->nbytes);
        lmmiqa__buf_str(&h, num);
        off += t->nbytes;
    }
    lmmiqa__buf_str(&h, "}");
    while (!h.oom && h.len % 8 != 0)
        lmmiqa__buf_str(&h, " ");
    if (h.oom) {
        free(h.s);
        return lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory building a safetensors header");
    }
    size_t total = 8 + h.len + off;
    unsigned char *buf = lmmiqa__malloc(total);
    if (!buf) {
        free(h.s);
        return LMMIQA_ERR_NOMEM;
    }
    uint64_t hl = h.len;
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(hl >> (8 * i));
    memcpy(buf + 8, h.s, h.len);
    unsigned char *dp = buf + 8 + h.len;
    for (size_t i = 0; i < w->count; i++) {
        memcpy(dp, w->t[i].bytes, w->t[i].nbytes);
        dp += w->t[i].nbytes;
    }
    char sha[65];
    lmmiqa__sha256_hex(buf + 8 + h.len, off, sha);
    memcpy(buf + 8 + sha_at, sha, 64);
    free(h.s);
    int rc = lmmiqa__file_write_atomic(path, buf, total);
    free(buf);
    return rc;
}
