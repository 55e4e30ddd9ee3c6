/*
 * tests/test_image.c - image decoding, encoding and grey conversion.
 *
 * PNG variants are written with libpng directly and BMP variants byte by
 * byte here, so the decoder is checked against independently built files;
 * JPEG decoding is checked against Pillow's decoding of real LIVE Challenge
 * images (tests/data/image/livec_pillow.txt, made by tools/ref/image_ref.py)
 * for exact equality; EXIF orientation against hand-made APP1 segments; and
 * every kind of bad input for the right status and a message naming the file.
 */
#include "lmmiqa/image.h"
#include "lmmiqa/rng.h"
#include "test.h"

#include <errno.h>
#include <jpeglib.h>
#include <png.h>
#include <stdint.h>
#include <unistd.h>
#include <zlib.h>

/* ---- helpers ---------------------------------------------------------- */

typedef struct buf {
    unsigned char *p;
    size_t n, cap;
} buf;

static void buf_put(buf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put8(buf *b, unsigned v) { unsigned char c = (unsigned char)v; buf_put(b, &c, 1); }
static void put16(buf *b, unsigned v) { put8(b, v & 255); put8(b, (v >> 8) & 255); }
static void put32(buf *b, uint32_t v) { put16(b, v & 0xFFFF); put16(b, v >> 16); }

static const char *tmp_path(const char *name)
{
    return test_path_mkdir(LMMIQA_BINARY_DIR, "test_image_tmp", name);
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    if (n)
        fwrite(data, 1, n, f);
    fclose(f);
}

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001B3ull;
    }
    return h;
}

static int px(const lmmiqa_image *im, int x, int y, int c)
{
    return im->pixels[((size_t)y * (size_t)im->width + (size_t)x) * 3u + (size_t)c];
}

/* Decode expecting failure with `status`; the message must name `name`. */
static void expect_fail(const void *data, size_t n, const char *name, int status)
{
    lmmiqa_image *img = (lmmiqa_image *)1;
    int rc = lmmiqa_image_decode(data, n, name, &img);
    CHECK_MSG(rc == status, "%s: status %d (%s), want %d", name, rc, lmmiqa_error_message(),
              status);
    CHECK(img == NULL);
    CHECK_MSG(strstr(lmmiqa_error_message(), name) != NULL, "message '%s' lacks '%s'",
              lmmiqa_error_message(), name);
    if (rc == LMMIQA_OK)
        lmmiqa_image_destroy(img);
}

/* ---- PNG written with libpng ----------------------------------------- */

static void png_write_cb(png_structp png, png_bytep d, size_t n)
{
    buf_put(png_get_io_ptr(png), d, n);
}
static void png_flush_cb(png_structp png) { (void)png; }

/* Encode raw rows (bit depth `depth`, color type `ct`, already packed, big
 * endian for 16-bit) into a PNG in memory. */
static buf png_make(int w, int h, int depth, int ct, int interlace, const uint8_t *rows,
                    size_t rowbytes, const png_color *pal, int npal, const uint8_t *trns,
                    int ntrns, const png_color_16 *trns_gray)
{
    buf b = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "libpng write failed\n");
        exit(1);
    }
    png_set_write_fn(png, &b, png_write_cb, png_flush_cb);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, ct,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (pal)
        png_set_PLTE(png, info, pal, npal);
    if (trns || trns_gray)
        png_set_tRNS(png, info, trns, ntrns, (png_color_16p)trns_gray);
    png_write_info(png, info);
    int passes = png_set_interlace_handling(png);
    for (int p = 0; p < passes; p++)
        for (int y = 0; y < h; y++)
            png_write_row(png, (png_bytep)(rows + (size_t)y * rowbytes));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return b;
}

/* Sample value of channel c at (x, y) in a packed raw row set. */
static unsigned raw_sample(const uint8_t *rows, size_t rowbytes, int depth, int nch, int x,
                          int y, int c)
{
    const uint8_t *r = rows + (size_t)y * rowbytes;
    size_t i = (size_t)x * (size_t)nch + (size_t)c;
    if (depth == 16)
        return (unsigned)r[2 * i] << 8 | r[2 * i + 1];
    if (depth == 8)
        return r[i];
    int per = 8 / depth;
    return (r[i / (size_t)per] >> (8 - depth * ((int)(i % (size_t)per) + 1))) & ((1u << depth) - 1);
}

static void set_raw_sample(uint8_t *rows, size_t rowbytes, int depth, int nch, int x, int y,
                           int c, unsigned v)
{
    uint8_t *r = rows + (size_t)y * rowbytes;
    size_t i = (size_t)x * (size_t)nch + (size_t)c;
    if (depth == 16) {
        r[2 * i] = (uint8_t)(v >> 8);
        r[2 * i + 1] = (uint8_t)v;
    } else if (depth == 8) {
        r[i] = (uint8_t)v;
    } else {
        int per = 8 / depth;
        int sh = 8 - depth * ((int)(i % (size_t)per) + 1);
        r[i / (size_t)per] = (uint8_t)((r[i / (size_t)per] & ~(((1u << depth) - 1) << sh)) | v << sh);
    }
}

/* 8-bit value a decoded sample of `depth` bits must become. */
static unsigned to8(unsigned v, int depth)
{
    if (depth == 16)
        return (unsigned)floor(v / 257.0 + 0.5); /* round(v/257): no exact ties */
    return v * 255u / ((1u << depth) - 1u);
}

