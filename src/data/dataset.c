/*
 * src/data/dataset.c - the dataset manifest: name resolution, format
 * detection, the CSV-based readers (generic, LIVE livec.csv, KonIQ-10k, SPAQ
 * CSV export, CID2013), the checks every manifest passes and the accessors.
 *
 * Design: readers only append rows (lmmiqa__dataset_add); finish() then
 * validates the whole table once (empty, non-finite MOS, duplicate image
 * names reported with both lines), resolves image paths against the image
 * root and builds the sorted group list. Strings live in one arena freed
 * with the dataset. No image is opened while loading.
 */
#include "data/dataset_internal.h"

#include "core/internal.h"
#include "lmmiqa/advanced/csv.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define ARENA_BLOCK 65536

/* ------------------------------------------------------------------ utils */

const char *lmmiqa__dataset_strdup(lmmiqa_dataset *ds, const char *s)
{
    size_t len = strlen(s) + 1;
    lmmiqa__arena_block *b = ds->arena;
    if (!b || b->cap - b->used < len) {
        size_t cap = len > ARENA_BLOCK ? len : ARENA_BLOCK;
        b = lmmiqa__malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = ds->arena;
        b->used = 0;
        b->cap = cap;
        ds->arena = b;
    }
    char *p = b->data + b->used;
    memcpy(p, s, len);
    b->used += len;
    return p;
}

int lmmiqa__dataset_note(lmmiqa_dataset *ds, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t add = strlen(line) + 1;
    char *p = realloc(ds->notes, ds->notes_len + add + 1);
    if (!p)
        return lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory for dataset notes");
    ds->notes = p;
    memcpy(p + ds->notes_len, line, add - 1);
    p[ds->notes_len + add - 1] = '\n';
    ds->notes_len += add;
    p[ds->notes_len] = '\0';
    return LMMIQA_OK;
}

int lmmiqa__parse_number(const char *s, double *out)
{
    while (*s == ' ' || *s == '\t')
        s++;
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    int digits = 0;
    while (isdigit((unsigned char)*p)) {
        p++;
        digits++;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            p++;
            digits++;
        }
    }
    if (!digits)
        return -1;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    const char *end = p;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p)
        return -1;
    char *e = NULL;
    errno = 0;
    double v = strtod(s, &e);
    if (e != end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int join(char *buf, size_t cap, const char *a, const char *b)
{
    int n;
    if (!a || !*a || (b && b[0] == '/')) /* an absolute image path stands alone */
        n = snprintf(buf, cap, "%s", b);
    else if (!b || !*b)
        n = snprintf(buf, cap, "%s", a);
    else
        n = snprintf(buf, cap, "%s%s%s", a, a[strlen(a) - 1] == '/' ? "" : "/", b);
    if (n < 0 || (size_t)n >= cap)
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "path too long: %s/%s", a ? a : "", b);
    return LMMIQA_OK;
}

/* Folder part of a path ("." when it has none). */
static void dir_of(const char *path, char *buf, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(buf, cap, ".");
    else if (slash == path)
        snprintf(buf, cap, "/");
    else
        snprintf(buf, cap, "%.*s", (int)(slash - path), path);
}

static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* -------------------------------------------------------------- lifecycle */

void lmmiqa_dataset_options_init(lmmiqa_dataset_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->koniq_mos = LMMIQA_KONIQ_MOS_1TO5;
}

void lmmiqa_dataset_destroy(lmmiqa_dataset *ds)
{
    if (!ds)
        return;
    free(ds->notes);
    free(ds->image);
    free(ds->path);
    free(ds->subset);
    free(ds->glabel);
    free(ds->mos);
    free(ds->std);
    free(ds->group);
    free(ds->line);
    free(ds->group_ids);
    free(ds->group_labels);
    lmmiqa__arena_block *b = ds->arena;
    while (b) {
        lmmiqa__arena_block *next = b->next;
        free(b);
        b = next;
    }
    free(ds);
}

