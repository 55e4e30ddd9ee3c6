/*
 * tests/test_text_tokenizer.c - the CLIP tokenizer against OpenAI's algorithm:
 * tests/data/text/golden_tokens.jsonl (382 strings: prompts, punctuation,
 * contractions, numbers, HTML entities, accented, decomposed, CJK, emoji,
 * controls, random Unicode, long texts; ids with and without the 77-token
 * limit) from tools/ref/clip_tokenizer_ref.py, read through OpenAI's
 * bpe_simple_vocab_16e6.txt.gz and through a Hugging Face vocab.json +
 * merges.txt written from it here; a small HF vocabulary with permuted ids
 * (tests/data/text/hf_tiny); and the error paths. The OpenAI vocabulary comes
 * from ../shared/vocab/clip (LMMIQA_SHARED_DIR); without it those parts skip.
 */
#include "lmmiqa/advanced/text.h"
#include "test.h"

#include <cjson/cJSON.h>
#include <zlib.h>

#define DATA LMMIQA_SOURCE_DIR "/tests/data/text"

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = '\0';
    fclose(f);
    return s;
}

/* Compare the tokenizer with every record of a golden JSONL file; returns
 * the number of records checked. */
static int check_golden(const lmmiqa_tokenizer *tok, const char *path, const char *label)
{
    char *text = read_text(path);
    CHECK_MSG(text != NULL, "cannot read %s", path);
    if (!text)
        return 0;
    int records = 0, bad = 0;
    int32_t ids[4096];
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *rec = cJSON_Parse(line);
        const cJSON *t = cJSON_GetObjectItem(rec, "text");
        CHECK(cJSON_IsString(t));
        if (strstr(line, "\\u0000")) {
            cJSON_Delete(rec); /* a C string cannot hold NUL: skipped */
            continue;
        }
        if (!cJSON_IsString(t)) {
            cJSON_Delete(rec);
            continue;
        }
        const char *keys[2] = {"ids", "ids77"};
        for (int k = 0; k < 2; k++) {
            const cJSON *want = cJSON_GetObjectItem(rec, keys[k]);
            if (!want)
                continue;
            size_t n = 0;
            int rc = lmmiqa_tokenizer_encode(tok, t->valuestring, k ? 77 : 0, ids, 4096, &n);
            int same = rc == LMMIQA_OK && (int)n == cJSON_GetArraySize(want);
            for (int i = 0; same && i < (int)n; i++)
                same = ids[i] == (int32_t)cJSON_GetArrayItem(want, i)->valuedouble;
            if (!same && bad++ < 20) {
                char *esc = cJSON_PrintUnformatted(t);
                fprintf(stderr, "  %s %s: %s: got %zu ids:", label, keys[k], esc, n);
                for (size_t i = 0; i < n && i < 24; i++)
                    fprintf(stderr, " %d", ids[i]);
                fprintf(stderr, "\n    want:");
                for (int i = 0; i < cJSON_GetArraySize(want) && i < 24; i++)
                    fprintf(stderr, " %d", (int)cJSON_GetArrayItem(want, i)->valuedouble);
                fprintf(stderr, "\n");
                free(esc);
            }
            CHECK(same);
        }
        records++;
        cJSON_Delete(rec);
    }
    free(text);
    fprintf(stderr, "  %s: %d strings, %d mismatches\n", label, records, bad);
    return records;
}

static void test_hf_tiny(void)
{
    lmmiqa_tokenizer *tok = NULL;
    CHECK_OK(lmmiqa_tokenizer_load(DATA "/hf_tiny", &tok));
    if (!tok)
        return;
    CHECK(lmmiqa_tokenizer_vocab_size(tok) == 814);
    CHECK(check_golden(tok, DATA "/hf_tiny/golden.jsonl", "hf_tiny") == 62);
    lmmiqa_tokenizer_destroy(tok);
    /* the same through the explicit entry point and through vocab.json */
    CHECK_OK(lmmiqa_tokenizer_load_hf(DATA "/hf_tiny/vocab.json", DATA "/hf_tiny/merges.txt",
                                      &tok));
    lmmiqa_tokenizer_destroy(tok);
    CHECK_OK(lmmiqa_tokenizer_load(DATA "/hf_tiny/vocab.json", &tok));
    lmmiqa_tokenizer_destroy(tok);
}

