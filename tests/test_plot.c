/*
 * tests/test_plot.c - the figure renderer (include/lmmiqa/plot.h).
 *
 * Charts are rendered to PNG in the build folder and decoded back with
 * lmmiqa_image_load; the checks look at real pixels through the frame the
 * renderer reports: canvas size, white background, the diagonal drawn along
 * y = x, each series' colour where its points were placed (and not where
 * they were not), trend markers and line segments in their line's colour, a
 * gap where a trend value is missing. PDF and SVG output must start with
 * their magic bytes, output must be byte-identical across runs, and bad
 * inputs must fail with a status and a message, leaving no file behind.
 */
#include "test.h"

#include "lmmiqa/image.h"
#include "lmmiqa/plot.h"

#include <stdint.h>
#include <unistd.h>

/* cairo's toy text API resolves fonts through fontconfig, whose per-process
 * caches (bounded; freed only by FcFini) LeakSanitizer reports at exit. */
__attribute__((visibility("default"))) const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}

static void out_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/test_plot_%s", LMMIQA_BINARY_DIR, name);
}

static const uint8_t *pixel(const lmmiqa_image *img, int x, int y)
{
    if (x < 0)
        x = 0;
    if (y < 0)
        y = 0;
    if (x >= img->width)
        x = img->width - 1;
    if (y >= img->height)
        y = img->height - 1;
    return img->pixels + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
}

static int is_white(const uint8_t *p)
{
    return p[0] == 255 && p[1] == 255 && p[2] == 255;
}

/* Colour of palette entry i blended at `alpha` over white, within tol. */
static int near_color(const uint8_t *p, uint32_t c, double alpha, int tol)
{
    for (int k = 0; k < 3; k++) {
        double want = ((c >> (16 - 8 * k)) & 0xff) * alpha + 255.0 * (1 - alpha);
        if (fabs(p[k] - want) > tol)
            return 0;
    }
    return 1;
}

/* Any pixel in the (2r+1)^2 box around (x, y) close to colour c? */
static int color_near(const lmmiqa_image *img, double x, double y, int r, uint32_t c,
                      double alpha, int tol)
{
    for (int dy = -r; dy <= r; dy++)
        for (int dx = -r; dx <= r; dx++)
            if (near_color(pixel(img, (int)x + dx, (int)y + dy), c, alpha, tol))
                return 1;
    return 0;
}

static int dark_gray_near(const lmmiqa_image *img, double x, double y, int r)
{
    for (int dy = -r; dy <= r; dy++)
        for (int dx = -r; dx <= r; dx++) {
            const uint8_t *p = pixel(img, (int)x + dx, (int)y + dy);
            if (p[0] < 150 && abs(p[0] - p[1]) < 12 && abs(p[1] - p[2]) < 12)
                return 1;
        }
    return 0;
}

static int read_file(const char *path, unsigned char *buf, size_t size, size_t *got)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    *got = fread(buf, 1, size, f);
    fclose(f);
    return 0;
}

static int contains(const unsigned char *buf, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(buf + i, needle, k) == 0)
            return 1;
    return 0;
}

static int files_equal(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int eq = fa && fb;
    while (eq) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb)
            eq = 0;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return eq;
}

/* Blue series above the diagonal, orange below, far from it and off the
 * grid lines (multiples of 20). */
static const double blue_mos[] = {12, 23, 34, 45, 51};
static const double blue_pred[] = {62, 73, 83, 91, 96};
static const double orange_mos[] = {71, 82, 93, 63, 52};
static const double orange_pred[] = {22, 33, 43, 7, 11};

static void make_series(lmmiqa_plot_scatter_series s[2])
{
    s[0] = (lmmiqa_plot_scatter_series){"LMM", blue_mos, blue_pred, 5};
    s[1] = (lmmiqa_plot_scatter_series){"LMM+BRISQUE", orange_mos, orange_pred, 5};
}

