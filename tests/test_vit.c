/*
 * tests/test_vit.c - the vision transformer against the float64 PyTorch
 * reference of tools/ref/clip_ref.py on small configurations.
 *
 * Checkpoints are written at test time with the generator both sides share
 * (src/models/vit_random.c = clip_ref.py make_weights), in every layout the
 * loader accepts: HF naming F32 / F16 / BF16 with config.json, HF with exact
 * GELU, OpenAI naming without config (shape inference). Each is run on the
 * two synthetic images through the CLIP preprocessing with the crop
 * convention of its naming, and compared with tests/data/vit/golden_tiny.txt.
 * Tolerance: cosine similarity >= 0.99999 and max |diff| <= 1e-5 (embedding
 * entries are O(0.5); float32 vs float64 reference).
 * F32 files run both packed from the mapping (the default) and in place
 * (LMMIQA_WEIGHTS_IN_PLACE=1). Also: loader errors (missing, unexpected,
 * misshaped, wrong dtype tensors, config.json disagreeing with the
 * weights), batch consistency and the unit-length option.
 */
#include "io/safetensors.h"
#include "lmmiqa/advanced/vit.h"
#include "core/internal.h"
#include "models/vit_internal.h"
#include "test.h"
#include "vit_test_util.h"

#include <sys/stat.h>
#include <unistd.h>

#define GOLDEN LMMIQA_SOURCE_DIR "/tests/data/vit/golden_tiny.txt"
#define COS_TOL 0.99999
#define ABS_TOL 1e-5

static const lmmiqa_vit_config tiny = {48, 16, 128, 2, 2, 256, 32, LMMIQA_VIT_ACT_QUICK_GELU,
                                       1e-5, LMMIQA_VIT_NAMING_HF};

static char tmpdir[512];

static const char *tmp_path(const char *sub, const char *file)
{
    return test_path_mkdir(tmpdir, sub, file);
}

/* Run both synthetic images through preprocess + forward, compare. */
static void check_golden(lmmiqa_vit *vit, const char *key, lmmiqa_crop_rounding rounding)
{
    const lmmiqa_vit_config *c = lmmiqa_vit_get_config(vit);
    int S = c->image_size, E = c->embed_dim;
    float *px = malloc(sizeof(float) * 2 * 3 * S * S);
    float *out = malloc(sizeof(float) * 2 * E);
    double *gold = malloc(sizeof(double) * E);
    for (int k = 0; k < 2; k++) {
        lmmiqa_image *img = vt_synth_image(k);
        void *scratch = malloc(lmmiqa_clip_preprocess_scratch(img->width, img->height, S));
        CHECK_OK(lmmiqa_clip_preprocess(img, S, rounding, scratch, px + (size_t)k * 3 * S * S));
        free(scratch);
        lmmiqa_image_destroy(img);
    }
    lmmiqa_vit_state *st = NULL;
    CHECK_OK(lmmiqa_vit_state_create(vit, 2, &st));
    CHECK_OK(lmmiqa_vit_forward(vit, st, px, 2, 0, out));
    for (int k = 0; k < 2; k++) {
        int dim = vt_golden(GOLDEN, key, k, gold, E);
        CHECK_MSG(dim == E, "golden %s/%d missing (dim %d)", key, k, dim);
        if (dim != E)
            continue;
        double cs, md;
        vt_compare(out + (size_t)k * E, gold, E, &cs, &md);
        fprintf(stderr, "  %s image %d: cosine %.10f, max |diff| %.3g\n", key, k, cs, md);
        CHECK_MSG(cs >= COS_TOL && md <= ABS_TOL, "%s image %d: cosine %.9f, max diff %.3g", key,
                  k, cs, md);
    }
    /* batch of one gives the same numbers as the batch of two */
    float *one = malloc(sizeof(float) * E);
    CHECK_OK(lmmiqa_vit_forward(vit, st, px + 3 * S * S, 1, 0, one));
    double md = 0;
    for (int j = 0; j < E; j++)
        md = fmax(md, fabs(one[j] - out[E + j]));
    CHECK_MSG(md <= 1e-5, "batch 1 vs batch 2 differ by %.3g", md);
    /* unit length option */
    CHECK_OK(lmmiqa_vit_forward(vit, st, px + 3 * S * S, 1, 1, one));
    double nn = 0, dot = 0, n2 = 0;
    for (int j = 0; j < E; j++) {
        nn += (double)one[j] * one[j];
        dot += (double)one[j] * out[E + j];
        n2 += (double)out[E + j] * out[E + j];
    }
    CHECK_NEAR(nn, 1.0, 1e-5);
    CHECK_NEAR(dot / sqrt(n2), 1.0, 1e-5);
    CHECK(lmmiqa_vit_forward(vit, st, px, 3, 0, out) == LMMIQA_ERR_INVALID_ARG);
    free(one);
    lmmiqa_vit_state_destroy(st);
    free(px);
    free(out);
    free(gold);
}

