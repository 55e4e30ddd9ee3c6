/*
 * src/data/xlsx.c - read one worksheet of an Office Open XML workbook
 * (.xlsx) as text cells, and the SPAQ reader built on it.
 *
 * An .xlsx is a zip (libzip) of XML parts (expat): xl/workbook.xml lists the
 * sheets and their relationship ids, xl/_rels/workbook.xml.rels maps ids to
 * part names, xl/sharedStrings.xml holds the strings that cells of type "s"
 * index, and each sheet part holds <row r="N"><c r="A1" t="..."><v>..</v>
 * (or <is><t>..</t></is> for inline strings)</c></row>. Only the text is
 * kept; numbers stay in the text the file stores (shortest round-trip), so
 * no precision is lost or invented. Element names are matched after any
 * namespace prefix. Parts are size-limited before they are inflated.
 */
#include "data/dataset_internal.h"

#include "core/internal.h"

#include <ctype.h>
#include <expat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zip.h>

#define XLSX_MAX_PART ((zip_uint64_t)256 << 20) /* 256 MiB per XML part */
#define XLSX_MAX_COL 16384                       /* Excel's limit (XFD) */
#define XLSX_MAX_ROW 1048576

typedef struct xcell {
    size_t row; /* 1-based sheet row */
    size_t col; /* 0-based */
    char *text;
} xcell;

struct lmmiqa__sheet {
    char *name;
    xcell *cells; /* in (row, col) order of the file */
    size_t n, cap;
    size_t *row_start; /* first cell of each non-empty row; [n_rows] = n */
    size_t n_rows;
};

/* ------------------------------------------------------------- zip parts */

static int read_part(zip_t *za, const char *xlsx, const char *name, int optional, char **out,
                     size_t *len)
{
    *out = NULL;
    *len = 0;
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat(za, name, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) {
        if (optional)
            return LMMIQA_OK;
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: the workbook has no part '%s'", xlsx, name);
    }
    if (st.size > XLSX_MAX_PART)
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "%s: part '%s' is %llu bytes (limit %llu)",
                            xlsx, name, (unsigned long long)st.size,
                            (unsigned long long)XLSX_MAX_PART);
    zip_file_t *f = zip_fopen(za, name, 0);
    if (!f)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: cannot open part '%s': %s", xlsx, name,
                            zip_strerror(za));
    char *buf = lmmiqa__malloc((size_t)st.size + 1);
    if (!buf) {
        zip_fclose(f);
        return LMMIQA_ERR_NOMEM;
    }
    zip_int64_t got = zip_fread(f, buf, st.size);
    int bad = got < 0 || (zip_uint64_t)got != st.size;
    char errtext[256];
    if (bad)
        snprintf(errtext, sizeof errtext, "%s", zip_file_strerror(f));
    zip_fclose(f);
    if (bad) {
        free(buf);
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: cannot inflate part '%s': %s", xlsx, name,
                            errtext);
    }
    buf[st.size] = '\0';
    *out = buf;
    *len = (size_t)st.size;
    return LMMIQA_OK;
}

/* ------------------------------------------------------------ XML plumbing */

static const char *local_name(const char *name)
{
    const char *colon = strrchr(name, ':');
    return colon ? colon + 1 : name;
}

static const char *attr(const char **atts, const char *name)
{
    for (size_t k = 0; atts[k]; k += 2)
        if (strcmp(local_name(atts[k]), name) == 0)
            return atts[k + 1];
    return NULL;
}

/* Character data gathers in the shared growable buffer (core/util.c). */
typedef struct xml_ctx {
    const char *xlsx, *part;
    int error; /* status of a semantic error found by a handler */
    XML_Parser parser;
} xml_ctx;

static int run_parser(XML_Parser p, xml_ctx *ctx, const char *text, size_t len)
{
    if (len > (size_t)0x7fffffff)
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "%s: part '%s' too large", ctx->xlsx, ctx->part);
    if (XML_Parse(p, text, (int)len, 1) == XML_STATUS_ERROR) {
        if (ctx->error)
            return ctx->error;
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: part '%s': XML error at line %lu: %s",
                            ctx->xlsx, ctx->part, (unsigned long)XML_GetCurrentLineNumber(p),
                            XML_ErrorString(XML_GetErrorCode(p)));
    }
    return ctx->error;
}

