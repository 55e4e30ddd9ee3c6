/*
 * src/data/store_build.c - building the feature store: lmmiqa_store_build,
 * lmmiqa_store_build_generated and lmmiqa_store_build_dataset.
 *
 * Design:
 *   - Finished features come from two sources, merged in one table sorted
 *     by hash: the existing complete .npy (when its sidecar matches the
 *     extractor's version and config) and the journal. The pool reuses them
 *     by content hash, computes the rest and journals each new row.
 *   - A store whose images, hashes and rows are all unchanged is not
 *     rewritten. Otherwise the .npy and .json are written with
 *     lmmiqa__file_write_atomic, .npy first; the sidecar records the .npy's
 *     SHA-256, so a crash between the two renames is detected by readers and
 *     by the next build. The old .npy stays hard-linked as <ex>.npy.prev
 *     until the sidecar is in place, so a failed sidecar write (full disk)
 *     puts the previous pair back.
 *   - The journal is removed only once the complete store is in place; a
 *     build with a failed image writes no store and keeps the journal, so
 *     the next build recomputes only what is missing.
 */
#include "data/store_internal.h"

#include "core/internal.h"
#include "lmmiqa/advanced/npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int build_impl(const char *dir, const lmmiqa_extractor *ex, size_t n,
                      const char *const *names, const char *const *paths, const char *const *keys,
                      lmmiqa_store_image_fn make, void *make_user, const lmmiqa_store_options *opt,
                      lmmiqa_store_progress *result)
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
    int mrc = lmmiqa__file_mkdirs(dir, 0);
    if (mrc != LMMIQA_OK)
        return mrc;

    int rc = LMMIQA_OK;
    lmmiqa__store_part old;
    int have_old = 0;
    lmmiqa__store_reuse table = {0};
    lmmiqa__store_journal jn;
    int jrc = lmmiqa__store_journal_init(&jn, dir, ex, &o);
    lmmiqa__store_pool p;
    memset(&p, 0, sizeof p);
    char *npath = lmmiqa__store_path(dir, name, ".npy"),
         *jpath = lmmiqa__store_path(dir, name, ".json");
    float *fmat = NULL;
    unsigned char(*hashes)[32] = NULL;
    unsigned char *enc = NULL;
    if (jrc != LMMIQA_OK || !npath || !jpath) {
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
        if (lmmiqa__store_part_load(dir, name, &old) == LMMIQA_OK) {
            if (lmmiqa__store_part_matches(&old, ex)) {
                have_old = 1;
                for (size_t i = 0; i < old.rows && rc == LMMIQA_OK; i++) {
                    unsigned char h[32];
                    lmmiqa__store_hash_from_hex(old.hashes[i], h);
                    rc = lmmiqa__store_reuse_add(&table, h, old.matrix + i * old.dim);
                }
            } else {
                lmmiqa__store_warn(&o,
                                   "%s: made by another version or configuration of %s; its rows "
                                   "are recomputed",
                                   jpath, name);
                lmmiqa__store_part_free(&old);
            }
        } else {
            lmmiqa__store_warn(&o, "%s; its rows are recomputed", lmmiqa_error_message());
        }
        lmmiqa_error_clear();
        if (rc != LMMIQA_OK)
            goto done;
    }
    rc = lmmiqa__store_journal_read(&jn, &table);
    if (rc != LMMIQA_OK)
        goto done;
    lmmiqa__store_reuse_sort(&table);

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
    rc = lmmiqa__store_pool_run(&p);
    if (rc == LMMIQA_OK && o.compute)
        rc = lmmiqa__store_pool_compute_pending(&p);
    p.prog.elapsed_s = lmmiqa__now_s() - p.t0;
    if (result)
        *result = p.prog;
    if (rc == LMMIQA_OK)
        rc = lmmiqa__store_journal_sync(&jn);
    if (rc != LMMIQA_OK)
        goto done;
    if (p.prog.failed) {
        rc = lmmiqa__store_pool_failures_report(&p, LMMIQA_OK);
        lmmiqa__fail_context(rc, "feature store %s/%s: ", dir, name);
        goto done;
    }

    /* Unchanged? Same images, hashes and rows as the complete store. */
    int unchanged = have_old && old.rows == n;
    for (size_t i = 0; unchanged && i < n; i++) {
        char hex[65];
        lmmiqa__store_hash_to_hex(hashes[i], hex);
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
        char *prev = lmmiqa__store_path(dir, name, ".npy.prev");
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
            rc = lmmiqa__store_sidecar_write(
                jpath, ex, n, names, (const unsigned char(*)[32])hashes, mfile, sha, o.dataset);
            if (rc != LMMIQA_OK && have_prev && rename(prev, npath) == 0)
                have_prev = 0;
        }
        if (have_prev)
            unlink(prev);
        free(prev);
        if (rc != LMMIQA_OK)
            goto done;
    }
    rc = lmmiqa__store_journal_remove(&jn);
done:
    lmmiqa__store_journal_free(&jn);
    if (have_old)
        lmmiqa__store_part_free(&old);
    free(table.e);
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
