/*
 * tools/cli/cmd_fit.c - `lmmiqa fit`: train a trainable distortion model
 * (CNNIQA from scratch, MetaIQA fine-tuned) on the TRAINING rows of one
 * split of a dataset and write its weights, which `lmmiqa extract
 * --weights E=FILE` then uses. Test rows are never read.
 *
 * Three steps: parse_fit fills a fit_opts from argv (printing usage errors
 * only), run_fit trains through the public API (lmmiqa/advanced/cnniqa.h,
 * metaiqa.h), which writes the weights, and write_fit reports them.
 */
#include "cli.h"
#include "cli_features.h"

#include "lmmiqa/advanced/cnniqa.h"
#include "lmmiqa/advanced/metaiqa.h"
#include "lmmiqa/splits.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "fit"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: lmmiqa fit --extractor cnniqa|metaiqa --dataset D --out WEIGHTS\n"
            "                  [--split-file F --split K] [options]\n"
            "\n"
            "Train a distortion model on the training rows of split K (1-based, as the keys\n"
            "of a splits JSON written by `lmmiqa dataset splits`) of dataset D, and write its\n"
            "weights (safetensors) for `lmmiqa extract --extractor E --weights E=WEIGHTS`.\n"
            "Without --split-file every row is used for training. MOS are scaled to 0..1\n"
            "with the dataset's nominal scale, widened to any training MOS outside it (as\n"
            "`lmmiqa eval` does).\n"
            "\n"
            "Options:\n"
            "  --extractor E       cnniqa (trained from scratch) or metaiqa (fine-tuned)\n"
            "  --dataset D         dataset name (livec, ...) or label file\n"
            "  --image-root DIR    folder the dataset's image names are relative to\n"
            "  --split-file F      splits JSON;  --split K  which split (default 1)\n"
            "  --out FILE          weight file to write\n"
            "  --checkpoint FILE   save state after every epoch; resume from it if present\n"
            "  --epochs N          training epochs (cnniqa 30, metaiqa 10)\n"
            "  --batch N           batch size (cnniqa: patches, 128; metaiqa: images, 8)\n"
            "  --lr X              Adam learning rate (cnniqa 1e-3, metaiqa 1e-4)\n"
            "  --seed S            initialisation, sampling and dropout seed (default 1)\n"
            "  --threads N         OpenBLAS threads (default: OpenBLAS's choice)\n"
            "  --patches N         cnniqa: random patches per image per epoch (32; 0 = all)\n"
            "  --fc N              cnniqa: hidden width = feature width (512)\n"
            "  --init FILE         metaiqa: start from these weights (MetaIQA release or\n"
            "                      torchvision ResNet-18, safetensors; see docs/metaiqa.md)\n"
            "  -q, --quiet         no per-epoch lines\n"
            "\n"
            "Exit codes: 0 ok; 1 bad dataset, split or image; 2 usage; 3 internal.\n");
}

static void log_line(void *user, const char *line)
{
    (void)user;
    fprintf(stderr, "lmmiqa fit: %s\n", line);
}

/* The parsed command line; numbers are -1 (or 0) where not given. */
typedef struct fit_opts {
    const char *extractor, *dataset, *image_root, *split_file, *out, *checkpoint, *init;
    long split, epochs, batch, seed, threads, patches, fc;
    double lr;
    int quiet, help, is_cnniqa;
} fit_opts;

/* The whole-number options: 1 matched, 0 not one of them, -1 error
 * (printed). */
static int parse_fit_number(int argc, char **argv, int *i, fit_opts *o)
{
    const struct {
        const char *name;
        long lo, hi;
        long *value;
    } opts[] = {{"--split", 1, 1000000, &o->split},   {"--epochs", 0, 100000, &o->epochs},
                {"--batch", 1, 65536, &o->batch},     {"--seed", 0, 0x7fffffffL, &o->seed},
                {"--threads", 1, 1024, &o->threads},  {"--patches", 0, 1000000, &o->patches},
                {"--fc", 1, 65536, &o->fc}};
    const char *v;
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        int r = cli_opt_value(CMD, argc, argv, i, opts[k].name, &v);
        if (r != 0)
            return r < 0 || cli_parse_long(CMD, opts[k].name, v, opts[k].lo, opts[k].hi,
                                            opts[k].value) ? -1 : 1;
    }
    int r = cli_opt_value(CMD, argc, argv, i, "--lr", &v);
    if (r != 0)
        return r < 0 || cli_parse_range(CMD, "--lr", v, 0, 1, HUGE_VAL, 1, &o->lr) ? -1 : 1;
    return 0;
}

