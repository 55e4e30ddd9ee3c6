/*
 * tests/test_npy.c - the .npy writer produces NumPy's exact v1.0 layout
 * (header dict, space padding, 64-byte alignment) and the reader gets back
 * what was written, plus the other layouts numpy produces (float64, Fortran
 * order, 1-D, version 2.0) and clear failures on damaged files.
 */
#include "test.h"

#include "core/internal.h"
#include "lmmiqa/advanced/npy.h"
#include "lmmiqa/core.h"

#include <stdint.h>
#include <unistd.h>

static void test_header_layout(void)
{
    float m[6] = {1.0f, -2.5f, 3.25f, 0.0f, 1e-7f, 65504.0f};
    unsigned char *buf = NULL;
    size_t size = 0;
    CHECK_OK(lmmiqa_npy_encode_f32(m, 2, 3, &buf, &size));
    if (!buf)
        return;
    /* What numpy.save writes for np.zeros((2,3), np.float32): */
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    CHECK(memcmp(buf, "\x93NUMPY\x01\x00", 8) == 0);
    size_t hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
    CHECK(hlen == 118); /* 10 + 118 = 128 */
    CHECK((10 + hlen) % 64 == 0);
    CHECK(memcmp(buf + 10, dict, strlen(dict)) == 0);
    for (size_t i = 10 + strlen(dict); i < 10 + hlen - 1; i++)
        CHECK(buf[i] == ' ');
    CHECK(buf[10 + hlen - 1] == '\n');
    CHECK(size == 10 + hlen + sizeof m);
    CHECK(memcmp(buf + 10 + hlen, m, sizeof m) == 0); /* little-endian host */

    float *back = NULL;
    size_t r = 0, c = 0;
    CHECK_OK(lmmiqa_npy_parse_f32(buf, size, "mem", &back, &r, &c));
    CHECK(r == 2 && c == 3);
    if (back)
        CHECK(memcmp(back, m, sizeof m) == 0);
    free(back);
    free(buf);
}

static void test_alignment_many_shapes(void)
{
    size_t shapes[][2] = {{0, 0}, {1, 1}, {1162, 36}, {3, 100}, {10, 1536}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        size_t r = shapes[k][0], c = shapes[k][1];
        float *m = calloc(r * c + 1, sizeof *m);
        for (size_t i = 0; i < r * c; i++)
            m[i] = (float)i * 0.5f - 7.0f;
        unsigned char *buf = NULL;
        size_t size = 0;
        CHECK_OK(lmmiqa_npy_encode_f32(m, r, c, &buf, &size));
        size_t hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        CHECK((10 + hlen) % 64 == 0);
        float *back = NULL;
        size_t rr = 9, cc = 9;
        CHECK_OK(lmmiqa_npy_parse_f32(buf, size, "mem", &back, &rr, &cc));
        CHECK(rr == r && cc == c);
        if (back && r * c > 0)
            CHECK(memcmp(back, m, r * c * sizeof *m) == 0);
        free(back);
        free(buf);
        free(m);
    }
}

static void test_file_round_trip(void)
{
    char path[] = "/tmp/lmmiqa_test_npy_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    float m[4 * 5];
    for (int i = 0; i < 20; i++)
        m[i] = (float)(i * i) / 3.0f;
    CHECK_OK(lmmiqa_npy_write_f32(path, m, 4, 5));
    float *back = NULL;
    size_t r = 0, c = 0;
    CHECK_OK(lmmiqa_npy_read_f32(path, &back, &r, &c));
    CHECK(r == 4 && c == 5);
    if (back)
        CHECK(memcmp(back, m, sizeof m) == 0);
    free(back);
    unlink(path);
    CHECK(lmmiqa_npy_read_f32(path, &back, &r, &c) == LMMIQA_ERR_IO);
}

/* Build a file by hand: preamble with version `major`, a header string. */
static size_t make_file(unsigned char *buf, int major, const char *dict, const void *data,
                        size_t data_size)
{
    size_t pre = major == 1 ? 10 : 12;
    size_t len = strlen(dict) + 1;
    size_t total = (pre + len + 63) / 64 * 64;
    size_t hlen = total - pre;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    buf[8] = (unsigned char)hlen;
    buf[9] = (unsigned char)(hlen >> 8);
    if (major != 1) {
        buf[10] = 0;
        buf[11] = 0;
    }
    memcpy(buf + pre, dict, strlen(dict));
    memset(buf + pre + strlen(dict), ' ', hlen - strlen(dict) - 1);
    buf[total - 1] = '\n';
    memcpy(buf + total, data, data_size);
    return total + data_size;
}

static void test_other_layouts(void)
{
    unsigned char buf[1024];
    float *m = NULL;
    size_t r, c;

    /* float64, Fortran order (column-major), version 2.0, keys reordered. */
    double d[6] = {1, 2, 3, 4, 5, 6}; /* columns: (1,2), (3,4), (5,6) */
    size_t n = make_file(buf, 2, "{'shape': (2, 3), 'fortran_order': True, 'descr': '<f8'}", d,
                         sizeof d);
    CHECK_OK(lmmiqa_npy_parse_f32(buf, n, "f8", &m, &r, &c));
    CHECK(r == 2 && c == 3);
    if (m) {
        float want[6] = {1, 3, 5, 2, 4, 6};
        CHECK(memcmp(m, want, sizeof want) == 0);
    }
    free(m);

    /* 1-D: one column. */
    float v[3] = {7, 8, 9};
    n = make_file(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", v,
                  sizeof v);
    CHECK_OK(lmmiqa_npy_parse_f32(buf, n, "1d", &m, &r, &c));
    CHECK(r == 3 && c == 1);
    free(m);

    /* Refusals: wrong dtype, 3-D, truncated data, bad magic, bad header. */
    n = make_file(buf, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", v,
                  sizeof v);
    CHECK(lmmiqa_npy_parse_f32(buf, n, "i4", &m, &r, &c) == LMMIQA_ERR_FORMAT);
    CHECK(strstr(lmmiqa_error_message(), "i4") != NULL);
    n = make_file(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 3), }", v,
                  sizeof v);
    CHECK(lmmiqa_npy_parse_f32(buf, n, "3d", &m, &r, &c) == LMMIQA_ERR_FORMAT);
    n = make_file(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", v,
                  sizeof v);
    CHECK(lmmiqa_npy_parse_f32(buf, n, "short", &m, &r, &c) == LMMIQA_ERR_CORRUPT);
    CHECK(strstr(lmmiqa_error_message(), "short") != NULL);
    CHECK(lmmiqa_npy_parse_f32("\x93NUMPX\x01\x00\x00\x00", 10, "magic", &m, &r, &c) ==
          LMMIQA_ERR_FORMAT);
    n = make_file(buf, 1, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (3,), }", v,
                  sizeof v);
    CHECK(lmmiqa_npy_parse_f32(buf, n, "hdr", &m, &r, &c) == LMMIQA_ERR_CORRUPT);
    buf[8] = 0xff; /* header length beyond the file */
    buf[9] = 0xff;
    CHECK(lmmiqa_npy_parse_f32(buf, 200, "len", &m, &r, &c) != LMMIQA_OK);
    CHECK(m == NULL);
}

int main(void)
{
    RUN(test_header_layout);
    RUN(test_alignment_many_shapes);
    RUN(test_file_round_trip);
    RUN(test_other_layouts);
    return test_finish();
}
