/*
 * src/nn/layers.c - the engine's non-convolution kernels: linear, ReLU,
 * PReLU, sigmoid, dropout, window and global pooling, batch norm and the
 * losses, each with its backward pass. Plain loops (linear uses SGEMM);
 * sums that feed gradients accumulate in double where a channel's sum runs
 * over a whole batch, so results do not drift with batch size.
 */
#include "nn/nn.h"

#include <assert.h>
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

/* y[n, out] = x[n, in] * weight[out, in]^T + bias[out] */
void lmmiqa_nn_linear_forward(int n, int in, int out, const float *x, const float *weight,
                              const float *bias, float *y)
{
    for (int s = 0; s < n; s++) {
        float *row = y + (size_t)s * out;
        if (bias)
            memcpy(row, bias, (size_t)out * sizeof *row);
        else
            memset(row, 0, (size_t)out * sizeof *row);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, in, weight, in,
                1.0f, y, out);
}

void lmmiqa_nn_linear_backward(int n, int in, int out, const float *x, const float *weight,
                               const float *dy, float *dx, float *dweight, float *dbias)
{
    if (dx) /* dx[n, in] = dy[n, out] * W[out, in] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1.0f, dy, out, weight,
                    in, 0.0f, dx, in);
    if (dweight) /* dW[out, in] += dy^T[out, n] * x[n, in] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1.0f, dy, out, x, in,
                    1.0f, dweight, in);
    if (dbias)
        for (int o = 0; o < out; o++) {
            double acc = 0.0;
            for (int s = 0; s < n; s++)
                acc += dy[(size_t)s * out + o];
            dbias[o] += (float)acc;
        }
}

void lmmiqa_nn_relu_forward(size_t count, const float *x, float *y)
{
    for (size_t i = 0; i < count; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void lmmiqa_nn_relu_backward(size_t count, const float *y, const float *dy, float *dx)
{
    for (size_t i = 0; i < count; i++)
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

/* x, y [n, ch, hw]; a [na], na = 1 or ch */
void lmmiqa_nn_prelu_forward(int n, int ch, size_t hw, const float *x, const float *a, int na,
                             float *y)
{
    assert(na == 1 || na == ch);
    for (int s = 0; s < n; s++)
        for (int c = 0; c < ch; c++) {
            float slope = a[na == 1 ? 0 : c];
            size_t off = ((size_t)s * ch + c) * hw;
            for (size_t i = 0; i < hw; i++) {
                float v = x[off + i];
                y[off + i] = v > 0.0f ? v : slope * v;
            }
        }
}

void lmmiqa_nn_prelu_backward(int n, int ch, size_t hw, const float *x, const float *a, int na,
                              const float *dy, float *dx, float *da)
{
    assert(na == 1 || na == ch);
    double acc_shared = 0.0;
    for (int c = 0; c < ch; c++) {
        float slope = a[na == 1 ? 0 : c];
        double acc = 0.0;
        for (int s = 0; s < n; s++) {
            size_t off = ((size_t)s * ch + c) * hw;
            for (size_t i = 0; i < hw; i++) {
                float v = x[off + i], g = dy[off + i];
                if (v > 0.0f) {
                    dx[off + i] = g;
                } else {
                    acc += (double)g * v;
                    dx[off + i] = slope * g;
                }
            }
        }
        if (na == 1)
            acc_shared += acc;
        else if (da)
            da[c] += (float)acc;
    }
    if (na == 1 && da)
        da[0] += (float)acc_shared;
}

void lmmiqa_nn_sigmoid_forward(size_t count, const float *x, float *y)
{
    for (size_t i = 0; i < count; i++)
        y[i] = 1.0f / (1.0f + expf(-x[i]));
}

void lmmiqa_nn_sigmoid_backward(size_t count, const float *y, const float *dy, float *dx)
{
    for (size_t i = 0; i < count; i++)
        dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

void lmmiqa_nn_dropout_forward(size_t count, float p, lmmiqa_rng *rng, const float *x,
                               float *mask, float *y)
{
    assert(p >= 0.0f && p < 1.0f);
    float keep = 1.0f / (1.0f - p);
    for (size_t i = 0; i < count; i++) {
        float m = (p > 0.0f && lmmiqa_rng_uniform(rng) < p) ? 0.0f : keep;
        mask[i] = m;
        y[i] = x[i] * m;
    }
}

void lmmiqa_nn_dropout_backward(size_t count, const float *mask, const float *dy, float *dx)
{
    for (size_t i = 0; i < count; i++)
        dx[i] = dy[i] * mask[i];
}

int lmmiqa_nn_pool2d_out_h(const lmmiqa_nn_pool2d *p, int h)
{
    return (h + 2 * p->pad_h - p->kh) / p->stride_h + 1;
}

int lmmiqa_nn_pool2d_out_w(const lmmiqa_nn_pool2d *p, int w)
{
    return (w + 2 * p->pad_w - p->kw) / p->stride_w + 1;
}

/* The input rows [*y0, *y1) and columns [*x0, *x1) of output cell (oy, ox),
 * padding cut off: the window forward and backward passes share. */
static void pool_window(const lmmiqa_nn_pool2d *p, int oy, int ox, int h, int w, int *y0,
                        int *x0, int *y1, int *x1)
{
    *y0 = oy * p->stride_h - p->pad_h;
    *x0 = ox * p->stride_w - p->pad_w;
    *y1 = *y0 + p->kh < h ? *y0 + p->kh : h;
    *x1 = *x0 + p->kw < w ? *x0 + p->kw : w;
    *y0 = *y0 < 0 ? 0 : *y0;
    *x0 = *x0 < 0 ? 0 : *x0;
}

/* x [n, ch, h, w] -> y [n, ch, oh, ow]; index [n, ch, oh, ow] for max/min */
void lmmiqa_nn_pool2d_forward(const lmmiqa_nn_pool2d *p, int n, int ch, int h, int w,
                              const float *x, float *y, int32_t *index)
{
    int oh = lmmiqa_nn_pool2d_out_h(p, h), ow = lmmiqa_nn_pool2d_out_w(p, w);
    float div = 1.0f / (float)(p->kh * p->kw);
    for (size_t plane = 0; plane < (size_t)n * ch; plane++) {
        const float *xp = x + plane * h * w;
        float *yp = y + plane * oh * ow;
        int32_t *ip = index ? index + plane * oh * ow : NULL;
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                int y0, x0, y1, x1;
                pool_window(p, oy, ox, h, w, &y0, &x0, &y1, &x1);
                if (p->kind == LMMIQA_NN_POOL_AVG) {
                    float acc = 0.0f;
                    for (int iy = y0; iy < y1; iy++)
                        for (int ix = x0; ix < x1; ix++)
                            acc += xp[(size_t)iy * w + ix];
                    yp[oy * ow + ox] = acc * div;
                    continue;
                }
                int best = -1;
                float bv = 0.0f;
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++) {
                        float v = xp[(size_t)iy * w + ix];
                        int better = p->kind == LMMIQA_NN_POOL_MAX ? v > bv : v < bv;
                        if (best < 0 || better || isnan(v)) {
                            best = iy * w + ix;
                            bv = v;
                            if (isnan(v))
                                goto done;
                        }
                    }
            done:
                yp[oy * ow + ox] = bv;
                ip[oy * ow + ox] = best;
            }
    }
}

