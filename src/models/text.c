/*
 * src/models/text.c - CLIP's text transformer (lmmiqa/text.h): loading the
 * text tower of a CLIP checkpoint in OpenAI or Hugging Face naming, and the
 * float32 forward pass of one token sequence.
 *
 * Weights: one float32 arena holds the vectors, the token embedding [V, W]
 * and the matrices packed for oneDNN (the projection as [E, W]: OpenAI's
 * text_projection [W, E] is transposed first); with LMMIQA_WEIGHTS_IN_PLACE=1
 * an F32 safetensors file's matrices and token embedding are used in place
 * in the mapping instead (models/transformer.h).
 *
 * Forward pass for n tokens (n <= C):
 *   x[t] = tok[ids[t]] + pos[t]                              [n, W]
 *   blocks with a causal mask (key <= query)                  [n, W]
 *   p = first position of the largest id (the end-of-text token)
 *   pooled = LN_final(x[p]); out = proj pooled                 [E]
 * Padding after the end token does not change x[p] (causal mask), so
 * sequences run at their own length.
 */
#include "lmmiqa/advanced/text.h"

#include "core/internal.h"
#include "models/clip_load.h"
#include "models/transformer.h"
#include "tensor/kernels.h"
#include "tensor/weights.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HF_T "text_model."
#define HF_TL HF_T "encoder.layers.%d."
#define OA_TL "transformer.resblocks.%d."

struct lmmiqa_text {
    lmmiqa_text_config cfg;
    char sha256[65];
    float *arena;
    const float *tok;       /* [V, W] (in the mapping when in place) */
    lmmiqa__weights *file;  /* kept open while matrices are used in place */
    float *pos;             /* [C, W] */
    float *lnf_w, *lnf_b;   /* [W] */
    lmmiqa__mm_w proj;      /* [E, W] */
    lmmiqa__tfm_layer *layer;
};

struct lmmiqa_text_state {
    const lmmiqa_text *text;
    lmmiqa__mm *mm;
    float *mem;
    lmmiqa__tfm_buffers buf;
    float *pooled; /* [W] */
};

/* ----------------------------------------------------------- configuration */

static int dims(lmmiqa__weights *w, const char *name, int ndim, int64_t *d)
{
    lmmiqa_tensor_info t;
    int rc = lmmiqa__weights_find(w, name, &t);
    if (rc)
        return rc;
    int ok = t.ndim == ndim;
    for (int k = 0; ok && k < ndim; k++)
        ok = t.shape[k] >= 1 && t.shape[k] <= (1 << 24);
    if (!ok)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: tensor '%s' is not %d-dimensional",
                            lmmiqa__weights_path(w), name, ndim);
    for (int k = 0; k < ndim; k++)
        d[k] = t.shape[k];
    return LMMIQA_OK;
}

static int infer_config(lmmiqa__weights *w, lmmiqa_text_config *c)
{
    const char *path = lmmiqa__weights_path(w);
    int hf = c->naming == LMMIQA_VIT_NAMING_HF;
    int64_t d[2];
    int rc;
    if ((rc = dims(w, hf ? HF_T "embeddings.token_embedding.weight" : "token_embedding.weight", 2,
                   d)))
        return rc;
    c->vocab_size = (int)d[0];
    c->width = (int)d[1];
    if ((rc = dims(w, hf ? HF_T "embeddings.position_embedding.weight" : "positional_embedding",
                   2, d)))
        return rc;
    if (d[1] != c->width)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                            "%s: positional embedding is [%lld, %lld], the token embedding's "
                            "width is %d",
                            path, (long long)d[0], (long long)d[1], c->width);
    c->context_length = (int)d[0];
    char name[256];
    c->layers = 0;
    for (;;) {
        snprintf(name, sizeof name, hf ? HF_TL "layer_norm1.weight" : OA_TL "ln_1.weight",
                 c->layers);
        if (c->layers >= 4096 || !lmmiqa__weights_has(w, name))
            break;
        c->layers++;
    }
    if (c->layers == 0)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: missing tensor '%s' (no text layers)",
                            path, name);
    snprintf(name, sizeof name, hf ? HF_TL "mlp.fc1.weight" : OA_TL "mlp.c_fc.weight", 0);
    if ((rc = dims(w, name, 2, d)))
        return rc;
    c->mlp_dim = (int)d[0];
    if ((rc = dims(w, hf ? "text_projection.weight" : "text_projection", 2, d)))
        return rc;
    if (d[hf ? 1 : 0] != c->width)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: tensor '%s' is [%lld, %lld], not %s", path,
                            hf ? "text_projection.weight" : "text_projection",
                            (long long)d[0], (long long)d[1],
                            hf ? "[E, width]" : "[width, E]");
    c->embed_dim = (int)d[hf ? 0 : 1];
    c->heads = c->width / 64 > 0 ? c->width / 64 : 1;
    c->act = LMMIQA_VIT_ACT_QUICK_GELU;
    c->ln_eps = 1e-5;
    return LMMIQA_OK;
}

