/*
 * src/features/nss_extractor.c - the "nss" statistics (nss_internal.h)
 * behind the generic extractor interface: no weights, a per-thread
 * lmmiqa__nss_state as scratch, columns named by group (grey_s3_rho,
 * sharp_lap_s1, ...).
 */
#include "extractor_internal.h"

#include "core/internal.h"
#include "features/nss_internal.h"

#include <stdio.h>
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
    char config[512];
    int len = snprintf(config, sizeof config,
                       "{\"grey\":\"0.299 R + 0.587 G + 0.114 B\",\"pyramid\":\"2x2 box\","
                       "\"mscn\":\"gaussian 7 taps sigma 7/6, edge replicated, moments\","
                       "\"groups\":{");
    for (size_t k = 0; k < ng && len > 0 && (size_t)len < sizeof config; k++)
        len += snprintf(config + len, sizeof config - (size_t)len, "%s\"%s\":[%zu,%zu]",
                        k ? "," : "", g[k].name, g[k].first, g[k].count);
    if (len <= 0 || (size_t)len + 2 >= sizeof config)
        return lmmiqa__fail(LMMIQA_ERR_INTERNAL, "nss: configuration string too long");
    memcpy(config + len, "}}", 3);
    impl->config_json = lmmiqa__malloc((size_t)len + 3);
    if (!impl->config_json)
        return LMMIQA_ERR_NOMEM;
    memcpy(impl->config_json, config, (size_t)len + 3);
    impl->dim = LMMIQA__NSS_DIM;
    impl->version = "1";
    impl->state_create = nss_state_create;
    impl->state_destroy = nss_state_destroy;
    impl->run = nss_run;
    impl->feature_name = nss_name;
    return LMMIQA_OK;
}
