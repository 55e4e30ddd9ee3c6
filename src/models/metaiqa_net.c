/*
 * src/models/metaiqa_net.c - MetaIQA's network on the nn engine: the
 * torchvision ResNet-18 backbone (names resnet_layer.*) and the regression
 * head (net.*), with batch forward and backward passes.
 *
 * Activations of every layer are kept for backward (NCHW, one block per
 * tensor, allocated once per work space). Gradients flow through four
 * rotating buffers of the largest activation size. Basic block:
 *   out = relu(bn2(conv2(relu(bn1(conv1(x))))) + identity(x)),
 *   identity = bn(conv1x1 stride 2)(x) where the shape changes.
 * BN/ReLU run in place on the conv outputs' copies: BN backward needs only
 * the conv output and the saved mean/invstd, ReLU backward its output.
 */
#include "metaiqa_internal.h"

#include "core/internal.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f

typedef struct unit_act {
    int in_c, in_h, in_w, out_c, out_h, out_w;
    float *conv, *bn;         /* [cap, out_c, out_h, out_w] */
    float *mean, *invstd;     /* [out_c] */
    lmmiqa_nn_conv2d_plan *plan; /* oneDNN plan for full batches (NULL: im2col only) */
} unit_act;

struct lmmiqa__metaiqa_work {
    int cap, h, w;
    float *x;                 /* [cap, 3, h, w] */
    unit_act stem;
    float *pool;              /* [cap, C, ph, pw] after max pool */
    int32_t *pool_idx;
    int ph, pw;
    lmmiqa_nn_pool2d maxpool;
    unit_act b1[8], b2[8], bd[8];   /* conv1, conv2 (bn = block output), downsample */
    float *feat;              /* [cap, 8w] */
    float *logits;            /* [cap, classes] */
    float *z1, *y1, *p1, *m1, *q1;  /* [cap, hidden1] */
    float *z2, *y2, *p2, *m2, *q2;  /* [cap, hidden2] */
    float *s1_mean, *s1_inv, *s2_mean, *s2_inv;
    float *z3, *out;          /* [cap] */
    float *g[4];              /* gradient buffers, max activation size */
    float *dfeat, *dlogits, *dh1a, *dh1b, *dh2a, *dh2b, *dz3;
    float *scratch;           /* conv scratch */
    size_t max_act;
    int last_training;
};

/* ------------------------------------------------------------ params */

static int add(lmmiqa_nn_params *p, const char *name, lmmiqa_nn_tensor_kind kind, int ndim,
               const int64_t *shape)
{
    return lmmiqa_nn_params_add(p, name, kind, ndim, shape);
}

static void declare_bn(lmmiqa_nn_params *p, const char *prefix, int64_t c, int idx[4])
{
    char name[96];
    snprintf(name, sizeof name, "%s.weight", prefix);
    idx[0] = add(p, name, LMMIQA_NN_PARAM, 1, &c);
    snprintf(name, sizeof name, "%s.bias", prefix);
    idx[1] = add(p, name, LMMIQA_NN_PARAM, 1, &c);
    snprintf(name, sizeof name, "%s.running_mean", prefix);
    idx[2] = add(p, name, LMMIQA_NN_BUFFER, 1, &c);
    snprintf(name, sizeof name, "%s.running_var", prefix);
    idx[3] = add(p, name, LMMIQA_NN_BUFFER, 1, &c);
}

static void declare_convbn(lmmiqa_nn_params *p, lmmiqa__convbn *u, const char *conv_name,
                           const char *bn_name, int cin, int cout, int k, int stride, int pad)
{
    u->conv = (lmmiqa_nn_conv2d){cin, cout, k, k, stride, stride, pad, pad, 1};
    char name[96];
    snprintf(name, sizeof name, "%s.weight", conv_name);
    u->w = add(p, name, LMMIQA_NN_PARAM, 4, (int64_t[]){cout, cin, k, k});
    int idx[4];
    declare_bn(p, bn_name, cout, idx);
    u->gamma = idx[0], u->beta = idx[1], u->rmean = idx[2], u->rvar = idx[3];
}

