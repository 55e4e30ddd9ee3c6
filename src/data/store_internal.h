/*
 * src/data/store_internal.h - what the store shares inside the library: the
 * reading of a caller's lmmiqa_store_options (the scorer passes them on),
 * the parallel pass over image files for a trainable model's own score (the
 * scorer's own-score kind), and what the store's files share with each
 * other. Not public.
 *
 * The feature store is split by concern:
 *   store.c          options, small helpers, the reuse table, specs, reading
 *   store_sidecar.c  a stored part: DIR/<name>.json and .npy read, verified
 *                    and matched to an extractor; the sidecar written
 *   store_journal.c  the append-only journal DIR/<name>.journal
 *   store_pool.c     the worker pool, lmmiqa_store_compute (and its
 *                    own-score twin) and the rows computed by the caller
 *                    (options.compute)
 *   store_build.c    lmmiqa_store_build*: previous rows, journal, pool, and
 *                    the final .npy + sidecar write
 */
#ifndef LMMIQA_DATA_STORE_INTERNAL_H
#define LMMIQA_DATA_STORE_INTERNAL_H

#include "lmmiqa/store.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The largest .npy matrix (and journal) the store reads. */
#define LMMIQA__STORE_MAX_NPY_BYTES ((size_t)1 << 36)

/* The caller's options (NULL: the defaults) as this library's struct: fields
 * past the caller's size take their defaults; an unset size is
 * LMMIQA_ERR_INVALID_ARG. */
int lmmiqa__store_options_get(const lmmiqa_store_options *opt, lmmiqa_store_options *o);

/* lmmiqa_store_compute with ex's own score (lmmiqa__extractor_score, one
 * value per image into scores[n]) instead of its features: same workers,
 * callbacks, statuses and messages (store_pool.c). */
int lmmiqa__store_compute_scores(const lmmiqa_extractor *ex, size_t n, const char *const *paths,
                                 const lmmiqa_store_options *opt, double *scores, int *status);

/* ---- small helpers (store.c) ---------------------------------------------- */