static void test_scatter_png(void)
{
    lmmiqa_plot_scatter_series s[2];
    make_series(s);
    lmmiqa_plot_options opt;
    lmmiqa_plot_options_init(&opt);
    opt.lo = 0;
    opt.hi = 100;
    opt.title = "LIVE Challenge, split 10 (validation)";
    char path[4096];
    out_path(path, sizeof path, "scatter.png");
    lmmiqa_plot_frame f;
    CHECK_OK(lmmiqa_plot_scatter(s, 2, &opt, path, &f));
    CHECK_NEAR(f.x_min, 0, 0);
    CHECK_NEAR(f.x_max, 100, 0);
    CHECK_NEAR(f.y_min, 0, 0);
    CHECK_NEAR(f.y_max, 100, 0);
    CHECK(f.width == f.height); /* square plot area */
    CHECK(f.width > 300);
    /* The legend is to the right of the plot area, inside the canvas. */
    CHECK(f.left + f.width + 100 < f.canvas_width);

    lmmiqa_image *img = NULL;
    CHECK_OK(lmmiqa_image_load(path, &img));
    if (!img)
        return;
    CHECK(img->width == (int)ceil(f.canvas_width));
    CHECK(img->height == (int)ceil(f.canvas_height));
    /* Background white: canvas corners, and an empty spot in the plot area
     * (grid lines are at multiples of 20). */
    CHECK(is_white(pixel(img, 1, 1)));
    CHECK(is_white(pixel(img, img->width - 2, img->height - 2)));
    double px, py;
    lmmiqa_plot_frame_map(&f, 90, 10, &px, &py);
    CHECK(is_white(pixel(img, (int)px, (int)py)));
    lmmiqa_plot_frame_map(&f, 10, 90, &px, &py);
    CHECK(is_white(pixel(img, (int)px, (int)py)));

    /* The diagonal: dark grey pixels along y = x, off the grid lines. */
    int on_diag = 0;
    for (int t = 5; t < 100; t += 10) {
        lmmiqa_plot_frame_map(&f, t, t, &px, &py);
        on_diag += dark_gray_near(img, px, py, 1);
    }
    CHECK_MSG(on_diag == 10, "%d of 10 diagonal samples are drawn", on_diag);
    /* ...and not across the anti-diagonal's empty parts. */
    lmmiqa_plot_frame_map(&f, 25, 75 + 10, &px, &py);
    CHECK(!dark_gray_near(img, px, py, 1));

    /* Each point in its series' colour (alpha 0.75 over white), and the
     * other colour absent there. */
    uint32_t blue = lmmiqa_plot_color(0), orange = lmmiqa_plot_color(1);
    CHECK(blue == 0x1f77b4);
    CHECK(orange == 0xff7f0e);
    for (int i = 0; i < 5; i++) {
        lmmiqa_plot_frame_map(&f, blue_mos[i], blue_pred[i], &px, &py);
        CHECK_MSG(near_color(pixel(img, (int)px, (int)py), blue, 0.75, 6),
                  "blue point %d at (%.1f, %.1f)", i, px, py);
        CHECK(!color_near(img, px, py, 2, orange, 0.75, 30));
        lmmiqa_plot_frame_map(&f, orange_mos[i], orange_pred[i], &px, &py);
        CHECK_MSG(near_color(pixel(img, (int)px, (int)py), orange, 0.75, 6),
                  "orange point %d at (%.1f, %.1f)", i, px, py);
        CHECK(!color_near(img, px, py, 2, blue, 0.75, 30));
    }
    /* A point is small: 6 units away it is background again. */
    lmmiqa_plot_frame_map(&f, blue_mos[0], blue_pred[0], &px, &py);
    CHECK(is_white(pixel(img, (int)px + 6, (int)py + 6)));

    /* Legend swatches (opaque) right of the plot area, and text in it. */
    int swatch_blue = 0, swatch_orange = 0, dark = 0;
    for (int y = (int)f.top; y < (int)(f.top + f.height) && y < img->height; y++)
        for (int x = (int)(f.left + f.width + 2); x < img->width; x++) {
            const uint8_t *p = pixel(img, x, y);
            swatch_blue |= near_color(p, blue, 1.0, 2);
            swatch_orange |= near_color(p, orange, 1.0, 2);
            dark += p[0] < 60 && p[1] < 60 && p[2] < 60;
        }
    CHECK(swatch_blue && swatch_orange);
    CHECK(dark > 50);
    /* Tick labels and axis titles below and left of the plot area. */
    int below = 0, left = 0;
    for (int y = (int)(f.top + f.height) + 8; y < img->height; y++)
        for (int x = 0; x < img->width; x++)
            below += pixel(img, x, y)[0] < 100;
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < (int)f.left - 8; x++)
            left += pixel(img, x, y)[0] < 100;
    CHECK(below > 50 && left > 50);
    lmmiqa_image_destroy(img);

    /* Deterministic, and scale 2 doubles the pixels. */
    char again[4096];
    out_path(again, sizeof again, "scatter_again.png");
    CHECK_OK(lmmiqa_plot_scatter(s, 2, &opt, again, NULL));
    CHECK(files_equal(path, again));
    opt.scale = 2;
    out_path(again, sizeof again, "scatter_x2.png");
    CHECK_OK(lmmiqa_plot_scatter(s, 2, &opt, again, NULL));
    CHECK_OK(lmmiqa_image_load(again, &img));
    if (img) {
        CHECK(img->width == (int)ceil(2 * f.canvas_width));
        CHECK(img->height == (int)ceil(2 * f.canvas_height));
        lmmiqa_plot_frame_map(&f, blue_mos[2], blue_pred[2], &px, &py);
        CHECK(near_color(pixel(img, (int)(2 * px), (int)(2 * py)), blue, 0.75, 6));
    }
    lmmiqa_image_destroy(img);
}

