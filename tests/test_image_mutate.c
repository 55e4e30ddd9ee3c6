/*
 * tests/test_image_mutate.c - seeded random damage to small valid JPEG, PNG
 * and BMP files, fed to the decoder.
 *
 * The libFuzzer target (tests/fuzz/fuzz_image.c) needs clang and runs by
 * hand; this test brings a deterministic slice of the same search into every
 * CI run, including the ASan/UBSan build: a few thousand mutated inputs
 * (bit flips, boundary values written into header fields, truncations,
 * inserted and deleted ranges), each of which must decode or fail with a
 * status and a message naming the input - never crash, leak or hang. The
 * seeds are fixed, so a failure reproduces; its seed index is printed.
 */
#include "image/image_internal.h"
#include "lmmiqa/image.h"
#include "lmmiqa/rng.h"
#include "test.h"

#include <jpeglib.h>
#include <png.h>
#include <time.h>

#define ROUNDS_PER_SEED 2000
#define MAX_PIXELS (1u << 20) /* keeps mutated "huge" headers cheap */

typedef struct blob {
    unsigned char *p;
    size_t n;
} blob;

static void png_cb(png_structp png, png_bytep d, size_t n)
{
    blob *b = png_get_io_ptr(png);
    b->p = realloc(b->p, b->n + n);
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void png_flush(png_structp png) { (void)png; }

static blob make_png(int ct, int depth, int interlace)
{
    const int w = 11, h = 7;
    blob b = {NULL, 0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png)))
        exit(1);
    png_set_write_fn(png, &b, png_cb, png_flush);
    png_set_IHDR(png, info, w, h, depth, ct, interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_color pal[16];
    uint8_t trns[16];
    for (int i = 0; i < 16; i++) {
        pal[i].red = (png_byte)(i * 16);
        pal[i].green = (png_byte)(255 - i * 9);
        pal[i].blue = (png_byte)(i * 3);
        trns[i] = (uint8_t)(i * 15);
    }
    if (ct == PNG_COLOR_TYPE_PALETTE) {
        png_set_PLTE(png, info, pal, 1 << depth);
        png_set_tRNS(png, info, trns, 1 << depth, NULL);
    }
    png_write_info(png, info);
    int ch = ct == PNG_COLOR_TYPE_RGB_ALPHA ? 4 : ct == PNG_COLOR_TYPE_RGB ? 3
           : ct == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : 1;
    size_t rowbytes = ((size_t)w * (size_t)ch * (size_t)depth + 7) / 8;
    uint8_t row[128];
    int passes = png_set_interlace_handling(png);
    for (int p = 0; p < passes; p++)
        for (int y = 0; y < h; y++) {
            for (size_t i = 0; i < rowbytes; i++)
                row[i] = (uint8_t)(i * 37 + (size_t)y * 11);
            png_write_row(png, row);
        }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return b;
}

