/*
 * tests/fuzz/fuzz_torchzip.c - libFuzzer target for PyTorch zip checkpoints
 * (libzip + the restricted unpickler + storage/stride validation): any byte
 * string must open to a checkpoint whose every tensor reads, or fail with a
 * status and message; never crash, leak, hang or run anything. Seed:
 * tests/data/vit/micro_hps.pt.
 */
#include "io/torchzip.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lmmiqa_torchzip *tz = NULL;
    if (lmmiqa_torchzip_open_memory(data, size, NULL, &tz) != LMMIQA_OK) {
        if (tz || !lmmiqa_error_message()[0])
            abort();
        return 0;
    }
    for (size_t i = 0; i < lmmiqa_torchzip_count(tz); i++) {
        lmmiqa_torch_tensor_info t;
        if (lmmiqa_torchzip_get(tz, i, &t) != LMMIQA_OK)
            abort();
        if (t.info.numel > (1u << 22))
            continue; /* a declared (compressed) storage may be huge; reading it is legal */
        float *v = malloc((t.info.numel + 1) * sizeof *v);
        if (v)
            lmmiqa_torchzip_read_f32(tz, t.info.name, v, t.info.numel);
        free(v);
    }
    lmmiqa_torchzip_close(tz);
    return 0;
}
