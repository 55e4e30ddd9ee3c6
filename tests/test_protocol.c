/*
 * tests/test_protocol.c - the evaluation protocol on a small synthetic
 * dataset: per-spec default heads, the MOS range choices, the output files
 * (per-split metrics agree with the written predictions, mean and std agree
 * with the per-split values), resume (a re-run reuses every finished split
 * and writes identical results; a changed configuration or a tampered result
 * file is recomputed), clear failures for mismatched splits and missing
 * store parts, and lmmiqa_regressor_load_memory (the CLI's embedded model).
 */
#include "test.h"

#include "core/internal.h"
#include "features/extractor_internal.h"
#include "lmmiqa/advanced/csv.h"
#include "lmmiqa/extractor.h"
#include "lmmiqa/image.h"
#include "lmmiqa/metrics.h"
#include "lmmiqa/protocol.h"
#include "lmmiqa/store.h"

#include <cjson/cJSON.h>
#include <unistd.h>

#define N 30

static char root[64], store[128], out[128], manifest[128];
static lmmiqa_dataset *ds;

static char *read_text(const char *path)
{
    unsigned char *d = NULL;
    size_t n = 0;
    if (lmmiqa__file_read_all(path, 1 << 26, &d, &n) != LMMIQA_OK)
        return NULL;
    return (char *)d;
}

