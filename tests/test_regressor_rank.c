/*
 * tests/test_regressor_rank.c - the margin ranking term of the regressor
 * (lmmiqa_regressor_train_ranked, learn/mlp.h's rank helpers).
 *
 * Tolerances:
 *   - finite differences vs the double reference gradient of MSE + lambda *
 *     mean hinge: relative error (L2 over all parameters) < 1e-6, central
 *     differences with h = 1e-6, on points where no pair is within 1e-3 of
 *     the hinge's kink (the hinge is not differentiable there);
 *   - float BLAS path (forward on [MOS | better | worse] rows,
 *     lmmiqa__rank_loss_grad_y, lmmiqa__mlp_backward_gy) vs the double
 *     reference: loss within 1e-5 relative, gradient within 1e-4 relative (L2);
 *   - training on a toy problem whose MOS rows never vary the "distortion"
 *     feature: with pairs >= 95% of held-out pairs ordered right (margin
 *     on), without pairs the ordering is left to chance, and MOS PLCC on
 *     the training rows stays > 0.9;
 *   - determinism: bit-identical parameters for one seed; no pairs gives
 *     bit-identical results to lmmiqa_regressor_train.
 */
#include "test.h"

#include "learn/mlp.h"
#include "lmmiqa/metrics.h"
#include "lmmiqa/regressor.h"
#include "lmmiqa/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double l2(const double *a, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * a[i];
    return sqrt(s);
}

/* A random point with every pair at least 1e-3 away from the kink. */
static void make_problem(lmmiqa_rng *rng, size_t dim, size_t hidden, size_t rows, size_t pairs,
                         double margin, double *p, double *x, double *t, double *xb, double *xw)
{
    size_t np = lmmiqa__mlp_param_count(dim, hidden);
    for (int tries = 0; tries < 1000; tries++) {
        for (size_t i = 0; i < np; i++)
            p[i] = 0.6 * lmmiqa_rng_normal(rng);
        for (size_t i = 0; i < rows * dim; i++)
            x[i] = lmmiqa_rng_normal(rng);
        for (size_t i = 0; i < rows; i++)
            t[i] = lmmiqa_rng_uniform(rng);
        for (size_t i = 0; i < pairs * dim; i++) {
            xb[i] = lmmiqa_rng_normal(rng);
            xw[i] = lmmiqa_rng_normal(rng);
        }
        int ok = 1, active = 0;
        for (size_t q = 0; q < pairs; q++) {
            double gb, gw;
            /* outputs of single rows via the reference (rows = 1, no pairs) */
            double one = 0.0;
            lmmiqa__mlp_ref_loss_grad(p, dim, hidden, xb + q * dim, 1, NULL, &one, &gb, NULL);
            lmmiqa__mlp_ref_loss_grad(p, dim, hidden, xw + q * dim, 1, NULL, &one, &gw, NULL);
            double v = margin - (gb - gw);
            ok &= fabs(v) > 1e-3;
            active += v > 0;
        }
        if (ok && active > 0 && active < (int)pairs)
            return;
    }
}

