/*
 * tests/test_dataset.c - the dataset readers on the real label files in
 * ../shared (LIVE Challenge .mat and livec.csv, KonIQ-10k, SPAQ .xlsx and
 * CSV export, CID2013) and on small broken files written into the build
 * folder (missing column, bad number, duplicates, empty, corrupt .xlsx).
 *
 * Tolerances: livec.csv and koniq10k_labels_derived.csv store values rounded
 * to 6 decimals, so they are compared with 5e-7 (+1e-9 for the rounding of
 * the vote fractions themselves); SPAQ's xlsx and its CSV export hold the
 * same decimal text and must agree exactly.
 */
#include "lmmiqa/dataset.h"
#include "lmmiqa/lmmiqa.h"
#include "test.h"

#include "lmmiqa/advanced/csv.h"

#include <unistd.h>

#define ROUND6 (5e-7 + 1e-9)

static int have_shared;

static const char *tmp_path(const char *name)
{
    return test_path_mkdir(LMMIQA_BINARY_DIR, "test_dataset_tmp", name);
}

static const char *write_tmp(const char *name, const char *text, size_t len)
{
    const char *p = tmp_path(name);
    FILE *f = fopen(p, "wb");
    if (!f)
        return p;
    fwrite(text, 1, len, f);
    fclose(f);
    return p;
}

static const char *write_text(const char *name, const char *text)
{
    return write_tmp(name, text, strlen(text));
}

static long find_image(const lmmiqa_dataset *ds, const char *name)
{
    for (size_t i = 0; i < lmmiqa_dataset_size(ds); i++)
        if (strcmp(lmmiqa_dataset_image(ds, i), name) == 0)
            return (long)i;
    return -1;
}

/* ------------------------------------------------------------ LIVE Challenge */

static void test_livec_mat(void)
{
    if (!have_shared)
        return;
    lmmiqa_dataset *ds = NULL;
    CHECK_OK(lmmiqa_dataset_load(test_shared_path("data/livec"), NULL, &ds));
    if (!ds)
        return;
    CHECK(lmmiqa_dataset_size(ds) == 1162);
    CHECK(strcmp(lmmiqa_dataset_format(ds), "livec-mat") == 0);
    CHECK(strcmp(lmmiqa_dataset_name(ds), "livec") == 0);
    CHECK(lmmiqa_dataset_has_std(ds));
    CHECK(lmmiqa_dataset_group_count(ds) == 0);
    CHECK(lmmiqa_dataset_group(ds, 0) == -1);
    /* First row after the 7 practice images; values from the .mat. */
    CHECK(strcmp(lmmiqa_dataset_image(ds, 0), "100.bmp") == 0);
    CHECK_NEAR(lmmiqa_dataset_mos(ds, 0), 32.56107532210109, 1e-12);
    CHECK_NEAR(lmmiqa_dataset_std(ds, 0), 19.12472638223644, 1e-12);
    long k = find_image(ds, "1024.JPG");
    CHECK(k >= 0);
    if (k >= 0) {
        CHECK_NEAR(lmmiqa_dataset_mos(ds, (size_t)k), 42.770833333333336, 1e-12);
        CHECK(strstr(lmmiqa_dataset_image_path(ds, (size_t)k), "Images/1024.JPG") != NULL);
    }
    CHECK(find_image(ds, "t1.bmp") < 0);
    /* .bmp names open the .png beside them. */
    const char *p0 = lmmiqa_dataset_image_path(ds, 0);
    CHECK(strlen(p0) > 15 && strcmp(p0 + strlen(p0) - 15, "/Images/100.png") == 0);
    CHECK(strstr(lmmiqa_dataset_notes(ds), ".png") != NULL);
    double lo, hi;
    lmmiqa_dataset_scale(ds, &lo, &hi);
    CHECK(lo == 0 && hi == 100);
    lmmiqa_dataset_observed_range(ds, &lo, &hi);
    CHECK_NEAR(lo, 3.42, 0.005);
    CHECK_NEAR(hi, 92.43, 0.005);
    size_t missing[4], n_missing = 99;
    CHECK_OK(lmmiqa_dataset_check_files(ds, missing, 4, &n_missing));
    CHECK(n_missing == 0);
    lmmiqa_dataset_destroy(ds);
}

