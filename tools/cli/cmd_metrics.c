/*
 * tools/cli/cmd_metrics.c - `lmmiqa metrics`: PLCC, SROCC, KRCC, RMSE and
 * the logistic-mapped PLCC/RMSE of two columns of a CSV file.
 *
 * Design: the CSV is read with the library's reader and every cell parsed
 * strictly, so a bad cell stops the command with file, line and column;
 * each metric is computed on its own so that an undefined one can be shown
 * with its own reason while the others are still reported. JSON output goes
 * through cJSON.
 */
#include "cli.h"

#include "lmmiqa/advanced/csv.h"
#include "lmmiqa/metrics.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const CMD = "metrics";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: lmmiqa metrics FILE.csv [--pred COLUMN] [--mos COLUMN] [--split K]\n"
            "                      [--features SPEC] [--json]\n"
            "\n"
            "Agreement between predicted quality and mean opinion scores, read from two\n"
            "columns of a CSV file (RFC 4180; tab-separated accepted):\n"
            "  PLCC   Pearson linear correlation\n"
            "  SROCC  Spearman rank correlation (ties get average ranks)\n"
            "  KRCC   Kendall tau-b\n"
            "  RMSE   root mean squared error, in MOS units\n"
            "  PLCC/RMSE after the VQEG 4-parameter logistic mapping of pred onto mos\n"
            "A metric that is mathematically undefined (fewer than 3 rows, 5 for the\n"
            "logistic; a constant column) is printed as \"undefined\" with the reason.\n"
            "\n"
            "options:\n"
            "  --pred COLUMN  header of the prediction column (default: pred)\n"
            "  --mos COLUMN   header of the MOS column (default: mos)\n"
            "  --split K      only rows whose 'split' column is K (eval's predictions.csv\n"
            "                 holds every split: without it they are pooled, and a note\n"
            "                 on stderr says so)\n"
            "  --features S   only rows whose 'features' column is S\n"
            "  --json         print one JSON object (undefined values are null, with\n"
            "                 their reasons under \"undefined\")\n"
            "  -h, --help     this help\n"
            "\n"
            "Every cell of both columns must be a finite decimal number. Exit codes: 0 ok,\n"
            "1 unreadable file, missing column or bad cell, 2 usage error. See docs/metrics.md.\n");
}

typedef struct {
    const char *key, *label;
    int defined;
    double value;
    char reason[256];
} result;

static void set_result(result *r, int rc, double v)
{
    r->defined = rc == LMMIQA_OK;
    r->value = v;
    if (!r->defined)
        snprintf(r->reason, sizeof r->reason, "%s", lmmiqa_error_message());
}

/* Row filters and what was pooled: `lmmiqa eval`'s predictions.csv holds
 * every split (and every feature spec); metrics over all its rows pool them,
 * which is not the per-split mean the paper reports, so say so. */
typedef struct row_filter {
    const char *split;    /* --split K: keep rows whose "split" is K */
    const char *features; /* --features SPEC: keep rows whose "features" is SPEC */
    size_t splits_pooled; /* distinct "split" values among the kept rows */
    size_t specs_pooled;  /* distinct "features" values among the kept rows */
} row_filter;

/* Distinct values of column c over the rows kept (keep[r] != 0), counted
 * up to MAX_DISTINCT (enough to say "pooled"): each row is compared with the
 * values seen so far, not with every earlier row. */
#define MAX_DISTINCT 64
static size_t count_distinct(const lmmiqa_csv *csv, int c, const unsigned char *keep)
{
    if (c < 0)
        return 0;
    const char *seen[MAX_DISTINCT];
    size_t n = lmmiqa_csv_rows(csv), distinct = 0;
    for (size_t r = 0; r < n && distinct < MAX_DISTINCT; r++) {
        if (!keep[r])
            continue;
        const char *v = lmmiqa_csv_cell(csv, r, (size_t)c);
        size_t q = 0;
        while (q < distinct && strcmp(seen[q], v) != 0)
            q++;
        if (q == distinct)
            seen[distinct++] = v;
    }
    return distinct;
}

