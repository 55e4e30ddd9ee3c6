/*
 * tests/test_default_monotone.c - the built-in model on LIVE Challenge
 * photos made worse step by step (issue 16): 30 photos (every 39th of the
 * manifest), each blurred (Gaussian sigma 0.8, 1.6, 3.2), noised (sigma 4,
 * 8, 16) and JPEG-compressed (quality 30, 15, 6) with lmmiqa/distort.h, the
 * levels of tools/gen_samples. A step is pristine -> level 1 -> 2 -> 3 of
 * one type (270 steps); the score must fall (strictly) at no fewer than
 * 95 % of them. The generated scenes are checked by
 * tests/cli/default_monotone.sh. Needs ../shared (skips without it).
 */
#include "test.h"

#include "lmmiqa/lmmiqa.h"

#define N_PHOTOS 30
#define STRIDE 39

static void test_livec_steps(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", test_shared_path("data/livec/livec.csv"));
    lmmiqa_dataset *ds = NULL;
    CHECK_OK(lmmiqa_dataset_load(path, NULL, &ds));
    lmmiqa_scorer *sc = NULL;
    lmmiqa_scorer_state *st = NULL;
    CHECK_OK(lmmiqa_scorer_create(NULL, &sc));
    if (!ds || !sc)
        goto done;
    CHECK_OK(lmmiqa_scorer_state_create(sc, &st));
    const double levels[3][3] = {{0.8, 1.6, 3.2}, {4, 8, 16}, {30, 15, 6}};
    const lmmiqa_distortion types[3] = {LMMIQA_DISTORT_BLUR, LMMIQA_DISTORT_NOISE,
                                        LMMIQA_DISTORT_JPEG};
    int steps = 0, wrong = 0;
    for (size_t p = 0; p < N_PHOTOS && st; p++) {
        size_t row = p * STRIDE;
        CHECK(row < lmmiqa_dataset_size(ds));
        lmmiqa_image *img = NULL;
        CHECK_OK(lmmiqa_image_load(lmmiqa_dataset_image_path(ds, row), &img));
        if (!img)
            continue;
        double pristine = NAN;
        CHECK_OK(lmmiqa_scorer_run(sc, st, img, &pristine, NULL));
        for (int t = 0; t < 3; t++) {
            double prev = pristine;
            lmmiqa_rng rng;
            lmmiqa_rng_seed(&rng, 1000 + row);
            for (int l = 0; l < 3; l++) {
                lmmiqa_image *d = NULL;
                double s = NAN;
                CHECK_OK(lmmiqa_image_distort(img, types[t], levels[t][l], &rng, &d));
                if (d)
                    CHECK_OK(lmmiqa_scorer_run(sc, st, d, &s, NULL));
                lmmiqa_image_destroy(d);
                steps++;
                if (!(s < prev)) {
                    wrong++;
                    fprintf(stderr, "wrong step: %s %s level %d: %.2f -> %.2f\n",
                            lmmiqa_dataset_image(ds, row), lmmiqa_distortion_name(types[t]),
                            l + 1, prev, s);
                }
                prev = s;
            }
        }
        lmmiqa_image_destroy(img);
    }
    fprintf(stderr, "%d of %d steps the wrong way\n", wrong, steps);
    CHECK(steps == N_PHOTOS * 9);
    CHECK_MSG(wrong * 100 <= steps * 5, "%d of %d steps the wrong way (at most 5 %%)", wrong,
              steps);
done:
    lmmiqa_scorer_state_destroy(st);
    lmmiqa_scorer_destroy(sc);
    lmmiqa_dataset_destroy(ds);
}

int main(void)
{
    TEST_REQUIRE_SHARED();
    RUN(test_livec_steps);
    return test_finish();
}