static void test_livec_mat_vs_csv(void)
{
    if (!have_shared)
        return;
    lmmiqa_dataset *mat = NULL, *csv = NULL;
    CHECK_OK(lmmiqa_dataset_load(test_shared_path("data/livec/Data/AllMOS_release.mat"), NULL,
                                 &mat));
    CHECK_OK(lmmiqa_dataset_load(test_shared_path("data/livec/livec.csv"), NULL, &csv));
    if (!mat || !csv) {
        lmmiqa_dataset_destroy(mat);
        lmmiqa_dataset_destroy(csv);
        return;
    }
    CHECK(strcmp(lmmiqa_dataset_format(csv), "livec-csv") == 0);
    CHECK(strcmp(lmmiqa_dataset_name(csv), "livec") == 0);
    CHECK(lmmiqa_dataset_size(csv) == 1162);
    CHECK(lmmiqa_dataset_size(mat) == lmmiqa_dataset_size(csv));
    size_t bad_name = 0, bad_path = 0;
    double worst_mos = 0, worst_std = 0;
    for (size_t i = 0; i < lmmiqa_dataset_size(mat) && i < lmmiqa_dataset_size(csv); i++) {
        /* csv: "Images/100.png", mat: "100.bmp" */
        char want[256];
        snprintf(want, sizeof want, "Images/%s", lmmiqa_dataset_image(mat, i));
        size_t L = strlen(want);
        if (L > 4 && strcmp(want + L - 4, ".bmp") == 0)
            memcpy(want + L - 4, ".png", 5);
        bad_name += strcmp(want, lmmiqa_dataset_image(csv, i)) != 0;
        /* Both resolve to the same file. */
        const char *a = lmmiqa_dataset_image_path(mat, i), *b = lmmiqa_dataset_image_path(csv, i);
        const char *ta = strrchr(a, '/'), *tb = strrchr(b, '/');
        bad_path += !ta || !tb || strcmp(ta, tb) != 0;
        worst_mos = fmax(worst_mos, fabs(lmmiqa_dataset_mos(mat, i) - lmmiqa_dataset_mos(csv, i)));
        worst_std = fmax(worst_std, fabs(lmmiqa_dataset_std(mat, i) - lmmiqa_dataset_std(csv, i)));
    }
    CHECK(bad_name == 0);
    CHECK(bad_path == 0);
    CHECK(worst_mos <= ROUND6);
    CHECK(worst_std <= ROUND6);
    size_t n_missing = 99;
    CHECK_OK(lmmiqa_dataset_check_files(csv, NULL, 0, &n_missing));
    CHECK(n_missing == 0);
    lmmiqa_dataset_destroy(mat);
    lmmiqa_dataset_destroy(csv);
}

static void test_livec_by_name(void)
{
    if (!have_shared)
        return;
    /* The ctest environment sets LMMIQA_SHARED_DIR; the name resolves there. */
    char where[4096];
    unsetenv("LMMIQA_DATA_DIR");
    CHECK_OK(lmmiqa_dataset_resolve("livec", test_shared_dir(), where, sizeof where));
    CHECK(strstr(where, "data/livec") != NULL);
    lmmiqa_dataset_options opt;
    lmmiqa_dataset_options_init(&opt);
    opt.fallback_shared_dir = test_shared_dir();
    lmmiqa_dataset *ds = NULL;
    CHECK_OK(lmmiqa_dataset_load_ex("livec", &opt, &ds));
    CHECK(ds && lmmiqa_dataset_size(ds) == 1162);
    lmmiqa_dataset_destroy(ds);
    /* LMMIQA_DATA_DIR comes first. */
    setenv("LMMIQA_DATA_DIR", test_shared_path("data"), 1);
    CHECK_OK(lmmiqa_dataset_resolve("livec", NULL, where, sizeof where));
    CHECK(strncmp(where, test_shared_path("data"), strlen(test_shared_path("data"))) == 0);
    unsetenv("LMMIQA_DATA_DIR");
    /* An unknown name fails, naming what was tried. */
    CHECK(lmmiqa_dataset_resolve("no_such_dataset_xyz", NULL, where, sizeof where) ==
          LMMIQA_ERR_IO);
    CHECK(strstr(lmmiqa_error_message(), "no_such_dataset_xyz") != NULL);
    /* An explicit image root is used as given. */
    CHECK_OK(lmmiqa_dataset_load(test_shared_path("data/livec/livec.csv"), "/nonexistent", &ds));
    if (ds) {
        CHECK(strcmp(lmmiqa_dataset_image_path(ds, 0), "/nonexistent/Images/100.png") == 0);
        size_t miss[3], n_missing = 0;
        CHECK_OK(lmmiqa_dataset_check_files(ds, miss, 3, &n_missing));
        CHECK(n_missing == 1162);
        CHECK(miss[0] == 0 && miss[1] == 1 && miss[2] == 2);
    }
    lmmiqa_dataset_destroy(ds);
}