static void check_png_variant(int ct, int depth, int interlace, int with_trns)
{
    const int w = 37, h = 23;
    int nch = ct == PNG_COLOR_TYPE_GRAY ? 1 : ct == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
            : ct == PNG_COLOR_TYPE_RGB ? 3 : ct == PNG_COLOR_TYPE_RGBA ? 4 : 1;
    size_t rowbytes = ((size_t)w * (size_t)nch * (size_t)depth + 7) / 8;
    uint8_t *rows = calloc(rowbytes, (size_t)h);
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, (uint64_t)(ct * 100 + depth * 10 + interlace));
    unsigned maxv = depth == 16 ? 65535u : (1u << depth) - 1u;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < nch; c++)
                set_raw_sample(rows, rowbytes, depth, nch, x, y, c,
                               (unsigned)lmmiqa_rng_below(&rng, (uint64_t)maxv + 1));
    png_color pal[256];
    uint8_t trns[256];
    int npal = 1 << depth;
    if (ct == PNG_COLOR_TYPE_PALETTE)
        for (int i = 0; i < npal; i++) {
            pal[i].red = (png_byte)(i * 7 + 3);
            pal[i].green = (png_byte)(255 - i);
            pal[i].blue = (png_byte)(i * 13);
            trns[i] = (uint8_t)(i * 5);
        }
    png_color_16 tgray = {0, 0, 0, 0, 1};
    buf b = png_make(w, h, depth, ct, interlace, rows, rowbytes,
                     ct == PNG_COLOR_TYPE_PALETTE ? pal : NULL, npal,
                     with_trns && ct == PNG_COLOR_TYPE_PALETTE ? trns : NULL, npal,
                     with_trns && ct == PNG_COLOR_TYPE_GRAY ? &tgray : NULL);
    char name[64];
    snprintf(name, sizeof name, "png-ct%d-d%d-i%d-t%d", ct, depth, interlace, with_trns);
    lmmiqa_image *img = NULL;
    int rc = lmmiqa_image_decode(b.p, b.n, name, &img);
    CHECK_MSG(rc == 0, "%s: %s", name, lmmiqa_error_message());
    if (rc == 0) {
        CHECK(img->width == w && img->height == h && img->channels == 3);
        int want_src = ct == PNG_COLOR_TYPE_GRAY ? (with_trns ? 2 : 1)
                     : ct == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : ct == PNG_COLOR_TYPE_RGBA ? 4
                     : with_trns ? 4 : 3;
        CHECK_MSG(img->source_channels == want_src, "%s: source_channels %d want %d", name,
                  img->source_channels, want_src);
        int bad = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++) {
                    unsigned want;
                    if (ct == PNG_COLOR_TYPE_PALETTE) {
                        unsigned idx = raw_sample(rows, rowbytes, depth, 1, x, y, 0);
                        want = c == 0 ? pal[idx].red : c == 1 ? pal[idx].green : pal[idx].blue;
                    } else {
                        int sc = nch >= 3 ? c : 0; /* grey replicated, alpha ignored */
                        want = to8(raw_sample(rows, rowbytes, depth, nch, x, y, sc), depth);
                    }
                    if ((unsigned)px(img, x, y, c) != want && bad++ < 3)
                        fprintf(stderr, "%s (%d,%d,%d): %d want %u\n", name, x, y, c,
                                px(img, x, y, c), want);
                }
        CHECK_MSG(bad == 0, "%s: %d wrong samples", name, bad);
        lmmiqa_image_destroy(img);
    }
    free(b.p);
    free(rows);
}

static void test_png_variants(void)
{
    static const int depths_gray[] = {1, 2, 4, 8, 16};
    for (int i = 0; i < 5; i++) {
        check_png_variant(PNG_COLOR_TYPE_GRAY, depths_gray[i], 0, 0);
        check_png_variant(PNG_COLOR_TYPE_GRAY, depths_gray[i], 1, 0);
    }
    check_png_variant(PNG_COLOR_TYPE_GRAY, 8, 0, 1);
    for (int d = 8; d <= 16; d += 8) {
        check_png_variant(PNG_COLOR_TYPE_GRAY_ALPHA, d, 0, 0);
        check_png_variant(PNG_COLOR_TYPE_RGB, d, 0, 0);
        check_png_variant(PNG_COLOR_TYPE_RGB, d, 1, 0);
        check_png_variant(PNG_COLOR_TYPE_RGBA, d, 0, 0);
        check_png_variant(PNG_COLOR_TYPE_RGBA, d, 1, 0);
    }
    static const int depths_pal[] = {1, 2, 4, 8};
    for (int i = 0; i < 4; i++) {
        check_png_variant(PNG_COLOR_TYPE_PALETTE, depths_pal[i], 0, 0);
        check_png_variant(PNG_COLOR_TYPE_PALETTE, depths_pal[i], 0, 1);
    }
    check_png_variant(PNG_COLOR_TYPE_PALETTE, 8, 1, 1);
}

/* Every 16-bit value maps to round(v / 257), MATLAB im2uint8's rule. */
static void test_png_16bit_all_values(void)
{
    const int w = 256, h = 256;
    uint8_t *rows = malloc((size_t)w * (size_t)h * 2);
    for (unsigned v = 0; v < 65536; v++) {
        rows[2 * v] = (uint8_t)(v >> 8);
        rows[2 * v + 1] = (uint8_t)v;
    }
    buf b = png_make(w, h, 16, PNG_COLOR_TYPE_GRAY, 0, rows, (size_t)w * 2, NULL, 0, NULL, 0,
                     NULL);
    lmmiqa_image *img = NULL;
    CHECK_OK(lmmiqa_image_decode(b.p, b.n, "gray16", &img));
    if (img) {
        int bad = 0;
        for (unsigned v = 0; v < 65536; v++) {
            /* exact integer round(v/257): v/257 is never a tie */
            unsigned want = (2 * v + 257) / 514;
            if (img->pixels[3 * v] != want || img->pixels[3 * v + 2] != want)
                bad++;
        }
        CHECK_MSG(bad == 0, "%d of 65536 16-bit values not round(v/257)", bad);
        lmmiqa_image_destroy(img);
    }
    free(b.p);
    free(rows);
}

static lmmiqa_image *random_image(int w, int h, uint64_t seed)
{
    lmmiqa_image *img = NULL;
    if (lmmiqa_image_create(w, h, &img) != 0)
        return NULL;
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, seed);
    for (size_t i = 0; i < (size_t)w * (size_t)h * 3; i++)
        img->pixels[i] = (uint8_t)lmmiqa_rng_below(&rng, 256);
    return img;
}

static void test_png_save_roundtrip(void)
{
    lmmiqa_image *img = random_image(41, 29, 7);
    CHECK(img && img->channels == 3 && img->source_channels == 3);
    const char *path = tmp_path("roundtrip.png");
    CHECK_OK(lmmiqa_image_save_png(img, path));
    lmmiqa_image *back = NULL;
    CHECK_OK(lmmiqa_image_load(path, &back));
    if (back) {
        CHECK(back->width == 41 && back->height == 29 && back->source_channels == 3);
        CHECK(memcmp(back->pixels, img->pixels, 41 * 29 * 3) == 0);
    }
    lmmiqa_image_destroy(back);
    /* Unwritable destination. */
    int rc = lmmiqa_image_save_png(img, "/nonexistent-dir/x.png");
    CHECK(rc == LMMIQA_ERR_IO);
    CHECK(strstr(lmmiqa_error_message(), "/nonexistent-dir/x.png") != NULL);
    lmmiqa_image_destroy(img);
}

/* ---- BMP written by hand ----------------------------------------------- */

typedef struct bmp_spec {
    int w, h;            /* h < 0: top-down */
    int bpp;
    uint32_t hsize;      /* 12, 40, 52, 56, 108, 124 */
    uint32_t compression;
    uint32_t masks[4];   /* BITFIELDS */
    int npal;            /* palette entries written (0: none) */
    uint32_t colors_used;
} bmp_spec;

/* Write a BMP whose pixel (x, y) (top row first) is index or packed value
 * vals[y*w+x]; the palette, when any, is pal[i] = (r, g, b). */
