/*
 * tests/fuzz/fuzz_pickle.c - libFuzzer target for the restricted pickle
 * machine alone (the data.pkl of a torch checkpoint): any byte string yields
 * a value tree or a clean error; never a crash, leak, hang or a call.
 * Seed: the data.pkl inside tests/data/vit/micro_hps.pt.
 */
#include "io/pickle.h"

#include "lmmiqa/core.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lmmiqa__pickle *p = NULL;
    const lmmiqa__pv *root = NULL;
    int rc = lmmiqa__pickle_load(data, size, &p, &root);
    if ((rc == LMMIQA_OK) != (p != NULL && root != NULL))
        abort();
    lmmiqa__pickle_destroy(p);
    return 0;
}
