/*
 * src/image/jpeg.c - JPEG decoding and encoding with libjpeg-turbo.
 *
 * Design: libjpeg reports fatal errors through error_exit, which must not
 * return; ours longjmps back to the decoder, which frees everything and
 * returns LMMIQA_ERR_CORRUPT with libjpeg's own message. Warnings that mean
 * the pixels are wrong are fatal here - a silently wrong picture is worse
 * than an error: the entropy-coded data ran out ("premature end of JPEG
 * file / data segment": libjpeg pads with grey), cannot be decoded (a bad
 * Huffman code, a lost restart marker, an impossible progression), or left
 * bytes over before a restart marker or the end of the image (the usual sign
 * of scrambled entropy data). Harmless ones (bytes between header segments,
 * an unknown JFIF revision) stay silent. Arithmetic-coded files (SOF9-SOF11)
 * are refused outright: they are almost never made on purpose, and SOF9
 * patched over Huffman data decodes into noise without a single warning.
 * The decoder keeps libjpeg's defaults (islow IDCT, fancy upsampling),
 * which are what Pillow and MATLAB use, so pixels match Pillow bit for bit.
 * A progress monitor caps the number of progressive scans, a known way for
 * a tiny crafted file to burn minutes of CPU.
 */
#include "image_internal.h"

#include "core/internal.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

/* Progressive files in the wild have about 10 scans; libjpeg-turbo's own
 * fuzzers stop at 500. */
#define MAX_SCANS 500

typedef struct jpeg_guard {
    struct jpeg_error_mgr pub; /* first: libjpeg casts to this */
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    int status;             /* LMMIQA_ERR_* to report */
    unsigned char *outbuf;  /* encoder's jpeg_mem_dest buffer, freed on error */
} jpeg_guard;

static void guard_error_exit(j_common_ptr cinfo)
{
    jpeg_guard *g = (jpeg_guard *)(void *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, g->message);
    if (cinfo->err->msg_code == JERR_OUT_OF_MEMORY)
        g->status = LMMIQA_ERR_NOMEM;
    else if (cinfo->err->msg_code == JERR_IMAGE_TOO_BIG)
        g->status = LMMIQA_ERR_TOO_LARGE;
    longjmp(g->jump, 1);
}

static void guard_emit_message(j_common_ptr cinfo, int msg_level)
{
    if (msg_level < 0) {
        cinfo->err->num_warnings++;
        switch (cinfo->err->msg_code) {
        case JWRN_JPEG_EOF:
        case JWRN_HIT_MARKER:
        case JWRN_HUFF_BAD_CODE:
        case JWRN_MUST_RESYNC:
        case JWRN_BOGUS_PROGRESSION:
        case JWRN_NOT_SEQUENTIAL:
            guard_error_exit(cinfo);
            break;
        case JWRN_EXTRANEOUS_DATA:
            /* Left-over bytes before a restart marker or the end of the
             * image: the entropy data did not decode as they were coded. */
            if ((cinfo->err->msg_parm.i[1] >= 0xD0 && cinfo->err->msg_parm.i[1] <= 0xD7) ||
                cinfo->err->msg_parm.i[1] == 0xD9)
                guard_error_exit(cinfo);
            break;
        default:
            break;
        }
    }
}

static void guard_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void guard_init(jpeg_guard *g)
{
    jpeg_std_error(&g->pub);
    g->pub.error_exit = guard_error_exit;
    g->pub.emit_message = guard_emit_message;
    g->pub.output_message = guard_output_message;
    g->message[0] = '\0';
    g->status = LMMIQA_ERR_CORRUPT;
    g->outbuf = NULL;
}

static void scan_limit(j_common_ptr cinfo)
{
    if (cinfo->is_decompressor &&
        ((j_decompress_ptr)cinfo)->input_scan_number > MAX_SCANS) {
        jpeg_guard *g = (jpeg_guard *)(void *)cinfo->err;
        snprintf(g->message, sizeof g->message, "more than %d progressive scans", MAX_SCANS);
        g->status = LMMIQA_ERR_CORRUPT;
        longjmp(g->jump, 1);
    }
}

/* Pillow's CMYK -> RGB (Convert.c cmyk2rgb) after its Adobe inversion
 * ("CMYK;I": stored value s means ink 255 - s): R = (255-K) - (C(255-K)/255)
 * with libImaging's MULDIV255 rounding. Pillow applies the inversion to every
 * CMYK JPEG, Adobe marker or not; so do we. */
static uint8_t cmyk_channel(unsigned stored_ink, unsigned stored_k)
{
    unsigned ink = 255u - stored_ink;
    unsigned nk = stored_k; /* 255 - K, K = 255 - stored_k */
    unsigned t = ink * nk + 128u;
    unsigned prod = ((t >> 8) + t) >> 8;
    return (uint8_t)(nk - prod); /* prod <= nk: never negative */
}

/* The APP1 EXIF orientation saved by jpeg_save_markers, 0 if none. */
static int find_orientation(j_decompress_ptr cinfo)
{
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next) {
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
            memcmp(m->data, "Exif\0\0", 6) == 0)
            return lmmiqa__exif_orientation(m->data, m->data_length);
    }
    return 0;
}

