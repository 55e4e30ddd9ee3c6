/*
 * tools/cli/serve_http.c - multipart/form-data and header parsing for
 * `lmmiqa serve` (see serve_http.h). A multipart body (RFC 7578/2046) is
 *   [preamble] "--B" CRLF headers CRLF CRLF data CRLF "--B" ... "--B--" [epilogue]
 * The parser scans for the delimiter CRLF "--B" with memmem, never reads past
 * len, copies header values into fixed-size fields (truncating), and keeps
 * the data as pointers into the body.
 */
#define _GNU_SOURCE /* memmem */
#include "serve_http.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void serve_media_type(const char *ct, char *buf, size_t cap)
{
    size_t k = 0;
    if (cap == 0)
        return;
    if (ct) {
        while (*ct == ' ' || *ct == '\t')
            ct++;
        for (; *ct && *ct != ';' && *ct != ' ' && *ct != '\t' && k + 1 < cap; ct++)
            buf[k++] = (char)tolower((unsigned char)*ct);
    }
    buf[k] = '\0';
}

/* Value of parameter `key` in a header value ("a; key=v; k2=\"q v\""),
 * unquoted, into buf: 0, or -1 when absent or empty. */
static int header_param(const char *h, const char *key, char *buf, size_t cap)
{
    size_t kl = strlen(key);
    const char *p = h;
    while (p && (p = strchr(p, ';')) != NULL) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, key, kl) != 0 || p[kl] != '=')
            continue;
        p += kl + 1;
        size_t k = 0;
        if (*p == '"') {
            for (p++; *p && *p != '"' && k + 1 < cap; p++) {
                if (*p == '\\' && p[1])
                    p++;
                buf[k++] = *p;
            }
        } else {
            for (; *p && *p != ';' && *p != ' ' && *p != '\t' && k + 1 < cap; p++)
                buf[k++] = *p;
        }
        buf[k] = '\0';
        return k ? 0 : -1;
    }
    return -1;
}

int serve_boundary(const char *ct, char *buf, size_t cap)
{
    char mt[64];
    serve_media_type(ct, mt, sizeof mt);
    if (strcmp(mt, "multipart/form-data") != 0 && strcmp(mt, "multipart/mixed") != 0)
        return -1;
    if (header_param(ct, "boundary", buf, cap) != 0)
        return -1;
    size_t n = strlen(buf);
    if (n < 1 || n > 70)
        return -1;
    return 0;
}

static void copy_trunc(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Parse a part's header block [h, h + n) into the part's fields. */
static void parse_part_headers(const char *h, size_t n, serve_part *part)
{
    size_t i = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && h[e] != '\r' && h[e] != '\n')
            e++;
        char line[1024];
        copy_trunc(line, sizeof line, h + i, e - i);
        char *colon = strchr(line, ':');
        if (colon) {
            *colon = '\0';
            char *v = colon + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            if (strcasecmp(line, "Content-Disposition") == 0) {
                char tmp[SERVE_MAX_NAME];
                if (header_param(v, "name", tmp, sizeof tmp) == 0)
                    copy_trunc(part->name, sizeof part->name, tmp, strlen(tmp));
                if (header_param(v, "filename", tmp, sizeof tmp) == 0)
                    copy_trunc(part->filename, sizeof part->filename, tmp, strlen(tmp));
            } else if (strcasecmp(line, "Content-Type") == 0) {
                copy_trunc(part->type, sizeof part->type, v, strlen(v));
            }
        }
        i = e;
        while (i < n && (h[i] == '\r' || h[i] == '\n'))
            i++;
    }
}

int serve_multipart_parse(const char *boundary, const unsigned char *body, size_t len,
                          serve_part *parts, size_t max, size_t *n, char *err, size_t err_cap)
{
    char delim[80];
    *n = 0;
    int dl = snprintf(delim, sizeof delim, "--%s", boundary);
    if (dl <= 2 || (size_t)dl >= sizeof delim) {
        snprintf(err, err_cap, "bad multipart boundary");
        return -1;
    }
    /* The first delimiter may start the body or follow a preamble line. */
    const unsigned char *p = NULL;
    if (len >= (size_t)dl && memcmp(body, delim, (size_t)dl) == 0) {
        p = body;
    } else {
        char crlf_delim[84];
        int cl = snprintf(crlf_delim, sizeof crlf_delim, "\r\n%s", delim);
        const unsigned char *q = memmem(body, len, crlf_delim, (size_t)cl);
        if (q)
            p = q + 2;
    }
    if (!p) {
        snprintf(err, err_cap, "multipart body without its opening boundary");
        return -1;
    }
    const unsigned char *end = body + len;
    for (;;) {
        p += dl; /* past "--B" */
        if ((size_t)(end - p) >= 2 && p[0] == '-' && p[1] == '-')
            return 0; /* closing delimiter */
        /* transport padding, then CRLF */
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if ((size_t)(end - p) < 2 || p[0] != '\r' || p[1] != '\n') {
            snprintf(err, err_cap, "multipart boundary not followed by a line break");
            return -1;
        }
        p += 2;
        const unsigned char *hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
        const unsigned char *hstart = p;
        size_t hlen;
        if ((size_t)(end - p) >= 2 && p[0] == '\r' && p[1] == '\n') { /* no headers */
            hlen = 0;
            p += 2;
        } else if (hend) {
            hlen = (size_t)(hend - p);
            p = hend + 4;
        } else {
            snprintf(err, err_cap, "multipart part %zu: headers not terminated", *n + 1);
            return -1;
        }
        char next[84];
        int nl = snprintf(next, sizeof next, "\r\n%s", delim);
        const unsigned char *q = memmem(p, (size_t)(end - p), next, (size_t)nl);
        if (!q) {
            snprintf(err, err_cap, "multipart part %zu: no closing boundary (truncated body?)",
                     *n + 1);
            return -1;
        }
        if (*n == max) {
            snprintf(err, err_cap, "more than %zu parts", max);
            return -1;
        }
        serve_part *part = &parts[(*n)++];
        memset(part, 0, sizeof *part);
        parse_part_headers((const char *)hstart, hlen, part);
        part->data = p;
        part->size = (size_t)(q - p);
        p = q + 2; /* at "--B" */
    }
}

int serve_flag(const char *v)
{
    if (!v || !*v)
        return 0;
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return 1;
        if (strcasecmp(v, no[i]) == 0)
            return 0;
    }
    return -1;
}

/* q value of media type `mt` in an Accept header, -1 when not listed. */
static double accept_q(const char *accept, const char *mt)
{
    size_t ml = strlen(mt);
    const char *p = accept;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        size_t tl = 0;
        while (p + tl < e && p[tl] != ';' && p[tl] != ' ' && p[tl] != '\t')
            tl++;
        if (tl == ml && strncasecmp(p, mt, ml) == 0) {
            double q = 1.0;
            const char *qs = p + tl;
            while (qs < e && (qs = strchr(qs, ';')) != NULL && qs < e) {
                qs++;
                while (*qs == ' ')
                    qs++;
                if ((qs[0] == 'q' || qs[0] == 'Q') && qs[1] == '=') {
                    double v;
                    if (sscanf(qs + 2, "%lf", &v) == 1 && v >= 0.0 && v <= 1.0)
                        q = v;
                }
            }
            return q;
        }
        p = e;
    }
    return -1.0;
}

int serve_wants_npy(const char *accept)
{
    if (!accept)
        return 0;
    double npy = accept_q(accept, "application/x-npy");
    double json = accept_q(accept, "application/json");
    return npy > 0.0 && npy >= json;
}
