/*
 * tests/test_csv.c - the internal CSV reader: RFC 4180 quoting, BOM, CRLF,
 * tab separation, short/long rows, line numbers, strict numbers and the
 * content of the error messages.
 */
#include "lmmiqa/advanced/csv.h"

#include "lmmiqa/core.h"
#include "test.h"

static lmmiqa_csv *parse(const char *text)
{
    lmmiqa_csv *csv = NULL;
    int rc = lmmiqa_csv_parse(text, strlen(text), "t.csv", &csv);
    CHECK_MSG(rc == 0, "parse failed: %s", lmmiqa_error_message());
    return csv;
}

static int parse_fails(const char *text, size_t len, int status, const char *needle)
{
    lmmiqa_csv *csv = NULL;
    int rc = lmmiqa_csv_parse(text, len, "bad.csv", &csv);
    int ok = rc == status && csv == NULL && strstr(lmmiqa_error_message(), needle) != NULL;
    if (!ok)
        fprintf(stderr, "  expected status %d with '%s', got %d: %s\n", status, needle, rc,
                lmmiqa_error_message());
    lmmiqa_csv_destroy(csv);
    return ok;
}

static void test_basic(void)
{
    lmmiqa_csv *csv = parse("image,mos,std\na.png,32.5,19.1\nb.png,66,20\n");
    if (!csv)
        return;
    CHECK(lmmiqa_csv_rows(csv) == 2);
    CHECK(lmmiqa_csv_cols(csv) == 3);
    CHECK(strcmp(lmmiqa_csv_header(csv, 1), "mos") == 0);
    CHECK(lmmiqa_csv_column(csv, "std") == 2);
    CHECK(lmmiqa_csv_column(csv, "nope") == -1);
    CHECK(strcmp(lmmiqa_csv_cell(csv, 1, 0), "b.png") == 0);
    CHECK(lmmiqa_csv_line(csv, 0) == 2);
    CHECK(lmmiqa_csv_line(csv, 1) == 3);
    double v = 0;
    CHECK_OK(lmmiqa_csv_cell_double(csv, 0, 1, &v));
    CHECK(v == 32.5);
    CHECK(strcmp(lmmiqa_csv_name(csv), "t.csv") == 0);
    lmmiqa_csv_destroy(csv);
    lmmiqa_csv_destroy(NULL);
}

static void test_quoting(void)
{
    const char *text = "name,\"note, with comma\",x\n"
                       "\"a \"\"quoted\"\" word\",\"line1\nline2\",1\n"
                       "\"\",\"\"\"\",2\n"
                       "plain,\"multi\r\nline\r\nfield\",3\n"
                       "last,12\" screen,4\n";
    lmmiqa_csv *csv = parse(text);
    if (!csv)
        return;
    CHECK(lmmiqa_csv_rows(csv) == 4);
    CHECK(strcmp(lmmiqa_csv_header(csv, 1), "note, with comma") == 0);
    CHECK(strcmp(lmmiqa_csv_cell(csv, 0, 0), "a \"quoted\" word") == 0);
    CHECK(strcmp(lmmiqa_csv_cell(csv, 0, 1), "line1\nline2") == 0);
    CHECK(strcmp(lmmiqa_csv_cell(csv, 1, 0), "") == 0);
    CHECK(strcmp(lmmiqa_csv_cell(csv, 1, 1), "\"") == 0);
    CHECK(strcmp(lmmiqa_csv_cell(csv, 2, 1), "multi\r\nline\r\nfield") == 0);
    CHECK(strcmp(lmmiqa_csv_cell(csv, 3, 1), "12\" screen") == 0);
    /* line numbers count the breaks inside quoted fields */
    CHECK(lmmiqa_csv_line(csv, 0) == 2);
    CHECK(lmmiqa_csv_line(csv, 1) == 4);
    CHECK(lmmiqa_csv_line(csv, 2) == 5);
    CHECK(lmmiqa_csv_line(csv, 3) == 8);
    double v = 0;
    CHECK_OK(lmmiqa_csv_cell_double(csv, 3, 2, &v));
    CHECK(v == 4);
    lmmiqa_csv_destroy(csv);
}