static int grow(lmmiqa_dataset *ds)
{
    size_t cap = ds->cap ? ds->cap * 2 : 1024;
#define GROW(field)                                                                          \
    do {                                                                                     \
        void *p_ = realloc((void *)ds->field, cap * sizeof *ds->field);                      \
        if (!p_)                                                                             \
            return lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory for %zu dataset rows", cap); \
        ds->field = p_;                                                                      \
    } while (0)
    GROW(image);
    GROW(path);
    GROW(subset);
    GROW(glabel);
    GROW(mos);
    GROW(std);
    GROW(group);
    GROW(line);
#undef GROW
    ds->cap = cap;
    return LMMIQA_OK;
}

int lmmiqa__dataset_add(lmmiqa_dataset *ds, const char *image, double mos, double std,
                        const char *group_label, int group, const char *subset, size_t line)
{
    if (ds->n == ds->cap) {
        int rc = grow(ds);
        if (rc)
            return rc;
    }
    size_t i = ds->n;
    if (!(ds->image[i] = lmmiqa__dataset_strdup(ds, image)))
        return LMMIQA_ERR_NOMEM;
    ds->subset[i] = NULL;
    if (subset && !(ds->subset[i] = lmmiqa__dataset_strdup(ds, subset)))
        return LMMIQA_ERR_NOMEM;
    ds->glabel[i] = NULL;
    if (group_label && !(ds->glabel[i] = lmmiqa__dataset_strdup(ds, group_label)))
        return LMMIQA_ERR_NOMEM;
    ds->path[i] = NULL;
    ds->mos[i] = mos;
    ds->std[i] = std;
    ds->group[i] = group;
    ds->line[i] = line;
    ds->n++;
    return LMMIQA_OK;
}

/* --------------------------------------------------------------- finishing */

typedef struct named_row {
    const char *name;
    size_t idx;
} named_row;

static int cmp_named(const void *a, const void *b)
{
    const named_row *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* The spelling-independent form of an image path, for the duplicate check:
 * "./" segments and repeated slashes dropped ("./Images//a.png" and
 * "Images/a.png" are one image). Written to out (at least strlen(s) + 1). */
static void normalize_path(const char *s, char *out)
{
    char *o = out;
    while (*s) {
        if (s[0] == '/' && (o > out && o[-1] == '/')) {
            s++;
        } else if (s[0] == '.' && s[1] == '/' && (o == out || o[-1] == '/')) {
            s += 2;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
}

static int check_duplicates(lmmiqa_dataset *ds)
{
    named_row *rows = lmmiqa__calloc(ds->n, sizeof *rows);
    size_t total = 0;
    for (size_t i = 0; i < ds->n; i++)
        total += strlen(ds->image[i]) + 1;
    char *norm = lmmiqa__malloc(total);
    if (!rows || !norm) {
        free(rows);
        free(norm);
        return LMMIQA_ERR_NOMEM;
    }
    char *p = norm;
    for (size_t i = 0; i < ds->n; i++) {
        normalize_path(ds->image[i], p);
        rows[i].name = p;
        rows[i].idx = i;
        p += strlen(ds->image[i]) + 1;
    }
    qsort(rows, ds->n, sizeof *rows, cmp_named);
    size_t dups = 0, first_a = 0, first_b = 0;
    for (size_t k = 1; k < ds->n; k++) {
        if (strcmp(rows[k - 1].name, rows[k].name) == 0) {
            if (!dups) {
                first_a = rows[k - 1].idx;
                first_b = rows[k].idx;
            }
            dups++;
        }
    }
    free(rows);
    free(norm);
    if (dups && strcmp(ds->image[first_a], ds->image[first_b]) != 0)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                            "%s: duplicate image '%s' (line %zu) and '%s' (line %zu) name the "
                            "same file (%zu duplicate row%s in all)",
                            ds->label_path, ds->image[first_a], ds->line[first_a],
                            ds->image[first_b], ds->line[first_b], dups, dups == 1 ? "" : "s");
    if (dups)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                            "%s: duplicate image '%s' at lines %zu and %zu (%zu duplicate "
                            "row%s in all)",
                            ds->label_path, ds->image[first_a], ds->line[first_a],
                            ds->line[first_b], dups, dups == 1 ? "" : "s");
    return LMMIQA_OK;
}

static int is_uint_text(const char *s, long *v)
{
    if (!isdigit((unsigned char)*s))
        return 0;
    char *end = NULL;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (errno || *end || x > 1000000000L)
        return 0;
    *v = x;
    return 1;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Derive numeric ids for text group labels, then collect the sorted list. */
static int build_groups(lmmiqa_dataset *ds)
{
    size_t with = 0;
    for (size_t i = 0; i < ds->n; i++)
        with += ds->group[i] >= 0 || ds->glabel[i];
    if (with == 0)
        return LMMIQA_OK;
    for (size_t i = 0; i < ds->n; i++)
        if (ds->group[i] < 0 && !ds->glabel[i])
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: line %zu: image '%s' has no group",
                                ds->label_path, ds->line[i], ds->image[i]);
    /* Text labels: numbers stand for themselves, else order of first appearance. */
    int all_numeric = 1;
    long v;
    for (size_t i = 0; i < ds->n; i++)
        if (ds->group[i] < 0 && !is_uint_text(ds->glabel[i], &v))
            all_numeric = 0;
    int next_id = 0;
    for (size_t i = 0; i < ds->n; i++) {
        if (ds->group[i] >= 0)
            continue;
        if (all_numeric) {
            is_uint_text(ds->glabel[i], &v);
            ds->group[i] = (int)v;
            continue;
        }
        int id = -1;
        for (size_t j = 0; j < i; j++)
            if (ds->glabel[j] && strcmp(ds->glabel[j], ds->glabel[i]) == 0) {
                id = ds->group[j];
                break;
            }
        ds->group[i] = id >= 0 ? id : next_id++;
    }
    int *ids = lmmiqa__calloc(ds->n, sizeof *ids);
    if (!ids)
        return LMMIQA_ERR_NOMEM;
    for (size_t i = 0; i < ds->n; i++)
        ids[i] = ds->group[i];
    qsort(ids, ds->n, sizeof *ids, cmp_int);
    size_t g = 0;
    for (size_t i = 0; i < ds->n; i++)
        if (i == 0 || ids[i] != ids[g - 1])
            ids[g++] = ids[i];
    ds->n_groups = g;
    ds->group_ids = ids;
    ds->group_labels = lmmiqa__calloc(g, sizeof *ds->group_labels);
    if (!ds->group_labels)
        return LMMIQA_ERR_NOMEM;
    for (size_t i = 0; i < ds->n; i++) {
        int *hit = bsearch(&ds->group[i], ids, g, sizeof *ids, cmp_int);
        assert(hit);
        size_t k = (size_t)(hit - ids);
        if (!ds->group_labels[k]) {
            ds->group_labels[k] = ds->glabel[i];
            if (!ds->group_labels[k]) {
                char buf[32];
                snprintf(buf, sizeof buf, "%d", ds->group[i]);
                if (!(ds->group_labels[k] = lmmiqa__dataset_strdup(ds, buf)))
                    return LMMIQA_ERR_NOMEM;
            }
        }
    }
    return LMMIQA_OK;
}

/* LIVE Challenge's release names .bmp files that this copy (and others)
 * store as .png: use the .png where only it exists. */
static int resolve_paths(lmmiqa_dataset *ds, int bmp_to_png)
{
    char buf[4096];
    size_t swapped = 0;
    for (size_t i = 0; i < ds->n; i++) {
        int rc = join(buf, sizeof buf, ds->image_root, ds->image[i]);
        if (rc)
            return rc;
        size_t len = strlen(buf);
        if (bmp_to_png && len > 4 && strcasecmp(buf + len - 4, ".bmp") == 0 && !is_file(buf)) {
            char png[4096];
            memcpy(png, buf, len - 4);
            memcpy(png + len - 4, ".png", 5);
            if (is_file(png)) {
                memcpy(buf, png, len + 1);
                swapped++;
            }
        }
        if (!(ds->path[i] = lmmiqa__dataset_strdup(ds, buf)))
            return LMMIQA_ERR_NOMEM;
    }
    if (swapped)
        return lmmiqa__dataset_note(ds,
                                    "%zu image names ending in .bmp resolved to the .png file "
                                    "beside them (no .bmp present)",
                                    swapped);
    return LMMIQA_OK;
}

static int finish(lmmiqa_dataset *ds, int bmp_to_png)
{
    if (ds->n == 0)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: no data rows (empty manifest)",
                            ds->label_path);
    ds->obs_lo = INFINITY;
    ds->obs_hi = -INFINITY;
    ds->has_std = 1;
    for (size_t i = 0; i < ds->n; i++) {
        if (!ds->image[i][0])
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: line %zu: empty image name",
                                ds->label_path, ds->line[i]);
        if (!isfinite(ds->mos[i]))
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: line %zu: MOS of '%s' is not finite",
                                ds->label_path, ds->line[i], ds->image[i]);
        if (!isnan(ds->std[i]) && (!isfinite(ds->std[i]) || ds->std[i] < 0))
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                "%s: line %zu: std of '%s' is negative or infinite",
                                ds->label_path, ds->line[i], ds->image[i]);
        if (isnan(ds->std[i]))
            ds->has_std = 0;
        if (ds->mos[i] < ds->obs_lo)
            ds->obs_lo = ds->mos[i];
        if (ds->mos[i] > ds->obs_hi)
            ds->obs_hi = ds->mos[i];
    }
    int rc = check_duplicates(ds);
    if (!rc)
        rc = build_groups(ds);
    if (rc)
        return rc;
    if (ds->opt.scale_lo < ds->opt.scale_hi) {
        ds->scale_lo = ds->opt.scale_lo;
        ds->scale_hi = ds->opt.scale_hi;
    } else if (!(ds->scale_lo < ds->scale_hi)) {
        ds->scale_lo = ds->obs_lo;
        ds->scale_hi = ds->obs_hi;
    }
    return resolve_paths(ds, bmp_to_png);
}

