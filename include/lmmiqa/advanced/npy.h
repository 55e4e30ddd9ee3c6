/*
 * lmmiqa/advanced/npy.h - NumPy .npy files of 2-D float32 matrices (advanced tier:
 * may change between minor versions).
 *
 * Why: the feature store keeps one matrix per extractor (rows = images in
 * manifest order, columns = features) in the format every Python user can
 * open with numpy.load(), so stored features can be checked or reused
 * outside lmmiqa.
 *
 * Writing produces exactly what numpy.save() writes for a C-ordered float32
 * array: format version 1.0, magic "\x93NUMPY", a little-endian uint16
 * header length, the header dict
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (R, C), }
 * padded with spaces and ended by '\n' so that the data starts at a multiple
 * of 64 bytes, then R*C little-endian float32 values row by row.
 *
 * Reading accepts versions 1.0, 2.0 and 3.0, descr '<f4' or '<f8' (float64
 * is converted to float32), C or Fortran order, and shapes (R, C), (R,) (one
 * column) and () (one value). Anything else, a short file or trailing bytes
 * fail with a message naming the file.
 */
#ifndef LMMIQA_ADVANCED_NPY_H
#define LMMIQA_ADVANCED_NPY_H

#include "lmmiqa/core.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest header (bytes, including magic and length field) we write or read. */
#define LMMIQA_NPY_MAX_HEADER 65536u

/* Encode a rows x cols float32 matrix (row-major) as .npy bytes into a fresh
 * buffer (caller frees). rows or cols may be 0. */
LMMIQA_API int lmmiqa_npy_encode_f32(const float *data, size_t rows, size_t cols, unsigned char **out,
                           size_t *size);

/* Write a rows x cols float32 matrix to `path` atomically (temporary file,
 * fsync, rename). */
LMMIQA_API int lmmiqa_npy_write_f32(const char *path, const float *data, size_t rows, size_t cols);

/* Parse .npy bytes; `name` is used in messages. On success *data is a fresh
 * rows x cols row-major float32 buffer (caller frees; NULL when empty). */
LMMIQA_API int lmmiqa_npy_parse_f32(const void *bytes, size_t size, const char *name, float **data,
                          size_t *rows, size_t *cols);

/* Read a .npy file (see lmmiqa_npy_parse_f32). */
LMMIQA_API int lmmiqa_npy_read_f32(const char *path, float **data, size_t *rows, size_t *cols);

#ifdef __cplusplus
}
#endif
#endif
