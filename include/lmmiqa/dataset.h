/*
 * lmmiqa/dataset.h - image quality datasets as manifests: one row per image
 * with its path, mean opinion score (MOS), optional standard deviation of the
 * ratings and optional group (e.g. the CID2013 image set).
 *
 * Why: the paper trains and tests on LIVE Challenge, KonIQ-10k, SPAQ and
 * CID2013, each shipped with its own label format. Every reader here turns one
 * of those formats into the same manifest, so the feature store, the splits
 * and the evaluation never care where labels came from. Loading labels never
 * opens an image (most datasets are used here without their images present);
 * lmmiqa_dataset_check_files() lists the image files that are missing.
 *
 * Formats (detected by content, see docs/datasets.md for the exact files):
 *   - generic CSV manifest: a header with an image column (image, path,
 *     filename, file, img_name, image_name, dis_img_path or "image name") and
 *     a MOS column (mos or score), optional std (std, sd, stddev) and group
 *     columns; names are matched case-insensitively;
 *   - LIVE Challenge: Data/AllImages_release.mat + AllMOS_release.mat +
 *     AllStdDev_release.mat (MATLAB 5, the official release; the 7 practice
 *     images t1..t7 are dropped), or the plain livec.csv manifest;
 *   - KonIQ-10k: koniq10k_distributions_sets.csv (c1..c5 vote fractions),
 *     koniq10k_scores_and_distributions.csv (c1..c5 vote counts) or
 *     koniq10k_labels_derived.csv; the official 'set' column is kept;
 *   - SPAQ: "MOS and Image attribute scores.xlsx" or its CSV export;
 *   - CID2013: CID2013.txt (dis_img_path,dis_type,score), group = image set.
 *
 * Errors (bad numbers, duplicate images, missing columns, empty manifests)
 * fail the load with a message naming the file and line.
 */
#ifndef LMMIQA_DATASET_H
#define LMMIQA_DATASET_H

#include "lmmiqa/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lmmiqa_dataset lmmiqa_dataset;

/* Which MOS a KonIQ-10k reader returns. */
typedef enum lmmiqa_koniq_mos {
    LMMIQA_KONIQ_MOS_1TO5 = 0,  /* sum(i * c_i) over the vote fractions, 1..5 (default,
                                   the paper's Table 1); std = SD, on the same scale */
    LMMIQA_KONIQ_MOS_ZSCORE = 1 /* the z-scored MOS rescaled to 0..100; std = NAN */
} lmmiqa_koniq_mos;

/* Options of lmmiqa_dataset_load_ex(). Initialise with
 * lmmiqa_dataset_options_init() before setting fields. */
typedef struct lmmiqa_dataset_options {
    /* Folder the image names of the labels are relative to. NULL: the
     * format's default (beside the label file; LIVE .mat: <root>/Images). */
    const char *image_root;
    /* MOS of KonIQ-10k; ignored by the other formats. */
    lmmiqa_koniq_mos koniq_mos;
    /* Nominal MOS scale override: used when scale_lo < scale_hi. Default
     * (both 0): the format's nominal scale, or for a generic CSV the
     * observed min..max. */
    double scale_lo, scale_hi;
    /* An extra folder searched LAST when resolving a dataset name (see
     * lmmiqa_dataset_resolve); NULL for none. */
    const char *fallback_shared_dir;
} lmmiqa_dataset_options;

/* Fill *opt with the defaults (NULL root, KonIQ MOS 1..5, nominal scale). */
LMMIQA_API void lmmiqa_dataset_options_init(lmmiqa_dataset_options *opt);

/* Load a dataset's labels from a known name ("livec", "koniq10k", "spaq",
 * "cid2013"; see lmmiqa_dataset_resolve) or from a path to a label file or a
 * dataset folder; the format is detected by content. image_root: see
 * lmmiqa_dataset_options. No image is opened. */
LMMIQA_API int lmmiqa_dataset_load(const char *name_or_path, const char *image_root,
                                   lmmiqa_dataset **out);

/* lmmiqa_dataset_load with options (opt NULL = defaults). */
LMMIQA_API int lmmiqa_dataset_load_ex(const char *name_or_path,
                                      const lmmiqa_dataset_options *opt,
                                      lmmiqa_dataset **out);

/* Resolve a dataset name to a folder, writing it to buf (cap bytes). A value
 * that names an existing file or folder is returned as is. Otherwise, for a
 * name without '/', the first existing folder of:
 *   1. $LMMIQA_DATA_DIR/NAME, $LMMIQA_DATA_DIR/data/NAME,
 *      $LMMIQA_DATA_DIR/data/labels/NAME
 *   2. $LMMIQA_SHARED_DIR/data/NAME, then $LMMIQA_SHARED_DIR/data/labels/NAME
 *   3. fallback_shared_dir/data/NAME, then fallback_shared_dir/data/labels/NAME
 * Nothing relative to the working directory and no compiled-in path is
 * searched: the library finds data only where it is told.
 * LMMIQA_ERR_IO with the places tried when none exists, LMMIQA_ERR_TOO_LARGE
 * when the path does not fit in cap. fallback_shared_dir may be NULL. */
