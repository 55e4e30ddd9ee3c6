/*
 * tools/cli/cli_features.c - helpers shared by extract, score, train and
 * eval (see cli_features.h). The progress bar redraws at most 10 times a
 * second and only when stderr is a terminal, so logs and pipes stay clean.
 */
#include "cli_features.h"

#include "cli.h"
#include "cli_mpi.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* "--weights NAME=FILE" at argv[*i]: 1 matched, 0 not this option, -1
 * error (printed). */
static int parse_weights(const char *cmd, int argc, char **argv, int *i, cli_extractor_opts *eo)
{
    const char *v;
    int m = cli_opt_value(cmd, argc, argv, i, "--weights", &v);
    if (m <= 0)
        return m;
    const char *eq = strchr(v, '=');
    if (!eq || eq == v || !eq[1]) {
        cli_error(cmd, "--weights wants NAME=FILE (e.g. clip-vit-b16=clip.safetensors), got '%s'",
                  v);
        return -1;
    }
    if (eo->n_weights == CLI_MAX_WEIGHTS) {
        cli_error(cmd, "too many --weights options (at most %d)", CLI_MAX_WEIGHTS);
        return -1;
    }
    static char names[CLI_MAX_WEIGHTS][LMMIQA_SPEC_MAX_NAME];
    size_t len = (size_t)(eq - v);
    if (len >= LMMIQA_SPEC_MAX_NAME) {
        cli_error(cmd, "--weights: extractor name too long in '%s'", v);
        return -1;
    }
    memcpy(names[eo->n_weights], v, len);
    names[eo->n_weights][len] = '\0';
    eo->weights_name[eo->n_weights] = names[eo->n_weights];
    eo->weights_file[eo->n_weights] = eq + 1;
    eo->n_weights++;
    return 1;
}

int cli_parse_extractor_opt(const char *cmd, int argc, char **argv, int *i,
                            cli_extractor_opts *eo)
{
    const char *v;
    int m = parse_weights(cmd, argc, argv, i, eo);
    if (m != 0)
        return m;
    if ((m = cli_opt_value(cmd, argc, argv, i, "--jobs", &v)) != 0) {
        long l;
        if (m < 0 || cli_parse_long(cmd, "--jobs", v, 0, 1024, &l) != 0)
            return -1;
        eo->jobs = (int)l;
        return 1;
    }
    if ((m = cli_opt_value(cmd, argc, argv, i, "--vocab", &eo->vocab)) != 0 ||
        (m = cli_opt_value(cmd, argc, argv, i, "--prompts", &eo->prompts)) != 0)
        return m;
    if ((m = cli_opt_value(cmd, argc, argv, i, "--logit-scale", &v)) != 0) {
        char *end = NULL;
        double d = m > 0 ? strtod(v, &end) : 0;
        if (m < 0 || !end || *end || !(d > 0 && d <= 1e4)) {
            if (m > 0)
                cli_error(cmd, "--logit-scale wants a number in (0, 10000], got '%s'", v);
            return -1;
        }
        eo->logit_scale = d;
        return 1;
    }
    return 0;
}

const char cli_extractor_help[] =
    "  --weights E=FILE       weight file of extractor E (repeatable); clipiqa uses\n"
    "                         clip-vit-b16's when it has none of its own\n"
    "  -j, --jobs N           worker threads (default: all cores)\n"
    "  --vocab FILE           clipiqa: CLIP's BPE vocabulary (vocab.json, or\n"
    "                         bpe_simple_vocab_16e6.txt.gz; default: beside the weights)\n"
    "  --prompts FILE         clipiqa: antonym pairs 'POSITIVE | NEGATIVE', one a line\n"
    "                         (default: CLIP-IQA's, docs/clipiqa.md)\n"
    "  --logit-scale S        clipiqa: softmax scale (default: the checkpoint's, 100)\n";

int cli_check_spec(const char *cmd, const char *opt, const char *spec)
{
    lmmiqa_feature_spec sp;
    if (lmmiqa_feature_spec_parse(spec, &sp) != LMMIQA_OK) {
        cli_error(cmd, "%s: %s", opt, lmmiqa_error_message());
        return 0;
    }
    for (size_t k = 0; k < sp.count; k++)
        if (!cli_check_extractor_name(cmd, sp.names[k]))
            return 0;
    return 1;
}

