/*
 * src/text/tokenizer.c - OpenAI CLIP's byte-level BPE tokenizer (see
 * lmmiqa/text.h for the algorithm and docs/clipiqa.md for its fidelity).
 *
 * Vocabulary: token strings are kept in the byte-to-unicode encoding of the
 * reference (each byte a printable code point, '</w>' appended at the end of
 * a word); a string -> id hash gives the ids. For OpenAI's merges file the
 * vocabulary is built as simple_tokenizer.py builds it (256 byte symbols in
 * table order, the same with '</w>', one token per merge, the two special
 * tokens); Hugging Face's vocab.json gives the ids directly. Merges become a
 * hash from the id pair to (rank, merged id), so BPE runs on id arrays:
 * repeatedly the pair of lowest rank is merged at every occurrence, left to
 * right, until no pair has a rank - the reference's loop.
 *
 * Encoding: UTF-8 -> code points -> cleanup (clean.c) -> pre-tokens (the
 * reference regex, hand-written) -> UTF-8 bytes of each pre-token -> BPE.
 * Scratch is allocated per call (tokenizing is not on a per-image path).
 */
#include "lmmiqa/advanced/text.h"

#include "core/internal.h"
#include "text/text_internal.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define MERGES_USED (49152 - 256 - 2) /* lines 1..48894 of the merges file */
#define MAX_VOCAB_BYTES (64u << 20)

typedef struct str_map { /* open addressing: string -> id */
    char **keys;
    int32_t *vals;
    size_t cap;
} str_map;

typedef struct pair_entry {
    uint64_t key; /* (a << 32 | b) + 1; 0 = empty */
    int32_t rank, merged;
} pair_entry;

struct lmmiqa_tokenizer {
    int vocab_size;
    int32_t sot, eot;
    int32_t byte_id[256], byte_eow_id[256];
    pair_entry *pairs;
    size_t pairs_cap;
    char sha256[65];
};

/* ------------------------------------------------------------- utilities */

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int map_init(str_map *m, size_t n)
{
    m->cap = 16;
    while (m->cap < 2 * n)
        m->cap <<= 1;
    m->keys = lmmiqa__calloc(m->cap, sizeof *m->keys);
    m->vals = lmmiqa__calloc(m->cap, sizeof *m->vals);
    return m->keys && m->vals ? LMMIQA_OK : LMMIQA_ERR_NOMEM;
}

static void map_free(str_map *m)
{
    if (m->keys)
        for (size_t i = 0; i < m->cap; i++)
            free(m->keys[i]);
    free(m->keys);
    free(m->vals);
}

static size_t map_slot(const str_map *m, const char *s, size_t n)
{
    size_t i = (size_t)hash_bytes(s, n) & (m->cap - 1);
    while (m->keys[i] && (strlen(m->keys[i]) != n || memcmp(m->keys[i], s, n) != 0))
        i = (i + 1) & (m->cap - 1);
    return i;
}

/* Insert or overwrite (Python dict semantics: a later duplicate wins). */
static int map_put(str_map *m, const char *s, size_t n, int32_t v)
{
    size_t i = map_slot(m, s, n);
    if (!m->keys[i]) {
        m->keys[i] = lmmiqa__malloc(n + 1);
        if (!m->keys[i])
            return LMMIQA_ERR_NOMEM;
        memcpy(m->keys[i], s, n);
        m->keys[i][n] = '\0';
    }
    m->vals[i] = v;
    return LMMIQA_OK;
}

static int32_t map_get(const str_map *m, const char *s, size_t n)
{
    size_t i = map_slot(m, s, n);
    return m->keys[i] ? m->vals[i] : -1;
}

static size_t put_utf8(uint32_t c, char *o)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* Strict UTF-8 decoding (no surrogates, no overlongs). Returns the number
 * of code points, or -(1 + byte offset) of the first invalid sequence. */
