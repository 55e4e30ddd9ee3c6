/*
 * bench/bench_vit.c - images per second of the CLIP vision transformers
 * (ViT-B/16, and ViT-L/14 with --l14) at batch 1 and 8 on all cores, side by
 * side with PyTorch 1.13 running the same architecture (OpenAI CLIP's
 * VisionTransformer code: nn.MultiheadAttention, QuickGELU) in the same run,
 * with OMP_WAIT_POLICY=PASSIVE and torch.set_num_threads(<cores>), random
 * weights, torch.inference_mode.
 *
 * PyTorch runs both its plain path and its fused attention (batch_first
 * nn.MultiheadAttention, which 1.13 runs through _native_multi_head_attention
 * in inference mode); the best of the two is the peer.
 *
 * Also prints the fraction of the FMA peak reached (measured on this machine
 * by bench_peak.h; --peak GFLOPS_PER_CORE overrides), the time to the first
 * embedding (weight loading + the first forward pass of one image) and the
 * memory: weights, the per-thread activation state for batch 8, and the
 * process' peak resident set.
 *
 * Usage: bench_vit [--l14] [--no-torch] [--peak GFLOPS_PER_CORE]
 * Checkpoints with generated weights are written once to
 * $TMPDIR/lmmiqa-bench-vit (B/16 350 MB, L/14 1.2 GB).
 */
#include "bench_load.h"
#include "bench_peak.h"
#include "lmmiqa/advanced/vit.h"
#include "core/internal.h"
#include "models/vit_internal.h"
#include "tensor/matmul.h"

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

static const char *torch_script =
    "import sys, time, torch, torch.nn as nn\n"
    "torch.set_num_threads(int(sys.argv[1]))\n"
    "W, L, H, M, P, E = map(int, sys.argv[2:8])\n"
    "class QuickGELU(nn.Module):\n"
    "    def forward(self, x): return x * torch.sigmoid(1.702 * x)\n"
    "FUSED = int(sys.argv[8])\n"
    "class Block(nn.Module):\n"
    "    def __init__(s):\n"
    "        super().__init__(); s.attn = nn.MultiheadAttention(W, H, batch_first=bool(FUSED)); s.ln_1 = nn.LayerNorm(W)\n"
    "        s.mlp = nn.Sequential(nn.Linear(W, M), QuickGELU(), nn.Linear(M, W)); s.ln_2 = nn.LayerNorm(W)\n"
    "    def forward(s, x):\n"
    "        h = s.ln_1(x); x = x + s.attn(h, h, h, need_weights=False)[0]\n"
    "        return x + s.mlp(s.ln_2(x))\n"
    "class ViT(nn.Module):\n"
    "    def __init__(s):\n"
    "        super().__init__(); g = 224 // P\n"
    "        s.conv1 = nn.Conv2d(3, W, P, P, bias=False); s.cls = nn.Parameter(torch.randn(W))\n"
    "        s.pos = nn.Parameter(torch.randn(g * g + 1, W) * 0.02); s.ln_pre = nn.LayerNorm(W)\n"
    "        s.blocks = nn.Sequential(*[Block() for _ in range(L)]); s.ln_post = nn.LayerNorm(W)\n"
    "        s.proj = nn.Parameter(torch.randn(W, E) * W ** -0.5)\n"
    "    def forward(s, x):\n"
    "        x = s.conv1(x).flatten(2).permute(0, 2, 1)\n"
    "        x = torch.cat([s.cls.expand(x.shape[0], 1, W), x], 1) + s.pos\n"
    "        x = s.blocks(s.ln_pre(x)) if FUSED else s.blocks(s.ln_pre(x).permute(1, 0, 2)).permute(1, 0, 2)\n"
    "        return s.ln_post(x[:, 0]) @ s.proj\n"
    "m = ViT().eval()\n"
    "with torch.inference_mode():\n"
    "    for b in (1, 8):\n"
    "        x = torch.randn(b, 3, 224, 224); m(x)\n"
    "        n = 2 if b == 1 else 1; t = time.time()\n"
    "        for _ in range(n): m(x)\n"
    "        print('torch', b, (time.time() - t) / (n * b), flush=True)\n";

/* PyTorch seconds per image at batch 1 and 8 (fused: the batch_first fused
 * attention path); -1 if unavailable. */
