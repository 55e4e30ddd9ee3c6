/*
 * lmmiqa/store.h - the feature store: features of every image of a dataset,
 * computed once, in parallel, crash-safe, and read back by the regressor and
 * the evaluation protocol.
 *
 * Why: extracting features is the slow part of every experiment (a
 * foundation-model forward pass per image); training a head on stored
 * features takes seconds. The store computes each (extractor, image) pair
 * once and lets any extractors' features be combined by column
 * concatenation ("clip-vit-b16+brisque").
 *
 * Layout of a store folder DIR (docs/protocol.md has the full schema):
 *   DIR/<extractor>.npy      float32 matrix, rows = images in manifest order,
 *                            columns = features (NumPy .npy v1.0)
 *   DIR/<extractor>.json     sidecar: extractor name, version, configuration,
 *                            weights checksum, feature names, the image list
 *                            with each image's SHA-256, the .npy's SHA-256
 *   DIR/<extractor>.journal  only while a build is unfinished: append-only
 *                            fixed-size records (row, image SHA-256, features,
 *                            checksum), fsynced every few rows or seconds
 *
 * Resume semantics: a build first collects finished features from the
 * existing .npy (when its sidecar matches the extractor's name, version and
 * configuration) and from the journal (ignoring a torn or corrupt tail).
 * Finished features are keyed by the image's CONTENT hash, so an image whose
 * file changed is recomputed and a renamed or reordered one is not. The .npy
 * and the sidecar are written atomically (temporary file, fsync, rename) and
 * only once every image succeeded; then the journal is removed. A build
 * killed at any point (kill -9 included) leaves either the previous complete
 * store or a journal the next build resumes from, never a corrupt file.
 *
 * Threads: one extractor (immutable, shared) and one extractor state per
 * worker; callbacks are serialised by the store.
 */
#ifndef LMMIQA_STORE_H
#define LMMIQA_STORE_H

#include "lmmiqa/core.h"
#include "lmmiqa/dataset.h"
#include "lmmiqa/extractor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Counters of a build or computation, passed to the progress callback and
 * returned at the end. done = reused + computed + failed. */
typedef struct lmmiqa_store_progress {
    size_t total;     /* images */
    size_t done;      /* finished one way or the other */
    size_t reused;    /* taken from the existing .npy or the journal */
    size_t computed;  /* extracted in this run */
    size_t failed;    /* could not be read, decoded or extracted */
    double elapsed_s; /* since the start of the call */
} lmmiqa_store_progress;

/* Where lmmiqa_store_options.compute delivers rows; owned by the build. */
typedef struct lmmiqa_store_sink lmmiqa_store_sink;

/* Options of the store's builds and of lmmiqa_store_compute. Start from
 * lmmiqa_store_options_init(): it sets `size`, through which later versions
 * add fields without breaking programs built against this one. */
typedef struct lmmiqa_store_options {
    size_t size;         /* sizeof(lmmiqa_store_options), set by _init */
    int jobs;            /* worker threads; 0 = all online cores */
    size_t sync_rows;    /* fsync the journal after this many new rows (0: 16) */
    double sync_seconds; /* ... or when this much time passed since the last fsync (<= 0: 2) */
    /* Called after each image (serialised, from a worker thread). May be NULL. */
    void (*progress)(void *user, const lmmiqa_store_progress *p);
    /* Called for each image that fails (serialised). `image` is its name,
     * `message` the library's message. May be NULL. */
    void (*on_error)(void *user, size_t row, const char *image, int status,
                     const char *message);
    void *user;          /* passed to the callbacks */
    const char *dataset; /* dataset name recorded in the sidecar; NULL for none */
    /* Called once for each piece of an existing store that a build cannot
     * reuse and recomputes instead (a .npy or sidecar that is corrupt or
     * made by another extractor version or configuration, a journal whose
     * header or records fail their checksums), with a one-line message
     * naming the file and what was wrong. May be NULL. */
    void (*on_warning)(void *user, const char *message);
    /* Optional: the caller computes the missing rows itself, e.g. on other
     * processes (`mpirun lmmiqa extract`, docs/scale-out.md). When set, a
     * build's threads only read and hash the images and take finished
     * features from the .npy and the journal; then compute(compute_user, n,
     * rows, sink) is called once, from the calling thread, with the rows
     * (indices into names/paths/keys, ascending) still missing. It hands each
     * row's result to lmmiqa_store_sink_put, in any order; every row put is
     * journaled at once, as a row computed by the store's own threads would
     * be. A row left out counts as failed (the next build retries it). A
     * status other than LMMIQA_OK from compute aborts the build, keeping the
     * journal. Ignored by lmmiqa_store_compute. NULL: the store's threads
     * extract (the default). */
    int (*compute)(void *compute_user, size_t n, const size_t *rows,
                   lmmiqa_store_sink *sink);
    void *compute_user;
} lmmiqa_store_options;

