/*
 * tools/cli/cmd_score.c - `lmmiqa score`: quality scores of image files.
 *
 * A thin layer over the library's scorer (lmmiqa/scorer.h), which holds the
 * model choice (built-in, --model from `lmmiqa train`, the classic BRISQUE
 * SVR, CLIP-IQA zero-shot, or a model's own score: CNNIQA's or MetaIQA's
 * prediction from weights of `lmmiqa fit`), the extractors and the per-row
 * head; so a C program or the Python package scores exactly as this command
 * does. This file gathers the image list (files, folders, @list files),
 * checks that the model options agree, runs the scorer in parallel and
 * writes CSV or JSON atomically.
 */
#include "cli.h"
#include "cli_features.h"

#include "lmmiqa/brisque.h"
#include "lmmiqa/scorer.h"
#include "lmmiqa/svr.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: lmmiqa score [--model M | --brisque-model MODEL --brisque-range RANGE |\n"
            "                     --zero-shot clip | --own-score cnniqa|metaiqa]\n"
            "                    [--format csv|json] [-o|--output FILE|-] [-j|--jobs N]\n"
            "                    [--weights E=FILE] IMAGE|FOLDER|@LIST...\n"
            "\n"
            "Predict the quality of each image; prints CSV 'image,score' (to stdout unless\n"
            "--output FILE), or with --format json the model (name, features, SHA-256,\n"
            "scale and direction) and one entry per image.\n"
            "\n"
            "  (no model option)      the built-in model: BRISQUE features + MLP trained on\n"
            "                         all of LIVE Challenge; score on its MOS scale 0..100,\n"
            "                         higher = better (docs/protocol.md)\n"
            "  --model M              a model written by `lmmiqa train`: its features are\n"
            "                         computed with the extractors it names; score on the\n"
            "                         training dataset's MOS scale, higher = better\n"
            "  --brisque-model MODEL  the classic BRISQUE: a libsvm model (e.g.\n"
            "  --brisque-range RANGE  shared/models/brisque-live/allmodel + allrange);\n"
            "                         lower = better, about 0..100\n"
            "  --matlab-io            with --brisque-model: reproduce the MATLAB release's\n"
            "                         text round trips bit for bit\n"
            "  --zero-shot clip       CLIP-IQA: softmax probability of \"Good photo.\" over\n"
            "                         \"Bad photo.\" (or the first --prompts pair), 0..1,\n"
            "                         higher = better; needs --weights clipiqa=FILE, a CLIP\n"
            "                         checkpoint with its text tower (docs/clipiqa.md)\n"
            "  --own-score E          a trained model's own prediction, no regressor: E is\n"
            "                         cnniqa or metaiqa, its weights --weights E=FILE (from\n"
            "                         `lmmiqa fit`); 0..1 (the MOS scaled by the training\n"
            "                         dataset's nominal range), higher = better\n"
            "  --format csv|json      output format (default csv)\n"
            "  -o, --output FILE|-    where the output goes (default -, stdout); a file is\n"
            "                         replaced atomically, never left half written\n"
            "%s"
            "\n"
            "IMAGE is a JPEG, PNG or BMP file; FOLDER scores the folder's .jpg, .jpeg, .png\n"
            "and .bmp files (not subfolders) in name order; @LIST reads one path per line\n"
            "(blank lines and lines starting with # are skipped).\n"
            "A bad image is reported on stderr and left out; the others are scored.\n"
            "Exit codes: 0 ok; 1 an image or the model failed (the others are still\n"
            "printed); 2 usage error; 3 out of memory or internal error.\n",
            cli_extractor_help);
}

/* ---- the image list --------------------------------------------------- */

typedef struct image_list {
    char **path;
    size_t n, cap;
} image_list;

static int list_add(image_list *l, const char *path)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **p = realloc(l->path, cap * sizeof *p);
        if (!p)
            return CLI_EXIT_INTERNAL;
        l->path = p;
        l->cap = cap;
    }
    if (!(l->path[l->n] = strdup(path)))
        return CLI_EXIT_INTERNAL;
    l->n++;
    return CLI_EXIT_OK;
}

