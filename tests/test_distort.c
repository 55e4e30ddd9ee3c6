/*
 * tests/test_distort.c - the synthetic distortions (lmmiqa/distort.h).
 *
 * Checked properties and tolerances:
 *   - blur of a constant image is that constant exactly; blur of an impulse
 *     equals the outer product of the normalised 1-D Gaussian (separable and
 *     symmetric), within 1 level of rounding; blur lowers the variance of a
 *     textured image; larger sigma lowers it further;
 *   - noise: the mean added value is within 4 standard errors of 0 and the
 *     std of (noisy - source) within 2% of sigma on a mid-grey image (no
 *     clipping); clipping keeps 0 and 255 images in range;
 *   - JPEG quality 100 changes a smooth image by at most 3 levels (mean
 *     abs difference < 1); quality 5 makes the mean jump across 8x8 block
 *     boundaries larger than inside blocks (blockiness ratio > 1.5);
 *   - the same seed gives identical noise, another seed different noise;
 *     blur and JPEG are deterministic;
 *   - bad arguments fail with LMMIQA_ERR_INVALID_ARG and no output.
 */
#include "test.h"

#include "lmmiqa/distort.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static lmmiqa_image *make_image(int w, int h, uint64_t seed)
{
    lmmiqa_image *img = NULL;
    if (lmmiqa_image_create(w, h, &img))
        return NULL;
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, seed);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                double v = 128 + 60 * sin(0.21 * x + 0.5 * c) * cos(0.17 * y) +
                           25 * (lmmiqa_rng_uniform(&rng) - 0.5);
                img->pixels[((size_t)y * w + x) * 3 + c] = (uint8_t)lround(v);
            }
    return img;
}

static double variance(const lmmiqa_image *img)
{
    size_t n = (size_t)img->width * img->height * 3;
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; i++) {
        s += img->pixels[i];
        ss += (double)img->pixels[i] * img->pixels[i];
    }
    return ss / n - (s / n) * (s / n);
}

static void test_blur_constant(void)
{
    lmmiqa_image *img = NULL, *out = NULL;
    CHECK_OK(lmmiqa_image_create(37, 23, &img));
    memset(img->pixels, 77, 37 * 23 * 3);
    CHECK_OK(lmmiqa_image_distort(img, LMMIQA_DISTORT_BLUR, 2.5, NULL, &out));
    CHECK(out && out->width == 37 && out->height == 23);
    int same = 1;
    for (size_t i = 0; out && i < 37 * 23 * 3; i++)
        same &= out->pixels[i] == 77;
    CHECK(same);
    lmmiqa_image_destroy(out);
    lmmiqa_image_destroy(img);
}

static void test_blur_impulse_separable(void)
{
    /* An impulse of 255 at the centre of a 31x31 black image: the result is
     * 255 * k(dx) * k(dy) with k the normalised 1-D Gaussian. */
    const int n = 31, c0 = 15;
    const double sigma = 1.6;
    lmmiqa_image *img = NULL, *out = NULL;
    CHECK_OK(lmmiqa_image_create(n, n, &img));
    for (int c = 0; c < 3; c++)
        img->pixels[((size_t)c0 * n + c0) * 3 + c] = 255;
    CHECK_OK(lmmiqa_image_distort(img, LMMIQA_DISTORT_BLUR, sigma, NULL, &out));
    int r = (int)ceil(3 * sigma);
    double k[64], s = 0;
    for (int i = -r; i <= r; i++)
        s += k[i + r] = exp(-0.5 * i * i / (sigma * sigma));
    double maxerr = 0;
    int symmetric = 1;
    for (int y = 0; out && y < n; y++)
        for (int x = 0; x < n; x++) {
            int dx = x - c0, dy = y - c0;
            double want = 0;
            if (abs(dx) <= r && abs(dy) <= r)
                want = 255.0 * k[dx + r] / s * k[dy + r] / s;
            double got = out->pixels[((size_t)y * n + x) * 3 + 1];
            if (fabs(got - want) > maxerr)
                maxerr = fabs(got - want);
            /* symmetric: transposed and mirrored positions agree */
            symmetric &= out->pixels[((size_t)y * n + x) * 3] ==
                         out->pixels[((size_t)x * n + y) * 3];
            symmetric &= out->pixels[((size_t)y * n + x) * 3] ==
                         out->pixels[((size_t)(n - 1 - y) * n + (n - 1 - x)) * 3];
        }
    CHECK_MSG(maxerr <= 0.5 + 1e-9, "impulse response off by %g levels", maxerr);
    CHECK(symmetric);
    lmmiqa_image_destroy(out);
    lmmiqa_image_destroy(img);
}

