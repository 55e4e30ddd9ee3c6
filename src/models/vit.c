/*
 * src/models/vit.c - the CLIP-family vision transformer: weight loading
 * (Hugging Face and OpenAI naming, config.json or shape inference) and the
 * batched float32 forward pass.
 *
 * Weights are kept in one float32 arena in the layout the forward pass wants:
 * q, k and v projections fused into one [3W, W] matrix (HF's separate
 * q/k/v_proj are stacked; OpenAI's in_proj_weight already is), with the
 * attention scale 1/sqrt(head_dim) folded into the q rows and bias (exact for
 * head_dim 64, a power of two), and the projection stored [E, W] (OpenAI's
 * visual.proj [W, E] is transposed on load).
 *
 * The matrices (patch embedding, projection, the blocks') are used in place
 * in the memory-mapped file when it is an F32 safetensors file (no copy:
 * loading costs the mapping and the checks), else converted and packed for
 * oneDNN's matmul at load (tensor/matmul.h, models/transformer.h).
 *
 * Forward pass for B images, T = (S/P)^2 + 1 tokens, width W, MLP width M:
 *   im2col [B*Np, 3PP] x patch_w^T -> + class token, + positions -> ln_pre
 *   the blocks (models/transformer.c, no mask)                [B*T, W]
 *   pooled = LN_post(x[:, 0]); out = pooled proj^T             [B, E]
 * Threads: OpenBLAS's setting (lmmiqa__tfm_threads_begin), on the calling
 * thread's OpenMP team, which oneDNN's products use too.
 */
#include "lmmiqa/advanced/vit.h"

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

struct lmmiqa_vit {
    lmmiqa_vit_config cfg;
    size_t arena_bytes;
    char sha256[65];
    float *arena;
    lmmiqa__weights *file;    /* kept open while matrices are used in place */
    size_t mapped_bytes;      /* bytes of matrices used in place */
    lmmiqa__mm_w patch_w;     /* [W, 3*P*P] */
    float *cls;               /* [W] */
    float *pos;               /* [T, W] */
    float *pre_w, *pre_b;     /* [W] */
    float *post_w, *post_b;   /* [W] */
    lmmiqa__mm_w proj;        /* [E, W] (OpenAI in place: [W, E], NN) */
    lmmiqa__tfm_layer *layer; /* [L] */
};

struct lmmiqa_vit_state {
    const lmmiqa_vit *vit;
    int max_batch;
    size_t bytes;
    lmmiqa__mm *mm; /* products: plans by shape, one slot per thread */
    float *mem;
    float *x;      /* [B*T, W] residual stream */
    float *xn;     /* [B*T, W] LayerNorm output / patch embeddings */
    float *qkv;    /* [B*T, 3W] */
    float *att;    /* [B*T, W] */
    float *h;      /* [B*T, max(M, 3PP)] MLP hidden / im2col */
    float *scores; /* [slots, T, T] */
    float *pooled; /* [B, W] */
};

/* ----------------------------------------------------------- configuration */

static int tokens(const lmmiqa_vit_config *c)
{
    int g = c->image_size / c->patch_size;
    return g * g + 1;
}

double lmmiqa_vit_flops(const lmmiqa_vit_config *c)
{
    double T = tokens(c), Np = T - 1, W = c->width, M = c->mlp_dim, E = c->embed_dim;
    double D = 3.0 * c->patch_size * c->patch_size;
    double layer = 2 * T * W * 3 * W + 4 * T * T * W + 2 * T * W * W + 4 * T * W * M;
    return 2 * Np * D * W + c->layers * layer + 2 * W * E;
}

/* Names of one tensor in either naming. */
typedef struct names {
    char buf[256];
} names;

static const char *nm(names *n, const char *fmt, int i)
{
    snprintf(n->buf, sizeof n->buf, fmt, i);
    return n->buf;
}

#define HF_V "vision_model."
#define HF_L HF_V "encoder.layers.%d."
#define OA_L "visual.transformer.resblocks.%d."

static int shape_of(lmmiqa__weights *w, const char *name, lmmiqa_tensor_info *info)
{
    return lmmiqa__weights_find(w, name, info);
}

/* Apply config.json (vision_config) over the inferred configuration.
 * Returns 0 when the file has no vision_config and `required` is 0. */
