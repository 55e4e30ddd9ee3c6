/*
 * lmmiqa/cnniqa.h - CNNIQA (Kang et al., CVPR 2014), trained in C.
 *
 * The model: a grey image is cut into non-overlapping 32x32 patches (a grid
 * from the top-left corner; the right/bottom remainder is dropped), each
 * patch is locally contrast-normalised ((I - mu) / (sigma + C) over a 3x3
 * window, C = 1, pixel values 0..255, symmetric boundary), then
 * conv 7x7 x 50 -> global max and min pooling (100) -> FC fc -> ReLU ->
 * dropout -> FC fc -> ReLU -> FC 1. Trained with the L1 loss against the
 * image's MOS (scaled to 0..1) on every patch; an image's score is the mean
 * of its patch scores.
 *
 * Feature: Kang's FC width is 800; the reproduced paper resizes the feature
 * to 512, so the width is a parameter (default 512) and the image feature
 * is the mean over patches of the last hidden layer (after its ReLU), i.e.
 * fc values per image. See docs/cnniqa.md.
 *
 * The extractor "cnniqa" (lmmiqa_extractor_create, needs options.weights =
 * a file written by lmmiqa_cnniqa_train/_save) computes that feature.
 * Training happens per split, on the split's training images only.
 */
#ifndef LMMIQA_CNNIQA_H
#define LMMIQA_CNNIQA_H

#include "lmmiqa/core.h"
#include "lmmiqa/image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lmmiqa_cnniqa_config {
    /* architecture (stored in the weight file) */
    int patch;        /* patch side, 32 */
    int filters;      /* convolution filters, 50 */
    int kernel;       /* convolution kernel side, 7 */
    int fc;           /* hidden width = feature width, 512 (Kang: 800) */
    float dropout;    /* after the first hidden layer, 0.5 */
    /* training */
    int epochs;            /* passes over the training images, 30 */
    int batch;             /* patches per step, 128 */
    int patches_per_image; /* random patches drawn per image per epoch, 0 = all; 32 */
    double lr;             /* Adam learning rate, 1e-3 */
    double weight_decay;   /* 0 */
    uint64_t seed;         /* initialisation, patch sampling, dropout */
    int threads;           /* OpenBLAS threads, 0 = leave as is */
    int verbose;           /* 1: the trainer reports each epoch through `log` */
    void (*log)(void *user, const char *line);
    void *log_user;
} lmmiqa_cnniqa_config;

/* Fill with the defaults above. */
LMMIQA_API void lmmiqa_cnniqa_config_init(lmmiqa_cnniqa_config *cfg);

/* Trained weights plus architecture; immutable once created, shareable. */
typedef struct lmmiqa_cnniqa lmmiqa_cnniqa;

/* A randomly initialised model (torch's default init) from cfg->seed. */
LMMIQA_API int lmmiqa_cnniqa_create(const lmmiqa_cnniqa_config *cfg, lmmiqa_cnniqa **out);
/* Load a weight file written by lmmiqa_cnniqa_save or _train (safetensors
 * with the architecture in its metadata); checks every name and shape. */
LMMIQA_API int lmmiqa_cnniqa_load(const char *path, lmmiqa_cnniqa **out);
LMMIQA_API int lmmiqa_cnniqa_save(const lmmiqa_cnniqa *m, const char *path);
LMMIQA_API void lmmiqa_cnniqa_destroy(lmmiqa_cnniqa *m);
/* The architecture the model was built with. */
LMMIQA_API const lmmiqa_cnniqa_config *lmmiqa_cnniqa_get_config(const lmmiqa_cnniqa *m);
/* Feature width (= fc). */
LMMIQA_API size_t lmmiqa_cnniqa_feature_dim(const lmmiqa_cnniqa *m);

/* Number of patches of a width x height image (0 if smaller than a patch). */
LMMIQA_API size_t lmmiqa_cnniqa_patch_count(int patch, int width, int height);
/* Local contrast normalisation of the patch at grid cell (px, py) of a grey
 * image into out[patch*patch]. */
LMMIQA_API void lmmiqa_cnniqa_patch_lcn(const uint8_t *gray, int width, int patch, int px, int py,
                                        float *out);

/* Per-thread scratch for prediction. */
typedef struct lmmiqa_cnniqa_state lmmiqa_cnniqa_state;
LMMIQA_API int lmmiqa_cnniqa_state_create(const lmmiqa_cnniqa *m, lmmiqa_cnniqa_state **out);
LMMIQA_API void lmmiqa_cnniqa_state_destroy(lmmiqa_cnniqa_state *st);

/* Score (mean patch score, on the 0..1 training scale; NULL to skip) and
 * feature (feature[fc], NULL to skip) of an image. Fails with
 * LMMIQA_ERR_INVALID_ARG for an image smaller than one patch. */
LMMIQA_API int lmmiqa_cnniqa_predict(const lmmiqa_cnniqa *m, lmmiqa_cnniqa_state *st,
                                     const lmmiqa_image *img, double *score, double *feature);

/* Same from a grey image (width*height bytes, row-major). */
LMMIQA_API int lmmiqa_cnniqa_predict_gray(const lmmiqa_cnniqa *m, lmmiqa_cnniqa_state *st,
                                          const uint8_t *gray, int width, int height,
                                          double *score, double *feature);

/* Train a fresh model on n images (paths) with their MOS; targets are
 * (mos - mos_min) / (mos_max - mos_min). With checkpoint_path non-NULL the
 * state (weights, Adam moments, epoch) is saved there after every epoch,
 * and if that file exists training resumes from it (same configuration
 * required). The trained weights are written to weights_out. Deterministic
 * for a given seed and thread count. */
LMMIQA_API int lmmiqa_cnniqa_train(const lmmiqa_cnniqa_config *cfg, const char *const *image_paths,
                                   const double *mos, size_t n, double mos_min, double mos_max,
                                   const char *checkpoint_path, const char *weights_out);

/* Same on images already decoded to grey (gray[i] is width[i] x height[i]);
 * returns the model instead of writing it (out may be NULL when
 * weights_out is given). */
LMMIQA_API int lmmiqa_cnniqa_train_gray(const lmmiqa_cnniqa_config *cfg,
                                        const uint8_t *const *gray, const int *width,
                                        const int *height, const double *mos, size_t n,
                                        double mos_min, double mos_max,
                                        const char *checkpoint_path, const char *weights_out,
                                        lmmiqa_cnniqa **out);

#ifdef __cplusplus
}
#endif
#endif
