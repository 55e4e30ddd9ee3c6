/*
 * src/models/transformer.c - the CLIP transformer block shared by the vision
 * and text towers (see transformer.h): loading in either naming, packing the
 * weight matrices for oneDNN, and the batched forward pass. Every product
 * carries its own bias (and the activation, and the residual sum) fused, so
 * the forward pass is LayerNorm, four products and the attention per block.
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
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

size_t lmmiqa__tfm_layer_floats(size_t W, size_t M)
{
    int w = (int)W, m = (int)M;
    return 4 * W + lmmiqa__mm_packed_floats(3 * w, w) + 3 * W + lmmiqa__mm_packed_floats(w, w) +
           W + lmmiqa__mm_packed_floats(m, w) + M + lmmiqa__mm_packed_floats(w, m) + W;
}

void lmmiqa__tfm_layer_bind(lmmiqa__tfm_layer *l, float **pp, size_t W, size_t M)
{
    float *p = *pp;
    int w = (int)W, m = (int)M;
#define TAKE(ptr, n) (ptr = p, p += (n))
    TAKE(l->ln1_w, W);
    TAKE(l->ln1_b, W);
    TAKE(l->qkv_w, lmmiqa__mm_packed_floats(3 * w, w));
    TAKE(l->qkv_b, 3 * W);
    TAKE(l->out_w, lmmiqa__mm_packed_floats(w, w));
    TAKE(l->out_b, W);
    TAKE(l->ln2_w, W);
    TAKE(l->ln2_b, W);
    TAKE(l->fc1_w, lmmiqa__mm_packed_floats(m, w));
    TAKE(l->fc1_b, M);
    TAKE(l->fc2_w, lmmiqa__mm_packed_floats(w, m));
    TAKE(l->fc2_b, W);
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

int lmmiqa__tfm_read_packed(lmmiqa__weights *w, const char *name, int n, int k, float *scratch,
                            float *dst)
{
    int64_t s[2] = {n, k};
    int rc = lmmiqa__weights_read(w, name, 2, s, scratch);
    return rc != LMMIQA_OK ? rc : lmmiqa__mm_pack(n, k, scratch, dst);
}

static int rd_packed(lmmiqa__weights *w, const char *prefix, int i, const char *suffix, int n,
                     int k, float *scratch, float *dst)
{
    char name[320];
    layer_name(name, sizeof name, prefix, i, suffix);
    return lmmiqa__tfm_read_packed(w, name, n, k, scratch, dst);
}

int lmmiqa__tfm_layer_load(lmmiqa__weights *w, int hf, const char *prefix, int i,
                           lmmiqa__tfm_layer *L, int Wi, int Mi, int heads, float *scratch)
{
    const int64_t W = Wi, M = Mi;
    int rc;
    if (hf) {
        static const char *qkv[3] = {"q", "k", "v"};
        for (int k = 0; k < 3; k++) {
            char sw[64], sb[64];
            snprintf(sw, sizeof sw, "self_attn.%s_proj.weight", qkv[k]);
            snprintf(sb, sizeof sb, "self_attn.%s_proj.bias", qkv[k]);
            if ((rc = rd(w, prefix, i, sw, scratch + k * W * W, 2, W, W)) ||
                (rc = rd(w, prefix, i, sb, L->qkv_b + k * W, 1, W, 0)))
                return rc;
        }
    } else if ((rc = rd(w, prefix, i, "attn.in_proj_weight", scratch, 2, 3 * W, W)) ||
               (rc = rd(w, prefix, i, "attn.in_proj_bias", L->qkv_b, 1, 3 * W, 0))) {
        return rc;
    }
    float qscale = (float)(1.0 / sqrt((double)(W / heads)));
    for (int64_t j = 0; j < W * W; j++)
        scratch[j] *= qscale;
    for (int64_t j = 0; j < W; j++)
        L->qkv_b[j] *= qscale;
    if ((rc = lmmiqa__mm_pack(3 * Wi, Wi, scratch, L->qkv_w)) ||
        (rc = rd_packed(w, prefix, i, hf ? "self_attn.out_proj.weight" : "attn.out_proj.weight",
                        Wi, Wi, scratch, L->out_w)) ||
        (rc = rd(w, prefix, i, hf ? "self_attn.out_proj.bias" : "attn.out_proj.bias", L->out_b,
                 1, W, 0)) ||
        (rc = rd(w, prefix, i, hf ? "layer_norm1.weight" : "ln_1.weight", L->ln1_w, 1, W, 0)) ||
        (rc = rd(w, prefix, i, hf ? "layer_norm1.bias" : "ln_1.bias", L->ln1_b, 1, W, 0)) ||
        (rc = rd(w, prefix, i, hf ? "layer_norm2.weight" : "ln_2.weight", L->ln2_w, 1, W, 0)) ||
        (rc = rd(w, prefix, i, hf ? "layer_norm2.bias" : "ln_2.bias", L->ln2_b, 1, W, 0)) ||
        (rc = rd_packed(w, prefix, i, hf ? "mlp.fc1.weight" : "mlp.c_fc.weight", Mi, Wi, scratch,
                        L->fc1_w)) ||
        (rc = rd(w, prefix, i, hf ? "mlp.fc1.bias" : "mlp.c_fc.bias", L->fc1_b, 1, M, 0)) ||
        (rc = rd_packed(w, prefix, i, hf ? "mlp.fc2.weight" : "mlp.c_proj.weight", Wi, Mi,
                        scratch, L->fc2_w)) ||
        (rc = rd(w, prefix, i, hf ? "mlp.fc2.bias" : "mlp.c_proj.bias", L->fc2_b, 1, W, 0)))
        return rc;
    return LMMIQA_OK;
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
static int attention_head(lmmiqa__mm_plan *qk, lmmiqa__mm_plan *sv, int slot, int b, int hh,
                          int T, int W, int d, int causal, const lmmiqa__tfm_buffers *buf)
{
    const float *q = buf->qkv + (size_t)b * T * 3 * W + (size_t)hh * d;
    float *scores = buf->scores + (size_t)slot * T * T;
    /* scores[T, T] = Q K^T (Q pre-scaled) */
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
    lmmiqa__mm_op qk = {T, T, d, 3 * W, 3 * W, T, LMMIQA__MM_B_NT, 0, LMMIQA__MM_NO_ACT, 0};
    lmmiqa__mm_op sv = {T, d, T, T, 3 * W, W, LMMIQA__MM_B_NN, 0, LMMIQA__MM_NO_ACT, 0};
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

