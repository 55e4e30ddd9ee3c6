/*
 * src/features/brisque_extractor.c - BRISQUE behind the generic extractor
 * interface: no weights, a per-thread lmmiqa_brisque_state as scratch, and
 * the 36 features in MATLAB order (columns f1..f36).
 */
#include "extractor_internal.h"

#include "core/internal.h"
#include "lmmiqa/brisque.h"

#include <stdio.h>
#include <string.h>

static int brisque_state_create(const void *model, void **state)
{
    (void)model;
    return lmmiqa_brisque_state_create((lmmiqa_brisque_state **)state);
}

static void brisque_state_destroy(void *state) { lmmiqa_brisque_state_destroy(state); }

static int brisque_run(const void *model, void *state, const lmmiqa_image *img, double *out)
{
    (void)model;
    return lmmiqa_brisque_features(state, img, out);
}

/* Column names: the descriptive names of lmmiqa/brisque.h ("s1_ggd_alpha"). */
static void brisque_feature_name(const void *model, size_t i, char *buf, size_t size)
{
    (void)model;
    const char *n = lmmiqa_brisque_feature_name((int)i);
    snprintf(buf, size, "%s", n ? n : "?");
}

int lmmiqa__brisque_extractor_create(const lmmiqa_extractor_options *opts,
                                     lmmiqa__extractor_impl *impl)
{
    if (opts->weights)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "brisque takes no weights (got '%s'); it is hand-crafted",
                            opts->weights);
    static const char config[] =
        "{\"convention\":\"matlab\",\"source\":\"brisque_feature.m (BRISQUE release 2011)\","
        "\"gray\":\"rgb2gray uint8\",\"window\":\"gaussian 7x7 sigma 7/6, zero padding\","
        "\"scales\":2,\"resize\":\"imresize bicubic antialias 0.5\"}";
    impl->config_json = lmmiqa__malloc(sizeof config);
    if (!impl->config_json)
        return LMMIQA_ERR_NOMEM;
    memcpy(impl->config_json, config, sizeof config);
    impl->dim = LMMIQA_BRISQUE_DIM;
    impl->version = "1";
    impl->state_create = brisque_state_create;
    impl->state_destroy = brisque_state_destroy;
    impl->run = brisque_run;
    impl->feature_name = brisque_feature_name;
    return LMMIQA_OK;
}