static buf bmp_make(const bmp_spec *s, const uint32_t *vals, const uint8_t (*pal)[3])
{
    int ah = s->h < 0 ? -s->h : s->h;
    size_t stride = ((size_t)s->w * (size_t)s->bpp + 31) / 32 * 4;
    int inline_masks = s->compression == 3 && s->hsize == 40 ? 12 : 0;
    if (s->compression == 6 && s->hsize == 40)
        inline_masks = 16;
    size_t pal_bytes = (size_t)s->npal * (s->hsize == 12 ? 3 : 4);
    uint32_t off = 14 + s->hsize + (uint32_t)inline_masks + (uint32_t)pal_bytes;
    buf b = {0};
    buf_put(&b, "BM", 2);
    put32(&b, off + (uint32_t)(stride * (size_t)ah));
    put32(&b, 0);
    put32(&b, off);
    put32(&b, s->hsize);
    if (s->hsize == 12) {
        put16(&b, (unsigned)s->w);
        put16(&b, (unsigned)s->h);
        put16(&b, 1);
        put16(&b, (unsigned)s->bpp);
    } else {
        put32(&b, (uint32_t)s->w);
        put32(&b, (uint32_t)s->h);
        put16(&b, 1);
        put16(&b, (unsigned)s->bpp);
        put32(&b, s->compression);
        put32(&b, (uint32_t)(stride * (size_t)ah));
        put32(&b, 2835);
        put32(&b, 2835);
        put32(&b, s->colors_used);
        put32(&b, 0);
        for (uint32_t i = 40; i < s->hsize; i += 4)
            put32(&b, i < 56 ? s->masks[(i - 40) / 4] : 0);
    }
    for (int i = 0; i < inline_masks / 4; i++)
        put32(&b, s->masks[i]);
    for (int i = 0; i < s->npal; i++) {
        put8(&b, pal[i][2]);
        put8(&b, pal[i][1]);
        put8(&b, pal[i][0]);
        if (s->hsize != 12)
            put8(&b, 0);
    }
    uint8_t *row = malloc(stride);
    for (int fy = 0; fy < ah; fy++) {
        int y = s->h < 0 ? fy : ah - 1 - fy; /* image row stored at file row fy */
        memset(row, 0, stride);
        for (int x = 0; x < s->w; x++) {
            uint32_t v = vals[(size_t)y * (size_t)s->w + (size_t)x];
            if (s->bpp < 8) {
                int per = 8 / s->bpp;
                row[x / per] |= (uint8_t)(v << (8 - s->bpp * (x % per + 1)));
            } else {
                for (int k = 0; k < s->bpp / 8; k++)
                    row[(size_t)x * (size_t)(s->bpp / 8) + (size_t)k] = (uint8_t)(v >> (8 * k));
            }
        }
        buf_put(&b, row, stride);
    }
    free(row);
    return b;
}

static unsigned field8(uint32_t v, uint32_t mask)
{
    if (!mask)
        return 0;
    int sh = 0;
    while (!((mask >> sh) & 1))
        sh++;
    uint32_t max = mask >> sh;
    return (unsigned)(((uint64_t)((v & mask) >> sh) * 255) / max);
}

static void check_bmp(const bmp_spec *s, int want_src, const char *name)
{
    int ah = s->h < 0 ? -s->h : s->h;
    size_t n = (size_t)s->w * (size_t)ah;
    uint32_t *vals = malloc(n * sizeof *vals);
    uint8_t pal[256][3];
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, (uint64_t)(s->bpp * 1000 + s->hsize + s->compression));
    for (int i = 0; i < 256; i++) {
        pal[i][0] = (uint8_t)lmmiqa_rng_below(&rng, 256);
        pal[i][1] = want_src == 1 ? pal[i][0] : (uint8_t)lmmiqa_rng_below(&rng, 256);
        pal[i][2] = want_src == 1 ? pal[i][0] : (uint8_t)lmmiqa_rng_below(&rng, 256);
    }
    uint32_t maxv = s->bpp <= 8 ? (uint32_t)s->npal : 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = lmmiqa_rng_next(&rng);
        vals[i] = s->bpp <= 8 ? (uint32_t)(r % maxv)
                : s->bpp == 32 ? (uint32_t)r : (uint32_t)(r & ((1ull << s->bpp) - 1));
    }
    buf b = bmp_make(s, vals, (const uint8_t(*)[3])pal);
    lmmiqa_image *img = NULL;
    int rc = lmmiqa_image_decode(b.p, b.n, name, &img);
    CHECK_MSG(rc == 0, "%s: %s", name, lmmiqa_error_message());
    if (rc == 0) {
        CHECK_MSG(img->width == s->w && img->height == ah, "%s: %dx%d", name, img->width,
                  img->height);
        CHECK_MSG(img->source_channels == want_src, "%s: source_channels %d want %d", name,
                  img->source_channels, want_src);
        uint32_t m[3] = {s->masks[0], s->masks[1], s->masks[2]};
        if (s->compression == 0 && s->bpp == 16) {
            m[0] = 0x7C00; m[1] = 0x3E0; m[2] = 0x1F;
        } else if (s->compression == 0 && s->bpp == 32) {
            m[0] = 0xFF0000; m[1] = 0xFF00; m[2] = 0xFF;
        }
        int bad = 0;
        for (int y = 0; y < ah; y++)
            for (int x = 0; x < s->w; x++) {
                uint32_t v = vals[(size_t)y * (size_t)s->w + (size_t)x];
                for (int c = 0; c < 3; c++) {
                    unsigned want;
                    if (s->bpp <= 8)
                        want = pal[v][c];
                    else if (s->bpp == 24)
                        want = (v >> (8 * (2 - c))) & 255;
                    else
                        want = field8(v, m[c]);
                    if ((unsigned)px(img, x, y, c) != want)
                        bad++;
                }
            }
        CHECK_MSG(bad == 0, "%s: %d wrong samples", name, bad);
        lmmiqa_image_destroy(img);
    }
    free(b.p);
    free(vals);
}

