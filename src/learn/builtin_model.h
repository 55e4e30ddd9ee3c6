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

/* Name (file name without .safetensors) of the built-in scoring model. */
#define LMMIQA__BUILTIN_MODEL "default-brisque-livec"

/* The recipe of the built-in model's successor (lmmiqa_scorer_builtin_recipe,
 * `--features default`; docs/default-model.md): not embedded yet because it
 * fails the demo's monotonicity check (tests/cli/demo_monotone.sh). The nss features (BRISQUE plus colour,
 * sharpness, noise, blockiness, exposure and local statistics) and an RBF
 * SVR on standardised features. */
#define LMMIQA__BUILTIN_FEATURES "nss"
#define LMMIQA__BUILTIN_SVR_C 1.0
#define LMMIQA__BUILTIN_SVR_GAMMA 0.0024
#define LMMIQA__BUILTIN_SVR_EPSILON 0.05

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