int lmmiqa__jpeg_decode(const lmmiqa__image_ctx *ctx, const uint8_t *data, size_t size,
                        lmmiqa_image **out)
{
    struct jpeg_decompress_struct cinfo;
    struct jpeg_progress_mgr progress;
    jpeg_guard guard;
    /* volatile: modified between setjmp and longjmp. */
    lmmiqa_image *volatile img = NULL;
    unsigned char *volatile row = NULL;
    int status;

    *out = NULL;
    guard_init(&guard);
    cinfo.err = &guard.pub;
    if (setjmp(guard.jump)) {
        jpeg_destroy_decompress(&cinfo);
        lmmiqa_image_destroy(img);
        free(row);
        return lmmiqa__fail(guard.status, "%s: %s JPEG: %s", ctx->name,
                            guard.status == LMMIQA_ERR_NOMEM       ? "out of memory decoding"
                            : guard.status == LMMIQA_ERR_TOO_LARGE ? "too large"
                                                                   : "corrupt or truncated",
                            guard.message);
    }
    jpeg_create_decompress(&cinfo);
    progress.progress_monitor = scan_limit;
    cinfo.progress = &progress;
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    if (!(ctx->flags & LMMIQA_IMAGE_IGNORE_EXIF))
        jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);

    if (cinfo.arith_code) {
        status = lmmiqa__fail(LMMIQA_ERR_FORMAT,
                              "%s: arithmetic-coded JPEG (SOF%d) is not supported", ctx->name,
                              cinfo.progressive_mode ? 10 : 9);
        goto fail;
    }
    status = lmmiqa__image_check_size(ctx, "JPEG", cinfo.image_width, cinfo.image_height);
    if (status)
        goto fail;
    int source_channels;
    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo.out_color_space = JCS_GRAYSCALE;
        source_channels = 1;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo.out_color_space = JCS_RGB;
        source_channels = 3;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        cinfo.out_color_space = JCS_CMYK;
        source_channels = 4;
        break;
    default:
        status = lmmiqa__fail(LMMIQA_ERR_FORMAT,
                              "%s: JPEG with %d components in an unsupported colour space",
                              ctx->name, cinfo.num_components);
        goto fail;
    }
    int orientation = (ctx->flags & LMMIQA_IMAGE_IGNORE_EXIF) ? 0 : find_orientation(&cinfo);

    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
    {
        lmmiqa_image *tmp;
        status = lmmiqa__image_alloc(ctx, w, h, source_channels, &tmp);
        if (status)
            goto fail;
        img = tmp;
    }
    int comps = cinfo.output_components; /* 1, 3 or 4 */
    if (comps != 3) {
        row = lmmiqa__malloc((size_t)w * (size_t)comps);
        if (!row) {
            status = lmmiqa__fail_context(LMMIQA_ERR_NOMEM, "%s: ", ctx->name);
            goto fail;
        }
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t *dst = img->pixels + (size_t)cinfo.output_scanline * (size_t)w * 3u;
        JSAMPROW rows[1] = {comps == 3 ? dst : row};
        jpeg_read_scanlines(&cinfo, rows, 1);
        if (comps == 1) {
            for (int x = 0; x < w; x++)
                dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = row[x];
        } else if (comps == 4) {
            for (int x = 0; x < w; x++) {
                const unsigned char *s = row + 4 * x;
                dst[3 * x] = cmyk_channel(s[0], s[3]);
                dst[3 * x + 1] = cmyk_channel(s[1], s[3]);
                dst[3 * x + 2] = cmyk_channel(s[2], s[3]);
            }
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    {
        lmmiqa_image *done = img;
        status = lmmiqa__image_orient(ctx, &done, orientation);
        if (status)
            return status; /* orient freed the image */
        *out = done;
    }
    return LMMIQA_OK;

fail:
    jpeg_destroy_decompress(&cinfo);
    lmmiqa_image_destroy(img);
    free(row);
    return status;
}

/* ---- encoder ---------------------------------------------------------- */

int lmmiqa__jpeg_encode(const lmmiqa_image *img, int quality, const char *name,
                        unsigned char **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    if (quality < 1 || quality > 100)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "%s: JPEG quality %d is not in 1..100",
                            name, quality);
    struct jpeg_compress_struct cinfo;
    jpeg_guard guard;
    unsigned long len = 0;

    guard_init(&guard);
    cinfo.err = &guard.pub;
    if (setjmp(guard.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(guard.outbuf);
        return lmmiqa__fail(guard.status == LMMIQA_ERR_NOMEM ? LMMIQA_ERR_NOMEM : LMMIQA_ERR_IO,
                            "%s: JPEG encoding failed: %s", name, guard.message);
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &guard.outbuf, &len);
    cinfo.image_width = (JDIMENSION)img->width;
    cinfo.image_height = (JDIMENSION)img->height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW rows[1] = {img->pixels + (size_t)cinfo.next_scanline * (size_t)img->width * 3u};
        jpeg_write_scanlines(&cinfo, rows, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *data = guard.outbuf;
    *size = (size_t)len;
    return LMMIQA_OK;
}

int lmmiqa_image_save_jpeg(const lmmiqa_image *img, const char *path, int quality)
{
    if (!img || !path)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "save_jpeg: NULL image or path");
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = lmmiqa__jpeg_encode(img, quality, path, &buf, &len);
    if (rc == LMMIQA_OK)
        rc = lmmiqa__file_write_atomic(path, buf, len);
    free(buf);
    return rc;
}
