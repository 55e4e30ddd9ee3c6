/*
 * src/models/cnniqa.c - CNNIQA (Kang et al. 2014) on the nn engine: patch
 * extraction with local contrast normalisation, batch forward/backward,
 * weight files, prediction, and the per-split trainer with resumable
 * checkpoints.
 *
 * Training (lmmiqa_cnniqa_train_gray): each epoch draws
 * patches_per_image random grid cells of every training image (all cells
 * when 0), shuffles the (image, cell) list and runs Adam on L1 loss in
 * batches. Every random choice of epoch e comes from a generator seeded by
 * (seed, e), so a run resumed from a checkpoint after epoch e continues
 * exactly as the uninterrupted run would.
 */
#include "cnniqa_internal.h"
#include "trainer_common.h"

#include "core/internal.h"
#include "io/safetensors.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EVAL_BATCH 64
#define FORMAT_NAME "lmmiqa-cnniqa"

void lmmiqa_cnniqa_config_init(lmmiqa_cnniqa_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->patch = 32;
    cfg->filters = 50;
    cfg->kernel = 7;
    cfg->fc = 512;
    cfg->dropout = 0.5f;
    cfg->epochs = 30;
    cfg->batch = 128;
    cfg->patches_per_image = 32;
    cfg->lr = 1e-3;
    cfg->weight_decay = 0.0;
    cfg->seed = 1;
}

static int check_arch(const lmmiqa_cnniqa_config *c)
{
    if (c->patch < 4 || c->patch > 1024 || c->kernel < 1 || c->kernel > c->patch ||
        c->filters < 1 || c->filters > 4096 || c->fc < 1 || c->fc > 65536 || c->dropout < 0.0f ||
        c->dropout >= 1.0f)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "cnniqa: bad architecture (patch %d, kernel %d, filters %d, fc %d, "
                            "dropout %g)",
                            c->patch, c->kernel, c->filters, c->fc, (double)c->dropout);
    return LMMIQA_OK;
}

static int build(const lmmiqa_cnniqa_config *cfg, lmmiqa_cnniqa **out)
{
    *out = NULL;
    int rc = check_arch(cfg);
    if (rc != LMMIQA_OK)
        return rc;
    lmmiqa_cnniqa *m = lmmiqa__calloc(1, sizeof *m);
    if (!m)
        return LMMIQA_ERR_NOMEM;
    m->cfg = *cfg;
    m->cfg.log = NULL;
    m->cfg.log_user = NULL;
    m->conv = (lmmiqa_nn_conv2d){1, cfg->filters, cfg->kernel, cfg->kernel, 1, 1, 0, 0, 1};
    lmmiqa_nn_params *p = &m->params;
    lmmiqa_nn_params_init(p);
    int64_t f = cfg->filters, k = cfg->kernel, fc = cfg->fc;
    m->conv_w = lmmiqa_nn_params_add(p, "conv1.weight", LMMIQA_NN_PARAM, 4, (int64_t[]){f, 1, k, k});
    m->conv_b = lmmiqa_nn_params_add(p, "conv1.bias", LMMIQA_NN_PARAM, 1, (int64_t[]){f});
    m->fc1_w = lmmiqa_nn_params_add(p, "fc1.weight", LMMIQA_NN_PARAM, 2, (int64_t[]){fc, 2 * f});
    m->fc1_b = lmmiqa_nn_params_add(p, "fc1.bias", LMMIQA_NN_PARAM, 1, (int64_t[]){fc});
    m->fc2_w = lmmiqa_nn_params_add(p, "fc2.weight", LMMIQA_NN_PARAM, 2, (int64_t[]){fc, fc});
    m->fc2_b = lmmiqa_nn_params_add(p, "fc2.bias", LMMIQA_NN_PARAM, 1, (int64_t[]){fc});
    m->fc3_w = lmmiqa_nn_params_add(p, "fc3.weight", LMMIQA_NN_PARAM, 2, (int64_t[]){1, fc});
    m->fc3_b = lmmiqa_nn_params_add(p, "fc3.bias", LMMIQA_NN_PARAM, 1, (int64_t[]){1});
    if (m->fc3_b < 0 || lmmiqa_nn_params_alloc(p) != LMMIQA_OK) {
        lmmiqa_cnniqa_destroy(m);
        return LMMIQA_ERR_NOMEM;
    }
    *out = m;
    return LMMIQA_OK;
}

