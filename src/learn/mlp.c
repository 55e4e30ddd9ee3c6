/*
 * src/learn/mlp.c - the FC block's forward and backward passes, float32 on
 * BLAS (OpenBLAS cblas_sgemm/sgemv, like PyTorch trains), a double reference
 * in plain loops, the nn.Linear default initialisation and Adam.
 *
 * Design: every function works on caller-owned blocks (parameters, gradient,
 * moments, scratch) so the training loop allocates nothing per batch. The
 * float path keeps PyTorch's op order where it is cheap to do so (gemm then
 * bias add, ReLU mask from the activation, MSE gradient 2(y-t)/B, sigmoid
 * gradient y(1-y), Adam's update expression) so that it tracks torch 1.13 to
 * float rounding; tests/test_regressor.c holds it to a recorded torch run.
 */
#include "learn/mlp.h"

#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <string.h>

size_t lmmiqa__mlp_param_count(size_t dim, size_t hidden)
{
    if (hidden == 0)
        return dim + 1;
    return hidden * dim + hidden + hidden + 1;
}

lmmiqa__mlp_layout lmmiqa__mlp_layout_of(size_t dim, size_t hidden)
{
    lmmiqa__mlp_layout l;
    if (hidden == 0) {
        l.w1 = 0;
        l.b1 = dim;
        l.w2 = l.b2 = dim + 1;
    } else {
        l.w1 = 0;
        l.b1 = hidden * dim;
        l.w2 = l.b1 + hidden;
        l.b2 = l.w2 + hidden;
    }
    return l;
}

static void uniform_fill(float *p, size_t count, double bound, lmmiqa_rng *rng)
{
    for (size_t i = 0; i < count; i++)
        p[i] = (float)((2.0 * lmmiqa_rng_uniform(rng) - 1.0) * bound);
}

void lmmiqa__mlp_init(float *params, size_t dim, size_t hidden, lmmiqa_rng *rng)
{
    lmmiqa__mlp_layout l = lmmiqa__mlp_layout_of(dim, hidden);
    double b_in = 1.0 / sqrt((double)dim);
    if (hidden == 0) {
        uniform_fill(params + l.w1, dim, b_in, rng);
        uniform_fill(params + l.b1, 1, b_in, rng);
        return;
    }
    double b_hid = 1.0 / sqrt((double)hidden);
    uniform_fill(params + l.w1, hidden * dim, b_in, rng);
    uniform_fill(params + l.b1, hidden, b_in, rng);
    uniform_fill(params + l.w2, hidden, b_hid, rng);
    uniform_fill(params + l.b2, 1, b_hid, rng);
}

size_t lmmiqa__mlp_scratch_floats(size_t hidden, size_t max_batch)
{
    return 2 * hidden * max_batch + 2 * max_batch;
}

void lmmiqa__mlp_scratch_bind(lmmiqa__mlp_scratch *s, float *block, size_t hidden,
                              size_t max_batch)
{
    s->act = block;
    s->dact = block + hidden * max_batch;
    s->z = block + 2 * hidden * max_batch;
    s->dz = s->z + max_batch;
}

static float sigmoidf_(float z)
{
    /* torch's CPU sigmoid: 1 / (1 + exp(-z)) in float. */
    return 1.0f / (1.0f + expf(-z));
}

void lmmiqa__mlp_forward(const float *params, size_t dim, size_t hidden, const float *x,
                         size_t batch, const float *dmask, lmmiqa__mlp_scratch *s, float *y)
{
    lmmiqa__mlp_layout l = lmmiqa__mlp_layout_of(dim, hidden);
    const int B = (int)batch, D = (int)dim, H = (int)hidden;
    assert(batch > 0 && dim > 0);
    if (hidden == 0) {
        /* z [B] = x [B, dim] . w [dim] + b */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, B, D, 1.0f, x, D, params + l.w1, 1, 0.0f,
                    s->z, 1);
        float b = params[l.b1];
        for (size_t i = 0; i < batch; i++) {
            s->z[i] += b;
            y[i] = sigmoidf_(s->z[i]);
        }
        return;
    }
    /* act [B, hidden] = x [B, dim] . W1^T [dim, hidden] */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, H, D, 1.0f, x, D, params + l.w1, D,
                0.0f, s->act, H);
    const float *b1 = params + l.b1;
    for (size_t i = 0; i < batch; i++) {
        float *row = s->act + i * hidden;
        const float *mrow = dmask ? dmask + i * hidden : NULL;
        for (size_t j = 0; j < hidden; j++) {
            float v = row[j] + b1[j];
            v = v > 0.0f ? v : 0.0f;
            row[j] = mrow ? v * mrow[j] : v;
        }
    }
    /* z [B] = act [B, hidden] . w2 [hidden] + b2 */
    cblas_sgemv(CblasRowMajor, CblasNoTrans, B, H, 1.0f, s->act, H, params + l.w2, 1, 0.0f,
                s->z, 1);
    float b2 = params[l.b2];
    for (size_t i = 0; i < batch; i++) {
        s->z[i] += b2;
        y[i] = sigmoidf_(s->z[i]);
    }
}

