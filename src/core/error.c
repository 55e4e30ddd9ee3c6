/*
 * src/core/error.c - per-thread error messages, status names and checked
 * allocation (whole-file I/O is in file.c).
 *
 * Design: one fixed-size thread-local buffer holds the last message, so
 * recording an error never allocates (it must work when memory is exhausted)
 * and threads sharing a model never race on it.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MESSAGE_CAP 1024

static _Thread_local char tls_message[MESSAGE_CAP];

const char *lmmiqa_error_message(void) { return tls_message; }

void lmmiqa_error_clear(void) { tls_message[0] = '\0'; }

const char *lmmiqa_version(void) { return LMMIQA_VERSION_STRING; }

const char *lmmiqa_status_name(int status)
{
    switch (status) {
    case LMMIQA_OK: return "ok";
    case LMMIQA_ERR_INVALID_ARG: return "invalid argument";
    case LMMIQA_ERR_IO: return "io error";
    case LMMIQA_ERR_FORMAT: return "unsupported format";
    case LMMIQA_ERR_CORRUPT: return "corrupt data";
    case LMMIQA_ERR_TOO_LARGE: return "too large";
    case LMMIQA_ERR_NOMEM: return "out of memory";
    case LMMIQA_ERR_UNDEFINED: return "undefined";
    case LMMIQA_ERR_MISMATCH: return "mismatch";
    case LMMIQA_ERR_INTERNAL: return "internal error";
    default: return "unknown status";
    }
}

int lmmiqa_error_set(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tls_message, sizeof tls_message, fmt, ap);
    va_end(ap);
    return status;
}

int lmmiqa_error_context(int status, const char *fmt, ...)
{
    char prefix[MESSAGE_CAP];
    char old[MESSAGE_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, tls_message, sizeof old);
    size_t n = strlen(prefix);
    memcpy(tls_message, prefix, n + 1);
    size_t room = sizeof tls_message - 1 - n;
    size_t m = strnlen(old, room);
    memcpy(tls_message + n, old, m);
    tls_message[n + m] = '\0';
    return status;
}

void *lmmiqa__malloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
    return p;
}

void *lmmiqa__aligned_alloc(size_t align, size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, align, bytes ? bytes : 1) != 0) {
        lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
        return NULL;
    }
    return p;
}

void *lmmiqa__alloc_big(size_t bytes)
{
    const size_t huge = (size_t)2 << 20;
    void *p = lmmiqa__aligned_alloc(huge, bytes);
#ifdef MADV_HUGEPAGE
    if (p && bytes >= huge)
        madvise(p, (bytes + huge - 1) & ~(huge - 1), MADV_HUGEPAGE);
#endif
    return p;
}

void *lmmiqa__calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory allocating %zu x %zu bytes", count,
                     size);
    return p;
}

int lmmiqa__mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > (size_t)-1 / a)
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "size %zu x %zu overflows", a, b);
    *out = a * b;
    return LMMIQA_OK;
}
