/*
 * src/plot/plot.c - scatter and trend charts with cairo (include/lmmiqa/plot.h),
 * the one source of the companion library liblmmiqa-plot.
 *
 * Design: every chart is drawn in two passes. The layout pass measures text
 * on a 1x1 scratch surface (font hinting and metric hinting off, so text
 * measures the same on raster and vector surfaces) and fixes the margins,
 * plot area, axis ranges and ticks in canvas units; the draw pass creates the
 * output surface of that size and paints. Output goes to memory through
 * cairo's stream writers and then to disk with lmmiqa_file_write_atomic, so
 * a failed chart never leaves a partial file. Inputs are validated before any
 * cairo call (finite values, UTF-8 labels: cairo's toy text API puts the
 * context in an error state on invalid UTF-8), and the context's status is
 * checked at the end. Ticks follow Heckbert's "nice numbers" (steps of 1, 2,
 * 5 x 10^k, about six per axis). Nothing depends on time or global state, so output is
 * reproducible.
 *
 * Library boundary: this file is built into liblmmiqa-plot, not liblmmiqa,
 * so that a program using BRISQUE or the scorer does not link cairo. It
 * reaches the core through exported functions only: lmmiqa_error_set and
 * lmmiqa_error_context (its messages land in the core's per-thread message,
 * read with lmmiqa_error_message), lmmiqa_file_write_atomic
 * (lmmiqa/advanced/file.h) and the metrics; plus the header-only options
 * reader core/options.h.
 */
#include "lmmiqa/plot.h"

#include "lmmiqa/metrics.h"

#include "lmmiqa/advanced/file.h"

#include "core/options.h"

#include <assert.h>
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#define FONT_FACE "sans-serif"
#define MAX_CANVAS 16384.0 /* units, and pixels after scaling */
#define MAX_TICKS 64

static const uint32_t palette[LMMIQA_PLOT_PALETTE_SIZE] = {
    0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
    0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};

uint32_t lmmiqa_plot_color(size_t i)
{
    return palette[i % LMMIQA_PLOT_PALETTE_SIZE];
}

void lmmiqa_plot_options_init(lmmiqa_plot_options *opt)
{
    assert(opt);
    memset(opt, 0, sizeof *opt);
    opt->size = sizeof *opt;
    opt->scale = 1.0;
    opt->legend_metrics = 1;
}

void lmmiqa_plot_frame_map(const lmmiqa_plot_frame *f, double x, double y, double *px,
                           double *py)
{
    assert(f && px && py);
    *px = f->left + (x - f->x_min) / (f->x_max - f->x_min) * f->width;
    *py = f->top + (f->y_max - y) / (f->y_max - f->y_min) * f->height;
}

/* ---- checks ----------------------------------------------------------------- */

typedef enum { FMT_PNG, FMT_PDF, FMT_SVG } out_format;

static int format_of(const char *path, out_format *fmt)
{
    if (!path || !*path)
        return lmmiqa_error_set(LMMIQA_ERR_INVALID_ARG, "plot: no output path");
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash)) {
        if (strcasecmp(dot, ".png") == 0) {
            *fmt = FMT_PNG;
            return LMMIQA_OK;
        }
        if (strcasecmp(dot, ".pdf") == 0) {
            *fmt = FMT_PDF;
            return LMMIQA_OK;
        }
        if (strcasecmp(dot, ".svg") == 0) {
            *fmt = FMT_SVG;
            return LMMIQA_OK;
        }
    }
    return lmmiqa_error_set(LMMIQA_ERR_FORMAT,
                            "%s: unknown figure format (the extension must be .png, .pdf or .svg)",
                            path);
}

/* Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF). */
static int utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        int len;
        unsigned cp, min;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        for (int k = 1; k < len; k++) {
            if ((p[k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        p += len;
    }
    return 1;
}

static int check_text(const char *what, const char *s)
{
    if (s && !utf8_valid(s))
        return lmmiqa_error_set(LMMIQA_ERR_INVALID_ARG, "plot: %s is not valid UTF-8", what);
    return LMMIQA_OK;
}

static int check_options(const lmmiqa_plot_options *o)
{
    if (!(o->width == 0 || (isfinite(o->width) && o->width >= 100 && o->width <= MAX_CANVAS)))
        return lmmiqa_error_set(LMMIQA_ERR_INVALID_ARG, "plot: width %g out of range (0 or 100..%g)",
                                o->width, MAX_CANVAS);
    if (!(o->height == 0 || (isfinite(o->height) && o->height >= 100 && o->height <= MAX_CANVAS)))
        return lmmiqa_error_set(LMMIQA_ERR_INVALID_ARG, "plot: height %g out of range (0 or 100..%g)",
                                o->height, MAX_CANVAS);
    if (!(isfinite(o->scale) && o->scale >= 0.1 && o->scale <= 16))
        return lmmiqa_error_set(LMMIQA_ERR_INVALID_ARG, "plot: scale %g out of range (0.1..16)",
                                o->scale);
    if (!isfinite(o->lo) || !isfinite(o->hi))
        return lmmiqa_error_set(LMMIQA_ERR_INVALID_ARG, "plot: axis range %g..%g is not finite",
                                o->lo, o->hi);
    if (!(o->font_size == 0 || (isfinite(o->font_size) && o->font_size >= 4 && o->font_size <= 72)))
        return lmmiqa_error_set(LMMIQA_ERR_INVALID_ARG, "plot: font size %g out of range (0 or 4..72)",
                                o->font_size);
    if (!(o->marker_size == 0 ||
          (isfinite(o->marker_size) && o->marker_size > 0 && o->marker_size <= 50)))
        return lmmiqa_error_set(LMMIQA_ERR_INVALID_ARG, "plot: marker size %g out of range (0..50]",
                                o->marker_size);
    int rc = check_text("the title", o->title);
    if (rc == LMMIQA_OK)
        rc = check_text("the x label", o->x_label);
    if (rc == LMMIQA_OK)
        rc = check_text("the y label", o->y_label);
    return rc;
}

/* ---- ticks -------------------------------------------------------------------- */

/* Heckbert's nice number: 1, 2, 5 or 10 times a power of ten, nearest x. */
static double nice_number(double x)
{
    double e = floor(log10(x));
    double f = x / pow(10.0, e);
    double nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
    return nf * pow(10.0, e);
}

typedef struct axis {
    double lo, hi;          /* shown range */
    double ticks[MAX_TICKS];
    int n_ticks;
    int decimals;
} axis;

/* Data an automatic axis can show: finite, within +-MAX_VALUE (ticks and
 * canvas coordinates stay exact). Otherwise an error naming the range,
 * rather than an empty or garbled chart. */
#define MAX_VALUE 1e12
static int axis_drawable(const char *path, double dmin, double dmax)
{
    if (isfinite(dmin) && isfinite(dmax) && fabs(dmin) <= MAX_VALUE && fabs(dmax) <= MAX_VALUE)
        return LMMIQA_OK;
    return lmmiqa_error_set(LMMIQA_ERR_INVALID_ARG,
                            "%s: values from %g to %g cannot be drawn (at most %g in magnitude; "
                            "fix the data or give the axis range)",
                            path, dmin, dmax, MAX_VALUE);
}

/* An axis over [dmin, dmax]: auto = extend to whole ticks, else keep the
 * range as given and place nice ticks inside it. */
static void axis_make(axis *a, double dmin, double dmax, int extend)
{
    assert(dmax > dmin);
    double step = nice_number((dmax - dmin) / 6.0);
    if (extend) {
        a->lo = floor(dmin / step + 1e-9) * step;
        a->hi = ceil(dmax / step - 1e-9) * step;
    } else {
        a->lo = dmin;
        a->hi = dmax;
    }
    a->n_ticks = 0;
    double first = ceil(a->lo / step - 1e-9);
    for (double k = first; a->n_ticks < MAX_TICKS; k += 1.0) {
        double v = k * step;
        if (v > a->hi + step * 1e-9)
            break;
        if (fabs(v) < step * 1e-9)
            v = 0.0;
        a->ticks[a->n_ticks++] = v;
    }
    int d = (int)ceil(-log10(step) - 1e-9);
    a->decimals = d < 0 ? 0 : d > 10 ? 10 : d;
}

static void tick_text(const axis *a, double v, char *buf, size_t size)
{
    snprintf(buf, size, "%.*f", a->decimals, v);
}

/* ---- memory output ------------------------------------------------------------- */

typedef struct membuf {
    unsigned char *p;
    size_t n, cap;
    int failed;
} membuf;

static cairo_status_t membuf_write(void *closure, const unsigned char *data, unsigned int len)
{
    membuf *b = closure;
    if (b->failed)
        return CAIRO_STATUS_WRITE_ERROR;
    if (b->n + len > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->n + len)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return CAIRO_STATUS_NO_MEMORY;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
    return CAIRO_STATUS_SUCCESS;
}

/* cairo's SVG writer names groups "surface<N>" from a process-wide counter,
 * so the same chart would differ with the number of surfaces created before
 * it. Renumber every "surface<N>" (ids and references alike) 1, 2, ... in
 * order of first appearance, into a new buffer. */
static int svg_renumber(membuf *b)
{
    static const char key[] = "surface";
    const size_t klen = sizeof key - 1;
    unsigned long long seen[64];
    size_t n_seen = 0;
    membuf out = {0};
    size_t i = 0, copied = 0;
    while (i + klen < b->n) {
        if (memcmp(b->p + i, key, klen) != 0 || b->p[i + klen] < '0' || b->p[i + klen] > '9') {
            i++;
            continue;
        }
        size_t j = i + klen;
        unsigned long long v = 0;
        for (; j < b->n && b->p[j] >= '0' && b->p[j] <= '9'; j++)
            if (v < 1000000000000ULL)
                v = v * 10 + (unsigned)(b->p[j] - '0');
        size_t k = 0;
        while (k < n_seen && seen[k] != v)
            k++;
        if (k == n_seen) {
            if (n_seen == 64) { /* more groups than this chart draws: leave as is */
                free(out.p);
                return LMMIQA_OK;
            }
            seen[n_seen++] = v;
        }
        char num[32];
        int len = snprintf(num, sizeof num, "%zu", k + 1);
        if (membuf_write(&out, b->p + copied, (unsigned)(i + klen - copied)) ||
            membuf_write(&out, (const unsigned char *)num, (unsigned)len)) {
            free(out.p);
            return lmmiqa_error_set(LMMIQA_ERR_NOMEM, "out of memory writing an SVG figure");
        }
        i = copied = j;
    }
    if (membuf_write(&out, b->p + copied, (unsigned)(b->n - copied))) {
        free(out.p);
        return lmmiqa_error_set(LMMIQA_ERR_NOMEM, "out of memory writing an SVG figure");
    }
    free(b->p);
    *b = out;
    return LMMIQA_OK;
}

static int cairo_fail(cairo_status_t st, const char *path)
{
    if (st == CAIRO_STATUS_NO_MEMORY)
        return lmmiqa_error_set(LMMIQA_ERR_NOMEM, "%s: out of memory drawing the figure", path);
    return lmmiqa_error_set(LMMIQA_ERR_INTERNAL, "%s: cairo failed: %s", path,
                            cairo_status_to_string(st));
}

/* ---- text --------------------------------------------------------------------- */

static void font_setup(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, FONT_FACE, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    cairo_set_font_options(cr, fo);
    cairo_font_options_destroy(fo);
}

static double text_width(cairo_t *cr, const char *s)
{
    cairo_text_extents_t te;
    cairo_text_extents(cr, s, &te);
    return te.x_advance;
}

/* Draw s with its anchor at (x, y): ha 0 left, 0.5 centre, 1 right; the
 * text is centred vertically on y (by the font's ascent and descent). */
static void text_at(cairo_t *cr, const char *s, double x, double y, double ha)
{
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    double w = text_width(cr, s);
    cairo_move_to(cr, x - ha * w, y + (fe.ascent - fe.descent) / 2.0);
    cairo_show_text(cr, s);
}

static void set_rgb(cairo_t *cr, uint32_t c, double alpha)
{
    cairo_set_source_rgba(cr, ((c >> 16) & 0xff) / 255.0, ((c >> 8) & 0xff) / 255.0,
                          (c & 0xff) / 255.0, alpha);
}

/* Crisp 1-unit lines: centre on half units. */
static double snap(double v)
{
    return floor(v) + 0.5;
}

/* ---- markers -------------------------------------------------------------------- */

/* Path of marker shape `shape` (0 circle, 1 square, 2 triangle up, 3
 * diamond, 4 triangle down, then repeating) of half-size r at (x, y). */
static void marker_path(cairo_t *cr, int shape, double x, double y, double r)
{
    cairo_new_sub_path(cr);
    switch (shape % 5) {
    case 0:
        cairo_arc(cr, x, y, r, 0, 2 * M_PI);
        break;
    case 1:
        cairo_rectangle(cr, x - r * 0.9, y - r * 0.9, 1.8 * r, 1.8 * r);
        break;
    case 2:
        cairo_move_to(cr, x, y - 1.15 * r);
        cairo_line_to(cr, x + 1.1 * r, y + 0.8 * r);
        cairo_line_to(cr, x - 1.1 * r, y + 0.8 * r);
        cairo_close_path(cr);
        break;
    case 3:
        cairo_move_to(cr, x, y - 1.25 * r);
        cairo_line_to(cr, x + r, y);
        cairo_line_to(cr, x, y + 1.25 * r);
        cairo_line_to(cr, x - r, y);
        cairo_close_path(cr);
        break;
    default:
        cairo_move_to(cr, x, y + 1.15 * r);
        cairo_line_to(cr, x + 1.1 * r, y - 0.8 * r);
        cairo_line_to(cr, x - 1.1 * r, y - 0.8 * r);
        cairo_close_path(cr);
        break;
    }
}

/* ---- layout --------------------------------------------------------------------- */

typedef enum { SWATCH_POINT, SWATCH_LINE, SWATCH_LINE_MARKER } swatch_kind;

typedef struct legend_entry {
    char label[256];
    char sub[128];          /* second line ("" = none) */
    swatch_kind kind;
    uint32_t color;
    int shape;
} legend_entry;

static legend_entry *legend_alloc(size_t n)
{
    legend_entry *e = calloc(n, sizeof *e);
    if (!e)
        lmmiqa_error_set(LMMIQA_ERR_NOMEM, "out of memory allocating %zu legend entries", n);
    return e;
}

typedef struct chart {
    int is_scatter;
    lmmiqa_plot_options opt;
    double font, title_font, marker;
    const char *x_label, *y_label;
    axis ax, ay;            /* trend: ax unused for ticks (categories) */
    const char *const *categories;
    size_t n_categories;
    legend_entry *legend;
    size_t n_legend;
    double legend_w, legend_h, legend_x, legend_y, line_h;
    lmmiqa_plot_frame f;
} chart;

enum { PAD = 12, TICK = 5, GAP = 18 };

static double legend_row_h(const chart *c, const legend_entry *e)
{
    return e->sub[0] ? 2.0 * c->line_h : c->line_h;
}

/* Measure text and fix the frame, the legend box and the canvas size. */
static void layout(chart *c, cairo_t *m, double plot_w_wanted)
{
    const lmmiqa_plot_options *o = &c->opt;
    font_setup(m, c->font, 0);
    cairo_font_extents_t fe;
    cairo_font_extents(m, &fe);
    double text_h = fe.ascent + fe.descent;
    c->line_h = text_h * 1.25;

    /* Legend box: swatch column, then the text. */
    double swatch_w = 28, inner = 8, lw = 0, lh = 0;
    for (size_t i = 0; i < c->n_legend; i++) {
        const legend_entry *e = &c->legend[i];
        double w = text_width(m, e->label);
        if (e->sub[0]) {
            double w2 = text_width(m, e->sub);
            w = w2 > w ? w2 : w;
        }
        lw = w > lw ? w : lw;
        lh += legend_row_h(c, e);
    }
    c->legend_w = inner + swatch_w + lw + inner;
    c->legend_h = inner + lh + inner - (c->line_h - text_h);

    /* Y tick labels. */
    char buf[64];
    double ytw = 0;
    for (int k = 0; k < c->ay.n_ticks; k++) {
        tick_text(&c->ay, c->ay.ticks[k], buf, sizeof buf);
        double w = text_width(m, buf);
        ytw = w > ytw ? w : ytw;
    }
    double title_h = 0, title_w = 0;
    if (o->title && *o->title) {
        font_setup(m, c->title_font, 1);
        cairo_font_extents_t tfe;
        cairo_font_extents(m, &tfe);
        title_h = (tfe.ascent + tfe.descent) * 1.6;
        title_w = text_width(m, o->title);
        font_setup(m, c->font, 0);
    }
    int has_xl = c->x_label && *c->x_label, has_yl = c->y_label && *c->y_label;
    double left = PAD + (has_yl ? text_h * 1.5 : 0) + ytw + TICK + 4;
    double top = PAD + (title_h > 0 ? title_h : text_h * 0.5);
    double bottom = TICK + 4 + text_h + (has_xl ? text_h * 1.6 : 0) + PAD;
    double right = GAP + c->legend_w + PAD;

    double height = o->height > 0 ? o->height : c->is_scatter ? 560 : 480;
    double plot_h = height - top - bottom;
    double plot_w;
    if (c->is_scatter) {
        double side = plot_h;
        if (o->width > 0 && o->width - left - right < side)
            side = o->width - left - right;
        plot_w = plot_h = side;
    } else {
        plot_w = o->width > 0 ? o->width - left - right : plot_w_wanted;
    }
    double width = o->width > 0 ? o->width : ceil(left + plot_w + right);
    if (o->width <= 0 && title_w + 2 * PAD > width)
        width = ceil(title_w + 2 * PAD);
    /* The legend may need more height than the plot area. */
    if (top + c->legend_h + PAD > height)
        height = ceil(top + c->legend_h + PAD);

    c->f.canvas_width = width;
    c->f.canvas_height = height;
    c->f.left = floor(left);
    c->f.top = floor(top);
    c->f.width = floor(plot_w);
    c->f.height = floor(plot_h);
    c->legend_x = c->f.left + c->f.width + GAP;
    c->legend_y = c->f.top;
}

static int layout_checked(chart *c, double plot_w_wanted)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
    cairo_t *m = cairo_create(s);
    layout(c, m, plot_w_wanted);
    cairo_status_t st = cairo_status(m);
    cairo_destroy(m);
    cairo_surface_destroy(s);
    if (st != CAIRO_STATUS_SUCCESS)
        return cairo_fail(st, "plot layout");
    if (c->f.width < 60 || c->f.height < 60)
        return lmmiqa_error_set(LMMIQA_ERR_INVALID_ARG,
                                "plot: a %gx%g canvas leaves a %gx%g plot area (at least 60x60 is "
                                "needed; enlarge it or shorten the labels)",
                                c->f.canvas_width, c->f.canvas_height, c->f.width, c->f.height);
    if (c->f.canvas_width > MAX_CANVAS || c->f.canvas_height > MAX_CANVAS ||
        c->f.canvas_width * c->opt.scale > MAX_CANVAS ||
        c->f.canvas_height * c->opt.scale > MAX_CANVAS)
        return lmmiqa_error_set(LMMIQA_ERR_TOO_LARGE,
                                "plot: a %gx%g canvas at scale %g exceeds %g pixels a side",
                                c->f.canvas_width, c->f.canvas_height, c->opt.scale, MAX_CANVAS);
    return LMMIQA_OK;
}

/* ---- drawing ----------------------------------------------------------------- */

static void draw_frame_and_axes(chart *c, cairo_t *cr)
{
    const lmmiqa_plot_frame *f = &c->f;
    char buf[64];
    double x0 = f->left, y0 = f->top, x1 = f->left + f->width, y1 = f->top + f->height;

    /* Frame and outward ticks. */
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1.0);
    cairo_rectangle(cr, snap(x0) - 1, snap(y0) - 1, x1 - x0 + 1, y1 - y0 + 1);
    cairo_stroke(cr);
    font_setup(cr, c->font, 0);
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    double text_h = fe.ascent + fe.descent;
    for (int k = 0; k < c->ay.n_ticks; k++) {
        double px, py;
        lmmiqa_plot_frame_map(f, f->x_min, c->ay.ticks[k], &px, &py);
        cairo_move_to(cr, x0 - 1, snap(py));
        cairo_line_to(cr, x0 - 1 - TICK, snap(py));
        cairo_stroke(cr);
        tick_text(&c->ay, c->ay.ticks[k], buf, sizeof buf);
        text_at(cr, buf, x0 - TICK - 4, py, 1.0);
    }
    double xt_y = y1 + TICK + 3 + text_h / 2;
    if (c->is_scatter) {
        for (int k = 0; k < c->ax.n_ticks; k++) {
            double px, py;
            lmmiqa_plot_frame_map(f, c->ax.ticks[k], f->y_min, &px, &py);
            cairo_move_to(cr, snap(px), y1);
            cairo_line_to(cr, snap(px), y1 + TICK);
            cairo_stroke(cr);
            tick_text(&c->ax, c->ax.ticks[k], buf, sizeof buf);
            text_at(cr, buf, px, xt_y, 0.5);
        }
    } else {
        for (size_t j = 0; j < c->n_categories; j++) {
            double px, py;
            lmmiqa_plot_frame_map(f, (double)j, f->y_min, &px, &py);
            cairo_move_to(cr, snap(px), y1);
            cairo_line_to(cr, snap(px), y1 + TICK);
            cairo_stroke(cr);
            text_at(cr, c->categories[j], px, xt_y, 0.5);
        }
    }
    if (c->x_label && *c->x_label)
        text_at(cr, c->x_label, x0 + f->width / 2, xt_y + text_h * 1.45, 0.5);
    if (c->y_label && *c->y_label) {
        cairo_save(cr);
        cairo_translate(cr, PAD + text_h * 0.5, y0 + f->height / 2);
        cairo_rotate(cr, -M_PI / 2);
        text_at(cr, c->y_label, 0, 0, 0.5);
        cairo_restore(cr);
    }
    if (c->opt.title && *c->opt.title) {
        font_setup(cr, c->title_font, 1);
        cairo_font_extents_t tfe;
        cairo_font_extents(cr, &tfe);
        /* Centred over the plot area, moved left or right to stay on the canvas. */
        double w = text_width(cr, c->opt.title);
        double tx = x0 + f->width / 2 - w / 2;
        if (tx + w > f->canvas_width - PAD)
            tx = f->canvas_width - PAD - w;
        if (tx < PAD)
            tx = PAD;
        text_at(cr, c->opt.title, tx, PAD + (tfe.ascent + tfe.descent) * 0.6, 0.0);
        font_setup(cr, c->font, 0);
    }
}

