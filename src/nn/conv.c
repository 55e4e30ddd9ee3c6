/*
 * src/nn/conv.c - 2-D convolution forward and backward by im2col + SGEMM.
 *
 * Shapes: x [n, in_ch, h, w], weight [out_ch, in_ch/groups, kh, kw],
 * y [n, out_ch, oh, ow]. For each group the images of a chunk of the batch
 * are unfolded side by side into one column matrix cols [K, nb*P]
 * (K = in_ch/groups*kh*kw, P = oh*ow), so one SGEMM covers nb images even
 * when P is small (ResNet's late layers); the chunk size depends only on the
 * shapes, which keeps results independent of anything but the thread count.
 * Backward recomputes the columns instead of keeping them (memory over time).
 */
#include "nn/nn.h"

#include <assert.h>
#include <cblas.h>
#include <string.h>

/* Upper bound on the floats of one chunk's column matrix (16 MiB). */
#define CHUNK_FLOATS ((size_t)4 << 20)

int lmmiqa_nn_conv2d_out_h(const lmmiqa_nn_conv2d *c, int h)
{
    return (h + 2 * c->pad_h - c->kh) / c->stride_h + 1;
}

int lmmiqa_nn_conv2d_out_w(const lmmiqa_nn_conv2d *c, int w)
{
    return (w + 2 * c->pad_w - c->kw) / c->stride_w + 1;
}

static void check_desc(const lmmiqa_nn_conv2d *c)
{
    assert(c->groups >= 1 && c->in_ch % c->groups == 0 && c->out_ch % c->groups == 0);
    assert(c->kh >= 1 && c->kw >= 1 && c->stride_h >= 1 && c->stride_w >= 1);
    assert(c->pad_h >= 0 && c->pad_w >= 0);
    (void)c;
}

/* Images per chunk for K x P columns. */
static int chunk_images(size_t k, size_t p, int n)
{
    size_t per = k * p;
    size_t nb = per ? CHUNK_FLOATS / per : 1;
    if (nb < 1)
        nb = 1;
    if (nb > (size_t)n)
        nb = (size_t)n;
    return (int)nb;
}

size_t lmmiqa_nn_conv2d_scratch(const lmmiqa_nn_conv2d *c, int n, int h, int w)
{
    check_desc(c);
    size_t oh = (size_t)lmmiqa_nn_conv2d_out_h(c, h), ow = (size_t)lmmiqa_nn_conv2d_out_w(c, w);
    size_t k = (size_t)(c->in_ch / c->groups) * c->kh * c->kw, p = oh * ow;
    size_t nb = (size_t)chunk_images(k, p, n);
    size_t cout_g = (size_t)(c->out_ch / c->groups);
    return nb * p * (2 * k + cout_g);
}

/* Unfold channels [c0, c0+cg) of one image x[in_ch, h, w] into
 * cols[k, ld] at column offset coff: cols[(ci*kh+i)*kw+j][coff + oy*ow+ox]. */
static void im2col(const lmmiqa_nn_conv2d *c, int h, int w, int oh, int ow, const float *x,
                   int c0, int cg, float *cols, size_t ld, size_t coff)
{
    size_t row = 0;
    for (int ci = 0; ci < cg; ci++) {
        const float *plane = x + (size_t)(c0 + ci) * h * w;
        for (int i = 0; i < c->kh; i++)
            for (int j = 0; j < c->kw; j++, row++) {
                float *dst = cols + row * ld + coff;
                for (int oy = 0; oy < oh; oy++) {
                    int iy = oy * c->stride_h - c->pad_h + i;
                    float *d = dst + (size_t)oy * ow;
                    if (iy < 0 || iy >= h) {
                        memset(d, 0, (size_t)ow * sizeof *d);
                        continue;
                    }
                    const float *src = plane + (size_t)iy * w;
                    int ix = j - c->pad_w;
                    if (c->stride_w == 1) {
                        int ox = 0;
                        for (; ox < ow && ix + ox < 0; ox++)
                            d[ox] = 0.0f;
                        int end = ow;
                        if (ix + end > w)
                            end = w - ix;
                        if (end > ox) {
                            memcpy(d + ox, src + ix + ox, (size_t)(end - ox) * sizeof *d);
                            ox = end;
                        }
                        for (; ox < ow; ox++)
                            d[ox] = 0.0f;
                    } else {
                        for (int ox = 0; ox < ow; ox++, ix += c->stride_w)
                            d[ox] = (ix >= 0 && ix < w) ? src[ix] : 0.0f;
                    }
                }
            }
    }
}

