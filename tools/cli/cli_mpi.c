/*
 * tools/cli/cli_mpi.c - MPI scale-out of extract and eval (cli_mpi.h).
 *
 * Design:
 *   - Only each process's main thread calls MPI (MPI_THREAD_FUNNELED);
 *     serving ranks compute on "lanes", one pthread per --jobs core, fed
 *     from a local queue.
 *   - A job is a list of task ids (dataset rows, or spec * n_splits + split)
 *     and a kind. Rank 0 announces it (TAG_JOB); each serving rank asks for
 *     as many tasks as it has free lanes plus as many again (TAG_WANT), so
 *     the next chunk is there before a lane idles; rank 0 answers with a
 *     chunk (TAG_TASKS; empty = nothing left). Results go back in batches
 *     (TAG_RESULT: id, status, payload), then TAG_DONE. A rank that is slow
 *     asks less often and so gets less.
 *   - Rank 0 alone writes: store rows through lmmiqa_store_sink_put (the
 *     store's journal), eval result files atomically by the CLI's writer.
 *   - Every wait polls (MPI_Iprobe, 1 ms naps, so a waiting rank does not
 *     spin a core away from the lanes) and is bounded: no message for
 *     LMMIQA_MPI_TIMEOUT seconds (default 3600) while one is due aborts the
 *     whole job (MPI_Abort). A rank killed outright makes mpirun end the
 *     others; the store's journal and the finished result files are what a
 *     re-run resumes from.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "cli_mpi.h"

#include "cli.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <mpi.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { TAG_JOB = 1, TAG_WANT, TAG_TASKS, TAG_RESULT, TAG_DONE, TAG_GONE };
enum { JOB_STOP = 0, JOB_EXTRACT = 1, JOB_EVAL = 2 };

static int g_active, g_rank, g_size, g_stopped;

static void nap(void)
{
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
}

static double timeout_s(void)
{
    const char *e = getenv("LMMIQA_MPI_TIMEOUT");
    double t = e ? strtod(e, NULL) : 0;
    return t > 0 ? t : 3600.0;
}

static void abort_all(const char *cmd, const char *what)
{
    cli_error(cmd, "rank %d: %s; aborting every rank", g_rank, what);
    MPI_Abort(MPI_COMM_WORLD, CLI_EXIT_FAILURE);
    exit(CLI_EXIT_FAILURE);
}

/* Wait (bounded) for a message with `tag` from `src` (MPI_ANY_SOURCE /
 * MPI_ANY_TAG allowed); returns its status. */
static MPI_Status wait_message(const char *cmd, int src, int tag, const char *what)
{
    double limit = timeout_s(), t0 = cli_now_s();
    for (;;) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(src, tag, MPI_COMM_WORLD, &flag, &st);
        if (flag)
            return st;
        if (cli_now_s() - t0 > limit) {
            char msg[256];
            snprintf(msg, sizeof msg, "no %s within %.0f s (LMMIQA_MPI_TIMEOUT)", what, limit);
            abort_all(cmd, msg);
        }
        nap();
    }
}

/* Receive the probed message into a malloc'd buffer (*len bytes). */
static unsigned char *recv_bytes(const MPI_Status *st, int *len)
{
    int n = 0;
    MPI_Get_count(st, MPI_BYTE, &n);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf) {
        cli_error("mpi", "out of memory");
        MPI_Abort(MPI_COMM_WORLD, CLI_EXIT_INTERNAL);
        exit(CLI_EXIT_INTERNAL);
    }
    MPI_Recv(buf, n, MPI_BYTE, st->MPI_SOURCE, st->MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    *len = n;
    return buf;
}

