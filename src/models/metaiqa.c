/*
 * src/models/metaiqa.c - MetaIQA's public API: configuration, torchvision
 * initialisation, weight files (ours, MetaIQA's release, torchvision's
 * ResNet-18), MetaIQA's preprocessing (PIL-style antialiased bilinear
 * resize, random crop + flip, ImageNet normalisation), prediction and the
 * fine-tuning loop with resumable checkpoints.
 *
 * Training caches every training image resized to train_size^2 (uint8 RGB)
 * once, then each epoch shuffles the images and runs Adam on MSE in
 * batches; the random crop, flip and dropout of epoch e come from a
 * generator seeded by (seed, e), so a resumed run matches an uninterrupted
 * one. A final batch of a single image is skipped (batch norm needs two).
 */
#include "metaiqa_internal.h"
#include "trainer_common.h"

#include "core/internal.h"
#include "io/safetensors.h"
#include "io/torchzip.h"
#include "nn/nn_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FORMAT_NAME "lmmiqa-metaiqa"

static const float IMAGENET_MEAN[3] = {0.485f, 0.456f, 0.406f};
static const float IMAGENET_STD[3] = {0.229f, 0.224f, 0.225f};

void lmmiqa_metaiqa_config_init(lmmiqa_metaiqa_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->width = 64;
    cfg->classes = 1000;
    cfg->hidden1 = 1024;
    cfg->hidden2 = 512;
    cfg->dropout = 0.5f;
    cfg->train_size = 256;
    cfg->crop = 224;
    cfg->epochs = 10;
    cfg->batch = 8;
    cfg->lr = 1e-4;
    cfg->lr_step = 10;
    cfg->seed = 1;
}

static int check_arch(const lmmiqa_metaiqa_config *c)
{
    if (c->width < 1 || c->width > 256 || c->classes < 1 || c->classes > 100000 ||
        c->hidden1 < 1 || c->hidden1 > 65536 || c->hidden2 < 1 || c->hidden2 > 65536 ||
        c->dropout < 0.0f || c->dropout >= 1.0f || c->crop < 32 || c->crop > 4096 ||
        c->train_size < c->crop || c->train_size > 4096)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "metaiqa: bad architecture (width %d, classes %d, hidden %d/%d, "
                            "dropout %g, crop %d, train size %d)",
                            c->width, c->classes, c->hidden1, c->hidden2, (double)c->dropout,
                            c->crop, c->train_size);
    return LMMIQA_OK;
}

static int build(const lmmiqa_metaiqa_config *cfg, lmmiqa_metaiqa **out)
{
    *out = NULL;
    int rc = check_arch(cfg);
    if (rc != LMMIQA_OK)
        return rc;
    lmmiqa_metaiqa *m = lmmiqa__calloc(1, sizeof *m);
    if (!m)
        return LMMIQA_ERR_NOMEM;
    m->cfg = *cfg;
    m->cfg.log = NULL;
    m->cfg.log_user = NULL;
    lmmiqa_nn_params_init(&m->params);
    rc = lmmiqa__metaiqa_declare(m);
    if (rc != LMMIQA_OK) {
        lmmiqa_metaiqa_destroy(m);
        return rc;
    }
    *out = m;
    return LMMIQA_OK;
}

static int has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* torchvision: conv Kaiming normal (fan_out, ReLU); BN 1/0, running 0/1;
 * linear torch default; PReLU 0.25. */
