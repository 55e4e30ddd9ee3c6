/*
 * lmmiqa/nn.h - a small training engine for convolutional networks in C.
 *
 * Why: CNNIQA is trained from scratch and MetaIQA (ResNet-18) fine-tuned on
 * each split's training images before their features are extracted, so the
 * library needs forward AND backward passes of convolution, pooling, batch
 * norm and friends, plus optimizers and resumable checkpoints.
 *
 * Design: layers are plain kernels over caller-owned float32 buffers in NCHW
 * layout (no autograd graph); a model (src/models/cnniqa.c, resnet18.c) calls
 * them in order and keeps what its backward pass needs. Parameters live in
 * one flat block (lmmiqa_nn_params), gradients in a second block of the same
 * layout and optimizer state in a third, so an optimizer step is one loop and
 * a checkpoint is a few contiguous writes. Backward kernels ACCUMULATE into
 * parameter gradients (zero them with lmmiqa_nn_params_zero_grad) and
 * OVERWRITE input gradients.
 *
 * Matrix products use OpenBLAS cblas_sgemm; convolutions of fixed shapes
 * can also run on oneDNN plans (lmmiqa_nn_conv2d_plan, what the models use
 * for full batches); everything else is plain C. Results are deterministic
 * for a given seed and thread count (OpenBLAS, and OpenMP for oneDNN).
 * Semantics follow PyTorch 1.13 (torch.nn) so weights and results carry over:
 * tests/test_nn_torch.c checks whole networks against PyTorch.
 */
#ifndef LMMIQA_NN_H
#define LMMIQA_NN_H

#include "lmmiqa/core.h"
#include "lmmiqa/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- conv2d */

/* A 2-D convolution, as torch.nn.Conv2d: weight [out_ch, in_ch/groups, kh, kw],
 * optional bias [out_ch]; input [n, in_ch, h, w] -> output [n, out_ch, oh, ow]
 * with oh = (h + 2*pad_h - kh) / stride_h + 1 (likewise ow). */
typedef struct lmmiqa_nn_conv2d {
    int in_ch, out_ch, kh, kw;
    int stride_h, stride_w, pad_h, pad_w;
    int groups;
} lmmiqa_nn_conv2d;

/* Output height / width for input height / width. */
int lmmiqa_nn_conv2d_out_h(const lmmiqa_nn_conv2d *c, int h);
int lmmiqa_nn_conv2d_out_w(const lmmiqa_nn_conv2d *c, int w);

/* Floats of scratch the forward and backward passes need for a batch of n
 * images of h x w (im2col columns plus a gathered output block). */
size_t lmmiqa_nn_conv2d_scratch(const lmmiqa_nn_conv2d *c, int n, int h, int w);

/* y[n, out_ch, oh, ow] = conv(x[n, in_ch, h, w], weight) + bias (bias may be NULL). */
void lmmiqa_nn_conv2d_forward(const lmmiqa_nn_conv2d *c, int n, int h, int w,
                                         const float *x, const float *weight, const float *bias,
                                         float *y, float *scratch);

/* Given dy[n, out_ch, oh, ow]: dx[n, in_ch, h, w] = dL/dx (overwritten; NULL
 * to skip), dweight += dL/dweight, dbias += dL/dbias (NULL to skip). */
void lmmiqa_nn_conv2d_backward(const lmmiqa_nn_conv2d *c, int n, int h, int w,
                                          const float *x, const float *weight, const float *dy,
                                          float *dx, float *dweight, float *dbias,
                                          float *scratch);

/* Plain reference convolution (six nested loops) the fast path is tested against. */
void lmmiqa_nn_conv2d_forward_ref(const lmmiqa_nn_conv2d *c, int n, int h, int w,
                                             const float *x, const float *weight,
                                             const float *bias, float *y);

/* A convolution planned on oneDNN for one batch size and input size: the
 * fast path for repeated calls with fixed shapes (ResNet-18 training and
 * inference). Same semantics as lmmiqa_nn_conv2d_forward/_backward (dx
 * overwritten, dweight/dbias accumulated; bias only when the plan was made
 * with has_bias). A plan holds oneDNN primitives, layout-converted copies
 * and a stream: one thread at a time. Creation costs milliseconds. */
