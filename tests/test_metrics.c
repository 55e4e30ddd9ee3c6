/*
 * tests/test_metrics.c - PLCC/SROCC/KRCC/RMSE and the logistic mapping.
 *
 * Golden values come from scipy (tools/ref/metrics_ref.py ->
 * tests/data/metrics): relative error < 1e-10 for PLCC, SROCC, KRCC and
 * RMSE; < 1e-4 for the logistic-mapped PLCC/RMSE, since two least-squares
 * solvers stop at slightly different points of a flat optimum (or, in
 * principle, at different local optima). The fast O(n log n) Kendall tau-b
 * is checked against a plain O(n^2) reference to 1e-12. Undefined cases must
 * fail with a message and leave the output untouched.
 */
#include "lmmiqa/metrics.h"

#include "lmmiqa/advanced/csv.h"
#include "lmmiqa/rng.h"
#include "test.h"

#include <time.h>

/* Plain O(n^2) Kendall tau-b: the reference for the fast version. */
static double krcc_reference(const double *x, const double *y, size_t n)
{
    double conc = 0, disc = 0, tx = 0, ty = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            double dx = x[i] - x[j], dy = y[i] - y[j];
            if (dx == 0 && dy == 0)
                continue;
            if (dx == 0)
                tx++;
            else if (dy == 0)
                ty++;
            else if ((dx > 0) == (dy > 0))
                conc++;
            else
                disc++;
        }
    }
    return (conc - disc) / sqrt((conc + disc + tx) * (conc + disc + ty));
}

static int load_case(const char *name, double **pred, double **mos, size_t *n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/metrics/%s.csv", LMMIQA_SOURCE_DIR, name);
    lmmiqa_csv *csv = NULL;
    int rc = lmmiqa_csv_load(path, &csv);
    CHECK_MSG(rc == 0, "%s", lmmiqa_error_message());
    if (rc)
        return rc;
    *n = lmmiqa_csv_rows(csv);
    *pred = malloc(*n * sizeof(double));
    *mos = malloc(*n * sizeof(double));
    int cp = lmmiqa_csv_column(csv, "pred"), cm = lmmiqa_csv_column(csv, "mos");
    CHECK(cp >= 0 && cm >= 0);
    for (size_t i = 0; i < *n && cp >= 0 && cm >= 0; i++) {
        CHECK_OK(lmmiqa_csv_cell_double(csv, i, (size_t)cp, &(*pred)[i]));
        CHECK_OK(lmmiqa_csv_cell_double(csv, i, (size_t)cm, &(*mos)[i]));
    }
    lmmiqa_csv_destroy(csv);
    return 0;
}

static void test_golden(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/metrics/golden.csv", LMMIQA_SOURCE_DIR);
    lmmiqa_csv *g = NULL;
    CHECK_OK(lmmiqa_csv_load(path, &g));
    if (!g)
        return;
    CHECK(lmmiqa_csv_rows(g) == 5);
    for (size_t r = 0; r < lmmiqa_csv_rows(g); r++) {
        const char *name = lmmiqa_csv_cell(g, r, 0);
        double *pred = NULL, *mos = NULL;
        size_t n = 0;
        if (load_case(name, &pred, &mos, &n))
            continue;
        double want_n = 0;
        CHECK_OK(lmmiqa_csv_cell_double(g, r, 1, &want_n));
        CHECK(n == (size_t)want_n);
        double want[6];
        int have[6];
        for (int k = 0; k < 6; k++) {
            have[k] = lmmiqa_csv_cell(g, r, 2 + (size_t)k)[0] != '\0';
            if (have[k])
                CHECK_OK(lmmiqa_csv_cell_double(g, r, 2 + (size_t)k, &want[k]));
        }
        double v = 0;
        CHECK_OK(lmmiqa_metric_plcc(pred, mos, n, &v));
        CHECK_REL(v, want[0], 1e-10, 1e-300);
        CHECK_OK(lmmiqa_metric_srocc(pred, mos, n, &v));
        CHECK_REL(v, want[1], 1e-10, 1e-300);
        CHECK_OK(lmmiqa_metric_krcc(pred, mos, n, &v));
        CHECK_REL(v, want[2], 1e-10, 1e-300);
        CHECK_NEAR(v, krcc_reference(pred, mos, n), 1e-12);
        CHECK_OK(lmmiqa_metric_rmse(pred, mos, n, &v));
        CHECK_REL(v, want[3], 1e-10, 1e-300);

        lmmiqa_metrics m;
        CHECK_OK(lmmiqa_metrics_compute(pred, mos, n, &m));
        CHECK_REL(m.plcc, want[0], 1e-10, 1e-300);
        CHECK_REL(m.srocc, want[1], 1e-10, 1e-300);
        CHECK_REL(m.krcc, want[2], 1e-10, 1e-300);
        CHECK_REL(m.rmse, want[3], 1e-10, 1e-300);
        if (have[4]) {
            CHECK_MSG(m.defined_mask == LMMIQA_METRIC_ALL, "%s: mask %d", name, m.defined_mask);
            CHECK_REL(m.plcc_logistic, want[4], 1e-4, 1e-300);
            CHECK_REL(m.rmse_logistic, want[5], 1e-4, 1e-300);
            /* the mapping is at least as good as the linear fit */
            CHECK(m.plcc_logistic >= fabs(m.plcc) - 1e-12);
            CHECK(m.logistic[3] > 0);
        } else {
            CHECK(m.defined_mask == (LMMIQA_METRIC_PLCC | LMMIQA_METRIC_SROCC |
                                     LMMIQA_METRIC_KRCC | LMMIQA_METRIC_RMSE));
            CHECK(isnan(m.plcc_logistic) && isnan(m.logistic[0]));
        }
        fprintf(stderr, "  %-10s n=%-5zu plcc %.6f srocc %.6f krcc %.6f rmse %.4f plcc_log %.6f\n",
                name, n, m.plcc, m.srocc, m.krcc, m.rmse, m.plcc_logistic);
        free(pred);
        free(mos);
    }
    lmmiqa_csv_destroy(g);
}