static long decode_utf8(const unsigned char *s, size_t n, uint32_t *out)
{
    size_t i = 0;
    long k = 0;
    while (i < n) {
        unsigned c = s[i];
        uint32_t cp;
        size_t len;
        if (c < 0x80) {
            cp = c;
            len = 1;
        } else if (c >= 0xC2 && c <= 0xDF) {
            cp = c & 0x1F;
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            cp = c & 0x0F;
            len = 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            cp = c & 0x07;
            len = 4;
        } else {
            return -(long)(1 + i);
        }
        if (i + len > n)
            return -(long)(1 + i);
        for (size_t j = 1; j < len; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return -(long)(1 + i);
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return -(long)(1 + i);
        out[k++] = cp;
        i += len;
    }
    return k;
}

/* OpenAI's bytes_to_unicode: printable Latin-1 bytes map to themselves, the
 * others to 256, 257, ... in byte order. order[i] = the i-th byte of the
 * table (the vocabulary's order). */
static void byte_table(uint32_t cp[256], int order[256])
{
    int n = 0, extra = 0;
    for (int b = 0; b < 256; b++)
        if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) {
            cp[b] = (uint32_t)b;
            order[n++] = b;
        }
    for (int b = 0; b < 256; b++)
        if (!((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))) {
            cp[b] = (uint32_t)(256 + extra++);
            order[n++] = b;
        }
}

/* ------------------------------------------------------------- building */

static int pairs_init(lmmiqa_tokenizer *t, size_t n)
{
    t->pairs_cap = 16;
    while (t->pairs_cap < 2 * n)
        t->pairs_cap <<= 1;
    t->pairs = lmmiqa__calloc(t->pairs_cap, sizeof *t->pairs);
    return t->pairs ? LMMIQA_OK : LMMIQA_ERR_NOMEM;
}

static const pair_entry *pair_find(const lmmiqa_tokenizer *t, int32_t a, int32_t b)
{
    uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    size_t i = (size_t)mix64(key) & (t->pairs_cap - 1);
    while (t->pairs[i].key) {
        if (t->pairs[i].key == key)
            return &t->pairs[i];
        i = (i + 1) & (t->pairs_cap - 1);
    }
    return NULL;
}

/* Insert or overwrite: a pair listed twice takes its later rank, as
 * dict(zip(merges, range(len(merges)))) does. */
static void pair_put(lmmiqa_tokenizer *t, int32_t a, int32_t b, int32_t rank, int32_t merged)
{
    uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    size_t i = (size_t)mix64(key) & (t->pairs_cap - 1);
    while (t->pairs[i].key && t->pairs[i].key != key)
        i = (i + 1) & (t->pairs_cap - 1);
    t->pairs[i].key = key;
    t->pairs[i].rank = rank;
    t->pairs[i].merged = merged;
}

/* Split a merges line "A B" (UTF-8) into its two parts. */
static int split_merge(char *line, char **a, char **b)
{
    char *p = line;
    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    *a = p;
    while (*p && *p != ' ' && *p != '\t' && *p != '\r')
        p++;
    if (!*p)
        return 0;
    *p++ = '\0';
    while (*p == ' ' || *p == '\t')
        p++;
    *b = p;
    while (*p && *p != ' ' && *p != '\t' && *p != '\r')
        p++;
    char *end = p;
    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    if (*p || end == *b)
        return 0;
    *end = '\0';
    return 1;
}

/* Next line of text[size] from *pos (the newline replaced by NUL). */
static char *next_line(char *text, size_t size, size_t *pos)
{
    if (*pos > size)
        return NULL;
    char *s = text + *pos;
    char *nl = memchr(s, '\n', size - *pos);
    if (nl) {
        *nl = '\0';
        *pos = (size_t)(nl - text) + 1;
    } else {
        *pos = size + 1;
    }
    return s;
}

/* Merges lines 1..48894 of text (the first is a header); with vocab == NULL
 * the vocabulary is built from them as the reference does. */