static void draw_grid(chart *c, cairo_t *cr)
{
    const lmmiqa_plot_frame *f = &c->f;
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    cairo_set_line_width(cr, 1.0);
    for (int k = 0; k < c->ay.n_ticks; k++) {
        double px, py;
        lmmiqa_plot_frame_map(f, f->x_min, c->ay.ticks[k], &px, &py);
        cairo_move_to(cr, f->left, snap(py));
        cairo_line_to(cr, f->left + f->width, snap(py));
    }
    if (c->is_scatter)
        for (int k = 0; k < c->ax.n_ticks; k++) {
            double px, py;
            lmmiqa_plot_frame_map(f, c->ax.ticks[k], f->y_min, &px, &py);
            cairo_move_to(cr, snap(px), f->top);
            cairo_line_to(cr, snap(px), f->top + f->height);
        }
    cairo_stroke(cr);
}

static void draw_legend(chart *c, cairo_t *cr)
{
    if (c->n_legend == 0)
        return;
    font_setup(cr, c->font, 0);
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    double text_h = fe.ascent + fe.descent;
    double x = c->legend_x, y = c->legend_y;
    cairo_rectangle(cr, snap(x), snap(y), floor(c->legend_w), floor(c->legend_h));
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.7, 0.7, 0.7);
    cairo_set_line_width(cr, 1.0);
    cairo_stroke(cr);
    double row_y = y + 8 + text_h / 2;
    for (size_t i = 0; i < c->n_legend; i++) {
        const legend_entry *e = &c->legend[i];
        double sx = x + 8, sw = 22;
        switch (e->kind) {
        case SWATCH_POINT:
            set_rgb(cr, e->color, 1.0);
            cairo_new_path(cr);
            cairo_arc(cr, sx + sw / 2, row_y, 4.0, 0, 2 * M_PI);
            cairo_fill(cr);
            break;
        case SWATCH_LINE:
        case SWATCH_LINE_MARKER:
            set_rgb(cr, e->color, 1.0);
            cairo_set_line_width(cr, e->kind == SWATCH_LINE ? 1.2 : 2.0);
            cairo_move_to(cr, sx, row_y);
            cairo_line_to(cr, sx + sw, row_y);
            cairo_stroke(cr);
            if (e->kind == SWATCH_LINE_MARKER) {
                marker_path(cr, e->shape, sx + sw / 2, row_y, c->marker);
                cairo_fill(cr);
            }
            break;
        }
        cairo_set_source_rgb(cr, 0, 0, 0);
        text_at(cr, e->label, sx + sw + 6, row_y, 0.0);
        if (e->sub[0]) {
            cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
            text_at(cr, e->sub, sx + sw + 6, row_y + c->line_h, 0.0);
        }
        row_y += legend_row_h(c, e);
    }
}