static void test_krcc_fast_vs_reference(void)
{
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 7);
    size_t sizes[] = {3, 4, 17, 100, 999, 2000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
        for (int levels = 3; levels <= 1000000; levels *= 100) {
            for (size_t i = 0; i < n; i++) {
                x[i] = (double)(lmmiqa_rng_next(&rng) % (uint64_t)levels);
                y[i] = x[i] + (double)(lmmiqa_rng_next(&rng) % (uint64_t)levels) * 0.7;
            }
            double fast = 0;
            int rc = lmmiqa_metric_krcc(x, y, n, &fast);
            if (rc == LMMIQA_ERR_UNDEFINED)
                continue; /* a constant draw with 3 levels and n = 3 */
            CHECK_OK(rc);
            CHECK_NEAR(fast, krcc_reference(x, y, n), 1e-12);
        }
        free(x);
        free(y);
    }
}

/* n = 12000 (KonIQ-size) must be fast: O(n log n). */
static void test_krcc_large(void)
{
    size_t n = 12000;
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 11);
    for (size_t i = 0; i < n; i++) {
        x[i] = (double)(lmmiqa_rng_next(&rng) >> 11) * 0x1.0p-53;
        y[i] = x[i] + (double)(lmmiqa_rng_next(&rng) % 1000) * 1e-3;
    }
    clock_t t0 = clock();
    double v = 0;
    CHECK_OK(lmmiqa_metric_krcc(x, y, n, &v));
    double ms = 1e3 * (double)(clock() - t0) / CLOCKS_PER_SEC;
    fprintf(stderr, "  krcc n=%zu: %.2f ms (tau-b %.6f)\n", n, ms, v);
    CHECK(v > 0.3 && v < 1);
    CHECK(ms < 2000);
    free(x);
    free(y);
}