/* Declare every tensor in torchvision/MetaIQA state_dict order. */
int lmmiqa__metaiqa_declare(lmmiqa_metaiqa *m)
{
    lmmiqa_nn_params *p = &m->params;
    const lmmiqa_metaiqa_config *c = &m->cfg;
    int w = c->width;
    declare_convbn(p, &m->stem, "resnet_layer.conv1", "resnet_layer.bn1", 3, w, 7, 2, 3);
    int cin = w;
    for (int l = 0; l < 4; l++) {
        int cout = w << l;
        for (int b = 0; b < 2; b++) {
            lmmiqa__basic_block *blk = &m->blocks[2 * l + b];
            int stride = (l > 0 && b == 0) ? 2 : 1;
            int bin = b == 0 ? cin : cout;
            char cn[96], bn[96];
            snprintf(cn, sizeof cn, "resnet_layer.layer%d.%d.conv1", l + 1, b);
            snprintf(bn, sizeof bn, "resnet_layer.layer%d.%d.bn1", l + 1, b);
            declare_convbn(p, &blk->c1, cn, bn, bin, cout, 3, stride, 1);
            snprintf(cn, sizeof cn, "resnet_layer.layer%d.%d.conv2", l + 1, b);
            snprintf(bn, sizeof bn, "resnet_layer.layer%d.%d.bn2", l + 1, b);
            declare_convbn(p, &blk->c2, cn, bn, cout, cout, 3, 1, 1);
            blk->has_down = stride != 1 || bin != cout;
            if (blk->has_down) {
                snprintf(cn, sizeof cn, "resnet_layer.layer%d.%d.downsample.0", l + 1, b);
                snprintf(bn, sizeof bn, "resnet_layer.layer%d.%d.downsample.1", l + 1, b);
                declare_convbn(p, &blk->down, cn, bn, bin, cout, 1, stride, 0);
            }
        }
        cin = cout;
    }
    int64_t feat = 8 * w, cls = c->classes, h1 = c->hidden1, h2 = c->hidden2, one = 1;
    m->fc_w = add(p, "resnet_layer.fc.weight", LMMIQA_NN_PARAM, 2, (int64_t[]){cls, feat});
    m->fc_b = add(p, "resnet_layer.fc.bias", LMMIQA_NN_PARAM, 1, &cls);
    m->h_fc1_w = add(p, "net.fc1.weight", LMMIQA_NN_PARAM, 2, (int64_t[]){h1, cls});
    m->h_fc1_b = add(p, "net.fc1.bias", LMMIQA_NN_PARAM, 1, &h1);
    declare_bn(p, "net.bn1", h1, m->h_bn1);
    m->h_prelu1 = add(p, "net.relu1.weight", LMMIQA_NN_PARAM, 1, &one);
    m->h_fc2_w = add(p, "net.fc2.weight", LMMIQA_NN_PARAM, 2, (int64_t[]){h2, h1});
    m->h_fc2_b = add(p, "net.fc2.bias", LMMIQA_NN_PARAM, 1, &h2);
    declare_bn(p, "net.bn2", h2, m->h_bn2);
    m->h_prelu2 = add(p, "net.relu2.weight", LMMIQA_NN_PARAM, 1, &one);
    m->h_fc3_w = add(p, "net.fc3.weight", LMMIQA_NN_PARAM, 2, (int64_t[]){1, h2});
    m->h_fc3_b = add(p, "net.fc3.bias", LMMIQA_NN_PARAM, 1, &one);
    if (m->h_fc3_b < 0)
        return LMMIQA_ERR_NOMEM;
    return lmmiqa_nn_params_alloc(p);
}

/* ------------------------------------------------------------ work */

static size_t grow(size_t *total, size_t n)
{
    size_t off = *total;
    *total += n;
    return off;
}