int cli_check_extractor_name(const char *cmd, const char *name)
{
    const char *const *names = lmmiqa_extractor_names();
    char known[512] = "";
    for (size_t k = 0; names[k]; k++) {
        if (strcmp(names[k], name) == 0)
            return 1;
        strncat(known, k ? ", " : "", sizeof known - strlen(known) - 1);
        strncat(known, names[k], sizeof known - strlen(known) - 1);
    }
    cli_error(cmd, "unknown extractor '%s' (known: %s)", name, known);
    return 0;
}

int cli_extractor_create(const char *cmd, const char *name, const cli_extractor_opts *eo,
                         lmmiqa_extractor **out)
{
    *out = NULL;
    if (!cli_check_extractor_name(cmd, name))
        return CLI_EXIT_USAGE;
    lmmiqa_extractor_options o = {.size = sizeof o};
    o.threads = 1; /* parallelism comes from one worker per image */
    for (int k = 0; k < eo->n_weights; k++)
        if (strcmp(eo->weights_name[k], name) == 0)
            o.weights = eo->weights_file[k];
    if (!o.weights && strcmp(name, "clipiqa") == 0)
        for (int k = 0; k < eo->n_weights; k++)
            if (strcmp(eo->weights_name[k], "clip-vit-b16") == 0)
                o.weights = eo->weights_file[k];
    o.vocab = eo->vocab;
    o.prompts = eo->prompts;
    o.logit_scale = eo->logit_scale;
    int rc = lmmiqa_extractor_create(name, &o, out);
    if (rc != LMMIQA_OK)
        return cli_fail_status(cmd, rc);
    return CLI_EXIT_OK;
}

int cli_dataset_load(const char *cmd, const char *name, const char *image_root,
                     lmmiqa_dataset **out)
{
    lmmiqa_dataset_options o;
    lmmiqa_dataset_options_init(&o);
    o.image_root = image_root;
    int rc = lmmiqa_dataset_load_ex(name, &o, out);
    if (rc != LMMIQA_OK)
        return cli_fail_status(cmd, rc);
    return CLI_EXIT_OK;
}

int cli_train_rows_select(const char *cmd, const lmmiqa_dataset *ds, const char *split_file,
                          long k, cli_train_rows *r)
{
    memset(r, 0, sizeof *r);
    size_t n = lmmiqa_dataset_size(ds);
    if (!split_file) {
        r->all = malloc((n ? n : 1) * sizeof *r->all);
        if (!r->all) {
            cli_error(cmd, "out of memory");
            return CLI_EXIT_INTERNAL;
        }
        for (size_t i = 0; i < n; i++)
            r->all[i] = i;
        r->train = r->all;
        r->n_train = n;
        return CLI_EXIT_OK;
    }
    int rc = lmmiqa_splits_load_json(split_file, n, &r->splits);
    if (rc != LMMIQA_OK)
        return cli_fail_status(cmd, rc);
    if ((size_t)k > lmmiqa_splits_count(r->splits)) {
        cli_error(cmd, "%s has %zu splits, --split %ld asked for", split_file,
                  lmmiqa_splits_count(r->splits), k);
        return CLI_EXIT_FAILURE;
    }
    const lmmiqa_split *sp = lmmiqa_splits_get(r->splits, (size_t)k - 1);
    r->train = sp->train;
    r->n_train = sp->n_train;
    r->val = sp->val;
    r->n_val = sp->n_val;
    return CLI_EXIT_OK;
}

void cli_train_rows_free(cli_train_rows *r)
{
    lmmiqa_splits_destroy(r->splits);
    free(r->all);
    memset(r, 0, sizeof *r);
}

