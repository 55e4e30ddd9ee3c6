/*
 * tests/test_align.c - ALIGN's EfficientNet image tower against the float64
 * PyTorch reference of tools/ref/align_ref.py (a re-implementation of Hugging
 * Face AlignVisionModel).
 *
 * - Block plan: the kakaobrain/align-base configuration gives the 55 blocks
 *   of ../shared/reference/checkpoints/align_b7_blocks.tsv (skipped without
 *   ../shared).
 * - Kernels: depthwise conv + swish + SE sums and bias + swish against their
 *   scalar double references (max |diff| <= 2e-6; SE sums within 1e-6 per
 *   summed position; bias + swish relative 1e-6).
 * - Reduced configuration (10 blocks, width 0.5, depth 0.5, one block with
 *   symmetric stride-2 padding): a checkpoint written at test time by
 *   src/models/align_random.c (the reference's generator) in F32 and F16,
 *   with config.json, loaded through the real loader, on two generated pixel
 *   tensors (69x77, 45x38): tests/data/align/golden_tiny.txt. Tolerance:
 *   cosine >= 0.99999 and max |diff| <= 2e-5 x max(1, max |reference|).
 * - A 7-block model (expansion ratio 2) saved by torch.save with mostly half
 *   storages under 'state_dict' (tests/data/align/micro_align.bin, its
 *   micro_config.json): the PyTorch zip path, golden_micro.txt.
 * - Loader errors: wrong configuration, missing tensors, no vision tower.
 * - Preprocessing: SHA-256 of Pillow's bilinear resize and of the 289 crop
 *   (exact), a sample of tensor values (exact float32), for synthetic
 *   images and LIVE-C images (those need ../shared):
 *   tests/data/align/golden_preprocess.txt.
 * - Extractor "align" end to end on the reduced checkpoint at 289 x 289;
 *   one thread vs two (helper threads) agree within 1e-5.
 * - Full B7 (tests/data/align/golden_b7.txt): only when the generated
 *   checkpoint exists (tools/ref/align_ref.py --full DIR writes
 *   DIR/align-b7/model.safetensors; found through $LMMIQA_ALIGN_B7, or
 *   <build>/align-b7, or /tmp/lmmiqa-align/align-b7); else a SKIP line.
 *   Tolerance as above: cosine >= 0.99999, max |diff| <= 2e-5 x max(1, max
 *   |reference|) (B7 embedding entries reach about 20 with these weights).
 */
#include "lmmiqa/advanced/align.h"
#include "lmmiqa/extractor.h"
#include "lmmiqa/rng.h"
#include "core/internal.h"
#include "models/align_internal.h"
#include "models/efficientnet_kernels.h"
#include "models/vit_internal.h"
#include "test.h"

#include <cblas.h>
#include <sys/stat.h>
#include <unistd.h>

#define GOLDEN_DIR LMMIQA_SOURCE_DIR "/tests/data/align/"
#define SEED 11
#define COS_TOL 0.99999
#define ABS_TOL 2e-5

static char tmpdir[512];

static void tiny_config(lmmiqa__align_hf_config *hf)
{
    static const int in[7] = {32, 16, 16, 32, 32, 48, 48}, out[7] = {16, 16, 32, 32, 48, 48, 64};
    lmmiqa__align_hf_default(hf);
    hf->width_coefficient = 0.5;
    hf->depth_coefficient = 0.5;
    for (int i = 0; i < 7; i++) {
        hf->in_channels[i] = in[i];
        hf->out_channels[i] = out[i];
    }
    hf->n_depthwise_padding = 1;
    hf->depthwise_padding[0] = 2;
    hf->image_size = 33;
}

static const char *tmp_path(const char *sub, const char *file)
{
    return test_path_mkdir(tmpdir, sub, file);
}

