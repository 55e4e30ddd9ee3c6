/*
 * tests/fuzz/fuzz_csv.c - libFuzzer target for label CSVs: the RFC 4180
 * reader and every CSV-based dataset reader behind lmmiqa_dataset_load
 * (generic manifest, livec.csv, KonIQ-10k, SPAQ export, CID2013), through a
 * scratch file; then each loaded row is read back. Seeds: scripts/fuzz.sh
 * (make_seeds).
 */
#include "fuzz_common.h"
#include "lmmiqa/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("labels.csv", data, size);
    if (!path)
        return 0;
    lmmiqa_dataset *ds = NULL;
    int rc = lmmiqa_dataset_load(path, "/nonexistent", &ds);
    fuzz_check_failure(rc);
    if (rc == LMMIQA_OK) {
        if (!ds)
            abort();
        for (size_t i = 0; i < lmmiqa_dataset_size(ds); i++) {
            double mos = lmmiqa_dataset_mos(ds, i);
            if (!lmmiqa_dataset_image(ds, i) || mos != mos) /* a NaN MOS is refused */
                abort();
        }
    } else if (ds) {
        abort();
    }
    lmmiqa_dataset_destroy(ds);
    return 0;
}