typedef void (*draw_fn)(chart *c, cairo_t *cr, const void *data);

/* Create the output surface, paint the white background, call draw, and
 * write the result to path. */
static int render(chart *c, out_format fmt, const char *path, draw_fn draw, const void *data)
{
    membuf buf = {0};
    cairo_surface_t *s;
    double w = c->f.canvas_width, h = c->f.canvas_height;
    if (fmt == FMT_PNG)
        s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)ceil(w * c->opt.scale),
                                       (int)ceil(h * c->opt.scale));
    else if (fmt == FMT_PDF)
        s = cairo_pdf_surface_create_for_stream(membuf_write, &buf, w, h);
    else
        s = cairo_svg_surface_create_for_stream(membuf_write, &buf, w, h);
    cairo_status_t st = cairo_surface_status(s);
    if (st != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        return cairo_fail(st, path);
    }
    if (fmt == FMT_PDF) {
        /* An empty creation date leaves the date out: reproducible files. */
        cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "lmmiqa");
        cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATE_DATE, "");
    }
    cairo_t *cr = cairo_create(s);
    if (fmt == FMT_PNG)
        cairo_scale(cr, c->opt.scale, c->opt.scale);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    draw(c, cr, data);
    st = cairo_status(cr);
    cairo_destroy(cr);
    if (st == CAIRO_STATUS_SUCCESS) {
        if (fmt == FMT_PNG)
            st = cairo_surface_write_to_png_stream(s, membuf_write, &buf);
        else
            cairo_surface_finish(s);
        if (st == CAIRO_STATUS_SUCCESS)
            st = cairo_surface_status(s);
    }
    cairo_surface_destroy(s);
    int rc = LMMIQA_OK;
    if (st != CAIRO_STATUS_SUCCESS || buf.failed)
        rc = cairo_fail(buf.failed ? CAIRO_STATUS_NO_MEMORY : st, path);
    else if (fmt == FMT_SVG && (rc = svg_renumber(&buf)) != LMMIQA_OK)
        rc = lmmiqa_error_context(rc, "%s: ", path);
    if (rc == LMMIQA_OK)
        rc = lmmiqa_file_write_atomic(path, buf.p, buf.n);
    free(buf.p);
    return rc;
}

