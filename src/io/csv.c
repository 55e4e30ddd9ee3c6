/*
 * src/io/csv.c - RFC 4180 CSV reader (see csv.h for the dialect).
 *
 * Design: the text is copied once into one buffer and unescaped in place
 * (an unescaped cell is never longer than its source, and each cell gives
 * back at least its separator for the terminating NUL), so the table costs
 * one text buffer plus one pointer per cell and one index/line per row.
 * Line numbers are counted while parsing, including the line breaks inside
 * quoted fields, so every error can name the file line.
 */
#include "lmmiqa/advanced/csv.h"

#include "core/internal.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct lmmiqa_csv {
    char *name;
    char *buf;          /* unescaped cells, each NUL-terminated */
    char **cells;       /* all cells, row after row (ragged) */
    size_t *row_first;  /* index in cells of row r's first cell; [nrows] = ncells */
    size_t *row_line;   /* 1-based line where row r starts */
    size_t nrows;       /* rows including the header (row 0) */
    size_t ncols;       /* header fields */
};

/* Growable arrays used while parsing. */
typedef struct {
    char **cells;
    size_t ncells, cap_cells;
    size_t *row_first, *row_line;
    size_t nrows, cap_rows;
} builder;

static int push_cell(builder *b, char *cell)
{
    if (b->ncells == b->cap_cells) {
        size_t cap = b->cap_cells ? b->cap_cells * 2 : 256;
        char **p = realloc(b->cells, cap * sizeof *p);
        if (!p)
            return lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory for %zu CSV cells", cap);
        b->cells = p;
        b->cap_cells = cap;
    }
    b->cells[b->ncells++] = cell;
    return LMMIQA_OK;
}

static int push_row(builder *b, size_t line)
{
    if (b->nrows + 1 >= b->cap_rows) {
        size_t cap = b->cap_rows ? b->cap_rows * 2 : 64;
        size_t *f = realloc(b->row_first, cap * sizeof *f);
        if (!f)
            return lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory for %zu CSV rows", cap);
        b->row_first = f;
        size_t *l = realloc(b->row_line, cap * sizeof *l);
        if (!l)
            return lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory for %zu CSV rows", cap);
        b->row_line = l;
        b->cap_rows = cap;
    }
    b->row_first[b->nrows] = b->ncells;
    b->row_line[b->nrows] = line;
    b->nrows++;
    return LMMIQA_OK;
}

static int is_binary_byte(unsigned char c)
{
    return c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v';
}

/* Length of the text without trailing empty (or blank: spaces/tabs only)
 * lines. Never cuts into the first line. */
static size_t trim_trailing_lines(const char *s, size_t len)
{
    for (;;) {
        size_t end = len;
        while (end > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t'))
            end--;
        if (end == 0 || (s[end - 1] != '\n' && s[end - 1] != '\r'))
            return len; /* last line has content (or the text is blank) */
        /* drop the line break (CRLF, LF or CR) ending the previous line */
        if (s[end - 1] == '\n' && end >= 2 && s[end - 2] == '\r')
            end -= 2;
        else
            end -= 1;
        len = end;
    }
}

static int is_blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '\0';
}

static void free_builder(builder *b)
{
    free(b->cells);
    free(b->row_first);
    free(b->row_line);
}

