/*
 * tools/cli/cmd_text.c - `lmmiqa text`: CLIP's text side from the command
 * line. `text tokenize` prints the token ids of each text (start and end
 * tokens included, no padding, no length limit); `text embed` prints the
 * projected, not normalised, text embeddings as CSV text,e0,...,eN (the
 * layout of extract's image CSV). The vocabulary is --vocab, else the one
 * beside the weights (embed), else $LMMIQA_SHARED_DIR/vocab/clip (the
 * project's shared data folder).
 */
#include "cli.h"
#include "cli_features.h"

#include "lmmiqa/advanced/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: lmmiqa text tokenize [--vocab FILE] TEXT...\n"
            "       lmmiqa text embed --weights FILE [--vocab FILE] [--output FILE|-] TEXT...\n"
            "\n"
            "CLIP's text tokenizer and text tower (docs/clipiqa.md).\n"
            "\n"
            "  tokenize         one line per text: its token ids separated by spaces,\n"
            "                   <|startoftext|> and <|endoftext|> included, no padding\n"
            "  embed            CSV 'text,e0,...,eN': the projected (not normalised)\n"
            "                   text embedding of each text, cut to the model's 77 tokens\n"
            "  --weights FILE   a CLIP checkpoint with its text tower (safetensors or .pt)\n"
            "  --vocab FILE     bpe_simple_vocab_16e6.txt.gz, a vocab.json (merges.txt\n"
            "                   beside it) or a folder holding either; default: beside\n"
            "                   the weights, then $LMMIQA_SHARED_DIR/vocab/clip\n"
            "  --output FILE|-  where embed's CSV goes (default -, stdout)\n"
            "\n"
            "Exit codes: 0 ok; 1 a file or text failed; 2 usage error; 3 out of memory.\n");
}

static int is_file(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int load_vocab(const char *cmd, const char *vocab, const char *weights,
                      lmmiqa_tokenizer **tok)
{
    char buf[4200];
    if (!vocab && weights) {
        const char *slash = strrchr(weights, '/');
        int dl = slash ? (int)(slash - weights) : 1;
        const char *d = slash ? weights : ".";
        snprintf(buf, sizeof buf, "%.*s/vocab.json", dl, d);
        char m[4200];
        snprintf(m, sizeof m, "%.*s/merges.txt", dl, d);
        if (is_file(buf) && is_file(m))
            vocab = buf;
        else {
            snprintf(buf, sizeof buf, "%.*s/bpe_simple_vocab_16e6.txt.gz", dl, d);
            if (is_file(buf))
                vocab = buf;
        }
    }
    const char *shared = getenv("LMMIQA_SHARED_DIR");
    if (!vocab && shared && *shared) {
        snprintf(buf, sizeof buf, "%s/vocab/clip/bpe_simple_vocab_16e6.txt.gz", shared);
        if (is_file(buf))
            vocab = buf;
    }
    if (!vocab) {
        cli_error(cmd, "no CLIP vocabulary found: give --vocab FILE (bpe_simple_vocab_16e6.txt.gz "
                       "or vocab.json; docs/clipiqa.md)");
        return CLI_EXIT_USAGE;
    }
    int rc = lmmiqa_tokenizer_load(vocab, tok);
    return rc == LMMIQA_OK ? CLI_EXIT_OK : cli_fail_status(cmd, rc);
}

static int tokenize(const char *cmd, const lmmiqa_tokenizer *tok, int n, char **texts)
{
    for (int i = 0; i < n; i++) {
        size_t count = 0;
        int rc = lmmiqa_tokenizer_encode(tok, texts[i], 0, NULL, 0, &count);
        int32_t *ids = rc == LMMIQA_OK ? malloc(count * sizeof *ids) : NULL;
        if (rc == LMMIQA_OK && !ids)
            rc = LMMIQA_ERR_NOMEM;
        if (rc == LMMIQA_OK)
            rc = lmmiqa_tokenizer_encode(tok, texts[i], 0, ids, count, &count);
        if (rc != LMMIQA_OK) {
            free(ids);
            cli_error(cmd, "text %d: %s", i + 1, lmmiqa_error_message());
            return cli_exit_code(rc);
        }
        for (size_t k = 0; k < count; k++)
            printf(k ? " %d" : "%d", ids[k]);
        putchar('\n');
        free(ids);
    }
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

static int embed(const char *cmd, const lmmiqa_tokenizer *tok, const char *weights,
                 const char *output, int n, char **texts)
{
    lmmiqa_text *model = NULL;
    lmmiqa_text_state *st = NULL;
    int rc = lmmiqa_text_load(weights, NULL, NULL, &model);
    if (rc == LMMIQA_OK)
        rc = lmmiqa_text_state_create(model, &st);
    if (rc != LMMIQA_OK) {
        lmmiqa_text_destroy(model);
        return cli_fail_status(cmd, rc);
    }
    const lmmiqa_text_config *c = lmmiqa_text_get_config(model);
    int code = CLI_EXIT_OK;
    if (lmmiqa_tokenizer_vocab_size(tok) > c->vocab_size) {
        cli_error(cmd, "the vocabulary has %d tokens, the text tower of %s only %d",
                  lmmiqa_tokenizer_vocab_size(tok), weights, c->vocab_size);
        code = CLI_EXIT_FAILURE;
    }
    float *e = malloc(sizeof(float) * (size_t)c->embed_dim * (size_t)n);
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)c->context_length);
    if (code == CLI_EXIT_OK && (!e || !ids))
        code = CLI_EXIT_INTERNAL;
    for (int i = 0; i < n && code == CLI_EXIT_OK; i++) {
        size_t count = 0;
        rc = lmmiqa_tokenizer_encode(tok, texts[i], c->context_length, ids,
                                     (size_t)c->context_length, &count);
        if (rc == LMMIQA_OK)
            rc = lmmiqa_text_forward(model, st, ids, (int)count, 0,
                                     e + (size_t)i * (size_t)c->embed_dim);
        if (rc != LMMIQA_OK) {
            cli_error(cmd, "text %d: %s", i + 1, lmmiqa_error_message());
            code = cli_exit_code(rc);
        }
    }
    FILE *f = NULL;
    if (code == CLI_EXIT_OK) {
        f = strcmp(output, "-") == 0 ? stdout : fopen(output, "w");
        if (!f) {
            cli_error(cmd, "%s: cannot create", output);
            code = CLI_EXIT_FAILURE;
        }
    }
    if (f) {
        fputs("text", f);
        for (int k = 0; k < c->embed_dim; k++)
            fprintf(f, ",e%d", k);
        fputc('\n', f);
        for (int i = 0; i < n; i++) {
            cli_csv_field(f, texts[i]);
            for (int k = 0; k < c->embed_dim; k++)
                fprintf(f, ",%.9g", (double)e[(size_t)i * (size_t)c->embed_dim + (size_t)k]);
            fputc('\n', f);
        }
        int bad = fflush(f) != 0 || ferror(f);
        if (f != stdout)
            bad |= fclose(f) != 0;
        if (bad) {
            cli_error(cmd, "%s: write failed", output);
            code = CLI_EXIT_FAILURE;
        }
    }
    free(e);
    free(ids);
    lmmiqa_text_state_destroy(st);
    lmmiqa_text_destroy(model);
    return code;
}

