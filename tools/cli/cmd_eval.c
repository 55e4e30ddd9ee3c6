/*
 * tools/cli/cmd_eval.c - `lmmiqa eval`: the paper's protocol over feature
 * combinations and splits (include/lmmiqa/protocol.h), with the features
 * taken from (and, when missing, extracted into) the feature store.
 *
 * Three steps: parse_eval fills an eval_opts from argv (printing usage
 * errors only), run_eval loads the dataset and splits, fills the store and
 * runs the protocol through the public API, write_eval prints the table the
 * protocol wrote (results.md).
 */
#include "cli.h"
#include "cli_features.h"
#include "cli_mpi.h"
#include "cli_rank.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SPECS 64

static void usage(FILE *out)
{
    fprintf(out,
            "usage: lmmiqa eval --dataset D --features SPEC[,SPEC...] --out DIR [options]\n"
            "\n"
            "Train and test a regressor on every feature combination SPEC (extractor names\n"
            "joined by '+', e.g. brisque or clip-vit-b16+brisque; combinations separated by\n"
            "',' or given in several --features) over every split, and write per-split\n"
            "metrics (PLCC, SROCC, KRCC, RMSE), their mean and std, and the test\n"
            "predictions to DIR: results.md (the paper's table layout), results.csv,\n"
            "results.json, per_split.csv, predictions.csv, splits.json and\n"
            "runs/<spec>/split-<k>.json. A re-run skips finished (spec, split) pairs.\n"
            "\n"
            "  --dataset D          a dataset name (livec, ...) or label file\n"
            "  --image-root DIR     folder the dataset's image names are relative to\n"
            "  --features SPEC,...  feature combinations (repeatable); 'default' alone is the\n"
            "                       built-in model's recipe: its features, head and head\n"
            "                       settings (docs/default-model.md)\n"
            "  --out DIR            results folder\n"
            "  --store DIR          feature store (default $LMMIQA_STORE_DIR/<dataset>, else\n"
            "                       ~/.cache/lmmiqa/features/<dataset>, XDG_CACHE_HOME\n"
            "                       honoured); missing features are extracted first\n"
            "  --splits N           number of splits (default 10); with --grouped, 0 means\n"
            "                       every combination of groups\n"
            "  --seed S             seed of the random splits and base training seed\n"
            "                       (split k trains with S + k - 1; default 1)\n"
            "  --test-frac X        test fraction of random splits (default 0.2)\n"
            "  --val X              validation fraction carved from the training part\n"
            "                       (default 0: train all epochs, keep the last)\n"
            "  --split-file F       use the splits of F (ours or pyiqa's JSON) instead\n"
            "  --grouped K          split by group: K groups in each test part (CID2013: 2)\n"
            "  --mos-range nominal|train  MOS normalisation (default nominal: the\n"
            "                       dataset's scale; train: each training part's min..max)\n"
            "  --no-resume          recompute every split\n"
            "  --train-predictions  also write the training rows' predictions\n"
            "                       (train_predictions.csv; for plot scatter --train)\n"
            "  --jobs N             extraction threads (default: all cores)\n"
            "  --rank-augment N|all train every split with ranking pairs from distorted\n"
            "                       copies of N images (only of its training images;\n"
            "                       see lmmiqa train --help); 0 = off (default)\n"
            "  --rank-lambda X, --rank-margin X   the ranking term's weight and margin\n"
            "  --weights E=FILE     weight file of extractor E (repeatable)\n"
            "  --vocab FILE         clipiqa: CLIP's BPE vocabulary (default: beside its weights)\n"
            "  --prompts FILE       clipiqa: prompt pairs 'POSITIVE | NEGATIVE' (docs/clipiqa.md)\n"
            "  --logit-scale S      clipiqa: softmax scale (default: the checkpoint's, 100)\n"
            "  -q, --quiet          only the final table\n"
            "  --fit-epochs N       epochs of a trainable extractor (cnniqa, metaiqa), trained\n"
            "                       per split on the training rows only (default 2);\n"
            "                       --weights metaiqa=FILE gives MetaIQA's starting weights\n"
            "  --fit-patches N      CNNIQA patches per image per epoch, 0 = all (default 32)\n"
            "  --model-score        also report each trainable extractor's own score (its\n"
            "                       prediction, no regressor) on every split's test rows:\n"
            "                       a third table in results.md, model_scores.csv,\n"
            "                       model_predictions.csv, \"model_scores\" in results.json\n"
            "\n"
            "%s\n"
            "Without --head each spec gets the paper's head: linear for brisque alone,\n"
            "mlp otherwise.\n"
            "Exit codes: 0 ok; 1 bad dataset, splits, features or a failed split (the\n"
            "finished splits are kept); 2 usage error; 3 out of memory or internal error.\n",
            cli_regressor_help);
}

