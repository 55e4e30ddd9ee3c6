/*
 * tests/test_cnniqa.c - CNNIQA on tiny synthetic data: patch grid and local
 * contrast normalisation against direct formulas, a few training steps
 * (deterministic for a seed; a run interrupted after epoch 1 and resumed
 * from its checkpoint ends bit-identical to an uninterrupted run), weight
 * files (round trip, wrong files rejected with a message) and the
 * "cnniqa" extractor (its threads option is OpenBLAS's thread count). No
 * real training here: CI stays fast.
 */
#include "lmmiqa/advanced/cnniqa.h"
#include "lmmiqa/extractor.h"
#include "nn/nn.h"
#include "io/safetensors.h"
#include "models/cnniqa_internal.h"

#include "model_test_util.h"
#include "test.h"

#include <cblas.h>
#include <unistd.h>

static char *tmp_path(const char *name)
{
    static char bufs[4][4096];
    static int next;
    char *b = bufs[next++ & 3];
    snprintf(b, 4096, "%s/test_cnniqa_%d_%s", LMMIQA_BINARY_DIR, (int)getpid(), name);
    return b;
}

static void test_patches(void)
{
    CHECK(lmmiqa_cnniqa_patch_count(32, 500, 500) == 225);
    CHECK(lmmiqa_cnniqa_patch_count(32, 31, 500) == 0);
    CHECK(lmmiqa_cnniqa_patch_count(32, 64, 95) == 4);
    enum { W = 70, P = 32 };
    static uint8_t g[W * 40];
    for (int i = 0; i < W * 40; i++)
        g[i] = 77;
    float out[P * P];
    lmmiqa_cnniqa_patch_lcn(g, W, P, 1, 0, out);
    for (int i = 0; i < P * P; i++)
        CHECK(out[i] == 0.0f);
    for (int i = 0; i < W * 40; i++)
        g[i] = (uint8_t)((i * 37 + (i / W) * 11) % 251);
    lmmiqa_cnniqa_patch_lcn(g, W, P, 1, 0, out);
    /* interior pixel (5, 7) of the patch at x offset 32 */
    double s = 0, s2 = 0;
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            double v = g[(7 + dy) * W + 32 + 5 + dx];
            s += v, s2 += v * v;
        }
    double mu = s / 9, sd = sqrt(s2 / 9 - mu * mu);
    CHECK_NEAR(out[7 * P + 5], (g[7 * W + 37] - mu) / (sd + 1.0), 1e-5);
    /* corner (0, 0): mirrored window = rows/cols {0, 0, 1} */
    s = s2 = 0;
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            double v = g[(dy < 0 ? 0 : dy) * W + 32 + (dx < 0 ? 0 : dx)];
            s += v, s2 += v * v;
        }
    mu = s / 9, sd = sqrt(fmax(s2 / 9 - mu * mu, 0));
    CHECK_NEAR(out[0], (g[32] - mu) / (sd + 1.0), 1e-5);
}

/* Six 64x96 grey images: noise of growing amplitude, MOS falling with it. */
enum { N_IMG = 6, IW = 64, IH = 96 };
static uint8_t images[N_IMG][IW * IH];
static const uint8_t *gray[N_IMG];
static int widths[N_IMG], heights[N_IMG];
static double mos[N_IMG];

