/*
 * tools/gen_samples.c - render the project's own sample images for the demo
 * and tests: a few procedural scenes drawn with cairo, each saved pristine
 * and then blurred, noised and JPEG-compressed at growing strengths.
 *
 *   gen_samples OUT_DIR [--size WxH] [--seed S]
 *
 * Everything is deterministic for a seed (noise from lmmiqa_rng; cairo's
 * image backend is pure software). The distortions are the library's
 * (lmmiqa/distort.h), the ones `lmmiqa train --rank-augment` trains with;
 * the JPEG levels are written as the .jpg files themselves (decoding one
 * gives exactly lmmiqa_image_distort's JPEG round trip).
 * Output names: <scene>_<distortion><level>.<ext>
 * with level 0 = pristine, 1..3 = mild..strong, plus a manifest.csv listing
 * image,scene,distortion,level.
 */
#include "core/internal.h"
#include "lmmiqa/distort.h"
#include "lmmiqa/image.h"
#include "lmmiqa/rng.h"

#include <cairo.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PI 3.14159265358979323846

typedef void (*scene_fn)(cairo_t *cr, int w, int h, lmmiqa_rng *rng);

static void scene_landscape(cairo_t *cr, int w, int h, lmmiqa_rng *rng)
{
    cairo_pattern_t *sky = cairo_pattern_create_linear(0, 0, 0, h * 0.6);
    cairo_pattern_add_color_stop_rgb(sky, 0, 0.20, 0.45, 0.85);
    cairo_pattern_add_color_stop_rgb(sky, 1, 0.85, 0.90, 0.98);
    cairo_set_source(cr, sky);
    cairo_paint(cr);
    cairo_pattern_destroy(sky);
    cairo_set_source_rgb(cr, 1.0, 0.85, 0.30);
    cairo_arc(cr, w * 0.78, h * 0.22, h * 0.09, 0, 2 * PI);
    cairo_fill(cr);
    for (int layer = 0; layer < 3; layer++) {
        double base = h * (0.55 + 0.12 * layer);
        cairo_move_to(cr, 0, h);
        for (int x = 0; x <= w; x += 4) {
            double y = base - h * 0.08 * sin(x * (0.012 + 0.006 * layer) + layer) -
                       h * 0.03 * sin(x * 0.05 + 2.0 * layer);
            cairo_line_to(cr, x, y);
        }
        cairo_line_to(cr, w, h);
        cairo_close_path(cr);
        cairo_set_source_rgb(cr, 0.15 + 0.1 * layer, 0.45 - 0.08 * layer, 0.18);
        cairo_fill(cr);
    }
    for (int t = 0; t < 14; t++) {
        double x = lmmiqa_rng_uniform(rng) * w, y = h * (0.72 + 0.25 * lmmiqa_rng_uniform(rng));
        double s = h * (0.05 + 0.05 * lmmiqa_rng_uniform(rng));
        cairo_set_source_rgb(cr, 0.35, 0.22, 0.10);
        cairo_rectangle(cr, x - s * 0.08, y - s, s * 0.16, s);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0.05, 0.30 + 0.2 * lmmiqa_rng_uniform(rng), 0.08);
        cairo_move_to(cr, x - s * 0.5, y - s * 0.6);
        cairo_line_to(cr, x, y - s * 2.0);
        cairo_line_to(cr, x + s * 0.5, y - s * 0.6);
        cairo_close_path(cr);
        cairo_fill(cr);
    }
}

static void scene_still_life(cairo_t *cr, int w, int h, lmmiqa_rng *rng)
{
    cairo_set_source_rgb(cr, 0.93, 0.90, 0.84);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 0.55, 0.36, 0.22);
    cairo_rectangle(cr, 0, h * 0.65, w, h * 0.35);
    cairo_fill(cr);
    for (int i = 0; i < 40; i++) { /* wood grain */
        cairo_set_source_rgba(cr, 0.35, 0.2, 0.1, 0.35);
        cairo_set_line_width(cr, 1.0 + 2.0 * lmmiqa_rng_uniform(rng));
        double y = h * 0.65 + h * 0.35 * lmmiqa_rng_uniform(rng);
        cairo_move_to(cr, 0, y);
        cairo_curve_to(cr, w * 0.3, y + 6, w * 0.6, y - 6, w, y + 2);
        cairo_stroke(cr);
    }
    const double colors[4][3] = {{0.85, 0.15, 0.12}, {0.95, 0.65, 0.10}, {0.30, 0.60, 0.20},
                                 {0.25, 0.30, 0.75}};
    for (int i = 0; i < 4; i++) {
        double cx = w * (0.2 + 0.2 * i), cy = h * 0.62, r = h * (0.10 + 0.03 * (i % 2));
        cairo_pattern_t *p = cairo_pattern_create_radial(cx - r * 0.4, cy - r * 0.4, r * 0.1, cx, cy, r);
        cairo_pattern_add_color_stop_rgb(p, 0, 1, 1, 1);
        cairo_pattern_add_color_stop_rgb(p, 0.3, colors[i][0], colors[i][1], colors[i][2]);
        cairo_pattern_add_color_stop_rgb(p, 1, colors[i][0] * 0.4, colors[i][1] * 0.4, colors[i][2] * 0.4);
        cairo_set_source(cr, p);
        cairo_arc(cr, cx, cy, r, 0, 2 * PI);
        cairo_fill(cr);
        cairo_pattern_destroy(p);
    }
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1); /* a framed stripe chart: fine detail */
    cairo_rectangle(cr, w * 0.62, h * 0.08, w * 0.3, h * 0.3);
    cairo_fill(cr);
    for (int i = 0; i < 24; i++) {
        cairo_set_source_rgb(cr, 0.95, 0.95, 0.95);
        double x = w * 0.63 + i * (w * 0.28 / 24.0);
        cairo_rectangle(cr, x, h * 0.09, (w * 0.28 / 24.0) * (0.2 + 0.6 * i / 24.0), h * 0.28);
        cairo_fill(cr);
    }
}