int cli_mpi_init(const char *cmd)
{
    if (strcmp(cmd, "extract") != 0 && strcmp(cmd, "eval") != 0)
        return CLI_EXIT_OK;
    /* Launched by Open MPI's mpirun, or a PMI/PMIx launcher (srun, hydra). */
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK") && !getenv("PMI_SIZE"))
        return CLI_EXIT_OK;
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        cli_error(cmd, "MPI_Init_thread failed");
        return CLI_EXIT_INTERNAL;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    g_active = 1;
    /* mpirun binds each rank to one core by default (for 2 ranks or fewer):
     * a computing rank's threads then share that core, halving a 2-core
     * machine's throughput (measured: docs/scale-out.md). Say so. */
    cpu_set_t set;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (g_rank > 0 && online > 1 && sched_getaffinity(0, sizeof set, &set) == 0 &&
        CPU_COUNT(&set) == 1)
        cli_error(cmd, "warning: rank %d is bound to one core of %ld, so its threads share it; "
                       "run mpirun with --bind-to none (or --map-by ...:PE=N)",
                  g_rank, online);
    return CLI_EXIT_OK;
}

int cli_mpi_rank(void) { return g_active ? g_rank : 0; }

int cli_mpi_workers(void) { return g_active ? g_size - 1 : 0; }

static void send_job(int kind, const char *name, int to)
{
    unsigned char buf[8 + LMMIQA_SPEC_MAX_NAME];
    int32_t k = kind;
    size_t len = name ? strlen(name) : 0;
    if (len >= LMMIQA_SPEC_MAX_NAME)
        len = LMMIQA_SPEC_MAX_NAME - 1;
    memcpy(buf, &k, 4);
    memcpy(buf + 4, name ? name : "", len);
    buf[4 + len] = '\0';
    MPI_Send(buf, (int)(5 + len), MPI_BYTE, to, TAG_JOB, MPI_COMM_WORLD);
}

int cli_mpi_finish(int code)
{
    if (!g_active)
        return code;
    if (g_rank == 0) {
        for (int r = 1; r < g_size; r++)
            send_job(JOB_STOP, NULL, r);
    } else if (!g_stopped) {
        /* Never served (an error before serving): say so, then wait for the
         * stop, ignoring the jobs announced meanwhile. */
        int32_t c = code;
        MPI_Send(&c, 4, MPI_BYTE, 0, TAG_GONE, MPI_COMM_WORLD);
        for (;;) {
            MPI_Status st = wait_message("mpi", 0, TAG_JOB, "stop from rank 0");
            int len;
            unsigned char *buf = recv_bytes(&st, &len);
            int32_t kind = JOB_EXTRACT;
            if (len >= 4)
                memcpy(&kind, buf, 4);
            free(buf);
            if (kind == JOB_STOP)
                break;
        }
    }
    MPI_Finalize();
    g_active = 0;
    return code;
}

/* ---- byte buffer ------------------------------------------------------------ */

typedef struct bytes {
    unsigned char *p;
    size_t n, cap;
} bytes;

static int bytes_put(bytes *b, const void *data, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
    return 0;
}

/* One result record: u64 id, i32 status, u32 length, payload. */
static int put_result(bytes *b, uint64_t id, int status, const void *data, size_t len)
{
    int32_t s = status;
    uint32_t l = (uint32_t)len;
    if (bytes_put(b, &id, 8) || bytes_put(b, &s, 4) || bytes_put(b, &l, 4))
        return -1;
    return len ? bytes_put(b, data, len) : 0;
}

/* ---- rank 0: run a job over the serving ranks ------------------------------ */

typedef int (*deliver_fn)(void *user, int rank, uint64_t id, int status, const unsigned char *data,
                          size_t len);

static unsigned char *g_gone; /* [size]: rank left (TAG_GONE) */

/* Hand ids[0..n) out and pass every result to deliver, which returns a
 * library status: the first failure stops the handing out; results in
 * flight are still received. Returns that status, or a failure when tasks
 * were left because no rank could take them. */