/* torch's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases. */
static void init_weights(lmmiqa_cnniqa *m, uint64_t seed)
{
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, seed);
    const int pairs[4][2] = {{m->conv_w, m->conv_b}, {m->fc1_w, m->fc1_b},
                             {m->fc2_w, m->fc2_b}, {m->fc3_w, m->fc3_b}};
    for (int i = 0; i < 4; i++) {
        const lmmiqa_nn_tensor *w = &m->params.tensors[pairs[i][0]];
        const lmmiqa_nn_tensor *b = &m->params.tensors[pairs[i][1]];
        size_t fan_in = w->numel / (size_t)w->shape[0];
        float bound = (float)(1.0 / sqrt((double)fan_in));
        lmmiqa_nn_init_uniform(lmmiqa_nn_params_data(&m->params, pairs[i][0]), w->numel, bound,
                               &rng);
        lmmiqa_nn_init_uniform(lmmiqa_nn_params_data(&m->params, pairs[i][1]), b->numel, bound,
                               &rng);
    }
}

int lmmiqa_cnniqa_create(const lmmiqa_cnniqa_config *cfg, lmmiqa_cnniqa **out)
{
    int rc = build(cfg, out);
    if (rc == LMMIQA_OK)
        init_weights(*out, cfg->seed);
    return rc;
}

void lmmiqa_cnniqa_destroy(lmmiqa_cnniqa *m)
{
    if (!m)
        return;
    lmmiqa_nn_params_free(&m->params);
    free(m);
}

const lmmiqa_cnniqa_config *lmmiqa_cnniqa_get_config(const lmmiqa_cnniqa *m) { return &m->cfg; }
size_t lmmiqa_cnniqa_feature_dim(const lmmiqa_cnniqa *m) { return (size_t)m->cfg.fc; }

/* Architecture metadata of weight files and checkpoints. */
#define N_META 6
static void arch_meta(const lmmiqa_cnniqa_config *c, char vals[N_META][32],
                      const char *keys[N_META], const char *pv[N_META])
{
    static const char *k[N_META] = {"format", "cnniqa.patch", "cnniqa.filters", "cnniqa.kernel",
                                    "cnniqa.fc", "cnniqa.dropout"};
    snprintf(vals[0], 32, "%s", FORMAT_NAME);
    snprintf(vals[1], 32, "%d", c->patch);
    snprintf(vals[2], 32, "%d", c->filters);
    snprintf(vals[3], 32, "%d", c->kernel);
    snprintf(vals[4], 32, "%d", c->fc);
    snprintf(vals[5], 32, "%.9g", (double)c->dropout);
    for (int i = 0; i < N_META; i++) {
        keys[i] = k[i];
        pv[i] = vals[i];
    }
}

int lmmiqa_cnniqa_save(const lmmiqa_cnniqa *m, const char *path)
{
    char vals[N_META][32];
    const char *keys[N_META], *pv[N_META];
    arch_meta(&m->cfg, vals, keys, pv);
    return lmmiqa_nn_params_save(&m->params, NULL, 0, keys, pv, N_META, path);
}