/* One golden line: key index h w dim values... ; returns dim or 0. */
static int read_golden_line(const char *file, const char *key, int index, int *h, int *w,
                            double *vals, int cap, int with_hw)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return 0;
    char line[65536];
    int dim = 0;
    while (fgets(line, sizeof line, f)) {
        char k[64];
        int i, n, off = 0, hh = 0, ww = 0;
        if (with_hw) {
            if (sscanf(line, "%63s %d %d %d %d%n", k, &i, &hh, &ww, &n, &off) != 5)
                continue;
        } else if (sscanf(line, "%63s %d %d%n", k, &i, &n, &off) != 3) {
            continue;
        }
        if (strcmp(k, key) != 0 || i != index || n > cap)
            continue;
        char *p = line + off;
        for (int j = 0; j < n; j++)
            vals[j] = strtod(p, &p);
        if (h)
            *h = hh;
        if (w)
            *w = ww;
        dim = n;
        break;
    }
    fclose(f);
    return dim;
}

static void compare(const float *got, const double *want, int n, const char *what)
{
    double dot = 0, na = 0, nb = 0, maxd = 0, scale = 1;
    for (int i = 0; i < n; i++)
        scale = fabs(want[i]) > scale ? fabs(want[i]) : scale;
    for (int i = 0; i < n; i++) {
        dot += got[i] * want[i];
        na += (double)got[i] * got[i];
        nb += want[i] * want[i];
        double d = fabs(got[i] - want[i]);
        maxd = d > maxd ? d : maxd;
    }
    double cos = dot / sqrt(na * nb);
    CHECK_MSG(cos >= COS_TOL && maxd <= ABS_TOL * scale, "%s: cosine %.9f, max |diff| %.3g",
              what, cos, maxd);
    printf("%s: cosine %.9f, max |diff| %.3g (max |ref| %.3g)\n", what, cos, maxd, scale);
}

/* ------------------------------------------------------------ plan */

static void test_plan_b7(void)
{
    lmmiqa__align_hf_config hf;
    lmmiqa__align_hf_default(&hf);
    lmmiqa_align_block b[LMMIQA__ALIGN_MAX_BLOCKS];
    int n = 0, stem = 0;
    CHECK_OK(lmmiqa__align_plan(&hf, b, LMMIQA__ALIGN_MAX_BLOCKS, &n, &stem));
    CHECK(n == 55 && stem == 64 && b[54].out_dim == 640);
    if (!test_shared_dir()) {
        printf("SKIP part: ../shared absent, block plan not compared with align_b7_blocks.tsv\n");
        return;
    }
    FILE *f = fopen(test_shared_path("reference/checkpoints/align_b7_blocks.tsv"), "r");
    CHECK(f != NULL);
    if (!f)
        return;
    char line[512];
    int rows = 0;
    CHECK(fgets(line, sizeof line, f) != NULL); /* header */
    while (fgets(line, sizeof line, f)) {
        int i, st, in, out, ex, k, s, se;
        char first[16];
        if (sscanf(line, "%d %d %d %d %d %d %d %d %15s", &i, &st, &in, &out, &ex, &k, &s, &se,
                   first) != 9)
            continue;
        CHECK(i < n);
        if (i >= n)
            break;
        CHECK_MSG(b[i].in_dim == in && b[i].out_dim == out && b[i].expand_dim == ex &&
                      b[i].kernel == k && b[i].stride == s && b[i].se_dim == se &&
                      b[i].residual == (strcmp(first, "True") != 0),
                  "block %d", i);
        CHECK(b[i].expand == (ex != in));
        /* depthwise_padding = []: stride 2 pads k/2-1 before, k/2 after */
        if (s == 2)
            CHECK(b[i].pad_before == k / 2 - 1 && b[i].pad_after == k / 2);
        else
            CHECK(b[i].pad_before == k / 2 && b[i].pad_after == k / 2);
        rows++;
    }
    fclose(f);
    CHECK(rows == 55);
}

/* ------------------------------------------------------------ kernels */

