/*
 * src/learn/mlp.h - internal: the regressor's network (the paper's FC block)
 * and its Adam optimiser, shared by regressor.c and the tests (the SVR
 * solver is in svr_smo.h).
 *
 * Network shapes (hidden > 0: MLP head, hidden == 0: linear head):
 *   MLP:    x [B, dim] -> fc1 (W1 [hidden, dim], b1 [hidden]) -> ReLU
 *           [-> dropout] -> fc2 (w2 [1, hidden], b2 [1]) -> sigmoid -> y [B]
 *   linear: x [B, dim] -> fc (w [1, dim], b [1]) -> sigmoid -> y [B]
 * Loss: MSE, mean over the batch: L = 1/B sum_b (y_b - t_b)^2; with ranking
 * pairs, plus lambda * mean_p max(0, margin - (y_better - y_worse)).
 *
 * All parameters live in one flat float block, in PyTorch's state_dict order
 * (fc1.weight, fc1.bias, fc2.weight, fc2.bias; or fc.weight, fc.bias), each
 * row-major like nn.Linear; gradients and Adam moments are blocks of the
 * same layout. The float path runs on BLAS; a plain double reference
 * (naive loops) is what it is tested against.
 */
#ifndef LMMIQA_LEARN_MLP_H
#define LMMIQA_LEARN_MLP_H

#include "lmmiqa/regressor.h"
#include "lmmiqa/rng.h"

#include <stddef.h>
#include <stdint.h>

/* Number of floats in the parameter block. */
size_t lmmiqa__mlp_param_count(size_t dim, size_t hidden);

/* Offsets of the four parameter tensors inside the block (b-offsets for the
 * linear head: w1 = fc.weight, b1 = fc.bias, w2/b2 unused). */
typedef struct lmmiqa__mlp_layout {
    size_t w1, b1, w2, b2;
} lmmiqa__mlp_layout;
lmmiqa__mlp_layout lmmiqa__mlp_layout_of(size_t dim, size_t hidden);

/* PyTorch nn.Linear default init: weights and biases U(-1/sqrt(fan_in),
 * 1/sqrt(fan_in)), drawn in block order from `rng`. */
void lmmiqa__mlp_init(float *params, size_t dim, size_t hidden, lmmiqa_rng *rng);

/* Per-batch scratch for the float path: floats needed for up to max_batch rows. */
size_t lmmiqa__mlp_scratch_floats(size_t hidden, size_t max_batch);

typedef struct lmmiqa__mlp_scratch {
    float *act;  /* [B, hidden] post-ReLU (and dropout) activations */
    float *dact; /* [B, hidden] gradient w.r.t. the pre-activation */
    float *z;    /* [B] logits */
    float *dz;   /* [B] gradient w.r.t. the logits */
} lmmiqa__mlp_scratch;
void lmmiqa__mlp_scratch_bind(lmmiqa__mlp_scratch *s, float *block, size_t hidden,
                              size_t max_batch);

/* Float forward (BLAS): x [B, dim] -> y [B] = sigmoid(logit). `dmask`
 * [B, hidden] (NULL = no dropout) multiplies the ReLU output: 0 for a dropped
 * unit, 1/(1-p) for a kept one. Keeps activations in `s` for backward. */
void lmmiqa__mlp_forward(const float *params, size_t dim, size_t hidden, const float *x,
                         size_t batch, const float *dmask, lmmiqa__mlp_scratch *s, float *y);

/* Float backward (BLAS) after lmmiqa__mlp_forward on the same x, y: the MSE
 * loss against t [B] (returned, accumulated in double) and its gradient into
 * grad [param_count] (overwritten). */
double lmmiqa__mlp_backward(const float *params, size_t dim, size_t hidden, const float *x,
                            size_t batch, const float *dmask, const float *y, const float *t,
                            lmmiqa__mlp_scratch *s, float *grad);

/* Backward from a given dL/dy: gy [B] (instead of the MSE's), after
 * lmmiqa__mlp_forward on the same x, y. grad [param_count] overwritten. */
