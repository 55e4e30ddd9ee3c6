/*
 * src/models/transformer.h - the pre-LayerNorm transformer block shared by
 * CLIP's vision tower (vit.c) and text tower (text.c): its weights in the
 * layout the forward pass wants, loading them in Hugging Face or OpenAI
 * naming, and the batched float32 forward pass of a stack of blocks with
 * optional causal masking. Internal.
 *
 * Layout: q, k and v projections fused into one [3W, W] matrix (HF's
 * separate q/k/v_proj stacked; OpenAI's in_proj_weight already is), the
 * attention scale 1/sqrt(head_dim) folded into the q rows and bias.
 */
#ifndef LMMIQA_MODELS_TRANSFORMER_H
#define LMMIQA_MODELS_TRANSFORMER_H

#include "tensor/weights.h"

#include <stddef.h>

typedef struct lmmiqa__tfm_layer {
    float *ln1_w, *ln1_b;   /* [W] */
    float *qkv_w, *qkv_b;   /* [3W, W], [3W]; q rows pre-scaled */
    float *out_w, *out_b;   /* [W, W], [W] */
    float *ln2_w, *ln2_b;   /* [W] */
    float *fc1_w, *fc1_b;   /* [M, W], [M] */
    float *fc2_w, *fc2_b;   /* [W, M], [W] */
} lmmiqa__tfm_layer;

/* Floats one block holds, and binding its tensors from *p (advanced). */
size_t lmmiqa__tfm_layer_floats(size_t W, size_t M);
void lmmiqa__tfm_layer_bind(lmmiqa__tfm_layer *l, float **p, size_t W, size_t M);

/* Read block i: prefix is a printf format with one %d, e.g.
 * "vision_model.encoder.layers.%d." (hf) or "transformer.resblocks.%d."
 * (OpenAI). Shapes are checked by the weights reader. */
int lmmiqa__tfm_layer_load(lmmiqa__weights *w, int hf, const char *prefix, int i,
                           lmmiqa__tfm_layer *l, int W, int M, int heads);

/* Activation buffers of a forward pass over R = B*T rows. */
typedef struct lmmiqa__tfm_buffers {
    float *x;      /* [R, W] residual stream, in and out */
    float *xn;     /* [R, W] */
    float *qkv;    /* [R, 3W] */
    float *att;    /* [R, W] */
    float *h;      /* [R, M] */
    float *scores; /* [T, T] */
} lmmiqa__tfm_buffers;

/* x[B*T, W] through `layers` blocks (B sequences of T tokens):
 *   xn = LN1(x (+ previous fc2 bias)); qkv = xn Wqkv^T + b
 *   per sequence and head: softmax(Q K^T [causal: key <= query]) V
 *   x += att Wo^T; xn = LN2(x + bo); h = act(xn W1^T + b1); x += h W2^T
 * The last block's fc2 bias is NOT added to x: the caller adds it in its
 * final LayerNorm (bias argument of lmmiqa__layernorm) as vit.c does. act:
 * 0 QuickGELU, 1 GELU. */
void lmmiqa__tfm_forward(const lmmiqa__tfm_layer *layers, int n_layers, int B, int T, int W,
                         int heads, int M, int act, float eps, int causal,
                         const lmmiqa__tfm_buffers *buf);

#endif
