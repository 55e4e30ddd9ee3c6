/*
 * tests/test_regressor.c - the FC block (MLP and linear heads), Adam, the
 * epsilon-SVR head and the regressor model file.
 *
 * Tolerances:
 *   - finite differences vs the double reference gradient: relative error
 *     (L2 over all parameters) < 1e-6, central differences with h = 1e-6;
 *   - float BLAS forward/backward vs the double reference: outputs within
 *     1e-6 absolute, gradients within 1e-4 relative (L2), each element within
 *     1e-4 * max|g|;
 *   - PyTorch golden (tools/ref/regressor_ref.py, torch 1.13, recorded in
 *     tests/data/regressor/): every step's loss and every final prediction
 *     within 1e-4 relative;
 *   - Adam: two steps against values worked out by hand (below), 1e-6;
 *   - SVR: KKT conditions of the dual recomputed in double from scratch,
 *     max violation <= 1.05 * tol + 1e-5; epsilon-tube properties.
 */
#include "test.h"

#include "core/internal.h"
#include "learn/mlp.h"
#include "learn/svr_smo.h"
#include "lmmiqa/metrics.h"
#include "lmmiqa/regressor.h"
#include "lmmiqa/rng.h"
#include "io/safetensors.h"

#include <stdint.h>

static const char *tmp_path(const char *name)
{
    static char buf[4][4096];
    static int k;
    char *b = buf[k++ & 3];
    snprintf(b, 4096, "%s/test_regressor_%s", LMMIQA_BINARY_DIR, name);
    return b;
}

static double l2(const double *a, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * a[i];
    return sqrt(s);
}

/* ---- gradients ------------------------------------------------------------ */

static void fd_check(size_t dim, size_t hidden, size_t batch, int dropout)
{
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 100 + dim + hidden + (size_t)dropout);
    size_t np = lmmiqa__mlp_param_count(dim, hidden);
    double *p = malloc(np * sizeof *p), *g = malloc(np * sizeof *g), *fd = malloc(np * sizeof *fd);
    double *x = malloc(batch * dim * sizeof *x), *t = malloc(batch * sizeof *t);
    double *mask = dropout ? malloc(batch * hidden * sizeof *mask) : NULL;
    for (size_t i = 0; i < np; i++)
        p[i] = 0.6 * lmmiqa_rng_normal(&rng);
    for (size_t i = 0; i < batch * dim; i++)
        x[i] = lmmiqa_rng_normal(&rng);
    for (size_t i = 0; i < batch; i++)
        t[i] = lmmiqa_rng_uniform(&rng);
    for (size_t i = 0; mask && i < batch * hidden; i++)
        mask[i] = lmmiqa_rng_uniform(&rng) < 0.3 ? 0.0 : 1.0 / 0.7;
    lmmiqa__mlp_ref_loss_grad(p, dim, hidden, x, batch, mask, t, NULL, g);
    const double h = 1e-6;
    for (size_t i = 0; i < np; i++) {
        double keep = p[i];
        p[i] = keep + h;
        double lp = lmmiqa__mlp_ref_loss_grad(p, dim, hidden, x, batch, mask, t, NULL, NULL);
        p[i] = keep - h;
        double lm = lmmiqa__mlp_ref_loss_grad(p, dim, hidden, x, batch, mask, t, NULL, NULL);
        p[i] = keep;
        fd[i] = (lp - lm) / (2.0 * h);
    }
    double *diff = malloc(np * sizeof *diff);
    for (size_t i = 0; i < np; i++)
        diff[i] = fd[i] - g[i];
    double rel = l2(diff, np) / fmax(l2(g, np), 1e-300);
    CHECK_MSG(rel < 1e-6, "dim %zu hidden %zu dropout %d: FD rel err %.3g", dim, hidden, dropout,
              rel);
    CHECK(l2(g, np) > 1e-6); /* the check is not vacuous */
    free(p);
    free(g);
    free(fd);
    free(x);
    free(t);
    free(mask);
    free(diff);
}

static void test_gradient_finite_differences(void)
{
    fd_check(7, 5, 6, 0);
    fd_check(7, 5, 6, 1);
    fd_check(9, 0, 4, 0); /* linear head */
}

