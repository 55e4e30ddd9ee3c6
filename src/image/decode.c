/*
 * src/image/decode.c - the image object, the size limits and the format
 * dispatcher.
 *
 * Design: the format is decided by the first bytes only (never the file
 * name), and the image header plus its pixels live in one allocation, so an
 * image is one malloc and one free. Each decoder checks the dimensions it read
 * through lmmiqa__image_check_size before it allocates anything proportional
 * to them; a header claiming 100000 x 100000 fails without allocating.
 */
#include "image_internal.h"

#include "core/internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* The pixel block starts at this offset from the struct (cache-line aligned). */
#define HEADER_BYTES 64

int lmmiqa__image_check_size(const lmmiqa__image_ctx *ctx, const char *fmt, uint64_t width,
                             uint64_t height)
{
    if (width == 0 || height == 0)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: %s header gives a zero size (%llu x %llu)",
                            ctx->name, fmt, (unsigned long long)width,
                            (unsigned long long)height);
    if (width > LMMIQA_IMAGE_MAX_SIDE || height > LMMIQA_IMAGE_MAX_SIDE)
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE,
                            "%s: %s image of %llu x %llu exceeds the side limit of %d",
                            ctx->name, fmt, (unsigned long long)width,
                            (unsigned long long)height, LMMIQA_IMAGE_MAX_SIDE);
    if (width * height > ctx->max_pixels)
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE,
                            "%s: %s image of %llu x %llu exceeds the limit of %llu pixels",
                            ctx->name, fmt, (unsigned long long)width,
                            (unsigned long long)height, (unsigned long long)ctx->max_pixels);
    return LMMIQA_OK;
}

int lmmiqa__image_alloc(const lmmiqa__image_ctx *ctx, int width, int height,
                        int source_channels, lmmiqa_image **out)
{
    assert(width > 0 && height > 0);
    *out = NULL;
    /* width, height <= 65535 were checked: the product fits in size_t. */
    size_t bytes = (size_t)width * (size_t)height * 3u;
    unsigned char *block = lmmiqa__malloc(HEADER_BYTES + bytes);
    if (!block)
        return lmmiqa__fail_context(LMMIQA_ERR_NOMEM, "%s: ", ctx->name);
    lmmiqa_image *img = (lmmiqa_image *)(void *)block;
    img->width = width;
    img->height = height;
    img->channels = 3;
    img->source_channels = source_channels;
    img->pixels = block + HEADER_BYTES;
    *out = img;
    return LMMIQA_OK;
}

int lmmiqa_image_create(int width, int height, lmmiqa_image **out)
{
    assert(out);
    *out = NULL;
    if (width < 1 || height < 1)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "image size %d x %d: sides must be >= 1",
                            width, height);
    lmmiqa__image_ctx ctx = {"new image", 0, LMMIQA_IMAGE_MAX_PIXELS};
    int rc = lmmiqa__image_check_size(&ctx, "requested", (uint64_t)width, (uint64_t)height);
    if (rc)
        return rc;
    rc = lmmiqa__image_alloc(&ctx, width, height, 3, out);
    if (rc)
        return rc;
    memset((*out)->pixels, 0, (size_t)width * (size_t)height * 3u);
    return LMMIQA_OK;
}

void lmmiqa_image_destroy(lmmiqa_image *img) { free(img); }

/* Magic numbers: the supported formats first, then the ones recognised only to
 * name them in the error message. */
const char *lmmiqa_image_format_detect(const void *data, size_t size)
{
    const unsigned char *p = data;
    if (!p)
        return NULL;
#define HAS(off, lit) (size >= (off) + sizeof(lit) - 1 && memcmp(p + (off), lit, sizeof(lit) - 1) == 0)
    if (HAS(0, "\xFF\xD8\xFF"))
        return "jpeg";
    if (HAS(0, "\x89PNG\r\n\x1A\n"))
        return "png";
    if (HAS(0, "BM"))
        return "bmp";
    if (HAS(0, "GIF87a") || HAS(0, "GIF89a"))
        return "gif";
    if (HAS(0, "RIFF") && HAS(8, "WEBP"))
        return "webp";
    if (HAS(0, "II*\0") || HAS(0, "MM\0*") || HAS(0, "II+\0") || HAS(0, "MM\0+"))
        return "tiff";
    if (HAS(0, "\0\0\0\x0CjP  \r\n\x87\n") || HAS(0, "\xFF\x4F\xFF\x51"))
        return "jpeg2000";
    if (HAS(0, "\xFF\x0A") || HAS(0, "\0\0\0\x0CJXL \r\n\x87\n"))
        return "jpegxl";
    if (HAS(4, "ftypavif") || HAS(4, "ftypavis"))
        return "avif";
    if (HAS(4, "ftypheic") || HAS(4, "ftypheix") || HAS(4, "ftypmif1") || HAS(4, "ftyphevc"))
        return "heif";
    if (HAS(0, "\0\0\1\0") || HAS(0, "\0\0\2\0"))
        return "ico";
    if (HAS(0, "8BPS"))
        return "psd";
    if (HAS(0, "qoif"))
        return "qoi";
    if (HAS(0, "\x76\x2F\x31\x01"))
        return "openexr";
    if (HAS(0, "%PDF"))
        return "pdf";
    if (size >= 3 && p[0] == 'P' && p[1] >= '1' && p[1] <= '7' &&
        (p[2] == ' ' || p[2] == '\n' || p[2] == '\r' || p[2] == '\t'))
        return "pnm";
#undef HAS
    return NULL;
}

