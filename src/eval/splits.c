/*
 * src/eval/splits.c - train / validation / test splits: seeded random,
 * grouped (by image set), official (a dataset's subsets), and JSON files
 * (ours and pyiqa's) read and written with cJSON.
 *
 * Design: a split set owns one index pool; each split points into it with
 * three ascending lists. Every constructor ends in check_split(), which
 * range-checks every index and rejects an index in two parts, so a split
 * that reaches the caller is always a valid partition of a subset of 0..n-1.
 * Validation rows are drawn from the training side only.
 */
#include "lmmiqa/splits.h"

#include "core/internal.h"
#include "lmmiqa/rng.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPLITS_MAX_COMBOS 1000000
#define SPLITS_MAX_JSON ((size_t)1 << 30)

struct lmmiqa_splits {
    size_t n;
    size_t count;
    lmmiqa_split *split;
    size_t **lists; /* 3 * count owned lists (train, val, test per split) */
    char method[32];
    uint64_t seed;
    double test_frac, val_frac;
    size_t test_groups;
};

static int create(size_t n, size_t count, const char *method, lmmiqa_splits **out)
{
    *out = NULL;
    lmmiqa_splits *s = lmmiqa__calloc(1, sizeof *s);
    if (!s)
        return LMMIQA_ERR_NOMEM;
    s->n = n;
    s->count = count;
    s->test_frac = NAN;
    s->val_frac = NAN;
    snprintf(s->method, sizeof s->method, "%s", method);
    s->split = lmmiqa__calloc(count ? count : 1, sizeof *s->split);
    s->lists = lmmiqa__calloc(3 * (count ? count : 1), sizeof *s->lists);
    if (!s->split || !s->lists) {
        lmmiqa_splits_destroy(s);
        return LMMIQA_ERR_NOMEM;
    }
    *out = s;
    return LMMIQA_OK;
}

void lmmiqa_splits_destroy(lmmiqa_splits *s)
{
    if (!s)
        return;
    if (s->lists)
        for (size_t k = 0; k < 3 * s->count; k++)
            free(s->lists[k]);
    free(s->lists);
    free(s->split);
    free(s);
}

/* Allocate the three lists of split k. */
static int alloc_split(lmmiqa_splits *s, size_t k, size_t ntr, size_t nva, size_t nte)
{
    size_t *tr = lmmiqa__malloc((ntr ? ntr : 1) * sizeof *tr);
    size_t *va = lmmiqa__malloc((nva ? nva : 1) * sizeof *va);
    size_t *te = lmmiqa__malloc((nte ? nte : 1) * sizeof *te);
    s->lists[3 * k] = tr;
    s->lists[3 * k + 1] = va;
    s->lists[3 * k + 2] = te;
    if (!tr || !va || !te)
        return LMMIQA_ERR_NOMEM;
    s->split[k] = (lmmiqa_split){ntr, nva, nte, tr, va, te};
    return LMMIQA_OK;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Sort the lists of split k and check range and disjointness. `mark` is
 * scratch of n bytes. */
static int check_split(lmmiqa_splits *s, size_t k, unsigned char *mark, const char *name)
{
    static const char *const part[3] = {"train", "val", "test"};
    memset(mark, 0, s->n);
    for (int p = 0; p < 3; p++) {
        size_t *l = s->lists[3 * k + p];
        size_t m = p == 0 ? s->split[k].n_train : p == 1 ? s->split[k].n_val : s->split[k].n_test;
        qsort(l, m, sizeof *l, cmp_size);
        for (size_t i = 0; i < m; i++) {
            if (l[i] >= s->n)
                return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                    "%s: split %zu: %s index %zu out of range (dataset has %zu "
                                    "rows)",
                                    name, k + 1, part[p], l[i], s->n);
            if (mark[l[i]])
                return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                    "%s: split %zu: index %zu appears in %s and again in %s", name,
                                    k + 1, l[i], part[mark[l[i]] - 1], part[p]);
            mark[l[i]] = (unsigned char)(p + 1);
        }
    }
    if (s->split[k].n_train == 0 || s->split[k].n_test == 0)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "%s: split %zu has an empty %s part", name,
                            k + 1, s->split[k].n_train == 0 ? "train" : "test");
    return LMMIQA_OK;
}

static int check_all(lmmiqa_splits *s, const char *name)
{
    unsigned char *mark = lmmiqa__malloc(s->n ? s->n : 1);
    if (!mark)
        return LMMIQA_ERR_NOMEM;
    int rc = LMMIQA_OK;
    for (size_t k = 0; !rc && k < s->count; k++)
        rc = check_split(s, k, mark, name);
    free(mark);
    return rc;
}

