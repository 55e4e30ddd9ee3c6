/*
 * tools/cli/cmd_serve.c - `lmmiqa serve`: a scoring service over HTTP
 * (libmicrohttpd) with a web page; docs/serve.md is the manual.
 *
 * Design:
 *   - The scorer and the extractors load once at start and are immutable;
 *     all requests share them. Scoring runs in one of --threads worker slots,
 *     each owning its scratch states (scorer + every extractor), allocated at
 *     start; a slot is taken for one request and given back.
 *   - libmicrohttpd runs a thread per connection and parses request lines
 *     and headers; bodies are collected up to --max-body, then parsed by
 *     serve_http.c (raw image or multipart/form-data).
 *   - Admission: a request that finds --threads busy slots and --queue
 *     requests already waiting gets 503 at once; one that waits longer than
 *     --timeout seconds for a slot gets 504.
 *   - Every answer is JSON (or .npy, or the page); failures carry
 *     {"error": {"status", "kind", "message"}} and are counted by kind in
 *     /metrics, next to requests by endpoint and code, a latency histogram,
 *     images scored and the queue depth.
 *   - SIGTERM/SIGINT: stop accepting, let in-flight requests finish (bounded
 *     by --timeout plus a grace period), exit 0.
 */
#include "cli.h"
#include "cli_features.h"
#include "serve_http.h"

#include "lmmiqa/advanced/npy.h"
#include "lmmiqa/scorer.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define CMD "serve"
#define MAX_EXTRACTORS 16

extern const unsigned char serve_page_html[];
extern const size_t serve_page_html_size;

/* ---- metrics ------------------------------------------------------------ */

enum endpoint { EP_ROOT, EP_HEALTH, EP_MODELS, EP_METRICS, EP_SCORE, EP_EXTRACT, EP_OTHER, EP_N };
static const char *const endpoint_names[EP_N] = {"page", "healthz", "models", "metrics",
                                                 "score", "extract", "other"};
static const int codes[] = {200, 400, 404, 405, 413, 415, 422, 500, 503, 504};
#define N_CODES (sizeof codes / sizeof codes[0])
static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define N_BUCKETS (sizeof buckets / sizeof buckets[0])
enum err_kind {
    ERR_BAD_REQUEST, ERR_UNDECODABLE, ERR_TOO_LARGE, ERR_UNSUPPORTED, ERR_UNSCORABLE,
    ERR_NOT_FOUND, ERR_METHOD, ERR_BUSY, ERR_TIMEOUT, ERR_INTERNAL, ERR_N
};
static const char *const err_names[ERR_N] = {
    "bad_request", "undecodable_image", "too_large", "unsupported_type", "unscorable_image",
    "not_found", "method_not_allowed", "busy", "timeout", "internal"};

typedef struct stats {
    pthread_mutex_t mu;
    unsigned long requests[EP_N][N_CODES];
    unsigned long errors[ERR_N];
    unsigned long hist[N_BUCKETS + 1]; /* scoring/extraction latency, last = +Inf */
    double hist_sum;
    unsigned long hist_count;
    unsigned long images;
} stats;

/* ---- the server --------------------------------------------------------- */

typedef struct slot {
    lmmiqa_scorer_state *scorer;
    lmmiqa_extractor_state *ex[MAX_EXTRACTORS];
} slot;

typedef struct server {
    lmmiqa_scorer *scorer;
    lmmiqa_extractor *ex[MAX_EXTRACTORS];
    size_t n_ex;
    slot *slots;
    int n_slots;
    int *free_slots; /* stack of free slot indices */
    int n_free;
    pthread_mutex_t slot_mu;
    sem_t slot_sem;
    atomic_int waiting;  /* requests waiting for a slot */
    atomic_int active;   /* requests holding a slot */
    atomic_int in_flight;
    int queue;
    double timeout_s;
    size_t max_body;
    uint64_t max_pixels;
    char *models_json;
    stats st;
} server;

typedef struct request {
    enum endpoint ep;
    unsigned char *body;
    size_t len, cap;
    int too_large;
    double start;
} request;

static int code_index(int code)
{
    for (size_t i = 0; i < N_CODES; i++)
        if (codes[i] == code)
            return (int)i;
    return (int)N_CODES - 3; /* 500 */
}

static void count_request(server *s, enum endpoint ep, int code, int kind)
{
    pthread_mutex_lock(&s->st.mu);
    s->st.requests[ep][code_index(code)]++;
    if (kind >= 0)
        s->st.errors[kind]++;
    pthread_mutex_unlock(&s->st.mu);
}

