/*
 * bench/bench_align.c - images per second of ALIGN's EfficientNet-B7 image
 * tower at 289 x 289, batch 1 and 8, side by side with PyTorch 1.13 running
 * the same architecture (tools/ref/align_ref.py --bench: the Hugging Face
 * AlignVisionModel modules, float32, channels_last, torch.no_grad,
 * torch.set_num_threads(2), OMP_WAIT_POLICY=PASSIVE) on the same weights in
 * the same run. Figures are the best of --reps timed runs after a warm-up.
 *
 * Usage: bench_align [--no-torch] [--reps N] [--dir DIR]
 * The generated B7 checkpoint (about 250 MB) is written once to
 * DIR/align-b7 (default /tmp/lmmiqa-align) unless it exists there already
 * (tools/ref/align_ref.py --full DIR writes the same numbers).
 */
#include "lmmiqa/align.h"
#include "core/internal.h"
#include "models/align_internal.h"
#include "models/vit_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* PyTorch's images per second for batch 1 and 8 (0 when unavailable). */
static void run_torch(const char *dir, double ips[2])
{
    ips[0] = ips[1] = 0;
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 %s/tools/ref/align_ref.py --bench %s 1,8 "
             "2>/dev/null",
             LMMIQA_SOURCE_DIR, dir);
    FILE *p = popen(cmd, "r");
    if (!p)
        return;
    char line[256];
    while (fgets(line, sizeof line, p)) {
        int b;
        double v;
        if (sscanf(line, "torch batch %d img/s %lf", &b, &v) == 2)
            ips[b == 8] = v;
    }
    pclose(p);
}

int main(int argc, char **argv)
{
    int torch = 1, reps = 3;
    const char *dir = "/tmp/lmmiqa-align";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-torch") == 0)
            torch = 0;
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else {
            fprintf(stderr, "usage: bench_align [--no-torch] [--reps N] [--dir DIR]\n");
            return 2;
        }
    }
    if (reps < 1)
        reps = 1;
    char sub[1024], path[1200];
    snprintf(sub, sizeof sub, "%s/align-b7", dir);
    snprintf(path, sizeof path, "%s/model.safetensors", sub);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        mkdir(dir, 0755);
        mkdir(sub, 0755);
        lmmiqa__align_hf_config hf;
        lmmiqa__align_hf_default(&hf);
        printf("writing the generated B7 checkpoint to %s\n", path);
        if (lmmiqa__align_random_save(&hf, LMMIQA_DTYPE_F32, 11, path, 1) != LMMIQA_OK) {
            fprintf(stderr, "bench_align: %s\n", lmmiqa_error_message());
            return 1;
        }
    }
    double t0 = now();
    lmmiqa_align *m = NULL;
    if (lmmiqa_align_load(path, NULL, &m) != LMMIQA_OK) {
        fprintf(stderr, "bench_align: %s\n", lmmiqa_error_message());
        return 1;
    }
    double load = now() - t0;
    const int S = LMMIQA_ALIGN_CROP, B = 8;
    double gflop = lmmiqa_align_flops(m, S, S) * 1e-9;
    float *px = malloc(sizeof(float) * B * 3 * S * S);
    float *out = malloc(sizeof(float) * B * 640);
    lmmiqa__vit_random_uniform("bench", 1, (size_t)B * 3 * S * S, px);
    lmmiqa_align_state *st = NULL;
    if (!px || !out || lmmiqa_align_state_create(m, &st) != LMMIQA_OK) {
        fprintf(stderr, "bench_align: out of memory\n");
        return 1;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("ALIGN EfficientNet-B7, %dx%d, %.2f GFLOP per image, %ld cores; load %.2f s\n", S, S,
           gflop, cores, load);
    double ours[2];
    int batches[2] = {1, B};
    for (int k = 0; k < 2; k++) {
        int b = batches[k];
        lmmiqa_align_forward(m, st, px, b, S, S, 0, out); /* warm-up */
        double best = 1e30;
        for (int r = 0; r < reps; r++) {
            double s = now();
            if (lmmiqa_align_forward(m, st, px, b, S, S, 0, out) != LMMIQA_OK) {
                fprintf(stderr, "bench_align: %s\n", lmmiqa_error_message());
                return 1;
            }
            double t = now() - s;
            best = t < best ? t : best;
        }
        ours[k] = b / best;
    }
    double theirs[2] = {0, 0};
    if (torch)
        run_torch(dir, theirs);
    printf("%-8s %14s %12s %14s %12s %10s\n", "batch", "lmmiqa img/s", "ms/img", "torch img/s",
           "ms/img", "speedup");
    for (int k = 0; k < 2; k++) {
        if (theirs[k] > 0)
            printf("%-8d %14.2f %12.1f %14.2f %12.1f %9.2fx\n", batches[k], ours[k],
                   1e3 / ours[k], theirs[k], 1e3 / theirs[k], ours[k] / theirs[k]);
        else
            printf("%-8d %14.2f %12.1f %14s %12s %10s\n", batches[k], ours[k], 1e3 / ours[k],
                   torch ? "(failed)" : "-", "-", "-");
    }
    printf("lmmiqa: %.1f GFLOP/s at batch 8; activation state %.1f MB\n", gflop * ours[1],
           lmmiqa_align_state_bytes(st) / 1e6);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak resident set %.0f MB\n", ru.ru_maxrss / 1024.0);
    lmmiqa_align_state_destroy(st);
    lmmiqa_align_destroy(m);
    free(px);
    free(out);
    return 0;
}
