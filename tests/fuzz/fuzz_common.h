/*
 * tests/fuzz/fuzz_common.h - what the file-based fuzz targets share: readers
 * that only take a path (libzip, matio, the dataset loader) get the input
 * through a scratch file in a private temporary folder, made on first use and
 * removed at exit. Each target checks the library's contract on every input:
 * success, or a failure status with a message; never a crash, leak or hang.
 */
#ifndef LMMIQA_FUZZ_COMMON_H
#define LMMIQA_FUZZ_COMMON_H

#include "lmmiqa/core.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[64];
static char fuzz_files[4][128];
static int fuzz_n_files;

static inline void fuzz_cleanup(void)
{
    for (int i = 0; i < fuzz_n_files; i++)
        unlink(fuzz_files[i]);
    if (fuzz_dir[0])
        rmdir(fuzz_dir);
}

/* The path of scratch file `name` holding data[size]; NULL if it cannot be
 * written (the input is then skipped). At most 4 names per target. */
static inline const char *fuzz_file(const char *name, const uint8_t *data, size_t size)
{
    if (!fuzz_dir[0]) {
        snprintf(fuzz_dir, sizeof fuzz_dir, "/tmp/lmmiqa_fuzz_XXXXXX");
        if (!mkdtemp(fuzz_dir)) {
            fuzz_dir[0] = '\0';
            return NULL;
        }
        atexit(fuzz_cleanup);
    }
    int slot = -1;
    char path[128];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir, name);
    for (int i = 0; i < fuzz_n_files; i++)
        if (strcmp(fuzz_files[i], path) == 0)
            slot = i;
    if (slot < 0) {
        if (fuzz_n_files == 4)
            return NULL;
        slot = fuzz_n_files++;
        memcpy(fuzz_files[slot], path, sizeof path);
    }
    FILE *f = fopen(fuzz_files[slot], "wb");
    if (!f)
        return NULL;
    int ok = fwrite(data, 1, size, f) == size;
    ok &= fclose(f) == 0;
    return ok ? fuzz_files[slot] : NULL;
}

/* A failed call must leave a message. */
static inline void fuzz_check_failure(int rc)
{
    if (rc != LMMIQA_OK && !lmmiqa_error_message()[0])
        abort();
}

#endif
