/*
 * tests/test_scorer.c - the scorer (lmmiqa/scorer.h): the built-in model's
 * identity and scale, one image vs a parallel batch (bit-identical), the
 * features it reads equal the extractor's, a failing image among good ones,
 * threads sharing one scorer, a model written by lmmiqa_regressor_save, the
 * classic BRISQUE SVR (with ../shared), a trained model's own score (a tiny
 * CNNIQA trained here, a tiny random MetaIQA: the same bits as the model
 * API's prediction, alone and in a batch), and option errors.
 */
#include "model_test_util.h"
#include "test.h"

#include "core/internal.h"
#include "lmmiqa/lmmiqa.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <unistd.h>

#define N_IMG 4

static char dir[] = "/tmp/lmmiqa_scorer_XXXXXX";
static char paths[N_IMG + 1][4096];

/* A textured test image: smooth gradients plus seeded noise of strength k. */
static lmmiqa_image *make_image(int w, int h, int k)
{
    lmmiqa_image *img = NULL;
    if (lmmiqa_image_create(w, h, &img) != LMMIQA_OK)
        return NULL;
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, (uint64_t)k + 11);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                double v = 128 + 90 * sin(x * 0.05 * (c + 1)) * cos(y * 0.07) +
                           k * 6 * lmmiqa_rng_normal(&rng);
                img->pixels[((size_t)y * w + x) * 3 + c] =
                    (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    return img;
}

static void setup_files(void)
{
    CHECK(mkdtemp(dir) != NULL);
    for (int i = 0; i < N_IMG; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/img%d.png", dir, i);
        lmmiqa_image *img = make_image(160 + 16 * i, 120, i);
        CHECK(img != NULL);
        if (img)
            CHECK_OK(lmmiqa_image_save_png(img, paths[i]));
        lmmiqa_image_destroy(img);
    }
    snprintf(paths[N_IMG], sizeof paths[N_IMG], "%s/bad.png", dir);
    FILE *f = fopen(paths[N_IMG], "wb");
    if (f) {
        fputs("\x89PNG not really", f);
        fclose(f);
    }
}

static void test_builtin_identity(void)
{
    lmmiqa_scorer *sc = NULL;
    CHECK_OK(lmmiqa_scorer_create(NULL, &sc));
    if (!sc)
        return;
    CHECK(strcmp(lmmiqa_scorer_name(sc), lmmiqa_scorer_builtin_name()) == 0);
    lmmiqa_regressor_config cfg;
    size_t rank_images = 0;
    CHECK(strcmp(lmmiqa_scorer_features(sc), lmmiqa_scorer_builtin_recipe(&cfg, &rank_images)) ==
          0);
    CHECK(cfg.head == LMMIQA_HEAD_MLP && rank_images > 0);
    lmmiqa_extractor *ex = NULL;
    CHECK_OK(lmmiqa_extractor_create(lmmiqa_scorer_features(sc), NULL, &ex));
    CHECK(ex && lmmiqa_scorer_dim(sc) == lmmiqa_extractor_dim(ex));
    lmmiqa_extractor_destroy(ex);
    CHECK(strlen(lmmiqa_scorer_sha256(sc)) == 64);
    double lo = -1, hi = -1;
    int better = -1;
    lmmiqa_scorer_scale(sc, &lo, &hi, &better);
    CHECK(lo == 0.0 && hi == 100.0 && better == 1);
    cJSON *info = cJSON_Parse(lmmiqa_scorer_info_json(sc));
    CHECK(info != NULL);
    CHECK(strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(info, "kind")), "builtin") == 0);
    cJSON *scale = cJSON_GetObjectItem(info, "scale");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(scale, "higher_is_better")));
    CHECK(cJSON_GetObjectItem(info, "metadata") != NULL);
    cJSON_Delete(info);
    CHECK(strcmp(lmmiqa_scorer_warnings(sc), "") == 0);
    lmmiqa_scorer_destroy(sc);
    lmmiqa_scorer_destroy(NULL);
    lmmiqa_scorer_state_destroy(NULL);
}

