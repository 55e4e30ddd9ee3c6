/*
 * src/text/clean.c - the text cleanup of OpenAI CLIP's tokenizer
 * (simple_tokenizer.py), on Unicode code points:
 *   basic_clean:      ftfy.fix_text (the deterministic subset below),
 *                     html.unescape twice, str.strip()
 *   whitespace_clean: regex \s+ -> ' ', str.strip()
 *   then str.lower().
 * The ftfy subset, in ftfy 6's order: terminal escapes (ESC [ digits/; letter)
 * removed; C1 controls U+0080..U+009F read as Windows-1252; Latin ligatures
 * split; fullwidth forms to their NFKC (U+3000 to space); curly quotes
 * straightened; control characters removed; NFC. Not done: ftfy's mojibake
 * repair (fix_encoding and its byte-A0/lossy-sequence/inconsistent-UTF-8
 * heuristics) and its own first HTML unescape (html.unescape still runs
 * twice). docs/clipiqa.md lists the consequences.
 *
 * All tables are generated (text_tables.c); lookups are binary searches.
 */
#include "text/text_internal.h"

#include <stdlib.h>
#include <string.h>

static int in_ranges(const lmmiqa__text_range *r, int n, uint32_t c)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (c < r[mid].lo)
            hi = mid - 1;
        else if (c > r[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

int lmmiqa__text_is_letter(uint32_t c)
{
    if (c < 128)
        return (c | 32) >= 'a' && (c | 32) <= 'z';
    return in_ranges(lmmiqa__text_letter, lmmiqa__text_letter_count, c);
}

int lmmiqa__text_is_number(uint32_t c)
{
    if (c < 128)
        return c >= '0' && c <= '9';
    return in_ranges(lmmiqa__text_number, lmmiqa__text_number_count, c);
}

int lmmiqa__text_is_space(uint32_t c)
{
    return in_ranges(lmmiqa__text_space, lmmiqa__text_space_count, c);
}

int lmmiqa__text_is_other(uint32_t c)
{
    if (c < 128)
        return c > ' ' && !lmmiqa__text_is_letter(c) && !lmmiqa__text_is_number(c) &&
               !(c >= 9 && c <= 13);
    return in_ranges(lmmiqa__text_other, lmmiqa__text_other_count, c);
}

/* str.lower() of U+03A3 at s[i]: final sigma when a cased character precedes
 * and none follows (case-ignorable characters skipped both ways). */
static uint32_t lower_sigma(const uint32_t *s, size_t n, size_t i)
{
    size_t j = i;
    while (j > 0 && in_ranges(lmmiqa__text_case_ignorable, lmmiqa__text_case_ignorable_count,
                              s[j - 1]))
        j--;
    if (j == 0 || !in_ranges(lmmiqa__text_cased, lmmiqa__text_cased_count, s[j - 1]))
        return 0x3C3;
    j = i + 1;
    while (j < n &&
           in_ranges(lmmiqa__text_case_ignorable, lmmiqa__text_case_ignorable_count, s[j]))
        j++;
    if (j < n && in_ranges(lmmiqa__text_cased, lmmiqa__text_cased_count, s[j]))
        return 0x3C3;
    return 0x3C2;
}

static int is_strip_space(uint32_t c)
{
    return in_ranges(lmmiqa__text_isspace, lmmiqa__text_isspace_count, c);
}

/* Index of `c` in a table of lmmiqa__text_map1 sorted by from, or -1. */
static int find1(const lmmiqa__text_map1 *t, int n, uint32_t c)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (c < t[mid].from)
            hi = mid - 1;
        else if (c > t[mid].from)
            lo = mid + 1;
        else
            return mid;
    }
    return -1;
}

/* ------------------------------------------------------------ ftfy subset */

