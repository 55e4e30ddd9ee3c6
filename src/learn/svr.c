/*
 * src/learn/svr.c - libsvm regression models, svm-scale ranges, BRISQUE
 * score (see include/lmmiqa/svr.h).
 *
 * Design: both files are read whole and parsed line by line in place (CR
 * stripped, tokens NUL-terminated), every number strictly (the whole token,
 * finite). Support vectors are stored densely, [n_sv x dim] row-major: the
 * BRISQUE model is 774 x 36, and a dense row with zeros for the absent
 * indices sums exactly the same terms in the same (index) order as libsvm's
 * sparse merge, so full-precision predictions are bit-identical to
 * svm-predict. The MATLAB I/O emulation formats and re-parses values with
 * the printf formats the original pipeline used.
 */
#include "lmmiqa/svr.h"

#include "core/internal.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SVR_MAX_FILE ((size_t)1 << 30)
#define SVR_MAX_INDEX 1000000L
#define SVR_MAX_SV ((size_t)10000000)
#define SVR_MAX_ELEMS ((size_t)1 << 27) /* dense SV doubles: 1 GiB */

struct lmmiqa_svr {
    lmmiqa_svr_info info;
    double *sv;    /* [n_sv x dim] */
    double *coef;  /* [n_sv] */
    double *fmin;  /* [dim] range minima (NULL without a range file) */
    double *fmax;  /* [dim] */
};

/* ---- line/token reading over a mutable buffer ---- */

typedef struct {
    char *p, *end;
    size_t line; /* 1-based number of the line last returned */
    const char *path;
} reader;

static int reader_open(const char *path, unsigned char **data, reader *r)
{
    size_t size;
    int rc = lmmiqa__file_read_all(path, SVR_MAX_FILE, data, &size);
    if (rc)
        return rc;
    for (size_t i = 0; i < size; i++) {
        unsigned char c = (*data)[i];
        if (c == 0 || (c < 0x20 && c != '\t' && c != '\n' && c != '\r')) {
            free(*data);
            *data = NULL;
            return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: binary data (byte 0x%02x at offset %zu): not a text file",
                                path, c, i);
        }
    }
    r->p = (char *)*data;
    r->end = r->p + size;
    r->line = 0;
    r->path = path;
    return LMMIQA_OK;
}

/* Next line, NUL-terminated with its CR/LF removed; NULL at the end. */
static char *next_line(reader *r)
{
    if (r->p >= r->end)
        return NULL;
    char *s = r->p, *e = memchr(s, '\n', (size_t)(r->end - s));
    if (!e)
        e = r->end; /* the buffer has a NUL at end (file_read_all) */
    r->p = e < r->end ? e + 1 : r->end;
    *e = '\0';
    if (e > s && e[-1] == '\r')
        e[-1] = '\0';
    r->line++;
    return s;
}

static int is_blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '\0';
}

/* Next space/tab-separated token of *s (NUL-terminated in place), or NULL. */
static char *next_token(char **s)
{
    char *p = *s;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p) {
        *s = p;
        return NULL;
    }
    char *t = p;
    while (*p && *p != ' ' && *p != '\t')
        p++;
    if (*p)
        *p++ = '\0';
    *s = p;
    return t;
}

static int parse_num(const reader *r, const char *tok, const char *what, double *out)
{
    if (!tok)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s:%zu: missing %s", r->path, r->line, what);
    char *end = NULL;
    errno = 0;
    double v = strtod(tok, &end);
    if (end == tok || *end != '\0' || !isfinite(v))
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s:%zu: %s '%.40s' is not a finite number", r->path,
                            r->line, what, tok);
    *out = v;
    return LMMIQA_OK;
}

static int parse_int(const reader *r, const char *tok, const char *what, long lo, long hi,
                     long *out)
{
    if (!tok)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s:%zu: missing %s", r->path, r->line, what);
    char *end = NULL;
    errno = 0;
    long v = strtol(tok, &end, 10);
    if (end == tok || *end != '\0' || errno || v < lo || v > hi)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s:%zu: %s '%.40s' is not an integer in [%ld, %ld]",
                            r->path, r->line, what, tok, lo, hi);
    *out = v;
    return LMMIQA_OK;
}

