/*
 * tools/cli/cmd_extract.c - `lmmiqa extract`: features of image files (CSV
 * or .npy), or of a whole dataset into the feature store.
 *
 * Image mode computes in parallel (lmmiqa_store_compute) and writes the
 * output once at the end; a bad image is reported on stderr as soon as it
 * fails, the other images are still written, and the exit code is 1.
 * Dataset mode delegates to the store (resumable, atomic).
 */
#include "cli.h"
#include "cli_features.h"
#include "cli_mpi.h"

#include "lmmiqa/advanced/npy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: lmmiqa extract --extractor E [--output FILE|-] [options] IMAGE...\n"
            "       lmmiqa extract --extractor E[+E...] --dataset D [--output DIR] [options]\n"
            "       lmmiqa extract --list\n"
            "\n"
            "Compute feature vectors.\n"
            "\n"
            "Image mode: one row per image. --output - (the default) writes CSV with the\n"
            "header image,<feature names> to stdout; a FILE ending in .npy gets a float32 NumPy\n"
            "matrix (rows in argument order, a failed image's row is NaN); any other FILE\n"
            "gets the CSV. A bad image is reported on stderr and left out of the CSV; the\n"
            "others are still written and the exit code is 1.\n"
            "\n"
            "Dataset mode: features of every image of dataset D (a name such as livec, or a\n"
            "label file) into the feature store DIR (default $LMMIQA_STORE_DIR/<dataset>,\n"
            "else ~/.cache/lmmiqa/features/<dataset>, XDG_CACHE_HOME honoured):\n"
            "DIR/<E>.npy + DIR/<E>.json. Re-running reuses\n"
            "finished images; an interrupted run resumes (docs/protocol.md).\n"
            "\n"
            "Options:\n"
            "  --extractor E       extractor name (see --list); '+'-joined in dataset mode\n"
            "  --output FILE|DIR   see above\n"
            "  --dataset D         dataset mode\n"
            "  --image-root DIR    folder the dataset's image names are relative to\n"
            "  --jobs N            worker threads (default: all cores)\n"
            "  --weights E=FILE    weight file of extractor E (repeatable)\n"
            "  --vocab FILE        clipiqa: CLIP's BPE vocabulary (default: beside its weights)\n"
            "  --prompts FILE      clipiqa: prompt pairs 'POSITIVE | NEGATIVE' (docs/clipiqa.md)\n"
            "  --logit-scale S     clipiqa: softmax scale (default: the checkpoint's, 100)\n"
            "  -q, --quiet         no summary line (dataset mode)\n"
            "  --list              print the available extractors\n"
            "\n"
            "Exit codes: 0 ok; 1 an image, the dataset or an output failed; 2 usage error\n"
            "(unknown option or extractor); 3 out of memory or internal error.\n");
}