void lmmiqa_nn_pool2d_backward(const lmmiqa_nn_pool2d *p, int n, int ch, int h, int w,
                               const int32_t *index, const float *dy, float *dx)
{
    int oh = lmmiqa_nn_pool2d_out_h(p, h), ow = lmmiqa_nn_pool2d_out_w(p, w);
    float div = 1.0f / (float)(p->kh * p->kw);
    memset(dx, 0, (size_t)n * ch * h * w * sizeof *dx);
    for (size_t plane = 0; plane < (size_t)n * ch; plane++) {
        float *dp = dx + plane * h * w;
        const float *gp = dy + plane * oh * ow;
        if (p->kind != LMMIQA_NN_POOL_AVG) {
            const int32_t *ip = index + plane * oh * ow;
            for (int q = 0; q < oh * ow; q++)
                if (ip[q] >= 0)
                    dp[ip[q]] += gp[q];
            continue;
        }
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                int y0, x0, y1, x1;
                pool_window(p, oy, ox, h, w, &y0, &x0, &y1, &x1);
                float g = gp[oy * ow + ox] * div;
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++)
                        dp[(size_t)iy * w + ix] += g;
            }
    }
}

/* x [n, ch, hw] -> y [n, ch] */
void lmmiqa_nn_global_pool_forward(lmmiqa_nn_pool_kind kind, int n, int ch, size_t hw,
                                   const float *x, float *y, int32_t *index)
{
    for (size_t plane = 0; plane < (size_t)n * ch; plane++) {
        const float *xp = x + plane * hw;
        if (kind == LMMIQA_NN_POOL_AVG) {
            float acc = 0.0f;
            for (size_t i = 0; i < hw; i++)
                acc += xp[i];
            y[plane] = acc / (float)hw;
            continue;
        }
        /* extreme value with 8 independent lanes (vectorises to max/minps),
         * then the first position holding it; a NaN plane gives position 0 */
        float lane[8];
        size_t i = 0;
        for (int j = 0; j < 8; j++)
            lane[j] = xp[0];
        if (kind == LMMIQA_NN_POOL_MAX) {
            for (; i + 8 <= hw; i += 8)
                for (int j = 0; j < 8; j++)
                    lane[j] = xp[i + j] > lane[j] ? xp[i + j] : lane[j];
            for (; i < hw; i++)
                lane[0] = xp[i] > lane[0] ? xp[i] : lane[0];
            for (int j = 1; j < 8; j++)
                lane[0] = lane[j] > lane[0] ? lane[j] : lane[0];
        } else {
            for (; i + 8 <= hw; i += 8)
                for (int j = 0; j < 8; j++)
                    lane[j] = xp[i + j] < lane[j] ? xp[i + j] : lane[j];
            for (; i < hw; i++)
                lane[0] = xp[i] < lane[0] ? xp[i] : lane[0];
            for (int j = 1; j < 8; j++)
                lane[0] = lane[j] < lane[0] ? lane[j] : lane[0];
        }
        float bv = lane[0];
        size_t best = 0;
        while (best < hw && xp[best] != bv)
            best++;
        if (best == hw)
            best = 0;
        y[plane] = bv;
        index[plane] = (int32_t)best;
    }
}