static const char *tmp(const char *name)
{
    return test_path_mkdir(LMMIQA_BINARY_DIR, "test_text_tokenizer_tmp", name);
}

static void write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        fputs(s, f);
        fclose(f);
    }
}

static void test_errors(void)
{
    lmmiqa_tokenizer *tok = NULL;
    CHECK(lmmiqa_tokenizer_load(DATA "/no-such-vocab.txt.gz", &tok) == LMMIQA_ERR_IO);
    CHECK(tok == NULL);
    CHECK(lmmiqa_tokenizer_load(LMMIQA_SOURCE_DIR "/tests", &tok) == LMMIQA_ERR_IO);
    CHECK(strstr(lmmiqa_error_message(), "vocab.json") != NULL);
    /* a gzip header with garbage after it */
    const char *bad = tmp("bad.txt.gz");
    write_file(bad, "\x1f\x8b\x08\x00garbage");
    CHECK(lmmiqa_tokenizer_load(bad, &tok) == LMMIQA_ERR_CORRUPT);
    /* a merge whose parts are not in the vocabulary */
    const char *m = tmp("merges.txt");
    write_file(m, "#version: 0.2\nt h\nzz qq\n");
    const char *v = tmp("vocab.json");
    write_file(v, "{\"t\": 0, \"h\": 1}");
    CHECK(lmmiqa_tokenizer_load_hf(v, m, &tok) == LMMIQA_ERR_CORRUPT);
    write_file(v, "[1, 2]");
    CHECK(lmmiqa_tokenizer_load_hf(v, m, &tok) == LMMIQA_ERR_CORRUPT);
    write_file(m, "#version: 0.2\nonlyone\n");
    CHECK(lmmiqa_tokenizer_load(m, &tok) == LMMIQA_ERR_CORRUPT);
    CHECK(strstr(lmmiqa_error_message(), "line 2") != NULL);
    lmmiqa_tokenizer_destroy(NULL);

    CHECK_OK(lmmiqa_tokenizer_load(DATA "/hf_tiny", &tok));
    if (!tok)
        return;
    size_t n = 0;
    int32_t ids[8];
    CHECK(lmmiqa_tokenizer_encode(tok, "caf\xc3", 0, ids, 8, &n) == LMMIQA_ERR_FORMAT);
    CHECK(lmmiqa_tokenizer_encode(tok, "\xed\xa0\x80", 0, ids, 8, &n) == LMMIQA_ERR_FORMAT);
    CHECK(lmmiqa_tokenizer_encode(tok, "\xc0\xaf", 0, ids, 8, &n) == LMMIQA_ERR_FORMAT);
    CHECK(lmmiqa_tokenizer_encode(tok, "abc", 1, ids, 8, &n) == LMMIQA_ERR_INVALID_ARG);
    /* size query, then a buffer too small */
    CHECK_OK(lmmiqa_tokenizer_encode(tok, "x y z w v u t s r", 0, NULL, 0, &n));
    CHECK(n > 8);
    size_t need = n;
    CHECK(lmmiqa_tokenizer_encode(tok, "x y z w v u t s r", 0, ids, 8, &n) == LMMIQA_ERR_TOO_LARGE);
    CHECK(n == need);
    /* truncation keeps the end token */
    CHECK_OK(lmmiqa_tokenizer_encode(tok, "x y z w v u t s r", 4, ids, 8, &n));
    CHECK(n == 4 && ids[0] == lmmiqa_tokenizer_sot(tok) && ids[3] == lmmiqa_tokenizer_eot(tok));
    CHECK_OK(lmmiqa_tokenizer_encode(tok, "", 0, ids, 8, &n));
    CHECK(n == 2);
    lmmiqa_tokenizer_destroy(tok);
}

/* Hugging Face's vocab.json + merges.txt for CLIP, written from OpenAI's
 * merges file as transformers' conversion does (same ids). */
