/*
 * tests/test_options_abi.c - every options struct that may grow starts with
 * `size_t size`, set by its _init function: a struct whose size was never set
 * (size 0: a caller that skipped _init) is refused with a message naming the
 * _init function; a caller's smaller struct (a program built against an
 * older header) is read as far as it goes and the rest takes the defaults;
 * a caller's larger struct (a newer header) is read as far as this library
 * knows it. Covered: extractor, store, regressor, protocol, plot and scorer
 * options.
 */
#include "lmmiqa/lmmiqa.h"
#include "lmmiqa/plot.h"
#include "test.h"

#include <stddef.h>

/* A struct as a newer header might make it: ours plus a field. */
typedef struct {
    lmmiqa_extractor_options known;
    double added_later;
} newer_extractor_options;

static void test_extractor(void)
{
    lmmiqa_extractor *ex = (lmmiqa_extractor *)1;
    lmmiqa_extractor_options o;
    memset(&o, 0, sizeof o);
    CHECK(lmmiqa_extractor_create("brisque", &o, &ex) == LMMIQA_ERR_INVALID_ARG && ex == NULL);
    CHECK(strstr(lmmiqa_error_message(), "lmmiqa_extractor_options_init") != NULL);
    lmmiqa_extractor_options_init(&o);
    CHECK(o.size == sizeof o);
    CHECK_OK(lmmiqa_extractor_create("brisque", &o, &ex));
    lmmiqa_extractor_destroy(ex);
    /* older and smaller: only `weights` known; brisque refuses weights, so
     * a weights value past the caller's size must not be seen */
    lmmiqa_extractor_options_init(&o);
    o.size = offsetof(lmmiqa_extractor_options, weights) + sizeof o.weights;
    o.threads = 99; /* beyond the caller's size: ignored */
    CHECK_OK(lmmiqa_extractor_create("brisque", &o, &ex));
    lmmiqa_extractor_destroy(ex);
    o.weights = "w.safetensors"; /* within it: read (and refused by brisque) */
    CHECK(lmmiqa_extractor_create("brisque", &o, &ex) == LMMIQA_ERR_INVALID_ARG);
    newer_extractor_options n;
    memset(&n, 0, sizeof n);
    lmmiqa_extractor_options_init(&n.known);
    n.known.size = sizeof n;
    n.added_later = 1.0;
    CHECK_OK(lmmiqa_extractor_create("brisque", &n.known, &ex));
    lmmiqa_extractor_destroy(ex);
    lmmiqa_extractor_options d = {.size = sizeof d}; /* the designated-initialiser way */
    CHECK_OK(lmmiqa_extractor_create("brisque", &d, &ex));
    lmmiqa_extractor_destroy(ex);
}

static void test_store_regressor_protocol_plot(void)
{
    lmmiqa_extractor *ex = NULL;
    CHECK_OK(lmmiqa_extractor_create("brisque", NULL, &ex));
    lmmiqa_store_options so;
    memset(&so, 0, sizeof so);
    double out[36];
    int st[1];
    const char *paths[1] = {"/nonexistent.png"};
    CHECK(lmmiqa_store_compute(ex, 1, paths, &so, out, st, NULL) == LMMIQA_ERR_INVALID_ARG);
    CHECK(strstr(lmmiqa_error_message(), "lmmiqa_store_options_init") != NULL);
    lmmiqa_store_options_init(&so);
    CHECK(so.size == sizeof so);
    lmmiqa_extractor_destroy(ex);

    float x[8 * 2];
    double mos[8];
    for (int i = 0; i < 8; i++) {
        x[2 * i] = (float)i;
        x[2 * i + 1] = (float)(i % 3);
        mos[i] = 10.0 * i;
    }
    lmmiqa_regressor_config cfg;
    memset(&cfg, 0, sizeof cfg);
    lmmiqa_regressor *reg = NULL;
    CHECK(lmmiqa_regressor_train(&cfg, x, mos, 8, 2, 0, 100, NULL, NULL, 0, &reg) ==
          LMMIQA_ERR_INVALID_ARG);
    CHECK(strstr(lmmiqa_error_message(), "lmmiqa_regressor_config_init") != NULL);
    CHECK(lmmiqa_regressor_config_json(&cfg) == NULL);
    /* an older caller knowing `head` only: linear head, the rest defaults */
    lmmiqa_regressor_config_init(&cfg);
    cfg.size = offsetof(lmmiqa_regressor_config, head) + sizeof cfg.head;
    cfg.head = LMMIQA_HEAD_LINEAR;
    cfg.epochs = -5; /* invalid, but past the caller's size: not read */
    CHECK_OK(lmmiqa_regressor_train(&cfg, x, mos, 8, 2, 0, 100, NULL, NULL, 0, &reg));
    CHECK(reg && lmmiqa_regressor_head(reg) == LMMIQA_HEAD_LINEAR);
    lmmiqa_regressor_destroy(reg);
    char *js = lmmiqa_regressor_config_json(&cfg);
    CHECK(js && strstr(js, "\"epochs\":25") != NULL);
    free(js);

    lmmiqa_protocol_options po;
    memset(&po, 0, sizeof po);
    CHECK(lmmiqa_protocol_run(NULL, NULL, 0, NULL, &po, NULL) == LMMIQA_ERR_INVALID_ARG);
    CHECK(strstr(lmmiqa_error_message(), "lmmiqa_protocol_options_init") != NULL);

    lmmiqa_plot_options pl;
    memset(&pl, 0, sizeof pl);
    double m[3] = {1, 2, 3}, p[3] = {1, 2, 4};
    lmmiqa_plot_scatter_series s = {"s", m, p, 3};
    CHECK(lmmiqa_plot_scatter(&s, 1, &pl, "/tmp/lmmiqa_options_abi.png", NULL) ==
          LMMIQA_ERR_INVALID_ARG);
    CHECK(strstr(lmmiqa_error_message(), "lmmiqa_plot_options_init") != NULL);
}

int main(void)
{
    RUN(test_extractor);
    RUN(test_store_regressor_protocol_plot);
    return test_finish();
}
