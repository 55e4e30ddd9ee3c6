/*
 * src/models/weights_extractor.h - the common create path of extractors
 * backed by a model that lmmiqa trains itself (CNNIQA, MetaIQA): they need
 * options.weights, load it, record its SHA-256 in the configuration JSON and
 * hand typed callbacks to the registry. Each model supplies a table; the
 * load/hash/describe/cleanup sequence lives once here. Internal.
 */
#ifndef LMMIQA_MODELS_WEIGHTS_EXTRACTOR_H
#define LMMIQA_MODELS_WEIGHTS_EXTRACTOR_H

#include "core/json.h"
#include "features/extractor_internal.h"

#include <stddef.h>

typedef struct lmmiqa__weights_extractor {
    const char *version; /* static string, becomes impl->version */
    const char *missing; /* error message when options.weights is absent */
    int (*load)(const char *path, void **model);
    /* the loaded model's configuration with its weights' hash sha256, built
     * with the sticky adds of core/json.h into the empty object cfg */
    void (*describe)(const void *model, const char *sha256, cJSON *cfg, int *ok);
    size_t (*feature_dim)(const void *model);
    void (*model_destroy)(void *model);
    int (*state_create)(const void *model, void **state);
    void (*state_destroy)(void *state);
    int (*run)(const void *model, void *state, const lmmiqa_image *img, double *out);
    int (*score)(const void *model, void *state, const lmmiqa_image *img, double *score,
                 double *features);
    const char *name_prefix; /* column names <name_prefix>1..N */
} lmmiqa__weights_extractor;

/* Fill impl for the model of spec from opts->weights; on failure nothing is
 * left allocated and the status says why (missing weights, load, hash). */
int lmmiqa__weights_extractor_create(const lmmiqa__weights_extractor *spec,
                                     const lmmiqa_extractor_options *opts,
                                     lmmiqa__extractor_impl *impl);

#endif
