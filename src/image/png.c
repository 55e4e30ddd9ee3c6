/*
 * src/image/png.c - PNG decoding and encoding with libpng.
 *
 * Design: libpng reads from the caller's buffer through a read callback that
 * fails (png_error) past the end, so truncation is an error, never padding.
 * Errors longjmp back here with libpng's message; warnings are silent.
 * libpng expands palettes, low bit depths and tRNS and scales 16-bit samples
 * to 8 with png_set_scale_16 (round(v/257), MATLAB im2uint8); we then fold
 * the 1..4 channel rows into RGB ourselves (grey replicated, alpha dropped).
 * Gamma, sBIT and colour-profile chunks are ignored, as MATLAB and Pillow do.
 * The whole file including IEND must be present.
 */
#include "image_internal.h"

#include "core/internal.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct png_guard {
    const uint8_t *data;
    size_t size, pos;
    char message[256];
    /* encoder output */
    unsigned char *out;
    size_t out_len, out_cap;
    int nomem;
} png_guard;

static void guard_error(png_structp png, png_const_charp msg)
{
    png_guard *g = png_get_error_ptr(png);
    snprintf(g->message, sizeof g->message, "%s", msg ? msg : "unknown libpng error");
    png_longjmp(png, 1);
}

static void guard_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void read_mem(png_structp png, png_bytep dst, size_t len)
{
    png_guard *g = png_get_io_ptr(png);
    if (len > g->size - g->pos)
        png_error(png, "unexpected end of file (truncated PNG)");
    memcpy(dst, g->data + g->pos, len);
    g->pos += len;
}

/* One decoded row of `ch` 8-bit channels -> RGB. */
static void fold_row(const uint8_t *src, int ch, int w, uint8_t *dst)
{
    switch (ch) {
    case 1:
        for (int x = 0; x < w; x++)
            dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = src[x];
        break;
    case 2:
        for (int x = 0; x < w; x++)
            dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = src[2 * x];
        break;
    case 3:
        memcpy(dst, src, (size_t)w * 3u);
        break;
    default:
        for (int x = 0; x < w; x++) {
            dst[3 * x] = src[4 * x];
            dst[3 * x + 1] = src[4 * x + 1];
            dst[3 * x + 2] = src[4 * x + 2];
        }
        break;
    }
}