/* ftfy's LIGATURES: the Latin digraph letters and U+FB00..U+FB06. */
static const struct {
    uint32_t from, to[3];
} ligatures[] = {
    {0x0132, {'I', 'J', 0}}, {0x0133, {'i', 'j', 0}}, {0x0149, {0x02BC, 'n', 0}},
    {0x01C4, {'D', 0x017D, 0}}, {0x01C5, {'D', 0x017E, 0}}, {0x01C6, {'d', 0x017E, 0}},
    {0x01C7, {'L', 'J', 0}}, {0x01C8, {'L', 'j', 0}}, {0x01C9, {'l', 'j', 0}},
    {0x01CA, {'N', 'J', 0}}, {0x01CB, {'N', 'j', 0}}, {0x01CC, {'n', 'j', 0}},
    {0x01F1, {'D', 'Z', 0}}, {0x01F2, {'D', 'z', 0}}, {0x01F3, {'d', 'z', 0}},
    {0xFB00, {'f', 'f', 0}}, {0xFB01, {'f', 'i', 0}}, {0xFB02, {'f', 'l', 0}},
    {0xFB03, {'f', 'f', 'i'}}, {0xFB04, {'f', 'f', 'l'}}, {0xFB05, {0x017F, 't', 0}},
    {0xFB06, {'s', 't', 0}},
};

static int is_removed_control(uint32_t c)
{
    return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F ||
           (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

/* One code point through ligatures, width, quotes, C1 and control removal;
 * writes 0..3 code points to out, returns how many. */
static int fix_char(uint32_t c, uint32_t *out)
{
    if (c >= 0x80 && c <= 0x9F) {
        int k = find1(lmmiqa__text_invalid_charref, lmmiqa__text_invalid_charref_count, c);
        if (k >= 0)
            c = lmmiqa__text_invalid_charref[k].to;
    }
    for (size_t i = 0; i < sizeof ligatures / sizeof ligatures[0]; i++)
        if (ligatures[i].from == c) {
            int n = 0;
            for (int j = 0; j < 3 && ligatures[i].to[j]; j++)
                out[n++] = ligatures[i].to[j];
            return n;
        }
    if (c == 0x3000 || (c >= 0xFF01 && c <= 0xFFEF)) {
        int k = find1(lmmiqa__text_width, lmmiqa__text_width_count, c);
        if (k >= 0)
            c = lmmiqa__text_width[k].to;
    }
    if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B))
        c = '\'';
    else if (c >= 0x201C && c <= 0x201F)
        c = '"';
    if (is_removed_control(c))
        return 0;
    out[0] = c;
    return 1;
}

/* ------------------------------------------------------------------ NFC */

#define HANGUL_S 0xAC00u
#define HANGUL_L 0x1100u
#define HANGUL_V 0x1161u
#define HANGUL_T 0x11A7u
#define HANGUL_NV 21u
#define HANGUL_NT 28u
#define HANGUL_N (HANGUL_NV * HANGUL_NT)
#define HANGUL_COUNT 11172u

static int ccc(uint32_t c)
{
    if (c < 0x300)
        return 0;
    int k = find1(lmmiqa__text_ccc, lmmiqa__text_ccc_count, c);
    return k < 0 ? 0 : (int)lmmiqa__text_ccc[k].to;
}

static int decompose(uint32_t c, uint32_t *out)
{
    if (c >= HANGUL_S && c < HANGUL_S + HANGUL_COUNT) {
        uint32_t s = c - HANGUL_S;
        out[0] = HANGUL_L + s / HANGUL_N;
        out[1] = HANGUL_V + (s % HANGUL_N) / HANGUL_NT;
        if (s % HANGUL_NT == 0)
            return 2;
        out[2] = HANGUL_T + s % HANGUL_NT;
        return 3;
    }
    if (c >= 0xC0) {
        int lo = 0, hi = lmmiqa__text_nfd_count - 1;
        while (lo <= hi) {
            int mid = (lo + hi) / 2;
            if (c < lmmiqa__text_nfd[mid].cp)
                hi = mid - 1;
            else if (c > lmmiqa__text_nfd[mid].cp)
                lo = mid + 1;
            else {
                memcpy(out, lmmiqa__text_nfd[mid].to, sizeof(uint32_t) * 4);
                return lmmiqa__text_nfd[mid].n;
            }
        }
    }
    out[0] = c;
    return 1;
}

static uint32_t compose(uint32_t a, uint32_t b)
{
    if (a >= HANGUL_L && a < HANGUL_L + 19 && b >= HANGUL_V && b < HANGUL_V + HANGUL_NV)
        return HANGUL_S + ((a - HANGUL_L) * HANGUL_NV + (b - HANGUL_V)) * HANGUL_NT;
    if (a >= HANGUL_S && a < HANGUL_S + HANGUL_COUNT && (a - HANGUL_S) % HANGUL_NT == 0 &&
        b > HANGUL_T && b < HANGUL_T + HANGUL_NT)
        return a + (b - HANGUL_T);
    int lo = 0, hi = lmmiqa__text_nfc_count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const lmmiqa__text_comp *e = &lmmiqa__text_nfc[mid];
        if (a < e->a || (a == e->a && b < e->b))
            hi = mid - 1;
        else if (a > e->a || (a == e->a && b > e->b))
            lo = mid + 1;
        else
            return e->c;
    }
    return 0;
}