static void test_kernels(void)
{
    struct {
        int h, w, c, k, s, pt, pb;
    } cases[] = {{9, 11, 8, 3, 1, 1, 1},  {10, 7, 13, 5, 1, 2, 2}, {12, 9, 24, 3, 2, 0, 1},
                 {11, 13, 16, 5, 2, 1, 2}, {7, 6, 21, 5, 2, 2, 2},  {3, 2, 40, 5, 1, 2, 2},
                 {1, 1, 8, 3, 1, 1, 1},    {6, 5, 80, 3, 1, 1, 1},  {5, 6, 77, 5, 2, 2, 2}};
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 5);
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        int h = cases[t].h, w = cases[t].w, c = cases[t].c, k = cases[t].k, s = cases[t].s;
        int oh = (h + cases[t].pt + cases[t].pb - k) / s + 1;
        int ow = (w + cases[t].pt + cases[t].pb - k) / s + 1;
        lmmiqa__conv_geom g = {h, w, oh, ow, k, s, cases[t].pt, cases[t].pt};
        float *in = malloc(sizeof(float) * h * w * c), *wt = malloc(sizeof(float) * k * k * c);
        float *b = malloc(sizeof(float) * c);
        float *o1 = malloc(sizeof(float) * oh * ow * c), *o2 = malloc(sizeof(float) * oh * ow * c);
        double *s1 = calloc(c, sizeof(double)), *s2 = calloc(c, sizeof(double));
        for (int i = 0; i < h * w * c; i++)
            in[i] = (float)(4 * lmmiqa_rng_uniform(&rng) - 2);
        for (int i = 0; i < k * k * c; i++)
            wt[i] = (float)(lmmiqa_rng_uniform(&rng) - 0.5);
        for (int i = 0; i < c; i++)
            b[i] = (float)(lmmiqa_rng_uniform(&rng) - 0.5);
        lmmiqa__dwconv_swish(&g, c, in, wt, b, o1, s1, 0, oh);
        lmmiqa__dwconv_swish_ref(&g, c, in, wt, b, o2, s2, 0, oh);
        double maxd = 0;
        for (int i = 0; i < oh * ow * c; i++)
            maxd = fmax(maxd, fabs(o1[i] - o2[i]));
        CHECK_MSG(maxd <= 2e-6, "dwconv case %zu: max |diff| %g", t, maxd);
        for (int i = 0; i < c; i++)
            CHECK_NEAR(s1[i], s2[i], 1e-6 * oh * ow); /* sums of O(1) terms */
        /* split rows give the same result */
        memset(s1, 0, sizeof(double) * c);
        lmmiqa__dwconv_swish(&g, c, in, wt, b, o2, s1, 0, oh / 2);
        lmmiqa__dwconv_swish(&g, c, in, wt, b, o2, s1, oh / 2, oh);
        CHECK(memcmp(o1, o2, sizeof(float) * oh * ow * c) == 0);
        free(in), free(wt), free(b), free(o1), free(o2), free(s1), free(s2);
    }
    int rows = 5, n = 37;
    float x1[5 * 37], x2[5 * 37], bias[37];
    for (int i = 0; i < rows * n; i++)
        x1[i] = x2[i] = (float)(40 * lmmiqa_rng_uniform(&rng) - 20);
    x1[3] = x2[3] = -100.0f;
    x1[4] = x2[4] = 100.0f;
    for (int i = 0; i < n; i++)
        bias[i] = (float)(lmmiqa_rng_uniform(&rng) - 0.5);
    lmmiqa__bias_swish(rows, n, x1, bias);
    lmmiqa__bias_swish_ref(rows, n, x2, bias);
    for (int i = 0; i < rows * n; i++)
        CHECK_REL(x1[i], x2[i], 1e-6, 1e-6);
}

/* ------------------------------------------------------------ reduced model */

static const char *write_tiny(lmmiqa_dtype dtype, const char *sub)
{
    lmmiqa__align_hf_config hf;
    tiny_config(&hf);
    const char *path = tmp_path(sub, "model.safetensors");
    static char keep[2][1024];
    char *k = keep[dtype == LMMIQA_DTYPE_F16];
    snprintf(k, 1024, "%s", path);
    CHECK_OK(lmmiqa__align_random_save(&hf, dtype, SEED, k, 1));
    return k;
}