static void test_bmp_variants(void)
{
    bmp_spec s;
    /* 24-bit, odd widths (row padding), bottom-up and top-down, all headers. */
    static const uint32_t hs[] = {12, 40, 52, 56, 108, 124};
    for (int i = 0; i < 6; i++) {
        s = (bmp_spec){5, 7, 24, hs[i], 0, {0}, 0, 0};
        check_bmp(&s, 3, "bmp24-bottomup");
        if (hs[i] != 12) {
            s.h = -7;
            s.w = 6;
            check_bmp(&s, 3, "bmp24-topdown");
        }
    }
    /* Palettes, colour and grey; short palette (colors_used). */
    static const int pbpp[] = {1, 4, 8};
    for (int i = 0; i < 3; i++) {
        s = (bmp_spec){13, 9, pbpp[i], 40, 0, {0}, 1 << pbpp[i], 0};
        check_bmp(&s, 3, "bmp-palette");
        check_bmp(&s, 1, "bmp-palette-gray");
        s.h = -9;
        check_bmp(&s, 3, "bmp-palette-topdown");
        s = (bmp_spec){11, 4, pbpp[i], 12, 0, {0}, 1 << pbpp[i], 0};
        check_bmp(&s, 3, "bmp-core-palette");
    }
    s = (bmp_spec){10, 3, 8, 40, 0, {0}, 20, 20};
    check_bmp(&s, 3, "bmp8-colors-used-20");
    /* Direct colour. */
    s = (bmp_spec){7, 5, 32, 40, 0, {0}, 0, 0};
    check_bmp(&s, 3, "bmp32-bgrx");
    s = (bmp_spec){7, 5, 16, 40, 0, {0}, 0, 0};
    check_bmp(&s, 3, "bmp16-555");
    s = (bmp_spec){7, 5, 16, 40, 3, {0xF800, 0x07E0, 0x001F, 0}, 0, 0};
    check_bmp(&s, 3, "bmp16-565-bitfields");
    s = (bmp_spec){7, 5, 32, 40, 3, {0x0000FF00, 0x00FF0000, 0xFF000000, 0}, 0, 0};
    check_bmp(&s, 3, "bmp32-bitfields-inline");
    s = (bmp_spec){7, -5, 32, 124, 3, {0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000}, 0, 0};
    check_bmp(&s, 4, "bmp32-v5-alpha");
    s = (bmp_spec){9, 4, 32, 40, 3, {0x3FF00000, 0x000FFC00, 0x000003FF, 0}, 0, 0};
    check_bmp(&s, 3, "bmp32-10bit-fields");
    s = (bmp_spec){6, 4, 32, 40, 6, {0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000}, 0, 0};
    check_bmp(&s, 4, "bmp32-alphabitfields");

    /* Regression (found by fuzz_image): a V2 (52-byte) header with
     * BI_ALPHABITFIELDS has no alpha mask; nothing may be read past the
     * header. The copy is exactly header-sized so ASan sees any overread. */
    s = (bmp_spec){3, 2, 32, 52, 6, {0xFF0000, 0xFF00, 0xFF, 0}, 0, 0};
    check_bmp(&s, 3, "bmp32-v2-alphabitfields");
    {
        uint32_t v0[6] = {0};
        buf full = bmp_make(&s, v0, NULL);
        unsigned char *cut = malloc(14 + 52);
        memcpy(cut, full.p, 14 + 52);
        expect_fail(cut, 14 + 52, "v2alpha.bmp", LMMIQA_ERR_CORRUPT);
        free(cut);
        free(full.p);
    }

    /* RLE refused as unsupported; bad masks, depths and sizes. */
    s = (bmp_spec){4, 4, 8, 40, 1, {0}, 256, 0};
    uint32_t vals[16] = {0};
    uint8_t pal[256][3] = {{0}};
    buf b = bmp_make(&s, vals, (const uint8_t(*)[3])pal);
    expect_fail(b.p, b.n, "rle8.bmp", LMMIQA_ERR_FORMAT);
    CHECK(strstr(lmmiqa_error_message(), "RLE") != NULL);
    free(b.p);
    s = (bmp_spec){4, 4, 32, 40, 3, {0x00FF00FF, 0x0000FF00, 0, 0}, 0, 0};
    b = bmp_make(&s, vals, (const uint8_t(*)[3])pal);
    expect_fail(b.p, b.n, "badmask.bmp", LMMIQA_ERR_CORRUPT);
    free(b.p);
    s = (bmp_spec){4, 4, 24, 40, 0, {0}, 0, 0};
    b = bmp_make(&s, vals, (const uint8_t(*)[3])pal);
    b.p[28] = 7; /* bpp 7 */
    expect_fail(b.p, b.n, "bpp7.bmp", LMMIQA_ERR_CORRUPT);
    b.p[28] = 24;
    b.p[14] = 99; /* header size 99 */
    expect_fail(b.p, b.n, "hsize99.bmp", LMMIQA_ERR_CORRUPT);
    b.p[14] = 40;
    memset(b.p + 18, 0, 4); /* width 0 */
    expect_fail(b.p, b.n, "width0.bmp", LMMIQA_ERR_CORRUPT);
    memcpy(b.p + 18, "\xFF\xFF\xFF\xFF", 4); /* width -1 */
    expect_fail(b.p, b.n, "widthneg.bmp", LMMIQA_ERR_CORRUPT);
    memcpy(b.p + 18, "\x04\0\0\0", 4);
    memset(b.p + 22, 0, 4); /* height 0 */
    expect_fail(b.p, b.n, "height0.bmp", LMMIQA_ERR_CORRUPT);
    memcpy(b.p + 22, "\0\0\0\x80", 4); /* height INT32_MIN */
    expect_fail(b.p, b.n, "heightmin.bmp", LMMIQA_ERR_TOO_LARGE);
    /* 100000 x 100000: refused from the header, no allocation (an attempt to
     * allocate 30 GB would abort under ASan). */
    memcpy(b.p + 18, "\xA0\x86\x01\x00", 4);
    memcpy(b.p + 22, "\xA0\x86\x01\x00", 4);
    expect_fail(b.p, b.n, "huge.bmp", LMMIQA_ERR_TOO_LARGE);
    /* 70000 x 1: within the pixel limit but over the side limit. */
    memcpy(b.p + 18, "\x70\x11\x01\x00", 4);
    memcpy(b.p + 22, "\x01\0\0\0", 4);
    expect_fail(b.p, b.n, "wide.bmp", LMMIQA_ERR_TOO_LARGE);
    /* 10000 x 10000 = the pixel limit itself: passes the size check, then the
     * pixel data is missing. 10001 x 10000 is over. */
    memcpy(b.p + 18, "\x10\x27\0\0", 4);
    memcpy(b.p + 22, "\x10\x27\0\0", 4);
    expect_fail(b.p, b.n, "limit.bmp", LMMIQA_ERR_CORRUPT);
    memcpy(b.p + 18, "\x11\x27\0\0", 4);
    expect_fail(b.p, b.n, "overlimit.bmp", LMMIQA_ERR_TOO_LARGE);
    free(b.p);
}

/* ---- JPEG -------------------------------------------------------------- */

typedef struct jpeg_opts {
    int quality;
    int progressive;
    int full_chroma;          /* 4:4:4 */
    J_COLOR_SPACE in_space;   /* JCS_RGB, JCS_GRAYSCALE, JCS_CMYK */
    J_COLOR_SPACE jpeg_space; /* for CMYK input: JCS_CMYK or JCS_YCCK */
    const uint8_t *app1;
    size_t app1_len;
} jpeg_opts;

/* Encode `comps`-channel interleaved pixels with libjpeg directly. */
static buf jpeg_make(const uint8_t *pix, int w, int h, int comps, const jpeg_opts *o)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    unsigned char *out = NULL;
    unsigned long len = 0;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, &len);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = comps;
    c.in_color_space = o->in_space;
    jpeg_set_defaults(&c);
    if (o->in_space == JCS_CMYK)
        jpeg_set_colorspace(&c, o->jpeg_space);
    jpeg_set_quality(&c, o->quality, TRUE);
    if (o->full_chroma)
        for (int i = 0; i < c.num_components; i++)
            c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
    if (o->progressive)
        jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    if (o->app1)
        jpeg_write_marker(&c, JPEG_APP0 + 1, o->app1, (unsigned)o->app1_len);
    while (c.next_scanline < c.image_height) {
        JSAMPROW r = (JSAMPROW)(pix + (size_t)c.next_scanline * (size_t)w * (size_t)comps);
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    buf b = {out, len, len};
    return b;
}