static int expect_end(const reader *r, char **s, const char *what)
{
    char *extra = next_token(s);
    if (extra)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s:%zu: unexpected '%.40s' after %s", r->path,
                            r->line, extra, what);
    return LMMIQA_OK;
}

/* ---- model file ---- */

/* Parse "idx:val" into *idx, *val. */
static int parse_pair(const reader *r, char *tok, long *idx, double *val)
{
    char *colon = strchr(tok, ':');
    if (!colon)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s:%zu: '%.40s' is not an index:value pair", r->path,
                            r->line, tok);
    *colon = '\0';
    int rc = parse_int(r, tok, "feature index", 1, SVR_MAX_INDEX, idx);
    if (!rc)
        rc = parse_num(r, colon + 1, "feature value", val);
    return rc;
}

/* Growable sparse storage of the SV section while it is read. */
typedef struct {
    long *idx;
    double *val;
    size_t n, cap;
} sparse;

static int sparse_push(sparse *sp, long idx, double val)
{
    if (sp->n == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 4096;
        long *i = realloc(sp->idx, cap * sizeof *i);
        if (!i)
            return lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory for %zu SV entries", cap);
        sp->idx = i;
        double *v = realloc(sp->val, cap * sizeof *v);
        if (!v)
            return lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory for %zu SV entries", cap);
        sp->val = v;
        sp->cap = cap;
    }
    sp->idx[sp->n] = idx;
    sp->val[sp->n] = val;
    sp->n++;
    return LMMIQA_OK;
}

/* Read the n_sv lines of the SV section: coef[k], and the (index, value)
 * pairs of SV k at sp[row_start[k] .. row_start[k+1]). */
static int read_svs(reader *r, size_t n_sv, double *coef, size_t *row_start, sparse *sp,
                    long *max_index)
{
    size_t k = 0;
    char *s;
    *max_index = 0;
    while ((s = next_line(r))) {
        if (is_blank(s))
            continue;
        if (k == n_sv)
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s:%zu: more support vectors than total_sv = %zu",
                                r->path, r->line, n_sv);
        int rc = parse_num(r, next_token(&s), "SV coefficient", &coef[k]);
        if (rc)
            return rc;
        row_start[k] = sp->n;
        long prev = 0, idx;
        double v;
        char *tok;
        while ((tok = next_token(&s))) {
            if ((rc = parse_pair(r, tok, &idx, &v)))
                return rc;
            if (idx <= prev)
                return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                    "%s:%zu: feature index %ld after %ld: indices must ascend",
                                    r->path, r->line, idx, prev);
            prev = idx;
            if ((rc = sparse_push(sp, idx, v)))
                return rc;
        }
        if (prev > *max_index)
            *max_index = prev;
        k++;
    }
    if (k != n_sv)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: truncated: %zu support vectors, total_sv says %zu",
                            r->path, k, n_sv);
    row_start[n_sv] = sp->n;
    return LMMIQA_OK;
}

typedef struct {
    int have_type, have_kernel, have_gamma, have_coef0, have_degree, have_total, have_rho;
} header_seen;