/* ------------------------------------------------------------------ random */

int lmmiqa_splits_random(size_t n, size_t count, double test_frac, double val_frac, uint64_t seed,
                         lmmiqa_splits **out)
{
    assert(out);
    *out = NULL;
    if (count == 0)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "random splits: count must be at least 1");
    if (!(test_frac > 0 && test_frac < 1))
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "random splits: test fraction %g is not in (0, 1)", test_frac);
    if (!(val_frac >= 0 && val_frac < 1))
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "random splits: validation fraction %g is not in [0, 1)", val_frac);
    size_t n_test = (size_t)floor((double)n * test_frac + 0.5);
    size_t n_rest = n >= n_test ? n - n_test : 0;
    size_t n_val = (size_t)floor((double)n_rest * val_frac + 0.5);
    if (n_test == 0 || n_rest <= n_val || (val_frac > 0 && n_val == 0))
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "random splits: %zu rows are too few for test fraction %g and "
                            "validation fraction %g (every part needs a row)",
                            n, test_frac, val_frac);
    size_t n_train = n_rest - n_val;
    lmmiqa_splits *s;
    int rc = create(n, count, "random", &s);
    if (rc)
        return rc;
    s->seed = seed;
    s->test_frac = test_frac;
    s->val_frac = val_frac;
    size_t *perm = lmmiqa__malloc(n * sizeof *perm);
    if (!perm) {
        lmmiqa_splits_destroy(s);
        return LMMIQA_ERR_NOMEM;
    }
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, seed);
    for (size_t k = 0; !rc && k < count; k++) {
        for (size_t i = 0; i < n; i++)
            perm[i] = i;
        lmmiqa_rng_shuffle(&rng, perm, n);
        if ((rc = alloc_split(s, k, n_train, n_val, n_test)))
            break;
        memcpy(s->lists[3 * k + 2], perm, n_test * sizeof *perm);
        memcpy(s->lists[3 * k + 1], perm + n_test, n_val * sizeof *perm);
        memcpy(s->lists[3 * k], perm + n_test + n_val, n_train * sizeof *perm);
    }
    free(perm);
    if (!rc)
        rc = check_all(s, "random splits");
    if (rc) {
        lmmiqa_splits_destroy(s);
        return rc;
    }
    *out = s;
    return LMMIQA_OK;
}

/* ----------------------------------------------------------------- grouped */

static size_t binomial(size_t g, size_t k)
{
    size_t r = 1;
    for (size_t i = 1; i <= k; i++) {
        if (r > SIZE_MAX / (g - k + i))
            return SIZE_MAX;
        r = r * (g - k + i) / i;
    }
    return r;
}

/* Next k-combination of 0..g-1 in lexicographic order; 0 when done. */
static int next_combo(size_t *c, size_t k, size_t g)
{
    size_t i = k;
    while (i > 0 && c[i - 1] == g - k + i - 1)
        i--;
    if (i == 0)
        return 0;
    c[i - 1]++;
    for (size_t j = i; j < k; j++)
        c[j] = c[j - 1] + 1;
    return 1;
}

