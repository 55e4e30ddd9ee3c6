/*
 * src/core/file.c - whole-file I/O: read a file into memory with a size
 * limit, and write one atomically (temporary file beside it, fsync, rename,
 * fsync of the folder), with the test-only fault hook that makes the n-th
 * create/write/fsync/rename fail (tests/test_fault.c); and mkdir -p, the
 * one folder maker of the library, its CLI and companions.
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

int lmmiqa_file_mkdirs(const char *path, int parents_only)
{
    char dir[4096];
    size_t n = strlen(path);
    if (n >= sizeof dir)
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "%.64s...: path too long for a folder", path);
    memcpy(dir, path, n + 1);
    while (n > 1 && dir[n - 1] == '/') /* "a/b/" is "a/b" */
        dir[--n] = '\0';
    for (char *p = dir + 1;; p++) {
        int last = *p == '\0';
        if (*p != '/' && !last)
            continue;
        if (last && parents_only)
            break;
        *p = '\0';
        struct stat st;
        int e = mkdir(dir, 0777) == 0 ? 0 : errno;
        if (e == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
            e = 0;
        if (e)
            return lmmiqa__fail(LMMIQA_ERR_IO, "%s: cannot create the folder: %s", dir,
                                e == EEXIST ? "something that is not a folder is in the way"
                                            : strerror(e));
        if (last)
            break;
        *p = '/';
    }
    return LMMIQA_OK;
}

int lmmiqa_file_write_atomic(const char *path, const void *data, size_t size)
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
