/*
 * src/models/weights_extractor.c - shared create path of the extractors
 * that run a weight file trained by lmmiqa (see weights_extractor.h). The
 * configuration JSON carries the weights' SHA-256 so a feature store
 * records exactly which trained model produced its columns. options.threads
 * sets OpenBLAS's thread count, as the CLIP extractors do: the sums of a
 * product depend on it, so one thread (what `lmmiqa extract`, the scorer
 * and the protocol ask for) gives the same features and scores on any
 * machine.
 */
#include "weights_extractor.h"

#include "core/internal.h"
#include "nn/nn.h"


int lmmiqa__weights_extractor_create(const lmmiqa__weights_extractor *spec,
                                     const lmmiqa_extractor_options *opts,
                                     lmmiqa__extractor_impl *impl)
{
    if (!opts->weights)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "%s", spec->missing);
    lmmiqa_nn_set_threads(opts->threads); /* 0: left as it is */
    void *m = NULL;
    int rc = spec->load(opts->weights, &m);
    if (rc != LMMIQA_OK)
        return rc;
    char sha[65];
    rc = lmmiqa__sha256_file(opts->weights, sha);
    if (rc != LMMIQA_OK) {
        spec->model_destroy(m);
        return rc;
    }
    int ok = 1;
    cJSON *cfg = cJSON_CreateObject();
    if (cfg)
        spec->describe(m, sha, cfg, &ok);
    impl->config_json = lmmiqa__json_print_free(cfg, ok, 0);
    if (!impl->config_json) {
        spec->model_destroy(m);
        return LMMIQA_ERR_NOMEM;
    }
    impl->dim = spec->feature_dim(m);
    impl->version = spec->version;
    impl->model = m;
    impl->model_destroy = spec->model_destroy;
    impl->state_create = spec->state_create;
    impl->state_destroy = spec->state_destroy;
    impl->run = spec->run;
    impl->score = spec->score;
    impl->name_prefix = spec->name_prefix;
    return LMMIQA_OK;
}
