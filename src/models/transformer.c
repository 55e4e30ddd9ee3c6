/*
 * src/models/transformer.c - the CLIP transformer block shared by the vision
 * and text towers (see transformer.h): loading in either naming (matrices in
 * place in the mapped file, or packed for oneDNN), and the batched forward
 * pass. Every product carries its own bias (and the activation, and the
 * residual sum) fused, so the forward pass is LayerNorm, four products and
 * the attention per block.
 * The attention runs one (sequence, head) pair per task on the threads of
 * the calling thread's OpenMP team: scores[T, T] = Q K^T in that thread's
 * own buffer (cache-resident: 152 KB for T = 197), softmax, then S V
 * written straight into the head's columns of att.
 */
#include "models/transformer.h"

#include "core/internal.h"
#include "tensor/kernels.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

size_t lmmiqa__tfm_layer_floats(size_t W, size_t M, int mode)
{
    int w = (int)W, m = (int)M;
    size_t vectors = 4 * W + 3 * W + W + M + W;
    if (mode == LMMIQA__TFM_IN_PLACE)
        return vectors;
    return vectors + lmmiqa__mm_packed_floats(3 * w, w) + lmmiqa__mm_packed_floats(w, w) +
           lmmiqa__mm_packed_floats(m, w) + lmmiqa__mm_packed_floats(w, m);
}

void lmmiqa__tfm_layer_bind(lmmiqa__tfm_layer *l, float **pp, size_t W, size_t M, int mode)
{
    float *p = *pp;
    int w = (int)W, m = (int)M;
#define TAKE(ptr, n) (ptr = p, p += (n))
#define TAKE_MATRIX(mat, n, k)                                                                     \
    do {                                                                                           \
        if (mode != LMMIQA__TFM_IN_PLACE)                                                          \
            (mat) = (lmmiqa__mm_w){p, LMMIQA__MM_B_PACKED}, p += lmmiqa__mm_packed_floats(n, k);   \
    } while (0)
    TAKE(l->ln1_w, W);
    TAKE(l->ln1_b, W);
    TAKE_MATRIX(l->qkv_w[0], 3 * w, w);
    l->qkv_parts = 1;
    TAKE(l->qkv_b, 3 * W);
    TAKE_MATRIX(l->out_w, w, w);
    TAKE(l->out_b, W);
    TAKE(l->ln2_w, W);
    TAKE(l->ln2_b, W);
    TAKE_MATRIX(l->fc1_w, m, w);
    TAKE(l->fc1_b, M);
    TAKE_MATRIX(l->fc2_w, w, m);
    TAKE(l->fc2_b, W);
#undef TAKE_MATRIX
#undef TAKE
    *pp = p;
}

size_t lmmiqa__tfm_load_scratch_floats(size_t W, size_t M)
{
    return (3 * W > M ? 3 * W : M) * W;
}

static void layer_name(char *name, size_t size, const char *prefix, int i, const char *suffix)
{
    char fmt[256];
    snprintf(fmt, sizeof fmt, "%s%s", prefix, suffix);
    snprintf(name, size, fmt, i);
}

static int rd(lmmiqa__weights *w, const char *prefix, int i, const char *suffix, float *dst,
              int ndim, int64_t d0, int64_t d1)
{
    char name[320];
    layer_name(name, sizeof name, prefix, i, suffix);
    int64_t s[2] = {d0, d1};
    return lmmiqa__weights_read(w, name, ndim, s, dst);
}

int lmmiqa__tfm_matrix(lmmiqa__weights *w, const char *name, int ndim, const int64_t *shape, int n,
                       int k, int mode, float *scratch, float *dst, lmmiqa__mm_w *out)
{
    int64_t nk[2] = {n, k};
    if (!shape)
        ndim = 2, shape = nk;
    if (mode == LMMIQA__TFM_IN_PLACE) {
        out->layout = LMMIQA__MM_B_NT;
        return lmmiqa__weights_map(w, name, ndim, shape, &out->w);
    }
    const float *rows = scratch;
    int rc = mode == LMMIQA__TFM_MAP_PACK ? lmmiqa__weights_map(w, name, ndim, shape, &rows)
                                          : lmmiqa__weights_read(w, name, ndim, shape, scratch);
    if (rc == LMMIQA_OK)
        rc = lmmiqa__mm_pack(n, k, rows, dst);
    *out = (lmmiqa__mm_w){dst, LMMIQA__MM_B_PACKED};
    return rc;
}

