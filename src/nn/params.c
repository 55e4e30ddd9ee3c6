/*
 * src/nn/params.c - the engine's parameter store (named tensors in flat
 * blocks), torch-compatible initialisers, Adam/SGD with weight decay and a
 * StepLR schedule, and safetensors checkpoints (weights, buffers, optimizer
 * state) so that an interrupted training resumes exactly.
 */
#include "nn/nn.h"

#include "core/internal.h"
#include "nn_internal.h"

#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lmmiqa_nn_set_threads(int threads)
{
    if (threads > 0)
        openblas_set_num_threads(threads);
}

void lmmiqa_nn_params_init(lmmiqa_nn_params *p)
{
    memset(p, 0, sizeof *p);
}

void lmmiqa_nn_params_free(lmmiqa_nn_params *p)
{
    if (!p)
        return;
    free(p->tensors);
    free(p->data);
    free(p->grad);
    free(p->buffers);
    free(p->opt_m);
    free(p->opt_v);
    memset(p, 0, sizeof *p);
}

int lmmiqa_nn_params_add(lmmiqa_nn_params *p, const char *name, lmmiqa_nn_tensor_kind kind,
                         int ndim, const int64_t *shape)
{
    assert(!p->data && ndim >= 0 && ndim <= 4 && strlen(name) < sizeof p->tensors[0].name);
    if (p->count == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        lmmiqa_nn_tensor *t = realloc(p->tensors, cap * sizeof *t);
        if (!t) {
            lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory declaring tensor %s", name);
            return -1;
        }
        p->tensors = t;
        p->cap = cap;
    }
    lmmiqa_nn_tensor *t = &p->tensors[p->count];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->kind = kind;
    t->ndim = ndim;
    t->numel = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->numel *= (size_t)shape[i];
    }
    if (kind == LMMIQA_NN_PARAM) {
        t->offset = p->n_param;
        p->n_param += t->numel;
    } else {
        t->offset = p->n_buffer;
        p->n_buffer += t->numel;
    }
    return (int)p->count++;
}

int lmmiqa_nn_params_alloc(lmmiqa_nn_params *p)
{
    p->data = lmmiqa__calloc(p->n_param ? p->n_param : 1, sizeof(float));
    p->grad = lmmiqa__calloc(p->n_param ? p->n_param : 1, sizeof(float));
    p->buffers = lmmiqa__calloc(p->n_buffer ? p->n_buffer : 1, sizeof(float));
    if (!p->data || !p->grad || !p->buffers)
        return LMMIQA_ERR_NOMEM;
    return LMMIQA_OK;
}

float *lmmiqa_nn_params_data(const lmmiqa_nn_params *p, int index)
{
    const lmmiqa_nn_tensor *t = &p->tensors[index];
    return (t->kind == LMMIQA_NN_PARAM ? p->data : p->buffers) + t->offset;
}

float *lmmiqa_nn_params_grad(const lmmiqa_nn_params *p, int index)
{
    const lmmiqa_nn_tensor *t = &p->tensors[index];
    assert(t->kind == LMMIQA_NN_PARAM);
    return p->grad + t->offset;
}

int lmmiqa_nn_params_find(const lmmiqa_nn_params *p, const char *name)
{
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->tensors[i].name, name) == 0)
            return (int)i;
    return -1;
}

void lmmiqa_nn_params_zero_grad(lmmiqa_nn_params *p)
{
    memset(p->grad, 0, p->n_param * sizeof *p->grad);
}

void lmmiqa_nn_init_uniform(float *x, size_t count, float bound, lmmiqa_rng *rng)
{
    for (size_t i = 0; i < count; i++)
        x[i] = (float)((2.0 * lmmiqa_rng_uniform(rng) - 1.0) * bound);
}

void lmmiqa_nn_init_kaiming_normal(float *x, size_t count, size_t fan_out, lmmiqa_rng *rng)
{
    double std = sqrt(2.0 / (double)fan_out);
    for (size_t i = 0; i < count; i++)
        x[i] = (float)(lmmiqa_rng_normal(rng) * std);
}

void lmmiqa_nn_optim_defaults(lmmiqa_nn_optim *o, lmmiqa_nn_optim_kind kind, double lr)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->lr = lr;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->gamma = 1.0;
}

int lmmiqa_nn_optim_init(const lmmiqa_nn_optim *o, lmmiqa_nn_params *p)
{
    size_t n = p->n_param ? p->n_param : 1;
    free(p->opt_m);
    free(p->opt_v);
    p->opt_m = lmmiqa__calloc(n, sizeof(float));
    p->opt_v = o->kind == LMMIQA_NN_ADAM ? lmmiqa__calloc(n, sizeof(float)) : NULL;
    if (!p->opt_m || (o->kind == LMMIQA_NN_ADAM && !p->opt_v))
        return LMMIQA_ERR_NOMEM;
    return LMMIQA_OK;
}

