/*
 * lmmiqa/scorer.h - score images exactly as `lmmiqa score` does.
 *
 * A scorer is a quality model ready to run on images: it owns the feature
 * extractors its model needs and the model itself. Five kinds:
 *   - the built-in model (no file to download): compiled into the library;
 *   - a model written by `lmmiqa train` (lmmiqa_regressor file): its metadata
 *     names the feature spec, e.g. "clip-vit-b16+brisque", and the scorer
 *     creates those extractors (with the weight files given in the options);
 *   - the classic BRISQUE SVR from libsvm files (allmodel + allrange);
 *   - CLIP-IQA zero-shot (zero_shot = "clip"): no trained head, the score is
 *     the softmax probability of "Good photo." against "Bad photo." (or the
 *     first pair of `prompts`) under a CLIP checkpoint with its text tower,
 *     given as the weights of extractor "clipiqa" (or, when it has
 *     none, of "clip-vit-b16"; docs/clipiqa.md);
 *   - a trained model's own score (own_score = "cnniqa" or "metaiqa"): no
 *     regressor, the score is the model's own prediction (CNNIQA: the mean
 *     of its patch scores; MetaIQA: its head's output) on its 0..1 training
 *     scale (the MOS mapped to 0..1 by the training dataset's nominal
 *     range), from the weight file `lmmiqa fit` wrote, given as the
 *     extractor's weights. It is the score `lmmiqa eval --model-score`
 *     reports before mapping it back to MOS (lo + score * (hi - lo)).
 * Every score comes with its scale: lmmiqa_scorer_scale() tells the range and
 * whether higher is better (MOS models: higher is better; BRISQUE: lower).
 *
 * Model vs state: a scorer is immutable once created and may be shared by
 * threads; each thread scores with its own lmmiqa_scorer_state (scratch
 * memory of every extractor, allocated once and reused). A score does not
 * depend on which or how many other images are scored with it:
 * lmmiqa_scorer_run on one image and lmmiqa_scorer_run_files on a batch give
 * bit-identical numbers.
 *
 * Example (error handling shortened):
 *     lmmiqa_scorer_options o;
 *     lmmiqa_scorer_options_init(&o);          // the built-in model
 *     lmmiqa_scorer *sc; lmmiqa_scorer_state *st; lmmiqa_image *img;
 *     lmmiqa_scorer_create(&o, &sc);
 *     lmmiqa_scorer_state_create(sc, &st);
 *     lmmiqa_image_load("photo.jpg", &img);
 *     double q;
 *     if (lmmiqa_scorer_run(sc, st, img, &q, NULL) != LMMIQA_OK)
 *         fprintf(stderr, "%s\n", lmmiqa_error_message());
 */
#ifndef LMMIQA_SCORER_H
#define LMMIQA_SCORER_H

#include "lmmiqa/core.h"
#include "lmmiqa/regressor.h"
#include "lmmiqa/image.h"
#include "lmmiqa/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lmmiqa_scorer lmmiqa_scorer;
typedef struct lmmiqa_scorer_state lmmiqa_scorer_state;

/* Options of lmmiqa_scorer_create. Always start from
 * lmmiqa_scorer_options_init(): it sets `size`, through which later versions
 * of the library add fields without breaking programs built against this
 * one (fields past `size` take their defaults). */
typedef struct lmmiqa_scorer_options {
    size_t size;             /* sizeof(lmmiqa_scorer_options), set by _init */
    const char *model;       /* file written by `lmmiqa train`; NULL: built-in model */
    const char *svr_model;   /* classic BRISQUE: libsvm model file ... */
    const char *svr_range;   /* ... and its svm-scale range file (both or neither) */
    int svr_flags;           /* LMMIQA_BRISQUE_MATLAB_IO or 0 */
    size_t n_weights;        /* weight files of learned extractors: */
    const char *const *weights_names; /* extractor names, n_weights of them */
    const char *const *weights_files; /* matching files */
    int extractor_threads;   /* threads inside one extraction (0: 1, the right
                                choice when images are scored in parallel) */
    /* Added in 0.2 (past the fields above; older callers' `size` leaves them NULL). */
    const char *zero_shot;   /* "clip": CLIP-IQA zero-shot; NULL: a trained head */
    const char *vocab;       /* clipiqa: CLIP BPE vocabulary (NULL: beside the weights) */
    const char *prompts;     /* clipiqa: prompt-pair file (NULL: the built-in pairs) */
    double logit_scale;      /* clipiqa: softmax scale (0: the checkpoint's) */
    /* Added after the 0.2 fields (an older caller's `size` leaves it NULL). */
    const char *own_score;   /* "cnniqa" or "metaiqa": that trained model's own
                                score, its weight file among the weights;
                                NULL: another kind. Alone: not with model,
                                svr_model/svr_range or zero_shot */
} lmmiqa_scorer_options;

/* Defaults: the built-in model, no weight files, one thread per extraction. */
LMMIQA_API void lmmiqa_scorer_options_init(lmmiqa_scorer_options *opt);