static void run_variant(const char *sub, lmmiqa_vit_naming naming, lmmiqa_dtype dtype,
                        lmmiqa_vit_act act, const char *key)
{
    lmmiqa_vit_config c = tiny;
    c.act = act;
    const char *path = tmp_path(sub, "model.safetensors");
    CHECK_OK(lmmiqa__vit_random_save(&c, naming, dtype, 7, path, 1));
    lmmiqa_vit *vit = NULL;
    CHECK_OK(lmmiqa_vit_load(path, NULL, &vit));
    if (!vit)
        return;
    const lmmiqa_vit_config *g = lmmiqa_vit_get_config(vit);
    CHECK(g->width == 128 && g->layers == 2 && g->heads == 2 && g->mlp_dim == 256 &&
          g->patch_size == 16 && g->image_size == 48 && g->embed_dim == 32);
    CHECK(g->naming == naming && g->act == act);
    CHECK(strlen(lmmiqa_vit_weights_sha256(vit)) == 64);
    check_golden(vit, key,
                 naming == LMMIQA_VIT_NAMING_HF ? LMMIQA_CROP_FLOOR : LMMIQA_CROP_ROUND);
    lmmiqa_vit_destroy(vit);
}

static void test_hf_f32(void)
{
    run_variant("hf_f32", LMMIQA_VIT_NAMING_HF, LMMIQA_DTYPE_F32, LMMIQA_VIT_ACT_QUICK_GELU,
                "tiny_hf_f32");
}
static void test_hf_f16(void)
{
    run_variant("hf_f16", LMMIQA_VIT_NAMING_HF, LMMIQA_DTYPE_F16, LMMIQA_VIT_ACT_QUICK_GELU,
                "tiny_hf_f16");
}
static void test_hf_bf16(void)
{
    run_variant("hf_bf16", LMMIQA_VIT_NAMING_HF, LMMIQA_DTYPE_BF16, LMMIQA_VIT_ACT_QUICK_GELU,
                "tiny_hf_bf16");
}
static void test_hf_gelu(void)
{
    run_variant("hf_gelu", LMMIQA_VIT_NAMING_HF, LMMIQA_DTYPE_F32, LMMIQA_VIT_ACT_GELU,
                "tiny_hf_gelu");
}
static void test_openai_f32(void)
{
    run_variant("openai_f32", LMMIQA_VIT_NAMING_OPENAI, LMMIQA_DTYPE_F32,
                LMMIQA_VIT_ACT_QUICK_GELU, "tiny_openai_f32");
}
/* F32 safetensors are packed from the mapping by default; the in-place path
 * (the products read the mapping) on the same files */
static void test_f32_in_place(void)
{
    setenv("LMMIQA_WEIGHTS_IN_PLACE", "1", 1);
    run_variant("hf_f32_in_place", LMMIQA_VIT_NAMING_HF, LMMIQA_DTYPE_F32,
                LMMIQA_VIT_ACT_QUICK_GELU, "tiny_hf_f32");
    run_variant("openai_f32_in_place", LMMIQA_VIT_NAMING_OPENAI, LMMIQA_DTYPE_F32,
                LMMIQA_VIT_ACT_QUICK_GELU, "tiny_openai_f32");
    unsetenv("LMMIQA_WEIGHTS_IN_PLACE");
}

/* Copy every tensor of `src` into a writer, with one edit applied. */
typedef enum edit { E_DROP, E_RENAME_EXTRA, E_RESHAPE, E_I64 } edit;

static int rewrite_meta(const char *src, const char *dst, const char *target, edit e,
                        const char *meta);

static int rewrite(const char *src, const char *dst, const char *target, edit e)
{
    return rewrite_meta(src, dst, target, e, NULL);
}

