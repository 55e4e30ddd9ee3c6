/*
 * tests/test_store.c - the feature store: a build interrupted by a failure
 * keeps a journal that the next build resumes from (a torn last record is
 * ignored, a garbage journal is discarded), the result equals an
 * uninterrupted build, a finished store is not rewritten, a changed image is
 * recomputed, combining parts checks that the image lists agree, a damaged
 * .npy is refused, and feature specs parse as documented.
 *
 * Images are small synthetic PNGs made here, so the test needs no shared data.
 */
#include "test.h"

#include "core/internal.h"
#include "lmmiqa/advanced/npy.h"
#include "lmmiqa/extractor.h"
#include "lmmiqa/image.h"
#include "lmmiqa/store.h"

#include <cjson/cJSON.h>
#include <unistd.h>

#define N_IMAGES 6

static char root[64];
static char paths[N_IMAGES][128];
static const char *names[N_IMAGES];
static const char *path_ptrs[N_IMAGES];

/* A textured 48x40 image, different for each seed. */
static void make_png(const char *path, unsigned seed)
{
    lmmiqa_image *img = NULL;
    CHECK_OK(lmmiqa_image_create(48, 40, &img));
    if (!img)
        return;
    uint32_t s = seed * 2654435761u + 12345u;
    for (int i = 0; i < 48 * 40 * 3; i++) {
        s = s * 1103515245u + 12345u;
        int x = (i / 3) % 48, y = (i / 3) / 48;
        img->pixels[i] = (uint8_t)((x * (int)(seed + 3) + y * 7 + (int)(s >> 27)) & 255);
    }
    CHECK_OK(lmmiqa_image_save_png(img, path));
    lmmiqa_image_destroy(img);
}