/* ----------------------------------------------------------------- KonIQ */

static void test_koniq(void)
{
    if (!have_shared)
        return;
    lmmiqa_dataset *ds = NULL;
    CHECK_OK(lmmiqa_dataset_load(
        test_shared_path("data/labels/koniq10k/koniq10k_distributions_sets.csv"), NULL, &ds));
    if (!ds)
        return;
    CHECK(lmmiqa_dataset_size(ds) == 10073);
    CHECK(strcmp(lmmiqa_dataset_name(ds), "koniq10k") == 0);
    CHECK(lmmiqa_dataset_group_count(ds) == 0);
    CHECK(strcmp(lmmiqa_dataset_image(ds, 0), "10004473376.jpg") == 0);
    /* 3*0.238095238095 + 4*0.695238095238 + 5*0.0666666666667 */
    CHECK_NEAR(lmmiqa_dataset_mos(ds, 0), 3.8285714285705, 1e-12);
    CHECK_NEAR(lmmiqa_dataset_std(ds, 0), 0.527277894494, 1e-12);
    CHECK(strcmp(lmmiqa_dataset_subset(ds, 0), "training") == 0);
    CHECK(strcmp(lmmiqa_dataset_subset(ds, 1), "test") == 0);
    double lo, hi;
    lmmiqa_dataset_scale(ds, &lo, &hi);
    CHECK(lo == 1 && hi == 5);
    size_t sets[3] = {0, 0, 0};
    for (size_t i = 0; i < lmmiqa_dataset_size(ds); i++) {
        const char *s = lmmiqa_dataset_subset(ds, i);
        sets[0] += strcmp(s, "training") == 0;
        sets[1] += strcmp(s, "validation") == 0;
        sets[2] += strcmp(s, "test") == 0;
    }
    CHECK(sets[0] == 7058 && sets[1] == 1000 && sets[2] == 2015);

    /* Every mos_1to5 of the derived file (6 decimals) from the fractions. */
    lmmiqa_dataset *der = NULL;
    CHECK_OK(lmmiqa_dataset_load(
        test_shared_path("data/labels/koniq10k/koniq10k_labels_derived.csv"), NULL, &der));
    lmmiqa_csv *raw = NULL;
    CHECK_OK(lmmiqa_csv_load(test_shared_path("data/labels/koniq10k/koniq10k_labels_derived.csv"),
                              &raw));
    if (der && raw) {
        CHECK(lmmiqa_dataset_size(der) == 10073);
        int cm = lmmiqa_csv_column(raw, "mos_1to5"), ci = lmmiqa_csv_column(raw, "image_name");
        CHECK(cm >= 0 && ci >= 0);
        size_t bad = 0;
        double worst = 0;
        for (size_t r = 0; r < lmmiqa_csv_rows(raw) && cm >= 0 && ci >= 0; r++) {
            double v;
            if (lmmiqa_csv_cell_double(raw, r, (size_t)cm, &v) != 0) {
                bad++;
                continue;
            }
            long k = strcmp(lmmiqa_csv_cell(raw, r, (size_t)ci), lmmiqa_dataset_image(ds, r)) == 0
                         ? (long)r
                         : find_image(ds, lmmiqa_csv_cell(raw, r, (size_t)ci));
            if (k < 0) {
                bad++;
                continue;
            }
            worst = fmax(worst, fabs(lmmiqa_dataset_mos(ds, (size_t)k) - v));
            bad += fabs(lmmiqa_dataset_mos(der, r) - v) > 0;
        }
        CHECK(bad == 0);
        CHECK_MSG(worst <= ROUND6, "worst |sum(i c_i) - mos_1to5| = %g", worst);
    }
    lmmiqa_csv_destroy(raw);
    lmmiqa_dataset_destroy(der);

    /* z-score MOS on 0..100 */
    lmmiqa_dataset_options opt;
    lmmiqa_dataset_options_init(&opt);
    opt.koniq_mos = LMMIQA_KONIQ_MOS_ZSCORE;
    lmmiqa_dataset *z = NULL;
    CHECK_OK(lmmiqa_dataset_load_ex(test_shared_path("data/labels/koniq10k"), &opt, &z));
    if (z) {
        CHECK(lmmiqa_dataset_size(z) == 10073);
        CHECK_NEAR(lmmiqa_dataset_mos(z, 0), 77.3836206897, 1e-12);
        CHECK(isnan(lmmiqa_dataset_std(z, 0)));
        CHECK(!lmmiqa_dataset_has_std(z));
        lmmiqa_dataset_scale(z, &lo, &hi);
        CHECK(lo == 0 && hi == 100);
    }
    lmmiqa_dataset_destroy(z);
    lmmiqa_dataset_destroy(ds);

    /* The official scores file stores vote COUNTS and a 1-5 MOS column. */
    const char *counts = write_text(
        "koniq10k_scores_and_distributions.csv",
        "\"image_name\",\"c1\",\"c2\",\"c3\",\"c4\",\"c5\",\"c_total\",\"MOS\",\"SD\","
        "\"MOS_zscore\"\n"
        "10004473376.jpg,0,0,25,73,7,105,3.828571,0.527278,77.383621\n");
    CHECK_OK(lmmiqa_dataset_load(counts, NULL, &ds));
    if (ds) {
        CHECK_NEAR(lmmiqa_dataset_mos(ds, 0), (3 * 25 + 4 * 73 + 5 * 7) / 105.0, 1e-12);
        CHECK(lmmiqa_dataset_subset(ds, 0) == NULL);
    }
    lmmiqa_dataset_destroy(ds);
    lmmiqa_dataset_load_ex(counts, &opt, &ds);
    CHECK(ds && fabs(lmmiqa_dataset_mos(ds, 0) - 77.383621) < 1e-12);
    lmmiqa_dataset_destroy(ds);
}