/* Decode with libjpeg directly into `comps` channels (reference for tests). */
static uint8_t *jpeg_ref_decode(const buf *b, J_COLOR_SPACE space, int comps)
{
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr err;
    d.err = jpeg_std_error(&err);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, b->p, (unsigned long)b->n);
    jpeg_read_header(&d, TRUE);
    d.out_color_space = space;
    jpeg_start_decompress(&d);
    uint8_t *pix = malloc((size_t)d.output_width * d.output_height * (size_t)comps);
    while (d.output_scanline < d.output_height) {
        JSAMPROW r = pix + (size_t)d.output_scanline * d.output_width * (size_t)comps;
        jpeg_read_scanlines(&d, &r, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    return pix;
}

static uint8_t *smooth_rgb(int w, int h)
{
    uint8_t *p = malloc((size_t)w * (size_t)h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *q = p + ((size_t)y * (size_t)w + (size_t)x) * 3;
            q[0] = (uint8_t)(x * 255 / (w - 1));
            q[1] = (uint8_t)(y * 255 / (h - 1));
            q[2] = (uint8_t)((x + y) * 127 / (w + h - 2) + 64);
        }
    return p;
}

static void test_jpeg_save_roundtrip(void)
{
    lmmiqa_image *img = NULL;
    CHECK_OK(lmmiqa_image_create(48, 40, &img));
    if (!img)
        return;
    uint8_t *s = smooth_rgb(48, 40);
    memcpy(img->pixels, s, 48 * 40 * 3);
    free(s);
    const char *path = tmp_path("roundtrip.jpg");
    CHECK_OK(lmmiqa_image_save_jpeg(img, path, 95));
    lmmiqa_image *back = NULL;
    CHECK_OK(lmmiqa_image_load(path, &back));
    if (back) {
        CHECK(back->width == 48 && back->height == 40 && back->source_channels == 3);
        int maxd = 0;
        for (size_t i = 0; i < 48 * 40 * 3; i++) {
            int d = abs((int)back->pixels[i] - (int)img->pixels[i]);
            maxd = d > maxd ? d : maxd;
        }
        /* q95 4:2:0 on a smooth ramp: a few levels at most. */
        CHECK_MSG(maxd <= 6, "JPEG q95 round trip max abs diff %d", maxd);
        lmmiqa_image_destroy(back);
    }
    CHECK(lmmiqa_image_save_jpeg(img, path, 0) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_image_save_jpeg(img, path, 101) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_image_save_jpeg(img, "/nonexistent-dir/x.jpg", 90) == LMMIQA_ERR_IO);
    lmmiqa_image_destroy(img);
}

static void test_jpeg_color_spaces(void)
{
    const int w = 24, h = 16;
    uint8_t *rgb = smooth_rgb(w, h);
    /* Progressive decodes to exactly the pixels of baseline (same coefficients). */
    jpeg_opts o = {90, 0, 0, JCS_RGB, JCS_UNKNOWN, NULL, 0};
    buf base = jpeg_make(rgb, w, h, 3, &o);
    o.progressive = 1;
    buf prog = jpeg_make(rgb, w, h, 3, &o);
    lmmiqa_image *a = NULL, *b = NULL;
    CHECK_OK(lmmiqa_image_decode(base.p, base.n, "base.jpg", &a));
    CHECK_OK(lmmiqa_image_decode(prog.p, prog.n, "prog.jpg", &b));
    if (a && b) {
        CHECK(memcmp(a->pixels, b->pixels, (size_t)w * h * 3) == 0);
        uint8_t *ref = jpeg_ref_decode(&base, JCS_RGB, 3);
        CHECK(memcmp(a->pixels, ref, (size_t)w * h * 3) == 0);
        free(ref);
    }
    lmmiqa_image_destroy(a);
    lmmiqa_image_destroy(b);
    free(base.p);
    free(prog.p);

    /* Grey: replicated, source_channels 1. */
    uint8_t g[24 * 16];
    for (int i = 0; i < w * h; i++)
        g[i] = (uint8_t)(i * 3);
    o = (jpeg_opts){85, 0, 0, JCS_GRAYSCALE, JCS_UNKNOWN, NULL, 0};
    buf gj = jpeg_make(g, w, h, 1, &o);
    CHECK_OK(lmmiqa_image_decode(gj.p, gj.n, "gray.jpg", &a));
    if (a) {
        uint8_t *ref = jpeg_ref_decode(&gj, JCS_GRAYSCALE, 1);
        int bad = 0;
        for (int i = 0; i < w * h; i++)
            bad += a->pixels[3 * i] != ref[i] || a->pixels[3 * i + 1] != ref[i] ||
                   a->pixels[3 * i + 2] != ref[i];
        CHECK(bad == 0);
        CHECK(a->source_channels == 1);
        free(ref);
        lmmiqa_image_destroy(a);
        a = NULL;
    }
    free(gj.p);

    /* CMYK and YCCK (Adobe): Pillow's conversion of the inverted samples,
     * R = (255-K') - round(C'(255-K')/255) with C' = 255 - stored C, etc. */
    uint8_t cmyk[24 * 16 * 4];
    for (int i = 0; i < w * h; i++) {
        cmyk[4 * i] = (uint8_t)(i * 5);
        cmyk[4 * i + 1] = (uint8_t)(255 - i);
        cmyk[4 * i + 2] = (uint8_t)(i * 11);
        cmyk[4 * i + 3] = (uint8_t)(200 - (i % 100));
    }
    J_COLOR_SPACE spaces[2] = {JCS_CMYK, JCS_YCCK};
    for (int k = 0; k < 2; k++) {
        o = (jpeg_opts){95, 0, 1, JCS_CMYK, spaces[k], NULL, 0};
        buf cj = jpeg_make(cmyk, w, h, 4, &o);
        CHECK_OK(lmmiqa_image_decode(cj.p, cj.n, "cmyk.jpg", &a));
        if (a) {
            uint8_t *ref = jpeg_ref_decode(&cj, JCS_CMYK, 4);
            int bad = 0;
            for (int i = 0; i < w * h; i++) {
                double nk = ref[4 * i + 3];
                for (int c = 0; c < 3; c++) {
                    double ink = 255 - ref[4 * i + c];
                    int want = (int)(nk - floor(ink * nk / 255.0 + 0.5));
                    bad += a->pixels[3 * i + c] != want;
                }
            }
            CHECK_MSG(bad == 0, "CMYK space %d: %d wrong samples", (int)spaces[k], bad);
            CHECK(a->source_channels == 4);
            free(ref);
            lmmiqa_image_destroy(a);
            a = NULL;
        }
        free(cj.p);
    }
    free(rgb);
}

/* Pillow's decodings of LIVE Challenge images, exact. */
static void test_jpeg_png_vs_pillow(void)
{
    if (!test_shared_dir()) {
        fprintf(stderr, "  (LIVE images not found: Pillow comparison skipped)\n");
        return;
    }
    char gold[1024];
    snprintf(gold, sizeof gold, "%s/tests/data/image/livec_pillow.txt", LMMIQA_SOURCE_DIR);
    FILE *f = fopen(gold, "r");
    CHECK_MSG(f != NULL, "cannot open %s", gold);
    if (!f)
        return;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        char rel[256];
        int w, h, off;
        unsigned long long fnv_rgb, fnv_gray;
        long long sr, sg, sb, sgray;
        if (sscanf(line, "%255s %d %d %llx %lld %lld %lld %llx %lld%n", rel, &w, &h, &fnv_rgb,
                   &sr, &sg, &sb, &fnv_gray, &sgray, &off) != 9) {
            CHECK_MSG(0, "bad golden line: %s", line);
            continue;
        }
        char full[4096 + 300];
        snprintf(full, sizeof full, "%s/data/livec/%s", test_shared_dir(), rel);
        lmmiqa_image *img = NULL;
        int rc = lmmiqa_image_load(full, &img);
        CHECK_MSG(rc == 0, "%s: %s", rel, lmmiqa_error_message());
        if (rc)
            continue;
        n++;
        CHECK_MSG(img->width == w && img->height == h, "%s: %dx%d want %dx%d", rel, img->width,
                  img->height, w, h);
        size_t np = (size_t)img->width * (size_t)img->height;
        long long s[3] = {0, 0, 0};
        for (size_t i = 0; i < np * 3; i++)
            s[i % 3] += img->pixels[i];
        uint64_t hash = fnv1a64(img->pixels, np * 3);
        CHECK_MSG(hash == fnv_rgb, "%s: RGB hash %016llx want %016llx (sums %lld %lld %lld want "
                  "%lld %lld %lld)", rel, (unsigned long long)hash, fnv_rgb, s[0], s[1], s[2],
                  sr, sg, sb);
        CHECK(s[0] == sr && s[1] == sg && s[2] == sb);
        uint8_t *gray = malloc(np);
        lmmiqa_image_to_gray(img, gray);
        long long gs = 0;
        for (size_t i = 0; i < np; i++)
            gs += gray[i];
        CHECK_MSG(fnv1a64(gray, np) == fnv_gray && gs == sgray,
                  "%s: grey sum %lld want %lld", rel, gs, sgray);
        free(gray);
        const char *p = line + off;
        int x, y, r, g, bl, k;
        while (sscanf(p, " %d,%d=%d,%d,%d%n", &x, &y, &r, &g, &bl, &k) == 5) {
            CHECK_MSG(px(img, x, y, 0) == r && px(img, x, y, 1) == g && px(img, x, y, 2) == bl,
                      "%s (%d,%d)", rel, x, y);
            p += k;
        }
        lmmiqa_image_destroy(img);
    }
    fclose(f);
    CHECK_MSG(n >= 6, "only %d golden images checked", n);
}