static void plan_unit(const lmmiqa__convbn *u, int cap, int in_h, int in_w, unit_act *a,
                      size_t *total, size_t offs[4], size_t *max_act, size_t *max_scratch)
{
    a->in_c = u->conv.in_ch, a->in_h = in_h, a->in_w = in_w;
    a->out_c = u->conv.out_ch;
    a->out_h = lmmiqa_nn_conv2d_out_h(&u->conv, in_h);
    a->out_w = lmmiqa_nn_conv2d_out_w(&u->conv, in_w);
    size_t act = (size_t)cap * a->out_c * a->out_h * a->out_w;
    offs[0] = grow(total, act);
    offs[1] = grow(total, act);
    offs[2] = grow(total, (size_t)a->out_c);
    offs[3] = grow(total, (size_t)a->out_c);
    if (act > *max_act)
        *max_act = act;
    size_t s = lmmiqa_nn_conv2d_scratch(&u->conv, cap, in_h, in_w);
    if (s > *max_scratch)
        *max_scratch = s;
}

static void bind_unit(unit_act *a, float *base, const size_t offs[4])
{
    a->conv = base + offs[0];
    a->bn = base + offs[1];
    a->mean = base + offs[2];
    a->invstd = base + offs[3];
}

int lmmiqa__metaiqa_work_create(const lmmiqa_metaiqa *m, int cap, int h, int w,
                                lmmiqa__metaiqa_work **out)
{
    *out = NULL;
    lmmiqa__metaiqa_work *k = lmmiqa__calloc(1, sizeof *k);
    if (!k)
        return LMMIQA_ERR_NOMEM;
    k->cap = cap, k->h = h, k->w = w;
    size_t total = 0, max_act = 0, max_scratch = 0;
    size_t off_x = grow(&total, (size_t)cap * 3 * h * w);
    size_t so[4], bo1[8][4], bo2[8][4], bod[8][4];
    plan_unit(&m->stem, cap, h, w, &k->stem, &total, so, &max_act, &max_scratch);
    k->maxpool = (lmmiqa_nn_pool2d){LMMIQA_NN_POOL_MAX, 3, 3, 2, 2, 1, 1};
    k->ph = lmmiqa_nn_pool2d_out_h(&k->maxpool, k->stem.out_h);
    k->pw = lmmiqa_nn_pool2d_out_w(&k->maxpool, k->stem.out_w);
    size_t npool = (size_t)cap * k->stem.out_c * k->ph * k->pw;
    size_t off_pool = grow(&total, npool);
    int ch = k->ph, cw = k->pw;
    for (int b = 0; b < 8; b++) {
        const lmmiqa__basic_block *blk = &m->blocks[b];
        plan_unit(&blk->c1, cap, ch, cw, &k->b1[b], &total, bo1[b], &max_act, &max_scratch);
        plan_unit(&blk->c2, cap, k->b1[b].out_h, k->b1[b].out_w, &k->b2[b], &total, bo2[b],
                  &max_act, &max_scratch);
        if (blk->has_down)
            plan_unit(&blk->down, cap, ch, cw, &k->bd[b], &total, bod[b], &max_act,
                      &max_scratch);
        ch = k->b2[b].out_h, cw = k->b2[b].out_w;
    }
    if (npool > max_act)
        max_act = npool;
    const lmmiqa_metaiqa_config *c = &m->cfg;
    size_t nf = (size_t)cap * 8 * c->width, nl = (size_t)cap * c->classes;
    size_t n1 = (size_t)cap * c->hidden1, n2 = (size_t)cap * c->hidden2;
    size_t off_feat = grow(&total, nf), off_logits = grow(&total, nl);
    size_t off_h1 = grow(&total, 5 * n1), off_h2 = grow(&total, 5 * n2);
    size_t off_s = grow(&total, 2 * (size_t)c->hidden1 + 2 * (size_t)c->hidden2);
    size_t off_z3 = grow(&total, 2 * (size_t)cap);
    size_t off_g = grow(&total, 4 * max_act);
    size_t off_dh = grow(&total, nf + nl + 2 * n1 + 2 * n2 + (size_t)cap);
    size_t off_scr = grow(&total, max_scratch);
    float *base = lmmiqa__calloc(total, sizeof(float));
    k->pool_idx = lmmiqa__calloc(npool, sizeof(int32_t));
    if (!base || !k->pool_idx) {
        free(base);
        lmmiqa__metaiqa_work_destroy(k);
        return LMMIQA_ERR_NOMEM;
    }
    k->x = base + off_x;
    bind_unit(&k->stem, base, so);
    k->pool = base + off_pool;
    for (int b = 0; b < 8; b++) {
        bind_unit(&k->b1[b], base, bo1[b]);
        bind_unit(&k->b2[b], base, bo2[b]);
        if (m->blocks[b].has_down)
            bind_unit(&k->bd[b], base, bod[b]);
    }
    k->feat = base + off_feat;
    k->logits = base + off_logits;
    float *p = base + off_h1;
    k->z1 = p, k->y1 = p + n1, k->p1 = p + 2 * n1, k->m1 = p + 3 * n1, k->q1 = p + 4 * n1;
    p = base + off_h2;
    k->z2 = p, k->y2 = p + n2, k->p2 = p + 2 * n2, k->m2 = p + 3 * n2, k->q2 = p + 4 * n2;
    p = base + off_s;
    k->s1_mean = p, k->s1_inv = p + c->hidden1;
    k->s2_mean = p + 2 * c->hidden1, k->s2_inv = p + 2 * c->hidden1 + c->hidden2;
    k->z3 = base + off_z3, k->out = base + off_z3 + cap;
    for (int i = 0; i < 4; i++)
        k->g[i] = base + off_g + (size_t)i * max_act;
    p = base + off_dh;
    k->dfeat = p, p += nf;
    k->dlogits = p, p += nl;
    k->dh1a = p, p += n1;
    k->dh1b = p, p += n1;
    k->dh2a = p, p += n2;
    k->dh2b = p, p += n2;
    k->dz3 = p;
    k->scratch = base + off_scr;
    k->max_act = max_act;
    /* oneDNN plans for full batches; the im2col path covers the rest, and
     * everything when a plan cannot be made (out of memory is an error) */
    int rc = LMMIQA_OK;
    for (int u = 0; rc == LMMIQA_OK && u < 25; u++) {
        const lmmiqa__convbn *cb = u == 0 ? &m->stem : NULL;
        unit_act *a = u == 0 ? &k->stem : NULL;
        if (u > 0) {
            int b = (u - 1) / 3, j = (u - 1) % 3;
            const lmmiqa__basic_block *blk = &m->blocks[b];
            if (j == 2 && !blk->has_down)
                continue;
            cb = j == 0 ? &blk->c1 : j == 1 ? &blk->c2 : &blk->down;
            a = j == 0 ? &k->b1[b] : j == 1 ? &k->b2[b] : &k->bd[b];
        }
        rc = lmmiqa_nn_conv2d_plan_create(&cb->conv, cap, a->in_h, a->in_w, 0, &a->plan);
        if (rc != LMMIQA_OK && rc != LMMIQA_ERR_NOMEM) {
            a->plan = NULL;
            rc = LMMIQA_OK;
            lmmiqa_error_clear();
        }
    }
    if (rc != LMMIQA_OK) {
        lmmiqa__metaiqa_work_destroy(k);
        return rc;
    }
    *out = k;
    return LMMIQA_OK;
}

