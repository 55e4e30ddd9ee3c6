/*
 * tests/test_splits.c - random, grouped and official splits, pyiqa's split
 * files, our JSON round trip, and broken split files.
 *
 * Every split is checked for being a partition: train, val and test
 * disjoint, ascending, in range, and (for random and grouped splits)
 * covering all rows.
 */
#include "lmmiqa/dataset.h"
#include "lmmiqa/lmmiqa.h"
#include "lmmiqa/splits.h"
#include "test.h"

#include <unistd.h>

static const char *tmp_path(const char *name)
{
    return test_path_mkdir(LMMIQA_BINARY_DIR, "test_splits_tmp", name);
}

static const char *write_text(const char *name, const char *text)
{
    const char *p = tmp_path(name);
    FILE *f = fopen(p, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return p;
}

/* 1 when the split is a valid partition (cover: of all n rows). */
static int is_partition(const lmmiqa_split *sp, size_t n, int cover)
{
    unsigned char *seen = calloc(n ? n : 1, 1);
    int ok = seen != NULL;
    const size_t *lists[3] = {sp->train, sp->val, sp->test};
    size_t lens[3] = {sp->n_train, sp->n_val, sp->n_test};
    for (int p = 0; ok && p < 3; p++)
        for (size_t i = 0; ok && i < lens[p]; i++) {
            size_t v = lists[p][i];
            if (v >= n || seen[v] || (i && lists[p][i - 1] >= v))
                ok = 0;
            else
                seen[v] = 1;
        }
    if (ok && cover)
        ok = sp->n_train + sp->n_val + sp->n_test == n;
    free(seen);
    return ok;
}

static int same_split(const lmmiqa_split *a, const lmmiqa_split *b)
{
    return a->n_train == b->n_train && a->n_val == b->n_val && a->n_test == b->n_test &&
           !memcmp(a->train, b->train, a->n_train * sizeof *a->train) &&
           !memcmp(a->val, b->val, a->n_val * sizeof *a->val) &&
           !memcmp(a->test, b->test, a->n_test * sizeof *a->test);
}

static void test_random(void)
{
    lmmiqa_splits *s = NULL, *again = NULL, *other = NULL;
    CHECK_OK(lmmiqa_splits_random(1162, 10, 0.2, 0.0, 42, &s));
    CHECK_OK(lmmiqa_splits_random(1162, 10, 0.2, 0.0, 42, &again));
    CHECK_OK(lmmiqa_splits_random(1162, 10, 0.2, 0.0, 43, &other));
    if (!s || !again || !other)
        goto out;
    CHECK(lmmiqa_splits_count(s) == 10);
    CHECK(lmmiqa_splits_n(s) == 1162);
    CHECK(strcmp(lmmiqa_splits_method(s), "random") == 0);
    CHECK(lmmiqa_splits_seed(s) == 42);
    size_t differ_other = 0, differ_within = 0;
    for (size_t k = 0; k < 10; k++) {
        const lmmiqa_split *sp = lmmiqa_splits_get(s, k);
        CHECK(is_partition(sp, 1162, 1));
        CHECK(sp->n_test == 232 && sp->n_train == 930 && sp->n_val == 0);
        CHECK(same_split(sp, lmmiqa_splits_get(again, k)));
        differ_other += !same_split(sp, lmmiqa_splits_get(other, k));
        if (k)
            differ_within += !same_split(sp, lmmiqa_splits_get(s, k - 1));
    }
    CHECK(differ_other == 10);
    CHECK(differ_within == 9);
    /* Each row is in the test part about 20% of the time over many splits. */
    lmmiqa_splits *many = NULL;
    CHECK_OK(lmmiqa_splits_random(100, 500, 0.2, 0.0, 7, &many));
    if (many) {
        size_t hits[100] = {0};
        for (size_t k = 0; k < 500; k++) {
            const lmmiqa_split *sp = lmmiqa_splits_get(many, k);
            for (size_t i = 0; i < sp->n_test; i++)
                hits[sp->test[i]]++;
        }
        size_t lo = 500, hi = 0;
        for (int i = 0; i < 100; i++) {
            lo = hits[i] < lo ? hits[i] : lo;
            hi = hits[i] > hi ? hits[i] : hi;
        }
        /* Binomial(500, 0.2): mean 100, sd ~8.9; 5 sd bounds. */
        CHECK_MSG(lo >= 55 && hi <= 145, "test-part counts range %zu..%zu", lo, hi);
    }
    lmmiqa_splits_destroy(many);
out:
    lmmiqa_splits_destroy(s);
    lmmiqa_splits_destroy(again);
    lmmiqa_splits_destroy(other);
}

static void test_random_val(void)
{
    lmmiqa_splits *s = NULL, *plain = NULL;
    CHECK_OK(lmmiqa_splits_random(1000, 3, 0.2, 0.1, 5, &s));
    CHECK_OK(lmmiqa_splits_random(1000, 3, 0.2, 0.0, 5, &plain));
    if (s && plain) {
        for (size_t k = 0; k < 3; k++) {
            const lmmiqa_split *sp = lmmiqa_splits_get(s, k), *pp = lmmiqa_splits_get(plain, k);
            CHECK(is_partition(sp, 1000, 1));
            CHECK(sp->n_test == 200 && sp->n_val == 80 && sp->n_train == 720);
            /* Same test part as without validation: val only comes out of train. */
            CHECK(pp->n_test == sp->n_test &&
                  !memcmp(pp->test, sp->test, sp->n_test * sizeof *sp->test));
            size_t in_train = 0;
            for (size_t i = 0; i < sp->n_val; i++)
                for (size_t j = 0; j < pp->n_train; j++)
                    in_train += pp->train[j] == sp->val[i];
            CHECK(in_train == sp->n_val);
        }
        CHECK(lmmiqa_splits_val_frac(s) == 0.1);
    }
    lmmiqa_splits_destroy(s);
    lmmiqa_splits_destroy(plain);
    /* Bad arguments. */
    lmmiqa_splits *bad = (lmmiqa_splits *)&bad;
    CHECK(lmmiqa_splits_random(100, 0, 0.2, 0, 1, &bad) == LMMIQA_ERR_INVALID_ARG && !bad);
    CHECK(lmmiqa_splits_random(100, 1, 0.0, 0, 1, &bad) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_splits_random(100, 1, 1.0, 0, 1, &bad) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_splits_random(100, 1, 0.2, 1.0, 1, &bad) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_splits_random(2, 1, 0.2, 0, 1, &bad) == LMMIQA_ERR_INVALID_ARG);
    CHECK(strstr(lmmiqa_error_message(), "too few") != NULL);
}

static lmmiqa_dataset *six_groups(void)
{
    /* 6 groups of 2..7 rows each, written as a generic CSV. */
    const char *p = tmp_path("groups.csv");
    FILE *f = fopen(p, "w");
    if (!f)
        return NULL;
    fprintf(f, "image,mos,group\n");
    int row = 0;
    for (int g = 1; g <= 6; g++)
        for (int i = 0; i < g + 1; i++, row++)
            fprintf(f, "img%d.png,%d,IS%d\n", row, row, g);
    fclose(f);
    lmmiqa_dataset *ds = NULL;
    CHECK_OK(lmmiqa_dataset_load(p, NULL, &ds));
    return ds;
}

static void test_grouped(void)
{
    lmmiqa_dataset *ds = six_groups();
    if (!ds)
        return;
    size_t n = lmmiqa_dataset_size(ds);
    CHECK(n == 27 && lmmiqa_dataset_group_count(ds) == 6);
    lmmiqa_splits *s = NULL;
    CHECK_OK(lmmiqa_splits_grouped(ds, 2, 0, 0, &s));
    if (s) {
        CHECK(lmmiqa_splits_count(s) == 15);
        CHECK(lmmiqa_splits_test_groups(s) == 2);
        unsigned seen_pairs = 0; /* bitmask over the 15 pairs */
        for (size_t k = 0; k < lmmiqa_splits_count(s); k++) {
            const lmmiqa_split *sp = lmmiqa_splits_get(s, k);
            CHECK(is_partition(sp, n, 1));
            int in_test[6] = {0}, in_train[6] = {0};
            for (size_t i = 0; i < sp->n_test; i++)
                in_test[lmmiqa_dataset_group(ds, sp->test[i])] = 1;
            for (size_t i = 0; i < sp->n_train; i++)
                in_train[lmmiqa_dataset_group(ds, sp->train[i])] = 1;
            int nt = 0, a = -1, b = -1;
            for (int g = 0; g < 6; g++) {
                CHECK(!(in_test[g] && in_train[g]));
                if (in_test[g]) {
                    nt++;
                    if (a < 0)
                        a = g;
                    else
                        b = g;
                }
            }
            CHECK(nt == 2);
            if (a >= 0 && b > a)
                seen_pairs |= 1u << (a * 6 + b - (a + 1) * (a + 2) / 2);
        }
        CHECK(seen_pairs == (1u << 15) - 1);
        /* Lexicographic: the first split tests groups 0 and 1 (IS1, IS2). */
        const lmmiqa_split *first = lmmiqa_splits_get(s, 0);
        CHECK(first->n_test == 2 + 3);
    }
    lmmiqa_splits_destroy(s);
    /* A seeded sample of 5 distinct combinations, reproducible. */
    lmmiqa_splits *a = NULL, *b = NULL;
    CHECK_OK(lmmiqa_splits_grouped(ds, 2, 5, 9, &a));
    CHECK_OK(lmmiqa_splits_grouped(ds, 2, 5, 9, &b));
    if (a && b) {
        CHECK(lmmiqa_splits_count(a) == 5);
        for (size_t k = 0; k < 5; k++) {
            CHECK(same_split(lmmiqa_splits_get(a, k), lmmiqa_splits_get(b, k)));
            for (size_t j = 0; j < k; j++)
                CHECK(!same_split(lmmiqa_splits_get(a, k), lmmiqa_splits_get(a, j)));
        }
    }
    lmmiqa_splits_destroy(a);
    lmmiqa_splits_destroy(b);
    lmmiqa_splits *bad = NULL;
    CHECK(lmmiqa_splits_grouped(ds, 6, 0, 0, &bad) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_splits_grouped(ds, 0, 0, 0, &bad) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_splits_grouped(ds, 2, 16, 0, &bad) == LMMIQA_ERR_INVALID_ARG);
    lmmiqa_dataset_destroy(ds);
    /* No groups. */
    CHECK_OK(lmmiqa_dataset_load(write_text("nogroups.csv", "image,mos\na,1\nb,2\nc,3\n"), NULL,
                                 &ds));
    if (ds)
        CHECK(lmmiqa_splits_grouped(ds, 1, 0, 0, &bad) == LMMIQA_ERR_INVALID_ARG);
    lmmiqa_dataset_destroy(ds);
}

static void test_cid2013_grouped(void)
{
    if (!test_shared_dir())
        return;
    lmmiqa_dataset *ds = NULL;
    CHECK_OK(lmmiqa_dataset_load(test_shared_path("data/labels/cid2013/CID2013.txt"), NULL, &ds));
    if (!ds)
        return;
    lmmiqa_splits *s = NULL;
    CHECK_OK(lmmiqa_splits_grouped(ds, 2, 0, 0, &s));
    if (s) {
        CHECK(lmmiqa_splits_count(s) == 15);
        /* IS1 (84) + IS2 (78) in the test part of the first split. */
        CHECK(lmmiqa_splits_get(s, 0)->n_test == 162);
        for (size_t k = 0; k < 15; k++)
            CHECK(is_partition(lmmiqa_splits_get(s, k), 474, 1));
    }
    lmmiqa_splits_destroy(s);
    lmmiqa_dataset_destroy(ds);
}

static void test_pyiqa(void)
{
    if (!test_shared_dir())
        return;
    lmmiqa_splits *s = NULL;
    CHECK_OK(lmmiqa_splits_load_json(
        test_shared_path("data/labels/pyiqa/livechallenge_seed123.json"), 1162, &s));
    if (s) {
        CHECK(lmmiqa_splits_count(s) == 10);
        CHECK(strcmp(lmmiqa_splits_method(s), "pyiqa") == 0);
        for (size_t k = 0; k < 10; k++) {
            const lmmiqa_split *sp = lmmiqa_splits_get(s, k);
            /* pyiqa's "val" is the held-out part: our test part. */
            CHECK(sp->n_train == 930 && sp->n_test == 232 && sp->n_val == 0);
            CHECK(is_partition(sp, 1162, 1));
        }
        /* The file's first train index of split 1 is 262; sorted, the lists start at
         * their smallest member. */
        const lmmiqa_split *sp = lmmiqa_splits_get(s, 0);
        int has262 = 0;
        for (size_t i = 0; i < sp->n_train; i++)
            has262 |= sp->train[i] == 262;
        CHECK(has262);
    }
    lmmiqa_splits_destroy(s);
    /* Too small a dataset: out of range. */
    CHECK(lmmiqa_splits_load_json(test_shared_path("data/labels/pyiqa/livechallenge_seed123.json"),
                                  1000, &s) == LMMIQA_ERR_INVALID_ARG);
    CHECK(strstr(lmmiqa_error_message(), "out of range") != NULL);
    s = NULL;
    CHECK_OK(lmmiqa_splits_load_json(test_shared_path("data/labels/pyiqa/koniq10k_official.json"),
                                     10073, &s));
    if (s) {
        CHECK(lmmiqa_splits_count(s) == 1);
        const lmmiqa_split *sp = lmmiqa_splits_get(s, 0);
        CHECK(sp->n_train == 7058 && sp->n_val == 1000 && sp->n_test == 2015);
        CHECK(is_partition(sp, 10073, 1));
        /* Same as the official split from the KonIQ set column (same row order). */
        lmmiqa_dataset *ds = NULL;
        lmmiqa_splits *off = NULL;
        CHECK_OK(lmmiqa_dataset_load(test_shared_path("data/labels/koniq10k"), NULL, &ds));
        if (ds)
            CHECK_OK(lmmiqa_splits_official(ds, &off));
        if (off)
            CHECK(same_split(sp, lmmiqa_splits_get(off, 0)));
        lmmiqa_splits_destroy(off);
        lmmiqa_dataset_destroy(ds);
    }
    lmmiqa_splits_destroy(s);
    s = NULL;
    CHECK_OK(lmmiqa_splits_load_json(test_shared_path("data/labels/pyiqa/spaq_seed123.json"), 0,
                                     &s));
    if (s) {
        CHECK(lmmiqa_splits_n(s) == 11125 && lmmiqa_splits_count(s) == 10);
        CHECK(lmmiqa_splits_get(s, 0)->n_test == 2225);
    }
    lmmiqa_splits_destroy(s);
}

static void test_round_trip(void)
{
    lmmiqa_splits *s = NULL, *back = NULL;
    CHECK_OK(lmmiqa_splits_random(57, 4, 0.25, 0.2, 0xfedcba9876543210ull, &s));
    const char *p = tmp_path("round.json");
    if (s)
        CHECK_OK(lmmiqa_splits_save_json(s, p));
    CHECK_OK(lmmiqa_splits_load_json(p, 57, &back));
    if (s && back) {
        CHECK(lmmiqa_splits_count(back) == 4);
        CHECK(lmmiqa_splits_seed(back) == 0xfedcba9876543210ull);
        CHECK(lmmiqa_splits_test_frac(back) == 0.25);
        CHECK(lmmiqa_splits_val_frac(back) == 0.2);
        CHECK(strcmp(lmmiqa_splits_method(back), "random") == 0);
        for (size_t k = 0; k < 4; k++)
            CHECK(same_split(lmmiqa_splits_get(s, k), lmmiqa_splits_get(back, k)));
    }
    lmmiqa_splits_destroy(back);
    back = NULL;
    /* n from the file; a different n is a mismatch. */
    CHECK_OK(lmmiqa_splits_load_json(p, 0, &back));
    CHECK(back && lmmiqa_splits_n(back) == 57);
    lmmiqa_splits_destroy(back);
    CHECK(lmmiqa_splits_load_json(p, 58, &back) == LMMIQA_ERR_MISMATCH);
    lmmiqa_splits_destroy(s);
}

static void expect_bad(const char *name, const char *json, size_t n, int status,
                       const char *needle)
{
    lmmiqa_splits *s = (lmmiqa_splits *)&s;
    int rc = lmmiqa_splits_load_json(write_text(name, json), n, &s);
    CHECK_MSG(rc == status, "%s: status %d, want %d (%s)", name, rc, status,
              lmmiqa_error_message());
    CHECK(s == NULL);
    CHECK_MSG(strstr(lmmiqa_error_message(), needle) != NULL, "%s: message '%s' lacks '%s'", name,
              lmmiqa_error_message(), needle);
}

static void test_bad_json(void)
{
    expect_bad("trunc.json", "{\"1\": {\"train\": [0, 1", 10, LMMIQA_ERR_CORRUPT, "invalid JSON");
    expect_bad("range.json", "{\"1\": {\"train\": [0, 1], \"val\": [10]}}", 10,
               LMMIQA_ERR_INVALID_ARG, "index 10 out of range");
    expect_bad("neg.json", "{\"1\": {\"train\": [0, -1], \"val\": [2]}}", 10, LMMIQA_ERR_CORRUPT,
               "not a non-negative integer");
    expect_bad("frac.json", "{\"1\": {\"train\": [0, 1.5], \"val\": [2]}}", 10,
               LMMIQA_ERR_CORRUPT, "not a non-negative integer");
    expect_bad("overlap.json", "{\"1\": {\"train\": [0, 1], \"val\": [1]}}", 10,
               LMMIQA_ERR_CORRUPT, "index 1 appears in train and again in test");
    expect_bad("dup.json", "{\"1\": {\"train\": [0, 0], \"val\": [1]}}", 10, LMMIQA_ERR_CORRUPT,
               "appears in train and again in train");
    expect_bad("gap.json", "{\"1\": {\"train\": [0], \"val\": [1]}, \"3\": {\"train\": [0], "
                           "\"val\": [1]}}",
               10, LMMIQA_ERR_CORRUPT, "key \"2\" is missing");
    expect_bad("array.json", "[1, 2]", 10, LMMIQA_ERR_FORMAT, "JSON object");
    expect_bad("empty.json", "{}", 10, LMMIQA_ERR_CORRUPT, "no splits");
    expect_bad("notest.json", "{\"1\": {\"train\": [0]}}", 10, LMMIQA_ERR_CORRUPT, "'test'");
    expect_bad("emptytest.json", "{\"1\": {\"train\": [0], \"val\": []}}", 10,
               LMMIQA_ERR_INVALID_ARG, "empty test part");
    expect_bad("key.json", "{\"1\": {\"train\": [0], \"val\": [1], \"extra\": [2]}}", 10,
               LMMIQA_ERR_CORRUPT, "unknown key 'extra'");
    expect_bad("ours_n.json",
               "{\"format\": \"lmmiqa-splits\", \"version\": 1, \"n\": 5, \"splits\": "
               "[{\"train\": [0], \"val\": [], \"test\": [7]}]}",
               0, LMMIQA_ERR_INVALID_ARG, "index 7 out of range");
    expect_bad("ours_ver.json", "{\"format\": \"lmmiqa-splits\", \"version\": 2}", 0,
               LMMIQA_ERR_FORMAT, "version");
    expect_bad("other.json", "{\"format\": \"something\"}", 0, LMMIQA_ERR_FORMAT, "format");
    /* Found by fuzz_splits: a huge test_groups was converted to size_t (UB). */
    expect_bad("groups.json",
               "{\"format\": \"lmmiqa-splits\", \"version\": 1, \"n\": 5, \"test_groups\": 3e107, "
               "\"splits\": [{\"train\": [0], \"val\": [], \"test\": [1]}]}",
               0, LMMIQA_ERR_CORRUPT, "'test_groups' is not a count");
    lmmiqa_splits *s = NULL;
    CHECK(lmmiqa_splits_load_json(tmp_path("missing.json"), 10, &s) == LMMIQA_ERR_IO);
    CHECK(strstr(lmmiqa_error_message(), "missing.json") != NULL);
}

int main(void)
{
    RUN(test_random);
    RUN(test_random_val);
    RUN(test_grouped);
    RUN(test_cid2013_grouped);
    RUN(test_pyiqa);
    RUN(test_round_trip);
    RUN(test_bad_json);
    return test_finish();
}
