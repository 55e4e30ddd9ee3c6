/*
 * src/features/extractor_internal.h - how a feature extractor plugs into the
 * registry behind include/lmmiqa/extractor.h.
 *
 * An implementation provides one create function that fills an
 * lmmiqa__extractor_impl: its dimension, version, configuration JSON and the
 * callbacks below. The registry (extractor.c) owns the public handle, the
 * feature names and the per-thread state wrapper, so implementations stay
 * small. Add a new extractor by writing its create function and one line in
 * the table of extractor.c.
 */
#ifndef LMMIQA_EXTRACTOR_INTERNAL_H
#define LMMIQA_EXTRACTOR_INTERNAL_H

#include "lmmiqa/extractor.h"

typedef struct lmmiqa__extractor_impl {
    size_t dim;
    const char *version;      /* static string */
    char *config_json;        /* malloc'd JSON object, freed by the registry */
    void *model;              /* immutable weights/configuration */
    void (*model_destroy)(void *model);
    int (*state_create)(const void *model, void **state);
    void (*state_destroy)(void *state);
    /* out[dim]; must be safe to call concurrently with distinct states */
    int (*run)(const void *model, void *state, const lmmiqa_image *img, double *out);
    /* optional: the i-th feature's column name into buf; NULL gives f1..fN */
    void (*feature_name)(const void *model, size_t i, char *buf, size_t size);
} lmmiqa__extractor_impl;

typedef int (*lmmiqa__extractor_create_fn)(const lmmiqa_extractor_options *opts,
                                           lmmiqa__extractor_impl *impl);

/* Implementations (one per file in src/features or src/models). */
int lmmiqa__brisque_extractor_create(const lmmiqa_extractor_options *opts,
                                     lmmiqa__extractor_impl *impl);
/* Hand-crafted quality statistics beyond BRISQUE (src/features/nss_extractor.c). */
int lmmiqa__nss_extractor_create(const lmmiqa_extractor_options *opts,
                                 lmmiqa__extractor_impl *impl);
/* Trainable distortion models (src/models/cnniqa_extractor.c, metaiqa_extractor.c):
 * options.weights must name a weight file trained per split (`lmmiqa fit`). */
int lmmiqa__cnniqa_extractor_create(const lmmiqa_extractor_options *opts,
                                    lmmiqa__extractor_impl *impl);
int lmmiqa__metaiqa_extractor_create(const lmmiqa_extractor_options *opts,
                                     lmmiqa__extractor_impl *impl);
/* CLIP-family image encoders (src/models/clip_extractor.c): options.weights
 * names the checkpoint (safetensors or torch zip, see docs/weights.md). */
int lmmiqa__clip_vit_b16_extractor_create(const lmmiqa_extractor_options *opts,
                                          lmmiqa__extractor_impl *impl);
int lmmiqa__altclip_extractor_create(const lmmiqa_extractor_options *opts,
                                     lmmiqa__extractor_impl *impl);
int lmmiqa__hps_extractor_create(const lmmiqa_extractor_options *opts,
                                 lmmiqa__extractor_impl *impl);

/* Zero-shot CLIP-IQA (src/models/clipiqa_extractor.c): options.weights names
 * a CLIP checkpoint with both towers; options.vocab, .prompts, .logit_scale. */
int lmmiqa__clipiqa_extractor_create(const lmmiqa_extractor_options *opts,
                                     lmmiqa__extractor_impl *impl);

/* ALIGN image tower, EfficientNet-B7 (src/models/align_extractor.c):
 * options.weights names kakaobrain/align-base's checkpoint (docs/align.md). */
int lmmiqa__align_extractor_create(const lmmiqa_extractor_options *opts,
                                   lmmiqa__extractor_impl *impl);

#endif
