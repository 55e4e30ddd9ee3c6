/*
 * tools/cli/cmd_dataset.c - `lmmiqa dataset info|splits`: describe a
 * dataset's labels (format, size, MOS range and scale, std, groups, official
 * subsets, missing image files) and write train/val/test splits as JSON.
 *
 * Dataset names resolve as in lmmiqa_dataset_resolve(), with the shared
 * folder beside this build's source tree as the last place searched.
 */
#include "cli.h"

#include "lmmiqa/dataset.h"
#include "lmmiqa/splits.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CMD "dataset"
#define SHOW_MISSING 5


static void usage(FILE *out)
{
    fprintf(out,
            "usage: lmmiqa dataset info NAME|PATH [--image-root DIR] [--koniq-zscore] [--json]\n"
            "       lmmiqa dataset splits NAME|PATH --out FILE.json [--splits N] [--seed S]\n"
            "                             [--test F] [--val F] [--grouped K | --official]\n"
            "                             [--image-root DIR] [--koniq-zscore]\n"
            "\n"
            "NAME is livec, koniq10k, spaq or cid2013, found in $LMMIQA_DATA_DIR/NAME or\n"
            "$LMMIQA_DATA_DIR/data[/labels]/NAME (likewise $LMMIQA_SHARED_DIR); PATH is a\n"
            "label file or a dataset folder (format detected by content). See docs/datasets.md.\n"
            "\n"
            "info      print name, format, size, MOS range (observed) and nominal scale, std\n"
            "          availability, groups, official subsets and the missing image files.\n"
            "          --image-root DIR   folder the image names are relative to\n"
            "          --koniq-zscore     KonIQ-10k: the z-score MOS on 0..100 (default 1..5)\n"
            "          --json             print one JSON object instead of text\n"
            "splits    write splits as JSON (read back by lmmiqa_splits_load_json):\n"
            "          --splits N   number of random splits (default 10); with --grouped, the\n"
            "                       number of sampled group combinations (default: all)\n"
            "          --seed S     seed of the random generator (default 1, as eval's, so\n"
            "                       both give the same splits)\n"
            "          --test F     test fraction of random splits (default 0.2)\n"
            "          --val F      validation fraction, carved from the training part\n"
            "                       (default 0)\n"
            "          --grouped K  K groups in the test part of each split (e.g. CID2013:\n"
            "                       --grouped 2 gives the 15 splits of 6 image sets)\n"
            "          --official   the dataset's official split (KonIQ-10k's set column)\n"
            "          --out FILE   output file (required)\n"
            "\n"
            "Exit codes: 0 ok, 1 bad input, 2 usage error, 3 internal error.\n");
}

typedef struct dataset_args {
    const char *what;
    const char *images_root;
    int koniq_zscore;
} dataset_args;

/* Parse the options common to both subcommands; 1 when consumed, 0 not ours,
 * -1 error printed. */
static int common_opt(int argc, char **argv, int *i, dataset_args *a)
{
    const char *v = NULL;
    int r = cli_opt_value(CMD, argc, argv, i, "--image-root", &v);
    if (r == 0) /* the old spelling, kept as an alias */
        r = cli_opt_value(CMD, argc, argv, i, "--images-root", &v);
    if (r == 1)
        a->images_root = v;
    if (r)
        return r;
    if (strcmp(argv[*i], "--koniq-zscore") == 0) {
        a->koniq_zscore = 1;
        return 1;
    }
    return 0;
}

static int load(const dataset_args *a, lmmiqa_dataset **ds)
{
    lmmiqa_dataset_options opt;
    lmmiqa_dataset_options_init(&opt);
    opt.image_root = a->images_root;
    opt.koniq_mos = a->koniq_zscore ? LMMIQA_KONIQ_MOS_ZSCORE : LMMIQA_KONIQ_MOS_1TO5;
    int rc = lmmiqa_dataset_load_ex(a->what, &opt, ds);
    return rc ? cli_fail_status(CMD, rc) : CLI_EXIT_OK;
}