typedef struct lmmiqa_nn_conv2d_plan lmmiqa_nn_conv2d_plan;
int lmmiqa_nn_conv2d_plan_create(const lmmiqa_nn_conv2d *c, int n, int h, int w,
                                            int has_bias, lmmiqa_nn_conv2d_plan **out);
void lmmiqa_nn_conv2d_plan_destroy(lmmiqa_nn_conv2d_plan *p);
int lmmiqa_nn_conv2d_plan_forward(lmmiqa_nn_conv2d_plan *p, const float *x,
                                             const float *weight, const float *bias, float *y);
int lmmiqa_nn_conv2d_plan_backward(lmmiqa_nn_conv2d_plan *p, const float *x,
                                              const float *weight, const float *dy, float *dx,
                                              float *dweight, float *dbias);

/* ---------------------------------------------------------------- linear */

/* y[n, out] = x[n, in] * weight[out, in]^T + bias[out] (bias may be NULL). */
void lmmiqa_nn_linear_forward(int n, int in, int out, const float *x,
                                         const float *weight, const float *bias, float *y);
/* dx[n, in] (overwritten, NULL to skip), dweight[out, in] +=, dbias[out] += (NULL to skip). */
void lmmiqa_nn_linear_backward(int n, int in, int out, const float *x,
                                          const float *weight, const float *dy, float *dx,
                                          float *dweight, float *dbias);

/* ----------------------------------------------------------- activations */

/* y[count] = max(x, 0); in place allowed. */
void lmmiqa_nn_relu_forward(size_t count, const float *x, float *y);
/* dx = dy where y > 0 else 0 (y is the forward output); dx may alias dy. */
void lmmiqa_nn_relu_backward(size_t count, const float *y, const float *dy, float *dx);

/* PReLU on x[n, ch, hw]: y = x if x > 0 else a[c] * x, where a has `na`
 * entries: 1 (shared, torch's default) or ch. */
void lmmiqa_nn_prelu_forward(int n, int ch, size_t hw, const float *x, const float *a,
                                        int na, float *y);
/* dx overwritten (may alias dy), da += dL/da. */
void lmmiqa_nn_prelu_backward(int n, int ch, size_t hw, const float *x, const float *a,
                                         int na, const float *dy, float *dx, float *da);

/* y = 1 / (1 + exp(-x)); backward dx = dy * y * (1 - y) (dx may alias dy). */
void lmmiqa_nn_sigmoid_forward(size_t count, const float *x, float *y);
void lmmiqa_nn_sigmoid_backward(size_t count, const float *y, const float *dy,
                                           float *dx);

/* Inverted dropout: with probability p an element is zeroed, the rest are
 * scaled by 1/(1-p). mask[count] receives the per-element factor (0 or
 * 1/(1-p)) for backward; dx = dy * mask. p = 0 copies. */
void lmmiqa_nn_dropout_forward(size_t count, float p, lmmiqa_rng *rng, const float *x,
                                          float *mask, float *y);
void lmmiqa_nn_dropout_backward(size_t count, const float *mask, const float *dy,
                                           float *dx);

/* --------------------------------------------------------------- pooling */

typedef enum lmmiqa_nn_pool_kind {
    LMMIQA_NN_POOL_MAX = 0,
    LMMIQA_NN_POOL_MIN = 1,
    LMMIQA_NN_POOL_AVG = 2
} lmmiqa_nn_pool_kind;

/* Window pooling on x[n, ch, h, w] with a k x k window, stride and zero
 * padding as torch.nn.MaxPool2d / AvgPool2d (padding ignored by max/min,
 * counted by avg: count_include_pad=True). Output [n, ch, oh, ow] with
 * oh = (h + 2*pad - k) / stride + 1. For max/min, index[n*ch*oh*ow]
 * receives the argmax/argmin position within the channel plane (ties: the
 * first), needed by backward; it may be NULL for avg. Global pooling is
 * k = h = w, stride 1, pad 0 (see lmmiqa_nn_global_pool_*). */
typedef struct lmmiqa_nn_pool2d {
    lmmiqa_nn_pool_kind kind;
    int kh, kw, stride_h, stride_w, pad_h, pad_w;
} lmmiqa_nn_pool2d;

