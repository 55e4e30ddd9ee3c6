/*
 * bench/bench_clipiqa.c - per-image cost of the zero-shot "clipiqa"
 * extractor next to "clip-vit-b16" (the vision tower alone) on the same
 * checkpoint and image, and the CLIP tokenizer's throughput.
 *
 * clipiqa embeds its prompts once, when it is created (reported apart); per
 * image it adds only 2 x pairs dot products to the vision tower, so the goal
 * is a per-image time within 2 % of clip-vit-b16's. The two extractors run in
 * alternating rounds (same thread count, same warm caches), and the median
 * round is reported for each. Tokenizer: the strings of
 * tests/data/text/golden_tokens.jsonl encoded repeatedly for about a second.
 *
 * Usage: bench_clipiqa [--tiny] [--quick] [--images N] [--threads T]
 *                      [--vocab FILE]
 *   --tiny     a tiny configuration (a smoke run; the figures mean nothing)
 *   --quick    3 rounds of 2 images, 0.1 s of tokenizing
 * The full configuration is CLIP ViT-B/16 with both towers (generated
 * weights, Hugging Face layout), written once to
 * $TMPDIR/lmmiqa-bench-clipiqa (600 MB). The vocabulary is --vocab, else
 * ../shared/vocab/clip/bpe_simple_vocab_16e6.txt.gz beside the source tree.
 */
#include "lmmiqa/extractor.h"
#include "lmmiqa/advanced/text.h"
#include "models/vit_internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void die(const char *what)
{
    fprintf(stderr, "bench_clipiqa: %s: %s\n", what, lmmiqa_error_message());
    exit(1);
}

/* Strings of the tokenizer golden file, NULL-terminated. */
static char **load_strings(int *n)
{
    FILE *f = fopen(LMMIQA_SOURCE_DIR "/tests/data/text/golden_tokens.jsonl", "r");
    char **out = calloc(1024, sizeof *out);
    static char line[1 << 16];
    *n = 0;
    while (f && out && *n < 1023 && fgets(line, sizeof line, f)) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *t = cJSON_GetObjectItem(j, "text");
        if (cJSON_IsString(t))
            out[(*n)++] = strdup(t->valuestring);
        cJSON_Delete(j);
    }
    if (f)
        fclose(f);
    return out;
}

static void bench_tokenizer(const char *vocab, double seconds)
{
    lmmiqa_tokenizer *tok = NULL;
    double t0 = now();
    if (lmmiqa_tokenizer_load(vocab, &tok))
        die(vocab);
    double load = now() - t0;
    int n = 0;
    char **s = load_strings(&n);
    size_t bytes = 0, ids = 0, texts = 0;
    int32_t buf[4096];
    t0 = now();
    while (now() - t0 < seconds)
        for (int i = 0; i < n; i++) {
            size_t k = 0;
            if (lmmiqa_tokenizer_encode(tok, s[i], 0, buf, 4096, &k))
                die("encode");
            bytes += strlen(s[i]);
            ids += k;
            texts++;
        }
    double t = now() - t0;
    printf("tokenizer: load %.0f ms; %zu texts (%d distinct, %.1f bytes avg) in %.2f s: "
           "%.0f texts/s, %.2f MB/s, %.0f ids/s\n",
           load * 1e3, texts, n, (double)bytes / (double)texts, t, texts / t, bytes / t / 1e6,
           ids / t);
    for (int i = 0; i < n; i++)
        free(s[i]);
    free(s);
    lmmiqa_tokenizer_destroy(tok);
}