static int write_hf_from_gz(const char *gz, const char *vocab, const char *merges)
{
    gzFile f = gzopen(gz, "rb");
    if (!f)
        return 0;
    size_t cap = 4 << 20, n = 0;
    char *s = malloc(cap);
    int r;
    while (s && (r = gzread(f, s + n, (unsigned)(cap - n - 1))) > 0) {
        n += (size_t)r;
        if (n + 1 == cap)
            s = realloc(s, cap *= 2);
    }
    gzclose(f);
    if (!s)
        return 0;
    s[n] = '\0';
    FILE *fm = fopen(merges, "wb"), *fv = fopen(vocab, "wb");
    if (!fm || !fv) {
        free(s);
        return 0;
    }
    /* the byte table of simple_tokenizer.py */
    int order[256], k = 0, extra = 0;
    unsigned cp[256];
    for (int pass = 0; pass < 2; pass++)
        for (int b = 0; b < 256; b++) {
            int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
            if (printable == !pass) {
                order[k++] = b;
                cp[b] = printable ? (unsigned)b : 256u + (unsigned)extra++;
            }
        }
    char sym[256][4];
    for (int b = 0; b < 256; b++) {
        unsigned c = cp[b];
        if (c < 0x80) {
            sym[b][0] = (char)c;
            sym[b][1] = 0;
        } else {
            sym[b][0] = (char)(0xC0 | (c >> 6));
            sym[b][1] = (char)(0x80 | (c & 0x3F));
            sym[b][2] = 0;
        }
    }
    cJSON *root = cJSON_CreateObject();
    char buf[512];
    int id = 0;
    for (int i = 0; i < 256; i++)
        cJSON_AddNumberToObject(root, sym[order[i]], id++);
    for (int i = 0; i < 256; i++) {
        snprintf(buf, sizeof buf, "%s</w>", sym[order[i]]);
        cJSON_AddNumberToObject(root, buf, id++);
    }
    char *line = strtok(s, "\n");
    fprintf(fm, "%s\n", line);
    for (int i = 0; i < 48894 && (line = strtok(NULL, "\n")); i++) {
        fprintf(fm, "%s\n", line);
        char a[256], b[256];
        if (sscanf(line, "%255s %255s", a, b) != 2)
            break;
        snprintf(buf, sizeof buf, "%s%s", a, b);
        cJSON_AddNumberToObject(root, buf, id++);
    }
    cJSON_AddNumberToObject(root, "<|startoftext|>", id++);
    cJSON_AddNumberToObject(root, "<|endoftext|>", id++);
    char *js = cJSON_PrintUnformatted(root);
    fputs(js, fv);
    free(js);
    cJSON_Delete(root);
    fclose(fm);
    fclose(fv);
    free(s);
    return id == 49408;
}

int main(void)
{
    RUN(test_hf_tiny);
    RUN(test_errors);
    static char gz[4200];
    const char *shared = test_shared_dir();
    snprintf(gz, sizeof gz, "%s/vocab/clip/bpe_simple_vocab_16e6.txt.gz",
             shared ? shared : "../shared");
    FILE *probe = fopen(gz, "rb");
    if (!probe) {
        printf("SKIP: %s not found (set LMMIQA_SHARED_DIR); the OpenAI-vocabulary parity "
               "needs it (the small Hugging Face vocabulary passed: %d checks)\n",
               gz, test_checks_passed);
        return test_checks_failed ? 1 : 77;
    }
    fclose(probe);
    lmmiqa_tokenizer *tok = NULL;
    CHECK_OK(lmmiqa_tokenizer_load(gz, &tok));
    if (tok) {
        CHECK(lmmiqa_tokenizer_vocab_size(tok) == 49408);
        CHECK(lmmiqa_tokenizer_sot(tok) == 49406 && lmmiqa_tokenizer_eot(tok) == 49407);
        CHECK(check_golden(tok, DATA "/golden_tokens.jsonl", "openai-gz") == 381);
        lmmiqa_tokenizer_destroy(tok);
    }
    const char *v = tmp("clip_vocab.json"), *m = tmp("clip_merges.txt");
    CHECK(write_hf_from_gz(gz, v, m));
    tok = NULL;
    CHECK_OK(lmmiqa_tokenizer_load_hf(v, m, &tok));
    if (tok) {
        CHECK(lmmiqa_tokenizer_vocab_size(tok) == 49408);
        CHECK(check_golden(tok, DATA "/golden_tokens.jsonl", "hf-json") == 381);
        lmmiqa_tokenizer_destroy(tok);
    }
    return test_finish();
}