static void init_weights(lmmiqa_metaiqa *m, uint64_t seed)
{
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, seed);
    lmmiqa_nn_params *p = &m->params;
    for (size_t t = 0; t < p->count; t++) {
        const lmmiqa_nn_tensor *ten = &p->tensors[t];
        float *d = lmmiqa_nn_params_data(p, (int)t);
        const char *nm = ten->name;
        if (has_suffix(nm, "running_var") || (ten->ndim == 1 && strstr(nm, "bn") &&
                                              has_suffix(nm, "weight")) ||
            (has_suffix(nm, "downsample.1.weight"))) {
            for (size_t i = 0; i < ten->numel; i++)
                d[i] = 1.0f;
        } else if (has_suffix(nm, "running_mean") || strstr(nm, "bn") ||
                   strstr(nm, "downsample.1")) {
            memset(d, 0, ten->numel * sizeof *d);
        } else if (strstr(nm, "relu")) {
            d[0] = 0.25f;
        } else if (ten->ndim == 4) {
            lmmiqa_nn_init_kaiming_normal(d, ten->numel,
                                          (size_t)(ten->shape[0] * ten->shape[2] * ten->shape[3]),
                                          &rng);
        } else if (ten->ndim == 2) {
            float bound = (float)(1.0 / sqrt((double)ten->shape[1]));
            lmmiqa_nn_init_uniform(d, ten->numel, bound, &rng);
            /* the bias follows its weight in declaration order */
            const lmmiqa_nn_tensor *b = &p->tensors[t + 1];
            lmmiqa_nn_init_uniform(lmmiqa_nn_params_data(p, (int)t + 1), b->numel, bound, &rng);
            t++;
        }
    }
}

int lmmiqa_metaiqa_create(const lmmiqa_metaiqa_config *cfg, lmmiqa_metaiqa **out)
{
    int rc = build(cfg, out);
    if (rc == LMMIQA_OK)
        init_weights(*out, cfg->seed);
    return rc;
}

void lmmiqa_metaiqa_destroy(lmmiqa_metaiqa *m)
{
    if (!m)
        return;
    lmmiqa_nn_params_free(&m->params);
    free(m);
}

const lmmiqa_metaiqa_config *lmmiqa_metaiqa_get_config(const lmmiqa_metaiqa *m) { return &m->cfg; }
size_t lmmiqa_metaiqa_feature_dim(const lmmiqa_metaiqa *m) { return (size_t)m->cfg.hidden2; }

/* A pretrained file: safetensors, or a torch.save zip state dict read by the
 * restricted unpickler (lmmiqa/torchzip.h). */
typedef struct pre_src {
    const char *path;
    lmmiqa_safetensors *st;
    lmmiqa_torchzip *tz;
} pre_src;

static int src_open(const char *path, pre_src *s)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    unsigned char magic[2] = {0, 0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return lmmiqa__fail(LMMIQA_ERR_IO, "%s: cannot open", path);
    size_t got = fread(magic, 1, 2, f);
    fclose(f);
    if (got == 2 && magic[0] == 'P' && magic[1] == 'K')
        return lmmiqa_torchzip_open(path, NULL, &s->tz);
    return lmmiqa_safetensors_open(path, &s->st);
}

static void src_close(pre_src *s)
{
    lmmiqa_safetensors_close(s->st);
    lmmiqa_torchzip_close(s->tz);
}

static size_t src_count(const pre_src *s)
{
    return s->st ? lmmiqa_safetensors_count(s->st) : lmmiqa_torchzip_count(s->tz);
}

static int src_info(const pre_src *s, size_t i, lmmiqa_tensor_info *info)
{
    if (s->st)
        return lmmiqa_safetensors_get(s->st, i, info);
    lmmiqa_torch_tensor_info ti;
    int rc = lmmiqa_torchzip_get(s->tz, i, &ti);
    *info = ti.info;
    return rc;
}

static int src_find(const pre_src *s, const char *name, lmmiqa_tensor_info *info)
{
    int rc;
    if (s->st) {
        rc = lmmiqa_safetensors_find(s->st, name, info);
    } else {
        lmmiqa_torch_tensor_info ti;
        rc = lmmiqa_torchzip_find(s->tz, name, &ti);
        *info = ti.info;
    }
    if (rc != LMMIQA_OK)
        lmmiqa_error_clear();
    return rc;
}

/* Read `name` into our tensor, checking dtype and shape. */
static int src_read(pre_src *s, const char *name, const lmmiqa_nn_tensor *ten, float *dst)
{
    if (s->st)
        return lmmiqa__nn_read_tensor(s->st, name, ten, dst, s->path);
    lmmiqa_tensor_info info;
    if (src_find(s, name, &info) != LMMIQA_OK)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: tensor %s is missing", s->path, name);
    int same = info.ndim == ten->ndim && info.numel == ten->numel;
    for (int i = 0; same && i < ten->ndim; i++)
        same = info.shape[i] == ten->shape[i];
    if (!same)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: tensor %s has %d dims / %zu values, want "
                            "%d / %zu", s->path, name, info.ndim, info.numel, ten->ndim,
                            ten->numel);
    if (info.dtype != LMMIQA_DTYPE_F32 && info.dtype != LMMIQA_DTYPE_F16 &&
        info.dtype != LMMIQA_DTYPE_BF16 && info.dtype != LMMIQA_DTYPE_F64)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: tensor %s is not a float tensor", s->path,
                            name);
    return lmmiqa_torchzip_read_f32(s->tz, name, dst, ten->numel);
}