static void on_split(void *user, const lmmiqa_protocol_event *ev)
{
    (void)user;
    if (ev->reused)
        fprintf(stderr, "lmmiqa eval: %s [%s] split %zu/%zu: PLCC %.4f SROCC %.4f (reused)\n",
                ev->spec, lmmiqa_head_name(ev->head), ev->split, ev->n_splits,
                ev->metrics->plcc, ev->metrics->srocc);
    else
        fprintf(stderr, "lmmiqa eval: %s [%s] split %zu/%zu: PLCC %.4f SROCC %.4f (%.1f s)\n",
                ev->spec, lmmiqa_head_name(ev->head), ev->split, ev->n_splits,
                ev->metrics->plcc, ev->metrics->srocc, ev->seconds);
}

static void on_fit_log(void *user, const char *line)
{
    (void)user;
    fprintf(stderr, "lmmiqa eval: %s\n", line);
}

#ifdef LMMIQA_HAVE_MPI
/* The pairs the first pass leaves to the other ranks. */
typedef struct pair_list {
    size_t n, cap;
    size_t *combo, *split;
    char (*name)[512]; /* [n_specs]: each spec as normalised */
} pair_list;

static int collect_pair(void *user, const char *spec, size_t combo, size_t split)
{
    pair_list *t = user;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        size_t *c = realloc(t->combo, cap * sizeof *c);
        if (c)
            t->combo = c;
        size_t *k = realloc(t->split, cap * sizeof *k);
        if (k)
            t->split = k;
        if (!c || !k)
            return 1; /* out of memory: compute it here instead */
        t->cap = cap;
    }
    snprintf(t->name[combo], sizeof t->name[combo], "%s", spec);
    t->combo[t->n] = combo;
    t->split[t->n++] = split;
    return 0;
}

/* Under mpirun: a first pass reuses finished pairs and collects the rest,
 * the other ranks compute those (their result files written here), and a
 * second pass reads every file back and writes the summaries, exactly as a
 * single process does after a resume. */
static int run_distributed(const cli_mpi_ctx *ctx, const lmmiqa_protocol_options *po, int quiet)
{
    pair_list t;
    memset(&t, 0, sizeof t);
    t.name = calloc(ctx->n_specs, sizeof *t.name);
    if (!t.name)
        return lmmiqa_error_set(LMMIQA_ERR_NOMEM, "out of memory");
    lmmiqa_protocol_options first = *po;
    first.select = collect_pair;
    first.select_user = &t;
    int rc = lmmiqa_protocol_run(ctx->ds, ctx->splits, ctx->n_specs, ctx->specs, &first, NULL);
    if (rc == LMMIQA_OK && t.n > 0) {
        const char **names = malloc(ctx->n_specs * sizeof *names);
        if (!names) {
            rc = lmmiqa_error_set(LMMIQA_ERR_NOMEM, "out of memory");
        } else {
            for (size_t c = 0; c < ctx->n_specs; c++)
                names[c] = t.name[c];
            rc = cli_mpi_eval_pairs(ctx, t.n, t.combo, t.split, names, po->out_dir, quiet);
            free(names);
        }
    }
    if (rc == LMMIQA_OK) {
        lmmiqa_protocol_options second = *po;
        second.resume = 1;
        second.progress = NULL;
        rc = lmmiqa_protocol_run(ctx->ds, ctx->splits, ctx->n_specs, ctx->specs, &second, NULL);
    }
    free(t.combo);
    free(t.split);
    free(t.name);
    return rc;
}
#endif

/* --quiet: warnings only. */
static void on_warning(void *user, const char *line)
{
    if (strncmp(line, "warning: ", 9) == 0)
        on_fit_log(user, line);
}

/* The parsed command line. */
typedef struct eval_opts {
    const char *dataset, *image_root, *out, *store, *split_file;
    char *specs_buf[MAX_SPECS]; /* owned */
    const char *specs[MAX_SPECS];
    size_t n_specs;
    long n_splits, grouped;
    double test_frac, val_frac;
    int quiet, use_default, help;
    int served; /* an MPI rank above 0: it computed for rank 0, which writes */
    cli_extractor_opts eo;
    lmmiqa_protocol_options po;
    cli_training_opts tr; /* into po.reg and po.mos_range */
} eval_opts;

static void eval_opts_init(eval_opts *o)
{
    memset(o, 0, sizeof *o);
    o->n_splits = 10;
    o->test_frac = 0.2;
    lmmiqa_protocol_options_init(&o->po);
    o->tr.cfg = &o->po.reg;
    o->tr.mos_range = &o->po.mos_range;
}