static int apply_config_json(const char *path, int required, lmmiqa_vit_config *cfg,
                             int *have_heads)
{
    cJSON *root;
    int rc = lmmiqa__clip_json_read(path, &root);
    if (rc != LMMIQA_OK)
        return rc;
    const cJSON *vc = cJSON_GetObjectItemCaseSensitive(root, "vision_config");
    if (!cJSON_IsObject(vc)) {
        /* a bare CLIPVisionConfig also counts */
        if (cJSON_GetObjectItemCaseSensitive(root, "hidden_size") &&
            cJSON_GetObjectItemCaseSensitive(root, "patch_size"))
            vc = root;
    }
    if (!cJSON_IsObject(vc)) {
        cJSON_Delete(root);
        if (required)
            return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: no vision_config object", path);
        return LMMIQA_OK;
    }
    int v, present;
    struct {
        const char *key;
        int *field;
    } ints[] = {{"hidden_size", &cfg->width},       {"num_hidden_layers", &cfg->layers},
                {"intermediate_size", &cfg->mlp_dim}, {"patch_size", &cfg->patch_size},
                {"image_size", &cfg->image_size}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0] && rc == LMMIQA_OK; i++) {
        rc = lmmiqa__clip_json_int(vc, ints[i].key, 1000000, path, &v, &present);
        if (rc == LMMIQA_OK && present && v != *ints[i].field)
            rc = lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                              "%s: vision_config.%s = %d but the weights imply %d", path,
                              ints[i].key, v, *ints[i].field);
    }
    if (rc == LMMIQA_OK &&
        (rc = lmmiqa__clip_json_int(vc, "num_attention_heads", 1000000, path, &v, &present)) ==
            LMMIQA_OK &&
        present) {
        cfg->heads = v;
        *have_heads = 1;
    }
    if (rc == LMMIQA_OK &&
        (rc = lmmiqa__clip_json_int(root, "projection_dim", 1000000, path, &v, &present)) ==
            LMMIQA_OK &&
        !present && vc != root)
        rc = lmmiqa__clip_json_int(vc, "projection_dim", 1000000, path, &v, &present);
    if (rc == LMMIQA_OK && present && v != cfg->embed_dim)
        rc = lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: projection_dim = %d but the weights imply %d",
                          path, v, cfg->embed_dim);
    if (rc == LMMIQA_OK)
        rc = lmmiqa__clip_json_act_eps(vc, "vision_config", path, &cfg->act, &cfg->ln_eps);
    cJSON_Delete(root);
    return rc;
}

/* Infer the architecture from the tensor shapes. */
static int infer_config(lmmiqa__weights *w, lmmiqa_vit_config *c)
{
    const char *path = lmmiqa__weights_path(w);
    int hf = c->naming == LMMIQA_VIT_NAMING_HF;
    lmmiqa_tensor_info t;
    int rc;
    if ((rc = shape_of(w, hf ? HF_V "embeddings.class_embedding" : "visual.class_embedding", &t)))
        return rc;
    if (t.ndim != 1 || t.shape[0] < 1 || t.shape[0] > 65536)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: tensor '%s' is not a vector", path, t.name);
    c->width = (int)t.shape[0];
    if ((rc = shape_of(w, hf ? HF_V "embeddings.patch_embedding.weight" : "visual.conv1.weight",
                       &t)))
        return rc;
    if (t.ndim != 4 || t.shape[0] != c->width || t.shape[1] != 3 || t.shape[2] != t.shape[3] ||
        t.shape[2] < 1 || t.shape[2] > 1024)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                            "%s: tensor '%s' is not a [%d, 3, P, P] patch convolution", path,
                            t.name, c->width);
    c->patch_size = (int)t.shape[2];
    if ((rc = shape_of(w,
                       hf ? HF_V "embeddings.position_embedding.weight"
                          : "visual.positional_embedding",
                       &t)))
        return rc;
    if (t.ndim != 2 || t.shape[1] != c->width || t.shape[0] < 2 || t.shape[0] > 1000000)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: tensor '%s' is not [T, %d]", path, t.name,
                            c->width);
    int g = (int)lround(sqrt((double)(t.shape[0] - 1)));
    if ((int64_t)g * g + 1 != t.shape[0])
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                            "%s: tensor '%s' has %lld positions, not a square grid + 1", path,
                            t.name, (long long)t.shape[0]);
    c->image_size = g * c->patch_size;
    names n;
    c->layers = 0;
    while (c->layers < 4096 &&
           lmmiqa__weights_has(w, nm(&n, hf ? HF_L "layer_norm1.weight" : OA_L "ln_1.weight",
                                     c->layers)))
        c->layers++;
    if (c->layers == 0)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: missing tensor '%s' (no transformer layers)",
                            path, nm(&n, hf ? HF_L "layer_norm1.weight" : OA_L "ln_1.weight", 0));
    if ((rc = shape_of(w, nm(&n, hf ? HF_L "mlp.fc1.weight" : OA_L "mlp.c_fc.weight", 0), &t)))
        return rc;
    if (t.ndim != 2 || t.shape[1] != c->width || t.shape[0] < 1 || t.shape[0] > 1 << 20)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: tensor '%s' is not [M, %d]", path, t.name,
                            c->width);
    c->mlp_dim = (int)t.shape[0];
    if ((rc = shape_of(w, hf ? "visual_projection.weight" : "visual.proj", &t)))
        return rc;
    int e_axis = hf ? 0 : 1;
    if (t.ndim != 2 || t.shape[1 - e_axis] != c->width || t.shape[e_axis] < 1 ||
        t.shape[e_axis] > 1 << 20)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: tensor '%s' is not %s", path, t.name,
                            hf ? "[E, width]" : "[width, E]");
    c->embed_dim = (int)t.shape[e_axis];
    c->heads = c->width / 64 > 0 ? c->width / 64 : 1;
    c->act = LMMIQA_VIT_ACT_QUICK_GELU;
    c->ln_eps = 1e-5;
    return LMMIQA_OK;
}