void cli_default_store(const lmmiqa_dataset *ds, char *buf, size_t cap)
{
    const char *env = getenv("LMMIQA_STORE_DIR");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (env && *env)
        snprintf(buf, cap, "%s/%s", env, lmmiqa_dataset_name(ds));
    else if (xdg && *xdg)
        snprintf(buf, cap, "%s/lmmiqa/features/%s", xdg, lmmiqa_dataset_name(ds));
    else if (home && *home)
        snprintf(buf, cap, "%s/.cache/lmmiqa/features/%s", home, lmmiqa_dataset_name(ds));
    else
        snprintf(buf, cap, "lmmiqa-features/%s", lmmiqa_dataset_name(ds));
}

int cli_store_dir(const char *cmd, const lmmiqa_dataset *ds, const char *given, int quiet,
                  char *buf, size_t cap)
{
    if (given) {
        snprintf(buf, cap, "%s", given);
        return CLI_EXIT_OK;
    }
    cli_default_store(ds, buf, cap);
    struct stat st;
    int fresh = stat(buf, &st) != 0;
    int code = cli_mkdir_parents(cmd, buf);
    if (code == CLI_EXIT_OK && fresh && !quiet)
        fprintf(stderr, "lmmiqa %s: feature store %s (new; %s DIR or LMMIQA_STORE_DIR to "
                        "change)\n",
                cmd, buf, strcmp(cmd, "extract") == 0 ? "--output" : "--store");
    return code;
}

void cli_progress_init(cli_progress *p, const char *cmd, const char *label)
{
    memset(p, 0, sizeof *p);
    p->cmd = cmd;
    p->label = label;
    p->tty = isatty(STDERR_FILENO);
    p->plain = !p->tty;
    p->interval = 10.0;
    const char *env = getenv("LMMIQA_PROGRESS_SECONDS");
    if (env && *env) {
        double v = strtod(env, NULL);
        if (v >= 0 && v < 1e6)
            p->interval = v;
    }
    p->last = cli_now_s();
}

static void eta_text(const lmmiqa_store_progress *pr, char *eta, size_t cap, double *rate)
{
    size_t fresh = pr->computed + pr->failed;
    *rate = pr->elapsed_s > 0 ? (double)fresh / pr->elapsed_s : 0.0;
    snprintf(eta, cap, "--:--");
    if (fresh > 0 && pr->done < pr->total && pr->elapsed_s > 0) {
        double left = (double)(pr->total - pr->done) / *rate;
        snprintf(eta, cap, "%d:%02d", (int)(left / 60), (int)left % 60);
    }
}

void cli_progress_cb(void *user, const lmmiqa_store_progress *pr)
{
    cli_progress *p = user;
    double t = cli_now_s();
    if (!p->tty) {
        if (!p->plain || pr->done >= pr->total || t - p->last < p->interval)
            return;
        p->last = t;
        char eta[32];
        double rate;
        eta_text(pr, eta, sizeof eta, &rate);
        fprintf(stderr, "lmmiqa %s: %s: %zu/%zu (%.0f%%), %zu reused, %zu failed, %.1f img/s, ETA %s\n",
                p->cmd, p->label, pr->done, pr->total,
                pr->total ? 100.0 * (double)pr->done / (double)pr->total : 100.0, pr->reused,
                pr->failed, rate, eta);
        fflush(stderr);
        return;
    }
    if (pr->done < pr->total && t - p->last < 0.1)
        return;
    p->last = t;
    int width = 30;
    int fill = pr->total ? (int)((double)width * (double)pr->done / (double)pr->total) : width;
    char bar[64];
    for (int k = 0; k < width; k++)
        bar[k] = k < fill ? '#' : '.';
    bar[width] = '\0';
    char eta[32];
    double rate;
    eta_text(pr, eta, sizeof eta, &rate);
    fprintf(stderr, "\r%s [%s] %zu/%zu  reused %zu  failed %zu  %.1f img/s  ETA %s  ",
            p->label, bar, pr->done, pr->total, pr->reused, pr->failed, rate, eta);
    fflush(stderr);
    p->drawn = 1;
}

void cli_progress_done(cli_progress *p)
{
    if (p->drawn)
        fputc('\n', stderr);
    p->drawn = 0;
}