double lmmiqa_nn_optim_lr(const lmmiqa_nn_optim *o, int epoch)
{
    if (o->step_size <= 0)
        return o->lr;
    return o->lr * pow(o->gamma, (double)(epoch / o->step_size));
}

/* As torch.optim.Adam / SGD (dampening 0, no Nesterov), float32 state. */
void lmmiqa_nn_optim_step(lmmiqa_nn_optim *o, lmmiqa_nn_params *p, int epoch,
                          const unsigned char *frozen)
{
    assert(p->opt_m);
    o->step++;
    float lr = (float)lmmiqa_nn_optim_lr(o, epoch);
    float wd = (float)o->weight_decay;
    float b1 = (float)o->beta1, b2 = (float)o->beta2;
    double bc1 = 1.0 - pow(o->beta1, (double)o->step);
    double bc2 = 1.0 - pow(o->beta2, (double)o->step);
    float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2), eps = (float)o->eps;
    float mom = (float)o->momentum;
    for (size_t t = 0; t < p->count; t++) {
        const lmmiqa_nn_tensor *ten = &p->tensors[t];
        if (ten->kind != LMMIQA_NN_PARAM || (frozen && frozen[t]))
            continue;
        float *w = p->data + ten->offset, *g = p->grad + ten->offset;
        float *m = p->opt_m + ten->offset;
        if (o->kind == LMMIQA_NN_ADAM) {
            float *v = p->opt_v + ten->offset;
            for (size_t i = 0; i < ten->numel; i++) {
                float gi = g[i] + wd * w[i];
                m[i] = b1 * m[i] + (1.0f - b1) * gi;
                v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
                w[i] -= step_size * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
            }
        } else {
            for (size_t i = 0; i < ten->numel; i++) {
                float gi = g[i] + wd * w[i];
                if (mom != 0.0f) {
                    m[i] = o->step == 1 ? gi : mom * m[i] + gi;
                    gi = m[i];
                }
                w[i] -= lr * gi;
            }
        }
    }
}

int lmmiqa_nn_params_save(const lmmiqa_nn_params *p, const lmmiqa_nn_optim *o, int with_optim,
                          const char *const *keys, const char *const *values, size_t n_meta,
                          const char *path)
{
    lmmiqa_safetensors_writer *w = NULL;
    int rc = lmmiqa_safetensors_writer_create(&w);
    char name[128];
    for (size_t t = 0; rc == LMMIQA_OK && t < p->count; t++) {
        const lmmiqa_nn_tensor *ten = &p->tensors[t];
        rc = lmmiqa_safetensors_writer_add(w, ten->name, LMMIQA_DTYPE_F32,
                                           lmmiqa_nn_params_data(p, (int)t), ten->ndim,
                                           ten->shape);
        if (rc == LMMIQA_OK && with_optim && ten->kind == LMMIQA_NN_PARAM) {
            snprintf(name, sizeof name, "optim.m.%s", ten->name);
            rc = lmmiqa_safetensors_writer_add(w, name, LMMIQA_DTYPE_F32,
                                               p->opt_m + ten->offset, ten->ndim, ten->shape);
            if (rc == LMMIQA_OK && p->opt_v) {
                snprintf(name, sizeof name, "optim.v.%s", ten->name);
                rc = lmmiqa_safetensors_writer_add(w, name, LMMIQA_DTYPE_F32,
                                                   p->opt_v + ten->offset, ten->ndim, ten->shape);
            }
        }
    }
    if (rc == LMMIQA_OK && with_optim) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)o->step);
        rc = lmmiqa_safetensors_writer_set_metadata(w, "optim.step", buf);
    }
    for (size_t i = 0; rc == LMMIQA_OK && i < n_meta; i++)
        rc = lmmiqa_safetensors_writer_set_metadata(w, keys[i], values[i]);
    if (rc == LMMIQA_OK)
        rc = lmmiqa_safetensors_writer_save(w, path);
    lmmiqa_safetensors_writer_destroy(w);
    return rc;
}

