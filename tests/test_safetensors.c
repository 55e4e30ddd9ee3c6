/*
 * tests/test_safetensors.c - the safetensors reader and writer.
 *
 * - golden file written in the exact layout of the `safetensors` package by
 *   tools/ref/safetensors_ref.py (F32/F16/BF16/F64/I64/U8, scalar, empty
 *   tensor, metadata): every value read back must equal torch's float32
 *   value (parsed from %.9g, so exact);
 * - writer round trip for F32/F16/BF16 and metadata;
 * - float16/bfloat16 conversions checked exhaustively (every half value
 *   converts back to itself; rounding at midpoints is to even);
 * - malformed files (truncated, lying offsets, huge header, unknown dtype,
 *   overlap, gap, non-JSON, ...) fail with LMMIQA_ERR_CORRUPT/FORMAT/TOO_LARGE;
 * - a deterministic seeded-mutation loop over the golden file: every mutant
 *   is either rejected or fully readable (run under ASan in CI).
 */
#include "lmmiqa/rng.h"
#include "io/safetensors.h"
#include "core/internal.h"
#include "tensor/dtype.h"
#include "test.h"

#include <stdint.h>
#include <unistd.h>

#define DATA_DIR LMMIQA_SOURCE_DIR "/tests/data/vit"

static void test_golden(void)
{
    lmmiqa_safetensors *st = NULL;
    CHECK_OK(lmmiqa_safetensors_open(DATA_DIR "/st_reference.safetensors", &st));
    if (!st)
        return;
    CHECK(lmmiqa_safetensors_count(st) == 11);
    const char *fmt = lmmiqa_safetensors_metadata(st, "format");
    CHECK(fmt && strcmp(fmt, "pt") == 0);
    const char *note = lmmiqa_safetensors_metadata(st, "note");
    CHECK(note && strcmp(note, "golden \"quoted\" value") == 0);
    CHECK(lmmiqa_safetensors_metadata(st, "absent") == NULL);
    FILE *f = fopen(DATA_DIR "/st_reference.txt", "r");
    CHECK(f != NULL);
    if (!f) {
        lmmiqa_safetensors_close(st);
        return;
    }
    char line[8192];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        char name[128], dtype[16];
        int ndim, pos;
        if (sscanf(line, "%127s %15s %d%n", name, dtype, &ndim, &pos) != 3)
            continue;
        lines++;
        char *p = line + pos;
        int64_t shape[8];
        for (int d = 0; d < ndim; d++)
            shape[d] = strtoll(p, &p, 10);
        p = strchr(p, ':') + 1;
        lmmiqa_tensor_info info;
        CHECK_OK(lmmiqa_safetensors_find(st, name, &info));
        CHECK(strcmp(info.name, name) == 0);
        CHECK(strcmp(lmmiqa__dtype_name(info.dtype), dtype) == 0);
        CHECK(info.ndim == ndim);
        for (int d = 0; d < ndim && d < info.ndim; d++)
            CHECK(info.shape[d] == shape[d]);
        CHECK(info.nbytes == info.numel * lmmiqa__dtype_size(info.dtype));
        float *v = malloc((info.numel + 1) * sizeof *v);
        CHECK_OK(lmmiqa_safetensors_read_f32(st, name, v, info.numel));
        size_t bad = 0;
        for (size_t i = 0; i < info.numel; i++) {
            float want = strtof(p, &p);
            if (!(v[i] == want && signbit(v[i]) == signbit(want)))
                bad++;
        }
        CHECK_MSG(bad == 0, "%s: %zu of %zu values differ", name, bad, info.numel);
        if (info.numel > 0)
            CHECK(lmmiqa_safetensors_read_f32(st, name, v, info.numel - 1) ==
                  LMMIQA_ERR_MISMATCH);
        free(v);
    }
    fclose(f);
    CHECK(lines == 11);
    lmmiqa_tensor_info info;
    CHECK(lmmiqa_safetensors_find(st, "nope", &info) == LMMIQA_ERR_MISMATCH);
    CHECK(strstr(lmmiqa_error_message(), "nope") != NULL);
    CHECK(lmmiqa_safetensors_get(st, 11, &info) == LMMIQA_ERR_INVALID_ARG);
    for (size_t i = 0; i < lmmiqa_safetensors_count(st); i++)
        CHECK_OK(lmmiqa_safetensors_get(st, i, &info));
    lmmiqa_safetensors_close(st);
    lmmiqa_safetensors_close(NULL);
}

