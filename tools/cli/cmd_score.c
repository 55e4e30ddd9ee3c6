/*
 * tools/cli/cmd_score.c - `lmmiqa score`: quality scores of image files.
 *
 * Four models: a trained regressor (--model, written by `lmmiqa train`; its
 * metadata names the feature spec, and the features are computed on the fly
 * with those extractors), the classic BRISQUE SVR (--brisque-model +
 * --brisque-range, libsvm files), CLIP-IQA zero-shot (--zero-shot clip: the
 * first prompt pair of the clipiqa extractor, no trained head), or, with
 * none, the default model built into the binary (BRISQUE features + MLP
 * trained on LIVE Challenge).
 */
#include "cli.h"
#include "cli_features.h"
#include "default_model.h"

#include "lmmiqa/svr.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: lmmiqa score [--model M | --brisque-model MODEL --brisque-range RANGE |\n"
            "                     --zero-shot clip] [--output FILE|-] [--jobs N]\n"
            "                    [--weights E=FILE] IMAGE...\n"
            "\n"
            "Predict the quality of each image; prints CSV 'image,score' (to stdout unless\n"
            "--output FILE).\n"
            "\n"
            "  (no model option)      the built-in default model: BRISQUE features + MLP\n"
            "                         trained on all of LIVE Challenge; score on its MOS\n"
            "                         scale 0..100, higher = better (docs/protocol.md)\n"
            "  --model M              a model written by `lmmiqa train`: its features are\n"
            "                         computed with the extractors it names; score on the\n"
            "                         training dataset's MOS scale\n"
            "  --brisque-model MODEL  the classic BRISQUE: a libsvm model (e.g.\n"
            "  --brisque-range RANGE  ../shared/models/brisque-live/allmodel + allrange);\n"
            "                         lower = better, about 0..100\n"
            "  --matlab-io            with --brisque-model: reproduce the MATLAB release's\n"
            "                         text round trips bit for bit\n"
            "  --zero-shot clip       CLIP-IQA: softmax probability of \"Good photo.\" over\n"
            "                         \"Bad photo.\" (or the first --prompts pair), 0..1,\n"
            "                         higher = better; needs --weights clipiqa=FILE, a CLIP\n"
            "                         checkpoint with its text tower (docs/clipiqa.md)\n"
            "  --output FILE|-        where the CSV goes (default -, stdout)\n"
            "%s"
            "\n"
            "A bad image is reported on stderr and left out; the others are scored.\n"
            "Exit codes: 0 ok; 1 an image or the model failed (the others are still\n"
            "printed); 2 usage error; 3 out of memory or internal error.\n",
            cli_extractor_help);
}

/* Features of every image for every part of `spec`, concatenated: x is
 * n x dim float32; ok[i] = 0 for an image that failed in any extractor. */