static void run_tiny(const char *weights, const char *key)
{
    lmmiqa_align *m = NULL;
    CHECK_OK(lmmiqa_align_load(weights, NULL, &m));
    if (!m)
        return;
    const lmmiqa_align_config *c = lmmiqa_align_get_config(m);
    CHECK(c->blocks == 10 && c->stem_channels == 16 && c->embed_dim == 32);
    CHECK(lmmiqa_align_get_block(m, 2)->pad_before == 2); /* depthwise_padding [2] */
    lmmiqa_align_state *st = NULL;
    CHECK_OK(lmmiqa_align_state_create(m, &st));
    double gold[64];
    for (int i = 0; i < 2; i++) {
        int h = 0, w = 0;
        int d = read_golden_line(GOLDEN_DIR "golden_tiny.txt", key, i, &h, &w, gold, 64, 1);
        CHECK(d == 32);
        if (d != 32)
            continue;
        float *px = malloc(sizeof(float) * 2 * 3 * h * w), out[64];
        char nm[64];
        snprintf(nm, sizeof nm, "align_input_%d", i);
        lmmiqa__vit_random_uniform(nm, SEED, (size_t)3 * h * w, px);
        memcpy(px + 3 * h * w, px, sizeof(float) * 3 * h * w);
        CHECK_OK(lmmiqa_align_forward(m, st, px, 2, h, w, 0, out));
        char what[96];
        snprintf(what, sizeof what, "%s image %d (%dx%d)", key, i, w, h);
        compare(out, gold, 32, what);
        /* the second copy runs batched in the late blocks (SE scale on D
         * rather than on W_p): the same within rounding */
        snprintf(what, sizeof what, "%s image %d, batch row 2", key, i);
        compare(out + 32, gold, 32, what);
        /* a batch of two different images equals the images run alone */
        lmmiqa__vit_random_uniform("align_input_other", SEED, (size_t)3 * h * w,
                                   px + 3 * h * w);
        float pair[64], alone[32];
        CHECK_OK(lmmiqa_align_forward(m, st, px, 2, h, w, 0, pair));
        CHECK_OK(lmmiqa_align_forward(m, st, px + 3 * h * w, 1, h, w, 0, alone));
        double dmax = 0, dself = 0;
        for (int j = 0; j < 32; j++) {
            dmax = fmax(dmax, fabs(pair[32 + j] - alone[j]));
            dself = fmax(dself, fabs(pair[32 + j] - pair[j]));
        }
        CHECK_MSG(dmax <= 1e-5 && dself > 1e-3, "batch row vs alone %g, vs other row %g", dmax,
                  dself);
        float un[32];
        CHECK_OK(lmmiqa_align_forward(m, st, px, 1, h, w, 1, un));
        double nn = 0;
        for (int j = 0; j < 32; j++)
            nn += (double)un[j] * un[j];
        CHECK_NEAR(nn, 1.0, 1e-5);
        free(px);
    }
    CHECK(lmmiqa_align_flops(m, 69, 77) > 0);
    CHECK(lmmiqa_align_state_bytes(st) > 0);
    /* too small for the four stride-2 stages */
    float tiny_px[3 * 4 * 4] = {0}, o[32];
    CHECK(lmmiqa_align_forward(m, st, tiny_px, 1, 4, 4, 0, o) == LMMIQA_ERR_INVALID_ARG);
    lmmiqa_align_state_destroy(st);
    lmmiqa_align_destroy(m);
}

static void test_tiny(void)
{
    run_tiny(write_tiny(LMMIQA_DTYPE_F32, "tiny_f32"), "tiny_f32");
    run_tiny(write_tiny(LMMIQA_DTYPE_F16, "tiny_f16"), "tiny_f16");
}

/* torch.save zip (mostly half storages, under 'state_dict'), expansion
 * ratio 2, configuration given explicitly */