static int build(lmmiqa_tokenizer *t, char *text, size_t size, str_map *vocab, const char *path)
{
    uint32_t cp[256];
    int order[256];
    byte_table(cp, order);
    char sym[256][8], sym_eow[256][12];
    for (int b = 0; b < 256; b++) {
        size_t k = put_utf8(cp[b], sym[b]);
        sym[b][k] = '\0';
        memcpy(sym_eow[b], sym[b], k);
        memcpy(sym_eow[b] + k, "</w>", 5);
    }
    /* collect the merge lines */
    char **ma = lmmiqa__malloc(sizeof(char *) * MERGES_USED);
    char **mb = lmmiqa__malloc(sizeof(char *) * MERGES_USED);
    if (!ma || !mb) {
        free(ma);
        free(mb);
        return LMMIQA_ERR_NOMEM;
    }
    size_t pos = 0;
    int n = 0, rc = LMMIQA_OK;
    char *line = next_line(text, size, &pos); /* header */
    while (n < MERGES_USED && (line = next_line(text, size, &pos)) != NULL) {
        if (!split_merge(line, &ma[n], &mb[n])) {
            if (*line == '\0' && pos > size)
                break; /* trailing newline */
            rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                              "%s: merges line %d is not two space-separated symbols", path,
                              n + 2);
            goto done;
        }
        n++;
    }
    if (n < 1) {
        rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: no BPE merges", path);
        goto done;
    }
    str_map own = {0};
    if (!vocab) {
        vocab = &own;
        if ((rc = map_init(vocab, 512 + (size_t)n + 2)) != LMMIQA_OK)
            goto done_own;
        int32_t id = 0;
        for (int i = 0; i < 256 && rc == LMMIQA_OK; i++)
            rc = map_put(vocab, sym[order[i]], strlen(sym[order[i]]), id++);
        for (int i = 0; i < 256 && rc == LMMIQA_OK; i++)
            rc = map_put(vocab, sym_eow[order[i]], strlen(sym_eow[order[i]]), id++);
        char buf[1024];
        for (int i = 0; i < n && rc == LMMIQA_OK; i++) {
            int len = snprintf(buf, sizeof buf, "%s%s", ma[i], mb[i]);
            if (len < 0 || (size_t)len >= sizeof buf) {
                rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: merge %d is too long", path, i + 1);
                break;
            }
            rc = map_put(vocab, buf, (size_t)len, id++);
        }
        if (rc == LMMIQA_OK)
            rc = map_put(vocab, "<|startoftext|>", 15, id++);
        if (rc == LMMIQA_OK)
            rc = map_put(vocab, "<|endoftext|>", 13, id++);
        t->vocab_size = id;
    }
    if (rc != LMMIQA_OK)
        goto done_own;
    for (int b = 0; b < 256; b++) {
        t->byte_id[b] = map_get(vocab, sym[b], strlen(sym[b]));
        t->byte_eow_id[b] = map_get(vocab, sym_eow[b], strlen(sym_eow[b]));
        if (t->byte_id[b] < 0 || t->byte_eow_id[b] < 0) {
            rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                              "%s: the vocabulary lacks the byte symbol '%s' or '%s'", path,
                              sym[b], sym_eow[b]);
            goto done_own;
        }
    }
    t->sot = map_get(vocab, "<|startoftext|>", 15);
    t->eot = map_get(vocab, "<|endoftext|>", 13);
    if (t->sot < 0 || t->eot < 0) {
        rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                          "%s: the vocabulary lacks <|startoftext|> or <|endoftext|>", path);
        goto done_own;
    }
    if ((rc = pairs_init(t, (size_t)n)) != LMMIQA_OK)
        goto done_own;
    char buf[1024];
    for (int i = 0; i < n; i++) {
        int32_t a = map_get(vocab, ma[i], strlen(ma[i])), b = map_get(vocab, mb[i], strlen(mb[i]));
        int len = snprintf(buf, sizeof buf, "%s%s", ma[i], mb[i]);
        int32_t m = len > 0 && (size_t)len < sizeof buf ? map_get(vocab, buf, (size_t)len) : -1;
        if (a < 0 || b < 0 || m < 0) {
            rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                              "%s: merge %d ('%s' '%s') uses a symbol missing from the "
                              "vocabulary",
                              path, i + 1, ma[i], mb[i]);
            goto done_own;
        }
        pair_put(t, a, b, i, m);
    }
done_own:
    if (vocab == &own)
        map_free(&own);
done:
    free(ma);
    free(mb);
    return rc;
}