int lmmiqa_splits_grouped(const lmmiqa_dataset *ds, size_t test_groups, size_t count,
                          uint64_t seed, lmmiqa_splits **out)
{
    assert(ds && out);
    *out = NULL;
    size_t g = lmmiqa_dataset_group_count(ds), n = lmmiqa_dataset_size(ds);
    if (g == 0)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "dataset '%s' has no groups",
                            lmmiqa_dataset_name(ds));
    if (test_groups == 0 || test_groups >= g)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "grouped splits: %zu test groups out of %zu (need 1..%zu)",
                            test_groups, g, g - 1);
    size_t total = binomial(g, test_groups);
    if (total > SPLITS_MAX_COMBOS)
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE,
                            "grouped splits: C(%zu, %zu) combinations exceed the limit %d", g,
                            test_groups, SPLITS_MAX_COMBOS);
    if (count > total)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "grouped splits: %zu splits asked, only %zu distinct combinations of "
                            "%zu test groups out of %zu",
                            count, total, test_groups, g);
    size_t want = count ? count : total;
    /* Enumerate all combinations, then keep all or a seeded sample. */
    size_t *combos = lmmiqa__malloc(total * test_groups * sizeof *combos);
    size_t *order = lmmiqa__malloc(total * sizeof *order);
    size_t *pos = lmmiqa__malloc(n * sizeof *pos);
    unsigned char *is_test = lmmiqa__malloc(g);
    lmmiqa_splits *s = NULL;
    int rc = combos && order && pos && is_test ? LMMIQA_OK : LMMIQA_ERR_NOMEM;
    if (!rc) {
        for (size_t i = 0; i < test_groups; i++)
            combos[i] = i;
        for (size_t t = 1; t < total; t++) {
            memcpy(combos + t * test_groups, combos + (t - 1) * test_groups,
                   test_groups * sizeof *combos);
            int more = next_combo(combos + t * test_groups, test_groups, g);
            assert(more);
            (void)more;
        }
        for (size_t i = 0; i < total; i++)
            order[i] = i;
        if (count) {
            lmmiqa_rng rng;
            lmmiqa_rng_seed(&rng, seed);
            lmmiqa_rng_shuffle(&rng, order, total);
            qsort(order, want, sizeof *order, cmp_size);
        }
        /* Position of every row's group in the sorted group list. */
        for (size_t i = 0; i < n; i++) {
            int grp = lmmiqa_dataset_group(ds, i);
            size_t k = 0;
            while (k < g && lmmiqa_dataset_group_id(ds, k) != grp)
                k++;
            if (k == g) {
                rc = lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "dataset row %zu has no group", i);
                break;
            }
            pos[i] = k;
        }
    }
    if (!rc)
        rc = create(n, want, "grouped", &s);
    if (!rc) {
        s->seed = count ? seed : 0;
        s->test_groups = test_groups;
    }
    for (size_t k = 0; !rc && k < want; k++) {
        memset(is_test, 0, g);
        const size_t *combo = combos + order[k] * test_groups;
        for (size_t i = 0; i < test_groups; i++)
            is_test[combo[i]] = 1;
        size_t nte = 0;
        for (size_t i = 0; i < n; i++)
            nte += is_test[pos[i]];
        if ((rc = alloc_split(s, k, n - nte, 0, nte)))
            break;
        size_t a = 0, b = 0;
        for (size_t i = 0; i < n; i++) {
            if (is_test[pos[i]])
                s->lists[3 * k + 2][b++] = i;
            else
                s->lists[3 * k][a++] = i;
        }
    }
    free(combos);
    free(order);
    free(pos);
    free(is_test);
    if (!rc)
        rc = check_all(s, "grouped splits");
    if (rc) {
        lmmiqa_splits_destroy(s);
        return rc;
    }
    *out = s;
    return LMMIQA_OK;
}

/* ---------------------------------------------------------------- official */

int lmmiqa_splits_official(const lmmiqa_dataset *ds, lmmiqa_splits **out)
{
    assert(ds && out);
    *out = NULL;
    size_t n = lmmiqa_dataset_size(ds), cnt[3] = {0, 0, 0};
    unsigned char *part = lmmiqa__malloc(n ? n : 1);
    if (!part)
        return LMMIQA_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *set = lmmiqa_dataset_subset(ds, i);
        int p;
        if (!set) {
            free(part);
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                "dataset '%s' has no official subset for row %zu ('%s')",
                                lmmiqa_dataset_name(ds), i, lmmiqa_dataset_image(ds, i));
        }
        if (strcmp(set, "training") == 0 || strcmp(set, "train") == 0)
            p = 0;
        else if (strcmp(set, "validation") == 0 || strcmp(set, "val") == 0)
            p = 1;
        else if (strcmp(set, "test") == 0)
            p = 2;
        else {
            free(part);
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                "dataset '%s' row %zu ('%s'): unknown subset '%s' (want "
                                "training, validation or test)",
                                lmmiqa_dataset_name(ds), i, lmmiqa_dataset_image(ds, i), set);
        }
        part[i] = (unsigned char)p;
        cnt[p]++;
    }
    lmmiqa_splits *s;
    int rc = create(n, 1, "official", &s);
    if (!rc)
        rc = alloc_split(s, 0, cnt[0], cnt[1], cnt[2]);
    if (!rc) {
        size_t fill[3] = {0, 0, 0};
        for (size_t i = 0; i < n; i++)
            s->lists[part[i]][fill[part[i]]++] = i;
        rc = check_all(s, "official split");
    }
    free(part);
    if (rc) {
        lmmiqa_splits_destroy(s);
        return rc;
    }
    *out = s;
    return LMMIQA_OK;
}