/* Deliver row `row` (one of the rows compute was given, once): on
 * LMMIQA_OK, `features` holds its dim values as lmmiqa_extractor_run gave
 * them (stored as float32 exactly like the store's own rows; a non-finite
 * value makes the row fail); any other status marks the image failed with
 * `message` (NULL: a generic one), reported through on_error. Not
 * thread-safe: call from one thread at a time. Returns LMMIQA_OK, or
 * LMMIQA_ERR_INVALID_ARG for a row not asked for or already delivered, or
 * the journal's I/O error (compute should then return it). */
LMMIQA_API int lmmiqa_store_sink_put(lmmiqa_store_sink *sink, size_t row, int status,
                                     const double *features, const char *message);

/* Defaults: all cores, sync every 16 rows or 2 s, no callbacks. */
LMMIQA_API void lmmiqa_store_options_init(lmmiqa_store_options *opt);

/* Build or complete the store of extractor `ex` in folder `dir` (created if
 * missing, parent must exist) over n images: names[i] is the image's name as
 * recorded (the dataset's label), paths[i] the file to read. Returns
 * LMMIQA_OK when DIR/<ex>.npy and .json are complete and match the images;
 * when some images failed it keeps the journal (the next build retries only
 * those) and fails with a message counting them and naming the first. `result`
 * (may be NULL) receives the final counters. */
LMMIQA_API int lmmiqa_store_build(const char *dir, const lmmiqa_extractor *ex, size_t n,
                                  const char *const *names, const char *const *paths,
                                  const lmmiqa_store_options *opt,
                                  lmmiqa_store_progress *result);

/* lmmiqa_store_build over a dataset's images (names and resolved paths);
 * records the dataset's name unless opt->dataset is set. */
LMMIQA_API int lmmiqa_store_build_dataset(const char *dir, const lmmiqa_extractor *ex,
                                          const lmmiqa_dataset *ds,
                                          const lmmiqa_store_options *opt,
                                          lmmiqa_store_progress *result);

/* Produces image i of a generated store (see below) into *out, which the
 * store destroys. Called from the worker threads, concurrently for different
 * i: it must be thread-safe and should depend on i only. */
typedef int (*lmmiqa_store_image_fn)(void *user, size_t i, lmmiqa_image **out);

/* lmmiqa_store_build over images made in memory (e.g. distorted copies of a
 * dataset's images, lmmiqa/distort.h) instead of files: keys[i] is a string
 * that identifies image i's content completely (e.g. the source image's
 * SHA-256 plus the distortion and its strength and seed); its SHA-256 takes
 * the place of the file's content hash, so rows whose key was computed before
 * are reused without calling `make`. Same layout, resume and atomicity as
 * lmmiqa_store_build; the sidecar records names[i] and SHA-256(keys[i]). */
LMMIQA_API int lmmiqa_store_build_generated(const char *dir, const lmmiqa_extractor *ex,
                                            size_t n, const char *const *names,
                                            const char *const *keys, lmmiqa_store_image_fn make,
                                            void *make_user, const lmmiqa_store_options *opt,
                                            lmmiqa_store_progress *result);

