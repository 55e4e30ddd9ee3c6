/*
 * src/io/npy.c - NumPy .npy reader and writer for float32 matrices.
 *
 * Design: the writer builds the whole file in memory (a feature matrix is a
 * few MB) and hands it to lmmiqa__file_write_atomic, so a reader never sees
 * a torn file. The reader parses the header dict with a small tokenizer that
 * accepts the Python-literal subset numpy writes (quoted keys, a quoted
 * descr, True/False, a tuple of integers) in any key order, and refuses
 * everything else rather than guessing.
 */
#include "lmmiqa/advanced/npy.h"

#include "core/internal.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define NPY_HOST_BIG 1
#else
#define NPY_HOST_BIG 0
#endif

static void store_le32(unsigned char *p, const float *v)
{
    uint32_t u;
    memcpy(&u, v, 4);
    p[0] = (unsigned char)u;
    p[1] = (unsigned char)(u >> 8);
    p[2] = (unsigned char)(u >> 16);
    p[3] = (unsigned char)(u >> 24);
}

static float load_le32(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;
    float v;
    memcpy(&v, &u, 4);
    return v;
}

static double load_le64(const unsigned char *p)
{
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--)
        u = u << 8 | p[i];
    double v;
    memcpy(&v, &u, 8);
    return v;
}

int lmmiqa_npy_encode_f32(const float *data, size_t rows, size_t cols, unsigned char **out,
                           size_t *size)
{
    *out = NULL;
    *size = 0;
    size_t count, bytes;
    int rc = lmmiqa__mul_size(rows, cols, &count);
    if (rc == LMMIQA_OK)
        rc = lmmiqa__mul_size(count, 4, &bytes);
    if (rc != LMMIQA_OK)
        return lmmiqa__fail_context(rc, "npy matrix %zu x %zu: ", rows, cols);
    char dict[160];
    int len = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }",
                       rows, cols);
    if (len < 0 || (size_t)len >= sizeof dict)
        return lmmiqa__fail(LMMIQA_ERR_INTERNAL, "npy header does not fit");
    /* 10 bytes of preamble + dict + padding + '\n', a multiple of 64. */
    size_t header = 10 + (size_t)len + 1;
    size_t padded = (header + 63) / 64 * 64;
    if (bytes > SIZE_MAX - padded)
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "npy matrix %zu x %zu is too large", rows, cols);
    unsigned char *buf = lmmiqa__malloc(padded + bytes);
    if (!buf)
        return LMMIQA_ERR_NOMEM;
    memcpy(buf, npy_magic, 6);
    buf[6] = 1;
    buf[7] = 0;
    size_t hlen = padded - 10;
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + 10, dict, (size_t)len);
    memset(buf + 10 + len, ' ', padded - header);
    buf[padded - 1] = '\n';
    unsigned char *p = buf + padded;
    if (!NPY_HOST_BIG && count)
        memcpy(p, data, bytes);
    else
        for (size_t i = 0; i < count; i++)
            store_le32(p + 4 * i, data + i);
    *out = buf;
    *size = padded + bytes;
    return LMMIQA_OK;
}

int lmmiqa_npy_write_f32(const char *path, const float *data, size_t rows, size_t cols)
{
    unsigned char *buf;
    size_t size;
    int rc = lmmiqa_npy_encode_f32(data, rows, cols, &buf, &size);
    if (rc != LMMIQA_OK)
        return lmmiqa__fail_context(rc, "%s: ", path);
    rc = lmmiqa__file_write_atomic(path, buf, size);
    free(buf);
    return rc;
}

/* ---- header parsing ---------------------------------------------------- */

typedef struct hparse {
    const char *p, *end;
} hparse;

static void skip_ws(hparse *h)
{
    while (h->p < h->end && isspace((unsigned char)*h->p))
        h->p++;
}

static int accept(hparse *h, char c)
{
    skip_ws(h);
    if (h->p < h->end && *h->p == c) {
        h->p++;
        return 1;
    }
    return 0;
}

/* A quoted string into buf; 0 on success. */
static int parse_string(hparse *h, char *buf, size_t cap)
{
    skip_ws(h);
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"'))
        return -1;
    char q = *h->p++;
    size_t n = 0;
    while (h->p < h->end && *h->p != q) {
        if (n + 1 >= cap)
            return -1;
        buf[n++] = *h->p++;
    }
    if (h->p >= h->end)
        return -1;
    h->p++;
    buf[n] = '\0';
    return 0;
}

static int parse_word(hparse *h, const char *word)
{
    skip_ws(h);
    size_t n = strlen(word);
    if ((size_t)(h->end - h->p) >= n && memcmp(h->p, word, n) == 0) {
        h->p += n;
        return 1;
    }
    return 0;
}

