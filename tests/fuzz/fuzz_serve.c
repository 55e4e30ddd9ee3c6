/*
 * tests/fuzz/fuzz_serve.c - libFuzzer target for the request parsing of
 * `lmmiqa serve` that libmicrohttpd does not do (tools/cli/serve_http.c).
 * The input is split at its first two NUL bytes into a Content-Type value, an
 * Accept/query value and a body; then the media type, the multipart boundary,
 * the body's parts, the query flag and the Accept check run on them. Every
 * part must lie inside the body, in order, and carry terminated strings.
 */
#include "../../tools/cli/serve_http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t *take(const uint8_t **p, size_t *left, size_t *n)
{
    const uint8_t *start = *p;
    const uint8_t *z = memchr(start, 0, *left);
    *n = z ? (size_t)(z - start) : *left;
    *p += *n + (z ? 1 : 0);
    *left -= *n + (z ? 1 : 0);
    return start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data;
    size_t left = size, n1, n2;
    const uint8_t *ct = take(&p, &left, &n1);
    const uint8_t *acc = take(&p, &left, &n2);
    char ctype[512], accept[512], media[64], boundary[128], err[256];
    if (n1 >= sizeof ctype || n2 >= sizeof accept)
        return 0;
    memcpy(ctype, ct, n1);
    ctype[n1] = '\0';
    memcpy(accept, acc, n2);
    accept[n2] = '\0';

    serve_media_type(ctype, media, sizeof media);
    if (strlen(media) >= sizeof media)
        abort();
    int f = serve_flag(accept);
    if (f < -1 || f > 1)
        abort();
    int npy = serve_wants_npy(accept);
    if (npy != 0 && npy != 1)
        abort();
    if (serve_boundary(ctype, boundary, sizeof boundary) != 0)
        strcpy(boundary, "B"); /* still exercise the body parser */
    static serve_part parts[SERVE_MAX_PARTS];
    size_t n = 0;
    if (serve_multipart_parse(boundary, p, left, parts, SERVE_MAX_PARTS, &n, err, sizeof err) ==
        0) {
        if (n > SERVE_MAX_PARTS)
            abort();
        const uint8_t *prev = p;
        for (size_t k = 0; k < n; k++) {
            if (parts[k].data < prev || parts[k].data + parts[k].size > p + left)
                abort();
            prev = parts[k].data + parts[k].size;
            if (!memchr(parts[k].name, 0, SERVE_MAX_NAME) ||
                !memchr(parts[k].filename, 0, SERVE_MAX_NAME) ||
                !memchr(parts[k].type, 0, SERVE_MAX_NAME))
                abort();
        }
    } else if (!memchr(err, 0, sizeof err)) {
        abort();
    }
    return 0;
}
