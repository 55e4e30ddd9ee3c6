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
    if ((m = cli_opt_value(CMD, argc, argv, i, "--range", &v)) != 0) {
        char *end = NULL;
        if (m < 0)
            return -1;
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
        o->po.lo = lo;
        o->po.hi = hi;
        return 1;
    }
    if ((m = cli_opt_value(CMD, argc, argv, i, "--size", &v)) != 0) {
        char *end = NULL;
        if (m < 0)
            return -1;
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
        o->po.width = w;
        o->po.height = h;
        return 1;
    }
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
    {
        /* eval's predictions.csv holds every split: say when points of
         * several splits share the plot (a test image appears once a split) */
        int split_c = lmmiqa_csv_column(csv, "split");
        size_t distinct = 0;
        const char *first = NULL;
        for (size_t r = 0; split_c >= 0 && split_c != sc && r < rows && distinct < 2; r++) {
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

static int plot_scatter(int argc, char **argv)
{
    common_opts o;
    memset(&o, 0, sizeof o);
    lmmiqa_plot_options_init(&o.po);
    const char *input = NULL, *mos_col = "mos", *pred_col = "pred", *series_col = NULL;
    const char *only = NULL, *split_col = NULL, *split_value = NULL, *train = NULL;
    int positional = 0;
    for (int i = 1; i < argc; i++) {
        int m;
        if (!positional && strcmp(argv[i], "--") == 0) {
            positional = 1;
            continue;
        }
        if (positional) {
            if (take_input(argv[i], &input) != 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        if ((m = parse_common(argc, argv, &i, &o)) != 0 ||
            (m = cli_opt_value(CMD, argc, argv, &i, "--mos", &mos_col)) != 0 ||
            (m = cli_opt_value(CMD, argc, argv, &i, "--pred", &pred_col)) != 0 ||
            (m = cli_opt_value(CMD, argc, argv, &i, "--series", &series_col)) != 0 ||
            (m = cli_opt_value(CMD, argc, argv, &i, "--only", &only)) != 0 ||
            (m = cli_opt_value(CMD, argc, argv, &i, "--split", &split_col)) != 0 ||
            (m = cli_opt_value(CMD, argc, argv, &i, "--split-value", &split_value)) != 0 ||
            (m = cli_opt_value(CMD, argc, argv, &i, "--train", &train)) != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            cli_error(CMD, "unknown option '%s' (see lmmiqa plot --help)", argv[i]);
            return CLI_EXIT_USAGE;
        }
        if (take_input(argv[i], &input) != 0)
            return CLI_EXIT_USAGE;
    }
    if (!input || !o.out) {
        cli_error(CMD, "scatter needs PRED.csv and --out FIG (see lmmiqa plot --help)");
        return CLI_EXIT_USAGE;
    }
    if (!split_col != !split_value) {
        cli_error(CMD, "--split and --split-value go together");
        return CLI_EXIT_USAGE;
    }
    if (only && !series_col) {
        cli_error(CMD, "--only needs --series");
        return CLI_EXIT_USAGE;
    }
    if (split_col) {
        if (o.n_filters == MAX_FILTERS) {
            cli_error(CMD, "at most %d filters", MAX_FILTERS);
            return CLI_EXIT_USAGE;
        }
        snprintf(o.filters[o.n_filters].col, sizeof o.filters[0].col, "%s", split_col);
        o.filters[o.n_filters++].value = split_value;
    }
    group_set series = {0};
    if (only && group_set_list(&series, "--only", only) != 0) {
        group_set_free(&series);
        return CLI_EXIT_USAGE;
    }

    /* --train: the training rows first, as the paper's panels are ordered. */
    scatter_points pts[2];
    memset(pts, 0, sizeof pts);
    const char *files[2] = {train, input};
    int code = CLI_EXIT_OK;
    for (int k = train ? 0 : 1; k < 2 && code == CLI_EXIT_OK; k++)
        code = scatter_load(files[k], &o, mos_col, pred_col, series_col, only, &series, &pts[k]);
    int rc = LMMIQA_OK;
    if (code == CLI_EXIT_OK && train) {
        lmmiqa_plot_scatter_panel panels[2] = {{"Training", pts[0].ss, pts[0].n_series},
                                               {"Test", pts[1].ss, pts[1].n_series}};
        rc = lmmiqa_plot_scatter_panels(panels, 2, &o.po, o.out, NULL);
    } else if (code == CLI_EXIT_OK) {
        rc = lmmiqa_plot_scatter(pts[1].ss, pts[1].n_series, &o.po, o.out, NULL);
    }
    if (code == CLI_EXIT_OK && rc != LMMIQA_OK)
        code = plot_status(rc);
    for (int k = train ? 0 : 1; k < 2 && code == CLI_EXIT_OK; k++)
        for (size_t s = 0; s < pts[k].n_series; s++) {
            const lmmiqa_plot_scatter_series *se = &pts[k].ss[s];
            double plcc = NAN, srocc = NAN;
            lmmiqa_metric_plcc(se->pred, se->mos, se->n, &plcc);
            lmmiqa_metric_srocc(se->pred, se->mos, se->n, &srocc);
            printf("%s%s\t%zu points\tPLCC %.4f\tSROCC %.4f\n", train ? (k ? "test: " : "training: ") : "",
                   se->label, se->n, plcc, srocc);
        }
    if (code == CLI_EXIT_OK)
        fprintf(stderr, "lmmiqa plot: wrote %s\n", o.out);
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

static int plot_trend(int argc, char **argv)
{
    common_opts o;
    memset(&o, 0, sizeof o);
    lmmiqa_plot_options_init(&o.po);
    const char *input = NULL, *x_col = NULL, *line_col = NULL, *y_col = NULL, *spec_col = NULL;
    const char *x_order = NULL, *line_order = NULL;
    int positional = 0;
    for (int i = 1; i < argc; i++) {
        int m;
        if (!positional && strcmp(argv[i], "--") == 0) {
            positional = 1;
            continue;
        }
        if (positional) {
            if (take_input(argv[i], &input) != 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        if ((m = parse_common(argc, argv, &i, &o)) != 0 ||
            (m = cli_opt_value(CMD, argc, argv, &i, "--x", &x_col)) != 0 ||
            (m = cli_opt_value(CMD, argc, argv, &i, "--line", &line_col)) != 0 ||
            (m = cli_opt_value(CMD, argc, argv, &i, "--y", &y_col)) != 0 ||
            (m = cli_opt_value(CMD, argc, argv, &i, "--spec", &spec_col)) != 0 ||
            (m = cli_opt_value(CMD, argc, argv, &i, "--x-order", &x_order)) != 0 ||
            (m = cli_opt_value(CMD, argc, argv, &i, "--line-order", &line_order)) != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            cli_error(CMD, "unknown option '%s' (see lmmiqa plot --help)", argv[i]);
            return CLI_EXIT_USAGE;
        }
        if (take_input(argv[i], &input) != 0)
            return CLI_EXIT_USAGE;
    }
    if (!input || !o.out || !y_col) {
        cli_error(CMD, "trend needs RESULTS.csv, --y COL and --out FIG (see lmmiqa plot --help)");
        return CLI_EXIT_USAGE;
    }
    if (spec_col ? (x_col || line_col) : (!x_col || !line_col)) {
        cli_error(CMD, "trend needs either --x COL and --line COL, or --spec COL");
        return CLI_EXIT_USAGE;
    }
    if (!o.po.y_label)
        o.po.y_label = y_col;

    group_set cats = {0}, lines = {0};
    lmmiqa_csv *csv = NULL;
    double *values = NULL;
    int code = CLI_EXIT_USAGE;
    if ((x_order && group_set_list(&cats, "--x-order", x_order) != 0) ||
        (line_order && group_set_list(&lines, "--line-order", line_order) != 0))
        goto done;
    code = CLI_EXIT_FAILURE;
    int rc = lmmiqa_csv_load(input, &csv);
    if (rc != LMMIQA_OK) {
        code = cli_fail_status(CMD, rc);
        goto done;
    }
    int yc = need_column(csv, "metric", y_col);
    int xc = spec_col ? need_column(csv, "spec", spec_col) : need_column(csv, "x", x_col);
    int lc = spec_col ? xc : need_column(csv, "line", line_col);
    if (yc < 0 || xc < 0 || lc < 0 || resolve_filters(csv, &o) != 0)
        goto done;
    values = malloc(MAX_GROUPS * MAX_GROUPS * sizeof *values);
    size_t *line_of_row = malloc(MAX_GROUPS * MAX_GROUPS * sizeof *line_of_row);
    if (!values || !line_of_row) {
        free(line_of_row);
        cli_error(CMD, "out of memory");
        code = CLI_EXIT_INTERNAL;
        goto done;
    }
    for (size_t k = 0; k < MAX_GROUPS * MAX_GROUPS; k++)
        values[k] = NAN;
    size_t used = 0;
    /* With --spec, Orig comes first, then categories in order of appearance. */
    if (spec_col && !x_order && group_index(&cats, "Orig", "categories") < 0) {
        free(line_of_row);
        goto done;
    }
    for (size_t r = 0; r < lmmiqa_csv_rows(csv); r++) {
        if (!row_selected(csv, r, &o))
            continue;
        char model[512], cat[512];
        const char *lname, *cname;
        if (spec_col) {
            const char *spec = lmmiqa_csv_cell(csv, r, (size_t)xc);
            int s = spec_split(spec, model, sizeof model, cat, sizeof cat);
            if (s < 0) {
                cli_error(CMD, "%s, line %zu: '%s' is not a feature spec (%s)", input,
                          lmmiqa_csv_line(csv, r), spec, lmmiqa_error_message());
                free(line_of_row);
                goto done;
            }
            if (s == 0) {
                fprintf(stderr, "lmmiqa plot: note: '%s' has no model part; left out\n", spec);
                continue;
            }
            lname = model;
            cname = cat;
        } else {
            lname = lmmiqa_csv_cell(csv, r, (size_t)lc);
            cname = lmmiqa_csv_cell(csv, r, (size_t)xc);
        }
        int ci = group_index(&cats, cname, "categories");
        int li = ci >= 0 ? group_index(&lines, lname, "lines") : ci;
        if (ci == -2 || li == -2) {
            free(line_of_row);
            goto done;
        }
        if (ci < 0 || li < 0)
            continue;
        double v;
        if ((rc = lmmiqa_csv_cell_double(csv, r, (size_t)yc, &v)) != LMMIQA_OK) {
            free(line_of_row);
            code = cli_fail_status(CMD, rc);
            goto done;
        }
        size_t at = (size_t)li * MAX_GROUPS + (size_t)ci;
        if (!isnan(values[at])) {
            cli_error(CMD, "%s: lines %zu and %zu both give %s at %s", input,
                      line_of_row[at], lmmiqa_csv_line(csv, r), lname, cname);
            free(line_of_row);
            goto done;
        }
        values[at] = v;
        line_of_row[at] = lmmiqa_csv_line(csv, r);
        used++;
    }
    free(line_of_row);
    if (used == 0) {
        cli_error(CMD, "%s: no rows match the filters and orders", input);
        goto done;
    }
    /* Drop categories no line has (e.g. Orig when only combinations ran). */
    size_t n_cats = 0;
    const char *cat_names[MAX_GROUPS];
    for (size_t c = 0; c < cats.n; c++) {
        size_t have = 0;
        for (size_t l = 0; l < lines.n; l++)
            have += !isnan(values[l * MAX_GROUPS + c]);
        if (have == 0) {
            if (x_order)
                fprintf(stderr, "lmmiqa plot: note: no value at '%s'; left out\n",
                        cats.names[c]);
            continue;
        }
        for (size_t l = 0; l < lines.n; l++)
            values[l * MAX_GROUPS + n_cats] = values[l * MAX_GROUPS + c];
        cat_names[n_cats++] = cats.names[c];
    }
    lmmiqa_plot_trend_line tl[MAX_GROUPS];
    size_t n_lines = 0;
    for (size_t l = 0; l < lines.n; l++) {
        size_t have = 0;
        for (size_t c = 0; c < n_cats; c++) {
            if (isnan(values[l * MAX_GROUPS + c]))
                fprintf(stderr, "lmmiqa plot: note: no value for %s at %s (a gap)\n",
                        lines.names[l], cat_names[c]);
            else
                have++;
        }
        if (have == 0) {
            fprintf(stderr, "lmmiqa plot: note: line '%s' has no rows; left out\n",
                    lines.names[l]);
            continue;
        }
        tl[n_lines++] = (lmmiqa_plot_trend_line){label_of(&o, lines.names[l]),
                                                 values + l * MAX_GROUPS};
    }
    rc = lmmiqa_plot_trend(cat_names, n_cats, tl, n_lines, &o.po, o.out, NULL);
    if (rc != LMMIQA_OK) {
        code = plot_status(rc);
        goto done;
    }
    fprintf(stderr, "lmmiqa plot: wrote %s (%zu line%s x %zu categor%s)\n", o.out, n_lines,
            n_lines == 1 ? "" : "s", n_cats, n_cats == 1 ? "y" : "ies");
    code = CLI_EXIT_OK;
done:
    free(values);
    group_set_free(&cats);
    group_set_free(&lines);
    lmmiqa_csv_destroy(csv);
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
