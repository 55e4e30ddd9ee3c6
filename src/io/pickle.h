/*
 * src/io/pickle.h - a restricted pickle reader for PyTorch state dicts.
 *
 * It interprets the opcodes that torch.save emits for dictionaries of
 * tensors (protocols 2-5) and builds a tree of plain values. It never
 * imports or calls anything: GLOBAL/STACK_GLOBAL resolve only to an
 * allow-list (collections.OrderedDict, torch._utils._rebuild_tensor_v2,
 * torch._utils._rebuild_parameter(_with_state), torch.<T>Storage), REDUCE
 * applies only those, BINPERSID yields storage references, BUILD is accepted
 * only on dictionaries (where it carries the _metadata attribute, ignored).
 * Every other opcode or global fails with an error naming it and its byte
 * offset. Resource limits bound the value count, nesting and memo size.
 */
#ifndef LMMIQA_IO_PICKLE_H
#define LMMIQA_IO_PICKLE_H

#include "io/safetensors.h"

#include <stddef.h>
#include <stdint.h>

typedef enum lmmiqa__pv_type {
    LMMIQA__PV_NONE,
    LMMIQA__PV_BOOL,
    LMMIQA__PV_INT,
    LMMIQA__PV_FLOAT,
    LMMIQA__PV_STR,
    LMMIQA__PV_TUPLE,
    LMMIQA__PV_LIST,
    LMMIQA__PV_DICT,    /* items: key, value, key, value, ... */
    LMMIQA__PV_GLOBAL,  /* an allowed global (callable or storage type) */
    LMMIQA__PV_STORAGE, /* from a persistent id */
    LMMIQA__PV_TENSOR
} lmmiqa__pv_type;

typedef enum lmmiqa__pv_global {
    LMMIQA__G_ORDERED_DICT,
    LMMIQA__G_REBUILD_TENSOR_V2,
    LMMIQA__G_REBUILD_PARAMETER,
    LMMIQA__G_REBUILD_PARAMETER_STATE,
    LMMIQA__G_STORAGE_TYPE /* dtype in pv.dtype */
} lmmiqa__pv_global;

typedef struct lmmiqa__pv lmmiqa__pv;
struct lmmiqa__pv {
    lmmiqa__pv_type type;
    int64_t i;            /* BOOL, INT; GLOBAL: lmmiqa__pv_global */
    double f;             /* FLOAT */
    const char *s;        /* STR (NUL-terminated, may contain NULs: len) */
    size_t len;           /* STR length; TUPLE/LIST/DICT item count */
    lmmiqa__pv **items;   /* TUPLE/LIST/DICT */
    size_t cap;
    lmmiqa_dtype dtype;   /* GLOBAL storage type, STORAGE, TENSOR */
    /* STORAGE: key in s, element count in i. TENSOR: */
    const lmmiqa__pv *storage;
    int64_t offset;
    int ndim;
    int64_t shape[LMMIQA_TENSOR_MAX_DIMS];
    int64_t stride[LMMIQA_TENSOR_MAX_DIMS];
};

typedef struct lmmiqa__pickle lmmiqa__pickle;

/* Run the pickle in data[size]; *root is the unpickled object, owned by the
 * returned handle. Fails with LMMIQA_ERR_FORMAT (refused opcode or global)
 * or LMMIQA_ERR_CORRUPT (truncated, stack misuse, bad arguments). */
int lmmiqa__pickle_load(const unsigned char *data, size_t size, lmmiqa__pickle **out,
                        const lmmiqa__pv **root);
void lmmiqa__pickle_destroy(lmmiqa__pickle *p);

#endif