static void make_images(void)
{
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 9);
    for (int k = 0; k < N_IMG; k++) {
        for (int i = 0; i < IW * IH; i++) {
            double v = 128 + 40 * sin(i * 0.05) + k * 15 * (lmmiqa_rng_uniform(&rng) - 0.5);
            images[k][i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
        gray[k] = images[k];
        widths[k] = IW, heights[k] = IH;
        mos[k] = 90 - 12 * k;
    }
}

static int same_params(const lmmiqa_cnniqa *a, const lmmiqa_cnniqa *b)
{
    return a->params.n_param == b->params.n_param &&
           memcmp(a->params.data, b->params.data, a->params.n_param * sizeof(float)) == 0;
}

static void test_train_resume(void)
{
    make_images();
    lmmiqa_cnniqa_config c;
    tiny_cnniqa_config(&c);
    lmmiqa_cnniqa *a = NULL, *b = NULL, *r = NULL, *init = NULL;
    CHECK_OK(lmmiqa_cnniqa_create(&c, &init));
    CHECK_OK(lmmiqa_cnniqa_train_gray(&c, gray, widths, heights, mos, N_IMG, 0, 100, NULL, NULL, &a));
    CHECK_OK(lmmiqa_cnniqa_train_gray(&c, gray, widths, heights, mos, N_IMG, 0, 100, NULL, NULL, &b));
    CHECK(a && b && same_params(a, b));
    CHECK(a && init && !same_params(a, init));
    /* interrupted after epoch 1, resumed to epoch 2 */
    char *ck = tmp_path("ck.safetensors");
    unlink(ck);
    c.epochs = 1;
    CHECK_OK(lmmiqa_cnniqa_train_gray(&c, gray, widths, heights, mos, N_IMG, 0, 100, ck, NULL, NULL));
    c.epochs = 2;
    CHECK_OK(lmmiqa_cnniqa_train_gray(&c, gray, widths, heights, mos, N_IMG, 0, 100, ck, NULL, &r));
    CHECK(r && a && same_params(r, a));
    /* a checkpoint of another seed is refused */
    c.seed = 6;
    lmmiqa_cnniqa *x = NULL;
    CHECK(lmmiqa_cnniqa_train_gray(&c, gray, widths, heights, mos, N_IMG, 0, 100, ck, NULL, &x) ==
          LMMIQA_ERR_MISMATCH);
    CHECK(strstr(lmmiqa_error_message(), "seed") != NULL);
    unlink(ck);
    /* bad inputs */
    CHECK(lmmiqa_cnniqa_train_gray(&c, gray, widths, heights, mos, N_IMG, 5, 5, NULL, NULL, &x) ==
          LMMIQA_ERR_INVALID_ARG);
    int small_w[N_IMG];
    for (int i = 0; i < N_IMG; i++)
        small_w[i] = 20;
    CHECK(lmmiqa_cnniqa_train_gray(&c, gray, small_w, heights, mos, N_IMG, 0, 100, NULL, NULL,
                                   &x) == LMMIQA_ERR_INVALID_ARG);
    CHECK(strstr(lmmiqa_error_message(), "smaller than one patch") != NULL);
    lmmiqa_cnniqa_destroy(a);
    lmmiqa_cnniqa_destroy(b);
    lmmiqa_cnniqa_destroy(r);
    lmmiqa_cnniqa_destroy(init);
}

static void test_learns(void)
{
    /* a few epochs on all patches must fit the six training MOS in order */
    lmmiqa_cnniqa_config c;
    tiny_cnniqa_config(&c);
    c.patches_per_image = 0;
    c.epochs = 40;
    c.dropout = 0.0f;
    lmmiqa_cnniqa *m = NULL;
    CHECK_OK(lmmiqa_cnniqa_train_gray(&c, gray, widths, heights, mos, N_IMG, 0, 100, NULL, NULL, &m));
    if (!m)
        return;
    lmmiqa_cnniqa_state *st = NULL;
    CHECK_OK(lmmiqa_cnniqa_state_create(m, &st));
    double prev = 1e9, err = 0;
    int ordered = 1;
    for (int k = 0; k < N_IMG; k++) {
        double s;
        CHECK_OK(lmmiqa_cnniqa_predict_gray(m, st, gray[k], IW, IH, &s, NULL));
        ordered &= s < prev;
        prev = s;
        err += fabs(s - mos[k] / 100.0);
    }
    CHECK(ordered);
    CHECK_MSG(err / N_IMG < 0.08, "mean abs error %.3f", err / N_IMG);
    lmmiqa_cnniqa_state_destroy(st);
    lmmiqa_cnniqa_destroy(m);
}

static void test_files_and_extractor(void)
{
    lmmiqa_cnniqa_config c;
    tiny_cnniqa_config(&c);
    lmmiqa_cnniqa *m = NULL, *l = NULL;
    CHECK_OK(lmmiqa_cnniqa_create(&c, &m));
    char *path = tmp_path("w.safetensors");
    CHECK_OK(lmmiqa_cnniqa_save(m, path));
    CHECK_OK(lmmiqa_cnniqa_load(path, &l));
    CHECK(l && same_params(m, l));
    CHECK(l && lmmiqa_cnniqa_feature_dim(l) == 16);
    /* image prediction equals the grey path; the extractor returns the feature */
    lmmiqa_image *img = NULL;
    CHECK_OK(lmmiqa_image_create(IW, IH, &img));
    for (int i = 0; i < IW * IH; i++)
        img->pixels[3 * i] = img->pixels[3 * i + 1] = img->pixels[3 * i + 2] = images[3][i];
    lmmiqa_cnniqa_state *st = NULL;
    CHECK_OK(lmmiqa_cnniqa_state_create(l, &st));
    double s1, s2, f1[16], f2[16];
    CHECK_OK(lmmiqa_cnniqa_predict(l, st, img, &s1, f1));
    CHECK_OK(lmmiqa_cnniqa_predict_gray(l, st, images[3], IW, IH, &s2, f2));
    CHECK(s1 == s2 && memcmp(f1, f2, sizeof f1) == 0);
    lmmiqa_extractor_options eo = {.size = sizeof eo, .weights = path, .threads = 1};
    lmmiqa_extractor *ex = NULL;
    /* options.threads sets OpenBLAS's thread count, on which the sums of the
     * products depend: one thread, the same numbers on any machine */
    lmmiqa_nn_set_threads(2);
    CHECK_OK(lmmiqa_extractor_create("cnniqa", &eo, &ex));
    CHECK(openblas_get_num_threads() == 1);
    if (ex) {
        CHECK(lmmiqa_extractor_dim(ex) == 16);
        CHECK(strcmp(lmmiqa_extractor_feature_name(ex, 0), "cnniqa1") == 0);
        lmmiqa_extractor_state *es = NULL;
        CHECK_OK(lmmiqa_extractor_state_create(ex, &es));
        double f3[16];
        CHECK_OK(lmmiqa_extractor_run(ex, es, img, f3));
        CHECK(memcmp(f1, f3, sizeof f1) == 0);
        lmmiqa_extractor_state_destroy(es);
        lmmiqa_extractor_destroy(ex);
    }
    eo.weights = NULL;
    CHECK(lmmiqa_extractor_create("cnniqa", &eo, &ex) == LMMIQA_ERR_INVALID_ARG);
    CHECK(strstr(lmmiqa_error_message(), "weight") != NULL);
    /* a too-small image is an error, not a crash */
    lmmiqa_image *tiny = NULL;
    CHECK_OK(lmmiqa_image_create(16, 16, &tiny));
    CHECK(lmmiqa_cnniqa_predict(l, st, tiny, &s1, NULL) == LMMIQA_ERR_INVALID_ARG);
    lmmiqa_image_destroy(tiny);
    /* a weight file of another kind is refused with its name */
    lmmiqa_safetensors_writer *w = NULL;
    CHECK_OK(lmmiqa_safetensors_writer_create(&w));
    float v[2] = {1, 2};
    CHECK_OK(lmmiqa_safetensors_writer_add(w, "x", LMMIQA_DTYPE_F32, v, 1, (int64_t[]){2}));
    char *bad = tmp_path("bad.safetensors");
    CHECK_OK(lmmiqa_safetensors_writer_save(w, bad));
    lmmiqa_safetensors_writer_destroy(w);
    lmmiqa_cnniqa *x = NULL;
    CHECK(lmmiqa_cnniqa_load(bad, &x) == LMMIQA_ERR_FORMAT);
    CHECK(strstr(lmmiqa_error_message(), "bad.safetensors") != NULL);
    /* a weight file missing a tensor is refused naming it */
    lmmiqa_nn_params p = m->params;
    p.count--; /* drop fc3.bias */
    const char *keys[6] = {"format", "cnniqa.patch", "cnniqa.filters", "cnniqa.kernel",
                           "cnniqa.fc", "cnniqa.dropout"};
    const char *vals[6] = {"lmmiqa-cnniqa", "32", "4", "7", "16", "0.5"};
    CHECK_OK(lmmiqa_nn_params_save(&p, NULL, 0, keys, vals, 6, bad));
    CHECK(lmmiqa_cnniqa_load(bad, &x) == LMMIQA_ERR_MISMATCH);
    CHECK(strstr(lmmiqa_error_message(), "fc3.bias") != NULL);
    unlink(bad);
    unlink(path);
    lmmiqa_image_destroy(img);
    lmmiqa_cnniqa_state_destroy(st);
    lmmiqa_cnniqa_destroy(m);
    lmmiqa_cnniqa_destroy(l);
}

int main(void)
{
    lmmiqa_nn_set_threads(1);
    RUN(test_patches);
    RUN(test_train_resume);
    RUN(test_learns);
    RUN(test_files_and_extractor);
    return test_finish();
}