/* Architecture from a weight file's metadata. */
static int read_arch(const char *path, lmmiqa_cnniqa_config *cfg)
{
    lmmiqa_safetensors *st = NULL;
    int rc = lmmiqa_safetensors_open(path, &st);
    if (rc != LMMIQA_OK)
        return rc;
    const char *fmt = lmmiqa_safetensors_metadata(st, "format");
    if (!fmt || strcmp(fmt, FORMAT_NAME) != 0)
        rc = lmmiqa__fail(LMMIQA_ERR_FORMAT,
                          "%s: not a CNNIQA weight file (metadata format is %s, want %s)", path,
                          fmt ? fmt : "absent", FORMAT_NAME);
    if (rc == LMMIQA_OK)
        rc = lmmiqa__meta_int(st, path, "cnniqa.patch", &cfg->patch);
    if (rc == LMMIQA_OK)
        rc = lmmiqa__meta_int(st, path, "cnniqa.filters", &cfg->filters);
    if (rc == LMMIQA_OK)
        rc = lmmiqa__meta_int(st, path, "cnniqa.kernel", &cfg->kernel);
    if (rc == LMMIQA_OK)
        rc = lmmiqa__meta_int(st, path, "cnniqa.fc", &cfg->fc);
    if (rc == LMMIQA_OK)
        rc = lmmiqa__meta_dropout(st, path, "cnniqa.dropout", &cfg->dropout);
    lmmiqa_safetensors_close(st);
    return rc;
}

int lmmiqa_cnniqa_load(const char *path, lmmiqa_cnniqa **out)
{
    *out = NULL;
    lmmiqa_cnniqa_config cfg;
    lmmiqa_cnniqa_config_init(&cfg);
    int rc = read_arch(path, &cfg);
    if (rc != LMMIQA_OK)
        return rc;
    lmmiqa_cnniqa *m = NULL;
    rc = build(&cfg, &m);
    if (rc == LMMIQA_OK)
        rc = lmmiqa_nn_params_load(&m->params, NULL, path, NULL, 1);
    if (rc != LMMIQA_OK) {
        lmmiqa_cnniqa_destroy(m);
        return rc;
    }
    *out = m;
    return LMMIQA_OK;
}

size_t lmmiqa_cnniqa_patch_count(int patch, int width, int height)
{
    if (patch < 1 || width < patch || height < patch)
        return 0;
    return (size_t)(width / patch) * (size_t)(height / patch);
}

/* out[p*p] = (I - mu) / (sigma + 1) over 3x3 windows of the patch at cell
 * (px, py), mirrored at the patch border (scipy convolve2d boundary='symm'). */
void lmmiqa_cnniqa_patch_lcn(const uint8_t *gray, int width, int patch, int px, int py,
                             float *out)
{
    const uint8_t *base = gray + (size_t)py * patch * width + (size_t)px * patch;
    for (int y = 0; y < patch; y++)
        for (int x = 0; x < patch; x++) {
            double s = 0.0, s2 = 0.0;
            for (int dy = -1; dy <= 1; dy++) {
                int yy = y + dy < 0 ? 0 : y + dy >= patch ? patch - 1 : y + dy;
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx < 0 ? 0 : x + dx >= patch ? patch - 1 : x + dx;
                    double v = base[(size_t)yy * width + xx];
                    s += v;
                    s2 += v * v;
                }
            }
            double mu = s / 9.0, var = s2 / 9.0 - mu * mu;
            double sigma = var > 0.0 ? sqrt(var) : 0.0;
            out[y * patch + x] = (float)((base[(size_t)y * width + x] - mu) / (sigma + 1.0));
        }
}