static void run_torch(const lmmiqa_vit_config *c, int threads, int fused, double sec[2])
{
    sec[0] = sec[1] = -1;
    char script[] = "/tmp/lmmiqa_bench_vit_XXXXXX";
    int fd = mkstemp(script);
    if (fd < 0)
        return;
    FILE *sf = fdopen(fd, "w");
    fputs(torch_script, sf);
    fclose(sf);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 %s %d %d %d %d %d %d %d %d 2>/dev/null",
             script, threads, c->width, c->layers, c->heads, c->mlp_dim, c->patch_size,
             c->embed_dim, fused);
    FILE *p = popen(cmd, "r");
    if (p) {
        char line[256];
        while (fgets(line, sizeof line, p)) {
            int b;
            double s;
            if (sscanf(line, "torch %d %lf", &b, &s) == 2)
                sec[b == 1 ? 0 : 1] = s;
        }
        pclose(p);
    }
    unlink(script);
}

/* GFLOP/s of one block's four products at batch 8 alone (the shapes of
 * config c, random data), weights in place (NT rows, as an F32 safetensors
 * file is used) or packed (as converted files are). */
static double gemm_rate(const lmmiqa_vit_config *c, int packed)
{
    int g = c->image_size / c->patch_size, R = 8 * (g * g + 1), W = c->width, M = c->mlp_dim;
    int shapes[4][2] = {{3 * W, W}, {W, W}, {M, W}, {W, M}};
    size_t big = (size_t)(3 * W > M ? 3 * W : M) * (size_t)(W > M ? W : M);
    float *x = malloc(sizeof(float) * (size_t)R * big / W), *y = malloc(sizeof(float) * R * big / W);
    float *w = malloc(sizeof(float) * big), *wp = malloc(sizeof(float) * 2 * big);
    for (size_t i = 0; i < (size_t)R * big / W; i++)
        x[i] = (float)(i % 13) * 0.01f;
    for (size_t i = 0; i < big; i++)
        w[i] = (float)(i % 7) * 0.01f;
    lmmiqa__mm *mm = NULL;
    double flops = 0, t = 0;
    if (lmmiqa__mm_create(1, &mm) == LMMIQA_OK)
        for (int s = 0; s < 4; s++) {
            int n = shapes[s][0], k = shapes[s][1];
            lmmiqa__mm_w mw = {w, LMMIQA__MM_B_NT};
            if (packed && lmmiqa__mm_pack(n, k, w, wp) == LMMIQA_OK)
                mw = (lmmiqa__mm_w){wp, LMMIQA__MM_B_PACKED};
            lmmiqa__mm_linear(mm, R, n, k, x, mw, NULL, LMMIQA__MM_NO_ACT, 0, y, n);
            double t0 = now();
            for (int r = 0; r < 3; r++)
                lmmiqa__mm_linear(mm, R, n, k, x, mw, NULL, LMMIQA__MM_NO_ACT, 0, y, n);
            t += now() - t0;
            flops += 3 * 2.0 * R * n * k;
        }
    lmmiqa__mm_destroy(mm);
    free(x), free(y), free(w), free(wp);
    return t > 0 ? flops / t / 1e9 : 0;
}

