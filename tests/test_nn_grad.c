/*
 * tests/test_nn_grad.c - every backward kernel of the training engine
 * (include/lmmiqa/nn.h) against central finite differences of its forward
 * pass, on tiny random shapes, plus the im2col convolution against the
 * plain reference loops and the optimizers against hand-computed steps.
 *
 * Method: L = sum(y * r) for a fixed random r, so dL/dy = r; each input
 * element is moved by +-h (h = 1e-3) and (L+ - L-)/2h compared with the
 * analytic gradient. Tolerance: max abs error <= 1e-2 * max(1, max |grad|)
 * (float32 forward passes; L accumulated in double).
 */
#include "nn/nn.h"

#include "test.h"

#include <stdint.h>

#define H_STEP 1e-3f

typedef void (*fwd_fn)(void *ctx, float *y);

static void fill(lmmiqa_rng *rng, float *x, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++) {
        float v = (float)((lmmiqa_rng_uniform(rng) * 2.0 - 1.0) * scale);
        /* keep clear of ReLU/max kinks by more than the step */
        if (fabsf(v) < 0.02f * scale)
            v = v < 0 ? -0.02f * scale : 0.02f * scale;
        x[i] = v;
    }
}

static double loss_of(fwd_fn f, void *ctx, float *y, size_t ny, const float *r)
{
    f(ctx, y);
    double acc = 0.0;
    for (size_t i = 0; i < ny; i++)
        acc += (double)y[i] * r[i];
    return acc;
}

/* Compare analytic grad[n] of the tensor x[n] (read by f) with differences. */
static void check_grad(const char *what, fwd_fn f, void *ctx, float *x, size_t n,
                       const float *grad, size_t ny, const float *r)
{
    float *y = malloc(ny * sizeof *y);
    double max_err = 0.0, max_g = 1.0;
    for (size_t i = 0; i < n; i++) {
        float keep = x[i];
        x[i] = keep + H_STEP;
        double lp = loss_of(f, ctx, y, ny, r);
        x[i] = keep - H_STEP;
        double lm = loss_of(f, ctx, y, ny, r);
        x[i] = keep;
        double num = (lp - lm) / (2.0 * H_STEP);
        double err = fabs(num - grad[i]);
        if (err > max_err)
            max_err = err;
        if (fabs(grad[i]) > max_g)
            max_g = fabs(grad[i]);
    }
    CHECK_MSG(max_err <= 1e-2 * max_g, "%s: max abs error %.3g (max |grad| %.3g)", what, max_err,
              max_g);
    free(y);
}

/* ------------------------------------------------------------------ conv */
struct conv_ctx {
    lmmiqa_nn_conv2d c;
    int n, h, w;
    float *x, *wt, *b, *scratch;
};

static void conv_fwd(void *p, float *y)
{
    struct conv_ctx *c = p;
    lmmiqa_nn_conv2d_forward(&c->c, c->n, c->h, c->w, c->x, c->wt, c->b, y, c->scratch);
}

