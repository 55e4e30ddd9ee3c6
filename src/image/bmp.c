/*
 * src/image/bmp.c - Windows BMP decoding, by hand (the format is a header and
 * raw rows).
 *
 * Supported: BITMAPCOREHEADER (12 bytes) and BITMAPINFOHEADER (40) with its
 * V2/V3/V4/V5 extensions (52, 56, 108, 124); 1/4/8-bit palettes, 16/24/32-bit
 * direct colour, BI_RGB, BI_BITFIELDS and BI_ALPHABITFIELDS; bottom-up
 * (positive height) and top-down (negative height) rows padded to 4 bytes.
 * Refused: RLE4/RLE8 and embedded JPEG/PNG (LMMIQA_ERR_FORMAT), OS/2 2.x
 * headers.
 *
 * Design: every offset and size is checked in 64-bit arithmetic against the
 * buffer before it is used, and the whole pixel array must be present before
 * anything is allocated. Bit-field channels narrower than 8 bits are widened
 * as v * 255 / max with truncation, Pillow's rule for 5- and 6-bit fields.
 * A palette index beyond the palette reads as black. An 8-bit-or-less image
 * whose palette is all grey reports source_channels 1.
 */
#include "image_internal.h"

#include "core/internal.h"

#include <string.h>

enum { BI_RGB = 0, BI_RLE8 = 1, BI_RLE4 = 2, BI_BITFIELDS = 3, BI_JPEG = 4, BI_PNG = 5,
       BI_ALPHABITFIELDS = 6 };

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* One channel of a bit-field pixel. */
typedef struct field {
    uint32_t mask;
    int shift;
    uint32_t max; /* mask >> shift */
} field;

static int field_init(field *f, uint32_t mask)
{
    f->mask = mask;
    f->shift = 0;
    f->max = 0;
    if (!mask)
        return 1;
    while (!((mask >> f->shift) & 1u))
        f->shift++;
    f->max = mask >> f->shift;
    return (f->max & (f->max + 1)) == 0; /* contiguous run of ones */
}

static uint8_t field_get(const field *f, uint32_t px)
{
    if (!f->max)
        return 0;
    uint32_t v = (px & f->mask) >> f->shift;
    if (f->max == 255)
        return (uint8_t)v;
    return (uint8_t)(((uint64_t)v * 255u) / f->max);
}

