/*
 * tests/fuzz/fuzz_mat.c - libFuzzer target for LIVE Challenge .mat label
 * files (libmatio plus lmmiqa's cell and array checks). The input is written
 * as all three files (AllImages_release.mat, AllMOS_release.mat,
 * AllStdDev_release.mat), so one file holding the three variables - what the
 * seeds are - exercises the whole reader. Seeds: make_seeds.
 */
#include "fuzz_common.h"
#include "lmmiqa/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_file("AllImages_release.mat", data, size) ||
        !fuzz_file("AllStdDev_release.mat", data, size))
        return 0;
    const char *path = fuzz_file("AllMOS_release.mat", data, size);
    if (!path)
        return 0;
    lmmiqa_dataset *ds = NULL;
    int rc = lmmiqa_dataset_load(path, "/nonexistent", &ds);
    fuzz_check_failure(rc);
    if ((rc == LMMIQA_OK) != (ds != NULL))
        abort();
    lmmiqa_dataset_destroy(ds);
    return 0;
}