static int master_job(const char *cmd, int kind, const char *name, size_t n, const uint64_t *ids,
                      deliver_fn deliver, void *user, int quiet)
{
    if (!g_gone) {
        g_gone = calloc((size_t)g_size, 1);
        if (!g_gone)
            return lmmiqa_error_set(LMMIQA_ERR_NOMEM, "out of memory");
    }
    unsigned char *done = calloc((size_t)g_size, 1);
    size_t *given = calloc((size_t)g_size, sizeof *given);
    if (!done || !given) {
        free(done);
        free(given);
        return lmmiqa_error_set(LMMIQA_ERR_NOMEM, "out of memory");
    }
    int active = 0;
    for (int r = 1; r < g_size; r++)
        if (!g_gone[r]) {
            send_job(kind, name, r);
            active++;
        }
    size_t next = 0;
    int rc = LMMIQA_OK;
    char first_msg[1024] = "";
    double limit = timeout_s(), last = cli_now_s();
    while (active > 0) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
        if (!flag) {
            if (cli_now_s() - last > limit) {
                char msg[256];
                snprintf(msg, sizeof msg, "no word from any rank within %.0f s "
                                          "(LMMIQA_MPI_TIMEOUT)", limit);
                abort_all(cmd, msg);
            }
            nap();
            continue;
        }
        last = cli_now_s();
        int src = st.MPI_SOURCE, len;
        unsigned char *buf = recv_bytes(&st, &len);
        if (st.MPI_TAG == TAG_WANT && len >= 4) {
            int32_t want;
            memcpy(&want, buf, 4);
            size_t left = rc == LMMIQA_OK ? n - next : 0;
            /* Guided chunks: big while much is left, small at the end. */
            size_t chunk = left / (2 * (size_t)(g_size - 1));
            if (chunk < 1)
                chunk = 1;
            if (chunk > (size_t)(want > 0 ? want : 1))
                chunk = (size_t)(want > 0 ? want : 1);
            if (chunk > left)
                chunk = left;
            MPI_Send(ids + next, (int)(chunk * 8), MPI_BYTE, src, TAG_TASKS, MPI_COMM_WORLD);
            next += chunk;
            given[src] += chunk;
        } else if (st.MPI_TAG == TAG_RESULT) {
            size_t off = 0;
            while (off + 16 <= (size_t)len) {
                uint64_t id;
                int32_t status;
                uint32_t l;
                memcpy(&id, buf + off, 8);
                memcpy(&status, buf + off + 8, 4);
                memcpy(&l, buf + off + 12, 4);
                off += 16;
                if (off + l > (size_t)len)
                    break;
                if (rc == LMMIQA_OK) {
                    rc = deliver(user, src, id, status, buf + off, l);
                    if (rc != LMMIQA_OK)
                        snprintf(first_msg, sizeof first_msg, "%s", lmmiqa_error_message());
                }
                off += l;
            }
        } else if (st.MPI_TAG == TAG_DONE || st.MPI_TAG == TAG_GONE) {
            if (st.MPI_TAG == TAG_GONE)
                g_gone[src] = 1;
            if (st.MPI_TAG == TAG_DONE && len > 4) {
                int32_t status;
                memcpy(&status, buf, 4);
                if (status != LMMIQA_OK)
                    cli_error(cmd, "warning: rank %d could not take part: %.*s", src, len - 4,
                              (const char *)buf + 4);
            }
            if (!done[src]) {
                done[src] = 1;
                active--;
            }
        }
        free(buf);
    }
    if (!quiet) { /* who did what: slow ranks took less */
        fprintf(stderr, "lmmiqa %s: %s: tasks per rank:", cmd,
                kind == JOB_EXTRACT ? name : "(spec, split) pairs");
        for (int r = 1; r < g_size; r++)
            fprintf(stderr, " %d:%zu", r, given[r]);
        fputc('\n', stderr);
    }
    free(done);
    free(given);
    if (rc != LMMIQA_OK)
        return lmmiqa_error_set(rc, "%s", first_msg);
    if (next < n)
        return lmmiqa_error_set(LMMIQA_ERR_INTERNAL,
                                "%zu of %zu tasks were not computed: no rank could take them",
                                n - next, n);
    return LMMIQA_OK;
}

