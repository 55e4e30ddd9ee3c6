/*
 * lmmiqa/plot.h - the paper's figures, drawn from evaluation output.
 *
 * Two chart kinds, each written to PNG (raster), PDF or SVG (vector), the
 * format chosen by the output file's extension (.png, .pdf, .svg, any case):
 *
 *   scatter  predicted score against MOS, one colour per series, with the
 *            diagonal y = x, axis ticks and labels, a title, and a legend
 *            giving each series' PLCC and SROCC (the paper's Figures 4-7:
 *            blue LMM, orange LMM+BRISQUE, green LMM+CNNIQA, red
 *            LMM+MetaIQA, one panel for training and one for validation).
 *   trend    one line with markers per model, a metric (PLCC or SROCC) over
 *            categories on the x axis, e.g. "Orig", "Orig+BRISQUE",
 *            "Orig+CNNIQA", "Orig+Meta" (the paper's Figure 3).
 *
 * Why: researchers reproduce the figures from `lmmiqa eval` output without a
 * Python stack; the same numbers that fill the tables draw the figures.
 *
 * Library: these functions live in liblmmiqa-plot, not liblmmiqa, so that
 * only programs that draw link cairo; lmmiqa.h does not include this header.
 * Link with `pkg-config --cflags --libs lmmiqa-plot` or CMake's
 * lmmiqa::lmmiqa-plot (find_package(lmmiqa COMPONENTS plot)); both bring
 * liblmmiqa. Errors are read with lmmiqa_error_message() as for the core.
 *
 * Layout: the legend sits outside the plot area, to its right, so it never
 * covers data; the scatter's plot area is square and both its axes share one
 * range, so the diagonal is at 45 degrees. Series take the colours of the
 * palette below in the order given (colour i mod 10). Text is drawn with
 * cairo's "sans-serif" face; sizes are in canvas units (pixels at scale 1 for
 * PNG, points for PDF and SVG).
 *
 * Determinism: the same inputs and options give byte-identical files on a
 * given machine (same cairo and fonts); metrics are computed, not passed in.
 *
 * Errors (statuses with a message naming the series, line or file): no
 * series or an empty one, a NaN or infinite value (trend values: NaN means
 * "no value here", see below), an unknown file extension
 * (LMMIQA_ERR_FORMAT), a file that cannot be written (LMMIQA_ERR_IO), an
 * option out of range (LMMIQA_ERR_INVALID_ARG). No partial file is left:
 * output is written atomically.
 */
#ifndef LMMIQA_PLOT_H
#define LMMIQA_PLOT_H

#include "lmmiqa/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The series palette (matplotlib's "tab10": blue, orange, green, red,
 * purple, brown, pink, grey, olive, cyan) as 0xRRGGBB. */
#define LMMIQA_PLOT_PALETTE_SIZE 10
LMMIQA_API uint32_t lmmiqa_plot_color(size_t i); /* palette[i % 10] */

/* Options shared by both chart kinds. Initialise with
 * lmmiqa_plot_options_init, then set what differs: it sets `size`, through
 * which later versions add options without breaking programs built against
 * this one. */
typedef struct lmmiqa_plot_options {
    size_t size;          /* sizeof(lmmiqa_plot_options), set by _init */
    double width;         /* canvas width; 0 = as wide as the content needs */
    double height;        /* canvas height; 0 = default (scatter 560, trend
                           * 480); grows when the legend needs more */
    double scale;         /* PNG only: pixels per canvas unit (1 = default; 2 for
                           * print resolution); PDF/SVG ignore it */
    const char *title;    /* NULL or "" = no title */
    const char *x_label;  /* NULL = default (scatter "MOS", trend none) */
    const char *y_label;  /* NULL = default (scatter "Predicted score", trend
                           * "Value") */
    double lo, hi;        /* value-axis range: scatter both axes, trend the y
                           * axis; automatic (nice numbers around the data)
                           * when lo >= hi */
    double font_size;     /* tick and legend text size; 0 = 12 (title 1.3x) */
    double marker_size;   /* scatter point radius / trend marker half-size;
                           * 0 = default (scatter 2.5, trend 4.5) */
    int legend_metrics;   /* scatter: 1 = PLCC and SROCC under each series'
                           * legend label (default); 0 = label only */
} lmmiqa_plot_options;

