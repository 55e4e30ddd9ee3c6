/*
 * tests/fuzz/fuzz_model.c - libFuzzer target for trained model files (the
 * safetensors container with its checksum, then the regressor's metadata,
 * tensor names, shapes and values); a model that loads must predict one row.
 * Seeds: linear, MLP and SVR models from make_seeds.
 */
#include "fuzz_common.h"
#include "lmmiqa/regressor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lmmiqa_regressor *reg = NULL;
    int rc = lmmiqa_regressor_load_memory(data, size, "fuzz.safetensors", &reg);
    fuzz_check_failure(rc);
    if (rc != LMMIQA_OK) {
        if (reg)
            abort();
        return 0;
    }
    size_t dim = lmmiqa_regressor_dim(reg);
    if (dim <= 4096) {
        float *x = calloc(dim ? dim : 1, sizeof *x);
        double y = 0;
        if (x)
            fuzz_check_failure(lmmiqa_regressor_predict(reg, x, 1, &y));
        free(x);
    }
    lmmiqa_regressor_destroy(reg);
    return 0;
}