static void test_micro_torch(void)
{
    lmmiqa_align *m = NULL;
    lmmiqa_align_load_options o = {GOLDEN_DIR "micro_config.json", NULL};
    CHECK_OK(lmmiqa_align_load(GOLDEN_DIR "micro_align.bin", &o, &m));
    if (!m)
        return;
    CHECK(lmmiqa_align_get_config(m)->blocks == 7 && lmmiqa_align_get_config(m)->embed_dim == 16);
    CHECK(lmmiqa_align_get_block(m, 1)->expand_dim == 2 * lmmiqa_align_get_block(m, 1)->in_dim);
    lmmiqa_align_state *st = NULL;
    CHECK_OK(lmmiqa_align_state_create(m, &st));
    double gold[16];
    int h = 0, w = 0;
    int d = read_golden_line(GOLDEN_DIR "golden_micro.txt", "micro", 0, &h, &w, gold, 16, 1);
    CHECK(d == 16);
    if (d == 16) {
        float *px = malloc(sizeof(float) * 3 * h * w), out[16];
        lmmiqa__vit_random_uniform("align_input_0", SEED, (size_t)3 * h * w, px);
        CHECK_OK(lmmiqa_align_forward(m, st, px, 1, h, w, 0, out));
        compare(out, gold, 16, "micro (torch zip, F16/F32)");
        free(px);
    }
    lmmiqa_align_state_destroy(st);
    lmmiqa_align_destroy(m);
    /* without its configuration the B7 plan does not fit these tensors */
    CHECK(lmmiqa_align_load(GOLDEN_DIR "micro_align.bin", NULL, &m) == LMMIQA_ERR_MISMATCH);
}

static void test_load_errors(void)
{
    const char *w = write_tiny(LMMIQA_DTYPE_F32, "tiny_f32");
    lmmiqa_align *m = NULL;
    /* the B7 default configuration against the reduced weights: misshaped stem */
    const char *cfg = tmp_path("errors", "b7.json");
    lmmiqa__align_hf_config hf;
    lmmiqa__align_hf_default(&hf);
    char *json = lmmiqa__align_hf_to_json(&hf);
    CHECK_OK(lmmiqa__file_write_atomic(cfg, json, strlen(json)));
    free(json);
    lmmiqa_align_load_options o = {cfg, NULL};
    CHECK(lmmiqa_align_load(w, &o, &m) == LMMIQA_ERR_MISMATCH && !m);
    CHECK(strstr(lmmiqa_error_message(), "embeddings.convolution.weight") != NULL);
    /* fewer blocks planned than stored: unexpected tensors reported */
    tiny_config(&hf);
    hf.num_block_repeats[6] = 0;
    hf.stages = 6;
    json = lmmiqa__align_hf_to_json(&hf);
    CHECK_OK(lmmiqa__file_write_atomic(cfg, json, strlen(json)));
    free(json);
    CHECK(lmmiqa_align_load(w, &o, &m) == LMMIQA_ERR_MISMATCH && !m);
    CHECK(strstr(lmmiqa_error_message(), "unexpected") != NULL &&
          strstr(lmmiqa_error_message(), "blocks.9.") != NULL);
    /* more blocks planned than stored: the missing tensor is named */
    tiny_config(&hf);
    hf.num_block_repeats[6] = 3; /* ceil(0.5 * 3) = 2 blocks in the last stage */
    json = lmmiqa__align_hf_to_json(&hf);
    CHECK_OK(lmmiqa__file_write_atomic(cfg, json, strlen(json)));
    free(json);
    CHECK(lmmiqa_align_load(w, &o, &m) == LMMIQA_ERR_MISMATCH && !m);
    CHECK(strstr(lmmiqa_error_message(), "blocks.10.") != NULL);
    /* bad config values */
    const char *bad = "{\"vision_config\": {\"strides\": [1, 3, 2, 2, 1, 2, 1]}}";
    CHECK_OK(lmmiqa__file_write_atomic(cfg, bad, strlen(bad)));
    CHECK(lmmiqa_align_load(w, &o, &m) == LMMIQA_ERR_FORMAT && !m);
    bad = "{\"vision_config\": {\"hidden_act\": \"relu\"}}";
    CHECK_OK(lmmiqa__file_write_atomic(cfg, bad, strlen(bad)));
    CHECK(lmmiqa_align_load(w, &o, &m) == LMMIQA_ERR_FORMAT && !m);
    bad = "{\"vision_config\": {\"kernel_sizes\": [3, 3]}}";
    CHECK_OK(lmmiqa__file_write_atomic(cfg, bad, strlen(bad)));
    CHECK(lmmiqa_align_load(w, &o, &m) == LMMIQA_ERR_FORMAT && !m);
    /* not an ALIGN checkpoint */
    lmmiqa_safetensors_writer *sw = NULL;
    CHECK_OK(lmmiqa_safetensors_writer_create(&sw));
    float v[2] = {1, 2};
    int64_t shape[1] = {2};
    CHECK_OK(lmmiqa_safetensors_writer_add(sw, "other.weight", LMMIQA_DTYPE_F32, v, 1, shape));
    const char *other = tmp_path("errors", "other.safetensors");
    CHECK_OK(lmmiqa_safetensors_writer_save(sw, other));
    lmmiqa_safetensors_writer_destroy(sw);
    CHECK(lmmiqa_align_load(other, NULL, &m) == LMMIQA_ERR_MISMATCH && !m);
    CHECK(lmmiqa_align_load(tmp_path("errors", "absent.safetensors"), NULL, &m) != LMMIQA_OK);
}

