/*
 * lmmiqa/torchzip.h - read tensors from PyTorch checkpoints (torch.save zip
 * format, PyTorch >= 1.6: .pt, .pth, .bin) without Python and without
 * executing anything.
 *
 * The archive is opened with libzip; its data.pkl is interpreted by a
 * restricted pickle machine that knows only what state dicts need: dicts,
 * lists, tuples, strings, numbers, booleans, None, the memo, persistent ids
 * for storages, and calls to an allow-list of globals
 * (collections.OrderedDict, torch._utils._rebuild_tensor_v2,
 * torch._utils._rebuild_parameter, torch.*Storage types). Any other opcode
 * or global is refused with an error naming it. Nested dictionaries are
 * flattened with '.', so {'state_dict': {'visual.proj': t}} yields
 * "state_dict.visual.proj"; a prefix selects a sub-dictionary and strips its
 * name (prefix "state_dict" yields "visual.proj").
 *
 * Tensors keep their storage, offset, shape and strides; reading converts
 * them (F32, F16, BF16, F64, integer types) into a contiguous float32 copy.
 * Storages are read from the archive on demand, so opening is cheap and
 * reading one tensor does not load the whole checkpoint.
 */
#ifndef LMMIQA_TORCHZIP_H
#define LMMIQA_TORCHZIP_H

#include "lmmiqa/core.h"
#include "io/safetensors.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lmmiqa_torch_tensor_info {
    lmmiqa_tensor_info info; /* name, dtype, ndim, shape, numel; data = NULL, nbytes = numel x size */
    int64_t stride[LMMIQA_TENSOR_MAX_DIMS]; /* in elements */
    int64_t storage_offset;                 /* in elements */
    const char *storage_key;                /* archive entry <root>/data/<key> */
} lmmiqa_torch_tensor_info;

typedef struct lmmiqa_torchzip lmmiqa_torchzip;

/* Open a checkpoint. prefix: NULL = everything, or when the top level holds
 * no tensors but a "state_dict" entry does, that entry; "" = everything;
 * else only tensors under that dict key (name prefix "<prefix>." stripped),
 * LMMIQA_ERR_MISMATCH if none. */
int lmmiqa_torchzip_open(const char *path, const char *prefix,
                                    lmmiqa_torchzip **out);
/* Same over a caller-owned buffer that must outlive the handle (fuzzing). */
int lmmiqa_torchzip_open_memory(const void *data, size_t size, const char *prefix,
                                           lmmiqa_torchzip **out);
void lmmiqa_torchzip_close(lmmiqa_torchzip *tz);

size_t lmmiqa_torchzip_count(const lmmiqa_torchzip *tz);
int lmmiqa_torchzip_get(const lmmiqa_torchzip *tz, size_t index,
                                   lmmiqa_torch_tensor_info *info);
/* LMMIQA_ERR_MISMATCH naming the tensor when absent. */
int lmmiqa_torchzip_find(const lmmiqa_torchzip *tz, const char *name,
                                    lmmiqa_torch_tensor_info *info);
/* Contiguous float32 copy of a tensor into out[count]; count must equal numel.
 * Fails cleanly (LMMIQA_ERR_CORRUPT) when the strides reach outside the
 * storage or the storage entry is missing or of the wrong size. */
int lmmiqa_torchzip_read_f32(lmmiqa_torchzip *tz, const char *name, float *out,
                                        size_t count);

#ifdef __cplusplus
}
#endif
#endif