static void test_blur_reduces_variance(void)
{
    lmmiqa_image *img = make_image(64, 48, 3), *a = NULL, *b = NULL;
    CHECK(img != NULL);
    CHECK_OK(lmmiqa_image_distort(img, LMMIQA_DISTORT_BLUR, 0.8, NULL, &a));
    CHECK_OK(lmmiqa_image_distort(img, LMMIQA_DISTORT_BLUR, 3.2, NULL, &b));
    if (a && b) {
        double v0 = variance(img), v1 = variance(a), v2 = variance(b);
        CHECK_MSG(v1 < v0 && v2 < v1, "variances %g %g %g not decreasing", v0, v1, v2);
    }
    /* sigma 0 is a copy */
    lmmiqa_image *c = NULL;
    CHECK_OK(lmmiqa_image_distort(img, LMMIQA_DISTORT_BLUR, 0.0, NULL, &c));
    CHECK(c && memcmp(c->pixels, img->pixels, 64 * 48 * 3) == 0);
    lmmiqa_image_destroy(a);
    lmmiqa_image_destroy(b);
    lmmiqa_image_destroy(c);
    lmmiqa_image_destroy(img);
}

static void test_noise_statistics(void)
{
    const int w = 200, h = 150;
    const double sigma = 8.0;
    lmmiqa_image *img = NULL, *out = NULL;
    CHECK_OK(lmmiqa_image_create(w, h, &img));
    memset(img->pixels, 128, (size_t)w * h * 3);
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 11);
    CHECK_OK(lmmiqa_image_distort(img, LMMIQA_DISTORT_NOISE, sigma, &rng, &out));
    size_t n = (size_t)w * h * 3;
    double s = 0, ss = 0;
    for (size_t i = 0; out && i < n; i++) {
        double d = (double)out->pixels[i] - 128.0;
        s += d;
        ss += d * d;
    }
    double mean = s / n, sd = sqrt(ss / n - mean * mean);
    CHECK_MSG(fabs(mean) < 4 * sigma / sqrt((double)n), "noise mean %g", mean);
    /* rounding adds 1/12 to the variance */
    CHECK_REL(sd, sqrt(sigma * sigma + 1.0 / 12), 0.02, 1e-9);
    lmmiqa_image_destroy(out);
    /* clipping: a white image stays <= 255 and gets darker on average */
    memset(img->pixels, 255, n);
    CHECK_OK(lmmiqa_image_distort(img, LMMIQA_DISTORT_NOISE, 40.0, &rng, &out));
    double m = 0;
    for (size_t i = 0; out && i < n; i++)
        m += out->pixels[i];
    CHECK(m / n < 255.0 && m / n > 200.0);
    lmmiqa_image_destroy(out);
    lmmiqa_image_destroy(img);
}

static void test_noise_determinism(void)
{
    lmmiqa_image *img = make_image(40, 30, 5), *a = NULL, *b = NULL, *c = NULL;
    lmmiqa_rng r1, r2, r3;
    lmmiqa_rng_seed(&r1, 42);
    lmmiqa_rng_seed(&r2, 42);
    lmmiqa_rng_seed(&r3, 43);
    CHECK_OK(lmmiqa_image_distort(img, LMMIQA_DISTORT_NOISE, 10.0, &r1, &a));
    CHECK_OK(lmmiqa_image_distort(img, LMMIQA_DISTORT_NOISE, 10.0, &r2, &b));
    CHECK_OK(lmmiqa_image_distort(img, LMMIQA_DISTORT_NOISE, 10.0, &r3, &c));
    CHECK(a && b && memcmp(a->pixels, b->pixels, 40 * 30 * 3) == 0);
    CHECK(a && c && memcmp(a->pixels, c->pixels, 40 * 30 * 3) != 0);
    lmmiqa_image_destroy(a);
    lmmiqa_image_destroy(b);
    lmmiqa_image_destroy(c);
    /* blur and JPEG: same input, same output */
    CHECK_OK(lmmiqa_image_distort(img, LMMIQA_DISTORT_JPEG, 20, NULL, &a));
    CHECK_OK(lmmiqa_image_distort(img, LMMIQA_DISTORT_JPEG, 20, NULL, &b));
    CHECK(a && b && memcmp(a->pixels, b->pixels, 40 * 30 * 3) == 0);
    lmmiqa_image_destroy(a);
    lmmiqa_image_destroy(b);
    lmmiqa_image_destroy(img);
}