/* config.json's text_config over the inferred configuration: sizes must
 * agree with the weights; heads, activation and epsilon are taken. */
static int apply_config(const char *path, int required, lmmiqa_text_config *c)
{
    cJSON *root;
    int rc = lmmiqa__clip_json_read(path, &root);
    if (rc)
        return rc;
    const cJSON *tc = cJSON_GetObjectItemCaseSensitive(root, "text_config");
    if (!cJSON_IsObject(tc)) {
        if (required)
            rc = lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: no text_config object", path);
        cJSON_Delete(root);
        return rc;
    }
    struct {
        const char *key;
        int want;
    } sizes[] = {{"hidden_size", c->width},
                 {"num_hidden_layers", c->layers},
                 {"intermediate_size", c->mlp_dim},
                 {"max_position_embeddings", c->context_length},
                 {"vocab_size", c->vocab_size}};
    int v, present;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0] && rc == LMMIQA_OK; i++) {
        rc = lmmiqa__clip_json_int(tc, sizes[i].key, 10000000, path, &v, &present);
        if (rc == LMMIQA_OK && present && v != sizes[i].want)
            rc = lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                              "%s: text_config.%s = %d but the weights imply %d", path,
                              sizes[i].key, v, sizes[i].want);
    }
    if (rc == LMMIQA_OK &&
        (rc = lmmiqa__clip_json_int(tc, "num_attention_heads", 10000000, path, &v, &present)) ==
            LMMIQA_OK &&
        present)
        c->heads = v;
    if (rc == LMMIQA_OK)
        rc = lmmiqa__clip_json_act_eps(tc, "text_config", path, &c->act, &c->ln_eps);
    cJSON_Delete(root);
    return rc;
}

/* ----------------------------------------------------------------- loading */

static int read2(lmmiqa__weights *w, const char *name, float *dst, int64_t d0, int64_t d1)
{
    int64_t s[2] = {d0, d1};
    return lmmiqa__weights_read(w, name, d1 ? 2 : 1, s, dst);
}