static void test_bom_crlf_trailing(void)
{
    lmmiqa_csv *csv = parse("\xEF\xBB\xBFimage,mos\r\na,1.5\r\nb,2\r\n\r\n\r\n  \r\n");
    if (!csv)
        return;
    CHECK(lmmiqa_csv_rows(csv) == 2);
    CHECK(strcmp(lmmiqa_csv_header(csv, 0), "image") == 0);
    CHECK(lmmiqa_csv_column(csv, "image") == 0);
    CHECK(strcmp(lmmiqa_csv_cell(csv, 1, 1), "2") == 0);
    CHECK(lmmiqa_csv_line(csv, 1) == 3);
    lmmiqa_csv_destroy(csv);

    /* no final newline; lone CR line ends */
    csv = parse("a,b\r1,2\r3,4");
    if (!csv)
        return;
    CHECK(lmmiqa_csv_rows(csv) == 2);
    CHECK(strcmp(lmmiqa_csv_cell(csv, 1, 1), "4") == 0);
    CHECK(lmmiqa_csv_line(csv, 1) == 3);
    lmmiqa_csv_destroy(csv);

    /* header only */
    csv = parse("a,b\n");
    if (!csv)
        return;
    CHECK(lmmiqa_csv_rows(csv) == 0);
    CHECK(lmmiqa_csv_cols(csv) == 2);
    lmmiqa_csv_destroy(csv);
}

static void test_tabs(void)
{
    lmmiqa_csv *csv = parse("img\tmos\nx,y.png\t3.25\n");
    if (!csv)
        return;
    CHECK(lmmiqa_csv_cols(csv) == 2);
    CHECK(strcmp(lmmiqa_csv_cell(csv, 0, 0), "x,y.png") == 0);
    lmmiqa_csv_destroy(csv);
    /* a header with commas stays comma-separated even with tabs in it */
    csv = parse("a\tb,c\n1,2\n");
    if (!csv)
        return;
    CHECK(lmmiqa_csv_cols(csv) == 2);
    CHECK(strcmp(lmmiqa_csv_header(csv, 0), "a\tb") == 0);
    lmmiqa_csv_destroy(csv);
}

/* Blank data lines (empty, or spaces/tabs only) are skipped; a quoted
 * empty cell is a row. */
static void test_blank_lines_skipped(void)
{
    lmmiqa_csv *csv = parse("image,mos\na.png,1\n\n  \t\r\nb.png,2\n\"\"\n");
    if (!csv)
        return;
    CHECK(lmmiqa_csv_rows(csv) == 3);
    CHECK(strcmp(lmmiqa_csv_cell(csv, 1, 0), "b.png") == 0);
    CHECK(lmmiqa_csv_line(csv, 1) == 5);
    CHECK(strcmp(lmmiqa_csv_cell(csv, 2, 0), "") == 0);
    lmmiqa_csv_destroy(csv);
}

static void test_short_and_long_rows(void)
{
    lmmiqa_csv *csv = parse("a,b,c\n1\n\n4,5,6\n");
    if (!csv)
        return;
    CHECK(lmmiqa_csv_rows(csv) == 2); /* the blank line is skipped (issue 15) */
    CHECK(strcmp(lmmiqa_csv_cell(csv, 0, 0), "1") == 0);
    CHECK(strcmp(lmmiqa_csv_cell(csv, 0, 2), "") == 0);
    CHECK(strcmp(lmmiqa_csv_cell(csv, 1, 0), "4") == 0);
    CHECK(lmmiqa_csv_line(csv, 1) == 4); /* line numbers still count it */
    double v = 0;
    int rc = lmmiqa_csv_cell_double(csv, 0, 2, &v);
    CHECK(rc == LMMIQA_ERR_CORRUPT);
    CHECK(strstr(lmmiqa_error_message(), "t.csv:2") != NULL);
    CHECK(strstr(lmmiqa_error_message(), "'c'") != NULL);
    CHECK(strstr(lmmiqa_error_message(), "empty") != NULL);
    lmmiqa_csv_destroy(csv);

    CHECK(parse_fails("a,b\n1,2\n3,4,5\n", 14, LMMIQA_ERR_CORRUPT, "bad.csv:3: row has 3 fields"));
}

