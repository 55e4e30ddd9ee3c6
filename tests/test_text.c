/*
 * tests/test_text.c - the CLIP text transformer against the float64 PyTorch
 * reference (tools/ref/clip_text_ref.py --tiny, tests/data/text/
 * golden_text_tiny.txt): the tiny configuration written here by the
 * generator the reference uses, in Hugging Face naming (F32 with
 * config.json, F16, GELU through config.json) and OpenAI naming (F32, heads
 * inferred), both towers in one file as published; and micro_text.pt, an
 * OpenAI-named torch.save zip with half storages and a strided projection.
 * Tolerance: relative L2 <= 1e-5 (F32). Also: pooling at the argmax id with
 * padding, mismatched shapes and configs refused with named errors, bad ids.
 */
#include "lmmiqa/advanced/text.h"
#include "models/vit_internal.h"
#include "test.h"
#include "text_test_util.h"

#define GOLDEN LMMIQA_SOURCE_DIR "/tests/data/text/golden_text_tiny.txt"

static const lmmiqa_vit_config vtiny = {48, 16, 128, 2, 2, 256, 32, LMMIQA_VIT_ACT_QUICK_GELU,
                                        1e-5, LMMIQA_VIT_NAMING_HF};
static const lmmiqa_text_config ttiny = {814, 16, 128, 2, 2, 256, 32, LMMIQA_VIT_ACT_QUICK_GELU,
                                         1e-5, LMMIQA_VIT_NAMING_HF, 0, 0};

static const char *tmp(const char *sub, const char *name)
{
    return test_path_mkdir(LMMIQA_BINARY_DIR "/test_text_tmp", sub, name);
}

/* Compare every golden sequence of `key`; returns the worst relative L2. */
static double check(const char *path, const char *key, double tol)
{
    lmmiqa_text *t = NULL;
    CHECK_OK(lmmiqa_text_load(path, NULL, NULL, &t));
    if (!t)
        return 1;
    const lmmiqa_text_config *c = lmmiqa_text_get_config(t);
    lmmiqa_text_state *st = NULL;
    CHECK_OK(lmmiqa_text_state_create(t, &st));
    double worst = 0, gold[1024], idsd[128];
    float out[1024];
    int32_t ids[128];
    int k = 0;
    for (; st; k++) {
        int n = tt_golden(GOLDEN, "ids", key, k, idsd, 128);
        if (n == 0)
            break;
        for (int i = 0; i < n; i++)
            ids[i] = (int32_t)idsd[i];
        CHECK(tt_golden(GOLDEN, "emb", key, k, gold, 1024) == c->embed_dim);
        CHECK_OK(lmmiqa_text_forward(t, st, ids, n, 0, out));
        double r = tt_rel_l2(out, gold, c->embed_dim);
        worst = r > worst ? r : worst;
    }
    CHECK_MSG(k >= 5, "%s: only %d golden sequences", key, k);
    fprintf(stderr, "  %-28s %s: %d sequences, worst relative L2 %.3g\n", key,
            strrchr(path, '/') + 1, k, worst);
    CHECK_MSG(worst <= tol, "%s: relative L2 %.3g > %.1g", key, worst, tol);
    lmmiqa_text_state_destroy(st);
    lmmiqa_text_destroy(t);
    return worst;
}

static void test_hf_f32(void)
{
    const char *p = tmp("hf", "model.safetensors");
    CHECK_OK(lmmiqa__clip_random_save(&vtiny, &ttiny, LMMIQA_VIT_NAMING_HF, LMMIQA_DTYPE_F32, 7,
                                      p, 1));
    check(p, "tt_f32", 1e-5);
    lmmiqa_text *t = NULL;
    CHECK_OK(lmmiqa_text_load(p, NULL, NULL, &t));
    if (t) {
        const lmmiqa_text_config *c = lmmiqa_text_get_config(t);
        CHECK(c->naming == LMMIQA_VIT_NAMING_HF && c->heads == 2 && c->vocab_size == 814 &&
              c->context_length == 16 && c->embed_dim == 32 && c->layers == 2);
        CHECK(c->has_logit_scale && fabs(c->logit_scale - 100.0) < 0.01);
        CHECK(strlen(lmmiqa_text_weights_sha256(t)) == 64);
    }
    lmmiqa_text_destroy(t);
    /* the vision tower of the same file still loads */
    lmmiqa_vit *v = NULL;
    CHECK_OK(lmmiqa_vit_load(p, NULL, &v));
    lmmiqa_vit_destroy(v);
}