static int load_tensors(lmmiqa_text *t, lmmiqa__weights *w, int mode)
{
    const int in_place = mode == LMMIQA__TFM_IN_PLACE;
    const lmmiqa_text_config *c = &t->cfg;
    const int hf = c->naming == LMMIQA_VIT_NAMING_HF;
    const int64_t V = c->vocab_size, C = c->context_length, W = c->width, E = c->embed_dim;
    const char *tok = hf ? HF_T "embeddings.token_embedding.weight" : "token_embedding.weight";
    int64_t vw[2] = {V, W};
    int rc;
    if (in_place)
        rc = lmmiqa__weights_map(w, tok, 2, vw, &t->tok);
    else
        rc = read2(w, tok, (float *)t->tok, V, W);
    if (rc ||
        (rc = read2(w, hf ? HF_T "embeddings.position_embedding.weight" : "positional_embedding",
                    t->pos, C, W)) ||
        (rc = read2(w, hf ? HF_T "final_layer_norm.weight" : "ln_final.weight", t->lnf_w, W, 0)) ||
        (rc = read2(w, hf ? HF_T "final_layer_norm.bias" : "ln_final.bias", t->lnf_b, W, 0)))
        return rc;
    size_t ns = lmmiqa__tfm_load_scratch_floats((size_t)W, (size_t)c->mlp_dim);
    if (ns < (size_t)(2 * W * E))
        ns = (size_t)(2 * W * E);
    float *scratch = in_place ? NULL : lmmiqa__malloc(sizeof(float) * ns);
    if (!in_place && !scratch)
        return LMMIQA_ERR_NOMEM;
    rc = lmmiqa__tfm_projection(w, hf ? "text_projection.weight" : "text_projection", hf, (int)E,
                                (int)W, mode, scratch, &t->proj);
    for (int i = 0; rc == LMMIQA_OK && i < c->layers; i++)
        rc = lmmiqa__tfm_layer_load(w, hf, hf ? HF_TL : OA_TL, i, &t->layer[i], c->width,
                                    c->mlp_dim, mode, scratch);
    free(scratch);
    if (rc)
        return rc;
    if (lmmiqa__weights_has(w, "logit_scale")) {
        lmmiqa_tensor_info info;
        float ls = 0;
        int64_t one = 1;
        if ((rc = lmmiqa__weights_find(w, "logit_scale", &info)))
            return rc;
        if (info.ndim > 1 || (info.ndim == 1 && info.shape[0] != 1))
            return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: logit_scale is not a scalar",
                                lmmiqa__weights_path(w));
        if ((rc = lmmiqa__weights_read(w, "logit_scale", info.ndim, &one, &ls)))
            return rc;
        if (!(ls > -20.0f && ls < 20.0f))
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: logit_scale %g is out of range",
                                lmmiqa__weights_path(w), (double)ls);
        t->cfg.has_logit_scale = 1;
        t->cfg.logit_scale = exp((double)ls);
    }
    return LMMIQA_OK;
}

/* Whether an unused tensor belongs to the text tower (then it is an
 * error); the position_ids buffer does not count. */
static int text_tensor(const char *name, int hf)
{
    static const char *const oa[] = {"transformer.", "token_embedding.", "positional_embedding",
                                     "ln_final.", "text_projection"};
    if (hf)
        return (strncmp(name, HF_T, strlen(HF_T)) == 0 ||
                strncmp(name, "text_projection", 15) == 0) &&
               strcmp(name, HF_T "embeddings.position_ids") != 0;
    for (size_t k = 0; k < sizeof oa / sizeof oa[0]; k++)
        if (strncmp(name, oa[k], strlen(oa[k])) == 0)
            return 1;
    return 0;
}

static int alloc_arena(lmmiqa_text *t, int mode)
{
    const int in_place = mode == LMMIQA__TFM_IN_PLACE;
    const lmmiqa_text_config *c = &t->cfg;
    size_t V = (size_t)c->vocab_size, C = (size_t)c->context_length, W = (size_t)c->width;
    size_t M = (size_t)c->mlp_dim, E = (size_t)c->embed_dim, L = (size_t)c->layers;
    size_t proj = in_place ? 0 : lmmiqa__mm_packed_floats((int)E, (int)W);
    size_t tok = in_place ? 0 : V * W;
    size_t total = tok + C * W + 2 * W + proj + L * lmmiqa__tfm_layer_floats(W, M, mode);
    t->arena = lmmiqa__alloc_big(total * sizeof(float));
    t->layer = lmmiqa__calloc(L, sizeof *t->layer);
    if (!t->arena || !t->layer)
        return LMMIQA_ERR_NOMEM;
    float *p = t->arena;
    t->tok = p, p += tok;
    t->pos = p, p += C * W;
    t->lnf_w = p, p += W;
    t->lnf_b = p, p += W;
    t->proj = (lmmiqa__mm_w){p, LMMIQA__MM_B_PACKED}, p += proj;
    for (size_t i = 0; i < L; i++)
        lmmiqa__tfm_layer_bind(&t->layer[i], &p, W, M, mode);
    assert((size_t)(p - t->arena) == total);
    return LMMIQA_OK;
}