int lmmiqa_metaiqa_load_pretrained(lmmiqa_metaiqa *m, const char *path)
{
    pre_src s;
    int rc = src_open(path, &s);
    if (rc != LMMIQA_OK) {
        src_close(&s);
        return rc;
    }
    lmmiqa_tensor_info info;
    int full = src_find(&s, "resnet_layer.conv1.weight", &info) == LMMIQA_OK;
    int tv = !full && src_find(&s, "conv1.weight", &info) == LMMIQA_OK;
    if (!full && !tv) {
        src_close(&s);
        return lmmiqa__fail(LMMIQA_ERR_FORMAT,
                            "%s: neither a MetaIQA model (resnet_layer.conv1.weight) nor a "
                            "torchvision ResNet-18 (conv1.weight)",
                            path);
    }
    /* MetaIQA naming: every tensor; torchvision: the backbone without its prefix */
    const char *pre = "resnet_layer.";
    size_t plen = full ? 0 : strlen(pre);
    for (size_t t = 0; rc == LMMIQA_OK && t < m->params.count; t++) {
        const lmmiqa_nn_tensor *ten = &m->params.tensors[t];
        if (!full && strncmp(ten->name, pre, strlen(pre)) != 0)
            continue;
        rc = src_read(&s, ten->name + plen, ten, lmmiqa_nn_params_data(&m->params, (int)t));
    }
    for (size_t i = 0; rc == LMMIQA_OK && i < src_count(&s); i++) {
        src_info(&s, i, &info);
        if (has_suffix(info.name, "num_batches_tracked"))
            continue;
        char name[256];
        snprintf(name, sizeof name, "%s%s", full ? "" : pre, info.name);
        if (lmmiqa_nn_params_find(&m->params, name) < 0)
            rc = lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                              "%s: unexpected tensor %s for MetaIQA with a ResNet-18 of width %d",
                              path, info.name, m->cfg.width);
    }
    src_close(&s);
    return rc;
}

/* Architecture metadata. */
#define N_META 8
static void arch_meta(const lmmiqa_metaiqa_config *c, char vals[N_META][32],
                      const char *keys[N_META], const char *pv[N_META])
{
    static const char *k[N_META] = {"format",         "metaiqa.width",  "metaiqa.classes",
                                    "metaiqa.hidden1", "metaiqa.hidden2", "metaiqa.dropout",
                                    "metaiqa.train_size", "metaiqa.crop"};
    snprintf(vals[0], 32, "%s", FORMAT_NAME);
    snprintf(vals[1], 32, "%d", c->width);
    snprintf(vals[2], 32, "%d", c->classes);
    snprintf(vals[3], 32, "%d", c->hidden1);
    snprintf(vals[4], 32, "%d", c->hidden2);
    snprintf(vals[5], 32, "%.9g", (double)c->dropout);
    snprintf(vals[6], 32, "%d", c->train_size);
    snprintf(vals[7], 32, "%d", c->crop);
    for (int i = 0; i < N_META; i++)
        keys[i] = k[i], pv[i] = vals[i];
}

int lmmiqa_metaiqa_save(const lmmiqa_metaiqa *m, const char *path)
{
    char vals[N_META][32];
    const char *keys[N_META], *pv[N_META];
    arch_meta(&m->cfg, vals, keys, pv);
    return lmmiqa_nn_params_save(&m->params, NULL, 0, keys, pv, N_META, path);
}

