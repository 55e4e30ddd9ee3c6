/*
 * src/data/dataset_internal.h - what the dataset readers share: the
 * manifest struct, the row builder every reader feeds, and the xlsx sheet
 * reader. Not public.
 *
 * A reader opens its label file(s), calls lmmiqa__dataset_add() once per row
 * (with the file line it came from, for messages) and returns; the common
 * code in dataset.c then checks the whole manifest (empty, duplicate images,
 * non-finite MOS), resolves image paths and collects groups.
 */
#ifndef LMMIQA_DATA_DATASET_INTERNAL_H
#define LMMIQA_DATA_DATASET_INTERNAL_H

#include "lmmiqa/dataset.h"

#include <stddef.h>

/* One block of the string arena (strings are freed all at once). */
typedef struct lmmiqa__arena_block {
    struct lmmiqa__arena_block *next;
    size_t used, cap;
    char data[];
} lmmiqa__arena_block;

struct lmmiqa_dataset {
    char *name;       /* arena */
    char *format;     /* arena */
    char *label_path; /* arena */
    char *image_root; /* arena */
    char *notes;      /* malloc'd, grows */
    size_t notes_len;

    size_t n, cap;
    const char **image;   /* as in the labels (arena) */
    const char **path;    /* resolved (arena), filled by finish */
    const char **subset;  /* NULL entries where none */
    const char **glabel;  /* group label per row, NULL = none */
    double *mos, *std;
    int *group;
    size_t *line; /* source line of each row */

    size_t n_groups;
    int *group_ids;            /* ascending */
    const char **group_labels; /* parallel to group_ids */

    double scale_lo, scale_hi;
    double obs_lo, obs_hi;
    int has_std;
    int groups_numeric; /* 1: group labels are the numbers (generic CSV) */

    lmmiqa_dataset_options opt;
    lmmiqa__arena_block *arena;
};

/* Copy a string into the dataset's arena; NULL on NOMEM (message set). */
const char *lmmiqa__dataset_strdup(lmmiqa_dataset *ds, const char *s);

/* Append one row. image: the name as in the labels; std NAN if unknown;
 * group_label NULL for none (numeric group ids are derived from the labels
 * in lmmiqa__dataset_finish); subset NULL for none; line: 1-based line (or
 * sheet row / element number) in `label_path`. */
int lmmiqa__dataset_add(lmmiqa_dataset *ds, const char *image, double mos, double std,
                        const char *group_label, int group, const char *subset, size_t line);

/* Append a line to the dataset's notes (printf style). */
int lmmiqa__dataset_note(lmmiqa_dataset *ds, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Strict decimal number parse of a whole string (surrounding spaces
 * allowed, no inf/nan/hex). 0 on success, -1 otherwise. */
int lmmiqa__parse_number(const char *s, double *out);

/* Set the image root: the options' root, else the first of `cands`
 * (folders relative to the label file's folder) holding row 0's image, else
 * the label file's folder. Call after the rows are added. */
int lmmiqa__dataset_set_root_beside(lmmiqa_dataset *ds, const char *label_path,
                                    const char *const *cands);

/* Readers. `path` is the file (or folder, for LIVE .mat) to read; they fill
 * ds->name, ds->format, ds->label_path, ds->scale_* and the rows. */
int lmmiqa__livec_read_mat(lmmiqa_dataset *ds, const char *data_dir);
int lmmiqa__spaq_read_xlsx(lmmiqa_dataset *ds, const char *path);

/* ---- xlsx: the first (or a named) worksheet as a sparse grid of text ---- */
typedef struct lmmiqa__sheet lmmiqa__sheet;

/* Read worksheet `sheet_name` (NULL: the first sheet) of an .xlsx file.
 * Numbers are kept as their text in the file, shared and inline strings are
 * resolved, booleans read "0"/"1". Empty rows are left out. */
int lmmiqa__xlsx_read_sheet(const char *path, const char *sheet_name, lmmiqa__sheet **out);
void lmmiqa__sheet_destroy(lmmiqa__sheet *sh);
size_t lmmiqa__sheet_row_number(const lmmiqa__sheet *sh, size_t r); /* 1-based sheet row */
const char *lmmiqa__sheet_cell(const lmmiqa__sheet *sh, size_t r, size_t col); /* "" if empty */

#endif