int lmmiqa_nn_pool2d_out_h(const lmmiqa_nn_pool2d *p, int h);
int lmmiqa_nn_pool2d_out_w(const lmmiqa_nn_pool2d *p, int w);
void lmmiqa_nn_pool2d_forward(const lmmiqa_nn_pool2d *p, int n, int ch, int h, int w,
                                         const float *x, float *y, int32_t *index);
/* dx[n, ch, h, w] overwritten. */
void lmmiqa_nn_pool2d_backward(const lmmiqa_nn_pool2d *p, int n, int ch, int h, int w,
                                          const int32_t *index, const float *dy, float *dx);

/* Global pooling of x[n, ch, hw] -> y[n, ch]; index as above (NULL for avg). */
void lmmiqa_nn_global_pool_forward(lmmiqa_nn_pool_kind kind, int n, int ch, size_t hw,
                                              const float *x, float *y, int32_t *index);
void lmmiqa_nn_global_pool_backward(lmmiqa_nn_pool_kind kind, int n, int ch,
                                               size_t hw, const int32_t *index, const float *dy,
                                               float *dx);

/* ------------------------------------------------------------ batch norm */

/* Batch norm over x[n, ch, hw] (BatchNorm1d: hw = 1; BatchNorm2d: hw = h*w),
 * as torch: training mode normalises with the batch mean and biased
 * variance and updates running_mean/var with `momentum` (running_var takes
 * the unbiased variance); eval mode uses the running statistics. save_mean
 * and save_invstd [ch] receive what backward needs. gamma/beta may be NULL
 * (affine=False). Training needs n*hw > 1. */
void lmmiqa_nn_batchnorm_forward(int n, int ch, size_t hw, const float *x,
                                            const float *gamma, const float *beta,
                                            float *running_mean, float *running_var,
                                            int training, float momentum, float eps, float *y,
                                            float *save_mean, float *save_invstd);
/* Backward of the mode forward ran in. dx overwritten, dgamma/dbeta +=
 * (NULL to skip). */
void lmmiqa_nn_batchnorm_backward(int n, int ch, size_t hw, const float *x,
                                             const float *gamma, const float *save_mean,
                                             const float *save_invstd, int training,
                                             const float *dy, float *dx, float *dgamma,
                                             float *dbeta);

/* ---------------------------------------------------------------- losses */

/* Mean losses over count elements; dpred (may be NULL) receives dLoss/dpred. */
double lmmiqa_nn_mse_loss(size_t count, const float *pred, const float *target,
                                     float *dpred);
/* L1 gradient at pred == target is 0 (as torch). */
double lmmiqa_nn_l1_loss(size_t count, const float *pred, const float *target,
                                    float *dpred);

/* ------------------------------------------------------------ parameters */

typedef enum lmmiqa_nn_tensor_kind {
    LMMIQA_NN_PARAM = 0,  /* trainable: has a gradient and optimizer state */
    LMMIQA_NN_BUFFER = 1  /* state such as batch-norm running statistics */
} lmmiqa_nn_tensor_kind;

typedef struct lmmiqa_nn_tensor {
    char name[96];
    lmmiqa_nn_tensor_kind kind;
    int ndim;
    int64_t shape[4];
    size_t offset;  /* into data/grad (PARAM) or buffers (BUFFER), floats */
    size_t numel;
} lmmiqa_nn_tensor;

/* Named tensors in flat blocks: data + grad (+ the optimizer's m, v) for
 * parameters, `buffers` for the rest. Declare every tensor with
 * lmmiqa_nn_params_add, then lmmiqa_nn_params_alloc once; pointers into the
 * blocks are stable afterwards. */
typedef struct lmmiqa_nn_params {
    lmmiqa_nn_tensor *tensors;
    size_t count, cap;
    size_t n_param, n_buffer;  /* floats */
    float *data, *grad, *buffers;
    float *opt_m, *opt_v;      /* optimizer state, allocated by lmmiqa_nn_optim_init */
} lmmiqa_nn_params;

void lmmiqa_nn_params_init(lmmiqa_nn_params *p);
void lmmiqa_nn_params_free(lmmiqa_nn_params *p);
/* Declare a tensor; returns its index (or -1 with LMMIQA_ERR_NOMEM set). */
int lmmiqa_nn_params_add(lmmiqa_nn_params *p, const char *name,
                                    lmmiqa_nn_tensor_kind kind, int ndim, const int64_t *shape);