static void list_free(image_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->path[i]);
    free(l->path);
}

static int has_image_ext(const char *name)
{
    static const char *const ext[] = {".jpg", ".jpeg", ".png", ".bmp"};
    const char *dot = strrchr(name, '.');
    if (!dot)
        return 0;
    for (size_t e = 0; e < sizeof ext / sizeof ext[0]; e++) {
        size_t k = 0;
        while (ext[e][k] && tolower((unsigned char)dot[k]) == ext[e][k])
            k++;
        if (!ext[e][k] && !dot[k])
            return 1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_folder(const char *cmd, image_list *l, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        cli_error(cmd, "%s: cannot open the folder: %s", dir, strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    size_t first = l->n;
    int code = CLI_EXIT_OK;
    struct dirent *e;
    while (code == CLI_EXIT_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !has_image_ext(e->d_name))
            continue;
        char path[4096];
        struct stat st;
        int n = snprintf(path, sizeof path, "%s%s%s", dir,
                         dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
        if (n < 0 || (size_t)n >= sizeof path || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        code = list_add(l, path);
    }
    closedir(d);
    if (code == CLI_EXIT_OK && l->n == first)
        cli_error(cmd, "warning: %s holds no .jpg, .jpeg, .png or .bmp file", dir);
    qsort(l->path + first, l->n - first, sizeof *l->path, cmp_str);
    return code;
}

static int add_list_file(const char *cmd, image_list *l, const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        cli_error(cmd, "%s: cannot open the list: %s", file, strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    char line[4096];
    int code = CLI_EXIT_OK;
    size_t lineno = 0;
    while (code == CLI_EXIT_OK && fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            cli_error(cmd, "%s:%zu: line too long", file, lineno);
            code = CLI_EXIT_FAILURE;
            break;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        code = list_add(l, line);
    }
    if (ferror(f)) {
        cli_error(cmd, "%s: read error", file);
        code = CLI_EXIT_FAILURE;
    }
    fclose(f);
    return code;
}

/* An argument: @LIST, a folder, or an image file (checked when scored). */
static int add_argument(const char *cmd, image_list *l, const char *arg)
{
    struct stat st;
    if (arg[0] == '@' && arg[1])
        return add_list_file(cmd, l, arg + 1);
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode))
        return add_folder(cmd, l, arg);
    return list_add(l, arg);
}

/* ---- output ------------------------------------------------------------ */

static void write_csv(FILE *f, const image_list *l, const double *score, const int *status)
{
    fprintf(f, "image,score\n");
    for (size_t i = 0; i < l->n; i++) {
        if (status[i] != LMMIQA_OK)
            continue;
        cli_csv_field(f, l->path[i]);
        fprintf(f, ",%.6f\n", score[i]);
    }
}

static int write_json(FILE *f, const lmmiqa_scorer *sc, const image_list *l,
                      const double *score, const int *status, char *const *errors)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *model = cJSON_Parse(lmmiqa_scorer_info_json(sc));
    cJSON *arr = cJSON_CreateArray();
    if (!root || !model || !arr) {
        cJSON_Delete(root);
        cJSON_Delete(model);
        cJSON_Delete(arr);
        return CLI_EXIT_INTERNAL;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(model, "metadata"); /* `lmmiqa train` details */
    cJSON_AddItemToObject(root, "model", model);
    for (size_t i = 0; i < l->n; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "image", l->path[i]);
        if (status[i] == LMMIQA_OK) {
            cJSON_AddItemToObject(e, "score", cli_json_number(score[i]));
        } else {
            cJSON_AddNullToObject(e, "score");
            cJSON_AddStringToObject(e, "error", errors[i] ? errors[i] : lmmiqa_status_name(status[i]));
        }
        cJSON_AddItemToArray(arr, e);
    }
    cJSON_AddItemToObject(root, "images", arr);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return CLI_EXIT_INTERNAL;
    fputs(text, f);
    fputc('\n', f);
    free(text);
    return CLI_EXIT_OK;
}

/* Error callback: print like the other commands and keep the message for
 * the JSON output. */
typedef struct score_errors {
    cli_progress *prog;
    char **msg; /* n */
} score_errors;

static void score_error_cb(void *user, size_t row, const char *image, int status,
                           const char *message)
{
    score_errors *e = user;
    if (!e->msg[row])
        e->msg[row] = strdup(message && *message ? message : lmmiqa_status_name(status));
    cli_store_error_cb(e->prog, row, image, status, message);
}

static void score_progress_cb(void *user, const lmmiqa_store_progress *p)
{
    score_errors *e = user;
    cli_progress_cb(e->prog, p);
}

/* The model options exclude each other; --own-score needs a trainable
 * model and its weights. Prints the usage error; returns a CLI exit code. */
static int check_model_choice(const char *cmd, const char *model, const char *bmodel,
                              const char *brange, const char *zero, const char *own,
                              const cli_extractor_opts *eo)
{
    if ((model != NULL) + (bmodel || brange) + (zero != NULL) + (own != NULL) > 1) {
        cli_error(cmd, "give one of --model, --brisque-model/--brisque-range, --zero-shot, "
                       "--own-score");
        return CLI_EXIT_USAGE;
    }
    if (zero && strcmp(zero, "clip") != 0) {
        cli_error(cmd, "--zero-shot: unknown method '%s' (known: clip)", zero);
        return CLI_EXIT_USAGE;
    }
    if (own && strcmp(own, "cnniqa") != 0 && strcmp(own, "metaiqa") != 0) {
        cli_error(cmd, "--own-score: '%s' is not a trained model with a score of its own "
                       "(known: cnniqa, metaiqa)", own);
        return CLI_EXIT_USAGE;
    }
    int has_weights = 0;
    for (int w = 0; own && w < eo->n_weights; w++)
        has_weights |= strcmp(eo->weights_name[w], own) == 0;
    if (own && !has_weights) {
        cli_error(cmd, "--own-score %s needs its weight file: --weights %s=FILE (written by "
                       "`lmmiqa fit --extractor %s`)", own, own, own);
        return CLI_EXIT_USAGE;
    }
    if ((bmodel != NULL) != (brange != NULL)) {
        cli_error(cmd, "--brisque-model and --brisque-range go together");
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

int cmd_score(int argc, char **argv)
{
    const char *cmd = "score";
    const char *model = NULL, *bmodel = NULL, *brange = NULL, *output = "-", *format = "csv";
    const char *zero = NULL, *own = NULL;
    cli_extractor_opts eo = {0};
    int flags = 0;
    image_list images = {0};
    int code = CLI_EXIT_OK;
    for (int i = 1; i < argc && code == CLI_EXIT_OK; i++) {
        int m;
        if (cli_is_help(argv[i])) {
            usage(stdout);
            list_free(&images);
            return CLI_EXIT_OK;
        }
        if (strcmp(argv[i], "--matlab-io") == 0) {
            flags |= LMMIQA_BRISQUE_MATLAB_IO;
            continue;
        }
        if (strcmp(argv[i], "--") == 0) {
            while (++i < argc && code == CLI_EXIT_OK)
                code = add_argument(cmd, &images, argv[i]);
            break;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--model", &model)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--brisque-model", &bmodel)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--brisque-range", &brange)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--output", &output)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--format", &format)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--zero-shot", &zero)) != 0 ||
            (m = cli_opt_value(cmd, argc, argv, &i, "--own-score", &own)) != 0 ||
            (m = cli_parse_extractor_opt(cmd, argc, argv, &i, &eo)) != 0) {
            if (m < 0)
                code = CLI_EXIT_USAGE;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            cli_error(cmd, "unknown option '%s' (see lmmiqa score --help)", argv[i]);
            code = CLI_EXIT_USAGE;
            break;
        }
        code = add_argument(cmd, &images, argv[i]); /* options and images may be mixed */
    }
    if (code == CLI_EXIT_OK && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) {
        cli_error(cmd, "--format: '%s' is not csv or json", format);
        code = CLI_EXIT_USAGE;
    }
    if (code == CLI_EXIT_OK && images.n == 0) {
        cli_error(cmd, "no images given (see lmmiqa score --help)");
        code = CLI_EXIT_USAGE;
    }
    if (code == CLI_EXIT_OK)
        code = check_model_choice(cmd, model, bmodel, brange, zero, own, &eo);
    if (code == CLI_EXIT_OK && flags && !bmodel) {
        cli_error(cmd, "--matlab-io applies to --brisque-model only");
        code = CLI_EXIT_USAGE;
    }
    if (code != CLI_EXIT_OK) {
        list_free(&images);
        return code;
    }

    lmmiqa_scorer_options so;
    lmmiqa_scorer_options_init(&so);
    so.model = model;
    so.svr_model = bmodel;
    so.svr_range = brange;
    so.svr_flags = flags;
    so.n_weights = (size_t)eo.n_weights;
    so.weights_names = eo.weights_name;
    so.weights_files = eo.weights_file;
    so.zero_shot = zero;
    so.own_score = own;
    so.vocab = eo.vocab;
    so.prompts = eo.prompts;
    so.logit_scale = eo.logit_scale;
    lmmiqa_scorer *sc = NULL;
    int rc = lmmiqa_scorer_create(&so, &sc);
    if (rc != LMMIQA_OK) {
        list_free(&images);
        return cli_fail_status(cmd, rc);
    }
    const char *warn = lmmiqa_scorer_warnings(sc);
    if (*warn)
        cli_error(cmd, "warning: %s", warn);

    size_t n = images.n;
    double *score = calloc(n, sizeof *score);
    int *status = calloc(n, sizeof *status);
    char **errors = calloc(n, sizeof *errors);
    if (!score || !status || !errors)
        code = CLI_EXIT_INTERNAL;
    if (code == CLI_EXIT_OK) {
        cli_progress prog;
        cli_progress_init(&prog, cmd, "scoring");
        prog.tty = prog.tty && n >= 20; /* a bar is noise for a handful of images */
        score_errors se = {&prog, errors};
        lmmiqa_store_options o;
        lmmiqa_store_options_init(&o);
        o.jobs = eo.jobs;
        o.progress = score_progress_cb;
        o.on_error = score_error_cb;
        o.user = &se;
        rc = lmmiqa_scorer_run_files(sc, n, (const char *const *)images.path, &o, score, status);
        cli_progress_done(&prog);
        if (rc == LMMIQA_ERR_NOMEM || rc == LMMIQA_ERR_INTERNAL)
            code = cli_fail_status(cmd, rc);
    }
    size_t failed = 0;
    for (size_t i = 0; code == CLI_EXIT_OK && i < n; i++)
        failed += status[i] != LMMIQA_OK;
    if (code == CLI_EXIT_OK) {
        cli_output out;
        code = cli_output_open(cmd, output, &out);
        if (code == CLI_EXIT_OK) {
            if (strcmp(format, "json") == 0)
                code = write_json(out.f, sc, &images, score, status, errors);
            else
                write_csv(out.f, &images, score, status);
            code = cli_output_close(&out, code);
        }
    }
    if (code == CLI_EXIT_OK && failed) {
        cli_error(cmd, "%zu of %zu images failed (listed above)", failed, n);
        code = CLI_EXIT_FAILURE;
    }
    for (size_t i = 0; errors && i < n; i++)
        free(errors[i]);
    free(errors);
    free(score);
    free(status);
    lmmiqa_scorer_destroy(sc);
    list_free(&images);
    return code;
}
