/* tests/test_extractor.c - the extractor registry: lookup, errors, names,
 * and that the brisque extractor returns what lmmiqa_brisque_features does. */
#include "lmmiqa/brisque.h"
#include "lmmiqa/extractor.h"
#include "test.h"

static void test_registry(void)
{
    const char *const *names = lmmiqa_extractor_names();
    int found = 0;
    for (size_t i = 0; names[i]; i++)
        found |= strcmp(names[i], "brisque") == 0;
    CHECK(found);
    lmmiqa_extractor *ex = NULL;
    CHECK(lmmiqa_extractor_create("no-such-thing", NULL, &ex) == LMMIQA_ERR_INVALID_ARG);
    CHECK(ex == NULL);
    CHECK(strstr(lmmiqa_error_message(), "no-such-thing") != NULL);
    CHECK(strstr(lmmiqa_error_message(), "brisque") != NULL);
    lmmiqa_extractor_options opts = {.size = sizeof opts, .weights = "x.safetensors"};
    CHECK(lmmiqa_extractor_create("brisque", &opts, &ex) == LMMIQA_ERR_INVALID_ARG);
    lmmiqa_extractor_destroy(NULL);
    lmmiqa_extractor_state_destroy(NULL);
}

static void test_brisque_extractor(void)
{
    lmmiqa_extractor *ex = NULL;
    CHECK_OK(lmmiqa_extractor_create("brisque", NULL, &ex));
    if (!ex)
        return;
    CHECK(lmmiqa_extractor_dim(ex) == 36);
    CHECK(strcmp(lmmiqa_extractor_name(ex), "brisque") == 0);
    /* the names brisque.h documents, in the extract CSV and the store */
    CHECK(strcmp(lmmiqa_extractor_feature_name(ex, 0), lmmiqa_brisque_feature_name(0)) == 0);
    CHECK(strcmp(lmmiqa_extractor_feature_name(ex, 0), "s1_ggd_alpha") == 0);
    CHECK(strcmp(lmmiqa_extractor_feature_name(ex, 35), lmmiqa_brisque_feature_name(35)) == 0);
    CHECK(strstr(lmmiqa_extractor_config_json(ex), "matlab") != NULL);
    lmmiqa_image *img = NULL;
    CHECK_OK(lmmiqa_image_create(67, 45, &img));
    for (int i = 0; i < 67 * 45 * 3; i++)
        img->pixels[i] = (uint8_t)((i * 7919) % 251);
    lmmiqa_extractor_state *st = NULL;
    CHECK_OK(lmmiqa_extractor_state_create(ex, &st));
    double got[36], want[36];
    CHECK_OK(lmmiqa_extractor_run(ex, st, img, got));
    lmmiqa_brisque_state *bs = NULL;
    CHECK_OK(lmmiqa_brisque_state_create(&bs));
    CHECK_OK(lmmiqa_brisque_features(bs, img, want));
    for (int i = 0; i < 36; i++)
        CHECK(got[i] == want[i]);
    /* a flat image has no BRISQUE features: an error, never NaN */
    memset(img->pixels, 128, 67 * 45 * 3);
    CHECK(lmmiqa_extractor_run(ex, st, img, got) == LMMIQA_ERR_UNDEFINED);
    lmmiqa_brisque_state_destroy(bs);
    lmmiqa_extractor_state_destroy(st);
    lmmiqa_image_destroy(img);
    lmmiqa_extractor_destroy(ex);
}

int main(void)
{
    RUN(test_registry);
    RUN(test_brisque_extractor);
    return test_finish();
}
