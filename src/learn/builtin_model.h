/*
 * src/learn/builtin_model.h - the quality models compiled into the library.
 *
 * CMake turns every models/<name>.safetensors into a C array at configure
 * time (<build>/generated/embedded_models.c), so the built-in model scores
 * with no file to find at run time, from any directory, in the CLI and in
 * every program linked to the library.
 */
#ifndef LMMIQA_LEARN_BUILTIN_MODEL_H
#define LMMIQA_LEARN_BUILTIN_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* Name (file name without .safetensors) of the built-in scoring model. */
#define LMMIQA__BUILTIN_MODEL "default-nss-livec"

/* Its recipe (lmmiqa_scorer_builtin_recipe; the ablation behind every choice
 * is in docs/default-model.md): the nss features (BRISQUE plus multi-scale,
 * sharpness, noise, blockiness, exposure, colour, local and regional
 * statistics), the MLP head with dropout and a slower, longer schedule than
 * the paper's, and ranking pairs from blurred, noisy and JPEG copies of
 * every training image (RankIQA), which keep scores falling as a photo is
 * degraded. */
#define LMMIQA__BUILTIN_FEATURES "nss"
#define LMMIQA__BUILTIN_HEAD LMMIQA_HEAD_MLP
#define LMMIQA__BUILTIN_HIDDEN 512
#define LMMIQA__BUILTIN_EPOCHS 50
#define LMMIQA__BUILTIN_LR 3e-4
#define LMMIQA__BUILTIN_DROPOUT 0.5
#define LMMIQA__BUILTIN_RANK_IMAGES SIZE_MAX
#define LMMIQA__BUILTIN_RANK_LAMBDA 0.5
#define LMMIQA__BUILTIN_RANK_MARGIN 0.05

/* One embedded file; the generated table ends with a NULL name. */
typedef struct lmmiqa__embedded_model {
    const char *name;
    const unsigned char *data;
    size_t size;
} lmmiqa__embedded_model;

extern const lmmiqa__embedded_model lmmiqa__embedded_models[];

/* The built-in model's entry, or NULL when the library was built without it. */
const lmmiqa__embedded_model *lmmiqa__builtin_model(void);

#endif