/* True when `data` is a proper prefix of a supported format's magic: a file
 * cut inside its signature is truncated, not of an unknown type. */
static const char *truncated_magic(const unsigned char *p, size_t size)
{
    static const struct {
        const char *magic;
        size_t len;
        const char *fmt;
    } sigs[] = {{"\xFF\xD8\xFF", 3, "jpeg"}, {"\x89PNG\r\n\x1A\n", 8, "png"}, {"BM", 2, "bmp"}};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (size < sigs[i].len && memcmp(p, sigs[i].magic, size) == 0)
            return sigs[i].fmt;
    return NULL;
}

int lmmiqa_image_decode_limited(const void *data, size_t size, const char *name,
                                 unsigned flags, uint64_t max_pixels, lmmiqa_image **out)
{
    assert(out);
    *out = NULL;
    lmmiqa__image_ctx ctx = {name ? name : "<memory>", flags,
                             max_pixels < LMMIQA_IMAGE_MAX_PIXELS ? max_pixels
                                                                  : LMMIQA_IMAGE_MAX_PIXELS};
    if (size == 0 || !data)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: empty file (0 bytes)", ctx.name);
    const unsigned char *p = data;
    const char *fmt = lmmiqa_image_format_detect(p, size);
    if (!fmt) {
        const char *cut = truncated_magic(p, size);
        if (cut)
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: truncated %s signature (%zu bytes)",
                                ctx.name, cut, size);
        unsigned char b[4] = {0, 0, 0, 0};
        memcpy(b, p, size < 4 ? size : 4);
        return lmmiqa__fail(LMMIQA_ERR_FORMAT,
                            "%s: not a supported image (unrecognised content, first bytes "
                            "%02X %02X %02X %02X); lmmiqa reads JPEG, PNG and BMP",
                            ctx.name, b[0], b[1], b[2], b[3]);
    }
    if (strcmp(fmt, "jpeg") == 0)
        return lmmiqa__jpeg_decode(&ctx, p, size, out);
    if (strcmp(fmt, "png") == 0)
        return lmmiqa__png_decode(&ctx, p, size, out);
    if (strcmp(fmt, "bmp") == 0)
        return lmmiqa__bmp_decode(&ctx, p, size, out);
    return lmmiqa__fail(LMMIQA_ERR_FORMAT,
                        "%s: %s images are not supported; lmmiqa reads JPEG, PNG and BMP "
                        "(convert it first)",
                        ctx.name, fmt);
}

int lmmiqa_image_decode_ex(const void *data, size_t size, const char *name, unsigned flags,
                           lmmiqa_image **out)
{
    return lmmiqa_image_decode_limited(data, size, name, flags, LMMIQA_IMAGE_MAX_PIXELS, out);
}

int lmmiqa_image_decode(const void *data, size_t size, const char *name, lmmiqa_image **out)
{
    return lmmiqa_image_decode_ex(data, size, name, 0, out);
}

int lmmiqa_image_load_ex(const char *path, unsigned flags, lmmiqa_image **out)
{
    assert(path && out);
    *out = NULL;
    unsigned char *data;
    size_t size;
    int rc = lmmiqa__file_read_all(path, LMMIQA_IMAGE_MAX_FILE_BYTES, &data, &size);
    if (rc)
        return rc;
    rc = lmmiqa_image_decode_ex(data, size, path, flags, out);
    free(data);
    return rc;
}

int lmmiqa_image_load(const char *path, lmmiqa_image **out)
{
    return lmmiqa_image_load_ex(path, 0, out);
}