static int compute_spec(const char *cmd, const char *spec, const cJSON *info,
                        const cli_extractor_opts *eo, int n, char **images, size_t want_dim,
                        float **x_out, int *ok)
{
    lmmiqa_feature_spec sp;
    if (lmmiqa_feature_spec_parse(spec, &sp) != LMMIQA_OK) {
        cli_error(cmd, "model metadata: %s", lmmiqa_error_message());
        return CLI_EXIT_FAILURE;
    }
    float *x = calloc((size_t)n * (want_dim ? want_dim : 1), sizeof *x);
    if (!x)
        return CLI_EXIT_INTERNAL;
    for (int i = 0; i < n; i++)
        ok[i] = 1;
    size_t off = 0;
    int code = CLI_EXIT_OK;
    for (size_t k = 0; k < sp.count && code == CLI_EXIT_OK; k++) {
        lmmiqa_extractor *ex = NULL;
        code = cli_extractor_create(cmd, sp.names[k], eo, &ex);
        if (code != CLI_EXIT_OK) {
            if (code == CLI_EXIT_USAGE)
                code = CLI_EXIT_FAILURE; /* the model names it, not the user */
            break;
        }
        size_t dim = lmmiqa_extractor_dim(ex);
        const cJSON *pi = cJSON_GetArrayItem(info, (int)k);
        if (pi) {
            const char *ver = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pi, "version"));
            const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(pi, "config");
            cJSON *now = cJSON_Parse(lmmiqa_extractor_config_json(ex));
            if ((ver && strcmp(ver, lmmiqa_extractor_version(ex)) != 0) ||
                (cfg && now && !cJSON_Compare(cfg, now, 1)))
                cli_error(cmd,
                          "warning: the model was trained on %s features of another version "
                          "or configuration (%s); scores may be off",
                          sp.names[k], ver ? ver : "?");
            cJSON_Delete(now);
        }
        if (off + dim > want_dim) {
            cli_error(cmd, "the model expects %zu features but %s adds up to %zu", want_dim, spec,
                      off + dim);
            lmmiqa_extractor_destroy(ex);
            code = CLI_EXIT_FAILURE;
            break;
        }
        double *f = malloc((size_t)n * dim * sizeof *f);
        int *st = malloc((size_t)n * sizeof *st);
        if (!f || !st) {
            free(f);
            free(st);
            lmmiqa_extractor_destroy(ex);
            code = CLI_EXIT_INTERNAL;
            break;
        }
        /* Report each bad image once, from the first extractor. */
        int rc = cli_store_compute(cmd, sp.names[k], ex, n, images, eo, k == 0, f, st, NULL);
        if (rc == LMMIQA_ERR_NOMEM || rc == LMMIQA_ERR_INTERNAL)
            code = cli_fail_status(cmd, rc);
        for (int i = 0; i < n; i++) {
            if (st[i] != LMMIQA_OK) {
                if (ok[i] && k > 0)
                    cli_error(cmd, "%s: extractor %s failed", images[i], sp.names[k]);
                ok[i] = 0;
                continue;
            }
            for (size_t d = 0; d < dim; d++)
                x[(size_t)i * want_dim + off + d] = (float)f[(size_t)i * dim + d];
        }
        off += dim;
        free(f);
        free(st);
        lmmiqa_extractor_destroy(ex);
    }
    if (code == CLI_EXIT_OK && off != want_dim) {
        cli_error(cmd, "the model expects %zu features, %s gives %zu", want_dim, spec, off);
        code = CLI_EXIT_FAILURE;
    }
    if (code != CLI_EXIT_OK) {
        free(x);
        return code;
    }
    *x_out = x;
    return CLI_EXIT_OK;
}

static FILE *open_output(const char *cmd, const char *output)
{
    if (strcmp(output, "-") == 0)
        return stdout;
    FILE *f = fopen(output, "w");
    if (!f)
        cli_error(cmd, "%s: cannot create", output);
    return f;
}

static int close_output(const char *cmd, const char *output, FILE *f)
{
    int bad = fflush(f) != 0 || ferror(f);
    if (f != stdout)
        bad |= fclose(f) != 0;
    if (bad) {
        cli_error(cmd, "%s: write failed", output);
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

static int score_regressor(const char *cmd, const lmmiqa_regressor *reg, const char *model_name,
                           const cli_extractor_opts *eo, const char *output, int n, char **images)
{
    cJSON *meta = cJSON_Parse(lmmiqa_regressor_metadata(reg));
    const char *spec = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "features"));
    if (!spec) {
        cli_error(cmd,
                  "%s: the model's metadata does not name its features (was it written by "
                  "`lmmiqa train`?)",
                  model_name);
        cJSON_Delete(meta);
        return CLI_EXIT_FAILURE;
    }
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(meta, "extractors");
    int *ok = malloc((size_t)n * sizeof *ok);
    double *pred = malloc((size_t)n * sizeof *pred);
    float *x = NULL;
    int code = ok && pred ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
    if (code == CLI_EXIT_OK)
        code = compute_spec(cmd, spec, info, eo, n, images, lmmiqa_regressor_dim(reg), &x, ok);
    /* One row at a time: BLAS kernels may round differently for different
     * batch sizes, and an image's score must not depend on what else is
     * scored with it. */
    size_t dim = lmmiqa_regressor_dim(reg);
    for (int i = 0; i < n && code == CLI_EXIT_OK; i++) {
        if (!ok[i])
            continue;
        int rc = lmmiqa_regressor_predict(reg, x + (size_t)i * dim, 1, &pred[i]);
        if (rc != LMMIQA_OK)
            code = cli_fail_status(cmd, rc);
    }
    int failed = 0;
    if (code == CLI_EXIT_OK) {
        FILE *f = open_output(cmd, output);
        if (!f) {
            code = CLI_EXIT_FAILURE;
        } else {
            fprintf(f, "image,score\n");
            for (int i = 0; i < n; i++) {
                if (!ok[i]) {
                    failed++;
                    continue;
                }
                cli_csv_field(f, images[i]);
                fprintf(f, ",%.6f\n", pred[i]);
            }
            code = close_output(cmd, output, f);
        }
    }
    if (code == CLI_EXIT_OK && failed) {
        cli_error(cmd, "%d of %d images failed (listed above)", failed, n);
        code = CLI_EXIT_FAILURE;
    }
    free(ok);
    free(pred);
    free(x);
    cJSON_Delete(meta);
    return code;
}