static void blas_check(size_t dim, size_t hidden, size_t batch, int dropout)
{
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 7 + dim);
    size_t np = lmmiqa__mlp_param_count(dim, hidden);
    float *pf = malloc(np * sizeof *pf), *gf = malloc(np * sizeof *gf);
    double *pd = malloc(np * sizeof *pd), *gd = malloc(np * sizeof *gd);
    float *xf = malloc(batch * dim * sizeof *xf), *tf = malloc(batch * sizeof *tf);
    double *xd = malloc(batch * dim * sizeof *xd), *td = malloc(batch * sizeof *td);
    float *yf = malloc(batch * sizeof *yf);
    double *yd = malloc(batch * sizeof *yd);
    float *mf = dropout ? malloc(batch * hidden * sizeof *mf) : NULL;
    double *md = dropout ? malloc(batch * hidden * sizeof *md) : NULL;
    lmmiqa__mlp_init(pf, dim, hidden, &rng);
    for (size_t i = 0; i < np; i++)
        pd[i] = pf[i];
    for (size_t i = 0; i < batch * dim; i++)
        xd[i] = xf[i] = (float)lmmiqa_rng_normal(&rng);
    for (size_t i = 0; i < batch; i++)
        td[i] = tf[i] = (float)lmmiqa_rng_uniform(&rng);
    for (size_t i = 0; mf && i < batch * hidden; i++)
        md[i] = mf[i] = lmmiqa_rng_uniform(&rng) < 0.25 ? 0.0f : (float)(1.0 / 0.75);
    float *sb = malloc(lmmiqa__mlp_scratch_floats(hidden, batch) * sizeof *sb);
    lmmiqa__mlp_scratch s;
    lmmiqa__mlp_scratch_bind(&s, sb, hidden, batch);
    lmmiqa__mlp_forward(pf, dim, hidden, xf, batch, mf, &s, yf);
    double lf = lmmiqa__mlp_backward(pf, dim, hidden, xf, batch, mf, yf, tf, &s, gf);
    double ld = lmmiqa__mlp_ref_loss_grad(pd, dim, hidden, xd, batch, md, td, yd, gd);
    double ymax = 0.0, gmax = 0.0, emax = 0.0, d2 = 0.0;
    for (size_t i = 0; i < batch; i++)
        ymax = fmax(ymax, fabs(yf[i] - yd[i]));
    for (size_t i = 0; i < np; i++) {
        gmax = fmax(gmax, fabs(gd[i]));
        emax = fmax(emax, fabs(gf[i] - gd[i]));
        d2 += (gf[i] - gd[i]) * (gf[i] - gd[i]);
    }
    CHECK_MSG(ymax < 1e-6, "outputs differ by %.3g", ymax);
    CHECK_REL(lf, ld, 1e-5, 1e-12);
    CHECK_MSG(sqrt(d2) / l2(gd, np) < 1e-4, "grad rel err %.3g", sqrt(d2) / l2(gd, np));
    CHECK_MSG(emax <= 1e-4 * gmax, "grad max abs err %.3g vs max |g| %.3g", emax, gmax);
    free(pf);
    free(gf);
    free(pd);
    free(gd);
    free(xf);
    free(tf);
    free(xd);
    free(td);
    free(yf);
    free(yd);
    free(mf);
    free(md);
    free(sb);
}

static void test_blas_vs_reference(void)
{
    blas_check(37, 23, 13, 0);
    blas_check(37, 23, 13, 1);
    blas_check(64, 128, 32, 0);
    blas_check(41, 0, 17, 0);
}

/* ---- Adam ----------------------------------------------------------------- */

static void test_adam_hand_values(void)
{
    /* lr 0.01, weight decay 0.1, p0 = (1, -2, 0.5).
     * Step 1, g = (0.1, -0.2, 0): g' = g + 0.1 p0 = (0.2, -0.4, 0.05); m = 0.1 g',
     * v = 0.001 g'^2; bias-corrected m/sqrt(v) = sign(g') (up to eps), so
     * p1 = p0 - 0.01 sign(g') = (0.99, -1.99, 0.49).
     * Step 2, g = (0.3, 0.1, -0.05): g' = g + 0.1 p1 = (0.399, -0.099, -0.001);
     * m = 0.9 m + 0.1 g' = (0.0579, -0.0459, 0.0044);
     * v = 0.999 v + 0.001 g'^2 = (1.99161e-4, 1.69641e-4, 2.4985e-6);
     * p2 = p1 - 0.01 / 0.19 * m / (sqrt(v / 0.001999) + 1e-8)
     *    = (0.980345514, -1.981707222, 0.483449634). */
    float p[3] = {1.0f, -2.0f, 0.5f}, m[3] = {0}, v[3] = {0};
    const float g1[3] = {0.1f, -0.2f, 0.0f}, g2[3] = {0.3f, 0.1f, -0.05f};
    lmmiqa__adam a;
    lmmiqa__adam_init(&a, 0.01, 0.1);
    lmmiqa__adam_step(&a, p, g1, m, v, 3);
    CHECK_NEAR(p[0], 0.99, 1e-6);
    CHECK_NEAR(p[1], -1.99, 1e-6);
    CHECK_NEAR(p[2], 0.49, 1e-6);
    lmmiqa__adam_step(&a, p, g2, m, v, 3);
    CHECK_NEAR(m[0], 0.0579, 1e-7);
    CHECK_NEAR(m[1], -0.0459, 1e-7);
    CHECK_NEAR(m[2], 0.0044, 1e-7);
    CHECK_REL(v[0], 1.99161e-4, 1e-5, 0);
    CHECK_REL(v[1], 1.69641e-4, 1e-5, 0);
    CHECK_REL(v[2], 2.4985e-6, 1e-5, 0);
    CHECK_NEAR(p[0], 0.980345514, 1e-6);
    CHECK_NEAR(p[1], -1.981707222, 1e-6);
    CHECK_NEAR(p[2], 0.483449634, 1e-6);
    CHECK(a.step == 2);

    /* the AVX2 path (where the CPU has it) matches the plain loop bit for bit */
    enum { N = 1003 };
    static float p1[N], p2[N], m1[N], m2[N], v1[N], v2[N], g[N];
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 5);
    for (int i = 0; i < N; i++) {
        p1[i] = p2[i] = (float)lmmiqa_rng_normal(&rng);
        m1[i] = m2[i] = v1[i] = v2[i] = 0.0f;
    }
    lmmiqa__adam a1, a2;
    lmmiqa__adam_init(&a1, 3e-3, 0.01);
    lmmiqa__adam_init(&a2, 3e-3, 0.01);
    for (int s = 0; s < 5; s++) {
        for (int i = 0; i < N; i++)
            g[i] = (float)(1e-3 * lmmiqa_rng_normal(&rng));
        lmmiqa__adam_step_impl(&a1, p1, g, m1, v1, N, 1);
        lmmiqa__adam_step_impl(&a2, p2, g, m2, v2, N, 0);
    }
    CHECK(memcmp(p1, p2, sizeof p1) == 0 && memcmp(m1, m2, sizeof m1) == 0 &&
          memcmp(v1, v2, sizeof v1) == 0);
}