/* Allocate the zeroed blocks. */
int lmmiqa_nn_params_alloc(lmmiqa_nn_params *p);
/* Data / gradient pointer of tensor `index`. */
float *lmmiqa_nn_params_data(const lmmiqa_nn_params *p, int index);
float *lmmiqa_nn_params_grad(const lmmiqa_nn_params *p, int index);
/* Index by name, -1 when absent. */
int lmmiqa_nn_params_find(const lmmiqa_nn_params *p, const char *name);
void lmmiqa_nn_params_zero_grad(lmmiqa_nn_params *p);

/* torch's default initialisations, drawn from rng: kaiming_uniform(a=sqrt(5))
 * for weights, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), same bound for biases. */
void lmmiqa_nn_init_uniform(float *x, size_t count, float bound, lmmiqa_rng *rng);
/* Kaiming normal (fan_out, ReLU), torchvision's ResNet conv init. */
void lmmiqa_nn_init_kaiming_normal(float *x, size_t count, size_t fan_out,
                                              lmmiqa_rng *rng);

/* ------------------------------------------------------------- optimizer */

typedef enum lmmiqa_nn_optim_kind { LMMIQA_NN_ADAM = 0, LMMIQA_NN_SGD = 1 } lmmiqa_nn_optim_kind;

typedef struct lmmiqa_nn_optim {
    lmmiqa_nn_optim_kind kind;
    double lr;            /* base learning rate */
    double beta1, beta2;  /* Adam (0.9, 0.999) */
    double eps;           /* Adam (1e-8) */
    double momentum;      /* SGD (0 = plain) */
    double weight_decay;  /* L2 added to the gradient, as torch's Adam/SGD */
    int step_size;        /* StepLR: lr *= gamma every step_size epochs (0 = constant) */
    double gamma;
    int64_t step;         /* optimizer steps taken (Adam bias correction) */
} lmmiqa_nn_optim;

/* Defaults for a kind (Adam: 0.9/0.999/1e-8; SGD: momentum 0) with lr. */
void lmmiqa_nn_optim_defaults(lmmiqa_nn_optim *o, lmmiqa_nn_optim_kind kind,
                                         double lr);
/* Allocate (zeroed) optimizer state in p. */
int lmmiqa_nn_optim_init(const lmmiqa_nn_optim *o, lmmiqa_nn_params *p);
/* The StepLR learning rate of an epoch (0-based). */
double lmmiqa_nn_optim_lr(const lmmiqa_nn_optim *o, int epoch);
/* One update of every parameter from p->grad at the epoch's learning rate;
 * `frozen` (may be NULL) marks tensors, by index, to leave unchanged. */
void lmmiqa_nn_optim_step(lmmiqa_nn_optim *o, lmmiqa_nn_params *p, int epoch,
                                     const unsigned char *frozen);

/* ------------------------------------------------------------ checkpoints */

/* Save every tensor (buffers too) to a safetensors file under its name; with
 * with_optim also the optimizer state ("optim.m.<name>", "optim.v.<name>")
 * and metadata: optimizer step, and caller key/value pairs (keys[i] ->
 * values[i], n_meta of them, e.g. the model configuration and epoch). */
int lmmiqa_nn_params_save(const lmmiqa_nn_params *p, const lmmiqa_nn_optim *o,
                                     int with_optim, const char *const *keys,
                                     const char *const *values, size_t n_meta,
                                     const char *path);
/* Load tensors by name, checking every name, shape and dtype; prefix (may be
 * NULL) is prepended to our names when looking them up in the file. Missing
 * or extra tensors (extra only counted when strict) fail with
 * LMMIQA_ERR_MISMATCH listing them. With o non-NULL the optimizer state and
 * step are restored too (they must be present). */
int lmmiqa_nn_params_load(lmmiqa_nn_params *p, lmmiqa_nn_optim *o, const char *path,
                                     const char *prefix, int strict);

/* OpenBLAS threads for the engine's matrix products (0 = leave as is). */
void lmmiqa_nn_set_threads(int threads);

#ifdef __cplusplus
}
#endif
#endif
