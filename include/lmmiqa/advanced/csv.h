/*
 * lmmiqa/advanced/csv.h - the CSV reader lmmiqa uses for label files and score
 * tables, for programs that read the same files the same way (advanced tier:
 * may change between minor versions).
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
 * characters, files over LMMIQA_CSV_MAX_BYTES, more than LMMIQA_CSV_MAX_COLS
 * fields in a row, rows with more fields than the header, an unterminated
 * quoted field, text after a closing quote, and an empty file (no header).
 * Rows with fewer fields than the header read as "" in the missing cells.
 */
#ifndef LMMIQA_ADVANCED_CSV_H
#define LMMIQA_ADVANCED_CSV_H

#include "lmmiqa/core.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LMMIQA_CSV_MAX_BYTES ((size_t)1 << 30) /* 1 GiB */
#define LMMIQA_CSV_MAX_COLS ((size_t)1 << 16)

typedef struct lmmiqa_csv lmmiqa_csv;

/* Read and parse the file at `path`; errors name the path. */
LMMIQA_API int lmmiqa_csv_load(const char *path, lmmiqa_csv **out);

/* Parse `len` bytes of `text` (need not be NUL-terminated); `name` is used in
 * error messages (a file name, or e.g. "<labels>"). The text is copied. */
LMMIQA_API int lmmiqa_csv_parse(const char *text, size_t len, const char *name, lmmiqa_csv **out);

LMMIQA_API void lmmiqa_csv_destroy(lmmiqa_csv *csv); /* NULL is a no-op */

/* The name given at parse time (the path for _load). */
LMMIQA_API const char *lmmiqa_csv_name(const lmmiqa_csv *csv);

/* Number of data rows (the header excluded) and of header columns. */
LMMIQA_API size_t lmmiqa_csv_rows(const lmmiqa_csv *csv);
LMMIQA_API size_t lmmiqa_csv_cols(const lmmiqa_csv *csv);

/* The header text of column `col` (< cols). */
LMMIQA_API const char *lmmiqa_csv_header(const lmmiqa_csv *csv, size_t col);

/* Index of the first column whose header equals `name` (exactly, or else
 * after trimming surrounding spaces/tabs of the header), or -1. */
LMMIQA_API int lmmiqa_csv_column(const lmmiqa_csv *csv, const char *name);

/* Cell text (row < rows, col < cols); "" where the row is short. */
LMMIQA_API const char *lmmiqa_csv_cell(const lmmiqa_csv *csv, size_t row, size_t col);

/* 1-based line of the file where data row `row` starts. */
LMMIQA_API size_t lmmiqa_csv_line(const lmmiqa_csv *csv, size_t row);

/* Strict number parse of a cell: the whole cell (surrounding spaces/tabs
 * allowed) must be a finite decimal number ([+-]digits[.digits][e[+-]digits];
 * no hex, inf, nan). On failure returns LMMIQA_ERR_CORRUPT with a message
 * naming the file, the line and the column header. */
LMMIQA_API int lmmiqa_csv_cell_double(const lmmiqa_csv *csv, size_t row, size_t col, double *out);

#ifdef __cplusplus
}
#endif
#endif
