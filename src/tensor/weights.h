/*
 * src/tensor/weights.h - one read interface over the weight file formats:
 * safetensors and PyTorch zip checkpoints (restricted unpickler). Model
 * loaders ask for tensors by name, get their dtype and shape, read them as
 * contiguous float32, and finally ask which tensors they never touched.
 */
#ifndef LMMIQA_TENSOR_WEIGHTS_H
#define LMMIQA_TENSOR_WEIGHTS_H

#include "io/safetensors.h"

typedef struct lmmiqa__weights lmmiqa__weights;

/* Open by content: safetensors, or a zip (torch.save). `prefix` selects a
 * sub-dictionary of a torch checkpoint ("state_dict"); NULL = automatic
 * (the top level, or "state_dict" when the top level holds no tensors). */
int lmmiqa__weights_open(const char *path, const char *prefix, lmmiqa__weights **out);
void lmmiqa__weights_close(lmmiqa__weights *w);
const char *lmmiqa__weights_path(const lmmiqa__weights *w);
const char *lmmiqa__weights_format(const lmmiqa__weights *w); /* "safetensors" / "torch zip" */

size_t lmmiqa__weights_count(const lmmiqa__weights *w);
/* Name of tensor i (valid while open). */
const char *lmmiqa__weights_name(const lmmiqa__weights *w, size_t i);
/* dtype and shape (info->data may be NULL for formats read on demand);
 * 0 if present, LMMIQA_ERR_MISMATCH naming the tensor if absent. Marks the
 * tensor used. */
int lmmiqa__weights_find(lmmiqa__weights *w, const char *name, lmmiqa_tensor_info *info);
int lmmiqa__weights_has(const lmmiqa__weights *w, const char *name);
/* Check the tensor's shape equals shape[ndim] and read it as float32 into
 * out[numel]. Errors name the tensor, the shape found and the one wanted. */
int lmmiqa__weights_read(lmmiqa__weights *w, const char *name, int ndim, const int64_t *shape,
                         float *out);
/* Zero-copy loading. mappable: the file is a memory-mapped safetensors file
 * whose floating-point tensors are all F32 and 4-byte aligned on a
 * little-endian host, so a model may use them in place. map: check the
 * shape as _read does and point *out at the tensor's floats inside the
 * mapping (valid until lmmiqa__weights_close); an error if it is not usable
 * in place. */
int lmmiqa__weights_mappable(const lmmiqa__weights *w);
int lmmiqa__weights_map(lmmiqa__weights *w, const char *name, int ndim, const int64_t *shape,
                        const float **out);

/* Tensors that no load step used and for which belongs(name, ctx) is 1:
 * LMMIQA_ERR_MISMATCH naming up to four of them ("<file>: N unexpected
 * tensors in <where>: a, b, ..."), else 0. */
int lmmiqa__weights_check_unused(lmmiqa__weights *w, const char *where,
                                 int (*belongs)(const char *name, const void *ctx),
                                 const void *ctx);

/* Whether tensor i was looked up. */
int lmmiqa__weights_used(const lmmiqa__weights *w, size_t i);

#endif
