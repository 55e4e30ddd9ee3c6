/*
 * src/core/error.c - per-thread error messages, status names, checked
 * allocation and whole-file I/O.
 *
 * Design: one fixed-size thread-local buffer holds the last message, so
 * recording an error never allocates (it must work when memory is exhausted)
 * and threads sharing a model never race on it.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int lmmiqa__fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tls_message, sizeof tls_message, fmt, ap);
    va_end(ap);
    return status;
}

int lmmiqa__fail_context(int status, const char *fmt, ...)
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

int lmmiqa__file_read_all(const char *path, size_t max_bytes, unsigned char **data,
                          size_t *size)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return lmmiqa__fail(LMMIQA_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return lmmiqa__fail(LMMIQA_ERR_IO, "%s: not a regular file", path);
    }
    if ((unsigned long long)st.st_size > max_bytes) {
        fclose(f);
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "%s: file of %lld bytes exceeds the limit of %zu",
                            path, (long long)st.st_size, max_bytes);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = lmmiqa__malloc(n + 1);
    if (!buf) {
        fclose(f);
        return lmmiqa__fail_context(LMMIQA_ERR_NOMEM, "%s: ", path);
    }
    size_t got = fread(buf, 1, n, f);
    int err = ferror(f);
    fclose(f);
    if (err || got != n) {
        free(buf);
        return lmmiqa__fail(LMMIQA_ERR_IO, "%s: read error", path);
    }
    buf[n] = 0;
    *data = buf;
    *size = n;
    return LMMIQA_OK;
}

/* Fault injection (tests only; see internal.h). Atomics: store workers
 * append to the journal from several threads. */
static _Atomic long io_fault_at;
static _Atomic long io_fault_steps;

void lmmiqa__io_fault_arm(long n)
{
    atomic_store(&io_fault_steps, 0);
    atomic_store(&io_fault_at, n);
}

long lmmiqa__io_fault_steps(void) { return atomic_load(&io_fault_steps); }

int lmmiqa__io_fault(void)
{
    long at = atomic_load(&io_fault_at);
    if (at <= 0)
        return 0;
    if (atomic_fetch_add(&io_fault_steps, 1) + 1 != at)
        return 0;
    errno = ENOSPC;
    return -1;
}

int lmmiqa__file_write_atomic(const char *path, const void *data, size_t size)
{
    size_t len = strlen(path);
    char *tmp = lmmiqa__malloc(len + 32);
    if (!tmp)
        return LMMIQA_ERR_NOMEM;
    snprintf(tmp, len + 32, "%s.tmp.%ld", path, (long)getpid());
    int fd = lmmiqa__io_fault() ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        int rc = lmmiqa__fail(LMMIQA_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    const unsigned char *p = data;
    size_t left = size;
    while (left > 0) {
        ssize_t w = lmmiqa__io_fault() ? -1 : write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int rc = lmmiqa__fail(LMMIQA_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            free(tmp);
            return rc;
        }
        p += w;
        left -= (size_t)w;
    }
    if (lmmiqa__io_fault() || fsync(fd) != 0) {
        int rc = lmmiqa__fail(LMMIQA_ERR_IO, "%s: fsync failed: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        return rc;
    }
    if (close(fd) != 0) {
        int rc = lmmiqa__fail(LMMIQA_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
        unlink(tmp);
        free(tmp);
        return rc;
    }
    if (lmmiqa__io_fault() || rename(tmp, path) != 0) {
        int rc = lmmiqa__fail(LMMIQA_ERR_IO, "%s: rename failed: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return rc;
    }
    /* Make the rename itself durable. */
    char *dircopy = tmp; /* reuse the buffer: len + 32 >= len + 1 */
    memcpy(dircopy, path, len + 1);
    int dfd = open(dirname(dircopy), O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(tmp);
    return LMMIQA_OK;
}
