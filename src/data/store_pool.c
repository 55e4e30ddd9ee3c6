/*
 * src/data/store_pool.c - the feature store's worker pool, and the two ways
 * rows reach it besides its own extraction: lmmiqa_store_compute (features
 * returned to the caller, nothing stored) and rows computed by the caller
 * (options.compute, e.g. other MPI ranks).
 *
 * Design:
 *   - A pool of pthreads (the calling thread one of them) pulls image
 *     indices from a shared counter. Each worker reads the file once, hashes
 *     the bytes (SHA-256), and either reuses finished features with the same
 *     content hash (the reuse table) or decodes the bytes and runs the
 *     extractor with its own state. Results, failures, progress and journal
 *     appends go under one mutex; an out-of-memory or internal error stops
 *     the pool, any other failure is the image's alone.
 *   - With options.compute the pool only reads, hashes and reuses; the
 *     missing rows are marked pending and handed to the callback, whose
 *     results come back through lmmiqa_store_sink_put into the same float
 *     conversion, journal and final write as the pool's own rows, so the
 *     bytes are the same.
 *   - lmmiqa__store_compute_scores runs the compute mode with the
 *     extractor's own score instead of its features (the scorer's own-score
 *     kind), so a batch scores as one image alone does.
 */
#include "data/store_internal.h"

#include "core/internal.h"
#include "features/extractor_internal.h"
#include "lmmiqa/image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Record an image failure (called with the mutex held). */
static void pool_image_failed(lmmiqa__store_pool *p, size_t i, int status, const char *msg)
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

static void pool_abort(lmmiqa__store_pool *p, int rc)
{
    if (p->abort_rc == LMMIQA_OK) {
        p->abort_rc = rc;
        snprintf(p->abort_msg, sizeof p->abort_msg, "%s", lmmiqa_error_message());
    }
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
    lmmiqa__store_pool *p = arg;
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
            lmmiqa__store_hash_from_hex(hex, p->hashes[i]);
            hit = lmmiqa__store_reuse_find(p->reuse, p->hashes[i]);
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
                rc = p->score ? lmmiqa__extractor_score(p->ex, st, img, feat, NULL)
                              : lmmiqa_extractor_run(p->ex, st, img, feat);
            if (rc == LMMIQA_OK && !all_finite(feat, p->dim))
                rc = lmmiqa__fail(LMMIQA_ERR_UNDEFINED, "extractor %s gave a non-finite %s",
                                  lmmiqa_extractor_name(p->ex), p->score ? "score" : "feature");
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
                    int jrc = lmmiqa__store_journal_append(p->jn, i, p->hashes[i],
                                                           p->fmat + i * p->dim, rec);
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

int lmmiqa__store_pool_run(lmmiqa__store_pool *p)
{
    int jobs = p->opt->jobs > 0 ? p->opt->jobs : online_cores();
    if ((size_t)jobs > p->n)
        jobs = p->n ? (int)p->n : 1;
    pthread_mutex_init(&p->mu, NULL);
    p->t0 = lmmiqa__now_s();
    if (p->jn)
        p->jn->last_sync = p->t0; /* the journal's sync clock starts with the pool */
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

int lmmiqa__store_pool_failures_report(const lmmiqa__store_pool *p, int status_if_none)
{
    if (p->prog.failed == 0)
        return status_if_none;
    if (p->prog.failed == 1)
        return lmmiqa__fail(p->first_status, "%s", p->first_msg);
    return lmmiqa__fail(p->first_status, "%zu of %zu images failed; first: %s", p->prog.failed,
                        p->n, p->first_msg);
}

/* ---- public: compute ------------------------------------------------------ */

/* lmmiqa_store_compute of ex's features (score 0) or own scores (1). */
static int compute(const lmmiqa_extractor *ex, int score, size_t n, const char *const *paths,
                   const lmmiqa_store_options *opt, double *out, int *status,
                   lmmiqa_store_progress *result)
{
    lmmiqa_store_options given;
    int grc = lmmiqa__store_options_get(opt, &given);
    if (grc)
        return grc;
    opt = &given;
    lmmiqa__store_pool p;
    memset(&p, 0, sizeof p);
    p.ex = ex;
    p.opt = opt;
    p.n = n;
    p.score = score;
    p.dim = score ? 1 : lmmiqa_extractor_dim(ex);
    p.names = paths;
    p.paths = paths;
    p.dmat = out;
    p.status = status;
    for (size_t i = 0; i < n; i++) {
        status[i] = LMMIQA_ERR_INTERNAL;
        for (size_t k = 0; k < p.dim; k++)
            out[i * p.dim + k] = NAN;
    }
    int rc = lmmiqa__store_pool_run(&p);
    if (result)
        *result = p.prog;
    if (rc != LMMIQA_OK)
        return rc;
    return lmmiqa__store_pool_failures_report(&p, LMMIQA_OK);
}

int lmmiqa_store_compute(const lmmiqa_extractor *ex, size_t n, const char *const *paths,
                         const lmmiqa_store_options *opt, double *out, int *status,
                         lmmiqa_store_progress *result)
{
    return compute(ex, 0, n, paths, opt, out, status, result);
}

int lmmiqa__store_compute_scores(const lmmiqa_extractor *ex, size_t n, const char *const *paths,
                                 const lmmiqa_store_options *opt, double *scores, int *status)
{
    return compute(ex, 1, n, paths, opt, scores, status, NULL);
}

/* ---- rows computed by the caller (options.compute) ------------------------- */

struct lmmiqa_store_sink {
    lmmiqa__store_pool *p;
    unsigned char *rec; /* one journal record */
    int rc;             /* first journal failure */
};

int lmmiqa_store_sink_put(lmmiqa_store_sink *sink, size_t row, int status, const double *features,
                          const char *message)
{
    lmmiqa__store_pool *p = sink->p;
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
        rc = lmmiqa__store_journal_append(p->jn, row, p->hashes[row], p->fmat + row * p->dim,
                                          sink->rec);
        if (rc != LMMIQA_OK && sink->rc == LMMIQA_OK)
            sink->rc = rc;
    }
    p->prog.done++;
    p->prog.elapsed_s = lmmiqa__now_s() - p->t0;
    if (p->opt->progress)
        p->opt->progress(p->opt->user, &p->prog);
    return rc;
}

int lmmiqa__store_pool_compute_pending(lmmiqa__store_pool *p)
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