static void test_one_vs_batch(void)
{
    lmmiqa_scorer *sc = NULL;
    lmmiqa_scorer_state *st = NULL;
    CHECK_OK(lmmiqa_scorer_create(NULL, &sc));
    if (!sc)
        return;
    CHECK_OK(lmmiqa_scorer_state_create(sc, &st));
    const char *list[N_IMG + 1];
    for (int i = 0; i <= N_IMG; i++)
        list[i] = paths[i];
    double batch[N_IMG + 1];
    int status[N_IMG + 1];
    lmmiqa_store_options o;
    lmmiqa_store_options_init(&o);
    o.jobs = 2;
    int rc = lmmiqa_scorer_run_files(sc, N_IMG + 1, list, &o, batch, status);
    CHECK(rc != LMMIQA_OK); /* the bad file */
    CHECK(strstr(lmmiqa_error_message(), "1 of 5") != NULL);
    CHECK(status[N_IMG] != LMMIQA_OK && isnan(batch[N_IMG]));
    lmmiqa_extractor *ex = NULL;
    lmmiqa_extractor_state *exs = NULL;
    CHECK_OK(lmmiqa_extractor_create(lmmiqa_scorer_builtin_recipe(NULL, NULL), NULL, &ex));
    CHECK_OK(lmmiqa_extractor_state_create(ex, &exs));
    size_t dim = lmmiqa_scorer_dim(sc);
    double *feat = malloc(dim * sizeof *feat), *ref = malloc(dim * sizeof *ref);
    CHECK(feat && ref && lmmiqa_extractor_dim(ex) == dim);
    for (int i = 0; i < N_IMG && feat && ref; i++) {
        CHECK(status[i] == LMMIQA_OK);
        lmmiqa_image *img = NULL;
        CHECK_OK(lmmiqa_image_load(paths[i], &img));
        double one = NAN;
        CHECK_OK(lmmiqa_scorer_run(sc, st, img, &one, feat));
        CHECK_MSG(memcmp(&one, &batch[i], sizeof one) == 0, "image %d: alone %.17g, batch %.17g",
                  i, one, batch[i]);
        CHECK(one >= 0.0 && one <= 100.0);
        CHECK_OK(lmmiqa_extractor_run(ex, exs, img, ref));
        CHECK(memcmp(feat, ref, dim * sizeof *feat) == 0);
        lmmiqa_image_destroy(img);
    }
    free(feat);
    free(ref);
    /* The batch without the bad file succeeds, same numbers. */
    double again[N_IMG];
    int st2[N_IMG];
    CHECK_OK(lmmiqa_scorer_run_files(sc, N_IMG, list, NULL, again, st2));
    CHECK(memcmp(again, batch, sizeof again) == 0);
    lmmiqa_extractor_state_destroy(exs);
    lmmiqa_extractor_destroy(ex);
    lmmiqa_scorer_state_destroy(st);
    lmmiqa_scorer_destroy(sc);
}

typedef struct thread_job {
    const lmmiqa_scorer *sc;
    double out[N_IMG];
    int rc;
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *j = arg;
    lmmiqa_scorer_state *st = NULL;
    j->rc = lmmiqa_scorer_state_create(j->sc, &st);
    for (int r = 0; r < 3 && !j->rc; r++)
        for (int i = 0; i < N_IMG && !j->rc; i++) {
            lmmiqa_image *img = NULL;
            j->rc = lmmiqa_image_load(paths[i], &img);
            if (!j->rc)
                j->rc = lmmiqa_scorer_run(j->sc, st, img, &j->out[i], NULL);
            lmmiqa_image_destroy(img);
        }
    lmmiqa_scorer_state_destroy(st);
    return NULL;
}

static void test_threads_share_one_scorer(void)
{
    lmmiqa_scorer *sc = NULL;
    CHECK_OK(lmmiqa_scorer_create(NULL, &sc));
    if (!sc)
        return;
    thread_job jobs[4];
    pthread_t t[4];
    for (int k = 0; k < 4; k++) {
        jobs[k].sc = sc;
        pthread_create(&t[k], NULL, thread_main, &jobs[k]);
    }
    for (int k = 0; k < 4; k++)
        pthread_join(t[k], NULL);
    for (int k = 0; k < 4; k++) {
        CHECK(jobs[k].rc == LMMIQA_OK);
        CHECK(memcmp(jobs[k].out, jobs[0].out, sizeof jobs[0].out) == 0);
    }
    lmmiqa_scorer_destroy(sc);
}