int lmmiqa__cnniqa_work_init(const lmmiqa_cnniqa *m, int cap, lmmiqa__cnniqa_work *w)
{
    memset(w, 0, sizeof *w);
    w->cap = cap;
    int p = m->cfg.patch, f = m->cfg.filters, fc = m->cfg.fc;
    int q = lmmiqa_nn_conv2d_out_h(&m->conv, p);
    size_t nc = (size_t)cap * f * q * q, nf = (size_t)cap * f, nh = (size_t)cap * fc;
    size_t total = (size_t)cap * p * p + 2 * nc + 2 * nf + 2 * 2 * nf + 6 * nh + 2 * (size_t)cap +
                   lmmiqa_nn_conv2d_scratch(&m->conv, cap, p, p);
    float *b = lmmiqa__calloc(total, sizeof(float));
    int32_t *idx = lmmiqa__calloc(2 * nf, sizeof(int32_t));
    if (!b || !idx) {
        free(b);
        free(idx);
        return LMMIQA_ERR_NOMEM;
    }
    w->x = b, b += (size_t)cap * p * p;
    w->conv = b, b += nc;
    w->dconv = b, b += nc;
    w->pmax = b, b += nf;
    w->pmin = b, b += nf;
    w->pool = b, b += 2 * nf;
    w->dpool = b, b += 2 * nf;
    w->h1 = b, b += nh;
    w->mask = b, b += nh;
    w->h1d = b, b += nh;
    w->h2 = b, b += nh;
    w->dh1 = b, b += nh;
    w->dh2 = b, b += nh;
    w->out = b, b += cap;
    w->dout = b, b += cap;
    w->scratch = b;
    w->imax = idx;
    w->imin = idx + nf;
    /* oneDNN for full batches when it can; im2col otherwise */
    int rc = lmmiqa_nn_conv2d_plan_create(&m->conv, cap, p, p, 1, &w->plan);
    if (rc == LMMIQA_ERR_NOMEM) {
        lmmiqa__cnniqa_work_free(w);
        return rc;
    }
    if (rc != LMMIQA_OK) {
        w->plan = NULL;
        lmmiqa_error_clear();
    }
    return LMMIQA_OK;
}

void lmmiqa__cnniqa_work_free(lmmiqa__cnniqa_work *w)
{
    lmmiqa_nn_conv2d_plan_destroy(w->plan);
    free(w->x);
    free(w->imax);
    memset(w, 0, sizeof *w);
}

/* x[n,1,p,p] -> conv[n,f,q,q] -> pool[n,2f] -> h1,h2[n,fc] -> out[n] */
void lmmiqa__cnniqa_forward(const lmmiqa_cnniqa *m, lmmiqa__cnniqa_work *w, int n, int training,
                            lmmiqa_rng *rng)
{
    assert(n <= w->cap);
    const lmmiqa_nn_params *P = &m->params;
    int p = m->cfg.patch, f = m->cfg.filters, fc = m->cfg.fc;
    int q = lmmiqa_nn_conv2d_out_h(&m->conv, p);
    if (!(w->plan && n == w->cap &&
          lmmiqa_nn_conv2d_plan_forward(w->plan, w->x, lmmiqa_nn_params_data(P, m->conv_w),
                                        lmmiqa_nn_params_data(P, m->conv_b),
                                        w->conv) == LMMIQA_OK))
        lmmiqa_nn_conv2d_forward(&m->conv, n, p, p, w->x, lmmiqa_nn_params_data(P, m->conv_w),
                                 lmmiqa_nn_params_data(P, m->conv_b), w->conv, w->scratch);
    lmmiqa_nn_global_pool_forward(LMMIQA_NN_POOL_MAX, n, f, (size_t)q * q, w->conv, w->pmax,
                                  w->imax);
    lmmiqa_nn_global_pool_forward(LMMIQA_NN_POOL_MIN, n, f, (size_t)q * q, w->conv, w->pmin,
                                  w->imin);
    for (int s = 0; s < n; s++) {
        memcpy(w->pool + (size_t)s * 2 * f, w->pmax + (size_t)s * f, (size_t)f * sizeof(float));
        memcpy(w->pool + (size_t)s * 2 * f + f, w->pmin + (size_t)s * f, (size_t)f * sizeof(float));
    }
    size_t nh = (size_t)n * fc;
    lmmiqa_nn_linear_forward(n, 2 * f, fc, w->pool, lmmiqa_nn_params_data(P, m->fc1_w),
                             lmmiqa_nn_params_data(P, m->fc1_b), w->h1);
    lmmiqa_nn_relu_forward(nh, w->h1, w->h1);
    if (training && m->cfg.dropout > 0.0f)
        lmmiqa_nn_dropout_forward(nh, m->cfg.dropout, rng, w->h1, w->mask, w->h1d);
    else
        memcpy(w->h1d, w->h1, nh * sizeof(float));
    lmmiqa_nn_linear_forward(n, fc, fc, w->h1d, lmmiqa_nn_params_data(P, m->fc2_w),
                             lmmiqa_nn_params_data(P, m->fc2_b), w->h2);
    lmmiqa_nn_relu_forward(nh, w->h2, w->h2);
    lmmiqa_nn_linear_forward(n, fc, 1, w->h2, lmmiqa_nn_params_data(P, m->fc3_w),
                             lmmiqa_nn_params_data(P, m->fc3_b), w->out);
}