/* Read the two columns; prints the error and returns the exit code. */
static int read_columns(const char *path, const char *pred_col, const char *mos_col,
                        row_filter *flt, double **pred, double **mos, size_t *n)
{
    lmmiqa_csv *csv = NULL;
    int rc = lmmiqa_csv_load(path, &csv);
    if (rc)
        return cli_fail_status(CMD, rc);
    int cs = lmmiqa_csv_column(csv, "split"), cf = lmmiqa_csv_column(csv, "features");
    if ((flt->split && cs < 0) || (flt->features && cf < 0)) {
        cli_error(CMD, "%s: no column '%s' to filter on", path, flt->split && cs < 0 ? "split" : "features");
        lmmiqa_csv_destroy(csv);
        return CLI_EXIT_FAILURE;
    }
    size_t rows = lmmiqa_csv_rows(csv);
    unsigned char *keep = malloc(rows ? rows : 1);
    if (!keep) {
        lmmiqa_csv_destroy(csv);
        return CLI_EXIT_INTERNAL;
    }
    size_t kept = 0;
    for (size_t r = 0; r < rows; r++) {
        keep[r] = (!flt->split || strcmp(lmmiqa_csv_cell(csv, r, (size_t)cs), flt->split) == 0) &&
                  (!flt->features ||
                   strcmp(lmmiqa_csv_cell(csv, r, (size_t)cf), flt->features) == 0);
        kept += keep[r];
    }
    if ((flt->split || flt->features) && kept == 0) {
        cli_error(CMD, "%s: no row has%s%s%s%s", path, flt->split ? " split " : "",
                  flt->split ? flt->split : "", flt->features ? " features " : "",
                  flt->features ? flt->features : "");
        free(keep);
        lmmiqa_csv_destroy(csv);
        return CLI_EXIT_FAILURE;
    }
    flt->splits_pooled = count_distinct(csv, cs, keep);
    flt->specs_pooled = count_distinct(csv, cf, keep);
    int cp = lmmiqa_csv_column(csv, pred_col), cm = lmmiqa_csv_column(csv, mos_col);
    if (cp < 0 || cm < 0) {
        char have[512] = "";
        size_t len = 0;
        for (size_t c = 0; c < lmmiqa_csv_cols(csv) && len < sizeof have - 1; c++)
            len += (size_t)snprintf(have + len, sizeof have - len, "%s'%s'", c ? ", " : "",
                                    lmmiqa_csv_header(csv, c));
        cli_error(CMD, "%s: no column '%s' (columns: %s)", path, cp < 0 ? pred_col : mos_col, have);
        lmmiqa_csv_destroy(csv);
        return CLI_EXIT_FAILURE;
    }
    *n = kept;
    *pred = malloc((kept ? kept : 1) * sizeof(double));
    *mos = malloc((kept ? kept : 1) * sizeof(double));
    if (!*pred || !*mos) {
        cli_error(CMD, "out of memory for %zu rows", kept);
        free(keep);
        lmmiqa_csv_destroy(csv);
        return CLI_EXIT_INTERNAL;
    }
    for (size_t r = 0, k = 0; r < rows; r++) {
        if (!keep[r])
            continue;
        rc = lmmiqa_csv_cell_double(csv, r, (size_t)cp, &(*pred)[k]);
        if (!rc)
            rc = lmmiqa_csv_cell_double(csv, r, (size_t)cm, &(*mos)[k]);
        if (rc) {
            free(keep);
            lmmiqa_csv_destroy(csv);
            return cli_fail_status(CMD, rc);
        }
        k++;
    }
    free(keep);
    lmmiqa_csv_destroy(csv);
    return CLI_EXIT_OK;
}

/* 15 significant digits: what the metrics are good for, and what cJSON
 * prints without falling back to 17 digits of binary noise
 * (0.33333333333333331). */
static double sig15(double v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.15g", v);
    return strtod(buf, NULL);
}

/* Table cell: 6 decimals in the usual range, 6 significant digits outside
 * it (an RMSE of 3e-9 is not 0.000000). */
static void print_value(const char *label, double v)
{
    double a = fabs(v);
    if (a == 0.0 || (a >= 1e-3 && a < 1e9))
        printf("%-16s %.6f\n", label, v);
    else
        printf("%-16s %.6g\n", label, v);
}

