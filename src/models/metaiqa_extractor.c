/*
 * src/models/metaiqa_extractor.c - the "metaiqa" feature extractor: loads
 * MetaIQA weights fine-tuned by `lmmiqa fit --extractor metaiqa`
 * (options.weights, required) and returns the 512-d activation before the
 * last FC for the image resized to 224x224.
 */
#include "metaiqa_internal.h"
#include "features/extractor_internal.h"

#include "core/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void model_destroy(void *model) { lmmiqa_metaiqa_destroy(model); }

static int state_create(const void *model, void **state)
{
    return lmmiqa_metaiqa_state_create(model, (lmmiqa_metaiqa_state **)state);
}

static void state_destroy(void *state) { lmmiqa_metaiqa_state_destroy(state); }

static int run(const void *model, void *state, const lmmiqa_image *img, double *out)
{
    return lmmiqa_metaiqa_predict(model, state, img, NULL, out);
}

static void feature_name(const void *model, size_t i, char *buf, size_t size)
{
    (void)model;
    snprintf(buf, size, "metaiqa%zu", i + 1);
}

int lmmiqa__metaiqa_extractor_create(const lmmiqa_extractor_options *opts,
                                     lmmiqa__extractor_impl *impl)
{
    if (!opts->weights)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "needs a fine-tuned weight file (--weights FILE, written by "
                            "`lmmiqa fit --extractor metaiqa`)");
    lmmiqa_metaiqa *m = NULL;
    int rc = lmmiqa_metaiqa_load(opts->weights, &m);
    if (rc != LMMIQA_OK)
        return rc;
    char sha[65];
    rc = lmmiqa__sha256_file(opts->weights, sha);
    if (rc != LMMIQA_OK) {
        lmmiqa_metaiqa_destroy(m);
        return rc;
    }
    const lmmiqa_metaiqa_config *c = lmmiqa_metaiqa_get_config(m);
    char json[512];
    snprintf(json, sizeof json,
             "{\"model\":\"MetaIQA (Zhu et al. 2020): ResNet-18 + head\",\"width\":%d,"
             "\"hidden\":[%d,%d],\"input\":\"resize %dx%d (bilinear, antialiased), ImageNet "
             "mean/std\",\"feature\":\"activation before the last FC\",\"weights_sha256\":\"%s\"}",
             c->width, c->hidden1, c->hidden2, c->crop, c->crop, sha);
    impl->config_json = lmmiqa__malloc(strlen(json) + 1);
    if (!impl->config_json) {
        lmmiqa_metaiqa_destroy(m);
        return LMMIQA_ERR_NOMEM;
    }
    memcpy(impl->config_json, json, strlen(json) + 1);
    impl->dim = lmmiqa_metaiqa_feature_dim(m);
    impl->version = "metaiqa-1";
    impl->model = m;
    impl->model_destroy = model_destroy;
    impl->state_create = state_create;
    impl->state_destroy = state_destroy;
    impl->run = run;
    impl->feature_name = feature_name;
    return LMMIQA_OK;
}