static void write_bytes(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int exists(const char *path) { return file_size(path) >= 0; }

static char *read_text(const char *path)
{
    unsigned char *d = NULL;
    size_t n = 0;
    if (lmmiqa__file_read_all(path, 1 << 26, &d, &n) != LMMIQA_OK)
        return NULL;
    return (char *)d;
}

static void setup(void)
{
    snprintf(root, sizeof root, "/tmp/lmmiqa_test_store_XXXXXX");
    CHECK(mkdtemp(root) != NULL);
    for (int i = 0; i < N_IMAGES; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/img%d.png", root, i);
        names[i] = paths[i] + strlen(root) + 1;
        path_ptrs[i] = paths[i];
        make_png(paths[i], (unsigned)i + 1);
    }
}

static lmmiqa_extractor *brisque(void)
{
    lmmiqa_extractor *ex = NULL;
    CHECK_OK(lmmiqa_extractor_create("brisque", NULL, &ex));
    return ex;
}

static int build(const char *dir, lmmiqa_extractor *ex, int jobs, lmmiqa_store_progress *res)
{
    lmmiqa_store_options o;
    lmmiqa_store_options_init(&o);
    o.jobs = jobs;
    o.sync_rows = 1;
    o.dataset = "synthetic";
    return lmmiqa_store_build(dir, ex, N_IMAGES, names, path_ptrs, &o, res);
}

static void test_resume_after_failure_and_torn_journal(void)
{
    lmmiqa_extractor *ex = brisque();
    if (!ex)
        return;
    char dir[128], ref[128];
    snprintf(dir, sizeof dir, "%s/store", root);
    snprintf(ref, sizeof ref, "%s/ref", root);

    /* Uninterrupted reference build. */
    lmmiqa_store_progress res;
    CHECK_OK(build(ref, ex, 2, &res));
    CHECK(res.computed == N_IMAGES && res.reused == 0 && res.failed == 0);
    CHECK(exists(test_path(ref, "brisque.npy")) && exists(test_path(ref, "brisque.json")));
    CHECK(!exists(test_path(ref, "brisque.journal")));

    /* Image 3 is damaged: the build fails naming it and keeps the journal. */
    char saved[128];
    snprintf(saved, sizeof saved, "%s/saved.png", root);
    CHECK(rename(paths[3], saved) == 0);
    write_bytes(paths[3], "\x89PNG\r\n\x1a\n this is not really a PNG");
    int rc = build(dir, ex, 2, &res);
    CHECK(rc != LMMIQA_OK);
    CHECK_MSG(strstr(lmmiqa_error_message(), "img3.png") != NULL, "message: %s",
              lmmiqa_error_message());
    CHECK(res.failed == 1 && res.computed == N_IMAGES - 1);
    CHECK(!exists(test_path(dir, "brisque.npy")) && !exists(test_path(dir, "brisque.json")));
    const char *jpath = test_path(dir, "brisque.journal");
    long jsize = file_size(jpath);
    long rec = 48 + 36 * 4 + 8;
    CHECK(jsize == 64 + (N_IMAGES - 1) * rec);

    /* Tear the last record (as a kill -9 mid-write would) and fix image 3. */
    CHECK(truncate(jpath, jsize - 17) == 0);
    CHECK(rename(saved, paths[3]) == 0);
    CHECK_OK(build(dir, ex, 2, &res));
    CHECK_MSG(res.reused == N_IMAGES - 2 && res.computed == 2, "reused %zu computed %zu",
              res.reused, res.computed);
    CHECK(!exists(jpath));

    lmmiqa_features *a = NULL, *b = NULL;
    CHECK_OK(lmmiqa_features_load(dir, "brisque", &a));
    CHECK_OK(lmmiqa_features_load(ref, "brisque", &b));
    if (a && b) {
        CHECK(lmmiqa_features_rows(a) == N_IMAGES && lmmiqa_features_dim(a) == 36);
        CHECK(memcmp(lmmiqa_features_data(a), lmmiqa_features_data(b),
                     N_IMAGES * 36 * sizeof(float)) == 0);
        CHECK(strcmp(lmmiqa_features_image(a, 2), "img2.png") == 0);
        CHECK(strlen(lmmiqa_features_image_sha256(a, 2)) == 64);
        char hex[65];
        CHECK_OK(lmmiqa__sha256_file(paths[2], hex));
        CHECK(strcmp(hex, lmmiqa_features_image_sha256(a, 2)) == 0);
        CHECK(strstr(lmmiqa_features_info_json(a), "\"extractor\":\"brisque\"") != NULL);
    }
    lmmiqa_features_destroy(a);
    lmmiqa_features_destroy(b);

    /* The .npy is exactly what numpy.save would write for the matrix. */
    float *m = NULL;
    size_t r = 0, c = 0;
    CHECK_OK(lmmiqa_npy_read_f32(test_path(dir, "brisque.npy"), &m, &r, &c));
    CHECK(r == N_IMAGES && c == 36);
    free(m);

    /* A complete store is not rewritten; nothing is recomputed. */
    char *before = read_text(test_path(dir, "brisque.json"));
    sleep(1); /* created_utc has second resolution */
    CHECK_OK(build(dir, ex, 1, &res));
    CHECK(res.reused == N_IMAGES && res.computed == 0);
    char *after = read_text(test_path(dir, "brisque.json"));
    CHECK(before && after && strcmp(before, after) == 0);
    free(before);
    free(after);

    /* A changed image is recomputed (its hash differs), the others reused. */
    make_png(paths[1], 99);
    CHECK_OK(build(dir, ex, 2, &res));
    CHECK(res.reused == N_IMAGES - 1 && res.computed == 1);
    CHECK_OK(lmmiqa_features_load(dir, "brisque", &a));
    CHECK_OK(lmmiqa_features_load(ref, "brisque", &b));
    if (a && b) {
        const float *fa = lmmiqa_features_data(a), *fb = lmmiqa_features_data(b);
        CHECK(memcmp(fa + 36, fb + 36, 36 * sizeof(float)) != 0);
        CHECK(memcmp(fa, fb, 36 * sizeof(float)) == 0);
        CHECK(memcmp(fa + 72, fb + 72, 4 * 36 * sizeof(float)) == 0);
    }
    lmmiqa_features_destroy(a);
    lmmiqa_features_destroy(b);
    make_png(paths[1], 2); /* restore */

    /* A journal of garbage (or of another configuration) is discarded. */
    char dir2[128];
    snprintf(dir2, sizeof dir2, "%s/store2", root);
    CHECK(mkdir(dir2, 0777) == 0);
    write_bytes(test_path(dir2, "brisque.journal"),
                "LMMIQAJ1 but then nothing that matches the header checksum at all.............");
    CHECK_OK(build(dir2, ex, 2, &res));
    CHECK(res.computed == N_IMAGES && res.reused == 0);
    lmmiqa_extractor_destroy(ex);
}

/* Write DIR/<name>.json + .npy as a copy of brisque's, edited by `edit`. */
static void clone_part(const char *dir, const char *name, void (*edit)(cJSON *))
{
    char *text = read_text(test_path(dir, "brisque.json"));
    cJSON *j = cJSON_Parse(text);
    free(text);
    CHECK(j != NULL);
    if (!j)
        return;
    cJSON_ReplaceItemInObjectCaseSensitive(j, "extractor", cJSON_CreateString(name));
    if (edit)
        edit(j);
    char *out = cJSON_Print(j);
    char file[96];
    snprintf(file, sizeof file, "%s.json", name);
    CHECK_OK(lmmiqa__file_write_atomic(test_path(dir, file), out, strlen(out)));
    free(out);
    cJSON_Delete(j);
    unsigned char *npy = NULL;
    size_t n = 0;
    CHECK_OK(lmmiqa__file_read_all(test_path(dir, "brisque.npy"), 1 << 26, &npy, &n));
    snprintf(file, sizeof file, "%s.npy", name);
    CHECK_OK(lmmiqa__file_write_atomic(test_path(dir, file), npy, n));
    free(npy);
}

static void edit_name(cJSON *j)
{
    cJSON *im = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "images"), 4);
    cJSON_ReplaceItemInObjectCaseSensitive(im, "image", cJSON_CreateString("other.png"));
}