static void test_bad_numbers(void)
{
    lmmiqa_csv *csv = parse("name,score\n"
                             "a, 1.5e3 \n"
                             "b,abc\n"
                             "c,1.5x\n"
                             "d,nan\n"
                             "e,inf\n"
                             "f,0x10\n"
                             "g,1e999\n"
                             "h,-.5\n"
                             "i,+7.\n"
                             "j,1e\n"
                             "k,.\n"
                             "l,1e-400\n");
    if (!csv)
        return;
    double v = 0;
    CHECK_OK(lmmiqa_csv_cell_double(csv, 0, 1, &v));
    CHECK(v == 1500.0);
    CHECK(lmmiqa_csv_cell_double(csv, 1, 1, &v) == LMMIQA_ERR_CORRUPT);
    const char *msg = lmmiqa_error_message();
    CHECK_MSG(strstr(msg, "t.csv:3") && strstr(msg, "'score'") && strstr(msg, "'abc'"),
              "message: %s", msg);
    for (size_t row = 2; row <= 6; row++) {
        v = 42;
        CHECK_MSG(lmmiqa_csv_cell_double(csv, row, 1, &v) == LMMIQA_ERR_CORRUPT, "row %zu accepted",
                  row);
        CHECK(v == 42);
        char want[32];
        snprintf(want, sizeof want, "t.csv:%zu:", row + 2);
        CHECK_MSG(strstr(lmmiqa_error_message(), want) != NULL, "message: %s",
                  lmmiqa_error_message());
    }
    CHECK(strstr(lmmiqa_error_message(), "range") != NULL); /* 1e999 */
    CHECK_OK(lmmiqa_csv_cell_double(csv, 7, 1, &v));
    CHECK(v == -0.5);
    CHECK_OK(lmmiqa_csv_cell_double(csv, 8, 1, &v));
    CHECK(v == 7.0);
    CHECK(lmmiqa_csv_cell_double(csv, 9, 1, &v) == LMMIQA_ERR_CORRUPT);
    CHECK(lmmiqa_csv_cell_double(csv, 10, 1, &v) == LMMIQA_ERR_CORRUPT);
    CHECK_OK(lmmiqa_csv_cell_double(csv, 11, 1, &v)); /* underflow to a subnormal/zero is fine */
    CHECK(v >= 0 && v < 1e-300);
    lmmiqa_csv_destroy(csv);
}

static void test_malformed(void)
{
    CHECK(parse_fails("a,b\n\"open,2\n3,4\n", 16, LMMIQA_ERR_CORRUPT, "bad.csv:2: quoted field is never closed"));
    CHECK(parse_fails("a,b\n\"x\"y,2\n", 11, LMMIQA_ERR_CORRUPT, "bad.csv:2: unexpected character 'y'"));
    CHECK(parse_fails("a,b\n1,\0\n", 8, LMMIQA_ERR_FORMAT, "bad.csv:2: binary data"));
    CHECK(parse_fails("\x89PNG\r\n\x1a\n", 8, LMMIQA_ERR_FORMAT, "binary data"));
    CHECK(parse_fails("", 0, LMMIQA_ERR_CORRUPT, "empty CSV"));
    CHECK(parse_fails("\xEF\xBB\xBF\r\n\n", 6, LMMIQA_ERR_CORRUPT, "empty CSV"));
    CHECK(parse_fails("x", LMMIQA_CSV_MAX_BYTES + 1, LMMIQA_ERR_TOO_LARGE, "exceeds"));
}

static void test_load(void)
{
    lmmiqa_csv *csv = NULL;
    int rc = lmmiqa_csv_load("/nonexistent/dir/labels.csv", &csv);
    CHECK(rc == LMMIQA_ERR_IO);
    CHECK(strstr(lmmiqa_error_message(), "/nonexistent/dir/labels.csv") != NULL);
    CHECK(csv == NULL);

    char path[512];
    snprintf(path, sizeof path, "%s/test_csv_tmp.csv", LMMIQA_BINARY_DIR);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("image,mos\r\nx.png,oops\r\n", f);
    fclose(f);
    CHECK_OK(lmmiqa_csv_load(path, &csv));
    if (csv) {
        double v;
        CHECK(lmmiqa_csv_cell_double(csv, 0, 1, &v) == LMMIQA_ERR_CORRUPT);
        CHECK(strstr(lmmiqa_error_message(), path) != NULL);
        CHECK(strstr(lmmiqa_error_message(), ":2: column 'mos'") != NULL);
    }
    lmmiqa_csv_destroy(csv);
    remove(path);
}

/* The real LIVE Challenge label file parses: 1162 rows, numeric MOS. */
static void test_shared_livec(void)
{
    if (!test_shared_dir())
        return;
    lmmiqa_csv *csv = NULL;
    CHECK_OK(lmmiqa_csv_load(test_shared_path("data/livec/livec.csv"), &csv));
    if (!csv)
        return;
    CHECK(lmmiqa_csv_rows(csv) == 1162);
    int mos = lmmiqa_csv_column(csv, "mos");
    CHECK(mos == 1);
    for (size_t r = 0; mos >= 0 && r < lmmiqa_csv_rows(csv); r++) {
        double v;
        CHECK_OK(lmmiqa_csv_cell_double(csv, r, (size_t)mos, &v));
    }
    lmmiqa_csv_destroy(csv);
}

int main(void)
{
    RUN(test_basic);
    RUN(test_quoting);
    RUN(test_bom_crlf_trailing);
    RUN(test_tabs);
    RUN(test_short_and_long_rows);
    RUN(test_blank_lines_skipped);
    RUN(test_bad_numbers);
    RUN(test_malformed);
    RUN(test_load);
    RUN(test_shared_livec);
    return test_finish();
}
