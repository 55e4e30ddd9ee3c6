/*
 * src/models/transformer.h - the pre-LayerNorm transformer block shared by
 * CLIP's vision tower (vit.c) and text tower (text.c): its weights in the
 * layout the forward pass wants, loading them in Hugging Face or OpenAI
 * naming, and the batched float32 forward pass of a stack of blocks with
 * optional causal masking. Internal.
 *
 * Three ways to load the weight matrices (tensor/matmul.h), chosen by
 * lmmiqa__tfm_load_mode:
 *   map + pack (an F32 safetensors file, the default): each matrix is packed
 *     into oneDNN's blocked layout straight from the memory mapping (one
 *     pass over the file);
 *   copy (F16/BF16, torch zip): converted to float32 first, then packed;
 *   in place (F32 safetensors with LMMIQA_WEIGHTS_IN_PLACE=1): the products
 *     read nn.Linear's [n, k] rows from the mapping, no copy at all: the
 *     fastest start, but 8-32 % slower products than packed weights (and
 *     not bit-identical to them), so it is not the default.
 * Packed q, k and v are stacked into one [3W, W].
 * The attention scale 1/sqrt(head_dim) is applied to Q K^T in the product.
 */
#ifndef LMMIQA_MODELS_TRANSFORMER_H
#define LMMIQA_MODELS_TRANSFORMER_H

#include "tensor/matmul.h"
#include "tensor/weights.h"

#include <stddef.h>

typedef struct lmmiqa__tfm_layer {
    float *ln1_w, *ln1_b;  /* [W] */
    lmmiqa__mm_w qkv_w[3]; /* one [3W, W] (qkv_parts 1) or q, k, v [W, W] (3) */
    int qkv_parts;
    float *qkv_b;         /* [3W] */
    lmmiqa__mm_w out_w;   /* [W, W] */
    float *out_b;         /* [W] */
    float *ln2_w, *ln2_b; /* [W] */
    lmmiqa__mm_w fc1_w;   /* [M, W] */
    float *fc1_b;         /* [M] */
    lmmiqa__mm_w fc2_w;   /* [W, M] */
    float *fc2_b;         /* [W] */
} lmmiqa__tfm_layer;

enum { LMMIQA__TFM_COPY = 0, LMMIQA__TFM_MAP_PACK = 1, LMMIQA__TFM_IN_PLACE = 2 };

/* The load mode for file w (see above). */
int lmmiqa__tfm_load_mode(const lmmiqa__weights *w);

/* Floats of the arena one block holds (vectors; and the packed matrices
 * unless in place), and binding them from *p (advanced). */
size_t lmmiqa__tfm_layer_floats(size_t W, size_t M, int mode);
void lmmiqa__tfm_layer_bind(lmmiqa__tfm_layer *l, float **p, size_t W, size_t M, int mode);

/* Read block i: prefix is a printf format with one %d, e.g.
 * "vision_model.encoder.layers.%d." (hf) or "transformer.resblocks.%d."
 * (OpenAI). Shapes are checked by the weights reader. mode: see above;
 * scratch holds lmmiqa__tfm_load_scratch_floats(W, M) floats. */
size_t lmmiqa__tfm_load_scratch_floats(size_t W, size_t M);
int lmmiqa__tfm_layer_load(lmmiqa__weights *w, int hf, const char *prefix, int i,
                           lmmiqa__tfm_layer *l, int W, int M, int mode, float *scratch);

/* A [n, k] matrix `name` (shape [n, k] or ndim/shape as given): in place
 * (NT rows in the mapping), or packed into dst (lmmiqa__mm_packed_floats(n,
 * k) floats) from the mapping or through scratch. */
int lmmiqa__tfm_matrix(lmmiqa__weights *w, const char *name, int ndim, const int64_t *shape, int n,
                       int k, int mode, float *scratch, float *dst, lmmiqa__mm_w *out);

/* A tower's output projection, used as [E, W]: HF stores it [E, W], OpenAI
 * [W, E] (used in place as an NN matrix, or transposed in scratch, which
 * must hold 2 E W floats, before packing into out->w as bound). */
int lmmiqa__tfm_projection(lmmiqa__weights *w, const char *name, int hf, int E, int W, int mode,
                           float *scratch, lmmiqa__mm_w *out);

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
int lmmiqa__tfm_forward(lmmiqa__mm *mm, const lmmiqa__tfm_layer *layers, int n_layers, int B, int T,
                        int W, int heads, int M, int act, float eps, int causal,
                        const lmmiqa__tfm_buffers *buf);

/* The threads a forward pass should use: OpenBLAS's thread setting (the
 * library's one knob, openblas_set_num_threads), at most `slots`; sets the
 * calling thread's OpenMP team size to it. */
int lmmiqa__tfm_threads_begin(int slots);

/* Threads a state may run on at once (its mm slots and score buffers): the
 * online cores, at most 64. */
int lmmiqa__tfm_slots(void);

#endif
