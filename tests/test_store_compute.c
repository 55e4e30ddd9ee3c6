/*
 * tests/test_store_compute.c - lmmiqa_store_options.compute and
 * lmmiqa_store_sink_put: a build whose missing rows are computed by the
 * caller (as `mpirun lmmiqa extract` does on other ranks). Checked: the
 * callback gets exactly the missing rows, ascending, and the store's own
 * extraction never runs; rows delivered in any order give a .npy equal byte
 * for byte to an ordinary build; a row not asked for, or delivered twice, is
 * refused; a non-finite row and a row left out fail; a callback failure
 * aborts the build with its status; in every failure the delivered rows stay
 * in the journal and the next ordinary build reuses them.
 */
#include "test.h"

#include "lmmiqa/distort.h"
#include "lmmiqa/extractor.h"
#include "lmmiqa/store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N 6

typedef struct src {
    lmmiqa_image *base;
    int calls;
    pthread_mutex_t mu;
} src;

/* image i: the base blurred with sigma 0.4 * (i + 1) */
static int make(void *user, size_t i, lmmiqa_image **out)
{
    src *s = user;
    pthread_mutex_lock(&s->mu);
    s->calls++;
    pthread_mutex_unlock(&s->mu);
    return lmmiqa_image_distort(s->base, LMMIQA_DISTORT_BLUR, 0.4 * (double)(i + 1), NULL, out);
}

typedef struct remote {
    const lmmiqa_extractor *ex;
    src *s;
    int mode; /* 0 all, reversed; 1 half then OK; 2 one then fail; 3 row 0 non-finite */
    size_t asked, first, ascending;
    int refused_twice, refused_unknown;
} remote;

static int compute(void *user, size_t n, const size_t *rows, lmmiqa_store_sink *sink)
{
    remote *r = user;
    r->asked = n;
    r->first = n ? rows[0] : 0;
    r->ascending = 1;
    for (size_t k = 1; k < n; k++)
        r->ascending &= rows[k] > rows[k - 1];
    lmmiqa_extractor_state *st = NULL;
    if (lmmiqa_extractor_state_create(r->ex, &st) != LMMIQA_OK)
        return LMMIQA_ERR_NOMEM;
    double feat[64];
    int rc = LMMIQA_OK;
    size_t todo = r->mode == 1 ? n / 2 : r->mode == 2 ? 1 : n;
    for (size_t k = 0; k < todo && rc == LMMIQA_OK; k++) {
        size_t row = rows[n - 1 - k]; /* reversed: order must not matter */
        lmmiqa_image *img = NULL;
        rc = lmmiqa_image_distort(r->s->base, LMMIQA_DISTORT_BLUR, 0.4 * (double)(row + 1), NULL,
                                  &img);
        if (rc == LMMIQA_OK)
            rc = lmmiqa_extractor_run(r->ex, st, img, feat);
        lmmiqa_image_destroy(img);
        if (rc != LMMIQA_OK)
            break;
        if (r->mode == 3 && row == 0)
            feat[0] = NAN;
        rc = lmmiqa_store_sink_put(sink, row, LMMIQA_OK, feat, NULL);
        if (k == 0 && rc == LMMIQA_OK) {
            r->refused_twice =
                lmmiqa_store_sink_put(sink, row, LMMIQA_OK, feat, NULL) == LMMIQA_ERR_INVALID_ARG;
            r->refused_unknown =
                lmmiqa_store_sink_put(sink, 1000, LMMIQA_OK, feat, NULL) == LMMIQA_ERR_INVALID_ARG;
        }
    }
    lmmiqa_extractor_state_destroy(st);
    if (r->mode == 2)
        return lmmiqa_error_set(LMMIQA_ERR_IO, "remote ranks went away");
    return rc;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = malloc(1 << 20);
    *len = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    return buf;
}

