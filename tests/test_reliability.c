/*
 * tests/test_reliability.c - issue 15, "no silent wrong result, no lost
 * file", at the library level (docs/reliability.md):
 *   - safetensors files lmmiqa writes carry a SHA-256 of their tensor data:
 *     one flipped data byte fails to load, naming the file; files without the
 *     checksum (older lmmiqa, other tools) still load;
 *   - a regressor model with a flipped byte is refused, not scored;
 *   - CNNIQA weight files with a non-finite value are refused;
 *   - JPEGs with an arithmetic-coding SOF marker or corrupt entropy data are
 *     refused, naming the file.
 * The fault-injection runs (N-th write failing) are in tests/test_fault.c.
 */
#include "core/internal.h"
#include "lmmiqa/advanced/cnniqa.h"
#include "lmmiqa/image.h"
#include "lmmiqa/regressor.h"
#include "io/safetensors.h"
#include "test.h"

#include <stdint.h>

static const char *tmp(const char *name)
{
    return test_path_mkdir(LMMIQA_BINARY_DIR, "test_reliability_tmp", name);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    unsigned char *d = NULL;
    if (lmmiqa__file_read_all(path, (size_t)1 << 30, &d, n) != LMMIQA_OK)
        return NULL;
    return d;
}

static void spill(const char *path, const void *d, size_t n)
{
    CHECK_OK(lmmiqa__file_write_atomic(path, d, n));
}

/* Offset of the data area of a safetensors image. */
static size_t st_data_offset(const unsigned char *d, size_t n)
{
    uint64_t h = 0;
    for (int i = 7; i >= 0; i--)
        h = (h << 8) | d[i];
    return n >= 8 && h <= n - 8 ? (size_t)(8 + h) : n;
}

static void test_safetensors_checksum(void)
{
    const char *path = tmp("sum.safetensors");
    lmmiqa_safetensors_writer *w = NULL;
    CHECK_OK(lmmiqa_safetensors_writer_create(&w));
    float v[6] = {1, 2, 3, 4, 5, 6};
    int64_t shape[2] = {2, 3};
    CHECK_OK(lmmiqa_safetensors_writer_add(w, "t", LMMIQA_DTYPE_F32, v, 2, shape));
    CHECK_OK(lmmiqa_safetensors_writer_set_metadata(w, "format", "x"));
    CHECK_OK(lmmiqa_safetensors_writer_save(w, path));
    lmmiqa_safetensors_writer_destroy(w);

    lmmiqa_safetensors *st = NULL;
    CHECK_OK(lmmiqa_safetensors_open(path, &st));
    if (st) {
        const char *sum = lmmiqa_safetensors_metadata(st, "lmmiqa.data_sha256");
        CHECK(sum && strlen(sum) == 64);
        CHECK(lmmiqa_safetensors_metadata(st, "format") != NULL);
        lmmiqa_safetensors_close(st);
    }
    size_t n = 0;
    unsigned char *d = slurp(path, &n);
    CHECK(d != NULL);
    if (!d)
        return;
    size_t off = st_data_offset(d, n);
    CHECK(off + 24 == n);
    /* One flipped bit in the last float: refused, naming the file. */
    d[n - 1] ^= 0x01;
    const char *bad = tmp("flipped.safetensors");
    spill(bad, d, n);
    st = NULL;
    int rc = lmmiqa_safetensors_open(bad, &st);
    CHECK(rc == LMMIQA_ERR_CORRUPT && st == NULL);
    CHECK_MSG(strstr(lmmiqa_error_message(), "flipped.safetensors") &&
                  strstr(lmmiqa_error_message(), "checksum"),
              "%s", lmmiqa_error_message());
    /* In memory too (the embedded default model goes this way). */
    rc = lmmiqa_safetensors_open_memory(d, n, &st);
    CHECK(rc == LMMIQA_ERR_CORRUPT && st == NULL);
    free(d);
}

/* A file without the checksum key (as lmmiqa 0.1 wrote them) still loads. */
static void test_safetensors_without_checksum(void)
{
    static const char hdr[] = "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    size_t hl = sizeof hdr - 1, pad = (8 - hl % 8) % 8;
    unsigned char buf[256];
    size_t n = 0;
    uint64_t total_h = hl + pad;
    for (int i = 0; i < 8; i++)
        buf[n++] = (unsigned char)(total_h >> (8 * i));
    memcpy(buf + n, hdr, hl);
    n += hl;
    memset(buf + n, ' ', pad);
    n += pad;
    float v[2] = {1.5f, -2.0f};
    memcpy(buf + n, v, sizeof v);
    n += sizeof v;
    lmmiqa_safetensors *st = NULL;
    CHECK_OK(lmmiqa_safetensors_open_memory(buf, n, &st));
    if (st) {
        float out[2] = {0, 0};
        CHECK_OK(lmmiqa_safetensors_read_f32(st, "t", out, 2));
        CHECK(out[0] == 1.5f && out[1] == -2.0f);
        lmmiqa_safetensors_close(st);
    }
}

