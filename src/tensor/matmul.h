/*
 * src/tensor/matmul.h - the transformers' matrix products on oneDNN's matmul
 * primitive (the library PyTorch's CPU path uses), with what makes it fast
 * here: weights packed once at load into the blocked layout oneDNN's kernels
 * read fastest on the CPU found at run time (AVX-512 or AVX2 brgemm), bias,
 * activation and residual accumulation fused into the product, and
 * primitives created once per shape and kept in a per-thread context.
 *
 * Measured on 2-core Zen 5 (AVX-512) machines: 360-410 GFLOP/s on the ViT
 * shapes against 165-190 for OpenBLAS 0.3.21 (which runs its Haswell
 * kernels there). The plain reference is lmmiqa__mm_run_ref (double
 * accumulation, libm activations); tests/test_vit_kernels.c states the
 * tolerances.
 *
 * Threads: a product runs on the calling thread's OpenMP team (oneDNN is
 * built on OpenMP); called inside an OpenMP parallel region it runs on the
 * calling thread alone, with the slot the caller names (0..slots-1; each
 * slot has its own memory handles and scratchpad, so slots run at once).
 */
#ifndef LMMIQA_TENSOR_MATMUL_H
#define LMMIQA_TENSOR_MATMUL_H

#include <stddef.h>

/* Activation fused after bias: QuickGELU x * sigmoid(1.702 x) (OpenAI CLIP),
 * exact GELU, none. */
enum { LMMIQA__MM_QUICK_GELU = 0, LMMIQA__MM_GELU = 1, LMMIQA__MM_NO_ACT = 2 };

/* How B is given (A is always [m, k] with row stride lda). */
typedef enum lmmiqa__mm_b {
    LMMIQA__MM_B_PACKED = 0, /* weights w[n, k] packed by lmmiqa__mm_pack: C = A W^T */
    LMMIQA__MM_B_NT = 1,     /* b[n, k], row stride ldb: C = A B^T (attention Q K^T) */
    LMMIQA__MM_B_NN = 2      /* b[k, n], row stride ldb: C = A B (attention S V) */
} lmmiqa__mm_b;

/* One product C[m, n] = act(alpha A op(B) + bias) (+ C when accumulate). */
typedef struct lmmiqa__mm_op {
    int m, n, k;
    int lda, ldb, ldc; /* row strides; ldb unused for packed weights */
    lmmiqa__mm_b b;
    int bias;       /* 1: bias[n] is added (only with alpha 1) */
    int act;        /* LMMIQA__MM_* */
    int accumulate; /* 1: the result is added to C (residual connections) */
    float alpha;    /* 1, or the attention's 1/sqrt(head_dim) on Q K^T */
} lmmiqa__mm_op;

/* A weight matrix of C = A W^T, W [n, k]: packed (lmmiqa__mm_pack), plain
 * rows [n, k] (NT, e.g. nn.Linear weights used in place from the file) or
 * its transpose stored [k, n] (NN, OpenAI's projections). */
typedef struct lmmiqa__mm_w {
    const float *w;
    lmmiqa__mm_b layout;
} lmmiqa__mm_w;

/* Floats a packed [n, k] weight matrix occupies (at least n * k: oneDNN's
 * blocked layouts may pad). 0 only for bad sizes. */
size_t lmmiqa__mm_packed_floats(int n, int k);

/* dst[lmmiqa__mm_packed_floats(n, k)] = w[n, k] (row-major, as nn.Linear
 * stores it) in the packed layout. */
int lmmiqa__mm_pack(int n, int k, const float *w, float *dst);

/* Per-thread context: primitives by shape, their memory handles and the
 * scratchpads of `slots` concurrent callers. */
typedef struct lmmiqa__mm lmmiqa__mm;
typedef struct lmmiqa__mm_plan lmmiqa__mm_plan;

int lmmiqa__mm_create(int slots, lmmiqa__mm **out);
void lmmiqa__mm_destroy(lmmiqa__mm *mm);
int lmmiqa__mm_slots(const lmmiqa__mm *mm);

/* The plan of op (created on first use, then found in the context). Call it
 * outside parallel regions; the plan lives as long as mm. */
int lmmiqa__mm_prepare(lmmiqa__mm *mm, const lmmiqa__mm_op *op, lmmiqa__mm_plan **out);

/* Run a prepared plan: a[m, lda], b (packed weights or [n|k, ldb]),
 * bias[n] (or NULL when op.bias is 0), c[m, ldc]. */
int lmmiqa__mm_run(lmmiqa__mm_plan *plan, int slot, const float *a, const float *b,
                   const float *bias, float *c);

/* prepare + run on slot 0: y[m, n] (row stride ldy) = act(x[m, k] W^T +
 * bias) (+ y). */
int lmmiqa__mm_linear(lmmiqa__mm *mm, int m, int n, int k, const float *x, lmmiqa__mm_w w,
                      const float *bias, int act, int accumulate, float *y, int ldy);

/* The reference: op on plain B (for LMMIQA__MM_B_PACKED, w[n, k] unpacked). */
void lmmiqa__mm_run_ref(const lmmiqa__mm_op *op, const float *a, const float *b, const float *bias,
                        float *c);

#endif