static void conv_case(lmmiqa_nn_conv2d d, int n, int h, int w)
{
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 42);
    int oh = lmmiqa_nn_conv2d_out_h(&d, h), ow = lmmiqa_nn_conv2d_out_w(&d, w);
    size_t nx = (size_t)n * d.in_ch * h * w, ny = (size_t)n * d.out_ch * oh * ow;
    size_t nw = (size_t)d.out_ch * (d.in_ch / d.groups) * d.kh * d.kw;
    struct conv_ctx c = {d, n, h, w, malloc(nx * 4), malloc(nw * 4), malloc(d.out_ch * 4),
                         malloc(lmmiqa_nn_conv2d_scratch(&d, n, h, w) * 4)};
    fill(&rng, c.x, nx, 1.0f);
    fill(&rng, c.wt, nw, 0.5f);
    fill(&rng, c.b, (size_t)d.out_ch, 0.5f);
    float *y = malloc(ny * 4), *yref = malloc(ny * 4), *r = malloc(ny * 4);
    conv_fwd(&c, y);
    lmmiqa_nn_conv2d_forward_ref(&d, n, h, w, c.x, c.wt, c.b, yref);
    double max_err = 0.0;
    for (size_t i = 0; i < ny; i++)
        max_err = fmax(max_err, fabs(y[i] - yref[i]));
    CHECK_MSG(max_err < 1e-5, "conv forward vs reference: %.3g", max_err);
    fill(&rng, r, ny, 1.0f);
    float *dx = malloc(nx * 4), *dw = calloc(nw, 4), *db = calloc((size_t)d.out_ch, 4);
    lmmiqa_nn_conv2d_backward(&d, n, h, w, c.x, c.wt, r, dx, dw, db, c.scratch);
    char what[128];
    snprintf(what, sizeof what, "conv k%dx%d s%d p%d g%d dx", d.kh, d.kw, d.stride_h, d.pad_h,
             d.groups);
    check_grad(what, conv_fwd, &c, c.x, nx, dx, ny, r);
    what[strlen(what) - 1] = 'w';
    check_grad(what, conv_fwd, &c, c.wt, nw, dw, ny, r);
    what[strlen(what) - 1] = 'b';
    check_grad(what, conv_fwd, &c, c.b, (size_t)d.out_ch, db, ny, r);
    /* the oneDNN plan: same forward, same gradients as the checked path */
    lmmiqa_nn_conv2d_plan *plan = NULL;
    CHECK_OK(lmmiqa_nn_conv2d_plan_create(&d, n, h, w, 1, &plan));
    if (plan) {
        float *dx2 = malloc(nx * 4), *dw2 = calloc(nw, 4), *db2 = calloc((size_t)d.out_ch, 4);
        CHECK_OK(lmmiqa_nn_conv2d_plan_forward(plan, c.x, c.wt, c.b, y));
        max_err = 0.0;
        for (size_t i = 0; i < ny; i++)
            max_err = fmax(max_err, fabs(y[i] - yref[i]));
        CHECK_MSG(max_err < 1e-5, "oneDNN conv forward vs reference: %.3g", max_err);
        CHECK_OK(lmmiqa_nn_conv2d_plan_backward(plan, c.x, c.wt, r, dx2, dw2, db2));
        double ex = 0, ew = 0, eb = 0;
        for (size_t i = 0; i < nx; i++)
            ex = fmax(ex, fabs(dx[i] - dx2[i]));
        for (size_t i = 0; i < nw; i++)
            ew = fmax(ew, fabs(dw[i] - dw2[i]));
        for (int i = 0; i < d.out_ch; i++)
            eb = fmax(eb, fabs(db[i] - db2[i]));
        CHECK_MSG(ex < 1e-4 && ew < 1e-4 && eb < 1e-4, "oneDNN conv backward: dx %.3g dw %.3g db %.3g",
                  ex, ew, eb);
        free(dx2), free(dw2), free(db2);
        lmmiqa_nn_conv2d_plan_destroy(plan);
    }
    free(c.x), free(c.wt), free(c.b), free(c.scratch), free(y), free(yref), free(r), free(dx),
        free(dw), free(db);
}

static void test_conv(void)
{
    conv_case((lmmiqa_nn_conv2d){2, 3, 3, 3, 1, 1, 1, 1, 1}, 2, 5, 6);
    conv_case((lmmiqa_nn_conv2d){3, 4, 7, 7, 2, 2, 3, 3, 1}, 2, 9, 8);
    conv_case((lmmiqa_nn_conv2d){4, 6, 3, 3, 2, 1, 1, 0, 2}, 1, 6, 7);
    conv_case((lmmiqa_nn_conv2d){3, 2, 1, 1, 2, 2, 0, 0, 1}, 3, 5, 5);
    conv_case((lmmiqa_nn_conv2d){1, 5, 7, 7, 1, 1, 0, 0, 1}, 2, 10, 9);
}

/* ---------------------------------------------------------------- linear */
struct lin_ctx {
    int n, in, out;
    float *x, *w, *b;
};

static void lin_fwd(void *p, float *y)
{
    struct lin_ctx *c = p;
    lmmiqa_nn_linear_forward(c->n, c->in, c->out, c->x, c->w, c->b, y);
}

static void test_linear(void)
{
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 1);
    struct lin_ctx c = {3, 5, 4, malloc(15 * 4), malloc(20 * 4), malloc(4 * 4)};
    fill(&rng, c.x, 15, 1), fill(&rng, c.w, 20, 1), fill(&rng, c.b, 4, 1);
    float r[12], dx[15], dw[20] = {0}, db[4] = {0};
    fill(&rng, r, 12, 1);
    lmmiqa_nn_linear_backward(3, 5, 4, c.x, c.w, r, dx, dw, db);
    check_grad("linear dx", lin_fwd, &c, c.x, 15, dx, 12, r);
    check_grad("linear dw", lin_fwd, &c, c.w, 20, dw, 12, r);
    check_grad("linear db", lin_fwd, &c, c.b, 4, db, 12, r);
    free(c.x), free(c.w), free(c.b);
}