int lmmiqa__tfm_projection(lmmiqa__weights *w, const char *name, int hf, int E, int W, int mode,
                           float *scratch, lmmiqa__mm_w *out)
{
    if (hf)
        return lmmiqa__tfm_matrix(w, name, 2, NULL, E, W, mode, scratch, (float *)out->w, out);
    int64_t we[2] = {W, E};
    if (mode == LMMIQA__TFM_IN_PLACE) {
        out->layout = LMMIQA__MM_B_NN;
        return lmmiqa__weights_map(w, name, 2, we, &out->w);
    }
    float *t = scratch + (size_t)W * E;
    const float *src = scratch;
    int rc = mode == LMMIQA__TFM_MAP_PACK ? lmmiqa__weights_map(w, name, 2, we, &src)
                                          : lmmiqa__weights_read(w, name, 2, we, scratch);
    if (rc != LMMIQA_OK)
        return rc;
    for (int i = 0; i < W; i++)
        for (int j = 0; j < E; j++)
            t[(size_t)j * W + i] = src[(size_t)i * E + j];
    return lmmiqa__mm_pack(E, W, t, (float *)out->w);
}

static int layer_matrix(lmmiqa__weights *w, const char *prefix, int i, const char *suffix, int n,
                        int k, int mode, float *scratch, lmmiqa__mm_w *mat)
{
    char name[320];
    layer_name(name, sizeof name, prefix, i, suffix);
    return lmmiqa__tfm_matrix(w, name, 2, NULL, n, k, mode, scratch, (float *)mat->w, mat);
}

/* q, k and v: in place (three matrices, or OpenAI's one in_proj), or
 * stacked in scratch and packed as one [3W, W]. */
static int load_qkv(lmmiqa__weights *w, int hf, const char *prefix, int i, lmmiqa__tfm_layer *L,
                    int W, int mode, float *scratch)
{
    int rc;
    if (!hf)
        return layer_matrix(w, prefix, i, "attn.in_proj_weight", 3 * W, W, mode, scratch,
                            &L->qkv_w[0]);
    static const char *qkv[3] = {"q", "k", "v"};
    for (int k = 0; k < 3; k++) {
        char name[320], sw[64];
        snprintf(sw, sizeof sw, "self_attn.%s_proj.weight", qkv[k]);
        layer_name(name, sizeof name, prefix, i, sw);
        int64_t ww[2] = {W, W};
        float *block = scratch + (size_t)k * W * W;
        if (mode == LMMIQA__TFM_IN_PLACE) {
            L->qkv_w[k].layout = LMMIQA__MM_B_NT;
            rc = lmmiqa__weights_map(w, name, 2, ww, &L->qkv_w[k].w);
        } else if (mode == LMMIQA__TFM_MAP_PACK) {
            const float *src = NULL;
            if ((rc = lmmiqa__weights_map(w, name, 2, ww, &src)) == LMMIQA_OK)
                memcpy(block, src, sizeof(float) * (size_t)W * W);
        } else {
            rc = lmmiqa__weights_read(w, name, 2, ww, block);
        }
        if (rc)
            return rc;
    }
    if (mode == LMMIQA__TFM_IN_PLACE) {
        L->qkv_parts = 3;
        return LMMIQA_OK;
    }
    return lmmiqa__mm_pack(3 * W, W, scratch, (float *)L->qkv_w[0].w);
}

