/*
 * tools/cli/cmd_plot.c - `lmmiqa plot scatter|trend`: the paper's figures
 * from `lmmiqa eval` output (include/lmmiqa/plot.h, docs/figures.md).
 *
 * Design: the CSV is read with the library's reader; rows are selected by
 * --where / --split filters, grouped into series (scatter) or into a
 * (line, category) table (trend), every used cell parsed strictly, and the
 * arrays handed to lmmiqa_plot_scatter / lmmiqa_plot_trend, which choose the
 * format from the --out extension. Groups keep their order of first
 * appearance in the file unless --only / --x-order / --line-order give one,
 * so colours follow the order the user or `lmmiqa eval --features` chose.
 * Trend's --spec mode splits feature specs such as "clip-vit-b16+brisque"
 * into the line (the LMM part) and the category ("Orig+BRISQUE"), which is
 * how Figure 3 is drawn straight from results.csv.
 *
 * Each subcommand runs in three steps: parse_* fills its options struct
 * from argv (one argument loop, parse_plot_args, for both; only usage
 * errors are printed), run_* reads the CSV and draws the chart through the
 * public API, write_* prints what was drawn.
 */
#include "cli.h"

#include "lmmiqa/advanced/csv.h"
#include "lmmiqa/metrics.h"
#include "lmmiqa/plot.h"
#include "lmmiqa/store.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const CMD = "plot";

/* cairo's toy text API resolves fonts through fontconfig, whose per-process
 * caches (bounded; freed only by FcFini) LeakSanitizer reports at exit.
 * This hook is read by sanitizer builds only; it covers the whole CLI but
 * names nothing of lmmiqa's own. */
__attribute__((visibility("default"))) const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}

#define MAX_FILTERS 16
#define MAX_GROUPS 64
#define MAX_LABELS 64

static void usage(FILE *out)
{
    fprintf(out,
            "usage: lmmiqa plot scatter PRED.csv --out FIG.png|.pdf|.svg [options]\n"
            "       lmmiqa plot trend RESULTS.csv (--x COL --line COL | --spec COL) --y COL\n"
            "                         --out FIG.png|.pdf|.svg [options]\n"
            "\n"
            "scatter: predicted score against MOS, one colour per series (blue, orange,\n"
            "  green, red, ...), the diagonal y = x, and each series' PLCC and SROCC in\n"
            "  the legend (the paper's Figures 4-7). Reads a predictions CSV such as\n"
            "  `lmmiqa eval`'s predictions.csv (features,split,image,mos,pred).\n"
            "  --mos COL            MOS column (default mos)\n"
            "  --pred COL           prediction column (default pred)\n"
            "  --series COL         one series per distinct value of COL (e.g. features);\n"
            "                       without it all rows are one series\n"
            "  --only V,V,...       keep these series values, in this order (colours follow)\n"
            "  --label V=TEXT       legend text of series value V (repeatable)\n"
            "  --split COL --split-value K   keep rows whose COL is K (e.g. split 10)\n"
            "  --train FILE         also the training rows' predictions (eval\n"
            "                       --train-predictions: train_predictions.csv): two panels,\n"
            "                       training and test, side by side on one axis range\n"
            "\n"
            "trend: a metric per category, one line with markers per model (the paper's\n"
            "  Figure 3). Reads a results table, one row per (model, category).\n"
            "  --x COL              category column (x axis)\n"
            "  --line COL           model column (one line each)\n"
            "  --spec COL           instead of --x/--line: split each feature spec of COL\n"
            "                       (as in `lmmiqa eval`'s results.csv, column features) into\n"
            "                       the model (the parts other than brisque, cnniqa, metaiqa)\n"
            "                       and the category Orig, Orig+BRISQUE, Orig+CNNIQA,\n"
            "                       Orig+Meta (specs without a model part are skipped)\n"
            "  --y COL              the metric column (e.g. plcc_mean, srocc_mean)\n"
            "  --x-order A,B,...    categories and their order (others are dropped)\n"
            "  --line-order A,B,... lines and their order (others are dropped)\n"
            "  --label V=TEXT       legend text of line V (repeatable)\n"
            "  A missing (model, category) value is left as a gap, with a note.\n"
            "\n"
            "common options:\n"
            "  --out FIG            output file; .png, .pdf or .svg\n"
            "  --where COL=VALUE    keep rows whose COL is VALUE (repeatable; numbers\n"
            "                       compare by value, so 10 matches 10.0)\n"
            "  --title T            title (default none)\n"
            "  --x-label T, --y-label T   axis titles (scatter: MOS, Predicted score;\n"
            "                       trend: none, the --y column)\n"
            "  --range LO:HI        value-axis range (scatter: both axes; trend: y);\n"
            "                       default: nice numbers around the data\n"
            "  --size WxH           canvas size (pixels for PNG, points for PDF/SVG);\n"
            "                       W 0 = as wide as needed; default 0x560 (trend 0x480)\n"
            "  --scale S            PNG pixels per unit (default 1; 2 for print)\n"
            "  --font-size PT       tick and legend text size (default 12)\n"
            "  --                   the next argument is the input CSV, even if it starts\n"
            "                       with '-'\n"
            "  -h, --help           this help\n"
            "\n"
            "Every value used must be a finite decimal number. Exit codes: 0 ok; 1 unreadable\n"
            "or bad CSV, missing column, no matching rows, unwritable output; 2 usage error\n"
            "(including an unknown output extension); 3 internal error. See docs/figures.md.\n");
}

