/*
 * tests/test_fault.c - fault injection in the SQLite spirit for the feature
 * store and the model writer (docs/reliability.md). One clean run counts the
 * I/O steps that reach lmmiqa__io_fault() (create, write, fsync, rename of
 * every atomic file write and of the store's journal); then, for every N in
 * 1..steps, the same run starts again from the same previous state with the
 * N-th step failing as on a full disk (ENOSPC), and the test checks that
 *   - the run reports the failure (a status and a message naming the reason);
 *   - the previous state is intact: the old model file byte for byte, the
 *     old store loading with its old features (a failed sidecar write puts
 *     the old .npy back), no temporary file left behind;
 *   - a rerun without the fault completes with bytes identical to the
 *     clean run's.
 * The hook is a counter inside the library armed by a function call, never
 * by the environment, so a production binary cannot be made to fail by it.
 */
#include "test.h"

#include "core/internal.h"
#include "lmmiqa/advanced/cnniqa.h"
#include "lmmiqa/extractor.h"
#include "lmmiqa/image.h"
#include "lmmiqa/regressor.h"
#include "lmmiqa/store.h"

#include <dirent.h>
#include <limits.h>
#include <unistd.h>

#define N_OLD 3
#define N_NEW 5
#define MAX_STEPS 400 /* far above what a run takes; bounds every loop */

static char root[64];
static char img_paths[N_NEW][128];
static const char *img_ptrs[N_NEW], *img_names[N_NEW];

typedef struct blob {
    unsigned char *d;
    size_t n;
} blob;

static blob slurp(const char *path)
{
    blob b = {NULL, 0};
    if (lmmiqa__file_read_all(path, (size_t)1 << 28, &b.d, &b.n) != LMMIQA_OK) {
        lmmiqa_error_clear();
        b.d = NULL;
    }
    return b;
}

static int same(blob a, blob b) { return a.d && b.d && a.n == b.n && memcmp(a.d, b.d, a.n) == 0; }