static void test_saved_model(void)
{
    const size_t n = 40, dim = 36;
    float *x = malloc(n * dim * sizeof *x);
    double *mos = malloc(n * sizeof *mos);
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 3);
    for (size_t i = 0; i < n; i++) {
        mos[i] = 1.0 + 4.0 * lmmiqa_rng_uniform(&rng);
        for (size_t d = 0; d < dim; d++)
            x[i * dim + d] = (float)(lmmiqa_rng_normal(&rng) + 0.1 * mos[i]);
    }
    lmmiqa_regressor_config cfg;
    lmmiqa_regressor_config_init(&cfg);
    cfg.head = LMMIQA_HEAD_LINEAR;
    cfg.epochs = 3;
    cfg.threads = 1;
    lmmiqa_regressor *reg = NULL;
    CHECK_OK(lmmiqa_regressor_train(&cfg, x, mos, n, dim, 1.0, 5.0, NULL, NULL, 0, &reg));
    char model[4200];
    snprintf(model, sizeof model, "%s/mine.safetensors", dir);
    CHECK_OK(lmmiqa_regressor_save(reg, model,
                                   "{\"features\":\"brisque\",\"mos_range\":[1,5],"
                                   "\"extractors\":[{\"extractor\":\"brisque\",\"version\":\"0\"}]}"));
    lmmiqa_regressor_destroy(reg);
    lmmiqa_scorer_options o;
    lmmiqa_scorer_options_init(&o);
    o.model = model;
    lmmiqa_scorer *sc = NULL;
    CHECK_OK(lmmiqa_scorer_create(&o, &sc));
    if (sc) {
        CHECK(strcmp(lmmiqa_scorer_name(sc), "mine") == 0);
        double lo, hi;
        int better;
        lmmiqa_scorer_scale(sc, &lo, &hi, &better);
        CHECK(lo == 1.0 && hi == 5.0 && better == 1);
        /* version "0" is not the extractor's: a warning, not an error */
        CHECK(strstr(lmmiqa_scorer_warnings(sc), "another version") != NULL);
        double s[1];
        int st[1];
        const char *one[1] = {paths[0]};
        CHECK_OK(lmmiqa_scorer_run_files(sc, 1, one, NULL, s, st));
        CHECK(s[0] >= 1.0 && s[0] <= 5.0);
    }
    lmmiqa_scorer_destroy(sc);
    /* A model whose spec does not match its width. */
    snprintf(model, sizeof model, "%s/wrong.safetensors", dir);
    lmmiqa_regressor_train(&cfg, x, mos, n, 20, 1.0, 5.0, NULL, NULL, 0, &reg);
    CHECK_OK(lmmiqa_regressor_save(reg, model, "{\"features\":\"brisque\"}"));
    lmmiqa_regressor_destroy(reg);
    o.model = model;
    CHECK(lmmiqa_scorer_create(&o, &sc) == LMMIQA_ERR_MISMATCH);
    CHECK(strstr(lmmiqa_error_message(), "wrong") != NULL);
    free(x);
    free(mos);
}

static void test_brisque_svr(void)
{
    if (!test_shared_dir()) {
        printf("skip test_brisque_svr: ../shared not found\n");
        return;
    }
    lmmiqa_scorer_options o;
    lmmiqa_scorer_options_init(&o);
    char m[4096], r[4096];
    snprintf(m, sizeof m, "%s", test_shared_path("models/brisque-live/allmodel"));
    snprintf(r, sizeof r, "%s", test_shared_path("models/brisque-live/allrange"));
    o.svr_model = m;
    o.svr_range = r;
    lmmiqa_scorer *sc = NULL;
    CHECK_OK(lmmiqa_scorer_create(&o, &sc));
    if (!sc)
        return;
    int better = -1;
    lmmiqa_scorer_scale(sc, NULL, NULL, &better);
    CHECK(better == 0);
    CHECK(strcmp(lmmiqa_scorer_name(sc), "brisque-svr") == 0);
    const char *img[1] = {test_shared_path("models/brisque-live/testimage1.bmp")};
    double s;
    int st;
    CHECK_OK(lmmiqa_scorer_run_files(sc, 1, img, NULL, &s, &st));
    /* The same as the BRISQUE API directly. */
    lmmiqa_svr *svr = NULL;
    lmmiqa_brisque_state *bs = NULL;
    lmmiqa_image *im = NULL;
    double f[36], ref = NAN;
    CHECK_OK(lmmiqa_svr_load(m, r, &svr));
    CHECK_OK(lmmiqa_brisque_state_create(&bs));
    CHECK_OK(lmmiqa_image_load(img[0], &im));
    CHECK_OK(lmmiqa_brisque_features(bs, im, f));
    CHECK_OK(lmmiqa_brisque_score(svr, f, 0, &ref));
    CHECK(memcmp(&s, &ref, sizeof s) == 0);
    lmmiqa_image_destroy(im);
    lmmiqa_brisque_state_destroy(bs);
    lmmiqa_svr_destroy(svr);
    lmmiqa_scorer_destroy(sc);
}

