/*
 * tests/test_clipiqa.c - the zero-shot "clipiqa" extractor end to end against
 * tools/ref/clip_text_ref.py --clipiqa (tests/data/text/golden_clipiqa.txt):
 * a tiny CLIP checkpoint with both towers (the generated weights of the
 * references, Hugging Face layout, config.json) and the small HF vocabulary
 * tests/data/text/hf_tiny found beside it; the default prompt pairs, a
 * prompts file, a logit-scale override; errors (no text tower, no
 * vocabulary, bad prompt files). Then the CLI: `extract --extractor clipiqa`,
 * `score --zero-shot clip`, `text tokenize`, `text embed` (against the
 * library), and, where ../shared is present, `eval` with
 * clip-vit-b16+clipiqa and clipiqa+brisque on 40 LIVE Challenge images.
 * Tolerance on probabilities: 1e-4 absolute (logit scale 100 amplifies the
 * float32 cosine error about 25 times).
 */
#include "lmmiqa/extractor.h"
#include "lmmiqa/scorer.h"
#include "lmmiqa/advanced/text.h"
#include "models/clip_internal.h"
#include "models/vit_internal.h"
#include "test.h"
#include "vit_test_util.h"

#include <unistd.h>

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define DATA LMMIQA_SOURCE_DIR "/tests/data/text"
#define GOLDEN DATA "/golden_clipiqa.txt"

static const lmmiqa_vit_config vtiny = {48, 16, 128, 2, 2, 256, 32, LMMIQA_VIT_ACT_QUICK_GELU,
                                        1e-5, LMMIQA_VIT_NAMING_HF};
static const lmmiqa_text_config ttiny = {814, 16, 128, 2, 2, 256, 32, LMMIQA_VIT_ACT_QUICK_GELU,
                                         1e-5, LMMIQA_VIT_NAMING_HF, 0, 0};
static char dir[4096], weights[4200], cmd[16384];

static void copy(const char *src, const char *dst)
{
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, dst);
    CHECK(system(cmd) == 0);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "%s/test_clipiqa_tmp", LMMIQA_BINARY_DIR);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s/clip' '%s/vonly' '%s/novocab'", dir,
             dir, dir, dir);
    CHECK(system(cmd) == 0);
    snprintf(weights, sizeof weights, "%s/clip/model.safetensors", dir);
    CHECK_OK(lmmiqa__clip_random_save(&vtiny, &ttiny, LMMIQA_VIT_NAMING_HF, LMMIQA_DTYPE_F32, 7,
                                      weights, 1));
    char p[4300];
    snprintf(p, sizeof p, "%s/clip/vocab.json", dir);
    copy(DATA "/hf_tiny/vocab.json", p);
    snprintf(p, sizeof p, "%s/clip/merges.txt", dir);
    copy(DATA "/hf_tiny/merges.txt", p);
}

/* Run clipiqa with opts on the two synthetic images against golden `key`. */
static void check_golden(const lmmiqa_extractor_options *o, const char *key, int dim)
{
    lmmiqa_extractor *ex = NULL;
    CHECK_OK(lmmiqa_extractor_create("clipiqa", o, &ex));
    if (!ex)
        return;
    CHECK((int)lmmiqa_extractor_dim(ex) == dim);
    lmmiqa_extractor_state *st = NULL;
    CHECK_OK(lmmiqa_extractor_state_create(ex, &st));
    double out[64], gold[64], worst = 0;
    for (int k = 0; k < 2 && st; k++) {
        lmmiqa_image *img = vt_synth_image(k);
        CHECK_OK(lmmiqa_extractor_run(ex, st, img, out));
        lmmiqa_image_destroy(img);
        CHECK(vt_golden(GOLDEN, key, k, gold, 64) == dim);
        for (int i = 0; i < dim; i++) {
            double d = fabs(out[i] - gold[i]);
            worst = d > worst ? d : worst;
            CHECK(out[i] >= 0 && out[i] <= 1);
        }
    }
    fprintf(stderr, "  clipiqa %-8s %d pairs: max |p - reference| %.3g\n", key, dim, worst);
    CHECK_MSG(worst <= 1e-4, "%s: %.3g", key, worst);
    lmmiqa_extractor_state_destroy(st);
    lmmiqa_extractor_destroy(ex);
}

