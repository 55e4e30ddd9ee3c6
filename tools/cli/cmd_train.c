/*
 * tools/cli/cmd_train.c - `lmmiqa train`: fit a regressor on stored features
 * of a dataset and save it with metadata naming the features, so that
 * `lmmiqa score --model` can compute them on new images.
 *
 * The features come from the store (extracted first when missing). Training
 * rows: every image, or the training part of split K of a split file (its
 * validation part, if any, selects the epoch). With --rank-augment, distorted
 * copies of training images add ordered pairs to the loss (cli_rank.h).
 *
 * Three steps: parse_train fills a train_opts from argv (printing usage
 * errors only), run_train fits the regressor through the public API,
 * write_train saves it with its metadata and prints the summary line.
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

/* The parsed command line. */
typedef struct train_opts {
    const char *spec, *dataset, *image_root, *store, *split_file, *out;
    long split_k;
    int quiet, help;
    cli_extractor_opts eo;
    lmmiqa_regressor_config cfg;
    lmmiqa_mos_range range;
    cli_training_opts tr; /* into cfg and range */
} train_opts;

/* The checks across options, after the loop. Returns a CLI exit code. */
static int check_train_opts(const char *cmd, train_opts *o)
{
    if (!o->spec || !o->dataset || !o->out) {
        cli_error(cmd, "--features, --dataset and --out are required");
        return CLI_EXIT_USAGE;
    }
    if (o->split_k && !o->split_file) {
        cli_error(cmd, "--split needs --split-file");
        return CLI_EXIT_USAGE;
    }
    if (!o->split_k)
        o->split_k = 1;
    if (strcmp(o->spec, "default") == 0) {
        if (o->tr.reg_opts || o->tr.rank_n) {
            cli_error(cmd, "--features default is the built-in model's whole recipe: give no "
                           "regressor options or --rank-* options with it");
            return CLI_EXIT_USAGE;
        }
        o->spec = cli_training_default_recipe(&o->tr);
    }
    if (!cli_check_spec(cmd, "--features", o->spec))
        return CLI_EXIT_USAGE;
    if (!o->tr.head_set)
        o->cfg.head = lmmiqa_protocol_default_head(o->spec);
    if (o->tr.rank_n && o->cfg.head == LMMIQA_HEAD_SVR) {
        cli_error(cmd, "--rank-augment needs the mlp or linear head, not svr");
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* Fill o from argv. Returns a CLI exit code; o->help asks for the usage. */
static int parse_train(const char *cmd, int argc, char **argv, train_opts *o)
{
    memset(o, 0, sizeof *o);
    lmmiqa_regressor_config_init(&o->cfg);
    o->cfg.threads = 1; /* as lmmiqa_protocol_options_init: fast, machine-independent */
    o->range = LMMIQA_MOS_RANGE_NOMINAL;
    o->tr.cfg = &o->cfg;
    o->tr.mos_range = &o->range;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int m;
        if (cli_is_help(argv[i])) {
            o->help = 1;
            return CLI_EXIT_OK;
        }
        if (cli_is_quiet(argv[i])) {
            o->quiet = 1;
            continue;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--features", &o->spec)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--dataset", &o->dataset)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--image-root", &o->image_root)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--store", &o->store)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--split-file", &o->split_file)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--out", &o->out)) != 0 ||
            (m = cli_parse_extractor_opt(cmd, argc, argv, &i, &o->eo)) != 0 ||
            (m = cli_parse_training_opt(cmd, argc, argv, &i, &o->tr)) != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--split", &v)) != 0) {
            if (m < 0 || cli_parse_long(cmd, "--split", v, 1, 1000000, &o->split_k) != 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        cli_error(cmd, "unexpected argument '%s' (see lmmiqa train --help)", argv[i]);
        return CLI_EXIT_USAGE;
    }
    return check_train_opts(cmd, o);
}

/* What run_train produces and write_train saves. */
typedef struct train_run {
    lmmiqa_dataset *ds;
    lmmiqa_features *f;
    cli_train_rows rows;
    lmmiqa_regressor *reg;
    cli_rank_data rank;
    double lo, hi;
} train_run;

