/*
 * src/data/store_internal.h - what the store shares inside the library: the
 * reading of a caller's lmmiqa_store_options (the scorer passes them on).
 */
#ifndef LMMIQA_DATA_STORE_INTERNAL_H
#define LMMIQA_DATA_STORE_INTERNAL_H

#include "lmmiqa/store.h"

/* The caller's options (NULL: the defaults) as this library's struct: fields
 * past the caller's size take their defaults; an unset size is
 * LMMIQA_ERR_INVALID_ARG. */
int lmmiqa__store_options_get(const lmmiqa_store_options *opt, lmmiqa_store_options *o);

#endif
