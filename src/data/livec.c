/*
 * src/data/livec.c - the LIVE In the Wild Image Quality Challenge release
 * labels: Data/AllImages_release.mat (cell array of 1169 file names),
 * AllMOS_release.mat and AllStdDev_release.mat (1x1169 doubles, same
 * order), MATLAB 5 files read with libmatio.
 *
 * Design: the 7 practice images (t1.bmp .. t7.bmp, the first entries) are
 * dropped by name, as every published protocol does; the other names are
 * kept as the release writes them (X.bmp); dataset.c then opens X.png where
 * only that exists. matio's own logging is silenced (the library never
 * prints); its failures become our messages naming the file.
 */
#include "data/dataset_internal.h"

#include "core/internal.h"

#include <ctype.h>
#include <math.h>
#include <matio.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LIVEC_MAX_NAME 4096

static void matio_silent(int level, char *message)
{
    (void)level;
    (void)message;
}

static pthread_once_t matio_once = PTHREAD_ONCE_INIT;

static void matio_init(void) { Mat_LogInitFunc("lmmiqa", matio_silent); }

static size_t var_numel(const matvar_t *v)
{
    size_t n = 1;
    for (int d = 0; d < v->rank; d++)
        n *= v->dims[d];
    return n;
}

/* Read variable `name` (or, failing that, the file's first variable). */
static int read_var(const char *path, const char *name, matvar_t **out)
{
    *out = NULL;
    mat_t *mat = Mat_Open(path, MAT_ACC_RDONLY);
    if (!mat)
        return lmmiqa__fail(LMMIQA_ERR_IO, "%s: cannot open as a MATLAB file", path);
    matvar_t *v = Mat_VarRead(mat, name);
    if (!v) {
        Mat_Rewind(mat);
        v = Mat_VarReadNext(mat);
    }
    Mat_Close(mat);
    if (!v)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: no variable '%s' (or none readable)", path,
                            name);
    *out = v;
    return LMMIQA_OK;
}

static int read_doubles(const char *path, const char *name, size_t want, double **out)
{
    matvar_t *v = NULL;
    int rc = read_var(path, name, &v);
    if (rc)
        return rc;
    if (v->class_type != MAT_C_DOUBLE || v->isComplex || !v->data) {
        Mat_VarFree(v);
        return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: variable '%s' is not a real double array",
                            path, name);
    }
    size_t n = var_numel(v);
    if (n != want || v->nbytes != n * sizeof(double)) {
        Mat_VarFree(v);
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                            "%s: '%s' has %zu values, the image list has %zu", path, name, n, want);
    }
    double *d = lmmiqa__malloc(n * sizeof *d);
    if (d)
        memcpy(d, v->data, n * sizeof *d);
    Mat_VarFree(v);
    if (!d)
        return LMMIQA_ERR_NOMEM;
    *out = d;
    return LMMIQA_OK;
}

/* The text of a char cell, ASCII only. */
static int cell_text(const char *path, matvar_t *c, size_t index, char *buf, size_t cap)
{
    if (!c || c->class_type != MAT_C_CHAR || !c->data)
        return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: image name %zu is not a character array",
                            path, index + 1);
    size_t n = var_numel(c);
    if (n >= cap || n == 0)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: image name %zu has length %zu", path,
                            index + 1, n);
    if (c->data_size != 1 && c->data_size != 2)
        return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: image name %zu: unsupported character size %d",
                            path, index + 1, c->data_size);
    if (c->nbytes < n * (size_t)c->data_size)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: image name %zu is truncated", path,
                            index + 1);
    for (size_t k = 0; k < n; k++) {
        unsigned ch = c->data_size == 1 ? ((const unsigned char *)c->data)[k]
                                        : ((const uint16_t *)c->data)[k];
        if (ch < 0x20 || ch > 0x7e)
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                "%s: image name %zu holds a non-ASCII character", path, index + 1);
        buf[k] = (char)ch;
    }
    buf[n] = '\0';
    return LMMIQA_OK;
}

