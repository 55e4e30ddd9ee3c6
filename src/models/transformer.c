/*
 * src/models/transformer.c - the CLIP transformer block shared by the vision
 * and text towers (see transformer.h): loading in either naming and the
 * batched forward pass on the kernels of tensor/kernels.h. Biases that feed
 * a residual are added inside the next LayerNorm pass (the residual GEMM
 * accumulates with beta = 1), so no pass is spent on them.
 */
#include "models/transformer.h"

#include "tensor/kernels.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

size_t lmmiqa__tfm_layer_floats(size_t W, size_t M)
{
    return 4 * W + 3 * W * W + 3 * W + W * W + W + M * W + M + W * M + W;
}

void lmmiqa__tfm_layer_bind(lmmiqa__tfm_layer *l, float **pp, size_t W, size_t M)
{
    float *p = *pp;
#define TAKE(ptr, n) (ptr = p, p += (n))
    TAKE(l->ln1_w, W);
    TAKE(l->ln1_b, W);
    TAKE(l->qkv_w, 3 * W * W);
    TAKE(l->qkv_b, 3 * W);
    TAKE(l->out_w, W * W);
    TAKE(l->out_b, W);
    TAKE(l->ln2_w, W);
    TAKE(l->ln2_b, W);
    TAKE(l->fc1_w, M * W);
    TAKE(l->fc1_b, M);
    TAKE(l->fc2_w, W * M);
    TAKE(l->fc2_b, W);
#undef TAKE
    *pp = p;
}

static int rd(lmmiqa__weights *w, const char *prefix, int i, const char *suffix, float *dst,
              int ndim, int64_t d0, int64_t d1)
{
    char fmt[256], name[320];
    snprintf(fmt, sizeof fmt, "%s%s", prefix, suffix);
    snprintf(name, sizeof name, fmt, i);
    int64_t s[2] = {d0, d1};
    return lmmiqa__weights_read(w, name, ndim, s, dst);
}

int lmmiqa__tfm_layer_load(lmmiqa__weights *w, int hf, const char *prefix, int i,
                           lmmiqa__tfm_layer *L, int Wi, int Mi, int heads)
{
    const int64_t W = Wi, M = Mi;
    int rc;
    if (hf) {
        static const char *qkv[3] = {"q", "k", "v"};
        for (int k = 0; k < 3; k++) {
            char sw[64], sb[64];
            snprintf(sw, sizeof sw, "self_attn.%s_proj.weight", qkv[k]);
            snprintf(sb, sizeof sb, "self_attn.%s_proj.bias", qkv[k]);
            if ((rc = rd(w, prefix, i, sw, L->qkv_w + k * W * W, 2, W, W)) ||
                (rc = rd(w, prefix, i, sb, L->qkv_b + k * W, 1, W, 0)))
                return rc;
        }
    } else if ((rc = rd(w, prefix, i, "attn.in_proj_weight", L->qkv_w, 2, 3 * W, W)) ||
               (rc = rd(w, prefix, i, "attn.in_proj_bias", L->qkv_b, 1, 3 * W, 0))) {
        return rc;
    }
    float qscale = (float)(1.0 / sqrt((double)(W / heads)));
    for (int64_t j = 0; j < W * W; j++)
        L->qkv_w[j] *= qscale;
    for (int64_t j = 0; j < W; j++)
        L->qkv_b[j] *= qscale;
    if ((rc = rd(w, prefix, i, hf ? "self_attn.out_proj.weight" : "attn.out_proj.weight",
                 L->out_w, 2, W, W)) ||
        (rc = rd(w, prefix, i, hf ? "self_attn.out_proj.bias" : "attn.out_proj.bias", L->out_b,
                 1, W, 0)) ||
        (rc = rd(w, prefix, i, hf ? "layer_norm1.weight" : "ln_1.weight", L->ln1_w, 1, W, 0)) ||
        (rc = rd(w, prefix, i, hf ? "layer_norm1.bias" : "ln_1.bias", L->ln1_b, 1, W, 0)) ||
        (rc = rd(w, prefix, i, hf ? "layer_norm2.weight" : "ln_2.weight", L->ln2_w, 1, W, 0)) ||
        (rc = rd(w, prefix, i, hf ? "layer_norm2.bias" : "ln_2.bias", L->ln2_b, 1, W, 0)) ||
        (rc = rd(w, prefix, i, hf ? "mlp.fc1.weight" : "mlp.c_fc.weight", L->fc1_w, 2, M, W)) ||
        (rc = rd(w, prefix, i, hf ? "mlp.fc1.bias" : "mlp.c_fc.bias", L->fc1_b, 1, M, 0)) ||
        (rc = rd(w, prefix, i, hf ? "mlp.fc2.weight" : "mlp.c_proj.weight", L->fc2_w, 2, W, M)) ||
        (rc = rd(w, prefix, i, hf ? "mlp.fc2.bias" : "mlp.c_proj.bias", L->fc2_b, 1, W, 0)))
        return rc;
    return 0;
}