/* ---- options shared by both subcommands --------------------------------------- */

typedef struct filter {
    char col[256];
    const char *value;
    int idx;
} filter;

typedef struct label_map {
    char key[256];
    const char *text;
} label_map;

typedef struct common_opts {
    const char *out;
    lmmiqa_plot_options po;
    filter filters[MAX_FILTERS];
    size_t n_filters;
    label_map labels[MAX_LABELS];
    size_t n_labels;
} common_opts;

/* "NAME=VALUE" -> name copied into `key`, value pointer returned. */
static const char *split_assign(const char *opt, const char *s, char *key, size_t cap)
{
    const char *eq = strchr(s, '=');
    if (!eq || eq == s || (size_t)(eq - s) >= cap) {
        cli_error(CMD, "%s: '%s' is not NAME=VALUE", opt, s);
        return NULL;
    }
    memcpy(key, s, (size_t)(eq - s));
    key[eq - s] = '\0';
    return eq + 1;
}

/* --range LO:HI into po: 1, or -1 (printed). */
static int parse_range_value(const char *v, lmmiqa_plot_options *po)
{
    char *end = NULL;
    errno = 0;
    double lo = strtod(v, &end);
    double hi = 0;
    int ok = !errno && end != v && *end == ':';
    if (ok) {
        const char *h = end + 1;
        hi = strtod(h, &end);
        ok = !errno && end != h && *end == '\0' && isfinite(lo) && isfinite(hi) && lo < hi;
    }
    if (!ok) {
        cli_error(CMD, "--range: '%s' is not LO:HI with LO < HI", v);
        return -1;
    }
    po->lo = lo;
    po->hi = hi;
    return 1;
}

/* --size WxH into po: 1, or -1 (printed). */
static int parse_size_value(const char *v, lmmiqa_plot_options *po)
{
    char *end = NULL;
    errno = 0;
    double w = strtod(v, &end);
    double h = 0;
    int ok = !errno && end != v && (*end == 'x' || *end == 'X');
    if (ok) {
        const char *hs = end + 1;
        h = strtod(hs, &end);
        ok = !errno && end != hs && *end == '\0' && isfinite(w) && isfinite(h) && w >= 0 &&
             h >= 0;
    }
    if (!ok) {
        cli_error(CMD, "--size: '%s' is not WxH (e.g. 0x560 or 800x600)", v);
        return -1;
    }
    po->width = w;
    po->height = h;
    return 1;
}

/* Returns 1 when argv[*i] was a common option, 0 when not, -1 on error. */
static int parse_common(int argc, char **argv, int *i, common_opts *o)
{
    const char *v;
    int m;
    if ((m = cli_opt_value(CMD, argc, argv, i, "--out", &o->out)) != 0 ||
        (m = cli_opt_value(CMD, argc, argv, i, "--title", &o->po.title)) != 0 ||
        (m = cli_opt_value(CMD, argc, argv, i, "--x-label", &o->po.x_label)) != 0 ||
        (m = cli_opt_value(CMD, argc, argv, i, "--y-label", &o->po.y_label)) != 0)
        return m;
    if ((m = cli_opt_value(CMD, argc, argv, i, "--where", &v)) != 0) {
        if (m < 0)
            return -1;
        if (o->n_filters == MAX_FILTERS) {
            cli_error(CMD, "--where: at most %d filters", MAX_FILTERS);
            return -1;
        }
        filter *f = &o->filters[o->n_filters];
        if (!(f->value = split_assign("--where", v, f->col, sizeof f->col)))
            return -1;
        o->n_filters++;
        return 1;
    }
    if ((m = cli_opt_value(CMD, argc, argv, i, "--label", &v)) != 0) {
        if (m < 0)
            return -1;
        if (o->n_labels == MAX_LABELS) {
            cli_error(CMD, "--label: at most %d labels", MAX_LABELS);
            return -1;
        }
        label_map *l = &o->labels[o->n_labels];
        if (!(l->text = split_assign("--label", v, l->key, sizeof l->key)))
            return -1;
        o->n_labels++;
        return 1;
    }
    if ((m = cli_opt_value(CMD, argc, argv, i, "--range", &v)) != 0)
        return m < 0 ? -1 : parse_range_value(v, &o->po);
    if ((m = cli_opt_value(CMD, argc, argv, i, "--size", &v)) != 0)
        return m < 0 ? -1 : parse_size_value(v, &o->po);
    if ((m = cli_opt_value(CMD, argc, argv, i, "--scale", &v)) != 0)
        return m < 0 || cli_parse_range(CMD, "--scale", v,
                                        0, 1, HUGE_VAL, 1, &o->po.scale) != 0 ? -1 : 1;
    if ((m = cli_opt_value(CMD, argc, argv, i, "--font-size", &v)) != 0)
        return m < 0 || cli_parse_range(CMD, "--font-size", v,
                                        0, 1, HUGE_VAL, 1, &o->po.font_size) != 0 ? -1 : 1;
    return 0;
}

