/*
 * bench/bench_regressor.c - training speed of the FC block against PyTorch.
 *
 * Workload: the paper's MLP at the widest input it trains (dim 1280 = a
 * ViT-L/14 embedding, 768, + CNNIQA features, 512; hidden 512), Adam, one epoch
 * over 10,000 random rows, at batch 32 and batch 512. lmmiqa trains through
 * its public lmmiqa_regressor_train (standardisation off, so both sides do
 * the same work; the time includes its one-off allocations and init). The
 * peer is torch 1.13 on the CPU, run by /usr/bin/python3 in the same
 * process tree with the same thread count (torch.set_num_threads,
 * OMP_WAIT_POLICY=PASSIVE); it is skipped with a note if torch is absent.
 *
 *   bench_regressor [threads=2] [rows=10000]
 * Prints one line per (implementation, batch): seconds per epoch, rows/s.
 *
 *   bench_regressor --defaults
 * The study behind the documented defaults (docs/regressor.md): test PLCC and
 * SROCC of the MLP head over learning rate x batch size x standardisation,
 * 25 epochs, mean of 3 seeds, on a synthetic stand-in for the paper's data
 * (1162 rows split 80/20; 512 embedding-like columns of small scale + 36
 * BRISQUE-like columns whose scales span 1e-3..1e2; a nonlinear MOS with
 * noise on [0, 100]).
 *
 *   bench_regressor --livec [path/to/livec.csv]
 * The same question on real data: BRISQUE features (helper B's extractor) of
 * the 1162 LIVE Challenge images (cached in /tmp/lmmiqa_livec_brisque.bin),
 * 10 random 80/20 splits, mean test PLCC/SROCC of the MLP (36 -> 512 -> 1),
 * linear (36 -> 1) and SVR heads over their main settings.
 */
#include "lmmiqa/advanced/csv.h"
#include "lmmiqa/brisque.h"
#include "lmmiqa/image.h"
#include "lmmiqa/metrics.h"
#include "lmmiqa/regressor.h"
#include "lmmiqa/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DIM 1280
#define HIDDEN 512

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double time_lmmiqa(const float *x, const double *mos, size_t n, int batch, int threads)
{
    lmmiqa_regressor_config cfg;
    lmmiqa_regressor_config_init(&cfg);
    cfg.hidden = HIDDEN;
    cfg.epochs = 1;
    cfg.batch_size = batch;
    cfg.standardize = 0;
    cfg.threads = threads;
    lmmiqa_regressor *reg = NULL;
    double t0 = now();
    int rc = lmmiqa_regressor_train(&cfg, x, mos, n, DIM, 0.0, 100.0, NULL, NULL, 0, &reg);
    double t = now() - t0;
    if (rc) {
        fprintf(stderr, "bench_regressor: training failed: %s\n", lmmiqa_error_message());
        exit(1);
    }
    lmmiqa_regressor_destroy(reg);
    return t;
}

static const char *torch_script =
    "import time, torch\n"
    "torch.set_num_threads(%d)\n"
    "torch.manual_seed(0)\n"
    "n, d, h = %zu, %d, %d\n"
    "x = torch.randn(n, d) * 3.0\n"
    "t = torch.rand(n)\n"
    "for batch in (32, 512):\n"
    "    model = torch.nn.Sequential(torch.nn.Linear(d, h), torch.nn.ReLU(),\n"
    "                                torch.nn.Linear(h, 1), torch.nn.Sigmoid())\n"
    "    opt = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
    "    lossf = torch.nn.MSELoss()\n"
    "    def epoch(rows):\n"
    "        perm = torch.randperm(rows)\n"
    "        for s in range(0, rows, batch):\n"
    "            idx = perm[s:s + batch]\n"
    "            opt.zero_grad()\n"
    "            loss = lossf(model(x[idx]).squeeze(1), t[idx])\n"
    "            loss.backward()\n"
    "            opt.step()\n"
    "    epoch(min(n, 20 * batch))\n"
    "    t0 = time.perf_counter()\n"
    "    epoch(n)\n"
    "    print(batch, time.perf_counter() - t0, flush=True)\n";