static void test_koniq_synthetic(void)
{
    /* No vote columns: the 1-5 MOS column beside MOS_zscore is used. */
    const char *p = write_text("koniq_scores_only.csv", "image_name,MOS,SD,MOS_zscore\n"
                                                        "a.jpg,3.5,0.5,70.1\nb.jpg,2.25,0.4,40\n");
    lmmiqa_dataset *ds = NULL;
    CHECK_OK(lmmiqa_dataset_load(p, NULL, &ds));
    if (ds) {
        CHECK(strcmp(lmmiqa_dataset_format(ds), "koniq10k-csv") == 0);
        CHECK(lmmiqa_dataset_mos(ds, 1) == 2.25 && lmmiqa_dataset_std(ds, 1) == 0.4);
    }
    lmmiqa_dataset_destroy(ds);
    lmmiqa_dataset_options opt;
    lmmiqa_dataset_options_init(&opt);
    opt.koniq_mos = LMMIQA_KONIQ_MOS_ZSCORE;
    ds = NULL;
    CHECK_OK(lmmiqa_dataset_load_ex(p, &opt, &ds));
    CHECK(ds && lmmiqa_dataset_mos(ds, 0) == 70.1);
    lmmiqa_dataset_destroy(ds);
    /* Fractions that do not sum to 1 are read as counts. */
    p = write_text("koniq_counts.csv", "image_name,c1,c2,c3,c4,c5\na.jpg,1,1,0,0,2\n");
    ds = NULL;
    CHECK_OK(lmmiqa_dataset_load(p, NULL, &ds));
    CHECK(ds && fabs(lmmiqa_dataset_mos(ds, 0) - 13.0 / 4.0) < 1e-15);
    lmmiqa_dataset_destroy(ds);
}