/* ----------------------------------------------------------- activations */
struct act_ctx {
    int kind; /* 0 relu, 1 prelu, 2 sigmoid, 3 dropout */
    int n, ch;
    size_t hw;
    float *x, *a;
    int na;
    float *mask;
};

static void act_fwd(void *p, float *y)
{
    struct act_ctx *c = p;
    size_t cnt = (size_t)c->n * c->ch * c->hw;
    if (c->kind == 0)
        lmmiqa_nn_relu_forward(cnt, c->x, y);
    else if (c->kind == 1)
        lmmiqa_nn_prelu_forward(c->n, c->ch, c->hw, c->x, c->a, c->na, y);
    else if (c->kind == 2)
        lmmiqa_nn_sigmoid_forward(cnt, c->x, y);
    else
        for (size_t i = 0; i < cnt; i++)
            y[i] = c->x[i] * c->mask[i];
}

static void test_activations(void)
{
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 2);
    enum { N = 2, CH = 3, HW = 4, CNT = N * CH * HW };
    float x[CNT], a[CH], r[CNT], y[CNT], dx[CNT], mask[CNT];
    fill(&rng, x, CNT, 2), fill(&rng, a, CH, 0.5f), fill(&rng, r, CNT, 1);
    struct act_ctx c = {0, N, CH, HW, x, a, 1, mask};
    lmmiqa_nn_relu_forward(CNT, x, y);
    lmmiqa_nn_relu_backward(CNT, y, r, dx);
    check_grad("relu dx", act_fwd, &c, x, CNT, dx, CNT, r);
    for (int na = 1; na <= CH; na += CH - 1) {
        float da[CH] = {0};
        c.kind = 1, c.na = na;
        lmmiqa_nn_prelu_backward(N, CH, HW, x, a, na, r, dx, da);
        check_grad(na == 1 ? "prelu(1) dx" : "prelu(ch) dx", act_fwd, &c, x, CNT, dx, CNT, r);
        check_grad(na == 1 ? "prelu(1) da" : "prelu(ch) da", act_fwd, &c, a, (size_t)na, da, CNT,
                   r);
    }
    c.kind = 2;
    lmmiqa_nn_sigmoid_forward(CNT, x, y);
    lmmiqa_nn_sigmoid_backward(CNT, y, r, dx);
    check_grad("sigmoid dx", act_fwd, &c, x, CNT, dx, CNT, r);
    /* dropout: mask statistics and the gradient through a fixed mask */
    c.kind = 3;
    lmmiqa_nn_dropout_forward(CNT, 0.5f, &rng, x, mask, y);
    int zeros = 0;
    for (int i = 0; i < CNT; i++) {
        CHECK(mask[i] == 0.0f || mask[i] == 2.0f);
        CHECK(y[i] == x[i] * mask[i]);
        zeros += mask[i] == 0.0f;
    }
    CHECK(zeros > 0 && zeros < CNT);
    lmmiqa_nn_dropout_backward(CNT, mask, r, dx);
    check_grad("dropout dx", act_fwd, &c, x, CNT, dx, CNT, r);
    static float big_x[10000], big_m[10000], big_y[10000];
    lmmiqa_nn_dropout_forward(10000, 0.3f, &rng, big_x, big_m, big_y);
    int z = 0;
    for (int i = 0; i < 10000; i++)
        z += big_m[i] == 0.0f;
    CHECK_NEAR(z / 10000.0, 0.3, 0.03);
}

/* --------------------------------------------------------------- pooling */
struct pool_ctx {
    lmmiqa_nn_pool2d p;
    int global, n, ch, h, w;
    float *x;
    int32_t *idx;
};

static void pool_fwd(void *p, float *y)
{
    struct pool_ctx *c = p;
    if (c->global)
        lmmiqa_nn_global_pool_forward(c->p.kind, c->n, c->ch, (size_t)c->h * c->w, c->x, y,
                                      c->idx);
    else
        lmmiqa_nn_pool2d_forward(&c->p, c->n, c->ch, c->h, c->w, c->x, y, c->idx);
}

