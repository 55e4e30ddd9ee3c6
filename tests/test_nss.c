/*
 * tests/test_nss.c - the "nss" extractor (src/features/nss_internal.h).
 *
 * Tolerances and criteria:
 *  - the separable MSCN moments against the plain 2-D window reference:
 *    every statistic within 1e-9 relative (floor 1e-12): the two sum the
 *    same products in a different order;
 *  - Immerkaer's noise estimate on a flat plane plus Gaussian noise of
 *    sigma 2, 5 and 10: within 5 % of sigma;
 *  - each distortion moves its own statistic the right way on generated
 *    scenes (blur lowers the Laplacian energy, noise raises the noise
 *    estimate, stronger JPEG raises the 8x8 blockiness), at every step;
 *  - the features are finite on a grey (R = G = B) image, identical bits on
 *    a second run and on an image of the minimum side, and an image below
 *    it is refused.
 */
#include "test.h"

#include "features/nss_internal.h"
#include "lmmiqa/distort.h"
#include "lmmiqa/extractor.h"
#include "lmmiqa/image.h"
#include "lmmiqa/rng.h"

#include <stdint.h>
#include <stdlib.h>

static void fill_plane(double *x, int w, int h, uint64_t seed, double noise)
{
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, seed);
    for (int y = 0; y < h; y++)
        for (int c = 0; c < w; c++)
            x[y * w + c] = 120 + 80 * sin(0.11 * c) * cos(0.07 * y) + (c > w / 2 ? 40 : 0) +
                           noise * lmmiqa_rng_normal(&rng);
}

static void test_mscn_reference(void)
{
    const int sizes[3][2] = {{37, 29}, {64, 48}, {9, 8}};
    for (int s = 0; s < 3; s++) {
        int w = sizes[s][0], h = sizes[s][1];
        double *x = malloc((size_t)w * h * sizeof *x), *scratch = malloc(3 * (size_t)w * h * 8);
        CHECK(x && scratch);
        if (!x || !scratch)
            return;
        for (int noisy = 0; noisy < 2; noisy++) {
            fill_plane(x, w, h, 7 + (uint64_t)s, noisy ? 15 : 0);
            double fast[LMMIQA__NSS_MSCN_DIM], ref[LMMIQA__NSS_MSCN_DIM];
            lmmiqa__nss_mscn_moments(x, w, h, scratch, fast);
            lmmiqa__nss_mscn_moments_reference(x, w, h, ref);
            for (int k = 0; k < LMMIQA__NSS_MSCN_DIM; k++)
                CHECK_REL(fast[k], ref[k], 1e-9, 1e-12);
        }
        /* a flat plane: every statistic defined (no NaN) */
        for (int i = 0; i < w * h; i++)
            x[i] = 77;
        double flat[LMMIQA__NSS_MSCN_DIM];
        lmmiqa__nss_mscn_moments(x, w, h, scratch, flat);
        for (int k = 0; k < LMMIQA__NSS_MSCN_DIM; k++)
            CHECK(isfinite(flat[k]));
        free(x);
        free(scratch);
    }
}

static void test_noise_sigma(void)
{
    const int w = 256, h = 192;
    double *x = malloc((size_t)w * h * sizeof *x);
    CHECK(x != NULL);
    if (!x)
        return;
    const double sigmas[3] = {2, 5, 10};
    for (int s = 0; s < 3; s++) {
        lmmiqa_rng rng;
        lmmiqa_rng_seed(&rng, 3 + (uint64_t)s);
        for (int i = 0; i < w * h; i++)
            x[i] = 100 + sigmas[s] * lmmiqa_rng_normal(&rng);
        double est = lmmiqa__nss_noise_sigma(x, w, h);
        CHECK_MSG(fabs(est - sigmas[s]) <= 0.05 * sigmas[s], "sigma %g estimated %g", sigmas[s],
                  est);
    }
    free(x);
}

/* A generated scene: smooth shading, edges and fine texture. */
static lmmiqa_image *scene(int w, int h, uint64_t seed, int grey)
{
    lmmiqa_image *img = NULL;
    if (lmmiqa_image_create(w, h, &img) != LMMIQA_OK)
        return NULL;
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, seed);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double base = 110 + 60 * sin(0.03 * x + 0.5) * cos(0.045 * y) +
                          ((x / 24 + y / 24) % 2 ? 35 : -35) + 4 * lmmiqa_rng_normal(&rng);
            for (int c = 0; c < 3; c++) {
                double v = grey ? base : base + (c - 1) * 30 * sin(0.02 * (x + 17 * c));
                img->pixels[((size_t)y * w + x) * 3 + c] =
                    (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
            }
        }
    return img;
}

static size_t index_of(const char *name)
{
    char buf[64];
    for (size_t i = 0; i < LMMIQA__NSS_DIM; i++) {
        lmmiqa__nss_feature_name(i, buf, sizeof buf);
        if (strcmp(buf, name) == 0)
            return i;
    }
    CHECK_MSG(0, "no feature named %s", name);
    return 0;
}

