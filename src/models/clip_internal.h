/*
 * src/models/clip_internal.h - the image side of the CLIP extractors
 * (clip_extractor.c), shared with the zero-shot clipiqa extractor: CLIP
 * preprocessing + vision tower into one embedding, with per-thread state
 * (ViT activations for batch 1, pixel tensor, resize scratch grown on
 * demand). Internal.
 */
#ifndef LMMIQA_MODELS_CLIP_INTERNAL_H
#define LMMIQA_MODELS_CLIP_INTERNAL_H

#include "core/json.h"
#include "lmmiqa/advanced/vit.h"

typedef struct lmmiqa__clip_image {
    lmmiqa_vit *vit;
    lmmiqa_crop_rounding crop;
    int normalize;
} lmmiqa__clip_image;

typedef struct lmmiqa__clip_image_state lmmiqa__clip_image_state;

int lmmiqa__clip_image_state_create(const lmmiqa__clip_image *m, lmmiqa__clip_image_state **out);
void lmmiqa__clip_image_state_destroy(lmmiqa__clip_image_state *st);
/* Embedding of img: *emb points into the state ([embed_dim], valid until
 * the next call). */
int lmmiqa__clip_image_embed(const lmmiqa__clip_image *m, lmmiqa__clip_image_state *st,
                             const lmmiqa_image *img, const float **emb);
/* The crop rounding of a CLIP checkpoint's reference pipeline: floor
 * (transformers) for HF naming, round half even (torchvision) for OpenAI. */
lmmiqa_crop_rounding lmmiqa__clip_crop_for(const lmmiqa_vit_config *c);

/* Fields every CLIP-family configuration JSON has (core/json.h adds): the
 * checkpoint's tensor naming, image size, embedding width and crop rounding. */
void lmmiqa__clip_describe(cJSON *cfg, const lmmiqa_vit_config *c, lmmiqa_crop_rounding crop,
                           int *ok);

/* Text-tower passes the clipiqa extractor has run in this process (its
 * prompt-embedding cache makes repeated creations cost none). */
size_t lmmiqa__clipiqa_text_passes(void);

#endif
