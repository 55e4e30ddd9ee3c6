/*
 * tests/test_svr.c - libsvm model / svm-scale range reading, SVR
 * prediction and the BRISQUE score.
 *
 * With ../shared: the original BRISQUE model (allmodel + allrange) loads
 * with the expected header, and its predictions match an independent numpy
 * evaluation (tools/ref/svr_ref.py -> tests/data/svr/brisque_golden.csv) to
 * 1e-9 absolute in full precision; the MATLAB text round trip emulation
 * matches the reference's own emulation to 1e-12 relative (exact equality
 * expected: both format with the same printf rules). Always: small
 * hand-written models for every kernel against a direct evaluation, the
 * svm-scale rules, and malformed files failing with file:line messages.
 */
#include "lmmiqa/svr.h"

#include "lmmiqa/advanced/csv.h"
#include "test.h"

static const char *write_tmp(const char *name, const char *text)
{
    static char paths[4][1024];
    static int next;
    char *p = paths[next++ & 3];
    snprintf(p, 1024, "%s/test_svr_%s", LMMIQA_BINARY_DIR, name);
    FILE *f = fopen(p, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return p;
}

static void test_brisque_model(void)
{
    if (!test_shared_dir()) {
        fprintf(stderr, "  (skipped: ../shared not found)\n");
        return;
    }
    lmmiqa_svr *svr = NULL;
    CHECK_OK(lmmiqa_svr_load(test_shared_path("models/brisque-live/allmodel"),
                             test_shared_path("models/brisque-live/allrange"), &svr));
    if (!svr)
        return;
    lmmiqa_svr_info info;
    lmmiqa_svr_get_info(svr, &info);
    CHECK(info.type == LMMIQA_SVR_EPSILON);
    CHECK(info.kernel == LMMIQA_SVR_KERNEL_RBF);
    CHECK(info.n_sv == 774);
    CHECK(info.gamma == 0.05);
    CHECK(info.rho == -153.591);
    CHECK(info.dim == 36);
    CHECK(lmmiqa_svr_dim(svr) == 36);
    CHECK(info.scaled == 1 && info.lower == -1 && info.upper == 1);

    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/svr/brisque_golden.csv", LMMIQA_SOURCE_DIR);
    lmmiqa_csv *g = NULL;
    CHECK_OK(lmmiqa_csv_load(path, &g));
    if (g) {
        CHECK(lmmiqa_csv_rows(g) == 7 && lmmiqa_csv_cols(g) == 39);
        for (size_t r = 0; r < lmmiqa_csv_rows(g) && lmmiqa_csv_cols(g) == 39; r++) {
            double f[36], want, want_m, got = 0, got_m = 0;
            CHECK_OK(lmmiqa_csv_cell_double(g, r, 1, &want));
            CHECK_OK(lmmiqa_csv_cell_double(g, r, 2, &want_m));
            for (size_t i = 0; i < 36; i++)
                CHECK_OK(lmmiqa_csv_cell_double(g, r, 3 + i, &f[i]));
            CHECK_OK(lmmiqa_svr_predict(svr, f, 36, &got));
            CHECK_NEAR(got, want, 1e-9);
            CHECK_OK(lmmiqa_brisque_score(svr, f, 0, &got));
            CHECK_NEAR(got, want, 1e-9);
            CHECK_OK(lmmiqa_brisque_score(svr, f, LMMIQA_BRISQUE_MATLAB_IO, &got_m));
            CHECK_REL(got_m, want_m, 1e-12, 1e-300);
            fprintf(stderr, "  %-14s %.9f (ref %.9f)  matlab-io %g (ref %g)\n",
                    lmmiqa_csv_cell(g, r, 0), got, want, got_m, want_m);
        }
    }
    lmmiqa_csv_destroy(g);

    /* argument errors */
    double f[36] = {0}, y = 7;
    CHECK(lmmiqa_svr_predict(svr, f, 35, &y) == LMMIQA_ERR_MISMATCH);
    CHECK(strstr(lmmiqa_error_message(), "35") != NULL);
    f[4] = NAN;
    CHECK(lmmiqa_svr_predict(svr, f, 36, &y) == LMMIQA_ERR_INVALID_ARG);
    CHECK(strstr(lmmiqa_error_message(), "feature 5") != NULL);
    CHECK(lmmiqa_brisque_score(svr, f, LMMIQA_BRISQUE_MATLAB_IO, &y) == LMMIQA_ERR_INVALID_ARG);
    f[4] = 0;
    CHECK(lmmiqa_brisque_score(svr, f, 0x10, &y) == LMMIQA_ERR_INVALID_ARG);
    CHECK(y == 7);
    lmmiqa_svr_destroy(svr);

    /* a range file with fewer features than the model uses */
    const char *short_range = write_tmp("short_range", "x\n-1 1\n1 0 1\n2 0 1\n");
    CHECK(lmmiqa_svr_load(test_shared_path("models/brisque-live/allmodel"), short_range, &svr) ==
          LMMIQA_ERR_MISMATCH);
    CHECK(strstr(lmmiqa_error_message(), "range file lists 2 features") != NULL);
    CHECK(svr == NULL);
    remove(short_range);
}

/* Direct evaluation of a 2-SV, 3-feature model for each kernel. */
static void test_kernels(void)
{
    static const char *kernels[4] = {"linear", "polynomial", "rbf", "sigmoid"};
    static const char *extra[4] = {"", "degree 3\ngamma 0.5\ncoef0 1.5\n", "gamma 0.25\n",
                                   "gamma 0.1\ncoef0 -0.2\n"};
    const double sv[2][3] = {{0.5, 0, -1}, {0, 2, 0.25}}, coef[2] = {1.5, -0.75}, rho = 0.3;
    const double x[3] = {0.2, -0.4, 0.9};
    for (int k = 0; k < 4; k++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "svm_type nu_svr\r\nkernel_type %s\r\n%snr_class 2\r\ntotal_sv 2\r\nrho 0.3\r\n"
                 "SV\r\n1.5 1:0.5 3:-1 \r\n-0.75 2:2 3:0.25\r\n\r\n",
                 kernels[k], extra[k]);
        const char *path = write_tmp("kernel_model", text);
        lmmiqa_svr *svr = NULL;
        CHECK_OK(lmmiqa_svr_load(path, NULL, &svr));
        if (!svr)
            continue;
        lmmiqa_svr_info info;
        lmmiqa_svr_get_info(svr, &info);
        CHECK(info.type == LMMIQA_SVR_NU && info.kernel == k && info.dim == 3 && !info.scaled);
        double want = -rho;
        for (int s = 0; s < 2; s++) {
            double dot = 0, d2 = 0;
            for (int i = 0; i < 3; i++) {
                dot += x[i] * sv[s][i];
                d2 += (x[i] - sv[s][i]) * (x[i] - sv[s][i]);
            }
            double kv = k == 0 ? dot : k == 1 ? pow(0.5 * dot + 1.5, 3) : k == 2 ? exp(-0.25 * d2)
                                                                                : tanh(0.1 * dot - 0.2);
            want += coef[s] * kv;
        }
        double got = 0;
        CHECK_OK(lmmiqa_svr_predict(svr, x, 3, &got));
        CHECK_MSG(fabs(got - want) <= 1e-14, "kernel %s: %.17g vs %.17g", kernels[k], got, want);
        double f36[36] = {0};
        CHECK(lmmiqa_brisque_score(svr, f36, 0, &got) == LMMIQA_ERR_MISMATCH);
        lmmiqa_svr_destroy(svr);
        remove(path);
    }
    lmmiqa_svr_destroy(NULL);
}

