/*
 * src/core/options.h - reading a caller's versioned options struct (first
 * field `size_t size`, set by its _init function), for the core library and
 * its companion liblmmiqa-plot alike.
 *
 * Header-only (static inline) and built on the public error API only, so a
 * companion library compiles this same code without the core exporting an
 * internal helper; one implementation, not part of the ABI.
 */
#ifndef LMMIQA_CORE_OPTIONS_H
#define LMMIQA_CORE_OPTIONS_H

#include "lmmiqa/core.h"

#include <stddef.h>
#include <string.h>

/* Read a caller's options struct whose first field is `size_t size` (set by
 * its _init function) into dst, which already holds this library's
 * defaults: the bytes the caller's struct has (min(size, dst_size)) are
 * copied, the rest keep their defaults, and dst's size becomes dst_size. So
 * a program built against an older, smaller struct keeps working, and a
 * newer, larger one is read as far as this library knows it. src NULL keeps
 * the defaults. A size below min_size (the struct was not initialised)
 * fails with LMMIQA_ERR_INVALID_ARG naming `type` and its _init function. */
static inline int lmmiqa__options_read(void *dst, size_t dst_size, const void *src,
                                       size_t min_size, const char *type)
{
    if (!src)
        return LMMIQA_OK;
    size_t size;
    memcpy(&size, src, sizeof size);
    if (size < min_size)
        return lmmiqa_error_set(LMMIQA_ERR_INVALID_ARG,
                                "%s.size is %zu: start from %s_init(), which sets it", type,
                                size, type);
    memcpy(dst, src, size < dst_size ? size : dst_size);
    memcpy(dst, &dst_size, sizeof dst_size);
    return LMMIQA_OK;
}

/* min_size of a struct whose first field after `size` is `first`. */
#define LMMIQA__OPTIONS_MIN(type, first) (offsetof(type, first) + sizeof(((type *)0)->first))

#endif