static void edit_hash(cJSON *j)
{
    cJSON *im = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "images"), 2);
    cJSON_ReplaceItemInObjectCaseSensitive(
        im, "sha256",
        cJSON_CreateString("0000000000000000000000000000000000000000000000000000000000000000"));
}

static void edit_rows(cJSON *j)
{
    cJSON_DeleteItemFromArray(cJSON_GetObjectItem(j, "images"), 5);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "rows", cJSON_CreateNumber(N_IMAGES - 1));
}

static void test_combine(void)
{
    char dir[128];
    snprintf(dir, sizeof dir, "%s/ref", root);
    lmmiqa_features *f = NULL;

    clone_part(dir, "twin", NULL);
    CHECK_OK(lmmiqa_features_load(dir, "twin+brisque", &f));
    if (f) {
        CHECK(lmmiqa_features_dim(f) == 72);
        CHECK(strcmp(lmmiqa_features_spec(f), "twin+brisque") == 0);
        const float *d = lmmiqa_features_data(f);
        CHECK(memcmp(d + 5 * 72, d + 5 * 72 + 36, 36 * sizeof(float)) == 0);
        size_t rows[2] = {5, 0};
        float g[144];
        CHECK_OK(lmmiqa_features_gather(f, rows, 2, g));
        CHECK(memcmp(g, d + 5 * 72, 72 * sizeof(float)) == 0);
        CHECK(memcmp(g + 72, d, 72 * sizeof(float)) == 0);
        rows[1] = N_IMAGES;
        CHECK(lmmiqa_features_gather(f, rows, 2, g) == LMMIQA_ERR_INVALID_ARG);
    }
    lmmiqa_features_destroy(f);

    clone_part(dir, "renamed", edit_name);
    CHECK(lmmiqa_features_load(dir, "brisque+renamed", &f) == LMMIQA_ERR_MISMATCH);
    CHECK(strstr(lmmiqa_error_message(), "other.png") != NULL);
    CHECK(f == NULL);

    clone_part(dir, "rehashed", edit_hash);
    CHECK(lmmiqa_features_load(dir, "brisque+rehashed", &f) == LMMIQA_ERR_MISMATCH);
    CHECK(strstr(lmmiqa_error_message(), "img2.png") != NULL);

    clone_part(dir, "short", edit_rows);
    /* rows 5 vs a 6-row matrix: the part itself is refused */
    CHECK(lmmiqa_features_load(dir, "short", &f) == LMMIQA_ERR_MISMATCH);

    CHECK(lmmiqa_features_load(dir, "brisque+absent", &f) == LMMIQA_ERR_IO);
    CHECK(strstr(lmmiqa_error_message(), "absent.json") != NULL);

    /* A .npy that does not match its sidecar's checksum. */
    clone_part(dir, "damaged", NULL);
    FILE *fp = fopen(test_path(dir, "damaged.npy"), "r+b");
    CHECK(fp != NULL);
    if (fp) {
        fseek(fp, 200, SEEK_SET);
        fputc(0x55, fp);
        fclose(fp);
    }
    CHECK(lmmiqa_features_load(dir, "damaged", &f) == LMMIQA_ERR_MISMATCH);
    CHECK(strstr(lmmiqa_error_message(), "damaged.npy") != NULL);
}

