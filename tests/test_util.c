/*
 * tests/test_util.c - the shared utilities of src/core/util.c: the growable
 * buffer (appends across many reallocations keep every byte, printf of long
 * and empty text, take/free) and the monotonic clock.
 */
#include "core/internal.h"
#include "test.h"

#include <time.h>

static void test_buffer(void)
{
    lmmiqa__buf b = {0};
    char expect[20000];
    size_t n = 0;
    for (int i = 0; i < 2000; i++) {
        lmmiqa__buf_printf(&b, "%d,", i);
        n += (size_t)snprintf(expect + n, sizeof expect - n, "%d,", i);
    }
    CHECK(!b.oom);
    CHECK(b.len == n && strcmp(b.s, expect) == 0);
    lmmiqa__buf_put(&b, "\0x", 2); /* bytes, not only text */
    CHECK(b.len == n + 2 && b.s[n] == '\0' && b.s[n + 1] == 'x' && b.s[n + 2] == '\0');
    lmmiqa__buf_printf(&b, "%s", "");
    CHECK(b.len == n + 2);
    char big[5000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    lmmiqa__buf_printf(&b, "[%s]", big); /* one append larger than the capacity */
    CHECK(b.len == n + 2 + sizeof big + 1 && b.s[b.len - 1] == ']');
    char *t = lmmiqa__buf_take(&b);
    CHECK(t && t[0] == '0' && b.s == NULL && b.len == 0);
    free(t);
    t = lmmiqa__buf_take(&b); /* empty: "" */
    CHECK(t && t[0] == '\0');
    free(t);
    lmmiqa__buf_str(&b, "abc");
    CHECK(strcmp(b.s, "abc") == 0);
    lmmiqa__buf_free(&b);
    CHECK(b.s == NULL && b.len == 0 && b.cap == 0);
    lmmiqa__buf_free(&b); /* twice is harmless */
}

static void test_clock(void)
{
    double a = lmmiqa__now_s(), b = lmmiqa__now_s();
    CHECK(a > 0 && b >= a);
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    double c = lmmiqa__now_s();
    CHECK(c - b >= 0.019 && c - b < 5.0);
}

int main(void)
{
    RUN(test_buffer);
    RUN(test_clock);
    return test_finish();
}