/* ------------------------------------------------------------ preprocessing */

static void sha_hex(const void *p, size_t n, char hex[65]) { lmmiqa__sha256_hex(p, n, hex); }

static void test_preprocess(void)
{
    FILE *f = fopen(GOLDEN_DIR "golden_preprocess.txt", "r");
    CHECK(f != NULL);
    if (!f)
        return;
    char line[4096];
    int resized = 0, cropped = 0, livec = 0;
    while (fgets(line, sizeof line, f)) {
        char src[128], h1[65], h2[65];
        int sw, sh, tw, th, k;
        if (sscanf(line, "resize %127s %d %d %d %d %64s %64s", src, &sw, &sh, &tw, &th, h1, h2) ==
                7 &&
            sscanf(src, "synth:%d", &k) == 1) {
            lmmiqa_image *img = NULL;
            CHECK_OK(lmmiqa__align_synth_image(k, sw, sh, &img));
            char hex[65];
            sha_hex(img->pixels, (size_t)sw * sh * 3, hex);
            CHECK_MSG(strcmp(hex, h1) == 0, "synthetic image %d differs from the reference", k);
            uint8_t *dst = malloc((size_t)tw * th * 3);
            CHECK_OK(lmmiqa_resize_bilinear_pil(img->pixels, sw, sh, dst, tw, th, NULL));
            sha_hex(dst, (size_t)tw * th * 3, hex);
            CHECK_MSG(strcmp(hex, h2) == 0, "bilinear %dx%d -> %dx%d differs from Pillow", sw, sh,
                      tw, th);
            free(dst);
            lmmiqa_image_destroy(img);
            resized++;
            continue;
        }
        int off = 0;
        if (sscanf(line, "crop %127s %d %d %64s%n", src, &sw, &sh, h1, &off) != 4)
            continue;
        lmmiqa_image *img = NULL;
        if (sscanf(src, "synth:%d", &k) == 1) {
            CHECK_OK(lmmiqa__align_synth_image(k, sw, sh, &img));
        } else if (strncmp(src, "livec:", 6) == 0) {
            if (!test_shared_dir())
                continue;
            char full[8192];
            snprintf(full, sizeof full, "%s/data/livec/Images/%s", test_shared_dir(), src + 6);
            CHECK_OK(lmmiqa_image_load(full, &img));
            livec++;
        }
        if (!img)
            continue;
        const int C = LMMIQA_ALIGN_CROP, R = LMMIQA_ALIGN_RESIZE;
        float *px = malloc(sizeof(float) * 3 * C * C);
        CHECK_OK(lmmiqa_align_preprocess(img, NULL, px));
        /* rebuild the uint8 crop from the tensor: (x - 127.5) / 127.5 is invertible */
        uint8_t *crop = malloc((size_t)C * C * 3);
        for (int i = 0; i < C * C; i++)
            for (int c = 0; c < 3; c++)
                crop[i * 3 + c] = (uint8_t)lround(px[c * C * C + i] * 127.5 + 127.5);
        char hex[65];
        sha_hex(crop, (size_t)C * C * 3, hex);
        CHECK_MSG(strcmp(hex, h1) == 0, "%s: 289 crop differs from the reference", src);
        /* the crop of our own 346 resize agrees */
        uint8_t *r = malloc((size_t)R * R * 3);
        CHECK_OK(lmmiqa_resize_bilinear_pil(img->pixels, img->width, img->height, r, R, R, NULL));
        int same = 1;
        for (int y = 0; y < C && same; y++)
            same = memcmp(r + ((size_t)(y + 28) * R + 28) * 3, crop + (size_t)y * C * 3,
                          (size_t)C * 3) == 0;
        CHECK(same);
        /* tensor values as the processor computes them (float32 exact) */
        char *p = line + off;
        for (int j = 0; j < 12; j++) {
            char *end;
            double want = strtod(p, &end);
            if (end == p)
                break;
            p = end;
            CHECK((float)want == px[(size_t)j * 20887]);
        }
        free(r);
        free(crop);
        free(px);
        lmmiqa_image_destroy(img);
        cropped++;
    }
    fclose(f);
    CHECK(resized >= 20 && cropped >= 5);
    printf("preprocess: %d resizes, %d crops (%d LIVE-C) bit-exact checks\n", resized, cropped,
           livec);
}