static const char *label_of(const common_opts *o, const char *key)
{
    for (size_t k = 0; k < o->n_labels; k++)
        if (strcmp(o->labels[k].key, key) == 0)
            return o->labels[k].text;
    return key;
}

/* Column index of `name`, or an error listing the columns (returns -1). */
static int need_column(const lmmiqa_csv *csv, const char *what, const char *name)
{
    int c = lmmiqa_csv_column(csv, name);
    if (c >= 0)
        return c;
    char cols[1024] = "";
    for (size_t k = 0; k < lmmiqa_csv_cols(csv); k++) {
        size_t len = strlen(cols);
        snprintf(cols + len, sizeof cols - len, "%s%s", k ? ", " : "", lmmiqa_csv_header(csv, k));
    }
    cli_error(CMD, "%s: no %s column '%s' (columns: %s)", lmmiqa_csv_name(csv), what, name,
              cols);
    return -1;
}

static int resolve_filters(const lmmiqa_csv *csv, common_opts *o)
{
    for (size_t k = 0; k < o->n_filters; k++)
        if ((o->filters[k].idx = need_column(csv, "filter", o->filters[k].col)) < 0)
            return -1;
    return 0;
}

static int parse_number(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v))
        return 0;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end)
        return 0;
    *out = v;
    return 1;
}

static int cell_matches(const char *cell, const char *want)
{
    if (strcmp(cell, want) == 0)
        return 1;
    double a, b;
    return parse_number(cell, &a) && parse_number(want, &b) && a == b;
}

static int row_selected(const lmmiqa_csv *csv, size_t r, const common_opts *o)
{
    for (size_t k = 0; k < o->n_filters; k++)
        if (!cell_matches(lmmiqa_csv_cell(csv, r, (size_t)o->filters[k].idx), o->filters[k].value))
            return 0;
    return 1;
}

/* An ordered set of distinct strings (series, lines, categories). */
typedef struct group_set {
    char *names[MAX_GROUPS];
    size_t n;
    int fixed; /* 1: given by the user; unknown names are not added */
} group_set;

static void group_set_free(group_set *g)
{
    for (size_t k = 0; k < g->n; k++)
        free(g->names[k]);
    g->n = 0;
}

/* Index of name; adds it when the set is not fixed. -1: not in a fixed set;
 * -2: too many groups or out of memory (error printed). */
static int group_index(group_set *g, const char *name, const char *what)
{
    for (size_t k = 0; k < g->n; k++)
        if (strcmp(g->names[k], name) == 0)
            return (int)k;
    if (g->fixed)
        return -1;
    if (g->n == MAX_GROUPS) {
        cli_error(CMD, "more than %d %s; select some with --where, --only or --*-order",
                  MAX_GROUPS, what);
        return -2;
    }
    if (!(g->names[g->n] = strdup(name))) {
        cli_error(CMD, "out of memory");
        return -2;
    }
    return (int)g->n++;
}

/* Fill a fixed set from "A,B,C". */
static int group_set_list(group_set *g, const char *opt, const char *list)
{
    const char *s = list;
    g->fixed = 0;
    for (;;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        char buf[512];
        if (len == 0 || len >= sizeof buf) {
            cli_error(CMD, "%s: empty or too long item in '%s'", opt, list);
            return -1;
        }
        memcpy(buf, s, len);
        buf[len] = '\0';
        if (group_index(g, buf, "items") < 0)
            return -1;
        if (!e)
            break;
        s = e + 1;
    }
    g->fixed = 1;
    return 0;
}

/* The one positional argument, the input CSV: 0, or -1 when one was already
 * given (printed). */
static int take_input(const char *arg, const char **input)
{
    if (*input) {
        cli_error(CMD, "one input CSV only ('%s' and '%s')", *input, arg);
        return -1;
    }
    *input = arg;
    return 0;
}