/* ----------------------------------------------------------------- loading */

static int read1(lmmiqa__weights *w, const char *name, float *dst, int64_t d0)
{
    int64_t s[1] = {d0};
    return lmmiqa__weights_read(w, name, 1, s, dst);
}

static int read2(lmmiqa__weights *w, const char *name, float *dst, int64_t d0, int64_t d1)
{
    int64_t s[2] = {d0, d1};
    return lmmiqa__weights_read(w, name, 2, s, dst);
}

/* Floats of scratch load_tensors needs. */
static size_t load_scratch_floats(const lmmiqa_vit_config *c)
{
    size_t W = (size_t)c->width, E = (size_t)c->embed_dim, P = (size_t)c->patch_size;
    size_t n = lmmiqa__tfm_load_scratch_floats(W, (size_t)c->mlp_dim);
    n = n > 3 * P * P * W ? n : 3 * P * P * W;
    return n > 2 * W * E ? n : 2 * W * E;
}

static int load_tensors(lmmiqa_vit *v, lmmiqa__weights *w, int mode, float *scratch)
{
    const lmmiqa_vit_config *c = &v->cfg;
    int hf = c->naming == LMMIQA_VIT_NAMING_HF;
    int64_t W = c->width, E = c->embed_dim, P = c->patch_size, T = tokens(c);
    int rc;
    int64_t conv[4] = {W, 3, P, P};
    if ((rc = lmmiqa__tfm_matrix(w,
                                 hf ? HF_V "embeddings.patch_embedding.weight"
                                    : "visual.conv1.weight",
                                 4, conv, (int)W, (int)(3 * P * P), mode, scratch,
                                 (float *)v->patch_w.w, &v->patch_w)))
        return rc;
    if ((rc = read1(w, hf ? HF_V "embeddings.class_embedding" : "visual.class_embedding", v->cls,
                    W)) ||
        (rc = read2(w,
                    hf ? HF_V "embeddings.position_embedding.weight"
                       : "visual.positional_embedding",
                    v->pos, T, W)) ||
        (rc = read1(w, hf ? HF_V "pre_layrnorm.weight" : "visual.ln_pre.weight", v->pre_w, W)) ||
        (rc = read1(w, hf ? HF_V "pre_layrnorm.bias" : "visual.ln_pre.bias", v->pre_b, W)) ||
        (rc = read1(w, hf ? HF_V "post_layernorm.weight" : "visual.ln_post.weight", v->post_w,
                    W)) ||
        (rc = read1(w, hf ? HF_V "post_layernorm.bias" : "visual.ln_post.bias", v->post_b, W)))
        return rc;
    if ((rc = lmmiqa__tfm_projection(w, hf ? "visual_projection.weight" : "visual.proj", hf,
                                     (int)E, (int)W, mode, scratch, &v->proj)))
        return rc;
    for (int i = 0; i < c->layers; i++)
        if ((rc = lmmiqa__tfm_layer_load(w, hf, hf ? HF_L : OA_L, i, &v->layer[i], c->width,
                                         c->mlp_dim, mode, scratch)))
            return rc;
    return LMMIQA_OK;
}

