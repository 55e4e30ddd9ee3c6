/*
 * lmmiqa/image.h - decoding, encoding and grey conversion of 8-bit RGB images.
 *
 * Every feature extractor in lmmiqa starts from the same picture, so this
 * module pins down exactly which pixels a file becomes, matching the tools the
 * published numbers were made with (MATLAB imread/rgb2gray, Pillow):
 *
 *  - Formats, detected by content (magic bytes), never by file name: JPEG
 *    (baseline and progressive, libjpeg-turbo with the default islow IDCT and
 *    fancy upsampling, bit-exact with Pillow), PNG (every colour type and bit
 *    depth, libpng) and BMP (1/4/8-bit palette, 16/24/32-bit, BI_BITFIELDS,
 *    bottom-up and top-down; RLE compression is refused). Anything else (GIF,
 *    WebP, TIFF, ...) fails with LMMIQA_ERR_FORMAT naming the detected type.
 *  - The result is always 8-bit RGB (channels == 3). Grey sources are
 *    replicated into R, G and B; source_channels records the original layout.
 *  - Alpha is DROPPED, not composited onto any background: the colour channels
 *    are kept as stored, as MATLAB imread and Pillow's convert("RGB") return
 *    them. Palette PNGs with a tRNS chunk likewise give their palette colours.
 *  - 16-bit PNG samples become round(v / 257), MATLAB im2uint8's rule
 *    (libpng's png_set_scale_16). Pillow differs here (it keeps the high byte).
 *  - CMYK and YCCK JPEGs (Adobe, inverted) become RGB with Pillow's formula
 *    R = (255-C)(255-K)/255 rounded, likewise G, B.
 *  - The JPEG EXIF Orientation tag (IFD0, values 1..8) is applied by default,
 *    so the pixels come out upright as Pillow's ImageOps.exif_transpose gives
 *    them. MATLAB imread ignores it; pass LMMIQA_IMAGE_IGNORE_EXIF to get the
 *    stored pixel order instead.
 *  - Size limits are checked from the header before any pixel memory is
 *    allocated: zero sides are refused (LMMIQA_ERR_CORRUPT), sides above
 *    LMMIQA_IMAGE_MAX_SIDE or more than LMMIQA_IMAGE_MAX_PIXELS pixels are
 *    refused (LMMIQA_ERR_TOO_LARGE).
 *  - Truncated or corrupt data gives LMMIQA_ERR_CORRUPT; every message names
 *    the file (or the `name` given to the decode functions).
 *
 * docs/images.md explains each rule and why.
 */
#ifndef LMMIQA_IMAGE_H
#define LMMIQA_IMAGE_H

#include "lmmiqa/core.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The largest image accepted: 100 million pixels, each side at most 65535. */
#define LMMIQA_IMAGE_MAX_PIXELS 100000000
#define LMMIQA_IMAGE_MAX_SIDE 65535
/* The largest file lmmiqa_image_load reads: 1 GiB. */
#define LMMIQA_IMAGE_MAX_FILE_BYTES (1024u * 1024u * 1024u)

/* Flags for the _ex functions (bitwise OR). */
#define LMMIQA_IMAGE_IGNORE_EXIF 1u /* keep stored pixel order, as MATLAB imread */

/* An 8-bit RGB image. Created by the functions below, released with
 * lmmiqa_image_destroy; `pixels` is owned by the image (one allocation). */
typedef struct lmmiqa_image {
    int width, height;
    int channels;        /* always 3 (RGB) */
    int source_channels; /* 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA/CMYK (alpha
                            includes a PNG tRNS chunk or a BMP alpha mask) */
    uint8_t *pixels;     /* row-major interleaved RGB, stride width*3 */
} lmmiqa_image;

/* Read and decode the image file at `path` (format by content, EXIF applied).
 * On success *out is a new image; on failure *out is NULL and the status is
 * LMMIQA_ERR_IO (missing, unreadable, a directory), LMMIQA_ERR_FORMAT
 * (not a supported image), LMMIQA_ERR_CORRUPT (damaged, truncated, zero
 * size), LMMIQA_ERR_TOO_LARGE (over the limits above) or LMMIQA_ERR_NOMEM. */
LMMIQA_API int lmmiqa_image_load(const char *path, lmmiqa_image **out);

/* lmmiqa_image_load with flags (LMMIQA_IMAGE_IGNORE_EXIF). */
LMMIQA_API int lmmiqa_image_load_ex(const char *path, unsigned flags, lmmiqa_image **out);

/* Decode an image held in memory. `name` is used in error messages only
 * (NULL reads as "<memory>"). Statuses as lmmiqa_image_load. */
LMMIQA_API int lmmiqa_image_decode(const void *data, size_t size, const char *name,
                                   lmmiqa_image **out);

/* lmmiqa_image_decode with flags (LMMIQA_IMAGE_IGNORE_EXIF). */
LMMIQA_API int lmmiqa_image_decode_ex(const void *data, size_t size, const char *name,
                                      unsigned flags, lmmiqa_image **out);

/* lmmiqa_image_decode_ex with a lower pixel limit: an image whose header
 * claims more than max_pixels (width x height; capped at
 * LMMIQA_IMAGE_MAX_PIXELS) fails with LMMIQA_ERR_TOO_LARGE before anything
 * proportional to its size is allocated, e.g. a decompression bomb sent to a
 * server. */
LMMIQA_API int lmmiqa_image_decode_limited(const void *data, size_t size, const char *name,
                                           unsigned flags, uint64_t max_pixels,
                                           lmmiqa_image **out);

/* The format the first bytes of `data` announce: "jpeg", "png", "bmp", or the
 * name of a recognised but unsupported format ("gif", "webp", "tiff", ...), or
 * NULL when unrecognised. Never fails. */
LMMIQA_API const char *lmmiqa_image_format_detect(const void *data, size_t size);

/* Release an image; NULL is a no-op. */
LMMIQA_API void lmmiqa_image_destroy(lmmiqa_image *img);

/* A new black (all-zero) RGB image of width x height, source_channels 3.
 * LMMIQA_ERR_INVALID_ARG for a side < 1, LMMIQA_ERR_TOO_LARGE over the limits. */
LMMIQA_API int lmmiqa_image_create(int width, int height, lmmiqa_image **out);

/* MATLAB rgb2gray for uint8: gray = round(0.298936021293775 R +
 * 0.587043074451121 G + 0.114020904255103 B), evaluated in double in that
 * order, rounded half away from zero and saturated to 0..255. `gray` receives
 * width*height bytes, row-major. */
LMMIQA_API void lmmiqa_image_to_gray(const lmmiqa_image *img, uint8_t *gray);

/* Write `img` as an 8-bit RGB PNG (lossless; libpng's default compression).
 * The file is replaced atomically. LMMIQA_ERR_IO names the path on failure. */
LMMIQA_API int lmmiqa_image_save_png(const lmmiqa_image *img, const char *path);

/* Write `img` as a baseline JPEG with libjpeg's standard tables scaled to
 * `quality` (1..100, else LMMIQA_ERR_INVALID_ARG) and 4:2:0 chroma
 * subsampling (libjpeg's and Pillow's default). Replaced atomically. */
LMMIQA_API int lmmiqa_image_save_jpeg(const lmmiqa_image *img, const char *path, int quality);

#ifdef __cplusplus
}
#endif
#endif
