/*
 * src/models/cnniqa_extractor.c - the "cnniqa" feature extractor: loads a
 * trained CNNIQA weight file (options.weights, required) and returns the
 * mean over patches of the last hidden layer (fc values, default 512).
 */
#include "cnniqa_internal.h"
#include "features/extractor_internal.h"

#include "core/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void model_destroy(void *model) { lmmiqa_cnniqa_destroy(model); }

static int state_create(const void *model, void **state)
{
    return lmmiqa_cnniqa_state_create(model, (lmmiqa_cnniqa_state **)state);
}

static void state_destroy(void *state) { lmmiqa_cnniqa_state_destroy(state); }

static int run(const void *model, void *state, const lmmiqa_image *img, double *out)
{
    return lmmiqa_cnniqa_predict(model, state, img, NULL, out);
}

static void feature_name(const void *model, size_t i, char *buf, size_t size)
{
    (void)model;
    snprintf(buf, size, "cnniqa%zu", i + 1);
}

int lmmiqa__cnniqa_extractor_create(const lmmiqa_extractor_options *opts,
                                    lmmiqa__extractor_impl *impl)
{
    if (!opts->weights)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "needs a trained weight file (--weights FILE, written by "
                            "`lmmiqa fit --extractor cnniqa`)");
    lmmiqa_cnniqa *m = NULL;
    int rc = lmmiqa_cnniqa_load(opts->weights, &m);
    if (rc != LMMIQA_OK)
        return rc;
    char sha[65];
    rc = lmmiqa__sha256_file(opts->weights, sha);
    if (rc != LMMIQA_OK) {
        lmmiqa_cnniqa_destroy(m);
        return rc;
    }
    const lmmiqa_cnniqa_config *c = lmmiqa_cnniqa_get_config(m);
    char json[512];
    snprintf(json, sizeof json,
             "{\"model\":\"CNNIQA (Kang et al. 2014)\",\"patch\":%d,\"filters\":%d,\"kernel\":%d,"
             "\"fc\":%d,\"lcn\":\"3x3, C=1, pixels 0..255\",\"feature\":\"mean over patches of "
             "the last hidden layer\",\"weights_sha256\":\"%s\"}",
             c->patch, c->filters, c->kernel, c->fc, sha);
    impl->config_json = lmmiqa__malloc(strlen(json) + 1);
    if (!impl->config_json) {
        lmmiqa_cnniqa_destroy(m);
        return LMMIQA_ERR_NOMEM;
    }
    memcpy(impl->config_json, json, strlen(json) + 1);
    impl->dim = lmmiqa_cnniqa_feature_dim(m);
    impl->version = "cnniqa-1";
    impl->model = m;
    impl->model_destroy = model_destroy;
    impl->state_create = state_create;
    impl->state_destroy = state_destroy;
    impl->run = run;
    impl->feature_name = feature_name;
    return LMMIQA_OK;
}
