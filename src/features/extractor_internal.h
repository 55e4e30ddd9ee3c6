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
 *
 * Trainable extractors (CNNIQA, MetaIQA) also give the table a fit hook:
 * it trains the model on images and MOS and writes the weight file their
 * create function then loads. It sits beside create, not in the impl,
 * because it runs before any weights exist. Their impl may also offer
 * `score`, the model's own quality prediction. The protocol
 * (src/eval/protocol.c) finds both through the registry queries below and
 * never names a model.
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
    /* optional: the i-th feature's column name into buf; NULL gives
     * <name_prefix>1..<name_prefix>N */
    void (*feature_name)(const void *model, size_t i, char *buf, size_t size);
    const char *name_prefix;  /* static string; NULL = "f" */
    /* optional: the model's own quality score of img on its 0..1 training
     * scale (trainable extractors), and when features is not NULL its
     * features (out[dim], as run) from the same forward pass; same
     * concurrency rule as run */
    int (*score)(const void *model, void *state, const lmmiqa_image *img, double *score,
                 double *features);
} lmmiqa__extractor_impl;

typedef int (*lmmiqa__extractor_create_fn)(const lmmiqa_extractor_options *opts,
                                           lmmiqa__extractor_impl *impl);

/* What a fit hook is given. MOS map to 0..1 through mos_lo..mos_hi. The
 * settings a model has no use for are ignored (patches by a model that
 * sees whole images, init by one trained from scratch). */
typedef struct lmmiqa__extractor_fit_args {
    const char *const *paths; /* training images [n] */
    const double *mos;        /* their MOS [n] */
    size_t n;
    double mos_lo, mos_hi;
    uint64_t seed;
    int epochs;               /* >= 1 */
    int patches;              /* random patches per image per epoch, 0 = all */
    const char *init;         /* starting weights of a fine-tuned model, NULL = random */
    int threads;              /* 0 = the library's default */
    const char *checkpoint;   /* state saved every epoch and resumed from; NULL = none */
    const char *weights;      /* weight file to write */
    void (*log)(void *user, const char *line); /* progress lines; NULL = silent */
    void *log_user;
} lmmiqa__extractor_fit_args;

typedef int (*lmmiqa__extractor_fit_fn)(const lmmiqa__extractor_fit_args *args);

/* Registry queries (extractor.c). */
/* 1 when extractor `name` has a fit hook. */
int lmmiqa__extractor_is_trainable(const char *name);
/* The trainable extractors' names, ", "-separated, into buf[cap]. */
void lmmiqa__extractor_trainable_names(char *buf, size_t cap);
/* Train `name` through its hook; LMMIQA_ERR_INVALID_ARG when it has none. */
int lmmiqa__extractor_fit(const char *name, const lmmiqa__extractor_fit_args *args);
/* 1 when ex offers its own score; the score of img through st (on the
 * model's 0..1 training scale) and, when features is not NULL, its features
 * from the same pass; LMMIQA_ERR_INVALID_ARG without the hook. */
int lmmiqa__extractor_has_score(const lmmiqa_extractor *ex);
int lmmiqa__extractor_score(const lmmiqa_extractor *ex, lmmiqa_extractor_state *st,
                            const lmmiqa_image *img, double *score, double *features);

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
int lmmiqa__cnniqa_extractor_fit(const lmmiqa__extractor_fit_args *args);
int lmmiqa__metaiqa_extractor_fit(const lmmiqa__extractor_fit_args *args);
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