/* Fold back: dx[c0+ci, iy, ix] += cols[...] (the adjoint of im2col). */
static void col2im(const lmmiqa_nn_conv2d *c, int h, int w, int oh, int ow, const float *cols,
                   size_t ld, size_t coff, int c0, int cg, float *dx)
{
    size_t row = 0;
    for (int ci = 0; ci < cg; ci++) {
        float *plane = dx + (size_t)(c0 + ci) * h * w;
        for (int i = 0; i < c->kh; i++)
            for (int j = 0; j < c->kw; j++, row++) {
                const float *src = cols + row * ld + coff;
                for (int oy = 0; oy < oh; oy++) {
                    int iy = oy * c->stride_h - c->pad_h + i;
                    if (iy < 0 || iy >= h)
                        continue;
                    const float *s = src + (size_t)oy * ow;
                    float *d = plane + (size_t)iy * w;
                    int ix = j - c->pad_w;
                    for (int ox = 0; ox < ow; ox++, ix += c->stride_w)
                        if (ix >= 0 && ix < w)
                            d[ix] += s[ox];
                }
            }
    }
}

/* y[n, out_ch, oh, ow] = conv(x[n, in_ch, h, w], weight[out_ch, in_ch/g, kh, kw]) + bias */
void lmmiqa_nn_conv2d_forward(const lmmiqa_nn_conv2d *c, int n, int h, int w, const float *x,
                              const float *weight, const float *bias, float *y, float *scratch)
{
    check_desc(c);
    int oh = lmmiqa_nn_conv2d_out_h(c, h), ow = lmmiqa_nn_conv2d_out_w(c, w);
    int cin_g = c->in_ch / c->groups, cout_g = c->out_ch / c->groups;
    size_t k = (size_t)cin_g * c->kh * c->kw, p = (size_t)oh * ow;
    int nb = chunk_images(k, p, n);
    float *cols = scratch, *out = scratch + 2 * k * (size_t)nb * p;
    size_t in_size = (size_t)c->in_ch * h * w, out_size = (size_t)c->out_ch * p;
    for (int g = 0; g < c->groups; g++) {
        const float *wg = weight + (size_t)g * cout_g * k;
        for (int s0 = 0; s0 < n; s0 += nb) {
            int cnt = n - s0 < nb ? n - s0 : nb;
            size_t ld = (size_t)cnt * p;
            for (int s = 0; s < cnt; s++)
                im2col(c, h, w, oh, ow, x + (size_t)(s0 + s) * in_size, g * cin_g, cin_g, cols,
                       ld, (size_t)s * p);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cout_g, (int)ld, (int)k, 1.0f,
                        wg, (int)k, cols, (int)ld, 0.0f, out, (int)ld);
            for (int s = 0; s < cnt; s++)
                for (int o = 0; o < cout_g; o++) {
                    int oc = g * cout_g + o;
                    float b = bias ? bias[oc] : 0.0f;
                    const float *src = out + (size_t)o * ld + (size_t)s * p;
                    float *dst = y + (size_t)(s0 + s) * out_size + (size_t)oc * p;
                    for (size_t q = 0; q < p; q++)
                        dst[q] = src[q] + b;
                }
        }
    }
}