static void test_hf_f16(void)
{
    const char *p = tmp("hf16", "model.safetensors");
    CHECK_OK(lmmiqa__clip_random_save(&vtiny, &ttiny, LMMIQA_VIT_NAMING_HF, LMMIQA_DTYPE_F16, 7,
                                      p, 1));
    check(p, "tt_f16", 1e-5);
}

static void test_gelu_config(void)
{
    lmmiqa_text_config g = ttiny;
    g.act = LMMIQA_VIT_ACT_GELU;
    const char *p = tmp("gelu", "model.safetensors");
    CHECK_OK(lmmiqa__clip_random_save(&vtiny, &g, LMMIQA_VIT_NAMING_HF, LMMIQA_DTYPE_F32, 7, p,
                                      1));
    check(p, "tt_gelu", 1e-5);
}

static void test_openai(void)
{
    const char *p = tmp("openai", "clip.safetensors");
    CHECK_OK(lmmiqa__clip_random_save(&vtiny, &ttiny, LMMIQA_VIT_NAMING_OPENAI, LMMIQA_DTYPE_F32,
                                      7, p, 0));
    check(p, "tt_f32", 1e-5);
}

static void test_torch_zip(void)
{
    check(LMMIQA_SOURCE_DIR "/tests/data/text/micro_text.pt", "micro_pt", 1e-5);
}