static int read_arch(const char *path, lmmiqa_metaiqa_config *cfg)
{
    lmmiqa_safetensors *st = NULL;
    int rc = lmmiqa_safetensors_open(path, &st);
    if (rc != LMMIQA_OK)
        return rc;
    const char *fmt = lmmiqa_safetensors_metadata(st, "format");
    if (!fmt || strcmp(fmt, FORMAT_NAME) != 0)
        rc = lmmiqa__fail(LMMIQA_ERR_FORMAT,
                          "%s: not a lmmiqa MetaIQA weight file (metadata format %s, want %s; "
                          "pretrained files go through --init)",
                          path, fmt ? fmt : "absent", FORMAT_NAME);
    if (rc == LMMIQA_OK) rc = lmmiqa__meta_int(st, path, "metaiqa.width", &cfg->width);
    if (rc == LMMIQA_OK) rc = lmmiqa__meta_int(st, path, "metaiqa.classes", &cfg->classes);
    if (rc == LMMIQA_OK) rc = lmmiqa__meta_int(st, path, "metaiqa.hidden1", &cfg->hidden1);
    if (rc == LMMIQA_OK) rc = lmmiqa__meta_int(st, path, "metaiqa.hidden2", &cfg->hidden2);
    if (rc == LMMIQA_OK) rc = lmmiqa__meta_int(st, path, "metaiqa.train_size", &cfg->train_size);
    if (rc == LMMIQA_OK) rc = lmmiqa__meta_int(st, path, "metaiqa.crop", &cfg->crop);
    if (rc == LMMIQA_OK)
        rc = lmmiqa__meta_dropout(st, path, "metaiqa.dropout", &cfg->dropout);
    lmmiqa_safetensors_close(st);
    return rc;
}

int lmmiqa_metaiqa_load(const char *path, lmmiqa_metaiqa **out)
{
    *out = NULL;
    lmmiqa_metaiqa_config cfg;
    lmmiqa_metaiqa_config_init(&cfg);
    int rc = read_arch(path, &cfg);
    if (rc != LMMIQA_OK)
        return rc;
    lmmiqa_metaiqa *m = NULL;
    rc = build(&cfg, &m);
    if (rc == LMMIQA_OK)
        rc = lmmiqa_nn_params_load(&m->params, NULL, path, NULL, 1);
    if (rc != LMMIQA_OK) {
        lmmiqa_metaiqa_destroy(m);
        return rc;
    }
    *out = m;
    return LMMIQA_OK;
}

/* ------------------------------------------------------ preprocessing */

/* PIL's antialiased bilinear (triangle) resampling weights of one axis:
 * for output i, taps [start[i], start[i] + count[i]) with weights. */
typedef struct axis_plan {
    int *start, *count;
    float *weight; /* [out, taps] */
    int taps;
} axis_plan;

static int plan_axis(int in, int out, axis_plan *p)
{
    double scale = (double)in / out, fscale = scale > 1.0 ? scale : 1.0;
    double support = fscale; /* bilinear support 1 */
    p->taps = (int)ceil(support) * 2 + 1;
    p->start = lmmiqa__malloc((size_t)out * sizeof(int));
    p->count = lmmiqa__malloc((size_t)out * sizeof(int));
    p->weight = lmmiqa__calloc((size_t)out * p->taps, sizeof(float));
    if (!p->start || !p->count || !p->weight)
        return LMMIQA_ERR_NOMEM;
    for (int i = 0; i < out; i++) {
        double center = (i + 0.5) * scale;
        int lo = (int)(center - support + 0.5), hi = (int)(center + support + 0.5);
        if (lo < 0)
            lo = 0;
        if (hi > in)
            hi = in;
        if (hi - lo > p->taps)
            hi = lo + p->taps;
        double ws[64], sum = 0.0;
        int cnt = hi - lo;
        for (int k = 0; k < cnt; k++) {
            double x = (k + lo - center + 0.5) / fscale;
            double w = fabs(x) < 1.0 ? 1.0 - fabs(x) : 0.0;
            ws[k < 64 ? k : 63] = w;
            sum += w;
        }
        p->start[i] = lo;
        p->count[i] = cnt;
        for (int k = 0; k < cnt && k < 64; k++)
            p->weight[(size_t)i * p->taps + k] = (float)(sum > 0.0 ? ws[k] / sum : 0.0);
    }
    return LMMIQA_OK;
}

static void free_axis(axis_plan *p)
{
    free(p->start);
    free(p->count);
    free(p->weight);
}

