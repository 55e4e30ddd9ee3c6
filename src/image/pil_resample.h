/*
 * src/image/pil_resample.h - Pillow's 8-bit RGB resampler
 * (Image.resize, libImaging/Resample.c, Pillow 9.x) with the filters the
 * model preprocessors need: bilinear (ALIGN, include/lmmiqa/align.h) and
 * bicubic (CLIP/AltCLIP/HPS, include/lmmiqa/vit.h). One implementation,
 * parameterised by the filter, so both stay bit-exact with Pillow.
 */
#ifndef LMMIQA_IMAGE_PIL_RESAMPLE_H
#define LMMIQA_IMAGE_PIL_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

typedef enum lmmiqa__pil_filter {
    LMMIQA__PIL_BILINEAR, /* triangle 1 - |x|, support 1 */
    LMMIQA__PIL_BICUBIC   /* Keys cubic a = -0.5, support 2 */
} lmmiqa__pil_filter;

/* Bytes of scratch lmmiqa__pil_resize needs for this filter and size. */
size_t lmmiqa__pil_resize_scratch(lmmiqa__pil_filter filter, int src_w, int src_h, int dst_w,
                                  int dst_h);

/* Resize interleaved RGB src [src_h x src_w x 3] to dst [dst_h x dst_w x 3]
 * as Pillow does: horizontal pass first (skipped when the width is
 * unchanged), each pass in 22-bit fixed point rounded and clipped to 8 bits.
 * scratch (required) holds lmmiqa__pil_resize_scratch() bytes. Fails with
 * LMMIQA_ERR_INVALID_ARG on a side < 1. */
int lmmiqa__pil_resize(lmmiqa__pil_filter filter, const uint8_t *src, int src_w, int src_h,
                       uint8_t *dst, int dst_w, int dst_h, void *scratch);

#endif
