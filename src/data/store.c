/*
 * src/data/store.c - the feature store (include/lmmiqa/store.h).
 *
 * Design:
 *   - A pool of pthreads pulls image indices from a shared counter. Each
 *     worker reads the file once, hashes the bytes (SHA-256), and either
 *     reuses finished features with the same content hash or decodes the
 *     bytes and runs the extractor with its own state.
 *   - Finished features come from two sources, merged in one table sorted
 *     by hash: the existing complete .npy (when its sidecar matches the
 *     extractor fingerprint) and the journal.
 *   - The journal (DIR/<ex>.journal) is a 64-byte header (magic, dim, record
 *     size, extractor fingerprint, checksum) followed by fixed-size records
 *     {magic, row, image SHA-256, dim float32, FNV-1a 64 checksum}. Records
 *     are appended under the pool's mutex and fsynced every sync_rows rows
 *     or sync_seconds. On start, records are read up to the first one that is
 *     short or fails its checksum (a torn tail after kill -9); the file is
 *     truncated there before appending. The journal is in host byte order:
 *     it is a private, transient file, never shipped.
 *   - The .npy and .json are written with lmmiqa__file_write_atomic, .npy
 *     first; the sidecar records the .npy's SHA-256, so a crash between the
 *     two renames is detected by readers and by the next build. The old .npy
 *     stays hard-linked as <ex>.npy.prev until the sidecar is in place, so a
 *     failed sidecar write (full disk) puts the previous pair back.
 *   - With options.compute (rows computed by the caller, e.g. other MPI
 *     ranks) the pool only reads, hashes and reuses; the missing rows are
 *     marked pending and handed to the callback, whose results come back
 *     through lmmiqa_store_sink_put into the same float conversion, journal
 *     and final write as the pool's own rows, so the bytes are the same.
 */
#include "lmmiqa/store.h"

#include "core/internal.h"
#include "data/store_internal.h"
#include "lmmiqa/advanced/npy.h"
#include "lmmiqa/image.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STORE_FORMAT "lmmiqa-feature-store"
#define STORE_FORMAT_VERSION 1
#define JOURNAL_MAGIC "LMMIQAJ1"
#define RECORD_MAGIC 0x524d514cu /* "LQMR" */
#define JOURNAL_HEADER 64
#define MAX_SIDECAR_BYTES ((size_t)1 << 30)
#define MAX_NPY_BYTES ((size_t)1 << 36)

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

static uint64_t fnv1a64(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static int hex_to_bin(const char *hex, unsigned char bin[32])
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

static void bin_to_hex(const unsigned char bin[32], char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[bin[i] >> 4];
        hex[2 * i + 1] = digits[bin[i] & 15];
    }
    hex[64] = '\0';
}

static char *path_join(const char *dir, const char *name, const char *ext)
{
    size_t n = strlen(dir) + strlen(name) + strlen(ext) + 2;
    char *p = lmmiqa__malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s", dir, name, ext);
    return p;
}

/* Fingerprint of what determines the features: name, version, config, dim. */
static void extractor_fingerprint(const lmmiqa_extractor *ex, unsigned char fp[32])
{
    const char *name = lmmiqa_extractor_name(ex), *ver = lmmiqa_extractor_version(ex);
    const char *cfg = lmmiqa_extractor_config_json(ex);
    size_t n = strlen(name) + strlen(ver) + strlen(cfg) + 64;
    char *buf = malloc(n);
    char hex[65];
    if (buf) {
        int len = snprintf(buf, n, "lmmiqa-store-v1\n%s\n%s\n%s\n%zu", name, ver ? ver : "", cfg,
                           lmmiqa_extractor_dim(ex));
        lmmiqa__sha256_hex(buf, (size_t)len, hex);
        free(buf);
    } else {
        lmmiqa__sha256_hex(name, strlen(name), hex);
    }
    hex_to_bin(hex, fp);
}

/* ---- table of finished features, keyed by image hash ------------------- */

typedef struct reuse_entry {
    unsigned char hash[32];
    const float *features;
} reuse_entry;

typedef struct reuse_table {
    reuse_entry *e;
    size_t n, cap;
} reuse_table;

static int reuse_add(reuse_table *t, const unsigned char hash[32], const float *features)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 256;
        reuse_entry *e = realloc(t->e, cap * sizeof *e);
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
    return memcmp(((const reuse_entry *)a)->hash, ((const reuse_entry *)b)->hash, 32);
}

static const float *reuse_find(const reuse_table *t, const unsigned char hash[32])
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

/* ---- sidecar ------------------------------------------------------------ */

