/*
 * src/models/align_preprocess.c - ALIGN image preprocessing, bit-exact with
 * transformers' EfficientNetImageProcessor as configured by
 * kakaobrain/align-base (preprocessor_config.json: size 346 x 346,
 * resample 2 = bilinear, center crop 289 x 289, rescale_factor 1/127.5 with
 * rescale_offset, no normalisation, include_top false).
 *
 * Resize: Pillow's Image.resize((346, 346), BILINEAR) on 8-bit RGB, ignoring
 * the aspect ratio (the shared Pillow resampler, src/image/pil_resample.c,
 * with the triangle filter).
 * Crop: offsets (346 - 289) // 2 = 28 on both axes (transformers center_crop).
 * Rescale: (x - 127.5) * 0.00784313725490196 in double, stored as float32
 * (the processor's arithmetic), channel planes.
 */
#include "lmmiqa/advanced/align.h"

#include "core/internal.h"
#include "image/pil_resample.h"

#include <assert.h>
#include <stdlib.h>

#define RESCALE 0.00784313725490196 /* preprocessor_config.json rescale_factor */

size_t lmmiqa_align_resize_scratch(int src_w, int src_h, int dst_w, int dst_h)
{
    return lmmiqa__pil_resize_scratch(LMMIQA__PIL_BILINEAR, src_w, src_h, dst_w, dst_h);
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
    int rc = lmmiqa__pil_resize(LMMIQA__PIL_BILINEAR, src, src_w, src_h, dst, dst_w, dst_h,
                                scratch);
    free(own);
    return rc;
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
