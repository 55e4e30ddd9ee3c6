/*
 * tests/test_e2e_encoders.c - the paper's fusion, end to end through the CLI,
 * with a foundation-model encoder: a tiny CLIP vision tower in the published
 * Hugging Face layout (random weights, config.json beside it) runs through
 * exactly the loading, preprocessing, feature-store, regressor and protocol
 * path that real clip-vit-b16 weights take. `lmmiqa eval` over brisque,
 * clip-vit-b16 and clip-vit-b16+brisque on 40 LIVE Challenge images and 2
 * splits must produce a row per combination; `train` + `score --model` on the
 * fused features must predict every image. Needs ../shared (skips otherwise).
 */
#include "lmmiqa/advanced/vit.h"
#include "models/vit_internal.h"
#include "test.h"

#include <unistd.h>

/* Command lines are built from bounded paths; a truncated one fails visibly.
 * (-Wformat-truncation is GCC's; clang does not know it and would make the
 * pragma itself an error under -Werror.) */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

static char dir[4096], cmd[16384];

static int run(const char *fmt, const char *arg)
{
    snprintf(cmd, sizeof cmd, fmt, arg);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static size_t count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static int file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return strstr(buf, needle) != NULL;
}

static void test_fusion_eval(void)
{
    const char *cli = getenv("LMMIQA_CLI");
    CHECK(cli != NULL);
    if (!cli)
        return;
    snprintf(dir, sizeof dir, "%s/e2e_encoders", LMMIQA_BINARY_DIR);
    run("rm -rf '%s'", dir);
    CHECK(run("mkdir -p '%s/clip'", dir) == 0);

    lmmiqa_vit_config cfg = {.image_size = 32, .patch_size = 16, .width = 64, .layers = 2,
                             .heads = 2, .mlp_dim = 128, .embed_dim = 24,
                             .act = LMMIQA_VIT_ACT_QUICK_GELU, .ln_eps = 1e-5,
                             .naming = LMMIQA_VIT_NAMING_HF};
    char weights[4200];
    snprintf(weights, sizeof weights, "%s/clip/model.safetensors", dir);
    CHECK_OK(lmmiqa__vit_random_save(&cfg, LMMIQA_VIT_NAMING_HF, LMMIQA_DTYPE_F32, 7, weights, 1));

    /* 40 LIVE Challenge images */
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/sub.csv", dir);
    snprintf(cmd, sizeof cmd, "(echo image,mos; sed -n '2,41p' '%s' | cut -d, -f1,2) > '%s'",
             test_shared_path("data/livec/livec.csv"), sub);
    CHECK(system(cmd) == 0);

    char common[12000];
    snprintf(common, sizeof common,
             "'%s' eval --dataset '%s' --image-root '%s' --store '%s/store' --weights "
             "clip-vit-b16='%s' --splits 2 --seed 5 --quiet",
             cli, sub, test_shared_path("data/livec"), dir, weights);
    char out[4200];
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(cmd, sizeof cmd,
             "%s --features brisque,clip-vit-b16,clip-vit-b16+brisque --out '%s' > '%s/table.md'",
             common, out, dir);
    int rc = system(cmd);
    CHECK_MSG(rc == 0, "%s -> %d", cmd, rc);
    char path[4300];
    snprintf(path, sizeof path, "%s/results.csv", out);
    CHECK(count_lines(path) == 4); /* header + 3 combinations */
    CHECK(file_has(path, "\nclip-vit-b16+brisque,mlp,2,"));
    CHECK(file_has(path, "\nclip-vit-b16,mlp,2,"));
    CHECK(file_has(path, "\nbrisque,linear,2,"));
    snprintf(path, sizeof path, "%s/predictions.csv", out);
    CHECK(count_lines(path) == 1 + 3 * 2 * 8); /* 8 test images per split */
    snprintf(path, sizeof path, "%s/store/clip-vit-b16.json", dir);
    CHECK(access(path, F_OK) == 0);

    /* train on the fused features, then score images with the saved model */
    char model[4300];
    snprintf(model, sizeof model, "%s/fused.safetensors", dir);
    snprintf(cmd, sizeof cmd,
             "'%s' train --features clip-vit-b16+brisque --dataset '%s' --image-root '%s' "
             "--store '%s/store' --weights clip-vit-b16='%s' --out '%s' --quiet",
             cli, sub, test_shared_path("data/livec"), dir, weights, model);
    rc = system(cmd);
    CHECK_MSG(rc == 0, "%s -> %d", cmd, rc);
    snprintf(cmd, sizeof cmd,
             "'%s' score --model '%s' --weights clip-vit-b16='%s' '%s' '%s' > '%s/scores.csv'",
             cli, model, weights, test_shared_path("data/livec/Images/100.png"),
             test_shared_path("data/livec/Images/1000.JPG"), dir);
    rc = system(cmd);
    CHECK_MSG(rc == 0, "%s -> %d", cmd, rc);
    snprintf(path, sizeof path, "%s/scores.csv", dir);
    CHECK(count_lines(path) == 3);

    /* the model names its extractors: scoring without the CLIP weights fails clearly */
    snprintf(cmd, sizeof cmd, "'%s' score --model '%s' '%s' > /dev/null 2> '%s/err.txt'", cli,
             model, test_shared_path("data/livec/Images/100.png"), dir);
    rc = system(cmd);
    CHECK(rc != 0);
    snprintf(path, sizeof path, "%s/err.txt", dir);
    CHECK(file_has(path, "clip-vit-b16"));
}

int main(void)
{
    TEST_REQUIRE_SHARED();
    RUN(test_fusion_eval);
    return test_finish();
}
