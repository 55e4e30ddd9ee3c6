/*
 * tests/fuzz/fuzz_npy.c - libFuzzer target for the .npy reader the feature
 * store uses (header dict, shape, dtype and size checks): a parsed matrix
 * has exactly rows x cols floats. Seeds: make_seeds.
 */
#include "fuzz_common.h"
#include "lmmiqa/advanced/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    float *m = NULL;
    size_t rows = 0, cols = 0;
    int rc = lmmiqa_npy_parse_f32(data, size, "fuzz.npy", &m, &rows, &cols);
    fuzz_check_failure(rc);
    if (rc == LMMIQA_OK) {
        volatile float sum = 0;
        for (size_t i = 0; i < rows * cols; i++)
            sum += m[i]; /* ASan catches a short buffer */
        (void)sum;
    } else if (m) {
        abort();
    }
    free(m);
    return 0;
}