int lmmiqa_csv_parse(const char *text, size_t len, const char *name, lmmiqa_csv **out)
{
    assert(out && (text || len == 0));
    *out = NULL;
    if (!name)
        name = "<csv>";
    if (len > LMMIQA_CSV_MAX_BYTES)
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "%s: CSV text of %zu bytes exceeds the limit of %zu",
                            name, len, LMMIQA_CSV_MAX_BYTES);
    if (len >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
        (unsigned char)text[2] == 0xBF) {
        text += 3;
        len -= 3;
    }
    /* Binary data check, with the line of the first offending byte. */
    size_t line = 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n' || (c == '\r' && (i + 1 >= len || text[i + 1] != '\n')))
            line++;
        else if (is_binary_byte(c))
            return lmmiqa__fail(LMMIQA_ERR_FORMAT,
                                "%s:%zu: binary data (byte 0x%02x at offset %zu): not a CSV text file",
                                name, line, c, i);
    }
    len = trim_trailing_lines(text, len);
    size_t blank = 0;
    while (blank < len && (text[blank] == ' ' || text[blank] == '\t' || text[blank] == '\r' ||
                           text[blank] == '\n'))
        blank++;
    if (blank == len)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: empty CSV file: no header line", name);

    char sep = ',';
    {
        size_t i = 0;
        int tabs = 0, commas = 0;
        for (; i < len && text[i] != '\n' && text[i] != '\r'; i++) {
            tabs += text[i] == '\t';
            commas += text[i] == ',';
        }
        if (tabs && !commas)
            sep = '\t';
    }

    lmmiqa_csv *csv = lmmiqa__calloc(1, sizeof *csv);
    if (!csv)
        return LMMIQA_ERR_NOMEM;
    size_t name_len = strlen(name);
    csv->name = lmmiqa__malloc(name_len + 1);
    csv->buf = lmmiqa__malloc(len + 1);
    if (!csv->name || !csv->buf) {
        lmmiqa_csv_destroy(csv);
        return LMMIQA_ERR_NOMEM;
    }
    memcpy(csv->name, name, name_len + 1);
    memcpy(csv->buf, text, len);
    csv->buf[len] = '\0';

    builder b = {0};
    char *s = csv->buf;
    size_t r = 0, w = 0;
    int rc = LMMIQA_OK;
    line = 1;
    rc = push_row(&b, line);
    while (rc == LMMIQA_OK) {
        /* one field starting at s[r] */
        char *cell = s + w;
        int quoted = r < len && s[r] == '"';
        if (quoted) {
            size_t quote_line = line;
            r++;
            for (;;) {
                if (r >= len) {
                    rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                      "%s:%zu: quoted field is never closed (missing '\"')", name,
                                      quote_line);
                    break;
                }
                char c = s[r];
                if (c == '"') {
                    if (r + 1 < len && s[r + 1] == '"') {
                        s[w++] = '"';
                        r += 2;
                        continue;
                    }
                    r++;
                    break;
                }
                if (c == '\n' || (c == '\r' && (r + 1 >= len || s[r + 1] != '\n')))
                    line++;
                s[w++] = c;
                r++;
            }
            if (rc)
                break;
            if (r < len && s[r] != sep && s[r] != '\n' && s[r] != '\r') {
                rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                  "%s:%zu: unexpected character '%c' after a closing quote "
                                  "(a quote inside a quoted field is written \"\")",
                                  name, line, s[r]);
                break;
            }
        } else {
            while (r < len && s[r] != sep && s[r] != '\n' && s[r] != '\r')
                s[w++] = s[r++];
        }
        /* s[r] is now the separator, a line break or the end. */
        char term = r < len ? s[r] : '\0';
        s[w++] = '\0';
        rc = push_cell(&b, cell);
        if (rc)
            break;
        if (b.ncells - b.row_first[b.nrows - 1] > LMMIQA_CSV_MAX_COLS) {
            rc = lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "%s:%zu: more than %zu fields in a row", name,
                              b.row_line[b.nrows - 1], LMMIQA_CSV_MAX_COLS);
            break;
        }
        if (term == sep) {
            r++;
            continue;
        }
        /* end of a row */
        size_t nfields = b.ncells - b.row_first[b.nrows - 1];
        if (b.nrows > 1 && nfields == 1 && !quoted && is_blank(cell)) {
            /* A blank data line (spaces or tabs at most): skipped. */
            b.ncells--;
            b.nrows--;
        } else if (b.nrows == 1) {
            csv->ncols = nfields;
        } else if (nfields > csv->ncols) {
            rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s:%zu: row has %zu fields but the header has %zu",
                              name, b.row_line[b.nrows - 1], nfields, csv->ncols);
            break;
        }
        if (term == '\0')
            break;
        if (term == '\r' && r + 1 < len && s[r + 1] == '\n')
            r++;
        r++;
        line++;
        rc = push_row(&b, line);
    }
    if (rc) {
        free_builder(&b);
        lmmiqa_csv_destroy(csv);
        return rc;
    }
    b.row_first[b.nrows] = b.ncells; /* sentinel: push_row keeps one spare slot */
    csv->cells = b.cells;
    csv->row_first = b.row_first;
    csv->row_line = b.row_line;
    csv->nrows = b.nrows;
    *out = csv;
    return LMMIQA_OK;
}