/* ---- PyTorch golden --------------------------------------------------------- */

typedef struct golden {
    double cfg[10];
    double *x, *mos, *init, *order, *loss, *pred;
    size_t nx, nmos, ninit, norder, nloss, npred;
    char *text;
} golden;

static double *parse_numbers(char *line, size_t *count)
{
    size_t cap = 64, n = 0;
    double *v = malloc(cap * sizeof *v);
    char *p = line;
    for (;;) {
        char *end;
        double d = strtod(p, &end);
        if (end == p)
            break;
        if (n == cap)
            v = realloc(v, (cap *= 2) * sizeof *v);
        v[n++] = d;
        p = end;
    }
    *count = n;
    return v;
}

static int golden_load(const char *name, golden *g)
{
    memset(g, 0, sizeof *g);
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/regressor/%s", LMMIQA_SOURCE_DIR, name);
    unsigned char *data;
    size_t size;
    if (lmmiqa__file_read_all(path, 1 << 20, &data, &size) != 0)
        return -1;
    g->text = (char *)data;
    for (char *line = strtok(g->text, "\n"); line; line = strtok(NULL, "\n")) {
        char *sp = strchr(line, ' ');
        if (line[0] == '#' || !sp)
            continue;
        *sp = '\0';
        size_t n;
        double *v = parse_numbers(sp + 1, &n);
        if (!strcmp(line, "config") && n == 10) {
            memcpy(g->cfg, v, sizeof g->cfg);
            free(v);
        } else if (!strcmp(line, "x")) {
            g->x = v, g->nx = n;
        } else if (!strcmp(line, "mos")) {
            g->mos = v, g->nmos = n;
        } else if (!strcmp(line, "init")) {
            g->init = v, g->ninit = n;
        } else if (!strcmp(line, "order")) {
            g->order = v, g->norder = n;
        } else if (!strcmp(line, "step_loss")) {
            g->loss = v, g->nloss = n;
        } else if (!strcmp(line, "pred")) {
            g->pred = v, g->npred = n;
        } else {
            free(v);
        }
    }
    return 0;
}

static void golden_free(golden *g)
{
    free(g->x);
    free(g->mos);
    free(g->init);
    free(g->order);
    free(g->loss);
    free(g->pred);
    free(g->text);
}

static void golden_check(const char *name)
{
    golden g;
    CHECK_MSG(golden_load(name, &g) == 0, "%s unreadable", name);
    size_t n = (size_t)g.cfg[0], dim = (size_t)g.cfg[1], hidden = (size_t)g.cfg[2];
    size_t epochs = (size_t)g.cfg[3], batch = (size_t)g.cfg[4];
    size_t steps = (n + batch - 1) / batch;
    size_t np = lmmiqa__mlp_param_count(dim, hidden);
    CHECK(n > 0 && g.nx == n * dim && g.nmos == n && g.ninit == np && g.norder == epochs * n &&
          g.nloss == epochs * steps && g.npred == n);
    if (!(n > 0 && g.nx == n * dim && g.nmos == n && g.ninit == np && g.norder == epochs * n &&
          g.nloss == epochs * steps && g.npred == n)) {
        golden_free(&g);
        return;
    }
    float *x = malloc(n * dim * sizeof *x), *init = malloc(np * sizeof *init);
    size_t *order = malloc(epochs * n * sizeof *order);
    double *loss = malloc(epochs * steps * sizeof *loss), *pred = malloc(n * sizeof *pred);
    for (size_t i = 0; i < n * dim; i++)
        x[i] = (float)g.x[i];
    for (size_t i = 0; i < np; i++)
        init[i] = (float)g.init[i];
    for (size_t i = 0; i < epochs * n; i++)
        order[i] = (size_t)g.order[i];
    lmmiqa_regressor_config cfg;
    lmmiqa_regressor_config_init(&cfg);
    cfg.head = hidden ? LMMIQA_HEAD_MLP : LMMIQA_HEAD_LINEAR;
    cfg.hidden = (int)(hidden ? hidden : 1);
    cfg.epochs = (int)epochs;
    cfg.batch_size = (int)batch;
    cfg.learning_rate = g.cfg[5];
    cfg.weight_decay = g.cfg[6];
    cfg.standardize = (int)g.cfg[9];
    cfg.threads = 1;
    lmmiqa__train_hooks hooks = {init, order, loss};
    lmmiqa_regressor *reg = NULL;
    CHECK_OK(lmmiqa__regressor_train_ex(&cfg, x, g.mos, n, dim, g.cfg[7], g.cfg[8], NULL, NULL, 0,
                                        &hooks, &reg));
    if (reg) {
        double wl = 0.0, wp = 0.0;
        for (size_t i = 0; i < epochs * steps; i++)
            wl = fmax(wl, fabs(loss[i] - g.loss[i]) / fabs(g.loss[i]));
        CHECK_MSG(wl < 1e-4, "%s: step loss rel err %.3g", name, wl);
        CHECK_OK(lmmiqa_regressor_predict(reg, x, n, pred));
        for (size_t i = 0; i < n; i++)
            wp = fmax(wp, fabs(pred[i] - g.pred[i]) / fabs(g.pred[i]));
        CHECK_MSG(wp < 1e-4, "%s: prediction rel err %.3g", name, wp);
        /* the run moved the weights: the last loss is below the first */
        CHECK(g.loss[epochs * steps - 1] < g.loss[0]);
        fprintf(stderr, "  %s: %zu steps, max rel err vs torch: loss %.2g, pred %.2g\n", name,
                epochs * steps, wl, wp);
    }
    lmmiqa_regressor_destroy(reg);
    free(x);
    free(init);
    free(order);
    free(loss);
    free(pred);
    golden_free(&g);
}

