/*
 * src/data/store_journal.c - the feature store's journal, DIR/<name>.journal:
 * the rows a build has finished so far, so that a build stopped by a crash,
 * a kill -9 or a full disk resumes where it was instead of starting over.
 *
 * Design: a 64-byte header (magic, dim, record size, extractor fingerprint,
 * checksum) followed by fixed-size records {magic, row, image SHA-256, dim
 * float32, FNV-1a 64 checksum}. Records are appended under the pool's mutex
 * and fsynced every sync_rows rows or sync_seconds. On start, records are
 * read up to the first one that is short or fails its checksum (a torn tail
 * after kill -9); the file is truncated there before appending. A header of
 * another extractor configuration (the fingerprint differs) or a damaged one
 * starts the journal afresh. The journal is in host byte order: it is a
 * private, transient file, never shipped, and removed once the store it fed
 * is complete.
 */
#include "data/store_internal.h"

#include "core/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JOURNAL_MAGIC  "LMMIQAJ1"
#define RECORD_MAGIC   0x524d514cu /* "LQMR" */
#define JOURNAL_HEADER 64

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

/* Fingerprint of what determines the features: name, version, config, dim. */
static void extractor_fingerprint(const lmmiqa_extractor *ex, unsigned char fp[32])
{
    const char *name = lmmiqa_extractor_name(ex), *ver = lmmiqa_extractor_version(ex);
    const char *cfg = lmmiqa_extractor_config_json(ex);
    if (!ver)
        ver = "";
    size_t n = strlen(name) + strlen(ver) + strlen(cfg) + 64;
    char *buf = malloc(n);
    char hex[65];
    if (buf) {
        int len = snprintf(buf, n, "lmmiqa-store-v1\n%s\n%s\n%s\n%zu", name, ver, cfg,
                           lmmiqa_extractor_dim(ex));
        lmmiqa__sha256_hex(buf, (size_t)len, hex);
        free(buf);
    } else {
        lmmiqa__sha256_hex(name, strlen(name), hex);
    }
    lmmiqa__store_hash_from_hex(hex, fp);
}

static void journal_header(const lmmiqa__store_journal *jn, unsigned char h[JOURNAL_HEADER])
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

int lmmiqa__store_journal_init(lmmiqa__store_journal *jn, const char *dir,
                               const lmmiqa_extractor *ex, const lmmiqa_store_options *opt)
{
    memset(jn, 0, sizeof *jn);
    jn->fd = -1;
    jn->dim = lmmiqa_extractor_dim(ex);
    jn->rec_size = 48 + jn->dim * sizeof(float) + 8;
    jn->opt = opt;
    extractor_fingerprint(ex, jn->fp);
    jn->path = lmmiqa__store_path(dir, lmmiqa_extractor_name(ex), ".journal");
    return jn->path ? LMMIQA_OK : LMMIQA_ERR_NOMEM;
}

int lmmiqa__store_journal_sync(lmmiqa__store_journal *jn)
{
    if (jn->fd >= 0 && (lmmiqa__io_fault() || fsync(jn->fd) != 0))
        return lmmiqa__fail(LMMIQA_ERR_IO, "%s: fsync failed: %s", jn->path, strerror(errno));
    return LMMIQA_OK;
}

int lmmiqa__store_journal_read(lmmiqa__store_journal *jn, lmmiqa__store_reuse *table)
{
    unsigned char *buf = NULL;
    size_t size = 0;
    struct stat st;
    if (stat(jn->path, &st) != 0)
        return LMMIQA_OK;
    int rc = lmmiqa__file_read_all(jn->path, LMMIQA__STORE_MAX_NPY_BYTES, &buf, &size);
    if (rc != LMMIQA_OK)
        return rc;
    unsigned char want[JOURNAL_HEADER];
    journal_header(jn, want);
    if (size < JOURNAL_HEADER || memcmp(buf, want, JOURNAL_HEADER) != 0) {
        /* Another extractor configuration, or garbage: start afresh. */
        uint64_t sum = 0;
        if (size >= JOURNAL_HEADER)
            memcpy(&sum, buf + 56, 8);
        int other = size >= JOURNAL_HEADER && memcmp(buf, want, 8) == 0 && sum == fnv1a64(buf, 56);
        lmmiqa__store_warn(jn->opt, "%s: %s; its rows are recomputed", jn->path,
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
        lmmiqa__store_warn(
            jn->opt,
            "%s: record %zu of %zu fails its checksum (corrupt); it and the %zu after it "
            "are recomputed",
            jn->path, k + 1, count, count - k - 1);
    jn->n_loaded = k;
    jn->valid_len = (off_t)(JOURNAL_HEADER + k * jn->rec_size);
    jn->torn_bytes = size - (size_t)jn->valid_len;
    for (size_t i = 0; i < k; i++) {
        rc = lmmiqa__store_reuse_add(table, buf + JOURNAL_HEADER + i * jn->rec_size + 16,
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
static int journal_open_append(lmmiqa__store_journal *jn)
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
    if (rc == LMMIQA_OK)
        rc = lmmiqa__store_journal_sync(jn);
    jn->valid_len = JOURNAL_HEADER;
    return rc;
}

int lmmiqa__store_journal_append(lmmiqa__store_journal *jn, size_t row,
                                 const unsigned char hash[32], const float *features,
                                 unsigned char *rec)
{
    if (jn->fd < 0) {
        int rc = journal_open_append(jn);
        if (rc != LMMIQA_OK)
            return rc;
    }
    uint32_t magic = RECORD_MAGIC, pad = 0;
    uint64_t r64 = (uint64_t)row;
    memcpy(rec, &magic, 4);
    memcpy(rec + 4, &pad, 4);
    memcpy(rec + 8, &r64, 8);
    memcpy(rec + 16, hash, 32);
    memcpy(rec + 48, features, jn->dim * sizeof(float));
    uint64_t sum = fnv1a64(rec, jn->rec_size - 8);
    memcpy(rec + jn->rec_size - 8, &sum, 8);
    int rc = write_all(jn->fd, rec, jn->rec_size, jn->path);
    if (rc != LMMIQA_OK)
        return rc;
    jn->valid_len += (off_t)jn->rec_size;
    jn->unsynced++;
    double t = lmmiqa__now_s();
    if (jn->unsynced >= jn->opt->sync_rows || t - jn->last_sync >= jn->opt->sync_seconds) {
        if (lmmiqa__io_fault() || fdatasync(jn->fd) != 0)
            return lmmiqa__fail(LMMIQA_ERR_IO, "%s: fsync failed: %s", jn->path, strerror(errno));
        jn->unsynced = 0;
        jn->last_sync = t;
    }
    return LMMIQA_OK;
}

int lmmiqa__store_journal_remove(lmmiqa__store_journal *jn)
{
    if (jn->fd >= 0) {
        close(jn->fd);
        jn->fd = -1;
    }
    if (unlink(jn->path) != 0 && errno != ENOENT)
        return lmmiqa__fail(LMMIQA_ERR_IO, "%s: cannot remove the journal: %s", jn->path,
                            strerror(errno));
    return LMMIQA_OK;
}

void lmmiqa__store_journal_free(lmmiqa__store_journal *jn)
{
    if (jn->fd >= 0)
        close(jn->fd);
    jn->fd = -1;
    free(jn->loaded);
    free(jn->path);
    jn->loaded = NULL;
    jn->path = NULL;
}