/* A tuple of up to 2 non-negative integers (L suffix tolerated). */
static int parse_shape(hparse *h, size_t *dims, int *ndim)
{
    if (!accept(h, '('))
        return -1;
    *ndim = 0;
    for (;;) {
        skip_ws(h);
        if (accept(h, ')'))
            return 0;
        if (h->p >= h->end || !isdigit((unsigned char)*h->p))
            return -1;
        size_t v = 0;
        while (h->p < h->end && isdigit((unsigned char)*h->p)) {
            size_t d = (size_t)(*h->p++ - '0');
            if (v > (SIZE_MAX - d) / 10)
                return -1;
            v = v * 10 + d;
        }
        if (h->p < h->end && (*h->p == 'L' || *h->p == 'l'))
            h->p++;
        if (*ndim >= 2)
            return -2;
        dims[(*ndim)++] = v;
        if (accept(h, ','))
            continue;
        if (accept(h, ')'))
            return 0;
        return -1;
    }
}

int lmmiqa_npy_parse_f32(const void *bytes, size_t size, const char *name, float **data,
                          size_t *rows, size_t *cols)
{
    const unsigned char *b = bytes;
    *data = NULL;
    *rows = *cols = 0;
    if (size < 10 || memcmp(b, npy_magic, 6) != 0)
        return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: not a NumPy .npy file (bad magic)", name);
    int major = b[6];
    size_t hlen, pre;
    if (major == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        pre = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12)
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: truncated .npy header", name);
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        pre = 12;
    } else {
        return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: unsupported .npy format version %d.%d", name,
                            major, b[7]);
    }
    if (hlen > LMMIQA_NPY_MAX_HEADER || hlen > size - pre)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: .npy header length %zu exceeds the file",
                            name, hlen);
    hparse h = {(const char *)b + pre, (const char *)b + pre + hlen};
    char descr[32] = "";
    int fortran = -1, ndim = -1;
    size_t dims[2] = {0, 0};
    if (!accept(&h, '{'))
        goto bad_header;
    for (;;) {
        if (accept(&h, '}'))
            break;
        char key[32];
        if (parse_string(&h, key, sizeof key) != 0 || !accept(&h, ':'))
            goto bad_header;
        if (strcmp(key, "descr") == 0) {
            if (parse_string(&h, descr, sizeof descr) != 0)
                goto bad_header;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (parse_word(&h, "True"))
                fortran = 1;
            else if (parse_word(&h, "False"))
                fortran = 0;
            else
                goto bad_header;
        } else if (strcmp(key, "shape") == 0) {
            int rc = parse_shape(&h, dims, &ndim);
            if (rc == -2)
                return lmmiqa__fail(LMMIQA_ERR_FORMAT,
                                    "%s: .npy array has more than 2 dimensions", name);
            if (rc != 0)
                goto bad_header;
        } else {
            return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: unknown .npy header key '%s'", name, key);
        }
        if (accept(&h, ','))
            continue;
        if (accept(&h, '}'))
            break;
        goto bad_header;
    }
    if (!descr[0] || fortran < 0 || ndim < 0)
        return lmmiqa__fail(LMMIQA_ERR_FORMAT,
                            "%s: .npy header lacks descr, fortran_order or shape", name);
    size_t elem;
    if (strcmp(descr, "<f4") == 0)
        elem = 4;
    else if (strcmp(descr, "<f8") == 0)
        elem = 8;
    else
        return lmmiqa__fail(LMMIQA_ERR_FORMAT,
                            "%s: .npy dtype '%s' is not supported (want '<f4' or '<f8')", name,
                            descr);
    size_t r = ndim >= 1 ? dims[0] : 1, c = ndim == 2 ? dims[1] : 1;
    size_t count, nbytes;
    if (lmmiqa__mul_size(r, c, &count) != LMMIQA_OK ||
        lmmiqa__mul_size(count, elem, &nbytes) != LMMIQA_OK)
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "%s: .npy shape is too large", name);
    size_t start = pre + hlen;
    if (size - start != nbytes)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                            "%s: .npy data is %zu bytes, shape (%zu, %zu) of %s needs %zu", name,
                            size - start, r, c, descr, nbytes);
    float *m = NULL;
    if (count) {
        m = lmmiqa__malloc(count * sizeof *m);
        if (!m)
            return LMMIQA_ERR_NOMEM;
        const unsigned char *src = b + start;
        for (size_t i = 0; i < r; i++)
            for (size_t j = 0; j < c; j++) {
                size_t k = fortran ? j * r + i : i * c + j;
                m[i * c + j] = elem == 4 ? load_le32(src + 4 * k) : (float)load_le64(src + 8 * k);
            }
    }
    *data = m;
    *rows = r;
    *cols = c;
    return LMMIQA_OK;
bad_header:
    return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: malformed .npy header near offset %zu", name,
                        (size_t)(h.p - (const char *)b));
}

int lmmiqa_npy_read_f32(const char *path, float **data, size_t *rows, size_t *cols)
{
    unsigned char *buf;
    size_t size;
    *data = NULL;
    *rows = *cols = 0;
    int rc = lmmiqa__file_read_all(path, (size_t)1 << 34, &buf, &size);
    if (rc != LMMIQA_OK)
        return rc;
    rc = lmmiqa_npy_parse_f32(buf, size, path, data, rows, cols);
    free(buf);
    return rc;
}
