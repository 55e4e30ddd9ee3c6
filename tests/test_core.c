/* tests/test_core.c - status codes, error messages (internal and public names),
 * the seeded generator, whole-file I/O. */
#include "lmmiqa/core.h"
#include "lmmiqa/rng.h"
#include "core/internal.h"
#include "test.h"

static void test_error_message(void)
{
    lmmiqa_error_clear();
    CHECK(strcmp(lmmiqa_error_message(), "") == 0);
    int rc = lmmiqa__fail(LMMIQA_ERR_IO, "cannot open %s", "x.png");
    CHECK(rc == LMMIQA_ERR_IO);
    CHECK(strcmp(lmmiqa_error_message(), "cannot open x.png") == 0);
    lmmiqa__fail_context(rc, "%s: ", "ctx");
    CHECK(strcmp(lmmiqa_error_message(), "ctx: cannot open x.png") == 0);
    /* The public names a companion library (liblmmiqa-plot) uses: the same
     * message, and a context longer than the message's capacity is cut. */
    CHECK(lmmiqa_error_set(LMMIQA_ERR_FORMAT, "bad %d", 7) == LMMIQA_ERR_FORMAT);
    CHECK(lmmiqa_error_context(LMMIQA_ERR_FORMAT, "%s: ", "fig.png") == LMMIQA_ERR_FORMAT);
    CHECK(strcmp(lmmiqa_error_message(), "fig.png: bad 7") == 0);
    char long_ctx[2000];
    memset(long_ctx, 'a', sizeof long_ctx - 1);
    long_ctx[sizeof long_ctx - 1] = '\0';
    lmmiqa_error_context(rc, "%s", long_ctx);
    CHECK(strlen(lmmiqa_error_message()) == 1023 && lmmiqa_error_message()[0] == 'a');
    CHECK(strcmp(lmmiqa_status_name(LMMIQA_ERR_CORRUPT), "corrupt data") == 0);
    CHECK(strcmp(lmmiqa_status_name(12345), "unknown status") == 0);
    size_t out = 0;
    CHECK(lmmiqa__mul_size((size_t)1 << 40, (size_t)1 << 40, &out) == LMMIQA_ERR_TOO_LARGE);
    CHECK(lmmiqa__mul_size(3, 5, &out) == 0 && out == 15);
}

static void test_rng(void)
{
    lmmiqa_rng a, b;
    lmmiqa_rng_seed(&a, 42);
    lmmiqa_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++)
        CHECK(lmmiqa_rng_next(&a) == lmmiqa_rng_next(&b));
    lmmiqa_rng_seed(&b, 43);
    CHECK(lmmiqa_rng_next(&a) != lmmiqa_rng_next(&b));
    /* uniform mean and normal moments */
    double s = 0, s2 = 0, n1 = 0, n2 = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double u = lmmiqa_rng_uniform(&a);
        CHECK(u >= 0 && u < 1);
        s += u;
        double z = lmmiqa_rng_normal(&a);
        n1 += z;
        n2 += z * z;
    }
    (void)s2;
    CHECK_NEAR(s / n, 0.5, 0.01);
    CHECK_NEAR(n1 / n, 0.0, 0.01);
    CHECK_NEAR(n2 / n, 1.0, 0.02);
    size_t idx[10], seen[10] = {0};
    for (size_t i = 0; i < 10; i++)
        idx[i] = i;
    lmmiqa_rng_shuffle(&a, idx, 10);
    for (size_t i = 0; i < 10; i++)
        seen[idx[i]]++;
    for (size_t i = 0; i < 10; i++)
        CHECK(seen[i] == 1);
    int counts[3] = {0};
    for (int i = 0; i < 30000; i++)
        counts[lmmiqa_rng_below(&a, 3)]++;
    for (int i = 0; i < 3; i++)
        CHECK(counts[i] > 9500 && counts[i] < 10500);
}

static void test_atomic_write(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/test_core_atomic.bin", LMMIQA_BINARY_DIR);
    const char msg[] = "hello lmmiqa";
    CHECK_OK(lmmiqa__file_write_atomic(path, msg, sizeof msg));
    unsigned char *data = NULL;
    size_t size = 0;
    CHECK_OK(lmmiqa__file_read_all(path, 1 << 20, &data, &size));
    CHECK(size == sizeof msg && memcmp(data, msg, size) == 0);
    free(data);
    CHECK(lmmiqa__file_read_all(path, 4, &data, &size) == LMMIQA_ERR_TOO_LARGE);
    CHECK(lmmiqa__file_read_all("/nonexistent/x", 4, &data, &size) == LMMIQA_ERR_IO);
    CHECK(strstr(lmmiqa_error_message(), "/nonexistent/x") != NULL);
    /* The public name (lmmiqa/advanced/file.h) is the same writer. */
    CHECK(lmmiqa_file_write_atomic("/nonexistent/dir/x", msg, sizeof msg) == LMMIQA_ERR_IO);
    CHECK(strstr(lmmiqa_error_message(), "/nonexistent/dir/x") != NULL);
    remove(path);
}

static void test_sha256(void)
{
    char hex[65];
    lmmiqa__sha256_hex("abc", 3, hex);
    CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    lmmiqa__sha256_hex("", 0, hex);
    CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/test_core_sha.bin", LMMIQA_BINARY_DIR);
    CHECK_OK(lmmiqa__file_write_atomic(path, "abc", 3));
    CHECK_OK(lmmiqa__sha256_file(path, hex));
    CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    remove(path);
    CHECK(lmmiqa__sha256_file("/nonexistent/file", hex) == LMMIQA_ERR_IO);
}

int main(void)
{
    RUN(test_sha256);
    RUN(test_error_message);
    RUN(test_rng);
    RUN(test_atomic_write);
    return test_finish();
}
