/*
 * tools/cli/cmd_train.c - `lmmiqa train`: fit a regressor on stored features
 * of a dataset and save it with metadata naming the features, so that
 * `lmmiqa score --model` can compute them on new images.
 *
 * The features come from the store (extracted first when missing). Training
 * rows: every image, or the training part of split K of a split file (its
 * validation part, if any, selects the epoch). With --rank-augment, distorted
 * copies of training images add ordered pairs to the loss (cli_rank.h).
 */
#include "cli.h"
#include "cli_features.h"
#include "cli_rank.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: lmmiqa train --features SPEC --dataset D --out MODEL [options]\n"
            "\n"
            "Train a quality regressor on the features SPEC (e.g. brisque or\n"
            "clip-vit-b16+brisque) of dataset D and save it as MODEL (safetensors). The\n"
            "model records its features, their extractor configurations, the\n"
            "standardisation and the MOS range; `lmmiqa score --model MODEL` uses it.\n"
            "\n"
            "  --features SPEC      extractor names joined by '+', or 'default': the built-in\n"
            "                       model's recipe (features, head and its settings)\n"
            "  --dataset D          a dataset name (livec, ...) or label file\n"
            "  --image-root DIR     folder the dataset's image names are relative to\n"
            "  --store DIR          feature store (default $LMMIQA_STORE_DIR/<dataset>, else\n"
            "                       ~/.cache/lmmiqa/features/<dataset>, XDG_CACHE_HOME\n"
            "                       honoured); missing features are extracted first\n"
            "  --split-file F       train on one split of F (ours or pyiqa's JSON)...\n"
            "  --split K            ...split K (1-based; default 1); otherwise all images\n"
            "  --mos-range nominal|train  MOS normalisation (default nominal: the\n"
            "                       dataset's scale; train: the training rows' min..max)\n"
            "  --seed S             training seed (default 1)\n"
            "  --out MODEL          the model file to write\n"
            "  --jobs N             extraction threads (default: all cores)\n"
            "  --rank-augment N|all add a margin ranking loss on distorted copies of N\n"
            "                       training images (blur, noise, JPEG at 4 growing\n"
            "                       strengths each: every copy ranks below the image and\n"
            "                       below milder copies); 0 = off (default). The copies'\n"
            "                       features are cached in STORE/rank-augment\n"
            "  --rank-lambda X      weight of the ranking term (default 1)\n"
            "  --rank-margin X      its margin on the [0, 1] output scale (default 0.05)\n"
            "  --weights E=FILE     weight file of extractor E (repeatable)\n"
            "  --vocab FILE         clipiqa: CLIP's BPE vocabulary (default: beside its weights)\n"
            "  --prompts FILE       clipiqa: prompt pairs 'POSITIVE | NEGATIVE' (docs/clipiqa.md)\n"
            "  --logit-scale S      clipiqa: softmax scale (default: the checkpoint's, 100)\n"
            "  -q, --quiet          no progress or summary lines\n"
            "\n"
            "%s\n"
            "Without --head the head follows the paper: linear for brisque alone, else mlp.\n"
            "Exit codes: 0 ok; 1 bad dataset, features, split or output; 2 usage error;\n"
            "3 out of memory or internal error.\n",
            cli_regressor_help);
}