int cmd_text(int argc, char **argv)
{
    const char *cmd = "text";
    if (argc < 2 || cli_is_help(argv[1])) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    const char *sub = argv[1];
    int is_embed = strcmp(sub, "embed") == 0;
    if (!is_embed && strcmp(sub, "tokenize") != 0) {
        cli_error(cmd, "unknown subcommand '%s' (tokenize, embed)", sub);
        return CLI_EXIT_USAGE;
    }
    const char *vocab = NULL, *weights = NULL, *output = "-";
    char **texts = argv + 2;
    int n = 0;
    for (int i = 2; i < argc; i++) {
        int m;
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(argv[i], "--") == 0) {
            while (++i < argc)
                texts[n++] = argv[i];
            break;
        }
        if ((m = cli_opt_value(cmd, argc, argv, &i, "--vocab", &vocab)) != 0 ||
            (is_embed && (m = cli_opt_value(cmd, argc, argv, &i, "--weights", &weights)) != 0) ||
            (is_embed && (m = cli_opt_value(cmd, argc, argv, &i, "--output", &output)) != 0)) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1] == '-') {
            cli_error(cmd, "unknown option '%s' for text %s (see lmmiqa text --help)", argv[i],
                      sub);
            return CLI_EXIT_USAGE;
        }
        texts[n++] = argv[i];
    }
    if (n == 0) {
        cli_error(cmd, "no texts given (see lmmiqa text --help)");
        return CLI_EXIT_USAGE;
    }
    if (is_embed && !weights) {
        cli_error(cmd, "text embed needs --weights FILE (a CLIP checkpoint with its text tower)");
        return CLI_EXIT_USAGE;
    }
    lmmiqa_tokenizer *tok = NULL;
    int code = load_vocab(cmd, vocab, weights, &tok);
    if (code != CLI_EXIT_OK)
        return code;
    code = is_embed ? embed(cmd, tok, weights, output, n, texts) : tokenize(cmd, tok, n, texts);
    lmmiqa_tokenizer_destroy(tok);
    return code;
}
