/*
 * tools/cli/cmd_fit.c - `lmmiqa fit`: train a trainable distortion model
 * (CNNIQA from scratch, MetaIQA fine-tuned) on the TRAINING rows of one
 * split of a dataset and write its weights, which `lmmiqa extract
 * --weights E=FILE` then uses. Test rows are never read.
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
            "with the dataset's nominal scale.\n"
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

int cmd_fit(int argc, char **argv)
{
    const char *extractor = NULL, *dataset = NULL, *image_root = NULL, *split_file = NULL;
    const char *out = NULL, *checkpoint = NULL, *init = NULL, *v;
    long split = 1, epochs = -1, batch = -1, seed = 1, threads = 0, patches = -1, fc = -1;
    double lr = -1.0;
    int quiet = 0, r;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--extractor", &extractor))) {
            if (r < 0)
                return CLI_EXIT_USAGE;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--dataset", &dataset))) {
            if (r < 0)
                return CLI_EXIT_USAGE;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--image-root", &image_root))) {
            if (r < 0)
                return CLI_EXIT_USAGE;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--split-file", &split_file))) {
            if (r < 0)
                return CLI_EXIT_USAGE;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--out", &out))) {
            if (r < 0)
                return CLI_EXIT_USAGE;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--checkpoint", &checkpoint))) {
            if (r < 0)
                return CLI_EXIT_USAGE;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--init", &init))) {
            if (r < 0)
                return CLI_EXIT_USAGE;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--split", &v))) {
            if (r < 0 || cli_parse_long(CMD, "--split", v, 1, 1000000, &split))
                return CLI_EXIT_USAGE;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--epochs", &v))) {
            if (r < 0 || cli_parse_long(CMD, "--epochs", v, 0, 100000, &epochs))
                return CLI_EXIT_USAGE;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--batch", &v))) {
            if (r < 0 || cli_parse_long(CMD, "--batch", v, 1, 65536, &batch))
                return CLI_EXIT_USAGE;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--seed", &v))) {
            if (r < 0 || cli_parse_long(CMD, "--seed", v, 0, 0x7fffffffL, &seed))
                return CLI_EXIT_USAGE;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--threads", &v))) {
            if (r < 0 || cli_parse_long(CMD, "--threads", v, 1, 1024, &threads))
                return CLI_EXIT_USAGE;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--patches", &v))) {
            if (r < 0 || cli_parse_long(CMD, "--patches", v, 0, 1000000, &patches))
                return CLI_EXIT_USAGE;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--fc", &v))) {
            if (r < 0 || cli_parse_long(CMD, "--fc", v, 1, 65536, &fc))
                return CLI_EXIT_USAGE;
        } else if ((r = cli_opt_value(CMD, argc, argv, &i, "--lr", &v))) {
            if (r < 0 || cli_parse_range(CMD, "--lr", v, 0, 1, HUGE_VAL, 1, &lr))
                return CLI_EXIT_USAGE;
        } else if (cli_is_quiet(argv[i])) {
            quiet = 1;
        } else {
            cli_error(CMD, "unknown option '%s' (see --help)", argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    if (!extractor || !dataset || !out) {
        cli_error(CMD, "--extractor, --dataset and --out are required (see --help)");
        return CLI_EXIT_USAGE;
    }
    int is_cnniqa = strcmp(extractor, "cnniqa") == 0, is_meta = strcmp(extractor, "metaiqa") == 0;
    if (!is_cnniqa && !is_meta) {
        cli_error(CMD, "--extractor must be cnniqa or metaiqa (got '%s'); the other extractors "
                       "need no training", extractor);
        return CLI_EXIT_USAGE;
    }
    if (is_cnniqa && init) {
        cli_error(CMD, "--init applies to metaiqa only");
        return CLI_EXIT_USAGE;
    }
    if (is_meta && (patches >= 0 || fc >= 0)) {
        cli_error(CMD, "--patches and --fc apply to cnniqa only");
        return CLI_EXIT_USAGE;
    }
    lmmiqa_dataset *ds = NULL;
    int ec = cli_dataset_load(CMD, dataset, image_root, &ds);
    if (ec)
        return ec;
    size_t n_all = lmmiqa_dataset_size(ds), n = n_all;
    lmmiqa_splits *splits = NULL;
    const size_t *rows = NULL;
    if (split_file) {
        int rc = lmmiqa_splits_load_json(split_file, n_all, &splits);
        if (rc != LMMIQA_OK) {
            lmmiqa_dataset_destroy(ds);
            return cli_fail_status(CMD, rc);
        }
        if ((size_t)split > lmmiqa_splits_count(splits)) {
            cli_error(CMD, "%s has %zu splits, --split %ld asked for", split_file,
                      lmmiqa_splits_count(splits), split);
            lmmiqa_splits_destroy(splits);
            lmmiqa_dataset_destroy(ds);
            return CLI_EXIT_FAILURE;
        }
        const lmmiqa_split *sp = lmmiqa_splits_get(splits, (size_t)split - 1);
        rows = sp->train;
        n = sp->n_train;
    }
    const char **paths = calloc(n ? n : 1, sizeof *paths);
    double *mos = calloc(n ? n : 1, sizeof *mos);
    if (!paths || !mos) {
        free(paths);
        free(mos);
        lmmiqa_splits_destroy(splits);
        lmmiqa_dataset_destroy(ds);
        cli_error(CMD, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    for (size_t i = 0; i < n; i++) {
        size_t row = rows ? rows[i] : i;
        paths[i] = lmmiqa_dataset_image_path(ds, row);
        mos[i] = lmmiqa_dataset_mos(ds, row);
    }
    double lo, hi;
    lmmiqa_dataset_scale(ds, &lo, &hi);
    if (!quiet)
        fprintf(stderr, "lmmiqa fit: %s on %zu training images of %s%s (MOS scale %g..%g)\n",
                extractor, n, lmmiqa_dataset_name(ds), split_file ? "" : " (all rows)", lo, hi);
    int rc;
    if (is_cnniqa) {
        lmmiqa_cnniqa_config cfg;
        lmmiqa_cnniqa_config_init(&cfg);
        if (epochs >= 0) cfg.epochs = (int)epochs;
        if (batch > 0) cfg.batch = (int)batch;
        if (patches >= 0) cfg.patches_per_image = (int)patches;
        if (fc > 0) cfg.fc = (int)fc;
        if (lr > 0) cfg.lr = lr;
        cfg.seed = (uint64_t)seed;
        cfg.threads = (int)threads;
        cfg.verbose = !quiet;
        cfg.log = log_line;
        rc = lmmiqa_cnniqa_train(&cfg, paths, mos, n, lo, hi, checkpoint, out);
    } else {
        lmmiqa_metaiqa_config cfg;
        lmmiqa_metaiqa_config_init(&cfg);
        if (epochs >= 0) cfg.epochs = (int)epochs;
        if (batch > 0) cfg.batch = (int)batch;
        if (lr > 0) cfg.lr = lr;
        cfg.seed = (uint64_t)seed;
        cfg.threads = (int)threads;
        cfg.verbose = !quiet;
        cfg.log = log_line;
        rc = lmmiqa_metaiqa_train(&cfg, init, paths, mos, n, lo, hi, checkpoint, out);
    }
    free(paths);
    free(mos);
    lmmiqa_splits_destroy(splits);
    lmmiqa_dataset_destroy(ds);
    if (rc != LMMIQA_OK)
        return cli_fail_status(CMD, rc);
    if (!quiet)
        fprintf(stderr, "lmmiqa fit: wrote %s\n", out);
    return CLI_EXIT_OK;
}