/* The model API's own prediction of img from a weight file: score and
 * features. */
typedef int (*reference_fn)(const char *weights, const lmmiqa_image *img, double *score,
                            double *features);

static int cnniqa_reference(const char *weights, const lmmiqa_image *img, double *score,
                            double *features)
{
    lmmiqa_cnniqa *m = NULL;
    lmmiqa_cnniqa_state *st = NULL;
    int rc = lmmiqa_cnniqa_load(weights, &m);
    if (!rc)
        rc = lmmiqa_cnniqa_state_create(m, &st);
    if (!rc)
        rc = lmmiqa_cnniqa_predict(m, st, img, score, features);
    lmmiqa_cnniqa_state_destroy(st);
    lmmiqa_cnniqa_destroy(m);
    return rc;
}

static int metaiqa_reference(const char *weights, const lmmiqa_image *img, double *score,
                             double *features)
{
    lmmiqa_metaiqa *m = NULL;
    lmmiqa_metaiqa_state *st = NULL;
    int rc = lmmiqa_metaiqa_load(weights, &m);
    if (!rc)
        rc = lmmiqa_metaiqa_state_create(m, &st);
    if (!rc)
        rc = lmmiqa_metaiqa_predict(m, st, img, score, features);
    lmmiqa_metaiqa_state_destroy(st);
    lmmiqa_metaiqa_destroy(m);
    return rc;
}

/* An own-score scorer of extractor `name` with `weights` (features dim):
 * identity, scale, info, and every score (and feature) the same bits as
 * the model API's, alone and in a parallel batch with a bad file. */