int lmmiqa__bmp_decode(const lmmiqa__image_ctx *ctx, const uint8_t *d, size_t size,
                       lmmiqa_image **out)
{
    const char *nm = ctx->name;
    *out = NULL;
    if (size < 14 + 12)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: truncated BMP header (%zu bytes)", nm, size);
    uint64_t pix_off = rd32(d + 10);
    uint32_t hsize = rd32(d + 14);
    if (hsize != 12 && hsize != 40 && hsize != 52 && hsize != 56 && hsize != 108 && hsize != 124) {
        if (hsize == 16 || hsize == 64)
            return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: OS/2 2.x BMP headers are not supported",
                                nm);
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: BMP header size %u is invalid", nm, hsize);
    }
    if (14 + (uint64_t)hsize > size)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: truncated BMP header (%zu bytes)", nm, size);
    const uint8_t *h = d + 14;
    int64_t width, height;
    uint32_t bpp, compression = BI_RGB, colors_used = 0;
    if (hsize == 12) {
        width = rd16(h + 4);
        height = rd16(h + 6);
        bpp = rd16(h + 10);
    } else {
        width = (int32_t)rd32(h + 4);
        height = (int32_t)rd32(h + 8);
        bpp = rd16(h + 14);
        compression = rd32(h + 16);
        colors_used = rd32(h + 32);
    }
    int top_down = height < 0;
    if (height < 0)
        height = -height; /* int64: -INT32_MIN is fine */
    if (width < 0)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: BMP width %lld is negative", nm,
                            (long long)width);
    if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: BMP bit depth %u is invalid", nm, bpp);
    switch (compression) {
    case BI_RGB:
        break;
    case BI_BITFIELDS:
    case BI_ALPHABITFIELDS:
        if (bpp != 16 && bpp != 32)
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: BMP bit fields with %u bits per pixel",
                                nm, bpp);
        break;
    case BI_RLE8:
    case BI_RLE4:
        return lmmiqa__fail(LMMIQA_ERR_FORMAT,
                            "%s: RLE-compressed BMP is not supported (save it uncompressed)", nm);
    case BI_JPEG:
    case BI_PNG:
        return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: BMP with embedded %s data is not supported",
                            nm, compression == BI_JPEG ? "JPEG" : "PNG");
    default:
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: BMP compression %u is invalid", nm,
                            compression);
    }
    int rc = lmmiqa__image_check_size(ctx, "BMP", (uint64_t)width, (uint64_t)height);
    if (rc)
        return rc;

    /* Bit fields: inside the header from V2 on, else right after it. */
    uint64_t after = 14 + (uint64_t)hsize;
    field f[4];
    int has_alpha = 0;
    if (bpp == 16 || bpp == 32) {
        uint32_t m[4] = {0, 0, 0, 0};
        if (compression == BI_RGB) {
            if (bpp == 16) {
                m[0] = 0x7C00;
                m[1] = 0x03E0;
                m[2] = 0x001F;
            } else {
                m[0] = 0xFF0000;
                m[1] = 0xFF00;
                m[2] = 0xFF;
            }
        } else {
            int nmask = compression == BI_ALPHABITFIELDS ? 4 : 3;
            const uint8_t *mp;
            if (hsize >= 52) {
                mp = h + 40; /* V2 (52) holds R, G, B; V3 (56) and later add A */
                nmask = hsize >= 56 ? 4 : 3;
            } else {
                if (after + 4u * (uint64_t)nmask > size)
                    return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: truncated BMP bit fields", nm);
                mp = d + after;
                after += 4u * (uint64_t)nmask;
            }
            for (int i = 0; i < nmask; i++)
                m[i] = rd32(mp + 4 * i);
        }
        for (int i = 0; i < 4; i++)
            if (!field_init(&f[i], m[i]))
                return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: BMP bit field mask %08X is not "
                                    "one run of bits", nm, m[i]);
        if (bpp == 16 && (m[0] | m[1] | m[2] | m[3]) > 0xFFFF)
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: BMP bit field mask wider than 16 bits",
                                nm);
        has_alpha = m[3] != 0;
    }

    /* Palette. */
    uint8_t pal[256][3];
    int gray_palette = 0;
    if (bpp <= 8) {
        uint32_t maxc = 1u << bpp;
        uint32_t count = colors_used == 0 || colors_used > maxc ? maxc : colors_used;
        uint32_t esize = hsize == 12 ? 3 : 4;
        if (after + (uint64_t)count * esize > size)
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: truncated BMP palette", nm);
        memset(pal, 0, sizeof pal);
        gray_palette = 1;
        for (uint32_t i = 0; i < count; i++) {
            const uint8_t *e = d + after + (uint64_t)i * esize;
            pal[i][0] = e[2];
            pal[i][1] = e[1];
            pal[i][2] = e[0];
            if (e[0] != e[1] || e[1] != e[2])
                gray_palette = 0;
        }
    }

    uint64_t stride = ((uint64_t)width * bpp + 31u) / 32u * 4u;
    uint64_t need = stride * (uint64_t)height;
    if (pix_off > size || need > size - pix_off)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                            "%s: truncated BMP pixel data (needs %llu bytes from offset %llu, "
                            "file has %zu)",
                            nm, (unsigned long long)need, (unsigned long long)pix_off, size);

    lmmiqa_image *img;
    int src_ch = bpp <= 8 ? (gray_palette ? 1 : 3) : (has_alpha ? 4 : 3);
    rc = lmmiqa__image_alloc(ctx, (int)width, (int)height, src_ch, &img);
    if (rc)
        return rc;
    const int w = (int)width, hh = (int)height;
    for (int y = 0; y < hh; y++) {
        const uint8_t *s = d + pix_off + (uint64_t)(top_down ? y : hh - 1 - y) * stride;
        uint8_t *o = img->pixels + (size_t)y * (size_t)w * 3u;
        switch (bpp) {
        case 1:
        case 4:
        case 8: {
            int per = 8 / (int)bpp;
            unsigned maskv = (1u << bpp) - 1u;
            for (int x = 0; x < w; x++) {
                unsigned byte = s[x / per];
                unsigned idx = (byte >> (8 - (int)bpp * (x % per + 1))) & maskv;
                memcpy(o + 3 * x, pal[idx], 3);
            }
            break;
        }
        case 24:
            for (int x = 0; x < w; x++) {
                o[3 * x] = s[3 * x + 2];
                o[3 * x + 1] = s[3 * x + 1];
                o[3 * x + 2] = s[3 * x];
            }
            break;
        default: /* 16, 32 */
            for (int x = 0; x < w; x++) {
                uint32_t px = bpp == 16 ? rd16(s + 2 * x) : rd32(s + 4 * x);
                o[3 * x] = field_get(&f[0], px);
                o[3 * x + 1] = field_get(&f[1], px);
                o[3 * x + 2] = field_get(&f[2], px);
            }
            break;
        }
    }
    *out = img;
    return LMMIQA_OK;
}