static int read_header(reader *r, lmmiqa_svr_info *info)
{
    header_seen seen = {0};
    char *s;
    for (;;) {
        s = next_line(r);
        if (!s)
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: truncated: no 'SV' line after the header",
                                r->path);
        if (is_blank(s))
            continue;
        char *key = next_token(&s);
        int rc = LMMIQA_OK;
        if (strcmp(key, "SV") == 0) {
            if ((rc = expect_end(r, &s, "SV")))
                return rc;
            break;
        } else if (strcmp(key, "svm_type") == 0) {
            char *v = next_token(&s);
            if (v && strcmp(v, "epsilon_svr") == 0)
                info->type = LMMIQA_SVR_EPSILON;
            else if (v && strcmp(v, "nu_svr") == 0)
                info->type = LMMIQA_SVR_NU;
            else if (v && (!strcmp(v, "c_svc") || !strcmp(v, "nu_svc") || !strcmp(v, "one_class")))
                return lmmiqa__fail(LMMIQA_ERR_FORMAT,
                                    "%s:%zu: svm_type %s: only regression models (epsilon_svr, nu_svr) are supported",
                                    r->path, r->line, v);
            else
                return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s:%zu: unknown svm_type '%.40s'", r->path,
                                    r->line, v ? v : "");
            seen.have_type = 1;
        } else if (strcmp(key, "kernel_type") == 0) {
            char *v = next_token(&s);
            if (v && strcmp(v, "linear") == 0)
                info->kernel = LMMIQA_SVR_KERNEL_LINEAR;
            else if (v && (strcmp(v, "polynomial") == 0 || strcmp(v, "poly") == 0))
                info->kernel = LMMIQA_SVR_KERNEL_POLY;
            else if (v && strcmp(v, "rbf") == 0)
                info->kernel = LMMIQA_SVR_KERNEL_RBF;
            else if (v && strcmp(v, "sigmoid") == 0)
                info->kernel = LMMIQA_SVR_KERNEL_SIGMOID;
            else if (v && strcmp(v, "precomputed") == 0)
                return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s:%zu: precomputed kernels are not supported",
                                    r->path, r->line);
            else
                return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s:%zu: unknown kernel_type '%.40s'",
                                    r->path, r->line, v ? v : "");
            seen.have_kernel = 1;
        } else if (strcmp(key, "gamma") == 0) {
            rc = parse_num(r, next_token(&s), "gamma", &info->gamma);
            seen.have_gamma = 1;
        } else if (strcmp(key, "coef0") == 0) {
            rc = parse_num(r, next_token(&s), "coef0", &info->coef0);
            seen.have_coef0 = 1;
        } else if (strcmp(key, "degree") == 0) {
            long d;
            rc = parse_int(r, next_token(&s), "degree", 0, 1000, &d);
            info->degree = (int)d;
            seen.have_degree = 1;
        } else if (strcmp(key, "nr_class") == 0) {
            long c;
            rc = parse_int(r, next_token(&s), "nr_class", 2, 2, &c);
        } else if (strcmp(key, "total_sv") == 0) {
            long n;
            rc = parse_int(r, next_token(&s), "total_sv", 1, (long)SVR_MAX_SV, &n);
            info->n_sv = (size_t)n;
            seen.have_total = 1;
        } else if (strcmp(key, "rho") == 0) {
            rc = parse_num(r, next_token(&s), "rho", &info->rho);
            seen.have_rho = 1;
        } else if (strcmp(key, "probA") == 0 || strcmp(key, "probB") == 0) {
            double unused;
            rc = parse_num(r, next_token(&s), key, &unused);
        } else {
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s:%zu: unknown model header line '%.40s'",
                                r->path, r->line, key);
        }
        if (!rc)
            rc = expect_end(r, &s, key);
        if (rc)
            return rc;
    }
    const char *missing = !seen.have_type ? "svm_type"
                          : !seen.have_kernel ? "kernel_type"
                          : !seen.have_total ? "total_sv"
                          : !seen.have_rho ? "rho"
                          : (!seen.have_gamma && info->kernel != LMMIQA_SVR_KERNEL_LINEAR) ? "gamma"
                          : (!seen.have_degree && info->kernel == LMMIQA_SVR_KERNEL_POLY) ? "degree"
                          : (!seen.have_coef0 && (info->kernel == LMMIQA_SVR_KERNEL_POLY ||
                                                  info->kernel == LMMIQA_SVR_KERNEL_SIGMOID))
                              ? "coef0"
                              : NULL;
    if (missing)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: the header has no '%s' line", r->path, missing);
    return LMMIQA_OK;
}

/* ---- range file ---- */

/* Two numbers on the next line into a, b. */
static int read_two(reader *r, const char *what, double *a, double *b)
{
    char *s = next_line(r);
    if (!s)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: truncated: missing the %s line", r->path, what);
    int rc = parse_num(r, next_token(&s), what, a);
    if (!rc)
        rc = parse_num(r, next_token(&s), what, b);
    if (!rc)
        rc = expect_end(r, &s, what);
    return rc;
}

/* Is line s exactly the single token `word`? (modifies s) */
static int line_is(char *s, const char *word)
{
    char *tok = next_token(&s);
    return tok && strcmp(tok, word) == 0 && !next_token(&s);
}