/* Training and test panels side by side: one canvas, two frames sharing the
 * axis range, the second to the right of the first, each point drawn in its
 * own panel; a panel's point is absent from the other. */
static void test_scatter_panels(void)
{
    lmmiqa_plot_scatter_series s[2];
    make_series(s);
    lmmiqa_plot_scatter_panel panels[2] = {{"Training", &s[0], 1}, {"Test", &s[1], 1}};
    char path[4096];
    out_path(path, sizeof path, "panels.png");
    lmmiqa_plot_frame f[2];
    CHECK_OK(lmmiqa_plot_scatter_panels(panels, 2, NULL, path, f));
    CHECK(f[0].x_min == f[1].x_min && f[0].x_max == f[1].x_max); /* one range */
    CHECK(f[0].y_min == f[1].y_min && f[0].y_max == f[1].y_max);
    CHECK(f[1].left > f[0].left + f[0].width); /* side by side */
    CHECK(f[0].canvas_width == f[1].canvas_width);
    lmmiqa_plot_frame single;
    char one[4096];
    out_path(one, sizeof one, "panel_single.png");
    CHECK_OK(lmmiqa_plot_scatter(&s[0], 1, NULL, one, &single));
    CHECK(f[0].canvas_width > 1.8 * single.canvas_width);
    lmmiqa_image *img = NULL;
    CHECK_OK(lmmiqa_image_load(path, &img));
    if (!img)
        return;
    CHECK(img->width == (int)ceil(f[0].canvas_width));
    uint32_t blue = lmmiqa_plot_color(0);
    for (int i = 0; i < 5; i++) {
        double px, py;
        lmmiqa_plot_frame_map(&f[0], blue_mos[i], blue_pred[i], &px, &py);
        CHECK_MSG(near_color(pixel(img, (int)px, (int)py), blue, 0.75, 6), "training point %d", i);
        lmmiqa_plot_frame_map(&f[1], orange_mos[i], orange_pred[i], &px, &py);
        CHECK_MSG(near_color(pixel(img, (int)px, (int)py), blue, 0.75, 6), "test point %d", i);
    }
    lmmiqa_image_destroy(img);
    CHECK(lmmiqa_plot_scatter_panels(panels, 0, NULL, path, NULL) == LMMIQA_ERR_INVALID_ARG);
    lmmiqa_plot_scatter_panel empty = {"x", s, 0};
    CHECK(lmmiqa_plot_scatter_panels(&empty, 1, NULL, path, NULL) == LMMIQA_ERR_INVALID_ARG);
}