int lmmiqa_text_load(const char *path, const char *config_path, const char *prefix,
                     lmmiqa_text **out)
{
    assert(path && out);
    *out = NULL;
    lmmiqa__weights *w = NULL;
    int rc = lmmiqa__weights_open(path, prefix, &w);
    if (rc)
        return rc;
    lmmiqa_text *t = lmmiqa__calloc(1, sizeof *t);
    if (!t) {
        lmmiqa__weights_close(w);
        return LMMIQA_ERR_NOMEM;
    }
    lmmiqa__sha256_job *hash = lmmiqa__sha256_file_start(path);
    if (lmmiqa__weights_has(w, HF_T "embeddings.token_embedding.weight"))
        t->cfg.naming = LMMIQA_VIT_NAMING_HF;
    else if (lmmiqa__weights_has(w, "token_embedding.weight"))
        t->cfg.naming = LMMIQA_VIT_NAMING_OPENAI;
    else {
        rc = lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                          "%s: no CLIP text tower: neither '" HF_T
                          "embeddings.token_embedding.weight' (Hugging Face naming) nor "
                          "'token_embedding.weight' (OpenAI naming) is present (%zu tensors, "
                          "%s); a vision-only checkpoint cannot embed text",
                          path, lmmiqa__weights_count(w), lmmiqa__weights_format(w));
        goto fail;
    }
    if ((rc = infer_config(w, &t->cfg)))
        goto fail;
    char cfgpath[4096];
    if (config_path)
        rc = apply_config(config_path, 1, &t->cfg);
    else if (lmmiqa__clip_config_beside(path, cfgpath, sizeof cfgpath))
        rc = apply_config(cfgpath, 0, &t->cfg);
    if (rc)
        goto fail;
    if (t->cfg.heads < 1 || t->cfg.width % t->cfg.heads != 0) {
        rc = lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                          "%s: text width %d is not divisible into %d attention heads", path,
                          t->cfg.width, t->cfg.heads);
        goto fail;
    }
    int mode = lmmiqa__tfm_load_mode(w);
    if ((rc = alloc_arena(t, mode)) || (rc = load_tensors(t, w, mode)) ||
        (rc = lmmiqa__clip_check_unused(w, "text", t->cfg.naming == LMMIQA_VIT_NAMING_HF,
                                        text_tensor)))
        goto fail;
    rc = lmmiqa__sha256_file_finish(hash, t->sha256);
    hash = NULL;
    if (rc)
        goto fail;
    if (mode == LMMIQA__TFM_IN_PLACE)
        t->file = w; /* the matrices live in its mapping */
    else
        lmmiqa__weights_close(w);
    *out = t;
    return LMMIQA_OK;
fail:
    lmmiqa__sha256_file_cancel(hash);
    lmmiqa__weights_close(w);
    lmmiqa_text_destroy(t);
    return rc;
}

void lmmiqa_text_destroy(lmmiqa_text *text)
{
    if (!text)
        return;
    free(text->arena);
    free(text->layer);
    lmmiqa__weights_close(text->file);
    free(text);
}

const lmmiqa_text_config *lmmiqa_text_get_config(const lmmiqa_text *text) { return &text->cfg; }
const char *lmmiqa_text_weights_sha256(const lmmiqa_text *text) { return text->sha256; }

/* ------------------------------------------------------------------- state */