void lmmiqa_nn_conv2d_backward(const lmmiqa_nn_conv2d *c, int n, int h, int w, const float *x,
                               const float *weight, const float *dy, float *dx, float *dweight,
                               float *dbias, float *scratch)
{
    check_desc(c);
    int oh = lmmiqa_nn_conv2d_out_h(c, h), ow = lmmiqa_nn_conv2d_out_w(c, w);
    int cin_g = c->in_ch / c->groups, cout_g = c->out_ch / c->groups;
    size_t k = (size_t)cin_g * c->kh * c->kw, p = (size_t)oh * ow;
    int nb = chunk_images(k, p, n);
    float *cols = scratch, *dcols = scratch + k * (size_t)nb * p;
    float *dyb = scratch + 2 * k * (size_t)nb * p;
    size_t in_size = (size_t)c->in_ch * h * w, out_size = (size_t)c->out_ch * p;
    if (dx)
        memset(dx, 0, (size_t)n * in_size * sizeof *dx);
    if (dbias)
        for (int s = 0; s < n; s++)
            for (int oc = 0; oc < c->out_ch; oc++) {
                const float *src = dy + (size_t)s * out_size + (size_t)oc * p;
                float acc = 0.0f;
                for (size_t q = 0; q < p; q++)
                    acc += src[q];
                dbias[oc] += acc;
            }
    for (int g = 0; g < c->groups; g++) {
        const float *wg = weight + (size_t)g * cout_g * k;
        float *dwg = dweight ? dweight + (size_t)g * cout_g * k : NULL;
        for (int s0 = 0; s0 < n; s0 += nb) {
            int cnt = n - s0 < nb ? n - s0 : nb;
            size_t ld = (size_t)cnt * p;
            for (int s = 0; s < cnt; s++)
                for (int o = 0; o < cout_g; o++)
                    memcpy(dyb + (size_t)o * ld + (size_t)s * p,
                           dy + (size_t)(s0 + s) * out_size + (size_t)(g * cout_g + o) * p,
                           p * sizeof *dyb);
            if (dwg) {
                for (int s = 0; s < cnt; s++)
                    im2col(c, h, w, oh, ow, x + (size_t)(s0 + s) * in_size, g * cin_g, cin_g,
                           cols, ld, (size_t)s * p);
                /* dW[cout_g, k] += dyb[cout_g, ld] * cols[k, ld]^T */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cout_g, (int)k, (int)ld,
                            1.0f, dyb, (int)ld, cols, (int)ld, 1.0f, dwg, (int)k);
            }
            if (dx) {
                /* dcols[k, ld] = W[cout_g, k]^T * dyb[cout_g, ld] */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)ld, cout_g,
                            1.0f, wg, (int)k, dyb, (int)ld, 0.0f, dcols, (int)ld);
                for (int s = 0; s < cnt; s++)
                    col2im(c, h, w, oh, ow, dcols, ld, (size_t)s * p, g * cin_g, cin_g,
                           dx + (size_t)(s0 + s) * in_size);
            }
        }
    }
}

void lmmiqa_nn_conv2d_forward_ref(const lmmiqa_nn_conv2d *c, int n, int h, int w, const float *x,
                                  const float *weight, const float *bias, float *y)
{
    check_desc(c);
    int oh = lmmiqa_nn_conv2d_out_h(c, h), ow = lmmiqa_nn_conv2d_out_w(c, w);
    int cin_g = c->in_ch / c->groups, cout_g = c->out_ch / c->groups;
    for (int s = 0; s < n; s++)
        for (int oc = 0; oc < c->out_ch; oc++) {
            int g = oc / cout_g;
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    double acc = bias ? bias[oc] : 0.0;
                    for (int ci = 0; ci < cin_g; ci++)
                        for (int i = 0; i < c->kh; i++)
                            for (int j = 0; j < c->kw; j++) {
                                int iy = oy * c->stride_h - c->pad_h + i;
                                int ix = ox * c->stride_w - c->pad_w + j;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                                    continue;
                                acc += (double)x[(((size_t)s * c->in_ch + g * cin_g + ci) * h +
                                                  iy) * w + ix] *
                                       weight[(((size_t)oc * cin_g + ci) * c->kh + i) * c->kw + j];
                            }
                    y[(((size_t)s * c->out_ch + oc) * oh + oy) * ow + ox] = (float)acc;
                }
        }
}