/* Default image root: the first candidate folder (relative to the label
 * file's folder) under which row 0's image exists, else the label folder. */
static int choose_root(lmmiqa_dataset *ds, const char *label_dir, const char *const *cands)
{
    char buf[4096], probe[4096];
    const char *chosen = label_dir;
    for (size_t k = 0; cands && cands[k] && ds->n; k++) {
        if (join(buf, sizeof buf, label_dir, cands[k]) ||
            join(probe, sizeof probe, buf, ds->image[0]))
            continue;
        if (is_file(probe)) {
            chosen = buf;
            break;
        }
    }
    if (!(ds->image_root = (char *)lmmiqa__dataset_strdup(ds, chosen)))
        return LMMIQA_ERR_NOMEM;
    return LMMIQA_OK;
}

static int set_root(lmmiqa_dataset *ds, const char *label_dir, const char *const *cands)
{
    if (ds->opt.image_root) {
        if (!(ds->image_root = (char *)lmmiqa__dataset_strdup(ds, ds->opt.image_root)))
            return LMMIQA_ERR_NOMEM;
        return LMMIQA_OK;
    }
    return choose_root(ds, label_dir, cands);
}

static int set_str(lmmiqa_dataset *ds, char **field, const char *s)
{
    *field = (char *)lmmiqa__dataset_strdup(ds, s);
    return *field ? LMMIQA_OK : LMMIQA_ERR_NOMEM;
}