/* ---- rank 0: extraction ----------------------------------------------------- */

typedef struct extract_deliver {
    const cli_mpi_extract *ex;
    lmmiqa_store_sink *sink;
    double *feat;
} extract_deliver;

static int deliver_row(void *user, int rank, uint64_t id, int status, const unsigned char *data,
                       size_t len)
{
    extract_deliver *d = user;
    (void)rank;
    if (status == LMMIQA_OK) {
        if (len != d->ex->dim * sizeof(double))
            return lmmiqa_error_set(LMMIQA_ERR_INTERNAL,
                                    "rank %d sent %zu bytes of features for row %llu", rank, len,
                                    (unsigned long long)id);
        memcpy(d->feat, data, len);
        return lmmiqa_store_sink_put(d->sink, (size_t)id, LMMIQA_OK, d->feat, NULL);
    }
    char msg[1024];
    snprintf(msg, sizeof msg, "%.*s", (int)(len < 1000 ? len : 1000), (const char *)data);
    return lmmiqa_store_sink_put(d->sink, (size_t)id, status, NULL, msg);
}

int cli_mpi_store_compute(void *user, size_t n, const size_t *rows, lmmiqa_store_sink *sink)
{
    const cli_mpi_extract *ex = user;
    uint64_t *ids = malloc((n ? n : 1) * sizeof *ids);
    extract_deliver d = {ex, sink, malloc((ex->dim ? ex->dim : 1) * sizeof(double))};
    if (!ids || !d.feat) {
        free(ids);
        free(d.feat);
        return lmmiqa_error_set(LMMIQA_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = rows[i];
    int rc = master_job(ex->cmd, JOB_EXTRACT, ex->extractor, n, ids, deliver_row, &d, ex->quiet);
    free(ids);
    free(d.feat);
    return rc;
}

/* ---- rank 0: evaluation ----------------------------------------------------- */

typedef struct eval_deliver {
    const cli_mpi_ctx *ctx;
    const char *const *spec_name;
    const char *out_dir;
    size_t ns;
    int quiet;
} eval_deliver;

static int deliver_pair(void *user, int rank, uint64_t id, int status, const unsigned char *data,
                        size_t len)
{
    eval_deliver *d = user;
    size_t c = (size_t)(id / d->ns), k = (size_t)(id % d->ns);
    if (c >= d->ctx->n_specs)
        return lmmiqa_error_set(LMMIQA_ERR_INTERNAL, "rank %d sent an unknown pair", rank);
    if (status != LMMIQA_OK)
        return lmmiqa_error_set(status, "%.*s", (int)(len < 1000 ? len : 1000),
                                (const char *)data);
    char path[4096];
    snprintf(path, sizeof path, "%s/runs/%s/split-%zu.json", d->out_dir, d->spec_name[c], k + 1);
    cli_output o;
    if (cli_output_open(d->ctx->cmd, path, &o) != CLI_EXIT_OK)
        return lmmiqa_error_set(LMMIQA_ERR_IO, "%s: cannot write", path);
    int code = fwrite(data, 1, len, o.f) == len ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
    if (cli_output_close(&o, code) != CLI_EXIT_OK)
        return lmmiqa_error_set(LMMIQA_ERR_IO, "%s: cannot write", path);
    if (!d->quiet) {
        cJSON *j = cJSON_ParseWithLength((const char *)data, len);
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "metrics");
        const cJSON *secs = cJSON_GetObjectItemCaseSensitive(j, "seconds");
        double plcc = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, "plcc"));
        double srocc = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, "srocc"));
        fprintf(stderr, "lmmiqa eval: %s split %zu/%zu: PLCC %.4f SROCC %.4f (%.1f s, rank %d)\n",
                d->spec_name[c], k + 1, d->ns, plcc, srocc,
                cJSON_IsNumber(secs) ? secs->valuedouble : 0.0, rank);
        cJSON_Delete(j);
    }
    return LMMIQA_OK;
}