/* -------------------------------------------------------------------- JSON */

/* Read a JSON array of indices into a fresh list. */
static int read_list(const cJSON *arr, const char *name, size_t k, const char *part, size_t n,
                     size_t **list, size_t *len)
{
    *list = NULL;
    *len = 0;
    if (!arr)
        return LMMIQA_OK;
    if (!cJSON_IsArray(arr))
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: split %zu: '%s' is not an array", name, k + 1,
                            part);
    size_t m = (size_t)cJSON_GetArraySize(arr);
    size_t *l = lmmiqa__malloc((m ? m : 1) * sizeof *l);
    if (!l)
        return LMMIQA_ERR_NOMEM;
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        double v = cJSON_IsNumber(e) ? e->valuedouble : -1;
        if (!cJSON_IsNumber(e) || v != floor(v) || v < 0 || v >= 9007199254740992.0) {
            free(l);
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                "%s: split %zu: '%s' entry %zu is not a non-negative integer",
                                name, k + 1, part, i);
        }
        if (n && v >= (double)n) {
            free(l);
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                "%s: split %zu: %s index %.0f out of range (dataset has %zu rows)",
                                name, k + 1, part, v, n);
        }
        l[i++] = (size_t)v;
    }
    *list = l;
    *len = m;
    return LMMIQA_OK;
}

static size_t list_max_plus_one(const cJSON *arr)
{
    size_t best = 0;
    const cJSON *e;
    if (!cJSON_IsArray(arr))
        return 0;
    cJSON_ArrayForEach(e, arr)
    {
        if (cJSON_IsNumber(e) && e->valuedouble >= 0 && e->valuedouble < 9007199254740992.0 &&
            (size_t)e->valuedouble + 1 > best)
            best = (size_t)e->valuedouble + 1;
    }
    return best;
}

/* One split object {"train": [...], "val": [...], "test": [...]} into slot k.
 * pyiqa: without "test", its "val" is the held-out test part. */
static int read_split_obj(lmmiqa_splits *s, size_t k, const cJSON *obj, const char *name,
                          int pyiqa)
{
    if (!cJSON_IsObject(obj))
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: split %zu is not an object", name, k + 1);
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(obj, "train");
    const cJSON *va = cJSON_GetObjectItemCaseSensitive(obj, "val");
    const cJSON *te = cJSON_GetObjectItemCaseSensitive(obj, "test");
    if (!tr)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: split %zu has no 'train' list", name, k + 1);
    if (pyiqa && !te) {
        te = va;
        va = NULL;
    }
    if (!te)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: split %zu has no 'test' list", name, k + 1);
    for (const cJSON *it = obj->child; it; it = it->next)
        if (strcmp(it->string, "train") && strcmp(it->string, "val") && strcmp(it->string, "test") &&
            !(!pyiqa && strcmp(it->string, "test_groups") == 0))
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: split %zu: unknown key '%s'", name, k + 1,
                                it->string);
    size_t *l[3], m[3];
    int rc = read_list(tr, name, k, "train", s->n, &l[0], &m[0]);
    if (!rc)
        rc = read_list(va, name, k, "val", s->n, &l[1], &m[1]);
    else
        l[1] = NULL;
    if (!rc)
        rc = read_list(te, name, k, "test", s->n, &l[2], &m[2]);
    else
        l[2] = NULL;
    if (rc) {
        free(l[0]);
        free(l[1]);
        free(l[2]);
        return rc;
    }
    for (int p = 0; p < 3; p++) {
        if (!l[p] && !(l[p] = lmmiqa__malloc(sizeof *l[p]))) {
            for (int q = 0; q < 3; q++)
                free(l[q]);
            return LMMIQA_ERR_NOMEM;
        }
        s->lists[3 * k + p] = l[p];
    }
    s->split[k] = (lmmiqa_split){m[0], m[1], m[2], l[0], l[1], l[2]};
    return LMMIQA_OK;
}