int lmmiqa__tfm_layer_load(lmmiqa__weights *w, int hf, const char *prefix, int i,
                           lmmiqa__tfm_layer *L, int Wi, int Mi, int mode, float *scratch)
{
    const int64_t W = Wi, M = Mi;
    int rc;
    if (hf) {
        static const char *qkv[3] = {"q", "k", "v"};
        for (int k = 0; k < 3; k++) {
            char sb[64];
            snprintf(sb, sizeof sb, "self_attn.%s_proj.bias", qkv[k]);
            if ((rc = rd(w, prefix, i, sb, L->qkv_b + k * W, 1, W, 0)))
                return rc;
        }
    } else if ((rc = rd(w, prefix, i, "attn.in_proj_bias", L->qkv_b, 1, 3 * W, 0))) {
        return rc;
    }
    if ((rc = load_qkv(w, hf, prefix, i, L, Wi, mode, scratch)) ||
        (rc = layer_matrix(w, prefix, i, hf ? "self_attn.out_proj.weight" : "attn.out_proj.weight",
                           Wi, Wi, mode, scratch, &L->out_w)) ||
        (rc = rd(w, prefix, i, hf ? "self_attn.out_proj.bias" : "attn.out_proj.bias", L->out_b, 1,
                 W, 0)) ||
        (rc = rd(w, prefix, i, hf ? "layer_norm1.weight" : "ln_1.weight", L->ln1_w, 1, W, 0)) ||
        (rc = rd(w, prefix, i, hf ? "layer_norm1.bias" : "ln_1.bias", L->ln1_b, 1, W, 0)) ||
        (rc = rd(w, prefix, i, hf ? "layer_norm2.weight" : "ln_2.weight", L->ln2_w, 1, W, 0)) ||
        (rc = rd(w, prefix, i, hf ? "layer_norm2.bias" : "ln_2.bias", L->ln2_b, 1, W, 0)) ||
        (rc = layer_matrix(w, prefix, i, hf ? "mlp.fc1.weight" : "mlp.c_fc.weight", Mi, Wi, mode,
                           scratch, &L->fc1_w)) ||
        (rc = rd(w, prefix, i, hf ? "mlp.fc1.bias" : "mlp.c_fc.bias", L->fc1_b, 1, M, 0)) ||
        (rc = layer_matrix(w, prefix, i, hf ? "mlp.fc2.weight" : "mlp.c_proj.weight", Wi, Mi, mode,
                           scratch, &L->fc2_w)) ||
        (rc = rd(w, prefix, i, hf ? "mlp.fc2.bias" : "mlp.c_proj.bias", L->fc2_b, 1, W, 0)))
        return rc;
    return LMMIQA_OK;
}

int lmmiqa__tfm_load_mode(const lmmiqa__weights *w)
{
    if (!lmmiqa__weights_mappable(w))
        return LMMIQA__TFM_COPY;
    const char *env = getenv("LMMIQA_WEIGHTS_IN_PLACE");
    return env && strcmp(env, "1") == 0 ? LMMIQA__TFM_IN_PLACE : LMMIQA__TFM_MAP_PACK;
}

int lmmiqa__tfm_threads_begin(int slots)
{
    int t = openblas_get_num_threads();
    t = t < 1 ? 1 : t > slots ? slots : t;
#ifdef _OPENMP
    omp_set_num_threads(t);
#endif
    return t;
}