static int bench(const char *label, const lmmiqa_vit_config *cfg, const char *dir, int do_torch,
                 double peak)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, label);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "writing %s ...\n", path);
        if (lmmiqa__vit_random_save(cfg, LMMIQA_VIT_NAMING_HF, LMMIQA_DTYPE_F32, 1, path, 0)) {
            fprintf(stderr, "bench_vit: %s\n", lmmiqa_error_message());
            return 1;
        }
    }
    lmmiqa_vit *vit = NULL;
    lmmiqa_vit_state *st = NULL;
    double t_load = now();
    if (lmmiqa_vit_load(path, NULL, &vit) || lmmiqa_vit_state_create(vit, 8, &st)) {
        fprintf(stderr, "bench_vit: %s\n", lmmiqa_error_message());
        lmmiqa_vit_destroy(vit);
        return 1;
    }
    double loaded = now() - t_load;
    const lmmiqa_vit_config *c = lmmiqa_vit_get_config(vit);
    size_t npx = (size_t)8 * 3 * c->image_size * c->image_size;
    float *px = malloc(npx * sizeof(float)), *out = malloc((size_t)8 * c->embed_dim * 4);
    for (size_t i = 0; i < npx; i++)
        px[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    int threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    double flops = lmmiqa_vit_flops(c), sec[2];
    lmmiqa_vit_forward(vit, st, px, 1, 0, out); /* the first embedding */
    double first = now() - t_load;
    lmmiqa_vit_forward(vit, st, px, 8, 0, out); /* warm up batch 8 */
    for (int k = 0; k < 2; k++) {
        int b = k ? 8 : 1, n = k ? 2 : 4;
        double t = now();
        for (int i = 0; i < n; i++)
            lmmiqa_vit_forward(vit, st, px, b, 0, out);
        sec[k] = (now() - t) / (n * b);
    }
    double ts[2][2] = {{-1, -1}, {-1, -1}};
    if (do_torch) {
        run_torch(c, threads, 0, ts[0]);
        run_torch(c, threads, 1, ts[1]);
    }
    printf("%s (%.1f GFLOP/image), %d threads, FMA peak %.0f GFLOP/s (%s)\n", label, flops / 1e9,
           threads, peak, bench_peak_isa());
    for (int k = 0; k < 2; k++) {
        printf("  batch %d: lmmiqa %7.1f ms/image %6.2f img/s %5.1f%% of peak", k ? 8 : 1,
               sec[k] * 1e3, 1 / sec[k], 100 * flops / sec[k] / (peak * 1e9));
        int best = ts[1][k] > 0 && (ts[0][k] <= 0 || ts[1][k] < ts[0][k]);
        double tb = ts[best][k];
        if (tb > 0) {
            printf(" | pytorch plain %7.1f, fused %7.1f ms/image", ts[0][k] * 1e3, ts[1][k] * 1e3);
            if (bench_ratios_allowed())
                printf(" | speedup %.2fx over the best", tb / sec[k]);
            else
                printf(" | speedup n/a");
        }
        printf("\n");
    }
    double g_in = gemm_rate(c, 0), g_packed = gemm_rate(c, 1);
    printf("  the products alone (batch 8): %.0f GFLOP/s = %.0f%% of peak with the weights in "
           "place, %.0f GFLOP/s = %.0f%% packed\n",
           g_in, 100 * g_in / peak, g_packed, 100 * g_packed / peak);
    printf("  load %.2f s, first embedding %.2f s after the start of loading; 16 images at batch "
           "8 with loading: %.2f s = %.0f%% of the steady-state rate\n",
           loaded, first, loaded + 16 * sec[1], 100 * 16 * sec[1] / (loaded + 16 * sec[1]));
    printf("  memory: weights %.1f MB, activations (batch 8) %.1f MB\n",
           lmmiqa_vit_weights_bytes(vit) / 1e6, lmmiqa_vit_state_bytes(st) / 1e6);
    free(px);
    free(out);
    lmmiqa_vit_state_destroy(st);
    lmmiqa_vit_destroy(vit);
    return 0;
}

int main(int argc, char **argv)
{
    int l14 = 0, torch = 1;
    bench_start_load(); /* the idle gate reads the load before any work */
    double peak = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--l14"))
            l14 = 1;
        else if (!strcmp(argv[i], "--no-torch"))
            torch = 0;
        else if (!strcmp(argv[i], "--peak") && i + 1 < argc)
            peak = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_vit [--l14] [--no-torch] [--peak GFLOPS_PER_CORE]\n");
            return 2;
        }
    }
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/lmmiqa-bench-vit", tmp && *tmp ? tmp : "/tmp");
    mkdir(dir, 0755);
    lmmiqa_vit_config b16 = {224, 16, 768, 12, 12, 3072, 512, 0, 1e-5, 0};
    lmmiqa_vit_config l14c = {224, 14, 1024, 24, 16, 4096, 768, 0, 1e-5, 0};
    int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    peak = peak > 0 ? peak * cores : bench_peak_gflops(cores);
    if (peak <= 0)
        peak = 96.0 * cores;
    int rc = bench("vit-b16", &b16, dir, torch, peak);
    if (l14 && !rc)
        rc = bench("vit-l14", &l14c, dir, torch, peak);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak resident set of this process: %.1f MB\n", ru.ru_maxrss / 1e3);
    return rc;
}