/* The synthetic stand-in: see the header comment. */
static void defaults_data(size_t n, size_t emb, size_t br, float *x, double *mos)
{
    size_t dim = emb + br;
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 2024);
    double *scale = malloc(dim * sizeof *scale), *w1 = malloc(dim * sizeof *w1),
           *w2 = malloc(dim * sizeof *w2);
    for (size_t k = 0; k < dim; k++) {
        scale[k] = k < emb ? 0.05 : pow(10.0, 5.0 * lmmiqa_rng_uniform(&rng) - 3.0);
        w1[k] = lmmiqa_rng_normal(&rng);
        w2[k] = lmmiqa_rng_normal(&rng);
    }
    for (size_t i = 0; i < n; i++) {
        double a = 0.0, b = 0.0;
        for (size_t k = 0; k < dim; k++) {
            double u = lmmiqa_rng_normal(&rng);
            x[i * dim + k] = (float)(scale[k] * (u + (k < emb ? 0.0 : 2.0)));
            /* the distortion columns carry as much signal as the embedding */
            double wk = k < emb ? 1.0 / sqrt((double)emb) : 1.0 / sqrt((double)br);
            a += wk * w1[k] * u;
            b += wk * w2[k] * u;
        }
        double z = 0.8 * a + 0.6 * tanh(b) + 0.3 * a * b + 0.35 * lmmiqa_rng_normal(&rng);
        mos[i] = 100.0 / (1.0 + exp(-1.2 * z));
    }
    free(scale);
    free(w1);
    free(w2);
}

static int defaults_study(void)
{
    const size_t emb = 512, br = 36, dim = emb + br, n = 1162, ntr = 930, nte = n - ntr;
    float *x = malloc(n * dim * sizeof *x);
    double *mos = malloc(n * sizeof *mos), *pred = malloc(nte * sizeof *pred);
    if (!x || !mos || !pred)
        return 1;
    defaults_data(n, emb, br, x, mos);
    const double lrs[4] = {1e-4, 3e-4, 1e-3, 3e-3};
    const int batches[3] = {16, 32, 64};
    printf("defaults study: MLP %zu -> 512 -> 1, 25 epochs, %zu train / %zu test rows, "
           "mean of 3 seeds (synthetic data)\n",
           dim, ntr, nte);
    printf("  standardize  lr      batch  test PLCC  test SROCC  s/run\n");
    for (int st = 1; st >= 0; st--)
        for (int l = 0; l < 4; l++)
            for (int b = 0; b < 3; b++) {
                double sp = 0.0, ss = 0.0, t0 = now();
                for (uint64_t seed = 1; seed <= 3; seed++) {
                    lmmiqa_regressor_config cfg;
                    lmmiqa_regressor_config_init(&cfg);
                    cfg.learning_rate = lrs[l];
                    cfg.batch_size = batches[b];
                    cfg.standardize = st;
                    cfg.seed = seed;
                    cfg.threads = 1;
                    lmmiqa_regressor *reg = NULL;
                    double p = 0.0, s = 0.0;
                    if (lmmiqa_regressor_train(&cfg, x, mos, ntr, dim, 0.0, 100.0, NULL, NULL, 0,
                                               &reg) ||
                        lmmiqa_regressor_predict(reg, x + ntr * dim, nte, pred) ||
                        lmmiqa_metric_plcc(pred, mos + ntr, nte, &p) ||
                        lmmiqa_metric_srocc(pred, mos + ntr, nte, &s))
                        p = s = NAN;
                    lmmiqa_regressor_destroy(reg);
                    sp += p / 3.0;
                    ss += s / 3.0;
                }
                printf("  %-11d  %-6g  %5d  %9.4f  %10.4f  %5.2f\n", st, lrs[l], batches[b], sp,
                       ss, (now() - t0) / 3.0);
                fflush(stdout);
            }
    printf("  SVR head (RBF, gamma 1/dim, standardised):\n  C     epsilon  test PLCC  "
           "test SROCC  SMO iterations  s/run\n");
    const double cs[3] = {1.0, 10.0, 100.0}, eps[3] = {0.01, 0.05, 0.1};
    for (int c = 0; c < 3; c++)
        for (int e = 0; e < 3; e++) {
            lmmiqa_regressor_config cfg;
            lmmiqa_regressor_config_init(&cfg);
            cfg.head = LMMIQA_HEAD_SVR;
            cfg.svr_c = cs[c];
            cfg.svr_epsilon = eps[e];
            lmmiqa_regressor *reg = NULL;
            double p = NAN, s = NAN, t0 = now();
            if (lmmiqa_regressor_train(&cfg, x, mos, ntr, dim, 0.0, 100.0, NULL, NULL, 0, &reg) ||
                lmmiqa_regressor_predict(reg, x + ntr * dim, nte, pred) ||
                lmmiqa_metric_plcc(pred, mos + ntr, nte, &p) ||
                lmmiqa_metric_srocc(pred, mos + ntr, nte, &s))
                p = s = NAN;
            lmmiqa_regressor_history h = {0};
            if (reg)
                lmmiqa_regressor_get_history(reg, &h);
            printf("  %-5g %-7g  %9.4f  %10.4f  %14ld  %5.2f\n", cs[c], eps[e], p, s,
                   h.svr_iterations, now() - t0);
            lmmiqa_regressor_destroy(reg);
        }
    free(x);
    free(mos);
    free(pred);
    return 0;
}