/* ------------------------------------------------------------------ SPAQ */

static void test_spaq(void)
{
    if (!have_shared)
        return;
    lmmiqa_dataset *x = NULL, *c = NULL;
    CHECK_OK(lmmiqa_dataset_load(
        test_shared_path("data/labels/spaq/MOS and Image attribute scores.xlsx"), NULL, &x));
    CHECK_OK(lmmiqa_dataset_load(
        test_shared_path("data/labels/spaq/MOS and Image attribute scores.csv"), NULL, &c));
    if (x && c) {
        CHECK(strcmp(lmmiqa_dataset_format(x), "spaq-xlsx") == 0);
        CHECK(strcmp(lmmiqa_dataset_format(c), "spaq-csv") == 0);
        CHECK(strcmp(lmmiqa_dataset_name(x), "spaq") == 0);
        CHECK(lmmiqa_dataset_size(x) == 11125);
        CHECK(lmmiqa_dataset_size(c) == 11125);
        size_t bad = 0;
        for (size_t i = 0; i < 11125 && i < lmmiqa_dataset_size(x) && i < lmmiqa_dataset_size(c);
             i++)
            bad += strcmp(lmmiqa_dataset_image(x, i), lmmiqa_dataset_image(c, i)) != 0 ||
                   lmmiqa_dataset_mos(x, i) != lmmiqa_dataset_mos(c, i);
        CHECK(bad == 0);
        CHECK(strcmp(lmmiqa_dataset_image(x, 0), "00001.jpg") == 0);
        CHECK(lmmiqa_dataset_mos(x, 0) == 48.86);
        CHECK(strcmp(lmmiqa_dataset_image(x, 11124), "11125.jpg") == 0);
        CHECK(lmmiqa_dataset_mos(x, 11124) == 10.8);
        CHECK(!lmmiqa_dataset_has_std(x));
        double lo, hi;
        lmmiqa_dataset_scale(x, &lo, &hi);
        CHECK(lo == 0 && hi == 100);
        /* No SPAQ images here: all are reported missing, loading still works. */
        size_t n_missing = 0;
        CHECK_OK(lmmiqa_dataset_check_files(x, NULL, 0, &n_missing));
        CHECK(n_missing == 11125);
    }
    lmmiqa_dataset_destroy(x);
    lmmiqa_dataset_destroy(c);
    /* The folder picks the workbook. */
    CHECK_OK(lmmiqa_dataset_load(test_shared_path("data/labels/spaq"), NULL, &x));
    CHECK(x && strcmp(lmmiqa_dataset_format(x), "spaq-xlsx") == 0);
    lmmiqa_dataset_destroy(x);
}

/* --------------------------------------------------------------- CID2013 */

static void test_cid2013(void)
{
    if (!have_shared)
        return;
    lmmiqa_dataset *ds = NULL;
    CHECK_OK(lmmiqa_dataset_load(test_shared_path("data/labels/cid2013"), NULL, &ds));
    if (!ds)
        return;
    CHECK(lmmiqa_dataset_size(ds) == 474);
    CHECK(strcmp(lmmiqa_dataset_format(ds), "cid2013-txt") == 0);
    CHECK(lmmiqa_dataset_group_count(ds) == 6);
    static const size_t want[7] = {0, 84, 78, 78, 78, 72, 84};
    size_t cnt[7] = {0};
    for (size_t i = 0; i < lmmiqa_dataset_size(ds); i++) {
        int g = lmmiqa_dataset_group(ds, i);
        CHECK(g >= 1 && g <= 6);
        if (g >= 1 && g <= 6)
            cnt[g]++;
    }
    for (int g = 1; g <= 6; g++) {
        CHECK_MSG(cnt[g] == want[g], "IS%d: %zu rows, want %zu", g, cnt[g], want[g]);
        CHECK(lmmiqa_dataset_group_id(ds, (size_t)(g - 1)) == g);
    }
    CHECK(strcmp(lmmiqa_dataset_group_label(ds, 3), "IS3") == 0);
    CHECK(strcmp(lmmiqa_dataset_image(ds, 0), "CID2013/IS1/co1/IS_I_C01_D01.jpg") == 0);
    CHECK(lmmiqa_dataset_mos(ds, 0) == 3.34364303351907);
    CHECK(lmmiqa_dataset_mos(ds, 473) == 10.4809695268716);
    double lo, hi;
    lmmiqa_dataset_scale(ds, &lo, &hi);
    CHECK(lo == 0 && hi == 100);
    lmmiqa_dataset_observed_range(ds, &lo, &hi);
    CHECK(lo < 0 && lo > -10 && hi > 87 && hi < 88);
    lmmiqa_dataset_destroy(ds);
}