static int print_json(const char *path, const char *pred_col, const char *mos_col, size_t n,
                      const result *res, int nres, const double *beta, size_t splits_pooled)
{
    cJSON *o = cJSON_CreateObject(), *und = cJSON_CreateObject();
    if (!o || !und) {
        cJSON_Delete(o);
        cJSON_Delete(und);
        cli_error(CMD, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    cJSON_AddStringToObject(o, "file", path);
    cJSON_AddStringToObject(o, "pred", pred_col);
    cJSON_AddStringToObject(o, "mos", mos_col);
    cJSON_AddNumberToObject(o, "n", (double)n);
    cJSON_AddNumberToObject(o, "splits_pooled", (double)splits_pooled);
    for (int k = 0; k < nres; k++) {
        if (res[k].defined) {
            cJSON_AddNumberToObject(o, res[k].key, sig15(res[k].value));
        } else {
            cJSON_AddNullToObject(o, res[k].key);
            cJSON_AddStringToObject(und, res[k].key, res[k].reason);
        }
    }
    if (beta) {
        double b[4];
        for (int k = 0; k < 4; k++)
            b[k] = sig15(beta[k]);
        cJSON_AddItemToObject(o, "logistic", cJSON_CreateDoubleArray(b, 4));
    }
    else
        cJSON_AddNullToObject(o, "logistic");
    cJSON_AddItemToObject(o, "undefined", und);
    return cli_print_json(CMD, o);
}

int cmd_metrics(int argc, char **argv)
{
    const char *path = NULL, *pred_col = "pred", *mos_col = "mos";
    row_filter flt = {0};
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int m;
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        if ((m = cli_opt_value(CMD, argc, argv, &i, "--pred", &v)) != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            pred_col = v;
        } else if ((m = cli_opt_value(CMD, argc, argv, &i, "--mos", &v)) != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            mos_col = v;
        } else if ((m = cli_opt_value(CMD, argc, argv, &i, "--split", &flt.split)) != 0 ||
                   (m = cli_opt_value(CMD, argc, argv, &i, "--features", &flt.features)) != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            cli_error(CMD, "unknown option '%s' (see lmmiqa metrics --help)", argv[i]);
            return CLI_EXIT_USAGE;
        } else if (path) {
            cli_error(CMD, "more than one input file ('%s', '%s')", path, argv[i]);
            return CLI_EXIT_USAGE;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        cli_error(CMD, "no input file (see lmmiqa metrics --help)");
        return CLI_EXIT_USAGE;
    }
    double *pred = NULL, *mos = NULL;
    size_t n = 0;
    int code = read_columns(path, pred_col, mos_col, &flt, &pred, &mos, &n);
    if (code) {
        free(pred);
        free(mos);
        return code;
    }
    result res[6] = {
        {"plcc", "PLCC", 0, 0, ""},           {"srocc", "SROCC", 0, 0, ""},
        {"krcc", "KRCC", 0, 0, ""},           {"rmse", "RMSE", 0, 0, ""},
        {"plcc_logistic", "PLCC (logistic)", 0, 0, ""},
        {"rmse_logistic", "RMSE (logistic)", 0, 0, ""},
    };
    int (*const fns[4])(const double *, const double *, size_t, double *) = {
        lmmiqa_metric_plcc, lmmiqa_metric_srocc, lmmiqa_metric_krcc, lmmiqa_metric_rmse};
    for (int k = 0; k < 4; k++) {
        double v = 0;
        int rc = fns[k](pred, mos, n, &v);
        set_result(&res[k], rc, v);
    }
    double p = 0, e = 0, beta[4];
    int lrc = lmmiqa_metric_logistic(pred, mos, n, beta, &p, &e);
    set_result(&res[4], lrc, p);
    set_result(&res[5], lrc, e);
    free(pred);
    free(mos);
    for (int k = 0; k < 6; k++) {
        if (!res[k].defined && strstr(res[k].reason, "out of memory")) {
            cli_error(CMD, "%s", res[k].reason);
            return CLI_EXIT_INTERNAL;
        }
    }
    if (flt.splits_pooled > 1)
        cli_error(CMD, "note: these rows pool %zu splits (one correlation over all of them, not "
                       "the mean of per-split values that eval reports); --split K for one",
                  flt.splits_pooled);
    if (flt.specs_pooled > 1)
        cli_error(CMD, "warning: these rows pool %zu feature specs; --features SPEC for one",
                  flt.specs_pooled);
    if (json)
        return print_json(path, pred_col, mos_col, n, res, 6, lrc ? NULL : beta,
                          flt.splits_pooled);
    printf("%-16s %zu\n", "n", n);
    for (int k = 0; k < 6; k++) {
        if (res[k].defined)
            print_value(res[k].label, res[k].value);
        else
            printf("%-16s undefined (%s)\n", res[k].label, res[k].reason);
    }
    if (!lrc)
        printf("%-16s b1=%.6g b2=%.6g b3=%.6g b4=%.6g\n", "logistic", beta[0], beta[1], beta[2],
               beta[3]);
    return CLI_EXIT_OK;
}
