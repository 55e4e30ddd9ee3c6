/*
 * tools/cli/cmd_eval.c - `lmmiqa eval`: the paper's protocol over feature
 * combinations and splits (include/lmmiqa/protocol.h), with the features
 * taken from (and, when missing, extracted into) the feature store.
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

/* 1 when no spec has a part trained per split (those run on rank 0). */
static int all_fixed(const char *const *specs, size_t n)
{
    for (size_t c = 0; c < n; c++) {
        lmmiqa_feature_spec sp;
        if (lmmiqa_feature_spec_parse(specs[c], &sp) != LMMIQA_OK)
            return 0;
        for (size_t k = 0; k < sp.count; k++)
            if (lmmiqa_protocol_is_trainable(sp.names[k]))
                return 0;
    }
    return 1;
}
#endif

/* --quiet: warnings only. */
static void on_warning(void *user, const char *line)
{
    if (strncmp(line, "warning: ", 9) == 0)
        on_fit_log(user, line);
}

int cmd_eval(int argc, char **argv)
{
    const char *cmd = "eval";
    const char *dataset = NULL, *image_root = NULL, *out = NULL, *store_opt = NULL;
    const char *split_file = NULL;
    char *specs_buf[MAX_SPECS];
    const char *specs[MAX_SPECS];
    size_t n_specs = 0;
    long n_splits = 10, grouped = 0;
    uint64_t seed = 1;
    double test_frac = 0.2, val_frac = 0.0;
    cli_extractor_opts eo = {0};
    lmmiqa_protocol_options po;
    lmmiqa_protocol_options_init(&po);
    int head_set = 0, quiet = 0, code = CLI_EXIT_OK, reg_opts = 0, use_default = 0;
    size_t rank_n = 0;
    cli_rank_provider rp;
    memset(&rp, 0, sizeof rp);
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
        if (strcmp(argv[i], "--no-resume") == 0) {
            po.resume = 0;
            continue;
        }
        if (strcmp(argv[i], "--train-predictions") == 0) {
            po.train_predictions = 1;
            continue;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--dataset", &dataset)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--image-root", &image_root)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--out", &out)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--store", &store_opt)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--split-file", &split_file)) != 0 ||
            (m = cli_parse_extractor_opt(cmd, argc, argv, &i, &eo)) != 0 ||
            (m = cli_parse_extractor_opt(cmd, argc, argv, &i, &eo)) != 0) {
            if (m < 0)
                goto usage_error;
            continue;
        }
        if ((m = cli_parse_regressor_opt(cmd, argc, argv, &i, &po.reg, &head_set)) != 0) {
            if (m < 0)
                goto usage_error;
            reg_opts = 1;
            continue;
        }
        if ((m = cli_parse_rank_augment(cmd, argc, argv, &i, &rank_n)) != 0) {
            if (m < 0)
                goto usage_error;
            continue;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--rank-lambda", &v)) != 0) {
            if (m < 0 || cli_parse_range(cmd, "--rank-lambda", v,
                                         0, 0, HUGE_VAL, 1, &po.reg.rank_lambda) != 0)
                goto usage_error;
            reg_opts = 1;
            continue;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--rank-margin", &v)) != 0) {
            if (m < 0 || cli_parse_range(cmd, "--rank-margin", v,
                                         0, 0, 1, 0, &po.reg.rank_margin) != 0)
                goto usage_error;
            reg_opts = 1;
            continue;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--features", &v)) != 0) {
            if (m < 0)
                goto usage_error;
            /* Split on ',' into separate specs. */
            const char *s = v;
            for (;;) {
                const char *e = strchr(s, ',');
                size_t len = e ? (size_t)(e - s) : strlen(s);
                if (n_specs == MAX_SPECS) {
                    cli_error(cmd, "too many feature combinations (at most %d)", MAX_SPECS);
                    goto usage_error;
                }
                char *one = malloc(len + 1);
                if (!one) {
                    code = CLI_EXIT_INTERNAL;
                    goto done;
                }
                memcpy(one, s, len);
                one[len] = '\0';
                if (strcmp(one, "default") == 0) {
                    /* the built-in model's recipe: its spec, head and settings */
                    const char *spec = lmmiqa_scorer_builtin_recipe(NULL, NULL);
                    char *r = realloc(one, strlen(spec) + 1);
                    if (!r) {
                        free(one);
                        code = CLI_EXIT_INTERNAL;
                        goto done;
                    }
                    one = strcpy(r, spec);
                    use_default = 1;
                }
                specs_buf[n_specs] = one;
                specs[n_specs++] = one;
                if (!cli_check_spec(cmd, "--features", one))
                    goto usage_error;
                if (!e)
                    break;
                s = e + 1;
            }
            continue;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--splits", &v)) != 0) {
            if (m < 0 || cli_parse_long(cmd, "--splits", v, 0, 100000, &n_splits) != 0)
                goto usage_error;
            continue;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--grouped", &v)) != 0) {
            if (m < 0 || cli_parse_long(cmd, "--grouped", v, 1, 1000, &grouped) != 0)
                goto usage_error;
            continue;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--seed", &v)) != 0) {
            long l;
            if (m < 0 || cli_parse_long(cmd, "--seed", v, 0, 0x7fffffffL, &l) != 0)
                goto usage_error;
            seed = (uint64_t)l;
            continue;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--test-frac", &v)) != 0) {
            if (m < 0 || cli_parse_range(cmd, "--test-frac", v, 0, 1, 1, 1, &test_frac) != 0)
                goto usage_error;
            continue;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--val", &v)) != 0) {
            if (m < 0 || cli_parse_range(cmd, "--val", v, 0, 0, 1, 1, &val_frac) != 0)
                goto usage_error;
            continue;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--mos-range", &v)) != 0) {
            if (m < 0 || cli_parse_mos_range(cmd, v, &po.mos_range) != 0)
                goto usage_error;
            continue;
        }
        /* Per-split training of trainable extractors (lmmiqa/protocol.h). */
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--fit-epochs", &v)) != 0) {
            long l;
            if (m < 0 || cli_parse_long(cmd, "--fit-epochs", v, 1, 100000, &l) != 0)
                goto usage_error;
            po.fit_epochs = (int)l;
            continue;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--fit-patches", &v)) != 0) {
            long l;
            if (m < 0 || cli_parse_long(cmd, "--fit-patches", v, 0, 100000, &l) != 0)
                goto usage_error;
            po.fit_patches = (int)l;
            continue;
        }
        cli_error(cmd, "unexpected argument '%s' (see lmmiqa eval --help)", argv[i]);
        goto usage_error;
    }
    if (!dataset || !out || n_specs == 0) {
        cli_error(cmd, "--dataset, --features and --out are required");
        goto usage_error;
    }
    if (split_file && grouped) {
        cli_error(cmd, "give --split-file or --grouped, not both");
        goto usage_error;
    }
    if (!grouped && !split_file && n_splits < 1) {
        cli_error(cmd, "--splits must be at least 1 for random splits");
        goto usage_error;
    }
    if (use_default) {
        if (n_specs > 1 || reg_opts || rank_n) {
            cli_error(cmd, "--features default is the built-in model's whole recipe (features, "
                           "head and its settings): give it alone, without other feature "
                           "combinations, regressor options or --rank-* options");
            goto usage_error;
        }
        lmmiqa_scorer_builtin_recipe(&po.reg, &rank_n);
        head_set = 1;
    }
    po.reg.seed = seed;
    po.force_head = head_set;
    po.progress = quiet ? NULL : on_split;

    lmmiqa_dataset *ds = NULL;
    lmmiqa_splits *splits = NULL;
    code = cli_dataset_load(cmd, dataset, image_root, &ds);
    if (code != CLI_EXIT_OK)
        goto done;
    size_t n = lmmiqa_dataset_size(ds);
    int rc;
    if (split_file)
        rc = lmmiqa_splits_load_json(split_file, n, &splits);
    else if (grouped)
        rc = lmmiqa_splits_grouped(ds, (size_t)grouped, (size_t)n_splits, seed, &splits);
    else
        rc = lmmiqa_splits_random(n, (size_t)n_splits, test_frac, val_frac, seed, &splits);
    if (rc != LMMIQA_OK) {
        code = cli_fail_status(cmd, rc);
        goto done_ds;
    }
    char store[4096];
