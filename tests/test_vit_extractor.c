/*
 * tests/test_vit_extractor.c - the "clip-vit-b16", "altclip" and "hps"
 * extractors through the public registry: weights from test-time tiny
 * checkpoints (HF naming) and the committed micro HPS torch zip, features of
 * the synthetic images against the float64 goldens (cosine >= 0.99999,
 * max |diff| <= 1e-5), unit-length option, config JSON with the weights'
 * SHA-256, and clean errors for missing or unusable weights.
 */
#include "lmmiqa/extractor.h"
#include "lmmiqa/advanced/vit.h"
#include "models/vit_internal.h"
#include "test.h"
#include "vit_test_util.h"

#include <sys/stat.h>
#include <unistd.h>

#define GOLDEN LMMIQA_SOURCE_DIR "/tests/data/vit/golden_tiny.txt"

static void check_extractor(const char *name, const char *weights, const char *key, int dim)
{
    lmmiqa_extractor_options o = {.size = sizeof o, .weights = weights};
    lmmiqa_extractor *ex = NULL;
    CHECK_OK(lmmiqa_extractor_create(name, &o, &ex));
    if (!ex)
        return;
    CHECK((int)lmmiqa_extractor_dim(ex) == dim);
    CHECK(strstr(lmmiqa_extractor_config_json(ex), "weights_sha256") != NULL);
    lmmiqa_extractor_state *st = NULL;
    CHECK_OK(lmmiqa_extractor_state_create(ex, &st));
    double out[64], gold[64];
    float f[64];
    for (int k = 0; k < 2 && st; k++) {
        lmmiqa_image *img = vt_synth_image(k);
        CHECK_OK(lmmiqa_extractor_run(ex, st, img, out));
        lmmiqa_image_destroy(img);
        CHECK(vt_golden(GOLDEN, key, k, gold, 64) == dim);
        for (int i = 0; i < dim; i++)
            f[i] = (float)out[i];
        double cs, md;
        vt_compare(f, gold, dim, &cs, &md);
        fprintf(stderr, "  %s (%s) image %d: cosine %.10f, max |diff| %.3g\n", name, key, k, cs,
                md);
        CHECK_MSG(cs >= 0.99999 && md <= 1e-5, "%s: cosine %.9f, max diff %.3g", name, cs, md);
    }
    lmmiqa_extractor_state_destroy(st);
    lmmiqa_extractor_destroy(ex);
    /* unit length */
    o.normalize = 1;
    CHECK_OK(lmmiqa_extractor_create(name, &o, &ex));
    if (!ex)
        return;
    CHECK_OK(lmmiqa_extractor_state_create(ex, &st));
    lmmiqa_image *img = vt_synth_image(0);
    CHECK_OK(lmmiqa_extractor_run(ex, st, img, out));
    double n = 0;
    for (int i = 0; i < dim; i++)
        n += out[i] * out[i];
    CHECK_NEAR(n, 1.0, 1e-5);
    lmmiqa_image_destroy(img);
    lmmiqa_extractor_state_destroy(st);
    lmmiqa_extractor_destroy(ex);
}

int main(void)
{
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/test_vit_extractor_%d", LMMIQA_BINARY_DIR, (int)getpid());
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    lmmiqa_vit_config tiny = {48, 16, 128, 2, 2, 256, 32, LMMIQA_VIT_ACT_QUICK_GELU, 1e-5,
                              LMMIQA_VIT_NAMING_HF};
    CHECK_OK(lmmiqa__vit_random_save(&tiny, LMMIQA_VIT_NAMING_HF, LMMIQA_DTYPE_F32, 7, path, 1));
    check_extractor("clip-vit-b16", path, "tiny_hf_f32", 32);
    check_extractor("altclip", path, "tiny_hf_f32", 32);
    check_extractor("hps", LMMIQA_SOURCE_DIR "/tests/data/vit/micro_hps.pt", "micro_hps", 16);
    /* OpenAI naming through clip-vit-b16 uses the torchvision crop */
    char opath[600];
    snprintf(opath, sizeof opath, "%s/openai.safetensors", dir);
    CHECK_OK(lmmiqa__vit_random_save(&tiny, LMMIQA_VIT_NAMING_OPENAI, LMMIQA_DTYPE_F32, 7, opath,
                                     0));
    check_extractor("clip-vit-b16", opath, "tiny_openai_f32", 32);

    lmmiqa_extractor *ex = NULL;
    lmmiqa_extractor_options none = {.size = sizeof none, .weights = NULL};
    CHECK(lmmiqa_extractor_create("hps", &none, &ex) == LMMIQA_ERR_INVALID_ARG);
    CHECK(strstr(lmmiqa_error_message(), "--weights") != NULL);
    lmmiqa_extractor_options bad = {.size = sizeof bad, .weights = LMMIQA_SOURCE_DIR "/tests/data/vit/golden_tiny.txt"};
    CHECK(lmmiqa_extractor_create("clip-vit-b16", &bad, &ex) != LMMIQA_OK);
    CHECK(strstr(lmmiqa_error_message(), "clip-vit-b16") != NULL);
    CHECK(ex == NULL);
    int found = 0;
    for (const char *const *n = lmmiqa_extractor_names(); *n; n++)
        found += !strcmp(*n, "clip-vit-b16") + !strcmp(*n, "altclip") + !strcmp(*n, "hps");
    CHECK(found == 3);
    unlink(path);
    unlink(opath);
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    rmdir(dir);
    return test_finish();
}