/* The backward pass from s->dz [B] (dL/dlogit) into grad [param_count]. */
static void backward_from_dz(const float *params, size_t dim, size_t hidden, const float *x,
                             size_t batch, const float *dmask, lmmiqa__mlp_scratch *s,
                             float *grad)
{
    lmmiqa__mlp_layout l = lmmiqa__mlp_layout_of(dim, hidden);
    const int B = (int)batch, D = (int)dim, H = (int)hidden;
    if (hidden == 0) {
        /* dw [dim] = x^T [dim, B] . dz [B]; db = sum dz */
        cblas_sgemv(CblasRowMajor, CblasTrans, B, D, 1.0f, x, D, s->dz, 1, 0.0f, grad + l.w1, 1);
        float db = 0.0f;
        for (size_t i = 0; i < batch; i++)
            db += s->dz[i];
        grad[l.b1] = db;
        return;
    }
    /* dw2 [hidden] = act^T [hidden, B] . dz [B]; db2 = sum dz */
    cblas_sgemv(CblasRowMajor, CblasTrans, B, H, 1.0f, s->act, H, s->dz, 1, 0.0f, grad + l.w2, 1);
    float db2 = 0.0f;
    for (size_t i = 0; i < batch; i++)
        db2 += s->dz[i];
    grad[l.b2] = db2;
    /* dact [B, hidden] = dz [B] x w2 [hidden], through ReLU (and dropout) */
    const float *w2 = params + l.w2;
    for (size_t i = 0; i < batch; i++) {
        const float *arow = s->act + i * hidden;
        const float *mrow = dmask ? dmask + i * hidden : NULL;
        float *drow = s->dact + i * hidden;
        float dzi = s->dz[i];
        for (size_t j = 0; j < hidden; j++) {
            float g = arow[j] > 0.0f ? dzi * w2[j] : 0.0f;
            drow[j] = mrow ? g * mrow[j] : g;
        }
    }
    /* dW1 [hidden, dim] = dact^T [hidden, B] . x [B, dim] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, D, B, 1.0f, s->dact, H, x, D, 0.0f,
                grad + l.w1, D);
    /* db1 [hidden] = column sums of dact */
    float *db1 = grad + l.b1;
    memset(db1, 0, hidden * sizeof *db1);
    for (size_t i = 0; i < batch; i++) {
        const float *drow = s->dact + i * hidden;
        for (size_t j = 0; j < hidden; j++)
            db1[j] += drow[j];
    }
}

double lmmiqa__mlp_backward(const float *params, size_t dim, size_t hidden, const float *x,
                            size_t batch, const float *dmask, const float *y, const float *t,
                            lmmiqa__mlp_scratch *s, float *grad)
{
    double loss = 0.0;
    float scale = 2.0f / (float)batch;
    /* dz [B] = dL/dy * dy/dz = 2 (y - t) / B * y (1 - y) */
    for (size_t i = 0; i < batch; i++) {
        float d = y[i] - t[i];
        loss += (double)d * (double)d;
        float gy = scale * d;
        s->dz[i] = gy * ((1.0f - y[i]) * y[i]);
    }
    loss /= (double)batch;
    backward_from_dz(params, dim, hidden, x, batch, dmask, s, grad);
    return loss;
}

void lmmiqa__mlp_backward_gy(const float *params, size_t dim, size_t hidden, const float *x,
                             size_t batch, const float *dmask, const float *y, const float *gy,
                             lmmiqa__mlp_scratch *s, float *grad)
{
    for (size_t i = 0; i < batch; i++)
        s->dz[i] = gy[i] * ((1.0f - y[i]) * y[i]);
    backward_from_dz(params, dim, hidden, x, batch, dmask, s, grad);
}