/* ------------------------------------------------------------- CSV readers */

/* First column whose header matches one of `names` (case-insensitive,
 * surrounding spaces ignored), or -1. */
static int header_is(const lmmiqa_csv *csv, size_t c, const char *name);

static int find_col(const lmmiqa_csv *csv, const char *const *names)
{
    for (size_t k = 0; names[k]; k++)
        for (size_t c = 0; c < lmmiqa_csv_cols(csv); c++)
            if (header_is(csv, c, names[k]))
                return (int)c;
    return -1;
}

static const char *const IMAGE_COLS[] = {"image",      "path",         "filename", "file",
                                         "img_name",   "image_name",   "dis_img_path",
                                         "image name", "image_path",   NULL};
static const char *const MOS_COLS[] = {"mos", "score", NULL};
static const char *const STD_COLS[] = {"std", "sd", "stddev", "std_dev", NULL};
static const char *const GROUP_COLS[] = {"group", NULL};
static const char *const SUBSET_COLS[] = {"set", "subset", NULL};

static int header_is(const lmmiqa_csv *csv, size_t c, const char *name)
{
    const char *h = lmmiqa_csv_header(csv, c);
    while (*h == ' ' || *h == '\t')
        h++;
    size_t len = strlen(h);
    while (len && (h[len - 1] == ' ' || h[len - 1] == '\t'))
        len--;
    return len == strlen(name) && strncasecmp(h, name, len) == 0;
}

/* A column a reader uses must appear once: with "mos,...,mos" which one is
 * meant is a guess. Repeats of columns no reader looks at (pyiqa's SPAQ
 * table has two "Brightness") are left alone. */
static int check_repeated_columns(const lmmiqa_csv *csv)
{
    static const char *const *const lists[] = {IMAGE_COLS, MOS_COLS, STD_COLS, GROUP_COLS,
                                               SUBSET_COLS};
    static const char *const koniq[] = {"c1",       "c2",         "c3",
                                        "c4",       "c5",         "mos_1to5",
                                        "sd_1to5",  "MOS_zscore", "mos_zscore_0to100",
                                        NULL};
    size_t cols = lmmiqa_csv_cols(csv);
    for (size_t l = 0; l < sizeof lists / sizeof lists[0] + 1; l++) {
        const char *const *names = l < sizeof lists / sizeof lists[0] ? lists[l] : koniq;
        for (size_t k = 0; names[k]; k++) {
            size_t first = cols;
            for (size_t c = 0; c < cols; c++) {
                if (!header_is(csv, c, names[k]))
                    continue;
                if (first < cols)
                    return lmmiqa__fail(LMMIQA_ERR_FORMAT,
                                        "%s:1: column '%s' appears twice in the header "
                                        "(columns %zu and %zu)",
                                        lmmiqa_csv_name(csv), names[k], first + 1, c + 1);
                first = c;
            }
        }
    }
    return LMMIQA_OK;
}

static int need_col(const lmmiqa_csv *csv, const char *const *names, const char *what, int *col)
{
    *col = find_col(csv, names);
    if (*col >= 0)
        return LMMIQA_OK;
    char list[256] = "";
    for (size_t k = 0; names[k]; k++) {
        strncat(list, k ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, names[k], sizeof list - strlen(list) - 1);
    }
    return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: no %s column (looked for: %s)",
                        lmmiqa_csv_name(csv), what, list);
}

static int cell_number(const lmmiqa_csv *csv, size_t r, int col, double *v)
{
    return lmmiqa_csv_cell_double(csv, r, (size_t)col, v);
}

/* Generic manifest (also livec.csv and SPAQ's CSV export). */
static int read_generic(lmmiqa_dataset *ds, const lmmiqa_csv *csv)
{
    int ci, cm;
    int rc = need_col(csv, IMAGE_COLS, "image", &ci);
    if (!rc)
        rc = need_col(csv, MOS_COLS, "MOS", &cm);
    if (rc)
        return rc;
    int cs = find_col(csv, STD_COLS), cg = find_col(csv, GROUP_COLS),
        cset = find_col(csv, SUBSET_COLS);
    for (size_t r = 0; r < lmmiqa_csv_rows(csv); r++) {
        double mos, sd = NAN;
        if ((rc = cell_number(csv, r, cm, &mos)))
            return rc;
        if (cs >= 0 && (rc = cell_number(csv, r, cs, &sd)))
            return rc;
        const char *g = cg >= 0 ? lmmiqa_csv_cell(csv, r, (size_t)cg) : NULL;
        if (g && !*g)
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: line %zu: empty group",
                                lmmiqa_csv_name(csv), lmmiqa_csv_line(csv, r));
        const char *s = cset >= 0 ? lmmiqa_csv_cell(csv, r, (size_t)cset) : NULL;
        if ((rc = lmmiqa__dataset_add(ds, lmmiqa_csv_cell(csv, r, (size_t)ci), mos, sd, g, -1,
                                      s && *s ? s : NULL, lmmiqa_csv_line(csv, r))))
            return rc;
    }
    return LMMIQA_OK;
}