/* Gradients of the training forward pass (dropout mask from it). */
void lmmiqa__cnniqa_backward(lmmiqa_cnniqa *m, lmmiqa__cnniqa_work *w, int n)
{
    lmmiqa_nn_params *P = &m->params;
    int p = m->cfg.patch, f = m->cfg.filters, fc = m->cfg.fc;
    int q = lmmiqa_nn_conv2d_out_h(&m->conv, p);
    size_t nh = (size_t)n * fc, hw = (size_t)q * q;
    lmmiqa_nn_linear_backward(n, fc, 1, w->h2, lmmiqa_nn_params_data(P, m->fc3_w), w->dout,
                              w->dh2, lmmiqa_nn_params_grad(P, m->fc3_w),
                              lmmiqa_nn_params_grad(P, m->fc3_b));
    lmmiqa_nn_relu_backward(nh, w->h2, w->dh2, w->dh2);
    lmmiqa_nn_linear_backward(n, fc, fc, w->h1d, lmmiqa_nn_params_data(P, m->fc2_w), w->dh2,
                              w->dh1, lmmiqa_nn_params_grad(P, m->fc2_w),
                              lmmiqa_nn_params_grad(P, m->fc2_b));
    if (m->cfg.dropout > 0.0f)
        lmmiqa_nn_dropout_backward(nh, w->mask, w->dh1, w->dh1);
    lmmiqa_nn_relu_backward(nh, w->h1, w->dh1, w->dh1);
    lmmiqa_nn_linear_backward(n, 2 * f, fc, w->pool, lmmiqa_nn_params_data(P, m->fc1_w), w->dh1,
                              w->dpool, lmmiqa_nn_params_grad(P, m->fc1_w),
                              lmmiqa_nn_params_grad(P, m->fc1_b));
    memset(w->dconv, 0, (size_t)n * f * hw * sizeof(float));
    for (int s = 0; s < n; s++)
        for (int c = 0; c < f; c++) {
            float *plane = w->dconv + ((size_t)s * f + c) * hw;
            size_t k = (size_t)s * f + c;
            plane[w->imax[k]] += w->dpool[(size_t)s * 2 * f + c];
            plane[w->imin[k]] += w->dpool[(size_t)s * 2 * f + f + c];
        }
    if (!(w->plan && n == w->cap &&
          lmmiqa_nn_conv2d_plan_backward(w->plan, w->x, lmmiqa_nn_params_data(P, m->conv_w),
                                         w->dconv, NULL, lmmiqa_nn_params_grad(P, m->conv_w),
                                         lmmiqa_nn_params_grad(P, m->conv_b)) == LMMIQA_OK))
        lmmiqa_nn_conv2d_backward(&m->conv, n, p, p, w->x, lmmiqa_nn_params_data(P, m->conv_w),
                                  w->dconv, NULL, lmmiqa_nn_params_grad(P, m->conv_w),
                                  lmmiqa_nn_params_grad(P, m->conv_b), w->scratch);
}

struct lmmiqa_cnniqa_state {
    lmmiqa__cnniqa_work work;
    uint8_t *gray;
    size_t gray_cap;
};

int lmmiqa_cnniqa_state_create(const lmmiqa_cnniqa *m, lmmiqa_cnniqa_state **out)
{
    *out = NULL;
    lmmiqa_cnniqa_state *st = lmmiqa__calloc(1, sizeof *st);
    if (!st)
        return LMMIQA_ERR_NOMEM;
    int rc = lmmiqa__cnniqa_work_init(m, EVAL_BATCH, &st->work);
    if (rc != LMMIQA_OK) {
        free(st);
        return rc;
    }
    *out = st;
    return LMMIQA_OK;
}