static void scene_city(cairo_t *cr, int w, int h, lmmiqa_rng *rng)
{
    cairo_pattern_t *sky = cairo_pattern_create_linear(0, 0, 0, h);
    cairo_pattern_add_color_stop_rgb(sky, 0, 0.05, 0.05, 0.20);
    cairo_pattern_add_color_stop_rgb(sky, 1, 0.60, 0.30, 0.35);
    cairo_set_source(cr, sky);
    cairo_paint(cr);
    cairo_pattern_destroy(sky);
    double x = 0;
    while (x < w) {
        double bw = w * (0.06 + 0.08 * lmmiqa_rng_uniform(rng));
        double bh = h * (0.3 + 0.55 * lmmiqa_rng_uniform(rng));
        double g = 0.10 + 0.12 * lmmiqa_rng_uniform(rng);
        cairo_set_source_rgb(cr, g, g, g + 0.05);
        cairo_rectangle(cr, x, h - bh, bw, bh);
        cairo_fill(cr);
        for (double wy = h - bh + 6; wy < h - 8; wy += 9)
            for (double wx = x + 4; wx < x + bw - 6; wx += 8)
                if (lmmiqa_rng_uniform(rng) < 0.45) {
                    cairo_set_source_rgb(cr, 0.95, 0.85, 0.45);
                    cairo_rectangle(cr, wx, wy, 4, 5);
                    cairo_fill(cr);
                }
        x += bw + 2;
    }
}

static const struct {
    const char *name;
    scene_fn draw;
} scenes[] = {{"landscape", scene_landscape}, {"stilllife", scene_still_life}, {"city", scene_city}};

/* Natural photographs are not flat: their local statistics come from texture
 * at every scale with a roughly 1/f amplitude spectrum. Cartoon-flat scenes
 * would sit far outside what quality models were trained on, so every scene
 * gets a multiplicative fractal texture: octaves of smoothly interpolated
 * random grids, amplitude halving as frequency doubles, plus fine grain. */
static void add_texture(lmmiqa_image *img, lmmiqa_rng *rng)
{
    int w = img->width, h = img->height;
    double *tex = calloc((size_t)w * h, sizeof *tex);
    if (!tex)
        return;
    double amp = 0.10;
    for (int cell = 64; cell >= 2; cell /= 2, amp *= 0.62) {
        int gw = w / cell + 2, gh = h / cell + 2;
        double *grid = malloc(sizeof(double) * (size_t)gw * gh);
        if (!grid)
            break;
        for (int i = 0; i < gw * gh; i++)
            grid[i] = 2.0 * lmmiqa_rng_uniform(rng) - 1.0;
        for (int y = 0; y < h; y++) {
            double fy = (double)y / cell;
            int y0 = (int)fy;
            double ty = fy - y0;
            ty = ty * ty * (3 - 2 * ty);
            for (int x = 0; x < w; x++) {
                double fx = (double)x / cell;
                int x0 = (int)fx;
                double tx = fx - x0;
                tx = tx * tx * (3 - 2 * tx);
                double a = grid[y0 * gw + x0], b = grid[y0 * gw + x0 + 1];
                double c = grid[(y0 + 1) * gw + x0], d = grid[(y0 + 1) * gw + x0 + 1];
                tex[(size_t)y * w + x] +=
                    amp * ((a * (1 - tx) + b * tx) * (1 - ty) + (c * (1 - tx) + d * tx) * ty);
            }
        }
        free(grid);
    }
    for (size_t i = 0; i < (size_t)w * h; i++) {
        double grain = 1.5 * lmmiqa_rng_normal(rng);
        for (int c = 0; c < 3; c++) {
            double v = img->pixels[i * 3 + c] * (1.0 + tex[i]) + grain;
            img->pixels[i * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lround(v));
        }
    }
    free(tex);
}