/* Mean |difference| between horizontally adjacent pixels (green channel),
 * across 8-pixel block boundaries (x = 8k-1 | 8k) and inside blocks. */
static double blockiness(const lmmiqa_image *img)
{
    double across = 0, inside = 0;
    size_t na = 0, ni = 0;
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x + 1 < img->width; x++) {
            double d = fabs((double)img->pixels[((size_t)y * img->width + x) * 3 + 1] -
                            img->pixels[((size_t)y * img->width + x + 1) * 3 + 1]);
            if ((x + 1) % 8 == 0) {
                across += d;
                na++;
            } else {
                inside += d;
                ni++;
            }
        }
    return (across / na) / (inside / ni + 1e-9);
}

static void test_jpeg(void)
{
    /* a smooth gradient (JPEG at quality 100 is near-lossless on it) */
    const int w = 96, h = 64;
    lmmiqa_image *img = NULL, *hi = NULL, *lo = NULL;
    CHECK_OK(lmmiqa_image_create(w, h, &img));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = img->pixels + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)(40 + x);
            p[1] = (uint8_t)(60 + y + x / 2);
            p[2] = (uint8_t)(200 - x);
        }
    CHECK_OK(lmmiqa_image_distort(img, LMMIQA_DISTORT_JPEG, 100, NULL, &hi));
    CHECK_OK(lmmiqa_image_distort(img, LMMIQA_DISTORT_JPEG, 5, NULL, &lo));
    if (hi && lo) {
        double sum = 0;
        int maxd = 0;
        for (size_t i = 0; i < (size_t)w * h * 3; i++) {
            int d = abs((int)hi->pixels[i] - (int)img->pixels[i]);
            sum += d;
            maxd = d > maxd ? d : maxd;
        }
        CHECK_MSG(maxd <= 3 && sum / (w * h * 3) < 1.0, "q100: max %d mean %g", maxd,
                  sum / (w * h * 3));
        double b0 = blockiness(hi), b1 = blockiness(lo);
        CHECK_MSG(b1 > 1.5 && b1 > b0, "blockiness q100 %g, q5 %g", b0, b1);
        CHECK(lo->width == w && lo->height == h);
    }
    lmmiqa_image_destroy(hi);
    lmmiqa_image_destroy(lo);
    lmmiqa_image_destroy(img);
}

static void test_bad_args(void)
{
    lmmiqa_image *img = make_image(16, 16, 1), *out = (lmmiqa_image *)1;
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 1);
    CHECK(lmmiqa_image_distort(NULL, LMMIQA_DISTORT_BLUR, 1, NULL, &out) == LMMIQA_ERR_INVALID_ARG);
    CHECK(out == NULL);
    CHECK(lmmiqa_image_distort(img, LMMIQA_DISTORT_BLUR, -1, NULL, &out) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_image_distort(img, LMMIQA_DISTORT_BLUR, NAN, NULL, &out) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_image_distort(img, LMMIQA_DISTORT_BLUR, 101, NULL, &out) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_image_distort(img, LMMIQA_DISTORT_NOISE, 5, NULL, &out) == LMMIQA_ERR_INVALID_ARG);
    CHECK(strstr(lmmiqa_error_message(), "rng") != NULL);
    CHECK(lmmiqa_image_distort(img, LMMIQA_DISTORT_NOISE, -2, &rng, &out) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_image_distort(img, LMMIQA_DISTORT_JPEG, 0, NULL, &out) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_image_distort(img, LMMIQA_DISTORT_JPEG, 101, NULL, &out) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_image_distort(img, LMMIQA_DISTORT_JPEG, 50.5, NULL, &out) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_image_distort(img, (lmmiqa_distortion)7, 1, NULL, &out) == LMMIQA_ERR_INVALID_ARG);
    CHECK(strstr(lmmiqa_error_message(), "unknown") != NULL);
    CHECK(out == NULL);
    CHECK(strcmp(lmmiqa_distortion_name(LMMIQA_DISTORT_JPEG), "jpeg") == 0);
    lmmiqa_image_destroy(img);
}

int main(void)
{
    RUN(test_blur_constant);
    RUN(test_blur_impulse_separable);
    RUN(test_blur_reduces_variance);
    RUN(test_noise_statistics);
    RUN(test_noise_determinism);
    RUN(test_jpeg);
    RUN(test_bad_args);
    return test_finish();
}