/* Read and check the caller's options into a fresh chart; title, when not
 * NULL, replaces opt->title (a panel's own). Errors name `path`. */
static int chart_init(chart *c, const lmmiqa_plot_options *opt, int is_scatter,
                      const char *title, const char *path)
{
    memset(c, 0, sizeof *c);
    lmmiqa_plot_options_init(&c->opt);
    int rc = lmmiqa__options_read(&c->opt, sizeof c->opt, opt,
                                  LMMIQA__OPTIONS_MIN(lmmiqa_plot_options, width),
                                  "lmmiqa_plot_options");
    if (title)
        c->opt.title = title;
    c->is_scatter = is_scatter;
    c->font = c->opt.font_size > 0 ? c->opt.font_size : 12;
    c->title_font = c->font * 1.3;
    c->marker = c->opt.marker_size > 0 ? c->opt.marker_size : is_scatter ? 2.5 : 4.5;
    if (rc == LMMIQA_OK)
        rc = check_options(&c->opt);
    return rc == LMMIQA_OK ? rc : lmmiqa_error_context(rc, "%s: ", path);
}

/* Grid, then a clip to the plot area (cairo_restore ends it): what both
 * chart kinds draw their data into. */
static void plot_area_begin(chart *c, cairo_t *cr)
{
    const lmmiqa_plot_frame *f = &c->f;
    draw_grid(c, cr);
    cairo_save(cr);
    cairo_rectangle(cr, f->left, f->top, f->width, f->height);
    cairo_clip(cr);
}

/* The end of a chart: leave the plot area, then frame, axes and legend. */
static void plot_area_end(chart *c, cairo_t *cr)
{
    cairo_restore(cr);
    draw_frame_and_axes(c, cr);
    draw_legend(c, cr);
}

/* ---- scatter ---------------------------------------------------------------------- */

typedef struct scatter_data {
    const lmmiqa_plot_scatter_series *series;
    size_t n;
} scatter_data;

