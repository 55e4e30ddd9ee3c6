/*
 * src/image/distort.c - the synthetic distortions (include/lmmiqa/distort.h).
 *
 * Design: the blur is two 1-D passes (rows into a double buffer, then
 * columns), each reading a clamped, padded copy of the line so the inner
 * loop has no bounds tests; taps are summed from -r to r in double, so the
 * result is the plain 2-D separable convolution rounded once. Noise draws
 * from the caller's generator in pixel order, so a seed fixes the result.
 * JPEG goes through the library's own encoder and decoder in memory.
 */
#include "lmmiqa/distort.h"

#include "core/internal.h"
#include "image_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *lmmiqa_distortion_name(lmmiqa_distortion type)
{
    switch (type) {
    case LMMIQA_DISTORT_BLUR: return "blur";
    case LMMIQA_DISTORT_NOISE: return "noise";
    case LMMIQA_DISTORT_JPEG: return "jpeg";
    }
    return "?";
}

static uint8_t to_u8(double v)
{
    return (uint8_t)(v < 0.0 ? 0 : v > 255.0 ? 255 : lround(v));
}

static int copy_image(const lmmiqa_image *src, lmmiqa_image **out)
{
    int rc = lmmiqa_image_create(src->width, src->height, out);
    if (rc == LMMIQA_OK) {
        memcpy((*out)->pixels, src->pixels, (size_t)src->width * (size_t)src->height * 3u);
        (*out)->source_channels = src->source_channels;
    }
    return rc;
}

/* Gaussian blur, img [h, w, 3] -> out [h, w, 3]; kernel k [2r + 1]. */
static int blur(const lmmiqa_image *src, double sigma, lmmiqa_image **out)
{
    const int w = src->width, h = src->height, r = (int)ceil(3.0 * sigma);
    const int len = (w > h ? w : h) + 2 * r;
    double *k = lmmiqa__malloc(sizeof(double) * (size_t)(2 * r + 1));
    double *line = lmmiqa__malloc(sizeof(double) * (size_t)len * 3u);
    double *tmp = lmmiqa__malloc(sizeof(double) * (size_t)w * (size_t)h * 3u);
    int rc = (k && line && tmp) ? lmmiqa_image_create(w, h, out) : LMMIQA_ERR_NOMEM;
    if (rc != LMMIQA_OK)
        goto done;
    double s = 0.0;
    for (int i = -r; i <= r; i++)
        s += k[i + r] = exp(-0.5 * i * i / (sigma * sigma));
    for (int i = 0; i <= 2 * r; i++)
        k[i] /= s;
    /* rows: line [w + 2r, 3] = clamped row; tmp row = line * k */
    for (int y = 0; y < h; y++) {
        const uint8_t *row = src->pixels + (size_t)y * (size_t)w * 3u;
        for (int x = -r; x < w + r; x++) {
            int xx = x < 0 ? 0 : x >= w ? w - 1 : x;
            for (int c = 0; c < 3; c++)
                line[(size_t)(x + r) * 3 + c] = row[(size_t)xx * 3 + c];
        }
        double *trow = tmp + (size_t)y * (size_t)w * 3u;
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                double acc = 0.0;
                const double *p = line + (size_t)x * 3 + c;
                for (int i = 0; i <= 2 * r; i++)
                    acc += k[i] * p[(size_t)i * 3];
                trow[(size_t)x * 3 + c] = acc;
            }
    }
    /* columns: line [h + 2r, 3] = clamped column of tmp */
    for (int x = 0; x < w; x++) {
        for (int y = -r; y < h + r; y++) {
            int yy = y < 0 ? 0 : y >= h ? h - 1 : y;
            for (int c = 0; c < 3; c++)
                line[(size_t)(y + r) * 3 + c] = tmp[((size_t)yy * (size_t)w + (size_t)x) * 3 + c];
        }
        for (int y = 0; y < h; y++)
            for (int c = 0; c < 3; c++) {
                double acc = 0.0;
                const double *p = line + (size_t)y * 3 + c;
                for (int i = 0; i <= 2 * r; i++)
                    acc += k[i] * p[(size_t)i * 3];
                (*out)->pixels[((size_t)y * (size_t)w + (size_t)x) * 3 + c] = to_u8(acc);
            }
    }
    (*out)->source_channels = src->source_channels;
done:
    free(k);
    free(line);
    free(tmp);
    return rc;
}

static int noise(const lmmiqa_image *src, double sigma, lmmiqa_rng *rng, lmmiqa_image **out)
{
    int rc = lmmiqa_image_create(src->width, src->height, out);
    if (rc != LMMIQA_OK)
        return rc;
    size_t n = (size_t)src->width * (size_t)src->height * 3u;
    for (size_t i = 0; i < n; i++)
        (*out)->pixels[i] = to_u8(src->pixels[i] + sigma * lmmiqa_rng_normal(rng));
    (*out)->source_channels = src->source_channels;
    return LMMIQA_OK;
}

static int jpeg(const lmmiqa_image *src, int quality, lmmiqa_image **out)
{
    unsigned char *buf = NULL;
    size_t size = 0;
    int rc = lmmiqa__jpeg_encode(src, quality, "distort", &buf, &size);
    if (rc == LMMIQA_OK)
        rc = lmmiqa_image_decode(buf, size, "distort (JPEG round trip)", out);
    free(buf);
    if (rc == LMMIQA_OK)
        (*out)->source_channels = src->source_channels;
    return rc;
}

int lmmiqa_image_distort(const lmmiqa_image *src, lmmiqa_distortion type, double strength,
                         lmmiqa_rng *rng, lmmiqa_image **out)
{
    if (!out)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "distort: NULL output");
    *out = NULL;
    if (!src || !src->pixels || src->width < 1 || src->height < 1)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "distort: NULL or empty source image");
    if (!isfinite(strength))
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "distort: %s strength %g is not finite",
                            lmmiqa_distortion_name(type), strength);
    switch (type) {
    case LMMIQA_DISTORT_BLUR:
        if (!(strength >= 0.0 && strength <= 100.0))
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                "distort: blur sigma %g is not in 0..100", strength);
        return strength == 0.0 ? copy_image(src, out) : blur(src, strength, out);
    case LMMIQA_DISTORT_NOISE:
        if (!(strength >= 0.0 && strength <= 255.0))
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                "distort: noise sigma %g is not in 0..255", strength);
        if (!rng)
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                "distort: noise needs a random generator (rng is NULL)");
        return strength == 0.0 ? copy_image(src, out) : noise(src, strength, rng, out);
    case LMMIQA_DISTORT_JPEG:
        if (!(strength >= 1.0 && strength <= 100.0) || strength != floor(strength))
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                "distort: JPEG quality %g is not an integer in 1..100", strength);
        return jpeg(src, (int)strength, out);
    }
    return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "distort: unknown distortion type %d", (int)type);
}