/* BRISQUE features of every LIVE-C image, from the cache or extracted now. */
static int livec_features(const char *csv_path, float **xo, double **mo, size_t *no)
{
    lmmiqa_csv *csv = NULL;
    if (lmmiqa_csv_load(csv_path, &csv)) {
        fprintf(stderr, "bench_regressor: %s\n", lmmiqa_error_message());
        return 1;
    }
    int ci = lmmiqa_csv_column(csv, "image"), cm = lmmiqa_csv_column(csv, "mos");
    size_t n = lmmiqa_csv_rows(csv);
    if (ci < 0 || cm < 0 || n == 0) {
        fprintf(stderr, "bench_regressor: %s lacks image/mos columns\n", csv_path);
        lmmiqa_csv_destroy(csv);
        return 1;
    }
    float *x = malloc(n * LMMIQA_BRISQUE_DIM * sizeof *x);
    double *mos = malloc(n * sizeof *mos);
    for (size_t i = 0; i < n; i++)
        if (lmmiqa_csv_cell_double(csv, i, (size_t)cm, &mos[i])) {
            fprintf(stderr, "bench_regressor: %s\n", lmmiqa_error_message());
            return 1;
        }
    const char *cache = "/tmp/lmmiqa_livec_brisque.bin";
    FILE *f = fopen(cache, "rb");
    size_t got = 0;
    if (f) {
        uint64_t cn = 0;
        if (fread(&cn, sizeof cn, 1, f) == 1 && cn == n)
            got = fread(x, sizeof *x * LMMIQA_BRISQUE_DIM, n, f);
        fclose(f);
    }
    if (got != n) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", csv_path);
        char *slash = strrchr(dir, '/');
        if (slash)
            slash[1] = '\0';
        else
            strcpy(dir, "./");
        lmmiqa_brisque_state *st = NULL;
        lmmiqa_brisque_state_create(&st);
        double t0 = now();
        for (size_t i = 0; i < n; i++) {
            char path[8192];
            snprintf(path, sizeof path, "%s%s", dir, lmmiqa_csv_cell(csv, i, (size_t)ci));
            lmmiqa_image *img = NULL;
            double feat[LMMIQA_BRISQUE_DIM];
            if (lmmiqa_image_load(path, &img) || lmmiqa_brisque_features(st, img, feat)) {
                fprintf(stderr, "bench_regressor: %s: %s\n", path, lmmiqa_error_message());
                return 1;
            }
            for (int k = 0; k < LMMIQA_BRISQUE_DIM; k++)
                x[i * LMMIQA_BRISQUE_DIM + k] = (float)feat[k];
            lmmiqa_image_destroy(img);
        }
        lmmiqa_brisque_state_destroy(st);
        printf("extracted BRISQUE features of %zu images in %.1f s\n", n, now() - t0);
        f = fopen(cache, "wb");
        if (f) {
            uint64_t cn = n;
            fwrite(&cn, sizeof cn, 1, f);
            fwrite(x, sizeof *x * LMMIQA_BRISQUE_DIM, n, f);
            fclose(f);
        }
    }
    lmmiqa_csv_destroy(csv);
    *xo = x;
    *mo = mos;
    *no = n;
    return 0;
}