/* NFC of s[n] in place (s holds 4 n; the result is never longer than the
 * decomposition, which tmp (capacity 4 n) holds). Returns the new length. */
static size_t nfc(uint32_t *s, size_t n, uint32_t *tmp)
{
    size_t m = 0;
    int all_ascii = 1;
    for (size_t i = 0; i < n && all_ascii; i++)
        all_ascii = s[i] < 0xC0;
    if (all_ascii)
        return n;
    for (size_t i = 0; i < n; i++)
        m += (size_t)decompose(s[i], tmp + m);
    /* canonical ordering: stable sort of each run of non-starters by ccc */
    for (size_t i = 1; i < m; i++) {
        int ci = ccc(tmp[i]);
        if (ci == 0)
            continue;
        size_t j = i;
        uint32_t c = tmp[i];
        while (j > 0 && ccc(tmp[j - 1]) > ci) {
            tmp[j] = tmp[j - 1];
            j--;
        }
        tmp[j] = c;
    }
    /* canonical composition: c joins the last starter unless blocked (the
     * last kept character after the starter has ccc 0 or >= ccc(c); after
     * canonical ordering that one decides) */
    size_t out = 0, starter = (size_t)-1;
    int last_cc = 0;
    for (size_t i = 0; i < m; i++) {
        uint32_t c = tmp[i];
        int cc = ccc(c);
        if (starter != (size_t)-1) {
            int blocked = out > starter + 1 && (last_cc == 0 || last_cc >= cc);
            uint32_t comp = blocked ? 0 : compose(s[starter], c);
            if (comp) {
                s[starter] = comp;
                continue;
            }
        }
        if (cc == 0)
            starter = out;
        last_cc = cc;
        s[out++] = c;
    }
    return out;
}

/* ---------------------------------------------------------- html.unescape */

static int is_invalid_codepoint(uint32_t c)
{
    int lo = 0, hi = lmmiqa__text_invalid_codepoint_count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (c < lmmiqa__text_invalid_codepoint[mid])
            hi = mid - 1;
        else if (c > lmmiqa__text_invalid_codepoint[mid])
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

static const lmmiqa__text_entity *entity(const uint32_t *name, size_t len)
{
    char key[40];
    if (len >= sizeof key)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (name[i] >= 128)
            return NULL;
        key[i] = (char)name[i];
    }
    key[len] = '\0';
    int lo = 0, hi = lmmiqa__text_entities_count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = strcmp(key, lmmiqa__text_entities[mid].name);
        if (c < 0)
            hi = mid - 1;
        else if (c > 0)
            lo = mid + 1;
        else
            return &lmmiqa__text_entities[mid];
    }
    return NULL;
}

static int is_hex(uint32_t c)
{
    return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'f');
}

