/*
 * src/tensor/kernels.h - float32 kernels of the neural runtime: matrix
 * product (OpenBLAS, for ALIGN's fallback), row LayerNorm, row softmax, exp.
 * The transformers' products, with their bias and activation fused, are in
 * tensor/matmul.h.
 *
 * Each fast kernel has a plain reference version (suffix _ref: scalar loops,
 * double accumulation, libm exp/erf) that tests/test_vit_kernels.c compares
 * it with; the tolerances are stated there. The fast versions use AVX2+FMA
 * when the CPU has them (runtime dispatch) and portable loops otherwise.
 * Shapes are row-major; the shape of every argument is in its comment.
 */
#ifndef LMMIQA_TENSOR_KERNELS_H
#define LMMIQA_TENSOR_KERNELS_H

#include <stddef.h>

/* OpenMP where the compiler has it (gcc builds: the element-wise kernels and
 * the attention heads run on the calling thread's team, the one oneDNN's
 * products use); the loops run serially otherwise (the clang fuzz build). */
#ifdef _OPENMP
#define LMMIQA__OMP(x) _Pragma(#x)
#else
#define LMMIQA__OMP(x)
#endif

/* How many threads a row-parallel kernel should use for `work` elements in
 * `items` independent rows: 1 inside a parallel region, for small work or
 * without OpenMP; else min(threads of the calling thread's team, items). */
int lmmiqa__kernel_parts(size_t work, int items);
/* The calling thread's number in its OpenMP team (0 outside one). */
int lmmiqa__thread_num(void);

/* C[M,N] = alpha * op(A) op(B) + beta * C; op(X) = X or X^T (trans != 0).
 * A is [M,K] (or [K,M] transposed) with row stride lda; B is [K,N] (or
 * [N,K]) with stride ldb; C has stride ldc. */
void lmmiqa__sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                   int lda, const float *b, int ldb, float beta, float *c, int ldc);
void lmmiqa__sgemm_ref(int trans_a, int trans_b, int m, int n, int k, float alpha,
                       const float *a, int lda, const float *b, int ldb, float beta, float *c,
                       int ldc);

/* For each of `rows` rows of x[rows, n] (row stride ldx): out[rows, n]
 * (stride ldo) = (x - mean) / sqrt(var + eps) * gamma + beta. out may
 * equal x. Rows are split over the calling thread's OpenMP team
 * (lmmiqa__kernel_parts). */
void lmmiqa__layernorm(int rows, int n, const float *x, int ldx, const float *gamma,
                       const float *beta, float eps, float *out, int ldo);
void lmmiqa__layernorm_ref(int rows, int n, const float *x, int ldx, const float *gamma,
                           const float *beta, float eps, float *out, int ldo);

/* In place softmax of each row of x[rows, n] (stride ld). */
void lmmiqa__softmax_rows(int rows, int n, float *x, int ld);
void lmmiqa__softmax_rows_ref(int rows, int n, float *x, int ld);

/* exp of n floats (out may equal in); relative error < 4e-7 over the range
 * where exp is finite; saturates beyond. */
void lmmiqa__exp(int n, const float *in, float *out);

#endif