/* KonIQ-10k. MOS 1..5 = sum(i * p_i) over the five vote fractions (counts
 * are divided by their total); the z-score MOS is the "MOS_zscore" column of
 * the scores file, "mos_zscore_0to100" of the derived file, or "MOS" of the
 * distributions_sets file (whose MOS is the z-score one: values above 5). */
static int read_koniq(lmmiqa_dataset *ds, const lmmiqa_csv *csv)
{
    static const char *const img_cols[] = {"image_name", NULL};
    int ci, rc = need_col(csv, img_cols, "image_name", &ci);
    if (rc)
        return rc;
    int c[5];
    static const char *const cn[5][2] = {{"c1", NULL}, {"c2", NULL}, {"c3", NULL},
                                         {"c4", NULL}, {"c5", NULL}};
    int have_votes = 1;
    for (int k = 0; k < 5; k++)
        if ((c[k] = find_col(csv, cn[k])) < 0)
            have_votes = 0;
    static const char *const m15[] = {"mos_1to5", NULL};
    static const char *const mz[] = {"mos_zscore_0to100", "MOS_zscore", NULL};
    static const char *const mos_any[] = {"MOS", NULL};
    static const char *const sd[] = {"sd_1to5", "SD", NULL};
    static const char *const set[] = {"set", NULL};
    int c15 = find_col(csv, m15), cz = find_col(csv, mz), cmos = find_col(csv, mos_any);
    int csd = find_col(csv, sd), cset = find_col(csv, set);
    int zscore = ds->opt.koniq_mos == LMMIQA_KONIQ_MOS_ZSCORE;
    size_t rows = lmmiqa_csv_rows(csv);

    /* Which column is the plain "MOS"? Decide once from its values. */
    int mos_is_z = 0;
    if (cmos >= 0 && cz >= 0 && cmos != cz && c15 < 0)
        c15 = cmos; /* the scores file: MOS is 1..5 beside MOS_zscore */
    if (cmos >= 0 && cz < 0) {
        for (size_t r = 0; r < rows; r++) {
            double v;
            if (lmmiqa_csv_cell_double(csv, r, (size_t)cmos, &v) == 0 && v > 5.0) {
                mos_is_z = 1;
                break;
            }
        }
        if (mos_is_z)
            cz = cmos;
        else if (c15 < 0)
            c15 = cmos;
    }
    if (zscore && cz < 0)
        return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: no z-score MOS column (MOS_zscore, "
                            "mos_zscore_0to100, or a 0-100 MOS)", lmmiqa_csv_name(csv));
    if (!zscore && !have_votes && c15 < 0)
        return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: neither c1..c5 vote columns nor a 1-5 MOS "
                            "column (mos_1to5)", lmmiqa_csv_name(csv));

    for (size_t r = 0; r < rows; r++) {
        size_t line = lmmiqa_csv_line(csv, r);
        double mos, s = NAN;
        if (zscore) {
            if ((rc = cell_number(csv, r, cz, &mos)))
                return rc;
        } else if (have_votes) {
            double p[5], total = 0;
            for (int k = 0; k < 5; k++) {
                if ((rc = cell_number(csv, r, c[k], &p[k])))
                    return rc;
                if (p[k] < 0)
                    return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: line %zu: negative vote c%d",
                                        lmmiqa_csv_name(csv), line, k + 1);
                total += p[k];
            }
            if (!(total > 0))
                return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: line %zu: no votes in c1..c5",
                                    lmmiqa_csv_name(csv), line);
            /* Fractions sum to 1 (up to rounding of the file); counts are normalised. */
            double norm = fabs(total - 1.0) < 1e-3 ? 1.0 : total;
            mos = 0;
            for (int k = 0; k < 5; k++)
                mos += (k + 1) * p[k];
            mos /= norm;
        } else if ((rc = cell_number(csv, r, c15, &mos))) {
            return rc;
        }
        if (!zscore && csd >= 0 && (rc = cell_number(csv, r, csd, &s)))
            return rc;
        const char *st = cset >= 0 ? lmmiqa_csv_cell(csv, r, (size_t)cset) : NULL;
        if ((rc = lmmiqa__dataset_add(ds, lmmiqa_csv_cell(csv, r, (size_t)ci), mos, s, NULL, -1,
                                      st && *st ? st : NULL, line)))
            return rc;
    }
    if (zscore) {
        ds->scale_lo = 0;
        ds->scale_hi = 100;
        return lmmiqa__dataset_note(ds, "MOS: the z-scored MOS rescaled to 0..100 (column %s); "
                                    "no std on that scale", lmmiqa_csv_header(csv, (size_t)cz));
    }
    ds->scale_lo = 1;
    ds->scale_hi = 5;
    return lmmiqa__dataset_note(ds, "MOS: %s, on 1..5",
                                have_votes ? "sum(i * c_i) over the vote fractions c1..c5"
                                           : "the 1-5 MOS column");
}

/* CID2013: dis_img_path,dis_type,score; the group is the image set IS<k>
 * named by a path component. */