void cli_store_error_cb(void *user, size_t row, const char *image, int status,
                        const char *message)
{
    cli_progress *p = user;
    (void)row;
    (void)image;
    (void)status;
    /* Do not write over the progress bar: finish its line first. */
    if (p->drawn) {
        fputc('\n', stderr);
        p->drawn = 0;
    }
    if (p->errors < CLI_MAX_ERRORS_SHOWN)
        cli_error(p->cmd, "%s", message);
    else if (p->errors == CLI_MAX_ERRORS_SHOWN)
        cli_error(p->cmd, "(further failures not shown)");
    p->errors++;
}

void cli_store_warning_cb(void *user, const char *message)
{
    cli_progress *p = user;
    if (p->drawn) {
        fputc('\n', stderr);
        p->drawn = 0;
    }
    cli_error(p->cmd, "warning: %s", message);
}

int cli_store_ensure(const char *cmd, const char *store_dir, const lmmiqa_dataset *ds,
                     const char *spec, const cli_extractor_opts *eo, int quiet)
{
    lmmiqa_feature_spec sp;
    int rc = lmmiqa_feature_spec_parse(spec, &sp);
    if (rc != LMMIQA_OK) {
        cli_error(cmd, "%s", lmmiqa_error_message());
        return CLI_EXIT_USAGE;
    }
    for (size_t k = 0; k < sp.count; k++) {
        lmmiqa_extractor *ex = NULL;
        int code = cli_extractor_create(cmd, sp.names[k], eo, &ex);
        if (code != CLI_EXIT_OK)
            return code;
        cli_progress prog;
        cli_progress_init(&prog, cmd, sp.names[k]);
        if (quiet)
            prog.tty = prog.plain = 0;
        lmmiqa_store_options o;
        lmmiqa_store_options_init(&o);
        o.jobs = eo->jobs;
        o.progress = cli_progress_cb;
        o.on_error = cli_store_error_cb;
        o.on_warning = cli_store_warning_cb;
        o.user = &prog;
#ifdef LMMIQA_HAVE_MPI
        /* Under mpirun the other ranks compute the missing rows; this rank
         * hashes, reuses and writes as always. */
        cli_mpi_extract mx = {cmd, sp.names[k], lmmiqa_extractor_dim(ex), quiet};
        if (cli_mpi_workers() > 0) {
            o.compute = cli_mpi_store_compute;
            o.compute_user = &mx;
        }
#endif
        lmmiqa_store_progress res;
        rc = lmmiqa_store_build_dataset(store_dir, ex, ds, &o, &res);
        cli_progress_done(&prog);
        if (!quiet || rc != LMMIQA_OK)
            fprintf(stderr, "lmmiqa %s: %s: %zu images, %zu reused, %zu computed, %zu failed in %.1f s",
                    cmd, sp.names[k], res.total, res.reused, res.computed, res.failed,
                    res.elapsed_s);
        if (rc == LMMIQA_OK && !quiet)
            fprintf(stderr, " -> %s/%s.npy\n", store_dir, sp.names[k]);
        else if (rc != LMMIQA_OK)
            fprintf(stderr, "%s\n", res.computed ? " (kept in the journal)" : "");
        lmmiqa_extractor_destroy(ex);
        if (rc != LMMIQA_OK)
            return cli_fail_status(cmd, rc);
    }
    return CLI_EXIT_OK;
}

int cli_store_compute(const char *cmd, const char *label, const lmmiqa_extractor *ex, int n,
                      char **images, const cli_extractor_opts *eo, int report_errors,
                      double *feat, int *status, lmmiqa_store_progress *result)
{
    cli_progress prog;
    cli_progress_init(&prog, cmd, label);
    prog.tty = prog.tty && n >= 20; /* a bar is noise for a handful of images */
    lmmiqa_store_options o;
    lmmiqa_store_options_init(&o);
    o.jobs = eo->jobs;
    o.progress = cli_progress_cb;
    o.on_error = report_errors ? cli_store_error_cb : NULL;
    o.user = &prog;
    int rc = lmmiqa_store_compute(ex, (size_t)n, (const char *const *)images, &o, feat, status,
                                  result);
    cli_progress_done(&prog);
    return rc;
}

void cli_csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