static int score_brisque_svr(const char *cmd, const char *model, const char *range, int flags,
                             const cli_extractor_opts *eo, const char *output, int n,
                             char **images)
{
    lmmiqa_svr *svr = NULL;
    int rc = lmmiqa_svr_load(model, range, &svr);
    if (rc != LMMIQA_OK)
        return cli_fail_status(cmd, rc);
    if (lmmiqa_svr_dim(svr) != LMMIQA_BRISQUE_SCORE_DIM) {
        cli_error(cmd, "%s: a BRISQUE model has %d features, this one %zu", model,
                  LMMIQA_BRISQUE_SCORE_DIM, lmmiqa_svr_dim(svr));
        lmmiqa_svr_destroy(svr);
        return CLI_EXIT_FAILURE;
    }
    lmmiqa_extractor *ex = NULL;
    int code = cli_extractor_create(cmd, "brisque", eo, &ex);
    double *f = malloc((size_t)n * LMMIQA_BRISQUE_SCORE_DIM * sizeof *f);
    int *st = malloc((size_t)n * sizeof *st);
    if (code == CLI_EXIT_OK && (!f || !st))
        code = CLI_EXIT_INTERNAL;
    if (code == CLI_EXIT_OK) {
        rc = cli_store_compute(cmd, "brisque", ex, n, images, eo, 1, f, st, NULL);
        if (rc == LMMIQA_ERR_NOMEM || rc == LMMIQA_ERR_INTERNAL)
            code = cli_fail_status(cmd, rc);
    }
    int failed = 0;
    if (code == CLI_EXIT_OK) {
        FILE *out = open_output(cmd, output);
        if (!out) {
            code = CLI_EXIT_FAILURE;
        } else {
            fprintf(out, "image,score\n");
            for (int i = 0; i < n; i++) {
                double s;
                if (st[i] == LMMIQA_OK) {
                    rc = lmmiqa_brisque_score(svr, f + (size_t)i * LMMIQA_BRISQUE_SCORE_DIM, flags,
                                              &s);
                    if (rc != LMMIQA_OK) {
                        cli_error(cmd, "%s: %s", images[i], lmmiqa_error_message());
                        st[i] = rc;
                    }
                }
                if (st[i] != LMMIQA_OK) {
                    failed++;
                    continue;
                }
                cli_csv_field(out, images[i]);
                fprintf(out, ",%.6f\n", s);
            }
            code = close_output(cmd, output, out);
        }
    }
    if (code == CLI_EXIT_OK && failed) {
        cli_error(cmd, "%d of %d images failed (listed above)", failed, n);
        code = CLI_EXIT_FAILURE;
    }
    free(f);
    free(st);
    lmmiqa_extractor_destroy(ex);
    lmmiqa_svr_destroy(svr);
    return code;
}