/* Shortest %g that reads back to the same double (15 to 17 digits). */
static void fmt_double(char *buf, size_t cap, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int write_csv(const char *cmd, const char *output, const lmmiqa_extractor *ex, size_t n,
                     char **images, const double *feat, const int *status)
{
    size_t dim = lmmiqa_extractor_dim(ex);
    cli_output o;
    int code = cli_output_open(cmd, output, &o);
    if (code != CLI_EXIT_OK)
        return code;
    FILE *f = o.f;
    fputs("image", f);
    for (size_t k = 0; k < dim; k++)
        fprintf(f, ",%s", lmmiqa_extractor_feature_name(ex, k));
    fputc('\n', f);
    char num[64];
    for (size_t i = 0; i < n; i++) {
        if (status[i] != LMMIQA_OK)
            continue;
        cli_csv_field(f, images[i]);
        for (size_t k = 0; k < dim; k++) {
            fmt_double(num, sizeof num, feat[i * dim + k]);
            fprintf(f, ",%s", num);
        }
        fputc('\n', f);
    }
    return cli_output_close(&o, CLI_EXIT_OK);
}

static int write_npy(const char *cmd, const char *output, size_t n, size_t dim,
                     const double *feat)
{
    float *m = malloc((n * dim > 0 ? n * dim : 1) * sizeof *m);
    if (!m)
        return CLI_EXIT_INTERNAL;
    for (size_t k = 0; k < n * dim; k++)
        m[k] = (float)feat[k];
    int rc = lmmiqa_npy_write_f32(output, m, n, dim);
    free(m);
    if (rc != LMMIQA_OK)
        return cli_fail_status(cmd, rc);
    return CLI_EXIT_OK;
}

static int extract_images(const char *cmd, const char *name, const char *output,
                          const cli_extractor_opts *eo, int n, char **images)
{
    lmmiqa_extractor *ex = NULL;
    int code = cli_extractor_create(cmd, name, eo, &ex);
    if (code != CLI_EXIT_OK)
        return code;
    size_t dim = lmmiqa_extractor_dim(ex);
    double *feat = malloc((size_t)n * dim * sizeof *feat);
    int *status = malloc((size_t)n * sizeof *status);
    if (!feat || !status) {
        free(feat);
        free(status);
        lmmiqa_extractor_destroy(ex);
        cli_error(cmd, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    lmmiqa_store_progress res;
    int rc = cli_store_compute(cmd, name, ex, n, images, eo, 1, feat, status, &res);
    if (rc == LMMIQA_ERR_NOMEM || rc == LMMIQA_ERR_INTERNAL)
        code = cli_fail_status(cmd, rc);
    else if (ends_with(output, ".npy"))
        code = write_npy(cmd, output, (size_t)n, dim, feat);
    else
        code = write_csv(cmd, output, ex, (size_t)n, images, feat, status);
    if (code == CLI_EXIT_OK && res.failed > 0) {
        cli_error(cmd, "%zu of %d images failed (listed above)", res.failed, n);
        code = CLI_EXIT_FAILURE;
    }
    free(feat);
    free(status);
    lmmiqa_extractor_destroy(ex);
    return code;
}

int cmd_extract(int argc, char **argv)
{
    const char *cmd = "extract";
    const char *extractor = NULL, *output = NULL, *dataset = NULL, *image_root = NULL;
    cli_extractor_opts eo = {0};
    int quiet = 0, n_images = 0;
    char **images = argv + 1; /* positionals, compacted in place (never ahead of i) */
    for (int i = 1; i < argc; i++) {
        int m;
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(argv[i], "--list") == 0) {
            for (const char *const *nm = lmmiqa_extractor_names(); *nm; nm++)
                printf("%s\n", *nm);
            return CLI_EXIT_OK;
        }
        if (cli_is_quiet(argv[i])) {
            quiet = 1;
            continue;
        }
        if (strcmp(argv[i], "--") == 0) {
            while (++i < argc)
                images[n_images++] = argv[i];
            break;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--extractor", &extractor)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--output", &output)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--dataset", &dataset)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--image-root", &image_root)) != 0 ||
            (m = cli_parse_extractor_opt(cmd, argc, argv, &i, &eo)) != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            cli_error(cmd, "unknown option '%s' (see lmmiqa extract --help)", argv[i]);
            return CLI_EXIT_USAGE;
        }
        images[n_images++] = argv[i]; /* options and images may be mixed */
    }
    if (!extractor) {
        cli_error(cmd, "--extractor is required (see lmmiqa extract --list)");
        return CLI_EXIT_USAGE;
    }
    if (dataset) {
        if (n_images > 0) {
            cli_error(cmd, "give either --dataset or image files, not both");
            return CLI_EXIT_USAGE;
        }
        if (!cli_check_spec(cmd, "--extractor", extractor))
            return CLI_EXIT_USAGE;
        lmmiqa_dataset *ds = NULL;
        int code = cli_dataset_load(cmd, dataset, image_root, &ds);
        if (code != CLI_EXIT_OK)
            return code;
#ifdef LMMIQA_HAVE_MPI
        if (cli_mpi_rank() > 0) { /* under mpirun: compute what rank 0 hands out */
            cli_mpi_ctx ctx = {cmd, ds, &eo, NULL, NULL, 0, NULL};
            code = cli_mpi_serve(&ctx);
            lmmiqa_dataset_destroy(ds);
            return code;
        }
#endif
        char store[4096];
        code = cli_store_dir(cmd, ds, output, quiet, store, sizeof store);
        if (code == CLI_EXIT_OK)
            code = cli_store_ensure(cmd, store, ds, extractor, &eo, quiet);
        lmmiqa_dataset_destroy(ds);
        return code;
    }
    if (strchr(extractor, '+')) {
        cli_error(cmd, "image mode takes one extractor; '+' combinations are for --dataset");
        return CLI_EXIT_USAGE;
    }
    if (n_images <= 0) {
        cli_error(cmd, "no images given (see lmmiqa extract --help)");
        return CLI_EXIT_USAGE;
    }
#ifdef LMMIQA_HAVE_MPI
    if (cli_mpi_rank() > 0) { /* image mode runs on rank 0 alone */
        cli_mpi_ctx ctx = {cmd, NULL, &eo, NULL, NULL, 0, NULL};
        return cli_mpi_serve(&ctx);
    }
#endif
    return extract_images(cmd, extractor, output ? output : "-", &eo, n_images, images);
}