void lmmiqa__tfm_forward(const lmmiqa__tfm_layer *layers, int n_layers, int B, int T, int W,
                         int heads, int M, int act, float eps, int causal,
                         const lmmiqa__tfm_buffers *buf)
{
    const int R = B * T, d = W / heads;
    for (int l = 0; l < n_layers; l++) {
        const lmmiqa__tfm_layer *L = &layers[l];
        const float *prev_b2 = l > 0 ? layers[l - 1].fc2_b : NULL;
        lmmiqa__layernorm(R, W, buf->x, W, prev_b2, L->ln1_w, L->ln1_b, eps, buf->xn, W);
        lmmiqa__sgemm(0, 1, R, 3 * W, W, 1.0f, buf->xn, W, L->qkv_w, W, 0.0f, buf->qkv, 3 * W);
        lmmiqa__bias_act(R, 3 * W, buf->qkv, L->qkv_b, 2);
        for (int b = 0; b < B; b++)
            for (int hh = 0; hh < heads; hh++) {
                const float *q = buf->qkv + (size_t)b * T * 3 * W + (size_t)hh * d;
                const float *k = q + W, *vv = q + 2 * W;
                /* scores[T, T] = Q K^T (Q pre-scaled) */
                lmmiqa__sgemm(0, 1, T, T, d, 1.0f, q, 3 * W, k, 3 * W, 0.0f, buf->scores, T);
                if (causal) {
                    /* row t attends to keys 0..t: -inf elsewhere, i.e. weight 0 */
                    for (int t = 0; t < T; t++) {
                        float *row = buf->scores + (size_t)t * T;
                        lmmiqa__softmax_rows(1, t + 1, row, T);
                        memset(row + t + 1, 0, sizeof(float) * (size_t)(T - t - 1));
                    }
                } else {
                    lmmiqa__softmax_rows(T, T, buf->scores, T);
                }
                lmmiqa__sgemm(0, 0, T, d, T, 1.0f, buf->scores, T, vv, 3 * W, 0.0f,
                              buf->att + (size_t)b * T * W + (size_t)hh * d, W);
            }
        lmmiqa__sgemm(0, 1, R, W, W, 1.0f, buf->att, W, L->out_w, W, 1.0f, buf->x, W);
        lmmiqa__layernorm(R, W, buf->x, W, L->out_b, L->ln2_w, L->ln2_b, eps, buf->xn, W);
        lmmiqa__sgemm(0, 1, R, M, W, 1.0f, buf->xn, W, L->fc1_w, W, 0.0f, buf->h, M);
        lmmiqa__bias_act(R, M, buf->h, L->fc1_b, act);
        lmmiqa__sgemm(0, 1, R, W, M, 1.0f, buf->h, M, L->fc2_w, M, 1.0f, buf->x, W);
    }
}