static void test_defaults(void)
{
    lmmiqa_extractor_options o = {.size = sizeof o, .weights = weights};
    check_golden(&o, "default", 8);
    lmmiqa_extractor *ex = NULL;
    CHECK_OK(lmmiqa_extractor_create("clipiqa", &o, &ex));
    if (!ex)
        return;
    CHECK(strcmp(lmmiqa_extractor_feature_name(ex, 0), "quality") == 0);
    CHECK(strcmp(lmmiqa_extractor_feature_name(ex, 2), "sharpness") == 0);
    const char *js = lmmiqa_extractor_config_json(ex);
    const char *ls = strstr(js, "\"logit_scale\":");
    CHECK(ls && fabs(atof(ls + 14) - 100.0) < 0.01); /* exp(4.6052) */
    CHECK(strstr(js, "vocab_sha256") != NULL);
    lmmiqa_extractor_destroy(ex);
}

/* A second extractor on the same weights, vocabulary and prompts reuses the
 * cached prompt embeddings: no text-tower pass. */
/* The library's scorer in zero-shot mode: the score is the extractor's
 * first feature, on [0, 1], higher is better; the clip-vit-b16 weights serve
 * clipiqa when it has none of its own; its identity names the kind. */
static void test_scorer_zero_shot(void)
{
    const char *names[1] = {"clip-vit-b16"}, *files[1] = {weights};
    lmmiqa_scorer_options so;
    lmmiqa_scorer_options_init(&so);
    so.zero_shot = "clip";
    so.n_weights = 1;
    so.weights_names = names;
    so.weights_files = files;
    lmmiqa_scorer *sc = NULL;
    CHECK_OK(lmmiqa_scorer_create(&so, &sc));
    if (!sc)
        return;
    double lo = -1, hi = -1, f[64];
    int better = -1;
    lmmiqa_scorer_scale(sc, &lo, &hi, &better);
    CHECK(lo == 0 && hi == 1 && better == 1);
    CHECK(strcmp(lmmiqa_scorer_name(sc), "clipiqa-zero-shot") == 0);
    CHECK(strstr(lmmiqa_scorer_info_json(sc), "\"kind\":\"zero-shot\"") != NULL);
    CHECK(strlen(lmmiqa_scorer_sha256(sc)) == 64);
    lmmiqa_extractor_options o = {.size = sizeof o, .weights = weights};
    lmmiqa_extractor *ex = NULL;
    CHECK_OK(lmmiqa_extractor_create("clipiqa", &o, &ex));
    lmmiqa_scorer_state *st = NULL;
    lmmiqa_extractor_state *es = NULL;
    CHECK_OK(lmmiqa_scorer_state_create(sc, &st));
    CHECK_OK(lmmiqa_extractor_state_create(ex, &es));
    lmmiqa_image *img = vt_synth_image(0);
    double score = -1;
    if (st && es && img && lmmiqa_scorer_dim(sc) <= 64) {
        CHECK_OK(lmmiqa_scorer_run(sc, st, img, &score, NULL));
        CHECK_OK(lmmiqa_extractor_run(ex, es, img, f));
        CHECK(score == f[0] && score > 0 && score < 1);
    }
    lmmiqa_image_destroy(img);
    lmmiqa_extractor_state_destroy(es);
    lmmiqa_extractor_destroy(ex);
    lmmiqa_scorer_state_destroy(st);
    lmmiqa_scorer_destroy(sc);
    /* an unknown method, and zero-shot together with a model, are refused */
    so.zero_shot = "siglip";
    CHECK(lmmiqa_scorer_create(&so, &sc) == LMMIQA_ERR_INVALID_ARG);
    so.zero_shot = "clip";
    so.model = "m.safetensors";
    CHECK(lmmiqa_scorer_create(&so, &sc) == LMMIQA_ERR_INVALID_ARG);
}