static int parse_ours(const cJSON *root, const char *name, size_t n, lmmiqa_splits **out)
{
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *jn = cJSON_GetObjectItemCaseSensitive(root, "n");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "splits");
    if (!cJSON_IsNumber(ver) || ver->valuedouble != 1)
        return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: unsupported lmmiqa-splits version", name);
    if (!cJSON_IsNumber(jn) || jn->valuedouble < 1 || jn->valuedouble != floor(jn->valuedouble) ||
        jn->valuedouble > 1e15)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: 'n' is missing or not a positive integer",
                            name);
    size_t fn = (size_t)jn->valuedouble;
    if (n && fn != n)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                            "%s: the splits are for a dataset of %zu rows, this one has %zu", name,
                            fn, n);
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) < 1)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: 'splits' is missing or empty", name);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "method");
    lmmiqa_splits *s;
    int rc = create(fn, (size_t)cJSON_GetArraySize(list),
                    cJSON_IsString(m) && m->valuestring ? m->valuestring : "file", &s);
    if (rc)
        return rc;
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(root, "seed");
    if (cJSON_IsString(seed) && seed->valuestring) {
        char *end = NULL;
        s->seed = strtoull(seed->valuestring, &end, 10);
        if (*end || !*seed->valuestring)
            rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: 'seed' is not an integer", name);
    } else if (cJSON_IsNumber(seed)) {
        if (seed->valuedouble < 0 || seed->valuedouble != floor(seed->valuedouble) ||
            seed->valuedouble >= 18446744073709551616.0)
            rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: 'seed' is not an integer", name);
        else
            s->seed = (uint64_t)seed->valuedouble;
    }
    const cJSON *tf = cJSON_GetObjectItemCaseSensitive(root, "test_frac");
    const cJSON *vf = cJSON_GetObjectItemCaseSensitive(root, "val_frac");
    const cJSON *tg = cJSON_GetObjectItemCaseSensitive(root, "test_groups");
    if (cJSON_IsNumber(tf))
        s->test_frac = tf->valuedouble;
    if (cJSON_IsNumber(vf))
        s->val_frac = vf->valuedouble;
    if (cJSON_IsNumber(tg)) {
        /* A count of groups: a whole number that fits (a huge double would be
         * undefined behaviour to convert; found by fuzz_splits). */
        if (!(tg->valuedouble >= 0 && tg->valuedouble <= 1e15) ||
            tg->valuedouble != floor(tg->valuedouble))
            rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: 'test_groups' is not a count", name);
        else
            s->test_groups = (size_t)tg->valuedouble;
    }
    size_t k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        if (rc)
            break;
        rc = read_split_obj(s, k++, e, name, 0);
    }
    if (rc) {
        s->count = k; /* free only what was filled */
        lmmiqa_splits_destroy(s);
        return rc;
    }
    *out = s;
    return LMMIQA_OK;
}

static int parse_pyiqa(const cJSON *root, const char *name, size_t n, lmmiqa_splits **out)
{
    /* Keys "1".."K", each exactly once. */
    size_t count = (size_t)cJSON_GetArraySize(root);
    if (count == 0)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: no splits", name);
    for (size_t k = 1; k <= count; k++) {
        char key[32];
        snprintf(key, sizeof key, "%zu", k);
        if (!cJSON_GetObjectItemCaseSensitive(root, key))
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                "%s: not a split file: expected keys \"1\"..\"%zu\" (pyiqa) or "
                                "\"format\": \"lmmiqa-splits\"; key \"%zu\" is missing",
                                name, count, k);
    }
    if (n == 0) {
        const cJSON *e;
        cJSON_ArrayForEach(e, root)
        {
            const cJSON *p;
            cJSON_ArrayForEach(p, e)
            {
                size_t m = list_max_plus_one(p);
                if (m > n)
                    n = m;
            }
        }
        if (n == 0)
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: no indices", name);
    }
    lmmiqa_splits *s;
    int rc = create(n, count, "pyiqa", &s);
    if (rc)
        return rc;
    size_t k = 0;
    for (; !rc && k < count; k++) {
        char key[32];
        snprintf(key, sizeof key, "%zu", k + 1);
        rc = read_split_obj(s, k, cJSON_GetObjectItemCaseSensitive(root, key), name, 1);
    }
    if (rc) {
        s->count = k;
        lmmiqa_splits_destroy(s);
        return rc;
    }
    *out = s;
    return LMMIQA_OK;
}

int lmmiqa_splits_parse_json(const char *text, size_t len, const char *name, size_t n,
                             lmmiqa_splits **out)
{
    assert(text && name && out);
    *out = NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t at = end && end >= text ? (size_t)(end - text) : 0;
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: invalid JSON near byte %zu", name, at);
    }
    int rc;
    if (!cJSON_IsObject(root)) {
        rc = lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: a split file must be a JSON object", name);
    } else {
        const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
        if (fmt && !(cJSON_IsString(fmt) && strcmp(fmt->valuestring, "lmmiqa-splits") == 0))
            rc = lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: unknown split file format", name);
        else if (fmt)
            rc = parse_ours(root, name, n, out);
        else
            rc = parse_pyiqa(root, name, n, out);
    }
    cJSON_Delete(root);
    if (!rc) {
        rc = check_all(*out, name);
        if (rc) {
            lmmiqa_splits_destroy(*out);
            *out = NULL;
        }
    }
    return rc;
}

