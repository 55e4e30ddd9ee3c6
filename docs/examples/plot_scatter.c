/*
 * docs/examples/plot_scatter.c - draw a predicted-against-MOS scatter chart
 * with the installed plot library (liblmmiqa-plot, lmmiqa/plot.h).
 *
 *   cc plot_scatter.c $(pkg-config --cflags --libs lmmiqa-plot) -o plot_scatter
 *   ./plot_scatter scatter.png      (or .pdf, .svg)
 *
 * The plot library links cairo and liblmmiqa; a program that only scores
 * images (score_image.c) links liblmmiqa alone. Exit 1 when drawing fails.
 */
#include <lmmiqa/lmmiqa.h>
#include <lmmiqa/plot.h>

#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: plot_scatter OUT.png|OUT.pdf|OUT.svg\n");
        return 2;
    }
    static const double mos[] = {12.0, 25.5, 31.0, 47.2, 58.9, 66.4, 73.0, 88.1};
    static const double pred[] = {15.3, 22.0, 35.8, 44.1, 61.2, 63.9, 77.5, 84.0};
    lmmiqa_plot_scatter_series series = {"example", mos, pred, sizeof mos / sizeof mos[0]};
    lmmiqa_plot_options opt;
    lmmiqa_plot_options_init(&opt);
    opt.title = "Predicted against MOS";
    if (lmmiqa_plot_scatter(&series, 1, &opt, argv[1], NULL) != LMMIQA_OK) {
        fprintf(stderr, "plot_scatter: %s\n", lmmiqa_error_message());
        return 1;
    }
    printf("%s\n", argv[1]);
    return 0;
}
