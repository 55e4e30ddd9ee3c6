/*
 * src/image/exif.c - the EXIF Orientation tag (libexif) and the eight
 * rotations/flips it names.
 *
 * Design: only IFD0's Orientation counts (IFD1 describes the thumbnail), as
 * in Pillow's ImageOps.exif_transpose. A damaged EXIF block is ignored rather
 * than failing the image, since the pixels themselves are fine: Pillow and
 * MATLAB read such files too. libexif's "follow the specification" option is
 * off so that loading never rewrites or adds tags.
 *
 * Orientation, and where output pixel (x, y) comes from in the stored W x H
 * image (outputs of 5..8 are H x W):
 *   1 as stored                       (x, y)
 *   2 mirror left-right               (W-1-x, y)
 *   3 rotate 180                      (W-1-x, H-1-y)
 *   4 mirror top-bottom               (x, H-1-y)
 *   5 transpose                       (y, x)
 *   6 rotate 90 clockwise             (y, H-1-x)
 *   7 transverse                      (W-1-y, H-1-x)
 *   8 rotate 90 counter-clockwise     (W-1-y, x)
 */
#include "image_internal.h"

#include "core/internal.h"

#include <libexif/exif-data.h>
#include <string.h>

int lmmiqa__exif_orientation(const uint8_t *app1, size_t size)
{
    if (size < 6 || size > 0xFFFF)
        return 0;
    ExifData *ed = exif_data_new();
    if (!ed)
        return 0;
    exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
    exif_data_load_data(ed, app1, (unsigned int)size);
    int orientation = 0;
    ExifEntry *e = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
    if (e && e->data && e->format == EXIF_FORMAT_SHORT && e->components >= 1 && e->size >= 2) {
        unsigned v = exif_get_short(e->data, exif_data_get_byte_order(ed));
        if (v >= 1 && v <= 8)
            orientation = (int)v;
    }
    exif_data_unref(ed);
    return orientation;
}

int lmmiqa__image_orient(const lmmiqa__image_ctx *ctx, lmmiqa_image **img, int orientation)
{
    if (orientation < 2 || orientation > 8)
        return LMMIQA_OK;
    lmmiqa_image *src = *img;
    const int W = src->width, H = src->height;
    const int swap = orientation >= 5;
    lmmiqa_image *dst;
    int rc = lmmiqa__image_alloc(ctx, swap ? H : W, swap ? W : H, src->source_channels, &dst);
    if (rc) {
        lmmiqa_image_destroy(src);
        *img = NULL;
        return rc;
    }
    const int ow = dst->width, oh = dst->height;
    for (int y = 0; y < oh; y++) {
        uint8_t *d = dst->pixels + (size_t)y * (size_t)ow * 3u;
        for (int x = 0; x < ow; x++) {
            int sx, sy;
            switch (orientation) {
            case 2: sx = W - 1 - x; sy = y; break;
            case 3: sx = W - 1 - x; sy = H - 1 - y; break;
            case 4: sx = x; sy = H - 1 - y; break;
            case 5: sx = y; sy = x; break;
            case 6: sx = y; sy = H - 1 - x; break;
            case 7: sx = W - 1 - y; sy = H - 1 - x; break;
            default: sx = W - 1 - y; sy = x; break; /* 8 */
            }
            memcpy(d + 3 * x, src->pixels + ((size_t)sy * (size_t)W + (size_t)sx) * 3u, 3);
        }
    }
    lmmiqa_image_destroy(src);
    *img = dst;
    return LMMIQA_OK;
}