LMMIQA_API int lmmiqa_dataset_resolve(const char *name_or_path, const char *fallback_shared_dir,
                                      char *buf, size_t cap);

/* Free a dataset; NULL is a no-op. */
LMMIQA_API void lmmiqa_dataset_destroy(lmmiqa_dataset *ds);

/* Short dataset name: "livec", "koniq10k", "spaq", "cid2013", or for a
 * generic CSV the label file's base name without extension. */
LMMIQA_API const char *lmmiqa_dataset_name(const lmmiqa_dataset *ds);

/* The reader used: "livec-mat", "livec-csv", "koniq10k-csv", "spaq-xlsx",
 * "spaq-csv", "cid2013-txt" or "csv". */
LMMIQA_API const char *lmmiqa_dataset_format(const lmmiqa_dataset *ds);

/* The label file read (for LIVE .mat: the AllMOS_release.mat path). */
LMMIQA_API const char *lmmiqa_dataset_label_path(const lmmiqa_dataset *ds);

/* The folder image names are relative to. */
LMMIQA_API const char *lmmiqa_dataset_image_root(const lmmiqa_dataset *ds);

/* Notes about the load, one per line ("" if none), e.g. that .bmp names were
 * resolved to the .png files present, or which MOS definition was used. */
LMMIQA_API const char *lmmiqa_dataset_notes(const lmmiqa_dataset *ds);

/* Number of rows (images). */
LMMIQA_API size_t lmmiqa_dataset_size(const lmmiqa_dataset *ds);

/* Image name of row i as written in the labels. */
LMMIQA_API const char *lmmiqa_dataset_image(const lmmiqa_dataset *ds, size_t i);

/* Path to open for row i: image root + name (for LIVE, X.png where the labels
 * say X.bmp and only X.png exists). */
LMMIQA_API const char *lmmiqa_dataset_image_path(const lmmiqa_dataset *ds, size_t i);

/* MOS of row i (on the scale of lmmiqa_dataset_scale). */
LMMIQA_API double lmmiqa_dataset_mos(const lmmiqa_dataset *ds, size_t i);

/* Standard deviation of the ratings of row i, NAN if unknown. */
LMMIQA_API double lmmiqa_dataset_std(const lmmiqa_dataset *ds, size_t i);

/* 1 when every row has a std, else 0. */
LMMIQA_API int lmmiqa_dataset_has_std(const lmmiqa_dataset *ds);

/* Group of row i (>= 0), -1 if the dataset has no groups. CID2013: the image
 * set number 1..6. Generic CSV: the integer in the group column, or, when the
 * column holds other text, 0, 1, ... in order of first appearance. */
LMMIQA_API int lmmiqa_dataset_group(const lmmiqa_dataset *ds, size_t i);

/* Number of distinct groups (0 if none), and the k-th one in ascending order. */
LMMIQA_API size_t lmmiqa_dataset_group_count(const lmmiqa_dataset *ds);
LMMIQA_API int lmmiqa_dataset_group_id(const lmmiqa_dataset *ds, size_t k);

/* Text label of a group id ("IS3" for CID2013), NULL for an unknown id. */
LMMIQA_API const char *lmmiqa_dataset_group_label(const lmmiqa_dataset *ds, int group);

/* The dataset's official subset of row i ("training", "validation", "test"
 * for KonIQ-10k), NULL where the labels give none. */
LMMIQA_API const char *lmmiqa_dataset_subset(const lmmiqa_dataset *ds, size_t i);

/* Nominal MOS scale: LIVE 0..100, KonIQ 1..5 (0..100 for the z-score MOS),
 * SPAQ 0..100, CID2013 0..100 (its realigned MOS goes slightly below 0),
 * generic CSV the observed range; the options may override it. */
LMMIQA_API void lmmiqa_dataset_scale(const lmmiqa_dataset *ds, double *lo, double *hi);

/* Smallest and largest MOS present. */
LMMIQA_API void lmmiqa_dataset_observed_range(const lmmiqa_dataset *ds, double *lo, double *hi);

/* Check which image files exist. Writes the row indices of the missing ones,
 * ascending, to missing[0..cap) (missing may be NULL when cap is 0) and their
 * total number to *n_missing. Returns LMMIQA_OK however many are missing; a
 * missing file is a result, not an error. */
LMMIQA_API int lmmiqa_dataset_check_files(const lmmiqa_dataset *ds, size_t *missing, size_t cap,
                                          size_t *n_missing);

#ifdef __cplusplus
}
#endif
#endif