void lmmiqa__metaiqa_work_destroy(lmmiqa__metaiqa_work *w)
{
    if (!w)
        return;
    lmmiqa_nn_conv2d_plan_destroy(w->stem.plan);
    for (int b = 0; b < 8; b++) {
        lmmiqa_nn_conv2d_plan_destroy(w->b1[b].plan);
        lmmiqa_nn_conv2d_plan_destroy(w->b2[b].plan);
        lmmiqa_nn_conv2d_plan_destroy(w->bd[b].plan);
    }
    free(w->x);
    free(w->pool_idx);
    free(w);
}

float *lmmiqa__metaiqa_work_input(lmmiqa__metaiqa_work *w) { return w->x; }
const float *lmmiqa__metaiqa_work_feature(const lmmiqa__metaiqa_work *w) { return w->q2; }

/* ------------------------------------------------------------ forward */

#define D(i) lmmiqa_nn_params_data(&m->params, (i))
#define G(i) lmmiqa_nn_params_grad(&m->params, (i))

static void unit_forward(lmmiqa_metaiqa *m, lmmiqa__metaiqa_work *k, const lmmiqa__convbn *u,
                         unit_act *a, int n, const float *x, int training, int relu)
{
    if (!(a->plan && n == k->cap &&
          lmmiqa_nn_conv2d_plan_forward(a->plan, x, D(u->w), NULL, a->conv) == LMMIQA_OK))
        lmmiqa_nn_conv2d_forward(&u->conv, n, a->in_h, a->in_w, x, D(u->w), NULL, a->conv,
                                 k->scratch);
    size_t hw = (size_t)a->out_h * a->out_w;
    lmmiqa_nn_batchnorm_forward(n, a->out_c, hw, a->conv, D(u->gamma), D(u->beta), D(u->rmean),
                                D(u->rvar), training, BN_MOMENTUM, BN_EPS, a->bn, a->mean,
                                a->invstd);
    if (relu)
        lmmiqa_nn_relu_forward((size_t)n * a->out_c * hw, a->bn, a->bn);
}