/* A parsed, verified store part: sidecar + matrix. */
typedef struct part {
    char *name, *version;
    cJSON *sidecar; /* owned */
    size_t rows, dim;
    float *matrix;
    char **images;  /* rows names, pointing into sidecar strings */
    char **hashes;  /* rows hex hashes, pointing into sidecar strings */
} part;

static void part_free(part *p)
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
    return s && strlen(s) == 64 && hex_to_bin(s, tmp) == 0;
}

/* Read DIR/<name>.json and .npy, check them against each other. */
static int part_load(const char *dir, const char *name, part *out)
{
    memset(out, 0, sizeof *out);
    char *jpath = path_join(dir, name, ".json"), *npath = path_join(dir, name, ".npy");
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
            rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: images[%zu] lacks image or sha256", jpath,
                              i);
            goto done;
        }
        out->images[i] = im;
        out->hashes[i] = h;
        i++;
    }
    rc = lmmiqa__file_read_all(npath, MAX_NPY_BYTES, &bytes, &blen);
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
        part_free(out);
    free(text);
    free(bytes);
    free(jpath);
    free(npath);
    return rc;
}

/* Does the stored part come from exactly this extractor configuration? */
static int part_matches(const part *p, const lmmiqa_extractor *ex)
{
    const char *ver = lmmiqa_extractor_version(ex);
    if (p->dim != lmmiqa_extractor_dim(ex) || !p->version || strcmp(p->version, ver ? ver : "") != 0)
        return 0;
    cJSON *cfg = cJSON_Parse(lmmiqa_extractor_config_json(ex));
    cJSON *stored = cJSON_GetObjectItemCaseSensitive(p->sidecar, "config");
    int same = cfg && stored && cJSON_Compare(cfg, stored, 1);
    cJSON_Delete(cfg);
    return same;
}

static int sidecar_write(const char *path, const lmmiqa_extractor *ex, size_t n,
                         const char *const *names, const unsigned char (*hashes)[32],
                         const char *matrix_file, const char *matrix_sha, const char *dataset)
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
        bin_to_hex(hashes[i], hex);
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

/* ---- journal ------------------------------------------------------------ */

typedef struct journal {
    char *path;
    int fd;                 /* -1 until the first record is appended */
    size_t dim, rec_size;
    unsigned char fp[32];
    off_t valid_len;        /* bytes of valid header + records on disk */
    int header_ok;          /* an existing file with a matching header */
    float *loaded;          /* features of the records read at start */
    size_t n_loaded;
    size_t torn_bytes;      /* bytes dropped after the last valid record */
} journal;

static void journal_header(const journal *jn, unsigned char h[JOURNAL_HEADER])
{
    memset(h, 0, JOURNAL_HEADER);
    memcpy(h, JOURNAL_MAGIC, 8);
    uint32_t dim = (uint32_t)jn->dim, rs = (uint32_t)jn->rec_size;
    memcpy(h + 8, &dim, 4);
    memcpy(h + 12, &rs, 4);
    memcpy(h + 16, jn->fp, 32);
    uint64_t sum = fnv1a64(h, 56);
    memcpy(h + 56, &sum, 8);
}

