/*
 * src/features/nss_extractor.c - the "nss" statistics (nss_internal.h)
 * behind the generic extractor interface: no weights, a per-thread
 * lmmiqa__nss_state as scratch, columns named by group (grey_s3_rho,
 * sharp_lap_s1, ...).
 */
#include "extractor_internal.h"

#include "core/internal.h"
#include "core/json.h"
#include "features/nss_internal.h"

#include <string.h>

static int nss_state_create(const void *model, void **state)
{
    (void)model;
    return lmmiqa__nss_state_create((lmmiqa__nss_state **)state);
}

static void nss_state_destroy(void *state) { lmmiqa__nss_state_destroy(state); }

static int nss_run(const void *model, void *state, const lmmiqa_image *img, double *out)
{
    (void)model;
    return lmmiqa__nss_features(state, img, out);
}

static void nss_name(const void *model, size_t i, char *buf, size_t size)
{
    (void)model;
    lmmiqa__nss_feature_name(i, buf, size);
}

int lmmiqa__nss_extractor_create(const lmmiqa_extractor_options *opts,
                                 lmmiqa__extractor_impl *impl)
{
    if (opts->weights)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "nss takes no weights (got '%s'); it is hand-crafted", opts->weights);
    size_t ng;
    const lmmiqa__nss_group *g = lmmiqa__nss_groups(&ng);
    int ok = 1;
    cJSON *cfg = cJSON_CreateObject(), *groups = cJSON_CreateObject();
    lmmiqa__json_add_str(cfg, "grey", "0.299 R + 0.587 G + 0.114 B", &ok);
    lmmiqa__json_add_str(cfg, "pyramid", "2x2 box", &ok);
    lmmiqa__json_add_str(cfg, "mscn", "gaussian 7 taps sigma 7/6, edge replicated, moments", &ok);
    for (size_t k = 0; k < ng; k++) {
        double span[2] = {(double)g[k].first, (double)g[k].count};
        lmmiqa__json_add_nums(groups, g[k].name, span, 2, &ok);
    }
    lmmiqa__json_add_item(cfg, "groups", groups, &ok);
    if (!(impl->config_json = lmmiqa__json_print_free(cfg, ok, 0)))
        return LMMIQA_ERR_NOMEM;
    impl->dim = LMMIQA__NSS_DIM;
    impl->version = "1";
    impl->state_create = nss_state_create;
    impl->state_destroy = nss_state_destroy;
    impl->run = nss_run;
    impl->feature_name = nss_name;
    return LMMIQA_OK;
}