int main(int argc, char **argv)
{
    int tiny = 0, quick = 0, images = 20, threads = 0;
    const char *vocab = LMMIQA_SOURCE_DIR "/../shared/vocab/clip/bpe_simple_vocab_16e6.txt.gz";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tiny"))
            tiny = 1;
        else if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--images") && i + 1 < argc)
            images = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--vocab") && i + 1 < argc)
            vocab = argv[++i];
        else {
            fprintf(stderr, "usage: bench_clipiqa [--tiny] [--quick] [--images N] [--threads T] "
                            "[--vocab FILE]\n");
            return 2;
        }
    }
    if (images < 1)
        images = 1;
    int rounds = 7;
    if (quick) {
        images = 2;
        rounds = 3;
    }
    bench_tokenizer(vocab, quick ? 0.1 : 1.0);

    lmmiqa_vit_config vc = {224, 16, 768, 12, 12, 3072, 512, LMMIQA_VIT_ACT_QUICK_GELU, 1e-5,
                            LMMIQA_VIT_NAMING_HF};
    lmmiqa_text_config tc = {49408, 77, 512, 12, 8, 2048, 512, LMMIQA_VIT_ACT_QUICK_GELU, 1e-5,
                             LMMIQA_VIT_NAMING_HF, 0, 0};
    if (tiny) {
        lmmiqa_vit_config v = {48, 16, 128, 2, 2, 256, 32, LMMIQA_VIT_ACT_QUICK_GELU, 1e-5,
                               LMMIQA_VIT_NAMING_HF};
        lmmiqa_text_config t = {49408, 16, 64, 1, 1, 128, 32, LMMIQA_VIT_ACT_QUICK_GELU, 1e-5,
                                LMMIQA_VIT_NAMING_HF, 0, 0};
        vc = v;
        tc = t;
    }
    const char *tmp = getenv("TMPDIR");
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/lmmiqa-bench-clipiqa/%s", tmp && *tmp ? tmp : "/tmp",
             tiny ? "tiny" : "b16");
    char mk[4300];
    snprintf(mk, sizeof mk, "mkdir -p '%s'", dir);
    if (system(mk) != 0)
        return 1;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "writing %s ...\n", path);
        if (lmmiqa__clip_random_save(&vc, &tc, LMMIQA_VIT_NAMING_HF, LMMIQA_DTYPE_F32, 1, path, 1))
            die(path);
    }
    lmmiqa_extractor_options o = {.size = sizeof o, .weights = path, .threads = threads, .vocab = vocab};
    lmmiqa_extractor *vis = NULL, *iqa = NULL;
    if (lmmiqa_extractor_create("clip-vit-b16", &o, &vis))
        die("clip-vit-b16");
    double t0 = now();
    if (lmmiqa_extractor_create("clipiqa", &o, &iqa))
        die("clipiqa");
    double create = now() - t0;
    lmmiqa_extractor_state *sv = NULL, *si = NULL;
    if (lmmiqa_extractor_state_create(vis, &sv) || lmmiqa_extractor_state_create(iqa, &si))
        die("state");
    lmmiqa_image *img = NULL;
    if (lmmiqa_image_create(500, 500, &img))
        die("image");
    for (size_t i = 0; i < (size_t)500 * 500 * 3; i++)
        img->pixels[i] = (uint8_t)((i * 2654435761u) >> 24);
    double *fv = malloc(sizeof(double) * lmmiqa_extractor_dim(vis));
    double *fi = malloc(sizeof(double) * lmmiqa_extractor_dim(iqa));
    double *tv = malloc(sizeof(double) * (size_t)rounds), *ti = malloc(sizeof(double) * (size_t)rounds);
    if (lmmiqa_extractor_run(vis, sv, img, fv) || lmmiqa_extractor_run(iqa, si, img, fi))
        die("warm-up");
    for (int r = 0; r < rounds; r++) {
        for (int pass = 0; pass < 2; pass++) { /* alternate which goes first */
            int first_iqa = (r + pass) % 2;
            t0 = now();
            for (int k = 0; k < images; k++)
                if (first_iqa ? lmmiqa_extractor_run(iqa, si, img, fi)
                              : lmmiqa_extractor_run(vis, sv, img, fv))
                    die("run");
            (first_iqa ? ti : tv)[r] = (now() - t0) / images;
        }
    }
    qsort(tv, (size_t)rounds, sizeof *tv, cmp_double);
    qsort(ti, (size_t)rounds, sizeof *ti, cmp_double);
    double mv = tv[rounds / 2], mi = ti[rounds / 2];
    printf("%s, 500x500 image, %d rounds of %d images, threads %s:\n",
           tiny ? "tiny configuration" : "CLIP ViT-B/16", rounds, images,
           threads ? "as given" : "OpenBLAS default");
    printf("  clip-vit-b16  %8.2f ms/image (median round; min %.2f, max %.2f)\n", mv * 1e3,
           tv[0] * 1e3, tv[rounds - 1] * 1e3);
    printf("  clipiqa       %8.2f ms/image (median round; min %.2f, max %.2f), %zu pairs\n",
           mi * 1e3, ti[0] * 1e3, ti[rounds - 1] * 1e3, lmmiqa_extractor_dim(iqa));
    printf("  clipiqa / clip-vit-b16 = %.4f (goal <= 1.02)\n", mi / mv);
    printf("  clipiqa creation (vision + text load, %zu prompts tokenized and embedded once): "
           "%.0f ms\n",
           2 * lmmiqa_extractor_dim(iqa), create * 1e3);
    free(fv);
    free(fi);
    free(tv);
    free(ti);
    lmmiqa_image_destroy(img);
    lmmiqa_extractor_state_destroy(sv);
    lmmiqa_extractor_state_destroy(si);
    lmmiqa_extractor_destroy(vis);
    lmmiqa_extractor_destroy(iqa);
    return 0;
}