static void test_compute(void)
{
    lmmiqa_extractor *ex = brisque();
    if (!ex)
        return;
    const char *list[3] = {paths[0], "/nonexistent/missing.png", paths[2]};
    double out[3 * 36];
    int status[3];
    lmmiqa_store_progress res;
    lmmiqa_store_options o;
    lmmiqa_store_options_init(&o);
    o.jobs = 2;
    int rc = lmmiqa_store_compute(ex, 3, list, &o, out, status, &res);
    CHECK(rc == LMMIQA_ERR_IO);
    CHECK(strstr(lmmiqa_error_message(), "missing.png") != NULL);
    CHECK(status[0] == LMMIQA_OK && status[1] == LMMIQA_ERR_IO && status[2] == LMMIQA_OK);
    CHECK(res.computed == 2 && res.failed == 1 && res.done == 3);
    CHECK(isnan(out[36]) && isfinite(out[0]) && isfinite(out[72]));

    /* Same numbers as the store keeps (float32 of these). */
    lmmiqa_features *f = NULL;
    char dir[128];
    snprintf(dir, sizeof dir, "%s/ref", root);
    CHECK_OK(lmmiqa_features_load(dir, "brisque", &f));
    if (f)
        for (int k = 0; k < 36; k++)
            CHECK(lmmiqa_features_data(f)[2 * 36 + k] == (float)out[72 + k]);
    lmmiqa_features_destroy(f);
    lmmiqa_extractor_destroy(ex);
}

static void test_spec(void)
{
    lmmiqa_feature_spec s;
    CHECK_OK(lmmiqa_feature_spec_parse("clip-vit-b16+brisque", &s));
    CHECK(s.count == 2 && strcmp(s.names[0], "clip-vit-b16") == 0 &&
          strcmp(s.names[1], "brisque") == 0);
    CHECK_OK(lmmiqa_feature_spec_parse("brisque", &s));
    CHECK(s.count == 1);
    CHECK(lmmiqa_feature_spec_parse("", &s) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_feature_spec_parse("a++b", &s) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_feature_spec_parse("a+", &s) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_feature_spec_parse("brisque+brisque", &s) == LMMIQA_ERR_INVALID_ARG);
    CHECK(strstr(lmmiqa_error_message(), "twice") != NULL);
    CHECK(lmmiqa_feature_spec_parse("../etc", &s) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_feature_spec_parse("a,b", &s) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_feature_spec_parse("..", &s) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_feature_spec_parse("a+b+c+d+e+f+g+h+i", &s) == LMMIQA_ERR_INVALID_ARG);
}

static void cleanup(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    setup();
    RUN(test_spec);
    RUN(test_resume_after_failure_and_torn_journal);
    RUN(test_combine);
    RUN(test_compute);
    cleanup();
    return test_finish();
}