/* A trained linear and SVR model with one flipped byte in a weight: refused
 * (it used to score silently wrong: 39.28 became 86.61). */
static void test_regressor_flipped_byte(void)
{
    enum { N = 40, D = 4 };
    float x[N * D];
    double mos[N];
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < D; k++)
            x[i * D + k] = (float)((i * (k + 3)) % 17) / 7.0f + (float)k;
        mos[i] = 40.0 + 2.0 * x[i * D] - x[i * D + 1] + 0.5 * x[i * D + 3];
    }
    const lmmiqa_head heads[2] = {LMMIQA_HEAD_LINEAR, LMMIQA_HEAD_SVR};
    for (int h = 0; h < 2; h++) {
        lmmiqa_regressor_config cfg;
        lmmiqa_regressor_config_init(&cfg);
        cfg.head = heads[h];
        cfg.epochs = 5;
        lmmiqa_regressor *reg = NULL;
        CHECK_OK(lmmiqa_regressor_train(&cfg, x, mos, N, D, 0, 100, NULL, NULL, 0, &reg));
        if (!reg)
            continue;
        const char *path = tmp(h ? "svr.safetensors" : "linear.safetensors");
        CHECK_OK(lmmiqa_regressor_save(reg, path, NULL));
        lmmiqa_regressor_destroy(reg);
        size_t n = 0;
        unsigned char *d = slurp(path, &n);
        if (!d)
            continue;
        lmmiqa_regressor *back = NULL;
        CHECK_OK(lmmiqa_regressor_load(path, &back));
        lmmiqa_regressor_destroy(back);
        size_t off = st_data_offset(d, n);
        d[off + (n - off) / 2] ^= 0x40;
        const char *bad = tmp(h ? "svr-bad.safetensors" : "linear-bad.safetensors");
        spill(bad, d, n);
        back = NULL;
        int rc = lmmiqa_regressor_load(bad, &back);
        CHECK_MSG(rc == LMMIQA_ERR_CORRUPT && !back, "head %d: rc %d", h, rc);
        CHECK_MSG(strstr(lmmiqa_error_message(), "-bad.safetensors") != NULL, "%s",
                  lmmiqa_error_message());
        lmmiqa_regressor_destroy(back);
        free(d);
    }
}

/* CNNIQA weights holding a NaN (written by a buggy tool, or patched with a
 * fixed-up checksum) are refused like the regressor's. */
static void test_cnniqa_nonfinite(void)
{
    lmmiqa_cnniqa_config cfg;
    lmmiqa_cnniqa_config_init(&cfg);
    cfg.filters = 4;
    cfg.fc = 8;
    lmmiqa_cnniqa *m = NULL;
    CHECK_OK(lmmiqa_cnniqa_create(&cfg, &m));
    if (!m)
        return;
    const char *path = tmp("cnniqa.safetensors");
    CHECK_OK(lmmiqa_cnniqa_save(m, path));
    lmmiqa_cnniqa_destroy(m);
    m = NULL;
    CHECK_OK(lmmiqa_cnniqa_load(path, &m));
    lmmiqa_cnniqa_destroy(m);
    size_t n = 0;
    unsigned char *d = slurp(path, &n);
    if (!d)
        return;
    size_t off = st_data_offset(d, n);
    /* Without a checksum match the file is refused as corrupt... */
    float nan = NAN;
    memcpy(d + off, &nan, 4);
    const char *bad = tmp("cnniqa-nan.safetensors");
    spill(bad, d, n);
    m = NULL;
    CHECK(lmmiqa_cnniqa_load(bad, &m) == LMMIQA_ERR_CORRUPT && !m);
    /* ...and with the checksum recomputed, the NaN itself is refused. */
    char sum[65];
    lmmiqa__sha256_hex(d + off, n - off, sum);
    static const char pat[] = "lmmiqa.data_sha256\":\"";
    unsigned char *key = NULL;
    for (size_t i = 8; !key && i + 21 + 64 <= off; i++)
        if (memcmp(d + i, pat, 21) == 0)
            key = d + i;
    CHECK(key != NULL);
    if (key) {
        memcpy(key + 21, sum, 64);
        spill(bad, d, n);
        int rc = lmmiqa_cnniqa_load(bad, &m);
        CHECK_MSG(rc == LMMIQA_ERR_CORRUPT && !m && strstr(lmmiqa_error_message(), "non-finite"),
                  "rc %d: %s", rc, lmmiqa_error_message());
    }
    free(d);
}