static void draw_scatter(chart *c, cairo_t *cr, const void *data)
{
    const scatter_data *d = data;
    const lmmiqa_plot_frame *f = &c->f;
    plot_area_begin(c, cr);
    /* The diagonal y = x, corner to corner (both axes share one range). */
    double ax, ay, bx, by;
    lmmiqa_plot_frame_map(f, f->x_min, f->y_min, &ax, &ay);
    lmmiqa_plot_frame_map(f, f->x_max, f->y_max, &bx, &by);
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_set_line_width(cr, 1.2);
    cairo_move_to(cr, ax, ay);
    cairo_line_to(cr, bx, by);
    cairo_stroke(cr);
    /* Points outside a range the caller fixed are clipped; with the
     * automatic range every point is inside, and one on the edge stays
     * whole. */
    if (!(c->opt.lo < c->opt.hi))
        cairo_reset_clip(cr);
    for (size_t s = 0; s < d->n; s++) {
        const lmmiqa_plot_scatter_series *se = &d->series[s];
        cairo_new_path(cr);
        for (size_t i = 0; i < se->n; i++) {
            double px, py;
            lmmiqa_plot_frame_map(f, se->mos[i], se->pred[i], &px, &py);
            cairo_new_sub_path(cr);
            cairo_arc(cr, px, py, c->marker, 0, 2 * M_PI);
        }
        set_rgb(cr, lmmiqa_plot_color(s), 0.75);
        cairo_fill(cr);
    }
    plot_area_end(c, cr);
}

static void fmt_metric(char *buf, size_t size, const char *name, int rc, double v)
{
    if (rc == LMMIQA_OK)
        snprintf(buf, size, "%s %.4f", name, v);
    else
        snprintf(buf, size, "%s n/a", name);
}

/* Check every point of n_series series and widen [*dmin, *dmax] to them. */
static int scatter_range(const lmmiqa_plot_scatter_series *series, size_t n_series,
                         const char *path, double *dmin, double *dmax)
{
    int rc;
    for (size_t s = 0; s < n_series; s++) {
        const lmmiqa_plot_scatter_series *se = &series[s];
        char what[64];
        snprintf(what, sizeof what, "the label of series %zu", s + 1);
        if ((rc = check_text(what, se->label)) != LMMIQA_OK)
            return lmmiqa_error_context(rc, "%s: ", path);
        const char *name = se->label ? se->label : "(unnamed)";
        if (se->n == 0)
            return lmmiqa_error_set(LMMIQA_ERR_INVALID_ARG, "%s: series %zu (%s) has no points", path,
                                    s + 1, name);
        assert(se->mos && se->pred);
        for (size_t i = 0; i < se->n; i++) {
            if (!isfinite(se->mos[i]) || !isfinite(se->pred[i]))
                return lmmiqa_error_set(LMMIQA_ERR_INVALID_ARG,
                                        "%s: series %zu (%s), point %zu: mos %g, pred %g is not finite",
                                        path, s + 1, name, i + 1, se->mos[i], se->pred[i]);
            double lo = se->mos[i] < se->pred[i] ? se->mos[i] : se->pred[i];
            double hi = se->mos[i] > se->pred[i] ? se->mos[i] : se->pred[i];
            *dmin = lo < *dmin ? lo : *dmin;
            *dmax = hi > *dmax ? hi : *dmax;
        }
    }
    return LMMIQA_OK;
}

/* Axes, legend and layout of one scatter chart over data range [dmin, dmax]
 * (c initialised by chart_init; c->legend is allocated here, freed by the
 * caller). */
static int scatter_chart(chart *c, const lmmiqa_plot_scatter_series *series, size_t n_series,
                         const char *path, double dmin, double dmax)
{
    /* Shared axis range: as given, or nice numbers around the data. */
    if (c->opt.lo < c->opt.hi) {
        axis_make(&c->ax, c->opt.lo, c->opt.hi, 0);
    } else {
        int rc = axis_drawable(path, dmin, dmax);
        if (rc != LMMIQA_OK)
            return rc;
        /* No padding: MOS scales such as 0..100 stay 0..100, not -20..120.
         * A span below the resolution of the values counts as none. */
        if (dmax - dmin > 1e-9 * fmax(fabs(dmin), fabs(dmax))) {
            axis_make(&c->ax, dmin, dmax, 1);
        } else {
            double half = fabs(dmax) > 0 ? fabs(dmax) * 0.1 : 1.0;
            axis_make(&c->ax, dmin - half, dmax + half, 1);
        }
    }
    c->ay = c->ax;
    c->x_label = c->opt.x_label ? c->opt.x_label : "MOS";
    c->y_label = c->opt.y_label ? c->opt.y_label : "Predicted score";

    c->legend = legend_alloc(n_series + 1);
    if (!c->legend)
        return LMMIQA_ERR_NOMEM;
    for (size_t s = 0; s < n_series; s++) {
        legend_entry *e = &c->legend[c->n_legend++];
        const lmmiqa_plot_scatter_series *se = &series[s];
        if (se->label)
            snprintf(e->label, sizeof e->label, "%s", se->label);
        else
            snprintf(e->label, sizeof e->label, "series %zu", s + 1);
        e->kind = SWATCH_POINT;
        e->color = lmmiqa_plot_color(s);
        if (c->opt.legend_metrics) {
            double plcc = 0, srocc = 0;
            int r1 = lmmiqa_metric_plcc(se->pred, se->mos, se->n, &plcc);
            int r2 = lmmiqa_metric_srocc(se->pred, se->mos, se->n, &srocc);
            if (r1 == LMMIQA_ERR_NOMEM || r2 == LMMIQA_ERR_NOMEM)
                return LMMIQA_ERR_NOMEM;
            char a[48], b[48];
            fmt_metric(a, sizeof a, "PLCC", r1, plcc);
            fmt_metric(b, sizeof b, "SROCC", r2, srocc);
            snprintf(e->sub, sizeof e->sub, "%s  %s", a, b);
        }
    }
    legend_entry *diag = &c->legend[c->n_legend++];
    snprintf(diag->label, sizeof diag->label, "y = x");
    diag->kind = SWATCH_LINE;
    diag->color = 0x4d4d4d;

    int rc = layout_checked(c, 0);
    if (rc == LMMIQA_OK) {
        c->f.x_min = c->ax.lo;
        c->f.x_max = c->ax.hi;
        c->f.y_min = c->ay.lo;
        c->f.y_max = c->ay.hi;
    }
    return rc;
}

