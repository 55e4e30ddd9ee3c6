/*
 * tests/fuzz/fuzz_splits.c - libFuzzer target for split files (lmmiqa's own
 * splits.json and pyiqa's layout): every split that parses has indices below
 * n and disjoint parts. Seeds: make_seeds.
 */
#include "fuzz_common.h"
#include "lmmiqa/splits.h"

#define N 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lmmiqa_splits *s = NULL;
    int rc = lmmiqa_splits_parse_json((const char *)data, size, "fuzz.json", N, &s);
    fuzz_check_failure(rc);
    if (rc != LMMIQA_OK) {
        if (s)
            abort();
        return 0;
    }
    for (size_t k = 0; k < lmmiqa_splits_count(s); k++) {
        const lmmiqa_split *sp = lmmiqa_splits_get(s, k);
        unsigned char seen[N] = {0};
        const size_t *parts[3] = {sp->train, sp->val, sp->test};
        size_t counts[3] = {sp->n_train, sp->n_val, sp->n_test};
        for (int p = 0; p < 3; p++)
            for (size_t i = 0; i < counts[p]; i++) {
                if (parts[p][i] >= N || seen[parts[p][i]])
                    abort();
                seen[parts[p][i]] = 1;
            }
    }
    lmmiqa_splits_destroy(s);
    return 0;
}
