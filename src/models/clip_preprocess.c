/*
 * src/models/clip_preprocess.c - CLIP image preprocessing, bit-exact with
 * the Python reference pipelines.
 *
 * Resize: a reimplementation of Pillow's Image.resize(size, BICUBIC)
 * (libImaging/Resample.c, Pillow 9.x) for 8-bit RGB: for each output
 * coordinate, center = (i + 0.5) * scale, support = 2 * max(scale, 1),
 * taps from (int)(center - support + 0.5) to (int)(center + support + 0.5)
 * clipped to the image, Keys cubic a = -0.5 evaluated at
 * (x - center + 0.5) / max(scale, 1), normalised to sum 1, then converted to
 * 22-bit fixed point (round half away from zero). The horizontal pass runs
 * first (skipped when the width is unchanged) and is rounded and clipped to
 * 8 bits ((acc + 2^21) >> 22 clamped to 0..255), then the vertical pass.
 *
 * Output size: the shorter side becomes `size` and the longer
 * int(size * long / short) (transformers' get_resize_output_image_size and
 * torchvision's Resize agree). Center crop offsets: (w - size) // 2 in
 * transformers' CLIPImageProcessor, round((w - size) / 2) (half to even) in
 * torchvision's CenterCrop (OpenAI clip.load, HPS); they differ by one pixel
 * when w - size is odd. Then x / 255, (x - mean) / std per channel.
 */
#include "lmmiqa/vit.h"

#include "core/internal.h"
#include "vit_internal.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PRECISION_BITS 22

static const double clip_mean[3] = {0.48145466, 0.4578275, 0.40821073};
static const double clip_std[3] = {0.26862954, 0.26130258, 0.27577711};

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

static int ksize_for(int in_size, int out_size)
{
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    return (int)ceil(2.0 * filterscale) * 2 + 1;
}

