/*
 * src/models/cnniqa_extractor.c - the "cnniqa" feature extractor: loads a
 * trained CNNIQA weight file (options.weights, required) and returns the
 * mean over patches of the last hidden layer (fc values, default 512).
 * Its score hook is the model's own quality (mean patch score) and its fit
 * hook trains from scratch (lmmiqa_cnniqa_train), so the protocol can train
 * it per split without naming it.
 */
#include "cnniqa_internal.h"
#include "weights_extractor.h"

#include <stdio.h>

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

static int score(const void *model, void *state, const lmmiqa_image *img, double *out,
                 double *features)
{
    return lmmiqa_cnniqa_predict(model, state, img, out, features);
}

static int load(const char *path, void **model)
{
    return lmmiqa_cnniqa_load(path, (lmmiqa_cnniqa **)model);
}

static size_t feature_dim(const void *model) { return lmmiqa_cnniqa_feature_dim(model); }

static void describe(const void *model, const char *sha256, cJSON *cfg, int *ok)
{
    const lmmiqa_cnniqa_config *c = lmmiqa_cnniqa_get_config(model);
    lmmiqa__json_add_str(cfg, "model", "CNNIQA (Kang et al. 2014)", ok);
    lmmiqa__json_add_num(cfg, "patch", c->patch, ok);
    lmmiqa__json_add_num(cfg, "filters", c->filters, ok);
    lmmiqa__json_add_num(cfg, "kernel", c->kernel, ok);
    lmmiqa__json_add_num(cfg, "fc", c->fc, ok);
    lmmiqa__json_add_str(cfg, "lcn", "3x3, C=1, pixels 0..255", ok);
    lmmiqa__json_add_str(cfg, "feature", "mean over patches of the last hidden layer", ok);
    lmmiqa__json_add_str(cfg, "weights_sha256", sha256, ok);
}

static const lmmiqa__weights_extractor SPEC = {
    .version = "cnniqa-1",
    .missing = "needs a trained weight file (--weights FILE, written by "
               "`lmmiqa fit --extractor cnniqa`)",
    .load = load,
    .describe = describe,
    .feature_dim = feature_dim,
    .model_destroy = model_destroy,
    .state_create = state_create,
    .state_destroy = state_destroy,
    .run = run,
    .score = score,
    .name_prefix = "cnniqa",
};

int lmmiqa__cnniqa_extractor_create(const lmmiqa_extractor_options *opts,
                                    lmmiqa__extractor_impl *impl)
{
    return lmmiqa__weights_extractor_create(&SPEC, opts, impl);
}

int lmmiqa__cnniqa_extractor_fit(const lmmiqa__extractor_fit_args *a)
{
    lmmiqa_cnniqa_config cfg;
    lmmiqa_cnniqa_config_init(&cfg);
    cfg.epochs = a->epochs;
    cfg.patches_per_image = a->patches;
    cfg.seed = a->seed;
    cfg.threads = a->threads;
    cfg.verbose = a->log != NULL;
    cfg.log = a->log;
    cfg.log_user = a->log_user;
    return lmmiqa_cnniqa_train(&cfg, a->paths, a->mos, a->n, a->mos_lo, a->mos_hi, a->checkpoint,
                               a->weights);
}