static int is_practice(const char *name)
{
    if (name[0] != 't' || !isdigit((unsigned char)name[1]))
        return 0;
    const char *p = name + 1;
    while (isdigit((unsigned char)*p))
        p++;
    return strcmp(p, ".bmp") == 0 || strcmp(p, ".png") == 0;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int lmmiqa__livec_read_mat(lmmiqa_dataset *ds, const char *data_dir)
{
    pthread_once(&matio_once, matio_init);
    char names_path[LIVEC_MAX_NAME], mos_path[LIVEC_MAX_NAME], std_path[LIVEC_MAX_NAME];
    int w1 = snprintf(names_path, sizeof names_path, "%s/AllImages_release.mat", data_dir);
    int w2 = snprintf(mos_path, sizeof mos_path, "%s/AllMOS_release.mat", data_dir);
    int w3 = snprintf(std_path, sizeof std_path, "%s/AllStdDev_release.mat", data_dir);
    if (w1 < 0 || w2 < 0 || w3 < 0 || (size_t)w1 >= sizeof names_path ||
        (size_t)w3 >= sizeof std_path)
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "path too long: %s", data_dir);
    if (!(ds->label_path = (char *)lmmiqa__dataset_strdup(ds, mos_path)) ||
        !(ds->name = (char *)lmmiqa__dataset_strdup(ds, "livec")) ||
        !(ds->format = (char *)lmmiqa__dataset_strdup(ds, "livec-mat")))
        return LMMIQA_ERR_NOMEM;

    matvar_t *names = NULL;
    double *mos = NULL, *sd = NULL;
    int rc = read_var(names_path, "AllImages_release", &names);
    if (rc)
        return rc;
    if (names->class_type != MAT_C_CELL) {
        Mat_VarFree(names);
        return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: AllImages_release is not a cell array",
                            names_path);
    }
    size_t n = var_numel(names);
    rc = read_doubles(mos_path, "AllMOS_release", n, &mos);
    if (!rc)
        rc = read_doubles(std_path, "AllStdDev_release", n, &sd);
    size_t dropped = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        char name[LIVEC_MAX_NAME];
        rc = cell_text(names_path, Mat_VarGetCell(names, (int)i), i, name, sizeof name);
        if (rc)
            break;
        if (is_practice(name)) {
            dropped++;
            continue;
        }
        rc = lmmiqa__dataset_add(ds, name, mos[i], isnan(sd[i]) ? NAN : sd[i], NULL, -1, NULL,
                                 i + 1);
    }
    Mat_VarFree(names);
    free(mos);
    free(sd);
    if (rc)
        return rc;
    ds->scale_lo = 0;
    ds->scale_hi = 100;
    if (dropped && (rc = lmmiqa__dataset_note(ds, "dropped %zu practice images (t1..t%zu); row "
                                                  "numbers in messages are .mat element numbers",
                                              dropped, dropped)))
        return rc;
    /* Images: <release>/Images beside Data/. */
    if (ds->opt.image_root) {
        ds->image_root = (char *)lmmiqa__dataset_strdup(ds, ds->opt.image_root);
    } else {
        char root[LIVEC_MAX_NAME];
        snprintf(root, sizeof root, "%s/../Images", data_dir);
        if (!is_dir(root))
            snprintf(root, sizeof root, "%s/Images", data_dir);
        if (!is_dir(root))
            snprintf(root, sizeof root, "%s", data_dir);
        /* Prefer a tidy path: "<release>/Images" when data_dir ends in "/Data". */
        size_t len = strlen(data_dir);
        char tidy[LIVEC_MAX_NAME];
        if (len >= 5 && strcmp(data_dir + len - 5, "/Data") == 0 &&
            strstr(root, "/../Images")) {
            snprintf(tidy, sizeof tidy, "%.*s/Images", (int)(len - 5), data_dir);
            if (is_dir(tidy))
                memcpy(root, tidy, strlen(tidy) + 1);
        } else if (strcmp(data_dir, "Data") == 0 && strstr(root, "/../Images") && is_dir("Images")) {
            memcpy(root, "Images", 7);
        }
        ds->image_root = (char *)lmmiqa__dataset_strdup(ds, root);
    }
    return ds->image_root ? LMMIQA_OK : LMMIQA_ERR_NOMEM;
}