static void test_torch_golden(void)
{
    golden_check("mlp_golden.txt");
    golden_check("linear_golden.txt");
}

/* ---- behaviour on synthetic data ------------------------------------------ */

/* y = sigmoid(w . x / sqrt(dim)) on the MOS scale [0, 100], features with
 * wildly different scales (so standardisation matters). */
static void synth(uint64_t seed, size_t n, size_t dim, float *x, double *mos)
{
    lmmiqa_rng rng, wr;
    lmmiqa_rng_seed(&rng, seed);
    lmmiqa_rng_seed(&wr, 4242);
    double w[64];
    double scale[64];
    for (size_t k = 0; k < dim; k++) {
        w[k] = lmmiqa_rng_normal(&wr);
        scale[k] = pow(10.0, 4.0 * lmmiqa_rng_uniform(&wr) - 2.0);
    }
    for (size_t i = 0; i < n; i++) {
        double z = 0.0;
        for (size_t k = 0; k < dim; k++) {
            double u = lmmiqa_rng_normal(&rng);
            x[i * dim + k] = (float)(u * scale[k] + 3.0 * scale[k]);
            z += w[k] * u;
        }
        mos[i] = 100.0 / (1.0 + exp(-z / sqrt((double)dim)));
    }
}

static void test_learns_known_function(void)
{
    const size_t dim = 16, n = 800, nt = 300;
    float *x = malloc(n * dim * sizeof *x), *xt = malloc(nt * dim * sizeof *xt);
    double *mos = malloc(n * sizeof *mos), *mt = malloc(nt * sizeof *mt), *p = malloc(nt * sizeof *p);
    synth(1, n, dim, x, mos);
    synth(2, nt, dim, xt, mt);
    lmmiqa_regressor_config cfg;
    lmmiqa_regressor_config_init(&cfg);
    cfg.hidden = 64;
    cfg.epochs = 20;
    cfg.threads = 1;
    lmmiqa_head heads[2] = {LMMIQA_HEAD_MLP, LMMIQA_HEAD_LINEAR};
    for (int h = 0; h < 2; h++) {
        cfg.head = heads[h];
        cfg.learning_rate = h ? 1e-2 : 1e-3;
        lmmiqa_regressor *reg = NULL;
        CHECK_OK(lmmiqa_regressor_train(&cfg, x, mos, n, dim, 0.0, 100.0, NULL, NULL, 0, &reg));
        if (!reg)
            continue;
        CHECK(lmmiqa_regressor_dim(reg) == dim);
        CHECK(lmmiqa_regressor_head(reg) == heads[h]);
        CHECK_OK(lmmiqa_regressor_predict(reg, xt, nt, p));
        double plcc = 0.0;
        CHECK_OK(lmmiqa_metric_plcc(p, mt, nt, &plcc));
        CHECK_MSG(plcc > 0.95, "head %d: test PLCC %.4f", h, plcc);
        lmmiqa_regressor_history hist;
        lmmiqa_regressor_get_history(reg, &hist);
        CHECK(hist.epochs == 20 && hist.selected_epoch == 20);
        CHECK(hist.train_loss[19] < hist.train_loss[0]);
        CHECK(isnan(hist.val_plcc[0]));
        for (size_t i = 0; i < nt; i++)
            CHECK(p[i] >= 0.0 && p[i] <= 100.0);
        fprintf(stderr, "  %s head: test PLCC %.4f, loss %.4g -> %.4g\n", h ? "linear" : "mlp",
                plcc, hist.train_loss[0], hist.train_loss[19]);
        lmmiqa_regressor_destroy(reg);
    }
    /* without standardisation the MLP on these scales does markedly worse:
     * the reason it is on by default (docs/regressor.md) */
    cfg.head = LMMIQA_HEAD_MLP;
    cfg.learning_rate = 1e-3;
    cfg.standardize = 0;
    lmmiqa_regressor *raw = NULL;
    CHECK_OK(lmmiqa_regressor_train(&cfg, x, mos, n, dim, 0.0, 100.0, NULL, NULL, 0, &raw));
    if (raw) {
        double plcc = 0.0;
        CHECK_OK(lmmiqa_regressor_predict(raw, xt, nt, p));
        CHECK_OK(lmmiqa_metric_plcc(p, mt, nt, &plcc));
        fprintf(stderr, "  mlp without standardisation: test PLCC %.4f\n", plcc);
        CHECK(plcc < 0.95);
    }
    lmmiqa_regressor_destroy(raw);
    free(x);
    free(xt);
    free(mos);
    free(mt);
    free(p);
}

static lmmiqa_regressor *train_small(uint64_t seed, double dropout, const float *x,
                                     const double *mos, size_t n, size_t dim, const float *xv,
                                     const double *mv, size_t nv)
{
    lmmiqa_regressor_config cfg;
    lmmiqa_regressor_config_init(&cfg);
    cfg.hidden = 32;
    cfg.epochs = 6;
    cfg.batch_size = 16;
    cfg.dropout = dropout;
    cfg.seed = seed;
    cfg.threads = 1;
    lmmiqa_regressor *reg = NULL;
    CHECK_OK(lmmiqa_regressor_train(&cfg, x, mos, n, dim, 0.0, 100.0, xv, mv, nv, &reg));
    return reg;
}

