/*
 * src/models/metaiqa_extractor.c - the "metaiqa" feature extractor: loads
 * MetaIQA weights fine-tuned by `lmmiqa fit --extractor metaiqa`
 * (options.weights, required) and returns the 512-d activation before the
 * last FC for the image resized to 224x224. Its score hook is the model's
 * own quality and its fit hook fine-tunes from args->init (random
 * initialisation without), for the protocol's per-split training.
 */
#include "metaiqa_internal.h"
#include "weights_extractor.h"

#include <stdio.h>

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

static int score(const void *model, void *state, const lmmiqa_image *img, double *out,
                 double *features)
{
    return lmmiqa_metaiqa_predict(model, state, img, out, features);
}

static int load(const char *path, void **model)
{
    return lmmiqa_metaiqa_load(path, (lmmiqa_metaiqa **)model);
}

static size_t feature_dim(const void *model) { return lmmiqa_metaiqa_feature_dim(model); }

static void describe(const void *model, const char *sha256, cJSON *cfg, int *ok)
{
    const lmmiqa_metaiqa_config *c = lmmiqa_metaiqa_get_config(model);
    char input[96];
    snprintf(input, sizeof input, "resize %dx%d (bilinear, antialiased), ImageNet mean/std",
             c->crop, c->crop);
    double hidden[2] = {c->hidden1, c->hidden2};
    lmmiqa__json_add_str(cfg, "model", "MetaIQA (Zhu et al. 2020): ResNet-18 + head", ok);
    lmmiqa__json_add_num(cfg, "width", c->width, ok);
    lmmiqa__json_add_nums(cfg, "hidden", hidden, 2, ok);
    lmmiqa__json_add_str(cfg, "input", input, ok);
    lmmiqa__json_add_str(cfg, "feature", "activation before the last FC", ok);
    lmmiqa__json_add_str(cfg, "weights_sha256", sha256, ok);
}

static const lmmiqa__weights_extractor SPEC = {
    .version = "metaiqa-1",
    .missing = "needs a fine-tuned weight file (--weights FILE, written by "
               "`lmmiqa fit --extractor metaiqa`)",
    .load = load,
    .describe = describe,
    .feature_dim = feature_dim,
    .model_destroy = model_destroy,
    .state_create = state_create,
    .state_destroy = state_destroy,
    .run = run,
    .score = score,
    .name_prefix = "metaiqa",
};

int lmmiqa__metaiqa_extractor_create(const lmmiqa_extractor_options *opts,
                                     lmmiqa__extractor_impl *impl)
{
    return lmmiqa__weights_extractor_create(&SPEC, opts, impl);
}

int lmmiqa__metaiqa_extractor_fit(const lmmiqa__extractor_fit_args *a)
{
    lmmiqa_metaiqa_config cfg;
    lmmiqa_metaiqa_config_init(&cfg);
    cfg.epochs = a->epochs;
    cfg.seed = a->seed;
    cfg.threads = a->threads;
    cfg.verbose = a->log != NULL;
    cfg.log = a->log;
    cfg.log_user = a->log_user;
    return lmmiqa_metaiqa_train(&cfg, a->init, a->paths, a->mos, a->n, a->mos_lo, a->mos_hi,
                                a->checkpoint, a->weights);
}
