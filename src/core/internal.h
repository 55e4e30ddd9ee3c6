/*
 * src/core/internal.h - helpers shared by the library's sources, not part of
 * the public API. Internal symbols that cross files use the `lmmiqa__` prefix
 * (double underscore) and are hidden from the shared library.
 */
#ifndef LMMIQA_INTERNAL_H
#define LMMIQA_INTERNAL_H

#include "lmmiqa/advanced/file.h"
#include "lmmiqa/core.h"
#include "options.h"

#include <stdarg.h>
#include <stddef.h>

/* Record a failure message (printf format) for the calling thread and return
 * `status`, so that call sites read: `return lmmiqa__fail(LMMIQA_ERR_IO, ...)`.
 * Prefix the calling thread's current message with a context string, e.g. the
 * file name: "photo.jpg: " + "truncated JPEG data"; returns `status`.
 * Internal names of the public lmmiqa_error_set / lmmiqa_error_context
 * (core.h), which companion libraries (liblmmiqa-plot) and callbacks use:
 * one implementation, one per-thread message. */
#define lmmiqa__fail lmmiqa_error_set
#define lmmiqa__fail_context lmmiqa_error_context

/* malloc/calloc that record LMMIQA_ERR_NOMEM with the size asked for. NULL on
 * failure (and on n == 0 with a zero count, never). */
void *lmmiqa__malloc(size_t bytes);
void *lmmiqa__calloc(size_t count, size_t size);
/* bytes aligned to `align` (a power of two, multiple of sizeof(void *));
 * freed with free(). */
void *lmmiqa__aligned_alloc(size_t align, size_t bytes);
/* A large block (weights, activations) on 2 MB boundaries, advised for
 * transparent huge pages: 512x fewer page faults when first touched. Freed
 * with free(). */
void *lmmiqa__alloc_big(size_t bytes);

/* Multiplication that detects size_t overflow: returns 0 and sets *out when
 * a*b fits, else returns LMMIQA_ERR_TOO_LARGE with a message. */
int lmmiqa__mul_size(size_t a, size_t b, size_t *out);

/* Read a whole file into a fresh buffer (caller frees). Fails with
 * LMMIQA_ERR_IO naming the path, or LMMIQA_ERR_TOO_LARGE over max_bytes. */
int lmmiqa__file_read_all(const char *path, size_t max_bytes, unsigned char **data,
                          size_t *size);

/* Write `size` bytes to `path` atomically: a temporary file beside it,
 * fsync, rename, fsync of the directory. Readers see the old or the new
 * content, never a torn file. The internal name of the public
 * lmmiqa_file_write_atomic (lmmiqa/advanced/file.h), which liblmmiqa-plot
 * writes its figures with. */
#define lmmiqa__file_write_atomic lmmiqa_file_write_atomic
#define lmmiqa__file_mkdirs lmmiqa_file_mkdirs

/* Fault injection, for tests only (tests/test_fault.c): after
 * lmmiqa__io_fault_arm(n), the n-th step that reaches lmmiqa__io_fault()
 * (each create, write, fsync and rename of lmmiqa__file_write_atomic and of
 * the store's journal) fails as on a full disk (ENOSPC); n = 0 disarms.
 * lmmiqa__io_fault_steps() counts the steps since arming. Deliberately no
 * environment variable: nothing outside a test program can arm it. */
void lmmiqa__io_fault_arm(long n);
long lmmiqa__io_fault_steps(void);
int lmmiqa__io_fault(void);

/* A growable byte buffer (util.c), always NUL-terminated once written to.
 * Appends never fail loudly: an allocation failure sets `oom` and later
 * appends do nothing, so a writer checks once at the end. Zero-initialise;
 * lmmiqa__buf_free releases it; lmmiqa__buf_take hands the text over ("" when
 * empty; NULL only when out of memory). */
typedef struct lmmiqa__buf {
    char *s;
    size_t len, cap;
    int oom;
} lmmiqa__buf;
void lmmiqa__buf_put(lmmiqa__buf *b, const void *data, size_t n);
void lmmiqa__buf_str(lmmiqa__buf *b, const char *s);
void lmmiqa__buf_printf(lmmiqa__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *lmmiqa__buf_take(lmmiqa__buf *b);
void lmmiqa__buf_free(lmmiqa__buf *b);

/* lmmiqa__options_read and LMMIQA__OPTIONS_MIN: options.h. */

/* Seconds on the monotonic clock (for durations, never wall time). */
double lmmiqa__now_s(void);

/* SHA-256 of a byte buffer / of a whole file (streamed), as 64 lowercase hex
 * digits plus NUL. Used for image content hashes and weight checksums. */
void lmmiqa__sha256_hex(const void *data, size_t size, char hex[65]);
int lmmiqa__sha256_file(const char *path, char hex[65]);
/* The same on a helper thread, overlapping a model's weight loading with the
 * hashing of its file: _start never fails (without a thread, _finish hashes
 * on the caller); _finish joins, writes hex and returns the status with the
 * hashing's message. Every started job must be finished exactly once.
 * Digests are cached by file identity (device, inode, size, mtime, ctime)
 * under $XDG_CACHE_HOME/lmmiqa/sha256 (hash.c says why that is safe);
 * LMMIQA_HASH_CACHE=0 turns the cache off. */
typedef struct lmmiqa__sha256_job lmmiqa__sha256_job;
lmmiqa__sha256_job *lmmiqa__sha256_file_start(const char *path);
struct stat;
/* The cache itself: a digest of `kind` ("file", "data") recorded for the
 * file whose stat is sb; get returns 1 and fills hex on a hit. */
int lmmiqa__hash_cache_get(const struct stat *sb, const char *kind, char hex[65]);
void lmmiqa__hash_cache_put(const struct stat *sb, const char *kind, const char hex[65]);
int lmmiqa__sha256_file_finish(lmmiqa__sha256_job *job, char hex[65]);
/* Instead of _finish on a load's failure path: waits for the thread and
 * drops the job without hashing on the caller or touching the caller's
 * error message; NULL is a no-op. */
void lmmiqa__sha256_file_cancel(lmmiqa__sha256_job *job);
#endif