void lmmiqa_nn_global_pool_backward(lmmiqa_nn_pool_kind kind, int n, int ch, size_t hw,
                                    const int32_t *index, const float *dy, float *dx)
{
    for (size_t plane = 0; plane < (size_t)n * ch; plane++) {
        float *dp = dx + plane * hw;
        if (kind == LMMIQA_NN_POOL_AVG) {
            float g = dy[plane] / (float)hw;
            for (size_t i = 0; i < hw; i++)
                dp[i] = g;
        } else {
            memset(dp, 0, hw * sizeof *dp);
            dp[index[plane]] = dy[plane];
        }
    }
}

/* x, y [n, ch, hw]; gamma, beta, running_*, save_* [ch] */
void lmmiqa_nn_batchnorm_forward(int n, int ch, size_t hw, const float *x, const float *gamma,
                                 const float *beta, float *running_mean, float *running_var,
                                 int training, float momentum, float eps, float *y,
                                 float *save_mean, float *save_invstd)
{
    size_t m = (size_t)n * hw;
    for (int c = 0; c < ch; c++) {
        double mean, var;
        if (training) {
            assert(m > 1);
            double acc = 0.0;
            for (int s = 0; s < n; s++) {
                const float *xp = x + ((size_t)s * ch + c) * hw;
                for (size_t i = 0; i < hw; i++)
                    acc += xp[i];
            }
            mean = acc / (double)m;
            double acc2 = 0.0;
            for (int s = 0; s < n; s++) {
                const float *xp = x + ((size_t)s * ch + c) * hw;
                for (size_t i = 0; i < hw; i++) {
                    double d = xp[i] - mean;
                    acc2 += d * d;
                }
            }
            var = acc2 / (double)m;
            if (running_mean)
                running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + momentum * mean);
            if (running_var)
                running_var[c] = (float)((1.0 - momentum) * running_var[c] +
                                         momentum * var * (double)m / (double)(m - 1));
        } else {
            mean = running_mean[c];
            var = running_var[c];
        }
        float invstd = (float)(1.0 / sqrt(var + eps));
        float fm = (float)mean;
        save_mean[c] = fm;
        save_invstd[c] = invstd;
        float g = gamma ? gamma[c] : 1.0f, b = beta ? beta[c] : 0.0f;
        float scale = g * invstd, shift = b - fm * scale;
        for (int s = 0; s < n; s++) {
            const float *xp = x + ((size_t)s * ch + c) * hw;
            float *yp = y + ((size_t)s * ch + c) * hw;
            for (size_t i = 0; i < hw; i++)
                yp[i] = xp[i] * scale + shift;
        }
    }
}