/* Counts of the official subsets, in order of first appearance (up to 8). */
typedef struct subset_count {
    const char *name;
    size_t n;
} subset_count;

static size_t count_subsets(const lmmiqa_dataset *ds, subset_count *out, size_t cap)
{
    size_t m = 0;
    for (size_t i = 0; i < lmmiqa_dataset_size(ds); i++) {
        const char *s = lmmiqa_dataset_subset(ds, i);
        if (!s)
            continue;
        size_t k = 0;
        while (k < m && strcmp(out[k].name, s) != 0)
            k++;
        if (k == m) {
            if (m == cap)
                continue;
            out[m].name = s;
            out[m].n = 0;
            m++;
        }
        out[k].n++;
    }
    return m;
}

static size_t group_rows(const lmmiqa_dataset *ds, int g)
{
    size_t n = 0;
    for (size_t i = 0; i < lmmiqa_dataset_size(ds); i++)
        n += lmmiqa_dataset_group(ds, i) == g;
    return n;
}

static int info_json(const lmmiqa_dataset *ds, const size_t *missing, size_t n_missing)
{
    double lo, hi, slo, shi;
    lmmiqa_dataset_observed_range(ds, &lo, &hi);
    lmmiqa_dataset_scale(ds, &slo, &shi);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return CLI_EXIT_INTERNAL;
    cJSON_AddStringToObject(o, "name", lmmiqa_dataset_name(ds));
    cJSON_AddStringToObject(o, "format", lmmiqa_dataset_format(ds));
    cJSON_AddStringToObject(o, "labels", lmmiqa_dataset_label_path(ds));
    cJSON_AddStringToObject(o, "images_root", lmmiqa_dataset_image_root(ds));
    cJSON_AddNumberToObject(o, "size", (double)lmmiqa_dataset_size(ds));
    cJSON *r = cJSON_AddArrayToObject(o, "mos_observed");
    if (r) {
        cJSON_AddItemToArray(r, cJSON_CreateNumber(lo));
        cJSON_AddItemToArray(r, cJSON_CreateNumber(hi));
    }
    cJSON *s = cJSON_AddArrayToObject(o, "mos_scale");
    if (s) {
        cJSON_AddItemToArray(s, cJSON_CreateNumber(slo));
        cJSON_AddItemToArray(s, cJSON_CreateNumber(shi));
    }
    cJSON_AddBoolToObject(o, "has_std", lmmiqa_dataset_has_std(ds));
    cJSON *g = cJSON_AddObjectToObject(o, "groups");
    for (size_t k = 0; g && k < lmmiqa_dataset_group_count(ds); k++) {
        int id = lmmiqa_dataset_group_id(ds, k);
        cJSON_AddNumberToObject(g, lmmiqa_dataset_group_label(ds, id), (double)group_rows(ds, id));
    }
    subset_count sc[8];
    size_t m = count_subsets(ds, sc, 8);
    cJSON *sub = cJSON_AddObjectToObject(o, "subsets");
    for (size_t k = 0; sub && k < m; k++)
        cJSON_AddNumberToObject(sub, sc[k].name, (double)sc[k].n);
    cJSON_AddNumberToObject(o, "missing_images", (double)n_missing);
    cJSON *first = cJSON_AddArrayToObject(o, "missing_first");
    for (size_t k = 0; first && k < n_missing && k < SHOW_MISSING; k++)
        cJSON_AddItemToArray(first, cJSON_CreateString(lmmiqa_dataset_image_path(ds, missing[k])));
    cJSON_AddStringToObject(o, "notes", lmmiqa_dataset_notes(ds));
    return cli_print_json(CMD, o);
}