/* svm-scale rules: min -> lower, max -> upper, linear between, no
 * clipping, min == max -> 0; a "y" section is skipped. */
static void test_scaling(void)
{
    const char *model = write_tmp("scale_model", "svm_type epsilon_svr\nkernel_type linear\n"
                                                 "nr_class 2\ntotal_sv 1\nrho 0\nSV\n1 1:1\n");
    const char *range = write_tmp("scale_range", "y\n0 1\n10 20\nx\n0 2\n1 -1 3\n2 5 5\n3 1.5e-005 2e-005\n");
    lmmiqa_svr *svr = NULL;
    CHECK_OK(lmmiqa_svr_load(model, range, &svr));
    if (svr) {
        CHECK(lmmiqa_svr_dim(svr) == 3);
        double x[3] = {-1, 5, 2e-5}, s[3];
        CHECK_OK(lmmiqa_svr_scale(svr, x, 3, s));
        CHECK(s[0] == 0 && s[1] == 0 && s[2] == 2);
        x[0] = 3;
        x[2] = 1.5e-5;
        CHECK_OK(lmmiqa_svr_scale(svr, x, 3, s));
        CHECK(s[0] == 2 && s[2] == 0);
        x[0] = 0;
        x[1] = 7;
        CHECK_OK(lmmiqa_svr_scale(svr, x, 3, s));
        CHECK(s[0] == 0 + (2.0 - 0.0) * (0.0 - -1.0) / (3.0 - -1.0) && s[1] == 0);
        x[0] = 5; /* outside [min, max]: extrapolated, as svm-scale does */
        CHECK_OK(lmmiqa_svr_scale(svr, x, 3, s));
        CHECK(s[0] == 3);
        double y = 0;
        CHECK_OK(lmmiqa_svr_predict(svr, x, 3, &y)); /* linear: 1 * s[0] - 0 */
        CHECK(y == 3);
    }
    lmmiqa_svr_destroy(svr);
    remove(model);
    remove(range);
}