/* ------------------------------------------------------- generic and bad */

static void test_generic_csv(void)
{
    const char *p = write_text("mine.csv", "path,score,group,std\n"
                                           "a.png,10,sceneA,1.5\n"
                                           "b.png,30,sceneB,2\n"
                                           "c.png,20,sceneA,0\n");
    lmmiqa_dataset *ds = NULL;
    CHECK_OK(lmmiqa_dataset_load(p, NULL, &ds));
    if (!ds)
        return;
    CHECK(strcmp(lmmiqa_dataset_name(ds), "mine") == 0);
    CHECK(strcmp(lmmiqa_dataset_format(ds), "csv") == 0);
    CHECK(lmmiqa_dataset_size(ds) == 3);
    CHECK(lmmiqa_dataset_group_count(ds) == 2);
    CHECK(lmmiqa_dataset_group(ds, 0) == 0 && lmmiqa_dataset_group(ds, 1) == 1 &&
          lmmiqa_dataset_group(ds, 2) == 0);
    CHECK(strcmp(lmmiqa_dataset_group_label(ds, 1), "sceneB") == 0);
    CHECK(lmmiqa_dataset_has_std(ds));
    double lo, hi;
    lmmiqa_dataset_scale(ds, &lo, &hi);
    CHECK(lo == 10 && hi == 30);
    size_t miss[3], n_missing = 0;
    CHECK_OK(lmmiqa_dataset_check_files(ds, miss, 3, &n_missing));
    CHECK(n_missing == 3);
    lmmiqa_dataset_destroy(ds);
    /* Scale override and numeric groups. */
    p = write_text("mine2.csv", "image,mos,group\nx.jpg,1,5\ny.jpg,2,3\n");
    lmmiqa_dataset_options opt;
    lmmiqa_dataset_options_init(&opt);
    opt.scale_lo = 0;
    opt.scale_hi = 10;
    CHECK_OK(lmmiqa_dataset_load_ex(p, &opt, &ds));
    if (ds) {
        lmmiqa_dataset_scale(ds, &lo, &hi);
        CHECK(lo == 0 && hi == 10);
        CHECK(lmmiqa_dataset_group(ds, 0) == 5 && lmmiqa_dataset_group_id(ds, 0) == 3);
        CHECK(!lmmiqa_dataset_has_std(ds) && isnan(lmmiqa_dataset_std(ds, 0)));
    }
    lmmiqa_dataset_destroy(ds);
    /* An absolute image path is used as it is, not joined to the label folder. */
    p = write_text("mine3.csv", "image,mos\n/abs/dir/x.jpg,1\nrel.jpg,2\n");
    CHECK_OK(lmmiqa_dataset_load(p, NULL, &ds));
    if (ds) {
        CHECK(strcmp(lmmiqa_dataset_image_path(ds, 0), "/abs/dir/x.jpg") == 0);
        CHECK(strcmp(lmmiqa_dataset_image_path(ds, 1), "/abs/dir/x.jpg") != 0);
        CHECK(strstr(lmmiqa_dataset_image_path(ds, 1), "/rel.jpg") != NULL);
    }
    lmmiqa_dataset_destroy(ds);
}

static void expect_fail(const char *path, int status, const char *needle1, const char *needle2)
{
    lmmiqa_dataset *ds = (lmmiqa_dataset *)&ds; /* must be reset to NULL */
    int rc = lmmiqa_dataset_load(path, NULL, &ds);
    CHECK_MSG(rc == status, "%s: status %d, want %d (%s)", path, rc, status,
              lmmiqa_error_message());
    CHECK(ds == NULL);
    const char *m = lmmiqa_error_message();
    CHECK_MSG(strstr(m, needle1) != NULL, "message '%s' lacks '%s'", m, needle1);
    if (needle2)
        CHECK_MSG(strstr(m, needle2) != NULL, "message '%s' lacks '%s'", m, needle2);
}