static void fd_check(size_t dim, size_t hidden)
{
    const size_t rows = 5, pairs = 6;
    const double lambda = 0.7, margin = 0.1;
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 31 + dim + hidden);
    size_t np = lmmiqa__mlp_param_count(dim, hidden);
    double *p = malloc(np * sizeof *p), *g = malloc(np * sizeof *g), *diff = malloc(np * sizeof *diff);
    double *x = malloc(rows * dim * sizeof *x), *t = malloc(rows * sizeof *t);
    double *xb = malloc(pairs * dim * sizeof *xb), *xw = malloc(pairs * dim * sizeof *xw);
    make_problem(&rng, dim, hidden, rows, pairs, margin, p, x, t, xb, xw);
    double l0 = lmmiqa__mlp_ref_ranked_loss_grad(p, dim, hidden, x, t, rows, xb, xw, pairs, lambda,
                                                 margin, g);
    double lmse = lmmiqa__mlp_ref_loss_grad(p, dim, hidden, x, rows, NULL, t, NULL, NULL);
    CHECK(l0 > lmse); /* the hinge term is active */
    const double h = 1e-6;
    for (size_t i = 0; i < np; i++) {
        double keep = p[i];
        p[i] = keep + h;
        double lp = lmmiqa__mlp_ref_ranked_loss_grad(p, dim, hidden, x, t, rows, xb, xw, pairs,
                                                     lambda, margin, NULL);
        p[i] = keep - h;
        double lm = lmmiqa__mlp_ref_ranked_loss_grad(p, dim, hidden, x, t, rows, xb, xw, pairs,
                                                     lambda, margin, NULL);
        p[i] = keep;
        diff[i] = (lp - lm) / (2.0 * h) - g[i];
    }
    double rel = l2(diff, np) / fmax(l2(g, np), 1e-300);
    CHECK_MSG(rel < 1e-6, "dim %zu hidden %zu: FD rel err %.3g", dim, hidden, rel);

    /* the float path against the reference on the same point */
    const size_t all = rows + 2 * pairs;
    float *pf = malloc(np * sizeof *pf), *gf = malloc(np * sizeof *gf);
    float *xf = malloc(all * dim * sizeof *xf), *tf = malloc(rows * sizeof *tf);
    float *yf = malloc(all * sizeof *yf), *gy = malloc(all * sizeof *gy);
    float *sb = malloc(lmmiqa__mlp_scratch_floats(hidden, all) * sizeof *sb);
    double *pd = malloc(np * sizeof *pd), *gd = malloc(np * sizeof *gd);
    double *xd = malloc(rows * dim * sizeof *xd), *xbd = malloc(pairs * dim * sizeof *xbd);
    double *xwd = malloc(pairs * dim * sizeof *xwd), *td = malloc(rows * sizeof *td);
    /* round the inputs to float first so both paths see the same numbers */
    for (size_t i = 0; i < np; i++)
        pd[i] = pf[i] = (float)p[i];
    for (size_t i = 0; i < rows * dim; i++)
        xd[i] = xf[i] = (float)x[i];
    for (size_t i = 0; i < pairs * dim; i++) {
        xbd[i] = xf[rows * dim + i] = (float)xb[i];
        xwd[i] = xf[(rows + pairs) * dim + i] = (float)xw[i];
    }
    for (size_t i = 0; i < rows; i++)
        td[i] = tf[i] = (float)t[i];
    lmmiqa__mlp_scratch s;
    lmmiqa__mlp_scratch_bind(&s, sb, hidden, all);
    lmmiqa__mlp_forward(pf, dim, hidden, xf, all, NULL, &s, yf);
    double mse, hinge;
    double lf = lmmiqa__rank_loss_grad_y(yf, tf, rows, pairs, lambda, margin, gy, &mse, &hinge);
    lmmiqa__mlp_backward_gy(pf, dim, hidden, xf, all, NULL, yf, gy, &s, gf);
    double ld = lmmiqa__mlp_ref_ranked_loss_grad(pd, dim, hidden, xd, td, rows, xbd, xwd, pairs,
                                                 lambda, margin, gd);
    CHECK_REL(lf, ld, 1e-5, 1e-12);
    CHECK_REL(lf, mse + lambda * hinge, 1e-12, 1e-12);
    for (size_t i = 0; i < np; i++)
        diff[i] = gf[i] - gd[i];
    CHECK_MSG(l2(diff, np) / l2(gd, np) < 1e-4, "float vs double grad rel err %.3g",
              l2(diff, np) / l2(gd, np));
    free(p);
    free(g);
    free(diff);
    free(x);
    free(t);
    free(xb);
    free(xw);
    free(pf);
    free(gf);
    free(xf);
    free(tf);
    free(yf);
    free(gy);
    free(sb);
    free(pd);
    free(gd);
    free(xd);
    free(xbd);
    free(xwd);
    free(td);
}

static void test_gradients(void)
{
    fd_check(6, 7);
    fd_check(8, 0); /* linear head */
}

static void test_loss_without_pairs(void)
{
    float y[3] = {0.2f, 0.5f, 0.9f}, t[3] = {0.1f, 0.5f, 0.6f}, gy[3];
    double mse, hinge;
    double l = lmmiqa__rank_loss_grad_y(y, t, 3, 0, 1.0, 0.02, gy, &mse, &hinge);
    CHECK_NEAR(l, (0.01 + 0.0 + 0.09) / 3, 1e-7);
    CHECK(hinge == 0.0);
    CHECK_NEAR(gy[2], 2.0 * 0.3 / 3, 1e-7);
    /* one satisfied and one violated pair */
    float y2[5] = {0.5f, 0.8f, 0.4f, 0.3f, 0.5f}, t2[1] = {0.5f}, g2[5];
    l = lmmiqa__rank_loss_grad_y(y2, t2, 1, 2, 2.0, 0.05, g2, &mse, &hinge);
    /* pair 0: 0.8 vs 0.3: satisfied; pair 1: 0.4 vs 0.5: violated by 0.15 */
    CHECK_NEAR(hinge, 0.15 / 2, 1e-7);
    CHECK_NEAR(l, 2.0 * 0.075, 1e-7);
    CHECK(g2[1] == 0.0f && g2[3] == 0.0f);
    CHECK_NEAR(g2[2], -1.0, 1e-7);
    CHECK_NEAR(g2[4], 1.0, 1e-7);
}