/* A small valid baseline JPEG from the library's own encoder. */
static unsigned char *make_jpeg(size_t *n)
{
    lmmiqa_image *img = NULL;
    if (lmmiqa_image_create(64, 48, &img) != LMMIQA_OK)
        return NULL;
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 64; x++) {
            uint8_t *p = img->pixels + (size_t)(y * 64 + x) * 3;
            p[0] = (uint8_t)(x * 4);
            p[1] = (uint8_t)(y * 5);
            p[2] = (uint8_t)((x * y) & 255);
        }
    const char *path = tmp("base.jpg");
    int rc = lmmiqa_image_save_jpeg(img, path, 85);
    lmmiqa_image_destroy(img);
    return rc == LMMIQA_OK ? slurp(path, n) : NULL;
}

static size_t find_marker(const unsigned char *d, size_t n, unsigned char m)
{
    for (size_t i = 2; i + 1 < n; i++)
        if (d[i] == 0xFF && d[i + 1] == m)
            return i;
    return 0;
}

static void test_jpeg_refused(void)
{
    size_t n = 0;
    unsigned char *d = make_jpeg(&n);
    CHECK(d != NULL);
    if (!d)
        return;
    lmmiqa_image *img = NULL;
    CHECK_OK(lmmiqa_image_decode(d, n, "base.jpg", &img));
    lmmiqa_image_destroy(img);
    size_t sof = find_marker(d, n, 0xC0), sos = find_marker(d, n, 0xDA);
    CHECK(sof && sos);
    if (!sof || !sos) {
        free(d);
        return;
    }
    /* SOF9 (arithmetic coding) patched in over Huffman data. */
    d[sof + 1] = 0xC9;
    img = NULL;
    int rc = lmmiqa_image_decode(d, n, "sof9.jpg", &img);
    CHECK_MSG(rc != LMMIQA_OK && !img && strstr(lmmiqa_error_message(), "sof9.jpg"), "rc %d: %s",
              rc, lmmiqa_error_message());
    lmmiqa_image_destroy(img);
    /* SOF3 (lossless) likewise. */
    d[sof + 1] = 0xC3;
    img = NULL;
    rc = lmmiqa_image_decode(d, n, "sof3.jpg", &img);
    CHECK_MSG(rc != LMMIQA_OK && !img && strstr(lmmiqa_error_message(), "sof3.jpg"), "rc %d: %s",
              rc, lmmiqa_error_message());
    lmmiqa_image_destroy(img);
    d[sof + 1] = 0xC0;
    /* Scrambled entropy-coded data: libjpeg warns (bad Huffman code or
     * similar) and would return a garbled picture. */
    size_t start = sos + 2 + ((size_t)d[sos + 2] << 8 | d[sos + 3]);
    int refused = 0;
    for (int trial = 0; trial < 8; trial++) {
        unsigned char *c = malloc(n);
        if (!c)
            break;
        memcpy(c, d, n);
        for (size_t k = start + 4 + (size_t)trial; k + 4 < n; k += 7)
            if (c[k] != 0xFF && c[k + 1] != 0xFF && c[k - 1] != 0xFF)
                c[k] = (unsigned char)(c[k] ^ 0x5A) == 0xFF ? 0x00 : (unsigned char)(c[k] ^ 0x5A);
        img = NULL;
        rc = lmmiqa_image_decode(c, n, "scrambled.jpg", &img);
        if (rc != LMMIQA_OK && strstr(lmmiqa_error_message(), "scrambled.jpg"))
            refused++;
        lmmiqa_image_destroy(img);
        free(c);
    }
    CHECK_MSG(refused == 8, "%d of 8 scrambled JPEGs refused", refused);
    free(d);
}

int main(void)
{
    RUN(test_safetensors_checksum);
    RUN(test_safetensors_without_checksum);
    RUN(test_regressor_flipped_byte);
    RUN(test_cnniqa_nonfinite);
    RUN(test_jpeg_refused);
    return test_finish();
}