static void pool_case(lmmiqa_nn_pool2d p, int global)
{
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 3);
    int n = 2, ch = 3, h = 7, w = 6;
    size_t nx = (size_t)n * ch * h * w;
    int oh = global ? 1 : lmmiqa_nn_pool2d_out_h(&p, h), ow = global ? 1 : lmmiqa_nn_pool2d_out_w(&p, w);
    size_t ny = (size_t)n * ch * oh * ow;
    float *x = malloc(nx * 4), *dx = malloc(nx * 4), *y = malloc(ny * 4), *r = malloc(ny * 4);
    int32_t *idx = malloc(ny * sizeof *idx);
    /* distinct values spaced well beyond the step, so no argmax flips */
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)((i * 37) % nx) * 0.01f - 1.0f;
    fill(&rng, r, ny, 1);
    struct pool_ctx c = {p, global, n, ch, h, w, x, idx};
    pool_fwd(&c, y);
    if (global)
        lmmiqa_nn_global_pool_backward(p.kind, n, ch, (size_t)h * w, idx, r, dx);
    else
        lmmiqa_nn_pool2d_backward(&p, n, ch, h, w, idx, r, dx);
    static const char *names[] = {"max", "min", "avg"};
    char what[64];
    snprintf(what, sizeof what, "%s %spool dx", names[p.kind], global ? "global " : "");
    check_grad(what, pool_fwd, &c, x, nx, dx, ny, r);
    if (global && p.kind != LMMIQA_NN_POOL_AVG) {
        for (int q = 0; q < n * ch; q++) {
            float best = x[(size_t)q * h * w];
            for (int i = 1; i < h * w; i++) {
                float v = x[(size_t)q * h * w + i];
                best = p.kind == LMMIQA_NN_POOL_MAX ? fmaxf(best, v) : fminf(best, v);
            }
            CHECK(y[q] == best);
        }
    }
    free(x), free(dx), free(y), free(r), free(idx);
}

static void test_pooling(void)
{
    pool_case((lmmiqa_nn_pool2d){LMMIQA_NN_POOL_MAX, 3, 3, 2, 2, 1, 1}, 0);
    pool_case((lmmiqa_nn_pool2d){LMMIQA_NN_POOL_MIN, 2, 2, 2, 2, 0, 0}, 0);
    pool_case((lmmiqa_nn_pool2d){LMMIQA_NN_POOL_AVG, 3, 2, 1, 2, 1, 0}, 0);
    pool_case((lmmiqa_nn_pool2d){LMMIQA_NN_POOL_MAX, 0, 0, 0, 0, 0, 0}, 1);
    pool_case((lmmiqa_nn_pool2d){LMMIQA_NN_POOL_MIN, 0, 0, 0, 0, 0, 0}, 1);
    pool_case((lmmiqa_nn_pool2d){LMMIQA_NN_POOL_AVG, 0, 0, 0, 0, 0, 0}, 1);
}

/* ------------------------------------------------------------ batch norm */
struct bn_ctx {
    int n, ch;
    size_t hw;
    float *x, *g, *b, *rm, *rv;
    int training;
    float sm[8], si[8];
};

static void bn_fwd(void *p, float *y)
{
    struct bn_ctx *c = p;
    float rm[8], rv[8];
    memcpy(rm, c->rm, sizeof rm);
    memcpy(rv, c->rv, sizeof rv);
    lmmiqa_nn_batchnorm_forward(c->n, c->ch, c->hw, c->x, c->g, c->b, rm, rv, c->training, 0.1f,
                                1e-5f, y, c->sm, c->si);
}

static void test_batchnorm(void)
{
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 4);
    for (int training = 0; training <= 1; training++)
        for (int hw = 1; hw <= 5; hw += 4) {
            int n = 3, ch = 4;
            size_t cnt = (size_t)n * ch * hw;
            float x[60], dx[60], y[60], r[60], g[4], b[4], rm[8], rv[8], dg[4] = {0},
                                                                         db[4] = {0};
            fill(&rng, x, cnt, 2), fill(&rng, r, cnt, 1), fill(&rng, g, 4, 1), fill(&rng, b, 4, 1);
            for (int i = 0; i < 8; i++)
                rm[i] = 0.1f * i, rv[i] = 1.0f + 0.2f * i;
            struct bn_ctx c = {n, ch, (size_t)hw, x, g, b, rm, rv, training, {0}, {0}};
            bn_fwd(&c, y);
            lmmiqa_nn_batchnorm_backward(n, ch, (size_t)hw, x, g, c.sm, c.si, training, r, dx, dg,
                                         db);
            char what[64];
            snprintf(what, sizeof what, "batchnorm %s hw=%d", training ? "train" : "eval", hw);
            check_grad(what, bn_fwd, &c, x, cnt, dx, cnt, r);
            check_grad(what, bn_fwd, &c, g, 4, dg, cnt, r);
            check_grad(what, bn_fwd, &c, b, 4, db, cnt, r);
        }
    /* running statistics: momentum update with the unbiased variance */
    float x[6] = {1, 2, 3, 4, 5, 6}, y[6], rm[1] = {0}, rv[1] = {1}, sm[1], si[1];
    lmmiqa_nn_batchnorm_forward(6, 1, 1, x, NULL, NULL, rm, rv, 1, 0.1f, 1e-5f, y, sm, si);
    CHECK_NEAR(rm[0], 0.35, 1e-6);
    CHECK_NEAR(rv[0], 0.9 + 0.1 * 3.5, 1e-6);
    CHECK_NEAR(y[0], -2.5 / sqrt(35.0 / 12.0 + 1e-5), 1e-5);
}

