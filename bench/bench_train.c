/*
 * bench/bench_train.c - training speed of the nn engine against PyTorch
 * 1.13 on the same machine, side by side in one run: samples per second
 * for a full step (forward + backward + Adam) of
 *   - CNNIQA on 32x32 patches (the unit it trains on), batch 8, 32, 128;
 *   - MetaIQA = ResNet-18 + head on 224x224 images, batch 8 and 32.
 * The PyTorch side runs tools/ref/nn_ref.py's models through
 * /usr/bin/python3 with OMP_WAIT_POLICY=PASSIVE and the same thread count
 * (torch.set_num_threads), on random inputs; dropout is on for both.
 *
 * Both sides report samples per second of wall time and per CPU-second
 * (process CPU time over all threads): on a shared machine the wall figures
 * move with the load, the CPU figures much less. Run ours with
 * OMP_WAIT_POLICY=PASSIVE too (oneDNN uses OpenMP), as the PyTorch side is.
 *
 *   bench_train [threads=2] [--quick]    (--quick: batch 8 only, fewer steps)
 */
#include "bench_load.h"
#include "nn/nn.h"
#include "models/cnniqa_internal.h"
#include "models/metaiqa_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* samples/s of wall time and per CPU-second (all threads) of the last bench */
static double g_cpu_rate;

static double bench_cnniqa(int batch, int steps)
{
    lmmiqa_cnniqa_config cfg;
    lmmiqa_cnniqa_config_init(&cfg);
    lmmiqa_cnniqa *m = NULL;
    lmmiqa__cnniqa_work w;
    if (lmmiqa_cnniqa_create(&cfg, &m) || lmmiqa__cnniqa_work_init(m, batch, &w))
        return -1;
    lmmiqa_nn_optim o;
    lmmiqa_nn_optim_defaults(&o, LMMIQA_NN_ADAM, 1e-3);
    lmmiqa_nn_optim_init(&o, &m->params);
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 1);
    for (int i = 0; i < batch * 32 * 32; i++)
        w.x[i] = (float)lmmiqa_rng_normal(&rng);
    float *target = calloc((size_t)batch, sizeof *target);
    double t0 = 0, c0 = 0;
    for (int s = -1; s < steps; s++) { /* step -1 warms up */
        if (s == 0)
            t0 = now(), c0 = cpu_now();
        lmmiqa__cnniqa_forward(m, &w, batch, 1, &rng);
        lmmiqa_nn_l1_loss((size_t)batch, w.out, target, w.dout);
        lmmiqa_nn_params_zero_grad(&m->params);
        lmmiqa__cnniqa_backward(m, &w, batch);
        lmmiqa_nn_optim_step(&o, &m->params, 0, NULL);
    }
    double rate = batch * steps / (now() - t0);
    g_cpu_rate = batch * steps / (cpu_now() - c0);
    free(target);
    lmmiqa__cnniqa_work_free(&w);
    lmmiqa_cnniqa_destroy(m);
    return rate;
}

static double bench_metaiqa(int batch, int steps)
{
    lmmiqa_metaiqa_config cfg;
    lmmiqa_metaiqa_config_init(&cfg);
    lmmiqa_metaiqa *m = NULL;
    lmmiqa__metaiqa_work *w = NULL;
    if (lmmiqa_metaiqa_create(&cfg, &m) || lmmiqa__metaiqa_work_create(m, batch, 224, 224, &w))
        return -1;
    lmmiqa_nn_optim o;
    lmmiqa_nn_optim_defaults(&o, LMMIQA_NN_ADAM, 1e-4);
    lmmiqa_nn_optim_init(&o, &m->params);
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 1);
    float *x = lmmiqa__metaiqa_work_input(w);
    for (size_t i = 0; i < (size_t)batch * 3 * 224 * 224; i++)
        x[i] = (float)lmmiqa_rng_normal(&rng);
    float *target = calloc((size_t)batch, sizeof *target), *dout = calloc((size_t)batch, 4);
    double t0 = 0, c0 = 0;
    for (int s = -1; s < steps; s++) {
        if (s == 0)
            t0 = now(), c0 = cpu_now();
        const float *out = lmmiqa__metaiqa_forward(m, w, batch, 1, &rng);
        lmmiqa_nn_mse_loss((size_t)batch, out, target, dout);
        lmmiqa_nn_params_zero_grad(&m->params);
        lmmiqa__metaiqa_backward(m, w, batch, dout);
        lmmiqa_nn_optim_step(&o, &m->params, 0, NULL);
    }
    double rate = batch * steps / (now() - t0);
    g_cpu_rate = batch * steps / (cpu_now() - c0);
    free(target);
    free(dout);
    lmmiqa__metaiqa_work_destroy(w);
    lmmiqa_metaiqa_destroy(m);
    return rate;
}