static void info_text(const lmmiqa_dataset *ds, const size_t *missing, size_t n_missing)
{
    double lo, hi, slo, shi;
    lmmiqa_dataset_observed_range(ds, &lo, &hi);
    lmmiqa_dataset_scale(ds, &slo, &shi);
    printf("name:         %s\n", lmmiqa_dataset_name(ds));
    printf("format:       %s\n", lmmiqa_dataset_format(ds));
    printf("labels:       %s\n", lmmiqa_dataset_label_path(ds));
    printf("images root:  %s\n", lmmiqa_dataset_image_root(ds));
    printf("size:         %zu images\n", lmmiqa_dataset_size(ds));
    printf("MOS:          %.6g .. %.6g observed, nominal scale %g .. %g\n", lo, hi, slo, shi);
    printf("std:          %s\n", lmmiqa_dataset_has_std(ds) ? "yes" : "no");
    size_t g = lmmiqa_dataset_group_count(ds);
    if (!g) {
        printf("groups:       none\n");
    } else {
        printf("groups:       %zu (", g);
        for (size_t k = 0; k < g; k++) {
            int id = lmmiqa_dataset_group_id(ds, k);
            printf("%s%s: %zu", k ? ", " : "", lmmiqa_dataset_group_label(ds, id),
                   group_rows(ds, id));
        }
        printf(")\n");
    }
    subset_count sc[8];
    size_t m = count_subsets(ds, sc, 8);
    if (m) {
        printf("subsets:      ");
        for (size_t k = 0; k < m; k++)
            printf("%s%s %zu", k ? ", " : "", sc[k].name, sc[k].n);
        printf("\n");
    }
    printf("missing:      %zu image file%s", n_missing, n_missing == 1 ? "" : "s");
    for (size_t k = 0; k < n_missing && k < SHOW_MISSING; k++)
        printf("%s%s", k ? ", " : " (first: ", lmmiqa_dataset_image_path(ds, missing[k]));
    printf("%s\n", n_missing ? (n_missing > SHOW_MISSING ? ", ...)" : ")") : "");
    const char *notes = lmmiqa_dataset_notes(ds);
    while (*notes) {
        const char *nl = strchr(notes, '\n');
        size_t len = nl ? (size_t)(nl - notes) : strlen(notes);
        printf("note:         %.*s\n", (int)len, notes);
        notes += len + (nl != NULL);
    }
}

