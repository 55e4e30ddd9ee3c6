/*
 * src/models/align_preprocess.c - ALIGN image preprocessing, bit-exact with
 * transformers' EfficientNetImageProcessor as configured by
 * kakaobrain/align-base (preprocessor_config.json: size 346 x 346,
 * resample 2 = bilinear, center crop 289 x 289, rescale_factor 1/127.5 with
 * rescale_offset, no normalisation, include_top false).
 *
 * Resize: Pillow's Image.resize((346, 346), BILINEAR) (libImaging/Resample.c,
 * Pillow 9.x) on 8-bit RGB, ignoring the aspect ratio: per output coordinate
 * center = (i + 0.5) * scale, support = max(scale, 1), taps
 * (int)(center - support + 0.5) .. (int)(center + support + 0.5) clipped to
 * the image, triangle weights 1 - |x| at (tap - center + 0.5) / max(scale, 1),
 * normalised to sum 1, then 22-bit fixed point (rounded half away from
 * zero); horizontal pass first (skipped when the width is unchanged), each
 * pass rounded ((acc + 2^21) >> 22) and clipped to 0..255.
 * Crop: offsets (346 - 289) // 2 = 28 on both axes (transformers center_crop).
 * Rescale: (x - 127.5) * 0.00784313725490196 in double, stored as float32
 * (the processor's arithmetic), channel planes.
 */
#include "lmmiqa/align.h"

#include "core/internal.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PRECISION_BITS 22
#define RESCALE 0.00784313725490196 /* preprocessor_config.json rescale_factor */

static int ksize_for(int in_size, int out_size)
{
    double scale = (double)in_size / out_size;
    double support = scale < 1.0 ? 1.0 : scale;
    return (int)ceil(support) * 2 + 1;
}

/* Coefficients of one axis: bounds[2*out] (first tap, tap count),
 * kk[out*ksize] fixed point; tmp[ksize] scratch. */
static void precompute(int in_size, int out_size, int ksize, int *bounds, int32_t *kk,
                       double *tmp)
{
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * filterscale;
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
            double t = fabs((x + xmin - center + 0.5) * ss);
            double w = t < 1.0 ? 1.0 - t : 0.0;
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

size_t lmmiqa_align_resize_scratch(int src_w, int src_h, int dst_w, int dst_h)
{
    int kx = ksize_for(src_w, dst_w), ky = ksize_for(src_h, dst_h);
    size_t n = (size_t)(kx > ky ? kx : ky) * sizeof(double);
    n += (size_t)dst_w * (size_t)kx * sizeof(int32_t);
    n += (size_t)dst_h * (size_t)ky * sizeof(int32_t);
    n += ((size_t)dst_w + (size_t)dst_h) * 2 * sizeof(int);
    n += (size_t)dst_w * (size_t)src_h * 3; /* horizontal pass output */
    return n + 64;
}

int lmmiqa_resize_bilinear_pil(const uint8_t *src, int src_w, int src_h, uint8_t *dst,
                               int dst_w, int dst_h, void *scratch)
{
    assert(src && dst);
    const int lim = 1 << 16;
    if (src_w < 1 || src_h < 1 || dst_w < 1 || dst_h < 1 || src_w > lim || src_h > lim ||
        dst_w > lim || dst_h > lim)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "bilinear resize: bad size %dx%d -> %dx%d",
                            src_w, src_h, dst_w, dst_h);
    void *own = NULL;
    if (!scratch) {
        own = scratch = lmmiqa__malloc(lmmiqa_align_resize_scratch(src_w, src_h, dst_w, dst_h));
        if (!own)
            return LMMIQA_ERR_NOMEM;
    }
    int kx = ksize_for(src_w, dst_w), ky = ksize_for(src_h, dst_h);
    double *tmp = scratch;
    int32_t *kkx = (int32_t *)(tmp + (kx > ky ? kx : ky));
    int32_t *kky = kkx + (size_t)dst_w * kx;
    int *bx = (int *)(kky + (size_t)dst_h * ky);
    int *by = bx + 2 * (size_t)dst_w;
    uint8_t *mid = (uint8_t *)(by + 2 * (size_t)dst_h);

    const uint8_t *hsrc = src;
    if (dst_w != src_w) {
        precompute(src_w, dst_w, kx, bx, kkx, tmp);
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
        precompute(src_h, dst_h, ky, by, kky, tmp);
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
    free(own);
    return LMMIQA_OK;
}

size_t lmmiqa_align_preprocess_scratch(int width, int height)
{
    return lmmiqa_align_resize_scratch(width, height, LMMIQA_ALIGN_RESIZE, LMMIQA_ALIGN_RESIZE) +
           (size_t)LMMIQA_ALIGN_RESIZE * LMMIQA_ALIGN_RESIZE * 3 + 64;
}

int lmmiqa_align_preprocess(const lmmiqa_image *img, void *scratch, float *out)
{
    assert(img && out);
    if (!img->pixels || img->width < 1 || img->height < 1)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "ALIGN preprocess: empty image");
    void *own = NULL;
    if (!scratch) {
        own = scratch = lmmiqa__malloc(lmmiqa_align_preprocess_scratch(img->width, img->height));
        if (!own)
            return LMMIQA_ERR_NOMEM;
    }
    const int R = LMMIQA_ALIGN_RESIZE, C = LMMIQA_ALIGN_CROP, off = (R - C) / 2;
    uint8_t *resized = scratch;
    void *rs = resized + (size_t)R * R * 3 + 64 - ((size_t)R * R * 3) % 64;
    int rc = lmmiqa_resize_bilinear_pil(img->pixels, img->width, img->height, resized, R, R, rs);
    if (rc == LMMIQA_OK) {
        const size_t plane = (size_t)C * C;
        for (int y = 0; y < C; y++)
            for (int x = 0; x < C; x++) {
                const uint8_t *p = resized + ((size_t)(y + off) * R + (x + off)) * 3;
                for (int c = 0; c < 3; c++)
                    out[c * plane + (size_t)y * C + x] = (float)((p[c] - 127.5) * RESCALE);
            }
    }
    free(own);
    return rc;
}