/* Mean test PLCC/SROCC over `splits` random 80/20 splits. */
static void livec_eval(const lmmiqa_regressor_config *cfg, const float *x, const double *mos,
                       size_t n, int splits, const char *label)
{
    const size_t dim = LMMIQA_BRISQUE_DIM, ntr = n * 8 / 10, nte = n - ntr;
    size_t *idx = malloc(n * sizeof *idx);
    float *xtr = malloc(n * dim * sizeof *xtr), *xte = xtr + ntr * dim;
    double *mtr = malloc(n * sizeof *mtr), *mte = mtr + ntr, *pred = malloc(nte * sizeof *pred);
    double sp = 0.0, ss = 0.0, t0 = now();
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 7);
    int ok = 0;
    for (int s = 0; s < splits; s++) {
        for (size_t i = 0; i < n; i++)
            idx[i] = i;
        lmmiqa_rng_shuffle(&rng, idx, n);
        for (size_t i = 0; i < n; i++) {
            memcpy(xtr + i * dim, x + idx[i] * dim, dim * sizeof *x);
            mtr[i] = mos[idx[i]];
        }
        lmmiqa_regressor_config c = *cfg;
        c.seed = (uint64_t)s + 1;
        lmmiqa_regressor *reg = NULL;
        double p, r;
        if (lmmiqa_regressor_train(&c, xtr, mtr, ntr, dim, 0.0, 100.0, NULL, NULL, 0, &reg) ||
            lmmiqa_regressor_predict(reg, xte, nte, pred) ||
            lmmiqa_metric_plcc(pred, mte, nte, &p) || lmmiqa_metric_srocc(pred, mte, nte, &r)) {
            printf("  %-40s split %d failed: %s\n", label, s + 1, lmmiqa_error_message());
        } else {
            sp += p;
            ss += r;
            ok++;
        }
        lmmiqa_regressor_destroy(reg);
    }
    printf("  %-40s PLCC %.4f  SROCC %.4f  (%d splits, %.2f s/split)\n", label,
           ok ? sp / ok : NAN, ok ? ss / ok : NAN, ok, (now() - t0) / splits);
    fflush(stdout);
    free(idx);
    free(xtr);
    free(mtr);
    free(pred);
}