#ifdef LMMIQA_HAVE_MPI
    cli_mpi_ctx mctx = {cmd, ds, &eo, splits, specs, n_specs, &po};
    if (cli_mpi_rank() > 0) { /* under mpirun: compute what rank 0 hands out */
        if (store_opt)
            snprintf(store, sizeof store, "%s", store_opt);
        else
            cli_default_store(ds, store, sizeof store);
        po.store_dir = store;
        po.out_dir = out;
        po.jobs = eo.jobs;
        code = cli_mpi_serve(&mctx);
        goto done_splits;
    }
#endif
    code = cli_store_dir(cmd, ds, store_opt, quiet, store, sizeof store);
    /* Every extractor once, even when several specs share it. */
    for (size_t c = 0; c < n_specs && code == CLI_EXIT_OK; c++) {
        lmmiqa_feature_spec sp;
        lmmiqa_feature_spec_parse(specs[c], &sp);
        for (size_t k = 0; k < sp.count && code == CLI_EXIT_OK; k++) {
            int seen = 0;
            for (size_t c2 = 0; c2 < c && !seen; c2++) {
                lmmiqa_feature_spec sp2;
                lmmiqa_feature_spec_parse(specs[c2], &sp2);
                for (size_t k2 = 0; k2 < sp2.count; k2++)
                    seen |= strcmp(sp2.names[k2], sp.names[k]) == 0;
            }
            if (!seen && !lmmiqa_protocol_is_trainable(sp.names[k])) /* those: per split */
                code = cli_store_ensure(cmd, store, ds, sp.names[k], &eo, quiet);
        }
    }
    if (code != CLI_EXIT_OK)
        goto done_splits;
    po.store_dir = store;
    po.out_dir = out;
    po.jobs = eo.jobs;
    po.log = quiet ? on_warning : on_fit_log;
    for (int w = 0; w < eo.n_weights; w++)
        if (strcmp(eo.weights_name[w], "metaiqa") == 0)
            po.metaiqa_init = eo.weights_file[w];
    if (rank_n) {
        rp.cmd = cmd;
        rp.store_dir = store;
        rp.ds = ds;
        rp.eo = &eo;
        rp.n_aug = rank_n;
        rp.quiet = quiet;
        cli_rank_provider_tag(&rp, po.reg.rank_lambda, po.reg.rank_margin);
        po.rank_fn = cli_rank_provide;
        po.rank_user = &rp;
        po.rank_tag = rp.tag;
    }
#ifdef LMMIQA_HAVE_MPI
    if (cli_mpi_workers() > 0 && !rank_n && all_fixed(specs, n_specs))
        rc = run_distributed(&mctx, &po, quiet);
    else
#endif
        rc = lmmiqa_protocol_run(ds, splits, n_specs, specs, &po, NULL);
    if (rc != LMMIQA_OK) {
        code = cli_fail_status(cmd, rc);
        goto done_splits;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/results.md", out);
    cli_print_file(path);
    if (!quiet)
        fprintf(stderr, "lmmiqa eval: results in %s/\n", out);
done_splits:
    cli_rank_data_free(&rp.data);
    lmmiqa_splits_destroy(splits);
done_ds:
    lmmiqa_dataset_destroy(ds);
done:
    for (size_t c = 0; c < n_specs; c++)
        free(specs_buf[c]);
    return code;
usage_error:
    code = CLI_EXIT_USAGE;
    goto done;
}