static void test_determinism_and_validation(void)
{
    const size_t dim = 12, n = 200, nv = 60;
    float *x = malloc(n * dim * sizeof *x), *xv = malloc(nv * dim * sizeof *xv);
    double *mos = malloc(n * sizeof *mos), *mv = malloc(nv * sizeof *mv);
    double *p1 = malloc(nv * sizeof *p1), *p2 = malloc(nv * sizeof *p2);
    synth(5, n, dim, x, mos);
    synth(6, nv, dim, xv, mv);
    for (int drop = 0; drop < 2; drop++) {
        lmmiqa_regressor *a = train_small(9, drop ? 0.3 : 0.0, x, mos, n, dim, NULL, NULL, 0);
        lmmiqa_regressor *b = train_small(9, drop ? 0.3 : 0.0, x, mos, n, dim, NULL, NULL, 0);
        lmmiqa_regressor *c = train_small(10, drop ? 0.3 : 0.0, x, mos, n, dim, NULL, NULL, 0);
        if (a && b && c) {
            CHECK_OK(lmmiqa_regressor_predict(a, xv, nv, p1));
            CHECK_OK(lmmiqa_regressor_predict(b, xv, nv, p2));
            CHECK_MSG(memcmp(p1, p2, nv * sizeof *p1) == 0, "dropout %d: same seed differs", drop);
            CHECK_OK(lmmiqa_regressor_predict(c, xv, nv, p2));
            CHECK_MSG(memcmp(p1, p2, nv * sizeof *p1) != 0, "dropout %d: seeds agree", drop);
        }
        lmmiqa_regressor_destroy(a);
        lmmiqa_regressor_destroy(b);
        lmmiqa_regressor_destroy(c);
    }
    /* validation: the kept epoch is the one with the best PLCC + SROCC, and
     * the kept weights reproduce that epoch's validation PLCC */
    lmmiqa_regressor *r = train_small(3, 0.0, x, mos, n, dim, xv, mv, nv);
    if (r) {
        lmmiqa_regressor_history h;
        lmmiqa_regressor_get_history(r, &h);
        CHECK(h.epochs == 6 && h.selected_epoch >= 1 && h.selected_epoch <= 6);
        size_t best = 0;
        for (size_t e = 0; e < h.epochs; e++) {
            CHECK(isfinite(h.val_plcc[e]) && isfinite(h.val_srocc[e]));
            if (h.val_plcc[e] + h.val_srocc[e] > h.val_plcc[best] + h.val_srocc[best])
                best = e;
        }
        CHECK((int)best + 1 == h.selected_epoch);
        double plcc = 0.0;
        CHECK_OK(lmmiqa_regressor_predict(r, xv, nv, p1));
        CHECK_OK(lmmiqa_metric_plcc(p1, mv, nv, &plcc));
        CHECK_NEAR(plcc, h.val_plcc[best], 1e-12);
    }
    lmmiqa_regressor_destroy(r);
    free(x);
    free(xv);
    free(mos);
    free(mv);
    free(p1);
    free(p2);
}

/* ---- model file ------------------------------------------------------------ */

static void roundtrip(lmmiqa_regressor *reg, const float *x, size_t n, const char *file)
{
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    const char *meta = "{\"features\": \"brisque\", \"note\": \"test\"}";
    CHECK_OK(lmmiqa_regressor_save(reg, tmp_path(file), meta));
    lmmiqa_regressor *back = NULL;
    CHECK_OK(lmmiqa_regressor_load(tmp_path(file), &back));
    if (back) {
        CHECK(lmmiqa_regressor_dim(back) == lmmiqa_regressor_dim(reg));
        CHECK(lmmiqa_regressor_head(back) == lmmiqa_regressor_head(reg));
        CHECK(strcmp(lmmiqa_regressor_metadata(back), meta) == 0);
        CHECK_OK(lmmiqa_regressor_predict(reg, x, n, a));
        CHECK_OK(lmmiqa_regressor_predict(back, x, n, b));
        CHECK_MSG(memcmp(a, b, n * sizeof *a) == 0, "%s: loaded model predicts differently", file);
    }
    lmmiqa_regressor_destroy(back);
    free(a);
    free(b);
}

/* Copy a saved regressor file, dropping `drop`, adding `extra`, or giving
 * `reshape` a wrong shape. */
static void rewrite(const char *src, const char *dst, const char *drop, const char *extra,
                    const char *reshape)
{
    lmmiqa_safetensors *st = NULL;
    lmmiqa_safetensors_writer *w = NULL;
    CHECK_OK(lmmiqa_safetensors_open(src, &st));
    CHECK_OK(lmmiqa_safetensors_writer_create(&w));
    if (!st || !w)
        return;
    for (size_t t = 0; t < lmmiqa_safetensors_count(st); t++) {
        lmmiqa_tensor_info info;
        CHECK_OK(lmmiqa_safetensors_get(st, t, &info));
        if (drop && !strcmp(info.name, drop))
            continue;
        float *buf = malloc((info.numel + 1) * sizeof *buf);
        CHECK_OK(lmmiqa_safetensors_read_f32(st, info.name, buf, info.numel));
        int64_t shape[LMMIQA_TENSOR_MAX_DIMS];
        memcpy(shape, info.shape, sizeof shape);
        int ndim = info.ndim;
        if (reshape && !strcmp(info.name, reshape)) {
            /* same element count, different shape: [a, b] -> [b, a] or [n] -> [1, n] */
            if (ndim == 2) {
                int64_t tmp = shape[0];
                shape[0] = shape[1];
                shape[1] = tmp;
            } else {
                shape[1] = shape[0];
                shape[0] = 1;
                ndim = 2;
            }
        }
        CHECK_OK(lmmiqa_safetensors_writer_add(w, info.name, LMMIQA_DTYPE_F32, buf, ndim, shape));
        free(buf);
    }
    if (extra) {
        float one = 1.0f;
        int64_t shape[1] = {1};
        CHECK_OK(lmmiqa_safetensors_writer_add(w, extra, LMMIQA_DTYPE_F32, &one, 1, shape));
    }
    static const char *keys[] = {"format", "version", "head", "dim", "hidden", "standardize",
                                 "mos_min", "mos_max", "metadata", "svr_gamma", "svr_c",
                                 "svr_epsilon"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        const char *v = lmmiqa_safetensors_metadata(st, keys[k]);
        if (v)
            CHECK_OK(lmmiqa_safetensors_writer_set_metadata(w, keys[k], v));
    }
    CHECK_OK(lmmiqa_safetensors_writer_save(w, dst));
    lmmiqa_safetensors_writer_destroy(w);
    lmmiqa_safetensors_close(st);
}