/* ---- EXIF orientation -------------------------------------------------- */

/* APP1 payload: "Exif\0\0" + TIFF (byte order `mm`) with IFD0 holding one
 * Orientation entry of value `o` (SHORT). */
static size_t make_exif(uint8_t *out, int o, int big_endian)
{
    static const uint8_t mm[] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3,
                                 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t ii[] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0,
                                 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    memcpy(out, "Exif\0\0", 6);
    memcpy(out + 6, big_endian ? mm : ii, sizeof mm);
    if (big_endian)
        out[6 + 18 + 1] = (uint8_t)o;
    else
        out[6 + 18] = (uint8_t)o;
    return 6 + sizeof mm;
}

static void test_exif_orientation(void)
{
    /* 32 x 16 of eight solid 8x8 blocks, 4:4:4 quality 100: block colours
     * survive within a few levels, so where each block lands is unambiguous. */
    const int W = 32, H = 16;
    static const uint8_t col[8][3] = {{255, 0, 0},   {0, 255, 0},   {0, 0, 255},   {255, 255, 0},
                                      {255, 0, 255}, {0, 255, 255}, {255, 255, 255}, {0, 0, 0}};
    uint8_t pix[32 * 16 * 3];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            memcpy(pix + (y * W + x) * 3, col[(y / 8) * 4 + x / 8], 3);
    uint8_t exif[64];
    for (int o = 1; o <= 8; o++) {
        for (int be = 0; be <= 1; be++) {
            size_t len = make_exif(exif, o, be);
            jpeg_opts jo = {100, 0, 1, JCS_RGB, JCS_UNKNOWN, exif, len};
            buf j = jpeg_make(pix, W, H, 3, &jo);
            char name[32];
            snprintf(name, sizeof name, "exif-o%d-%s.jpg", o, be ? "MM" : "II");
            lmmiqa_image *up = NULL, *raw = NULL;
            CHECK_OK(lmmiqa_image_decode(j.p, j.n, name, &up));
            CHECK_OK(lmmiqa_image_decode_ex(j.p, j.n, name, LMMIQA_IMAGE_IGNORE_EXIF, &raw));
            if (up && raw) {
                int swap = o >= 5;
                CHECK(raw->width == W && raw->height == H);
                CHECK_MSG(up->width == (swap ? H : W) && up->height == (swap ? W : H),
                          "%s: %dx%d", name, up->width, up->height);
                int bad_exact = 0, bad_colour = 0;
                for (int y = 0; y < up->height && up->width == (swap ? H : W); y++)
                    for (int x = 0; x < up->width; x++) {
                        int sx, sy;
                        switch (o) {
                        case 1: sx = x; sy = y; break;
                        case 2: sx = W - 1 - x; sy = y; break;
                        case 3: sx = W - 1 - x; sy = H - 1 - y; break;
                        case 4: sx = x; sy = H - 1 - y; break;
                        case 5: sx = y; sy = x; break;
                        case 6: sx = y; sy = H - 1 - x; break;
                        case 7: sx = W - 1 - y; sy = H - 1 - x; break;
                        default: sx = W - 1 - y; sy = x; break;
                        }
                        for (int c = 0; c < 3; c++) {
                            bad_exact += px(up, x, y, c) != px(raw, sx, sy, c);
                            bad_colour += abs(px(up, x, y, c) - col[(sy / 8) * 4 + sx / 8][c]) > 8;
                        }
                    }
                CHECK_MSG(bad_exact == 0 && bad_colour == 0, "%s: %d moved wrong, %d off colour",
                          name, bad_exact, bad_colour);
            }
            /* Corner semantics spelled out for the rotations: orientation 6
             * (camera turned clockwise) puts the stored bottom-left block
             * (colour 4, magenta) at the top-left. */
            if (up && o == 6)
                CHECK(px(up, 1, 1, 0) > 200 && px(up, 1, 1, 1) < 50 && px(up, 1, 1, 2) > 200);
            if (up && o == 8) /* stored top-right (yellow) at the top-left */
                CHECK(px(up, 1, 1, 0) > 200 && px(up, 1, 1, 1) > 200 && px(up, 1, 1, 2) < 50);
            lmmiqa_image_destroy(up);
            lmmiqa_image_destroy(raw);
            free(j.p);
        }
    }
    /* Out-of-range value, damaged EXIF, orientation only in a non-EXIF APP1:
     * all decode as stored. */
    const char *cases[] = {"o9", "garbage", "xmp"};
    for (int k = 0; k < 3; k++) {
        size_t len = make_exif(exif, 9, 1);
        if (k == 1) {
            len = 40;
            memset(exif + 6, 0xA5, len - 6);
        } else if (k == 2) {
            make_exif(exif, 6, 1);
            memcpy(exif, "http:/", 6);
        }
        jpeg_opts jo = {100, 0, 1, JCS_RGB, JCS_UNKNOWN, exif, len};
        buf j = jpeg_make(pix, W, H, 3, &jo);
        lmmiqa_image *up = NULL;
        CHECK_OK(lmmiqa_image_decode(j.p, j.n, cases[k], &up));
        CHECK_MSG(up && up->width == W && up->height == H, "%s", cases[k]);
        lmmiqa_image_destroy(up);
        free(j.p);
    }
}

