/*
 * tests/test_store_generated.c - lmmiqa_store_build_generated: a feature
 * store over images made in memory. Checked: rows equal the extractor run
 * directly on the same images (exactly, as float32); the sidecar lists the
 * given names; a rebuild reuses every row by key without calling the image
 * source; a changed key recomputes only that row; a failing source is
 * reported with the image's name and leaves no .npy.
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

typedef struct src {
    lmmiqa_image *base;
    int calls;
    int fail_at; /* -1: none */
    pthread_mutex_t mu;
} src;

/* image i: the base blurred with sigma 0.5 * (i + 1) */
static int make(void *user, size_t i, lmmiqa_image **out)
{
    src *s = user;
    pthread_mutex_lock(&s->mu);
    s->calls++;
    pthread_mutex_unlock(&s->mu);
    if ((int)i == s->fail_at) {
        *out = NULL;
        return LMMIQA_ERR_CORRUPT;
    }
    return lmmiqa_image_distort(s->base, LMMIQA_DISTORT_BLUR, 0.5 * (double)(i + 1), NULL, out);
}

static void test_generated(void)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/test_store_generated.d", LMMIQA_BINARY_DIR);
    mkdir(dir, 0777);
    char path[4200];
    const char *files[] = {"brisque.npy", "brisque.json", "brisque.journal"};
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[k]);
        unlink(path);
    }
    src s = {NULL, 0, -1, PTHREAD_MUTEX_INITIALIZER};
    CHECK_OK(lmmiqa_image_create(96, 80, &s.base));
    for (size_t i = 0; i < (size_t)96 * 80 * 3; i++)
        s.base->pixels[i] = (uint8_t)((i * 7919u) % 251u);
    lmmiqa_extractor *ex = NULL;
    CHECK_OK(lmmiqa_extractor_create("brisque", NULL, &ex));
    if (!ex)
        return;
    const size_t n = 4, dim = lmmiqa_extractor_dim(ex);
    const char *names[] = {"a#1", "a#2", "a#3", "a#4"};
    const char *keys[] = {"k1", "k2", "k3", "k4"};
    lmmiqa_store_options o;
    lmmiqa_store_options_init(&o);
    o.jobs = 2;
    lmmiqa_store_progress res;
    CHECK_OK(lmmiqa_store_build_generated(dir, ex, n, names, keys, make, &s, &o, &res));
    CHECK(res.computed == n && res.reused == 0 && s.calls == (int)n);
    lmmiqa_features *f = NULL;
    CHECK_OK(lmmiqa_features_load(dir, "brisque", &f));
    if (f) {
        CHECK(lmmiqa_features_rows(f) == n && strcmp(lmmiqa_features_image(f, 2), "a#3") == 0);
        lmmiqa_extractor_state *st = NULL;
        CHECK_OK(lmmiqa_extractor_state_create(ex, &st));
        double feat[64];
        int same = 1;
        for (size_t i = 0; i < n && st; i++) {
            lmmiqa_image *img = NULL;
            CHECK_OK(make(&s, i, &img));
            CHECK_OK(lmmiqa_extractor_run(ex, st, img, feat));
            for (size_t k = 0; k < dim; k++)
                same &= lmmiqa_features_data(f)[i * dim + k] == (float)feat[k];
            lmmiqa_image_destroy(img);
        }
        CHECK(same);
        lmmiqa_extractor_state_destroy(st);
        lmmiqa_features_destroy(f);
    }
    /* rebuild: everything reused, the source is not called */
    s.calls = 0;
    CHECK_OK(lmmiqa_store_build_generated(dir, ex, n, names, keys, make, &s, &o, &res));
    CHECK(res.reused == n && res.computed == 0 && s.calls == 0);
    /* one key changed: only that row is recomputed */
    const char *keys2[] = {"k1", "k2", "k3-new", "k4"};
    CHECK_OK(lmmiqa_store_build_generated(dir, ex, n, names, keys2, make, &s, &o, &res));
    CHECK(res.reused == 3 && res.computed == 1 && s.calls == 1);
    /* a failing source: named in the message, the store is not completed */
    const char *keys3[] = {"x1", "x2", "x3", "x4"};
    s.fail_at = 1;
    int rc = lmmiqa_store_build_generated(dir, ex, n, names, keys3, make, &s, &o, &res);
    CHECK(rc != LMMIQA_OK && res.failed == 1);
    CHECK(strstr(lmmiqa_error_message(), "a#2") != NULL);
    lmmiqa_extractor_destroy(ex);
    lmmiqa_image_destroy(s.base);
}

int main(void)
{
    RUN(test_generated);
    return test_finish();
}