int lmmiqa__nn_read_tensor(const lmmiqa_safetensors *st, const char *name,
                           const lmmiqa_nn_tensor *ten, float *dst, const char *path)
{
    lmmiqa_tensor_info info;
    if (lmmiqa_safetensors_find(st, name, &info) != LMMIQA_OK)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: tensor %s is missing", path, name);
    if (info.dtype != LMMIQA_DTYPE_F32 && info.dtype != LMMIQA_DTYPE_F16 &&
        info.dtype != LMMIQA_DTYPE_BF16 && info.dtype != LMMIQA_DTYPE_F64)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: tensor %s has dtype %d, want a float type",
                            path, name, (int)info.dtype);
    int same = info.numel == ten->numel && info.ndim == ten->ndim;
    for (int i = 0; same && i < ten->ndim; i++)
        same = info.shape[i] == ten->shape[i];
    if (!same) {
        char want[96] = "", got[96] = "";
        for (int i = 0; i < ten->ndim; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", i ? "," : "",
                     (long long)ten->shape[i]);
        for (int i = 0; i < info.ndim; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? "," : "",
                     (long long)info.shape[i]);
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: tensor %s has shape [%s], want [%s]", path,
                            name, got, want);
    }
    int rc = lmmiqa_safetensors_read_f32(st, name, dst, ten->numel);
    if (rc != LMMIQA_OK)
        return lmmiqa__fail_context(rc, "%s: ", path);
    for (size_t i = 0; i < ten->numel; i++)
        if (!isfinite(dst[i]))
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                "%s: tensor %s holds a non-finite value (%g at index %zu)", path,
                                name, (double)dst[i], i);
    return LMMIQA_OK;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int lmmiqa_nn_params_load(lmmiqa_nn_params *p, lmmiqa_nn_optim *o, const char *path,
                          const char *prefix, int strict)
{
    lmmiqa_safetensors *st = NULL;
    int rc = lmmiqa_safetensors_open(path, &st);
    if (rc != LMMIQA_OK)
        return rc;
    if (!prefix)
        prefix = "";
    size_t plen = strlen(prefix);
    char name[256];
    /* Collect every missing tensor for one clear message. */
    char missing[512] = "";
    size_t n_missing = 0;
    for (size_t t = 0; t < p->count; t++) {
        lmmiqa_nn_tensor *ten = &p->tensors[t];
        snprintf(name, sizeof name, "%s%s", prefix, ten->name);
        lmmiqa_tensor_info info;
        if (lmmiqa_safetensors_find(st, name, &info) != LMMIQA_OK) {
            if (n_missing++ < 8)
                snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s",
                         n_missing > 1 ? ", " : "", name);
            continue;
        }
        rc = lmmiqa__nn_read_tensor(st, name, ten, lmmiqa_nn_params_data(p, (int)t), path);
        if (rc != LMMIQA_OK)
            goto out;
        if (o && ten->kind == LMMIQA_NN_PARAM) {
            snprintf(name, sizeof name, "optim.m.%s", ten->name);
            rc = lmmiqa__nn_read_tensor(st, name, ten, p->opt_m + ten->offset, path);
            if (rc == LMMIQA_OK && p->opt_v) {
                snprintf(name, sizeof name, "optim.v.%s", ten->name);
                rc = lmmiqa__nn_read_tensor(st, name, ten, p->opt_v + ten->offset, path);
            }
            if (rc != LMMIQA_OK)
                goto out;
        }
    }
    if (n_missing) {
        rc = lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: %zu tensor(s) missing: %s%s", path, n_missing,
                          missing, n_missing > 8 ? ", ..." : "");
        goto out;
    }
    if (strict) {
        char extra[512] = "";
        size_t n_extra = 0;
        for (size_t i = 0; i < lmmiqa_safetensors_count(st); i++) {
            lmmiqa_tensor_info info;
            lmmiqa_safetensors_get(st, i, &info);
            if (strncmp(info.name, "optim.", 6) == 0 || ends_with(info.name, "num_batches_tracked"))
                continue;
            if (strncmp(info.name, prefix, plen) != 0 ||
                lmmiqa_nn_params_find(p, info.name + plen) < 0) {
                if (n_extra++ < 8)
                    snprintf(extra + strlen(extra), sizeof extra - strlen(extra), "%s%s",
                             n_extra > 1 ? ", " : "", info.name);
            }
        }
        if (n_extra) {
            rc = lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: %zu unexpected tensor(s): %s%s", path,
                              n_extra, extra, n_extra > 8 ? ", ..." : "");
            goto out;
        }
    }
    if (o) {
        const char *s = lmmiqa_safetensors_metadata(st, "optim.step");
        char *end = NULL;
        long long v = s ? strtoll(s, &end, 10) : -1;
        if (!s || *end || v < 0) {
            rc = lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: no valid optim.step metadata", path);
            goto out;
        }
        o->step = v;
    }
out:
    lmmiqa_safetensors_close(st);
    return rc;
}