/* Toy data: MOS = f(x0) on rows with x1 = 0; ranking rows copy an x0 with
 * x1 = 1, 2, 3 ("distortion" levels), each level worse than the one before. */
typedef struct toy {
    size_t n, dim, nr, np;
    float *x, *xr;
    double *mos;
    size_t *pairs;
} toy;

static void toy_make(toy *d, size_t n, uint64_t seed)
{
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, seed);
    d->n = n;
    d->dim = 3;
    d->nr = n * 4;
    d->np = n * 6;
    d->x = malloc(n * 3 * sizeof *d->x);
    d->xr = malloc(d->nr * 3 * sizeof *d->xr);
    d->mos = malloc(n * sizeof *d->mos);
    d->pairs = malloc(d->np * 2 * sizeof *d->pairs);
    size_t q = 0;
    for (size_t i = 0; i < n; i++) {
        double a = lmmiqa_rng_normal(&rng), b = lmmiqa_rng_normal(&rng);
        d->x[i * 3] = (float)a;
        d->x[i * 3 + 1] = (float)(0.05 * lmmiqa_rng_normal(&rng));
        d->x[i * 3 + 2] = (float)b;
        d->mos[i] = 50.0 + 20.0 * tanh(a) + 2.0 * b;
        for (int l = 0; l < 4; l++) {
            float *r = d->xr + (i * 4 + (size_t)l) * 3;
            r[0] = (float)a;
            r[1] = (float)l;
            r[2] = (float)b;
        }
        for (int u = 0; u < 4; u++)
            for (int v = u + 1; v < 4; v++) {
                d->pairs[2 * q] = i * 4 + (size_t)u;
                d->pairs[2 * q + 1] = i * 4 + (size_t)v;
                q++;
            }
    }
}

static void toy_free(toy *d)
{
    free(d->x);
    free(d->xr);
    free(d->mos);
    free(d->pairs);
}

/* Fraction of the toy's pairs the regressor orders right (strictly). */
static double pair_accuracy(const lmmiqa_regressor *reg, const toy *d)
{
    double *pred = malloc(d->nr * sizeof *pred);
    if (lmmiqa_regressor_predict(reg, d->xr, d->nr, pred) != LMMIQA_OK) {
        free(pred);
        return -1;
    }
    size_t good = 0;
    for (size_t q = 0; q < d->np; q++)
        good += pred[d->pairs[2 * q]] > pred[d->pairs[2 * q + 1]];
    free(pred);
    return (double)good / (double)d->np;
}

static void test_training_learns_order(void)
{
    toy tr, te;
    toy_make(&tr, 300, 5);
    toy_make(&te, 100, 6);
    lmmiqa_regressor_config cfg;
    lmmiqa_regressor_config_init(&cfg);
    cfg.hidden = 32;
    cfg.epochs = 30;
    cfg.threads = 1;
    cfg.rank_margin = 0.05;
    lmmiqa_rank_set rs = {tr.xr, tr.nr, tr.pairs, tr.np};
    lmmiqa_regressor *a = NULL, *b = NULL, *c = NULL, *plain = NULL, *nopairs = NULL;
    CHECK_OK(lmmiqa_regressor_train_ranked(&cfg, tr.x, tr.mos, tr.n, 3, 0, 100, NULL, NULL, 0,
                                           &rs, &a));
    CHECK_OK(lmmiqa_regressor_train_ranked(&cfg, tr.x, tr.mos, tr.n, 3, 0, 100, NULL, NULL, 0,
                                           &rs, &b));
    if (a) {
        double acc = pair_accuracy(a, &te);
        CHECK_MSG(acc >= 0.95, "held-out pair accuracy with ranking %.3f", acc);
        double *pred = malloc(tr.n * sizeof *pred), plcc = 0;
        CHECK_OK(lmmiqa_regressor_predict(a, tr.x, tr.n, pred));
        CHECK_OK(lmmiqa_metric_plcc(pred, tr.mos, tr.n, &plcc));
        CHECK_MSG(plcc > 0.9, "MOS PLCC with ranking %.3f", plcc);
        free(pred);
    }
    /* determinism */
    if (a && b) {
        size_t na, nb;
        const float *pa = lmmiqa__regressor_params(a, &na), *pb = lmmiqa__regressor_params(b, &nb);
        CHECK(na == nb && memcmp(pa, pb, na * sizeof *pa) == 0);
    }
    cfg.seed = 2;
    CHECK_OK(lmmiqa_regressor_train_ranked(&cfg, tr.x, tr.mos, tr.n, 3, 0, 100, NULL, NULL, 0,
                                           &rs, &c));
    if (a && c) {
        size_t na, nc;
        const float *pa = lmmiqa__regressor_params(a, &na), *pc = lmmiqa__regressor_params(c, &nc);
        CHECK(na == nc && memcmp(pa, pc, na * sizeof *pa) != 0);
    }
    /* no pairs = plain training, bit for bit */
    cfg.seed = 1;
    lmmiqa_rank_set empty = {tr.xr, tr.nr, tr.pairs, 0};
    CHECK_OK(lmmiqa_regressor_train(&cfg, tr.x, tr.mos, tr.n, 3, 0, 100, NULL, NULL, 0, &plain));
    CHECK_OK(lmmiqa_regressor_train_ranked(&cfg, tr.x, tr.mos, tr.n, 3, 0, 100, NULL, NULL, 0,
                                           &empty, &nopairs));
    if (plain && nopairs) {
        size_t n1, n2;
        const float *p1 = lmmiqa__regressor_params(plain, &n1);
        const float *p2 = lmmiqa__regressor_params(nopairs, &n2);
        CHECK(n1 == n2 && memcmp(p1, p2, n1 * sizeof *p1) == 0);
        double acc = pair_accuracy(plain, &te);
        fprintf(stderr, "     pair accuracy without ranking %.3f, with %.3f\n", acc,
                a ? pair_accuracy(a, &te) : -1.0);
    }
    lmmiqa_regressor_destroy(a);
    lmmiqa_regressor_destroy(b);
    lmmiqa_regressor_destroy(c);
    lmmiqa_regressor_destroy(plain);
    lmmiqa_regressor_destroy(nopairs);
    toy_free(&tr);
    toy_free(&te);
}