static blob make_jpeg(int gray, int progressive, int exif_orientation)
{
    const int w = 19, h = 13, comps = gray ? 1 : 3;
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    unsigned char *out = NULL;
    unsigned long len = 0;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, &len);
    c.image_width = w;
    c.image_height = h;
    c.input_components = comps;
    c.in_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 75, TRUE);
    if (progressive)
        jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    if (exif_orientation) {
        uint8_t app1[] = {'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1,
                          0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (uint8_t)exif_orientation, 0, 0,
                          0, 0, 0, 0};
        jpeg_write_marker(&c, JPEG_APP0 + 1, app1, sizeof app1);
    }
    uint8_t row[19 * 3];
    while (c.next_scanline < c.image_height) {
        for (int i = 0; i < w * comps; i++)
            row[i] = (uint8_t)(i * 13 + (int)c.next_scanline * 17);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    blob b = {out, len};
    return b;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* A small BMP: 24-bit, 8-bit palette, or 32-bit BI_BITFIELDS (V5 header). */
static blob make_bmp(int kind)
{
    const int w = 7, h = 5;
    int bpp = kind == 0 ? 24 : kind == 1 ? 8 : 32;
    uint32_t hsize = kind == 2 ? 124 : 40;
    uint32_t npal = kind == 1 ? 256 : 0;
    size_t stride = ((size_t)w * (size_t)bpp + 31) / 32 * 4;
    uint32_t off = 14 + hsize + npal * 4;
    size_t n = off + stride * h;
    uint8_t *p = calloc(1, n);
    p[0] = 'B';
    p[1] = 'M';
    put32(p + 2, (uint32_t)n);
    put32(p + 10, off);
    put32(p + 14, hsize);
    put32(p + 18, (uint32_t)w);
    put32(p + 22, kind == 2 ? (uint32_t)-h : (uint32_t)h);
    p[26] = 1;
    p[28] = (uint8_t)bpp;
    put32(p + 30, kind == 2 ? 3 : 0);
    if (kind == 2) {
        put32(p + 54, 0x00FF0000);
        put32(p + 58, 0x0000FF00);
        put32(p + 62, 0x000000FF);
        put32(p + 66, 0xFF000000);
    }
    for (uint32_t i = 0; i < npal; i++)
        put32(p + 14 + hsize + 4 * i, i * 0x010203u);
    for (size_t i = off; i < n; i++)
        p[i] = (uint8_t)(i * 29);
    blob b = {p, n};
    return b;
}

static const uint32_t interesting[] = {0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF,
                                       0x10000, 0x7FFFFFFF, 0x80000000u, 0xFFFFFFFFu};

/* Apply 1..4 random edits to a copy of `src` in `dst` (capacity cap). */
static size_t mutate(lmmiqa_rng *rng, const blob *src, uint8_t *dst, size_t cap)
{
    size_t n = src->n;
    memcpy(dst, src->p, n);
    int edits = 1 + (int)lmmiqa_rng_below(rng, 4);
    for (int e = 0; e < edits && n > 0; e++) {
        /* Headers are where parsers go wrong: half the edits land in the
         * first 64 bytes. */
        size_t lim = lmmiqa_rng_below(rng, 2) && n > 64 ? 64 : n;
        size_t at = (size_t)lmmiqa_rng_below(rng, lim);
        switch (lmmiqa_rng_below(rng, 6)) {
        case 0:
            dst[at] ^= (uint8_t)(1u << lmmiqa_rng_below(rng, 8));
            break;
        case 1:
            dst[at] = (uint8_t)lmmiqa_rng_next(rng);
            break;
        case 2: { /* a boundary value as 1, 2 or 4 bytes, either endianness */
            uint32_t v = interesting[lmmiqa_rng_below(rng, sizeof interesting / sizeof interesting[0])];
            int width = 1 << lmmiqa_rng_below(rng, 3);
            int big = (int)lmmiqa_rng_below(rng, 2);
            for (int k = 0; k < width && at + (size_t)k < n; k++)
                dst[at + (size_t)k] = (uint8_t)(v >> (8 * (big ? width - 1 - k : k)));
            break;
        }
        case 3:
            n = at; /* truncate */
            break;
        case 4: { /* delete a range */
            size_t len = 1 + (size_t)lmmiqa_rng_below(rng, 16);
            if (at + len > n)
                len = n - at;
            memmove(dst + at, dst + at + len, n - at - len);
            n -= len;
            break;
        }
        default: { /* insert a copy of another range */
            size_t len = 1 + (size_t)lmmiqa_rng_below(rng, 32);
            if (n + len > cap)
                break;
            size_t from = (size_t)lmmiqa_rng_below(rng, n);
            if (from + len > n)
                len = n - from;
            uint8_t tmp[32];
            memcpy(tmp, dst + from, len);
            memmove(dst + at + len, dst + at, n - at);
            memcpy(dst + at, tmp, len);
            n += len;
            break;
        }
        }
    }
    return n;
}

static void test_mutations(void)
{
    blob seeds[12];
    int ns = 0;
    seeds[ns++] = make_jpeg(0, 0, 0);
    seeds[ns++] = make_jpeg(0, 1, 0);
    seeds[ns++] = make_jpeg(1, 0, 6);
    seeds[ns++] = make_jpeg(0, 0, 8);
    seeds[ns++] = make_png(PNG_COLOR_TYPE_RGB, 8, 0);
    seeds[ns++] = make_png(PNG_COLOR_TYPE_PALETTE, 4, 1);
    seeds[ns++] = make_png(PNG_COLOR_TYPE_GRAY_ALPHA, 16, 0);
    seeds[ns++] = make_png(PNG_COLOR_TYPE_RGB_ALPHA, 8, 1);
    seeds[ns++] = make_bmp(0);
    seeds[ns++] = make_bmp(1);
    seeds[ns++] = make_bmp(2);
    size_t cap = 0;
    for (int s = 0; s < ns; s++)
        cap = seeds[s].n > cap ? seeds[s].n : cap;
    cap += 64 * 4;
    uint8_t *buf = malloc(cap);
    int decoded = 0, failed = 0, bad = 0;
    clock_t t0 = clock();
    for (int s = 0; s < ns; s++) {
        /* The unmutated seed must decode. */
        lmmiqa_image *img = NULL;
        CHECK_MSG(lmmiqa_image_decode(seeds[s].p, seeds[s].n, "seed", &img) == 0,
                  "seed %d: %s", s, lmmiqa_error_message());
        lmmiqa_image_destroy(img);
        lmmiqa_rng rng;
        lmmiqa_rng_seed(&rng, 0x5EED0000u + (uint64_t)s);
        for (int r = 0; r < ROUNDS_PER_SEED; r++) {
            size_t n = mutate(&rng, &seeds[s], buf, cap);
            char name[48];
            snprintf(name, sizeof name, "mutant-%d-%d", s, r);
            img = (lmmiqa_image *)1;
            unsigned flags = (r & 1) ? LMMIQA_IMAGE_IGNORE_EXIF : 0;
            int rc = lmmiqa_image_decode_limited(buf, n, name, flags, MAX_PIXELS, &img);
            if (rc == LMMIQA_OK) {
                decoded++;
                int ok = img && img->width > 0 && img->height > 0 && img->channels == 3 &&
                         (uint64_t)img->width * (uint64_t)img->height <= MAX_PIXELS &&
                         img->source_channels >= 1 && img->source_channels <= 4;
                if (ok) { /* touch every pixel (ASan checks the bounds) */
                    uint8_t *g = malloc((size_t)img->width * (size_t)img->height);
                    lmmiqa_image_to_gray(img, g);
                    free(g);
                }
                if (!ok && bad++ < 5)
                    fprintf(stderr, "%s: decoded to an invalid image\n", name);
                lmmiqa_image_destroy(ok ? img : NULL);
            } else {
                failed++;
                int ok = img == NULL && rc > 0 && rc <= LMMIQA_ERR_INTERNAL &&
                         rc != LMMIQA_ERR_INTERNAL && strstr(lmmiqa_error_message(), name);
                if (!ok && bad++ < 5)
                    fprintf(stderr, "%s: status %d, message '%s'\n", name, rc,
                            lmmiqa_error_message());
            }
        }
    }
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    fprintf(stderr, "  %d mutants: %d decoded, %d rejected, %.2f s\n", decoded + failed,
            decoded, failed, secs);
    CHECK_MSG(bad == 0, "%d mutants handled wrongly", bad);
    /* The mutations must reach both outcomes, or the test proves little. */
    CHECK(decoded > 100 && failed > 1000);
    free(buf);
    for (int s = 0; s < ns; s++)
        free(seeds[s].p);
}

int main(void)
{
    RUN(test_mutations);
    return test_finish();
}