/* The checks across options, after the loop. Returns a CLI exit code. */
static int check_fit_opts(fit_opts *o)
{
    if (!o->extractor || !o->dataset || !o->out) {
        cli_error(CMD, "--extractor, --dataset and --out are required (see --help)");
        return CLI_EXIT_USAGE;
    }
    o->is_cnniqa = strcmp(o->extractor, "cnniqa") == 0;
    int is_meta = strcmp(o->extractor, "metaiqa") == 0;
    if (!o->is_cnniqa && !is_meta) {
        cli_error(CMD, "--extractor must be cnniqa or metaiqa (got '%s'); the other extractors "
                       "need no training", o->extractor);
        return CLI_EXIT_USAGE;
    }
    if (o->is_cnniqa && o->init) {
        cli_error(CMD, "--init applies to metaiqa only");
        return CLI_EXIT_USAGE;
    }
    if (is_meta && (o->patches >= 0 || o->fc >= 0)) {
        cli_error(CMD, "--patches and --fc apply to cnniqa only");
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* Fill o from argv. Returns a CLI exit code; o->help asks for the usage. */
static int parse_fit(int argc, char **argv, fit_opts *o)
{
    memset(o, 0, sizeof *o);
    o->split = 1, o->epochs = -1, o->batch = -1, o->seed = 1, o->patches = -1, o->fc = -1;
    o->lr = -1.0;
    for (int i = 1; i < argc; i++) {
        int r;
        if (cli_is_help(argv[i])) {
            o->help = 1;
            return CLI_EXIT_OK;
        }
        if ((r = cli_opt_value(CMD, argc, argv, &i, "--extractor", &o->extractor)) != 0 ||
            (r = cli_opt_value(CMD, argc, argv, &i, "--dataset", &o->dataset)) != 0 ||
            (r = cli_opt_value(CMD, argc, argv, &i, "--image-root", &o->image_root)) != 0 ||
            (r = cli_opt_value(CMD, argc, argv, &i, "--split-file", &o->split_file)) != 0 ||
            (r = cli_opt_value(CMD, argc, argv, &i, "--out", &o->out)) != 0 ||
            (r = cli_opt_value(CMD, argc, argv, &i, "--checkpoint", &o->checkpoint)) != 0 ||
            (r = cli_opt_value(CMD, argc, argv, &i, "--init", &o->init)) != 0 ||
            (r = parse_fit_number(argc, argv, &i, o)) != 0) {
            if (r < 0)
                return CLI_EXIT_USAGE;
        } else if (cli_is_quiet(argv[i])) {
            o->quiet = 1;
        } else {
            cli_error(CMD, "unknown option '%s' (see --help)", argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    return check_fit_opts(o);
}

/* Train the model on paths/mos [n] into o->out. Returns a library status. */
static int train_model(const fit_opts *o, const char *const *paths, const double *mos,
                       size_t n, double lo, double hi)
{
    if (o->is_cnniqa) {
        lmmiqa_cnniqa_config cfg;
        lmmiqa_cnniqa_config_init(&cfg);
        if (o->epochs >= 0) cfg.epochs = (int)o->epochs;
        if (o->batch > 0) cfg.batch = (int)o->batch;
        if (o->patches >= 0) cfg.patches_per_image = (int)o->patches;
        if (o->fc > 0) cfg.fc = (int)o->fc;
        if (o->lr > 0) cfg.lr = o->lr;
        cfg.seed = (uint64_t)o->seed;
        cfg.threads = (int)o->threads;
        cfg.verbose = !o->quiet;
        cfg.log = log_line;
        return lmmiqa_cnniqa_train(&cfg, paths, mos, n, lo, hi, o->checkpoint, o->out);
    }
    lmmiqa_metaiqa_config cfg;
    lmmiqa_metaiqa_config_init(&cfg);
    if (o->epochs >= 0) cfg.epochs = (int)o->epochs;
    if (o->batch > 0) cfg.batch = (int)o->batch;
    if (o->lr > 0) cfg.lr = o->lr;
    cfg.seed = (uint64_t)o->seed;
    cfg.threads = (int)o->threads;
    cfg.verbose = !o->quiet;
    cfg.log = log_line;
    return lmmiqa_metaiqa_train(&cfg, o->init, paths, mos, n, lo, hi, o->checkpoint, o->out);
}

/* Load the dataset, select the training rows and train. */
static int run_fit(const fit_opts *o)
{
    lmmiqa_dataset *ds = NULL;
    cli_train_rows rows = {0};
    const char **paths = NULL;
    double *mos = NULL;
    int code = cli_dataset_load(CMD, o->dataset, o->image_root, &ds);
    if (code == CLI_EXIT_OK)
        code = cli_train_rows_select(CMD, ds, o->split_file, o->split, &rows);
    if (code != CLI_EXIT_OK)
        goto done;
    size_t n = rows.n_train;
    paths = calloc(n ? n : 1, sizeof *paths);
    mos = calloc(n ? n : 1, sizeof *mos);
    if (!paths || !mos) {
        cli_error(CMD, "out of memory");
        code = CLI_EXIT_INTERNAL;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        paths[i] = lmmiqa_dataset_image_path(ds, rows.train[i]);
        mos[i] = lmmiqa_dataset_mos(ds, rows.train[i]);
    }
    /* the scale eval's fit uses: the dataset's, widened to any training MOS
     * outside it (lmmiqa_protocol_mos_range) */
    double lo, hi;
    lmmiqa_protocol_mos_range(ds, LMMIQA_MOS_RANGE_NOMINAL, rows.train, n, &lo, &hi);
    if (!o->quiet)
        fprintf(stderr, "lmmiqa fit: %s on %zu training images of %s%s (MOS scale %g..%g)\n",
                o->extractor, n, lmmiqa_dataset_name(ds), o->split_file ? "" : " (all rows)",
                lo, hi);
    int rc = train_model(o, paths, mos, n, lo, hi);
    if (rc != LMMIQA_OK)
        code = cli_fail_status(CMD, rc);
done:
    free(paths);
    free(mos);
    cli_train_rows_free(&rows);
    lmmiqa_dataset_destroy(ds);
    return code;
}

/* The weights were written by the trainer; say where. */
static void write_fit(const fit_opts *o)
{
    if (!o->quiet)
        fprintf(stderr, "lmmiqa fit: wrote %s\n", o->out);
}

int cmd_fit(int argc, char **argv)
{
    fit_opts o;
    int code = parse_fit(argc, argv, &o);
    if (o.help) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (code == CLI_EXIT_OK)
        code = run_fit(&o);
    if (code == CLI_EXIT_OK)
        write_fit(&o);
    return code;
}