int lmmiqa_plot_scatter(const lmmiqa_plot_scatter_series *series, size_t n_series,
                        const lmmiqa_plot_options *opt, const char *path,
                        lmmiqa_plot_frame *frame)
{
    out_format fmt;
    int rc = format_of(path, &fmt);
    if (rc != LMMIQA_OK)
        return rc;
    if (n_series == 0)
        return lmmiqa_error_set(LMMIQA_ERR_INVALID_ARG, "%s: a scatter plot needs at least one series",
                                path);
    assert(series);
    chart c;
    if ((rc = chart_init(&c, opt, 1, NULL, path)) != LMMIQA_OK)
        return rc;
    double dmin = INFINITY, dmax = -INFINITY;
    rc = scatter_range(series, n_series, path, &dmin, &dmax);
    if (rc == LMMIQA_OK)
        rc = scatter_chart(&c, series, n_series, path, dmin, dmax);
    if (rc == LMMIQA_OK) {
        scatter_data d = {series, n_series};
        rc = render(&c, fmt, path, draw_scatter, &d);
    }
    free(c.legend);
    if (rc == LMMIQA_OK && frame)
        *frame = c.f;
    return rc;
}

/* Side-by-side panels: each a whole scatter chart, translated right. */
typedef struct panels_data {
    chart *charts;
    const lmmiqa_plot_scatter_panel *panels;
    const double *x_offset;
    size_t n;
} panels_data;

static void draw_panels(chart *c, cairo_t *cr, const void *data)
{
    (void)c;
    const panels_data *d = data;
    for (size_t k = 0; k < d->n; k++) {
        scatter_data sd = {d->panels[k].series, d->panels[k].n_series};
        cairo_save(cr);
        cairo_translate(cr, d->x_offset[k], 0);
        draw_scatter(&d->charts[k], cr, &sd);
        cairo_restore(cr);
    }
}

int lmmiqa_plot_scatter_panels(const lmmiqa_plot_scatter_panel *panels, size_t n_panels,
                               const lmmiqa_plot_options *opt, const char *path,
                               lmmiqa_plot_frame *frames)
{
    out_format fmt;
    int rc = format_of(path, &fmt);
    if (rc != LMMIQA_OK)
        return rc;
    if (n_panels == 0 || n_panels > LMMIQA_PLOT_MAX_PANELS)
        return lmmiqa_error_set(LMMIQA_ERR_INVALID_ARG, "%s: %zu panels (1 to %d)", path, n_panels,
                                LMMIQA_PLOT_MAX_PANELS);
    assert(panels);
    chart charts[LMMIQA_PLOT_MAX_PANELS];
    double x_offset[LMMIQA_PLOT_MAX_PANELS];
    memset(charts, 0, sizeof charts);
    /* One data range for all panels, so that they compare at a glance. */
    double dmin = INFINITY, dmax = -INFINITY;
    for (size_t k = 0; k < n_panels && rc == LMMIQA_OK; k++) {
        if (panels[k].n_series == 0)
            rc = lmmiqa_error_set(LMMIQA_ERR_INVALID_ARG, "%s: panel %zu has no series", path, k + 1);
        else if ((rc = check_text("a panel title", panels[k].title)) != LMMIQA_OK)
            rc = lmmiqa_error_context(rc, "%s: ", path);
        else
            rc = scatter_range(panels[k].series, panels[k].n_series, path, &dmin, &dmax);
    }
    double width = 0, height = 0;
    for (size_t k = 0; k < n_panels && rc == LMMIQA_OK; k++) {
        if ((rc = chart_init(&charts[k], opt, 1, panels[k].title, path)) != LMMIQA_OK)
            break;
        rc = scatter_chart(&charts[k], panels[k].series, panels[k].n_series, path, dmin, dmax);
        x_offset[k] = width;
        width += charts[k].f.canvas_width;
        height = charts[k].f.canvas_height > height ? charts[k].f.canvas_height : height;
    }
    chart all; /* the whole canvas; its options were read and checked per panel */
    if (rc == LMMIQA_OK)
        rc = chart_init(&all, opt, 1, NULL, path);
    all.f.canvas_width = width;
    all.f.canvas_height = height;
    if (rc == LMMIQA_OK && (width * all.opt.scale > MAX_CANVAS || height * all.opt.scale > MAX_CANVAS))
        rc = lmmiqa_error_set(LMMIQA_ERR_TOO_LARGE, "plot: %zu panels make a %gx%g canvas at scale %g "
                              "(more than %g pixels a side)", n_panels, width, height, all.opt.scale,
                              MAX_CANVAS);
    if (rc == LMMIQA_OK) {
        panels_data d = {charts, panels, x_offset, n_panels};
        rc = render(&all, fmt, path, draw_panels, &d);
    }
    for (size_t k = 0; k < n_panels; k++) {
        if (rc == LMMIQA_OK && frames) {
            frames[k] = charts[k].f;
            frames[k].left += x_offset[k];
            frames[k].canvas_width = width;
            frames[k].canvas_height = height;
        }
        free(charts[k].legend);
    }
    return rc;
}

/* ---- trend ------------------------------------------------------------------------ */

typedef struct trend_data {
    const lmmiqa_plot_trend_line *lines;
    size_t n;
} trend_data;