static int read_range_lines(reader *r, lmmiqa_svr *svr, sparse *rows)
{
    char *s;
    while ((s = next_line(r)) && is_blank(s))
        ;
    if (s && s[0] == 'y' && line_is(s, "y")) {
        double a, b; /* y scaling section: target bounds, then y min max; unused */
        int rc = read_two(r, "y range", &a, &b);
        if (!rc)
            rc = read_two(r, "y range", &a, &b);
        if (rc)
            return rc;
        s = next_line(r);
    }
    if (!s || !line_is(s, "x"))
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s:%zu: expected the 'x' line of an svm-scale range file",
                            r->path, r->line);
    int rc = read_two(r, "x bounds", &svr->info.lower, &svr->info.upper);
    if (rc)
        return rc;
    if (!(svr->info.lower < svr->info.upper))
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s:%zu: lower bound %g is not below upper bound %g",
                            r->path, r->line, svr->info.lower, svr->info.upper);
    /* "index min max": rows->idx holds the index, rows->val min and max */
    while ((s = next_line(r))) {
        if (is_blank(s))
            continue;
        long idx;
        double lo, hi;
        rc = parse_int(r, next_token(&s), "feature index", 1, SVR_MAX_INDEX, &idx);
        if (!rc)
            rc = parse_num(r, next_token(&s), "feature minimum", &lo);
        if (!rc)
            rc = parse_num(r, next_token(&s), "feature maximum", &hi);
        if (!rc)
            rc = expect_end(r, &s, "index min max");
        if (!rc && lo > hi)
            rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s:%zu: feature %ld has minimum %g above maximum %g",
                              r->path, r->line, idx, lo, hi);
        if (!rc)
            rc = sparse_push(rows, idx, lo);
        if (!rc)
            rc = sparse_push(rows, (long)r->line, hi); /* keep the line for errors */
        if (rc)
            return rc;
    }
    if (rows->n == 0)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: no 'index min max' lines", r->path);
    return LMMIQA_OK;
}

static int read_range(const char *path, lmmiqa_svr *svr)
{
    unsigned char *data = NULL;
    reader r;
    sparse rows = {0};
    int rc = reader_open(path, &data, &r);
    if (rc)
        return rc;
    rc = read_range_lines(&r, svr, &rows);
    free(data);
    long dim = 0;
    for (size_t k = 0; !rc && k < rows.n; k += 2)
        dim = rows.idx[k] > dim ? rows.idx[k] : dim;
    if (!rc) {
        svr->info.dim = (size_t)dim;
        svr->fmin = lmmiqa__malloc((size_t)dim * sizeof(double));
        svr->fmax = lmmiqa__malloc((size_t)dim * sizeof(double));
        if (!svr->fmin || !svr->fmax)
            rc = LMMIQA_ERR_NOMEM;
    }
    if (!rc) {
        for (long i = 0; i < dim; i++)
            svr->fmin[i] = NAN;
        for (size_t k = 0; !rc && k < rows.n; k += 2) {
            size_t i = (size_t)rows.idx[k] - 1;
            if (!isnan(svr->fmin[i]))
                rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s:%ld: feature %ld is listed twice", path,
                                  rows.idx[k + 1], rows.idx[k]);
            svr->fmin[i] = rows.val[k];
            svr->fmax[i] = rows.val[k + 1];
        }
        for (long i = 0; !rc && i < dim; i++)
            if (isnan(svr->fmin[i]))
                rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                  "%s: no range for feature %ld (features 1..%ld must all be listed)",
                                  path, i + 1, dim);
    }
    free(rows.idx);
    free(rows.val);
    if (!rc)
        svr->info.scaled = 1;
    return rc;
}

/* ---- loading ---- */