/* ---------------------------------------------------------------- losses */
static void test_losses(void)
{
    float p[3] = {1.0f, -2.0f, 0.5f}, t[3] = {0.0f, 1.0f, 0.5f}, d[3];
    CHECK_NEAR(lmmiqa_nn_mse_loss(3, p, t, d), (1.0 + 9.0) / 3.0, 1e-6);
    CHECK_NEAR(d[0], 2.0 / 3.0, 1e-6);
    CHECK_NEAR(d[1], -2.0, 1e-6);
    CHECK_NEAR(lmmiqa_nn_l1_loss(3, p, t, d), 4.0 / 3.0, 1e-6);
    CHECK_NEAR(d[0], 1.0 / 3.0, 1e-7);
    CHECK_NEAR(d[1], -1.0 / 3.0, 1e-7);
    CHECK(d[2] == 0.0f);
}

/* ------------------------------------------------------------- optimizers */
static void test_optim(void)
{
    lmmiqa_nn_params p;
    lmmiqa_nn_params_init(&p);
    int64_t shape[1] = {2};
    int a = lmmiqa_nn_params_add(&p, "a", LMMIQA_NN_PARAM, 1, shape);
    int bf = lmmiqa_nn_params_add(&p, "buf", LMMIQA_NN_BUFFER, 1, shape);
    CHECK_OK(lmmiqa_nn_params_alloc(&p));
    CHECK(a == 0 && bf == 1 && p.n_param == 2 && p.n_buffer == 2);
    float *w = lmmiqa_nn_params_data(&p, a), *g = lmmiqa_nn_params_grad(&p, a);
    lmmiqa_nn_optim o;
    lmmiqa_nn_optim_defaults(&o, LMMIQA_NN_ADAM, 0.1);
    o.weight_decay = 0.5;
    CHECK_OK(lmmiqa_nn_optim_init(&o, &p));
    w[0] = 1.0f, w[1] = -1.0f, g[0] = 0.2f, g[1] = 0.0f;
    lmmiqa_nn_optim_step(&o, &p, 0, NULL);
    /* first Adam step moves each weight by lr * sign(g + wd*w) */
    CHECK_NEAR(w[0], 0.9, 1e-6);
    CHECK_NEAR(w[1], -0.9, 1e-6);
    lmmiqa_nn_optim sgd;
    lmmiqa_nn_optim_defaults(&sgd, LMMIQA_NN_SGD, 0.1);
    sgd.momentum = 0.9, sgd.step_size = 2, sgd.gamma = 0.5;
    CHECK_OK(lmmiqa_nn_optim_init(&sgd, &p));
    CHECK_NEAR(lmmiqa_nn_optim_lr(&sgd, 1), 0.1, 1e-12);
    CHECK_NEAR(lmmiqa_nn_optim_lr(&sgd, 5), 0.025, 1e-12);
    w[0] = 1.0f, g[0] = 1.0f;
    lmmiqa_nn_optim_step(&sgd, &p, 0, NULL);
    CHECK_NEAR(w[0], 0.9, 1e-6);
    lmmiqa_nn_optim_step(&sgd, &p, 2, NULL); /* buf = 0.9 + 1, lr 0.05 */
    CHECK_NEAR(w[0], 0.9 - 0.05 * 1.9, 1e-6);
    unsigned char frozen[2] = {1, 0};
    lmmiqa_nn_optim_step(&sgd, &p, 0, frozen);
    CHECK_NEAR(w[0], 0.9 - 0.05 * 1.9, 1e-6);
    lmmiqa_nn_params_free(&p);
}

int main(void)
{
    lmmiqa_nn_set_threads(1);
    RUN(test_conv);
    RUN(test_linear);
    RUN(test_activations);
    RUN(test_pooling);
    RUN(test_batchnorm);
    RUN(test_losses);
    RUN(test_optim);
    return test_finish();
}