static void draw_trend(chart *c, cairo_t *cr, const void *data)
{
    const trend_data *d = data;
    const lmmiqa_plot_frame *f = &c->f;
    /* Values outside a range the caller fixed are clipped at the plot area. */
    plot_area_begin(c, cr);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    for (size_t l = 0; l < d->n; l++) {
        const double *v = d->lines[l].values;
        set_rgb(cr, lmmiqa_plot_color(l), 1.0);
        cairo_set_line_width(cr, 2.0);
        cairo_new_path(cr);
        int pen = 0;
        for (size_t j = 0; j < c->n_categories; j++) {
            if (isnan(v[j])) {
                pen = 0;
                continue;
            }
            double px, py;
            lmmiqa_plot_frame_map(f, (double)j, v[j], &px, &py);
            if (pen)
                cairo_line_to(cr, px, py);
            else
                cairo_move_to(cr, px, py);
            pen = 1;
        }
        cairo_stroke(cr);
        for (size_t j = 0; j < c->n_categories; j++) {
            if (isnan(v[j]))
                continue;
            double px, py;
            lmmiqa_plot_frame_map(f, (double)j, v[j], &px, &py);
            marker_path(cr, (int)(l % 5), px, py, c->marker);
        }
        cairo_fill(cr);
    }
    plot_area_end(c, cr);
}

int lmmiqa_plot_trend(const char *const *categories, size_t n_categories,
                      const lmmiqa_plot_trend_line *lines, size_t n_lines,
                      const lmmiqa_plot_options *opt, const char *path,
                      lmmiqa_plot_frame *frame)
{
    out_format fmt;
    int rc = format_of(path, &fmt);
    if (rc != LMMIQA_OK)
        return rc;
    if (n_categories == 0)
        return lmmiqa_error_set(LMMIQA_ERR_INVALID_ARG, "%s: a trend chart needs at least one category",
                                path);
    if (n_lines == 0)
        return lmmiqa_error_set(LMMIQA_ERR_INVALID_ARG, "%s: a trend chart needs at least one line",
                                path);
    if (n_categories > 1000)
        return lmmiqa_error_set(LMMIQA_ERR_TOO_LARGE, "%s: %zu categories (at most 1000)", path,
                                n_categories);
    assert(categories && lines);
    chart c;
    if ((rc = chart_init(&c, opt, 0, NULL, path)) != LMMIQA_OK)
        return rc;
    for (size_t j = 0; j < n_categories; j++) {
        char what[64];
        snprintf(what, sizeof what, "category %zu", j + 1);
        if (!categories[j])
            return lmmiqa_error_set(LMMIQA_ERR_INVALID_ARG, "%s: %s has no label", path, what);
        if ((rc = check_text(what, categories[j])) != LMMIQA_OK)
            return lmmiqa_error_context(rc, "%s: ", path);
    }
    double dmin = INFINITY, dmax = -INFINITY;
    for (size_t l = 0; l < n_lines; l++) {
        char what[64];
        snprintf(what, sizeof what, "the label of line %zu", l + 1);
        if ((rc = check_text(what, lines[l].label)) != LMMIQA_OK)
            return lmmiqa_error_context(rc, "%s: ", path);
        const char *name = lines[l].label ? lines[l].label : "(unnamed)";
        assert(lines[l].values);
        size_t finite = 0;
        for (size_t j = 0; j < n_categories; j++) {
            double v = lines[l].values[j];
            if (isnan(v))
                continue;
            if (!isfinite(v))
                return lmmiqa_error_set(LMMIQA_ERR_INVALID_ARG, "%s: line %zu (%s) at %s is %g", path,
                                        l + 1, name, categories[j], v);
            dmin = v < dmin ? v : dmin;
            dmax = v > dmax ? v : dmax;
            finite++;
        }
        if (finite == 0)
            return lmmiqa_error_set(LMMIQA_ERR_INVALID_ARG, "%s: line %zu (%s) has no value", path,
                                    l + 1, name);
    }
    if (c.opt.lo < c.opt.hi) {
        axis_make(&c.ay, c.opt.lo, c.opt.hi, 0);
    } else {
        int rc = axis_drawable(path, dmin, dmax);
        if (rc != LMMIQA_OK)
            return rc;
        double span = dmax - dmin;
        if (span < 1e-6 * (fabs(dmax) > 1 ? fabs(dmax) : 1))
            span = fabs(dmax) > 0 ? fabs(dmax) * 0.02 : 0.02;
        axis_make(&c.ay, dmin - 0.08 * span, dmax + 0.08 * span, 1);
    }
    c.categories = categories;
    c.n_categories = n_categories;
    c.x_label = c.opt.x_label;
    c.y_label = c.opt.y_label ? c.opt.y_label : "Value";

    c.legend = legend_alloc(n_lines);
    if (!c.legend)
        return LMMIQA_ERR_NOMEM;
    for (size_t l = 0; l < n_lines; l++) {
        legend_entry *e = &c.legend[c.n_legend++];
        if (lines[l].label)
            snprintf(e->label, sizeof e->label, "%s", lines[l].label);
        else
            snprintf(e->label, sizeof e->label, "line %zu", l + 1);
        e->kind = SWATCH_LINE_MARKER;
        e->color = lmmiqa_plot_color(l);
        e->shape = (int)(l % 5);
    }
    /* Category spacing: room for the widest label. */
    double widest = 0;
    {
        cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
        cairo_t *m = cairo_create(s);
        font_setup(m, c.font, 0);
        for (size_t j = 0; j < n_categories; j++) {
            double w = text_width(m, categories[j]);
            widest = w > widest ? w : widest;
        }
        cairo_destroy(m);
        cairo_surface_destroy(s);
    }
    double spacing = widest + 24 > 64 ? widest + 24 : 64;
    double plot_w = spacing * (double)n_categories;
    rc = layout_checked(&c, plot_w < 320 ? 320 : plot_w);
    if (rc == LMMIQA_OK) {
        c.f.x_min = -0.5;
        c.f.x_max = (double)n_categories - 0.5;
        c.f.y_min = c.ay.lo;
        c.f.y_max = c.ay.hi;
        trend_data d = {lines, n_lines};
        rc = render(&c, fmt, path, draw_trend, &d);
    }
    free(c.legend);
    if (rc == LMMIQA_OK && frame)
        *frame = c.f;
    return rc;
}