static int read_model(const char *path, lmmiqa_svr *svr)
{
    unsigned char *data = NULL;
    reader r;
    int rc = reader_open(path, &data, &r);
    if (rc)
        return rc;
    sparse sp = {0};
    size_t *row_start = NULL;
    long max_index = 0;
    rc = read_header(&r, &svr->info);
    if (!rc) {
        svr->coef = lmmiqa__malloc(svr->info.n_sv * sizeof(double));
        row_start = lmmiqa__malloc((svr->info.n_sv + 1) * sizeof(size_t));
        if (!svr->coef || !row_start)
            rc = LMMIQA_ERR_NOMEM;
    }
    if (!rc)
        rc = read_svs(&r, svr->info.n_sv, svr->coef, row_start, &sp, &max_index);
    free(data);
    if (!rc) {
        if (!svr->info.scaled)
            svr->info.dim = (size_t)(max_index > 0 ? max_index : 1);
        else if ((size_t)max_index > svr->info.dim)
            rc = lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                              "%s: the support vectors use feature %ld but the range file lists %zu features",
                              path, max_index, svr->info.dim);
    }
    size_t elems = 0;
    if (!rc && !(rc = lmmiqa__mul_size(svr->info.n_sv, svr->info.dim, &elems)) &&
        elems > SVR_MAX_ELEMS)
        rc = lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "%s: %zu support vectors x %zu features exceed the limit of %zu values",
                          path, svr->info.n_sv, svr->info.dim, SVR_MAX_ELEMS);
    if (!rc) {
        svr->sv = lmmiqa__calloc(elems, sizeof(double));
        if (!svr->sv)
            rc = LMMIQA_ERR_NOMEM;
    }
    for (size_t k = 0; !rc && k < svr->info.n_sv; k++)
        for (size_t e = row_start[k]; e < row_start[k + 1]; e++)
            svr->sv[k * svr->info.dim + (size_t)sp.idx[e] - 1] = sp.val[e];
    free(row_start);
    free(sp.idx);
    free(sp.val);
    return rc;
}

int lmmiqa_svr_load(const char *model_path, const char *range_path, lmmiqa_svr **out)
{
    assert(model_path && out);
    *out = NULL;
    lmmiqa_svr *svr = lmmiqa__calloc(1, sizeof *svr);
    if (!svr)
        return LMMIQA_ERR_NOMEM;
    int rc = range_path ? read_range(range_path, svr) : LMMIQA_OK;
    if (!rc)
        rc = read_model(model_path, svr);
    if (rc) {
        lmmiqa_svr_destroy(svr);
        return rc;
    }
    *out = svr;
    return LMMIQA_OK;
}

size_t lmmiqa_svr_dim(const lmmiqa_svr *svr) { return svr->info.dim; }

void lmmiqa_svr_get_info(const lmmiqa_svr *svr, lmmiqa_svr_info *info) { *info = svr->info; }

/* ---- prediction ---- */

static int check_features(const lmmiqa_svr *svr, const double *x, size_t dim, const char *what)
{
    assert(x || dim == 0);
    if (dim != svr->info.dim)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "SVR: %zu %s features given, the model takes %zu",
                            dim, what, svr->info.dim);
    for (size_t i = 0; i < dim; i++)
        if (!isfinite(x[i]))
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "SVR: %s feature %zu is not finite (%g)", what,
                                i + 1, x[i]);
    return LMMIQA_OK;
}

/* svm-scale's output() for feature i (0-based), min == max -> 0. */
static double scale_one(const lmmiqa_svr *svr, size_t i, double value)
{
    double lo = svr->fmin[i], hi = svr->fmax[i];
    double lower = svr->info.lower, upper = svr->info.upper;
    if (hi == lo)
        return 0.0;
    if (value == lo)
        return lower;
    if (value == hi)
        return upper;
    return lower + (upper - lower) * (value - lo) / (hi - lo);
}

int lmmiqa_svr_scale(const lmmiqa_svr *svr, const double *x, size_t dim, double *scaled)
{
    assert(svr && scaled);
    int rc = check_features(svr, x, dim, "raw");
    if (rc)
        return rc;
    for (size_t i = 0; i < dim; i++)
        scaled[i] = svr->info.scaled ? scale_one(svr, i, x[i]) : x[i];
    return LMMIQA_OK;
}

/* libsvm's powi (repeated squaring). */
static double powi(double base, int times)
{
    double tmp = base, ret = 1.0;
    for (int t = times; t > 0; t /= 2) {
        if (t % 2 == 1)
            ret *= tmp;
        tmp = tmp * tmp;
    }
    return ret;
}