/* ---- grey -------------------------------------------------------------- */

static void test_gray(void)
{
    lmmiqa_image *img = NULL;
    CHECK_OK(lmmiqa_image_create(6, 1, &img));
    if (!img)
        return;
    /* Hand-computed with the MATLAB weights:
     * (255,255,255): 254.99999999999974 -> 255
     * (255,0,0): 76.22868542991263 -> 76
     * (0,255,0): 149.69598398003586 -> 150
     * (0,0,255): 29.075330585051265 -> 29
     * (10,20,30): 0.298936021293775*10 + 0.587043074451121*20
     *             + 0.114020904255103*30 = 2.98936021293775 + 11.74086148902242
     *             + 3.42062712765309 = 18.15084882961326 -> 18
     * (1,0,0) with (x.5 checks below): 0.298936... -> 0 */
    static const uint8_t in[6][3] = {{255, 255, 255}, {255, 0, 0}, {0, 255, 0},
                                     {0, 0, 255}, {10, 20, 30}, {1, 0, 0}};
    static const uint8_t want[6] = {255, 76, 150, 29, 18, 0};
    memcpy(img->pixels, in, sizeof in);
    uint8_t g[6];
    lmmiqa_image_to_gray(img, g);
    for (int i = 0; i < 6; i++)
        CHECK_MSG(g[i] == want[i], "gray[%d] = %d want %d", i, g[i], want[i]);
    lmmiqa_image_destroy(img);

    /* Exhaustive over grey inputs (R=G=B=v): the weights sum to 1 - 1e-15,
     * so every v must come back unchanged. And a brute-force comparison with
     * the formula over a lattice of colours. */
    CHECK_OK(lmmiqa_image_create(256, 1, &img));
    for (int v = 0; v < 256; v++)
        img->pixels[3 * v] = img->pixels[3 * v + 1] = img->pixels[3 * v + 2] = (uint8_t)v;
    uint8_t g256[256];
    lmmiqa_image_to_gray(img, g256);
    int bad = 0;
    for (int v = 0; v < 256; v++)
        bad += g256[v] != v;
    CHECK(bad == 0);
    lmmiqa_image_destroy(img);
}

/* ---- bad input ------------------------------------------------------- */

static buf valid_png(void)
{
    uint8_t rows[16 * 12 * 3];
    for (int i = 0; i < (int)sizeof rows; i++)
        rows[i] = (uint8_t)(i * 7);
    return png_make(16, 12, 8, PNG_COLOR_TYPE_RGB, 0, rows, 48, NULL, 0, NULL, 0, NULL);
}

static buf valid_jpeg(int progressive)
{
    uint8_t *rgb = smooth_rgb(20, 12);
    jpeg_opts o = {80, progressive, 0, JCS_RGB, JCS_UNKNOWN, NULL, 0};
    buf b = jpeg_make(rgb, 20, 12, 3, &o);
    free(rgb);
    return b;
}

static void fix_png_crc(uint8_t *chunk_len_pos)
{
    uint32_t len = (uint32_t)chunk_len_pos[0] << 24 | (uint32_t)chunk_len_pos[1] << 16 |
                   (uint32_t)chunk_len_pos[2] << 8 | chunk_len_pos[3];
    uLong crc = crc32(0, chunk_len_pos + 4, len + 4);
    uint8_t *p = chunk_len_pos + 8 + len;
    p[0] = (uint8_t)(crc >> 24);
    p[1] = (uint8_t)(crc >> 16);
    p[2] = (uint8_t)(crc >> 8);
    p[3] = (uint8_t)crc;
}

static void test_truncated(void)
{
    bmp_spec s = {9, 5, 24, 40, 0, {0}, 0, 0};
    uint32_t vals[45];
    for (int i = 0; i < 45; i++)
        vals[i] = (uint32_t)i * 0x030507u;
    buf files[5];
    const char *names[5] = {"cut.png", "cut.jpg", "cutprog.jpg", "cut.bmp", "cutinterlaced.png"};
    files[0] = valid_png();
    files[1] = valid_jpeg(0);
    files[2] = valid_jpeg(1);
    files[3] = bmp_make(&s, vals, NULL);
    {
        uint8_t rows[9 * 7 * 4];
        for (int i = 0; i < (int)sizeof rows; i++)
            rows[i] = (uint8_t)(i * 3);
        files[4] = png_make(9, 7, 8, PNG_COLOR_TYPE_RGBA, 1, rows, 36, NULL, 0, NULL, 0, NULL);
    }
    for (int f = 0; f < 5; f++) {
        lmmiqa_image *img = NULL;
        CHECK_OK(lmmiqa_image_decode(files[f].p, files[f].n, names[f], &img));
        lmmiqa_image_destroy(img);
        /* Every proper prefix fails as corrupt (the files have no trailing
         * bytes: even a lost last byte is detected). */
        int wrong = 0;
        for (size_t cut = 0; cut < files[f].n; cut++) {
            img = NULL;
            int rc = lmmiqa_image_decode(files[f].p, cut, names[f], &img);
            if (rc != LMMIQA_ERR_CORRUPT || img || !strstr(lmmiqa_error_message(), names[f])) {
                if (wrong++ < 3)
                    fprintf(stderr, "%s cut at %zu of %zu: status %d: %s\n", names[f], cut,
                            files[f].n, rc, lmmiqa_error_message());
            }
            lmmiqa_image_destroy(img);
        }
        CHECK_MSG(wrong == 0, "%s: %d prefixes not rejected as corrupt", names[f], wrong);
        free(files[f].p);
    }
}

