/*
 * tests/test_resize.c - MATLAB imresize (lmmiqa/resize.h): the table-driven
 * separable resampler against the dense reference (relative 1e-13 of the
 * input range), against the NumPy port's output (tests/data/brisque/
 * resize.txt, 1e-12), output sizes, linear-ramp reproduction and argument
 * errors.
 */
#include "test.h"

#include "image/resize_internal.h"
#include "lmmiqa/core.h"
#include "image/resize.h"
#include "lmmiqa/rng.h"

#include <stdlib.h>

static double *random_image(lmmiqa_rng *rng, int w, int h)
{
    double *a = malloc((size_t)w * h * sizeof *a);
    for (int i = 0; i < w * h; i++)
        a[i] = 255.0 * lmmiqa_rng_uniform(rng);
    return a;
}

static double max_abs_diff(const double *a, const double *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(a[i] - b[i]) > m || a[i] != a[i] || b[i] != b[i])
            m = a[i] != a[i] || b[i] != b[i] ? INFINITY : fabs(a[i] - b[i]);
    return m;
}

static void test_dims(void)
{
    int w, h;
    CHECK_OK(lmmiqa_resize_dims(37, 53, 0.5, &w, &h));
    CHECK(w == 19 && h == 27);
    CHECK_OK(lmmiqa_resize_dims(500, 500, 0.5, &w, &h));
    CHECK(w == 250 && h == 250);
    CHECK_OK(lmmiqa_resize_dims(1, 1, 0.5, &w, &h));
    CHECK(w == 1 && h == 1);
    CHECK_OK(lmmiqa_resize_dims(10, 3, 1.7, &w, &h));
    CHECK(w == 17 && h == 6);
    CHECK(lmmiqa_resize_dims(0, 5, 0.5, &w, &h) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_resize_dims(5, -1, 0.5, &w, &h) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_resize_dims(5, 5, 0.0, &w, &h) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_resize_dims(5, 5, -2.0, &w, &h) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_resize_dims(5, 5, NAN, &w, &h) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_resize_dims(5, 5, INFINITY, &w, &h) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_resize_dims(1000, 5, 1e6, &w, &h) == LMMIQA_ERR_TOO_LARGE);
    CHECK(strlen(lmmiqa_error_message()) > 0);
    size_t bytes;
    CHECK(lmmiqa_resize_scratch_bytes(100, 100, 1e-9, &bytes) == LMMIQA_ERR_TOO_LARGE);
}

/* fast vs dense reference, for lmmiqa_resize_scale and lmmiqa_resize_to */
static void test_against_reference(void)
{
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 7);
    static const int sizes[][2] = {{37, 53}, {61, 45}, {1, 1}, {1, 9}, {8, 1}, {2, 3},
                                   {16, 16}, {33, 7}};
    static const double scales[] = {0.5, 0.25, 0.3, 0.7, 0.999, 1.0, 1.5, 2.0, 3.7, 0.1};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int w = sizes[s][0], h = sizes[s][1];
        double *in = random_image(&rng, w, h);
        for (size_t k = 0; k < sizeof scales / sizeof scales[0]; k++) {
            int ow, oh;
            CHECK_OK(lmmiqa_resize_dims(w, h, scales[k], &ow, &oh));
            double *a = malloc((size_t)ow * oh * sizeof *a);
            double *b = malloc((size_t)ow * oh * sizeof *b);
            size_t bytes;
            CHECK_OK(lmmiqa_resize_scratch_bytes(w, h, scales[k], &bytes));
            void *scratch = malloc(bytes);
            CHECK_OK(lmmiqa_resize_scale(in, w, h, scales[k], a, scratch));
            CHECK_OK(lmmiqa__resize_reference(in, w, h, scales[k], scales[k], ow, oh, b));
            double d = max_abs_diff(a, b, (size_t)ow * oh);
            CHECK_MSG(d <= 1e-13 * 255, "%dx%d scale %g: max diff %g", w, h, scales[k], d);
            /* NULL scratch allocates internally: same bits */
            CHECK_OK(lmmiqa_resize_scale(in, w, h, scales[k], b, NULL));
            CHECK(memcmp(a, b, (size_t)ow * oh * sizeof *a) == 0);
            free(scratch);
            free(a);
            free(b);
        }
        /* different scales per dimension: both MATLAB orders */
        static const int outs[][2] = {{5, 9}, {40, 3}, {3, 40}, {1, 1}};
        for (size_t k = 0; k < sizeof outs / sizeof outs[0]; k++) {
            int ow = outs[k][0], oh = outs[k][1];
            double *a = malloc((size_t)ow * oh * sizeof *a);
            double *b = malloc((size_t)ow * oh * sizeof *b);
            CHECK_OK(lmmiqa_resize_to(in, w, h, ow, oh, a));
            CHECK_OK(lmmiqa__resize_reference(in, w, h, (double)ow / w, (double)oh / h, ow, oh,
                                              b));
            double d = max_abs_diff(a, b, (size_t)ow * oh);
            CHECK_MSG(d <= 1e-13 * 255, "%dx%d -> %dx%d: max diff %g", w, h, ow, oh, d);
            free(a);
            free(b);
        }
        free(in);
    }
}