/* sum_k coef[k] K(x, sv[k]) - rho; x: [dim], sv: [n_sv x dim]. */
static double decision(const lmmiqa_svr *svr, const double *x)
{
    const size_t dim = svr->info.dim, n = svr->info.n_sv;
    const double gamma = svr->info.gamma, coef0 = svr->info.coef0;
    double sum = 0;
    for (size_t k = 0; k < n; k++) {
        const double *v = svr->sv + k * dim;
        double kv;
        if (svr->info.kernel == LMMIQA_SVR_KERNEL_RBF) {
            double d2 = 0;
            for (size_t i = 0; i < dim; i++) {
                double d = x[i] - v[i];
                d2 += d * d;
            }
            kv = exp(-gamma * d2);
        } else {
            double dot = 0;
            for (size_t i = 0; i < dim; i++)
                dot += x[i] * v[i];
            if (svr->info.kernel == LMMIQA_SVR_KERNEL_LINEAR)
                kv = dot;
            else if (svr->info.kernel == LMMIQA_SVR_KERNEL_POLY)
                kv = powi(gamma * dot + coef0, svr->info.degree);
            else
                kv = tanh(gamma * dot + coef0);
        }
        sum += svr->coef[k] * kv;
    }
    return sum - svr->info.rho;
}

int lmmiqa_svr_predict_scaled(const lmmiqa_svr *svr, const double *scaled, size_t dim,
                              double *out)
{
    assert(svr && out);
    int rc = check_features(svr, scaled, dim, "scaled");
    if (rc)
        return rc;
    double y = decision(svr, scaled);
    if (!isfinite(y))
        return lmmiqa__fail(LMMIQA_ERR_UNDEFINED, "SVR: the prediction overflowed (%g)", y);
    *out = y;
    return LMMIQA_OK;
}

int lmmiqa_svr_predict(const lmmiqa_svr *svr, const double *x, size_t dim, double *out)
{
    assert(svr && out);
    double stack[64];
    double *scaled = stack;
    if (dim > 64) {
        size_t bytes;
        int rc = lmmiqa__mul_size(dim, sizeof(double), &bytes);
        if (rc)
            return rc;
        if (!(scaled = lmmiqa__malloc(bytes)))
            return LMMIQA_ERR_NOMEM;
    }
    int rc = lmmiqa_svr_scale(svr, x, dim, scaled);
    if (!rc)
        rc = lmmiqa_svr_predict_scaled(svr, scaled, dim, out);
    if (scaled != stack)
        free(scaled);
    return rc;
}

/* ---- BRISQUE ---- */

/* printf with fmt, then strtod: the value a text file round trip leaves. */
static double text_round_trip(const char *fmt, double v)
{
    char buf[512]; /* "%f" of the largest double: 309 digits + 7 */
    snprintf(buf, sizeof buf, fmt, v);
    return strtod(buf, NULL);
}

int lmmiqa_brisque_score(const lmmiqa_svr *svr, const double features[LMMIQA_BRISQUE_SCORE_DIM],
                         int flags, double *score)
{
    assert(svr && features && score);
    if (flags & ~LMMIQA_BRISQUE_MATLAB_IO)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "BRISQUE score: unknown flags 0x%x", (unsigned)flags);
    if (svr->info.dim != LMMIQA_BRISQUE_SCORE_DIM)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "BRISQUE score: the SVR takes %zu features, not %d",
                            svr->info.dim, LMMIQA_BRISQUE_SCORE_DIM);
    if (!(flags & LMMIQA_BRISQUE_MATLAB_IO))
        return lmmiqa_svr_predict(svr, features, LMMIQA_BRISQUE_SCORE_DIM, score);
    int rc = check_features(svr, features, LMMIQA_BRISQUE_SCORE_DIM, "BRISQUE");
    if (rc)
        return rc;
    double x[LMMIQA_BRISQUE_SCORE_DIM];
    for (size_t i = 0; i < LMMIQA_BRISQUE_SCORE_DIM; i++) {
        double v = text_round_trip("%f", features[i]); /* brisquescore.m: fprintf('%d:%f ') */
        if (svr->info.scaled)
            v = text_round_trip("%g", scale_one(svr, i, v)); /* svm-scale: printf("%d:%g ") */
        x[i] = v;
    }
    double y;
    if ((rc = lmmiqa_svr_predict_scaled(svr, x, LMMIQA_BRISQUE_SCORE_DIM, &y)))
        return rc;
    *score = text_round_trip("%g", y); /* svm-predict 2.89: fprintf(output, "%g\n") */
    return LMMIQA_OK;
}

void lmmiqa_svr_destroy(lmmiqa_svr *svr)
{
    if (!svr)
        return;
    free(svr->sv);
    free(svr->coef);
    free(svr->fmin);
    free(svr->fmax);
    free(svr);
}