/* Whether an unused tensor belongs to the vision tower (then it is an
 * error). Other towers (text), logit_scale and the position_ids buffer do
 * not count. */
static int vision_tensor(const char *name, int hf)
{
    int vision = hf ? (strncmp(name, HF_V, strlen(HF_V)) == 0 ||
                       strncmp(name, "visual_projection.", 18) == 0)
                    : strncmp(name, "visual.", 7) == 0;
    return vision && strcmp(name, HF_V "embeddings.position_ids") != 0;
}

static int alloc_arena(lmmiqa_vit *v, int mode)
{
    const lmmiqa_vit_config *c = &v->cfg;
    size_t W = (size_t)c->width, M = (size_t)c->mlp_dim, E = (size_t)c->embed_dim;
    size_t P = (size_t)c->patch_size, T = (size_t)tokens(c), L = (size_t)c->layers;
    size_t per_layer = lmmiqa__tfm_layer_floats(W, M, mode);
    int in_place = mode == LMMIQA__TFM_IN_PLACE;
    size_t patch = in_place ? 0 : lmmiqa__mm_packed_floats((int)W, (int)(3 * P * P));
    size_t proj = in_place ? 0 : lmmiqa__mm_packed_floats((int)E, (int)W);
    size_t total = patch + W + T * W + 4 * W + proj + L * per_layer;
    v->arena = lmmiqa__alloc_big(total * sizeof(float));
    v->arena_bytes = total * sizeof(float);
    v->layer = lmmiqa__calloc(L, sizeof *v->layer);
    if (!v->arena || !v->layer)
        return LMMIQA_ERR_NOMEM;
    float *p = v->arena;
#define TAKE(ptr, n) (ptr = p, p += (n))
    v->patch_w = (lmmiqa__mm_w){p, LMMIQA__MM_B_PACKED}, p += patch;
    TAKE(v->cls, W);
    TAKE(v->pos, T * W);
    TAKE(v->pre_w, W);
    TAKE(v->pre_b, W);
    TAKE(v->post_w, W);
    TAKE(v->post_b, W);
    v->proj = (lmmiqa__mm_w){p, LMMIQA__MM_B_PACKED}, p += proj;
    for (size_t i = 0; i < L; i++)
        lmmiqa__tfm_layer_bind(&v->layer[i], &p, W, M, mode);
#undef TAKE
    assert((size_t)(p - v->arena) == total);
    return LMMIQA_OK;
}