int lmmiqa_text_state_create(const lmmiqa_text *text, lmmiqa_text_state **out)
{
    assert(text && out);
    *out = NULL;
    const lmmiqa_text_config *c = &text->cfg;
    size_t T = (size_t)c->context_length, W = (size_t)c->width, M = (size_t)c->mlp_dim;
    int slots = lmmiqa__tfm_slots();
    size_t n = T * W * 3 + T * 3 * W + T * M + (size_t)slots * T * T + W;
    lmmiqa_text_state *st = lmmiqa__calloc(1, sizeof *st);
    if (!st)
        return LMMIQA_ERR_NOMEM;
    int rc = lmmiqa__mm_create(slots, &st->mm);
    if (rc == LMMIQA_OK && !(st->mem = lmmiqa__aligned_alloc(64, n * sizeof(float))))
        rc = LMMIQA_ERR_NOMEM;
    if (rc != LMMIQA_OK) {
        lmmiqa_text_state_destroy(st);
        return rc;
    }
    float *p = st->mem;
    st->buf.x = p, p += T * W;
    st->buf.xn = p, p += T * W;
    st->buf.att = p, p += T * W;
    st->buf.qkv = p, p += T * 3 * W;
    st->buf.h = p, p += T * M;
    st->buf.scores = p, p += (size_t)slots * T * T;
    st->pooled = p, p += W;
    assert((size_t)(p - st->mem) == n);
    st->text = text;
    *out = st;
    return LMMIQA_OK;
}

void lmmiqa_text_state_destroy(lmmiqa_text_state *st)
{
    if (!st)
        return;
    lmmiqa__mm_destroy(st->mm);
    free(st->mem);
    free(st);
}

/* ----------------------------------------------------------------- forward */

int lmmiqa_text_forward(const lmmiqa_text *text, lmmiqa_text_state *st, const int32_t *ids,
                        int n, int normalize, float *out)
{
    assert(text && st && ids && out);
    const lmmiqa_text_config *c = &text->cfg;
    if (st->text != text)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "text: state belongs to another model");
    if (n < 1 || n > c->context_length)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "text: %d tokens, the model takes 1..%d (tokenize with the "
                            "context length)",
                            n, c->context_length);
    const int W = c->width, E = c->embed_dim;
    int p = 0;
    for (int t = 0; t < n; t++) {
        if (ids[t] < 0 || ids[t] >= c->vocab_size)
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                "text: token id %d at position %d is outside 0..%d", ids[t], t,
                                c->vocab_size - 1);
        if (ids[t] > ids[p])
            p = t;
    }
    for (int t = 0; t < n; t++) {
        const float *e = text->tok + (size_t)ids[t] * W, *pe = text->pos + (size_t)t * W;
        float *x = st->buf.x + (size_t)t * W;
        for (int j = 0; j < W; j++)
            x[j] = e[j] + pe[j];
    }
    /* tokens after p cannot influence x[p]: run the first p + 1 only */
    lmmiqa__tfm_threads_begin(lmmiqa__mm_slots(st->mm));
    int rc = lmmiqa__tfm_forward(st->mm, text->layer, c->layers, 1, p + 1, W, c->heads,
                                 c->mlp_dim, (int)c->act, (float)c->ln_eps, 1, &st->buf);
    if (rc != LMMIQA_OK)
        return rc;
    lmmiqa__layernorm(1, W, st->buf.x + (size_t)p * W, W, text->lnf_w, text->lnf_b,
                      (float)c->ln_eps, st->pooled, W);
    if ((rc = lmmiqa__mm_linear(st->mm, 1, E, W, st->pooled, text->proj, NULL,
                                LMMIQA__MM_NO_ACT, 0, out, E)))
        return rc;
    if (normalize) {
        double s = 0;
        for (int j = 0; j < E; j++)
            s += (double)out[j] * out[j];
        if (s > 0) {
            float inv = (float)(1.0 / sqrt(s));
            for (int j = 0; j < E; j++)
                out[j] *= inv;
        }
    }
    return LMMIQA_OK;
}
