/*
 * tools/cli/default_model.c - find and load the embedded default model
 * (see default_model.h). The bytes are parsed in place, never written out.
 */
#include "default_model.h"

#include "core/internal.h"

#include <string.h>

int cli_default_model_load(lmmiqa_regressor **out)
{
    *out = NULL;
    for (const cli_embedded_model *m = cli_embedded_models; m->name; m++)
        if (strcmp(m->name, CLI_DEFAULT_MODEL) == 0)
            return lmmiqa_regressor_load_memory(m->data, m->size, CLI_DEFAULT_MODEL, out);
    return lmmiqa__fail(LMMIQA_ERR_IO,
                        "this lmmiqa was built without models/%s.safetensors; pass --model FILE",
                        CLI_DEFAULT_MODEL);
}