int lmmiqa_vit_load(const char *path, const lmmiqa_vit_load_options *opts, lmmiqa_vit **out)
{
    assert(path && out);
    *out = NULL;
    lmmiqa_vit_load_options defaults = {0};
    if (!opts)
        opts = &defaults;
    lmmiqa__weights *w = NULL;
    int rc = lmmiqa__weights_open(path, opts->prefix, &w);
    if (rc != LMMIQA_OK)
        return rc;
    lmmiqa_vit *v = lmmiqa__calloc(1, sizeof *v);
    float *scratch = NULL;
    if (!v) {
        lmmiqa__weights_close(w);
        return LMMIQA_ERR_NOMEM;
    }
    lmmiqa__sha256_job *hash = lmmiqa__sha256_file_start(path);
    if (lmmiqa__weights_has(w, HF_V "embeddings.patch_embedding.weight"))
        v->cfg.naming = LMMIQA_VIT_NAMING_HF;
    else if (lmmiqa__weights_has(w, "visual.conv1.weight"))
        v->cfg.naming = LMMIQA_VIT_NAMING_OPENAI;
    else {
        rc = lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                          "%s: not a CLIP vision tower: neither '" HF_V
                          "embeddings.patch_embedding.weight' (Hugging Face naming) nor "
                          "'visual.conv1.weight' (OpenAI naming) is present (%zu tensors, %s)",
                          path, lmmiqa__weights_count(w), lmmiqa__weights_format(w));
        goto fail;
    }
    if ((rc = infer_config(w, &v->cfg)) != LMMIQA_OK)
        goto fail;
    int have_heads = 0;
    char cfgpath[4096];
    if (opts->config_path)
        rc = apply_config_json(opts->config_path, 1, &v->cfg, &have_heads);
    else if (lmmiqa__clip_config_beside(path, cfgpath, sizeof cfgpath))
        rc = apply_config_json(cfgpath, 0, &v->cfg, &have_heads);
    if (rc != LMMIQA_OK)
        goto fail;
    if (v->cfg.heads < 1 || v->cfg.width % v->cfg.heads != 0) {
        rc = lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                          "%s: width %d is not divisible into %d attention heads%s", path,
                          v->cfg.width, v->cfg.heads,
                          have_heads ? "" : " (inferred as width/64; give a config.json)");
        goto fail;
    }
    if (v->cfg.image_size % v->cfg.patch_size != 0) {
        rc = lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: image size %d is not a multiple of patch %d",
                          path, v->cfg.image_size, v->cfg.patch_size);
        goto fail;
    }
    int mode = lmmiqa__tfm_load_mode(w);
    if ((rc = alloc_arena(v, mode)) != LMMIQA_OK)
        goto fail;
    scratch = lmmiqa__malloc(load_scratch_floats(&v->cfg) * sizeof(float));
    if (!scratch) {
        rc = LMMIQA_ERR_NOMEM;
        goto fail;
    }
    if ((rc = load_tensors(v, w, mode, scratch)) != LMMIQA_OK)
        goto fail;
    if ((rc = lmmiqa__clip_check_unused(w, "vision", v->cfg.naming == LMMIQA_VIT_NAMING_HF,
                                        vision_tensor)) != LMMIQA_OK)
        goto fail;
    rc = lmmiqa__sha256_file_finish(hash, v->sha256);
    hash = NULL;
    if (rc != LMMIQA_OK)
        goto fail;
    free(scratch);
    if (mode == LMMIQA__TFM_IN_PLACE) {
        const lmmiqa_vit_config *c = &v->cfg;
        size_t W = (size_t)c->width, M = (size_t)c->mlp_dim, P = (size_t)c->patch_size;
        v->mapped_bytes = sizeof(float) * (W * 3 * P * P + W * (size_t)c->embed_dim +
                                           (size_t)c->layers * (4 * W * W + 2 * W * M));
        v->file = w; /* the matrices live in its mapping */
    } else {
        lmmiqa__weights_close(w);
    }
    *out = v;
    return LMMIQA_OK;
fail:
    lmmiqa__sha256_file_cancel(hash);
    free(scratch);
    lmmiqa__weights_close(w);
    lmmiqa_vit_destroy(v);
    return rc;
}

void lmmiqa_vit_destroy(lmmiqa_vit *vit)
{
    if (!vit)
        return;
    free(vit->arena);
    free(vit->layer);
    lmmiqa__weights_close(vit->file);
    free(vit);
}

const lmmiqa_vit_config *lmmiqa_vit_get_config(const lmmiqa_vit *vit) { return &vit->cfg; }
const char *lmmiqa_vit_weights_sha256(const lmmiqa_vit *vit) { return vit->sha256; }
size_t lmmiqa_vit_weights_bytes(const lmmiqa_vit *vit)
{
    return vit->arena_bytes + vit->mapped_bytes;
}

/* ------------------------------------------------------------------- state */

int lmmiqa_vit_state_create(const lmmiqa_vit *vit, int max_batch, lmmiqa_vit_state **out)
{
    assert(vit && out);
    *out = NULL;
    if (max_batch < 1 || max_batch > 4096)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "vit: max_batch %d out of range 1..4096",
                            max_batch);
    const lmmiqa_vit_config *c = &vit->cfg;
    size_t B = (size_t)max_batch, T = (size_t)tokens(c), W = (size_t)c->width;
    size_t D = 3 * (size_t)c->patch_size * (size_t)c->patch_size;
    size_t H = (size_t)c->mlp_dim > D ? (size_t)c->mlp_dim : D;
    int slots = lmmiqa__tfm_slots();
    size_t n = B * T * W * 3 + B * T * 3 * W + B * T * H + (size_t)slots * T * T + B * W;
    lmmiqa_vit_state *st = lmmiqa__calloc(1, sizeof *st);
    if (!st)
        return LMMIQA_ERR_NOMEM;
    int rc = lmmiqa__mm_create(slots, &st->mm);
    if (rc != LMMIQA_OK) {
        free(st);
        return rc;
    }
    st->mem = lmmiqa__alloc_big(n * sizeof(float));
    if (!st->mem) {
        lmmiqa_vit_state_destroy(st);
        return LMMIQA_ERR_NOMEM;
    }
    float *p = st->mem;
    st->x = p, p += B * T * W;
    st->xn = p, p += B * T * W;
    st->att = p, p += B * T * W;
    st->qkv = p, p += B * T * 3 * W;
    st->h = p, p += B * T * H;
    st->scores = p, p += (size_t)slots * T * T;
    st->pooled = p, p += B * W;
    assert((size_t)(p - st->mem) == n);
    st->vit = vit;
    st->max_batch = max_batch;
    st->bytes = n * sizeof(float);
    *out = st;
    return LMMIQA_OK;
}