static void expect_model_error(const char *text, int status, const char *needle)
{
    const char *path = write_tmp("bad_model", text);
    lmmiqa_svr *svr = NULL;
    int rc = lmmiqa_svr_load(path, NULL, &svr);
    CHECK_MSG(rc == status && svr == NULL && strstr(lmmiqa_error_message(), needle) &&
                  strstr(lmmiqa_error_message(), path),
              "status %d, message '%s', expected %d '%s'", rc, lmmiqa_error_message(), status,
              needle);
    lmmiqa_svr_destroy(svr);
    remove(path);
}

static void expect_range_error(const char *text, int status, const char *needle)
{
    const char *model = write_tmp("ok_model", "svm_type epsilon_svr\nkernel_type rbf\ngamma 1\n"
                                              "nr_class 2\ntotal_sv 1\nrho 0\nSV\n1 1:1 2:0.5\n");
    const char *path = write_tmp("bad_range", text);
    lmmiqa_svr *svr = NULL;
    int rc = lmmiqa_svr_load(model, path, &svr);
    CHECK_MSG(rc == status && svr == NULL && strstr(lmmiqa_error_message(), needle),
              "status %d, message '%s', expected %d '%s'", rc, lmmiqa_error_message(), status,
              needle);
    lmmiqa_svr_destroy(svr);
    remove(path);
    remove(model);
}

#define HEAD "svm_type epsilon_svr\nkernel_type rbf\ngamma 0.05\nnr_class 2\n"