static void eval_opts_free(eval_opts *o)
{
    for (size_t c = 0; c < o->n_specs; c++)
        free(o->specs_buf[c]);
    o->n_specs = 0;
}

/* Add the ','-separated specs of one --features value ('default': the
 * built-in model's spec). Returns a CLI exit code. */
static int add_specs(const char *cmd, const char *v, eval_opts *o)
{
    for (const char *s = v;;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (o->n_specs == MAX_SPECS) {
            cli_error(cmd, "too many feature combinations (at most %d)", MAX_SPECS);
            return CLI_EXIT_USAGE;
        }
        char *one = malloc(len + 1);
        if (!one)
            return CLI_EXIT_INTERNAL;
        memcpy(one, s, len);
        one[len] = '\0';
        if (strcmp(one, "default") == 0) {
            /* the built-in model's recipe: its spec, head and settings */
            const char *spec = lmmiqa_scorer_builtin_recipe(NULL, NULL);
            char *r = realloc(one, strlen(spec) + 1);
            if (!r) {
                free(one);
                return CLI_EXIT_INTERNAL;
            }
            one = strcpy(r, spec);
            o->use_default = 1;
        }
        o->specs_buf[o->n_specs] = one;
        o->specs[o->n_specs++] = one;
        if (!cli_check_spec(cmd, "--features", one))
            return CLI_EXIT_USAGE;
        if (!e)
            return CLI_EXIT_OK;
        s = e + 1;
    }
}

/* The options without a value. 1 matched, 0 not one of them. */
static int parse_eval_flag(const char *arg, eval_opts *o)
{
    if (cli_is_help(arg))
        o->help = 1;
    else if (cli_is_quiet(arg))
        o->quiet = 1;
    else if (strcmp(arg, "--no-resume") == 0)
        o->po.resume = 0;
    else if (strcmp(arg, "--train-predictions") == 0)
        o->po.train_predictions = 1;
    else if (strcmp(arg, "--model-score") == 0)
        o->po.model_score = 1;
    else
        return 0;
    return 1;
}

/* The split and per-split fit options: 1 matched, 0 not one of them, -1
 * error (printed). */
static int parse_eval_number(const char *cmd, int argc, char **argv, int *i, eval_opts *o)
{
    const char *v;
    long l;
    int m;
    if ((m = cli_opt_value(cmd, argc, argv, i, "--splits", &v)) != 0)
        return m < 0 || cli_parse_long(cmd, "--splits", v, 0, 100000, &o->n_splits) ? -1 : 1;
    if ((m = cli_opt_value(cmd, argc, argv, i, "--grouped", &v)) != 0)
        return m < 0 || cli_parse_long(cmd, "--grouped", v, 1, 1000, &o->grouped) ? -1 : 1;
    if ((m = cli_opt_value(cmd, argc, argv, i, "--test-frac", &v)) != 0)
        return m < 0 || cli_parse_range(cmd, "--test-frac", v, 0, 1, 1, 1, &o->test_frac) ? -1
                                                                                          : 1;
    if ((m = cli_opt_value(cmd, argc, argv, i, "--val", &v)) != 0)
        return m < 0 || cli_parse_range(cmd, "--val", v, 0, 0, 1, 1, &o->val_frac) ? -1 : 1;
    /* Per-split training of trainable extractors (lmmiqa/protocol.h). */
    if ((m = cli_opt_value(cmd, argc, argv, i, "--fit-epochs", &v)) != 0) {
        if (m < 0 || cli_parse_long(cmd, "--fit-epochs", v, 1, 100000, &l) != 0)
            return -1;
        o->po.fit_epochs = (int)l;
        return 1;
    }
    if ((m = cli_opt_value(cmd, argc, argv, i, "--fit-patches", &v)) != 0) {
        if (m < 0 || cli_parse_long(cmd, "--fit-patches", v, 0, 100000, &l) != 0)
            return -1;
        o->po.fit_patches = (int)l;
        return 1;
    }
    return 0;
}

/* 1 when some spec has a part trained per split. */
static int any_trainable(const char *const *specs, size_t n)
{
    for (size_t c = 0; c < n; c++) {
        lmmiqa_feature_spec sp;
        if (lmmiqa_feature_spec_parse(specs[c], &sp) != LMMIQA_OK)
            continue;
        for (size_t k = 0; k < sp.count; k++)
            if (lmmiqa_protocol_is_trainable(sp.names[k]))
                return 1;
    }
    return 0;
}