static void check_own_score(const char *name, const char *weights, size_t dim, reference_fn ref)
{
    lmmiqa_scorer_options o;
    lmmiqa_scorer_options_init(&o);
    const char *wn[1] = {name}, *wf[1] = {weights};
    o.own_score = name;
    o.n_weights = 1;
    o.weights_names = wn;
    o.weights_files = wf;
    lmmiqa_scorer *sc = NULL;
    lmmiqa_scorer_state *st = NULL;
    CHECK_OK(lmmiqa_scorer_create(&o, &sc));
    if (!sc)
        return;
    CHECK_OK(lmmiqa_scorer_state_create(sc, &st));
    char want[64], sha[65] = "";
    snprintf(want, sizeof want, "%s-own-score", name);
    CHECK(strcmp(lmmiqa_scorer_name(sc), want) == 0);
    CHECK(strcmp(lmmiqa_scorer_features(sc), name) == 0);
    CHECK(lmmiqa_scorer_dim(sc) == dim);
    CHECK_OK(lmmiqa__sha256_file(weights, sha));
    CHECK(strcmp(lmmiqa_scorer_sha256(sc), sha) == 0);
    double lo = -1, hi = -1;
    int better = -1;
    lmmiqa_scorer_scale(sc, &lo, &hi, &better);
    CHECK(lo == 0.0 && hi == 1.0 && better == 1);
    cJSON *info = cJSON_Parse(lmmiqa_scorer_info_json(sc));
    CHECK(strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(info, "kind")), "own-score") == 0);
    CHECK(strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(info, "sha256")), sha) == 0);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(info, "dim")) == (double)dim);
    cJSON *scale = cJSON_GetObjectItem(info, "scale");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(scale, "higher_is_better")));
    CHECK(cJSON_GetObjectItem(info, "metadata") == NULL);
    cJSON_Delete(info);
    CHECK(strcmp(lmmiqa_scorer_warnings(sc), "") == 0);

    const char *list[N_IMG + 1];
    for (int i = 0; i <= N_IMG; i++)
        list[i] = paths[i];
    double batch[N_IMG + 1];
    int status[N_IMG + 1];
    lmmiqa_store_options so;
    lmmiqa_store_options_init(&so);
    so.jobs = 2;
    CHECK(lmmiqa_scorer_run_files(sc, N_IMG + 1, list, &so, batch, status) != LMMIQA_OK);
    CHECK(strstr(lmmiqa_error_message(), "1 of 5") != NULL);
    CHECK(status[N_IMG] != LMMIQA_OK && isnan(batch[N_IMG]));
    double *feat = malloc(dim * sizeof *feat), *rfeat = malloc(dim * sizeof *rfeat);
    for (int i = 0; i < N_IMG && feat && rfeat; i++) {
        CHECK(status[i] == LMMIQA_OK);
        lmmiqa_image *img = NULL;
        CHECK_OK(lmmiqa_image_load(paths[i], &img));
        if (!img)
            continue;
        double one = NAN, bare = NAN, r = NAN;
        CHECK_OK(lmmiqa_scorer_run(sc, st, img, &one, feat));
        CHECK_OK(lmmiqa_scorer_run(sc, st, img, &bare, NULL));
        CHECK_OK(ref(weights, img, &r, rfeat));
        CHECK_MSG(memcmp(&one, &r, sizeof one) == 0, "%s image %d: scorer %.17g, model %.17g", name,
                  i, one, r);
        CHECK(memcmp(&bare, &r, sizeof r) == 0);
        CHECK_MSG(memcmp(&one, &batch[i], sizeof one) == 0, "%s image %d: alone %.17g, batch %.17g",
                  name, i, one, batch[i]);
        CHECK(memcmp(feat, rfeat, dim * sizeof *feat) == 0);
        lmmiqa_image_destroy(img);
    }
    free(feat);
    free(rfeat);
    double again[N_IMG];
    int st2[N_IMG];
    CHECK_OK(lmmiqa_scorer_run_files(sc, N_IMG, list, NULL, again, st2));
    CHECK(memcmp(again, batch, sizeof again) == 0);
    lmmiqa_scorer_state_destroy(st);
    lmmiqa_scorer_destroy(sc);
}

/* A tiny CNNIQA trained on the test images (as `lmmiqa fit` would) and a
 * tiny random MetaIQA: their own scores through the scorer. */
static void test_own_score(void)
{
    lmmiqa_cnniqa_config c;
    tiny_cnniqa_config(&c);
    const char *train[N_IMG];
    double mos[N_IMG];
    for (int i = 0; i < N_IMG; i++) {
        train[i] = paths[i];
        mos[i] = 80.0 - 15.0 * i;
    }
    CHECK_OK(lmmiqa_cnniqa_train(&c, train, mos, N_IMG, 0.0, 100.0, NULL,
                                 test_path(dir, "cnniqa.safetensors")));
    check_own_score("cnniqa", test_path(dir, "cnniqa.safetensors"), 16, cnniqa_reference);

    lmmiqa_metaiqa_config m;
    tiny_metaiqa_config(&m);
    lmmiqa_metaiqa *meta = NULL;
    CHECK_OK(lmmiqa_metaiqa_create(&m, &meta));
    if (meta)
        CHECK_OK(lmmiqa_metaiqa_save(meta, test_path(dir, "metaiqa.safetensors")));
    lmmiqa_metaiqa_destroy(meta);
    check_own_score("metaiqa", test_path(dir, "metaiqa.safetensors"), 8, metaiqa_reference);
}

/* own_score with another kind, without a score hook or without weights:
 * LMMIQA_ERR_INVALID_ARG naming the problem. */