static void test_round_trip(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/test_safetensors_rt_%d.safetensors", LMMIQA_BINARY_DIR,
             (int)getpid());
    lmmiqa_safetensors_writer *w = NULL;
    CHECK_OK(lmmiqa_safetensors_writer_create(&w));
    float a[6] = {1.0f, -2.0f, 3.5f, 1e-8f, 70000.0f, 0.1f};
    int64_t s23[2] = {2, 3};
    int64_t s6[1] = {6};
    CHECK_OK(lmmiqa_safetensors_writer_add(w, "x/f32", LMMIQA_DTYPE_F32, a, 2, s23));
    CHECK_OK(lmmiqa_safetensors_writer_add(w, "x/f16", LMMIQA_DTYPE_F16, a, 1, s6));
    CHECK_OK(lmmiqa_safetensors_writer_add(w, "x/bf16", LMMIQA_DTYPE_BF16, a, 1, s6));
    CHECK_OK(lmmiqa_safetensors_writer_add(w, "scalar", LMMIQA_DTYPE_F32, a, 0, NULL));
    CHECK(lmmiqa_safetensors_writer_add(w, "scalar", LMMIQA_DTYPE_F32, a, 0, NULL) ==
          LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_safetensors_writer_add(w, "i", LMMIQA_DTYPE_I64, a, 0, NULL) ==
          LMMIQA_ERR_INVALID_ARG);
    CHECK_OK(lmmiqa_safetensors_writer_set_metadata(w, "k", "v1"));
    CHECK_OK(lmmiqa_safetensors_writer_set_metadata(w, "k", "v\n2\"\\"));
    CHECK_OK(lmmiqa_safetensors_writer_save(w, path));
    lmmiqa_safetensors_writer_destroy(w);
    lmmiqa_safetensors_writer_destroy(NULL);

    lmmiqa_safetensors *st = NULL;
    CHECK_OK(lmmiqa_safetensors_open(path, &st));
    if (st) {
        CHECK(lmmiqa_safetensors_count(st) == 4);
        const char *m = lmmiqa_safetensors_metadata(st, "k");
        CHECK(m && strcmp(m, "v\n2\"\\") == 0);
        float b[6];
        CHECK_OK(lmmiqa_safetensors_read_f32(st, "x/f32", b, 6));
        CHECK(memcmp(a, b, sizeof a) == 0);
        CHECK_OK(lmmiqa_safetensors_read_f32(st, "x/f16", b, 6));
        for (int i = 0; i < 6; i++)
            CHECK(b[i] == lmmiqa__f16_to_f32(lmmiqa__f32_to_f16(a[i])));
        CHECK(b[4] == INFINITY); /* 70000 overflows half */
        CHECK_NEAR(b[5], 0.1f, 1e-4);
        CHECK_OK(lmmiqa_safetensors_read_f32(st, "x/bf16", b, 6));
        for (int i = 0; i < 6; i++)
            CHECK_REL(b[i], a[i], 1.0 / 256, 0);
        lmmiqa_tensor_info info;
        CHECK_OK(lmmiqa_safetensors_find(st, "scalar", &info));
        CHECK(info.ndim == 0 && info.numel == 1);
        lmmiqa_safetensors_close(st);
    }
    unlink(path);
}

static void test_half_exhaustive(void)
{
    size_t bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = lmmiqa__f16_to_f32((uint16_t)h);
        if (isnan(f)) {
            if (!isnan(lmmiqa__f16_to_f32(lmmiqa__f32_to_f16(f))))
                bad++;
            continue;
        }
        if (lmmiqa__f32_to_f16(f) != h)
            bad++;
        /* the midpoint to the next half value rounds to the even one */
        if ((h & 0x7fff) < 0x7bff) {
            float g = lmmiqa__f16_to_f32((uint16_t)(h + 1));
            float mid = (float)(((double)f + (double)g) / 2);
            uint16_t r = lmmiqa__f32_to_f16(mid);
            uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
            if (r != even)
                bad++;
        }
    }
    CHECK_MSG(bad == 0, "%zu half conversions wrong", bad);
    CHECK(lmmiqa__f16_to_f32(0x3c00) == 1.0f);
    CHECK(lmmiqa__f16_to_f32(0x0001) == 5.9604644775390625e-08f);
    CHECK(lmmiqa__f32_to_f16(65520.0f) == 0x7c00);
    CHECK(lmmiqa__f32_to_f16(65519.0f) == 0x7bff);
    CHECK(lmmiqa__f32_to_bf16(1.0f) == 0x3f80);
    CHECK(lmmiqa__bf16_to_f32(0xc020) == -2.5f);
    CHECK(lmmiqa__f32_to_bf16(1.00390625f) == 0x3f80); /* tie to even */
    CHECK(lmmiqa__f32_to_bf16(1.01171875f) == 0x3f82); /* tie to even, up */
    CHECK(isnan(lmmiqa__bf16_to_f32(lmmiqa__f32_to_bf16(NAN))));
}