/* Coefficients of one axis: bounds[2*out], kk[out*ksize] (fixed point). */
static void precompute(int in_size, int out_size, int ksize, int *bounds, int32_t *kk,
                       double *tmp)
{
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 2.0 * filterscale;
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
        int x;
        for (x = 0; x < xmax; x++) {
            double w = bicubic((x + xmin - center + 0.5) * ss);
            tmp[x] = w;
            ww += w;
        }
        for (x = 0; x < xmax; x++)
            if (ww != 0.0)
                tmp[x] /= ww;
        int32_t *k = kk + (size_t)xx * ksize;
        for (x = 0; x < ksize; x++) {
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

size_t lmmiqa__resize_pil_scratch(int src_w, int src_h, int dst_w, int dst_h)
{
    int kx = ksize_for(src_w, dst_w), ky = ksize_for(src_h, dst_h);
    size_t n = 0;
    n += (size_t)dst_w * 2 * sizeof(int) + (size_t)dst_h * 2 * sizeof(int);
    n += (size_t)dst_w * (size_t)kx * sizeof(int32_t) + (size_t)dst_h * (size_t)ky * sizeof(int32_t);
    n += (size_t)(kx > ky ? kx : ky) * sizeof(double);
    n += (size_t)dst_w * (size_t)src_h * 3; /* horizontal pass output */
    return n + 64;
}

int lmmiqa__resize_pil(const uint8_t *src, int src_w, int src_h, uint8_t *dst, int dst_w,
                       int dst_h, void *scratch)
{
    assert(src && dst && scratch);
    if (src_w < 1 || src_h < 1 || dst_w < 1 || dst_h < 1)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "resize: bad size %dx%d -> %dx%d", src_w,
                            src_h, dst_w, dst_h);
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
        /* rows outside the vertical taps are not needed; Pillow skips them too */
        for (int y = 0; y < src_h; y++) {
            const uint8_t *row = src + (size_t)y * src_w * 3;
            uint8_t *o = mid + (size_t)y * dst_w * 3;
            for (int xx = 0; xx < dst_w; xx++) {
                const int32_t *k = kkx + (size_t)xx * kx;
                int xmin = bx[2 * xx], xmax = bx[2 * xx + 1];
                int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
                const uint8_t *p = row + (size_t)xmin * 3;
                for (int x = 0; x < xmax; x++) {
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
            int ymin = by[2 * yy], ymax = by[2 * yy + 1];
            uint8_t *o = dst + (size_t)yy * stride;
            for (size_t xc = 0; xc < stride; xc++) {
                int32_t s = 1 << (PRECISION_BITS - 1);
                const uint8_t *p = hsrc + (size_t)ymin * stride + xc;
                for (int y = 0; y < ymax; y++)
                    s += p[(size_t)y * stride] * k[y];
                o[xc] = clip8(s);
            }
        }
    } else {
        memcpy(dst, hsrc, (size_t)dst_w * dst_h * 3);
    }
    return LMMIQA_OK;
}

int lmmiqa_resize_bicubic_pil(const uint8_t *src, int src_w, int src_h, uint8_t *dst, int dst_w,
                              int dst_h)
{
    if (src_w < 1 || src_h < 1 || dst_w < 1 || dst_h < 1 || src_w > 1 << 16 ||
        src_h > 1 << 16 || dst_w > 1 << 16 || dst_h > 1 << 16)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "resize: bad size %dx%d -> %dx%d", src_w,
                            src_h, dst_w, dst_h);
    void *scratch = lmmiqa__malloc(lmmiqa__resize_pil_scratch(src_w, src_h, dst_w, dst_h));
    if (!scratch)
        return LMMIQA_ERR_NOMEM;
    int rc = lmmiqa__resize_pil(src, src_w, src_h, dst, dst_w, dst_h, scratch);
    free(scratch);
    return rc;
}

void lmmiqa_clip_resize_size(int w, int h, int size, int *out_w, int *out_h)
{
    int shorter = w <= h ? w : h, longer = w <= h ? h : w;
    int nl = (int)((double)size * longer / shorter); /* Python int(size * long / short) */
    if (w <= h) {
        *out_w = size;
        *out_h = nl;
    } else {
        *out_w = nl;
        *out_h = size;
    }
}

size_t lmmiqa_clip_preprocess_scratch(int w, int h, int size)
{
    int rw, rh;
    lmmiqa_clip_resize_size(w, h, size, &rw, &rh);
    return (size_t)rw * rh * 3 + lmmiqa__resize_pil_scratch(w, h, rw, rh) + 64;
}

/* Python round(x / 2) for an integer x >= 0: half to even. */
static int round_half_even_div2(int x)
{
    int q = x / 2;
    if (x % 2 == 1 && q % 2 == 1)
        q++;
    return q;
}

int lmmiqa_clip_preprocess(const lmmiqa_image *img, int size, lmmiqa_crop_rounding rounding,
                           void *scratch, float *out)
{
    assert(img && scratch && out);
    if (img->width < 1 || img->height < 1 || size < 1)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "clip preprocess: empty image or size");
    int rw, rh;
    lmmiqa_clip_resize_size(img->width, img->height, size, &rw, &rh);
    if (rw < size || rh < size)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "clip preprocess: %dx%d image too elongated for a %d crop",
                            img->width, img->height, size);
    uint8_t *resized = scratch;
    const uint8_t *src = img->pixels;
    if (rw != img->width || rh != img->height) {
        int rc = lmmiqa__resize_pil(img->pixels, img->width, img->height, resized, rw, rh,
                                    resized + (size_t)rw * rh * 3 + 16);
        if (rc != LMMIQA_OK)
            return rc;
        src = resized;
    }
    int left, top;
    if (rounding == LMMIQA_CROP_FLOOR) {
        left = (rw - size) / 2;
        top = (rh - size) / 2;
    } else {
        left = round_half_even_div2(rw - size);
        top = round_half_even_div2(rh - size);
    }
    for (int c = 0; c < 3; c++) {
        float *plane = out + (size_t)c * size * size;
        for (int y = 0; y < size; y++) {
            const uint8_t *row = src + ((size_t)(top + y) * rw + left) * 3 + c;
            for (int x = 0; x < size; x++)
                plane[(size_t)y * size + x] =
                    (float)((row[3 * x] / 255.0 - clip_mean[c]) / clip_std[c]);
        }
    }
    return LMMIQA_OK;
}