static void test_scatter_auto_range(void)
{
    /* KonIQ-like 1..5 scale: the automatic range covers the data with
     * nice ends, and every point lies inside the plot area. */
    double mos[40], pred[40];
    for (int i = 0; i < 40; i++) {
        mos[i] = 1.1 + 3.7 * i / 39.0;
        pred[i] = mos[i] + 0.3 * sin(i);
    }
    lmmiqa_plot_scatter_series s = {"clip", mos, pred, 40};
    char path[4096];
    out_path(path, sizeof path, "scatter_auto.png");
    lmmiqa_plot_frame f;
    CHECK_OK(lmmiqa_plot_scatter(&s, 1, NULL, path, &f));
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < 40; i++) {
        lo = fmin(lo, fmin(mos[i], pred[i]));
        hi = fmax(hi, fmax(mos[i], pred[i]));
    }
    CHECK(f.x_min <= lo && f.x_max >= hi);
    CHECK(f.x_max - f.x_min < 1.5 * (hi - lo));
    CHECK(f.x_min == f.y_min && f.x_max == f.y_max);
    lmmiqa_image *img = NULL;
    CHECK_OK(lmmiqa_image_load(path, &img));
    if (!img)
        return;
    int found = 0;
    for (int i = 0; i < 40; i++) {
        double px, py;
        lmmiqa_plot_frame_map(&f, mos[i], pred[i], &px, &py);
        CHECK(px > f.left && px < f.left + f.width && py > f.top && py < f.top + f.height);
        found += color_near(img, px, py, 1, lmmiqa_plot_color(0), 0.75, 8) ||
                 color_near(img, px, py, 1, lmmiqa_plot_color(0), 0.9375, 8);
    }
    CHECK_MSG(found == 40, "%d of 40 points found", found);
    lmmiqa_image_destroy(img);
}

static const double trend_a[] = {0.80, 0.85, 0.87, 0.90};
static const double trend_b[] = {0.70, 0.78, 0.76, 0.83};

static void test_trend_png(void)
{
    const char *cats[] = {"Orig", "Orig+BRISQUE", "Orig+CNNIQA", "Orig+Meta"};
    double trend_c[] = {0.60, 0.66, NAN, 0.75};
    lmmiqa_plot_trend_line lines[3] = {
        {"HPS", trend_a}, {"CLIP", trend_b}, {"ALIGN", trend_c}};
    lmmiqa_plot_options opt;
    lmmiqa_plot_options_init(&opt);
    opt.title = "PLCC on LIVE";
    opt.y_label = "PLCC";
    char path[4096];
    out_path(path, sizeof path, "trend.png");
    lmmiqa_plot_frame f;
    CHECK_OK(lmmiqa_plot_trend(cats, 4, lines, 3, &opt, path, &f));
    /* Automatic y range: around the data, not down to 0. */
    CHECK(f.y_min < 0.60 && f.y_min >= 0.5);
    CHECK(f.y_max > 0.90 && f.y_max <= 1.0);
    CHECK(f.y_max - f.y_min < 0.3 * 1.5);
    CHECK_NEAR(f.x_min, -0.5, 0);
    CHECK_NEAR(f.x_max, 3.5, 0);

    lmmiqa_image *img = NULL;
    CHECK_OK(lmmiqa_image_load(path, &img));
    if (!img)
        return;
    CHECK(img->width == (int)ceil(f.canvas_width));
    CHECK(img->height == (int)ceil(f.canvas_height));
    CHECK(is_white(pixel(img, 1, 1)));
    const double *vals[3] = {trend_a, trend_b, trend_c};
    for (int l = 0; l < 3; l++) {
        uint32_t c = lmmiqa_plot_color((size_t)l);
        for (int j = 0; j < 4; j++) {
            double px, py;
            if (isnan(vals[l][j])) {
                /* No marker, and no segment from the previous category. */
                lmmiqa_plot_frame_map(&f, j, 0.5 * (vals[l][1] + vals[l][3]), &px, &py);
                CHECK(!color_near(img, px, py, 3, c, 1.0, 30));
                double mx, my;
                lmmiqa_plot_frame_map(&f, j - 0.5, vals[l][j - 1], &mx, &my);
                CHECK(!color_near(img, mx, my, 4, c, 1.0, 30));
                continue;
            }
            lmmiqa_plot_frame_map(&f, j, vals[l][j], &px, &py);
            CHECK_MSG(near_color(pixel(img, (int)px, (int)py), c, 1.0, 4),
                      "line %d marker %d at (%.1f, %.1f)", l, j, px, py);
            if (j > 0 && !isnan(vals[l][j - 1])) {
                /* Midpoint of the segment from the previous category. */
                double mx, my;
                lmmiqa_plot_frame_map(&f, j - 0.5, 0.5 * (vals[l][j] + vals[l][j - 1]), &mx,
                                      &my);
                CHECK_MSG(color_near(img, mx, my, 1, c, 1.0, 40),
                          "line %d segment %d-%d at (%.1f, %.1f)", l, j - 1, j, mx, my);
            }
        }
    }
    /* Empty plot area is white (between the lines at the left edge). */
    double px, py;
    lmmiqa_plot_frame_map(&f, -0.4, 0.65, &px, &py);
    CHECK(is_white(pixel(img, (int)px, (int)py)) ||
          pixel(img, (int)px, (int)py)[0] > 200); /* maybe a grid line */
    lmmiqa_image_destroy(img);

    /* A fixed range is honoured. */
    opt.lo = 0.5;
    opt.hi = 1.0;
    CHECK_OK(lmmiqa_plot_trend(cats, 4, lines, 3, &opt, path, &f));
    CHECK_NEAR(f.y_min, 0.5, 0);
    CHECK_NEAR(f.y_max, 1.0, 0);
}

