/*
 * lmmiqa/extractor.h - one interface over every feature extractor.
 *
 * An extractor maps an image to a fixed-width float32 feature vector:
 * "brisque" (36 hand-crafted statistics), "nss" (BRISQUE plus 110 further
 * hand-crafted quality statistics, the built-in model's features;
 * docs/default-model.md), and, as they land, the learned and
 * foundation-model encoders ("cnniqa", "metaiqa", "clip-vit-b16", "altclip",
 * "hps", "align"), and "clipiqa", CLIP's zero-shot quality (one probability
 * per antonym prompt pair). The feature store, the regressor and the CLI only see this
 * interface, so features of any extractors can be combined.
 *
 * Model vs state: an lmmiqa_extractor holds immutable weights and
 * configuration and may be shared by threads; each thread runs it with its
 * own lmmiqa_extractor_state (scratch memory, grown as needed and reused).
 */
#ifndef LMMIQA_EXTRACTOR_H
#define LMMIQA_EXTRACTOR_H

#include "lmmiqa/core.h"
#include "lmmiqa/image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lmmiqa_extractor lmmiqa_extractor;
typedef struct lmmiqa_extractor_state lmmiqa_extractor_state;

/* Options of lmmiqa_extractor_create. Start from
 * lmmiqa_extractor_options_init() (or a designated initialiser that sets
 * `.size = sizeof o`): `size` lets later versions add fields without
 * breaking programs built against this one (fields past a caller's size take
 * their defaults). */
typedef struct lmmiqa_extractor_options {
    size_t size;          /* sizeof(lmmiqa_extractor_options), set by _init */
    const char *weights;  /* weight file for learned extractors, NULL for none */
    int normalize;        /* 1: scale embeddings to unit length */
    int threads;          /* threads one extraction may use, 0 = library default */
    /* clipiqa only (docs/clipiqa.md): */
    const char *vocab;    /* CLIP BPE vocabulary (lmmiqa_tokenizer_load); NULL = vocab.json +
                             merges.txt or bpe_simple_vocab_16e6.txt.gz beside the weights */
    const char *prompts;  /* antonym pairs, one "POSITIVE | NEGATIVE" a line; NULL = defaults */
    double logit_scale;   /* 0 = the checkpoint's exp(logit_scale), else 100 */
} lmmiqa_extractor_options;

/* Defaults: no weights, no normalisation, the library's threads, clipiqa's
 * defaults. */
LMMIQA_API void lmmiqa_extractor_options_init(lmmiqa_extractor_options *opt);

/* Names of the available extractors, NULL-terminated. */
LMMIQA_API const char *const *lmmiqa_extractor_names(void);

/* Create an extractor by name. `opts` may be NULL for defaults. Unknown
 * names fail with LMMIQA_ERR_INVALID_ARG listing the known ones, as does an
 * options struct whose size was not set. */
LMMIQA_API int lmmiqa_extractor_create(const char *name, const lmmiqa_extractor_options *opts,
                                       lmmiqa_extractor **out);
LMMIQA_API void lmmiqa_extractor_destroy(lmmiqa_extractor *ex);

/* Feature width, canonical name, version, and a JSON object describing the
 * configuration (conventions, sizes, weights checksum). Strings live as long
 * as the extractor. */
LMMIQA_API size_t lmmiqa_extractor_dim(const lmmiqa_extractor *ex);
LMMIQA_API const char *lmmiqa_extractor_name(const lmmiqa_extractor *ex);
LMMIQA_API const char *lmmiqa_extractor_version(const lmmiqa_extractor *ex);
LMMIQA_API const char *lmmiqa_extractor_config_json(const lmmiqa_extractor *ex);

/* Column name of feature i: the extractor's own where its features have
 * meanings (BRISQUE: lmmiqa_brisque_feature_name's "s1_ggd_alpha" ..
 * "s2_d2_r2"; clipiqa: its prompt pairs' names; ALIGN, CNNIQA, MetaIQA:
 * "align1".., "cnniqa1".., "metaiqa1"..), else "f1".."fN" (the CLIP
 * embeddings). The extract CSV header
 * and the store's sidecar use these names. */
LMMIQA_API const char *lmmiqa_extractor_feature_name(const lmmiqa_extractor *ex, size_t i);

LMMIQA_API int lmmiqa_extractor_state_create(const lmmiqa_extractor *ex,
                                             lmmiqa_extractor_state **out);
LMMIQA_API void lmmiqa_extractor_state_destroy(lmmiqa_extractor_state *st);

/* Compute the features of one image into out[dim] (double, so hand-crafted
 * features keep full precision; the feature store keeps float32). */
LMMIQA_API int lmmiqa_extractor_run(const lmmiqa_extractor *ex, lmmiqa_extractor_state *st,
                                    const lmmiqa_image *img, double *out);

#ifdef __cplusplus
}
#endif
#endif