static void test_corrupt_headers(void)
{
    /* PNG: zero and huge dimensions in IHDR (valid CRC), bad CRC. */
    buf p = valid_png();
    uint8_t *ihdr = p.p + 8; /* length field of IHDR */
    uint8_t save[17];
    memcpy(save, ihdr + 8, 17);
    memset(ihdr + 8, 0, 4);
    fix_png_crc(ihdr);
    expect_fail(p.p, p.n, "w0.png", LMMIQA_ERR_CORRUPT);
    memcpy(ihdr + 8, "\0\x01\x86\xA0\0\x01\x86\xA0", 8); /* 100000 x 100000 */
    fix_png_crc(ihdr);
    expect_fail(p.p, p.n, "huge.png", LMMIQA_ERR_TOO_LARGE);
    memcpy(ihdr + 8, "\x7F\xFF\xFF\xFF\0\0\0\x01", 8); /* 2^31-1 x 1 */
    fix_png_crc(ihdr);
    expect_fail(p.p, p.n, "wide.png", LMMIQA_ERR_TOO_LARGE);
    memcpy(ihdr + 8, save, 17);
    ihdr[16] = 9; /* bit depth 9, CRC now wrong */
    expect_fail(p.p, p.n, "badcrc.png", LMMIQA_ERR_CORRUPT);
    fix_png_crc(ihdr);
    expect_fail(p.p, p.n, "depth9.png", LMMIQA_ERR_CORRUPT);
    memcpy(ihdr + 8, save, 17);
    p.p[p.n - 20] ^= 0x55; /* inside IDAT: zlib data or CRC damaged */
    expect_fail(p.p, p.n, "idat.png", LMMIQA_ERR_CORRUPT);
    free(p.p);

    /* JPEG: SOF dimensions 0 and 65535 x 65535 (4.3 G pixels). */
    buf j = valid_jpeg(0);
    size_t sof = 0;
    for (size_t i = 2; i + 9 < j.n; i++)
        if (j.p[i] == 0xFF && j.p[i + 1] == 0xC0) {
            sof = i;
            break;
        }
    CHECK(sof > 0);
    if (sof) {
        uint8_t *hw = j.p + sof + 5; /* height (2 bytes), width (2 bytes) */
        uint8_t keep[4];
        memcpy(keep, hw, 4);
        memset(hw, 0, 2);
        expect_fail(j.p, j.n, "h0.jpg", LMMIQA_ERR_CORRUPT);
        memcpy(hw, "\xFD\xE8\xFD\xE8", 4); /* 65000 x 65000 */
        expect_fail(j.p, j.n, "huge.jpg", LMMIQA_ERR_TOO_LARGE);
        memcpy(hw, "\xFF\xFF\x00\x01", 4); /* 1 x 65535: over libjpeg's 65500 */
        expect_fail(j.p, j.n, "tall.jpg", LMMIQA_ERR_TOO_LARGE);
        memcpy(hw, keep, 4);
        j.p[sof + 9] = 7; /* 7 components */
        expect_fail(j.p, j.n, "comps.jpg", LMMIQA_ERR_CORRUPT);
    }
    free(j.p);
    /* Only SOI and garbage. */
    expect_fail("\xFF\xD8\xFF\xE0garbage-garbage", 19, "junk.jpg", LMMIQA_ERR_CORRUPT);
}

static void test_unsupported_and_io(void)
{
    static const struct {
        const char *bytes;
        size_t n;
        const char *fmt;
    } cases[] = {
        {"GIF89a\x01\0\x01\0\0\0\0", 13, "gif"},
        {"RIFF\x10\0\0\0WEBPVP8 ", 16, "webp"},
        {"II*\0\x08\0\0\0", 8, "tiff"},
        {"MM\0*\0\0\0\x08", 8, "tiff"},
        {"\0\0\0\x0CjP  \r\n\x87\n", 12, "jpeg2000"},
        {"P6\n1 1\n255\n\0\0\0", 14, "pnm"},
        {"\0\0\0\x1C" "ftypheic", 12, "heif"},
        {"hello, world", 12, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "file%zu.jpg", i); /* extension must not matter */
        expect_fail(cases[i].bytes, cases[i].n, name, LMMIQA_ERR_FORMAT);
        if (cases[i].fmt)
            CHECK_MSG(strstr(lmmiqa_error_message(), cases[i].fmt) != NULL, "%s",
                      lmmiqa_error_message());
    }
    /* A PNG named .bmp decodes as PNG. */
    buf p = valid_png();
    const char *misnamed = tmp_path("really-a-png.bmp");
    write_file(misnamed, p.p, p.n);
    lmmiqa_image *img = NULL;
    CHECK_OK(lmmiqa_image_load(misnamed, &img));
    CHECK(img && img->width == 16 && img->height == 12);
    lmmiqa_image_destroy(img);
    CHECK(strcmp(lmmiqa_image_format_detect(p.p, p.n), "png") == 0);
    CHECK(lmmiqa_image_format_detect("xy", 2) == NULL);
    free(p.p);

    expect_fail("", 0, "empty.png", LMMIQA_ERR_CORRUPT);
    expect_fail("\x89PN", 3, "sig.png", LMMIQA_ERR_CORRUPT);
    expect_fail("\xFF", 1, "sig.jpg", LMMIQA_ERR_CORRUPT);

    const char *empty = tmp_path("empty.jpg");
    write_file(empty, "", 0);
    img = (lmmiqa_image *)1;
    CHECK(lmmiqa_image_load(empty, &img) == LMMIQA_ERR_CORRUPT);
    CHECK(img == NULL);
    CHECK(strstr(lmmiqa_error_message(), empty) != NULL);

    const char *missing = tmp_path("does-not-exist.png");
    unlink(missing);
    CHECK(lmmiqa_image_load(missing, &img) == LMMIQA_ERR_IO);
    CHECK(strstr(lmmiqa_error_message(), missing) != NULL);

    const char *dir = tmp_path("");
    CHECK(lmmiqa_image_load(dir, &img) == LMMIQA_ERR_IO);
    CHECK(strstr(lmmiqa_error_message(), "test_image_tmp") != NULL);

    if (geteuid() != 0) {
        const char *locked = tmp_path("locked.png");
        write_file(locked, "\x89PNG", 4);
        chmod(locked, 0);
        CHECK(lmmiqa_image_load(locked, &img) == LMMIQA_ERR_IO);
        CHECK(strstr(lmmiqa_error_message(), locked) != NULL);
        chmod(locked, 0644);
    }
    CHECK(lmmiqa_image_create(0, 5, &img) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_image_create(70000, 1, &img) == LMMIQA_ERR_TOO_LARGE);
    CHECK(lmmiqa_image_create(20000, 20000, &img) == LMMIQA_ERR_TOO_LARGE);
    lmmiqa_image_destroy(NULL);
}

int main(void)
{
    RUN(test_png_variants);
    RUN(test_png_16bit_all_values);
    RUN(test_png_save_roundtrip);
    RUN(test_bmp_variants);
    RUN(test_jpeg_save_roundtrip);
    RUN(test_jpeg_color_spaces);
    RUN(test_jpeg_png_vs_pillow);
    RUN(test_exif_orientation);
    RUN(test_gray);
    RUN(test_truncated);
    RUN(test_corrupt_headers);
    RUN(test_unsupported_and_io);
    return test_finish();
}