static void test_pooling_and_ids(void)
{
    const char *p = tmp("hf", "model.safetensors");
    lmmiqa_text *t = NULL;
    CHECK_OK(lmmiqa_text_load(p, NULL, NULL, &t));
    if (!t)
        return;
    lmmiqa_text_state *st = NULL;
    CHECK_OK(lmmiqa_text_state_create(t, &st));
    float a[32], b[32];
    int32_t ids[16] = {812, 5, 9, 813, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK_OK(lmmiqa_text_forward(t, st, ids, 4, 0, a));
    CHECK_OK(lmmiqa_text_forward(t, st, ids, 16, 0, b)); /* zero padding: same */
    CHECK(memcmp(a, b, sizeof a) == 0);
    ids[2] = 10; /* a token before the end one changes the embedding */
    CHECK_OK(lmmiqa_text_forward(t, st, ids, 4, 1, b));
    double s = 0, diff = 0;
    for (int i = 0; i < 32; i++) {
        s += (double)b[i] * b[i];
        diff += fabs(a[i] - b[i]);
    }
    CHECK(fabs(s - 1.0) < 1e-5 && diff > 1e-3);
    ids[1] = 814;
    CHECK(lmmiqa_text_forward(t, st, ids, 4, 0, a) == LMMIQA_ERR_INVALID_ARG);
    ids[1] = -1;
    CHECK(lmmiqa_text_forward(t, st, ids, 4, 0, a) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_text_forward(t, st, ids, 17, 0, a) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_text_forward(t, st, ids, 0, 0, a) == LMMIQA_ERR_INVALID_ARG);
    lmmiqa_text_state_destroy(st);
    lmmiqa_text_destroy(t);
    lmmiqa_text_destroy(NULL);
    lmmiqa_text_state_destroy(NULL);
}

/* Copy of src with tensor `name` replaced by (or added as) zeros of shape
 * (d0, d1), or dropped when d0 == 0. */
static void rewrite(const char *src, const char *dst, const char *name, int64_t d0, int64_t d1)
{
    lmmiqa_safetensors *in = NULL;
    lmmiqa_safetensors_writer *w = NULL;
    CHECK_OK(lmmiqa_safetensors_open(src, &in));
    CHECK_OK(lmmiqa_safetensors_writer_create(&w));
    if (!in || !w)
        return;
    float *buf = calloc(1 << 20, sizeof(float));
    int seen = 0;
    for (size_t i = 0; i < lmmiqa_safetensors_count(in); i++) {
        lmmiqa_tensor_info info;
        CHECK_OK(lmmiqa_safetensors_get(in, i, &info));
        if (strcmp(info.name, name) == 0) {
            seen = 1;
            if (d0) {
                int64_t s[2] = {d0, d1};
                memset(buf, 0, sizeof(float) * (size_t)(d0 * (d1 ? d1 : 1)));
                CHECK_OK(lmmiqa_safetensors_writer_add(w, name, LMMIQA_DTYPE_F32, buf,
                                                       d1 ? 2 : 1, s));
            }
            continue;
        }
        if (info.dtype == LMMIQA_DTYPE_I64)
            continue;
        size_t numel = 1;
        for (int d = 0; d < info.ndim; d++)
            numel *= (size_t)info.shape[d];
        CHECK_OK(lmmiqa_safetensors_read_f32(in, info.name, buf, numel));
        CHECK_OK(lmmiqa_safetensors_writer_add(w, info.name, LMMIQA_DTYPE_F32, buf, info.ndim,
                                               info.shape));
    }
    if (!seen && d0) {
        int64_t s[2] = {d0, d1};
        memset(buf, 0, sizeof(float) * (size_t)(d0 * (d1 ? d1 : 1)));
        CHECK_OK(lmmiqa_safetensors_writer_add(w, name, LMMIQA_DTYPE_F32, buf, d1 ? 2 : 1, s));
    }
    CHECK_OK(lmmiqa_safetensors_writer_save(w, dst));
    lmmiqa_safetensors_writer_destroy(w);
    lmmiqa_safetensors_close(in);
    free(buf);
}

static void test_refused(void)
{
    const char *good = tmp("hf", "model.safetensors");
    lmmiqa_text *t = NULL;
    /* wrong shape of one block tensor: the error names it */
    const char *bad = tmp("bad", "fc2.safetensors");
    rewrite(good, bad, "text_model.encoder.layers.1.mlp.fc2.weight", 128, 255);
    CHECK(lmmiqa_text_load(bad, NULL, NULL, &t) == LMMIQA_ERR_MISMATCH);
    fprintf(stderr, "  refused: %s\n", lmmiqa_error_message());
    CHECK(strstr(lmmiqa_error_message(), "layers.1.mlp.fc2.weight") != NULL);
    CHECK(t == NULL);
    /* a missing tensor */
    rewrite(good, bad, "text_model.final_layer_norm.bias", 0, 0);
    CHECK(lmmiqa_text_load(bad, NULL, NULL, &t) == LMMIQA_ERR_MISMATCH);
    fprintf(stderr, "  refused: %s\n", lmmiqa_error_message());
    CHECK(strstr(lmmiqa_error_message(), "final_layer_norm.bias") != NULL);
    /* positional embedding of another width */
    rewrite(good, bad, "text_model.embeddings.position_embedding.weight", 16, 64);
    CHECK(lmmiqa_text_load(bad, NULL, NULL, &t) == LMMIQA_ERR_MISMATCH);
    /* an extra text tensor */
    rewrite(good, bad, "text_model.encoder.layers.2.extra.weight", 4, 4);
    CHECK(lmmiqa_text_load(bad, NULL, NULL, &t) == LMMIQA_ERR_MISMATCH);
    fprintf(stderr, "  refused: %s\n", lmmiqa_error_message());
    CHECK(strstr(lmmiqa_error_message(), "layers.2.extra.weight") != NULL);
    /* config.json that disagrees with the weights */
    const char *cfg = tmp("badcfg", "config.json");
    FILE *f = fopen(cfg, "w");
    if (f) {
        fputs("{\"text_config\": {\"hidden_size\": 512}}", f);
        fclose(f);
    }
    CHECK(lmmiqa_text_load(good, cfg, NULL, &t) == LMMIQA_ERR_MISMATCH);
    CHECK(strstr(lmmiqa_error_message(), "hidden_size") != NULL);
    /* a vision-only checkpoint (its text stub is not a text tower) */
    const char *vonly = tmp("vonly", "model.safetensors");
    CHECK_OK(lmmiqa__vit_random_save(&vtiny, LMMIQA_VIT_NAMING_OPENAI, LMMIQA_DTYPE_F32, 7, vonly,
                                     0));
    CHECK(lmmiqa_text_load(vonly, NULL, NULL, &t) == LMMIQA_ERR_MISMATCH);
    CHECK(strstr(lmmiqa_error_message(), "positional_embedding") != NULL);
    CHECK(lmmiqa_text_load(LMMIQA_SOURCE_DIR "/tests/data/vit/golden_tiny.txt", NULL, NULL,
                           &t) != LMMIQA_OK);
    CHECK(t == NULL);
}

int main(void)
{
    mkdir(LMMIQA_BINARY_DIR "/test_text_tmp", 0755);
    RUN(test_hf_f32);
    RUN(test_hf_f16);
    RUN(test_gelu_config);
    RUN(test_openai);
    RUN(test_torch_zip);
    RUN(test_pooling_and_ids);
    RUN(test_refused);
    return test_finish();
}
