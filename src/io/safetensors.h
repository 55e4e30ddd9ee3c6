/*
 * lmmiqa/safetensors.h - read and write Hugging Face safetensors files.
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON mapping each
 * tensor name to {dtype, shape, data_offsets} (plus an optional
 * "__metadata__" object of string values), then the raw little-endian data.
 * Reading memory-maps the file and validates the header completely before
 * any tensor is touched: offsets inside the file and non-overlapping, byte
 * counts equal to shape x dtype size, a header size limit. F16, BF16, F32 and
 * F64 tensors convert to float32 on read.
 */
#ifndef LMMIQA_SAFETENSORS_H
#define LMMIQA_SAFETENSORS_H

#include "lmmiqa/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LMMIQA_TENSOR_MAX_DIMS 8

typedef enum lmmiqa_dtype {
    LMMIQA_DTYPE_F32 = 0,
    LMMIQA_DTYPE_F16 = 1,
    LMMIQA_DTYPE_BF16 = 2,
    LMMIQA_DTYPE_F64 = 3,
    LMMIQA_DTYPE_I64 = 4,
    LMMIQA_DTYPE_I32 = 5,
    LMMIQA_DTYPE_U8 = 6,
    LMMIQA_DTYPE_I8 = 7,
    LMMIQA_DTYPE_BOOL = 8
} lmmiqa_dtype;

typedef struct lmmiqa_tensor_info {
    const char *name;  /* valid while the file is open */
    lmmiqa_dtype dtype;
    int ndim;
    int64_t shape[LMMIQA_TENSOR_MAX_DIMS];
    size_t numel;
    const void *data;  /* raw bytes inside the mapping */
    size_t nbytes;
} lmmiqa_tensor_info;

typedef struct lmmiqa_safetensors lmmiqa_safetensors;

/* Open and validate; the file stays mapped until close. A file whose
 * metadata carries "lmmiqa.data_sha256" (all files lmmiqa writes) must match
 * it, else LMMIQA_ERR_CORRUPT. */
int lmmiqa_safetensors_open(const char *path, lmmiqa_safetensors **out);
/* Same, over a caller-owned buffer that must outlive the handle (used by fuzzing). */
int lmmiqa_safetensors_open_memory(const void *data, size_t size,
                                              lmmiqa_safetensors **out);
void lmmiqa_safetensors_close(lmmiqa_safetensors *st);

size_t lmmiqa_safetensors_count(const lmmiqa_safetensors *st);
int lmmiqa_safetensors_get(const lmmiqa_safetensors *st, size_t index,
                                      lmmiqa_tensor_info *info);
/* LMMIQA_ERR_MISMATCH naming the tensor when absent. */
int lmmiqa_safetensors_find(const lmmiqa_safetensors *st, const char *name,
                                       lmmiqa_tensor_info *info);
/* Convert a tensor to float32 into out[count]; count must equal numel. */
int lmmiqa_safetensors_read_f32(const lmmiqa_safetensors *st, const char *name,
                                           float *out, size_t count);
/* A "__metadata__" string value, or NULL. */
const char *lmmiqa_safetensors_metadata(const lmmiqa_safetensors *st,
                                                   const char *key);

typedef struct lmmiqa_safetensors_writer lmmiqa_safetensors_writer;

int lmmiqa_safetensors_writer_create(lmmiqa_safetensors_writer **out);
void lmmiqa_safetensors_writer_destroy(lmmiqa_safetensors_writer *w);
/* Add a tensor (the data are copied). dtype F32, F16 (data given as float,
 * rounded to nearest even) or BF16 likewise. */
int lmmiqa_safetensors_writer_add(lmmiqa_safetensors_writer *w, const char *name,
                                             lmmiqa_dtype dtype, const float *data, int ndim,
                                             const int64_t *shape);
int lmmiqa_safetensors_writer_set_metadata(lmmiqa_safetensors_writer *w,
                                                      const char *key, const char *value);
/* Write atomically (temporary file, fsync, rename), with the SHA-256 of the
 * tensor data in the metadata as "lmmiqa.data_sha256". */
int lmmiqa_safetensors_writer_save(lmmiqa_safetensors_writer *w, const char *path);

#ifdef __cplusplus
}
#endif
#endif