/* RGB uint8 [h, w, 3] -> planar float [3, oh, ow] (0..255), horizontal pass first. */
static int resize_rgb(const uint8_t *src, int w, int h, int ow, int oh, float *dst)
{
    if ((size_t)w > 64 * (size_t)ow * 30 || (size_t)h > 64 * (size_t)oh * 30)
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "metaiqa: image %dx%d too large to resize to %d",
                            w, h, ow);
    axis_plan px = {0}, py = {0};
    float *tmp = lmmiqa__malloc((size_t)3 * h * ow * sizeof(float));
    int rc = tmp ? plan_axis(w, ow, &px) : LMMIQA_ERR_NOMEM;
    if (rc == LMMIQA_OK)
        rc = plan_axis(h, oh, &py);
    if (rc == LMMIQA_OK) {
        if (px.taps > 64 || py.taps > 64) {
            rc = lmmiqa__fail(LMMIQA_ERR_TOO_LARGE,
                              "metaiqa: image %dx%d shrinks more than 31x to %dx%d", w, h, ow, oh);
        } else {
            for (int y = 0; y < h; y++)
                for (int x = 0; x < ow; x++) {
                    float acc[3] = {0, 0, 0};
                    const float *wt = px.weight + (size_t)x * px.taps;
                    const uint8_t *s = src + ((size_t)y * w + px.start[x]) * 3;
                    for (int k = 0; k < px.count[x]; k++)
                        for (int c = 0; c < 3; c++)
                            acc[c] += wt[k] * s[3 * k + c];
                    for (int c = 0; c < 3; c++)
                        tmp[((size_t)c * h + y) * ow + x] = acc[c];
                }
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < oh; y++) {
                    const float *wt = py.weight + (size_t)y * py.taps;
                    float *d = dst + ((size_t)c * oh + y) * ow;
                    for (int x = 0; x < ow; x++)
                        d[x] = 0.0f;
                    for (int k = 0; k < py.count[y]; k++) {
                        const float *s = tmp + ((size_t)c * h + py.start[y] + k) * ow;
                        for (int x = 0; x < ow; x++)
                            d[x] += wt[k] * s[x];
                    }
                }
        }
    }
    free_axis(&px);
    free_axis(&py);
    free(tmp);
    return rc;
}

/* planar 0..255 -> ImageNet-normalised, in place */
static void normalize(float *x, int side)
{
    size_t plane = (size_t)side * side;
    for (int c = 0; c < 3; c++) {
        float mul = 1.0f / (255.0f * IMAGENET_STD[c]), add = -IMAGENET_MEAN[c] / IMAGENET_STD[c];
        for (size_t i = 0; i < plane; i++)
            x[c * plane + i] = x[c * plane + i] * mul + add;
    }
}

/* ------------------------------------------------------ prediction */

struct lmmiqa_metaiqa_state {
    lmmiqa__metaiqa_work *work;
};

int lmmiqa_metaiqa_state_create(const lmmiqa_metaiqa *m, lmmiqa_metaiqa_state **out)
{
    *out = NULL;
    lmmiqa_metaiqa_state *st = lmmiqa__calloc(1, sizeof *st);
    if (!st)
        return LMMIQA_ERR_NOMEM;
    int rc = lmmiqa__metaiqa_work_create(m, 1, m->cfg.crop, m->cfg.crop, &st->work);
    if (rc != LMMIQA_OK) {
        free(st);
        return rc;
    }
    *out = st;
    return LMMIQA_OK;
}

void lmmiqa_metaiqa_state_destroy(lmmiqa_metaiqa_state *st)
{
    if (!st)
        return;
    lmmiqa__metaiqa_work_destroy(st->work);
    free(st);
}

int lmmiqa_metaiqa_predict(const lmmiqa_metaiqa *m, lmmiqa_metaiqa_state *st,
                           const lmmiqa_image *img, double *score, double *feature)
{
    int s = m->cfg.crop;
    int rc = resize_rgb(img->pixels, img->width, img->height, s, s,
                        lmmiqa__metaiqa_work_input(st->work));
    if (rc != LMMIQA_OK)
        return rc;
    normalize(lmmiqa__metaiqa_work_input(st->work), s);
    /* eval mode reads the model only */
    const float *out = lmmiqa__metaiqa_forward((lmmiqa_metaiqa *)m, st->work, 1, 0, NULL);
    if (score)
        *score = out[0];
    if (feature) {
        const float *f = lmmiqa__metaiqa_work_feature(st->work);
        for (int j = 0; j < m->cfg.hidden2; j++)
            feature[j] = f[j];
    }
    return LMMIQA_OK;
}