/* A subcommand's own options: all take one string value. */
typedef struct plot_opt {
    const char *name;
    const char **value;
} plot_opt;

/* The argument loop of both subcommands: the common options, the
 * subcommand's `own` [n_own] options, "--" and the input CSV. Returns
 * CLI_EXIT_OK or CLI_EXIT_USAGE (printed); *help is set for -h/--help, which
 * ends the loop. */
static int parse_plot_args(int argc, char **argv, common_opts *o, const plot_opt *own,
                           size_t n_own, const char **input, int *help)
{
    int positional = 0;
    for (int i = 1; i < argc; i++) {
        int m = 0;
        if (!positional && strcmp(argv[i], "--") == 0) {
            positional = 1;
            continue;
        }
        if (positional) {
            if (take_input(argv[i], input) != 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if (cli_is_help(argv[i])) {
            *help = 1;
            return CLI_EXIT_OK;
        }
        m = parse_common(argc, argv, &i, o);
        for (size_t k = 0; m == 0 && k < n_own; k++)
            m = cli_opt_value(CMD, argc, argv, &i, own[k].name, own[k].value);
        if (m != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            cli_error(CMD, "unknown option '%s' (see lmmiqa plot --help)", argv[i]);
            return CLI_EXIT_USAGE;
        }
        if (take_input(argv[i], input) != 0)
            return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static void common_opts_init(common_opts *o)
{
    memset(o, 0, sizeof *o);
    lmmiqa_plot_options_init(&o->po);
}

static int plot_status(int rc)
{
    if (rc == LMMIQA_ERR_FORMAT) {
        cli_error(CMD, "%s", lmmiqa_error_message());
        return CLI_EXIT_USAGE;
    }
    return cli_fail_status(CMD, rc);
}

/* ---- scatter ------------------------------------------------------------------- */

/* The points of one predictions file, grouped into series. */
typedef struct scatter_points {
    lmmiqa_csv *csv;
    double *mos, *pred;
    int *row_group;
    size_t counts[MAX_GROUPS], offsets[MAX_GROUPS];
    lmmiqa_plot_scatter_series ss[MAX_GROUPS];
    size_t n_series;
} scatter_points;

static void scatter_points_free(scatter_points *p)
{
    free(p->row_group);
    free(p->mos);
    free(p->pred);
    lmmiqa_csv_destroy(p->csv);
    memset(p, 0, sizeof *p);
}

/* eval's predictions.csv holds every split: say when the selected rows
 * (row_group >= 0) of several splits share the plot (a test image appears
 * once a split). series_c: the series column (not a split column then). */
static void note_pooled_splits(const lmmiqa_csv *csv, int series_c, const int *row_group)
{
    int split_c = lmmiqa_csv_column(csv, "split");
    size_t distinct = 0, rows = lmmiqa_csv_rows(csv);
    const char *first = NULL;
    for (size_t r = 0; split_c >= 0 && split_c != series_c && r < rows && distinct < 2; r++) {
        if (row_group[r] < 0)
            continue;
        const char *v = lmmiqa_csv_cell(csv, r, (size_t)split_c);
        if (!first) {
            first = v;
            distinct = 1;
        } else if (strcmp(v, first) != 0) {
            distinct = 2;
        }
    }
    if (distinct > 1)
        cli_error(CMD, "note: the points pool several splits; --split split --split-value K "
                       "for one");
}

/* Read `input`'s rows that pass the filters into series (names collected in
 * `series`, shared between files so a series keeps its colour). Returns an
 * exit code (printed). */
static int scatter_load(const char *input, const common_opts *oc, const char *mos_col,
                        const char *pred_col, const char *series_col, const char *only,
                        group_set *series, scatter_points *pts)
{
    common_opts o = *oc;
    int code = CLI_EXIT_FAILURE;
    lmmiqa_csv *csv = NULL;
    double *mos = NULL, *pred = NULL;
    int *row_group = NULL;
    size_t *counts = pts->counts, *offsets = pts->offsets;
    int rc = lmmiqa_csv_load(input, &csv);
    pts->csv = csv;
    if (rc != LMMIQA_OK)
        return cli_fail_status(CMD, rc);
    int mc = need_column(csv, "MOS", mos_col), pc = need_column(csv, "prediction", pred_col);
    int sc = series_col ? need_column(csv, "series", series_col) : -2;
    if (mc < 0 || pc < 0 || sc == -1 || resolve_filters(csv, &o) != 0)
        goto done;
    size_t rows = lmmiqa_csv_rows(csv), used = 0;
    row_group = calloc(rows ? rows : 1, sizeof *row_group);
    mos = malloc((rows ? rows : 1) * sizeof *mos);
    pred = malloc((rows ? rows : 1) * sizeof *pred);
    if (!row_group || !mos || !pred) {
        cli_error(CMD, "out of memory");
        code = CLI_EXIT_INTERNAL;
        goto done;
    }
    if (!series_col && group_index(series, pred_col, "series") < 0)
        goto done;
    for (size_t r = 0; r < rows; r++) {
        row_group[r] = -1;
        if (!row_selected(csv, r, &o))
            continue;
        int g = series_col ? group_index(series, lmmiqa_csv_cell(csv, r, (size_t)sc), "series")
                           : 0;
        if (g == -2)
            goto done;
        if (g < 0)
            continue;
        row_group[r] = g;
        counts[g]++;
        used++;
    }
    if (used == 0) {
        cli_error(CMD, "%s: no rows match the filters%s", input,
                  only ? " and --only" : "");
        goto done;
    }
    note_pooled_splits(csv, sc, row_group);
    for (size_t g = 1; g < series->n; g++)
        offsets[g] = offsets[g - 1] + counts[g - 1];
    size_t fill[MAX_GROUPS] = {0};
    for (size_t r = 0; r < rows; r++) {
        if (row_group[r] < 0)
            continue;
        size_t g = (size_t)row_group[r], at = offsets[g] + fill[g]++;
        if ((rc = lmmiqa_csv_cell_double(csv, r, (size_t)mc, &mos[at])) != LMMIQA_OK ||
            (rc = lmmiqa_csv_cell_double(csv, r, (size_t)pc, &pred[at])) != LMMIQA_OK) {
            code = cli_fail_status(CMD, rc);
            goto done;
        }
    }
    for (size_t g = 0; g < series->n; g++) {
        if (counts[g] == 0) {
            fprintf(stderr, "lmmiqa plot: note: %s: series '%s' has no rows; left out\n", input,
                    series->names[g]);
            continue;
        }
        pts->ss[pts->n_series++] = (lmmiqa_plot_scatter_series){
            label_of(&o, series->names[g]), mos + offsets[g], pred + offsets[g], counts[g]};
    }
    code = CLI_EXIT_OK;
done:
    pts->mos = mos;
    pts->pred = pred;
    pts->row_group = row_group;
    return code;
}

/* The parsed `plot scatter` command line. */
typedef struct scatter_opts {
    common_opts o;
    const char *input, *mos_col, *pred_col, *series_col, *only, *split_col, *split_value;
    const char *train;
    int help;
} scatter_opts;

/* Fill so from argv. Returns a CLI exit code; so->help asks for the usage. */
static int parse_scatter(int argc, char **argv, scatter_opts *so)
{
    memset(so, 0, sizeof *so);
    common_opts_init(&so->o);
    so->mos_col = "mos";
    so->pred_col = "pred";
    const plot_opt own[] = {{"--mos", &so->mos_col},         {"--pred", &so->pred_col},
                            {"--series", &so->series_col},   {"--only", &so->only},
                            {"--split", &so->split_col},     {"--split-value", &so->split_value},
                            {"--train", &so->train}};
    int code = parse_plot_args(argc, argv, &so->o, own, sizeof own / sizeof own[0], &so->input,
                               &so->help);
    if (code != CLI_EXIT_OK || so->help)
        return code;
    if (!so->input || !so->o.out) {
        cli_error(CMD, "scatter needs PRED.csv and --out FIG (see lmmiqa plot --help)");
        return CLI_EXIT_USAGE;
    }
    if (!so->split_col != !so->split_value) {
        cli_error(CMD, "--split and --split-value go together");
        return CLI_EXIT_USAGE;
    }
    if (so->only && !so->series_col) {
        cli_error(CMD, "--only needs --series");
        return CLI_EXIT_USAGE;
    }
    if (so->split_col) {
        common_opts *o = &so->o;
        if (o->n_filters == MAX_FILTERS) {
            cli_error(CMD, "at most %d filters", MAX_FILTERS);
            return CLI_EXIT_USAGE;
        }
        snprintf(o->filters[o->n_filters].col, sizeof o->filters[0].col, "%s", so->split_col);
        o->filters[o->n_filters++].value = so->split_value;
    }
    return CLI_EXIT_OK;
}

/* Load the points (with --train the training rows first, as the paper's
 * panels are ordered: pts[0] training, pts[1] test) and draw them. */
static int run_scatter(const scatter_opts *so, group_set *series, scatter_points pts[2])
{
    if (so->only && group_set_list(series, "--only", so->only) != 0)
        return CLI_EXIT_USAGE;
    const char *files[2] = {so->train, so->input};
    int code = CLI_EXIT_OK;
    for (int k = so->train ? 0 : 1; k < 2 && code == CLI_EXIT_OK; k++)
        code = scatter_load(files[k], &so->o, so->mos_col, so->pred_col, so->series_col,
                            so->only, series, &pts[k]);
    if (code != CLI_EXIT_OK)
        return code;
    int rc;
    if (so->train) {
        lmmiqa_plot_scatter_panel panels[2] = {{"Training", pts[0].ss, pts[0].n_series},
                                               {"Test", pts[1].ss, pts[1].n_series}};
        rc = lmmiqa_plot_scatter_panels(panels, 2, &so->o.po, so->o.out, NULL);
    } else {
        rc = lmmiqa_plot_scatter(pts[1].ss, pts[1].n_series, &so->o.po, so->o.out, NULL);
    }
    return rc == LMMIQA_OK ? CLI_EXIT_OK : plot_status(rc);
}

/* Each series' size, PLCC and SROCC on stdout, the file on stderr. */
static void write_scatter(const scatter_opts *so, const scatter_points pts[2])
{
    for (int k = so->train ? 0 : 1; k < 2; k++)
        for (size_t s = 0; s < pts[k].n_series; s++) {
            const lmmiqa_plot_scatter_series *se = &pts[k].ss[s];
            double plcc = NAN, srocc = NAN;
            lmmiqa_metric_plcc(se->pred, se->mos, se->n, &plcc);
            lmmiqa_metric_srocc(se->pred, se->mos, se->n, &srocc);
            printf("%s%s\t%zu points\tPLCC %.4f\tSROCC %.4f\n",
                   so->train ? (k ? "test: " : "training: ") : "", se->label, se->n, plcc,
                   srocc);
        }
    fprintf(stderr, "lmmiqa plot: wrote %s\n", so->o.out);
}

static int plot_scatter(int argc, char **argv)
{
    scatter_opts so;
    int code = parse_scatter(argc, argv, &so);
    if (so.help)
        usage(stdout);
    if (code != CLI_EXIT_OK || so.help)
        return code;
    group_set series = {0};
    scatter_points pts[2];
    memset(pts, 0, sizeof pts);
    code = run_scatter(&so, &series, pts);
    if (code == CLI_EXIT_OK)
        write_scatter(&so, pts);
    scatter_points_free(&pts[0]);
    scatter_points_free(&pts[1]);
    group_set_free(&series);
    return code;
}

/* ---- trend -------------------------------------------------------------------- */

/* Distortion-feature extractors and their category names in Figure 3. */
static const struct {
    const char *name, *label;
} distortions[] = {{"brisque", "BRISQUE"}, {"cnniqa", "CNNIQA"}, {"metaiqa", "Meta"}};

/* Split a feature spec into model (LMM parts) and category. Returns 0 when
 * the spec has no model part (a baseline: skipped), 1 when split, -1 on a
 * malformed spec. */
static int spec_split(const char *spec, char *model, size_t mcap, char *cat, size_t ccap)
{
    lmmiqa_feature_spec sp;
    if (lmmiqa_feature_spec_parse(spec, &sp) != LMMIQA_OK)
        return -1;
    model[0] = '\0';
    snprintf(cat, ccap, "Orig");
    for (size_t k = 0; k < sp.count; k++) {
        const char *label = NULL;
        for (size_t d = 0; d < sizeof distortions / sizeof distortions[0]; d++)
            if (strcmp(sp.names[k], distortions[d].name) == 0)
                label = distortions[d].label;
        char *dst = label ? cat : model;
        size_t cap = label ? ccap : mcap, len = strlen(dst);
        snprintf(dst + len, cap - len, "%s%s", len ? "+" : "", label ? label : sp.names[k]);
    }
    return model[0] != '\0';
}

/* The parsed `plot trend` command line. */
typedef struct trend_opts {
    common_opts o;
    const char *input, *x_col, *line_col, *y_col, *spec_col, *x_order, *line_order;
    int help;
} trend_opts;

/* Fill to from argv. Returns a CLI exit code; to->help asks for the usage. */
static int parse_trend(int argc, char **argv, trend_opts *to)
{
    memset(to, 0, sizeof *to);
    common_opts_init(&to->o);
    const plot_opt own[] = {{"--x", &to->x_col},         {"--line", &to->line_col},
                            {"--y", &to->y_col},         {"--spec", &to->spec_col},
                            {"--x-order", &to->x_order}, {"--line-order", &to->line_order}};
    int code = parse_plot_args(argc, argv, &to->o, own, sizeof own / sizeof own[0], &to->input,
                               &to->help);
    if (code != CLI_EXIT_OK || to->help)
        return code;
    if (!to->input || !to->o.out || !to->y_col) {
        cli_error(CMD, "trend needs RESULTS.csv, --y COL and --out FIG (see lmmiqa plot --help)");
        return CLI_EXIT_USAGE;
    }
    if (to->spec_col ? (to->x_col || to->line_col) : (!to->x_col || !to->line_col)) {
        cli_error(CMD, "trend needs either --x COL and --line COL, or --spec COL");
        return CLI_EXIT_USAGE;
    }
    if (!to->o.po.y_label)
        to->o.po.y_label = to->y_col;
    return CLI_EXIT_OK;
}

/* The (line, category) table of a results file: values[line * MAX_GROUPS +
 * category], NAN where missing; line_of_row: the CSV line of each value. */
typedef struct trend_table {
    group_set cats, lines;
    lmmiqa_csv *csv;
    double *values;
    size_t *line_of_row;
} trend_table;

static void trend_table_free(trend_table *t)
{
    group_set_free(&t->cats);
    group_set_free(&t->lines);
    lmmiqa_csv_destroy(t->csv);
    free(t->values);
    free(t->line_of_row);
    memset(t, 0, sizeof *t);
}

/* The line and category of CSV row r into lname / cname (model and cat
 * hold them in --spec mode). 1 ok, 0 row left out (noted), -1 error. */
static int trend_row_names(const trend_opts *to, const lmmiqa_csv *csv, size_t r, int xc,
                           int lc, char model[512], char cat[512], const char **lname,
                           const char **cname)
{
    if (!to->spec_col) {
        *lname = lmmiqa_csv_cell(csv, r, (size_t)lc);
        *cname = lmmiqa_csv_cell(csv, r, (size_t)xc);
        return 1;
    }
    const char *spec = lmmiqa_csv_cell(csv, r, (size_t)xc);
    int s = spec_split(spec, model, 512, cat, 512);
    if (s < 0) {
        cli_error(CMD, "%s, line %zu: '%s' is not a feature spec (%s)", to->input,
                  lmmiqa_csv_line(csv, r), spec, lmmiqa_error_message());
        return -1;
    }
    if (s == 0) {
        fprintf(stderr, "lmmiqa plot: note: '%s' has no model part; left out\n", spec);
        return 0;
    }
    *lname = model;
    *cname = cat;
    return 1;
}

/* Store row r's value in the table. CLI_EXIT_OK, or an exit code (printed). */
static int trend_put(const trend_opts *to, trend_table *t, size_t r, int yc, const char *lname,
                     const char *cname, size_t *used)
{
    int ci = group_index(&t->cats, cname, "categories");
    int li = ci >= 0 ? group_index(&t->lines, lname, "lines") : ci;
    if (ci == -2 || li == -2)
        return CLI_EXIT_FAILURE;
    if (ci < 0 || li < 0)
        return CLI_EXIT_OK;
    double v;
    int rc = lmmiqa_csv_cell_double(t->csv, r, (size_t)yc, &v);
    if (rc != LMMIQA_OK)
        return cli_fail_status(CMD, rc);
    size_t at = (size_t)li * MAX_GROUPS + (size_t)ci;
    if (!isnan(t->values[at])) {
        cli_error(CMD, "%s: lines %zu and %zu both give %s at %s", to->input,
                  t->line_of_row[at], lmmiqa_csv_line(t->csv, r), lname, cname);
        return CLI_EXIT_FAILURE;
    }
    t->values[at] = v;
    t->line_of_row[at] = lmmiqa_csv_line(t->csv, r);
    (*used)++;
    return CLI_EXIT_OK;
}

/* Read the input into t. Returns a CLI exit code (printed). */
static int trend_collect(const trend_opts *to, trend_table *t)
{
    common_opts o = to->o;
    if ((to->x_order && group_set_list(&t->cats, "--x-order", to->x_order) != 0) ||
        (to->line_order && group_set_list(&t->lines, "--line-order", to->line_order) != 0))
        return CLI_EXIT_USAGE;
    int rc = lmmiqa_csv_load(to->input, &t->csv);
    if (rc != LMMIQA_OK)
        return cli_fail_status(CMD, rc);
    const lmmiqa_csv *csv = t->csv;
    int yc = need_column(csv, "metric", to->y_col);
    int xc = to->spec_col ? need_column(csv, "spec", to->spec_col)
                          : need_column(csv, "x", to->x_col);
    int lc = to->spec_col ? xc : need_column(csv, "line", to->line_col);
    if (yc < 0 || xc < 0 || lc < 0 || resolve_filters(csv, &o) != 0)
        return CLI_EXIT_FAILURE;
    t->values = malloc(MAX_GROUPS * MAX_GROUPS * sizeof *t->values);
    t->line_of_row = malloc(MAX_GROUPS * MAX_GROUPS * sizeof *t->line_of_row);
    if (!t->values || !t->line_of_row) {
        cli_error(CMD, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    for (size_t k = 0; k < MAX_GROUPS * MAX_GROUPS; k++)
        t->values[k] = NAN;
    /* With --spec, Orig comes first, then categories in order of appearance. */
    if (to->spec_col && !to->x_order && group_index(&t->cats, "Orig", "categories") < 0)
        return CLI_EXIT_FAILURE;
    size_t used = 0;
    for (size_t r = 0; r < lmmiqa_csv_rows(csv); r++) {
        if (!row_selected(csv, r, &o))
            continue;
        char model[512], cat[512];
        const char *lname = NULL, *cname = NULL;
        int s = trend_row_names(to, csv, r, xc, lc, model, cat, &lname, &cname);
        if (s < 0)
            return CLI_EXIT_FAILURE;
        int code = s ? trend_put(to, t, r, yc, lname, cname, &used) : CLI_EXIT_OK;
        if (code != CLI_EXIT_OK)
            return code;
    }
    if (used == 0) {
        cli_error(CMD, "%s: no rows match the filters and orders", to->input);
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

/* Drop the categories no line has (e.g. Orig when only combinations ran),
 * compacting t->values; names into cat_names. Returns their count. */
static size_t trend_categories(const trend_opts *to, trend_table *t, const char **cat_names)
{
    size_t n_cats = 0;
    for (size_t c = 0; c < t->cats.n; c++) {
        size_t have = 0;
        for (size_t l = 0; l < t->lines.n; l++)
            have += !isnan(t->values[l * MAX_GROUPS + c]);
        if (have == 0) {
            if (to->x_order)
                fprintf(stderr, "lmmiqa plot: note: no value at '%s'; left out\n",
                        t->cats.names[c]);
            continue;
        }
        for (size_t l = 0; l < t->lines.n; l++)
            t->values[l * MAX_GROUPS + n_cats] = t->values[l * MAX_GROUPS + c];
        cat_names[n_cats++] = t->cats.names[c];
    }
    return n_cats;
}

/* Collect the table and draw it; the drawn sizes into n_lines / n_cats. */
static int run_trend(const trend_opts *to, trend_table *t, size_t *n_lines, size_t *n_cats)
{
    int code = trend_collect(to, t);
    if (code != CLI_EXIT_OK)
        return code;
    const char *cat_names[MAX_GROUPS];
    *n_cats = trend_categories(to, t, cat_names);
    lmmiqa_plot_trend_line tl[MAX_GROUPS];
    *n_lines = 0;
    for (size_t l = 0; l < t->lines.n; l++) {
        size_t have = 0;
        for (size_t c = 0; c < *n_cats; c++) {
            if (isnan(t->values[l * MAX_GROUPS + c]))
                fprintf(stderr, "lmmiqa plot: note: no value for %s at %s (a gap)\n",
                        t->lines.names[l], cat_names[c]);
            else
                have++;
        }
        if (have == 0) {
            fprintf(stderr, "lmmiqa plot: note: line '%s' has no rows; left out\n",
                    t->lines.names[l]);
            continue;
        }
        tl[(*n_lines)++] = (lmmiqa_plot_trend_line){label_of(&to->o, t->lines.names[l]),
                                                    t->values + l * MAX_GROUPS};
    }
    int rc = lmmiqa_plot_trend(cat_names, *n_cats, tl, *n_lines, &to->o.po, to->o.out, NULL);
    return rc == LMMIQA_OK ? CLI_EXIT_OK : plot_status(rc);
}

static void write_trend(const trend_opts *to, size_t n_lines, size_t n_cats)
{
    fprintf(stderr, "lmmiqa plot: wrote %s (%zu line%s x %zu categor%s)\n", to->o.out, n_lines,
            n_lines == 1 ? "" : "s", n_cats, n_cats == 1 ? "y" : "ies");
}

static int plot_trend(int argc, char **argv)
{
    trend_opts to;
    int code = parse_trend(argc, argv, &to);
    if (to.help)
        usage(stdout);
    if (code != CLI_EXIT_OK || to.help)
        return code;
    trend_table t;
    memset(&t, 0, sizeof t);
    size_t n_lines = 0, n_cats = 0;
    code = run_trend(&to, &t, &n_lines, &n_cats);
    if (code == CLI_EXIT_OK)
        write_trend(&to, n_lines, n_cats);
    trend_table_free(&t);
    return code;
}

int cmd_plot(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (cli_is_help(argv[1])) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "scatter") == 0)
        return plot_scatter(argc - 1, argv + 1);
    if (strcmp(argv[1], "trend") == 0)
        return plot_trend(argc - 1, argv + 1);
    cli_error(CMD, "unknown chart '%s' (scatter or trend; see lmmiqa plot --help)", argv[1]);
    return CLI_EXIT_USAGE;
}