static void test_distortions_move_their_statistic(void)
{
    lmmiqa__nss_state *st = NULL;
    CHECK_OK(lmmiqa__nss_state_create(&st));
    struct {
        lmmiqa_distortion type;
        double level[3];
        const char *feature;
        int sign; /* +1: rises with the level */
    } cases[3] = {{LMMIQA_DISTORT_BLUR, {1, 2, 4}, "sharp_lap_s1", -1},
                  {LMMIQA_DISTORT_NOISE, {5, 10, 20}, "noise_sigma_s1", +1},
                  {LMMIQA_DISTORT_JPEG, {60, 25, 8}, "block_phase_peak", +1}};
    double *f = malloc(LMMIQA__NSS_DIM * sizeof *f);
    CHECK(f != NULL);
    for (uint64_t s = 0; s < 3 && f && st; s++) {
        lmmiqa_image *src = scene(192 + 32 * (int)s, 160, 40 + s, 0);
        CHECK(src != NULL);
        if (!src)
            continue;
        for (int c = 0; c < 3; c++) {
            size_t k = index_of(cases[c].feature);
            CHECK_OK(lmmiqa__nss_features(st, src, f));
            double prev = f[k];
            for (int l = 0; l < 3; l++) {
                lmmiqa_rng rng;
                lmmiqa_rng_seed(&rng, 99);
                lmmiqa_image *d = NULL;
                CHECK_OK(lmmiqa_image_distort(src, cases[c].type, cases[c].level[l], &rng, &d));
                if (!d)
                    continue;
                CHECK_OK(lmmiqa__nss_features(st, d, f));
                CHECK_MSG(cases[c].sign * (f[k] - prev) > 0, "scene %d %s level %g: %s %g -> %g",
                          (int)s, lmmiqa_distortion_name(cases[c].type), cases[c].level[l],
                          cases[c].feature, prev, f[k]);
                prev = f[k];
                lmmiqa_image_destroy(d);
            }
        }
        lmmiqa_image_destroy(src);
    }
    free(f);
    lmmiqa__nss_state_destroy(st);
}

static void test_extractor(void)
{
    lmmiqa_extractor *ex = NULL;
    lmmiqa_extractor_state *st = NULL;
    CHECK_OK(lmmiqa_extractor_create("nss", NULL, &ex));
    if (!ex)
        return;
    CHECK(lmmiqa_extractor_dim(ex) == LMMIQA__NSS_DIM);
    CHECK(strcmp(lmmiqa_extractor_feature_name(ex, 0), "brisque_s1_ggd_alpha") == 0);
    size_t ng;
    const lmmiqa__nss_group *g = lmmiqa__nss_groups(&ng);
    CHECK(g[ng - 1].first + g[ng - 1].count == LMMIQA__NSS_DIM);
    for (size_t k = 1; k < ng; k++)
        CHECK(g[k].first == g[k - 1].first + g[k - 1].count);
    CHECK_OK(lmmiqa_extractor_state_create(ex, &st));
    double *a = malloc(LMMIQA__NSS_DIM * sizeof *a), *b = malloc(LMMIQA__NSS_DIM * sizeof *b);
    lmmiqa_image *grey = scene(200, 150, 5, 1), *colour = scene(150, 200, 6, 0);
    CHECK(a && b && grey && colour);
    if (a && b && grey && colour && st) {
        CHECK_OK(lmmiqa_extractor_run(ex, st, grey, a));
        for (size_t k = 0; k < LMMIQA__NSS_DIM; k++)
            CHECK_MSG(isfinite(a[k]), "grey image: %s = %g", lmmiqa_extractor_feature_name(ex, k),
                      a[k]);
        CHECK_OK(lmmiqa_extractor_run(ex, st, colour, a));
        CHECK_OK(lmmiqa_extractor_run(ex, st, grey, b)); /* the state is reused */
        CHECK_OK(lmmiqa_extractor_run(ex, st, colour, b));
        CHECK(memcmp(a, b, LMMIQA__NSS_DIM * sizeof *a) == 0);
    }
    lmmiqa_image *small = scene(LMMIQA__NSS_MIN_SIDE, LMMIQA__NSS_MIN_SIDE, 8, 0);
    CHECK(small != NULL);
    if (small && st && a) {
        CHECK_OK(lmmiqa_extractor_run(ex, st, small, a));
        for (size_t k = 0; k < LMMIQA__NSS_DIM; k++)
            CHECK_MSG(isfinite(a[k]), "smallest image: %s = %g",
                      lmmiqa_extractor_feature_name(ex, k), a[k]);
    }
    lmmiqa_image_destroy(small);
    lmmiqa_image *tiny = NULL;
    CHECK_OK(lmmiqa_image_create(LMMIQA__NSS_MIN_SIDE - 1, 100, &tiny));
    if (tiny && st && a)
        CHECK(lmmiqa_extractor_run(ex, st, tiny, a) == LMMIQA_ERR_INVALID_ARG);
    lmmiqa_image_destroy(tiny);
    lmmiqa_image_destroy(grey);
    lmmiqa_image_destroy(colour);
    free(a);
    free(b);
    lmmiqa_extractor_state_destroy(st);
    lmmiqa_extractor_destroy(ex);
}

int main(void)
{
    RUN(test_mscn_reference);
    RUN(test_noise_sigma);
    RUN(test_distortions_move_their_statistic);
    RUN(test_extractor);
    return test_finish();
}