/* Build "8-byte length + header + data" in memory. */
static unsigned char *make_file(const char *header, uint64_t claimed_len, size_t data_bytes,
                                size_t *size)
{
    size_t hl = strlen(header);
    *size = 8 + hl + data_bytes;
    unsigned char *b = calloc(1, *size);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(claimed_len >> (8 * i));
    memcpy(b + 8, header, hl);
    return b;
}

static int try_open(const char *header, size_t data_bytes)
{
    size_t size;
    unsigned char *b = make_file(header, strlen(header), data_bytes, &size);
    lmmiqa_safetensors *st = NULL;
    int rc = lmmiqa_safetensors_open_memory(b, size, &st);
    CHECK((rc == 0) == (st != NULL));
    lmmiqa_safetensors_close(st);
    free(b);
    return rc;
}

static void test_bad_files(void)
{
    const char *ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    CHECK(try_open(ok, 8) == LMMIQA_OK);
    /* truncated data */
    CHECK(try_open(ok, 7) == LMMIQA_ERR_CORRUPT);
    CHECK(strstr(lmmiqa_error_message(), "'a'") != NULL);
    /* trailing data not covered by tensors */
    CHECK(try_open(ok, 9) == LMMIQA_ERR_CORRUPT);
    /* offsets beyond the file */
    CHECK(try_open("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[800,808]}}", 8) ==
          LMMIQA_ERR_CORRUPT);
    /* offsets disagree with shape */
    CHECK(try_open("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8) ==
          LMMIQA_ERR_CORRUPT);
    CHECK(try_open("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8) ==
          LMMIQA_ERR_CORRUPT);
    /* unknown dtype */
    CHECK(try_open("{\"a\":{\"dtype\":\"F17\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8) ==
          LMMIQA_ERR_FORMAT);
    CHECK(strstr(lmmiqa_error_message(), "F17") != NULL);
    CHECK(try_open("{\"a\":{\"dtype\":7,\"shape\":[2],\"data_offsets\":[0,8]}}", 8) ==
          LMMIQA_ERR_CORRUPT);
    /* overlapping tensors (and the same total size) */
    CHECK(try_open("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                   "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                   12) == LMMIQA_ERR_CORRUPT);
    CHECK(strstr(lmmiqa_error_message(), "overlaps") != NULL);
    CHECK(try_open("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                   "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                   8) == LMMIQA_ERR_CORRUPT);
    /* gap */
    CHECK(try_open("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8) ==
          LMMIQA_ERR_CORRUPT);
    /* non-JSON, non-object, trailing garbage, NUL */
    CHECK(try_open("{this is not json}", 0) == LMMIQA_ERR_CORRUPT);
    CHECK(try_open("[1,2,3]", 0) == LMMIQA_ERR_CORRUPT);
    CHECK(try_open("{} x", 0) == LMMIQA_ERR_CORRUPT);
    CHECK(try_open("{}  ", 0) == LMMIQA_OK);
    /* duplicate names */
    CHECK(try_open("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                   "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                   8) == LMMIQA_ERR_CORRUPT);
    /* bad shapes */
    CHECK(try_open("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8) ==
          LMMIQA_ERR_CORRUPT);
    CHECK(try_open("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8) ==
          LMMIQA_ERR_CORRUPT);
    CHECK(try_open("{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776,"
                   "1099511627776],\"data_offsets\":[0,8]}}",
                   8) == LMMIQA_ERR_CORRUPT);
    CHECK(try_open("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],"
                   "\"data_offsets\":[0,8]}}",
                   8) == LMMIQA_ERR_TOO_LARGE);
    CHECK(try_open("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8) ==
          LMMIQA_ERR_CORRUPT);
    CHECK(try_open("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8) == LMMIQA_ERR_CORRUPT);
    CHECK(try_open("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}",
                   8) == LMMIQA_ERR_CORRUPT);
    CHECK(try_open("{\"a\":[]}", 0) == LMMIQA_ERR_CORRUPT);
    CHECK(try_open("{\"__metadata__\":{\"k\":1}}", 0) == LMMIQA_ERR_CORRUPT);
    CHECK(try_open("{\"__metadata__\":{\"k\":\"v\"}}", 0) == LMMIQA_OK);

    /* header length: huge, past the file, file shorter than 8 bytes */
    size_t size;
    lmmiqa_safetensors *st = NULL;
    unsigned char *b = make_file(ok, (uint64_t)1 << 40, 8, &size);
    CHECK(lmmiqa_safetensors_open_memory(b, size, &st) == LMMIQA_ERR_TOO_LARGE);
    free(b);
    b = make_file(ok, UINT64_MAX, 8, &size);
    CHECK(lmmiqa_safetensors_open_memory(b, size, &st) == LMMIQA_ERR_TOO_LARGE);
    free(b);
    b = make_file(ok, 1000, 8, &size);
    CHECK(lmmiqa_safetensors_open_memory(b, size, &st) == LMMIQA_ERR_CORRUPT);
    free(b);
    b = make_file(ok, strlen(ok), 8, &size);
    CHECK(lmmiqa_safetensors_open_memory(b, 5, &st) == LMMIQA_ERR_CORRUPT);
    CHECK(lmmiqa_safetensors_open_memory(b, 0, &st) == LMMIQA_ERR_CORRUPT);
    b[12] = '\0';
    CHECK(lmmiqa_safetensors_open_memory(b, size, &st) == LMMIQA_ERR_CORRUPT);
    free(b);
    CHECK(st == NULL);

    /* files on disk: missing, truncated copy of the golden file */
    CHECK(lmmiqa_safetensors_open(DATA_DIR "/no-such-file.safetensors", &st) == LMMIQA_ERR_IO);
    unsigned char *gold;
    size_t gsize;
    CHECK_OK(lmmiqa__file_read_all(DATA_DIR "/st_reference.safetensors", 1 << 20, &gold, &gsize));
    char path[512];
    snprintf(path, sizeof path, "%s/test_safetensors_trunc_%d.safetensors", LMMIQA_BINARY_DIR,
             (int)getpid());
    CHECK_OK(lmmiqa__file_write_atomic(path, gold, gsize - 3));
    CHECK(lmmiqa_safetensors_open(path, &st) == LMMIQA_ERR_CORRUPT);
    CHECK(strstr(lmmiqa_error_message(), path) != NULL);
    CHECK_OK(lmmiqa__file_write_atomic(path, gold, 4));
    CHECK(lmmiqa_safetensors_open(path, &st) == LMMIQA_ERR_CORRUPT);
    unlink(path);
    free(gold);
}

/* Seeded mutations of the golden file: byte flips, truncations, inserted
 * digits in the header. Each mutant must be rejected or fully readable. */
static void test_mutations(void)
{
    unsigned char *gold;
    size_t gsize;
    CHECK_OK(lmmiqa__file_read_all(DATA_DIR "/st_reference.safetensors", 1 << 20, &gold, &gsize));
    if (!gold)
        return;
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 20240611);
    int accepted = 0, rejected = 0;
    unsigned char *m = malloc(gsize + 64);
    for (int it = 0; it < 3000; it++) {
        size_t n = gsize;
        memcpy(m, gold, gsize);
        int kind = (int)lmmiqa_rng_below(&rng, 4);
        int edits = 1 + (int)lmmiqa_rng_below(&rng, 4);
        for (int e = 0; e < edits && n > 0; e++) {
            size_t hdr_end = 8 + 700 < n ? 8 + 700 : n;
            size_t pos = (size_t)lmmiqa_rng_below(&rng, kind == 3 ? hdr_end : n);
            if (kind == 0)
                m[pos] ^= (unsigned char)(1u << lmmiqa_rng_below(&rng, 8));
            else if (kind == 1)
                m[pos] = (unsigned char)lmmiqa_rng_below(&rng, 256);
            else if (kind == 2)
                n = pos;
            else
                m[pos] = (unsigned char)("0123456789[]{},:\"-.e"[lmmiqa_rng_below(&rng, 20)]);
        }
        unsigned char *copy = malloc(n ? n : 1); /* exact size so ASan sees overreads */
        memcpy(copy, m, n);
        lmmiqa_safetensors *st = NULL;
        int rc = lmmiqa_safetensors_open_memory(copy, n, &st);
        if (rc == LMMIQA_OK) {
            accepted++;
            for (size_t i = 0; i < lmmiqa_safetensors_count(st); i++) {
                lmmiqa_tensor_info info;
                CHECK_OK(lmmiqa_safetensors_get(st, i, &info));
                CHECK((const unsigned char *)info.data >= copy &&
                      (const unsigned char *)info.data + info.nbytes <= copy + n);
                float *v = malloc((info.numel + 1) * sizeof *v);
                CHECK_OK(lmmiqa_safetensors_read_f32(st, info.name, v, info.numel));
                free(v);
            }
            lmmiqa_safetensors_close(st);
        } else {
            rejected++;
            CHECK(st == NULL);
            CHECK(lmmiqa_error_message()[0] != '\0');
        }
        free(copy);
    }
    free(m);
    free(gold);
    CHECK(accepted > 0 && rejected > 0);
}

int main(void)
{
    RUN(test_golden);
    RUN(test_round_trip);
    RUN(test_half_exhaustive);
    RUN(test_bad_files);
    RUN(test_mutations);
    return test_finish();
}