static void stop(xml_ctx *ctx, int status)
{
    if (!ctx->error)
        ctx->error = status;
    XML_StopParser(ctx->parser, XML_FALSE);
}

/* ------------------------------------------------------------- workbook.xml */

typedef struct wb_ctx {
    xml_ctx x;
    const char *want; /* sheet name wanted, NULL = first */
    char *name, *rid;
} wb_ctx;

static void wb_start(void *ud, const char *el, const char **atts)
{
    wb_ctx *c = ud;
    if (c->rid || strcmp(local_name(el), "sheet") != 0)
        return;
    const char *name = attr(atts, "name"), *id = NULL;
    for (size_t k = 0; atts[k]; k += 2)
        if (strcmp(local_name(atts[k]), "id") == 0 && strchr(atts[k], ':'))
            id = atts[k + 1];
    if (!name || !id)
        return;
    if (c->want && strcmp(c->want, name) != 0)
        return;
    c->name = strdup(name);
    c->rid = strdup(id);
    if (!c->name || !c->rid)
        stop(&c->x, lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory reading %s", c->x.xlsx));
}

/* -------------------------------------------------------- workbook.xml.rels */

typedef struct rel_ctx {
    xml_ctx x;
    const char *rid;
    char *target;
} rel_ctx;

static void rel_start(void *ud, const char *el, const char **atts)
{
    rel_ctx *c = ud;
    if (c->target || strcmp(local_name(el), "Relationship") != 0)
        return;
    const char *id = attr(atts, "Id"), *target = attr(atts, "Target");
    if (id && target && strcmp(id, c->rid) == 0) {
        c->target = strdup(target);
        if (!c->target)
            stop(&c->x, lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory reading %s", c->x.xlsx));
    }
}

/* -------------------------------------------------------- sharedStrings.xml */

typedef struct sst_ctx {
    xml_ctx x;
    char **items;
    size_t n, cap;
    int in_si, in_t, in_rph;
    lmmiqa__buf text;
} sst_ctx;

static void sst_start(void *ud, const char *el, const char **atts)
{
    (void)atts;
    sst_ctx *c = ud;
    const char *e = local_name(el);
    if (strcmp(e, "si") == 0) {
        c->in_si = 1;
        c->text.len = 0;
        if (c->text.s)
            c->text.s[0] = '\0';
    } else if (strcmp(e, "rPh") == 0) {
        c->in_rph = 1; /* phonetic hints are not part of the text */
    } else if (strcmp(e, "t") == 0 && c->in_si && !c->in_rph) {
        c->in_t = 1;
    }
}

static void sst_end(void *ud, const char *el)
{
    sst_ctx *c = ud;
    const char *e = local_name(el);
    if (strcmp(e, "t") == 0) {
        c->in_t = 0;
    } else if (strcmp(e, "rPh") == 0) {
        c->in_rph = 0;
    } else if (strcmp(e, "si") == 0) {
        c->in_si = 0;
        if (c->n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 256;
            char **p = realloc(c->items, cap * sizeof *p);
            if (!p) {
                stop(&c->x, lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory reading %s", c->x.xlsx));
                return;
            }
            c->items = p;
            c->cap = cap;
        }
        char *s = lmmiqa__buf_take(&c->text);
        if (!s || c->text.oom) {
            free(s);
            stop(&c->x, lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory reading %s", c->x.xlsx));
            return;
        }
        c->items[c->n++] = s;
    }
}

static void sst_chars(void *ud, const char *s, int len)
{
    sst_ctx *c = ud;
    if (c->in_t)
        lmmiqa__buf_put(&c->text, s, (size_t)len);
}

/* ------------------------------------------------------------- sheet part */

typedef struct sheet_ctx {
    xml_ctx x;
    lmmiqa__sheet *sh;
    char *const *sst;
    size_t n_sst;
    size_t cur_row, next_row, next_col;
    size_t c_row, c_col;
    char type[16];
    int in_c, in_v, in_is_t, has_value;
    lmmiqa__buf text;
} sheet_ctx;

/* "BC12" -> col 54 (0-based), row 12. 0 on success. */
static int parse_ref(const char *ref, size_t *col, size_t *row)
{
    size_t c = 0, r = 0;
    const char *p = ref;
    if (!isupper((unsigned char)*p))
        return -1;
    while (isupper((unsigned char)*p)) {
        c = c * 26 + (size_t)(*p - 'A' + 1);
        if (c > XLSX_MAX_COL)
            return -1;
        p++;
    }
    if (!isdigit((unsigned char)*p))
        return -1;
    while (isdigit((unsigned char)*p)) {
        r = r * 10 + (size_t)(*p - '0');
        if (r > XLSX_MAX_ROW)
            return -1;
        p++;
    }
    if (*p || r == 0)
        return -1;
    *col = c - 1;
    *row = r;
    return 0;
}

static void sheet_start(void *ud, const char *el, const char **atts)
{
    sheet_ctx *c = ud;
    const char *e = local_name(el);
    if (strcmp(e, "row") == 0) {
        const char *r = attr(atts, "r");
        size_t row = c->next_row;
        if (r) {
            char *end = NULL;
            unsigned long v = strtoul(r, &end, 10);
            if (*end || v == 0 || v > XLSX_MAX_ROW || v < c->next_row) {
                stop(&c->x, lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: sheet line %lu: bad row "
                                         "number '%s'", c->x.xlsx,
                                         (unsigned long)XML_GetCurrentLineNumber(c->x.parser), r));
                return;
            }
            row = v;
        }
        c->cur_row = row;
        c->next_row = row + 1;
        c->next_col = 0;
    } else if (strcmp(e, "c") == 0) {
        const char *r = attr(atts, "r"), *t = attr(atts, "t");
        size_t col = c->next_col, row = c->cur_row;
        if (r && parse_ref(r, &col, &row) != 0) {
            stop(&c->x, lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: bad cell reference '%s'", c->x.xlsx,
                                     r));
            return;
        }
        if (row != c->cur_row || col >= XLSX_MAX_COL) {
            stop(&c->x, lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: cell '%s' outside its row %zu",
                                     c->x.xlsx, r ? r : "?", c->cur_row));
            return;
        }
        c->c_row = row;
        c->c_col = col;
        c->next_col = col + 1;
        snprintf(c->type, sizeof c->type, "%s", t ? t : "n");
        c->in_c = 1;
        c->has_value = 0;
        c->text.len = 0;
        if (c->text.s)
            c->text.s[0] = '\0';
    } else if (c->in_c && strcmp(e, "v") == 0) {
        c->in_v = 1;
        c->has_value = 1;
    } else if (c->in_c && strcmp(e, "t") == 0) {
        c->in_is_t = 1;
        c->has_value = 1;
    }
}

static int push_cell(sheet_ctx *c, char *text)
{
    lmmiqa__sheet *sh = c->sh;
    if (sh->n == sh->cap) {
        size_t cap = sh->cap ? sh->cap * 2 : 1024;
        xcell *p = realloc(sh->cells, cap * sizeof *p);
        if (!p) {
            free(text);
            return lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory reading %s", c->x.xlsx);
        }
        sh->cells = p;
        sh->cap = cap;
    }
    sh->cells[sh->n].row = c->c_row;
    sh->cells[sh->n].col = c->c_col;
    sh->cells[sh->n].text = text;
    sh->n++;
    return LMMIQA_OK;
}

static void sheet_end(void *ud, const char *el)
{
    sheet_ctx *c = ud;
    const char *e = local_name(el);
    if (strcmp(e, "v") == 0) {
        c->in_v = 0;
    } else if (strcmp(e, "t") == 0) {
        c->in_is_t = 0;
    } else if (strcmp(e, "c") == 0 && c->in_c) {
        c->in_c = 0;
        if (c->text.oom) {
            stop(&c->x, lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory reading %s", c->x.xlsx));
            return;
        }
        if (!c->has_value)
            return;
        char *text;
        if (strcmp(c->type, "s") == 0) {
            char *end = NULL;
            const char *v = c->text.s ? c->text.s : "";
            unsigned long k = strtoul(v, &end, 10);
            if (!*v || *end || k >= c->n_sst) {
                stop(&c->x, lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                         "%s: cell at row %zu: shared string index '%s' out of "
                                         "range (%zu strings)",
                                         c->x.xlsx, c->c_row, v, c->n_sst));
                return;
            }
            text = strdup(c->sst[k]);
        } else {
            text = lmmiqa__buf_take(&c->text);
        }
        if (!text) {
            stop(&c->x, lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory reading %s", c->x.xlsx));
            return;
        }
        if (!*text) {
            free(text);
            return;
        }
        int rc = push_cell(c, text);
        if (rc)
            stop(&c->x, rc);
    }
}

static void sheet_chars(void *ud, const char *s, int len)
{
    sheet_ctx *c = ud;
    if (c->in_v || c->in_is_t)
        lmmiqa__buf_put(&c->text, s, (size_t)len);
}

/* ------------------------------------------------------------------ driver */

void lmmiqa__sheet_destroy(lmmiqa__sheet *sh)
{
    if (!sh)
        return;
    for (size_t k = 0; k < sh->n; k++)
        free(sh->cells[k].text);
    free(sh->cells);
    free(sh->row_start);
    free(sh->name);
    free(sh);
}

static int parse_part(zip_t *za, const char *xlsx, const char *part, int optional, xml_ctx *x,
                      void *ud, XML_StartElementHandler st, XML_EndElementHandler en,
                      XML_CharacterDataHandler ch, int *present)
{
    char *text = NULL;
    size_t len = 0;
    int rc = read_part(za, xlsx, part, optional, &text, &len);
    if (present)
        *present = text != NULL;
    if (rc || !text)
        return rc;
    XML_Parser p = XML_ParserCreate(NULL);
    if (!p) {
        free(text);
        return lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory creating an XML parser");
    }
    x->xlsx = xlsx;
    x->part = part;
    x->parser = p;
    XML_SetUserData(p, ud);
    XML_SetElementHandler(p, st, en);
    if (ch)
        XML_SetCharacterDataHandler(p, ch);
    rc = run_parser(p, x, text, len);
    XML_ParserFree(p);
    free(text);
    return rc;
}

/* Part name of a relationship target, relative to xl/ unless absolute. */
static int part_of_target(const char *target, char *buf, size_t cap)
{
    int n;
    if (target[0] == '/')
        n = snprintf(buf, cap, "%s", target + 1);
    else
        n = snprintf(buf, cap, "xl/%s", target);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int lmmiqa__xlsx_read_sheet(const char *path, const char *sheet_name, lmmiqa__sheet **out)
{
    *out = NULL;
    int zerr = 0;
    zip_t *za = zip_open(path, ZIP_RDONLY, &zerr);
    if (!za) {
        zip_error_t e;
        zip_error_init_with_code(&e, zerr);
        int rc = lmmiqa__fail(zerr == ZIP_ER_NOENT || zerr == ZIP_ER_OPEN ? LMMIQA_ERR_IO
                                                                          : LMMIQA_ERR_CORRUPT,
                              "%s: not a readable .xlsx (zip) file: %s", path,
                              zip_error_strerror(&e));
        zip_error_fini(&e);
        return rc;
    }
    wb_ctx wb = {.want = sheet_name};
    rel_ctx rel = {0};
    sst_ctx sst = {0};
    sheet_ctx sc = {0};
    lmmiqa__sheet *sh = NULL;
    char part[1024];
    int rc = parse_part(za, path, "xl/workbook.xml", 0, &wb.x, &wb, wb_start, NULL, NULL, NULL);
    if (!rc && !wb.rid)
        rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: workbook has no sheet%s%s%s", path,
                          sheet_name ? " named '" : "", sheet_name ? sheet_name : "",
                          sheet_name ? "'" : "");
    if (!rc) {
        rel.rid = wb.rid;
        rc = parse_part(za, path, "xl/_rels/workbook.xml.rels", 0, &rel.x, &rel, rel_start, NULL,
                        NULL, NULL);
    }
    if (!rc && !rel.target)
        rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: no relationship '%s' for sheet '%s'", path,
                          wb.rid, wb.name);
    if (!rc && part_of_target(rel.target, part, sizeof part))
        rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: sheet target too long", path);
    if (!rc)
        rc = parse_part(za, path, "xl/sharedStrings.xml", 1, &sst.x, &sst, sst_start, sst_end,
                        sst_chars, NULL);
    if (!rc && !(sh = lmmiqa__calloc(1, sizeof *sh)))
        rc = LMMIQA_ERR_NOMEM;
    if (!rc) {
        sh->name = wb.name;
        wb.name = NULL;
        sc.sh = sh;
        sc.sst = sst.items;
        sc.n_sst = sst.n;
        sc.next_row = 1;
        sc.cur_row = 1;
        rc = parse_part(za, path, part, 0, &sc.x, &sc, sheet_start, sheet_end, sheet_chars, NULL);
    }
    if (!rc) {
        /* Index the rows (cells arrive row by row, rows ascending). */
        sh->row_start = lmmiqa__calloc(sh->n + 1, sizeof *sh->row_start);
        if (!sh->row_start) {
            rc = LMMIQA_ERR_NOMEM;
        } else {
            for (size_t k = 0; k < sh->n; k++)
                if (k == 0 || sh->cells[k].row != sh->cells[k - 1].row)
                    sh->row_start[sh->n_rows++] = k;
            sh->row_start[sh->n_rows] = sh->n;
        }
    }
    zip_close(za);
    free(wb.name);
    free(wb.rid);
    free(rel.target);
    for (size_t k = 0; k < sst.n; k++)
        free(sst.items[k]);
    free(sst.items);
    free(sst.text.s);
    free(sc.text.s);
    if (rc) {
        lmmiqa__sheet_destroy(sh);
        return rc;
    }
    *out = sh;
    return LMMIQA_OK;
}

size_t lmmiqa__sheet_row_number(const lmmiqa__sheet *sh, size_t r)
{
    return sh->cells[sh->row_start[r]].row;
}

const char *lmmiqa__sheet_cell(const lmmiqa__sheet *sh, size_t r, size_t col)
{
    for (size_t k = sh->row_start[r]; k < sh->row_start[r + 1]; k++)
        if (sh->cells[k].col == col)
            return sh->cells[k].text;
    return "";
}

/* ------------------------------------------------------------------- SPAQ */

static int find_header(const lmmiqa__sheet *sh, const char *name, size_t *col)
{
    const size_t start = sh->row_start[0], end = sh->row_start[1];
    for (size_t k = start; k < end; k++) {
        const char *h = sh->cells[k].text;
        while (*h == ' ')
            h++;
        size_t len = strlen(h);
        while (len && h[len - 1] == ' ')
            len--;
        if (len == strlen(name) && strncasecmp(h, name, len) == 0) {
            *col = sh->cells[k].col;
            return 0;
        }
    }
    return -1;
}

int lmmiqa__spaq_read_xlsx(lmmiqa_dataset *ds, const char *path)
{
    if (!(ds->label_path = (char *)lmmiqa__dataset_strdup(ds, path)) ||
        !(ds->name = (char *)lmmiqa__dataset_strdup(ds, "spaq")) ||
        !(ds->format = (char *)lmmiqa__dataset_strdup(ds, "spaq-xlsx")))
        return LMMIQA_ERR_NOMEM;
    lmmiqa__sheet *sh = NULL;
    int rc = lmmiqa__xlsx_read_sheet(path, NULL, &sh);
    if (rc)
        return rc;
    size_t ci = 0, cm = 0;
    if (sh->n_rows == 0)
        rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: sheet '%s' is empty", path, sh->name);
    else if (find_header(sh, "Image name", &ci) != 0)
        rc = lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: sheet '%s' row %zu has no 'Image name' column",
                          path, sh->name, lmmiqa__sheet_row_number(sh, 0));
    else if (find_header(sh, "MOS", &cm) != 0)
        rc = lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: sheet '%s' row %zu has no 'MOS' column", path,
                          sh->name, lmmiqa__sheet_row_number(sh, 0));
    for (size_t r = 1; !rc && r < sh->n_rows; r++) {
        size_t row = lmmiqa__sheet_row_number(sh, r);
        const char *img = lmmiqa__sheet_cell(sh, r, ci), *m = lmmiqa__sheet_cell(sh, r, cm);
        double mos;
        if (lmmiqa__parse_number(m, &mos) != 0) {
            rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: sheet '%s' row %zu: MOS '%s' is not a "
                              "number", path, sh->name, row, m);
            break;
        }
        rc = lmmiqa__dataset_add(ds, img, mos, NAN, NULL, -1, NULL, row);
    }
    lmmiqa__sheet_destroy(sh);
    if (rc)
        return rc;
    ds->scale_lo = 0;
    ds->scale_hi = 100;
    static const char *const cands[] = {"TestImage", "../TestImage", NULL};
    return lmmiqa__dataset_set_root_beside(ds, path, cands);
}