static int same_npy(const char *a, const char *b)
{
    size_t la = 0, lb = 0;
    unsigned char *x = slurp(a, &la), *y = slurp(b, &lb);
    int same = x && y && la == lb && la > 0 && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

static void clean(const char *dir)
{
    const char *files[] = {"brisque.npy", "brisque.json", "brisque.journal"};
    mkdir(dir, 0777);
    for (int k = 0; k < 3; k++)
        unlink(test_path(dir, files[k]));
}

static void test_compute_hook(void)
{
    char ref[4096], dir[4096];
    snprintf(ref, sizeof ref, "%s/test_store_compute.ref", LMMIQA_BINARY_DIR);
    snprintf(dir, sizeof dir, "%s/test_store_compute.d", LMMIQA_BINARY_DIR);
    clean(ref);
    src s = {NULL, 0, PTHREAD_MUTEX_INITIALIZER};
    CHECK_OK(lmmiqa_image_create(96, 80, &s.base));
    if (!s.base)
        return;
    for (size_t i = 0; i < (size_t)96 * 80 * 3; i++)
        s.base->pixels[i] = (uint8_t)((i * 7919u) % 251u);
    lmmiqa_extractor *ex = NULL;
    CHECK_OK(lmmiqa_extractor_create("brisque", NULL, &ex));
    if (!ex)
        return;
    const char *names[N] = {"i0", "i1", "i2", "i3", "i4", "i5"};
    const char *keys[N] = {"k0", "k1", "k2", "k3", "k4", "k5"};
    lmmiqa_store_options o;
    lmmiqa_store_options_init(&o);
    o.jobs = 2;
    lmmiqa_store_progress res;
    CHECK_OK(lmmiqa_store_build_generated(ref, ex, N, names, keys, make, &s, &o, &res));
    char ref_npy[4200], npy[4200];
    snprintf(ref_npy, sizeof ref_npy, "%s/brisque.npy", ref);
    snprintf(npy, sizeof npy, "%s/brisque.npy", dir);

    /* every row by the caller, reversed: same bytes, the pool never extracts */
    remote r = {ex, &s, 0, 0, 0, 0, 0, 0};
    lmmiqa_store_options h = o;
    h.compute = compute;
    h.compute_user = &r;
    clean(dir);
    s.calls = 0;
    CHECK_OK(lmmiqa_store_build_generated(dir, ex, N, names, keys, make, &s, &h, &res));
    CHECK(r.asked == N && r.first == 0 && r.ascending);
    CHECK(s.calls == 0);
    CHECK(res.computed == N && res.done == N && res.failed == 0);
    CHECK(r.refused_twice && r.refused_unknown);
    CHECK(same_npy(ref_npy, npy));
    /* complete store: nothing is missing, the callback is not called */
    r.asked = 99;
    CHECK_OK(lmmiqa_store_build_generated(dir, ex, N, names, keys, make, &s, &h, &res));
    CHECK(r.asked == 99 && res.reused == N);

    /* half delivered: the rest fail, the half is journaled and reused */
    clean(dir);
    r.mode = 1;
    int rc = lmmiqa_store_build_generated(dir, ex, N, names, keys, make, &s, &h, &res);
    CHECK(rc != LMMIQA_OK && res.computed == N / 2 && res.failed == N - N / 2);
    CHECK(access(npy, F_OK) != 0);
    CHECK_OK(lmmiqa_store_build_generated(dir, ex, N, names, keys, make, &s, &o, &res));
    CHECK(res.reused == N / 2 && res.computed == N - N / 2);
    CHECK(same_npy(ref_npy, npy));

    /* the callback fails after one row: its status, the row kept */
    clean(dir);
    r.mode = 2;
    rc = lmmiqa_store_build_generated(dir, ex, N, names, keys, make, &s, &h, &res);
    CHECK(rc == LMMIQA_ERR_IO && strstr(lmmiqa_error_message(), "went away") != NULL);
    CHECK(access(npy, F_OK) != 0);
    CHECK_OK(lmmiqa_store_build_generated(dir, ex, N, names, keys, make, &s, &o, &res));
    CHECK(res.reused == 1 && res.computed == N - 1);
    CHECK(same_npy(ref_npy, npy));

    /* a non-finite row fails, named */
    clean(dir);
    r.mode = 3;
    rc = lmmiqa_store_build_generated(dir, ex, N, names, keys, make, &s, &h, &res);
    CHECK(rc != LMMIQA_OK && res.failed == 1 && res.computed == N - 1);
    CHECK(strstr(lmmiqa_error_message(), "i0") != NULL);

    lmmiqa_extractor_destroy(ex);
    lmmiqa_image_destroy(s.base);
}

int main(void)
{
    RUN(test_compute_hook);
    return test_finish();
}