const char cli_regressor_help[] =
    "Regressor options (defaults: docs/regressor.md):\n"
    "  --head mlp|linear|svr   the head (eval default: linear for 'brisque' alone, else mlp)\n"
    "  --epochs N              training epochs\n"
    "  --lr X                  Adam learning rate\n"
    "  --batch N               mini-batch size\n"
    "  --hidden N              MLP hidden width\n"
    "  --dropout X             dropout after the hidden layer (0 = off)\n"
    "  --weight-decay X        L2 penalty (0 = off)\n"
    "  --standardize 0|1       z-score features with training statistics\n"
    "  --svr-c X, --svr-epsilon X, --svr-gamma X   SVR head settings\n"
    "  --threads N             BLAS threads for training (default 1: fastest for these\n"
    "                          small heads, results independent of the machine; 0 =\n"
    "                          OpenBLAS's default)\n";

int cli_parse_regressor_opt(const char *cmd, int argc, char **argv, int *i,
                            lmmiqa_regressor_config *cfg, int *head_set)
{
    const char *v;
    int m;
    long l;
    double d;
    if ((m = cli_opt_value(cmd, argc, argv, i, "--head", &v)) != 0) {
        if (m < 0)
            return -1;
        int h = lmmiqa_head_parse(v);
        if (h < 0) {
            cli_error(cmd, "--head: '%s' is not mlp, linear or svr", v);
            return -1;
        }
        cfg->head = (lmmiqa_head)h;
        *head_set = 1;
        return 1;
    }
    /* Ranges mirror the library's checks, so a bad value is a usage error
     * (exit 2) here rather than a processing failure later. */
    static const struct {
        const char *name;
        int kind; /* 0 int, 1 double */
        double lo, hi;
        int lo_open, hi_open;
    } opts[] = {{"--epochs", 0, 1, 100000, 0, 0},
                {"--lr", 1, 0, HUGE_VAL, 1, 1},
                {"--batch", 0, 1, 1 << 20, 0, 0},
                {"--hidden", 0, 1, 1 << 16, 0, 0},
                {"--dropout", 1, 0, 1, 0, 1},
                {"--weight-decay", 1, 0, HUGE_VAL, 0, 1},
                {"--standardize", 0, 0, 1, 0, 0},
                {"--svr-c", 1, 0, HUGE_VAL, 1, 1},
                {"--svr-epsilon", 1, 0, HUGE_VAL, 0, 1},
                {"--svr-gamma", 1, 0, HUGE_VAL, 0, 1},
                {"--threads", 0, 0, 1024, 0, 0}};
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        m = cli_opt_value(cmd, argc, argv, i, opts[k].name, &v);
        if (m == 0)
            continue;
        if (m < 0)
            return -1;
        if (opts[k].kind == 0) {
            if (cli_parse_long(cmd, opts[k].name, v, (long)opts[k].lo, (long)opts[k].hi, &l) != 0)
                return -1;
        } else if (cli_parse_range(cmd, opts[k].name, v, opts[k].lo, opts[k].lo_open, opts[k].hi,
                                   opts[k].hi_open, &d) != 0) {
            return -1;
        }
        switch (k) {
        case 0: cfg->epochs = (int)l; break;
        case 1: cfg->learning_rate = d; break;
        case 2: cfg->batch_size = (int)l; break;
        case 3: cfg->hidden = (int)l; break;
        case 4: cfg->dropout = d; break;
        case 5: cfg->weight_decay = d; break;
        case 6: cfg->standardize = (int)l; break;
        case 7: cfg->svr_c = d; break;
        case 8: cfg->svr_epsilon = d; break;
        case 9: cfg->svr_gamma = d; break;
        default: cfg->threads = (int)l; break;
        }
        return 1;
    }
    return 0;
}

int cli_parse_mos_range(const char *cmd, const char *s, lmmiqa_mos_range *out)
{
    if (strcmp(s, "nominal") == 0)
        *out = LMMIQA_MOS_RANGE_NOMINAL;
    else if (strcmp(s, "train") == 0)
        *out = LMMIQA_MOS_RANGE_TRAIN;
    else {
        cli_error(cmd, "--mos-range: '%s' is not nominal or train", s);
        return -1;
    }
    return 0;
}
