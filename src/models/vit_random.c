/*
 * src/models/vit_random.c - deterministic "published layout" checkpoints with
 * generated weights, for tests and benchmarks where real weights cannot be
 * downloaded. The numbers are those of tools/ref/clip_ref.py bit for bit:
 *   seed(name) = fnv1a64(name) ^ (seed * 0x9E3779B97F4A7C15)
 *   z_i = splitmix64_mix(seed(name) + (i + 1) * 0x9E3779B97F4A7C15)
 *   u_i = (z_i >> 40) * 2^-23 - 1
 * scaled by powers of two per tensor kind, on the Hugging Face names.
 */
#include "vit_internal.h"

#include "core/internal.h"
#include "core/json.h"
#include "models/clip_load.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lmmiqa__vit_random_uniform(const char *name, uint64_t seed, size_t n, float *out)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    uint64_t s = h ^ (seed * 0x9E3779B97F4A7C15ull);
    for (size_t i = 0; i < n; i++) {
        uint64_t z = s + (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        out[i] = (float)(z >> 40) * 0x1p-23f - 1.0f;
    }
}

enum kind { K_W, K_B, K_LNW, K_LNB, K_CLS, K_POS };

static void gen(const char *name, uint64_t seed, size_t n, enum kind k, int fan_in, float *out)
{
    lmmiqa__vit_random_uniform(name, seed, n, out);
    float s = 1.0f;
    switch (k) {
    case K_W:
        s = ldexpf(1.0f, -(int)lround(log2((double)fan_in) / 2));
        break;
    case K_B:
        s = 0x1p-5f;
        break;
    case K_LNW:
        s = 0x1p-3f;
        break;
    case K_LNB:
        s = 0x1p-4f;
        break;
    case K_CLS:
        s = 0.5f;
        break;
    case K_POS:
        s = 0.25f;
        break;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = k == K_LNW ? 1.0f + out[i] * s : out[i] * s;
}

typedef struct job {
    lmmiqa_safetensors_writer *w;
    lmmiqa_dtype dtype;
    uint64_t seed;
    float *buf, *buf2;
} job;

static int put(job *j, const char *name, const float *data, int ndim, int64_t d0, int64_t d1,
               int64_t d2, int64_t d3)
{
    int64_t shape[4] = {d0, d1, d2, d3};
    return lmmiqa_safetensors_writer_add(j->w, name, j->dtype, data, ndim, shape);
}

/* One transformer block of width W and MLP width M, generated on its Hugging
 * Face names (prefix hfp, e.g. "vision_model.encoder.layers.3.") and saved
 * under those or, in OpenAI naming, under prefix oap (q, k and v stacked
 * into in_proj_weight / in_proj_bias). The vision and the text tower share
 * the layout. */
static int put_layer(job *j, int64_t W, int64_t M, int hf, const char *hfp, const char *oap)
{
    static const char *const hfn[] = {"layer_norm1.weight", "layer_norm1.bias",
                                      "self_attn.out_proj.weight", "self_attn.out_proj.bias",
                                      "layer_norm2.weight", "layer_norm2.bias", "mlp.fc1.weight",
                                      "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias"};
    static const char *const oan[] = {"ln_1.weight", "ln_1.bias", "attn.out_proj.weight",
                                      "attn.out_proj.bias", "ln_2.weight", "ln_2.bias",
                                      "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight",
                                      "mlp.c_proj.bias"};
    static const enum kind kinds[] = {K_LNW, K_LNB, K_W, K_B, K_LNW, K_LNB, K_W, K_B, K_W, K_B};
    static const char *const qkv[3] = {"q", "k", "v"};
    const int64_t d0[] = {W, W, W, W, W, W, M, M, W, W};
    const int64_t d1[] = {0, 0, W, 0, 0, 0, W, 0, M, 0}; /* also the fan-in */
    char n1[200], n2[200];
    int rc;
    for (int part = 0; part < 2; part++) { /* weights, then biases */
        for (int k = 0; k < 3; k++) {
            snprintf(n1, sizeof n1, "%sself_attn.%s_proj.%s", hfp, qkv[k],
                     part ? "bias" : "weight");
            size_t n = (size_t)(part ? W : W * W);
            gen(n1, j->seed, n, part ? K_B : K_W, (int)W, j->buf2 + k * n);
            if (hf && (rc = put(j, n1, j->buf2 + k * n, part ? 1 : 2, W, W, 0, 0)))
                return rc;
        }
        snprintf(n2, sizeof n2, "%sattn.in_proj_%s", oap, part ? "bias" : "weight");
        if (!hf && (rc = put(j, n2, j->buf2, part ? 1 : 2, 3 * W, W, 0, 0)))
            return rc;
    }
    for (int k = 0; k < 10; k++) {
        snprintf(n1, sizeof n1, "%s%s", hfp, hfn[k]);
        snprintf(n2, sizeof n2, "%s%s", oap, oan[k]);
        gen(n1, j->seed, (size_t)(d0[k] * (d1[k] ? d1[k] : 1)), kinds[k], (int)d1[k], j->buf);
        if ((rc = put(j, hf ? n1 : n2, j->buf, d1[k] ? 2 : 1, d0[k], d1[k], 0, 0)))
            return rc;
    }
    return LMMIQA_OK;
}

/* The text tower of configuration tc in the given naming (the generator
 * runs on the Hugging Face names, as tools/ref/clip_text_ref.py does). */
static int put_text(job *j, const lmmiqa_text_config *tc, int hf)
{
    const int64_t V = tc->vocab_size, C = tc->context_length, W = tc->width, M = tc->mlp_dim;
    const int64_t E = tc->embed_dim;
    const uint64_t seed = j->seed;
    char n1[160], n2[160];
    int rc;
    gen("text_model.embeddings.token_embedding.weight", seed, (size_t)(V * W), K_CLS, 0, j->buf);
    if ((rc = put(j, hf ? "text_model.embeddings.token_embedding.weight" : "token_embedding.weight",
                  j->buf, 2, V, W, 0, 0)))
        return rc;
    gen("text_model.embeddings.position_embedding.weight", seed, (size_t)(C * W), K_POS, 0,
        j->buf);
    if ((rc = put(j, hf ? "text_model.embeddings.position_embedding.weight"
                        : "positional_embedding",
                  j->buf, 2, C, W, 0, 0)))
        return rc;
    for (int i = 0; i < tc->layers; i++) {
        snprintf(n1, sizeof n1, "text_model.encoder.layers.%d.", i);
        snprintf(n2, sizeof n2, "transformer.resblocks.%d.", i);
        if ((rc = put_layer(j, W, M, hf, n1, n2)))
            return rc;
    }
    gen("text_model.final_layer_norm.weight", seed, (size_t)W, K_LNW, 0, j->buf);
    if ((rc = put(j, hf ? "text_model.final_layer_norm.weight" : "ln_final.weight", j->buf, 1, W,
                  0, 0, 0)))
        return rc;
    gen("text_model.final_layer_norm.bias", seed, (size_t)W, K_LNB, 0, j->buf);
    if ((rc = put(j, hf ? "text_model.final_layer_norm.bias" : "ln_final.bias", j->buf, 1, W, 0,
                  0, 0)))
        return rc;
    gen("text_projection.weight", seed, (size_t)(E * W), K_W, (int)W, j->buf);
    if (hf)
        return put(j, "text_projection.weight", j->buf, 2, E, W, 0, 0);
    for (int64_t a = 0; a < E; a++)
        for (int64_t b = 0; b < W; b++)
            j->buf2[b * E + a] = j->buf[a * W + b];
    return put(j, "text_projection", j->buf2, 2, W, E, 0, 0);
}

int lmmiqa__vit_random_save(const lmmiqa_vit_config *cfg, lmmiqa_vit_naming naming,
                            lmmiqa_dtype dtype, uint64_t seed, const char *path, int write_config)
{
    return lmmiqa__clip_random_save(cfg, NULL, naming, dtype, seed, path, write_config);
}


/* The fields a transformers text_config and vision_config share. */
static void add_tower(cJSON *o, int width, int layers, int heads, int mlp_dim, lmmiqa_vit_act act,
                      double ln_eps, int *ok)
{
    lmmiqa__json_add_num(o, "hidden_size", width, ok);
    lmmiqa__json_add_num(o, "num_hidden_layers", layers, ok);
    lmmiqa__json_add_num(o, "num_attention_heads", heads, ok);
    lmmiqa__json_add_num(o, "intermediate_size", mlp_dim, ok);
    lmmiqa__json_add_str(o, "hidden_act", act == LMMIQA_VIT_ACT_GELU ? "gelu" : "quick_gelu", ok);
    lmmiqa__json_add_num(o, "layer_norm_eps", ln_eps, ok);
}

/* The transformers config.json of an HF-named checkpoint at path (beside
 * it), with the text tower's part when tc is given. */
static int write_hf_config(const char *path, const lmmiqa_vit_config *cfg,
                           const lmmiqa_text_config *tc)
{
    char cpath[4096];
    lmmiqa__clip_config_beside(path, cpath, sizeof cpath);
    int ok = 1;
    cJSON *root = cJSON_CreateObject(), *vision = cJSON_CreateObject();
    lmmiqa__json_add_str(root, "model_type", "clip", &ok);
    lmmiqa__json_add_num(root, "projection_dim", cfg->embed_dim, &ok);
    if (tc) {
        cJSON *text = cJSON_CreateObject();
        add_tower(text, tc->width, tc->layers, tc->heads, tc->mlp_dim, tc->act, tc->ln_eps, &ok);
        lmmiqa__json_add_num(text, "max_position_embeddings", tc->context_length, &ok);
        lmmiqa__json_add_num(text, "vocab_size", tc->vocab_size, &ok);
        lmmiqa__json_add_item(root, "text_config", text, &ok);
    }
    add_tower(vision, cfg->width, cfg->layers, cfg->heads, cfg->mlp_dim, cfg->act, cfg->ln_eps,
              &ok);
    lmmiqa__json_add_num(vision, "patch_size", cfg->patch_size, &ok);
    lmmiqa__json_add_num(vision, "image_size", cfg->image_size, &ok);
    lmmiqa__json_add_item(root, "vision_config", vision, &ok);
    char *text = lmmiqa__json_print_free(root, ok, 1);
    if (!text)
        return LMMIQA_ERR_NOMEM;
    int rc = lmmiqa__file_write_atomic(cpath, text, strlen(text));
    free(text);
    return rc;
}

int lmmiqa__clip_random_save(const lmmiqa_vit_config *cfg, const lmmiqa_text_config *tc,
                             lmmiqa_vit_naming naming, lmmiqa_dtype dtype, uint64_t seed,
                             const char *path, int write_config)
{
    const int64_t W = cfg->width, M = cfg->mlp_dim, E = cfg->embed_dim, P = cfg->patch_size;
    const int64_t g = cfg->image_size / cfg->patch_size, T = g * g + 1;
    size_t big = (size_t)(3 * W * W > M * W ? 3 * W * W : M * W);
    if ((size_t)(W * 3 * P * P) > big)
        big = (size_t)(W * 3 * P * P);
    if ((size_t)(T * W) > big)
        big = (size_t)(T * W);
    if (tc) {
        size_t tw = (size_t)tc->width, tm = (size_t)tc->mlp_dim;
        size_t tb[4] = {(size_t)tc->vocab_size * tw, 3 * tw * tw, tm * tw,
                        (size_t)tc->context_length * tw};
        for (int k = 0; k < 4; k++)
            big = tb[k] > big ? tb[k] : big;
    }
    job j = {NULL, dtype, seed, lmmiqa__malloc(big * sizeof(float)),
             lmmiqa__malloc(big * sizeof(float))};
    int rc = LMMIQA_ERR_NOMEM;
    if (!j.buf || !j.buf2 || (rc = lmmiqa_safetensors_writer_create(&j.w)) != LMMIQA_OK)
        goto done;
    const int hf = naming == LMMIQA_VIT_NAMING_HF;
    char n1[160], n2[160];
#define GEN(name, n, kind, fan) gen(name, seed, (size_t)(n), kind, (int)(fan), j.buf)
#define PUT(name, nd, a, b, c, d)                                                         \
    do {                                                                                  \
        if ((rc = put(&j, name, j.buf, nd, a, b, c, d)) != LMMIQA_OK)                     \
            goto done;                                                                    \
    } while (0)
    GEN("vision_model.embeddings.class_embedding", W, K_CLS, 0);
    PUT(hf ? "vision_model.embeddings.class_embedding" : "visual.class_embedding", 1, W, 0, 0, 0);
    GEN("vision_model.embeddings.patch_embedding.weight", W * 3 * P * P, K_W, 3 * P * P);
    PUT(hf ? "vision_model.embeddings.patch_embedding.weight" : "visual.conv1.weight", 4, W, 3,
        P, P);
    GEN("vision_model.embeddings.position_embedding.weight", T * W, K_POS, 0);
    PUT(hf ? "vision_model.embeddings.position_embedding.weight" : "visual.positional_embedding",
        2, T, W, 0, 0);
    GEN("vision_model.pre_layrnorm.weight", W, K_LNW, 0);
    PUT(hf ? "vision_model.pre_layrnorm.weight" : "visual.ln_pre.weight", 1, W, 0, 0, 0);
    GEN("vision_model.pre_layrnorm.bias", W, K_LNB, 0);
    PUT(hf ? "vision_model.pre_layrnorm.bias" : "visual.ln_pre.bias", 1, W, 0, 0, 0);
    for (int i = 0; i < cfg->layers; i++) {
        snprintf(n1, sizeof n1, "vision_model.encoder.layers.%d.", i);
        snprintf(n2, sizeof n2, "visual.transformer.resblocks.%d.", i);
        if ((rc = put_layer(&j, W, M, hf, n1, n2)) != LMMIQA_OK)
            goto done;
    }
    GEN("vision_model.post_layernorm.weight", W, K_LNW, 0);
    PUT(hf ? "vision_model.post_layernorm.weight" : "visual.ln_post.weight", 1, W, 0, 0, 0);
    GEN("vision_model.post_layernorm.bias", W, K_LNB, 0);
    PUT(hf ? "vision_model.post_layernorm.bias" : "visual.ln_post.bias", 1, W, 0, 0, 0);
    GEN("visual_projection.weight", E * W, K_W, W);
    if (hf) {
        PUT("visual_projection.weight", 2, E, W, 0, 0);
    } else {
        for (int64_t a = 0; a < E; a++)
            for (int64_t b = 0; b < W; b++)
                j.buf2[b * E + a] = j.buf[a * W + b];
        if ((rc = put(&j, "visual.proj", j.buf2, 2, W, E, 0, 0)) != LMMIQA_OK)
            goto done;
    }
    /* parts of the published files the loader must ignore */
    if (tc) {
        if ((rc = put_text(&j, tc, hf)) != LMMIQA_OK)
            goto done;
    } else {
        for (int k = 0; k < 8; k++)
            j.buf[k] = (float)k;
        PUT(hf ? "text_model.embeddings.token_embedding.weight" : "token_embedding.weight", 2, 2,
            4, 0, 0);
    }
    j.buf[0] = 4.6052f;
    PUT("logit_scale", 0, 0, 0, 0, 0);
    if (hf) {
        for (int64_t k = 0; k < T; k++)
            j.buf[k] = (float)k;
        PUT("vision_model.embeddings.position_ids", 2, 1, T, 0, 0);
    }
#undef GEN
#undef PUT
    if ((rc = lmmiqa_safetensors_writer_set_metadata(j.w, "format", "pt")) != LMMIQA_OK ||
        (rc = lmmiqa_safetensors_writer_save(j.w, path)) != LMMIQA_OK)
        goto done;
    if (hf && write_config)
        rc = write_hf_config(path, cfg, tc);
done:
    lmmiqa_safetensors_writer_destroy(j.w);
    free(j.buf);
    free(j.buf2);
    return rc;
}