static void train_run_free(train_run *r)
{
    cli_rank_data_free(&r->rank);
    lmmiqa_regressor_destroy(r->reg);
    cli_train_rows_free(&r->rows);
    lmmiqa_features_destroy(r->f);
    lmmiqa_dataset_destroy(r->ds);
    memset(r, 0, sizeof *r);
}

/* The dataset and its stored features (extracted first when missing). */
static int load_features(const char *cmd, const train_opts *o, train_run *r, char *store,
                         size_t cap)
{
    int code = cli_dataset_load(cmd, o->dataset, o->image_root, &r->ds);
    if (code == CLI_EXIT_OK)
        code = cli_store_dir(cmd, r->ds, o->store, o->quiet, store, cap);
    if (code == CLI_EXIT_OK)
        code = cli_store_ensure(cmd, store, r->ds, o->spec, &o->eo, o->quiet);
    if (code != CLI_EXIT_OK)
        return code;
    int rc = lmmiqa_features_load(store, o->spec, &r->f);
    if (rc == LMMIQA_OK)
        rc = lmmiqa_features_check_dataset(r->f, r->ds);
    return rc == LMMIQA_OK ? CLI_EXIT_OK : cli_fail_status(cmd, rc);
}

/* Train the head on the training rows (validation rows select the epoch;
 * ranking pairs with --rank-augment). */
static int fit_head(const char *cmd, const train_opts *o, const char *store, train_run *r)
{
    const cli_train_rows *tr = &r->rows;
    size_t dim = lmmiqa_features_dim(r->f), n_train = tr->n_train, n_val = tr->n_val;
    float *x = malloc(((n_train + n_val) * dim + 1) * sizeof *x);
    double *mos = malloc((n_train + n_val + 1) * sizeof *mos);
    int code = x && mos ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
    if (code == CLI_EXIT_OK) {
        lmmiqa_features_gather(r->f, tr->train, n_train, x);
        lmmiqa_features_gather(r->f, tr->val, n_val, x + n_train * dim);
        for (size_t k = 0; k < n_train; k++)
            mos[k] = lmmiqa_dataset_mos(r->ds, tr->train[k]);
        for (size_t k = 0; k < n_val; k++)
            mos[n_train + k] = lmmiqa_dataset_mos(r->ds, tr->val[k]);
        lmmiqa_protocol_mos_range(r->ds, o->range, tr->train, n_train, &r->lo, &r->hi);
        if (o->tr.rank_n)
            code = cli_rank_augment(cmd, store, r->ds, r->f, o->spec, &o->eo, tr->train,
                                    n_train, o->tr.rank_n, o->quiet, &r->rank);
    }
    if (code == CLI_EXIT_OK) {
        lmmiqa_rank_set rs = {r->rank.x, r->rank.n, r->rank.pairs, r->rank.n_pairs};
        int rc = lmmiqa_regressor_train_ranked(&o->cfg, x, mos, n_train, dim, r->lo, r->hi,
                                               n_val ? x + n_train * dim : NULL,
                                               n_val ? mos + n_train : NULL, n_val,
                                               r->rank.n_pairs ? &rs : NULL, &r->reg);
        if (rc != LMMIQA_OK)
            code = cli_fail_status(cmd, rc);
    }
    free(x);
    free(mos);
    return code;
}

static int run_train(const char *cmd, const train_opts *o, train_run *r)
{
    char store[4096];
    int code = load_features(cmd, o, r, store, sizeof store);
    if (code == CLI_EXIT_OK)
        code = cli_train_rows_select(cmd, r->ds, o->split_file, o->split_k, &r->rows);
    if (code == CLI_EXIT_OK)
        code = fit_head(cmd, o, store, r);
    return code;
}

/* The model's metadata (lmmiqa_regressor_save's JSON); NULL when out of
 * memory. */
