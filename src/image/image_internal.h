/*
 * src/image/image_internal.h - what the image decoders share: the size check
 * every decoder runs on header dimensions before allocating, the allocator,
 * the per-format decoders and the EXIF orientation helpers.
 */
#ifndef LMMIQA_IMAGE_INTERNAL_H
#define LMMIQA_IMAGE_INTERNAL_H

#include "lmmiqa/image.h"

#include <stddef.h>
#include <stdint.h>

/* Everything a decoder needs besides the bytes. */
typedef struct lmmiqa__image_ctx {
    const char *name;  /* for messages, never NULL */
    unsigned flags;    /* LMMIQA_IMAGE_* */
    uint64_t max_pixels; /* <= LMMIQA_IMAGE_MAX_PIXELS */
} lmmiqa__image_ctx;

/* Check header dimensions (as read, possibly absurd) against the limits:
 * LMMIQA_ERR_CORRUPT for a zero side, LMMIQA_ERR_TOO_LARGE over the limits.
 * `fmt` names the format in the message. */
int lmmiqa__image_check_size(const lmmiqa__image_ctx *ctx, const char *fmt, uint64_t width,
                             uint64_t height);

/* Allocate an image (after lmmiqa__image_check_size); pixels uninitialised. */
int lmmiqa__image_alloc(const lmmiqa__image_ctx *ctx, int width, int height,
                        int source_channels, lmmiqa_image **out);

/* The per-format decoders: data starts with the format's magic. */
int lmmiqa__jpeg_decode(const lmmiqa__image_ctx *ctx, const uint8_t *data, size_t size,
                        lmmiqa_image **out);
int lmmiqa__png_decode(const lmmiqa__image_ctx *ctx, const uint8_t *data, size_t size,
                       lmmiqa_image **out);
int lmmiqa__bmp_decode(const lmmiqa__image_ctx *ctx, const uint8_t *data, size_t size,
                       lmmiqa_image **out);

/* Encode `img` as a baseline JPEG at `quality` (1..100; libjpeg's standard
 * tables, 4:2:0) into a malloc'd buffer *data of *size bytes (caller frees).
 * `name` is used in messages. lmmiqa_image_save_jpeg writes this buffer. */
int lmmiqa__jpeg_encode(const lmmiqa_image *img, int quality, const char *name,
                        unsigned char **data, size_t *size);

/* The IFD0 Orientation (1..8) of an APP1 payload starting "Exif\0\0", or 0
 * when absent, out of range or unreadable (a damaged EXIF block is ignored,
 * as Pillow and MATLAB ignore it). */
int lmmiqa__exif_orientation(const uint8_t *app1, size_t size);

/* Replace *img by its upright version for EXIF orientation 2..8 (1 and 0 are
 * no-ops). */
int lmmiqa__image_orient(const lmmiqa__image_ctx *ctx, lmmiqa_image **img, int orientation);



#endif