static void test_vector_formats(void)
{
    lmmiqa_plot_scatter_series s[2];
    make_series(s);
    const char *cats[] = {"Orig", "Orig+BRISQUE", "Orig+CNNIQA", "Orig+Meta"};
    lmmiqa_plot_trend_line lines[2] = {{"HPS", trend_a}, {"CLIP", trend_b}};
    unsigned char buf[512];
    size_t got = 0;
    char path[4096], path2[4096];

    out_path(path, sizeof path, "scatter.pdf");
    CHECK_OK(lmmiqa_plot_scatter(s, 2, NULL, path, NULL));
    CHECK(read_file(path, buf, sizeof buf, &got) == 0 && got > 8 && memcmp(buf, "%PDF-", 5) == 0);
    out_path(path2, sizeof path2, "scatter_again.pdf");
    CHECK_OK(lmmiqa_plot_scatter(s, 2, NULL, path2, NULL));
    CHECK(files_equal(path, path2));
    /* No creation date (it would make every file different). */
    static unsigned char whole[1 << 17];
    CHECK(read_file(path, whole, sizeof whole, &got) == 0 && got < sizeof whole);
    CHECK(!contains(whole, got, "/CreationDate"));

    out_path(path2, sizeof path2, "trend_again.svg");
    CHECK_OK(lmmiqa_plot_trend(cats, 4, lines, 2, NULL, path2, NULL));
    out_path(path, sizeof path, "trend.SVG");
    CHECK_OK(lmmiqa_plot_trend(cats, 4, lines, 2, NULL, path, NULL));
    CHECK(read_file(path, buf, sizeof buf - 1, &got) == 0 && got > 40);
    buf[got] = '\0';
    CHECK(memcmp(buf, "<?xml", 5) == 0 && strstr((char *)buf, "<svg") != NULL);
    CHECK(files_equal(path, path2));

    out_path(path, sizeof path, "trend.pdf");
    CHECK_OK(lmmiqa_plot_trend(cats, 4, lines, 2, NULL, path, NULL));
    CHECK(read_file(path, buf, sizeof buf, &got) == 0 && got > 8 && memcmp(buf, "%PDF-", 5) == 0);
}

static int fails_with(int rc, int want)
{
    if (rc != want) {
        fprintf(stderr, "  status %d, wanted %d (%s)\n", rc, want, lmmiqa_error_message());
        return 0;
    }
    return lmmiqa_error_message()[0] != '\0';
}