/* Compute features of n image files in parallel without a store: out is
 * n x dim (dim = lmmiqa_extractor_dim), row i for paths[i]; status[i] gets
 * each image's status (rows of failed images are set to NAN). Returns
 * LMMIQA_OK when every image succeeded, else the first failed image's status
 * with a message counting the failures. Journal options are ignored. */
LMMIQA_API int lmmiqa_store_compute(const lmmiqa_extractor *ex, size_t n,
                                    const char *const *paths, const lmmiqa_store_options *opt,
                                    double *out, int *status, lmmiqa_store_progress *result);

/* ---- feature specs ------------------------------------------------------ */

#define LMMIQA_SPEC_MAX_PARTS 8
#define LMMIQA_SPEC_MAX_NAME 64

/* A parsed feature spec: extractor names joined by '+', e.g.
 * "clip-vit-b16+brisque" -> {"clip-vit-b16", "brisque"}. */
typedef struct lmmiqa_feature_spec {
    size_t count;
    char names[LMMIQA_SPEC_MAX_PARTS][LMMIQA_SPEC_MAX_NAME];
} lmmiqa_feature_spec;

/* Parse a spec. Names hold [a-z0-9._-] only; empty parts, duplicates and
 * more than LMMIQA_SPEC_MAX_PARTS parts are refused (LMMIQA_ERR_INVALID_ARG).
 * Extractor names are not checked against the registry here. */
LMMIQA_API int lmmiqa_feature_spec_parse(const char *spec, lmmiqa_feature_spec *out);

/* ---- reading ------------------------------------------------------------ */

/* Features of one spec read from a store: the extractors' matrices
 * concatenated column-wise in spec order. Immutable once loaded. */
typedef struct lmmiqa_features lmmiqa_features;

/* Load DIR/<name>.npy + .json for every part of `spec`, check each matrix
 * against its sidecar (shape, .npy SHA-256) and that all parts list the same
 * images with the same content hashes in the same order
 * (LMMIQA_ERR_MISMATCH naming the first difference). */
LMMIQA_API int lmmiqa_features_load(const char *dir, const char *spec, lmmiqa_features **out);

/* Free; NULL is a no-op. */
LMMIQA_API void lmmiqa_features_destroy(lmmiqa_features *f);

/* Rows (images), total columns, and the rows x dim row-major matrix. */
LMMIQA_API size_t lmmiqa_features_rows(const lmmiqa_features *f);
LMMIQA_API size_t lmmiqa_features_dim(const lmmiqa_features *f);
LMMIQA_API const float *lmmiqa_features_data(const lmmiqa_features *f);

/* The spec as normalised ("a+b"), the image name and SHA-256 (hex) of row i. */
LMMIQA_API const char *lmmiqa_features_spec(const lmmiqa_features *f);
LMMIQA_API const char *lmmiqa_features_image(const lmmiqa_features *f, size_t i);
LMMIQA_API const char *lmmiqa_features_image_sha256(const lmmiqa_features *f, size_t i);

/* A JSON array describing the parts in order, each
 * {"extractor", "version", "dim", "config", "weights_sha256"}, for model
 * metadata. Lives as long as f. */
LMMIQA_API const char *lmmiqa_features_info_json(const lmmiqa_features *f);

/* Copy the listed rows into out (n x dim, row-major). Indices must be
 * < rows (LMMIQA_ERR_INVALID_ARG otherwise). */
LMMIQA_API int lmmiqa_features_gather(const lmmiqa_features *f, const size_t *rows, size_t n,
                                      float *out);

/* Check that the store's rows are the dataset's images in manifest order
 * (LMMIQA_ERR_MISMATCH naming the first differing row). */
LMMIQA_API int lmmiqa_features_check_dataset(const lmmiqa_features *f,
                                             const lmmiqa_dataset *ds);

#ifdef __cplusplus
}
#endif
#endif
