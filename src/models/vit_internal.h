/*
 * src/models/vit_internal.h - internals of the vision transformer shared by
 * the extractor, the tests and the benchmark: the deterministic random
 * checkpoint writer (the same numbers as tools/ref/clip_ref.py) and the
 * Pillow-exact resize with caller scratch.
 */
#ifndef LMMIQA_MODELS_VIT_INTERNAL_H
#define LMMIQA_MODELS_VIT_INTERNAL_H

#include "io/safetensors.h"
#include "lmmiqa/advanced/text.h"
#include "lmmiqa/advanced/vit.h"

/* u_i in [-1, 1) for tensor `name` (see tools/ref/clip_ref.py). */
void lmmiqa__vit_random_uniform(const char *name, uint64_t seed, size_t n, float *out);

/* Write a checkpoint of configuration cfg filled by the generator, in the
 * given naming and dtype (F32, F16, BF16), as safetensors. With HF naming a
 * config.json is written beside it when write_config is set. Extra
 * non-vision tensors (a text-tower stub, logit_scale, position_ids) are
 * included, as in the published files. */
int lmmiqa__vit_random_save(const lmmiqa_vit_config *cfg, lmmiqa_vit_naming naming,
                            lmmiqa_dtype dtype, uint64_t seed, const char *path,
                            int write_config);

/* The same with a full text tower of configuration text (generated on the
 * text_model.* names as tools/ref/clip_text_ref.py does) instead of the
 * stub; text == NULL is lmmiqa__vit_random_save. config.json then also
 * holds text_config. */
int lmmiqa__clip_random_save(const lmmiqa_vit_config *cfg, const lmmiqa_text_config *text,
                             lmmiqa_vit_naming naming, lmmiqa_dtype dtype, uint64_t seed,
                             const char *path, int write_config);

/* Pillow bicubic resize with caller scratch of
 * lmmiqa__resize_pil_scratch(src_w, src_h, dst_w, dst_h) bytes. */
size_t lmmiqa__resize_pil_scratch(int src_w, int src_h, int dst_w, int dst_h);
int lmmiqa__resize_pil(const uint8_t *src, int src_w, int src_h, uint8_t *dst, int dst_w,
                       int dst_h, void *scratch);

#endif
