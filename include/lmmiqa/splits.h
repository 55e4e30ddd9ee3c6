/*
 * lmmiqa/splits.h - train / validation / test splits of a dataset.
 *
 * Why: the paper reports the median PLCC/SROCC over 10 random 80/20 splits
 * (and, for CID2013, splits by image set so that no scene is in both parts).
 * A split set is a list of splits; each split holds three disjoint, ascending
 * lists of row indices into a dataset of n rows. The validation part, when
 * asked for, is always carved out of the TRAINING part, so no choice (early
 * stopping, model selection) ever sees a test number.
 *
 * Sources:
 *   - lmmiqa_splits_random: seeded random splits (lmmiqa_rng);
 *   - lmmiqa_splits_grouped: by group, all or a seeded sample of the
 *     combinations of test groups;
 *   - lmmiqa_splits_official: a dataset's own subsets (KonIQ-10k's set column);
 *   - lmmiqa_splits_load_json: our JSON (written by lmmiqa_splits_save_json)
 *     or pyiqa's split files, converted to JSON as
 *     {"1": {"train": [...], "val": [...]}, ...} with 0-based row indices.
 *     Mapping of pyiqa's parts: a split with "train", "val" and "test" maps
 *     one to one; a split with only "train" and "val" (pyiqa's random splits
 *     of LIVE Challenge and SPAQ) has no separate test part there, and its
 *     "val" part is the held-out part pyiqa reports results on, so it becomes
 *     our TEST part and our val part is empty. See docs/datasets.md.
 *
 * Every index read is range-checked against n and a split with an index in
 * two parts (or twice in one) is rejected.
 */
#ifndef LMMIQA_SPLITS_H
#define LMMIQA_SPLITS_H

#include "lmmiqa/core.h"
#include "lmmiqa/dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One split: three disjoint ascending index lists (owned by the split set). */
typedef struct lmmiqa_split {
    size_t n_train, n_val, n_test;
    const size_t *train, *val, *test;
} lmmiqa_split;

typedef struct lmmiqa_splits lmmiqa_splits;

/* `count` random splits of n rows from `seed`. Per split, one shuffle of
 * 0..n-1 from a generator seeded once with `seed` (split k uses the k-th
 * shuffle): the first round(n * test_frac) rows are the test part, the next
 * round(n_rest * val_frac) the validation part (n_rest = n - n_test, so
 * val_frac is a fraction of the training part), the rest the training part.
 * test_frac in (0, 1), val_frac in [0, 1); every part asked for must get at
 * least one row, else LMMIQA_ERR_INVALID_ARG. */
LMMIQA_API int lmmiqa_splits_random(size_t n, size_t count, double test_frac, double val_frac,
                                    uint64_t seed, lmmiqa_splits **out);

/* Splits by group: every row of `test_groups` of the dataset's groups is in
 * the test part, the rest in the training part (no validation part). count 0:
 * all C(G, test_groups) combinations in lexicographic order of the sorted
 * group ids (CID2013: 15 splits of 6 sets choose 2); count > 0: a seeded
 * sample of that many distinct combinations. Fails when the dataset has no
 * groups or a row has none, when test_groups is not in [1, G), or count
 * exceeds the number of combinations. */
LMMIQA_API int lmmiqa_splits_grouped(const lmmiqa_dataset *ds, size_t test_groups, size_t count,
                                     uint64_t seed, lmmiqa_splits **out);

/* One split from the dataset's official subsets (lmmiqa_dataset_subset):
 * "training"/"train" -> train, "validation"/"val" -> val, "test" -> test.
 * Fails when the dataset has none or a row's subset is another word. */
LMMIQA_API int lmmiqa_splits_official(const lmmiqa_dataset *ds, lmmiqa_splits **out);

/* Read splits from JSON, ours or pyiqa's (format detected). n: the dataset
 * size every index is checked against; our files also record n and must
 * agree (LMMIQA_ERR_MISMATCH). n = 0 takes n from our file, and from the
 * largest index + 1 of a pyiqa file. */
LMMIQA_API int lmmiqa_splits_load_json(const char *path, size_t n, lmmiqa_splits **out);

/* Parse splits from JSON text in memory; `name` is used in messages. */
LMMIQA_API int lmmiqa_splits_parse_json(const char *text, size_t len, const char *name, size_t n,
                                        lmmiqa_splits **out);

/* Write splits as our JSON: {"format": "lmmiqa-splits", "version": 1,
 * "method", "n", "seed", "test_frac", "val_frac", "test_groups",
 * "splits": [{"train": [...], "val": [...], "test": [...]}, ...]}. The file
 * is replaced atomically. */
LMMIQA_API int lmmiqa_splits_save_json(const lmmiqa_splits *s, const char *path);

/* Number of splits. */
LMMIQA_API size_t lmmiqa_splits_count(const lmmiqa_splits *s);

/* Split k (k < count); valid until the split set is destroyed. */
LMMIQA_API const lmmiqa_split *lmmiqa_splits_get(const lmmiqa_splits *s, size_t k);

/* Dataset size the indices refer to. */
LMMIQA_API size_t lmmiqa_splits_n(const lmmiqa_splits *s);

/* How the splits were made: "random", "grouped", "official", "pyiqa", or
 * what a loaded file of ours recorded. */
LMMIQA_API const char *lmmiqa_splits_method(const lmmiqa_splits *s);

/* The parameters recorded: seed (0 if none), test and validation fractions
 * (NAN if not applicable), groups per test part (0 if not grouped). */
LMMIQA_API uint64_t lmmiqa_splits_seed(const lmmiqa_splits *s);
LMMIQA_API double lmmiqa_splits_test_frac(const lmmiqa_splits *s);
LMMIQA_API double lmmiqa_splits_val_frac(const lmmiqa_splits *s);
LMMIQA_API size_t lmmiqa_splits_test_groups(const lmmiqa_splits *s);

/* Free a split set; NULL is a no-op. */
LMMIQA_API void lmmiqa_splits_destroy(lmmiqa_splits *s);

#ifdef __cplusplus
}
#endif
#endif