static void test_cache(void)
{
    lmmiqa_extractor_options o = {.size = sizeof o, .weights = weights};
    lmmiqa_extractor *a = NULL, *b = NULL;
    CHECK_OK(lmmiqa_extractor_create("clipiqa", &o, &a));
    size_t before = lmmiqa__clipiqa_text_passes();
    CHECK(before >= 16);
    CHECK_OK(lmmiqa_extractor_create("clipiqa", &o, &b));
    CHECK(lmmiqa__clipiqa_text_passes() == before);
    if (a && b)
        CHECK(strcmp(lmmiqa_extractor_config_json(a), lmmiqa_extractor_config_json(b)) == 0);
    lmmiqa_extractor_destroy(a);
    lmmiqa_extractor_destroy(b);
    /* other prompts are computed */
    lmmiqa_extractor_options f = {.size = sizeof f, .weights = weights, .prompts = DATA "/prompts_test.txt"};
    CHECK_OK(lmmiqa_extractor_create("clipiqa", &f, &a));
    CHECK(lmmiqa__clipiqa_text_passes() == before + 8);
    lmmiqa_extractor_destroy(a);
}

static void test_prompts_file_and_scale(void)
{
    lmmiqa_extractor_options o = {.size = sizeof o, .weights = weights, .prompts = DATA "/prompts_test.txt"};
    check_golden(&o, "file", 4);
    lmmiqa_extractor *ex = NULL;
    CHECK_OK(lmmiqa_extractor_create("clipiqa", &o, &ex));
    if (ex) {
        CHECK(strcmp(lmmiqa_extractor_feature_name(ex, 0), "good_photo") == 0);
        CHECK(strcmp(lmmiqa_extractor_feature_name(ex, 2), "it_s_the_photo_s_quality") == 0);
        CHECK(strcmp(lmmiqa_extractor_feature_name(ex, 3), "caf") == 0);
    }
    lmmiqa_extractor_destroy(ex);
    lmmiqa_extractor_options s = {.size = sizeof s, .weights = weights, .logit_scale = 2.0};
    check_golden(&s, "scale2", 8);
    /* the vocabulary named explicitly (a folder) */
    lmmiqa_extractor_options v = {.size = sizeof v, .weights = weights, .vocab = DATA "/hf_tiny"};
    check_golden(&v, "default", 8);
}

static void write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(s, f);
        fclose(f);
    }
}

static void test_errors(void)
{
    lmmiqa_extractor *ex = NULL;
    lmmiqa_extractor_options none = {.size = sizeof none, .weights = NULL};
    CHECK(lmmiqa_extractor_create("clipiqa", &none, &ex) == LMMIQA_ERR_INVALID_ARG);
    CHECK(strstr(lmmiqa_error_message(), "--weights clipiqa=FILE") != NULL);
    /* a vision-only checkpoint */
    char p[4300], q[4300];
    snprintf(p, sizeof p, "%s/vonly/model.safetensors", dir);
    CHECK_OK(lmmiqa__vit_random_save(&vtiny, LMMIQA_VIT_NAMING_HF, LMMIQA_DTYPE_F32, 7, p, 0));
    lmmiqa_extractor_options o = {.size = sizeof o, .weights = p, .vocab = DATA "/hf_tiny"};
    CHECK(lmmiqa_extractor_create("clipiqa", &o, &ex) == LMMIQA_ERR_MISMATCH);
    CHECK(strstr(lmmiqa_error_message(), "text") != NULL);
    /* no vocabulary beside the weights */
    snprintf(q, sizeof q, "%s/novocab/model.safetensors", dir);
    copy(weights, q);
    lmmiqa_extractor_options nv = {.size = sizeof nv, .weights = q};
    CHECK(lmmiqa_extractor_create("clipiqa", &nv, &ex) == LMMIQA_ERR_INVALID_ARG);
    CHECK(strstr(lmmiqa_error_message(), "--vocab") != NULL);
    /* the full CLIP vocabulary does not fit the tiny text tower */
    snprintf(p, sizeof p, "%s/vocab/clip/bpe_simple_vocab_16e6.txt.gz",
             test_shared_dir() ? test_shared_dir() : "../shared");
    if (access(p, R_OK) == 0) {
        lmmiqa_extractor_options big = {.size = sizeof big, .weights = weights, .vocab = p};
        CHECK(lmmiqa_extractor_create("clipiqa", &big, &ex) == LMMIQA_ERR_MISMATCH);
        CHECK(strstr(lmmiqa_error_message(), "49408") != NULL);
    }
    /* bad prompt files */
    snprintf(p, sizeof p, "%s/bad_prompts.txt", dir);
    const char *bad[] = {"Good photo.\n", "# only a comment\n\n", "a | b | c\n", " | b\n"};
    for (int k = 0; k < 4; k++) {
        write_file(p, bad[k]);
        lmmiqa_extractor_options bp = {.size = sizeof bp, .weights = weights, .prompts = p};
        CHECK(lmmiqa_extractor_create("clipiqa", &bp, &ex) == LMMIQA_ERR_FORMAT);
        CHECK(ex == NULL);
    }
    lmmiqa_extractor_options ls = {.size = sizeof ls, .weights = weights, .logit_scale = -1};
    CHECK(lmmiqa_extractor_create("clipiqa", &ls, &ex) == LMMIQA_ERR_INVALID_ARG);
}

