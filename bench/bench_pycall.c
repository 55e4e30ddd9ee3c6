/*
 * bench/bench_pycall.c - the C side of bench_python.py: BRISQUE features of
 * image files on one thread, decode included, as the Python package's
 * Extractor("brisque").extract(paths, jobs=1) does through lmmiqa_store_compute.
 *
 *   bench_pycall REPS FILE...   prints "c_ms_per_image <best of REPS>"
 */
#include "lmmiqa/lmmiqa.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_pycall REPS FILE...\n");
        return 2;
    }
    int reps = atoi(argv[1]), n = argc - 2;
    lmmiqa_extractor *ex = NULL;
    if (lmmiqa_extractor_create("brisque", NULL, &ex) != LMMIQA_OK) {
        fprintf(stderr, "bench_pycall: %s\n", lmmiqa_error_message());
        return 1;
    }
    double *feat = malloc((size_t)n * 36 * sizeof *feat);
    int *status = malloc((size_t)n * sizeof *status);
    lmmiqa_store_options o;
    lmmiqa_store_options_init(&o);
    o.jobs = 1;
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        if (lmmiqa_store_compute(ex, (size_t)n, (const char *const *)(argv + 2), &o, feat, status,
                                 NULL) != LMMIQA_OK) {
            fprintf(stderr, "bench_pycall: %s\n", lmmiqa_error_message());
            return 1;
        }
        double dt = now_s() - t0;
        if (dt < best)
            best = dt;
    }
    printf("c_ms_per_image %.4f\n", 1e3 * best / n);
    free(feat);
    free(status);
    lmmiqa_extractor_destroy(ex);
    return 0;
}