static const char *PY =
    "import sys, time, torch, torch.nn.functional as F\n"
    "sys.path.insert(0, sys.argv[1] + '/tools/ref')\n"
    "from nn_ref import CNNIQA, MetaIQA\n"
    "torch.set_num_threads(int(sys.argv[2]))\n"
    "def run(model, x, loss_fn, steps):\n"
    "    opt = torch.optim.Adam(model.parameters(), lr=1e-4)\n"
    "    t = torch.zeros(x.shape[0])\n"
    "    model.train()\n"
    "    for s in range(-1, steps):\n"
    "        if s == 0: t0 = time.perf_counter(); c0 = time.process_time()\n"
    "        y = model(x).reshape(-1)\n"
    "        loss = loss_fn(y, t)\n"
    "        opt.zero_grad(); loss.backward(); opt.step()\n"
    "    n = x.shape[0] * steps\n"
    "    return n / (time.perf_counter() - t0), n / (time.process_time() - c0)\n"
    "class C(CNNIQA):\n"
    "    def forward(self, x):\n"
    "        h = self.conv1(x)\n"
    "        h1 = F.max_pool2d(h, (h.size(-2), h.size(-1)))\n"
    "        h2 = -F.max_pool2d(-h, (h.size(-2), h.size(-1)))\n"
    "        h = torch.cat((h1, h2), 1).flatten(1)\n"
    "        h = F.dropout(F.relu(self.fc1(h)), 0.5, self.training)\n"
    "        return self.fc3(F.relu(self.fc2(h)))\n"
    "for line in sys.stdin:\n"
    "    kind, batch, steps = line.split(); batch = int(batch); steps = int(steps)\n"
    "    if kind == 'cnniqa':\n"
    "        r = run(C(), torch.randn(batch, 1, 32, 32), F.l1_loss, steps)\n"
    "    else:\n"
    "        r = run(MetaIQA(), torch.randn(batch, 3, 224, 224), F.mse_loss, steps)\n"
    "    print(r[0], r[1], flush=True)\n";

int main(int argc, char **argv)
{
    bench_start_load(); /* the idle gate reads the load before any work */
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    int quick = argc > 2 && strcmp(argv[2], "--quick") == 0;
    if (threads < 1)
        threads = 2;
    lmmiqa_nn_set_threads(threads);
    struct { const char *kind; int batch, steps; } cases[] = {
        {"cnniqa", 8, 200}, {"cnniqa", 32, 100}, {"cnniqa", 128, 40},
        {"metaiqa", 8, 3},  {"metaiqa", 32, 2},
    };
    size_t n_cases = sizeof cases / sizeof cases[0];
    char script[] = "/tmp/bench_train_XXXXXX";
    int fd = mkstemp(script);
    if (fd < 0) {
        perror("bench_train: mkstemp");
        return 1;
    }
    (void)!write(fd, PY, strlen(PY));
    close(fd);
    printf("training throughput, samples/s (forward + backward + Adam), %d threads\n", threads);
    printf("(wall: samples per second; cpu: samples per CPU-second of all threads, the\n"
           " fairer figure on a shared, overloaded machine; each case runs ours, then\n"
           " PyTorch's, never both at once)\n");
    printf("%-28s %9s %9s %7s | %9s %9s %7s\n", "model / batch", "lmmiqa", "pytorch", "ratio",
           "cpu:ours", "pytorch", "ratio");
    for (size_t i = 0; i < n_cases; i++) {
        if (quick && cases[i].batch > 8)
            continue;
        int steps = quick ? (cases[i].steps + 1) / 2 : cases[i].steps;
        double ours = strcmp(cases[i].kind, "cnniqa") == 0 ? bench_cnniqa(cases[i].batch, steps)
                                                          : bench_metaiqa(cases[i].batch, steps);
        double ours_cpu = g_cpu_rate;
        char cmd[8192];
        snprintf(cmd, sizeof cmd,
                 "echo '%s %d %d' | OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 %s %s %d 2>/dev/null",
                 cases[i].kind, cases[i].batch, steps, script, LMMIQA_SOURCE_DIR, threads);
        FILE *py = popen(cmd, "r");
        double theirs = -1, theirs_cpu = -1;
        if (!py || fscanf(py, "%lf %lf", &theirs, &theirs_cpu) != 2)
            theirs = -1;
        if (py)
            pclose(py);
        char label[64];
        snprintf(label, sizeof label, "%s%s / %d", cases[i].kind,
                 strcmp(cases[i].kind, "cnniqa") == 0 ? " (32x32 patch)" : " (224x224)",
                 cases[i].batch);
        if (theirs > 0 && bench_ratios_allowed())
            printf("%-28s %9.2f %9.2f %6.2fx | %9.2f %9.2f %6.2fx\n", label, ours, theirs,
                   ours / theirs, ours_cpu, theirs_cpu, ours_cpu / theirs_cpu);
        else if (theirs > 0)
            printf("%-28s %9.2f %9.2f %7s | %9.2f %9.2f %7s\n", label, ours, theirs, "n/a",
                   ours_cpu, theirs_cpu, "n/a");
        else
            printf("%-28s %9.2f %9s         | %9.2f   (PyTorch side failed)\n", label, ours, "n/a",
                   ours_cpu);
        fflush(stdout);
    }
    unlink(script);
    return 0;
}