void lmmiqa_nn_batchnorm_backward(int n, int ch, size_t hw, const float *x, const float *gamma,
                                  const float *save_mean, const float *save_invstd, int training,
                                  const float *dy, float *dx, float *dgamma, float *dbeta)
{
    size_t m = (size_t)n * hw;
    for (int c = 0; c < ch; c++) {
        float mean = save_mean[c], invstd = save_invstd[c];
        float g = gamma ? gamma[c] : 1.0f;
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (int s = 0; s < n; s++) {
            const float *xp = x + ((size_t)s * ch + c) * hw;
            const float *gp = dy + ((size_t)s * ch + c) * hw;
            for (size_t i = 0; i < hw; i++) {
                sum_dy += gp[i];
                sum_dy_xhat += (double)gp[i] * ((xp[i] - mean) * invstd);
            }
        }
        if (dgamma)
            dgamma[c] += (float)sum_dy_xhat;
        if (dbeta)
            dbeta[c] += (float)sum_dy;
        if (!dx)
            continue;
        float k = g * invstd;
        float mdy = training ? (float)(sum_dy / (double)m) : 0.0f;
        float mdx = training ? (float)(sum_dy_xhat / (double)m) : 0.0f;
        for (int s = 0; s < n; s++) {
            const float *xp = x + ((size_t)s * ch + c) * hw;
            const float *gp = dy + ((size_t)s * ch + c) * hw;
            float *dp = dx + ((size_t)s * ch + c) * hw;
            for (size_t i = 0; i < hw; i++) {
                float xhat = (xp[i] - mean) * invstd;
                dp[i] = k * (gp[i] - mdy - xhat * mdx);
            }
        }
    }
}

double lmmiqa_nn_mse_loss(size_t count, const float *pred, const float *target, float *dpred)
{
    double acc = 0.0;
    for (size_t i = 0; i < count; i++) {
        double d = (double)pred[i] - target[i];
        acc += d * d;
        if (dpred)
            dpred[i] = (float)(2.0 * d / (double)count);
    }
    return acc / (double)count;
}

double lmmiqa_nn_l1_loss(size_t count, const float *pred, const float *target, float *dpred)
{
    double acc = 0.0;
    for (size_t i = 0; i < count; i++) {
        double d = (double)pred[i] - target[i];
        acc += fabs(d);
        if (dpred)
            dpred[i] = (float)((d > 0.0 ? 1.0 : d < 0.0 ? -1.0 : 0.0) / (double)count);
    }
    return acc / (double)count;
}