static int rewrite_meta(const char *src, const char *dst, const char *target, edit e,
                        const char *meta)
{
    lmmiqa_safetensors *st = NULL;
    lmmiqa_safetensors_writer *w = NULL;
    int rc = lmmiqa_safetensors_open(src, &st);
    if (rc)
        return rc;
    lmmiqa_safetensors_writer_create(&w);
    for (size_t i = 0; i < lmmiqa_safetensors_count(st) && rc == 0; i++) {
        lmmiqa_tensor_info t;
        lmmiqa_safetensors_get(st, i, &t);
        float *v = malloc((t.numel + 1) * sizeof *v);
        lmmiqa_safetensors_read_f32(st, t.name, v, t.numel);
        int hit = strcmp(t.name, target) == 0;
        if (hit && e == E_DROP) {
            free(v);
            continue;
        }
        int64_t shape[8];
        memcpy(shape, t.shape, sizeof shape);
        if (hit && e == E_RESHAPE && t.ndim == 2) {
            shape[0] = t.shape[1];
            shape[1] = t.shape[0];
        }
        rc = lmmiqa_safetensors_writer_add(w, t.name, t.dtype == LMMIQA_DTYPE_I64 ? LMMIQA_DTYPE_F32 : t.dtype, v, t.ndim, shape);
        if (hit && e == E_RENAME_EXTRA)
            rc = lmmiqa_safetensors_writer_add(w, "vision_model.encoder.layers.2.mlp.fc1.bias",
                                               LMMIQA_DTYPE_F32, v, t.ndim, shape);
        free(v);
    }
    if (rc == 0 && meta)
        rc = lmmiqa_safetensors_writer_set_metadata(w, "pad", meta);
    if (rc == 0)
        rc = lmmiqa_safetensors_writer_save(w, dst);
    lmmiqa_safetensors_writer_destroy(w);
    lmmiqa_safetensors_close(st);
    return rc;
}