void lmmiqa_cnniqa_state_destroy(lmmiqa_cnniqa_state *st)
{
    if (!st)
        return;
    lmmiqa__cnniqa_work_free(&st->work);
    free(st->gray);
    free(st);
}

/* Mean score / feature over every patch of a grey image. */
static int predict_gray(const lmmiqa_cnniqa *m, lmmiqa__cnniqa_work *w, const uint8_t *gray,
                        int width, int height, double *score, double *feature)
{
    int p = m->cfg.patch, fc = m->cfg.fc;
    size_t count = lmmiqa_cnniqa_patch_count(p, width, height);
    if (count == 0)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "cnniqa: image %dx%d is smaller than one %dx%d patch", width, height,
                            p, p);
    int gx = width / p;
    double acc = 0.0;
    if (feature)
        memset(feature, 0, (size_t)fc * sizeof *feature);
    for (size_t k0 = 0; k0 < count; k0 += (size_t)w->cap) {
        int nb = (int)(count - k0 < (size_t)w->cap ? count - k0 : (size_t)w->cap);
        for (int s = 0; s < nb; s++) {
            size_t k = k0 + (size_t)s;
            lmmiqa_cnniqa_patch_lcn(gray, width, p, (int)(k % (size_t)gx), (int)(k / (size_t)gx),
                                    w->x + (size_t)s * p * p);
        }
        lmmiqa__cnniqa_forward(m, w, nb, 0, NULL);
        for (int s = 0; s < nb; s++) {
            acc += w->out[s];
            if (feature)
                for (int j = 0; j < fc; j++)
                    feature[j] += w->h2[(size_t)s * fc + j];
        }
    }
    if (score)
        *score = acc / (double)count;
    if (feature)
        for (int j = 0; j < fc; j++)
            feature[j] /= (double)count;
    return LMMIQA_OK;
}

int lmmiqa_cnniqa_predict_gray(const lmmiqa_cnniqa *m, lmmiqa_cnniqa_state *st,
                               const uint8_t *gray, int width, int height, double *score,
                               double *feature)
{
    return predict_gray(m, &st->work, gray, width, height, score, feature);
}

int lmmiqa_cnniqa_predict(const lmmiqa_cnniqa *m, lmmiqa_cnniqa_state *st,
                          const lmmiqa_image *img, double *score, double *feature)
{
    size_t n = (size_t)img->width * (size_t)img->height;
    if (n > st->gray_cap) {
        uint8_t *g = lmmiqa__malloc(n);
        if (!g)
            return LMMIQA_ERR_NOMEM;
        free(st->gray);
        st->gray = g;
        st->gray_cap = n;
    }
    lmmiqa_image_to_gray(img, st->gray);
    return predict_gray(m, &st->work, st->gray, img->width, img->height, score, feature);
}

/* ------------------------------------------------------------- training */

static uint64_t epoch_seed(uint64_t seed, int epoch)
{
    return seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(epoch + 1));
}

/* Save training state: weights, Adam state, epochs done. */
static int save_checkpoint(const lmmiqa_cnniqa *m, const lmmiqa_nn_optim *o, int epochs_done,
                           const char *path)
{
    char vals[N_META + 2][32];
    const char *keys[N_META + 2], *pv[N_META + 2];
    arch_meta(&m->cfg, vals, keys, pv);
    return lmmiqa__checkpoint_save(&m->params, o, vals, keys, pv, N_META, epochs_done,
                                   m->cfg.seed, path);
}

static int resume(lmmiqa_cnniqa *m, lmmiqa_nn_optim *o, const char *path, int *epochs_done)
{
    lmmiqa_cnniqa_config arch = m->cfg;
    int rc = read_arch(path, &arch);
    if (rc != LMMIQA_OK)
        return rc;
    if (arch.patch != m->cfg.patch || arch.filters != m->cfg.filters ||
        arch.kernel != m->cfg.kernel || arch.fc != m->cfg.fc || arch.dropout != m->cfg.dropout)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                            "%s: checkpoint architecture differs from the requested one", path);
    return lmmiqa__checkpoint_resume(&m->params, o, m->cfg.seed, path, epochs_done);
}