int cli_mpi_eval_pairs(const cli_mpi_ctx *ctx, size_t n, const size_t *combo,
                       const size_t *split, const char *const *spec_name, const char *out_dir,
                       int quiet)
{
    size_t ns = lmmiqa_splits_count(ctx->splits);
    uint64_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids)
        return lmmiqa_error_set(LMMIQA_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        ids[i] = (uint64_t)combo[i] * ns + split[i];
    eval_deliver d = {ctx, spec_name, out_dir, ns, quiet};
    int rc = master_job(ctx->cmd, JOB_EVAL, NULL, n, ids, deliver_pair, &d, quiet);
    free(ids);
    return rc;
}

/* ---- serving ranks: lanes ----------------------------------------------------- */

typedef struct lanes lanes;
/* Compute task `id` on lane `lane`: fills *status and the payload. */
typedef void (*task_fn)(lanes *lp, int lane, uint64_t id, int *status, bytes *payload);

struct lanes {
    const cli_mpi_ctx *ctx;
    task_fn run;
    int n_lanes;
    pthread_mutex_t mu;
    pthread_cond_t work, idle;
    uint64_t *queue;
    size_t qhead, qn, qcap;
    size_t running;
    int quit;
    bytes out; /* finished results, packed */
    int out_failed;
    /* job state */
    lmmiqa_extractor *ex;
    size_t dim;
    char (*tmp)[4096]; /* eval: a scratch results folder per lane */
};

static void *lane_main(void *arg)
{
    lanes *lp = ((void **)arg)[0];
    int lane = (int)(intptr_t)((void **)arg)[1];
    free(arg);
    bytes payload = {0};
    pthread_mutex_lock(&lp->mu);
    for (;;) {
        while (!lp->quit && lp->qn == 0)
            pthread_cond_wait(&lp->work, &lp->mu);
        if (lp->qn == 0)
            break;
        uint64_t id = lp->queue[lp->qhead++];
        lp->qn--;
        lp->running++;
        pthread_mutex_unlock(&lp->mu);
        int status = LMMIQA_ERR_INTERNAL;
        payload.n = 0;
        lp->run(lp, lane, id, &status, &payload);
        pthread_mutex_lock(&lp->mu);
        if (put_result(&lp->out, id, status, payload.p, payload.n) != 0)
            lp->out_failed = 1;
        lp->running--;
        pthread_cond_signal(&lp->idle);
    }
    pthread_mutex_unlock(&lp->mu);
    free(payload.p);
    return NULL;
}

static void capture_error(void *user, size_t row, const char *image, int status,
                          const char *message)
{
    (void)row;
    (void)image;
    (void)status;
    snprintf(user, 1024, "%s", message);
}

static void run_extract(lanes *lp, int lane, uint64_t id, int *status, bytes *payload)
{
    (void)lane;
    const lmmiqa_dataset *ds = lp->ctx->ds;
    char msg[1024] = "";
    if (id >= lmmiqa_dataset_size(ds)) {
        *status = LMMIQA_ERR_INTERNAL;
        snprintf(msg, sizeof msg, "row %llu is not in the dataset", (unsigned long long)id);
        bytes_put(payload, msg, strlen(msg));
        return;
    }
    const char *path = lmmiqa_dataset_image_path(ds, (size_t)id);
    double *feat = malloc((lp->dim ? lp->dim : 1) * sizeof *feat);
    int st = LMMIQA_ERR_NOMEM;
    if (feat) {
        lmmiqa_store_options o;
        lmmiqa_store_options_init(&o);
        o.jobs = 1; /* one lane, one image */
        o.on_error = capture_error;
        o.user = msg;
        int rc = lmmiqa_store_compute(lp->ex, 1, &path, &o, feat, &st, NULL);
        if (st == LMMIQA_OK && rc != LMMIQA_OK)
            st = rc;
        if (st != LMMIQA_OK && !msg[0])
            snprintf(msg, sizeof msg, "%s: %s", path, lmmiqa_error_message());
    } else {
        snprintf(msg, sizeof msg, "%s: out of memory", path);
    }
    *status = st;
    if (st == LMMIQA_OK)
        bytes_put(payload, feat, lp->dim * sizeof *feat);
    else
        bytes_put(payload, msg, strlen(msg));
    free(feat);
}