/* ------------------------------------------------------ training */

static int save_checkpoint(const lmmiqa_metaiqa *m, const lmmiqa_nn_optim *o, int epochs_done,
                           uint64_t seed, const char *path)
{
    char vals[N_META + 2][32];
    const char *keys[N_META + 2], *pv[N_META + 2];
    arch_meta(&m->cfg, vals, keys, pv);
    return lmmiqa__checkpoint_save(&m->params, o, vals, keys, pv, N_META, epochs_done, seed,
                                   path);
}

static int resume(lmmiqa_metaiqa *m, lmmiqa_nn_optim *o, uint64_t seed, const char *path,
                  int *epochs_done)
{
    lmmiqa_metaiqa_config arch = m->cfg;
    int rc = read_arch(path, &arch);
    if (rc != LMMIQA_OK)
        return rc;
    if (arch.width != m->cfg.width || arch.classes != m->cfg.classes ||
        arch.hidden1 != m->cfg.hidden1 || arch.hidden2 != m->cfg.hidden2 ||
        arch.crop != m->cfg.crop || arch.train_size != m->cfg.train_size ||
        arch.dropout != m->cfg.dropout)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                            "%s: checkpoint architecture differs from the requested one", path);
    return lmmiqa__checkpoint_resume(&m->params, o, seed, path, epochs_done);
}