static int read_cid2013(lmmiqa_dataset *ds, const lmmiqa_csv *csv)
{
    static const char *const img[] = {"dis_img_path", NULL};
    static const char *const sc[] = {"score", NULL};
    int ci, cs;
    int rc = need_col(csv, img, "dis_img_path", &ci);
    if (!rc)
        rc = need_col(csv, sc, "score", &cs);
    if (rc)
        return rc;
    for (size_t r = 0; r < lmmiqa_csv_rows(csv); r++) {
        size_t line = lmmiqa_csv_line(csv, r);
        const char *p = lmmiqa_csv_cell(csv, r, (size_t)ci);
        double mos;
        if ((rc = cell_number(csv, r, cs, &mos)))
            return rc;
        int set = -1;
        for (const char *q = p; *q; q++) {
            if ((q == p || q[-1] == '/') && q[0] == 'I' && q[1] == 'S' &&
                isdigit((unsigned char)q[2])) {
                char *end = NULL;
                long v = strtol(q + 2, &end, 10);
                if (*end == '/' && v >= 0 && v < 1000) {
                    set = (int)v;
                    break;
                }
            }
        }
        if (set < 0)
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: line %zu: no image set folder IS<k> "
                                "in path '%s'", lmmiqa_csv_name(csv), line, p);
        char label[16];
        snprintf(label, sizeof label, "IS%d", set);
        if ((rc = lmmiqa__dataset_add(ds, p, mos, NAN, label, set, NULL, line)))
            return rc;
    }
    ds->scale_lo = 0;
    ds->scale_hi = 100;
    return LMMIQA_OK;
}

/* ------------------------------------------------------------- detection */

static const char *const KONIQ_FILES[] = {"koniq10k_distributions_sets.csv",
                                          "koniq10k_scores_and_distributions.csv",
                                          "koniq10k_labels_derived.csv", NULL};
static const char *const SPAQ_FILES[] = {"MOS and Image attribute scores.xlsx",
                                         "Annotations/MOS and Image attribute scores.xlsx",
                                         "MOS and Image attribute scores.csv",
                                         "Annotations/MOS and Image attribute scores.csv", NULL};

/* Pick the label file inside a dataset folder. */
static int pick_in_folder(const char *dir, char *buf, size_t cap)
{
    int rc;
    const char *const direct[] = {"Data/AllMOS_release.mat", "AllMOS_release.mat", "livec.csv",
                                  NULL};
    for (size_t k = 0; direct[k]; k++) {
        if ((rc = join(buf, cap, dir, direct[k])))
            return rc;
        if (is_file(buf))
            return LMMIQA_OK;
    }
    for (size_t k = 0; KONIQ_FILES[k]; k++) {
        if ((rc = join(buf, cap, dir, KONIQ_FILES[k])))
            return rc;
        if (is_file(buf))
            return LMMIQA_OK;
    }
    for (size_t k = 0; SPAQ_FILES[k]; k++) {
        if ((rc = join(buf, cap, dir, SPAQ_FILES[k])))
            return rc;
        if (is_file(buf))
            return LMMIQA_OK;
    }
    if ((rc = join(buf, cap, dir, "CID2013.txt")))
        return rc;
    if (is_file(buf))
        return LMMIQA_OK;
    return lmmiqa__fail(LMMIQA_ERR_FORMAT,
                        "%s: no known label file in this folder (looked for Data/"
                        "AllMOS_release.mat, livec.csv, koniq10k_*.csv, 'MOS and Image attribute "
                        "scores.xlsx/.csv', CID2013.txt); pass the label file itself",
                        dir);
}

