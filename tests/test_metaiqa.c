/*
 * tests/test_metaiqa.c - MetaIQA on a tiny configuration (ResNet-18 layout
 * at base width 4, 32x32 crops, head 10-16-8-1): a few training steps from
 * image files, determinism and exact resume from a checkpoint, weight
 * files, the "metaiqa" extractor, and loading pretrained weights in
 * torchvision's naming (backbone only) and in MetaIQA's (everything), with
 * a wrong shape or a stray tensor refused by name. The network itself is
 * checked against PyTorch in test_nn_torch.c.
 */
#include "lmmiqa/extractor.h"
#include "lmmiqa/advanced/metaiqa.h"
#include "nn/nn.h"
#include "io/safetensors.h"
#include "models/metaiqa_internal.h"

#include "model_test_util.h"
#include "test.h"

#include <unistd.h>

enum { N_IMG = 5 };
static char paths[N_IMG][4096];
static const char *path_ptr[N_IMG];
static double mos[N_IMG];

static char *tmp_path(const char *name)
{
    static char bufs[4][4096];
    static int next;
    char *b = bufs[next++ & 3];
    snprintf(b, 4096, "%s/test_metaiqa_%d_%s", LMMIQA_BINARY_DIR, (int)getpid(), name);
    return b;
}

static void make_images(void)
{
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 11);
    for (int k = 0; k < N_IMG; k++) {
        lmmiqa_image *img = NULL;
        int w = 48 + 8 * k, h = 44;
        if (lmmiqa_image_create(w, h, &img) != LMMIQA_OK)
            return;
        for (int i = 0; i < w * h * 3; i++)
            img->pixels[i] = (uint8_t)(100 + 60 * sin(i * 0.01 * (k + 1)) +
                                       20 * k * (lmmiqa_rng_uniform(&rng) - 0.5));
        snprintf(paths[k], sizeof paths[k], "%s", tmp_path(k == 0 ? "a.png" : k == 1 ? "b.png"
                                                          : k == 2 ? "c.png" : k == 3 ? "d.png"
                                                                                      : "e.png"));
        CHECK_OK(lmmiqa_image_save_png(img, paths[k]));
        path_ptr[k] = paths[k];
        mos[k] = 1.0 + 0.8 * k;
        lmmiqa_image_destroy(img);
    }
}

static int files_equal(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb)
            same = 0;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

static void test_train_resume(void)
{
    lmmiqa_metaiqa_config c;
    tiny_metaiqa_config(&c);
    char *w1 = tmp_path("w1.safetensors"), *w2 = tmp_path("w2.safetensors");
    char *w3 = tmp_path("w3.safetensors"), *ck = tmp_path("ck.safetensors");
    unlink(ck);
    CHECK_OK(lmmiqa_metaiqa_train(&c, NULL, path_ptr, mos, N_IMG, 1, 5, NULL, w1));
    CHECK_OK(lmmiqa_metaiqa_train(&c, NULL, path_ptr, mos, N_IMG, 1, 5, NULL, w2));
    CHECK(files_equal(w1, w2));
    c.epochs = 1;
    CHECK_OK(lmmiqa_metaiqa_train(&c, NULL, path_ptr, mos, N_IMG, 1, 5, ck, NULL));
    c.epochs = 2;
    CHECK_OK(lmmiqa_metaiqa_train(&c, NULL, path_ptr, mos, N_IMG, 1, 5, ck, w3));
    CHECK(files_equal(w1, w3));
    /* the trained file predicts through the extractor */
    lmmiqa_metaiqa *m = NULL;
    CHECK_OK(lmmiqa_metaiqa_load(w1, &m));
    lmmiqa_image *img = NULL;
    CHECK_OK(lmmiqa_image_load(paths[2], &img));
    if (m && img) {
        CHECK(lmmiqa_metaiqa_feature_dim(m) == 8);
        lmmiqa_metaiqa_state *st = NULL;
        CHECK_OK(lmmiqa_metaiqa_state_create(m, &st));
        double s, f[8], f2[8];
        CHECK_OK(lmmiqa_metaiqa_predict(m, st, img, &s, f));
        CHECK(s > 0.0 && s < 1.0);
        lmmiqa_extractor_options eo = {.size = sizeof eo, .weights = w1, .threads = 1};
        lmmiqa_extractor *ex = NULL;
        CHECK_OK(lmmiqa_extractor_create("metaiqa", &eo, &ex));
        if (ex) {
            CHECK(lmmiqa_extractor_dim(ex) == 8);
            lmmiqa_extractor_state *es = NULL;
            CHECK_OK(lmmiqa_extractor_state_create(ex, &es));
            CHECK_OK(lmmiqa_extractor_run(ex, es, img, f2));
            CHECK(memcmp(f, f2, sizeof f) == 0);
            lmmiqa_extractor_state_destroy(es);
            lmmiqa_extractor_destroy(ex);
        }
        lmmiqa_metaiqa_state_destroy(st);
    }
    /* bad settings and inputs */
    c.batch = 1;
    CHECK(lmmiqa_metaiqa_train(&c, NULL, path_ptr, mos, N_IMG, 1, 5, NULL, w2) ==
          LMMIQA_ERR_INVALID_ARG);
    tiny_metaiqa_config(&c);
    const char *missing[2] = {paths[0], "/nonexistent/x.png"};
    CHECK(lmmiqa_metaiqa_train(&c, NULL, missing, mos, 2, 1, 5, NULL, w2) != LMMIQA_OK);
    CHECK(strstr(lmmiqa_error_message(), "x.png") != NULL);
    lmmiqa_image_destroy(img);
    lmmiqa_metaiqa_destroy(m);
    unlink(w1), unlink(w2), unlink(w3), unlink(ck);
}