int lmmiqa_csv_load(const char *path, lmmiqa_csv **out)
{
    assert(path && out);
    *out = NULL;
    unsigned char *data = NULL;
    size_t size = 0;
    int rc = lmmiqa__file_read_all(path, LMMIQA_CSV_MAX_BYTES, &data, &size);
    if (rc)
        return rc;
    rc = lmmiqa_csv_parse((const char *)data, size, path, out);
    free(data);
    return rc;
}

void lmmiqa_csv_destroy(lmmiqa_csv *csv)
{
    if (!csv)
        return;
    free(csv->name);
    free(csv->buf);
    free(csv->cells);
    free(csv->row_first);
    free(csv->row_line);
    free(csv);
}

const char *lmmiqa_csv_name(const lmmiqa_csv *csv) { return csv->name; }

size_t lmmiqa_csv_rows(const lmmiqa_csv *csv) { return csv->nrows - 1; }

size_t lmmiqa_csv_cols(const lmmiqa_csv *csv) { return csv->ncols; }

const char *lmmiqa_csv_header(const lmmiqa_csv *csv, size_t col)
{
    assert(col < csv->ncols);
    return csv->cells[col];
}

static int equal_trimmed(const char *header, const char *name)
{
    while (*header == ' ' || *header == '\t')
        header++;
    size_t n = strlen(header);
    while (n > 0 && (header[n - 1] == ' ' || header[n - 1] == '\t'))
        n--;
    return strlen(name) == n && memcmp(header, name, n) == 0;
}

int lmmiqa_csv_column(const lmmiqa_csv *csv, const char *name)
{
    assert(name);
    for (size_t c = 0; c < csv->ncols; c++)
        if (strcmp(csv->cells[c], name) == 0)
            return (int)c;
    for (size_t c = 0; c < csv->ncols; c++)
        if (equal_trimmed(csv->cells[c], name))
            return (int)c;
    return -1;
}

const char *lmmiqa_csv_cell(const lmmiqa_csv *csv, size_t row, size_t col)
{
    assert(row + 1 < csv->nrows && col < csv->ncols);
    size_t first = csv->row_first[row + 1], end = csv->row_first[row + 2];
    return first + col < end ? csv->cells[first + col] : "";
}

size_t lmmiqa_csv_line(const lmmiqa_csv *csv, size_t row)
{
    assert(row + 1 < csv->nrows);
    return csv->row_line[row + 1];
}

/* [+-]digits[.digits][(e|E)[+-]digits], with at least one mantissa digit. */
static int is_decimal_syntax(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (!digits)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t exp_digits = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, exp_digits++;
        if (!exp_digits)
            return 0;
    }
    return i == n;
}

int lmmiqa_csv_cell_double(const lmmiqa_csv *csv, size_t row, size_t col, double *out)
{
    assert(out);
    const char *cell = lmmiqa_csv_cell(csv, row, col);
    const char *s = cell;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    size_t line = lmmiqa_csv_line(csv, row);
    const char *header = lmmiqa_csv_header(csv, col);
    if (n == 0)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s:%zu: column '%s': empty cell where a number is expected",
                            csv->name, line, header);
    if (!is_decimal_syntax(s, n))
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s:%zu: column '%s': '%.60s' is not a number",
                            csv->name, line, header, cell);
    /* s[n] is a space, a tab or the NUL: strtod stops there. */
    errno = 0;
    char *end = NULL;
    double v = strtod(s, &end);
    if (end != s + n)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s:%zu: column '%s': '%.60s' is not a number",
                            csv->name, line, header, cell);
    if (!isfinite(v))
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s:%zu: column '%s': '%.60s' is out of the range of a double",
                            csv->name, line, header, cell);
    *out = v;
    return LMMIQA_OK;
}