static void expect_load_failure(const char *file, const char *needle)
{
    lmmiqa_regressor *r = NULL;
    int rc = lmmiqa_regressor_load(tmp_path(file), &r);
    CHECK_MSG(rc != 0 && r == NULL, "%s loaded", file);
    CHECK_MSG(strstr(lmmiqa_error_message(), needle) != NULL, "%s: message \"%s\" lacks \"%s\"",
              file, lmmiqa_error_message(), needle);
    lmmiqa_regressor_destroy(r);
}

static void test_save_load(void)
{
    const size_t dim = 6, n = 80;
    float *x = malloc(n * dim * sizeof *x);
    double *mos = malloc(n * sizeof *mos);
    synth(8, n, dim, x, mos);
    lmmiqa_regressor_config cfg;
    lmmiqa_regressor_config_init(&cfg);
    cfg.hidden = 10;
    cfg.epochs = 3;
    cfg.threads = 1;
    lmmiqa_regressor *mlp = NULL, *lin = NULL, *svr = NULL;
    CHECK_OK(lmmiqa_regressor_train(&cfg, x, mos, n, dim, 0.0, 100.0, NULL, NULL, 0, &mlp));
    cfg.head = LMMIQA_HEAD_LINEAR;
    CHECK_OK(lmmiqa_regressor_train(&cfg, x, mos, n, dim, 0.0, 100.0, NULL, NULL, 0, &lin));
    cfg.head = LMMIQA_HEAD_SVR;
    CHECK_OK(lmmiqa_regressor_train(&cfg, x, mos, n, dim, 0.0, 100.0, NULL, NULL, 0, &svr));
    if (mlp)
        roundtrip(mlp, x, n, "mlp.safetensors");
    if (lin)
        roundtrip(lin, x, n, "linear.safetensors");
    if (svr)
        roundtrip(svr, x, n, "svr.safetensors");
    if (mlp) {
        CHECK(lmmiqa_regressor_save(mlp, tmp_path("bad.safetensors"), "{not json") ==
              LMMIQA_ERR_INVALID_ARG);
        CHECK_OK(lmmiqa_regressor_save(mlp, tmp_path("nometa.safetensors"), NULL));
        lmmiqa_regressor *r = NULL;
        CHECK_OK(lmmiqa_regressor_load(tmp_path("nometa.safetensors"), &r));
        if (r)
            CHECK(strcmp(lmmiqa_regressor_metadata(r), "") == 0);
        lmmiqa_regressor_destroy(r);

        char src[4096];
        snprintf(src, sizeof src, "%s", tmp_path("mlp.safetensors"));
        rewrite(src, tmp_path("missing.safetensors"), "head.fc2.bias", NULL, NULL);
        expect_load_failure("missing.safetensors", "head.fc2.bias");
        rewrite(src, tmp_path("extra.safetensors"), NULL, "head.fc3.weight", NULL);
        expect_load_failure("extra.safetensors", "head.fc3.weight");
        rewrite(src, tmp_path("shape.safetensors"), NULL, NULL, "head.fc1.weight");
        expect_load_failure("shape.safetensors", "head.fc1.weight");
        rewrite(src, tmp_path("shape2.safetensors"), NULL, NULL, "input.std");
        expect_load_failure("shape2.safetensors", "input.std");
    }
    if (svr) {
        char src[4096];
        snprintf(src, sizeof src, "%s", tmp_path("svr.safetensors"));
        rewrite(src, tmp_path("svr_missing.safetensors"), "svr.rho", NULL, NULL);
        expect_load_failure("svr_missing.safetensors", "svr.rho");
    }
    expect_load_failure("does_not_exist.safetensors", "does_not_exist");
    lmmiqa_regressor_destroy(mlp);
    lmmiqa_regressor_destroy(lin);
    lmmiqa_regressor_destroy(svr);
    free(x);
    free(mos);
}

/* ---- bad arguments ---------------------------------------------------------- */

static void expect_train_error(const lmmiqa_regressor_config *cfg, const float *x,
                               const double *mos, size_t n, size_t dim, double lo, double hi,
                               size_t nv, const char *needle)
{
    lmmiqa_regressor *r = NULL;
    int rc = lmmiqa_regressor_train(cfg, x, mos, n, dim, lo, hi, nv ? x : NULL, nv ? mos : NULL,
                                    nv, &r);
    CHECK_MSG(rc == LMMIQA_ERR_INVALID_ARG && r == NULL, "expected an error about %s (rc %d)",
              needle, rc);
    CHECK_MSG(strstr(lmmiqa_error_message(), needle) != NULL, "message \"%s\" lacks \"%s\"",
              lmmiqa_error_message(), needle);
    lmmiqa_regressor_destroy(r);
}