/* Load the model and create the extractors it needs. opt may be NULL for the
 * built-in model. Fails with LMMIQA_ERR_INVALID_ARG for contradictory options
 * (two kinds at once, e.g. model and svr_model, or own_score with any other;
 * svr_model without svr_range; own_score naming an extractor without a score
 * of its own, or without a weight file among the weights), and with the
 * loaders' statuses (the message names the file) otherwise. */
LMMIQA_API int lmmiqa_scorer_create(const lmmiqa_scorer_options *opt, lmmiqa_scorer **out);
LMMIQA_API void lmmiqa_scorer_destroy(lmmiqa_scorer *sc); /* NULL is a no-op */

/* The name of the built-in model (e.g. "default-nss-livec"). */
LMMIQA_API const char *lmmiqa_scorer_builtin_name(void);

/* The built-in model's recipe: the feature spec it reads (returned, a static
 * string), its regressor settings (cfg filled from
 * lmmiqa_regressor_config_init plus the recipe's head, its settings and the
 * ranking term's weight and margin) and *rank_images, the number of training
 * images whose synthetic distortions give ranking pairs (SIZE_MAX: every
 * one; 0: none; `--rank-augment`, docs/regressor.md). `lmmiqa eval
 * --features default` evaluates exactly this recipe with the paper's
 * protocol and scripts/train-default-model.sh trains it on all of LIVE
 * Challenge (docs/default-model.md gives the figures and the ablation behind
 * each choice). cfg and rank_images may be NULL. */
LMMIQA_API const char *lmmiqa_scorer_builtin_recipe(lmmiqa_regressor_config *cfg,
                                                    size_t *rank_images);

/* Identity: a name (the built-in model's name, the model file's base name,
 * "brisque-svr", "clipiqa-zero-shot" or "<extractor>-own-score", e.g.
 * "cnniqa-own-score"), the feature spec ("brisque", "clip-vit-b16+brisque";
 * own score: the extractor's name) and the SHA-256 of the model's bytes (for
 * the SVR: of the model file followed by the range file; own score: of the
 * weight file), 64 hex digits. Strings live as long as the scorer. */
LMMIQA_API const char *lmmiqa_scorer_name(const lmmiqa_scorer *sc);
LMMIQA_API const char *lmmiqa_scorer_features(const lmmiqa_scorer *sc);
LMMIQA_API const char *lmmiqa_scorer_sha256(const lmmiqa_scorer *sc);

/* Width of the feature vector the model reads (sum over its extractors; own
 * score: the extractor's width, e.g. cnniqa's fc). */
LMMIQA_API size_t lmmiqa_scorer_dim(const lmmiqa_scorer *sc);

/* The score's scale: [min, max] and its direction (1: higher is better).
 * Any pointer may be NULL. */
LMMIQA_API void lmmiqa_scorer_scale(const lmmiqa_scorer *sc, double *min, double *max,
                                    int *higher_is_better);

/* A JSON object with all of the above plus the model's own metadata:
 * {"name","features","sha256","dim","scale":{"min","max","higher_is_better"},
 *  "kind":"builtin"|"model"|"brisque-svr"|"zero-shot"|"own-score",
 *  "metadata":{...}}.
 * Zero-shot: name "clipiqa-zero-shot", scale [0, 1] higher is better, and
 * the SHA-256 is of the clipiqa configuration (which records the hashes of
 * the weights, the vocabulary and the prompts). Own score: name
 * "<extractor>-own-score", scale [0, 1] (the training targets' range; a
 * model with a linear output, as CNNIQA, can step slightly outside it)
 * higher is better, the SHA-256 of the weight file, no metadata. */
LMMIQA_API const char *lmmiqa_scorer_info_json(const lmmiqa_scorer *sc);

/* Warnings found at creation ("" when none): e.g. the model was trained on
 * features of another extractor version or configuration, so its scores may
 * be off. The library does not print them; callers may. */
LMMIQA_API const char *lmmiqa_scorer_warnings(const lmmiqa_scorer *sc);

LMMIQA_API int lmmiqa_scorer_state_create(const lmmiqa_scorer *sc, lmmiqa_scorer_state **out);
LMMIQA_API void lmmiqa_scorer_state_destroy(lmmiqa_scorer_state *st); /* NULL is a no-op */

/* Score one decoded image. features (may be NULL) receives the
 * lmmiqa_scorer_dim() features the model read, in spec order (own score:
 * the extractor's features, which cost a second pass over the image). */
LMMIQA_API int lmmiqa_scorer_run(const lmmiqa_scorer *sc, lmmiqa_scorer_state *st,
                                 const lmmiqa_image *img, double *score, double *features);

/* Score n image files in parallel (opt->jobs workers, 0 = all cores; the
 * progress and on_error callbacks of opt are called as by
 * lmmiqa_store_compute; opt may be NULL). scores[i] and status[i] for
 * paths[i]; a failed image has NAN and its status. Returns LMMIQA_OK when
 * every image was scored, else the first failed image's status with a
 * message counting the failures; LMMIQA_ERR_NOMEM/INTERNAL mean the batch
 * stopped. */
LMMIQA_API int lmmiqa_scorer_run_files(const lmmiqa_scorer *sc, size_t n,
                                       const char *const *paths,
                                       const lmmiqa_store_options *opt, double *scores,
                                       int *status);

#ifdef __cplusplus
}
#endif
#endif