double lmmiqa__rank_loss_grad_y(const float *y, const float *t, size_t rows, size_t pairs,
                                double lambda, double margin, float *gy, double *mse,
                                double *hinge)
{
    double sq = 0.0, hs = 0.0;
    float scale = 2.0f / (float)rows;
    for (size_t i = 0; i < rows; i++) {
        float d = y[i] - t[i];
        sq += (double)d * (double)d;
        gy[i] = scale * d;
    }
    const float *yb = y + rows, *yw = y + rows + pairs;
    float *gb = gy + rows, *gw = gy + rows + pairs;
    float g = pairs ? (float)(lambda / (double)pairs) : 0.0f;
    for (size_t p = 0; p < pairs; p++) {
        double v = margin - ((double)yb[p] - (double)yw[p]);
        if (v > 0.0) {
            hs += v;
            gb[p] = -g;
            gw[p] = g;
        } else {
            gb[p] = gw[p] = 0.0f;
        }
    }
    sq /= (double)rows;
    hs = pairs ? hs / (double)pairs : 0.0;
    if (mse)
        *mse = sq;
    if (hinge)
        *hinge = hs;
    return sq + lambda * hs;
}

/* Forward pass of one row of the double reference network: returns the
 * sigmoid output y; act [hidden] receives the (masked) hidden activations.
 * mask [hidden] is the row's dropout mask or NULL. */
static double ref_forward(const double *params, size_t dim, size_t hidden, const double *xb,
                          const double *mask, double *act)
{
    lmmiqa__mlp_layout l = lmmiqa__mlp_layout_of(dim, hidden);
    double z;
    if (hidden == 0) {
        z = params[l.b1];
        for (size_t k = 0; k < dim; k++)
            z += params[l.w1 + k] * xb[k];
    } else {
        z = params[l.b2];
        for (size_t j = 0; j < hidden; j++) {
            double h = params[l.b1 + j];
            for (size_t k = 0; k < dim; k++)
                h += params[l.w1 + j * dim + k] * xb[k];
            double a = h > 0.0 ? h : 0.0;
            if (mask)
                a *= mask[j];
            act[j] = a;
            z += params[l.w2 + j] * a;
        }
    }
    return 1.0 / (1.0 + exp(-z));
}

/* Backward pass of that row: adds dz * dlogit/dparams to grad, with
 * dz = dy * y * (1 - y) (dy = dloss/dy). act and mask as ref_forward left
 * and took them. */
static void ref_backward(const double *params, size_t dim, size_t hidden, const double *xb,
                         const double *mask, const double *act, double y, double dy,
                         double *grad)
{
    lmmiqa__mlp_layout l = lmmiqa__mlp_layout_of(dim, hidden);
    double dz = dy * y * (1.0 - y);
    if (hidden == 0) {
        for (size_t k = 0; k < dim; k++)
            grad[l.w1 + k] += dz * xb[k];
        grad[l.b1] += dz;
        return;
    }
    grad[l.b2] += dz;
    for (size_t j = 0; j < hidden; j++) {
        grad[l.w2 + j] += dz * act[j];
        double dh = act[j] > 0.0 ? dz * params[l.w2 + j] : 0.0;
        if (mask)
            dh *= mask[j];
        grad[l.b1 + j] += dh;
        for (size_t k = 0; k < dim; k++)
            grad[l.w1 + j * dim + k] += dh * xb[k];
    }
}

double lmmiqa__mlp_ref_loss_grad(const double *params, size_t dim, size_t hidden,
                                 const double *x, size_t batch, const double *dmask,
                                 const double *t, double *y, double *grad)
{
    size_t np = lmmiqa__mlp_param_count(dim, hidden);
    if (grad)
        memset(grad, 0, np * sizeof *grad);
    double loss = 0.0;
    double act[LMMIQA__MLP_REF_MAX_HIDDEN];
    assert(hidden <= LMMIQA__MLP_REF_MAX_HIDDEN);
    for (size_t b = 0; b < batch; b++) {
        const double *xb = x + b * dim;
        const double *mask = dmask ? dmask + b * hidden : NULL;
        double yb = ref_forward(params, dim, hidden, xb, mask, act);
        if (y)
            y[b] = yb;
        double d = yb - t[b];
        loss += d * d;
        if (grad)
            ref_backward(params, dim, hidden, xb, mask, act, yb, 2.0 * d / (double)batch, grad);
    }
    return loss / (double)batch;
}

