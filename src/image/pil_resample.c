/*
 * src/image/pil_resample.c - Pillow's resampler for 8-bit RGB (see
 * pil_resample.h). Per output coordinate: center = (i + 0.5) * scale,
 * filterscale = max(scale, 1), support = filter support * filterscale, taps
 * (int)(center - support + 0.5) .. (int)(center + support + 0.5) clipped to
 * the image, weights filter((tap - center + 0.5) / filterscale) normalised to
 * sum 1, then 22-bit fixed point rounded half away from zero. Each pass sums
 * from 2^21 and keeps (acc >> 22) clipped to 0..255. The weights are built in
 * double with Pillow's operations in Pillow's order, so the output is
 * bit-identical.
 */
#include "image/pil_resample.h"

#include "core/internal.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#define PRECISION_BITS 22

/* Pillow's bilinear_filter. */
static double bilinear(double x)
{
    if (x < 0.0)
        x = -x;
    if (x < 1.0)
        return 1.0 - x;
    return 0.0;
}

/* Pillow's bicubic_filter (Keys, a = -0.5). */
static double bicubic(double x)
{
    const double a = -0.5;
    if (x < 0.0)
        x = -x;
    if (x < 1.0)
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0)
        return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

static double filter_support(lmmiqa__pil_filter f)
{
    return f == LMMIQA__PIL_BICUBIC ? 2.0 : 1.0;
}

static int ksize_for(lmmiqa__pil_filter f, int in_size, int out_size)
{
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    return (int)ceil(filter_support(f) * filterscale) * 2 + 1;
}

/* Coefficients of one axis: bounds[2*out] (first tap, tap count),
 * kk[out*ksize] fixed point; tmp[ksize] scratch. */
static void precompute(lmmiqa__pil_filter f, int in_size, int out_size, int ksize, int *bounds,
                       int32_t *kk, double *tmp)
{
    double (*filter)(double) = f == LMMIQA__PIL_BICUBIC ? bicubic : bilinear;
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = filter_support(f) * filterscale;
    double ss = 1.0 / filterscale;
    for (int xx = 0; xx < out_size; xx++) {
        double center = (xx + 0.5) * scale;
        double ww = 0.0;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0)
            xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size)
            xmax = in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            double w = filter((x + xmin - center + 0.5) * ss);
            tmp[x] = w;
            ww += w;
        }
        for (int x = 0; x < xmax; x++)
            if (ww != 0.0)
                tmp[x] /= ww;
        int32_t *k = kk + (size_t)xx * ksize;
        for (int x = 0; x < ksize; x++) {
            double v = x < xmax ? tmp[x] : 0.0;
            k[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS))
                         : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
        }
        bounds[2 * xx] = xmin;
        bounds[2 * xx + 1] = xmax;
    }
}

static inline uint8_t clip8(int32_t v)
{
    if (v < 0)
        return 0;
    v >>= PRECISION_BITS;
    return v > 255 ? 255 : (uint8_t)v;
}

size_t lmmiqa__pil_resize_scratch(lmmiqa__pil_filter filter, int src_w, int src_h, int dst_w,
                                  int dst_h)
{
    int kx = ksize_for(filter, src_w, dst_w), ky = ksize_for(filter, src_h, dst_h);
    size_t n = (size_t)(kx > ky ? kx : ky) * sizeof(double);
    n += (size_t)dst_w * (size_t)kx * sizeof(int32_t);
    n += (size_t)dst_h * (size_t)ky * sizeof(int32_t);
    n += ((size_t)dst_w + (size_t)dst_h) * 2 * sizeof(int);
    n += (size_t)dst_w * (size_t)src_h * 3; /* horizontal pass output */
    return n + 64;
}

/* src [src_h x src_w x 3] -> dst [dst_h x dst_w x 3], uint8 RGB. */
int lmmiqa__pil_resize(lmmiqa__pil_filter filter, const uint8_t *src, int src_w, int src_h,
                       uint8_t *dst, int dst_w, int dst_h, void *scratch)
{
    assert(src && dst && scratch);
    if (src_w < 1 || src_h < 1 || dst_w < 1 || dst_h < 1)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "resize: bad size %dx%d -> %dx%d", src_w,
                            src_h, dst_w, dst_h);
    int kx = ksize_for(filter, src_w, dst_w), ky = ksize_for(filter, src_h, dst_h);
    double *tmp = scratch;
    int32_t *kkx = (int32_t *)(tmp + (kx > ky ? kx : ky));
    int32_t *kky = kkx + (size_t)dst_w * kx;
    int *bx = (int *)(kky + (size_t)dst_h * ky);
    int *by = bx + 2 * (size_t)dst_w;
    uint8_t *mid = (uint8_t *)(by + 2 * (size_t)dst_h);

    const uint8_t *hsrc = src;
    if (dst_w != src_w) {
        precompute(filter, src_w, dst_w, kx, bx, kkx, tmp);
        for (int y = 0; y < src_h; y++) {
            const uint8_t *row = src + (size_t)y * src_w * 3;
            uint8_t *o = mid + (size_t)y * dst_w * 3;
            for (int xx = 0; xx < dst_w; xx++) {
                const int32_t *k = kkx + (size_t)xx * kx;
                int xmin = bx[2 * xx], n = bx[2 * xx + 1];
                int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
                const uint8_t *p = row + (size_t)xmin * 3;
                for (int x = 0; x < n; x++) {
                    s0 += p[3 * x] * k[x];
                    s1 += p[3 * x + 1] * k[x];
                    s2 += p[3 * x + 2] * k[x];
                }
                o[3 * xx] = clip8(s0);
                o[3 * xx + 1] = clip8(s1);
                o[3 * xx + 2] = clip8(s2);
            }
        }
        hsrc = mid;
    }
    if (dst_h != src_h) {
        precompute(filter, src_h, dst_h, ky, by, kky, tmp);
        size_t stride = (size_t)dst_w * 3;
        for (int yy = 0; yy < dst_h; yy++) {
            const int32_t *k = kky + (size_t)yy * ky;
            int ymin = by[2 * yy], n = by[2 * yy + 1];
            uint8_t *o = dst + (size_t)yy * stride;
            for (size_t xc = 0; xc < stride; xc++) {
                int32_t s = 1 << (PRECISION_BITS - 1);
                const uint8_t *p = hsrc + (size_t)ymin * stride + xc;
                for (int y = 0; y < n; y++)
                    s += p[(size_t)y * stride] * k[y];
                o[xc] = clip8(s);
            }
        }
    } else {
        memcpy(dst, hsrc, (size_t)dst_w * dst_h * 3);
    }
    return LMMIQA_OK;
}