/* The checks across options, after the loop. Returns a CLI exit code. */
static int check_eval_opts(const char *cmd, eval_opts *o)
{
    if (!o->dataset || !o->out || o->n_specs == 0) {
        cli_error(cmd, "--dataset, --features and --out are required");
        return CLI_EXIT_USAGE;
    }
    if (o->split_file && o->grouped) {
        cli_error(cmd, "give --split-file or --grouped, not both");
        return CLI_EXIT_USAGE;
    }
    if (!o->grouped && !o->split_file && o->n_splits < 1) {
        cli_error(cmd, "--splits must be at least 1 for random splits");
        return CLI_EXIT_USAGE;
    }
    if (o->po.model_score && !any_trainable(o->specs, o->n_specs)) {
        char known[256] = "";
        for (const char *const *e = lmmiqa_extractor_names(); *e; e++)
            if (lmmiqa_protocol_is_trainable(*e))
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                         known[0] ? ", " : "", *e);
        cli_error(cmd, "--model-score needs a trainable extractor (%s) in --features", known);
        return CLI_EXIT_USAGE;
    }
    if (o->use_default) {
        if (o->n_specs > 1 || o->tr.reg_opts || o->tr.rank_n) {
            cli_error(cmd, "--features default is the built-in model's whole recipe (features, "
                           "head and its settings): give it alone, without other feature "
                           "combinations, regressor options or --rank-* options");
            return CLI_EXIT_USAGE;
        }
        cli_training_default_recipe(&o->tr);
    }
    o->po.force_head = o->tr.head_set;
    o->po.progress = o->quiet ? NULL : on_split;
    return CLI_EXIT_OK;
}

/* Fill o from argv. Returns a CLI exit code; o->help asks for the usage. */
static int parse_eval(const char *cmd, int argc, char **argv, eval_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *v;
        int m;
        if (parse_eval_flag(argv[i], o)) {
            if (o->help)
                return CLI_EXIT_OK;
            continue;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--dataset", &o->dataset)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--image-root", &o->image_root)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--out", &o->out)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--store", &o->store)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--split-file", &o->split_file)) != 0 ||
            (m = cli_parse_extractor_opt(cmd, argc, argv, &i, &o->eo)) != 0 ||
            (m = cli_parse_training_opt(cmd, argc, argv, &i, &o->tr)) != 0 ||
            (m = parse_eval_number(cmd, argc, argv, &i, o)) != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--features", &v)) != 0) {
            int code = m < 0 ? CLI_EXIT_USAGE : add_specs(cmd, v, o);
            if (code != CLI_EXIT_OK)
                return code;
            continue;
        }
        cli_error(cmd, "unexpected argument '%s' (see lmmiqa eval --help)", argv[i]);
        return CLI_EXIT_USAGE;
    }
    return check_eval_opts(cmd, o);
}

/* The dataset's splits as the options ask. Returns a CLI exit code. */
static int load_splits(const char *cmd, const eval_opts *o, const lmmiqa_dataset *ds,
                       lmmiqa_splits **splits)
{
    size_t n = lmmiqa_dataset_size(ds);
    uint64_t seed = o->po.reg.seed;
    int rc;
    if (o->split_file)
        rc = lmmiqa_splits_load_json(o->split_file, n, splits);
    else if (o->grouped)
        rc = lmmiqa_splits_grouped(ds, (size_t)o->grouped, (size_t)o->n_splits, seed, splits);
    else
        rc = lmmiqa_splits_random(n, (size_t)o->n_splits, o->test_frac, o->val_frac, seed,
                                  splits);
    return rc == LMMIQA_OK ? CLI_EXIT_OK : cli_fail_status(cmd, rc);
}

/* Every fixed extractor of the specs once in the store (the trainable ones
 * are built per split by the protocol). */
static int fill_store(const char *cmd, const char *store, const lmmiqa_dataset *ds,
                      const eval_opts *o)
{
    int code = CLI_EXIT_OK;
    for (size_t c = 0; c < o->n_specs && code == CLI_EXIT_OK; c++) {
        lmmiqa_feature_spec sp;
        lmmiqa_feature_spec_parse(o->specs[c], &sp);
        for (size_t k = 0; k < sp.count && code == CLI_EXIT_OK; k++) {
            int seen = 0;
            for (size_t c2 = 0; c2 < c && !seen; c2++) {
                lmmiqa_feature_spec sp2;
                lmmiqa_feature_spec_parse(o->specs[c2], &sp2);
                for (size_t k2 = 0; k2 < sp2.count; k2++)
                    seen |= strcmp(sp2.names[k2], sp.names[k]) == 0;
            }
            if (!seen && !lmmiqa_protocol_is_trainable(sp.names[k])) /* those: per split */
                code = cli_store_ensure(cmd, store, ds, sp.names[k], &o->eo, o->quiet);
        }
    }
    return code;
}