int lmmiqa__tfm_slots(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

/* One (sequence b, head hh) of the attention on the calling thread. */
static int attention_head(lmmiqa__mm_plan *qk, lmmiqa__mm_plan *sv, int slot, int b, int hh, int T,
                          int W, int d, int causal, const lmmiqa__tfm_buffers *buf)
{
    const float *q = buf->qkv + (size_t)b * T * 3 * W + (size_t)hh * d;
    float *scores = buf->scores + (size_t)slot * T * T;
    /* scores[T, T] = Q K^T / sqrt(d) */
    int rc = lmmiqa__mm_run(qk, slot, q, q + W, NULL, scores);
    if (rc != LMMIQA_OK)
        return rc;
    if (causal) {
        /* row t attends to keys 0..t: -inf elsewhere, i.e. weight 0 */
        for (int t = 0; t < T; t++) {
            float *row = scores + (size_t)t * T;
            lmmiqa__softmax_rows(1, t + 1, row, T);
            memset(row + t + 1, 0, sizeof(float) * (size_t)(T - t - 1));
        }
    } else {
        lmmiqa__softmax_rows(T, T, scores, T);
    }
    return lmmiqa__mm_run(sv, slot, scores, q + 2 * W, NULL,
                          buf->att + (size_t)b * T * W + (size_t)hh * d);
}

static int attention(lmmiqa__mm *mm, int B, int T, int W, int heads, int causal,
                     const lmmiqa__tfm_buffers *buf)
{
    const int d = W / heads, tasks = B * heads;
    const float scale = (float)(1.0 / sqrt((double)d));
    lmmiqa__mm_op qk = {T, T, d, 3 * W, 3 * W, T, LMMIQA__MM_B_NT, 0, LMMIQA__MM_NO_ACT, 0, scale};
    lmmiqa__mm_op sv = {T, d, T, T, 3 * W, W, LMMIQA__MM_B_NN, 0, LMMIQA__MM_NO_ACT, 0, 1.0f};
    lmmiqa__mm_plan *pqk, *psv;
    int rc;
    if ((rc = lmmiqa__mm_prepare(mm, &qk, &pqk)) || (rc = lmmiqa__mm_prepare(mm, &sv, &psv)))
        return rc;
    int parts = lmmiqa__kernel_parts((size_t)tasks * T * T * d, tasks);
    if (parts > lmmiqa__mm_slots(mm))
        parts = lmmiqa__mm_slots(mm);
    int failed = LMMIQA_OK;
    LMMIQA__OMP(omp parallel for num_threads(parts) schedule(dynamic) if (parts > 1))
    for (int task = 0; task < tasks; task++) {
        int r = attention_head(pqk, psv, parts > 1 ? lmmiqa__thread_num() : 0, task / heads,
                               task % heads, T, W, d, causal, buf);
        if (r != LMMIQA_OK) {
            LMMIQA__OMP(omp atomic write)
            failed = r;
        }
    }
    if (failed != LMMIQA_OK)
        return lmmiqa__fail(failed, "attention: a oneDNN product failed");
    return LMMIQA_OK;
}

int lmmiqa__tfm_forward(lmmiqa__mm *mm, const lmmiqa__tfm_layer *layers, int n_layers, int B, int T,
                        int W, int heads, int M, int act, float eps, int causal,
                        const lmmiqa__tfm_buffers *buf)
{
    const int R = B * T;
    int rc = LMMIQA_OK;
    for (int l = 0; l < n_layers && rc == LMMIQA_OK; l++) {
        const lmmiqa__tfm_layer *L = &layers[l];
        lmmiqa__layernorm(R, W, buf->x, W, L->ln1_w, L->ln1_b, eps, buf->xn, W);
        /* qkv[R, 3W]: one product, or q, k and v into their column blocks */
        int n = 3 * W / L->qkv_parts;
        for (int k = 0; k < L->qkv_parts && rc == LMMIQA_OK; k++)
            rc = lmmiqa__mm_linear(mm, R, n, W, buf->xn, L->qkv_w[k], L->qkv_b + (size_t)k * n,
                                   LMMIQA__MM_NO_ACT, 0, buf->qkv + (size_t)k * n, 3 * W);
        if (rc || (rc = attention(mm, B, T, W, heads, causal, buf)) ||
            (rc = lmmiqa__mm_linear(mm, R, W, W, buf->att, L->out_w, L->out_b, LMMIQA__MM_NO_ACT, 1,
                                    buf->x, W)))
            break;
        lmmiqa__layernorm(R, W, buf->x, W, L->ln2_w, L->ln2_b, eps, buf->xn, W);
        if ((rc = lmmiqa__mm_linear(mm, R, M, W, buf->xn, L->fc1_w, L->fc1_b, act, 0, buf->h, M)))
            break;
        rc = lmmiqa__mm_linear(mm, R, W, M, buf->h, L->fc2_w, L->fc2_b, LMMIQA__MM_NO_ACT, 1,
                               buf->x, W);
    }
    return rc;
}
