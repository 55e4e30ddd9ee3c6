/*
 * src/tensor/dnnl_util.h - the one oneDNN CPU engine of the library (created
 * once, shared by the matrix products of tensor/matmul.c and the training
 * engine's convolutions in nn/conv_dnnl.c) and the translation of a oneDNN
 * status into the library's error. Internal.
 */
#ifndef LMMIQA_TENSOR_DNNL_UTIL_H
#define LMMIQA_TENSOR_DNNL_UTIL_H

#include <oneapi/dnnl/dnnl.h>

/* The CPU engine, or NULL when oneDNN could not create one. */
dnnl_engine_t lmmiqa__dnnl_engine(void);

/* lmmiqa__fail for a oneDNN status: NOMEM for dnnl_out_of_memory, INTERNAL
 * otherwise; the message names `what`. Returns the library status. */
int lmmiqa__dnnl_fail(dnnl_status_t s, const char *what);

/* Return the library status of a failed oneDNN call. */
#define LMMIQA__DNNL_TRY(call, what)                                                               \
    do {                                                                                           \
        dnnl_status_t s_ = (call);                                                                 \
        if (s_ != dnnl_success)                                                                    \
            return lmmiqa__dnnl_fail(s_, what);                                                    \
    } while (0)

#endif