static void test_malformed(void)
{
    expect_model_error(HEAD "total_sv 3\nrho 1\nSV\n1 1:0.5\n-1 2:0.5\n", LMMIQA_ERR_CORRUPT,
                       "truncated: 2 support vectors, total_sv says 3");
    expect_model_error(HEAD "total_sv 1\nrho 1\n", LMMIQA_ERR_CORRUPT, "no 'SV' line");
    expect_model_error(HEAD "total_sv 1\nrho 1\nSV\n1 1:0.5\n2 1:1\n", LMMIQA_ERR_CORRUPT,
                       ":9: more support vectors");
    expect_model_error(HEAD "total_sv 1\nrho 1\nSV\n1x 1:0.5\n", LMMIQA_ERR_CORRUPT,
                       ":8: SV coefficient '1x'");
    expect_model_error(HEAD "total_sv 1\nrho 1\nSV\n1 1:0.5 2:abc\n", LMMIQA_ERR_CORRUPT,
                       ":8: feature value 'abc'");
    expect_model_error(HEAD "total_sv 1\nrho 1\nSV\n1 0:0.5\n", LMMIQA_ERR_CORRUPT,
                       ":8: feature index '0'");
    expect_model_error(HEAD "total_sv 1\nrho 1\nSV\n1 2:0.5 1:0.5\n", LMMIQA_ERR_CORRUPT,
                       ":8: feature index 1 after 2");
    expect_model_error(HEAD "total_sv 1\nrho 1\nSV\n1 1=0.5\n", LMMIQA_ERR_CORRUPT,
                       "not an index:value pair");
    expect_model_error(HEAD "total_sv 1\nrho nan\nSV\n1 1:0.5\n", LMMIQA_ERR_CORRUPT,
                       ":6: rho 'nan' is not a finite number");
    expect_model_error(HEAD "total_sv 1\nSV\n1 1:0.5\n", LMMIQA_ERR_CORRUPT, "no 'rho' line");
    expect_model_error(HEAD "total_sv 1\nrho 1 2\nSV\n1 1:0.5\n", LMMIQA_ERR_CORRUPT,
                       ":6: unexpected '2' after rho");
    expect_model_error(HEAD "total_sv 1\nrho 1\nweights 3\nSV\n1 1:0.5\n", LMMIQA_ERR_CORRUPT,
                       ":7: unknown model header line 'weights'");
    expect_model_error("svm_type c_svc\nkernel_type rbf\n", LMMIQA_ERR_FORMAT,
                       "only regression models");
    expect_model_error("svm_type epsilon_svr\nkernel_type precomputed\n", LMMIQA_ERR_FORMAT,
                       "precomputed");
    expect_model_error("svm_type epsilon_svr\nkernel_type rbf\nnr_class 2\ntotal_sv 1\nrho 1\nSV\n1 1:1\n",
                       LMMIQA_ERR_CORRUPT, "no 'gamma' line");
    expect_model_error("svm_type epsilon_svr\n\x01\x02\x03", LMMIQA_ERR_FORMAT, "binary data");
    expect_model_error("", LMMIQA_ERR_CORRUPT, "no 'SV' line");

    expect_range_error("x\n-1 1\n1 0 1\n", LMMIQA_ERR_MISMATCH, "use feature 2");
    expect_range_error("x\n-1 1\n1 0 1\n3 0 1\n", LMMIQA_ERR_CORRUPT, "no range for feature 2");
    expect_range_error("x\n-1 1\n1 0 1\n2 0 1\n1 0 2\n", LMMIQA_ERR_CORRUPT, ":5: feature 1 is listed twice");
    expect_range_error("x\n-1 1\n1 0 1\n2 0 zz\n", LMMIQA_ERR_CORRUPT, ":4: feature maximum 'zz'");
    expect_range_error("x\n-1 1\n1 0 1\n2 3 1\n", LMMIQA_ERR_CORRUPT, ":4: feature 2 has minimum 3 above maximum 1");
    expect_range_error("x\n1 -1\n1 0 1\n", LMMIQA_ERR_CORRUPT, "not below upper bound");
    expect_range_error("-1 1\n1 0 1\n", LMMIQA_ERR_CORRUPT, ":1: expected the 'x' line");
    expect_range_error("x\n-1 1\n", LMMIQA_ERR_CORRUPT, "no 'index min max' lines");
    expect_range_error("x\n-1\n", LMMIQA_ERR_CORRUPT, ":2: missing x bounds");

    lmmiqa_svr *svr = NULL;
    CHECK(lmmiqa_svr_load("/nonexistent/allmodel", NULL, &svr) == LMMIQA_ERR_IO);
    CHECK(strstr(lmmiqa_error_message(), "/nonexistent/allmodel") != NULL);
}

int main(void)
{
    RUN(test_brisque_model);
    RUN(test_kernels);
    RUN(test_scaling);
    RUN(test_malformed);
    return test_finish();
}