static void test_bad_arguments(void)
{
    float x[4 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    double mos[4] = {10, 20, 30, 40};
    lmmiqa_regressor_config cfg;
    lmmiqa_regressor_config_init(&cfg);
    cfg.hidden = 4;
    cfg.epochs = 1;
    expect_train_error(&cfg, x, mos, 0, 3, 0, 100, 0, "n = 0");
    expect_train_error(&cfg, x, mos, 4, 0, 0, 100, 0, "dimension is 0");
    expect_train_error(&cfg, x, mos, 4, 3, 100, 100, 0, "MOS range");
    expect_train_error(&cfg, x, mos, 4, 3, 50, 0, 0, "MOS range");
    expect_train_error(&cfg, x, mos, 4, 3, 0, 35, 0, "MOS row 3");
    expect_train_error(&cfg, x, mos, 2, 3, 0, 100, 2, "at least 3");
    x[7] = NAN;
    expect_train_error(&cfg, x, mos, 4, 3, 0, 100, 0, "row 2 column 1");
    x[7] = 8;
    lmmiqa_regressor_config bad = cfg;
    bad.dropout = 1.0;
    expect_train_error(&bad, x, mos, 4, 3, 0, 100, 0, "dropout");
    bad = cfg;
    bad.hidden = 0;
    expect_train_error(&bad, x, mos, 4, 3, 0, 100, 0, "hidden");
    bad = cfg;
    bad.learning_rate = -1;
    expect_train_error(&bad, x, mos, 4, 3, 0, 100, 0, "learning_rate");
    bad = cfg;
    bad.batch_size = 0;
    expect_train_error(&bad, x, mos, 4, 3, 0, 100, 0, "batch_size");
    bad = cfg;
    bad.head = LMMIQA_HEAD_SVR;
    bad.svr_c = 0;
    expect_train_error(&bad, x, mos, 4, 3, 0, 100, 0, "svr_c");

    /* prediction rejects non-finite input, naming the row */
    lmmiqa_regressor *r = NULL;
    CHECK_OK(lmmiqa_regressor_train(&cfg, x, mos, 4, 3, 0, 100, NULL, NULL, 0, &r));
    if (r) {
        double out[4];
        x[4] = INFINITY;
        CHECK(lmmiqa_regressor_predict(r, x, 4, out) == LMMIQA_ERR_INVALID_ARG);
        CHECK(strstr(lmmiqa_error_message(), "row 1 column 1") != NULL);
        x[4] = 5;
        CHECK_OK(lmmiqa_regressor_predict(r, x, 4, out));
    }
    lmmiqa_regressor_destroy(r);
    /* a constant feature column is accepted (std treated as 1) */
    float xc[4 * 2] = {1, 5, 2, 5, 3, 5, 4, 5};
    CHECK_OK(lmmiqa_regressor_train(&cfg, xc, mos, 4, 2, 0, 100, NULL, NULL, 0, &r));
    lmmiqa_regressor_destroy(r);
}

/* ---- SVR ------------------------------------------------------------------- */

/* Max KKT violation m(a) - M(a) of the epsilon-SVR dual, recomputed in double. */
static double kkt_gap(const lmmiqa__svr_problem *p, const lmmiqa__svr_solution *s, double *eq)
{
    size_t n = p->n, l = 2 * n;
    double up = -INFINITY, low = INFINITY, sum = 0.0;
    for (size_t t = 0; t < l; t++) {
        double st = t < n ? 1.0 : -1.0;
        double g = t < n ? p->epsilon - p->y[t] : p->epsilon + p->y[t - n];
        for (size_t u = 0; u < l; u++) {
            double su = u < n ? 1.0 : -1.0;
            g += st * su *
                 lmmiqa__svr_rbf(p->x + (t % n) * p->dim, p->x + (u % n) * p->dim, p->dim,
                                 p->gamma) *
                 s->alpha[u];
        }
        double a = s->alpha[t], v = -st * g;
        sum += st * a;
        int in_up = (st > 0 && a < p->c) || (st < 0 && a > 0);
        int in_low = (st > 0 && a > 0) || (st < 0 && a < p->c);
        if (in_up)
            up = fmax(up, v);
        if (in_low)
            low = fmin(low, v);
        CHECK(a >= 0.0 && a <= p->c);
    }
    *eq = sum;
    return up - low;
}

static void test_svr_solver_kkt(void)
{
    const size_t n = 120, dim = 3;
    float *x = malloc(n * dim * sizeof *x);
    double *y = malloc(n * sizeof *y);
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 77);
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t k = 0; k < dim; k++) {
            x[i * dim + k] = (float)lmmiqa_rng_normal(&rng);
            s += x[i * dim + k];
        }
        y[i] = 0.5 + 0.3 * tanh(s) + 0.05 * lmmiqa_rng_normal(&rng);
    }
    double cs[2] = {0.5, 20.0};
    for (int k = 0; k < 2; k++) {
        lmmiqa__svr_problem p = {x, y, n, dim, cs[k], 0.03, 0.5, 1e-3, 0};
        lmmiqa__svr_solution s;
        CHECK_OK(lmmiqa__svr_solve(&p, &s));
        if (!s.alpha)
            continue;
        double eq;
        double gap = kkt_gap(&p, &s, &eq);
        CHECK(s.converged);
        CHECK_MSG(gap <= 1.05 * p.tol + 1e-5, "C %g: KKT gap %.3g", p.c, gap);
        CHECK_NEAR(eq, 0.0, 1e-9);
        /* epsilon tube: |r_i| < eps -> coef 0; |r_i| > eps -> |coef| = C */
        size_t at_c = 0, free_sv = 0, inside = 0;
        for (size_t i = 0; i < n; i++) {
            double f = -s.rho;
            for (size_t j = 0; j < n; j++)
                f += s.coef[j] * lmmiqa__svr_rbf(x + j * dim, x + i * dim, dim, p.gamma);
            double r = fabs(f - y[i]);
            if (r < p.epsilon - 2e-3) {
                CHECK_MSG(s.coef[i] == 0.0, "row %zu inside the tube has coef %g", i, s.coef[i]);
                inside++;
            }
            if (r > p.epsilon + 2e-3) {
                CHECK_MSG(fabs(fabs(s.coef[i]) - p.c) < 1e-12, "row %zu outside has coef %g", i,
                          s.coef[i]);
                at_c++;
            }
            if (s.coef[i] != 0.0 && fabs(s.coef[i]) < p.c)
                free_sv++;
        }
        CHECK(inside > 0 && free_sv > 0);
        fprintf(stderr, "  SVR C=%g: %ld iterations, KKT gap %.2g, %zu inside tube, %zu at C, "
                        "%zu free SVs\n", p.c, s.iterations, gap, inside, at_c, free_sv);
        lmmiqa__svr_solution_free(&s);
    }
    free(x);
    free(y);
}