static int sh(const char *c)
{
    int rc = system(c);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *slurp(const char *path)
{
    static char buf[1 << 20];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void test_cli(void)
{
    const char *cli = getenv("LMMIQA_CLI");
    CHECK(cli != NULL);
    if (!cli)
        return;
    /* two synthetic images as PNG */
    char img[2][4300];
    for (int k = 0; k < 2; k++) {
        snprintf(img[k], sizeof img[k], "%s/synth%d.png", dir, k);
        lmmiqa_image *im = vt_synth_image(k);
        CHECK_OK(lmmiqa_image_save_png(im, img[k]));
        lmmiqa_image_destroy(im);
    }
    char out[4300];
    snprintf(out, sizeof out, "%s/extract.csv", dir);
    snprintf(cmd, sizeof cmd, "'%s' extract --extractor clipiqa --weights clipiqa='%s' --output '%s' '%s' '%s'",
             cli, weights, out, img[0], img[1]);
    CHECK_MSG(sh(cmd) == 0, "%s", cmd);
    char *s = slurp(out);
    CHECK(s && strncmp(s, "image,quality,brightness,sharpness,noisiness,", 45) == 0);
    /* score --zero-shot clip: the quality probability, as the reference */
    snprintf(out, sizeof out, "%s/score.csv", dir);
    snprintf(cmd, sizeof cmd, "'%s' score --zero-shot clip --weights clip-vit-b16='%s' '%s' '%s' > '%s'",
             cli, weights, img[0], img[1], out);
    CHECK_MSG(sh(cmd) == 0, "%s", cmd);
    s = slurp(out);
    double gold[8];
    CHECK(vt_golden(GOLDEN, "default", 1, gold, 8) == 8);
    char *line = s ? strrchr(s, ',') : NULL; /* last row: image 1 */
    CHECK(line && fabs(atof(line + 1) - gold[0]) < 1e-4);
    snprintf(cmd, sizeof cmd, "'%s' score --zero-shot siglip '%s' 2> /dev/null", cli, img[0]);
    CHECK(sh(cmd) == 2);
    snprintf(cmd, sizeof cmd, "'%s' score --zero-shot clip '%s' 2> '%s/err.txt'", cli, img[0], dir);
    CHECK(sh(cmd) == 1);
    snprintf(out, sizeof out, "%s/err.txt", dir);
    s = slurp(out);
    CHECK(s && strstr(s, "--weights clipiqa=FILE"));

    /* text tokenize with the tiny vocabulary, against the library */
    snprintf(out, sizeof out, "%s/tok.txt", dir);
    snprintf(cmd, sizeof cmd, "'%s' text tokenize --vocab '%s' 'Good photo.' 'x' > '%s'", cli,
             DATA "/hf_tiny", out);
    CHECK(sh(cmd) == 0);
    lmmiqa_tokenizer *tok = NULL;
    CHECK_OK(lmmiqa_tokenizer_load(DATA "/hf_tiny", &tok));
    int32_t ids[64];
    size_t n = 0;
    CHECK_OK(lmmiqa_tokenizer_encode(tok, "Good photo.", 0, ids, 64, &n));
    char want[1024] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(want + strlen(want), sizeof want - strlen(want), i ? " %d" : "%d", ids[i]);
    s = slurp(out);
    CHECK(s && strncmp(s, want, strlen(want)) == 0 && s[strlen(want)] == '\n');
    /* text embed: CSV text,e0..e31 equal to lmmiqa_text_forward */
    snprintf(out, sizeof out, "%s/emb.csv", dir);
    snprintf(cmd, sizeof cmd, "'%s' text embed --weights '%s' --output '%s' 'Good photo.'", cli,
             weights, out);
    CHECK_MSG(sh(cmd) == 0, "%s", cmd);
    lmmiqa_text *t = NULL;
    lmmiqa_text_state *ts = NULL;
    CHECK_OK(lmmiqa_text_load(weights, NULL, NULL, &t));
    CHECK_OK(lmmiqa_text_state_create(t, &ts));
    float e[32];
    CHECK_OK(lmmiqa_tokenizer_encode(tok, "Good photo.", 16, ids, 64, &n));
    if (t && ts)
        CHECK_OK(lmmiqa_text_forward(t, ts, ids, (int)n, 0, e));
    s = slurp(out);
    CHECK(s && strncmp(s, "text,e0,e1,", 11) == 0 && strstr(s, "\ne31") == NULL);
    char *row = s ? strstr(s, "\nGood photo.,") : NULL;
    CHECK(row != NULL);
    if (row) {
        char *p = row + 13;
        double worst = 0;
        for (int k = 0; k < 32; k++) {
            double v = strtod(p, &p);
            worst = fmax(worst, fabs(v - e[k]));
            if (*p == ',')
                p++;
        }
        CHECK(worst < 1e-6);
    }
    lmmiqa_text_state_destroy(ts);
    lmmiqa_text_destroy(t);
    lmmiqa_tokenizer_destroy(tok);
    snprintf(cmd, sizeof cmd, "'%s' text embed 'x' 2> /dev/null", cli);
    CHECK(sh(cmd) == 2);
    snprintf(cmd, sizeof cmd, "'%s' text frobnicate 'x' 2> /dev/null", cli);
    CHECK(sh(cmd) == 2);
    snprintf(cmd, sizeof cmd,
             "'%s' text tokenize --vocab '%s' \"$(printf '\\377')\" > /dev/null 2>&1", cli,
             DATA "/hf_tiny");
    CHECK(sh(cmd) == 1);
}

static void test_cli_eval(void)
{
    const char *cli = getenv("LMMIQA_CLI");
    if (!cli || !test_shared_dir()) {
        printf("  (eval part skipped: ../shared not found)\n");
        return;
    }
    char sub[4300];
    snprintf(sub, sizeof sub, "%s/sub.csv", dir);
    snprintf(cmd, sizeof cmd, "(echo image,mos; sed -n '2,41p' '%s' | cut -d, -f1,2) > '%s'",
             test_shared_path("data/livec/livec.csv"), sub);
    CHECK(sh(cmd) == 0);
    snprintf(cmd, sizeof cmd,
             "'%s' eval --dataset '%s' --image-root '%s' --store '%s/store' --weights "
             "clip-vit-b16='%s' --splits 2 --seed 5 --quiet --features "
             "clipiqa,clip-vit-b16+clipiqa,clipiqa+brisque --out '%s/out' > '%s/table.md'",
             cli, sub, test_shared_path("data/livec"), dir, weights, dir, dir);
    int rc = sh(cmd);
    CHECK_MSG(rc == 0, "%s -> %d", cmd, rc);
    char path[4300];
    snprintf(path, sizeof path, "%s/out/results.csv", dir);
    char *s = slurp(path);
    CHECK(s && strstr(s, "\nclip-vit-b16+clipiqa,") && strstr(s, "\nclipiqa+brisque,") &&
          strstr(s, "\nclipiqa,"));
    snprintf(path, sizeof path, "%s/store/clipiqa.json", dir);
    CHECK(access(path, F_OK) == 0);
}

int main(void)
{
    setup();
    RUN(test_defaults);
    RUN(test_scorer_zero_shot);
    RUN(test_cache);
    RUN(test_prompts_file_and_scale);
    RUN(test_errors);
    RUN(test_cli);
    RUN(test_cli_eval);
    return test_finish();
}