static void test_loader_errors(void)
{
    const char *good = tmp_path("err_src", "model.safetensors");
    CHECK_OK(lmmiqa__vit_random_save(&tiny, LMMIQA_VIT_NAMING_HF, LMMIQA_DTYPE_F32, 7, good, 0));
    const char *bad = tmp_path("err", "model.safetensors");
    lmmiqa_vit *vit = NULL;
    const char *fc1 = "vision_model.encoder.layers.1.mlp.fc1.bias";

    CHECK_OK(rewrite(good, bad, "vision_model.encoder.layers.1.self_attn.k_proj.weight", E_DROP));
    CHECK(lmmiqa_vit_load(bad, NULL, &vit) == LMMIQA_ERR_MISMATCH);
    CHECK(strstr(lmmiqa_error_message(), "layers.1.self_attn.k_proj.weight") != NULL);
    CHECK(strstr(lmmiqa_error_message(), "missing") != NULL);

    CHECK_OK(rewrite(good, bad, fc1, E_RENAME_EXTRA));
    CHECK(lmmiqa_vit_load(bad, NULL, &vit) == LMMIQA_ERR_MISMATCH);
    CHECK(strstr(lmmiqa_error_message(), "layers.2.mlp.fc1.bias") != NULL);

    CHECK_OK(rewrite(good, bad, "vision_model.encoder.layers.0.mlp.fc2.weight", E_RESHAPE));
    CHECK(lmmiqa_vit_load(bad, NULL, &vit) == LMMIQA_ERR_MISMATCH);
    CHECK(strstr(lmmiqa_error_message(), "mlp.fc2.weight") != NULL);
    CHECK(strstr(lmmiqa_error_message(), "[128, 256]") != NULL);

    CHECK_OK(rewrite(good, bad, "vision_model.post_layernorm.bias", E_DROP));
    CHECK(lmmiqa_vit_load(bad, NULL, &vit) == LMMIQA_ERR_MISMATCH);
    CHECK(strstr(lmmiqa_error_message(), "post_layernorm.bias") != NULL);

    /* an integer tensor where a weight belongs: patch "F32" -> "I32" in the header */
    {
        unsigned char *buf = NULL;
        size_t size = 0;
        CHECK_OK(lmmiqa__file_read_all(good, 1u << 30, &buf, &size));
        const char *pat = "\"vision_model.post_layernorm.bias\":{\"dtype\":\"F32";
        char *hit = buf ? strstr((char *)buf + 8, pat) : NULL;
        CHECK(hit != NULL);
        if (hit) {
            hit[strlen(pat) - 3] = 'I';
            CHECK_OK(lmmiqa__file_write_atomic(bad, buf, size));
            CHECK(lmmiqa_vit_load(bad, NULL, &vit) == LMMIQA_ERR_MISMATCH);
            CHECK(strstr(lmmiqa_error_message(), "post_layernorm.bias") != NULL);
            CHECK(strstr(lmmiqa_error_message(), "I32") != NULL);
        }
        free(buf);
    }
    /* a header length whose first byte is 0x80 (like a pickle's PROTO) is
     * still a safetensors file */
    {
        char pad[300];
        int hit = 0;
        for (int n = 0; n < 260 && !hit; n++) {
            memset(pad, 'x', (size_t)n);
            pad[n] = '\0';
            CHECK_OK(rewrite_meta(good, bad, "none", E_DROP, pad));
            FILE *pf = fopen(bad, "rb");
            hit = pf && fgetc(pf) == 0x80;
            if (pf)
                fclose(pf);
        }
        CHECK(hit);
        CHECK_OK(lmmiqa_vit_load(bad, NULL, &vit));
        lmmiqa_vit_destroy(vit);
        vit = NULL;
    }
    /* config.json that disagrees with the weights */
    const char *cfg = tmp_path("err", "config.json");
    FILE *f = fopen(cfg, "w");
    fputs("{\"projection_dim\": 32, \"vision_config\": {\"hidden_size\": 256}}", f);
    fclose(f);
    CHECK_OK(rewrite(good, bad, "none", E_DROP));
    CHECK(lmmiqa_vit_load(bad, NULL, &vit) == LMMIQA_ERR_MISMATCH);
    CHECK(strstr(lmmiqa_error_message(), "hidden_size") != NULL);
    f = fopen(cfg, "w");
    fputs("{\"vision_config\": {\"hidden_act\": \"relu\"}}", f);
    fclose(f);
    CHECK(lmmiqa_vit_load(bad, NULL, &vit) == LMMIQA_ERR_FORMAT);
    f = fopen(cfg, "w");
    fputs("{\"vision_config\": {\"num_attention_heads\": 3}}", f);
    fclose(f);
    CHECK(lmmiqa_vit_load(bad, NULL, &vit) == LMMIQA_ERR_MISMATCH);
    f = fopen(cfg, "w");
    fputs("{\"vision_config\": {", f);
    fclose(f);
    CHECK(lmmiqa_vit_load(bad, NULL, &vit) == LMMIQA_ERR_CORRUPT);
    /* no vision_config: ignored, defaults from shapes (heads = 128/64 = 2) */
    f = fopen(cfg, "w");
    fputs("{\"model_type\": \"something\"}", f);
    fclose(f);
    CHECK_OK(lmmiqa_vit_load(bad, NULL, &vit));
    if (vit)
        CHECK(lmmiqa_vit_get_config(vit)->heads == 2);
    lmmiqa_vit_destroy(vit);
    vit = NULL;
    /* not a vision tower at all */
    CHECK(lmmiqa_vit_load(LMMIQA_SOURCE_DIR "/tests/data/vit/st_reference.safetensors", NULL,
                          &vit) == LMMIQA_ERR_MISMATCH);
    CHECK(strstr(lmmiqa_error_message(), "not a CLIP vision tower") != NULL);
    CHECK(lmmiqa_vit_load(tmp_path("err", "absent.safetensors"), NULL, &vit) == LMMIQA_ERR_IO);
    CHECK(vit == NULL);
}

static void test_flops(void)
{
    lmmiqa_vit_config b16 = {224, 16, 768, 12, 12, 3072, 512, 0, 1e-5, 0};
    CHECK_REL(lmmiqa_vit_flops(&b16), 35.1e9, 0.01, 0);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/test_vit_%d", LMMIQA_BINARY_DIR, (int)getpid());
    mkdir(tmpdir, 0755);
    RUN(test_hf_f32);
    RUN(test_hf_f16);
    RUN(test_hf_bf16);
    RUN(test_hf_gelu);
    RUN(test_openai_f32);
    RUN(test_f32_in_place);
    RUN(test_loader_errors);
    RUN(test_flops);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_finish();
}