static void test_undefined(void)
{
    double a[5] = {1, 2, 3, 4, 5}, c[5] = {2, 2, 2, 2, 2}, b[5] = {5, 1, 4, 2, 3};
    double out = 123;
    int (*fns[3])(const double *, const double *, size_t, double *) = {
        lmmiqa_metric_plcc, lmmiqa_metric_srocc, lmmiqa_metric_krcc};
    for (int k = 0; k < 3; k++) {
        CHECK(fns[k](a, b, 2, &out) == LMMIQA_ERR_UNDEFINED);
        CHECK(strstr(lmmiqa_error_message(), "2 pairs") != NULL);
        CHECK(fns[k](a, b, 0, &out) == LMMIQA_ERR_UNDEFINED);
        CHECK(fns[k](c, b, 5, &out) == LMMIQA_ERR_UNDEFINED);
        CHECK(strstr(lmmiqa_error_message(), "predictions are constant") != NULL);
        CHECK(fns[k](a, c, 5, &out) == LMMIQA_ERR_UNDEFINED);
        CHECK(strstr(lmmiqa_error_message(), "MOS values are constant") != NULL);
        CHECK(out == 123);
    }
    double nan_in[5] = {1, 2, NAN, 4, 5}, inf_in[5] = {1, 2, 3, 4, INFINITY};
    CHECK(lmmiqa_metric_plcc(nan_in, b, 5, &out) == LMMIQA_ERR_UNDEFINED);
    CHECK(strstr(lmmiqa_error_message(), "pred[2] is not finite") != NULL);
    CHECK(lmmiqa_metric_rmse(a, inf_in, 5, &out) == LMMIQA_ERR_UNDEFINED);
    CHECK(strstr(lmmiqa_error_message(), "mos[4] is not finite") != NULL);
    CHECK(lmmiqa_metric_rmse(a, b, 0, &out) == LMMIQA_ERR_UNDEFINED);
    CHECK(out == 123);
    CHECK_OK(lmmiqa_metric_rmse(a, c, 1, &out));
    CHECK(out == 1);
    double beta[4];
    CHECK(lmmiqa_metric_logistic_fit(a, b, 4, beta) == LMMIQA_ERR_UNDEFINED);
    CHECK(strstr(lmmiqa_error_message(), "at least 5") != NULL);

    lmmiqa_metrics m;
    CHECK(lmmiqa_metrics_compute(a, c, 5, &m) == LMMIQA_ERR_UNDEFINED);
    CHECK(strstr(lmmiqa_error_message(), "constant") != NULL);
    CHECK(m.defined_mask == LMMIQA_METRIC_RMSE);
    CHECK(isnan(m.plcc) && isnan(m.srocc) && isnan(m.krcc) && isnan(m.plcc_logistic));
    CHECK(m.rmse > 0);
}

static void test_properties(void)
{
    double x[8] = {0.3, 1.2, -0.4, 2.2, 5.0, 1.2, 0.9, 3.3};
    double y[8], z[8];
    for (int i = 0; i < 8; i++) {
        y[i] = 1e6 + 3 * x[i];      /* affine: PLCC 1 */
        z[i] = exp(x[i]);          /* monotone: SROCC/KRCC 1 */
    }
    double v;
    CHECK_OK(lmmiqa_metric_plcc(x, y, 8, &v));
    CHECK_NEAR(v, 1, 1e-14);
    CHECK_OK(lmmiqa_metric_srocc(x, z, 8, &v));
    CHECK_NEAR(v, 1, 1e-14);
    CHECK_OK(lmmiqa_metric_krcc(z, x, 8, &v));
    CHECK_NEAR(v, 1, 1e-14);
    for (int i = 0; i < 8; i++)
        y[i] = -y[i];
    CHECK_OK(lmmiqa_metric_krcc(x, y, 8, &v));
    CHECK_NEAR(v, -1, 1e-14);
    CHECK_OK(lmmiqa_metric_plcc(y, x, 8, &v));
    CHECK_NEAR(v, -1, 1e-14);
}

/* Noiseless logistic data: the fit recovers the parameters. */
static void test_logistic_recovers(void)
{
    const double truth[4] = {90, 10, 2.5, 0.4};
    double x[60], y[60];
    for (int i = 0; i < 60; i++) {
        x[i] = 0.1 * i;
        y[i] = lmmiqa_metric_logistic_eval(truth, x[i]);
    }
    double beta[4], plcc, rmse;
    CHECK_OK(lmmiqa_metric_logistic(x, y, 60, beta, &plcc, &rmse));
    for (int k = 0; k < 4; k++)
        CHECK_REL(beta[k], truth[k], 1e-6, 1e-3);
    CHECK_NEAR(plcc, 1, 1e-12);
    CHECK_NEAR(rmse, 0, 1e-6);
    /* falling: b1 < b2 */
    for (int i = 0; i < 60; i++)
        x[i] = -x[i];
    CHECK_OK(lmmiqa_metric_logistic(x, y, 60, beta, &plcc, &rmse));
    CHECK_NEAR(plcc, 1, 1e-12);
    CHECK(beta[0] < beta[1]);
    CHECK_NEAR(lmmiqa_metric_logistic_eval(beta, -2.5), 50, 1e-5);
}

int main(void)
{
    RUN(test_golden);
    RUN(test_krcc_fast_vs_reference);
    RUN(test_krcc_large);
    RUN(test_undefined);
    RUN(test_properties);
    RUN(test_logistic_recovers);
    return test_finish();
}
