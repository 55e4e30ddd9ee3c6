/*
 * src/models/align_extractor.c - the "align" feature extractor: ALIGN
 * preprocessing (346 bilinear resize, 289 center crop, [-1, 1]) and the
 * EfficientNet-B7 image tower (align.h); the feature is the 640-d mean-pooled
 * output of the last block (unit length when options.normalize is set).
 * Sizes come from the weights and config.json, so reduced test
 * configurations run the same path. Per-thread state holds the network's
 * activations, the pixel tensor and the resize scratch (grown only when a
 * larger image comes). options.threads > 0 sets the threads one
 * extraction uses (`lmmiqa extract` passes 1 and runs one worker per core).
 */
#include "core/internal.h"
#include "core/json.h"
#include "features/extractor_internal.h"
#include "lmmiqa/advanced/align.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct align_model {
    lmmiqa_align *net;
    int normalize;
} align_model;

typedef struct align_state {
    lmmiqa_align_state *st;
    float *pixels; /* [3, 289, 289] */
    float *emb;    /* [embed_dim] */
    void *scratch;
    size_t scratch_size;
} align_state;

static void model_destroy(void *m)
{
    align_model *am = m;
    if (!am)
        return;
    lmmiqa_align_destroy(am->net);
    free(am);
}

static void state_destroy(void *s)
{
    align_state *as = s;
    if (!as)
        return;
    lmmiqa_align_state_destroy(as->st);
    free(as->pixels);
    free(as->emb);
    free(as->scratch);
    free(as);
}

static int state_create(const void *m, void **out)
{
    const align_model *am = m;
    align_state *as = lmmiqa__calloc(1, sizeof *as);
    if (!as)
        return LMMIQA_ERR_NOMEM;
    int rc = lmmiqa_align_state_create(am->net, &as->st);
    if (rc == LMMIQA_OK) {
        as->pixels = lmmiqa__malloc(sizeof(float) * 3 * LMMIQA_ALIGN_CROP * LMMIQA_ALIGN_CROP);
        as->emb = lmmiqa__malloc(sizeof(float) *
                                 (size_t)lmmiqa_align_get_config(am->net)->embed_dim);
        if (!as->pixels || !as->emb)
            rc = LMMIQA_ERR_NOMEM;
    }
    if (rc != LMMIQA_OK) {
        state_destroy(as);
        return rc;
    }
    *out = as;
    return LMMIQA_OK;
}

static int run(const void *m, void *s, const lmmiqa_image *img, double *out)
{
    const align_model *am = m;
    align_state *as = s;
    size_t need = lmmiqa_align_preprocess_scratch(img->width, img->height);
    if (need > as->scratch_size) {
        void *ns = lmmiqa__malloc(need);
        if (!ns)
            return LMMIQA_ERR_NOMEM;
        free(as->scratch);
        as->scratch = ns;
        as->scratch_size = need;
    }
    int rc = lmmiqa_align_preprocess(img, as->scratch, as->pixels);
    if (rc == LMMIQA_OK)
        rc = lmmiqa_align_forward(am->net, as->st, as->pixels, 1, LMMIQA_ALIGN_CROP,
                                  LMMIQA_ALIGN_CROP, am->normalize, as->emb);
    if (rc != LMMIQA_OK)
        return rc;
    int d = lmmiqa_align_get_config(am->net)->embed_dim;
    for (int i = 0; i < d; i++)
        out[i] = as->emb[i];
    return LMMIQA_OK;
}

static void feature_name(const void *model, size_t i, char *buf, size_t size)
{
    (void)model;
    snprintf(buf, size, "align%zu", i + 1);
}

int lmmiqa__align_extractor_create(const lmmiqa_extractor_options *opts,
                                   lmmiqa__extractor_impl *impl)
{
    if (!opts->weights || !*opts->weights)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "align needs a weight file (--weights PATH: kakaobrain/align-base "
                            "model.safetensors or pytorch_model.bin, see docs/align.md)");
    align_model *am = lmmiqa__calloc(1, sizeof *am);
    if (!am)
        return LMMIQA_ERR_NOMEM;
    int rc = lmmiqa_align_load(opts->weights, NULL, &am->net);
    if (rc != LMMIQA_OK) {
        free(am);
        return rc;
    }
    am->normalize = opts->normalize != 0;
    /* threads per extraction: the forward uses as many as OpenBLAS is set to
     * (process-wide, as for the other encoders) */
    if (opts->threads > 0)
        openblas_set_num_threads(opts->threads);
    const lmmiqa_align_config *c = lmmiqa_align_get_config(am->net);
    char preprocess[96];
    snprintf(preprocess, sizeof preprocess,
             "resize %dx%d bilinear (Pillow), center crop %d, (x-127.5)/127.5",
             LMMIQA_ALIGN_RESIZE, LMMIQA_ALIGN_RESIZE, LMMIQA_ALIGN_CROP);
    int ok = 1;
    cJSON *cfg = cJSON_CreateObject();
    lmmiqa__json_add_str(cfg, "model", "ALIGN image tower (EfficientNet, HF AlignVisionModel)",
                         &ok);
    lmmiqa__json_add_num(cfg, "blocks", c->blocks, &ok);
    lmmiqa__json_add_num(cfg, "stem", c->stem_channels, &ok);
    lmmiqa__json_add_num(cfg, "embed_dim", c->embed_dim, &ok);
    lmmiqa__json_add_num(cfg, "bn_eps", c->bn_eps, &ok);
    lmmiqa__json_add_str(cfg, "preprocess", preprocess, &ok);
    lmmiqa__json_add_str(cfg, "feature", "mean-pooled last block", &ok);
    lmmiqa__json_add_bool(cfg, "normalize", am->normalize, &ok);
    lmmiqa__json_add_str(cfg, "weights_sha256", lmmiqa_align_weights_sha256(am->net), &ok);
    if (!(impl->config_json = lmmiqa__json_print_free(cfg, ok, 0))) {
        model_destroy(am);
        return LMMIQA_ERR_NOMEM;
    }
    impl->dim = (size_t)c->embed_dim;
    impl->version = "align-1";
    impl->model = am;
    impl->model_destroy = model_destroy;
    impl->state_create = state_create;
    impl->state_destroy = state_destroy;
    impl->run = run;
    impl->feature_name = feature_name;
    return LMMIQA_OK;
}