static void count_latency(server *s, double seconds, size_t images)
{
    pthread_mutex_lock(&s->st.mu);
    size_t b = 0;
    while (b < N_BUCKETS && seconds > buckets[b])
        b++;
    s->st.hist[b]++;
    s->st.hist_sum += seconds;
    s->st.hist_count++;
    s->st.images += images;
    pthread_mutex_unlock(&s->st.mu);
}

/* ---- responses ---------------------------------------------------------- */

static enum MHD_Result send_bytes(struct MHD_Connection *c, int code, const char *type,
                                  void *data, size_t len, int must_free)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, data, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (must_free)
            free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (code == 503)
        MHD_add_response_header(r, "Retry-After", "1");
    if (code == 405)
        MHD_add_response_header(r, "Allow", "GET, POST");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)code, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_json(server *s, struct MHD_Connection *c, enum endpoint ep, int code,
                                 cJSON *o)
{
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        return MHD_NO;
    count_request(s, ep, code, -1);
    return send_bytes(c, code, "application/json", text, strlen(text), 1);
}

static enum MHD_Result send_error(server *s, struct MHD_Connection *c, enum endpoint ep, int code,
                                  enum err_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static enum MHD_Result send_error(server *s, struct MHD_Connection *c, enum endpoint ep, int code,
                                  enum err_kind kind, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddNumberToObject(e, "status", code);
    cJSON_AddStringToObject(e, "kind", err_names[kind]);
    cJSON_AddStringToObject(e, "message", msg);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    count_request(s, ep, code, (int)kind);
    if (!text)
        return MHD_NO;
    return send_bytes(c, code, "application/json", text, strlen(text), 1);
}

/* ---- worker slots ------------------------------------------------------- */

/* Take a slot: 0 and *out, or the HTTP status to answer (503, 504). */
static int slot_take(server *s, int *out)
{
    int busy = atomic_load(&s->active) + atomic_load(&s->waiting);
    if (busy >= s->n_slots + s->queue)
        return 503;
    atomic_fetch_add(&s->waiting, 1);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    double t = (double)dl.tv_sec + 1e-9 * (double)dl.tv_nsec + s->timeout_s;
    dl.tv_sec = (time_t)t;
    dl.tv_nsec = (long)((t - (double)dl.tv_sec) * 1e9);
    int rc;
    while ((rc = sem_timedwait(&s->slot_sem, &dl)) != 0 && errno == EINTR)
        ;
    atomic_fetch_sub(&s->waiting, 1);
    if (rc != 0)
        return 504;
    pthread_mutex_lock(&s->slot_mu);
    *out = s->free_slots[--s->n_free];
    pthread_mutex_unlock(&s->slot_mu);
    atomic_fetch_add(&s->active, 1);
    return 0;
}

static void slot_give(server *s, int k)
{
    pthread_mutex_lock(&s->slot_mu);
    s->free_slots[s->n_free++] = k;
    pthread_mutex_unlock(&s->slot_mu);
    atomic_fetch_sub(&s->active, 1);
    sem_post(&s->slot_sem);
}

/* ---- request bodies ----------------------------------------------------- */

typedef struct upload {
    const char *name;
    const unsigned char *data;
    size_t size;
} upload;

/* The images of a request: the raw body, or each file part of a multipart
 * body. Returns 0, or an HTTP status with the error sent. */
static int collect_uploads(server *s, struct MHD_Connection *c, request *rq, upload *up,
                           size_t *n, serve_part *parts, enum MHD_Result *sent)
{
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    char mt[128], boundary[96], err[256];
    serve_media_type(ct, mt, sizeof mt);
    *n = 0;
    if (strncmp(mt, "multipart/", 10) == 0) {
        if (serve_boundary(ct, boundary, sizeof boundary) != 0) {
            *sent = send_error(s, c, rq->ep, 400, ERR_BAD_REQUEST,
                               "multipart body without a valid boundary parameter");
            return 400;
        }
        size_t np = 0;
        if (serve_multipart_parse(boundary, rq->body, rq->len, parts, SERVE_MAX_PARTS, &np, err,
                                  sizeof err) != 0) {
            *sent = send_error(s, c, rq->ep, 400, ERR_BAD_REQUEST, "%s", err);
            return 400;
        }
        for (size_t i = 0; i < np; i++) {
            if (!parts[i].filename[0] && parts[i].size == 0)
                continue; /* an empty text field */
            up[*n].name = parts[i].filename[0] ? parts[i].filename
                          : parts[i].name[0]   ? parts[i].name
                                               : "image";
            up[*n].data = parts[i].data;
            up[*n].size = parts[i].size;
            (*n)++;
        }
        if (*n == 0) {
            *sent = send_error(s, c, rq->ep, 400, ERR_BAD_REQUEST, "no file in the form");
            return 400;
        }
        return 0;
    }
    if (mt[0] && strncmp(mt, "image/", 6) != 0 && strcmp(mt, "application/octet-stream") != 0) {
        *sent = send_error(s, c, rq->ep, 415, ERR_UNSUPPORTED,
                           "Content-Type %s: send image bytes (image/jpeg, image/png, "
                           "image/bmp, application/octet-stream) or multipart/form-data",
                           mt);
        return 415;
    }
    if (rq->len == 0) {
        *sent = send_error(s, c, rq->ep, 400, ERR_BAD_REQUEST, "empty body: send an image");
        return 400;
    }
    const char *name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name");
    up[0].name = name && *name ? name : "image";
    up[0].data = rq->body;
    up[0].size = rq->len;
    *n = 1;
    return 0;
}

/* Decode one upload; 0, or the HTTP status (kind set) with msg filled. */
static int decode_upload(server *s, const upload *u, lmmiqa_image **img, enum err_kind *kind,
                         char *msg, size_t cap)
{
    const char *fmt = lmmiqa_image_format_detect(u->data, u->size);
    if (!fmt) { /* not an image at all: the bytes are bad, not their type */
        *kind = ERR_UNDECODABLE;
        snprintf(msg, cap, "%s: not an image (no JPEG, PNG or BMP signature)", u->name);
        return 400;
    }
    if (strcmp(fmt, "jpeg") != 0 && strcmp(fmt, "png") != 0 && strcmp(fmt, "bmp") != 0) {
        *kind = ERR_UNSUPPORTED;
        snprintf(msg, cap, "%s: %s is not supported (JPEG, PNG or BMP)", u->name, fmt);
        return 415;
    }
    int rc = lmmiqa_image_decode_limited(u->data, u->size, u->name, 0, s->max_pixels, img);
    if (rc == LMMIQA_OK)
        return 0;
    snprintf(msg, cap, "%s", lmmiqa_error_message());
    if (rc == LMMIQA_ERR_TOO_LARGE) {
        *kind = ERR_TOO_LARGE;
        return 413;
    }
    if (rc == LMMIQA_ERR_NOMEM || rc == LMMIQA_ERR_INTERNAL) {
        *kind = ERR_INTERNAL;
        return 500;
    }
    *kind = ERR_UNDECODABLE;
    return 400;
}

static int status_of_run(int rc, enum err_kind *kind)
{
    if (rc == LMMIQA_ERR_UNDEFINED) {
        *kind = ERR_UNSCORABLE;
        return 422;
    }
    if (rc == LMMIQA_ERR_TOO_LARGE) {
        *kind = ERR_TOO_LARGE;
        return 413;
    }
    if (rc == LMMIQA_ERR_NOMEM || rc == LMMIQA_ERR_INTERNAL) {
        *kind = ERR_INTERNAL;
        return 500;
    }
    *kind = ERR_UNDECODABLE;
    return 400;
}

static cJSON *features_json(const double *f, size_t dim)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t d = 0; d < dim; d++)
        cJSON_AddItemToArray(a, cli_json_number(f[d]));
    return a;
}

