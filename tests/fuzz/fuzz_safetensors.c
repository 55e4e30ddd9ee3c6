/*
 * tests/fuzz/fuzz_safetensors.c - libFuzzer target for the safetensors
 * header parser: any byte string must open to a fully readable file (every
 * tensor inside the buffer, convertible to float32) or fail with a status
 * and message; never crash, leak or hang. Seed: tests/data/vit/st_reference.safetensors.
 */
#include "io/safetensors.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lmmiqa_safetensors *st = NULL;
    if (lmmiqa_safetensors_open_memory(data, size, &st) != LMMIQA_OK) {
        if (st || !lmmiqa_error_message()[0])
            abort();
        return 0;
    }
    for (size_t i = 0; i < lmmiqa_safetensors_count(st); i++) {
        lmmiqa_tensor_info t;
        if (lmmiqa_safetensors_get(st, i, &t) != LMMIQA_OK)
            abort();
        if ((const uint8_t *)t.data < data || (const uint8_t *)t.data + t.nbytes > data + size)
            abort();
        float *v = malloc((t.numel + 1) * sizeof *v);
        if (v && lmmiqa_safetensors_read_f32(st, t.name, v, t.numel) != LMMIQA_OK)
            abort();
        free(v);
    }
    lmmiqa_safetensors_close(st);
    return 0;
}
