/*
 * src/models/clip_extractor.c - the "clip-vit-b16", "altclip" and "hps"
 * feature extractors: CLIP preprocessing + vision transformer (vit.h).
 *
 * The name picks the family and its preprocessing; every size comes from the
 * weights (and config.json), so reduced test configurations run the same
 * path. Crop rounding follows the reference pipeline of each release:
 * Hugging Face CLIPImageProcessor (floor) for HF-named checkpoints
 * (openai/clip-vit-base-patch16, BAAI/AltCLIP), torchvision CenterCrop
 * (round half to even) for OpenAI-named ones (ViT-B-16.pt, HPS hpc.pt, which
 * is used with clip.load's preprocess). The resize is Pillow's bicubic in
 * both. The image path (preprocess + tower) is shared with the clipiqa
 * extractor through clip_internal.h. Per-thread state holds the ViT activations (batch 1), the pixel
 * tensor and the resize scratch, which grows only when a larger image comes.
 */
#include "models/clip_internal.h"

#include "core/internal.h"
#include "features/extractor_internal.h"
#include "lmmiqa/advanced/vit.h"

#include <assert.h>
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef lmmiqa__clip_image clip_model;

struct lmmiqa__clip_image_state {
    lmmiqa_vit_state *vs;
    float *pixels; /* [3, S, S] */
    float *emb;    /* [E] */
    void *scratch;
    size_t scratch_size;
};
typedef lmmiqa__clip_image_state clip_state;

static void model_destroy(void *m)
{
    clip_model *cm = m;
    if (!cm)
        return;
    lmmiqa_vit_destroy(cm->vit);
    free(cm);
}

void lmmiqa__clip_image_state_destroy(lmmiqa__clip_image_state *cs)
{
    if (!cs)
        return;
    lmmiqa_vit_state_destroy(cs->vs);
    free(cs->pixels);
    free(cs->emb);
    free(cs->scratch);
    free(cs);
}

static void state_destroy(void *s) { lmmiqa__clip_image_state_destroy(s); }

int lmmiqa__clip_image_state_create(const lmmiqa__clip_image *cm, lmmiqa__clip_image_state **out)
{
    const lmmiqa_vit_config *c = lmmiqa_vit_get_config(cm->vit);
    clip_state *cs = lmmiqa__calloc(1, sizeof *cs);
    if (!cs)
        return LMMIQA_ERR_NOMEM;
    int rc = lmmiqa_vit_state_create(cm->vit, 1, &cs->vs);
    if (rc == LMMIQA_OK) {
        cs->pixels = lmmiqa__malloc(sizeof(float) * 3 * (size_t)c->image_size * c->image_size);
        cs->emb = lmmiqa__malloc(sizeof(float) * (size_t)c->embed_dim);
        if (!cs->pixels || !cs->emb)
            rc = LMMIQA_ERR_NOMEM;
    }
    if (rc != LMMIQA_OK) {
        lmmiqa__clip_image_state_destroy(cs);
        return rc;
    }
    *out = cs;
    return LMMIQA_OK;
}

static int state_create(const void *m, void **out)
{
    return lmmiqa__clip_image_state_create(m, (lmmiqa__clip_image_state **)out);
}

int lmmiqa__clip_image_embed(const lmmiqa__clip_image *cm, lmmiqa__clip_image_state *cs,
                             const lmmiqa_image *img, const float **emb)
{
    const lmmiqa_vit_config *c = lmmiqa_vit_get_config(cm->vit);
    size_t need = lmmiqa_clip_preprocess_scratch(img->width, img->height, c->image_size);
    if (need > cs->scratch_size) {
        void *ns = lmmiqa__malloc(need);
        if (!ns)
            return LMMIQA_ERR_NOMEM;
        free(cs->scratch);
        cs->scratch = ns;
        cs->scratch_size = need;
    }
    int rc = lmmiqa_clip_preprocess(img, c->image_size, cm->crop, cs->scratch, cs->pixels);
    if (rc == LMMIQA_OK)
        rc = lmmiqa_vit_forward(cm->vit, cs->vs, cs->pixels, 1, cm->normalize, cs->emb);
    *emb = cs->emb;
    return rc;
}

static int run(const void *m, void *s, const lmmiqa_image *img, double *out)
{
    const clip_model *cm = m;
    const float *emb = NULL;
    int rc = lmmiqa__clip_image_embed(cm, s, img, &emb);
    if (rc != LMMIQA_OK)
        return rc;
    for (int i = 0; i < lmmiqa_vit_get_config(cm->vit)->embed_dim; i++)
        out[i] = emb[i];
    return LMMIQA_OK;
}

lmmiqa_crop_rounding lmmiqa__clip_crop_for(const lmmiqa_vit_config *c)
{
    return c->naming == LMMIQA_VIT_NAMING_HF ? LMMIQA_CROP_FLOOR : LMMIQA_CROP_ROUND;
}