static char *command_line(int argc, char **argv)
{
    size_t len = 16;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 3;
    char *s = malloc(len);
    if (!s)
        return NULL;
    strcpy(s, "lmmiqa");
    for (int i = 0; i < argc; i++) {
        strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

int cmd_train(int argc, char **argv)
{
    const char *cmd = "train";
    const char *spec = NULL, *dataset = NULL, *image_root = NULL, *store_opt = NULL;
    const char *split_file = NULL, *out = NULL;
    long split_k = 0;
    cli_extractor_opts eo = {0};
    lmmiqa_regressor_config cfg;
    lmmiqa_regressor_config_init(&cfg);
    cfg.threads = 1; /* as lmmiqa_protocol_options_init: fast, machine-independent */
    lmmiqa_mos_range range = LMMIQA_MOS_RANGE_NOMINAL;
    int head_set = 0, quiet = 0, reg_opts = 0;
    size_t rank_n = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int m;
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        if (cli_is_quiet(argv[i])) {
            quiet = 1;
            continue;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--features", &spec)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--dataset", &dataset)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--image-root", &image_root)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--store", &store_opt)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--split-file", &split_file)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--out", &out)) != 0 ||
            (m = cli_parse_extractor_opt(cmd, argc, argv, &i, &eo)) != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if ((m = cli_parse_regressor_opt(cmd, argc, argv, &i, &cfg, &head_set)) != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            reg_opts = 1;
            continue;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--split", &v)) != 0) {
            if (m < 0 || cli_parse_long(cmd, "--split", v, 1, 1000000, &split_k) != 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--mos-range", &v)) != 0) {
            if (m < 0 || cli_parse_mos_range(cmd, v, &range) != 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--seed", &v)) != 0) {
            long l;
            if (m < 0 || cli_parse_long(cmd, "--seed", v, 0, 0x7fffffffL, &l) != 0)
                return CLI_EXIT_USAGE;
            cfg.seed = (uint64_t)l;
            continue;
        }
        if ((m = cli_parse_rank_augment(cmd, argc, argv, &i, &rank_n)) != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--rank-lambda", &v)) != 0) {
            if (m < 0 || cli_parse_range(cmd, "--rank-lambda", v,
                                         0, 0, HUGE_VAL, 1, &cfg.rank_lambda) != 0)
                return CLI_EXIT_USAGE;
            reg_opts = 1;
            continue;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--rank-margin", &v)) != 0) {
            if (m < 0 || cli_parse_range(cmd, "--rank-margin", v,
                                         0, 0, 1, 0, &cfg.rank_margin) != 0)
                return CLI_EXIT_USAGE;
            reg_opts = 1;
            continue;
        }
        cli_error(cmd, "unexpected argument '%s' (see lmmiqa train --help)", argv[i]);
        return CLI_EXIT_USAGE;
    }
    if (!spec || !dataset || !out) {
        cli_error(cmd, "--features, --dataset and --out are required");
        return CLI_EXIT_USAGE;
    }
    if (split_k && !split_file) {
        cli_error(cmd, "--split needs --split-file");
        return CLI_EXIT_USAGE;
    }
    if (strcmp(spec, "default") == 0) {
        if (reg_opts || rank_n) {
            cli_error(cmd, "--features default is the built-in model's whole recipe: give no "
                           "regressor options or --rank-* options with it");
            return CLI_EXIT_USAGE;
        }
        uint64_t seed = cfg.seed;
        spec = lmmiqa_scorer_builtin_recipe(&cfg, &rank_n);
        cfg.seed = seed;
        head_set = 1;
    }
    if (!cli_check_spec(cmd, "--features", spec))
        return CLI_EXIT_USAGE;
    if (!head_set)
        cfg.head = lmmiqa_protocol_default_head(spec);
    if (rank_n && cfg.head == LMMIQA_HEAD_SVR) {
        cli_error(cmd, "--rank-augment needs the mlp or linear head, not svr");
        return CLI_EXIT_USAGE;
    }

    lmmiqa_dataset *ds = NULL;
    lmmiqa_splits *splits = NULL;
    lmmiqa_features *f = NULL;
    lmmiqa_regressor *reg = NULL;
    float *x = NULL;
    double *mos = NULL;
    size_t *all = NULL;
    char *meta_text = NULL, *argline = NULL, *cfg_json = NULL, *levels_json = NULL;
    cli_rank_data rank = {0};
    cJSON *meta = NULL;
    int code = cli_dataset_load(cmd, dataset, image_root, &ds);
    if (code != CLI_EXIT_OK)
        return code;
    char store[4096];
    code = cli_store_dir(cmd, ds, store_opt, quiet, store, sizeof store);
    if (code == CLI_EXIT_OK)
        code = cli_store_ensure(cmd, store, ds, spec, &eo, quiet);
    if (code != CLI_EXIT_OK)
        goto done;
    int rc = lmmiqa_features_load(store, spec, &f);
    if (rc == LMMIQA_OK)
        rc = lmmiqa_features_check_dataset(f, ds);
    if (rc != LMMIQA_OK) {
        code = cli_fail_status(cmd, rc);
        goto done;
    }
    size_t n = lmmiqa_dataset_size(ds), dim = lmmiqa_features_dim(f);
    const size_t *train = NULL, *val = NULL;
    size_t n_train = 0, n_val = 0;
    if (split_file) {
        if (!split_k)
            split_k = 1;
        rc = lmmiqa_splits_load_json(split_file, n, &splits);
        if (rc != LMMIQA_OK) {
            code = cli_fail_status(cmd, rc);
            goto done;
        }
        if ((size_t)split_k > lmmiqa_splits_count(splits)) {
            cli_error(cmd, "%s has %zu splits, --split %ld asked", split_file,
                      lmmiqa_splits_count(splits), split_k);
            code = CLI_EXIT_FAILURE;
            goto done;
        }
        const lmmiqa_split *s = lmmiqa_splits_get(splits, (size_t)split_k - 1);
        train = s->train;
        n_train = s->n_train;
        val = s->val;
        n_val = s->n_val;
    } else {
        all = malloc((n ? n : 1) * sizeof *all);
        if (!all) {
            code = CLI_EXIT_INTERNAL;
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            all[i] = i;
        train = all;
        n_train = n;
    }
    x = malloc(((n_train + n_val) * dim + 1) * sizeof *x);
    mos = malloc((n_train + n_val + 1) * sizeof *mos);
    if (!x || !mos) {
        code = CLI_EXIT_INTERNAL;
        goto done;
    }
    lmmiqa_features_gather(f, train, n_train, x);
    lmmiqa_features_gather(f, val, n_val, x + n_train * dim);
    for (size_t k = 0; k < n_train; k++)
        mos[k] = lmmiqa_dataset_mos(ds, train[k]);
    for (size_t k = 0; k < n_val; k++)
        mos[n_train + k] = lmmiqa_dataset_mos(ds, val[k]);
    double lo, hi;
    lmmiqa_protocol_mos_range(ds, range, train, n_train, &lo, &hi);
    if (rank_n) {
        code = cli_rank_augment(cmd, store, ds, f, spec, &eo, train, n_train, rank_n, quiet,
                                &rank);
        if (code != CLI_EXIT_OK)
            goto done;
    }
    lmmiqa_rank_set rs = {rank.x, rank.n, rank.pairs, rank.n_pairs};
    rc = lmmiqa_regressor_train_ranked(&cfg, x, mos, n_train, dim, lo, hi,
                                       n_val ? x + n_train * dim : NULL,
                                       n_val ? mos + n_train : NULL, n_val,
                                       rank.n_pairs ? &rs : NULL, &reg);
    if (rc != LMMIQA_OK) {
        code = cli_fail_status(cmd, rc);
        goto done;
    }

    meta = cJSON_CreateObject();
    argline = command_line(argc, argv);
    cfg_json = lmmiqa_regressor_config_json(&cfg);
    if (!meta || !argline || !cfg_json) {
        code = CLI_EXIT_INTERNAL;
        goto done;
    }
    cJSON_AddStringToObject(meta, "format", "lmmiqa-model");
    cJSON_AddNumberToObject(meta, "format_version", 1);
    cJSON_AddStringToObject(meta, "features", lmmiqa_features_spec(f));
    cJSON_AddItemToObject(meta, "extractors", cJSON_Parse(lmmiqa_features_info_json(f)));
    cJSON_AddStringToObject(meta, "dataset", lmmiqa_dataset_name(ds));
    cJSON_AddNumberToObject(meta, "train_rows", (double)n_train);
    cJSON_AddNumberToObject(meta, "val_rows", (double)n_val);
    if (split_file) {
        cJSON_AddStringToObject(meta, "split_file", split_file);
        cJSON_AddNumberToObject(meta, "split", (double)split_k);
    }
    cJSON *r = cJSON_AddArrayToObject(meta, "mos_range");
    cJSON_AddItemToArray(r, cJSON_CreateNumber(lo));
    cJSON_AddItemToArray(r, cJSON_CreateNumber(hi));
    cJSON_AddStringToObject(meta, "mos_range_mode",
                            range == LMMIQA_MOS_RANGE_TRAIN ? "train" : "nominal");
    cJSON_AddItemToObject(meta, "regressor", cJSON_Parse(cfg_json));
    if (rank.n_pairs) {
        levels_json = cli_rank_levels_json();
        cJSON *ra = cJSON_AddObjectToObject(meta, "rank_augment");
        cJSON_AddNumberToObject(ra, "images", (double)rank.images);
        cJSON_AddNumberToObject(ra, "pairs", (double)rank.n_pairs);
        cJSON_AddNumberToObject(ra, "lambda", cfg.rank_lambda);
        cJSON_AddNumberToObject(ra, "margin", cfg.rank_margin);
        cJSON_AddItemToObject(ra, "levels", cJSON_Parse(levels_json ? levels_json : "{}"));
    }
    cJSON_AddStringToObject(meta, "command", argline);
    cJSON_AddStringToObject(meta, "lmmiqa_version", lmmiqa_version());
    meta_text = cJSON_PrintUnformatted(meta);
    if (!meta_text) {
        code = CLI_EXIT_INTERNAL;
        goto done;
    }
    rc = lmmiqa_regressor_save(reg, out, meta_text);
    if (rc != LMMIQA_OK) {
        code = cli_fail_status(cmd, rc);
        goto done;
    }
    if (!quiet) {
        lmmiqa_regressor_history h;
        lmmiqa_regressor_get_history(reg, &h);
        fprintf(stderr,
                "lmmiqa train: %s head on %s (%zu features), %zu training rows%s, MOS range "
                "%g..%g, %zu ranking pairs, epoch %d kept -> %s\n",
                lmmiqa_head_name(cfg.head), lmmiqa_features_spec(f), dim, n_train,
                n_val ? " + validation" : "", lo, hi, rank.n_pairs, h.selected_epoch, out);
    }
done:
    cJSON_Delete(meta);
    free(meta_text);
    free(argline);
    free(cfg_json);
    free(levels_json);
    cli_rank_data_free(&rank);
    free(x);
    free(mos);
    free(all);
    lmmiqa_regressor_destroy(reg);
    lmmiqa_features_destroy(f);
    lmmiqa_splits_destroy(splits);
    lmmiqa_dataset_destroy(ds);
    return code;
}