static void test_bad_inputs(void)
{
    lmmiqa_plot_scatter_series s[2];
    make_series(s);
    char path[4096];
    out_path(path, sizeof path, "bad.png");
    unlink(path);

    CHECK(fails_with(lmmiqa_plot_scatter(s, 0, NULL, path, NULL), LMMIQA_ERR_INVALID_ARG));
    lmmiqa_plot_scatter_series empty = {"empty", blue_mos, blue_pred, 0};
    CHECK(fails_with(lmmiqa_plot_scatter(&empty, 1, NULL, path, NULL), LMMIQA_ERR_INVALID_ARG));
    CHECK(strstr(lmmiqa_error_message(), "empty") != NULL);
    double nan_mos[] = {1, NAN, 3};
    lmmiqa_plot_scatter_series bad = {"nan", nan_mos, blue_pred, 3};
    CHECK(fails_with(lmmiqa_plot_scatter(&bad, 1, NULL, path, NULL), LMMIQA_ERR_INVALID_ARG));
    CHECK(strstr(lmmiqa_error_message(), "point 2") != NULL);
    double inf_pred[] = {1, 2, INFINITY};
    bad = (lmmiqa_plot_scatter_series){"inf", blue_mos, inf_pred, 3};
    CHECK(fails_with(lmmiqa_plot_scatter(&bad, 1, NULL, path, NULL), LMMIQA_ERR_INVALID_ARG));
    bad = (lmmiqa_plot_scatter_series){"bad \xff utf8", blue_mos, blue_pred, 3};
    CHECK(fails_with(lmmiqa_plot_scatter(&bad, 1, NULL, path, NULL), LMMIQA_ERR_INVALID_ARG));
    CHECK(access(path, F_OK) != 0); /* nothing written by any of these */

    char other[4096];
    out_path(other, sizeof other, "bad.jpg");
    CHECK(fails_with(lmmiqa_plot_scatter(s, 2, NULL, other, NULL), LMMIQA_ERR_FORMAT));
    CHECK(fails_with(lmmiqa_plot_scatter(s, 2, NULL, "figure", NULL), LMMIQA_ERR_FORMAT));
    CHECK(fails_with(lmmiqa_plot_scatter(s, 2, NULL, "dir.png/figure", NULL), LMMIQA_ERR_FORMAT));
    CHECK(fails_with(lmmiqa_plot_scatter(s, 2, NULL, "/nonexistent-lmmiqa-dir/fig.png", NULL),
                     LMMIQA_ERR_IO));
    CHECK(strstr(lmmiqa_error_message(), "/nonexistent-lmmiqa-dir/fig.png") != NULL);

    lmmiqa_plot_options opt;
    lmmiqa_plot_options_init(&opt);
    opt.scale = 0;
    CHECK(fails_with(lmmiqa_plot_scatter(s, 2, &opt, path, NULL), LMMIQA_ERR_INVALID_ARG));
    lmmiqa_plot_options_init(&opt);
    opt.width = 50;
    CHECK(fails_with(lmmiqa_plot_scatter(s, 2, &opt, path, NULL), LMMIQA_ERR_INVALID_ARG));
    lmmiqa_plot_options_init(&opt);
    opt.width = 200; /* the legend leaves no room for the plot */
    CHECK(fails_with(lmmiqa_plot_scatter(s, 2, &opt, path, NULL), LMMIQA_ERR_INVALID_ARG));
    lmmiqa_plot_options_init(&opt);
    opt.lo = NAN;
    CHECK(fails_with(lmmiqa_plot_scatter(s, 2, &opt, path, NULL), LMMIQA_ERR_INVALID_ARG));
    CHECK(access(path, F_OK) != 0);

    const char *cats[] = {"a", "b"};
    double ok[] = {0.5, 0.6}, all_nan[] = {NAN, NAN}, inf[] = {0.5, -INFINITY};
    lmmiqa_plot_trend_line line = {"x", ok};
    CHECK(fails_with(lmmiqa_plot_trend(cats, 0, &line, 1, NULL, path, NULL),
                     LMMIQA_ERR_INVALID_ARG));
    CHECK(fails_with(lmmiqa_plot_trend(cats, 2, &line, 0, NULL, path, NULL),
                     LMMIQA_ERR_INVALID_ARG));
    line.values = all_nan;
    CHECK(fails_with(lmmiqa_plot_trend(cats, 2, &line, 1, NULL, path, NULL),
                     LMMIQA_ERR_INVALID_ARG));
    line.values = inf;
    CHECK(fails_with(lmmiqa_plot_trend(cats, 2, &line, 1, NULL, path, NULL),
                     LMMIQA_ERR_INVALID_ARG));
    line.values = ok;
    const char *bad_cats[] = {"a", "\xc0\xaf"};
    CHECK(fails_with(lmmiqa_plot_trend(bad_cats, 2, &line, 1, NULL, path, NULL),
                     LMMIQA_ERR_INVALID_ARG));
    CHECK(fails_with(lmmiqa_plot_trend(cats, 2, &line, 1, NULL, "trend.eps", NULL),
                     LMMIQA_ERR_FORMAT));
    CHECK(access(path, F_OK) != 0);
    /* One value, one category: still a chart. */
    CHECK_OK(lmmiqa_plot_trend(cats, 1, &line, 1, NULL, path, NULL));
    CHECK(access(path, F_OK) == 0);
}

int main(void)
{
    RUN(test_scatter_png);
    RUN(test_scatter_auto_range);
    RUN(test_scatter_panels);
    RUN(test_trend_png);
    RUN(test_vector_formats);
    RUN(test_bad_inputs);
    return test_finish();
}