static void store_warn(const lmmiqa_store_options *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void store_warn(const lmmiqa_store_options *o, const char *fmt, ...)
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

/* Read an existing journal's valid records; a missing file is fine. A header
 * or record that fails its check is reported through o->on_warning. */
static int journal_read(journal *jn, reuse_table *table, const lmmiqa_store_options *o)
{
    unsigned char *buf = NULL;
    size_t size = 0;
    struct stat st;
    if (stat(jn->path, &st) != 0)
        return LMMIQA_OK;
    int rc = lmmiqa__file_read_all(jn->path, MAX_NPY_BYTES, &buf, &size);
    if (rc != LMMIQA_OK)
        return rc;
    unsigned char want[JOURNAL_HEADER];
    journal_header(jn, want);
    if (size < JOURNAL_HEADER || memcmp(buf, want, JOURNAL_HEADER) != 0) {
        /* Another extractor configuration, or garbage: start afresh. */
        uint64_t sum = 0;
        if (size >= JOURNAL_HEADER)
            memcpy(&sum, buf + 56, 8);
        int other = size >= JOURNAL_HEADER && memcmp(buf, want, 8) == 0 &&
                    sum == fnv1a64(buf, 56);
        store_warn(o, "%s: %s; its rows are recomputed", jn->path,
                   other ? "a journal of another extractor version or configuration"
                         : "corrupt journal header");
        free(buf);
        return LMMIQA_OK;
    }
    jn->header_ok = 1;
    size_t count = (size - JOURNAL_HEADER) / jn->rec_size;
    if (count) {
        jn->loaded = lmmiqa__malloc(count * jn->dim * sizeof(float));
        if (!jn->loaded) {
            free(buf);
            return LMMIQA_ERR_NOMEM;
        }
    }
    size_t k = 0;
    for (; k < count; k++) {
        const unsigned char *r = buf + JOURNAL_HEADER + k * jn->rec_size;
        uint32_t magic;
        uint64_t sum;
        memcpy(&magic, r, 4);
        memcpy(&sum, r + jn->rec_size - 8, 8);
        if (magic != RECORD_MAGIC || sum != fnv1a64(r, jn->rec_size - 8))
            break;
        memcpy(jn->loaded + k * jn->dim, r + 48, jn->dim * sizeof(float));
    }
    /* A short last record is the normal trace of an interrupted run; a
     * whole record failing its checksum is damage worth saying. */
    if (k < count)
        store_warn(o,
                   "%s: record %zu of %zu fails its checksum (corrupt); it and the %zu after it "
                   "are recomputed",
                   jn->path, k + 1, count, count - k - 1);
    jn->n_loaded = k;
    jn->valid_len = (off_t)(JOURNAL_HEADER + k * jn->rec_size);
    jn->torn_bytes = size - (size_t)jn->valid_len;
    for (size_t i = 0; i < k; i++) {
        rc = reuse_add(table, buf + JOURNAL_HEADER + i * jn->rec_size + 16,
                       jn->loaded + i * jn->dim);
        if (rc != LMMIQA_OK)
            break;
    }
    free(buf);
    return rc;
}

static int write_all(int fd, const void *data, size_t n, const char *path)
{
    const unsigned char *p = data;
    while (n > 0) {
        ssize_t w = lmmiqa__io_fault() ? -1 : write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return lmmiqa__fail(LMMIQA_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    return LMMIQA_OK;
}

/* Open for appending: keep the valid prefix of a matching journal, else
 * start a new one with a fresh header. */
static int journal_open_append(journal *jn)
{
    if (jn->header_ok) {
        jn->fd = open(jn->path, O_WRONLY);
        if (jn->fd >= 0 && ftruncate(jn->fd, jn->valid_len) == 0 &&
            lseek(jn->fd, jn->valid_len, SEEK_SET) == jn->valid_len)
            return LMMIQA_OK;
        if (jn->fd >= 0)
            close(jn->fd);
    }
    jn->fd = lmmiqa__io_fault() ? -1 : open(jn->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (jn->fd < 0)
        return lmmiqa__fail(LMMIQA_ERR_IO, "%s: cannot create: %s", jn->path, strerror(errno));
    unsigned char h[JOURNAL_HEADER];
    journal_header(jn, h);
    int rc = write_all(jn->fd, h, sizeof h, jn->path);
    if (rc == LMMIQA_OK && (lmmiqa__io_fault() || fsync(jn->fd) != 0))
        rc = lmmiqa__fail(LMMIQA_ERR_IO, "%s: fsync failed: %s", jn->path, strerror(errno));
    jn->valid_len = JOURNAL_HEADER;
    return rc;
}

/* ---- the worker pool ------------------------------------------------------ */

typedef struct pool {
    const lmmiqa_extractor *ex;
    const lmmiqa_store_options *opt;
    size_t n, dim;
    const char *const *names; /* for messages and callbacks */
    const char *const *paths;
    /* generated mode (lmmiqa_store_build_generated): keys and an image source
     * instead of paths */
    const char *const *keys;
    lmmiqa_store_image_fn make;
    void *make_user;
    /* store mode: float rows, hashes, reuse table, journal */
    float *fmat;
    unsigned char (*hashes)[32];
    const reuse_table *reuse;
    journal *jn;
    /* compute mode: double rows, statuses */
    double *dmat;
    int *status;
    /* store mode with options.compute: rows the caller computes are marked
     * here (1) instead of being extracted; 2 once delivered */
    unsigned char *pending;

    pthread_mutex_t mu;
    size_t next;
    int abort_rc;
    char abort_msg[512];
    size_t unsynced;
    double last_sync, t0;
    lmmiqa_store_progress prog;
    size_t first_failed;
    int first_status;
    char first_msg[512];
} pool;

/* Record an image failure (called with the mutex held). */
static void pool_image_failed(pool *p, size_t i, int status, const char *msg)
{
    if (p->prog.failed == 0) {
        p->first_failed = i;
        p->first_status = status;
        snprintf(p->first_msg, sizeof p->first_msg, "%s", msg);
    }
    p->prog.failed++;
    if (p->status)
        p->status[i] = status;
    if (p->opt->on_error)
        p->opt->on_error(p->opt->user, i, p->names[i], status, msg);
}

static void pool_abort(pool *p, int rc)
{
    if (p->abort_rc == LMMIQA_OK) {
        p->abort_rc = rc;
        snprintf(p->abort_msg, sizeof p->abort_msg, "%s", lmmiqa_error_message());
    }
}

/* Append one journal record (mutex held). */
static int pool_journal(pool *p, size_t i, const float *row, unsigned char *rec)
{
    journal *jn = p->jn;
    if (jn->fd < 0) {
        int rc = journal_open_append(jn);
        if (rc != LMMIQA_OK)
            return rc;
    }
    uint32_t magic = RECORD_MAGIC, pad = 0;
    uint64_t r64 = (uint64_t)i;
    memcpy(rec, &magic, 4);
    memcpy(rec + 4, &pad, 4);
    memcpy(rec + 8, &r64, 8);
    memcpy(rec + 16, p->hashes[i], 32);
    memcpy(rec + 48, row, p->dim * sizeof(float));
    uint64_t sum = fnv1a64(rec, jn->rec_size - 8);
    memcpy(rec + jn->rec_size - 8, &sum, 8);
    int rc = write_all(jn->fd, rec, jn->rec_size, jn->path);
    if (rc != LMMIQA_OK)
        return rc;
    jn->valid_len += (off_t)jn->rec_size;
    p->unsynced++;
    double t = lmmiqa__now_s();
    if (p->unsynced >= p->opt->sync_rows || t - p->last_sync >= p->opt->sync_seconds) {
        if (lmmiqa__io_fault() || fdatasync(jn->fd) != 0)
            return lmmiqa__fail(LMMIQA_ERR_IO, "%s: fsync failed: %s", jn->path, strerror(errno));
        p->unsynced = 0;
        p->last_sync = t;
    }
    return LMMIQA_OK;
}

static int all_finite(const double *v, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (!isfinite(v[k]))
            return 0;
    return 1;
}

static void *pool_worker(void *arg)
{
    pool *p = arg;
    lmmiqa_extractor_state *st = NULL;
    double *feat = malloc(p->dim * sizeof *feat);
    unsigned char *rec = p->jn ? malloc(p->jn->rec_size) : NULL;
    int rc = lmmiqa_extractor_state_create(p->ex, &st);
    if (!feat || (p->jn && !rec)) {
        rc = lmmiqa__fail(LMMIQA_ERR_NOMEM, "feature extraction: out of memory");
    }
    if (rc != LMMIQA_OK) {
        pthread_mutex_lock(&p->mu);
        pool_abort(p, rc);
        pthread_mutex_unlock(&p->mu);
        goto done;
    }
    for (;;) {
        pthread_mutex_lock(&p->mu);
        size_t i = p->abort_rc == LMMIQA_OK && p->next < p->n ? p->next++ : p->n;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->n)
            break;
        const char *label = p->names[i];
        unsigned char *bytes = NULL;
        size_t size = 0;
        lmmiqa_image *img = NULL;
        const float *hit = NULL;
        int reused = 0;
        const char *where = p->make ? label : p->paths[i];
        if (p->make)
            rc = LMMIQA_OK;
        else
            rc = lmmiqa__file_read_all(p->paths[i], LMMIQA_IMAGE_MAX_FILE_BYTES, &bytes, &size);
        if (rc == LMMIQA_OK && p->fmat) {
            char hex[65];
            if (p->make)
                lmmiqa__sha256_hex(p->keys[i], strlen(p->keys[i]), hex);
            else
                lmmiqa__sha256_hex(bytes, size, hex);
            hex_to_bin(hex, p->hashes[i]);
            hit = reuse_find(p->reuse, p->hashes[i]);
            if (hit) {
                memcpy(p->fmat + i * p->dim, hit, p->dim * sizeof(float));
                reused = 1;
            }
        }
        if (rc == LMMIQA_OK && !reused && p->pending) {
            free(bytes);
            p->pending[i] = 1; /* each i is taken by one worker only */
            continue;
        }
        if (rc == LMMIQA_OK && !reused) {
            if (p->make)
                rc = p->make(p->make_user, i, &img);
            else
                rc = lmmiqa_image_decode(bytes, size, p->paths[i], &img);
            if (rc == LMMIQA_OK)
                rc = lmmiqa_extractor_run(p->ex, st, img, feat);
            if (rc == LMMIQA_OK && !all_finite(feat, p->dim))
                rc = lmmiqa__fail(LMMIQA_ERR_UNDEFINED, "extractor %s gave a non-finite feature",
                                  lmmiqa_extractor_name(p->ex));
        }
        free(bytes);
        lmmiqa_image_destroy(img);
        char msg[512] = "";
        if (rc != LMMIQA_OK) {
            const char *m = lmmiqa_error_message();
            if (strstr(m, where) || strstr(m, label))
                snprintf(msg, sizeof msg, "%s", m);
            else
                snprintf(msg, sizeof msg, "%s: %s", where, m);
        } else if (!reused) {
            if (p->fmat)
                for (size_t k = 0; k < p->dim; k++)
                    p->fmat[i * p->dim + k] = (float)feat[k];
            else
                memcpy(p->dmat + i * p->dim, feat, p->dim * sizeof *feat);
        }
        pthread_mutex_lock(&p->mu);
        if (rc != LMMIQA_OK) {
            if (rc == LMMIQA_ERR_NOMEM || rc == LMMIQA_ERR_INTERNAL) {
                lmmiqa__fail(rc, "%s", msg);
                pool_abort(p, rc);
            }
            pool_image_failed(p, i, rc, msg);
        } else {
            if (p->status)
                p->status[i] = LMMIQA_OK;
            if (reused) {
                p->prog.reused++;
            } else {
                p->prog.computed++;
                if (p->jn) {
                    int jrc = pool_journal(p, i, p->fmat + i * p->dim, rec);
                    if (jrc != LMMIQA_OK)
                        pool_abort(p, jrc);
                }
            }
        }
        p->prog.done++;
        p->prog.elapsed_s = lmmiqa__now_s() - p->t0;
        if (p->opt->progress)
            p->opt->progress(p->opt->user, &p->prog);
        pthread_mutex_unlock(&p->mu);
    }
done:
    lmmiqa_extractor_state_destroy(st);
    free(feat);
    free(rec);
    return NULL;
}

static int online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

/* Run the pool to completion. Returns the abort status (not image failures). */
static int pool_run(pool *p)
{
    int jobs = p->opt->jobs > 0 ? p->opt->jobs : online_cores();
    if ((size_t)jobs > p->n)
        jobs = p->n ? (int)p->n : 1;
    pthread_mutex_init(&p->mu, NULL);
    p->t0 = p->last_sync = lmmiqa__now_s();
    p->prog.total = p->n;
    pthread_t *tid = calloc((size_t)jobs, sizeof *tid);
    int started = 0;
    if (tid)
        for (; started < jobs - 1; started++)
            if (pthread_create(&tid[started], NULL, pool_worker, p) != 0)
                break;
    pool_worker(p); /* the calling thread works too */
    for (int k = 0; k < started; k++)
        pthread_join(tid[k], NULL);
    free(tid);
    pthread_mutex_destroy(&p->mu);
    p->prog.elapsed_s = lmmiqa__now_s() - p->t0;
    if (p->abort_rc != LMMIQA_OK)
        return lmmiqa__fail(p->abort_rc, "%s", p->abort_msg);
    return LMMIQA_OK;
}

static int failures_message(const pool *p, int status_if_none)
{
    if (p->prog.failed == 0)
        return status_if_none;
    if (p->prog.failed == 1)
        return lmmiqa__fail(p->first_status, "%s", p->first_msg);
    return lmmiqa__fail(p->first_status, "%zu of %zu images failed; first: %s", p->prog.failed,
                        p->n, p->first_msg);
}

/* ---- public: compute ------------------------------------------------------ */

int lmmiqa_store_compute(const lmmiqa_extractor *ex, size_t n, const char *const *paths,
                         const lmmiqa_store_options *opt, double *out, int *status,
                         lmmiqa_store_progress *result)
{
    lmmiqa_store_options given;
    int grc = lmmiqa__store_options_get(opt, &given);
    if (grc)
        return grc;
    opt = &given;
    pool p;
    memset(&p, 0, sizeof p);
    p.ex = ex;
    p.opt = opt;
    p.n = n;
    p.dim = lmmiqa_extractor_dim(ex);
    p.names = paths;
    p.paths = paths;
    p.dmat = out;
    p.status = status;
    for (size_t i = 0; i < n; i++) {
        status[i] = LMMIQA_ERR_INTERNAL;
        for (size_t k = 0; k < p.dim; k++)
            out[i * p.dim + k] = NAN;
    }
    int rc = pool_run(&p);
    if (result)
        *result = p.prog;
    if (rc != LMMIQA_OK)
        return rc;
    return failures_message(&p, LMMIQA_OK);
}

/* ---- rows computed by the caller (options.compute) ------------------------- */

struct lmmiqa_store_sink {
    pool *p;
    unsigned char *rec; /* one journal record */
    int rc;             /* first journal failure */
};

int lmmiqa_store_sink_put(lmmiqa_store_sink *sink, size_t row, int status,
                          const double *features, const char *message)
{
    pool *p = sink->p;
    if (row >= p->n || p->pending[row] != 1)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "feature store: row %zu was not asked for or was delivered already",
                            row);
    p->pending[row] = 2;
    const char *where = p->make ? p->names[row] : p->paths[row];
    char msg[512];
    if (status == LMMIQA_OK && (!features || !all_finite(features, p->dim))) {
        status = LMMIQA_ERR_UNDEFINED;
        snprintf(msg, sizeof msg, "%s: extractor %s gave a non-finite feature", where,
                 lmmiqa_extractor_name(p->ex));
    } else if (status != LMMIQA_OK) {
        snprintf(msg, sizeof msg, "%s", message ? message : "");
        if (!message || !(strstr(message, where) || strstr(message, p->names[row])))
            snprintf(msg, sizeof msg, "%s: %s", where, message ? message : "extraction failed");
    }
    int rc = LMMIQA_OK;
    if (status != LMMIQA_OK) {
        pool_image_failed(p, row, status, msg);
    } else {
        for (size_t k = 0; k < p->dim; k++)
            p->fmat[row * p->dim + k] = (float)features[k];
        p->prog.computed++;
        rc = pool_journal(p, row, p->fmat + row * p->dim, sink->rec);
        if (rc != LMMIQA_OK && sink->rc == LMMIQA_OK)
            sink->rc = rc;
    }
    p->prog.done++;
    p->prog.elapsed_s = lmmiqa__now_s() - p->t0;
    if (p->opt->progress)
        p->opt->progress(p->opt->user, &p->prog);
    return rc;
}

/* Hand the rows the pool marked pending to options.compute; rows it leaves
 * out fail. Returns the callback's status or the journal's. */
static int compute_pending(pool *p)
{
    size_t m = 0;
    for (size_t i = 0; i < p->n; i++)
        m += p->pending[i] == 1;
    if (m == 0)
        return LMMIQA_OK;
    size_t *rows = lmmiqa__malloc(m * sizeof *rows);
    lmmiqa_store_sink sink = {p, lmmiqa__malloc(p->jn->rec_size), LMMIQA_OK};
    if (!rows || !sink.rec) {
        free(rows);
        free(sink.rec);
        return LMMIQA_ERR_NOMEM;
    }
    m = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->pending[i] == 1)
            rows[m++] = i;
    lmmiqa_error_clear();
    int rc = p->opt->compute(p->opt->compute_user, m, rows, &sink);
    if (rc != LMMIQA_OK && !lmmiqa_error_message()[0])
        lmmiqa__fail(rc, "feature store: the compute callback failed");
    if (rc == LMMIQA_OK)
        rc = sink.rc;
    for (size_t k = 0; rc == LMMIQA_OK && k < m; k++)
        if (p->pending[rows[k]] == 1) {
            char msg[600];
            snprintf(msg, sizeof msg, "%s: not computed",
                     p->make ? p->names[rows[k]] : p->paths[rows[k]]);
            p->pending[rows[k]] = 2;
            pool_image_failed(p, rows[k], LMMIQA_ERR_INTERNAL, msg);
            p->prog.done++;
        }
    free(rows);
    free(sink.rec);
    return rc;
}

/* ---- public: build -------------------------------------------------------- */

static int build_impl(const char *dir, const lmmiqa_extractor *ex, size_t n,
                      const char *const *names, const char *const *paths,
                      const char *const *keys, lmmiqa_store_image_fn make, void *make_user,
                      const lmmiqa_store_options *opt, lmmiqa_store_progress *result)
{
    lmmiqa_store_options o;
    int orc = lmmiqa__store_options_get(opt, &o);
    if (orc)
        return orc;
    if (o.sync_rows == 0)
        o.sync_rows = 16;
    if (!(o.sync_seconds > 0))
        o.sync_seconds = 2.0;
    if (result)
        memset(result, 0, sizeof *result);
    const char *name = lmmiqa_extractor_name(ex);
    size_t dim = lmmiqa_extractor_dim(ex);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return lmmiqa__fail(LMMIQA_ERR_IO, "%s: cannot create the store folder: %s", dir,
                            strerror(errno));

    int rc = LMMIQA_OK;
    part old;
    int have_old = 0;
    reuse_table table = {0};
    journal jn;
    memset(&jn, 0, sizeof jn);
    jn.fd = -1;
    jn.dim = dim;
    jn.rec_size = 48 + dim * sizeof(float) + 8;
    extractor_fingerprint(ex, jn.fp);
    pool p;
    memset(&p, 0, sizeof p);
    char *npath = path_join(dir, name, ".npy"), *jpath = path_join(dir, name, ".json");
    jn.path = path_join(dir, name, ".journal");
    float *fmat = NULL;
    unsigned char(*hashes)[32] = NULL;
    unsigned char *enc = NULL;
    if (!npath || !jpath || !jn.path) {
        rc = LMMIQA_ERR_NOMEM;
        goto done;
    }
    size_t cells;
    rc = lmmiqa__mul_size(n ? n : 1, dim, &cells);
    if (rc != LMMIQA_OK)
        goto done;
    fmat = lmmiqa__calloc(cells, sizeof *fmat);
    hashes = lmmiqa__calloc(n ? n : 1, sizeof *hashes);
    if (!fmat || !hashes) {
        rc = LMMIQA_ERR_NOMEM;
        goto done;
    }

    /* Finished features of a previous complete build, if it matches. */
    struct stat st;
    if (stat(jpath, &st) == 0) {
        if (part_load(dir, name, &old) == LMMIQA_OK) {
            if (part_matches(&old, ex)) {
                have_old = 1;
                for (size_t i = 0; i < old.rows && rc == LMMIQA_OK; i++) {
                    unsigned char h[32];
                    hex_to_bin(old.hashes[i], h);
                    rc = reuse_add(&table, h, old.matrix + i * old.dim);
                }
            } else {
                store_warn(&o, "%s: made by another version or configuration of %s; its rows "
                               "are recomputed", jpath, name);
                part_free(&old);
            }
        } else {
            store_warn(&o, "%s; its rows are recomputed", lmmiqa_error_message());
        }
        lmmiqa_error_clear();
        if (rc != LMMIQA_OK)
            goto done;
    }
    rc = journal_read(&jn, &table, &o);
    if (rc != LMMIQA_OK)
        goto done;
    if (table.n)
        qsort(table.e, table.n, sizeof *table.e, cmp_entry);

    p.ex = ex;
    p.opt = &o;
    p.n = n;
    p.dim = dim;
    p.names = names;
    p.paths = paths;
    p.keys = keys;
    p.make = make;
    p.make_user = make_user;
    p.fmat = fmat;
    p.hashes = hashes;
    p.reuse = &table;
    p.jn = &jn;
    if (o.compute) {
        p.pending = lmmiqa__calloc(n ? n : 1, 1);
        if (!p.pending) {
            rc = LMMIQA_ERR_NOMEM;
            goto done;
        }
    }
    rc = pool_run(&p);
    if (rc == LMMIQA_OK && o.compute)
        rc = compute_pending(&p);
    p.prog.elapsed_s = lmmiqa__now_s() - p.t0;
    if (result)
        *result = p.prog;
    if (jn.fd >= 0 && rc == LMMIQA_OK && (lmmiqa__io_fault() || fsync(jn.fd) != 0))
        rc = lmmiqa__fail(LMMIQA_ERR_IO, "%s: fsync failed: %s", jn.path, strerror(errno));
    if (rc != LMMIQA_OK)
        goto done;
    if (p.prog.failed) {
        rc = failures_message(&p, LMMIQA_OK);
        lmmiqa__fail_context(rc, "feature store %s/%s: ", dir, name);
        goto done;
    }

    /* Unchanged? Same images, hashes and rows as the complete store. */
    int unchanged = have_old && old.rows == n;
    for (size_t i = 0; unchanged && i < n; i++) {
        char hex[65];
        bin_to_hex(hashes[i], hex);
        unchanged = strcmp(old.images[i], names[i]) == 0 && strcmp(old.hashes[i], hex) == 0 &&
                    memcmp(old.matrix + i * dim, fmat + i * dim, dim * sizeof(float)) == 0;
    }
    if (!unchanged) {
        size_t enc_size;
        rc = lmmiqa_npy_encode_f32(fmat, n, dim, &enc, &enc_size);
        if (rc != LMMIQA_OK)
            goto done;
        char sha[65];
        lmmiqa__sha256_hex(enc, enc_size, sha);
        /* Keep the previous matrix under a second name until the new
         * sidecar is in place: should writing the sidecar fail (a full
         * disk), the old pair is put back, and readers keep the previous
         * complete store rather than a detected mismatch. */
        char *prev = path_join(dir, name, ".npy.prev");
        if (!prev) {
            rc = LMMIQA_ERR_NOMEM;
            goto done;
        }
        unlink(prev);
        int have_prev = link(npath, prev) == 0;
        rc = lmmiqa__file_write_atomic(npath, enc, enc_size);
        if (rc == LMMIQA_OK) {
            char mfile[LMMIQA_SPEC_MAX_NAME + 8];
            snprintf(mfile, sizeof mfile, "%s.npy", name);
            rc = sidecar_write(jpath, ex, n, names, (const unsigned char(*)[32])hashes, mfile,
                               sha, o.dataset);
            if (rc != LMMIQA_OK && have_prev && rename(prev, npath) == 0)
                have_prev = 0;
        }
        if (have_prev)
            unlink(prev);
        free(prev);
        if (rc != LMMIQA_OK)
            goto done;
    }
    if (jn.fd >= 0) {
        close(jn.fd);
        jn.fd = -1;
    }
    if (unlink(jn.path) != 0 && errno != ENOENT)
        rc = lmmiqa__fail(LMMIQA_ERR_IO, "%s: cannot remove the journal: %s", jn.path,
                          strerror(errno));
done:
    if (jn.fd >= 0)
        close(jn.fd);
    if (have_old)
        part_free(&old);
    free(table.e);
    free(jn.loaded);
    free(jn.path);
    free(npath);
    free(jpath);
    free(fmat);
    free(hashes);
    free(enc);
    free(p.pending);
    return rc;
}

int lmmiqa_store_build(const char *dir, const lmmiqa_extractor *ex, size_t n,
                       const char *const *names, const char *const *paths,
                       const lmmiqa_store_options *opt, lmmiqa_store_progress *result)
{
    return build_impl(dir, ex, n, names, paths, NULL, NULL, NULL, opt, result);
}

int lmmiqa_store_build_generated(const char *dir, const lmmiqa_extractor *ex, size_t n,
                                 const char *const *names, const char *const *keys,
                                 lmmiqa_store_image_fn make, void *make_user,
                                 const lmmiqa_store_options *opt, lmmiqa_store_progress *result)
{
    return build_impl(dir, ex, n, names, NULL, keys, make, make_user, opt, result);
}

int lmmiqa_store_build_dataset(const char *dir, const lmmiqa_extractor *ex,
                               const lmmiqa_dataset *ds, const lmmiqa_store_options *opt,
                               lmmiqa_store_progress *result)
{
    size_t n = lmmiqa_dataset_size(ds);
    const char **names = lmmiqa__calloc(n + 1, sizeof *names);
    const char **paths = lmmiqa__calloc(n + 1, sizeof *paths);
    if (!names || !paths) {
        free(names);
        free(paths);
        return LMMIQA_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        names[i] = lmmiqa_dataset_image(ds, i);
        paths[i] = lmmiqa_dataset_image_path(ds, i);
    }
    lmmiqa_store_options o;
    int rc = lmmiqa__store_options_get(opt, &o);
    if (!o.dataset)
        o.dataset = lmmiqa_dataset_name(ds);
    if (rc == LMMIQA_OK)
        rc = lmmiqa_store_build(dir, ex, n, names, paths, &o, result);
    free(names);
    free(paths);
    return rc;
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
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                "feature spec '%s' has more than %d parts", spec,
                                LMMIQA_SPEC_MAX_PARTS);
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
    part parts[LMMIQA_SPEC_MAX_PARTS];
    size_t n_parts;
    char *info;
};

