/*
 * tools/cli/cli.h - what the `lmmiqa` commands share: exit codes, error
 * printing and small option-parsing helpers. Only the CLI prints; the
 * library reports through status codes and lmmiqa_error_message().
 *
 * Exit codes (documented in docs/cli.md):
 *   0  success
 *   1  a failure while processing input (unreadable or corrupt file, bad data)
 *   2  usage error (unknown option, missing argument)
 *   3  resource or internal error (out of memory, a bug)
 */
#ifndef LMMIQA_CLI_H
#define LMMIQA_CLI_H

#include "lmmiqa/core.h"

#include <stdio.h>
#include <sys/stat.h>

enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILURE = 1,
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_INTERNAL = 3
};

#define LMMIQA_COMMAND(name, summary) int cmd_##name(int argc, char **argv);
#include "commands.def"
#undef LMMIQA_COMMAND

/* Print "lmmiqa <cmd>: <message>" to stderr, printf style. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print the library's last error for a failed status and return the exit
 * code that status maps to (1, or 3 for NOMEM/INTERNAL). */
int cli_fail_status(const char *cmd, int status);

/* Exit code for a library status (0 for LMMIQA_OK). */
int cli_exit_code(int status);

/* Option helpers, one parser for every command (so every option has the
 * same spellings everywhere). `arg` is argv[i]; when it equals `name` the
 * value is argv[i+1] (i is advanced), when it is "name=value" the value
 * follows '='. The usual short spellings are accepted for their long
 * options: -o for --output and --out, -j for --jobs. Returns 1 when matched
 * (value set), 0 when not this option, -1 when the value is missing (an
 * error has been printed). */
int cli_opt_value(const char *cmd, int argc, char **argv, int *i, const char *name,
                  const char **value);

/* Seconds on the monotonic clock (durations, timeouts, progress). */
double cli_now_s(void);

/* mkdir -p of every folder above `path` (not path itself) / of path and
 * every folder above it. Print the reason and return CLI_EXIT_FAILURE when
 * one cannot be made; CLI_EXIT_OK otherwise. */
int cli_mkdir_parents(const char *cmd, const char *path);
int cli_mkdir(const char *cmd, const char *path);

/* True for --quiet and -q. */
int cli_is_quiet(const char *arg);

/* Parse a whole decimal integer / double; on failure print an error naming
 * the option and return -1. */
int cli_parse_long(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
int cli_parse_double(const char *cmd, const char *opt, const char *s, double *out);

/* Parse a number that must lie in [lo, hi] (and be finite): anything else
 * is a usage error, printed naming the option and the range. Returns 0, or
 * CLI_EXIT_USAGE (to return from the command as is). lo_open / hi_open
 * make that bound exclusive. */
int cli_parse_range(const char *cmd, const char *opt, const char *s, double lo, int lo_open,
                    double hi, int hi_open, double *out);

/* True when argv[i] is -h or --help. */
int cli_is_help(const char *arg);

/* Print the JSON object o (indented) and a newline to stdout, then delete
 * it. Returns CLI_EXIT_OK, or CLI_EXIT_INTERNAL (printed) when out of
 * memory. */
struct cJSON;
int cli_print_json(const char *cmd, struct cJSON *o);

/* An output file written atomically: "-" is stdout; a path is written to a
 * temporary file beside it, then fsync'ed and renamed over it by
 * cli_output_close, so the old file survives any failure (full disk, kill). */
typedef struct cli_output {
    const char *cmd;
    const char *path; /* as given */
    char tmp[4096];   /* the temporary file ("" for stdout) */
    FILE *f;
} cli_output;

/* Open; prints the reason (with errno's text) and returns CLI_EXIT_FAILURE
 * when the temporary file cannot be created. */
int cli_output_open(const char *cmd, const char *path, cli_output *out);

/* Finish: when code is CLI_EXIT_OK, flush, fsync, close and rename (or flush
 * stdout), printing the reason of any failure; otherwise discard the
 * temporary file. Returns the final exit code. */
int cli_output_close(cli_output *out, int code);

/* The process's umask (for files created with mkstemp). */
mode_t cli_umask(void);

/* A JSON number that reads back as exactly `v` (the shortest of %.15g,
 * %.16g, %.17g that round-trips; cJSON's own printing may lose the last
 * bit); null for NaN or infinity. */
struct cJSON *cli_json_number(double v);

/* Copy a text file to stdout (nothing when it cannot be read). */
void cli_print_file(const char *path);

#endif
