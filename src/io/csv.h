/*
 * src/io/csv.h - the internal CSV reader (label files, score tables).
 *
 * A table is read whole into memory and kept as NUL-terminated cells. The
 * dialect is RFC 4180: fields separated by commas, optionally quoted with
 * '"' (a quote inside a quoted field is written ""; quoted fields may hold
 * commas and line breaks). Lines end in LF, CRLF or a lone CR. A leading
 * UTF-8 byte order mark is dropped. Empty lines at the end of the file are
 * ignored; an empty line elsewhere is a row with one empty field. The first
 * row is the header. A file whose header line holds tabs and no commas is
 * read as tab-separated (same quoting rules). A '"' inside an unquoted field
 * is kept literally (lenient, as most writers produce such files).
 *
 * Refused with a clear error: data with NUL bytes or other binary control
 * characters, files over LMMIQA__CSV_MAX_BYTES, more than LMMIQA__CSV_MAX_COLS
 * fields in a row, rows with more fields than the header, an unterminated
 * quoted field, text after a closing quote, and an empty file (no header).
 * Rows with fewer fields than the header read as "" in the missing cells.
 */
#ifndef LMMIQA_IO_CSV_H
#define LMMIQA_IO_CSV_H

#include <stddef.h>

#define LMMIQA__CSV_MAX_BYTES ((size_t)1 << 30) /* 1 GiB */
#define LMMIQA__CSV_MAX_COLS ((size_t)1 << 16)

typedef struct lmmiqa__csv lmmiqa__csv;

/* Read and parse the file at `path`; errors name the path. */
int lmmiqa__csv_load(const char *path, lmmiqa__csv **out);

/* Parse `len` bytes of `text` (need not be NUL-terminated); `name` is used in
 * error messages (a file name, or e.g. "<labels>"). The text is copied. */
int lmmiqa__csv_parse(const char *text, size_t len, const char *name, lmmiqa__csv **out);

void lmmiqa__csv_destroy(lmmiqa__csv *csv); /* NULL is a no-op */

/* The name given at parse time (the path for _load). */
const char *lmmiqa__csv_name(const lmmiqa__csv *csv);

/* Number of data rows (the header excluded) and of header columns. */
size_t lmmiqa__csv_rows(const lmmiqa__csv *csv);
size_t lmmiqa__csv_cols(const lmmiqa__csv *csv);

/* The header text of column `col` (< cols). */
const char *lmmiqa__csv_header(const lmmiqa__csv *csv, size_t col);

/* Index of the first column whose header equals `name` (exactly, or else
 * after trimming surrounding spaces/tabs of the header), or -1. */
int lmmiqa__csv_column(const lmmiqa__csv *csv, const char *name);

/* Cell text (row < rows, col < cols); "" where the row is short. */
const char *lmmiqa__csv_cell(const lmmiqa__csv *csv, size_t row, size_t col);

/* 1-based line of the file where data row `row` starts. */
size_t lmmiqa__csv_line(const lmmiqa__csv *csv, size_t row);

/* Strict number parse of a cell: the whole cell (surrounding spaces/tabs
 * allowed) must be a finite decimal number ([+-]digits[.digits][e[+-]digits];
 * no hex, inf, nan). On failure returns LMMIQA_ERR_CORRUPT with a message
 * naming the file, the line and the column header. */
int lmmiqa__csv_cell_double(const lmmiqa__csv *csv, size_t row, size_t col, double *out);

#endif
