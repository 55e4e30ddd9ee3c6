/*
 * tools/cli/serve_http.h - the request parsing of `lmmiqa serve` that is ours
 * (libmicrohttpd parses the request line and headers): multipart/form-data
 * bodies, the Content-Type and Accept headers, and query flags. Pure
 * functions over caller memory, no allocation, so the fuzz target
 * (tests/fuzz/fuzz_serve.c) runs them on arbitrary bytes.
 */
#ifndef LMMIQA_SERVE_HTTP_H
#define LMMIQA_SERVE_HTTP_H

#include <stddef.h>

#define SERVE_MAX_PARTS 64
#define SERVE_MAX_NAME 256

/* One part of a multipart body; data points into the body. */
typedef struct serve_part {
    char name[SERVE_MAX_NAME];     /* form field name ("" when absent) */
    char filename[SERVE_MAX_NAME]; /* filename parameter ("" when absent) */
    char type[SERVE_MAX_NAME];     /* the part's Content-Type ("" when absent) */
    const unsigned char *data;
    size_t size;
} serve_part;

/* The media type of a Content-Type value, lower-cased, without parameters,
 * into buf ("" for NULL or empty). */
void serve_media_type(const char *content_type, char *buf, size_t cap);

/* The boundary parameter of a multipart Content-Type (quoted or not, 1..70
 * characters, RFC 2046): 0 and the boundary in buf, or -1 when missing or
 * invalid. */
int serve_boundary(const char *content_type, char *buf, size_t cap);

/* Split a multipart body into at most max parts. 0 on success with *n set;
 * -1 with a reason in err (malformed: no opening boundary, a part without
 * its header block end, no closing boundary, too many parts). Parts keep
 * their bytes exactly (the CRLF before each boundary is the delimiter's). */
int serve_multipart_parse(const char *boundary, const unsigned char *body, size_t len,
                          serve_part *parts, size_t max, size_t *n, char *err, size_t err_cap);

/* A query flag's value: 1 for "1", "true", "yes", "on" (any case), 0 for
 * NULL, "", "0", "false", "no", "off", -1 otherwise. */
int serve_flag(const char *value);

/* 1 when an Accept header asks for application/x-npy (and ranks it at least
 * as high as application/json), else 0. */
int serve_wants_npy(const char *accept);

#endif