int lmmiqa__tfm_forward(lmmiqa__mm *mm, const lmmiqa__tfm_layer *layers, int n_layers, int B,
                        int T, int W, int heads, int M, int act, float eps, int causal,
                        const lmmiqa__tfm_buffers *buf)
{
    const int R = B * T;
    int rc = LMMIQA_OK;
    for (int l = 0; l < n_layers && rc == LMMIQA_OK; l++) {
        const lmmiqa__tfm_layer *L = &layers[l];
        lmmiqa__layernorm(R, W, buf->x, W, NULL, L->ln1_w, L->ln1_b, eps, buf->xn, W);
        if ((rc = lmmiqa__mm_linear(mm, R, 3 * W, W, buf->xn, L->qkv_w, L->qkv_b,
                                    LMMIQA__MM_NO_ACT, 0, buf->qkv)) ||
            (rc = attention(mm, B, T, W, heads, causal, buf)) ||
            (rc = lmmiqa__mm_linear(mm, R, W, W, buf->att, L->out_w, L->out_b, LMMIQA__MM_NO_ACT,
                                    1, buf->x)))
            break;
        lmmiqa__layernorm(R, W, buf->x, W, NULL, L->ln2_w, L->ln2_b, eps, buf->xn, W);
        if ((rc = lmmiqa__mm_linear(mm, R, M, W, buf->xn, L->fc1_w, L->fc1_b, act, 0, buf->h)))
            break;
        rc = lmmiqa__mm_linear(mm, R, W, M, buf->h, L->fc2_w, L->fc2_b, LMMIQA__MM_NO_ACT, 1,
                               buf->x);
    }
    return rc;
}