const float *lmmiqa__metaiqa_forward(lmmiqa_metaiqa *m, lmmiqa__metaiqa_work *k, int n,
                                     int training, lmmiqa_rng *rng)
{
    assert(n >= 1 && n <= k->cap && (!training || n > 1));
    const lmmiqa_metaiqa_config *c = &m->cfg;
    k->last_training = training;
    unit_forward(m, k, &m->stem, &k->stem, n, k->x, training, 1);
    lmmiqa_nn_pool2d_forward(&k->maxpool, n, k->stem.out_c, k->stem.out_h, k->stem.out_w,
                             k->stem.bn, k->pool, k->pool_idx);
    const float *x = k->pool;
    for (int b = 0; b < 8; b++) {
        const lmmiqa__basic_block *blk = &m->blocks[b];
        unit_forward(m, k, &blk->c1, &k->b1[b], n, x, training, 1);
        unit_forward(m, k, &blk->c2, &k->b2[b], n, k->b1[b].bn, training, 0);
        const float *idt = x;
        if (blk->has_down) {
            unit_forward(m, k, &blk->down, &k->bd[b], n, x, training, 0);
            idt = k->bd[b].bn;
        }
        float *o = k->b2[b].bn;
        size_t cnt = (size_t)n * k->b2[b].out_c * k->b2[b].out_h * k->b2[b].out_w;
        for (size_t i = 0; i < cnt; i++) {
            float v = o[i] + idt[i];
            o[i] = v > 0.0f ? v : 0.0f;
        }
        x = o;
    }
    const unit_act *last = &k->b2[7];
    int fdim = 8 * c->width;
    lmmiqa_nn_global_pool_forward(LMMIQA_NN_POOL_AVG, n, fdim,
                                  (size_t)last->out_h * last->out_w, x, k->feat, NULL);
    lmmiqa_nn_linear_forward(n, fdim, c->classes, k->feat, D(m->fc_w), D(m->fc_b), k->logits);
    /* head */
    int h1 = c->hidden1, h2 = c->hidden2;
    size_t n1 = (size_t)n * h1, n2 = (size_t)n * h2;
    lmmiqa_nn_linear_forward(n, c->classes, h1, k->logits, D(m->h_fc1_w), D(m->h_fc1_b), k->z1);
    lmmiqa_nn_batchnorm_forward(n, h1, 1, k->z1, D(m->h_bn1[0]), D(m->h_bn1[1]), D(m->h_bn1[2]),
                                D(m->h_bn1[3]), training, BN_MOMENTUM, BN_EPS, k->y1, k->s1_mean,
                                k->s1_inv);
    lmmiqa_nn_prelu_forward(n, h1, 1, k->y1, D(m->h_prelu1), 1, k->p1);
    if (training && c->dropout > 0.0f)
        lmmiqa_nn_dropout_forward(n1, c->dropout, rng, k->p1, k->m1, k->q1);
    else
        memcpy(k->q1, k->p1, n1 * sizeof(float));
    lmmiqa_nn_linear_forward(n, h1, h2, k->q1, D(m->h_fc2_w), D(m->h_fc2_b), k->z2);
    lmmiqa_nn_batchnorm_forward(n, h2, 1, k->z2, D(m->h_bn2[0]), D(m->h_bn2[1]), D(m->h_bn2[2]),
                                D(m->h_bn2[3]), training, BN_MOMENTUM, BN_EPS, k->y2, k->s2_mean,
                                k->s2_inv);
    lmmiqa_nn_prelu_forward(n, h2, 1, k->y2, D(m->h_prelu2), 1, k->p2);
    if (training && c->dropout > 0.0f)
        lmmiqa_nn_dropout_forward(n2, c->dropout, rng, k->p2, k->m2, k->q2);
    else
        memcpy(k->q2, k->p2, n2 * sizeof(float));
    lmmiqa_nn_linear_forward(n, h2, 1, k->q2, D(m->h_fc3_w), D(m->h_fc3_b), k->z3);
    lmmiqa_nn_sigmoid_forward((size_t)n, k->z3, k->out);
    return k->out;
}