/* CLIP-IQA zero-shot: the clipiqa extractor's first feature. */
static int score_zero_shot(const char *cmd, const cli_extractor_opts *eo, const char *output,
                           int n, char **images)
{
    lmmiqa_extractor *ex = NULL;
    int code = cli_extractor_create(cmd, "clipiqa", eo, &ex);
    if (code != CLI_EXIT_OK)
        return code == CLI_EXIT_USAGE ? CLI_EXIT_FAILURE : code;
    size_t dim = lmmiqa_extractor_dim(ex);
    double *f = malloc((size_t)n * dim * sizeof *f);
    int *st = malloc((size_t)n * sizeof *st);
    if (!f || !st)
        code = CLI_EXIT_INTERNAL;
    if (code == CLI_EXIT_OK) {
        int rc = cli_store_compute(cmd, "clipiqa", ex, n, images, eo, 1, f, st, NULL);
        if (rc == LMMIQA_ERR_NOMEM || rc == LMMIQA_ERR_INTERNAL)
            code = cli_fail_status(cmd, rc);
    }
    int failed = 0;
    if (code == CLI_EXIT_OK) {
        FILE *out = open_output(cmd, output);
        if (!out) {
            code = CLI_EXIT_FAILURE;
        } else {
            fprintf(out, "image,score\n");
            for (int i = 0; i < n; i++) {
                if (st[i] != LMMIQA_OK) {
                    failed++;
                    continue;
                }
                cli_csv_field(out, images[i]);
                fprintf(out, ",%.6f\n", f[(size_t)i * dim]);
            }
            code = close_output(cmd, output, out);
        }
    }
    if (code == CLI_EXIT_OK && failed) {
        cli_error(cmd, "%d of %d images failed (listed above)", failed, n);
        code = CLI_EXIT_FAILURE;
    }
    free(f);
    free(st);
    lmmiqa_extractor_destroy(ex);
    return code;
}

int cmd_score(int argc, char **argv)
{
    const char *cmd = "score";
    const char *model = NULL, *bmodel = NULL, *brange = NULL, *output = "-", *zero = NULL;
    cli_extractor_opts eo = {0};
    int flags = 0, n = 0;
    char **images = argv + 1; /* positionals, compacted in place (never ahead of i) */
    for (int i = 1; i < argc; i++) {
        int m;
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(argv[i], "--matlab-io") == 0) {
            flags |= LMMIQA_BRISQUE_MATLAB_IO;
            continue;
        }
        if (strcmp(argv[i], "--") == 0) {
            while (++i < argc)
                images[n++] = argv[i];
            break;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--model", &model)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--brisque-model", &bmodel)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--brisque-range", &brange)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--output", &output)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--zero-shot", &zero)) != 0 ||
            (m = cli_parse_extractor_opt(cmd, argc, argv, &i, &eo)) != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            cli_error(cmd, "unknown option '%s' (see lmmiqa score --help)", argv[i]);
            return CLI_EXIT_USAGE;
        }
        images[n++] = argv[i]; /* options and images may be mixed */
    }
    if (n <= 0) {
        cli_error(cmd, "no images given (see lmmiqa score --help)");
        return CLI_EXIT_USAGE;
    }
    if ((model != NULL) + (bmodel || brange) + (zero != NULL) > 1) {
        cli_error(cmd, "give one of --model, --brisque-model/--brisque-range, --zero-shot");
        return CLI_EXIT_USAGE;
    }
    if (zero && strcmp(zero, "clip") != 0) {
        cli_error(cmd, "--zero-shot: unknown method '%s' (known: clip)", zero);
        return CLI_EXIT_USAGE;
    }
    if ((bmodel != NULL) != (brange != NULL)) {
        cli_error(cmd, "--brisque-model and --brisque-range go together");
        return CLI_EXIT_USAGE;
    }
    if (flags && !bmodel) {
        cli_error(cmd, "--matlab-io applies to --brisque-model only");
        return CLI_EXIT_USAGE;
    }
    if (zero)
        return score_zero_shot(cmd, &eo, output, n, images);
    if (bmodel)
        return score_brisque_svr(cmd, bmodel, brange, flags, &eo, output, n, images);
    lmmiqa_regressor *reg = NULL;
    int rc;
    const char *name = model;
    if (model) {
        rc = lmmiqa_regressor_load(model, &reg);
    } else {
        name = "the default model";
        rc = cli_default_model_load(&reg);
    }
    if (rc != LMMIQA_OK)
        return cli_fail_status(cmd, rc);
    int code = score_regressor(cmd, reg, name, &eo, output, n, images);
    lmmiqa_regressor_destroy(reg);
    return code;
}