typedef struct pick_split {
    size_t split;
    char spec[512];
} pick_split;

static int pick_one(void *user, const char *spec, size_t combo, size_t split)
{
    pick_split *p = user;
    (void)combo;
    snprintf(p->spec, sizeof p->spec, "%s", spec);
    return split == p->split;
}

static int read_file(const char *path, bytes *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    unsigned char buf[65536];
    size_t n;
    int bad = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        bad |= bytes_put(out, buf, n);
    bad |= ferror(f);
    fclose(f);
    return bad ? -1 : 0;
}

static void run_eval(lanes *lp, int lane, uint64_t id, int *status, bytes *payload)
{
    const cli_mpi_ctx *ctx = lp->ctx;
    size_t ns = lmmiqa_splits_count(ctx->splits);
    size_t c = (size_t)(id / ns);
    pick_split pick = {(size_t)(id % ns), ""};
    if (c >= ctx->n_specs) {
        *status = LMMIQA_ERR_INTERNAL;
        bytes_put(payload, "unknown pair", 12);
        return;
    }
    lmmiqa_protocol_options po = *ctx->po;
    po.out_dir = lp->tmp[lane];
    po.resume = 0;
    po.progress = NULL;
    po.log = NULL;
    po.select = pick_one;
    po.select_user = &pick;
    int rc = lmmiqa_protocol_run(ctx->ds, ctx->splits, 1, &ctx->specs[c], &po, NULL);
    char path[4096 + 600];
    snprintf(path, sizeof path, "%s/runs/%s/split-%zu.json", lp->tmp[lane], pick.spec,
             pick.split + 1);
    if (rc == LMMIQA_OK && read_file(path, payload) != 0)
        rc = lmmiqa_error_set(LMMIQA_ERR_IO, "%s: cannot read the result back", path);
    unlink(path);
    *status = rc;
    if (rc != LMMIQA_OK) {
        payload->n = 0;
        const char *m = lmmiqa_error_message();
        bytes_put(payload, m, strlen(m));
    }
}

/* rm -r of a scratch folder (files and folders it made, nothing else). */
static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char sub[4096 + 256];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            remove_tree(sub);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

/* Send DONE with a status and message. */
static void send_done(int status, const char *msg)
{
    bytes b = {0};
    int32_t s = status;
    if (bytes_put(&b, &s, 4) == 0 && msg)
        bytes_put(&b, msg, strlen(msg));
    MPI_Send(b.p, (int)b.n, MPI_BYTE, 0, TAG_DONE, MPI_COMM_WORLD);
    free(b.p);
}