static int is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Whole file, gunzipped when it is gzip; NUL-terminated. */
static int read_maybe_gz(const char *path, char **out, size_t *size)
{
    unsigned char *raw = NULL;
    size_t n = 0;
    int rc = lmmiqa__file_read_all(path, MAX_VOCAB_BYTES, &raw, &n);
    if (rc != LMMIQA_OK)
        return rc;
    if (n < 2 || raw[0] != 0x1f || raw[1] != 0x8b) {
        char *s = realloc(raw, n + 1);
        if (!s) {
            free(raw);
            return LMMIQA_ERR_NOMEM;
        }
        s[n] = '\0';
        *out = s;
        *size = n;
        return LMMIQA_OK;
    }
    size_t cap = 4 * n + 1024, len = 0;
    char *dst = lmmiqa__malloc(cap);
    if (!dst) {
        free(raw);
        return LMMIQA_ERR_NOMEM;
    }
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        free(raw);
        free(dst);
        return lmmiqa__fail(LMMIQA_ERR_INTERNAL, "zlib: inflateInit2 failed");
    }
    z.next_in = raw;
    z.avail_in = (uInt)n;
    int zr = Z_OK;
    while (zr != Z_STREAM_END) {
        if (len + 1 >= cap) {
            if (cap >= MAX_VOCAB_BYTES) {
                zr = Z_MEM_ERROR;
                break;
            }
            char *nd = realloc(dst, cap * 2);
            if (!nd) {
                zr = Z_MEM_ERROR;
                break;
            }
            dst = nd;
            cap *= 2;
        }
        z.next_out = (Bytef *)dst + len;
        z.avail_out = (uInt)(cap - 1 - len);
        zr = inflate(&z, Z_NO_FLUSH);
        len = cap - 1 - z.avail_out;
        if (zr != Z_OK && zr != Z_STREAM_END)
            break;
    }
    inflateEnd(&z);
    free(raw);
    if (zr != Z_STREAM_END) {
        free(dst);
        return zr == Z_MEM_ERROR ? lmmiqa__fail(LMMIQA_ERR_TOO_LARGE,
                                                "%s: decompressed vocabulary over %u MiB",
                                                path, MAX_VOCAB_BYTES >> 20)
                                 : lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                                "%s: corrupt or truncated gzip data", path);
    }
    dst[len] = '\0';
    *out = dst;
    *size = len;
    return LMMIQA_OK;
}

static int load_merges_file(const char *path, lmmiqa_tokenizer *t)
{
    char *text = NULL;
    size_t size = 0;
    int rc = read_maybe_gz(path, &text, &size);
    if (rc == LMMIQA_OK)
        rc = build(t, text, size, NULL, path);
    free(text);
    if (rc == LMMIQA_OK)
        rc = lmmiqa__sha256_file(path, t->sha256);
    return rc;
}

int lmmiqa_tokenizer_load_hf(const char *vocab_json, const char *merges_txt,
                             lmmiqa_tokenizer **out)
{
    assert(vocab_json && merges_txt && out);
    *out = NULL;
    lmmiqa_tokenizer *t = lmmiqa__calloc(1, sizeof *t);
    if (!t)
        return LMMIQA_ERR_NOMEM;
    unsigned char *js = NULL;
    size_t jn = 0;
    char *merges = NULL;
    size_t mn = 0;
    cJSON *root = NULL;
    str_map vocab = {0};
    int rc = lmmiqa__file_read_all(vocab_json, MAX_VOCAB_BYTES, &js, &jn);
    if (rc != LMMIQA_OK)
        goto fail;
    root = cJSON_ParseWithLength((const char *)js, jn);
    if (!cJSON_IsObject(root)) {
        rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: not a JSON object of token -> id",
                          vocab_json);
        goto fail;
    }
    int count = cJSON_GetArraySize(root);
    if ((rc = map_init(&vocab, (size_t)count)) != LMMIQA_OK)
        goto fail;
    int32_t max_id = -1;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 1e7 ||
            e->valuedouble != (double)(int32_t)e->valuedouble) {
            rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: token '%s' has no valid id", vocab_json,
                              e->string ? e->string : "?");
            goto fail;
        }
        int32_t id = (int32_t)e->valuedouble;
        if ((rc = map_put(&vocab, e->string, strlen(e->string), id)) != LMMIQA_OK)
            goto fail;
        if (id > max_id)
            max_id = id;
    }
    t->vocab_size = max_id + 1;
    if ((rc = read_maybe_gz(merges_txt, &merges, &mn)) != LMMIQA_OK)
        goto fail;
    if ((rc = build(t, merges, mn, &vocab, merges_txt)) != LMMIQA_OK)
        goto fail;
    char h1[65], h2[65];
    if ((rc = lmmiqa__sha256_file(vocab_json, h1)) != LMMIQA_OK ||
        (rc = lmmiqa__sha256_file(merges_txt, h2)) != LMMIQA_OK)
        goto fail;
    char both[130];
    memcpy(both, h1, 64);
    memcpy(both + 64, h2, 64);
    lmmiqa__sha256_hex(both, 128, t->sha256);
    map_free(&vocab);
    cJSON_Delete(root);
    free(js);
    free(merges);
    *out = t;
    return LMMIQA_OK;
fail:
    map_free(&vocab);
    cJSON_Delete(root);
    free(js);
    free(merges);
    lmmiqa_tokenizer_destroy(t);
    return rc;
}