/* ------------------------------------------------------------ backward */

/* From dy (= d bn output, after any ReLU backward) to dx (NULL: skip) and
 * the parameter gradients. dy is overwritten. */
static void unit_backward(lmmiqa_metaiqa *m, lmmiqa__metaiqa_work *k, const lmmiqa__convbn *u,
                          const unit_act *a, int n, const float *x, float *dy, float *dx)
{
    size_t hw = (size_t)a->out_h * a->out_w;
    lmmiqa_nn_batchnorm_backward(n, a->out_c, hw, a->conv, D(u->gamma), a->mean, a->invstd,
                                 k->last_training, dy, dy, G(u->gamma), G(u->beta));
    if (!(a->plan && n == k->cap &&
          lmmiqa_nn_conv2d_plan_backward(a->plan, x, D(u->w), dy, dx, G(u->w), NULL) ==
              LMMIQA_OK))
        lmmiqa_nn_conv2d_backward(&u->conv, n, a->in_h, a->in_w, x, D(u->w), dy, dx, G(u->w),
                                  NULL, k->scratch);
}

void lmmiqa__metaiqa_backward(lmmiqa_metaiqa *m, lmmiqa__metaiqa_work *k, int n,
                              const float *dout)
{
    const lmmiqa_metaiqa_config *c = &m->cfg;
    int h1 = c->hidden1, h2 = c->hidden2, fdim = 8 * c->width;
    size_t n1 = (size_t)n * h1, n2 = (size_t)n * h2;
    int drop = k->last_training && c->dropout > 0.0f;
    lmmiqa_nn_sigmoid_backward((size_t)n, k->out, dout, k->dz3);
    lmmiqa_nn_linear_backward(n, h2, 1, k->q2, D(m->h_fc3_w), k->dz3, k->dh2a, G(m->h_fc3_w),
                              G(m->h_fc3_b));
    if (drop)
        lmmiqa_nn_dropout_backward(n2, k->m2, k->dh2a, k->dh2a);
    lmmiqa_nn_prelu_backward(n, h2, 1, k->y2, D(m->h_prelu2), 1, k->dh2a, k->dh2b,
                             G(m->h_prelu2));
    lmmiqa_nn_batchnorm_backward(n, h2, 1, k->z2, D(m->h_bn2[0]), k->s2_mean, k->s2_inv,
                                 k->last_training, k->dh2b, k->dh2b, G(m->h_bn2[0]),
                                 G(m->h_bn2[1]));
    lmmiqa_nn_linear_backward(n, h1, h2, k->q1, D(m->h_fc2_w), k->dh2b, k->dh1a, G(m->h_fc2_w),
                              G(m->h_fc2_b));
    if (drop)
        lmmiqa_nn_dropout_backward(n1, k->m1, k->dh1a, k->dh1a);
    lmmiqa_nn_prelu_backward(n, h1, 1, k->y1, D(m->h_prelu1), 1, k->dh1a, k->dh1b,
                             G(m->h_prelu1));
    lmmiqa_nn_batchnorm_backward(n, h1, 1, k->z1, D(m->h_bn1[0]), k->s1_mean, k->s1_inv,
                                 k->last_training, k->dh1b, k->dh1b, G(m->h_bn1[0]),
                                 G(m->h_bn1[1]));
    lmmiqa_nn_linear_backward(n, c->classes, h1, k->logits, D(m->h_fc1_w), k->dh1b, k->dlogits,
                              G(m->h_fc1_w), G(m->h_fc1_b));
    lmmiqa_nn_linear_backward(n, fdim, c->classes, k->feat, D(m->fc_w), k->dlogits, k->dfeat,
                              G(m->fc_w), G(m->fc_b));
    const unit_act *last = &k->b2[7];
    int gi = 0; /* buffer holding the gradient of the current block output */
    lmmiqa_nn_global_pool_backward(LMMIQA_NN_POOL_AVG, n, fdim, (size_t)last->out_h * last->out_w,
                                   NULL, k->dfeat, k->g[gi]);
    for (int b = 7; b >= 0; b--) {
        const lmmiqa__basic_block *blk = &m->blocks[b];
        const float *x = b == 0 ? k->pool : k->b2[b - 1].bn;
        const float *o = k->b2[b].bn;
        float *gs = k->g[gi];
        float *t1 = k->g[(gi + 1) & 3], *t2 = k->g[(gi + 2) & 3], *t3 = k->g[(gi + 3) & 3];
        size_t cnt_out = (size_t)n * k->b2[b].out_c * k->b2[b].out_h * k->b2[b].out_w;
        size_t cnt_in = (size_t)n * k->b1[b].in_c * k->b1[b].in_h * k->b1[b].in_w;
        lmmiqa_nn_relu_backward(cnt_out, o, gs, gs);
        /* identity branch -> t2 */
        if (blk->has_down) {
            memcpy(t1, gs, cnt_out * sizeof(float));
            unit_backward(m, k, &blk->down, &k->bd[b], n, x, t1, t2);
        } else {
            memcpy(t2, gs, cnt_in * sizeof(float));
        }
        /* main branch: bn2/conv2 -> t3, relu/bn1/conv1 -> t1 */
        unit_backward(m, k, &blk->c2, &k->b2[b], n, k->b1[b].bn, gs, t3);
        lmmiqa_nn_relu_backward(cnt_out, k->b1[b].bn, t3, t3);
        unit_backward(m, k, &blk->c1, &k->b1[b], n, x, t3, t1);
        for (size_t i = 0; i < cnt_in; i++)
            t1[i] += t2[i];
        gi = (gi + 1) & 3;
    }
    /* stem: max pool -> relu -> bn -> conv (no input gradient) */
    float *gp = k->g[gi], *gs = k->g[(gi + 1) & 3];
    lmmiqa_nn_pool2d_backward(&k->maxpool, n, k->stem.out_c, k->stem.out_h, k->stem.out_w,
                              k->pool_idx, gp, gs);
    lmmiqa_nn_relu_backward((size_t)n * k->stem.out_c * k->stem.out_h * k->stem.out_w,
                            k->stem.bn, gs, gs);
    unit_backward(m, k, &m->stem, &k->stem, n, k->x, gs, NULL);
}