void lmmiqa_vit_state_destroy(lmmiqa_vit_state *st)
{
    if (!st)
        return;
    lmmiqa__mm_destroy(st->mm);
    free(st->mem);
    free(st);
}

size_t lmmiqa_vit_state_bytes(const lmmiqa_vit_state *st) { return st->bytes; }

/* ----------------------------------------------------------------- forward */

int lmmiqa_vit_forward(const lmmiqa_vit *vit, lmmiqa_vit_state *st, const float *pixels,
                       int batch, int normalize, float *out)
{
    assert(vit && st && pixels && out);
    if (st->vit != vit)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "vit: state belongs to another model");
    if (batch < 1 || batch > st->max_batch)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "vit: batch %d outside 1..%d", batch,
                            st->max_batch);
    const lmmiqa_vit_config *c = &vit->cfg;
    const int B = batch, T = tokens(c), W = c->width, M = c->mlp_dim, E = c->embed_dim;
    const int P = c->patch_size, S = c->image_size, g = S / P, Np = g * g, D = 3 * P * P;
    const int act = (int)c->act;
    const float eps = (float)c->ln_eps;

    lmmiqa__tfm_threads_begin(lmmiqa__mm_slots(st->mm));

    /* im2col: h[B*Np, D], column order (channel, ky, kx) as the conv weight */
    LMMIQA__OMP(omp parallel for schedule(static) if (B * Np * D >= 65536))
    for (int r = 0; r < B * Np; r++) {
        int b = r / Np, gy = (r % Np) / g, gx = r % g;
        float *row = st->h + (size_t)r * D;
        for (int ch = 0; ch < 3; ch++)
            for (int ky = 0; ky < P; ky++) {
                const float *src =
                    pixels + (((size_t)b * 3 + ch) * S + (size_t)gy * P + ky) * S + (size_t)gx * P;
                memcpy(row + (ch * P + ky) * P, src, (size_t)P * sizeof(float));
            }
    }
    /* patch embeddings xn[B*Np, W] = h x patch_w^T */
    int rc = lmmiqa__mm_linear(st->mm, B * Np, W, D, st->h, vit->patch_w, NULL,
                               LMMIQA__MM_NO_ACT, 0, st->xn, W);
    if (rc != LMMIQA_OK)
        return rc;
    for (int b = 0; b < B; b++) {
        float *x0 = st->x + (size_t)b * T * W;
        for (int j = 0; j < W; j++)
            x0[j] = vit->cls[j] + vit->pos[j];
        for (int t = 1; t < T; t++) {
            float *xr = x0 + (size_t)t * W;
            const float *e = st->xn + ((size_t)b * Np + t - 1) * W;
            const float *pr = vit->pos + (size_t)t * W;
            for (int j = 0; j < W; j++)
                xr[j] = e[j] + pr[j];
        }
    }
    const int R = B * T;
    lmmiqa__layernorm(R, W, st->x, W, vit->pre_w, vit->pre_b, eps, st->x, W);

    lmmiqa__tfm_buffers buf = {st->x, st->xn, st->qkv, st->att, st->h, st->scores};
    if ((rc = lmmiqa__tfm_forward(st->mm, vit->layer, c->layers, B, T, W, c->heads, M, act, eps,
                                  0, &buf)))
        return rc;
    /* class tokens: post LayerNorm, projection */
    lmmiqa__layernorm(B, W, st->x, T * W, vit->post_w, vit->post_b, eps, st->pooled, W);
    if ((rc = lmmiqa__mm_linear(st->mm, B, E, W, st->pooled, vit->proj, NULL, LMMIQA__MM_NO_ACT,
                                0, out, E)))
        return rc;
    if (normalize)
        for (int b = 0; b < B; b++) {
            float *o = out + (size_t)b * E;
            double s = 0;
            for (int j = 0; j < E; j++)
                s += (double)o[j] * o[j];
            if (s > 0) {
                float inv = (float)(1.0 / sqrt(s));
                for (int j = 0; j < E; j++)
                    o[j] *= inv;
            }
        }
    return LMMIQA_OK;
}