int lmmiqa_splits_load_json(const char *path, size_t n, lmmiqa_splits **out)
{
    assert(path && out);
    *out = NULL;
    unsigned char *data = NULL;
    size_t size = 0;
    int rc = lmmiqa__file_read_all(path, SPLITS_MAX_JSON, &data, &size);
    if (rc)
        return rc;
    rc = lmmiqa_splits_parse_json((const char *)data, size, path, n, out);
    free(data);
    return rc;
}

static cJSON *index_array(const size_t *l, size_t m)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < m; i++) {
        cJSON *v = cJSON_CreateNumber((double)l[i]);
        if (!v || !cJSON_AddItemToArray(a, v)) {
            cJSON_Delete(v);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

int lmmiqa_splits_save_json(const lmmiqa_splits *s, const char *path)
{
    assert(s && path);
    cJSON *root = cJSON_CreateObject();
    int ok = root != NULL;
    ok = ok && cJSON_AddStringToObject(root, "format", "lmmiqa-splits");
    ok = ok && cJSON_AddNumberToObject(root, "version", 1);
    ok = ok && cJSON_AddStringToObject(root, "method", s->method);
    ok = ok && cJSON_AddNumberToObject(root, "n", (double)s->n);
    if (s->seed < ((uint64_t)1 << 53)) {
        ok = ok && cJSON_AddNumberToObject(root, "seed", (double)s->seed);
    } else {
        char buf[32];
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)s->seed);
        ok = ok && cJSON_AddStringToObject(root, "seed", buf);
    }
    if (!isnan(s->test_frac))
        ok = ok && cJSON_AddNumberToObject(root, "test_frac", s->test_frac);
    if (!isnan(s->val_frac))
        ok = ok && cJSON_AddNumberToObject(root, "val_frac", s->val_frac);
    ok = ok && cJSON_AddNumberToObject(root, "test_groups", (double)s->test_groups);
    cJSON *list = ok ? cJSON_AddArrayToObject(root, "splits") : NULL;
    ok = ok && list;
    for (size_t k = 0; ok && k < s->count; k++) {
        const lmmiqa_split *sp = &s->split[k];
        cJSON *o = cJSON_CreateObject();
        cJSON *tr = index_array(sp->train, sp->n_train);
        cJSON *va = index_array(sp->val, sp->n_val);
        cJSON *te = index_array(sp->test, sp->n_test);
        if (!o || !tr || !va || !te) {
            cJSON_Delete(o);
            cJSON_Delete(tr);
            cJSON_Delete(va);
            cJSON_Delete(te);
            ok = 0;
            break;
        }
        cJSON_AddItemToObject(o, "train", tr);
        cJSON_AddItemToObject(o, "val", va);
        cJSON_AddItemToObject(o, "test", te);
        ok = cJSON_AddItemToArray(list, o);
        if (!ok)
            cJSON_Delete(o);
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory writing splits to %s", path);
    size_t len = strlen(text);
    text[len] = '\n'; /* replaces the NUL; length passed explicitly */
    int rc = lmmiqa__file_write_atomic(path, text, len + 1);
    cJSON_free(text);
    return rc;
}

/* --------------------------------------------------------------- accessors */

size_t lmmiqa_splits_count(const lmmiqa_splits *s) { return s->count; }
size_t lmmiqa_splits_n(const lmmiqa_splits *s) { return s->n; }
const char *lmmiqa_splits_method(const lmmiqa_splits *s) { return s->method; }
uint64_t lmmiqa_splits_seed(const lmmiqa_splits *s) { return s->seed; }
double lmmiqa_splits_test_frac(const lmmiqa_splits *s) { return s->test_frac; }
double lmmiqa_splits_val_frac(const lmmiqa_splits *s) { return s->val_frac; }
size_t lmmiqa_splits_test_groups(const lmmiqa_splits *s) { return s->test_groups; }

const lmmiqa_split *lmmiqa_splits_get(const lmmiqa_splits *s, size_t k)
{
    assert(k < s->count);
    return &s->split[k];
}