/* Finish the protocol options (store, output, logs, ranking pairs) and run
 * the protocol, spread over the MPI ranks where possible. */
static int run_protocol(const char *cmd, eval_opts *o, const char *store,
                        const lmmiqa_dataset *ds, const lmmiqa_splits *splits,
                        cli_rank_provider *rp)
{
    lmmiqa_protocol_options *po = &o->po;
    po->store_dir = store;
    po->out_dir = o->out;
    po->jobs = o->eo.jobs;
    po->log = o->quiet ? on_warning : on_fit_log;
    for (int w = 0; w < o->eo.n_weights; w++)
        if (strcmp(o->eo.weights_name[w], "metaiqa") == 0)
            po->metaiqa_init = o->eo.weights_file[w];
    if (o->tr.rank_n) {
        rp->cmd = cmd;
        rp->store_dir = store;
        rp->ds = ds;
        rp->eo = &o->eo;
        rp->n_aug = o->tr.rank_n;
        rp->quiet = o->quiet;
        cli_rank_provider_tag(rp, po->reg.rank_lambda, po->reg.rank_margin);
        po->rank_fn = cli_rank_provide;
        po->rank_user = rp;
        po->rank_tag = rp->tag;
    }
    int rc;
#ifdef LMMIQA_HAVE_MPI
    cli_mpi_ctx mctx = {cmd, ds, &o->eo, splits, o->specs, o->n_specs, po};
    if (cli_mpi_workers() > 0 && !o->tr.rank_n &&
        !any_trainable(o->specs, o->n_specs)) /* those run on rank 0 */
        rc = run_distributed(&mctx, po, o->quiet);
    else
#endif
        rc = lmmiqa_protocol_run(ds, splits, o->n_specs, o->specs, po, NULL);
    return rc == LMMIQA_OK ? CLI_EXIT_OK : cli_fail_status(cmd, rc);
}

/* Load the dataset and splits, fill the store, run the protocol (or, on an
 * MPI rank above 0, serve rank 0). Returns a CLI exit code. */
static int run_eval(const char *cmd, eval_opts *o)
{
    lmmiqa_dataset *ds = NULL;
    lmmiqa_splits *splits = NULL;
    cli_rank_provider rp;
    memset(&rp, 0, sizeof rp);
    char store[4096];
    int code = cli_dataset_load(cmd, o->dataset, o->image_root, &ds);
    if (code == CLI_EXIT_OK)
        code = load_splits(cmd, o, ds, &splits);
    if (code != CLI_EXIT_OK)
        goto done;
#ifdef LMMIQA_HAVE_MPI
    if (cli_mpi_rank() > 0) { /* under mpirun: compute what rank 0 hands out */
        if (o->store)
            snprintf(store, sizeof store, "%s", o->store);
        else
            cli_default_store(ds, store, sizeof store);
        o->po.store_dir = store;
        o->po.out_dir = o->out;
        o->po.jobs = o->eo.jobs;
        cli_mpi_ctx mctx = {cmd, ds, &o->eo, splits, o->specs, o->n_specs, &o->po};
        code = cli_mpi_serve(&mctx);
        o->served = 1;
        goto done;
    }
#endif
    code = cli_store_dir(cmd, ds, o->store, o->quiet, store, sizeof store);
    if (code == CLI_EXIT_OK)
        code = fill_store(cmd, store, ds, o);
    if (code == CLI_EXIT_OK)
        code = run_protocol(cmd, o, store, ds, splits, &rp);
done:
    cli_rank_data_free(&rp.data);
    lmmiqa_splits_destroy(splits);
    lmmiqa_dataset_destroy(ds);
    return code;
}

/* The protocol's table on stdout, the results folder on stderr. */
static void write_eval(const eval_opts *o)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/results.md", o->out);
    cli_print_file(path);
    if (!o->quiet)
        fprintf(stderr, "lmmiqa eval: results in %s/\n", o->out);
}

int cmd_eval(int argc, char **argv)
{
    const char *cmd = "eval";
    eval_opts o;
    eval_opts_init(&o);
    int code = parse_eval(cmd, argc, argv, &o);
    if (o.help)
        usage(stdout);
    else if (code == CLI_EXIT_OK)
        code = run_eval(cmd, &o);
    if (code == CLI_EXIT_OK && !o.help && !o.served)
        write_eval(&o);
    eval_opts_free(&o);
    return code;
}