/* A warning line (printf style) to o->on_warning; nothing when it is unset. */
void lmmiqa__store_warn(const lmmiqa_store_options *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A SHA-256 as 64 lowercase hex digits to its 32 bytes: 0, or -1 when the
 * text is anything else. */
int lmmiqa__store_hash_from_hex(const char *hex, unsigned char bin[32]);
/* 32 bytes to 64 lowercase hex digits and a NUL. */
void lmmiqa__store_hash_to_hex(const unsigned char bin[32], char hex[65]);

/* "DIR/<name><ext>", malloc'd; NULL when out of memory (message set). */
char *lmmiqa__store_path(const char *dir, const char *name, const char *ext);

/* ---- table of finished features, keyed by image hash (store.c) ------------ */

typedef struct lmmiqa__store_reuse_entry {
    unsigned char hash[32];
    const float *features;
} lmmiqa__store_reuse_entry;

/* Zero-initialise; free(t->e) releases it. The features are not copied. */
typedef struct lmmiqa__store_reuse {
    lmmiqa__store_reuse_entry *e;
    size_t n, cap;
} lmmiqa__store_reuse;

int lmmiqa__store_reuse_add(lmmiqa__store_reuse *t, const unsigned char hash[32],
                            const float *features);
/* Sort by hash once all entries are in; lmmiqa__store_reuse_find needs it. */
void lmmiqa__store_reuse_sort(lmmiqa__store_reuse *t);
/* The features stored for `hash`, or NULL. */
const float *lmmiqa__store_reuse_find(const lmmiqa__store_reuse *t, const unsigned char hash[32]);

/* ---- a stored part: sidecar + matrix (store_sidecar.c) -------------------- */

struct cJSON;

typedef struct lmmiqa__store_part {
    char *name, *version;
    struct cJSON *sidecar; /* owned */
    size_t rows, dim;
    float *matrix;
    char **images; /* rows names, pointing into sidecar strings */
    char **hashes; /* rows hex hashes, pointing into sidecar strings */
} lmmiqa__store_part;

/* Read DIR/<name>.json and .npy, check them against each other. */
int lmmiqa__store_part_load(const char *dir, const char *name, lmmiqa__store_part *out);
void lmmiqa__store_part_free(lmmiqa__store_part *p);
/* Does the stored part come from exactly this extractor configuration? */
int lmmiqa__store_part_matches(const lmmiqa__store_part *p, const lmmiqa_extractor *ex);

/* Write the sidecar `path` (atomically) of n rows: image names and content
 * hashes, the matrix file's name and SHA-256, the dataset (NULL: none). */
int lmmiqa__store_sidecar_write(const char *path, const lmmiqa_extractor *ex, size_t n,
                                const char *const *names, const unsigned char (*hashes)[32],
                                const char *matrix_file, const char *matrix_sha,
                                const char *dataset);

/* ---- the journal (store_journal.c) ---------------------------------------- */

typedef struct lmmiqa__store_journal {
    char *path;
    int fd; /* -1 until the first record is appended */
    size_t dim, rec_size;
    unsigned char fp[32];
    off_t valid_len; /* bytes of valid header + records on disk */
    int header_ok;   /* an existing file with a matching header */
    float *loaded;   /* features of the records read at start */
    size_t n_loaded;
    size_t torn_bytes; /* bytes dropped after the last valid record */

    const lmmiqa_store_options *opt; /* warnings, sync_rows, sync_seconds */
    size_t unsynced;                 /* records appended since the last sync */
    double last_sync;                /* lmmiqa__now_s() of the last sync (set by the pool) */
} lmmiqa__store_journal;

/* The journal DIR/<extractor>.journal of `ex`, not yet read or opened.
 * lmmiqa__store_journal_free releases it, also after a failure. */
int lmmiqa__store_journal_init(lmmiqa__store_journal *jn, const char *dir,
                               const lmmiqa_extractor *ex, const lmmiqa_store_options *opt);
/* Read an existing journal's valid records into `table`; a missing file is
 * fine. A header or record that fails its check is reported through
 * opt->on_warning. */
int lmmiqa__store_journal_read(lmmiqa__store_journal *jn, lmmiqa__store_reuse *table);
/* Append the record of `row` (opening the journal on the first one), built
 * in `rec` (rec_size bytes); synced every sync_rows rows or sync_seconds.
 * Callers serialise appends. */
int lmmiqa__store_journal_append(lmmiqa__store_journal *jn, size_t row,
                                 const unsigned char hash[32], const float *features,
                                 unsigned char *rec);
/* fsync an opened journal (nothing when none was opened). */
int lmmiqa__store_journal_sync(lmmiqa__store_journal *jn);
/* Close and remove the journal (the store it fed is complete). */
int lmmiqa__store_journal_remove(lmmiqa__store_journal *jn);
void lmmiqa__store_journal_free(lmmiqa__store_journal *jn);

/* ---- the worker pool (store_pool.c) --------------------------------------- */

typedef struct lmmiqa__store_pool {
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
    const lmmiqa__store_reuse *reuse;
    lmmiqa__store_journal *jn;
    /* compute mode: double rows, statuses; with score set, each row is the
     * extractor's own score (dim 1) instead of its features */
    double *dmat;
    int *status;
    int score;
    /* store mode with options.compute: rows the caller computes are marked
     * here (1) instead of being extracted; 2 once delivered */
    unsigned char *pending;

    pthread_mutex_t mu;
    size_t next;
    int abort_rc;
    char abort_msg[512];
    double t0;
    lmmiqa_store_progress prog;
    size_t first_failed;
    int first_status;
    char first_msg[512];
} lmmiqa__store_pool;

/* Run the pool (zero-initialised, then filled) to completion. Returns the
 * abort status (not image failures). */
int lmmiqa__store_pool_run(lmmiqa__store_pool *p);
/* Hand the rows the pool marked pending to options.compute; rows it leaves
 * out fail. Returns the callback's status or the journal's. */
int lmmiqa__store_pool_compute_pending(lmmiqa__store_pool *p);
/* The image failures as the message and status of the first (with a count
 * when there are more); status_if_none when there were none. */
int lmmiqa__store_pool_failures_report(const lmmiqa__store_pool *p, int status_if_none);

#endif
