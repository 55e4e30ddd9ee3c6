/*
 * tools/cli/default_model.h - the scoring model built into the `lmmiqa`
 * binary, so that `lmmiqa score IMAGE...` works from any directory.
 *
 * CMake turns every models/<name>.safetensors into a C array at configure
 * time (build/generated/embedded_models.c); this looks the default one up.
 */
#ifndef LMMIQA_CLI_DEFAULT_MODEL_H
#define LMMIQA_CLI_DEFAULT_MODEL_H

#include "lmmiqa/regressor.h"

#include <stddef.h>

/* Name (file name without .safetensors) of the default model. */
#define CLI_DEFAULT_MODEL "default-brisque-livec"

/* One embedded file; the generated table ends with a NULL name. */
typedef struct cli_embedded_model {
    const char *name;
    const unsigned char *data;
    size_t size;
} cli_embedded_model;

extern const cli_embedded_model cli_embedded_models[];

/* Load the default model from the binary. LMMIQA_ERR_IO with a message when
 * the binary was built without models/default-brisque-livec.safetensors. */
int cli_default_model_load(lmmiqa_regressor **out);

#endif