static enum MHD_Result score_uploads(server *s, struct MHD_Connection *c, request *rq,
                                     const lmmiqa_extractor *ex, size_t ex_index,
                                     int with_features, const upload *up, size_t n);

/* POST /v1/score and /v1/extract. */
static enum MHD_Result handle_images(server *s, struct MHD_Connection *c, request *rq)
{
    enum MHD_Result sent = MHD_NO;
    if (rq->too_large)
        return send_error(s, c, rq->ep, 413, ERR_TOO_LARGE, "request body over %zu bytes (--max-body)",
                          s->max_body);
    const lmmiqa_extractor *ex = NULL;
    size_t ex_index = 0;
    if (rq->ep == EP_EXTRACT) {
        const char *name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "extractor");
        if (!name || !*name)
            return send_error(s, c, rq->ep, 400, ERR_BAD_REQUEST,
                              "give the extractor: /v1/extract?extractor=NAME");
        for (size_t k = 0; k < s->n_ex && !ex; k++)
            if (strcmp(lmmiqa_extractor_name(s->ex[k]), name) == 0) {
                ex = s->ex[k];
                ex_index = k;
            }
        if (!ex)
            return send_error(s, c, rq->ep, 400, ERR_BAD_REQUEST,
                              "extractor '%s' is not loaded (GET /v1/models lists them; start "
                              "the server with --weights NAME=FILE for learned ones)",
                              name);
    }
    int with_features = 0;
    if (rq->ep == EP_SCORE) {
        with_features =
            serve_flag(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "features"));
        if (with_features < 0)
            return send_error(s, c, rq->ep, 400, ERR_BAD_REQUEST, "features: expected 0 or 1");
    }
    serve_part *parts = malloc(SERVE_MAX_PARTS * sizeof *parts);
    if (!parts)
        return send_error(s, c, rq->ep, 500, ERR_INTERNAL, "out of memory");
    upload up[SERVE_MAX_PARTS];
    size_t n = 0;
    if (collect_uploads(s, c, rq, up, &n, parts, &sent) != 0) {
        free(parts);
        return sent;
    }
    enum MHD_Result r = score_uploads(s, c, rq, ex, ex_index, with_features, up, n);
    free(parts);
    return r;
}