int lmmiqa_metaiqa_train(const lmmiqa_metaiqa_config *cfg, const char *init_path,
                         const char *const *image_paths, const double *mos, size_t n,
                         double mos_min, double mos_max, const char *checkpoint_path,
                         const char *weights_out)
{
    if (n < 2)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "metaiqa: need at least 2 training images");
    if (!(mos_max > mos_min))
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "metaiqa: MOS range [%g, %g] is empty",
                            mos_min, mos_max);
    if (cfg->epochs < 0 || cfg->batch < 2 || !(cfg->lr > 0.0) || cfg->lr_step < 0)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "metaiqa: bad training settings (epochs %d, batch %d (>= 2), lr %g)",
                            cfg->epochs, cfg->batch, cfg->lr);
    lmmiqa_nn_set_threads(cfg->threads);
    lmmiqa_metaiqa *m = NULL;
    int rc = lmmiqa_metaiqa_create(cfg, &m);
    if (rc != LMMIQA_OK)
        return rc;
    if (init_path) {
        rc = lmmiqa_metaiqa_load_pretrained(m, init_path);
        if (rc != LMMIQA_OK) {
            lmmiqa_metaiqa_destroy(m);
            return rc;
        }
    }
    int ts = cfg->train_size, cs = cfg->crop;
    size_t plane = (size_t)ts * ts;
    uint8_t *cache = lmmiqa__malloc(n * plane * 3);
    float *tmp = lmmiqa__malloc(plane * 3 * sizeof(float));
    size_t *order = lmmiqa__malloc(n * sizeof *order);
    float *target = lmmiqa__malloc((size_t)cfg->batch * sizeof(float));
    float *dout = lmmiqa__malloc((size_t)cfg->batch * sizeof(float));
    lmmiqa__metaiqa_work *w = NULL;
    if (!cache || !tmp || !order || !target || !dout)
        rc = LMMIQA_ERR_NOMEM;
    for (size_t i = 0; rc == LMMIQA_OK && i < n; i++) {
        lmmiqa_image *img = NULL;
        rc = lmmiqa_image_load(image_paths[i], &img);
        if (rc == LMMIQA_OK)
            rc = resize_rgb(img->pixels, img->width, img->height, ts, ts, tmp);
        lmmiqa_image_destroy(img);
        if (rc == LMMIQA_OK && !isfinite(mos[i]))
            rc = lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "metaiqa: MOS of %s is not finite",
                              image_paths[i]);
        for (size_t c = 0; rc == LMMIQA_OK && c < 3; c++)
            for (size_t k = 0; k < plane; k++) {
                float v = tmp[c * plane + k] + 0.5f;
                cache[(i * 3 + c) * plane + k] = (uint8_t)(v < 0.0f ? 0 : v > 255.0f ? 255 : v);
            }
    }
    lmmiqa_nn_optim opt;
    lmmiqa_nn_optim_defaults(&opt, LMMIQA_NN_ADAM, cfg->lr);
    opt.weight_decay = cfg->weight_decay;
    opt.step_size = cfg->lr_step;
    opt.gamma = 0.1;
    if (rc == LMMIQA_OK)
        rc = lmmiqa_nn_optim_init(&opt, &m->params);
    if (rc == LMMIQA_OK)
        rc = lmmiqa__metaiqa_work_create(m, cfg->batch, cs, cs, &w);
    int start = 0;
    if (rc == LMMIQA_OK && checkpoint_path && access(checkpoint_path, F_OK) == 0) {
        rc = resume(m, &opt, cfg->seed, checkpoint_path, &start);
        if (rc == LMMIQA_OK)
            lmmiqa__train_log(cfg->verbose, cfg->log, cfg->log_user,
                              "resumed from %s after epoch %d", checkpoint_path, start);
    }
    double range = mos_max - mos_min;
    for (int epoch = start; rc == LMMIQA_OK && epoch < cfg->epochs; epoch++) {
        lmmiqa_rng rng;
        lmmiqa_rng_seed(&rng, cfg->seed ^ (0xD1B54A32D192ED03ull * (uint64_t)(epoch + 1)));
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        lmmiqa_rng_shuffle(&rng, order, n);
        double loss_sum = 0.0;
        size_t steps = 0;
        float *x = lmmiqa__metaiqa_work_input(w);
        for (size_t b0 = 0; b0 + 1 < n; b0 += (size_t)cfg->batch) {
            int nb = (int)(n - b0 < (size_t)cfg->batch ? n - b0 : (size_t)cfg->batch);
            if (nb < 2)
                break;
            for (int s = 0; s < nb; s++) {
                size_t img = order[b0 + (size_t)s];
                int ox = (int)lmmiqa_rng_below(&rng, (uint64_t)(ts - cs + 1));
                int oy = (int)lmmiqa_rng_below(&rng, (uint64_t)(ts - cs + 1));
                int flip = lmmiqa_rng_uniform(&rng) < 0.5;
                float *dst = x + (size_t)s * 3 * cs * cs;
                for (int c = 0; c < 3; c++)
                    for (int yy = 0; yy < cs; yy++) {
                        const uint8_t *row = cache + (img * 3 + (size_t)c) * plane +
                                             (size_t)(oy + yy) * ts + ox;
                        float *d = dst + ((size_t)c * cs + yy) * cs;
                        for (int xx = 0; xx < cs; xx++)
                            d[xx] = row[flip ? cs - 1 - xx : xx];
                    }
                normalize(dst, cs);
                target[s] = (float)((mos[img] - mos_min) / range);
            }
            const float *out = lmmiqa__metaiqa_forward(m, w, nb, 1, &rng);
            loss_sum += lmmiqa_nn_mse_loss((size_t)nb, out, target, dout);
            steps++;
            lmmiqa_nn_params_zero_grad(&m->params);
            lmmiqa__metaiqa_backward(m, w, nb, dout);
            lmmiqa_nn_optim_step(&opt, &m->params, epoch, NULL);
        }
        lmmiqa__train_log(cfg->verbose, cfg->log, cfg->log_user,
                          "epoch %d/%d: %zu images, mean MSE %.5f, lr %g", epoch + 1, cfg->epochs,
                          n, loss_sum / (double)(steps ? steps : 1),
                          lmmiqa_nn_optim_lr(&opt, epoch));
        if (checkpoint_path)
            rc = save_checkpoint(m, &opt, epoch + 1, cfg->seed, checkpoint_path);
    }
    if (rc == LMMIQA_OK && weights_out)
        rc = lmmiqa_metaiqa_save(m, weights_out);
    lmmiqa__metaiqa_work_destroy(w);
    free(cache);
    free(tmp);
    free(order);
    free(target);
    free(dout);
    lmmiqa_metaiqa_destroy(m);
    return rc;
}