static int fail(const char *what)
{
    fprintf(stderr, "gen_samples: %s: %s\n", what, lmmiqa_error_message());
    return 1;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int w = 384, h = 256;
    unsigned long long seed = 2024;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
            if (sscanf(argv[++i], "%dx%d", &w, &h) != 2 || w < 16 || h < 16 || w > 4096 || h > 4096) {
                fprintf(stderr, "gen_samples: --size wants WxH between 16 and 4096\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
        } else if (argv[i][0] == '-' || dir) {
            fprintf(stderr, "usage: gen_samples OUT_DIR [--size WxH] [--seed S]\n");
            return 2;
        } else {
            dir = argv[i];
        }
    }
    if (!dir) {
        fprintf(stderr, "usage: gen_samples OUT_DIR [--size WxH] [--seed S]\n");
        return 2;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "gen_samples: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char path[4096], manifest_path[4096];
    snprintf(manifest_path, sizeof manifest_path, "%s/manifest.csv", dir);
    /* Gathered in memory, written atomically at the end (as every output). */
    char *mtext = NULL;
    size_t mlen = 0;
    FILE *manifest = open_memstream(&mtext, &mlen);
    if (!manifest) {
        fprintf(stderr, "gen_samples: out of memory\n");
        return 1;
    }
    fprintf(manifest, "image,scene,distortion,level\n");
    const double blur_sigma[3] = {0.8, 1.6, 3.2};
    const double noise_sigma[3] = {4.0, 8.0, 16.0};
    const int jpeg_quality[3] = {30, 15, 6};
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, seed);
    for (size_t s = 0; s < sizeof scenes / sizeof scenes[0]; s++) {
        cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
        cairo_t *cr = cairo_create(surf);
        scenes[s].draw(cr, w, h, &rng);
        cairo_destroy(cr);
        cairo_surface_flush(surf);
        lmmiqa_image *img = NULL;
        if (lmmiqa_image_create(w, h, &img))
            return fail("create");
        const unsigned char *data = cairo_image_surface_get_data(surf);
        int stride = cairo_image_surface_get_stride(surf);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                uint32_t px;
                memcpy(&px, data + (size_t)y * stride + 4 * x, 4);
                uint8_t *d = img->pixels + ((size_t)y * w + x) * 3;
                d[0] = (px >> 16) & 255;
                d[1] = (px >> 8) & 255;
                d[2] = px & 255;
            }
        cairo_surface_destroy(surf);
        add_texture(img, &rng);
        const char *name = scenes[s].name;
        snprintf(path, sizeof path, "%s/%s_pristine0.png", dir, name);
        if (lmmiqa_image_save_png(img, path))
            return fail(path);
        fprintf(manifest, "%s_pristine0.png,%s,pristine,0\n", name, name);
        for (int l = 0; l < 3; l++) {
            lmmiqa_image *d = NULL;
            if (lmmiqa_image_distort(img, LMMIQA_DISTORT_BLUR, blur_sigma[l], NULL, &d))
                return fail("blur");
            snprintf(path, sizeof path, "%s/%s_blur%d.png", dir, name, l + 1);
            if (lmmiqa_image_save_png(d, path))
                return fail(path);
            fprintf(manifest, "%s_blur%d.png,%s,blur,%d\n", name, l + 1, name, l + 1);
            lmmiqa_image_destroy(d);
        }
        for (int l = 0; l < 3; l++) {
            lmmiqa_image *d = NULL;
            if (lmmiqa_image_distort(img, LMMIQA_DISTORT_NOISE, noise_sigma[l], &rng, &d))
                return fail("noise");
            snprintf(path, sizeof path, "%s/%s_noise%d.png", dir, name, l + 1);
            if (lmmiqa_image_save_png(d, path))
                return fail(path);
            fprintf(manifest, "%s_noise%d.png,%s,noise,%d\n", name, l + 1, name, l + 1);
            lmmiqa_image_destroy(d);
        }
        for (int l = 0; l < 3; l++) {
            snprintf(path, sizeof path, "%s/%s_jpeg%d.jpg", dir, name, l + 1);
            if (lmmiqa_image_save_jpeg(img, path, jpeg_quality[l]))
                return fail(path);
            fprintf(manifest, "%s_jpeg%d.jpg,%s,jpeg,%d\n", name, l + 1, name, l + 1);
        }
        lmmiqa_image_destroy(img);
    }
    if (fclose(manifest) != 0 || lmmiqa__file_write_atomic(manifest_path, mtext, mlen) != 0) {
        fprintf(stderr, "gen_samples: cannot write %s: %s\n", manifest_path,
                lmmiqa_error_message());
        free(mtext);
        return 1;
    }
    free(mtext);
    return 0;
}