/* Decode and run each upload in one worker slot, then answer. */
static enum MHD_Result score_uploads(server *s, struct MHD_Connection *c, request *rq,
                                     const lmmiqa_extractor *ex, size_t ex_index,
                                     int with_features, const upload *up, size_t n)
{
    int k;
    int busy = slot_take(s, &k);
    if (busy == 503)
        return send_error(s, c, rq->ep, 503, ERR_BUSY, "all %d workers busy and %d requests queued",
                          s->n_slots, s->queue);
    if (busy == 504)
        return send_error(s, c, rq->ep, 504, ERR_TIMEOUT, "no worker free within %g s (--timeout)",
                          s->timeout_s);
    size_t dim = ex ? lmmiqa_extractor_dim(ex) : lmmiqa_scorer_dim(s->scorer);
    double *feat = malloc((n ? n : 1) * dim * sizeof *feat);
    double *score = malloc((n ? n : 1) * sizeof *score);
    double *ms = malloc((n ? n : 1) * sizeof *ms);
    int code = feat && score && ms ? 0 : 500;
    enum err_kind kind = ERR_INTERNAL;
    char msg[1024] = "out of memory";
    double t_all = cli_now_s();
    for (size_t i = 0; i < n && code == 0; i++) {
        double t0 = cli_now_s();
        lmmiqa_image *img = NULL;
        code = decode_upload(s, &up[i], &img, &kind, msg, sizeof msg);
        if (code == 0) {
            int rc = ex ? lmmiqa_extractor_run(ex, s->slots[k].ex[ex_index], img, feat + i * dim)
                        : lmmiqa_scorer_run(s->scorer, s->slots[k].scorer, img, &score[i],
                                            feat + i * dim);
            if (rc != LMMIQA_OK) {
                code = status_of_run(rc, &kind);
                snprintf(msg, sizeof msg, "%s: %s", up[i].name, lmmiqa_error_message());
            }
        }
        lmmiqa_image_destroy(img);
        ms[i] = 1e3 * (cli_now_s() - t0);
    }
    slot_give(s, k);
    if (code != 0) {
        free(feat);
        free(score);
        free(ms);
        return send_error(s, c, rq->ep, code, kind, "%s", msg);
    }
    count_latency(s, cli_now_s() - t_all, n);
    if (ex && serve_wants_npy(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept"))) {
        float *f32 = malloc(n * dim * sizeof *f32);
        unsigned char *bytes = NULL;
        size_t size = 0;
        int rc = f32 ? LMMIQA_OK : LMMIQA_ERR_NOMEM;
        for (size_t i = 0; f32 && i < n * dim; i++)
            f32[i] = (float)feat[i];
        if (rc == LMMIQA_OK)
            rc = lmmiqa_npy_encode_f32(f32, n, dim, &bytes, &size);
        free(f32);
        free(feat);
        free(score);
        free(ms);
        if (rc != LMMIQA_OK)
            return send_error(s, c, rq->ep, 500, ERR_INTERNAL, "%s", lmmiqa_error_message());
        count_request(s, rq->ep, 200, -1);
        return send_bytes(c, 200, "application/x-npy", bytes, size, 1);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_CreateArray();
    double lo, hi;
    int better;
    lmmiqa_scorer_scale(s->scorer, &lo, &hi, &better);
    if (ex) {
        cJSON_AddStringToObject(o, "extractor", lmmiqa_extractor_name(ex));
        cJSON_AddNumberToObject(o, "dim", (double)dim);
    } else {
        cJSON *m = cJSON_AddObjectToObject(o, "model");
        cJSON_AddStringToObject(m, "name", lmmiqa_scorer_name(s->scorer));
        cJSON_AddStringToObject(m, "features", lmmiqa_scorer_features(s->scorer));
        cJSON_AddStringToObject(m, "sha256", lmmiqa_scorer_sha256(s->scorer));
    }
    for (size_t i = 0; i < n; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", up[i].name);
        if (!ex) {
            cJSON_AddItemToObject(e, "score", cli_json_number(score[i]));
            cJSON *sc = cJSON_AddObjectToObject(e, "scale");
            cJSON_AddNumberToObject(sc, "min", lo);
            cJSON_AddNumberToObject(sc, "max", hi);
            cJSON_AddBoolToObject(sc, "higher_is_better", better);
        }
        cJSON_AddNumberToObject(e, "ms", round(ms[i] * 1000.0) / 1000.0);
        if (ex || with_features)
            cJSON_AddItemToObject(e, "features", features_json(feat + i * dim, dim));
        cJSON_AddItemToArray(arr, e);
    }
    cJSON_AddItemToObject(o, "images", arr);
    free(feat);
    free(score);
    free(ms);
    return send_json(s, c, rq->ep, 200, o);
}

static enum MHD_Result handle_metrics(server *s, struct MHD_Connection *c)
{
    size_t cap = 16384, len = 0;
    char *b = malloc(cap);
    if (!b)
        return MHD_NO;
#define EMIT(...)                                                                            \
    do {                                                                                     \
        int w_ = snprintf(b + len, cap - len, __VA_ARGS__);                                  \
        if (w_ > 0 && (size_t)w_ < cap - len)                                                \
            len += (size_t)w_;                                                               \
    } while (0)
    pthread_mutex_lock(&s->st.mu);
    s->st.requests[EP_METRICS][code_index(200)]++; /* this one */
    EMIT("# HELP lmmiqa_requests_total HTTP requests by endpoint and status code.\n"
         "# TYPE lmmiqa_requests_total counter\n");
    for (int e = 0; e < EP_N; e++)
        for (size_t k = 0; k < N_CODES; k++)
            if (s->st.requests[e][k])
                EMIT("lmmiqa_requests_total{endpoint=\"%s\",code=\"%d\"} %lu\n", endpoint_names[e],
                     codes[k], s->st.requests[e][k]);
    EMIT("# HELP lmmiqa_errors_total Failed requests by kind.\n"
         "# TYPE lmmiqa_errors_total counter\n");
    for (int k = 0; k < ERR_N; k++)
        EMIT("lmmiqa_errors_total{kind=\"%s\"} %lu\n", err_names[k], s->st.errors[k]);
    EMIT("# HELP lmmiqa_request_duration_seconds Time to decode and score or extract a "
         "request's images.\n# TYPE lmmiqa_request_duration_seconds histogram\n");
    unsigned long cum = 0;
    for (size_t k = 0; k < N_BUCKETS; k++) {
        cum += s->st.hist[k];
        EMIT("lmmiqa_request_duration_seconds_bucket{le=\"%g\"} %lu\n", buckets[k], cum);
    }
    cum += s->st.hist[N_BUCKETS];
    EMIT("lmmiqa_request_duration_seconds_bucket{le=\"+Inf\"} %lu\n", cum);
    EMIT("lmmiqa_request_duration_seconds_sum %.6f\n", s->st.hist_sum);
    EMIT("lmmiqa_request_duration_seconds_count %lu\n", s->st.hist_count);
    EMIT("# HELP lmmiqa_images_total Images scored or extracted.\n"
         "# TYPE lmmiqa_images_total counter\nlmmiqa_images_total %lu\n",
         s->st.images);
    pthread_mutex_unlock(&s->st.mu);
    EMIT("# HELP lmmiqa_queue_depth Requests waiting for a worker.\n"
         "# TYPE lmmiqa_queue_depth gauge\nlmmiqa_queue_depth %d\n",
         atomic_load(&s->waiting));
    EMIT("# HELP lmmiqa_workers_busy Workers scoring now.\n"
         "# TYPE lmmiqa_workers_busy gauge\nlmmiqa_workers_busy %d\n",
         atomic_load(&s->active));
    EMIT("# HELP lmmiqa_workers Worker slots (--threads).\n"
         "# TYPE lmmiqa_workers gauge\nlmmiqa_workers %d\n",
         s->n_slots);
#undef EMIT
    return send_bytes(c, 200, "text/plain; version=0.0.4", b, len, 1);
}

static enum endpoint endpoint_of(const char *url)
{
    if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0)
        return EP_ROOT;
    if (strcmp(url, "/healthz") == 0)
        return EP_HEALTH;
    if (strcmp(url, "/v1/models") == 0)
        return EP_MODELS;
    if (strcmp(url, "/metrics") == 0)
        return EP_METRICS;
    if (strcmp(url, "/v1/score") == 0)
        return EP_SCORE;
    if (strcmp(url, "/v1/extract") == 0)
        return EP_EXTRACT;
    return EP_OTHER;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    server *s = cls;
    request *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        rq->ep = endpoint_of(url);
        rq->start = cli_now_s();
        *con_cls = rq;
        atomic_fetch_add(&s->in_flight, 1);
        int post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0 ||
                                                       strcmp(method, "HEAD") == 0;
        if (rq->ep == EP_OTHER)
            return send_error(s, c, rq->ep, 404, ERR_NOT_FOUND, "no such endpoint: %s %s", method,
                              url);
        int wants_post = rq->ep == EP_SCORE || rq->ep == EP_EXTRACT;
        if ((wants_post && !post) || (!wants_post && !get))
            return send_error(s, c, rq->ep, 405, ERR_METHOD, "%s does not take %s", url, method);
        if (wants_post) {
            const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
            if (cl && strtoull(cl, NULL, 10) > s->max_body)
                return send_error(s, c, rq->ep, 413, ERR_TOO_LARGE,
                                  "request body of %s bytes is over %zu (--max-body)", cl,
                                  s->max_body);
            return MHD_YES; /* the body follows */
        }
        switch (rq->ep) {
        case EP_ROOT:
            count_request(s, rq->ep, 200, -1);
            return send_bytes(c, 200, "text/html; charset=utf-8", (void *)serve_page_html,
                              serve_page_html_size, 0);
        case EP_HEALTH: {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "status", "ok");
            return send_json(s, c, rq->ep, 200, o);
        }
        case EP_MODELS:
            return send_json(s, c, rq->ep, 200, cJSON_Parse(s->models_json));
        case EP_METRICS:
            return handle_metrics(s, c);
        default:
            return MHD_NO;
        }
    }
    if (*upload_data_size) {
        size_t add = *upload_data_size;
        *upload_data_size = 0;
        if (rq->too_large || rq->len + add > s->max_body) {
            rq->too_large = 1; /* keep reading and dropping, answer 413 at the end */
            free(rq->body);
            rq->body = NULL;
            rq->len = rq->cap = 0;
            return MHD_YES;
        }
        if (rq->len + add > rq->cap) {
            size_t cap = rq->cap ? rq->cap : 65536;
            while (cap < rq->len + add)
                cap *= 2;
            unsigned char *b = realloc(rq->body, cap);
            if (!b)
                return MHD_NO;
            rq->body = b;
            rq->cap = cap;
        }
        memcpy(rq->body + rq->len, upload_data, add);
        rq->len += add;
        return MHD_YES;
    }
    return handle_images(s, c, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    (void)toe;
    server *s = cls;
    request *rq = *con_cls;
    if (!rq)
        return;
    free(rq->body);
    free(rq);
    *con_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

/* ---- start-up ----------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: lmmiqa serve [--listen HOST:PORT] [--model M | --zero-shot clip]\n"
            "                    [--weights E=FILE ...]\n"
            "                    [--threads N] [--max-body BYTES] [--max-pixels N]\n"
            "                    [--queue N] [--timeout S] [--port-file FILE] [-q|--quiet]\n"
            "\n"
            "Serve quality scores over HTTP: the model loads once and is shared by all\n"
            "requests. Endpoints (docs/serve.md): POST /v1/score (an image body, or\n"
            "multipart/form-data with several files; ?features=1 adds the features),\n"
            "POST /v1/extract?extractor=E (JSON, or .npy with Accept: application/x-npy),\n"
            "GET /v1/models, GET /healthz, GET /metrics (Prometheus), GET / (a web page).\n"
            "\n"
            "  --listen HOST:PORT  address to listen on (default 127.0.0.1:8080; port 0\n"
            "                      picks a free one, printed on stderr)\n"
            "  --model M           a model written by `lmmiqa train` (default: the\n"
            "                      built-in model)\n"
            "  --zero-shot clip    CLIP-IQA zero-shot scores (0..1, higher is better)\n"
            "                      with --weights clipiqa=FILE (docs/clipiqa.md); also\n"
            "                      --vocab, --prompts, --logit-scale\n"
            "  --weights E=FILE    weight file of extractor E (repeatable); E is also\n"
            "                      served by /v1/extract\n"
            "  --threads N         scoring workers (default: all cores)\n"
            "  --max-body BYTES    largest request body (default 33554432, 32 MiB)\n"
            "  --max-pixels N      largest image, width x height (default 50000000)\n"
            "  --queue N           requests that may wait for a worker (default 64);\n"
            "                      beyond that: 503\n"
            "  --timeout S         longest wait for a worker in seconds (default 30):\n"
            "                      beyond that: 504\n"
            "  --port-file FILE    write the port listened on to FILE\n"
            "  -q, --quiet         no start-up and shutdown lines\n"
            "\n"
            "SIGTERM or SIGINT stops accepting, finishes the requests in flight and exits 0.\n"
            "Exit codes: 0 stopped by a signal; 1 the model or the address failed; 2 usage.\n");
}

static int parse_listen(const char *v, struct sockaddr_in *sa)
{
    char host[256];
    const char *colon = strrchr(v, ':');
    if (!colon || (size_t)(colon - v) >= sizeof host)
        return -1;
    memcpy(host, v, (size_t)(colon - v));
    host[colon - v] = '\0';
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || colon[1] == '\0' || port > 65535)
        return -1;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static void server_free(server *s)
{
    for (int k = 0; s->slots && k < s->n_slots; k++) {
        lmmiqa_scorer_state_destroy(s->slots[k].scorer);
        for (size_t e = 0; e < s->n_ex; e++)
            lmmiqa_extractor_state_destroy(s->slots[k].ex[e]);
    }
    free(s->slots);
    free(s->free_slots);
    for (size_t e = 0; e < s->n_ex; e++)
        lmmiqa_extractor_destroy(s->ex[e]);
    lmmiqa_scorer_destroy(s->scorer);
    free(s->models_json);
}

/* Load the scorer, the served extractors (brisque, and every one with
 * --weights), and one scratch slot per worker. */
static int server_load(server *s, const char *model, const char *zero_shot,
                       const cli_extractor_opts *eo, int threads)
{
    lmmiqa_scorer_options so;
    lmmiqa_scorer_options_init(&so);
    so.model = model;
    so.zero_shot = zero_shot;
    so.vocab = eo->vocab;
    so.prompts = eo->prompts;
    so.logit_scale = eo->logit_scale;
    so.n_weights = (size_t)eo->n_weights;
    so.weights_names = eo->weights_name;
    so.weights_files = eo->weights_file;
    int rc = lmmiqa_scorer_create(&so, &s->scorer);
    if (rc)
        return cli_fail_status(CMD, rc);
    if (*lmmiqa_scorer_warnings(s->scorer))
        cli_error(CMD, "warning: %s", lmmiqa_scorer_warnings(s->scorer));
    const char *names[MAX_EXTRACTORS];
    size_t n = 0;
    names[n++] = "brisque";
    for (int w = 0; w < eo->n_weights && n < MAX_EXTRACTORS; w++) {
        int dup = 0;
        for (size_t k = 0; k < n; k++)
            dup |= strcmp(names[k], eo->weights_name[w]) == 0;
        if (!dup)
            names[n++] = eo->weights_name[w];
    }
    for (size_t k = 0; k < n; k++) {
        int code = cli_extractor_create(CMD, names[k], eo, &s->ex[s->n_ex]);
        if (code != CLI_EXIT_OK)
            return code;
        s->n_ex++;
    }
    s->n_slots = threads;
    s->slots = calloc((size_t)threads, sizeof *s->slots);
    s->free_slots = calloc((size_t)threads, sizeof *s->free_slots);
    if (!s->slots || !s->free_slots)
        return CLI_EXIT_INTERNAL;
    for (int k = 0; k < threads; k++) {
        rc = lmmiqa_scorer_state_create(s->scorer, &s->slots[k].scorer);
        for (size_t e = 0; e < s->n_ex && !rc; e++)
            rc = lmmiqa_extractor_state_create(s->ex[e], &s->slots[k].ex[e]);
        if (rc)
            return cli_fail_status(CMD, rc);
        s->free_slots[s->n_free++] = k;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *models = cJSON_AddArrayToObject(o, "models");
    cJSON *info = cJSON_Parse(lmmiqa_scorer_info_json(s->scorer));
    cJSON_AddItemToArray(models, info);
    cJSON *exs = cJSON_AddArrayToObject(o, "extractors");
    for (size_t e = 0; e < s->n_ex; e++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", lmmiqa_extractor_name(s->ex[e]));
        cJSON_AddStringToObject(x, "version", lmmiqa_extractor_version(s->ex[e]));
        cJSON_AddNumberToObject(x, "dim", (double)lmmiqa_extractor_dim(s->ex[e]));
        cJSON_AddItemToArray(exs, x);
    }
    cJSON_AddNumberToObject(o, "workers", threads);
    cJSON_AddStringToObject(o, "lmmiqa_version", lmmiqa_version());
    s->models_json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s->models_json ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
}

int cmd_serve(int argc, char **argv)
{
    const char *listen = "127.0.0.1:8080", *model = NULL, *port_file = NULL, *v;
    const char *zero_shot = NULL;
    cli_extractor_opts eo = {0};
    long threads = 0, queue = 64, max_body = 32L << 20, max_pixels = 50000000;
    double timeout = 30.0;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        int m;
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        if (cli_is_quiet(argv[i])) {
            quiet = 1;
            continue;
        }
        if ((m = cli_opt_value(CMD, argc, argv, &i, "--listen", &listen)) != 0 ||
            (m = cli_opt_value(CMD, argc, argv, &i, "--model", &model)) != 0 ||
            (m = cli_opt_value(CMD, argc, argv, &i, "--zero-shot", &zero_shot)) != 0 ||
            (m = cli_opt_value(CMD, argc, argv, &i, "--port-file", &port_file)) != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        const struct {
            const char *name;
            long lo, hi;
            long *out;
        } longs[] = {{"--threads", 1, 1024, &threads},
                     {"--queue", 0, 1 << 20, &queue},
                     {"--max-body", 1, 1L << 32, &max_body},
                     {"--max-pixels", 1, LMMIQA_IMAGE_MAX_PIXELS, &max_pixels}};
        int matched = 0;
        for (size_t k = 0; k < sizeof longs / sizeof longs[0] && !matched; k++) {
            if ((m = cli_opt_value(CMD, argc, argv, &i, longs[k].name, &v)) == 0)
                continue;
            if (m < 0 || cli_parse_long(CMD, longs[k].name, v, longs[k].lo, longs[k].hi,
                                        longs[k].out) != 0)
                return CLI_EXIT_USAGE;
            matched = 1;
        }
        if (matched)
            continue;
        if ((m = cli_opt_value(CMD, argc, argv, &i, "--timeout", &v)) != 0) {
            if (m < 0 || cli_parse_double(CMD, "--timeout", v, &timeout) != 0)
                return CLI_EXIT_USAGE;
            if (!(timeout > 0.0 && timeout <= 3600.0)) {
                cli_error(CMD, "--timeout: %s is not within (0, 3600] seconds", v);
                return CLI_EXIT_USAGE;
            }
            continue;
        }
        if ((m = cli_parse_extractor_opt(CMD, argc, argv, &i, &eo)) != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        cli_error(CMD, "unknown argument '%s' (see lmmiqa serve --help)", argv[i]);
        return CLI_EXIT_USAGE;
    }
    struct sockaddr_in sa;
    if (parse_listen(listen, &sa) != 0) {
        cli_error(CMD, "--listen: '%s' is not IPV4:PORT (e.g. 127.0.0.1:8080)", listen);
        return CLI_EXIT_USAGE;
    }
    if (threads == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        threads = online > 0 ? online : 1;
    }
    /* Signals go to a sigwait below, never to a handler in a worker. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    server s;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.st.mu, NULL);
    pthread_mutex_init(&s.slot_mu, NULL);
    s.queue = (int)queue;
    s.timeout_s = timeout;
    s.max_body = (size_t)max_body;
    s.max_pixels = (uint64_t)max_pixels;
    int code = server_load(&s, model, zero_shot, &eo, (int)threads);
    if (code != CLI_EXIT_OK) {
        server_free(&s);
        return code;
    }
    sem_init(&s.slot_sem, 0, (unsigned)threads);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC |
            MHD_USE_POLL,
        0, NULL, NULL, on_request, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, &s, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(threads + queue + 64), MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        MHD_OPTION_END);
    if (!d) {
        cli_error(CMD, "cannot listen on %s: %s", listen, strerror(errno));
        server_free(&s);
        return CLI_EXIT_FAILURE;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = di ? di->port : ntohs(sa.sin_port);
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa.sin_addr, host, sizeof host);
    if (port_file) {
        cli_output out;
        code = cli_output_open(CMD, port_file, &out);
        if (code == CLI_EXIT_OK) {
            fprintf(out.f, "%u\n", port);
            code = cli_output_close(&out, code);
        }
    }
    if (!quiet)
        fprintf(stderr,
                "lmmiqa serve: %s (features %s) on http://%s:%u/ with %ld workers; Ctrl-C "
                "stops\n",
                lmmiqa_scorer_name(s.scorer), lmmiqa_scorer_features(s.scorer), host, port,
                threads);
    int sig = 0;
    if (code == CLI_EXIT_OK)
        sigwait(&sigs, &sig);
    /* Graceful stop: no new connections, in-flight requests finish. */
    MHD_socket ls = MHD_quiesce_daemon(d);
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    double deadline = cli_now_s() + timeout + 30.0;
    while (atomic_load(&s.in_flight) > 0 && cli_now_s() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    int left = atomic_load(&s.in_flight);
    MHD_stop_daemon(d);
    if (!quiet)
        fprintf(stderr, "lmmiqa serve: stopped (%s)%s\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
                left ? "; requests still in flight were cut" : "");
    sem_destroy(&s.slot_sem);
    server_free(&s);
    return code;
}