static void test_svr_fits_sine(void)
{
    /* 1-D: mos = sin(x) on [0, 2 pi], scale [-1.25, 1.25]; with a small tube
     * the fit follows the curve to within epsilon (+ the solver tolerance). */
    const size_t n = 60, nt = 50;
    float x[60], xt[50];
    double mos[60], p[60], pt[50];
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)(6.283185307179586 * (double)i / (double)(n - 1));
        mos[i] = sin(x[i]);
    }
    lmmiqa_regressor_config cfg;
    lmmiqa_regressor_config_init(&cfg);
    cfg.head = LMMIQA_HEAD_SVR;
    cfg.standardize = 0;
    cfg.svr_c = 10.0;
    cfg.svr_epsilon = 0.01;
    cfg.svr_gamma = 1.0;
    lmmiqa_regressor *r = NULL;
    CHECK_OK(lmmiqa_regressor_train(&cfg, x, mos, n, 1, -1.25, 1.25, NULL, NULL, 0, &r));
    if (!r)
        return;
    CHECK_OK(lmmiqa_regressor_predict(r, x, n, p));
    double worst = 0.0;
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs(p[i] - mos[i]) / 2.5);
    CHECK_MSG(worst <= 0.01 + 2e-3, "max train residual %.4g (normalised)", worst);
    for (size_t i = 0; i < nt; i++)
        xt[i] = (float)(0.1 + 6.0 * (double)i / (double)nt);
    CHECK_OK(lmmiqa_regressor_predict(r, xt, nt, pt));
    worst = 0.0;
    for (size_t i = 0; i < nt; i++)
        worst = fmax(worst, fabs(pt[i] - sin(xt[i])));
    CHECK_MSG(worst < 0.05, "between samples: max |f - sin| %.4g", worst);
    lmmiqa_regressor_history h;
    lmmiqa_regressor_get_history(r, &h);
    CHECK(h.svr_converged && h.svr_iterations > 0);
    lmmiqa_regressor_destroy(r);
}

/* A row's prediction is bit-identical alone, in a full batch, and in a
 * batch of other rows in another order, for every head. Wide inputs and a
 * wide hidden layer so that BLAS would take different blocking paths for
 * different batch sizes. */
static void test_batch_invariant_predict(void)
{
    const size_t dim = 64, n = 97;
    float *x = malloc(n * dim * sizeof *x);
    double *mos = malloc(n * sizeof *mos), *all = malloc(n * sizeof *all);
    synth(5, n, dim, x, mos);
    lmmiqa_head heads[3] = {LMMIQA_HEAD_MLP, LMMIQA_HEAD_LINEAR, LMMIQA_HEAD_SVR};
    for (int h = 0; h < 3; h++) {
        lmmiqa_regressor_config cfg;
        lmmiqa_regressor_config_init(&cfg);
        cfg.head = heads[h];
        cfg.hidden = 256;
        cfg.epochs = 2;
        cfg.threads = 1;
        lmmiqa_regressor *reg = NULL;
        CHECK_OK(lmmiqa_regressor_train(&cfg, x, mos, n, dim, 0.0, 100.0, NULL, NULL, 0, &reg));
        if (!reg)
            continue;
        CHECK_OK(lmmiqa_regressor_predict(reg, x, n, all));
        int same = 1;
        for (size_t i = 0; i < n; i++) {
            double one;
            CHECK_OK(lmmiqa_regressor_predict(reg, x + i * dim, 1, &one));
            same &= memcmp(&one, &all[i], sizeof one) == 0;
        }
        CHECK_MSG(same, "head %d: a row alone differs from the same row in a batch", h);
        /* rows 90..96 then 0..2, as one batch of 10 */
        float xb[10 * 64];
        double pb[10];
        for (size_t r = 0; r < 10; r++)
            memcpy(xb + r * dim, x + (r < 7 ? 90 + r : r - 7) * dim, dim * sizeof *xb);
        CHECK_OK(lmmiqa_regressor_predict(reg, xb, 10, pb));
        same = 1;
        for (size_t r = 0; r < 10; r++)
            same &= memcmp(&pb[r], &all[r < 7 ? 90 + r : r - 7], sizeof pb[r]) == 0;
        CHECK_MSG(same, "head %d: a row in another batch differs", h);
        lmmiqa_regressor_destroy(reg);
    }
    free(x);
    free(mos);
    free(all);
}

int main(void)
{
    RUN(test_gradient_finite_differences);
    RUN(test_blas_vs_reference);
    RUN(test_adam_hand_values);
    RUN(test_torch_golden);
    RUN(test_learns_known_function);
    RUN(test_determinism_and_validation);
    RUN(test_save_load);
    RUN(test_bad_arguments);
    RUN(test_svr_solver_kkt);
    RUN(test_svr_fits_sine);
    RUN(test_batch_invariant_predict);
    return test_finish();
}