void lmmiqa_features_destroy(lmmiqa_features *f)
{
    if (!f)
        return;
    for (size_t k = 0; k < f->n_parts; k++)
        part_free(&f->parts[k]);
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
        rc = part_load(dir, sp.names[k], &f->parts[k]);
        if (rc != LMMIQA_OK)
            goto fail;
        f->n_parts++;
        part *a = &f->parts[0], *b = &f->parts[k];
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
        const part *pp = &f->parts[k];
        for (size_t i = 0; i < f->rows; i++)
            memcpy(f->data + i * f->dim + off, pp->matrix + i * pp->dim,
                   pp->dim * sizeof(float));
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

size_t lmmiqa_features_rows(const lmmiqa_features *f) { return f->rows; }
size_t lmmiqa_features_dim(const lmmiqa_features *f) { return f->dim; }
const float *lmmiqa_features_data(const lmmiqa_features *f) { return f->data; }
const char *lmmiqa_features_spec(const lmmiqa_features *f) { return f->spec; }
const char *lmmiqa_features_info_json(const lmmiqa_features *f) { return f->info; }

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
            return lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                                "features %s: row %zu is image %s, dataset %s has %s there",
                                f->spec, i, f->images[i], lmmiqa_dataset_name(ds),
                                lmmiqa_dataset_image(ds, i));
    return LMMIQA_OK;
}