int lmmiqa_tokenizer_load(const char *path, lmmiqa_tokenizer **out)
{
    assert(path && out);
    *out = NULL;
    char a[4200], b[4200];
    if (is_dir(path)) {
        snprintf(a, sizeof a, "%s/vocab.json", path);
        snprintf(b, sizeof b, "%s/merges.txt", path);
        if (is_file(a) && is_file(b))
            return lmmiqa_tokenizer_load_hf(a, b, out);
        snprintf(a, sizeof a, "%s/bpe_simple_vocab_16e6.txt.gz", path);
        if (is_file(a))
            return lmmiqa_tokenizer_load(a, out);
        return lmmiqa__fail(LMMIQA_ERR_IO,
                            "%s: holds neither vocab.json + merges.txt (Hugging Face) nor "
                            "bpe_simple_vocab_16e6.txt.gz (OpenAI)",
                            path);
    }
    size_t n = strlen(path);
    if (n >= 5 && strcmp(path + n - 5, ".json") == 0) {
        const char *slash = strrchr(path, '/');
        int dirlen = slash ? (int)(slash - path) : 1;
        snprintf(b, sizeof b, "%.*s/merges.txt", dirlen, slash ? path : ".");
        if (!is_file(b))
            return lmmiqa__fail(LMMIQA_ERR_IO, "%s: no merges.txt beside this vocab.json", path);
        return lmmiqa_tokenizer_load_hf(path, b, out);
    }
    lmmiqa_tokenizer *t = lmmiqa__calloc(1, sizeof *t);
    if (!t)
        return LMMIQA_ERR_NOMEM;
    int rc = load_merges_file(path, t);
    if (rc != LMMIQA_OK) {
        lmmiqa_tokenizer_destroy(t);
        return rc;
    }
    *out = t;
    return LMMIQA_OK;
}

void lmmiqa_tokenizer_destroy(lmmiqa_tokenizer *tok)
{
    if (!tok)
        return;
    free(tok->pairs);
    free(tok);
}

int lmmiqa_tokenizer_vocab_size(const lmmiqa_tokenizer *tok) { return tok->vocab_size; }
int32_t lmmiqa_tokenizer_sot(const lmmiqa_tokenizer *tok) { return tok->sot; }
int32_t lmmiqa_tokenizer_eot(const lmmiqa_tokenizer *tok) { return tok->eot; }
const char *lmmiqa_tokenizer_sha256(const lmmiqa_tokenizer *tok) { return tok->sha256; }

/* -------------------------------------------------------------- encoding */

/* BPE of one pre-token's bytes: word[] (capacity n) receives the ids;
 * returns their count. */
static size_t bpe(const lmmiqa_tokenizer *t, const unsigned char *s, size_t n, int32_t *word)
{
    for (size_t i = 0; i < n; i++)
        word[i] = i + 1 == n ? t->byte_eow_id[s[i]] : t->byte_id[s[i]];
    size_t len = n;
    while (len > 1) {
        int32_t best = INT32_MAX, merged = -1, first = -1, second = -1;
        for (size_t i = 0; i + 1 < len; i++) {
            const pair_entry *e = pair_find(t, word[i], word[i + 1]);
            if (e && e->rank < best) {
                best = e->rank;
                merged = e->merged;
                first = word[i];
                second = word[i + 1];
            }
        }
        if (merged < 0)
            break;
        size_t o = 0;
        for (size_t i = 0; i < len;) {
            if (i + 1 < len && word[i] == first && word[i + 1] == second) {
                word[o++] = merged;
                i += 2;
            } else {
                word[o++] = word[i++];
            }
        }
        len = o;
    }
    return len;
}