int lmmiqa_cnniqa_train_gray(const lmmiqa_cnniqa_config *cfg, const uint8_t *const *gray,
                             const int *width, const int *height, const double *mos, size_t n,
                             double mos_min, double mos_max, const char *checkpoint_path,
                             const char *weights_out, lmmiqa_cnniqa **out)
{
    if (out)
        *out = NULL;
    if (n == 0)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "cnniqa: no training images");
    if (!(mos_max > mos_min))
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "cnniqa: MOS range [%g, %g] is empty",
                            mos_min, mos_max);
    if (cfg->epochs < 0 || cfg->batch < 1 || cfg->patches_per_image < 0 || !(cfg->lr > 0.0))
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "cnniqa: bad training settings (epochs %d, batch %d, patches %d, "
                            "lr %g)",
                            cfg->epochs, cfg->batch, cfg->patches_per_image, cfg->lr);
    int p = cfg->patch;
    size_t total = 0, max_cells = 0;
    for (size_t i = 0; i < n; i++) {
        size_t c = lmmiqa_cnniqa_patch_count(p, width[i], height[i]);
        if (c == 0)
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                "cnniqa: training image %zu (%dx%d) is smaller than one patch", i,
                                width[i], height[i]);
        if (!isfinite(mos[i]))
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "cnniqa: MOS of training image %zu is %g",
                                i, mos[i]);
        size_t take = cfg->patches_per_image && (size_t)cfg->patches_per_image < c
                          ? (size_t)cfg->patches_per_image
                          : c;
        total += take;
        if (c > max_cells)
            max_cells = c;
    }
    lmmiqa_nn_set_threads(cfg->threads);
    lmmiqa_cnniqa *m = NULL;
    int rc = lmmiqa_cnniqa_create(cfg, &m);
    if (rc != LMMIQA_OK)
        return rc;
    lmmiqa_nn_optim opt;
    lmmiqa_nn_optim_defaults(&opt, LMMIQA_NN_ADAM, cfg->lr);
    opt.weight_decay = cfg->weight_decay;
    lmmiqa__cnniqa_work w;
    memset(&w, 0, sizeof w);
    uint64_t *items = lmmiqa__malloc(total * sizeof *items);
    size_t *cells = lmmiqa__malloc(max_cells * sizeof *cells);
    float *target = lmmiqa__malloc((size_t)cfg->batch * sizeof *target);
    rc = (items && cells && target) ? lmmiqa_nn_optim_init(&opt, &m->params) : LMMIQA_ERR_NOMEM;
    if (rc == LMMIQA_OK)
        rc = lmmiqa__cnniqa_work_init(m, cfg->batch, &w);
    int start = 0;
    if (rc == LMMIQA_OK && checkpoint_path && access(checkpoint_path, F_OK) == 0) {
        rc = resume(m, &opt, checkpoint_path, &start);
        if (rc == LMMIQA_OK)
            lmmiqa__train_log(cfg->verbose, cfg->log, cfg->log_user,
                              "resumed from %s after epoch %d", checkpoint_path, start);
    }
    double range = mos_max - mos_min;
    for (int epoch = start; rc == LMMIQA_OK && epoch < cfg->epochs; epoch++) {
        lmmiqa_rng rng;
        lmmiqa_rng_seed(&rng, epoch_seed(cfg->seed, epoch));
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            size_t c = lmmiqa_cnniqa_patch_count(p, width[i], height[i]);
            for (size_t j = 0; j < c; j++)
                cells[j] = j;
            size_t take = cfg->patches_per_image && (size_t)cfg->patches_per_image < c
                              ? (size_t)cfg->patches_per_image
                              : c;
            for (size_t j = 0; j < take; j++) { /* partial Fisher-Yates */
                size_t r = j + (size_t)lmmiqa_rng_below(&rng, c - j);
                size_t t = cells[j];
                cells[j] = cells[r];
                cells[r] = t;
                items[k++] = ((uint64_t)i << 24) | cells[j];
            }
        }
        for (size_t j = total; j > 1; j--) {
            size_t r = (size_t)lmmiqa_rng_below(&rng, j);
            uint64_t t = items[j - 1];
            items[j - 1] = items[r];
            items[r] = t;
        }
        double loss_sum = 0.0;
        size_t steps = 0;
        for (size_t b0 = 0; b0 < total; b0 += (size_t)cfg->batch) {
            int nb = (int)(total - b0 < (size_t)cfg->batch ? total - b0 : (size_t)cfg->batch);
            for (int s = 0; s < nb; s++) {
                size_t img = (size_t)(items[b0 + s] >> 24), cell = items[b0 + s] & 0xFFFFFF;
                int gx = width[img] / p;
                lmmiqa_cnniqa_patch_lcn(gray[img], width[img], p, (int)(cell % (size_t)gx),
                                        (int)(cell / (size_t)gx), w.x + (size_t)s * p * p);
                target[s] = (float)((mos[img] - mos_min) / range);
            }
            lmmiqa__cnniqa_forward(m, &w, nb, 1, &rng);
            loss_sum += lmmiqa_nn_l1_loss((size_t)nb, w.out, target, w.dout);
            steps++;
            lmmiqa_nn_params_zero_grad(&m->params);
            lmmiqa__cnniqa_backward(m, &w, nb);
            lmmiqa_nn_optim_step(&opt, &m->params, epoch, NULL);
        }
        lmmiqa__train_log(cfg->verbose, cfg->log, cfg->log_user,
                          "epoch %d/%d: %zu patches, mean L1 loss %.5f", epoch + 1, cfg->epochs,
                          total, loss_sum / (double)(steps ? steps : 1));
        if (checkpoint_path)
            rc = save_checkpoint(m, &opt, epoch + 1, checkpoint_path);
    }
    if (rc == LMMIQA_OK && weights_out)
        rc = lmmiqa_cnniqa_save(m, weights_out);
    lmmiqa__cnniqa_work_free(&w);
    free(items);
    free(cells);
    free(target);
    if (rc == LMMIQA_OK && out) {
        free(m->params.opt_m);
        free(m->params.opt_v);
        m->params.opt_m = m->params.opt_v = NULL;
        *out = m;
    } else {
        lmmiqa_cnniqa_destroy(m);
    }
    return rc;
}