void lmmiqa__clip_describe(cJSON *cfg, const lmmiqa_vit_config *c, lmmiqa_crop_rounding crop,
                           int *ok)
{
    lmmiqa__json_add_str(cfg, "naming", c->naming == LMMIQA_VIT_NAMING_HF ? "huggingface" : "openai",
                         ok);
    lmmiqa__json_add_num(cfg, "image_size", c->image_size, ok);
    lmmiqa__json_add_num(cfg, "embed_dim", c->embed_dim, ok);
    lmmiqa__json_add_str(cfg, "crop",
                         crop == LMMIQA_CROP_FLOOR ? "floor (transformers)"
                                                   : "round half even (torchvision)",
                         ok);
}

typedef enum family { F_CLIP, F_ALTCLIP, F_HPS } family;

static int create(const lmmiqa_extractor_options *opts, lmmiqa__extractor_impl *impl, family f)
{
    static const char *const names[] = {"clip-vit-b16", "altclip", "hps"};
    if (!opts->weights || !*opts->weights)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "%s needs a weight file (on the command line: --weights %s=FILE); "
                            "docs/weights.md says where to download it",
                            names[f], names[f]);
    clip_model *cm = lmmiqa__calloc(1, sizeof *cm);
    if (!cm)
        return LMMIQA_ERR_NOMEM;
    int rc = lmmiqa_vit_load(opts->weights, NULL, &cm->vit);
    if (rc != LMMIQA_OK) {
        free(cm);
        return rc;
    }
    if (opts->threads > 0)
        openblas_set_num_threads(opts->threads);
    const lmmiqa_vit_config *c = lmmiqa_vit_get_config(cm->vit);
    if (f == F_HPS)
        cm->crop = LMMIQA_CROP_ROUND;
    else if (f == F_ALTCLIP)
        cm->crop = LMMIQA_CROP_FLOOR;
    else
        cm->crop = lmmiqa__clip_crop_for(c);
    cm->normalize = opts->normalize != 0;
    static const double mean[3] = {0.48145466, 0.4578275, 0.40821073};
    static const double std[3] = {0.26862954, 0.26130258, 0.27577711};
    const char *base = strrchr(opts->weights, '/');
    int ok = 1;
    cJSON *cfg = cJSON_CreateObject();
    lmmiqa__json_add_str(cfg, "family", names[f], &ok);
    lmmiqa__json_add_str(cfg, "weights", base ? base + 1 : opts->weights, &ok);
    lmmiqa__json_add_str(cfg, "weights_sha256", lmmiqa_vit_weights_sha256(cm->vit), &ok);
    lmmiqa__clip_describe(cfg, c, cm->crop, &ok);
    lmmiqa__json_add_num(cfg, "patch_size", c->patch_size, &ok);
    lmmiqa__json_add_num(cfg, "width", c->width, &ok);
    lmmiqa__json_add_num(cfg, "layers", c->layers, &ok);
    lmmiqa__json_add_num(cfg, "heads", c->heads, &ok);
    lmmiqa__json_add_num(cfg, "mlp_dim", c->mlp_dim, &ok);
    lmmiqa__json_add_str(cfg, "activation", c->act == LMMIQA_VIT_ACT_GELU ? "gelu" : "quick_gelu",
                         &ok);
    lmmiqa__json_add_num(cfg, "layer_norm_eps", c->ln_eps, &ok);
    lmmiqa__json_add_str(cfg, "resize", "shorter side, Pillow bicubic", &ok);
    lmmiqa__json_add_nums(cfg, "mean", mean, 3, &ok);
    lmmiqa__json_add_nums(cfg, "std", std, 3, &ok);
    lmmiqa__json_add_bool(cfg, "normalize", cm->normalize, &ok);
    char *json = lmmiqa__json_print_free(cfg, ok, 0);
    if (!json) {
        model_destroy(cm);
        return LMMIQA_ERR_NOMEM;
    }
    impl->dim = (size_t)c->embed_dim;
    impl->version = "1";
    impl->config_json = json;
    impl->model = cm;
    impl->model_destroy = model_destroy;
    impl->state_create = state_create;
    impl->state_destroy = state_destroy;
    impl->run = run;
    impl->feature_name = NULL;
    return LMMIQA_OK;
}

int lmmiqa__clip_vit_b16_extractor_create(const lmmiqa_extractor_options *opts,
                                          lmmiqa__extractor_impl *impl)
{
    return create(opts, impl, F_CLIP);
}

int lmmiqa__altclip_extractor_create(const lmmiqa_extractor_options *opts,
                                     lmmiqa__extractor_impl *impl)
{
    return create(opts, impl, F_ALTCLIP);
}

int lmmiqa__hps_extractor_create(const lmmiqa_extractor_options *opts,
                                 lmmiqa__extractor_impl *impl)
{
    return create(opts, impl, F_HPS);
}
