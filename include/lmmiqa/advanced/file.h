/*
 * lmmiqa/advanced/file.h - the atomic file writer lmmiqa writes every output
 * with, and the folder maker every output folder is made with (advanced
 * tier: may change between minor versions).
 *
 * Why public: companion libraries built on liblmmiqa (liblmmiqa-plot, which
 * keeps cairo out of the core library) write their files with the same
 * guarantee as the core, through this one implementation, instead of a
 * second copy of the temporary-file / fsync / rename protocol that the
 * fault-injection tests (tests/test_fault.c) would not reach. Programs that
 * write result files which other processes read may use it too.
 */
#ifndef LMMIQA_ADVANCED_FILE_H
#define LMMIQA_ADVANCED_FILE_H

#include "lmmiqa/core.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Write `size` bytes to `path` atomically: a temporary file beside it
 * ("<path>.tmp.<pid>"), fsync, rename over `path`, fsync of the folder.
 * Readers see the old content or the new, never a torn file, and a failure
 * (LMMIQA_ERR_IO, naming the file and the step) leaves no temporary file
 * behind. Concurrent writers of one path from one process must serialise. */
LMMIQA_API int lmmiqa_file_write_atomic(const char *path, const void *data, size_t size);

/* mkdir -p: create the folder `path` and every missing parent (mode 0777
 * less the umask); folders that exist already are fine. With parents_only,
 * `path` names a file and only the folders leading to it are made. Fails
 * with LMMIQA_ERR_IO naming the first folder that could not be made and
 * why (a file in the way, no permission), LMMIQA_ERR_TOO_LARGE for a path
 * over 4095 bytes. */
LMMIQA_API int lmmiqa_file_mkdirs(const char *path, int parents_only);

#ifdef __cplusplus
}
#endif
#endif