static void test_pretrained(void)
{
    lmmiqa_metaiqa_config c;
    tiny_metaiqa_config(&c);
    lmmiqa_metaiqa *src = NULL, *dst = NULL;
    c.seed = 100;
    CHECK_OK(lmmiqa_metaiqa_create(&c, &src));
    c.seed = 200;
    CHECK_OK(lmmiqa_metaiqa_create(&c, &dst));
    if (!src || !dst)
        return;
    /* torchvision naming: backbone tensors without "resnet_layer." */
    lmmiqa_safetensors_writer *w = NULL;
    CHECK_OK(lmmiqa_safetensors_writer_create(&w));
    for (size_t t = 0; t < src->params.count; t++) {
        const lmmiqa_nn_tensor *ten = &src->params.tensors[t];
        if (strncmp(ten->name, "resnet_layer.", 13) == 0)
            CHECK_OK(lmmiqa_safetensors_writer_add(w, ten->name + 13, LMMIQA_DTYPE_F32,
                                                   lmmiqa_nn_params_data(&src->params, (int)t),
                                                   ten->ndim, ten->shape));
    }
    char *tv = tmp_path("tv.safetensors");
    CHECK_OK(lmmiqa_safetensors_writer_save(w, tv));
    CHECK_OK(lmmiqa_metaiqa_load_pretrained(dst, tv));
    int conv = lmmiqa_nn_params_find(&dst->params, "resnet_layer.layer3.1.conv2.weight");
    int head = lmmiqa_nn_params_find(&dst->params, "net.fc2.weight");
    CHECK(conv >= 0 && head >= 0);
    size_t nconv = dst->params.tensors[conv].numel, nhead = dst->params.tensors[head].numel;
    CHECK(memcmp(lmmiqa_nn_params_data(&dst->params, conv),
                 lmmiqa_nn_params_data(&src->params, conv), nconv * 4) == 0);
    CHECK(memcmp(lmmiqa_nn_params_data(&dst->params, head),
                 lmmiqa_nn_params_data(&src->params, head), nhead * 4) != 0);
    /* a stray tensor is refused by name */
    float one = 1.0f;
    CHECK_OK(lmmiqa_safetensors_writer_add(w, "layer9.weight", LMMIQA_DTYPE_F32, &one, 1,
                                           (int64_t[]){1}));
    CHECK_OK(lmmiqa_safetensors_writer_save(w, tv));
    CHECK(lmmiqa_metaiqa_load_pretrained(dst, tv) == LMMIQA_ERR_MISMATCH);
    CHECK(strstr(lmmiqa_error_message(), "layer9.weight") != NULL);
    lmmiqa_safetensors_writer_destroy(w);
    /* MetaIQA naming: everything; a wrong shape is refused by name */
    char *full = tmp_path("full.safetensors");
    CHECK_OK(lmmiqa_nn_params_save(&src->params, NULL, 0, NULL, NULL, 0, full));
    CHECK_OK(lmmiqa_metaiqa_load_pretrained(dst, full));
    CHECK(memcmp(dst->params.data, src->params.data, src->params.n_param * 4) == 0);
    src->params.tensors[head].shape[0] = 4;
    src->params.tensors[head].shape[1] *= 2;
    CHECK_OK(lmmiqa_nn_params_save(&src->params, NULL, 0, NULL, NULL, 0, full));
    CHECK(lmmiqa_metaiqa_load_pretrained(dst, full) == LMMIQA_ERR_MISMATCH);
    CHECK(strstr(lmmiqa_error_message(), "net.fc2.weight") != NULL);
    /* our own loader wants our metadata */
    lmmiqa_metaiqa *x = NULL;
    CHECK(lmmiqa_metaiqa_load(full, &x) == LMMIQA_ERR_FORMAT);
    unlink(tv), unlink(full);
    lmmiqa_metaiqa_destroy(src);
    lmmiqa_metaiqa_destroy(dst);
}

int main(void)
{
    lmmiqa_nn_set_threads(1);
    make_images();
    RUN(test_train_resume);
    RUN(test_pretrained);
    for (int k = 0; k < N_IMG; k++)
        unlink(paths[k]);
    return test_finish();
}