static int cmd_info(int argc, char **argv)
{
    dataset_args a = {0};
    int json = 0;
    for (int i = 1; i < argc; i++) {
        int r = common_opt(argc, argv, &i, &a);
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r)
            continue;
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error(CMD, "info: unknown option '%s'", argv[i]);
            return CLI_EXIT_USAGE;
        } else if (a.what) {
            cli_error(CMD, "info: more than one dataset ('%s', '%s')", a.what, argv[i]);
            return CLI_EXIT_USAGE;
        } else {
            a.what = argv[i];
        }
    }
    if (!a.what) {
        cli_error(CMD, "info: which dataset? (a name or a path)");
        return CLI_EXIT_USAGE;
    }
    lmmiqa_dataset *ds = NULL;
    int rc = load(&a, &ds);
    if (rc)
        return rc;
    size_t n = lmmiqa_dataset_size(ds), n_missing = 0;
    size_t *missing = malloc(n * sizeof *missing);
    if (!missing) {
        lmmiqa_dataset_destroy(ds);
        cli_error(CMD, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    rc = lmmiqa_dataset_check_files(ds, missing, n, &n_missing);
    if (rc) {
        rc = cli_fail_status(CMD, rc);
    } else if (json) {
        rc = info_json(ds, missing, n_missing);
    } else {
        info_text(ds, missing, n_missing);
        rc = CLI_EXIT_OK;
    }
    free(missing);
    lmmiqa_dataset_destroy(ds);
    return rc;
}

static int cmd_splits(int argc, char **argv)
{
    dataset_args a = {0};
    const char *out = NULL;
    long count = -1, grouped = 0;
    unsigned long long seed = 1; /* eval's default: the same splits */
    double test = 0.2, val = 0.0;
    int official = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r = common_opt(argc, argv, &i, &a);
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r)
            continue;
        if ((r = cli_opt_value(CMD, argc, argv, &i, "--out", &v))) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            out = v;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--splits", &v))) {
            if (r < 0 || cli_parse_long(CMD, "--splits", v, 1, 1000000, &count))
                return CLI_EXIT_USAGE;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--grouped", &v))) {
            if (r < 0 || cli_parse_long(CMD, "--grouped", v, 1, 1000000, &grouped))
                return CLI_EXIT_USAGE;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--seed", &v))) {
            char *end = NULL;
            if (r < 0)
                return CLI_EXIT_USAGE;
            seed = strtoull(v, &end, 10);
            if (!*v || *end || v[0] == '-') {
                cli_error(CMD, "--seed: '%s' is not a non-negative integer", v);
                return CLI_EXIT_USAGE;
            }
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--test", &v))) {
            if (r < 0 || cli_parse_range(CMD, "--test", v, 0, 1, 1, 1, &test))
                return CLI_EXIT_USAGE;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--val", &v))) {
            if (r < 0 || cli_parse_range(CMD, "--val", v, 0, 0, 1, 1, &val))
                return CLI_EXIT_USAGE;
        } else if (strcmp(argv[i], "--official") == 0) {
            official = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error(CMD, "splits: unknown option '%s'", argv[i]);
            return CLI_EXIT_USAGE;
        } else if (a.what) {
            cli_error(CMD, "splits: more than one dataset ('%s', '%s')", a.what, argv[i]);
            return CLI_EXIT_USAGE;
        } else {
            a.what = argv[i];
        }
    }
    if (!a.what || !out) {
        cli_error(CMD, "splits: %s", !a.what ? "which dataset? (a name or a path)"
                                             : "--out FILE.json is required");
        return CLI_EXIT_USAGE;
    }
    if (official && grouped) {
        cli_error(CMD, "splits: --official and --grouped exclude each other");
        return CLI_EXIT_USAGE;
    }
    if ((official || grouped) && val != 0.0) {
        cli_error(CMD, "splits: --val applies to random splits only");
        return CLI_EXIT_USAGE;
    }
    lmmiqa_dataset *ds = NULL;
    int rc = load(&a, &ds);
    if (rc)
        return rc;
    lmmiqa_splits *s = NULL;
    if (official)
        rc = lmmiqa_splits_official(ds, &s);
    else if (grouped)
        rc = lmmiqa_splits_grouped(ds, (size_t)grouped, count < 0 ? 0 : (size_t)count, seed, &s);
    else
        rc = lmmiqa_splits_random(lmmiqa_dataset_size(ds), count < 0 ? 10 : (size_t)count, test,
                                  val, seed, &s);
    if (!rc)
        rc = lmmiqa_splits_save_json(s, out);
    if (rc) {
        rc = cli_fail_status(CMD, rc);
    } else {
        const lmmiqa_split *sp = lmmiqa_splits_get(s, 0);
        printf("%s: %zu %s split%s of %zu rows (first: %zu train, %zu val, %zu test) -> %s\n",
               lmmiqa_dataset_name(ds), lmmiqa_splits_count(s), lmmiqa_splits_method(s),
               lmmiqa_splits_count(s) == 1 ? "" : "s", lmmiqa_splits_n(s), sp->n_train, sp->n_val,
               sp->n_test, out);
    }
    lmmiqa_splits_destroy(s);
    lmmiqa_dataset_destroy(ds);
    return rc;
}

int cmd_dataset(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (cli_is_help(argv[1])) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    for (int i = 2; i < argc; i++)
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
    if (strcmp(argv[1], "info") == 0)
        return cmd_info(argc - 1, argv + 1);
    if (strcmp(argv[1], "splits") == 0)
        return cmd_splits(argc - 1, argv + 1);
    cli_error(CMD, "unknown subcommand '%s' (want info or splits)", argv[1]);
    return CLI_EXIT_USAGE;
}
