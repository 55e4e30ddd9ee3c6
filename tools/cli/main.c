/*
 * tools/cli/main.c - the `lmmiqa` command line: dispatch to the commands
 * listed in commands.def, plus the helpers every command shares.
 */
#include "cli.h"
#include "cli_mpi.h"
#include "lmmiqa/advanced/file.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct command {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
};

static const struct command commands[] = {
#define LMMIQA_COMMAND(name, summary) {#name, cmd_##name, summary},
#include "commands.def"
#undef LMMIQA_COMMAND
};

static void usage(FILE *out)
{
    fprintf(out, "usage: lmmiqa <command> [options] [arguments]\n\n"
                 "Blind image quality assessment from foundation-model embeddings and\n"
                 "distortion features. Commands:\n\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`lmmiqa <command> --help` describes a command. Exit codes: 0 ok, 1 bad\n"
                 "input or processing failure, 2 usage error, 3 resource or internal error.\n");
}

/* Every command's output reaches stdout through stdio: a full disk or a
 * closed pipe only shows at flush or close, so check both once the command
 * is done, and fail (exit 1) naming the reason rather than exit 0. */
static int finish_stdout(const char *cmd, int code)
{
    errno = 0;
    int bad = fflush(stdout) != 0;
    int err = errno;
    bad |= ferror(stdout) != 0;
    errno = 0;
    if (fclose(stdout) != 0) {
        bad = 1;
        if (!err)
            err = errno;
    }
    if (!bad)
        return code;
    cli_error(cmd, "stdout: write failed: %s", err ? strerror(err) : "I/O error");
    return code == CLI_EXIT_OK ? CLI_EXIT_FAILURE : code;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return finish_stdout("help", CLI_EXIT_OK);
    }
    if (strcmp(argv[1], "--version") == 0)
        return finish_stdout("version", cmd_version(argc - 1, argv + 1));
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) {
            /* Under mpirun, extract and eval scale out (cli_mpi.h); MPI is
             * never started otherwise. */
            int code = cli_mpi_init(commands[i].name);
            if (code == CLI_EXIT_OK)
                code = commands[i].fn(argc - 1, argv + 1);
            return finish_stdout(commands[i].name, cli_mpi_finish(code));
        }
    fprintf(stderr, "lmmiqa: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}

int cmd_version(int argc, char **argv)
{
    if (argc > 1 && cli_is_help(argv[1])) {
        printf("usage: lmmiqa version\n\nPrint the library version.\n");
        return CLI_EXIT_OK;
    }
    if (argc > 1) {
        cli_error("version", "unexpected argument '%s'", argv[1]);
        return CLI_EXIT_USAGE;
    }
    printf("lmmiqa %s\n", lmmiqa_version());
    return CLI_EXIT_OK;
}

void cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "lmmiqa %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_exit_code(int status)
{
    if (status == LMMIQA_OK)
        return CLI_EXIT_OK;
    if (status == LMMIQA_ERR_NOMEM || status == LMMIQA_ERR_INTERNAL)
        return CLI_EXIT_INTERNAL;
    return CLI_EXIT_FAILURE;
}

int cli_fail_status(const char *cmd, int status)
{
    cli_error(cmd, "%s", lmmiqa_error_message()[0] ? lmmiqa_error_message()
                                                     : lmmiqa_status_name(status));
    return cli_exit_code(status);
}

int cli_is_help(const char *arg) { return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0; }

/* The usual short spellings of long options: -o FILE, -j N. */
static const char *short_alias(const char *name)
{
    if (strcmp(name, "--output") == 0 || strcmp(name, "--out") == 0)
        return "-o";
    if (strcmp(name, "--jobs") == 0)
        return "-j";
    return NULL;
}

int cli_is_quiet(const char *arg)
{
    return strcmp(arg, "--quiet") == 0 || strcmp(arg, "-q") == 0;
}

int cli_opt_value(const char *cmd, int argc, char **argv, int *i, const char *name,
                  const char **value)
{
    const char *arg = argv[*i];
    const char *alias = short_alias(name);
    if (alias && strncmp(arg, alias, 2) == 0 && arg[2] != '\0') { /* -j2, -oFILE */
        *value = arg + 2;
        return 1;
    }
    if (alias && strcmp(arg, alias) == 0) {
        if (*i + 1 >= argc) {
            cli_error(cmd, "option %s (%s) needs a value", alias, name);
            return -1;
        }
        *value = argv[++*i];
        return 1;
    }
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        cli_error(cmd, "option %s needs a value", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

int cli_parse_long(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi) {
        cli_error(cmd, "%s: '%s' is not an integer in [%ld, %ld]", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_double(const char *cmd, const char *opt, const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || v != v) {
        cli_error(cmd, "%s: '%s' is not a number", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_print_json(const char *cmd, cJSON *o)
{
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text) {
        cli_error(cmd, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    printf("%s\n", text);
    cJSON_free(text);
    return CLI_EXIT_OK;
}

int cli_parse_range(const char *cmd, const char *opt, const char *s, double lo, int lo_open,
                    double hi, int hi_open, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    int ok = !errno && end != s && *end == '\0' && isfinite(v) &&
             (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    if (!ok) {
        cli_error(cmd, "%s: '%s' is not a number in %c%g, %g%c", opt, s, lo_open ? '(' : '[', lo,
                  hi, hi_open ? ')' : ']');
        return CLI_EXIT_USAGE;
    }
    *out = v;
    return 0;
}

void cli_print_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    char buf[8192];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, got, stdout);
    fclose(f);
}

int cli_output_open(const char *cmd, const char *path, cli_output *out)
{
    memset(out, 0, sizeof *out);
    out->cmd = cmd;
    out->path = path;
    if (strcmp(path, "-") == 0) {
        out->f = stdout;
        return CLI_EXIT_OK;
    }
    int n = snprintf(out->tmp, sizeof out->tmp, "%s.tmp.XXXXXX", path);
    if (n < 0 || (size_t)n >= sizeof out->tmp) {
        cli_error(cmd, "%s: path too long", path);
        return CLI_EXIT_FAILURE;
    }
    int fd = mkstemp(out->tmp);
    if (fd < 0) {
        cli_error(cmd, "%s: cannot create: %s", path, strerror(errno));
        out->tmp[0] = '\0';
        return CLI_EXIT_FAILURE;
    }
    fchmod(fd, 0666 & ~cli_umask());
    out->f = fdopen(fd, "w");
    if (!out->f) {
        cli_error(cmd, "%s: cannot create: %s", path, strerror(errno));
        close(fd);
        unlink(out->tmp);
        out->tmp[0] = '\0';
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

int cli_output_close(cli_output *out, int code)
{
    if (!out->f)
        return code;
    if (out->f == stdout) {
        if (code == CLI_EXIT_OK && (fflush(stdout) != 0 || ferror(stdout))) {
            cli_error(out->cmd, "writing to standard output failed: %s", strerror(errno));
            code = CLI_EXIT_FAILURE;
        }
        out->f = NULL;
        return code;
    }
    int err = 0;
    if (code == CLI_EXIT_OK) {
        if (fflush(out->f) != 0 || ferror(out->f) || fsync(fileno(out->f)) != 0)
            err = errno ? errno : EIO;
    }
    if (fclose(out->f) != 0 && code == CLI_EXIT_OK && !err)
        err = errno ? errno : EIO;
    out->f = NULL;
    if (code == CLI_EXIT_OK && !err && rename(out->tmp, out->path) != 0)
        err = errno;
    if (code != CLI_EXIT_OK || err) {
        unlink(out->tmp);
        if (err) {
            cli_error(out->cmd, "%s: write failed: %s (the previous file, if any, is kept)",
                      out->path, strerror(err));
            code = CLI_EXIT_FAILURE;
        }
    }
    return code;
}

mode_t cli_umask(void)
{
    mode_t m = umask(0);
    umask(m);
    return m;
}

cJSON *cli_json_number(double v)
{
    if (!isfinite(v))
        return cJSON_CreateNull();
    char buf[64];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return cJSON_CreateRaw(buf);
}

double cli_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cli_mkdir_parents(const char *cmd, const char *path)
{
    int rc = lmmiqa_file_mkdirs(path, 1);
    return rc == LMMIQA_OK ? CLI_EXIT_OK : cli_fail_status(cmd, rc);
}

int cli_mkdir(const char *cmd, const char *path)
{
    int rc = lmmiqa_file_mkdirs(path, 0);
    return rc == LMMIQA_OK ? CLI_EXIT_OK : cli_fail_status(cmd, rc);
}