static int load_csv_file(lmmiqa_dataset *ds, const char *path)
{
    lmmiqa_csv *csv = NULL;
    int rc = lmmiqa_csv_load(path, &csv);
    if (rc)
        return rc;
    if ((rc = check_repeated_columns(csv)) != LMMIQA_OK) {
        lmmiqa_csv_destroy(csv);
        return rc;
    }
    char dir[4096];
    dir_of(path, dir, sizeof dir);
    const char *base = base_of(path);
    static const char *const votes[] = {"c1", NULL};
    static const char *const koniq_img[] = {"image_name", NULL};
    static const char *const m15[] = {"mos_1to5", NULL};
    static const char *const zcols[] = {"MOS_zscore", "mos_zscore_0to100", NULL};
    static const char *const cid[] = {"dis_img_path", NULL};
    static const char *const spaq[] = {"image name", NULL};
    if (find_col(csv, koniq_img) >= 0 && (find_col(csv, votes) >= 0 || find_col(csv, m15) >= 0 ||
                                          find_col(csv, zcols) >= 0)) {
        static const char *const cands[] = {"1024x768", "koniq10k_1024x768/1024x768", "512x384",
                                            NULL};
        if (!(rc = set_str(ds, &ds->name, "koniq10k")) &&
            !(rc = set_str(ds, &ds->format, "koniq10k-csv")) && !(rc = read_koniq(ds, csv)))
            rc = set_root(ds, dir, cands);
    } else if (find_col(csv, cid) >= 0) {
        static const char *const cands[] = {"..", NULL};
        if (!(rc = set_str(ds, &ds->name, "cid2013")) &&
            !(rc = set_str(ds, &ds->format, "cid2013-txt")) && !(rc = read_cid2013(ds, csv)))
            rc = set_root(ds, dir, cands);
    } else if (find_col(csv, spaq) >= 0) {
        static const char *const cands[] = {"TestImage", "../TestImage", NULL};
        ds->scale_lo = 0;
        ds->scale_hi = 100;
        if (!(rc = set_str(ds, &ds->name, "spaq")) &&
            !(rc = set_str(ds, &ds->format, "spaq-csv")) && !(rc = read_generic(ds, csv)))
            rc = set_root(ds, dir, cands);
    } else {
        int livec = strcmp(base, "livec.csv") == 0;
        char name[256];
        size_t blen = strlen(base);
        if (blen >= sizeof name)
            blen = sizeof name - 1;
        memcpy(name, base, blen);
        name[blen] = '\0';
        char *dot = strrchr(name, '.');
        if (dot && dot != name)
            *dot = '\0';
        if (livec) {
            ds->scale_lo = 0;
            ds->scale_hi = 100;
        }
        if (!(rc = set_str(ds, &ds->name, livec ? "livec" : name)) &&
            !(rc = set_str(ds, &ds->format, livec ? "livec-csv" : "csv")) &&
            !(rc = read_generic(ds, csv)))
            rc = set_root(ds, dir, NULL);
    }
    lmmiqa_csv_destroy(csv);
    return rc;
}

static int sniff(const char *path, unsigned char *head, size_t cap, size_t *got)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return lmmiqa__fail(LMMIQA_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    *got = fread(head, 1, cap, f);
    fclose(f);
    return LMMIQA_OK;
}

int lmmiqa_dataset_resolve(const char *name_or_path, const char *fallback_shared_dir, char *buf,
                           size_t cap)
{
    assert(name_or_path && buf);
    struct stat st;
    if (!*name_or_path)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "empty dataset name");
    if (stat(name_or_path, &st) == 0 || strchr(name_or_path, '/')) {
        if (strlen(name_or_path) >= cap)
            return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "path too long: %s", name_or_path);
        memcpy(buf, name_or_path, strlen(name_or_path) + 1);
        if (stat(name_or_path, &st) != 0)
            return lmmiqa__fail(LMMIQA_ERR_IO, "%s: no such file or folder", name_or_path);
        return LMMIQA_OK;
    }
    /* No folder relative to the working directory and no compiled-in path:
     * data is found where the caller or the environment says. */
    const char *bases[3] = {getenv("LMMIQA_DATA_DIR"), getenv("LMMIQA_SHARED_DIR"),
                            fallback_shared_dir};
    static const char *const subs[3] = {"", "data", "data/labels"};
    char tried[1024] = "";
    for (int b = 0; b < 3; b++) {
        if (!bases[b] || !*bases[b])
            continue;
        for (int s = b == 0 ? 0 : 1; s < 3; s++) {
            char dir[4096];
            int rc = join(dir, sizeof dir, bases[b], subs[s]);
            if (rc || (rc = join(buf, cap, dir, name_or_path)))
                return rc;
            if (is_dir(buf))
                return LMMIQA_OK;
            strncat(tried, tried[0] ? ", " : "", sizeof tried - strlen(tried) - 1);
            strncat(tried, buf, sizeof tried - strlen(tried) - 1);
        }
    }
    return lmmiqa__fail(LMMIQA_ERR_IO,
                        "dataset '%s' not found (tried: %s); set LMMIQA_DATA_DIR or "
                        "LMMIQA_SHARED_DIR, or pass a path",
                        name_or_path, tried[0] ? tried : "nothing");
}

int lmmiqa_dataset_load(const char *name_or_path, const char *image_root, lmmiqa_dataset **out)
{
    lmmiqa_dataset_options opt;
    lmmiqa_dataset_options_init(&opt);
    opt.image_root = image_root;
    return lmmiqa_dataset_load_ex(name_or_path, &opt, out);
}