static cJSON *model_metadata(const train_opts *o, const train_run *r, const char *argline,
                             const char *cfg_json, const char *levels_json)
{
    cJSON *meta = cJSON_CreateObject();
    if (!meta)
        return NULL;
    cJSON_AddStringToObject(meta, "format", "lmmiqa-model");
    cJSON_AddNumberToObject(meta, "format_version", 1);
    cJSON_AddStringToObject(meta, "features", lmmiqa_features_spec(r->f));
    cJSON_AddItemToObject(meta, "extractors", cJSON_Parse(lmmiqa_features_info_json(r->f)));
    cJSON_AddStringToObject(meta, "dataset", lmmiqa_dataset_name(r->ds));
    cJSON_AddNumberToObject(meta, "train_rows", (double)r->rows.n_train);
    cJSON_AddNumberToObject(meta, "val_rows", (double)r->rows.n_val);
    if (o->split_file) {
        cJSON_AddStringToObject(meta, "split_file", o->split_file);
        cJSON_AddNumberToObject(meta, "split", (double)o->split_k);
    }
    cJSON *range = cJSON_AddArrayToObject(meta, "mos_range");
    cJSON_AddItemToArray(range, cJSON_CreateNumber(r->lo));
    cJSON_AddItemToArray(range, cJSON_CreateNumber(r->hi));
    cJSON_AddStringToObject(meta, "mos_range_mode",
                            o->range == LMMIQA_MOS_RANGE_TRAIN ? "train" : "nominal");
    cJSON_AddItemToObject(meta, "regressor", cJSON_Parse(cfg_json));
    if (r->rank.n_pairs) {
        cJSON *ra = cJSON_AddObjectToObject(meta, "rank_augment");
        cJSON_AddNumberToObject(ra, "images", (double)r->rank.images);
        cJSON_AddNumberToObject(ra, "pairs", (double)r->rank.n_pairs);
        cJSON_AddNumberToObject(ra, "lambda", o->cfg.rank_lambda);
        cJSON_AddNumberToObject(ra, "margin", o->cfg.rank_margin);
        cJSON_AddItemToObject(ra, "levels", cJSON_Parse(levels_json ? levels_json : "{}"));
    }
    cJSON_AddStringToObject(meta, "command", argline);
    cJSON_AddStringToObject(meta, "lmmiqa_version", lmmiqa_version());
    return meta;
}

/* Save the model with its metadata and print the summary line. */
static int write_train(const char *cmd, const train_opts *o, const train_run *r, int argc,
                       char **argv)
{
    char *argline = command_line(argc, argv), *cfg_json = lmmiqa_regressor_config_json(&o->cfg);
    char *levels_json = r->rank.n_pairs ? cli_rank_levels_json() : NULL, *text = NULL;
    cJSON *meta = argline && cfg_json ? model_metadata(o, r, argline, cfg_json, levels_json)
                                      : NULL;
    if (meta)
        text = cJSON_PrintUnformatted(meta);
    int code = text ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
    if (code == CLI_EXIT_OK) {
        int rc = lmmiqa_regressor_save(r->reg, o->out, text);
        if (rc != LMMIQA_OK)
            code = cli_fail_status(cmd, rc);
    }
    if (code == CLI_EXIT_OK && !o->quiet) {
        lmmiqa_regressor_history h;
        lmmiqa_regressor_get_history(r->reg, &h);
        fprintf(stderr,
                "lmmiqa train: %s head on %s (%zu features), %zu training rows%s, MOS range "
                "%g..%g, %zu ranking pairs, epoch %d kept -> %s\n",
                lmmiqa_head_name(o->cfg.head), lmmiqa_features_spec(r->f),
                lmmiqa_features_dim(r->f), r->rows.n_train, r->rows.n_val ? " + validation" : "",
                r->lo, r->hi, r->rank.n_pairs, h.selected_epoch, o->out);
    }
    cJSON_Delete(meta);
    free(text);
    free(argline);
    free(cfg_json);
    free(levels_json);
    return code;
}

int cmd_train(int argc, char **argv)
{
    const char *cmd = "train";
    train_opts o;
    int code = parse_train(cmd, argc, argv, &o);
    if (o.help) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (code != CLI_EXIT_OK)
        return code;
    train_run r;
    memset(&r, 0, sizeof r);
    code = run_train(cmd, &o, &r);
    if (code == CLI_EXIT_OK)
        code = write_train(cmd, &o, &r, argc, argv);
    train_run_free(&r);
    return code;
}