/* ------------------------------------------------------------ extractor */

static void test_extractor(void)
{
    const char *w = write_tiny(LMMIQA_DTYPE_F32, "tiny_f32");
    lmmiqa_extractor *ex = NULL;
    lmmiqa_extractor_options o = {.size = sizeof o, .weights = w};
    CHECK_OK(lmmiqa_extractor_create("align", &o, &ex));
    if (!ex)
        return;
    CHECK(lmmiqa_extractor_dim(ex) == 32);
    CHECK(strcmp(lmmiqa_extractor_feature_name(ex, 0), "align1") == 0);
    CHECK(strstr(lmmiqa_extractor_config_json(ex), "weights_sha256") != NULL);
    lmmiqa_extractor_state *st = NULL;
    CHECK_OK(lmmiqa_extractor_state_create(ex, &st));
    lmmiqa_image *img = NULL;
    CHECK_OK(lmmiqa__align_synth_image(1, 64, 48, &img));
    double feat[32];
    CHECK_OK(lmmiqa_extractor_run(ex, st, img, feat));
    /* the same through the public pieces */
    lmmiqa_align *m = NULL;
    lmmiqa_align_state *as = NULL;
    CHECK_OK(lmmiqa_align_load(w, NULL, &m));
    CHECK_OK(lmmiqa_align_state_create(m, &as));
    float *px = malloc(sizeof(float) * 3 * 289 * 289), out[32];
    CHECK_OK(lmmiqa_align_preprocess(img, NULL, px));
    CHECK_OK(lmmiqa_align_forward(m, as, px, 1, 289, 289, 0, out));
    for (int i = 0; i < 32; i++)
        CHECK(feat[i] == (double)out[i] && isfinite(feat[i]));
    /* split over helper threads (2) vs the calling thread alone (1): equal
     * within rounding (row splits change the products' blocking) */
    int blas = openblas_get_num_threads();
    float one[32], two[32];
    openblas_set_num_threads(1);
    CHECK_OK(lmmiqa_align_forward(m, as, px, 1, 289, 289, 0, one));
    openblas_set_num_threads(2);
    CHECK_OK(lmmiqa_align_forward(m, as, px, 1, 289, 289, 0, two));
    openblas_set_num_threads(blas);
    for (int i = 0; i < 32; i++)
        CHECK_NEAR(one[i], two[i], 1e-5);
    free(px);
    lmmiqa_align_state_destroy(as);
    lmmiqa_align_destroy(m);
    lmmiqa_image_destroy(img);
    lmmiqa_extractor_state_destroy(st);
    lmmiqa_extractor_destroy(ex);
    lmmiqa_extractor_options none = {.size = sizeof none, .weights = NULL};
    CHECK(lmmiqa_extractor_create("align", &none, &ex) == LMMIQA_ERR_INVALID_ARG && !ex);
}