static uint32_t fold_ascii(uint32_t c)
{
    if (c == 0x017F) /* LATIN SMALL LETTER LONG S folds to s under IGNORECASE */
        return 's';
    if (c == 0x212A) /* KELVIN SIGN folds to k */
        return 'k';
    return c < 128 && c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Case-insensitive match of ASCII lit at s[i..n). */
static int match_ci(const uint32_t *s, size_t i, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    if (i + k > n)
        return 0;
    for (size_t j = 0; j < k; j++)
        if (fold_ascii(s[i + j]) != (uint32_t)(unsigned char)lit[j])
            return 0;
    return 1;
}

/* Length of the pre-token at s[i] (the reference regex, alternatives in
 * order); 0 when nothing matches there (whitespace, and the few characters
 * that IGNORECASE puts in neither class, e.g. U+0345): findall skips it. *special: 1 for an
 * exact <|startoftext|>, 2 for an exact <|endoftext|>. */
static size_t pretoken(const uint32_t *s, size_t i, size_t n, int *special)
{
    *special = 0;
    static const char *const sp[2] = {"<|startoftext|>", "<|endoftext|>"};
    for (int k = 0; k < 2; k++)
        if (match_ci(s, i, n, sp[k])) {
            size_t len = strlen(sp[k]);
            int exact = 1;
            for (size_t j = 0; j < len; j++)
                exact &= s[i + j] == (uint32_t)(unsigned char)sp[k][j];
            *special = exact ? k + 1 : 0;
            return len;
        }
    static const char *const contractions[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
    for (size_t k = 0; k < sizeof contractions / sizeof contractions[0]; k++)
        if (match_ci(s, i, n, contractions[k]))
            return strlen(contractions[k]);
    if (lmmiqa__text_is_letter(s[i])) {
        size_t j = i + 1;
        while (j < n && lmmiqa__text_is_letter(s[j]))
            j++;
        return j - i;
    }
    if (lmmiqa__text_is_number(s[i]))
        return 1;
    if (!lmmiqa__text_is_other(s[i]))
        return 0;
    size_t j = i + 1;
    while (j < n && lmmiqa__text_is_other(s[j]))
        j++;
    return j - i;
}

int lmmiqa_tokenizer_encode(const lmmiqa_tokenizer *tok, const char *text, int context_length,
                            int32_t *ids, size_t capacity, size_t *n_ids)
{
    assert(tok && text && n_ids);
    *n_ids = 0;
    if (context_length == 1 || context_length < 0)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "tokenizer: context length %d (0 = no limit, else >= 2)",
                            context_length);
    size_t len = strlen(text);
    if (len > (64u << 20))
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "tokenizer: text over 64 MiB");
    uint32_t *cps = lmmiqa__malloc((len + 1) * sizeof *cps);
    if (!cps)
        return LMMIQA_ERR_NOMEM;
    long ncp = decode_utf8((const unsigned char *)text, len, cps);
    if (ncp < 0) {
        free(cps);
        return lmmiqa__fail(LMMIQA_ERR_FORMAT, "tokenizer: text is not valid UTF-8 (byte %ld)",
                            -ncp - 1);
    }
    uint32_t *clean = NULL;
    size_t nc = 0;
    int crc = lmmiqa__text_clean(cps, (size_t)ncp, &clean, &nc);
    free(cps);
    if (crc != 0)
        return LMMIQA_ERR_NOMEM;
    /* every byte gives at most one id; pre-token bytes <= 4 per code point */
    size_t cap = 4 * nc + 2;
    int32_t *all = lmmiqa__malloc(cap * sizeof *all);
    int32_t *word = lmmiqa__malloc(cap * sizeof *word);
    unsigned char *bytes = lmmiqa__malloc(cap);
    if (!all || !word || !bytes) {
        free(clean);
        free(all);
        free(word);
        free(bytes);
        return LMMIQA_ERR_NOMEM;
    }
    size_t m = 0;
    all[m++] = tok->sot;
    for (size_t i = 0; i < nc;) {
        int special;
        size_t pl = pretoken(clean, i, nc, &special);
        if (pl == 0) {
            i++;
            continue;
        }
        if (special) {
            all[m++] = special == 1 ? tok->sot : tok->eot;
        } else {
            size_t nb = 0;
            for (size_t j = i; j < i + pl; j++)
                nb += put_utf8(clean[j], (char *)bytes + nb);
            size_t nw = bpe(tok, bytes, nb, word);
            memcpy(all + m, word, nw * sizeof *word);
            m += nw;
        }
        i += pl;
    }
    all[m++] = tok->eot;
    free(clean);
    free(word);
    free(bytes);
    if (context_length > 0 && m > (size_t)context_length) {
        m = (size_t)context_length;
        all[m - 1] = tok->eot;
    }
    *n_ids = m;
    int rc = LMMIQA_OK;
    if (ids) {
        if (capacity < m)
            rc = lmmiqa__fail(LMMIQA_ERR_TOO_LARGE,
                              "tokenizer: the id buffer holds %zu ids, the text needs %zu",
                              capacity, m);
        else
            memcpy(ids, all, m * sizeof *ids);
    }
    free(all);
    return rc;
}