/* Images with more or less noise; MOS falls with the noise level. */
static void setup(void)
{
    snprintf(root, sizeof root, "/tmp/lmmiqa_test_protocol_XXXXXX");
    CHECK(mkdtemp(root) != NULL);
    snprintf(store, sizeof store, "%s/store", root);
    snprintf(out, sizeof out, "%s/out", root);
    snprintf(manifest, sizeof manifest, "%s/labels.csv", root);
    FILE *f = fopen(manifest, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fprintf(f, "image,mos\n");
    uint32_t s = 12345;
    for (int i = 0; i < N; i++) {
        lmmiqa_image *img = NULL;
        CHECK_OK(lmmiqa_image_create(64, 48, &img));
        if (!img)
            continue;
        int noise = 4 + 8 * (i % 10);
        for (int p = 0; p < 64 * 48 * 3; p++) {
            s = s * 1103515245u + 12345u;
            int x = (p / 3) % 64, y = (p / 3) / 64;
            int v = 128 + (int)(60.0 * sin(x * 0.2 + i) * cos(y * 0.15)) +
                    (int)((s >> 16) % (unsigned)(2 * noise + 1)) - noise;
            img->pixels[p] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
        char name[32];
        snprintf(name, sizeof name, "img%02d.png", i);
        CHECK_OK(lmmiqa_image_save_png(img, test_path(root, name)));
        lmmiqa_image_destroy(img);
        fprintf(f, "%s,%.3f\n", name, 90.0 - noise + (i % 3));
    }
    fclose(f);
    CHECK_OK(lmmiqa_dataset_load(manifest, NULL, &ds));
    lmmiqa_extractor *ex = NULL;
    CHECK_OK(lmmiqa_extractor_create("brisque", NULL, &ex));
    if (ds && ex)
        CHECK_OK(lmmiqa_store_build_dataset(store, ex, ds, NULL, NULL));
    lmmiqa_extractor_destroy(ex);
    /* A second store part with the same rows ("twin") to combine with. */
    char *j = read_text(test_path(store, "brisque.json"));
    cJSON *o = cJSON_Parse(j);
    free(j);
    if (o) {
        cJSON_ReplaceItemInObjectCaseSensitive(o, "extractor", cJSON_CreateString("twin"));
        char *t = cJSON_Print(o);
        CHECK_OK(lmmiqa__file_write_atomic(test_path(store, "twin.json"), t, strlen(t)));
        free(t);
        cJSON_Delete(o);
        unsigned char *npy = NULL;
        size_t n = 0;
        CHECK_OK(lmmiqa__file_read_all(test_path(store, "brisque.npy"), 1 << 26, &npy, &n));
        CHECK_OK(lmmiqa__file_write_atomic(test_path(store, "twin.npy"), npy, n));
        free(npy);
    }
}

static void test_helpers(void)
{
    CHECK(lmmiqa_protocol_default_head("brisque") == LMMIQA_HEAD_LINEAR);
    CHECK(lmmiqa_protocol_default_head("clip-vit-b16+brisque") == LMMIQA_HEAD_MLP);
    CHECK(lmmiqa_protocol_default_head("clip-vit-b16") == LMMIQA_HEAD_MLP);
    CHECK(lmmiqa_protocol_is_trainable("cnniqa") == 1);
    CHECK(lmmiqa_protocol_is_trainable("metaiqa") == 1);
    CHECK(lmmiqa_protocol_is_trainable("brisque") == 0);
    CHECK(lmmiqa_protocol_is_trainable("clip-vit-b16") == 0);
    CHECK(lmmiqa_protocol_is_trainable("no-such-extractor") == 0);
    /* The registry's fit hooks behind it; a fixed extractor has none. */
    char trainable[64];
    lmmiqa__extractor_trainable_names(trainable, sizeof trainable);
    CHECK(strcmp(trainable, "cnniqa, metaiqa") == 0);
    lmmiqa__extractor_fit_args fa = {.n = 0, .epochs = 1};
    CHECK(lmmiqa__extractor_fit("brisque", &fa) == LMMIQA_ERR_INVALID_ARG);
    CHECK(strstr(lmmiqa_error_message(), "not trainable") != NULL);
    lmmiqa_extractor *bx = NULL;
    CHECK(lmmiqa_extractor_create("brisque", NULL, &bx) == LMMIQA_OK);
    CHECK(bx && !lmmiqa__extractor_has_score(bx));
    lmmiqa_extractor_destroy(bx);
    for (int h = 0; h < 3; h++)
        CHECK(lmmiqa_head_parse(lmmiqa_head_name((lmmiqa_head)h)) == h);
    CHECK(lmmiqa_head_parse("cnn") == -1);
    if (!ds)
        return;
    double lo, hi;
    lmmiqa_protocol_mos_range(ds, LMMIQA_MOS_RANGE_NOMINAL, NULL, 0, &lo, &hi);
    double slo, shi;
    lmmiqa_dataset_scale(ds, &slo, &shi);
    CHECK(lo == slo && hi == shi);
    size_t train[3] = {0, 5, 9}; /* noise 4, 44, 76 -> MOS 86, 48(+2), 14 */
    lmmiqa_protocol_mos_range(ds, LMMIQA_MOS_RANGE_TRAIN, train, 3, &lo, &hi);
    CHECK_NEAR(lo, lmmiqa_dataset_mos(ds, 9), 0);
    CHECK_NEAR(hi, lmmiqa_dataset_mos(ds, 0), 0);
    /* A nominal scale narrower than some training MOS is widened to them. */
    lmmiqa_dataset_options dopt;
    lmmiqa_dataset_options_init(&dopt);
    dopt.scale_lo = 20;
    dopt.scale_hi = 80;
    lmmiqa_dataset *narrow = NULL;
    CHECK_OK(lmmiqa_dataset_load_ex(manifest, &dopt, &narrow));
    if (narrow) {
        size_t mid[1] = {5};
        lmmiqa_protocol_mos_range(narrow, LMMIQA_MOS_RANGE_NOMINAL, mid, 1, &lo, &hi);
        CHECK(lo == 20 && hi == 80);
        lmmiqa_protocol_mos_range(narrow, LMMIQA_MOS_RANGE_NOMINAL, train, 3, &lo, &hi);
        CHECK_NEAR(lo, lmmiqa_dataset_mos(ds, 9), 0);
        CHECK_NEAR(hi, lmmiqa_dataset_mos(ds, 0), 0);
    }
    lmmiqa_dataset_destroy(narrow);
    char *cj = NULL;
    lmmiqa_regressor_config cfg;
    lmmiqa_regressor_config_init(&cfg);
    cfg.seed = 18446744073709551615ull;
    cj = lmmiqa_regressor_config_json(&cfg);
    CHECK(cj && strstr(cj, "\"seed\":\"18446744073709551615\"") != NULL);
    free(cj);
}

typedef struct events {
    int total, reused;
} events;

static void count_events(void *user, const lmmiqa_protocol_event *ev)
{
    events *e = user;
    e->total++;
    e->reused += ev->reused;
}

static int run(lmmiqa_splits *sp, const lmmiqa_regressor_config *reg, events *ev,
               lmmiqa_protocol_row *rows)
{
    const char *specs[2] = {"brisque", "twin+brisque"};
    lmmiqa_protocol_options o;
    lmmiqa_protocol_options_init(&o);
    o.store_dir = store;
    o.out_dir = out;
    if (reg)
        o.reg = *reg;
    o.reg.epochs = reg ? reg->epochs : 300;
    o.reg.hidden = 16;
    o.progress = count_events;
    o.user = ev;
    memset(ev, 0, sizeof *ev);
    return lmmiqa_protocol_run(ds, sp, 2, specs, &o, rows);
}

static double cell(const lmmiqa_csv *c, size_t row, const char *col)
{
    double v = NAN;
    int k = lmmiqa_csv_column(c, col);
    CHECK(k >= 0);
    if (k >= 0)
        CHECK_OK(lmmiqa_csv_cell_double(c, row, (size_t)k, &v));
    return v;
}

static void test_run_and_outputs(void)
{
    if (!ds)
        return;
    lmmiqa_splits *sp = NULL;
    CHECK_OK(lmmiqa_splits_random(N, 3, 0.2, 0.0, 7, &sp));
    if (!sp)
        return;
    events ev;
    lmmiqa_protocol_row rows[2];
    CHECK_OK(run(sp, NULL, &ev, rows));
    CHECK(ev.total == 6 && ev.reused == 0);
    CHECK(rows[0].head == LMMIQA_HEAD_LINEAR && rows[1].head == LMMIQA_HEAD_MLP);
    CHECK(strcmp(rows[1].spec, "twin+brisque") == 0 && rows[1].splits == 3);
    const char *files[] = {"results.md", "results.csv", "results.json", "per_split.csv",
                           "predictions.csv", "splits.json", "runs/brisque/split-1.json",
                           "runs/twin+brisque/split-3.json"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        struct stat st;
        CHECK_MSG(stat(test_path(out, files[k]), &st) == 0 && st.st_size > 0, "%s", files[k]);
    }
    char *md = read_text(test_path(out, "results.md"));
    CHECK(md && strstr(md, "| Features | Head | labels PLCC↑ (Std) | labels SRCC↑ (Std) |"));
    CHECK(md && strstr(md, "| brisque | linear | "));
    CHECK(md && strstr(md, "| twin+brisque | mlp | "));
    free(md);

    /* The per-split metrics are those of the written predictions. */
    lmmiqa_csv *pred = NULL, *per = NULL, *res = NULL;
    CHECK_OK(lmmiqa_csv_load(test_path(out, "predictions.csv"), &pred));
    CHECK_OK(lmmiqa_csv_load(test_path(out, "per_split.csv"), &per));
    CHECK_OK(lmmiqa_csv_load(test_path(out, "results.csv"), &res));
    if (pred && per && res) {
        CHECK(lmmiqa_csv_rows(pred) == 2 * 3 * 6); /* 2 specs x 3 splits x 6 test rows */
        CHECK(lmmiqa_csv_rows(per) == 6);
        for (size_t r = 0; r < lmmiqa_csv_rows(per); r++) {
            const char *spec = lmmiqa_csv_cell(per, r, 0);
            double split = cell(per, r, "split");
            double p[6], m[6];
            size_t n = 0;
            for (size_t q = 0; q < lmmiqa_csv_rows(pred) && n < 6; q++) {
                if (strcmp(lmmiqa_csv_cell(pred, q, 0), spec) == 0 &&
                    cell(pred, q, "split") == split) {
                    p[n] = cell(pred, q, "pred");
                    m[n] = cell(pred, q, "mos");
                    n++;
                }
            }
            CHECK(n == 6);
            double plcc = NAN, srocc = NAN;
            CHECK_OK(lmmiqa_metric_plcc(p, m, n, &plcc));
            CHECK_OK(lmmiqa_metric_srocc(p, m, n, &srocc));
            CHECK_REL(cell(per, r, "plcc"), plcc, 1e-12, 1e-12);
            CHECK_REL(cell(per, r, "srocc"), srocc, 1e-12, 1e-12);
        }
        /* mean and population std of the per-split PLCC */
        for (size_t c = 0; c < 2; c++) {
            double v[3], mean = 0, var = 0;
            for (size_t k = 0; k < 3; k++) {
                v[k] = cell(per, c * 3 + k, "plcc");
                mean += v[k] / 3;
            }
            for (size_t k = 0; k < 3; k++)
                var += (v[k] - mean) * (v[k] - mean) / 3;
            CHECK_REL(cell(res, c, "plcc_mean"), mean, 1e-12, 1e-12);
            CHECK_REL(cell(res, c, "plcc_std"), sqrt(var), 1e-9, 1e-12);
            CHECK_REL(rows[c].plcc_mean, mean, 1e-12, 1e-12);
        }
        /* The noise -> MOS relation is learnable: a clearly positive SROCC. */
        CHECK_MSG(rows[0].srocc_mean > 0.5, "linear brisque SROCC %g", rows[0].srocc_mean);
    }
    lmmiqa_csv_destroy(pred);
    lmmiqa_csv_destroy(per);
    lmmiqa_csv_destroy(res);

    /* Resume: nothing recomputed, identical results. */
    char *before = read_text(test_path(out, "results.csv"));
    CHECK_OK(run(sp, NULL, &ev, NULL));
    CHECK(ev.total == 6 && ev.reused == 6);
    char *after = read_text(test_path(out, "results.csv"));
    CHECK_MSG(before && after && strcmp(before, after) == 0, "\n%s\n%s", before, after);
    free(after);

    /* A tampered result file (another fingerprint) is recomputed, alone. */
    char *t = read_text(test_path(out, "runs/brisque/split-2.json"));
    char *fp = t ? strstr(t, "\"fingerprint\"") : NULL;
    if (fp) {
        char *q = strchr(fp + 14, '"');
        if (q)
            q[1] = q[1] == 'a' ? 'b' : 'a';
        CHECK_OK(lmmiqa__file_write_atomic(test_path(out, "runs/brisque/split-2.json"), t, strlen(t)));
    }
    free(t);
    CHECK_OK(run(sp, NULL, &ev, NULL));
    CHECK(ev.total == 6 && ev.reused == 5);
    after = read_text(test_path(out, "results.csv"));
    CHECK(before && after && strcmp(before, after) == 0); /* deterministic training */
    free(after);
    free(before);

    /* Another configuration: everything is recomputed. */
    lmmiqa_regressor_config cfg;
    lmmiqa_regressor_config_init(&cfg);
    cfg.epochs = 3;
    CHECK_OK(run(sp, &cfg, &ev, NULL));
    CHECK(ev.total == 6 && ev.reused == 0);
    lmmiqa_splits_destroy(sp);
}

/* select (what `mpirun lmmiqa eval` uses): a first call computes only the
 * odd splits and writes no summary; a second call without select reuses
 * them, computes the rest, and its results.csv equals a run in one go.
 * Also train_predictions: the training rows' file appears, results unchanged. */
static int odd_splits(void *user, const char *spec, size_t combo, size_t split)
{
    (void)spec;
    (void)combo;
    (*(int *)user)++;
    return split % 2 == 0; /* 0-based: splits 1 and 3 */
}

static void test_select_and_train_predictions(void)
{
    if (!ds)
        return;
    lmmiqa_splits *sp = NULL;
    CHECK_OK(lmmiqa_splits_random(N, 3, 0.2, 0.0, 9, &sp));
    if (!sp)
        return;
    const char *specs[1] = {"brisque"};
    char whole[160], parts[160];
    snprintf(whole, sizeof whole, "%s/whole", root);
    snprintf(parts, sizeof parts, "%s/parts", root);
    lmmiqa_protocol_options o;
    lmmiqa_protocol_options_init(&o);
    o.store_dir = store;
    o.out_dir = whole;
    lmmiqa_protocol_row row;
    CHECK_OK(lmmiqa_protocol_run(ds, sp, 1, specs, &o, &row));
    int asked = 0;
    o.out_dir = parts;
    o.select = odd_splits;
    o.select_user = &asked;
    CHECK_OK(lmmiqa_protocol_run(ds, sp, 1, specs, &o, &row));
    CHECK(asked == 3);
    struct stat st;
    CHECK(stat(test_path(parts, "runs/brisque/split-1.json"), &st) == 0);
    CHECK(stat(test_path(parts, "runs/brisque/split-2.json"), &st) != 0);
    CHECK(stat(test_path(parts, "runs/brisque/split-3.json"), &st) == 0);
    CHECK(stat(test_path(parts, "results.csv"), &st) != 0); /* a pair was skipped */
    o.select = NULL;
    CHECK_OK(lmmiqa_protocol_run(ds, sp, 1, specs, &o, &row));
    char *a = read_text(test_path(whole, "results.csv")), *b = read_text(test_path(parts, "results.csv"));
    CHECK(a && b && strcmp(a, b) == 0);
    free(b);
    o.train_predictions = 1; /* earlier splits lack them: recomputed, same results */
    CHECK_OK(lmmiqa_protocol_run(ds, sp, 1, specs, &o, &row));
    b = read_text(test_path(parts, "results.csv"));
    CHECK(a && b && strcmp(a, b) == 0);
    free(a);
    free(b);
    lmmiqa_csv *tr = NULL;
    CHECK_OK(lmmiqa_csv_load(test_path(parts, "train_predictions.csv"), &tr));
    if (tr)
        CHECK(lmmiqa_csv_rows(tr) == 3 * lmmiqa_splits_get(sp, 0)->n_train);
    lmmiqa_csv_destroy(tr);
    lmmiqa_splits_destroy(sp);
}

static void test_failures(void)
{
    if (!ds)
        return;
    lmmiqa_splits *sp = NULL;
    CHECK_OK(lmmiqa_splits_random(N + 1, 2, 0.2, 0.0, 7, &sp));
    events ev;
    if (sp) {
        CHECK(run(sp, NULL, &ev, NULL) == LMMIQA_ERR_MISMATCH);
        CHECK(strstr(lmmiqa_error_message(), "31") != NULL);
    }
    lmmiqa_splits_destroy(sp);

    CHECK_OK(lmmiqa_splits_random(N, 2, 0.2, 0.0, 7, &sp));
    const char *specs[2] = {"brisque", "brisque+absent"};
    lmmiqa_protocol_options o;
    lmmiqa_protocol_options_init(&o);
    o.store_dir = store;
    o.out_dir = out;
    o.reg.epochs = 2;
    if (sp) {
        CHECK(lmmiqa_protocol_run(ds, sp, 2, specs, &o, NULL) == LMMIQA_ERR_IO);
        CHECK(strstr(lmmiqa_error_message(), "absent") != NULL);
        /* the finished spec's results were kept */
        struct stat st;
        CHECK(stat(test_path(out, "runs/brisque/split-2.json"), &st) == 0);
    }
    o.out_dir = NULL;
    CHECK(lmmiqa_protocol_run(ds, sp, 1, specs, &o, NULL) == LMMIQA_ERR_INVALID_ARG);
    lmmiqa_splits_destroy(sp);
}

/* lmmiqa_regressor_load_memory (used for the model embedded in the CLI)
 * gives the same model as loading the file, and names the buffer on error. */
static void test_load_memory(void)
{
    lmmiqa_features *f = NULL;
    CHECK_OK(lmmiqa_features_load(store, "brisque", &f));
    if (!f || !ds)
        return;
    double mos[N];
    for (size_t i = 0; i < N; i++)
        mos[i] = lmmiqa_dataset_mos(ds, i);
    lmmiqa_regressor_config cfg;
    lmmiqa_regressor_config_init(&cfg);
    cfg.hidden = 8;
    cfg.epochs = 3;
    lmmiqa_regressor *reg = NULL, *a = NULL, *b = NULL;
    double lo, hi;
    lmmiqa_dataset_scale(ds, &lo, &hi);
    CHECK_OK(lmmiqa_regressor_train(&cfg, lmmiqa_features_data(f), mos, N, 36, lo, hi, NULL,
                                    NULL, 0, &reg));
    const char *path = test_path(root, "m.safetensors");
    if (reg)
        CHECK_OK(lmmiqa_regressor_save(reg, path, "{\"features\":\"brisque\"}"));
    unsigned char *bytes = NULL;
    size_t size = 0;
    CHECK_OK(lmmiqa__file_read_all(path, 1 << 24, &bytes, &size));
    CHECK_OK(lmmiqa_regressor_load(path, &a));
    if (bytes)
        CHECK_OK(lmmiqa_regressor_load_memory(bytes, size, "embedded-model", &b));
    if (a && b) {
        double pa[N], pb[N];
        CHECK_OK(lmmiqa_regressor_predict(a, lmmiqa_features_data(f), N, pa));
        CHECK_OK(lmmiqa_regressor_predict(b, lmmiqa_features_data(f), N, pb));
        CHECK(memcmp(pa, pb, sizeof pa) == 0);
        CHECK(strcmp(lmmiqa_regressor_metadata(b), "{\"features\":\"brisque\"}") == 0);
    }
    lmmiqa_regressor *c = NULL;
    if (bytes)
        CHECK(lmmiqa_regressor_load_memory(bytes, size / 2, "embedded-model", &c) != LMMIQA_OK);
    CHECK(c == NULL);
    CHECK(strstr(lmmiqa_error_message(), "embedded-model") != NULL);
    free(bytes);
    lmmiqa_regressor_destroy(reg);
    lmmiqa_regressor_destroy(a);
    lmmiqa_regressor_destroy(b);
    lmmiqa_features_destroy(f);
}

int main(void)
{
    setup();
    RUN(test_helpers);
    RUN(test_run_and_outputs);
    RUN(test_select_and_train_predictions);
    RUN(test_failures);
    RUN(test_load_memory);
    lmmiqa_dataset_destroy(ds);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0);
    return test_finish();
}