double lmmiqa__mlp_ref_ranked_loss_grad(const double *params, size_t dim, size_t hidden,
                                        const double *x, const double *t, size_t rows,
                                        const double *xb, const double *xw, size_t pairs,
                                        double lambda, double margin, double *grad)
{
    double act[LMMIQA__MLP_REF_MAX_HIDDEN];
    assert(hidden <= LMMIQA__MLP_REF_MAX_HIDDEN);
    double loss = lmmiqa__mlp_ref_loss_grad(params, dim, hidden, x, rows, NULL, t, NULL, grad);
    double hs = 0.0;
    for (size_t p = 0; p < pairs; p++) {
        double yb = ref_forward(params, dim, hidden, xb + p * dim, NULL, act);
        double yw = ref_forward(params, dim, hidden, xw + p * dim, NULL, act);
        double v = margin - (yb - yw);
        if (v <= 0.0)
            continue;
        hs += v;
        if (grad) {
            ref_forward(params, dim, hidden, xb + p * dim, NULL, act);
            ref_backward(params, dim, hidden, xb + p * dim, NULL, act, yb, -lambda / (double)pairs,
                         grad);
            ref_forward(params, dim, hidden, xw + p * dim, NULL, act);
            ref_backward(params, dim, hidden, xw + p * dim, NULL, act, yw, lambda / (double)pairs,
                         grad);
        }
    }
    return loss + (pairs ? lambda * hs / (double)pairs : 0.0);
}

void lmmiqa__adam_init(lmmiqa__adam *a, double lr, double weight_decay)
{
    a->lr = lr;
    a->beta1 = 0.9;
    a->beta2 = 0.999;
    a->eps = 1e-8;
    a->weight_decay = weight_decay;
    a->step = 0;
}

/* Scalars of one Adam step, in float, computed in double like torch's
 * Python floats. */
typedef struct adam_consts {
    float step_size, bc2_sqrt, b1, b2, c1, c2, eps, wd;
} adam_consts;

/* The update of elements [i0, i1): the scalar reference and, below, the
 * AVX2 version, which applies the same IEEE operations in the same order
 * (no FMA contraction) and so gives bit-identical results. */
static void adam_scalar(const adam_consts *k, float *p, const float *g, float *m, float *v,
                        size_t i0, size_t i1)
{
    for (size_t i = i0; i < i1; i++) {
        float gi = g[i];
        if (k->wd != 0.0f)
            gi = gi + k->wd * p[i];
        m[i] = m[i] * k->b1 + gi * k->c1;
        v[i] = v[i] * k->b2 + k->c2 * (gi * gi);
        float denom = sqrtf(v[i]) / k->bc2_sqrt + k->eps;
        p[i] = p[i] + (-k->step_size) * (m[i] / denom);
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx2"))) static size_t adam_avx2(const adam_consts *k, float *p,
                                                        const float *g, float *m, float *v,
                                                        size_t n)
{
    const __m256 wd = _mm256_set1_ps(k->wd), b1 = _mm256_set1_ps(k->b1);
    const __m256 b2 = _mm256_set1_ps(k->b2), c1 = _mm256_set1_ps(k->c1);
    const __m256 c2 = _mm256_set1_ps(k->c2), eps = _mm256_set1_ps(k->eps);
    const __m256 bc2 = _mm256_set1_ps(k->bc2_sqrt), nstep = _mm256_set1_ps(-k->step_size);
    const int use_wd = k->wd != 0.0f;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 pi = _mm256_loadu_ps(p + i), gi = _mm256_loadu_ps(g + i);
        if (use_wd)
            gi = _mm256_add_ps(gi, _mm256_mul_ps(wd, pi));
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(m + i), b1), _mm256_mul_ps(gi, c1));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), b2),
                                  _mm256_mul_ps(c2, _mm256_mul_ps(gi, gi)));
        __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), bc2), eps);
        pi = _mm256_add_ps(pi, _mm256_mul_ps(nstep, _mm256_div_ps(mi, denom)));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        _mm256_storeu_ps(p + i, pi);
    }
    return i;
}
#endif

void lmmiqa__adam_step_impl(lmmiqa__adam *a, float *p, const float *g, float *m, float *v,
                              size_t n, int allow_simd)
{
    a->step++;
    double bc1 = 1.0 - pow(a->beta1, (double)a->step);
    double bc2 = 1.0 - pow(a->beta2, (double)a->step);
    adam_consts k = {(float)(a->lr / bc1), (float)sqrt(bc2), (float)a->beta1, (float)a->beta2,
                     (float)(1.0 - a->beta1), (float)(1.0 - a->beta2), (float)a->eps,
                     (float)a->weight_decay};
    size_t done = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    if (allow_simd && __builtin_cpu_supports("avx2"))
        done = adam_avx2(&k, p, g, m, v, n);
#else
    (void)allow_simd;
#endif
    adam_scalar(&k, p, g, m, v, done, n);
}

void lmmiqa__adam_step(lmmiqa__adam *a, float *p, const float *g, float *m, float *v, size_t n)
{
    lmmiqa__adam_step_impl(a, p, g, m, v, n, 1);
}