static void test_bad_args(void)
{
    toy d;
    toy_make(&d, 20, 9);
    lmmiqa_regressor_config cfg;
    lmmiqa_regressor_config_init(&cfg);
    cfg.hidden = 4;
    cfg.epochs = 1;
    cfg.threads = 1;
    lmmiqa_regressor *r = NULL;
    lmmiqa_rank_set rs = {d.xr, d.nr, d.pairs, d.np};
    d.pairs[7] = d.nr; /* pair 3's worse row is out of range */
    CHECK(lmmiqa_regressor_train_ranked(&cfg, d.x, d.mos, d.n, 3, 0, 100, NULL, NULL, 0, &rs,
                                        &r) == LMMIQA_ERR_INVALID_ARG);
    CHECK(strstr(lmmiqa_error_message(), "pair 3") != NULL);
    d.pairs[7] = d.pairs[6]; /* a row with itself */
    CHECK(lmmiqa_regressor_train_ranked(&cfg, d.x, d.mos, d.n, 3, 0, 100, NULL, NULL, 0, &rs,
                                        &r) == LMMIQA_ERR_INVALID_ARG);
    d.pairs[7] = d.pairs[6] + 1;
    d.xr[5] = NAN;
    CHECK(lmmiqa_regressor_train_ranked(&cfg, d.x, d.mos, d.n, 3, 0, 100, NULL, NULL, 0, &rs,
                                        &r) == LMMIQA_ERR_INVALID_ARG);
    CHECK(strstr(lmmiqa_error_message(), "ranking") != NULL);
    d.xr[5] = 0.0f;
    cfg.rank_lambda = -1;
    CHECK(lmmiqa_regressor_train_ranked(&cfg, d.x, d.mos, d.n, 3, 0, 100, NULL, NULL, 0, &rs,
                                        &r) == LMMIQA_ERR_INVALID_ARG);
    cfg.rank_lambda = 1;
    cfg.rank_margin = 2;
    CHECK(lmmiqa_regressor_train_ranked(&cfg, d.x, d.mos, d.n, 3, 0, 100, NULL, NULL, 0, &rs,
                                        &r) == LMMIQA_ERR_INVALID_ARG);
    cfg.rank_margin = 0.02;
    cfg.head = LMMIQA_HEAD_SVR;
    CHECK(lmmiqa_regressor_train_ranked(&cfg, d.x, d.mos, d.n, 3, 0, 100, NULL, NULL, 0, &rs,
                                        &r) == LMMIQA_ERR_INVALID_ARG);
    CHECK(strstr(lmmiqa_error_message(), "svr") != NULL);
    cfg.head = LMMIQA_HEAD_LINEAR;
    cfg.learning_rate = 1e-2;
    CHECK_OK(lmmiqa_regressor_train_ranked(&cfg, d.x, d.mos, d.n, 3, 0, 100, NULL, NULL, 0, &rs,
                                           &r));
    CHECK(r != NULL);
    lmmiqa_regressor_destroy(r);
    toy_free(&d);
}

int main(void)
{
    RUN(test_gradients);
    RUN(test_loss_without_pairs);
    RUN(test_training_learns_order);
    RUN(test_bad_args);
    return test_finish();
}
