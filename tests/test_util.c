/*
 * tests/test_util.c - the shared utilities of src/core/util.c: the growable
 * buffer (appends across many reallocations keep every byte, printf of long
 * and empty text, take/free), the monotonic clock, and the JSON builders of
 * src/core/json.c (values round-trip with escaping and every digit; an
 * allocation failure at any point of a build gives NULL, never a text with
 * a field missing), and lmmiqa_file_mkdirs (mkdir -p: nested, repeated,
 * trailing slash, parents only, a file in the way, a path too long).
 */
#include "core/internal.h"
#include "core/json.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

static char *build_config(void)
{
    static const double three[3] = {0.48145466, 1.0 / 3.0, -2e-300};
    int ok = 1;
    cJSON *o = cJSON_CreateObject(), *inner = cJSON_CreateObject();
    lmmiqa__json_add_str(o, "name", "quote \" back \\ tab\t", &ok);
    lmmiqa__json_add_num(o, "eps", 1e-5, &ok);
    lmmiqa__json_add_num(o, "third", 1.0 / 3.0, &ok);
    lmmiqa__json_add_bool(o, "flag", 7, &ok);
    lmmiqa__json_add_nums(o, "three", three, 3, &ok);
    lmmiqa__json_add_num(inner, "n", 42, &ok);
    lmmiqa__json_add_item(o, "inner", inner, &ok);
    return lmmiqa__json_print_free(o, ok, 0);
}

static long alloc_budget = -1; /* allocations left before one fails; < 0: no limit */

static void *budget_malloc(size_t n)
{
    if (alloc_budget == 0)
        return NULL;
    if (alloc_budget > 0)
        alloc_budget--;
    return malloc(n);
}

static void test_json(void)
{
    char *text = build_config();
    CHECK(text != NULL);
    if (!text)
        return;
    cJSON *j = cJSON_Parse(text);
    CHECK(j != NULL);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "name");
    CHECK(cJSON_IsString(v) && strcmp(v->valuestring, "quote \" back \\ tab\t") == 0);
    v = cJSON_GetObjectItemCaseSensitive(j, "third");
    CHECK(cJSON_IsNumber(v) && v->valuedouble == 1.0 / 3.0); /* every digit kept */
    v = cJSON_GetObjectItemCaseSensitive(j, "eps");
    CHECK(cJSON_IsNumber(v) && v->valuedouble == 1e-5);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "flag")));
    v = cJSON_GetObjectItemCaseSensitive(j, "three");
    CHECK(cJSON_GetArraySize(v) == 3 && cJSON_GetArrayItem(v, 2)->valuedouble == -2e-300);
    v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "inner"), "n");
    CHECK(cJSON_IsNumber(v) && v->valueint == 42);
    cJSON_Delete(j);

    /* pretty: indented, ends in a newline */
    int ok = 1;
    cJSON *o = cJSON_CreateObject();
    lmmiqa__json_add_num(o, "a", 1, &ok);
    char *pretty = lmmiqa__json_print_free(o, ok, 1);
    CHECK(pretty && strchr(pretty, '\t') && pretty[strlen(pretty) - 1] == '\n');
    free(pretty);

    /* a NULL object fails the build; the printer refuses it with a message */
    ok = 1;
    lmmiqa__json_add_num(NULL, "x", 1, &ok);
    CHECK(ok == 0);
    lmmiqa__json_add_item(NULL, "x", cJSON_CreateObject(), &ok); /* item freed, not leaked */
    o = cJSON_CreateObject();
    CHECK(lmmiqa__json_print_free(o, ok, 0) == NULL);
    CHECK(strstr(lmmiqa_error_message(), "out of memory") != NULL);

    /* fail the k-th allocation, for every k: never a partial text */
    cJSON_Hooks hooks = {budget_malloc, free};
    cJSON_InitHooks(&hooks);
    int failures = 0;
    for (long k = 0; k < 200; k++) {
        alloc_budget = k;
        char *t = build_config();
        alloc_budget = -1;
        if (t) {
            CHECK(strcmp(t, text) == 0);
            free(t);
            break;
        }
        failures++;
    }
    cJSON_InitHooks(NULL);
    CHECK(failures > 10); /* the build allocates many times; each failure was caught */
    free(text);
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void test_mkdirs(void)
{
    char root[] = "/tmp/lmmiqa_mkdirs_XXXXXX", p[256];
    CHECK(mkdtemp(root) != NULL);
    snprintf(p, sizeof p, "%s/a/b/c", root);
    CHECK_OK(lmmiqa_file_mkdirs(p, 0));
    CHECK(is_dir(p));
    CHECK_OK(lmmiqa_file_mkdirs(p, 0)); /* existing: fine */
    snprintf(p, sizeof p, "%s/d/e/", root);
    CHECK_OK(lmmiqa_file_mkdirs(p, 0));
    snprintf(p, sizeof p, "%s/d/e", root);
    CHECK(is_dir(p));
    snprintf(p, sizeof p, "%s/f/g/file.txt", root);
    CHECK_OK(lmmiqa_file_mkdirs(p, 1)); /* only the folders leading to it */
    CHECK(!is_dir(p));
    snprintf(p, sizeof p, "%s/f/g", root);
    CHECK(is_dir(p));
    snprintf(p, sizeof p, "%s/f/g/file.txt", root);
    CHECK_OK(lmmiqa__file_write_atomic(p, "x", 1));
    snprintf(p, sizeof p, "%s/f/g/file.txt/h", root);
    CHECK(lmmiqa_file_mkdirs(p, 0) == LMMIQA_ERR_IO);
    CHECK(strstr(lmmiqa_error_message(), "file.txt: cannot create the folder") != NULL);
    char big[5000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK(lmmiqa_file_mkdirs(big, 0) == LMMIQA_ERR_TOO_LARGE);
    snprintf(p, sizeof p, "%s/f/g/file.txt", root);
    unlink(p);
    const char *dirs[] = {"f/g", "f", "d/e", "d", "a/b/c", "a/b", "a", ""};
    for (size_t k = 0; k < sizeof dirs / sizeof *dirs; k++) {
        snprintf(p, sizeof p, "%s/%s", root, dirs[k]);
        rmdir(p);
    }
    CHECK(!is_dir(root));
}

int main(void)
{
    RUN(test_buffer);
    RUN(test_clock);
    RUN(test_json);
    RUN(test_mkdirs);
    return test_finish();
}
