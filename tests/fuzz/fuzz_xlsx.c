/*
 * tests/fuzz/fuzz_xlsx.c - libFuzzer target for .xlsx label files (libzip,
 * the expat workbook/relationships/shared-strings/sheet parsers and the SPAQ
 * reader) through lmmiqa_dataset_load on a scratch file. Seeds: a minimal
 * SPAQ-shaped workbook from make_seeds (the one tests/test_dataset.c builds).
 */
#include "fuzz_common.h"
#include "lmmiqa/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("labels.xlsx", data, size);
    if (!path)
        return 0;
    lmmiqa_dataset *ds = NULL;
    int rc = lmmiqa_dataset_load(path, "/nonexistent", &ds);
    fuzz_check_failure(rc);
    if ((rc == LMMIQA_OK) != (ds != NULL))
        abort();
    for (size_t i = 0; ds && i < lmmiqa_dataset_size(ds); i++)
        if (!lmmiqa_dataset_image(ds, i))
            abort();
    lmmiqa_dataset_destroy(ds);
    return 0;
}