/* Defaults: automatic size, scale 1, no title, default labels, automatic
 * range, font 12, legend metrics on. */
LMMIQA_API void lmmiqa_plot_options_init(lmmiqa_plot_options *opt);

/* One scatter series: n pairs (mos[i], pred[i]); x = MOS, y = prediction. */
typedef struct lmmiqa_plot_scatter_series {
    const char *label;    /* legend text (NULL = "series <i+1>") */
    const double *mos;
    const double *pred;
    size_t n;             /* >= 1; PLCC/SROCC read "n/a" when undefined
                           * (n < 3 or a constant vector) */
} lmmiqa_plot_scatter_series;

/* One trend line: values[j] is the metric at category j (n_categories
 * values). A NaN value means "no value for this category": no marker there
 * and the line is broken around it. At least one value per line must be
 * finite; infinities are errors. */
typedef struct lmmiqa_plot_trend_line {
    const char *label;    /* legend text (NULL = "line <i+1>") */
    const double *values;
} lmmiqa_plot_trend_line;

/* Where a chart's plot area lies on the canvas and which data range it
 * shows: a data point (x, y) is drawn at
 *   px = left + (x - x_min) / (x_max - x_min) * width
 *   py = top + (y_max - y) / (y_max - y_min) * height
 * in canvas units (multiply by scale for PNG pixels). For a trend chart,
 * category j sits at x = j. */
typedef struct lmmiqa_plot_frame {
    double canvas_width, canvas_height;
    double left, top, width, height;   /* the plot area */
    double x_min, x_max, y_min, y_max; /* its data range */
} lmmiqa_plot_frame;

/* Canvas position of data point (x, y) in a frame. */
LMMIQA_API void lmmiqa_plot_frame_map(const lmmiqa_plot_frame *frame, double x, double y,
                                      double *px, double *py);

/* Draw a scatter chart of n_series series into `path` (.png, .pdf, .svg).
 * opt may be NULL (defaults). On success, frame (may be NULL) receives the
 * layout. */
LMMIQA_API int lmmiqa_plot_scatter(const lmmiqa_plot_scatter_series *series, size_t n_series,
                                   const lmmiqa_plot_options *opt, const char *path,
                                   lmmiqa_plot_frame *frame);

/* Several scatter charts side by side on one canvas, e.g. the paper's
 * training and test panels (Figures 4-7: `lmmiqa plot scatter --train`).
 * Every panel shares one axis range (opt->lo/hi, or nice numbers around all
 * panels' points), has its own legend with PLCC/SROCC, and its title (NULL:
 * opt->title). At most LMMIQA_PLOT_MAX_PANELS panels. frames (may be NULL)
 * receives n_panels frames, each placed on the whole canvas. */
#define LMMIQA_PLOT_MAX_PANELS 8
typedef struct lmmiqa_plot_scatter_panel {
    const char *title;
    const lmmiqa_plot_scatter_series *series;
    size_t n_series;
} lmmiqa_plot_scatter_panel;

LMMIQA_API int lmmiqa_plot_scatter_panels(const lmmiqa_plot_scatter_panel *panels,
                                          size_t n_panels, const lmmiqa_plot_options *opt,
                                          const char *path, lmmiqa_plot_frame *frames);

/* Draw a trend chart: n_lines lines over n_categories categories (labels
 * categories[0..n_categories-1], left to right) into `path`. opt may be NULL.
 * On success, frame (may be NULL) receives the layout. */
LMMIQA_API int lmmiqa_plot_trend(const char *const *categories, size_t n_categories,
                                 const lmmiqa_plot_trend_line *lines, size_t n_lines,
                                 const lmmiqa_plot_options *opt, const char *path,
                                 lmmiqa_plot_frame *frame);

#ifdef __cplusplus
}
#endif
#endif