static void test_bad_inputs(void)
{
    expect_fail(write_text("nomos.csv", "image,quality\na.png,1\n"), LMMIQA_ERR_FORMAT, "nomos.csv",
                "MOS column");
    expect_fail(write_text("noimage.csv", "name,mos\na.png,1\n"), LMMIQA_ERR_FORMAT, "noimage.csv",
                "image column");
    expect_fail(write_text("badnum.csv", "image,mos\na.png,1\nb.png,2\nc.png,x3\n"),
                LMMIQA_ERR_CORRUPT, "badnum.csv:4", "x3");
    expect_fail(write_text("nanmos.csv", "image,mos\na.png,nan\n"), LMMIQA_ERR_CORRUPT,
                "nanmos.csv:2", "nan");
    expect_fail(write_text("dup.csv", "image,mos\na.png,1\nb.png,2\na.png,3\n"),
                LMMIQA_ERR_CORRUPT, "duplicate image 'a.png'", "lines 2 and 4");
    expect_fail(write_text("headeronly.csv", "image,mos\n"), LMMIQA_ERR_CORRUPT,
                "headeronly.csv", "empty");
    lmmiqa_dataset *ds = NULL;
    CHECK(lmmiqa_dataset_load(write_text("empty.csv", ""), NULL, &ds) != LMMIQA_OK);
    CHECK(ds == NULL && strstr(lmmiqa_error_message(), "empty.csv") != NULL);
    expect_fail(write_text("badstd.csv", "image,mos,std\na.png,1,-2\n"), LMMIQA_ERR_CORRUPT,
                "badstd.csv", "line 2");
    expect_fail(write_text("CID2013.txt", "dis_img_path,dis_type,score\nCID/IS1/a.jpg,A,1\n"
                                          "CID/x/b.jpg,A,2\n"),
                LMMIQA_ERR_CORRUPT, "line 3", "IS<k>");
    expect_fail(write_text("koniq_bad.csv", "image_name,c1,c2,c3,c4,c5\na.jpg,0,0,0,0,0\n"),
                LMMIQA_ERR_CORRUPT, "koniq_bad.csv", "line 2");
    expect_fail(tmp_path("no_such_file.csv"), LMMIQA_ERR_IO, "no_such_file.csv", NULL);
    /* A folder without label files. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", tmp_path("emptydir"));
    mkdir(dir, 0755);
    expect_fail(dir, LMMIQA_ERR_FORMAT, "emptydir", "no known label file");
    /* xlsx: starts like a zip but is not one; a zip without the workbook. */
    expect_fail(write_tmp("notzip.xlsx", "PK\3\4garbage", 11), LMMIQA_ERR_CORRUPT, "notzip.xlsx",
                NULL);
}

/* Build a tiny .xlsx with libzip so that the broken-workbook paths run. */
#include <zip.h>

static const char *make_xlsx(const char *name, int with_sheet, const char *sheet_xml)
{
    const char *path = tmp_path(name);
    unlink(path);
    int err = 0;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!za)
        return path;
    static const char wb[] = "<?xml version=\"1.0\"?><workbook xmlns=\"http://schemas.openxmlformats"
                             ".org/spreadsheetml/2006/main\" xmlns:r=\"http://schemas."
                             "openxmlformats.org/officeDocument/2006/relationships\"><sheets>"
                             "<sheet name=\"Sheet1\" sheetId=\"1\" r:id=\"rId1\"/></sheets>"
                             "</workbook>";
    static const char rels[] = "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas."
                               "openxmlformats.org/package/2006/relationships\"><Relationship "
                               "Id=\"rId1\" Type=\"worksheet\" Target=\"worksheets/sheet1.xml\"/>"
                               "</Relationships>";
    static const char sst[] = "<sst><si><t>Image name</t></si><si><r><t>M</t></r><r><t>OS</t>"
                              "</r></si><si><t>a.jpg</t></si></sst>";
    zip_source_t *s1 = zip_source_buffer(za, wb, sizeof wb - 1, 0);
    zip_file_add(za, "xl/workbook.xml", s1, ZIP_FL_OVERWRITE);
    zip_source_t *s2 = zip_source_buffer(za, rels, sizeof rels - 1, 0);
    zip_file_add(za, "xl/_rels/workbook.xml.rels", s2, ZIP_FL_OVERWRITE);
    zip_source_t *s3 = zip_source_buffer(za, sst, sizeof sst - 1, 0);
    zip_file_add(za, "xl/sharedStrings.xml", s3, ZIP_FL_OVERWRITE);
    if (with_sheet) {
        zip_source_t *s4 = zip_source_buffer(za, sheet_xml, strlen(sheet_xml), 0);
        zip_file_add(za, "xl/worksheets/sheet1.xml", s4, ZIP_FL_OVERWRITE);
    }
    zip_close(za);
    return path;
}