/* Keys' cubic sampled at unit spacing reproduces linear functions, and so
 * does the antialiasing kernel at scale 1/2 (symmetric half-integer taps):
 * away from the borders a ramp I(y,x) = x maps to u(x') = x'/s + (1-1/s)/2
 * (0-based: x'+1 -> u - 1). (Other shrink factors only approximately.) */
static void test_ramp(void)
{
    int w = 64, h = 8;
    double *in = malloc((size_t)w * h * sizeof *in);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            in[y * w + x] = x;
    static const double scales[] = {0.5, 0.25, 1.0, 2.5};
    for (size_t k = 0; k < 4; k++) {
        double s = scales[k];
        int ow, oh;
        CHECK_OK(lmmiqa_resize_dims(w, h, s, &ow, &oh));
        double *out = malloc((size_t)ow * oh * sizeof *out);
        CHECK_OK(lmmiqa_resize_scale(in, w, h, s, out, NULL));
        for (int x = 0; x < ow; x++) {
            double u = (x + 1) / s + 0.5 * (1 - 1 / s) - 1;
            double margin = (s < 1 ? 2 / s : 2) + 1;
            if (u - margin < 0 || u + margin > w - 1)
                continue;
            for (int y = 0; y < oh; y++)
                CHECK_NEAR(out[y * ow + x], u, 1e-11);
        }
        free(out);
    }
    free(in);
}

/* The NumPy port's output (tools/ref/brisque_ref.py writes resize.txt). */
static void test_golden(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/brisque/resize.txt", LMMIQA_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "cannot open %s", path);
    if (!f)
        return;
    double in[9 * 13];
    for (int y = 0; y < 9; y++)
        for (int x = 0; x < 13; x++)
            in[y * 13 + x] = (101 * y + 37 * x) % 256;
    char line[8192];
    int blocks = 0;
    while (fgets(line, sizeof line, f)) {
        double scale;
        int gw, gh;
        if (sscanf(line, "scale %lf %d %d", &scale, &gw, &gh) != 3)
            continue;
        int ow, oh;
        CHECK_OK(lmmiqa_resize_dims(13, 9, scale, &ow, &oh));
        CHECK(ow == gw && oh == gh);
        double *out = malloc((size_t)ow * oh * sizeof *out);
        CHECK_OK(lmmiqa_resize_scale(in, 13, 9, scale, out, NULL));
        double worst = 0;
        for (int y = 0; y < gh; y++) {
            char *p = fgets(line, sizeof line, f);
            CHECK(p != NULL);
            for (int x = 0; x < gw && p; x++) {
                double v = strtod(p, &p);
                double d = fabs(v - out[y * ow + x]);
                if (d > worst)
                    worst = d;
            }
        }
        CHECK_MSG(worst <= 1e-12 * 255, "scale %g: max diff to NumPy %g", scale, worst);
        free(out);
        blocks++;
    }
    CHECK(blocks == 5);
    fclose(f);
}

int main(void)
{
    RUN(test_dims);
    RUN(test_against_reference);
    RUN(test_ramp);
    RUN(test_golden);
    return test_finish();
}