/* Serve one job: set up, run lanes fed by rank 0, send results, DONE. */
static void serve_job(const cli_mpi_ctx *ctx, int kind, const char *name)
{
    lanes lp;
    memset(&lp, 0, sizeof lp);
    lp.ctx = ctx;
    lp.n_lanes = ctx->eo && ctx->eo->jobs > 0 ? ctx->eo->jobs : online_cores();
    char msg[1024] = "";
    int rc = LMMIQA_OK;
    if (kind == JOB_EXTRACT) {
        lp.run = run_extract;
        if (!ctx->ds || !ctx->eo) {
            rc = LMMIQA_ERR_INVALID_ARG;
            snprintf(msg, sizeof msg, "no dataset to extract from");
        } else {
            lmmiqa_extractor_options o = {.size = sizeof o};
            o.threads = 1;
            for (int k = 0; k < ctx->eo->n_weights; k++)
                if (strcmp(ctx->eo->weights_name[k], name) == 0)
                    o.weights = ctx->eo->weights_file[k];
            if (!o.weights && strcmp(name, "clipiqa") == 0)
                for (int k = 0; k < ctx->eo->n_weights; k++)
                    if (strcmp(ctx->eo->weights_name[k], "clip-vit-b16") == 0)
                        o.weights = ctx->eo->weights_file[k];
            o.vocab = ctx->eo->vocab;
            o.prompts = ctx->eo->prompts;
            o.logit_scale = ctx->eo->logit_scale;
            rc = lmmiqa_extractor_create(name, &o, &lp.ex);
            if (rc != LMMIQA_OK)
                snprintf(msg, sizeof msg, "%s", lmmiqa_error_message());
            else
                lp.dim = lmmiqa_extractor_dim(lp.ex);
        }
    } else {
        lp.run = run_eval;
        if (!ctx->splits || !ctx->po) {
            rc = LMMIQA_ERR_INVALID_ARG;
            snprintf(msg, sizeof msg, "no evaluation to serve");
        } else {
            lp.tmp = calloc((size_t)lp.n_lanes, sizeof *lp.tmp);
            const char *tmpdir = getenv("TMPDIR");
            for (int l = 0; lp.tmp && l < lp.n_lanes && rc == LMMIQA_OK; l++) {
                snprintf(lp.tmp[l], sizeof lp.tmp[l], "%s/lmmiqa-mpi-XXXXXX",
                         tmpdir && *tmpdir ? tmpdir : "/tmp");
                if (!mkdtemp(lp.tmp[l])) {
                    rc = LMMIQA_ERR_IO;
                    snprintf(msg, sizeof msg, "cannot create a scratch folder: %s",
                             strerror(errno));
                    lp.tmp[l][0] = '\0';
                }
            }
            if (!lp.tmp && rc == LMMIQA_OK) {
                rc = LMMIQA_ERR_NOMEM;
                snprintf(msg, sizeof msg, "out of memory");
            }
        }
    }
    pthread_t *tid = NULL;
    int started = 0, inited = rc == LMMIQA_OK;
    if (inited) {
        pthread_mutex_init(&lp.mu, NULL);
        pthread_cond_init(&lp.work, NULL);
        pthread_cond_init(&lp.idle, NULL);
        tid = calloc((size_t)lp.n_lanes, sizeof *tid);
        for (int l = 0; tid && l < lp.n_lanes; l++) {
            void **arg = malloc(2 * sizeof *arg);
            if (!arg)
                break;
            arg[0] = &lp;
            arg[1] = (void *)(intptr_t)l;
            if (pthread_create(&tid[l], NULL, lane_main, arg) != 0) {
                free(arg);
                break;
            }
            started++;
        }
        if (started == 0) {
            rc = LMMIQA_ERR_NOMEM;
            snprintf(msg, sizeof msg, "cannot start a thread");
        }
    }
    if (rc != LMMIQA_OK) {
        send_done(rc, msg);
    } else {
        int asked = 0, exhausted = 0;
        double limit = timeout_s(), asked_at = 0;
        for (;;) {
            pthread_mutex_lock(&lp.mu);
            size_t held = lp.qn + lp.running;
            bytes ready = lp.out;
            memset(&lp.out, 0, sizeof lp.out);
            int failed = lp.out_failed;
            pthread_mutex_unlock(&lp.mu);
            if (failed)
                abort_all(ctx->cmd, "out of memory packing results");
            if (ready.n)
                MPI_Send(ready.p, (int)ready.n, MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD);
            free(ready.p);
            if (exhausted && held == 0 && ready.n == 0)
                break;
            if (!exhausted && !asked && held < 2 * (size_t)started) {
                int32_t want = (int32_t)(2 * (size_t)started - held);
                MPI_Send(&want, 4, MPI_BYTE, 0, TAG_WANT, MPI_COMM_WORLD);
                asked = 1;
                asked_at = cli_now_s();
            }
            int flag = 0;
            MPI_Status st;
            MPI_Iprobe(0, TAG_TASKS, MPI_COMM_WORLD, &flag, &st);
            if (flag) {
                int len;
                unsigned char *buf = recv_bytes(&st, &len);
                size_t m = (size_t)len / 8;
                asked = 0;
                if (m == 0)
                    exhausted = 1;
                pthread_mutex_lock(&lp.mu);
                if (lp.qhead + lp.qn + m > lp.qcap) {
                    memmove(lp.queue, lp.queue + lp.qhead, lp.qn * sizeof *lp.queue);
                    lp.qhead = 0;
                    if (lp.qn + m > lp.qcap) {
                        size_t cap = (lp.qn + m) * 2;
                        uint64_t *q = realloc(lp.queue, cap * sizeof *q);
                        if (!q)
                            abort_all(ctx->cmd, "out of memory queueing tasks");
                        lp.queue = q;
                        lp.qcap = cap;
                    }
                }
                memcpy(lp.queue + lp.qhead + lp.qn, buf, m * 8);
                lp.qn += m;
                pthread_cond_broadcast(&lp.work);
                pthread_mutex_unlock(&lp.mu);
                free(buf);
                continue;
            }
            if (asked && cli_now_s() - asked_at > limit)
                abort_all(ctx->cmd, "rank 0 did not answer a request for work within "
                                    "LMMIQA_MPI_TIMEOUT seconds");
            /* Nap until a lane finishes or 1 ms passes. */
            pthread_mutex_lock(&lp.mu);
            if (lp.out.n == 0) {
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_nsec += 1000000;
                if (until.tv_nsec >= 1000000000) {
                    until.tv_sec++;
                    until.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&lp.idle, &lp.mu, &until);
            }
            pthread_mutex_unlock(&lp.mu);
        }
        pthread_mutex_lock(&lp.mu);
        lp.quit = 1;
        pthread_cond_broadcast(&lp.work);
        pthread_mutex_unlock(&lp.mu);
        for (int l = 0; l < started; l++)
            pthread_join(tid[l], NULL);
        send_done(LMMIQA_OK, NULL);
    }
    free(tid);
    if (inited) {
        pthread_mutex_destroy(&lp.mu);
        pthread_cond_destroy(&lp.work);
        pthread_cond_destroy(&lp.idle);
    }
    for (int l = 0; lp.tmp && l < lp.n_lanes; l++)
        if (lp.tmp[l][0])
            remove_tree(lp.tmp[l]);
    free(lp.tmp);
    free(lp.queue);
    free(lp.out.p);
    lmmiqa_extractor_destroy(lp.ex);
}

int cli_mpi_serve(const cli_mpi_ctx *ctx)
{
    for (;;) {
        MPI_Status st = wait_message(ctx->cmd, 0, TAG_JOB, "job from rank 0");
        int len;
        unsigned char *buf = recv_bytes(&st, &len);
        int32_t kind = JOB_STOP;
        char name[LMMIQA_SPEC_MAX_NAME] = "";
        if (len >= 4)
            memcpy(&kind, buf, 4);
        if (len > 4)
            snprintf(name, sizeof name, "%.*s", len - 4, (const char *)buf + 4);
        free(buf);
        if (kind == JOB_STOP)
            break;
        serve_job(ctx, kind, name);
    }
    g_stopped = 1;
    return CLI_EXIT_OK;
}