static void test_xlsx_synthetic(void)
{
    static const char good[] =
        "<worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c>"
        "<c r=\"B1\" t=\"s\"><v>1</v></c></row>"
        "<row r=\"3\"><c r=\"A3\" t=\"s\"><v>2</v></c><c r=\"B3\"><v>12.5</v></c></row>"
        "<row r=\"4\"><c r=\"A4\" t=\"inlineStr\"><is><t>b.jpg</t></is></c><c r=\"B4\">"
        "<v>99</v></c></row></sheetData></worksheet>";
    lmmiqa_dataset *ds = NULL;
    CHECK_OK(lmmiqa_dataset_load(make_xlsx("good.xlsx", 1, good), NULL, &ds));
    if (ds) {
        CHECK(lmmiqa_dataset_size(ds) == 2);
        CHECK(strcmp(lmmiqa_dataset_image(ds, 1), "b.jpg") == 0);
        CHECK(lmmiqa_dataset_mos(ds, 0) == 12.5 && lmmiqa_dataset_mos(ds, 1) == 99);
    }
    lmmiqa_dataset_destroy(ds);
    expect_fail(make_xlsx("nosheet.xlsx", 0, NULL), LMMIQA_ERR_CORRUPT, "nosheet.xlsx",
                "worksheets/sheet1.xml");
    static const char badnum[] =
        "<worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c>"
        "<c r=\"B1\" t=\"s\"><v>1</v></c></row>"
        "<row r=\"7\"><c r=\"A7\" t=\"s\"><v>2</v></c><c r=\"B7\" t=\"str\"><v>abc</v></c></row>"
        "</sheetData></worksheet>";
    expect_fail(make_xlsx("badnum.xlsx", 1, badnum), LMMIQA_ERR_CORRUPT, "badnum.xlsx", "row 7");
    static const char badsst[] =
        "<worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"s\"><v>9</v></c></row>"
        "</sheetData></worksheet>";
    expect_fail(make_xlsx("badsst.xlsx", 1, badsst), LMMIQA_ERR_CORRUPT, "badsst.xlsx",
                "shared string");
    static const char badxml[] = "<worksheet><sheetData><row r=\"1\">";
    expect_fail(make_xlsx("badxml.xlsx", 1, badxml), LMMIQA_ERR_CORRUPT, "badxml.xlsx", "XML");
    static const char nomos[] =
        "<worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c></row>"
        "</sheetData></worksheet>";
    expect_fail(make_xlsx("nomos.xlsx", 1, nomos), LMMIQA_ERR_FORMAT, "nomos.xlsx", "MOS");
}

int main(void)
{
    have_shared = test_shared_dir() != NULL;
    if (!have_shared)
        printf("note: ../shared not found; only the synthetic-file tests run\n");
    RUN(test_livec_mat);
    RUN(test_livec_mat_vs_csv);
    RUN(test_livec_by_name);
    RUN(test_koniq);
    RUN(test_koniq_synthetic);
    RUN(test_spaq);
    RUN(test_cid2013);
    RUN(test_generic_csv);
    RUN(test_bad_inputs);
    RUN(test_xlsx_synthetic);
    return test_finish();
}