static void test_own_score_errors(void)
{
    lmmiqa_scorer *sc = (lmmiqa_scorer *)1;
    lmmiqa_scorer_options o;
    const char *wn[1] = {"cnniqa"}, *wf[1] = {test_path(dir, "cnniqa.safetensors")};
    struct {
        const char *own, *model, *svr_model, *svr_range, *zero_shot;
        size_t n_weights;
        const char *message;
    } bad[] = {
        {"cnniqa", "a.safetensors", NULL, NULL, NULL, 1, "without model"},
        {"cnniqa", NULL, "allmodel", "allrange", NULL, 1, "svr_model/svr_range"},
        {"cnniqa", NULL, "allmodel", NULL, NULL, 1, "model of its own"},
        {"cnniqa", NULL, NULL, NULL, "clip", 1, "zero_shot"},
        {"brisque", NULL, NULL, NULL, NULL, 1, "'brisque' is not a trained model"},
        {"nosuch", NULL, NULL, NULL, NULL, 1, "known: cnniqa, metaiqa"},
        {"cnniqa", NULL, NULL, NULL, NULL, 0, "no weight file given"},
        {"metaiqa", NULL, NULL, NULL, NULL, 1, "weights metaiqa=FILE"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        lmmiqa_scorer_options_init(&o);
        o.own_score = bad[k].own;
        o.model = bad[k].model;
        o.svr_model = bad[k].svr_model;
        o.svr_range = bad[k].svr_range;
        o.zero_shot = bad[k].zero_shot;
        o.n_weights = bad[k].n_weights;
        o.weights_names = wn;
        o.weights_files = wf;
        sc = (lmmiqa_scorer *)1;
        CHECK_MSG(lmmiqa_scorer_create(&o, &sc) == LMMIQA_ERR_INVALID_ARG && sc == NULL, "case %zu",
                  k);
        CHECK_MSG(strstr(lmmiqa_error_message(), bad[k].message) != NULL, "case %zu: %s", k,
                  lmmiqa_error_message());
    }
    /* An older caller's struct ends before own_score: it is not read. */
    lmmiqa_scorer_options_init(&o);
    o.size = offsetof(lmmiqa_scorer_options, own_score);
    o.own_score = "brisque";
    CHECK_OK(lmmiqa_scorer_create(&o, &sc));
    CHECK(sc && strcmp(lmmiqa_scorer_name(sc), lmmiqa_scorer_builtin_name()) == 0);
    lmmiqa_scorer_destroy(sc);
}

static void test_option_errors(void)
{
    lmmiqa_scorer *sc = (lmmiqa_scorer *)1;
    lmmiqa_scorer_options o;
    memset(&o, 0, sizeof o); /* size 0: not initialised */
    CHECK(lmmiqa_scorer_create(&o, &sc) == LMMIQA_ERR_INVALID_ARG && sc == NULL);
    CHECK(strstr(lmmiqa_error_message(), "lmmiqa_scorer_options_init") != NULL);
    lmmiqa_scorer_options_init(&o);
    o.model = "a.safetensors";
    o.svr_model = "allmodel";
    o.svr_range = "allrange";
    CHECK(lmmiqa_scorer_create(&o, &sc) == LMMIQA_ERR_INVALID_ARG);
    lmmiqa_scorer_options_init(&o);
    o.svr_model = "allmodel";
    CHECK(lmmiqa_scorer_create(&o, &sc) == LMMIQA_ERR_INVALID_ARG);
    lmmiqa_scorer_options_init(&o);
    o.model = "/nonexistent/model.safetensors";
    CHECK(lmmiqa_scorer_create(&o, &sc) == LMMIQA_ERR_IO);
    CHECK(strstr(lmmiqa_error_message(), "/nonexistent/model.safetensors") != NULL);
    /* An older caller's smaller struct: fields past its size take defaults. */
    lmmiqa_scorer_options_init(&o);
    o.size = offsetof(lmmiqa_scorer_options, svr_model);
    o.svr_model = "ignored";
    CHECK_OK(lmmiqa_scorer_create(&o, &sc));
    lmmiqa_scorer_destroy(sc);
}

int main(void)
{
    setup_files();
    RUN(test_builtin_identity);
    RUN(test_one_vs_batch);
    RUN(test_threads_share_one_scorer);
    RUN(test_saved_model);
    RUN(test_brisque_svr);
    RUN(test_own_score);
    RUN(test_own_score_errors);
    RUN(test_option_errors);
    for (int i = 0; i <= N_IMG; i++)
        unlink(paths[i]);
    unlink(test_path(dir, "cnniqa.safetensors"));
    unlink(test_path(dir, "metaiqa.safetensors"));
    unlink(test_path(dir, "mine.safetensors"));
    unlink(test_path(dir, "wrong.safetensors"));
    rmdir(dir);
    return test_finish();
}