/* Python's html.unescape: in[n] -> out (never longer), returns length. */
static size_t unescape(const uint32_t *in, size_t n, uint32_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (in[i] != '&' || i + 1 >= n) {
            out[o++] = in[i++];
            continue;
        }
        size_t p = i + 1;
        if (in[p] == '#') {
            int hex = p + 1 < n && (in[p + 1] | 32) == 'x';
            size_t d = p + 1 + (size_t)hex, e = d;
            while (e < n && (hex ? is_hex(in[e]) : (in[e] >= '0' && in[e] <= '9')))
                e++;
            if (e == d) { /* "&#" without digits: not a reference */
                out[o++] = in[i++];
                continue;
            }
            uint64_t num = 0;
            for (size_t k = d; k < e; k++) {
                uint32_t c = in[k] | (hex ? 32u : 0u);
                num = num * (hex ? 16u : 10u) + (c <= '9' ? c - '0' : c - 'a' + 10);
                if (num > 0x7FFFFFFFull)
                    num = 0x7FFFFFFFull; /* saturate: any value above 0x10FFFF acts alike */
            }
            if (e < n && in[e] == ';')
                e++;
            int k = find1(lmmiqa__text_invalid_charref, lmmiqa__text_invalid_charref_count,
                          (uint32_t)num);
            if (k >= 0)
                out[o++] = lmmiqa__text_invalid_charref[k].to;
            else if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF)
                out[o++] = 0xFFFD;
            else if (!is_invalid_codepoint((uint32_t)num))
                out[o++] = (uint32_t)num;
            i = e;
            continue;
        }
        /* named: [^\t\n\f <&#;]{1,32};? */
        size_t e = p;
        while (e < n && e - p < 32 && in[e] != '\t' && in[e] != '\n' && in[e] != '\f' &&
               in[e] != ' ' && in[e] != '<' && in[e] != '&' && in[e] != '#' && in[e] != ';')
            e++;
        if (e == p) {
            out[o++] = in[i++];
            continue;
        }
        size_t end = e < n && in[e] == ';' ? e + 1 : e; /* the match: in[p..end) */
        const lmmiqa__text_entity *ent = entity(in + p, end - p);
        size_t used = end - p;
        if (!ent) /* longest prefix of length >= 2 */
            for (size_t x = end - p - 1; x > 1 && !ent; x--) {
                ent = entity(in + p, x);
                used = x;
            }
        if (!ent) {
            for (size_t k = i; k < end; k++)
                out[o++] = in[k];
        } else {
            out[o++] = ent->cp[0];
            if (ent->cp[1])
                out[o++] = ent->cp[1];
            for (size_t k = p + used; k < end; k++)
                out[o++] = in[k];
        }
        i = end;
    }
    return o;
}

/* -------------------------------------------------------------- pipeline */

static size_t strip(uint32_t *s, size_t n)
{
    size_t a = 0, b = n;
    while (a < b && is_strip_space(s[a]))
        a++;
    while (b > a && is_strip_space(s[b - 1]))
        b--;
    if (a)
        memmove(s, s + a, (b - a) * sizeof *s);
    return b - a;
}

int lmmiqa__text_clean(const uint32_t *in, size_t n, uint32_t **out, size_t *out_n)
{
    /* ftfy's fixes at most triple the length (ligatures), NFD quadruples it */
    size_t cap = 12 * n + 16;
    uint32_t *a = malloc(cap * sizeof *a), *b = malloc(cap * sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        return -1;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == 0x1B && i + 1 < n && in[i + 1] == '[') {
            size_t j = i + 2;
            while (j < n && ((in[j] >= '0' && in[j] <= '9') || in[j] == ';'))
                j++;
            if (j < n && ((in[j] | 32) >= 'a' && (in[j] | 32) <= 'z')) {
                i = j;
                continue;
            }
        }
        m += (size_t)fix_char(in[i], a + m);
    }
    m = nfc(a, m, b);
    m = unescape(a, m, b);
    m = unescape(b, m, a);
    m = strip(a, m);
    /* whitespace_clean: every run of \s becomes one space */
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {
        if (!lmmiqa__text_is_space(a[i]))
            b[k++] = a[i];
        else if (i == 0 || !lmmiqa__text_is_space(a[i - 1]))
            b[k++] = ' ';
    }
    k = strip(b, k);
    /* lower(): at most two code points per character */
    if (2 * k > cap) {
        uint32_t *na = realloc(a, 2 * k * sizeof *a);
        if (!na) {
            free(a);
            free(b);
            return -1;
        }
        a = na;
    }
    size_t o = 0;
    for (size_t i = 0; i < k; i++) {
        uint32_t c = b[i];
        if (c < 128) {
            a[o++] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
            continue;
        }
        int lo = 0, hi = lmmiqa__text_lower_count - 1, f = -1;
        while (lo <= hi && f < 0) {
            int mid = (lo + hi) / 2;
            if (c < lmmiqa__text_lower[mid].from)
                hi = mid - 1;
            else if (c > lmmiqa__text_lower[mid].from)
                lo = mid + 1;
            else
                f = mid;
        }
        if (c == 0x3A3) {
            a[o++] = lower_sigma(b, k, i);
        } else if (f < 0) {
            a[o++] = c;
        } else {
            a[o++] = lmmiqa__text_lower[f].to[0];
            if (lmmiqa__text_lower[f].to[1])
                a[o++] = lmmiqa__text_lower[f].to[1];
        }
    }
    free(b);
    *out = a;
    *out_n = o;
    return 0;
}