static int livec_study(const char *csv_path)
{
    float *x;
    double *mos;
    size_t n;
    if (livec_features(csv_path, &x, &mos, &n))
        return 1;
    printf("LIVE Challenge, BRISQUE features (36), %zu images, 10 random 80/20 splits, "
           "25 epochs, mean test PLCC/SROCC\n", n);
    char label[128];
    lmmiqa_regressor_config cfg;
    const double lrs[4] = {1e-4, 3e-4, 1e-3, 3e-3};
    const int batches[3] = {16, 32, 64};
    for (int st = 1; st >= 0; st--)
        for (int l = 0; l < 4; l++)
            for (int b = 0; b < 3; b++) {
                lmmiqa_regressor_config_init(&cfg);
                cfg.threads = 1;
                cfg.standardize = st;
                cfg.learning_rate = lrs[l];
                cfg.batch_size = batches[b];
                snprintf(label, sizeof label, "mlp std %d lr %g batch %d", st, lrs[l], batches[b]);
                livec_eval(&cfg, x, mos, n, 10, label);
            }
    const double llrs[4] = {1e-3, 3e-3, 1e-2, 3e-2};
    for (int st = 1; st >= 0; st--)
        for (int l = 0; l < 4; l++) {
            lmmiqa_regressor_config_init(&cfg);
            cfg.head = LMMIQA_HEAD_LINEAR;
            cfg.threads = 1;
            cfg.standardize = st;
            cfg.learning_rate = llrs[l];
            snprintf(label, sizeof label, "linear std %d lr %g batch 32", st, llrs[l]);
            livec_eval(&cfg, x, mos, n, 10, label);
        }
    const double cs[3] = {0.1, 1.0, 10.0}, eps[3] = {0.01, 0.05, 0.1};
    for (int c = 0; c < 3; c++)
        for (int e = 0; e < 3; e++) {
            lmmiqa_regressor_config_init(&cfg);
            cfg.head = LMMIQA_HEAD_SVR;
            cfg.svr_c = cs[c];
            cfg.svr_epsilon = eps[e];
            snprintf(label, sizeof label, "svr C %g epsilon %g gamma 1/36", cs[c], eps[e]);
            livec_eval(&cfg, x, mos, n, 10, label);
        }
    free(x);
    free(mos);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--defaults") == 0)
        return defaults_study();
    if (argc > 1 && strcmp(argv[1], "--livec") == 0) {
        char def[4096];
        const char *env = getenv("LMMIQA_SHARED_DIR");
        if (env && *env)
            snprintf(def, sizeof def, "%s/data/livec/livec.csv", env);
        else
            snprintf(def, sizeof def, "%s/../shared/data/livec/livec.csv", LMMIQA_SOURCE_DIR);
        return livec_study(argc > 2 ? argv[2] : def);
    }
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    size_t n = argc > 2 ? (size_t)atol(argv[2]) : 10000;
    if (threads < 1 || n < 512) {
        fprintf(stderr, "usage: bench_regressor [threads>=1] [rows>=512]\n");
        return 2;
    }
    float *x = malloc(n * DIM * sizeof *x);
    double *mos = malloc(n * sizeof *mos);
    if (!x || !mos)
        return 1;
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 1);
    for (size_t i = 0; i < n * DIM; i++)
        x[i] = (float)(3.0 * lmmiqa_rng_normal(&rng));
    for (size_t i = 0; i < n; i++)
        mos[i] = 100.0 * lmmiqa_rng_uniform(&rng);

    printf("MLP %d -> %d -> 1 + Adam, one epoch of %zu rows, %d thread(s)\n", DIM, HIDDEN, n,
           threads);
    time_lmmiqa(x, mos, 1024, 32, threads); /* warm-up: OpenBLAS thread pool, page faults */
    int batches[2] = {32, 512};
    for (int b = 0; b < 2; b++) {
        double t = time_lmmiqa(x, mos, n, batches[b], threads);
        printf("  lmmiqa (OpenBLAS)   batch %4d: %7.3f s/epoch  %9.0f rows/s\n", batches[b], t,
               (double)n / t);
        fflush(stdout);
    }
    free(x);
    free(mos);

    if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
        printf("  pytorch: skipped (torch not importable by /usr/bin/python3; "
               "scripts/setup.sh --bench installs it)\n");
        return 0;
    }
    static char script[4096];
    snprintf(script, sizeof script, torch_script, threads, n, DIM, HIDDEN);
    FILE *tmp = fopen("/tmp/lmmiqa_bench_regressor.py", "w");
    if (!tmp) {
        printf("  pytorch: skipped (cannot write its script to /tmp)\n");
        return 0;
    }
    fputs(script, tmp);
    fclose(tmp);
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=%d /usr/bin/python3 "
             "/tmp/lmmiqa_bench_regressor.py",
             threads);
    FILE *p = popen(cmd, "r");
    if (!p) {
        printf("  pytorch: skipped (cannot run /usr/bin/python3)\n");
        return 0;
    }
    int batch;
    double secs;
    while (fscanf(p, "%d %lf", &batch, &secs) == 2)
        printf("  pytorch 1.13 (CPU)  batch %4d: %7.3f s/epoch  %9.0f rows/s\n", batch, secs,
               (double)n / secs);
    int st = pclose(p);
    if (st != 0)
        printf("  pytorch: the peer script failed (status %d)\n", st);
    remove("/tmp/lmmiqa_bench_regressor.py");
    return 0;
}
