/*
 * src/models/clip_preprocess.c - CLIP image preprocessing, bit-exact with
 * the Python reference pipelines.
 *
 * Resize: Pillow's Image.resize(size, BICUBIC) for 8-bit RGB (the shared
 * Pillow resampler, src/image/pil_resample.c, with the Keys cubic a = -0.5).
 *
 * Output size: the shorter side becomes `size` and the longer
 * int(size * long / short) (transformers' get_resize_output_image_size and
 * torchvision's Resize agree). Center crop offsets: (w - size) // 2 in
 * transformers' CLIPImageProcessor, round((w - size) / 2) (half to even) in
 * torchvision's CenterCrop (OpenAI clip.load, HPS); they differ by one pixel
 * when w - size is odd. Then x / 255, (x - mean) / std per channel.
 */
#include "lmmiqa/advanced/vit.h"

#include "core/internal.h"
#include "image/pil_resample.h"
#include "vit_internal.h"

#include <assert.h>
#include <stdlib.h>

static const double clip_mean[3] = {0.48145466, 0.4578275, 0.40821073};
static const double clip_std[3] = {0.26862954, 0.26130258, 0.27577711};

size_t lmmiqa__resize_pil_scratch(int src_w, int src_h, int dst_w, int dst_h)
{
    return lmmiqa__pil_resize_scratch(LMMIQA__PIL_BICUBIC, src_w, src_h, dst_w, dst_h);
}

int lmmiqa__resize_pil(const uint8_t *src, int src_w, int src_h, uint8_t *dst, int dst_w,
                       int dst_h, void *scratch)
{
    return lmmiqa__pil_resize(LMMIQA__PIL_BICUBIC, src, src_w, src_h, dst, dst_w, dst_h,
                              scratch);
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