int lmmiqa_dataset_load_ex(const char *name_or_path, const lmmiqa_dataset_options *opt,
                           lmmiqa_dataset **out)
{
    assert(name_or_path && out);
    *out = NULL;
    lmmiqa_dataset *ds = lmmiqa__calloc(1, sizeof *ds);
    if (!ds)
        return LMMIQA_ERR_NOMEM;
    if (opt)
        ds->opt = *opt;
    else
        lmmiqa_dataset_options_init(&ds->opt);
    if (ds->opt.koniq_mos != LMMIQA_KONIQ_MOS_1TO5 && ds->opt.koniq_mos != LMMIQA_KONIQ_MOS_ZSCORE) {
        lmmiqa_dataset_destroy(ds);
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "unknown KonIQ MOS option %d",
                            (int)ds->opt.koniq_mos);
    }
    char where[4096], file[4096];
    int rc = lmmiqa_dataset_resolve(name_or_path, ds->opt.fallback_shared_dir, where, sizeof where);
    if (!rc) {
        if (is_dir(where))
            rc = pick_in_folder(where, file, sizeof file);
        else
            rc = join(file, sizeof file, where, "");
    }
    int bmp_to_png = 0;
    if (!rc) {
        unsigned char head[16] = {0};
        size_t got = 0;
        rc = sniff(file, head, sizeof head, &got);
        size_t flen = strlen(file);
        int xlsx_name = flen >= 5 && strcasecmp(file + flen - 5, ".xlsx") == 0;
        if (!rc && got >= 10 && memcmp(head, "MATLAB 5.0", 10) == 0) {
            char dir[4096];
            dir_of(file, dir, sizeof dir);
            rc = lmmiqa__livec_read_mat(ds, dir);
            /* The reader names the .mat it failed on, a sibling of the file
             * given; say which file that was. */
            if (rc && strncmp(lmmiqa_error_message(), file, flen) != 0)
                rc = lmmiqa__fail_context(rc, "%s: ", file);
            bmp_to_png = 1;
        } else if (!rc && got >= 4 && memcmp(head, "PK\3\4", 4) == 0) {
            rc = lmmiqa__spaq_read_xlsx(ds, file);
        } else if (!rc && xlsx_name) {
            rc = lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: not a zip (xlsx) file", file);
        } else if (!rc) {
            ds->label_path = (char *)lmmiqa__dataset_strdup(ds, file);
            rc = ds->label_path ? load_csv_file(ds, file) : LMMIQA_ERR_NOMEM;
        }
    }
    if (!rc)
        rc = finish(ds, bmp_to_png);
    if (rc) {
        lmmiqa_dataset_destroy(ds);
        return rc;
    }
    *out = ds;
    return LMMIQA_OK;
}

int lmmiqa__dataset_set_root_beside(lmmiqa_dataset *ds, const char *label_path,
                                    const char *const *cands)
{
    char dir[4096];
    dir_of(label_path, dir, sizeof dir);
    return set_root(ds, dir, cands);
}

/* -------------------------------------------------------------- accessors */

const char *lmmiqa_dataset_name(const lmmiqa_dataset *ds) { return ds->name; }
const char *lmmiqa_dataset_format(const lmmiqa_dataset *ds) { return ds->format; }
const char *lmmiqa_dataset_label_path(const lmmiqa_dataset *ds) { return ds->label_path; }
const char *lmmiqa_dataset_image_root(const lmmiqa_dataset *ds) { return ds->image_root; }
const char *lmmiqa_dataset_notes(const lmmiqa_dataset *ds) { return ds->notes ? ds->notes : ""; }
size_t lmmiqa_dataset_size(const lmmiqa_dataset *ds) { return ds->n; }
int lmmiqa_dataset_has_std(const lmmiqa_dataset *ds) { return ds->has_std; }
size_t lmmiqa_dataset_group_count(const lmmiqa_dataset *ds) { return ds->n_groups; }

const char *lmmiqa_dataset_image(const lmmiqa_dataset *ds, size_t i)
{
    assert(i < ds->n);
    return ds->image[i];
}

const char *lmmiqa_dataset_image_path(const lmmiqa_dataset *ds, size_t i)
{
    assert(i < ds->n);
    return ds->path[i];
}

double lmmiqa_dataset_mos(const lmmiqa_dataset *ds, size_t i)
{
    assert(i < ds->n);
    return ds->mos[i];
}

double lmmiqa_dataset_std(const lmmiqa_dataset *ds, size_t i)
{
    assert(i < ds->n);
    return ds->std[i];
}

int lmmiqa_dataset_group(const lmmiqa_dataset *ds, size_t i)
{
    assert(i < ds->n);
    return ds->n_groups ? ds->group[i] : -1;
}

int lmmiqa_dataset_group_id(const lmmiqa_dataset *ds, size_t k)
{
    assert(k < ds->n_groups);
    return ds->group_ids[k];
}

const char *lmmiqa_dataset_group_label(const lmmiqa_dataset *ds, int group)
{
    for (size_t k = 0; k < ds->n_groups; k++)
        if (ds->group_ids[k] == group)
            return ds->group_labels[k];
    return NULL;
}

const char *lmmiqa_dataset_subset(const lmmiqa_dataset *ds, size_t i)
{
    assert(i < ds->n);
    return ds->subset[i];
}

void lmmiqa_dataset_scale(const lmmiqa_dataset *ds, double *lo, double *hi)
{
    *lo = ds->scale_lo;
    *hi = ds->scale_hi;
}

void lmmiqa_dataset_observed_range(const lmmiqa_dataset *ds, double *lo, double *hi)
{
    *lo = ds->obs_lo;
    *hi = ds->obs_hi;
}

int lmmiqa_dataset_check_files(const lmmiqa_dataset *ds, size_t *missing, size_t cap,
                               size_t *n_missing)
{
    assert(n_missing && (missing || cap == 0));
    size_t m = 0;
    for (size_t i = 0; i < ds->n; i++) {
        if (is_file(ds->path[i]))
            continue;
        if (m < cap)
            missing[m] = i;
        m++;
    }
    *n_missing = m;
    return LMMIQA_OK;
}
