/*
 * src/models/transformer.h - the pre-LayerNorm transformer block shared by
 * CLIP's vision tower (vit.c) and text tower (text.c): its weights in the
 * layout the forward pass wants, loading them in Hugging Face or OpenAI
 * naming, and the batched float32 forward pass of a stack of blocks with
 * optional causal masking. Internal.
 *
 * Layout: q, k and v projections fused into one [3W, W] matrix (HF's
 * separate q/k/v_proj stacked; OpenAI's in_proj_weight already is), the
 * attention scale 1/sqrt(head_dim) folded into the q rows and bias; the
 * four weight matrices packed for oneDNN (tensor/matmul.h) at load.
 */
#ifndef LMMIQA_MODELS_TRANSFORMER_H
#define LMMIQA_MODELS_TRANSFORMER_H

#include "tensor/matmul.h"
#include "tensor/weights.h"

#include <stddef.h>

typedef struct lmmiqa__tfm_layer {
    float *ln1_w, *ln1_b;   /* [W] */
    float *qkv_w, *qkv_b;   /* packed [3W, W], [3W]; q rows pre-scaled */
    float *out_w, *out_b;   /* packed [W, W], [W] */
    float *ln2_w, *ln2_b;   /* [W] */
    float *fc1_w, *fc1_b;   /* packed [M, W], [M] */
    float *fc2_w, *fc2_b;   /* packed [W, M], [W] */
} lmmiqa__tfm_layer;

/* Floats one block holds, and binding its tensors from *p (advanced). */
size_t lmmiqa__tfm_layer_floats(size_t W, size_t M);
void lmmiqa__tfm_layer_bind(lmmiqa__tfm_layer *l, float **p, size_t W, size_t M);

/* Read block i: prefix is a printf format with one %d, e.g.
 * "vision_model.encoder.layers.%d." (hf) or "transformer.resblocks.%d."
 * (OpenAI). Shapes are checked by the weights reader; matrices are read
 * into scratch[lmmiqa__tfm_load_scratch_floats(W, M)] and packed from there. */
size_t lmmiqa__tfm_load_scratch_floats(size_t W, size_t M);
int lmmiqa__tfm_layer_load(lmmiqa__weights *w, int hf, const char *prefix, int i,
                           lmmiqa__tfm_layer *l, int W, int M, int heads, float *scratch);

/* Read a [n, k] matrix `name` into scratch and pack it into dst
 * (lmmiqa__mm_packed_floats(n, k) floats). */
int lmmiqa__tfm_read_packed(lmmiqa__weights *w, const char *name, int n, int k, float *scratch,
                            float *dst);

/* Activation buffers of a forward pass over R = B*T rows. */
typedef struct lmmiqa__tfm_buffers {
    float *x;      /* [R, W] residual stream, in and out */
    float *xn;     /* [R, W] */
    float *qkv;    /* [R, 3W] */
    float *att;    /* [R, W] */
    float *h;      /* [R, M] */
    float *scores; /* [slots, T, T]: one score matrix per thread */
} lmmiqa__tfm_buffers;

/* x[B*T, W] through `layers` blocks (B sequences of T tokens):
 *   xn = LN1(x); qkv = xn Wqkv^T + b
 *   per sequence and head: softmax(Q K^T [causal: key <= query]) V
 *   x += att Wo^T + bo; xn = LN2(x); h = act(xn W1^T + b1); x += h W2^T + b2
 * Products run on mm (biases, activation and residual fused); the
 * (sequence, head) pairs of the attention are split over the calling
 * thread's OpenMP team, at most lmmiqa__mm_slots(mm) threads. act: 0
 * QuickGELU, 1 GELU. */
int lmmiqa__tfm_forward(lmmiqa__mm *mm, const lmmiqa__tfm_layer *layers, int n_layers, int B,
                        int T, int W, int heads, int M, int act, float eps, int causal,
                        const lmmiqa__tfm_buffers *buf);

/* The threads a forward pass should use: OpenBLAS's thread setting (the
 * library's one knob, openblas_set_num_threads), at most `slots`; sets the
 * calling thread's OpenMP team size to it. */
int lmmiqa__tfm_threads_begin(int slots);

/* Threads a state may run on at once (its mm slots and score buffers): the
 * online cores, at most 64. */
int lmmiqa__tfm_slots(void);

#endif