int lmmiqa_cnniqa_train(const lmmiqa_cnniqa_config *cfg, const char *const *image_paths,
                        const double *mos, size_t n, double mos_min, double mos_max,
                        const char *checkpoint_path, const char *weights_out)
{
    if (n == 0)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "cnniqa: no training images");
    uint8_t **gray = lmmiqa__calloc(n, sizeof *gray);
    int *wh = lmmiqa__calloc(2 * n, sizeof *wh);
    int rc = (gray && wh) ? LMMIQA_OK : LMMIQA_ERR_NOMEM;
    for (size_t i = 0; rc == LMMIQA_OK && i < n; i++) {
        lmmiqa_image *img = NULL;
        rc = lmmiqa_image_load(image_paths[i], &img);
        if (rc != LMMIQA_OK)
            break;
        gray[i] = lmmiqa__malloc((size_t)img->width * (size_t)img->height);
        if (!gray[i]) {
            rc = LMMIQA_ERR_NOMEM;
        } else {
            lmmiqa_image_to_gray(img, gray[i]);
            wh[i] = img->width;
            wh[n + i] = img->height;
        }
        lmmiqa_image_destroy(img);
    }
    if (rc == LMMIQA_OK)
        rc = lmmiqa_cnniqa_train_gray(cfg, (const uint8_t *const *)gray, wh, wh + n, mos, n,
                                      mos_min, mos_max, checkpoint_path, weights_out, NULL);
    for (size_t i = 0; gray && i < n; i++)
        free(gray[i]);
    free(gray);
    free(wh);
    return rc;
}