/* ------------------------------------------------------------ full B7 */

static const char *find_b7(void)
{
    static char path[1024];
    const char *env = getenv("LMMIQA_ALIGN_B7");
    const char *cands[3] = {env, LMMIQA_BINARY_DIR "/align-b7/model.safetensors",
                            "/tmp/lmmiqa-align/align-b7/model.safetensors"};
    for (int i = 0; i < 3; i++) {
        struct stat sb;
        if (cands[i] && stat(cands[i], &sb) == 0) {
            snprintf(path, sizeof path, "%s", cands[i]);
            return path;
        }
    }
    return NULL;
}

static void test_b7(void)
{
    const char *san = getenv("LMMIQA_SANITIZED");
    if (san && *san) {
        printf("SKIP part: full B7 golden under sanitizers (too slow; runs in `make test`)\n");
        return;
    }
    const char *path = find_b7();
    if (!path) {
        printf("SKIP part: full B7 golden: no generated checkpoint (run /usr/bin/python3 "
               "tools/ref/align_ref.py --full /tmp/lmmiqa-align, or set LMMIQA_ALIGN_B7)\n");
        return;
    }
    lmmiqa_align *m = NULL;
    CHECK_OK(lmmiqa_align_load(path, NULL, &m));
    if (!m)
        return;
    CHECK(lmmiqa_align_get_config(m)->blocks == 55 && lmmiqa_align_get_config(m)->embed_dim == 640);
    lmmiqa_align_state *st = NULL;
    CHECK_OK(lmmiqa_align_state_create(m, &st));
    const int C = LMMIQA_ALIGN_CROP;
    float *px = malloc(sizeof(float) * 2 * 3 * C * C), out[2 * 640];
    static const int sizes[2][3] = {{0, 500, 375}, {4, 300, 500}};
    for (int i = 0; i < 2; i++) {
        lmmiqa_image *img = NULL;
        CHECK_OK(lmmiqa__align_synth_image(sizes[i][0], sizes[i][1], sizes[i][2], &img));
        CHECK_OK(lmmiqa_align_preprocess(img, NULL, px + (size_t)i * 3 * C * C));
        lmmiqa_image_destroy(img);
    }
    CHECK_OK(lmmiqa_align_forward(m, st, px, 2, C, C, 0, out));
    double gold[640];
    for (int i = 0; i < 2; i++) {
        int d = read_golden_line(GOLDEN_DIR "golden_b7.txt", "b7", i, NULL, NULL, gold, 640, 0);
        CHECK(d == 640);
        char what[64];
        snprintf(what, sizeof what, "B7 image %d", i);
        if (d == 640)
            compare(out + i * 640, gold, 640, what);
    }
    free(px);
    lmmiqa_align_state_destroy(st);
    lmmiqa_align_destroy(m);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/test_align_tmp", LMMIQA_BINARY_DIR);
    mkdir(tmpdir, 0755);
    RUN(test_plan_b7);
    RUN(test_kernels);
    RUN(test_tiny);
    RUN(test_micro_torch);
    RUN(test_load_errors);
    RUN(test_preprocess);
    RUN(test_extractor);
    RUN(test_b7);
    return test_finish();
}
