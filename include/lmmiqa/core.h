/*
 * lmmiqa/core.h - status codes, error messages and version of the lmmiqa library.
 *
 * Every lmmiqa function that can fail returns an int status: 0 (LMMIQA_OK) on
 * success, one of the LMMIQA_ERR_* codes otherwise. On failure the library
 * leaves a human-readable message, naming the bad input (file, tensor, column,
 * ...), that the caller reads with lmmiqa_error_message(). The message is kept
 * per thread, so threads that share a model never see each other's errors.
 *
 * The library never prints, exits or aborts on bad data. Programmer errors
 * (a NULL where the contract says non-NULL, a negative size) are caught by
 * assert() in debug builds.
 */
#ifndef LMMIQA_CORE_H
#define LMMIQA_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define LMMIQA_API __attribute__((visibility("default")))
#else
#define LMMIQA_API
#endif

#define LMMIQA_VERSION_MAJOR 0
#define LMMIQA_VERSION_MINOR 2
#define LMMIQA_VERSION_PATCH 0
#define LMMIQA_VERSION_STRING "0.2.0"

/* Status codes. Stable numbers: the CLI maps them to exit codes (docs/cli.md). */
typedef enum lmmiqa_status {
    LMMIQA_OK = 0,
    LMMIQA_ERR_INVALID_ARG = 1, /* an argument value is out of its domain        */
    LMMIQA_ERR_IO = 2,          /* a file cannot be opened, read or written       */
    LMMIQA_ERR_FORMAT = 3,      /* unknown or unsupported file format             */
    LMMIQA_ERR_CORRUPT = 4,     /* malformed or truncated data                    */
    LMMIQA_ERR_TOO_LARGE = 5,   /* input exceeds a documented limit               */
    LMMIQA_ERR_NOMEM = 6,       /* an allocation failed                           */
    LMMIQA_ERR_UNDEFINED = 7,   /* a quantity is mathematically undefined         */
    LMMIQA_ERR_MISMATCH = 8,    /* names, shapes, dtypes or sizes disagree        */
    LMMIQA_ERR_INTERNAL = 9     /* a bug in lmmiqa: please report it              */
} lmmiqa_status;

/* The message of the last failure on the calling thread ("" if none). The
 * pointer stays valid until the next lmmiqa call on this thread. */
LMMIQA_API const char *lmmiqa_error_message(void);

/* A short constant name for a status code, e.g. "io error". */
LMMIQA_API const char *lmmiqa_status_name(int status);

/* Set the calling thread's error message (printf format) and return
 * `status`: for callbacks that the library calls (a rank provider, an image
 * maker) to report why they failed, as library functions do, and for
 * companion libraries built on this one (liblmmiqa-plot), whose failures
 * are then read with lmmiqa_error_message() like the core's. The library's
 * own functions record their messages through this same function. */
LMMIQA_API int lmmiqa_error_set(int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prefix the calling thread's message with context (printf format), e.g.
 * lmmiqa_error_context(rc, "%s: ", path) turns "truncated JPEG data" into
 * "photo.jpg: truncated JPEG data"; returns `status`. The result is cut at
 * the message's fixed capacity (1023 bytes). */
LMMIQA_API int lmmiqa_error_context(int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Forget the calling thread's last error message. */
LMMIQA_API void lmmiqa_error_clear(void);

/* The library version, "MAJOR.MINOR.PATCH". */
LMMIQA_API const char *lmmiqa_version(void);

#ifdef __cplusplus
}
#endif
#endif