void lmmiqa__mlp_backward_gy(const float *params, size_t dim, size_t hidden, const float *x,
                             size_t batch, const float *dmask, const float *y, const float *gy,
                             lmmiqa__mlp_scratch *s, float *grad);

/* The rank-augmented loss of one batch laid out as y [rows + 2 * pairs] =
 * [rows MOS rows | pairs "better" rows | pairs "worse" rows]:
 *   L = 1/rows sum_i (y_i - t_i)^2
 *       + lambda * 1/pairs sum_p max(0, margin - (y_better_p - y_worse_p))
 * (the hinge term is 0 when pairs = 0). Writes dL/dy into gy [rows + 2 *
 * pairs] (the hinge's subgradient at the kink is 0), the two parts into *mse
 * and *hinge (each may be NULL), and returns L. rows >= 1. */
double lmmiqa__rank_loss_grad_y(const float *y, const float *t, size_t rows, size_t pairs,
                                double lambda, double margin, float *gy, double *mse,
                                double *hinge);

/* Double reference (naive loops, no BLAS): forward + loss + gradient. y and
 * grad may be NULL. dmask as above (NULL = none). Returns the loss. For test
 * shapes: hidden <= LMMIQA__MLP_REF_MAX_HIDDEN. */
#define LMMIQA__MLP_REF_MAX_HIDDEN 1024
double lmmiqa__mlp_ref_loss_grad(const double *params, size_t dim, size_t hidden,
                                 const double *x, size_t batch, const double *dmask,
                                 const double *t, double *y, double *grad);

/* Double reference of the rank-augmented loss (no dropout): MSE of x [rows,
 * dim] against t [rows] plus lambda * mean hinge over pairs (xb [pairs, dim]
 * better than xw [pairs, dim]); gradient into grad (may be NULL). */
double lmmiqa__mlp_ref_ranked_loss_grad(const double *params, size_t dim, size_t hidden,
                                        const double *x, const double *t, size_t rows,
                                        const double *xb, const double *xw, size_t pairs,
                                        double lambda, double margin, double *grad);

/* Adam as torch.optim.Adam (1.13, single-tensor path): L2 weight decay added
 * to the gradient, bias-corrected moments, eps added after the square root. */
typedef struct lmmiqa__adam {
    double lr, beta1, beta2, eps, weight_decay;
    long step; /* steps taken so far */
} lmmiqa__adam;
void lmmiqa__adam_init(lmmiqa__adam *a, double lr, double weight_decay);
/* One step over n parameters: p [n] updated in place from g [n] (left
 * unchanged), moments m [n], v [n]. */
void lmmiqa__adam_step(lmmiqa__adam *a, float *p, const float *g, float *m, float *v, size_t n);
/* The same step with the AVX2 path allowed (allow_simd = 1, what
 * lmmiqa__adam_step does where the CPU has AVX2) or not (0: plain loop, the
 * reference the vector path must match bit for bit). */
void lmmiqa__adam_step_impl(lmmiqa__adam *a, float *p, const float *g, float *m, float *v,
                              size_t n, int allow_simd);

/* Hooks the tests use to pin training to an external reference (PyTorch). */
typedef struct lmmiqa__train_hooks {
    const float *init_params; /* [param_count] initial weights, NULL = seeded init */
    const size_t *order;      /* [epochs * n] row order per epoch, NULL = seeded shuffle */
    double *step_loss;        /* [epochs * ceil(n / batch)] per-step losses out, or NULL */
} lmmiqa__train_hooks;

int lmmiqa__regressor_train_ex(const lmmiqa_regressor_config *cfg, const float *x,
                               const double *mos, size_t n, size_t dim, double mos_min,
                               double mos_max, const float *x_val, const double *mos_val,
                               size_t n_val, const lmmiqa__train_hooks *hooks,
                               lmmiqa_regressor **out);

/* The trained parameter block of an MLP/linear regressor (NULL for SVR). */
const float *lmmiqa__regressor_params(const lmmiqa_regressor *reg, size_t *count);

#endif