/* Plain stdio copy, outside the hook (setting up a state is not under test). */
static void put(const char *path, blob b)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        CHECK(fwrite(b.d, 1, b.n, f) == b.n);
        CHECK(fclose(f) == 0);
    }
}

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* Files in dir whose name contains ".tmp." (a leftover temporary). */
static int leftovers(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static void setup(void)
{
    snprintf(root, sizeof root, "/tmp/lmmiqa_test_fault_XXXXXX");
    CHECK(mkdtemp(root) != NULL);
    for (int i = 0; i < N_NEW; i++) {
        snprintf(img_paths[i], sizeof img_paths[i], "%s/img%d.png", root, i);
        img_ptrs[i] = img_paths[i];
        img_names[i] = img_paths[i] + strlen(root) + 1;
        lmmiqa_image *img = NULL;
        CHECK_OK(lmmiqa_image_create(48, 40, &img));
        if (!img)
            continue;
        uint32_t s = (uint32_t)i * 2654435761u + 99u;
        for (int k = 0; k < 48 * 40 * 3; k++) {
            s = s * 1103515245u + 12345u;
            img->pixels[k] = (uint8_t)((k % 144) * (i + 2) + (int)(s >> 28));
        }
        CHECK_OK(lmmiqa_image_save_png(img, img_paths[i]));
        lmmiqa_image_destroy(img);
    }
}

static int store_build(const char *dir, const lmmiqa_extractor *ex, size_t n)
{
    lmmiqa_store_options o;
    lmmiqa_store_options_init(&o);
    o.jobs = 1; /* one worker: the same step order every run */
    o.sync_rows = 1;
    o.dataset = "fault";
    return lmmiqa_store_build(dir, ex, n, img_names, img_ptrs, &o, NULL);
}

/* The sidecar without its creation time, which differs between runs. */
static blob sidecar_sans_time(const char *path)
{
    blob b = slurp(path);
    if (!b.d)
        return b;
    char *t = strstr((char *)b.d, "\"created_utc\"");
    if (t) {
        char *end = strchr(t, '\n');
        size_t cut = end ? (size_t)(end - t) : strlen(t);
        memmove(t, t + cut, b.n - (size_t)(t - (char *)b.d) - cut + 1);
        b.n -= cut;
    }
    return b;
}

static void test_store_faults(void)
{
    lmmiqa_extractor *ex = NULL;
    CHECK_OK(lmmiqa_extractor_create("brisque", NULL, &ex));
    if (!ex)
        return;
    char dir[128], npy[160], json[160];
    snprintf(dir, sizeof dir, "%s/store", root);
    snprintf(npy, sizeof npy, "%s/brisque.npy", dir);
    snprintf(json, sizeof json, "%s/brisque.json", dir);

    /* The previous state: a complete store of the first N_OLD images. */
    CHECK_OK(store_build(dir, ex, N_OLD));
    blob old_npy = slurp(npy), old_json = slurp(json);
    lmmiqa_features *f = NULL;
    CHECK_OK(lmmiqa_features_load(dir, "brisque", &f));
    size_t dim = f ? lmmiqa_features_dim(f) : 0;
    float *old_feat = malloc(N_OLD * (dim ? dim : 1) * sizeof *old_feat);
    if (f && old_feat)
        memcpy(old_feat, lmmiqa_features_data(f), N_OLD * dim * sizeof *old_feat);
    lmmiqa_features_destroy(f);

    /* The clean run from that state: its bytes and its step count. */
    lmmiqa__io_fault_arm(LONG_MAX);
    CHECK_OK(store_build(dir, ex, N_NEW));
    long steps = lmmiqa__io_fault_steps();
    lmmiqa__io_fault_arm(0);
    blob ref_npy = slurp(npy), ref_json = sidecar_sans_time(json);
    CHECK(old_npy.d && old_json.d && ref_npy.d && ref_json.d && old_feat);
    CHECK_MSG(steps > 8 && steps < MAX_STEPS, "%ld steps", steps);
    if (!old_npy.d || !old_json.d || !ref_npy.d || !ref_json.d || !old_feat || steps >= MAX_STEPS)
        goto out;

    int bad_state = 0, bad_rerun = 0, no_error = 0, detected_window = 0;
    for (long n = 1; n <= steps; n++) {
        rm_dir(dir);
        CHECK(mkdir(dir, 0755) == 0);
        put(npy, old_npy);
        put(json, old_json);
        lmmiqa__io_fault_arm(n);
        int rc = store_build(dir, ex, N_NEW);
        lmmiqa__io_fault_arm(0);
        if (rc == LMMIQA_OK || !strstr(lmmiqa_error_message(), "No space left on device")) {
            no_error++;
            fprintf(stderr, "step %ld: rc %d, message '%s'\n", n, rc, lmmiqa_error_message());
        }
        /* The previous state, as a reader sees it. */
        f = NULL;
        rc = lmmiqa_features_load(dir, "brisque", &f);
        if (rc == LMMIQA_OK) {
            if (lmmiqa_features_rows(f) != N_OLD || lmmiqa_features_dim(f) != dim ||
                memcmp(lmmiqa_features_data(f), old_feat, N_OLD * dim * sizeof(float)) != 0) {
                bad_state++;
                fprintf(stderr, "step %ld: the store reads back something else\n", n);
            }
        } else if (rc == LMMIQA_ERR_MISMATCH || rc == LMMIQA_ERR_CORRUPT) {
            detected_window++; /* new .npy, old sidecar: refused, yet not the old state */
        } else {
            bad_state++;
            fprintf(stderr, "step %ld: load: %s\n", n, lmmiqa_error_message());
        }
        lmmiqa_features_destroy(f);
        if (leftovers(dir)) {
            bad_state++;
            fprintf(stderr, "step %ld: temporary file left behind\n", n);
        }
        /* A rerun completes with the clean run's bytes. */
        rc = store_build(dir, ex, N_NEW);
        blob a = slurp(npy), b = sidecar_sans_time(json);
        if (rc != LMMIQA_OK || !same(a, ref_npy) || !same(b, ref_json)) {
            bad_rerun++;
            fprintf(stderr, "step %ld: rerun rc %d (%s), npy %s, sidecar %s\n", n, rc,
                    lmmiqa_error_message(), same(a, ref_npy) ? "same" : "differs",
                    same(b, ref_json) ? "same" : "differs");
        }
        free(a.d);
        free(b.d);
    }
    CHECK_MSG(no_error == 0, "%d of %ld faults not reported as ENOSPC", no_error, steps);
    CHECK_MSG(bad_state == 0, "%d of %ld faults damaged the previous state", bad_state, steps);
    CHECK_MSG(bad_rerun == 0, "%d of %ld reruns differ from the clean run", bad_rerun, steps);
    CHECK_MSG(detected_window == 0, "%d faults left a new .npy beside the old sidecar",
              detected_window);
    fprintf(stderr, "store: %ld fault points checked\n", steps);
out:
    free(old_npy.d);
    free(old_json.d);
    free(ref_npy.d);
    free(ref_json.d);
    free(old_feat);
    lmmiqa_extractor_destroy(ex);
}

/* A writer of one file over an older version of it: regressor models and
 * CNNIQA weights. */
typedef int (*save_fn)(const void *obj, const char *path);

static int save_regressor(const void *obj, const char *path)
{
    return lmmiqa_regressor_save(obj, path, "{\"note\":\"fault test\"}");
}

static int save_cnniqa(const void *obj, const char *path) { return lmmiqa_cnniqa_save(obj, path); }

static void check_writer(const char *label, save_fn save, const void *old_obj, const void *new_obj)
{
    char dir[128], path[160];
    snprintf(dir, sizeof dir, "%s/%s", root, label);
    CHECK(mkdir(dir, 0755) == 0);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK_OK(save(new_obj, path));
    blob ref = slurp(path);
    CHECK_OK(save(old_obj, path));
    blob old = slurp(path);
    lmmiqa__io_fault_arm(LONG_MAX);
    CHECK_OK(save(new_obj, path));
    long steps = lmmiqa__io_fault_steps();
    lmmiqa__io_fault_arm(0);
    CHECK(ref.d && old.d && !same(ref, old));
    CHECK_MSG(steps >= 4 && steps < MAX_STEPS, "%s: %ld steps", label, steps);
    int bad = 0;
    for (long n = 1; ref.d && old.d && n <= steps && n < MAX_STEPS; n++) {
        put(path, old);
        lmmiqa__io_fault_arm(n);
        int rc = save(new_obj, path);
        lmmiqa__io_fault_arm(0);
        blob now = slurp(path);
        if (rc == LMMIQA_OK || !strstr(lmmiqa_error_message(), "No space left") ||
            !same(now, old) || leftovers(dir)) {
            bad++;
            fprintf(stderr, "%s step %ld: rc %d (%s), old file %s\n", label, n, rc,
                    lmmiqa_error_message(), same(now, old) ? "intact" : "DAMAGED");
        }
        free(now.d);
        CHECK_OK(save(new_obj, path));
        now = slurp(path);
        if (!same(now, ref)) {
            bad++;
            fprintf(stderr, "%s step %ld: rerun differs\n", label, n);
        }
        free(now.d);
    }
    CHECK_MSG(bad == 0, "%s: %d of %ld fault points went wrong", label, bad, steps);
    fprintf(stderr, "%s: %ld fault points checked\n", label, steps);
    free(ref.d);
    free(old.d);
}

static void test_model_writer_faults(void)
{
    enum { N = 30, D = 3 };
    float x[N * D];
    double mos[N];
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < D; k++)
            x[i * D + k] = (float)((i * (k + 2)) % 11);
        mos[i] = 30.0 + x[i * D] - 0.5 * x[i * D + 2];
    }
    lmmiqa_regressor_config cfg;
    lmmiqa_regressor_config_init(&cfg);
    cfg.head = LMMIQA_HEAD_LINEAR;
    cfg.epochs = 3;
    lmmiqa_regressor *a = NULL, *b = NULL;
    CHECK_OK(lmmiqa_regressor_train(&cfg, x, mos, N, D, 0, 100, NULL, NULL, 0, &a));
    cfg.seed = 7;
    cfg.head = LMMIQA_HEAD_MLP;
    cfg.hidden = 8;
    CHECK_OK(lmmiqa_regressor_train(&cfg, x, mos, N, D, 0, 100, NULL, NULL, 0, &b));
    if (a && b)
        check_writer("regressor", save_regressor, a, b);
    lmmiqa_regressor_destroy(a);
    lmmiqa_regressor_destroy(b);

    lmmiqa_cnniqa_config cc;
    lmmiqa_cnniqa_config_init(&cc);
    cc.filters = 4;
    cc.fc = 8;
    lmmiqa_cnniqa *m1 = NULL, *m2 = NULL;
    CHECK_OK(lmmiqa_cnniqa_create(&cc, &m1));
    cc.seed = 5;
    CHECK_OK(lmmiqa_cnniqa_create(&cc, &m2));
    if (m1 && m2)
        check_writer("cnniqa", save_cnniqa, m1, m2);
    lmmiqa_cnniqa_destroy(m1);
    lmmiqa_cnniqa_destroy(m2);
}

int main(void)
{
    setup();
    RUN(test_model_writer_faults);
    RUN(test_store_faults);
    char p[160];
    rm_dir(strcat(strcpy(p, root), "/store"));
    rm_dir(strcat(strcpy(p, root), "/regressor"));
    rm_dir(strcat(strcpy(p, root), "/cnniqa"));
    rm_dir(root);
    return test_finish();
}
