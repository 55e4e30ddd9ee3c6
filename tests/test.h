/*
 * tests/test.h - the minimal test harness every tests/test_*.c uses.
 *
 * A test file defines test functions, calls them from main through RUN(),
 * and ends with `return test_finish();`, which prints "N passed, N failed"
 * and returns non-zero on any failure. CHECK* record a failure with file
 * and line and go on, so one run reports every broken assertion.
 * test_shared_dir() finds ../shared (or $LMMIQA_SHARED_DIR); a test that
 * needs it calls TEST_REQUIRE_SHARED(), which skips (exit 77) with a clear
 * message where it is absent. test_path() and test_path_mkdir() build
 * scratch file paths.
 */
#ifndef LMMIQA_TEST_H
#define LMMIQA_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int test_checks_passed;
static int test_checks_failed;
static int test_current_failed;

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (cond) {                                                                         \
            test_checks_passed++;                                                           \
        } else {                                                                            \
            test_checks_failed++;                                                           \
            test_current_failed++;                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);        \
        }                                                                                   \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                \
    do {                                                                                    \
        if (cond) {                                                                         \
            test_checks_passed++;                                                           \
        } else {                                                                            \
            test_checks_failed++;                                                           \
            test_current_failed++;                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);        \
            fprintf(stderr, __VA_ARGS__);                                                   \
            fputc('\n', stderr);                                                            \
        }                                                                                   \
    } while (0)

/* |a - b| <= tol */
#define CHECK_NEAR(a, b, tol)                                                               \
    do {                                                                                    \
        double check_a_ = (double)(a), check_b_ = (double)(b);                              \
        CHECK_MSG(fabs(check_a_ - check_b_) <= (tol), "%s = %.17g, %s = %.17g, tol %g", #a, \
                  check_a_, #b, check_b_, (double)(tol));                                   \
    } while (0)

/* |a - b| <= rtol * max(|b|, floor) */
#define CHECK_REL(a, b, rtol, floor_)                                                       \
    do {                                                                                    \
        double check_a_ = (double)(a), check_b_ = (double)(b);                              \
        double check_s_ = fabs(check_b_) > (floor_) ? fabs(check_b_) : (floor_);            \
        CHECK_MSG(fabs(check_a_ - check_b_) <= (rtol) * check_s_,                           \
                  "%s = %.17g, %s = %.17g, rel err %.3g > %g", #a, check_a_, #b, check_b_,  \
                  fabs(check_a_ - check_b_) / check_s_, (double)(rtol));                    \
    } while (0)

/* Status call expected to succeed; prints the library's message if not. */
#define CHECK_OK(call)                                                                      \
    do {                                                                                    \
        int check_rc_ = (call);                                                             \
        CHECK_MSG(check_rc_ == 0, "status %d: %s", check_rc_, lmmiqa_error_message());      \
    } while (0)

#define RUN(fn)                                                                             \
    do {                                                                                    \
        test_current_failed = 0;                                                            \
        fn();                                                                               \
        fprintf(stderr, "%-4s %s\n", test_current_failed ? "FAIL" : "ok", #fn);             \
    } while (0)

static inline const char *test_shared_dir(void)
{
    static char path[4096];
    const char *env = getenv("LMMIQA_SHARED_DIR");
    struct stat st;
    if (env && *env && stat(env, &st) == 0 && S_ISDIR(st.st_mode))
        return env;
#ifdef LMMIQA_SOURCE_DIR
    snprintf(path, sizeof path, "%s/../shared", LMMIQA_SOURCE_DIR);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return path;
#endif
    return NULL;
}

/* Path under the shared folder, in a rotating static buffer (4 live at once). */
static inline const char *test_shared_path(const char *rel)
{
    static char bufs[4][4096];
    static int next;
    const char *dir = test_shared_dir();
    char *b = bufs[next++ & 3];
    snprintf(b, 4096, "%s/%s", dir ? dir : "../shared", rel);
    return b;
}

/* One of 4 rotating static path buffers of 4096 bytes. */
static inline char *test__path_slot(void)
{
    static char bufs[4][4096];
    static int next;
    return bufs[next++ & 3];
}

/* "dir/file" in a rotating static buffer (4 live at once). */
static inline const char *test_path(const char *dir, const char *file)
{
    char *b = test__path_slot();
    snprintf(b, 4096, "%s/%s", dir, file);
    return b;
}

/* "dir/sub/file", creating the folder dir/sub first (dir must exist); in
 * the rotating buffers test_path uses. */
static inline const char *test_path_mkdir(const char *dir, const char *sub, const char *file)
{
    char *b = test__path_slot();
    snprintf(b, 4096, "%s/%s", dir, sub);
    mkdir(b, 0755);
    snprintf(b, 4096, "%s/%s/%s", dir, sub, file);
    return b;
}

#define TEST_REQUIRE_SHARED()                                                               \
    do {                                                                                    \
        if (!test_shared_dir()) {                                                           \
            printf("SKIP: ../shared not found (set LMMIQA_SHARED_DIR); this test needs "    \
                   "its data\n");                                                           \
            exit(77);                                                                       \
        }                                                                                   \
    } while (0)

static inline int test_finish(void)
{
    printf("%d passed, %d failed\n", test_checks_passed, test_checks_failed);
    return test_checks_failed ? 1 : 0;
}

#endif