int lmmiqa__png_decode(const lmmiqa__image_ctx *ctx, const uint8_t *data, size_t size,
                       lmmiqa_image **out)
{
    png_guard guard;
    memset(&guard, 0, sizeof guard);
    guard.data = data;
    guard.size = size;
    *out = NULL;

    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &guard, guard_error,
                                             guard_warning);
    if (!png)
        return lmmiqa__fail(LMMIQA_ERR_NOMEM, "%s: out of memory creating the PNG reader",
                            ctx->name);
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return lmmiqa__fail(LMMIQA_ERR_NOMEM, "%s: out of memory creating the PNG reader",
                            ctx->name);
    }
    /* volatile: assigned between setjmp and a possible longjmp. */
    lmmiqa_image *volatile img = NULL;
    uint8_t *volatile buf = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        lmmiqa_image_destroy(img);
        free(buf);
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: corrupt or truncated PNG: %s", ctx->name,
                            guard.message);
    }
    png_set_read_fn(png, &guard, read_mem);
    /* Our own limits decide (with a clear status); libpng's would say "corrupt". */
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);

    png_uint_32 w32, h32;
    int depth, ctype, interlace;
    png_get_IHDR(png, info, &w32, &h32, &depth, &ctype, &interlace, NULL, NULL);
    int rc = lmmiqa__image_check_size(ctx, "PNG", w32, h32);
    if (rc) {
        png_destroy_read_struct(&png, &info, NULL);
        return rc;
    }
    int trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
    int source_channels;
    switch (ctype) {
    case PNG_COLOR_TYPE_GRAY: source_channels = trns ? 2 : 1; break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: source_channels = 2; break;
    case PNG_COLOR_TYPE_RGB_ALPHA: source_channels = 4; break;
    default: source_channels = trns ? 4 : 3; break; /* RGB, palette */
    }
    png_set_expand(png); /* palette -> RGB, 1/2/4-bit grey -> 8, tRNS -> alpha */
    if (depth == 16)
        png_set_scale_16(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int w = (int)w32, h = (int)h32;
    int ch = png_get_channels(png, info);
    int out_depth = png_get_bit_depth(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (out_depth != 8 || ch < 1 || ch > 4 || rowbytes != (size_t)w * (size_t)ch) {
        png_destroy_read_struct(&png, &info, NULL);
        return lmmiqa__fail(LMMIQA_ERR_INTERNAL,
                            "%s: libpng gave %d channels of %d bits after expansion", ctx->name,
                            ch, out_depth);
    }
    {
        lmmiqa_image *tmp;
        rc = lmmiqa__image_alloc(ctx, w, h, source_channels, &tmp);
        if (rc) {
            png_destroy_read_struct(&png, &info, NULL);
            return rc;
        }
        img = tmp;
    }
    /* Interlaced images revisit rows in each pass: they need the whole
     * expanded image; others go row by row through one buffer. */
    size_t buf_rows = passes > 1 ? (size_t)h : 1;
    buf = malloc(rowbytes * buf_rows);
    if (!buf) {
        png_destroy_read_struct(&png, &info, NULL);
        lmmiqa_image_destroy(img);
        return lmmiqa__fail(LMMIQA_ERR_NOMEM, "%s: out of memory (%zu bytes) decoding PNG",
                            ctx->name, rowbytes * buf_rows);
    }
    if (passes > 1) {
        for (int p = 0; p < passes; p++)
            for (int y = 0; y < h; y++)
                png_read_row(png, buf + (size_t)y * rowbytes, NULL);
        for (int y = 0; y < h; y++)
            fold_row(buf + (size_t)y * rowbytes, ch, w, img->pixels + (size_t)y * (size_t)w * 3u);
    } else {
        for (int y = 0; y < h; y++) {
            png_read_row(png, buf, NULL);
            fold_row(buf, ch, w, img->pixels + (size_t)y * (size_t)w * 3u);
        }
    }
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(buf);
    *out = img;
    return LMMIQA_OK;
}

/* ---- encoder ---------------------------------------------------------- */

static void write_mem(png_structp png, png_bytep src, size_t len)
{
    png_guard *g = png_get_io_ptr(png);
    if (len > g->out_cap - g->out_len) {
        size_t cap = g->out_cap ? g->out_cap : 65536;
        while (len > cap - g->out_len) {
            if (cap > ((size_t)-1) / 2) {
                g->nomem = 1;
                png_error(png, "PNG output too large");
            }
            cap *= 2;
        }
        unsigned char *p = realloc(g->out, cap);
        if (!p) {
            g->nomem = 1;
            png_error(png, "out of memory");
        }
        g->out = p;
        g->out_cap = cap;
    }
    memcpy(g->out + g->out_len, src, len);
    g->out_len += len;
}

static void flush_mem(png_structp png) { (void)png; }

int lmmiqa_image_save_png(const lmmiqa_image *img, const char *path)
{
    if (!img || !path)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "save_png: NULL image or path");
    png_guard guard;
    memset(&guard, 0, sizeof guard);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &guard, guard_error,
                                              guard_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return lmmiqa__fail(LMMIQA_ERR_NOMEM, "%s: out of memory creating the PNG writer", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(guard.out);
        return lmmiqa__fail(guard.nomem ? LMMIQA_ERR_NOMEM : LMMIQA_ERR_IO,
                            "%s: PNG encoding failed: %s", path, guard.message);
    }
    png_set_write_fn(png, &guard, write_mem, flush_mem);
    png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < img->height; y++)
        png_write_row(png, img->pixels + (size_t)y * (size_t)img->width * 3u);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    int rc = lmmiqa__file_write_atomic(path, guard.out, guard.out_len);
    free(guard.out);
    return rc;
}
