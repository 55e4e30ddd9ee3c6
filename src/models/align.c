/*
 * src/models/align.c - ALIGN's EfficientNet image tower: configuration,
 * block plan, weight loading with batch-norm folding, and the channels-last
 * forward pass (see include/lmmiqa/align.h).
 *
 * Loading computes the block plan from the Hugging Face configuration the
 * way AlignVisionEncoder does, then reads every tensor the plan needs,
 * checking its shape, and folds each batch norm into the convolution before
 * it: w' = w * g / sqrt(v + eps), b' = beta - m * g / sqrt(v + eps)
 * (in double). Depthwise weights are stored transposed, [k*k, c], for the
 * channels-last kernel. Tensors of the vision tower that the plan does not
 * use are reported.
 *
 * Forward, per image, activations [h*w, c] (NHWC):
 *   stem:  im2col [oh*ow, 27] x W^T -> bias, swish
 *   block: expand  E = X W_e^T (oneDNN sgemm), bias + swish [h*w, ce]
 *          depthwise D = swish(dw(E) + b), SE sums fused    [oh*ow, ce]
 *          SE: s = sigmoid(W2 swish(W1 mean + b1) + b2)      [ce]
 *          project Y = (D diag(s)) W_p^T + b_p (+ X)         [oh*ow, co]
 *   The SE scale goes into D or into a copy of W_p, whichever is smaller.
 *   pool:  mean over positions of the last block's output.
 * Blocks with at most SHARE_HW input positions (the late stages) run on the
 * whole batch at once, so their 1x1 products read each weight matrix once
 * per batch; the SE scale then goes into D, image by image.
 */
#include "lmmiqa/advanced/align.h"

#include "align_internal.h"
#include "core/internal.h"
#include "efficientnet_kernels.h"
#include "tensor/kernels.h"
#include "tensor/weights.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <sys/stat.h>

/* Most threads one forward uses (the caller and MAX_PARTS - 1 helpers). */
#define MAX_PARTS 8

typedef struct align_layer {
    float *exp_w, *exp_b;     /* [ce, ci], [ce] (BN folded) */
    float *dw_w, *dw_b;       /* [k*k, ce], [ce] */
    float *se1_w, *se1_b;     /* [se, ce], [se] */
    float *se2_w, *se2_b;     /* [ce, se], [ce] */
    float *proj_w, *proj_b;   /* [co, ce], [co] */
} align_layer;

struct lmmiqa_align {
    lmmiqa_align_config cfg;
    lmmiqa__align_hf_config hf;
    lmmiqa_align_block *blocks;
    align_layer *layer;
    float *stem_w, *stem_b; /* [stem, 27] ordered (ky, kx, ci), [stem] */
    float *arena;
    char sha256[65];
};

struct lmmiqa_align_state {
    int cap_h, cap_w, cap_b; /* largest input and batch the buffers fit */
    float *mem;
    size_t floats;
    float *cols;             /* stem patches [oh*ow, 27] */
    float *x, *y;            /* early blocks, one image: [h*w, c] ping-pong */
    float *xb, *yb;          /* late blocks, whole batch: [batch*h*w, c] ping-pong */
    float *e, *d, *wtmp;     /* expanded, depthwise output, scaled W_p */
    float *se_mean, *se_hidden, *se_scale;
    double *sums;            /* [parts, ce]: SE sums, one row per thread */
    /* helper threads for the non-matrix-product kernels (see run_parts) */
    int parts;               /* threads working, the caller included */
    int helpers;             /* helper threads started */
    pthread_t tid[MAX_PARTS - 1];
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    int gen, pending, quit;
    void (*fn)(void *ctx, int part, int parts);
    void *ctx;
};

/* ------------------------------------------------------------ configuration */

void lmmiqa__align_hf_default(lmmiqa__align_hf_config *hf)
{
    static const int k[7] = {3, 3, 5, 3, 5, 5, 3}, in[7] = {32, 16, 24, 40, 80, 112, 192},
                     out[7] = {16, 24, 40, 80, 112, 192, 320}, s[7] = {1, 2, 2, 2, 1, 2, 1},
                     r[7] = {1, 2, 2, 3, 3, 4, 1}, e[7] = {1, 6, 6, 6, 6, 6, 6};
    memset(hf, 0, sizeof *hf);
    hf->width_coefficient = 2.0;
    hf->depth_coefficient = 3.1;
    hf->depth_divisor = 8;
    hf->stages = 7;
    for (int i = 0; i < 7; i++) {
        hf->kernel_sizes[i] = k[i];
        hf->in_channels[i] = in[i];
        hf->out_channels[i] = out[i];
        hf->strides[i] = s[i];
        hf->num_block_repeats[i] = r[i];
        hf->expand_ratios[i] = e[i];
    }
    hf->n_depthwise_padding = 0;
    hf->squeeze_expansion_ratio = 0.25;
    hf->batch_norm_eps = 1e-3;
    hf->image_size = LMMIQA_ALIGN_CROP;
    hf->num_channels = 3;
}

static int json_number(const cJSON *obj, const char *key, const char *path, double lo, double hi,
                       int integer, double *out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!j)
        return 0;
    if (!cJSON_IsNumber(j) || !(j->valuedouble >= lo && j->valuedouble <= hi) ||
        (integer && j->valuedouble != floor(j->valuedouble)))
        return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: vision_config.%s must be %s in [%g, %g]",
                            path, key, integer ? "an integer" : "a number", lo, hi);
    *out = j->valuedouble;
    return 0;
}

/* An integer array; *n receives its length (left as is when absent). */
static int json_int_array(const cJSON *obj, const char *key, const char *path, int cap, int lo,
                          int hi, int *dst, int *n)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!j)
        return 0;
    if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) > cap)
        return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: vision_config.%s must be an array of at most "
                            "%d integers", path, key, cap);
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, j)
    {
        if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) ||
            it->valuedouble < lo || it->valuedouble > hi)
            return lmmiqa__fail(LMMIQA_ERR_FORMAT,
                                "%s: vision_config.%s[%d] must be an integer in [%d, %d]", path,
                                key, i, lo, hi);
        dst[i++] = (int)it->valuedouble;
    }
    *n = i;
    return 0;
}

int lmmiqa__align_hf_parse(const char *json, size_t size, const char *path,
                           lmmiqa__align_hf_config *hf)
{
    cJSON *root = cJSON_ParseWithLength(json, size);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: not a JSON object", path);
    }
    const cJSON *vc = cJSON_GetObjectItemCaseSensitive(root, "vision_config");
    if (!vc)
        vc = root;
    if (!cJSON_IsObject(vc)) {
        cJSON_Delete(root);
        return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: vision_config is not an object", path);
    }
    int rc = 0;
    double v;
    const int big = 1 << 16;
    if (!rc && !(rc = json_number(vc, "width_coefficient", path, 1e-3, 64, 0, &v)))
        hf->width_coefficient = cJSON_GetObjectItemCaseSensitive(vc, "width_coefficient") ? v
                                                                      : hf->width_coefficient;
    if (!rc && !(rc = json_number(vc, "depth_coefficient", path, 1e-3, 64, 0, &v)))
        hf->depth_coefficient = cJSON_GetObjectItemCaseSensitive(vc, "depth_coefficient") ? v
                                                                      : hf->depth_coefficient;
    if (!rc && !(rc = json_number(vc, "depth_divisor", path, 1, 1024, 1, &v)))
        hf->depth_divisor = cJSON_GetObjectItemCaseSensitive(vc, "depth_divisor") ? (int)v
                                                                  : hf->depth_divisor;
    if (!rc && !(rc = json_number(vc, "squeeze_expansion_ratio", path, 1e-6, 64, 0, &v)))
        hf->squeeze_expansion_ratio =
            cJSON_GetObjectItemCaseSensitive(vc, "squeeze_expansion_ratio")
                ? v : hf->squeeze_expansion_ratio;
    if (!rc && !(rc = json_number(vc, "batch_norm_eps", path, 0, 1, 0, &v)))
        hf->batch_norm_eps = cJSON_GetObjectItemCaseSensitive(vc, "batch_norm_eps")
                                 ? v : hf->batch_norm_eps;
    if (!rc && !(rc = json_number(vc, "image_size", path, 2, big, 1, &v)))
        hf->image_size = cJSON_GetObjectItemCaseSensitive(vc, "image_size") ? (int)v
                                                               : hf->image_size;
    if (!rc && !(rc = json_number(vc, "num_channels", path, 3, 3, 1, &v)))
        hf->num_channels = 3;
    int n[6] = {hf->stages, hf->stages, hf->stages, hf->stages, hf->stages, hf->stages};
    const int S = LMMIQA__ALIGN_MAX_STAGES;
    if (!rc)
        rc = json_int_array(vc, "kernel_sizes", path, S, 1, 63, hf->kernel_sizes, &n[0]);
    if (!rc)
        rc = json_int_array(vc, "in_channels", path, S, 1, big, hf->in_channels, &n[1]);
    if (!rc)
        rc = json_int_array(vc, "out_channels", path, S, 1, big, hf->out_channels, &n[2]);
    if (!rc)
        rc = json_int_array(vc, "strides", path, S, 1, 2, hf->strides, &n[3]);
    if (!rc)
        rc = json_int_array(vc, "num_block_repeats", path, S, 1, 1024, hf->num_block_repeats,
                            &n[4]);
    if (!rc)
        rc = json_int_array(vc, "expand_ratios", path, S, 1, 64, hf->expand_ratios, &n[5]);
    if (!rc)
        rc = json_int_array(vc, "depthwise_padding", path, LMMIQA__ALIGN_MAX_BLOCKS, 0,
                            LMMIQA__ALIGN_MAX_BLOCKS, hf->depthwise_padding,
                            &hf->n_depthwise_padding);
    if (!rc) {
        for (int i = 1; i < 6; i++)
            if (n[i] != n[0])
                rc = lmmiqa__fail(LMMIQA_ERR_FORMAT,
                                  "%s: vision_config: kernel_sizes, in_channels, out_channels, "
                                  "strides, num_block_repeats and expand_ratios differ in length",
                                  path);
        hf->stages = n[0];
    }
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(vc, "hidden_act");
    if (!rc && act &&
        !(cJSON_IsString(act) &&
          (strcmp(act->valuestring, "swish") == 0 || strcmp(act->valuestring, "silu") == 0)))
        rc = lmmiqa__fail(LMMIQA_ERR_FORMAT,
                          "%s: vision_config.hidden_act must be \"swish\" (or \"silu\")", path);
    const cJSON *pool = cJSON_GetObjectItemCaseSensitive(vc, "pooling_type");
    if (!rc && pool && !(cJSON_IsString(pool) && strcmp(pool->valuestring, "mean") == 0))
        rc = lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: vision_config.pooling_type must be \"mean\"",
                          path);
    cJSON_Delete(root);
    return rc;
}

static cJSON *int_array(const int *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

char *lmmiqa__align_hf_to_json(const lmmiqa__align_hf_config *hf)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *vc = cJSON_CreateObject();
    if (!root || !vc) {
        cJSON_Delete(root);
        cJSON_Delete(vc);
        return NULL;
    }
    cJSON_AddStringToObject(root, "model_type", "align");
    cJSON_AddNumberToObject(root, "projection_dim", 640);
    cJSON_AddItemToObject(root, "vision_config", vc);
    cJSON_AddStringToObject(vc, "model_type", "align_vision_model");
    cJSON_AddNumberToObject(vc, "width_coefficient", hf->width_coefficient);
    cJSON_AddNumberToObject(vc, "depth_coefficient", hf->depth_coefficient);
    cJSON_AddNumberToObject(vc, "depth_divisor", hf->depth_divisor);
    cJSON_AddItemToObject(vc, "kernel_sizes", int_array(hf->kernel_sizes, hf->stages));
    cJSON_AddItemToObject(vc, "in_channels", int_array(hf->in_channels, hf->stages));
    cJSON_AddItemToObject(vc, "out_channels", int_array(hf->out_channels, hf->stages));
    cJSON_AddItemToObject(vc, "strides", int_array(hf->strides, hf->stages));
    cJSON_AddItemToObject(vc, "num_block_repeats", int_array(hf->num_block_repeats, hf->stages));
    cJSON_AddItemToObject(vc, "expand_ratios", int_array(hf->expand_ratios, hf->stages));
    cJSON_AddItemToObject(vc, "depthwise_padding",
                          int_array(hf->depthwise_padding, hf->n_depthwise_padding));
    cJSON_AddNumberToObject(vc, "squeeze_expansion_ratio", hf->squeeze_expansion_ratio);
    cJSON_AddNumberToObject(vc, "batch_norm_eps", hf->batch_norm_eps);
    cJSON_AddNumberToObject(vc, "image_size", hf->image_size);
    cJSON_AddNumberToObject(vc, "num_channels", 3);
    cJSON_AddStringToObject(vc, "hidden_act", "swish");
    cJSON_AddStringToObject(vc, "pooling_type", "mean");
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}

/* ------------------------------------------------------------ block plan */

static int round_filters(const lmmiqa__align_hf_config *hf, int channels)
{
    int d = hf->depth_divisor;
    double c = channels * hf->width_coefficient;
    int r = (int)(c + d / 2.0) / d * d;
    if (r < d)
        r = d;
    if (r < 0.9 * c)
        r += d;
    return r;
}

int lmmiqa__align_plan(const lmmiqa__align_hf_config *hf, lmmiqa_align_block *blocks, int cap,
                       int *n, int *stem)
{
    *n = 0;
    *stem = round_filters(hf, 32);
    if (hf->stages < 1)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "ALIGN configuration: no stages");
    int count = 0;
    for (int i = 0; i < hf->stages; i++) {
        int in_dim = round_filters(hf, hf->in_channels[i]);
        int out_dim = round_filters(hf, hf->out_channels[i]);
        int k = hf->kernel_sizes[i];
        if (k % 2 == 0 || (hf->strides[i] != 1 && hf->strides[i] != 2))
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                "ALIGN configuration: stage %d: kernel %d / stride %d "
                                "(odd kernels and strides 1 or 2 only)",
                                i, k, hf->strides[i]);
        int repeats = (int)ceil(hf->depth_coefficient * hf->num_block_repeats[i]);
        if (i == 0 && in_dim != *stem)
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                "ALIGN configuration: the stem has %d channels but the first "
                                "block takes %d",
                                *stem, in_dim);
        for (int j = 0; j < repeats; j++) {
            if (count >= cap)
                return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE,
                                    "ALIGN configuration: more than %d blocks", cap);
            lmmiqa_align_block *b = &blocks[count];
            int adjust = 1;
            for (int q = 0; q < hf->n_depthwise_padding; q++)
                if (hf->depthwise_padding[q] == count)
                    adjust = 0;
            b->in_dim = j > 0 ? out_dim : in_dim;
            b->out_dim = out_dim;
            b->stride = j > 0 ? 1 : hf->strides[i];
            b->kernel = k;
            b->expand = hf->expand_ratios[i] != 1;
            b->expand_dim = b->in_dim * hf->expand_ratios[i];
            b->se_dim = (int)(b->in_dim * hf->squeeze_expansion_ratio);
            if (b->se_dim < 1)
                b->se_dim = 1;
            b->residual = b->stride == 1 && j > 0;
            if (b->stride == 2) {
                b->pad_before = adjust ? k / 2 - 1 : k / 2;
                b->pad_after = k / 2;
            } else {
                b->pad_before = (k - 1) / 2;
                b->pad_after = k - 1 - b->pad_before;
            }
            count++;
        }
    }
    *n = count;
    return LMMIQA_OK;
}

/* ------------------------------------------------------------ loading */

typedef struct loader {
    lmmiqa__weights *w;
    const char *prefix; /* "vision_model." or "" */
    double eps;
    float *tmp;         /* scratch for one tensor */
    char name[512];
} loader;

static const char *tname(loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *tname(loader *L, const char *fmt, ...)
{
    int n = snprintf(L->name, sizeof L->name, "%s", L->prefix);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->name + n, sizeof L->name - (size_t)n, fmt, ap);
    va_end(ap);
    return L->name;
}

static int read_t(loader *L, const char *name, int ndim, int64_t a, int64_t b, int64_t c,
                  int64_t d, float *out)
{
    int64_t shape[4] = {a, b, c, d};
    return lmmiqa__weights_read(L->w, name, ndim, shape, out);
}

/* Fold the batch norm `bn` (prefix of .weight/.bias/.running_mean/.running_var)
 * into w[cout, fan] and write the bias b[cout]. */
static int fold_bn(loader *L, const char *bn, int cout, int fan, float *w, float *b)
{
    static const char *part[4] = {"weight", "bias", "running_mean", "running_var"};
    char base[512], nm[600];
    snprintf(base, sizeof base, "%s", bn);
    float *v[4];
    for (int p = 0; p < 4; p++) {
        v[p] = L->tmp + (size_t)p * cout;
        snprintf(nm, sizeof nm, "%s.%s", base, part[p]);
        int rc = read_t(L, nm, 1, cout, 0, 0, 0, v[p]);
        if (rc != LMMIQA_OK)
            return rc;
    }
    snprintf(nm, sizeof nm, "%s.num_batches_tracked", base);
    if (lmmiqa__weights_has(L->w, nm)) {
        lmmiqa_tensor_info info;
        (void)lmmiqa__weights_find(L->w, nm, &info); /* marks it used; not needed */
    }
    for (int o = 0; o < cout; o++) {
        double var = v[3][o] + L->eps;
        if (!(var > 0) || !isfinite(var) || !isfinite(v[0][o]) || !isfinite(v[1][o]) ||
            !isfinite(v[2][o]))
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT,
                                "%s: %s: channel %d: running_var + eps = %g (must be positive) "
                                "or a non-finite statistic",
                                lmmiqa__weights_path(L->w), base, o, var);
        double s = v[0][o] / sqrt(var);
        for (int i = 0; i < fan; i++)
            w[(size_t)o * fan + i] = (float)(w[(size_t)o * fan + i] * s);
        b[o] = (float)(v[1][o] - v[2][o] * s);
    }
    return LMMIQA_OK;
}

static int load_block(loader *L, const lmmiqa_align_block *B, int i, align_layer *l)
{
    int rc;
    const int ce = B->expand_dim, k = B->kernel;
    if (B->expand) {
        if ((rc = read_t(L, tname(L, "encoder.blocks.%d.expansion.expand_conv.weight", i), 4, ce,
                         B->in_dim, 1, 1, l->exp_w)) ||
            (rc = fold_bn(L, tname(L, "encoder.blocks.%d.expansion.expand_bn", i), ce, B->in_dim,
                          l->exp_w, l->exp_b)))
            return rc;
    }
    /* depthwise [ce, 1, k, k] -> fold -> [k*k, ce] */
    float *dw = L->tmp + (size_t)4 * ce;
    if ((rc = read_t(L, tname(L, "encoder.blocks.%d.depthwise_conv.depthwise_conv.weight", i), 4,
                     ce, 1, k, k, dw)) ||
        (rc = fold_bn(L, tname(L, "encoder.blocks.%d.depthwise_conv.depthwise_norm", i), ce,
                      k * k, dw, l->dw_b)))
        return rc;
    for (int c = 0; c < ce; c++)
        for (int t = 0; t < k * k; t++)
            l->dw_w[(size_t)t * ce + c] = dw[(size_t)c * k * k + t];
    if ((rc = read_t(L, tname(L, "encoder.blocks.%d.squeeze_excite.reduce.weight", i), 4,
                     B->se_dim, ce, 1, 1, l->se1_w)) ||
        (rc = read_t(L, tname(L, "encoder.blocks.%d.squeeze_excite.reduce.bias", i), 1, B->se_dim,
                     0, 0, 0, l->se1_b)) ||
        (rc = read_t(L, tname(L, "encoder.blocks.%d.squeeze_excite.expand.weight", i), 4, ce,
                     B->se_dim, 1, 1, l->se2_w)) ||
        (rc = read_t(L, tname(L, "encoder.blocks.%d.squeeze_excite.expand.bias", i), 1, ce, 0, 0,
                     0, l->se2_b)) ||
        (rc = read_t(L, tname(L, "encoder.blocks.%d.projection.project_conv.weight", i), 4,
                     B->out_dim, ce, 1, 1, l->proj_w)) ||
        (rc = fold_bn(L, tname(L, "encoder.blocks.%d.projection.project_bn", i), B->out_dim, ce,
                      l->proj_w, l->proj_b)))
        return rc;
    return LMMIQA_OK;
}

static size_t block_floats(const lmmiqa_align_block *B)
{
    size_t ci = (size_t)B->in_dim, ce = (size_t)B->expand_dim, co = (size_t)B->out_dim;
    size_t se = (size_t)B->se_dim, kk = (size_t)B->kernel * B->kernel;
    return (B->expand ? ce * ci + ce : 0) + kk * ce + ce + 2 * se * ce + se + ce + co * ce + co;
}

/* An unused tensor of the vision tower (not a batch norm's counter). */
static int tower_belongs(const char *name, const void *ctx)
{
    const loader *L = ctx;
    size_t plen = strlen(L->prefix), nl = strlen(name);
    int vision = plen ? strncmp(name, L->prefix, plen) == 0
                      : (strncmp(name, "embeddings.", 11) == 0 || strncmp(name, "encoder.", 8) == 0);
    return vision && !(nl > 20 && strcmp(name + nl - 20, ".num_batches_tracked") == 0);
}

static int check_unused(loader *L)
{
    return lmmiqa__weights_check_unused(
        L->w, "the vision tower (the configuration plans fewer blocks?)", tower_belongs, L);
}

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int read_config(const char *weights_path, const char *config_path,
                       lmmiqa__align_hf_config *hf)
{
    lmmiqa__align_hf_default(hf);
    char buf[4096];
    const char *path = config_path;
    if (!path) {
        const char *slash = strrchr(weights_path, '/');
        snprintf(buf, sizeof buf, "%.*s/config.json", slash ? (int)(slash - weights_path) : 1,
                 slash ? weights_path : ".");
        if (!file_exists(buf))
            return LMMIQA_OK;
        path = buf;
    }
    unsigned char *text = NULL;
    size_t size = 0;
    int rc = lmmiqa__file_read_all(path, (size_t)16 << 20, &text, &size);
    if (rc != LMMIQA_OK)
        return rc;
    rc = lmmiqa__align_hf_parse((const char *)text, size, path, hf);
    free(text);
    return rc;
}

int lmmiqa_align_load(const char *path, const lmmiqa_align_load_options *opts, lmmiqa_align **out)
{
    assert(path && out);
    *out = NULL;
    lmmiqa_align_load_options defaults = {0};
    if (!opts)
        opts = &defaults;
    lmmiqa_align *m = lmmiqa__calloc(1, sizeof *m);
    if (!m)
        return LMMIQA_ERR_NOMEM;
    loader L = {0};
    lmmiqa__sha256_job *hash = NULL;
    int rc = read_config(path, opts->config_path, &m->hf);
    if (rc != LMMIQA_OK)
        goto fail;
    m->blocks = lmmiqa__calloc(LMMIQA__ALIGN_MAX_BLOCKS, sizeof *m->blocks);
    if (!m->blocks) {
        rc = LMMIQA_ERR_NOMEM;
        goto fail;
    }
    int nb = 0, stem = 0;
    if ((rc = lmmiqa__align_plan(&m->hf, m->blocks, LMMIQA__ALIGN_MAX_BLOCKS, &nb, &stem)) !=
        LMMIQA_OK)
        goto fail;
    m->cfg.blocks = nb;
    m->cfg.stem_channels = stem;
    m->cfg.embed_dim = m->blocks[nb - 1].out_dim;
    m->cfg.image_size = m->hf.image_size;
    m->cfg.bn_eps = m->hf.batch_norm_eps;

    if ((rc = lmmiqa__weights_open(path, opts->prefix, &L.w)) != LMMIQA_OK)
        goto fail;
    hash = lmmiqa__sha256_file_start(path); /* hashed while the weights load */
    if (lmmiqa__weights_has(L.w, "vision_model.embeddings.convolution.weight"))
        L.prefix = "vision_model.";
    else if (lmmiqa__weights_has(L.w, "embeddings.convolution.weight"))
        L.prefix = "";
    else {
        rc = lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                          "%s: not an ALIGN/EfficientNet vision tower: no "
                          "'vision_model.embeddings.convolution.weight' (%zu tensors, %s)",
                          path, lmmiqa__weights_count(L.w), lmmiqa__weights_format(L.w));
        goto fail;
    }
    L.eps = m->hf.batch_norm_eps;

    size_t total = (size_t)stem * 27 + (size_t)stem, tmp = (size_t)4 * stem + (size_t)stem * 27;
    for (int i = 0; i < nb; i++) {
        total += block_floats(&m->blocks[i]);
        size_t ce = (size_t)m->blocks[i].expand_dim, kk = (size_t)m->blocks[i].kernel;
        size_t t = 4 * ce + ce * kk * kk;
        size_t t2 = 4 * (size_t)m->blocks[i].out_dim;
        if (t > tmp)
            tmp = t;
        if (t2 > tmp)
            tmp = t2;
    }
    m->arena = lmmiqa__alloc_big(total * sizeof(float));
    m->layer = lmmiqa__calloc((size_t)nb, sizeof *m->layer);
    L.tmp = lmmiqa__malloc(tmp * sizeof(float));
    if (!m->arena || !m->layer || !L.tmp) {
        rc = LMMIQA_ERR_NOMEM;
        goto fail;
    }
    float *p = m->arena;
#define TAKE(ptr, n) (ptr = p, p += (n))
    TAKE(m->stem_w, (size_t)stem * 27);
    TAKE(m->stem_b, (size_t)stem);
    for (int i = 0; i < nb; i++) {
        const lmmiqa_align_block *B = &m->blocks[i];
        align_layer *l = &m->layer[i];
        size_t ci = (size_t)B->in_dim, ce = (size_t)B->expand_dim, co = (size_t)B->out_dim;
        size_t se = (size_t)B->se_dim, kk = (size_t)B->kernel * B->kernel;
        if (B->expand) {
            TAKE(l->exp_w, ce * ci);
            TAKE(l->exp_b, ce);
        }
        TAKE(l->dw_w, kk * ce);
        TAKE(l->dw_b, ce);
        TAKE(l->se1_w, se * ce);
        TAKE(l->se1_b, se);
        TAKE(l->se2_w, ce * se);
        TAKE(l->se2_b, ce);
        TAKE(l->proj_w, co * ce);
        TAKE(l->proj_b, co);
    }
#undef TAKE
    assert((size_t)(p - m->arena) == total);

    /* stem [stem, 3, 3, 3] -> fold -> [stem, (ky, kx, ci)] */
    {
        float *raw = L.tmp + (size_t)4 * stem;
        if ((rc = read_t(&L, tname(&L, "embeddings.convolution.weight"), 4, stem, 3, 3, 3, raw)) ||
            (rc = fold_bn(&L, tname(&L, "embeddings.batchnorm"), stem, 27, raw, m->stem_b)))
            goto fail;
        for (int o = 0; o < stem; o++)
            for (int ci = 0; ci < 3; ci++)
                for (int t = 0; t < 9; t++)
                    m->stem_w[(size_t)o * 27 + t * 3 + ci] = raw[(size_t)o * 27 + ci * 9 + t];
    }
    for (int i = 0; i < nb; i++)
        if ((rc = load_block(&L, &m->blocks[i], i, &m->layer[i])) != LMMIQA_OK)
            goto fail;
    if ((rc = check_unused(&L)) != LMMIQA_OK)
        goto fail;
    rc = lmmiqa__sha256_file_finish(hash, m->sha256);
    hash = NULL;
    if (rc != LMMIQA_OK)
        goto fail;
    free(L.tmp);
    lmmiqa__weights_close(L.w);
    *out = m;
    return LMMIQA_OK;
fail:
    lmmiqa__sha256_file_cancel(hash);
    free(L.tmp);
    lmmiqa__weights_close(L.w);
    lmmiqa_align_destroy(m);
    return rc;
}

void lmmiqa_align_destroy(lmmiqa_align *m)
{
    if (!m)
        return;
    free(m->arena);
    free(m->layer);
    free(m->blocks);
    free(m);
}

const lmmiqa_align_config *lmmiqa_align_get_config(const lmmiqa_align *m) { return &m->cfg; }

const lmmiqa_align_block *lmmiqa_align_get_block(const lmmiqa_align *m, int i)
{
    assert(i >= 0 && i < m->cfg.blocks);
    return &m->blocks[i];
}

const char *lmmiqa_align_weights_sha256(const lmmiqa_align *m) { return m->sha256; }

/* ------------------------------------------------------------ geometry */

static int out_side(int in, int k, int s, int pb, int pa)
{
    int span = in + pb + pa - k;
    return span < 0 ? 0 : span / s + 1;
}

static lmmiqa__conv_geom stem_geom(int h, int w)
{
    lmmiqa__conv_geom g = {h, w, out_side(h, 3, 2, 0, 1), out_side(w, 3, 2, 0, 1), 3, 2, 0, 0};
    return g;
}

static lmmiqa__conv_geom block_geom(const lmmiqa_align_block *B, int h, int w)
{
    lmmiqa__conv_geom g = {h,
                           w,
                           out_side(h, B->kernel, B->stride, B->pad_before, B->pad_after),
                           out_side(w, B->kernel, B->stride, B->pad_before, B->pad_after),
                           B->kernel,
                           B->stride,
                           B->pad_before,
                           B->pad_before};
    return g;
}

double lmmiqa_align_flops(const lmmiqa_align *m, int height, int width)
{
    lmmiqa__conv_geom g = stem_geom(height, width);
    double macs = (double)g.oh * g.ow * 27 * m->cfg.stem_channels;
    int h = g.oh, w = g.ow;
    for (int i = 0; i < m->cfg.blocks; i++) {
        const lmmiqa_align_block *B = &m->blocks[i];
        lmmiqa__conv_geom b = block_geom(B, h, w);
        double hw = (double)h * w, ohw = (double)b.oh * b.ow;
        if (B->expand)
            macs += hw * B->in_dim * B->expand_dim;
        macs += ohw * B->expand_dim * B->kernel * B->kernel;
        macs += 2.0 * B->expand_dim * B->se_dim;
        macs += ohw * B->expand_dim * B->out_dim;
        h = b.oh;
        w = b.ow;
    }
    return 2.0 * macs;
}

/* ------------------------------------------------------------ state */

/* Blocks whose input has at most this many positions run on the whole
 * batch at once: one product of M = batch x positions rows per 1x1 conv,
 * so each weight matrix is read once per batch (the late stages hold most
 * of the weights and three quarters of the multiply-adds). */
#define SHARE_HW 324

/* First block run batched for an input of height x width (blocks if none). */
static int split_block(const lmmiqa_align *m, int height, int width)
{
    lmmiqa__conv_geom g = stem_geom(height, width);
    int h = g.oh, w = g.ow, i = 0;
    for (; i < m->cfg.blocks; i++) {
        if ((size_t)h * w <= SHARE_HW)
            break;
        lmmiqa__conv_geom b = block_geom(&m->blocks[i], h, w);
        h = b.oh;
        w = b.ow;
    }
    return i;
}

/* ---- matrix products: oneDNN's dnnl_sgemm (JIT kernels for the CPU found
 * at run time: AVX-512 where present, about twice OpenBLAS 0.3.21's
 * Haswell kernels on these shapes), OpenBLAS if it reports an error.
 * oneDNN runs on OpenMP, whose default busy-waiting team made a forward
 * several times slower on a loaded 2-core machine; so every calling and
 * helper thread sets its OpenMP team to 1 and the products are split by
 * rows over this state's helper threads, which sleep between sections.
 * libgomp is loaded with libdnnl; omp_set_num_threads is looked up at run
 * time so that the library need not be compiled with -fopenmp. */

static void (*omp_set_threads)(int);
static pthread_once_t omp_once = PTHREAD_ONCE_INIT;

static void omp_lookup(void)
{
    void *f = dlsym(RTLD_DEFAULT, "omp_set_num_threads");
    if (f)
        memcpy(&omp_set_threads, &f, sizeof f);
}

static void omp_single(void)
{
    pthread_once(&omp_once, omp_lookup);
    if (omp_set_threads)
        omp_set_threads(1);
}

/* C[m, n] = A[m, k] B[n, k]^T + beta C (all row-major, contiguous). */
static void gemm_nt(int m, int n, int k, const float *a, const float *b, float beta, float *c)
{
    if (dnnl_sgemm('N', 'T', m, n, k, 1.0f, a, k, b, k, beta, c, n) != dnnl_success)
        lmmiqa__sgemm(0, 1, m, n, k, 1.0f, a, k, b, k, beta, c, n);
}

/* ---- helper threads: the depthwise convolution and the elementwise passes
 * are split by rows over the same number of threads OpenBLAS uses
 * (openblas_get_num_threads(): one when the caller runs one image per core,
 * as `lmmiqa extract` does). Helpers sleep on a condition variable between
 * parallel sections. */

static void *helper_main(void *arg)
{
    lmmiqa_align_state *st = ((void **)arg)[0];
    int part = (int)(intptr_t)((void **)arg)[1];
    free(arg);
    omp_single();
    int seen = 0;
    pthread_mutex_lock(&st->mu);
    for (;;) {
        while (st->gen == seen && !st->quit)
            pthread_cond_wait(&st->go, &st->mu);
        if (st->quit)
            break;
        seen = st->gen;
        if (part < st->parts) {
            void (*fn)(void *, int, int) = st->fn;
            void *ctx = st->ctx;
            int parts = st->parts;
            pthread_mutex_unlock(&st->mu);
            fn(ctx, part, parts);
            pthread_mutex_lock(&st->mu);
            if (--st->pending == 0)
                pthread_cond_signal(&st->done);
        }
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

/* Run fn(ctx, p, parts) for p = 0..parts-1, part 0 on the caller. */
static void run_parts(lmmiqa_align_state *st, void (*fn)(void *, int, int), void *ctx)
{
    if (st->parts <= 1) {
        fn(ctx, 0, 1);
        return;
    }
    pthread_mutex_lock(&st->mu);
    st->fn = fn;
    st->ctx = ctx;
    st->pending = st->parts - 1;
    st->gen++;
    pthread_cond_broadcast(&st->go);
    pthread_mutex_unlock(&st->mu);
    fn(ctx, 0, st->parts);
    pthread_mutex_lock(&st->mu);
    while (st->pending > 0)
        pthread_cond_wait(&st->done, &st->mu);
    pthread_mutex_unlock(&st->mu);
}

/* Threads for this forward: OpenBLAS's count, helpers started on demand
 * (a failure to start one just leaves fewer parts). */
static void set_parts(lmmiqa_align_state *st)
{
    int want = openblas_get_num_threads();
    want = want < 1 ? 1 : want > MAX_PARTS ? MAX_PARTS : want;
    while (st->helpers < want - 1) {
        void **arg = malloc(2 * sizeof *arg);
        if (!arg)
            break;
        arg[0] = st;
        arg[1] = (void *)(intptr_t)(st->helpers + 1);
        if (pthread_create(&st->tid[st->helpers], NULL, helper_main, arg) != 0) {
            free(arg);
            break;
        }
        st->helpers++;
    }
    pthread_mutex_lock(&st->mu);
    st->parts = want < st->helpers + 1 ? want : st->helpers + 1;
    pthread_mutex_unlock(&st->mu);
    omp_single();
}

int lmmiqa_align_state_create(const lmmiqa_align *m, lmmiqa_align_state **out)
{
    (void)m;
    lmmiqa_align_state *st = lmmiqa__calloc(1, sizeof *st);
    if (!st)
        return LMMIQA_ERR_NOMEM;
    if (pthread_mutex_init(&st->mu, NULL) != 0) {
        free(st);
        return lmmiqa__fail(LMMIQA_ERR_NOMEM, "ALIGN state: cannot create a mutex");
    }
    if (pthread_cond_init(&st->go, NULL) != 0) {
        pthread_mutex_destroy(&st->mu);
        free(st);
        return lmmiqa__fail(LMMIQA_ERR_NOMEM, "ALIGN state: cannot create a condition");
    }
    if (pthread_cond_init(&st->done, NULL) != 0) {
        pthread_cond_destroy(&st->go);
        pthread_mutex_destroy(&st->mu);
        free(st);
        return lmmiqa__fail(LMMIQA_ERR_NOMEM, "ALIGN state: cannot create a condition");
    }
    st->parts = 1;
    *out = st;
    return LMMIQA_OK;
}

void lmmiqa_align_state_destroy(lmmiqa_align_state *st)
{
    if (!st)
        return;
    pthread_mutex_lock(&st->mu);
    st->quit = 1;
    pthread_cond_broadcast(&st->go);
    pthread_mutex_unlock(&st->mu);
    for (int i = 0; i < st->helpers; i++)
        pthread_join(st->tid[i], NULL);
    pthread_cond_destroy(&st->done);
    pthread_cond_destroy(&st->go);
    pthread_mutex_destroy(&st->mu);
    free(st->mem);
    free(st);
}

size_t lmmiqa_align_state_bytes(const lmmiqa_align_state *st) { return st->floats * sizeof(float); }

#define MAXZ(a, b) ((a) = (a) > (b) ? (a) : (b))

static int state_fit(const lmmiqa_align *m, lmmiqa_align_state *st, int height, int width,
                     int batch)
{
    if (st->mem && height <= st->cap_h && width <= st->cap_w && batch <= st->cap_b)
        return LMMIQA_OK;
    int H = height > st->cap_h ? height : st->cap_h, W = width > st->cap_w ? width : st->cap_w;
    int NB = batch > st->cap_b ? batch : st->cap_b;
    int split = split_block(m, H, W);
    lmmiqa__conv_geom g = stem_geom(H, W);
    size_t cols = (size_t)g.oh * g.ow * 27, act = (size_t)g.oh * g.ow * m->cfg.stem_channels;
    size_t e = 0, d = 0, wt = 0, ce_max = 0, se_max = 0, bact = 0;
    int h = g.oh, w = g.ow;
    for (int i = 0; i < m->cfg.blocks; i++) {
        const lmmiqa_align_block *B = &m->blocks[i];
        lmmiqa__conv_geom b = block_geom(B, h, w);
        size_t n = i >= split ? (size_t)NB : 1;
        size_t hw = (size_t)h * w, ohw = (size_t)b.oh * b.ow, ce = (size_t)B->expand_dim;
        if (i < split) {
            MAXZ(act, hw * B->in_dim);
            MAXZ(act, ohw * B->out_dim);
        } else {
            MAXZ(bact, n * hw * B->in_dim);
            MAXZ(bact, n * ohw * B->out_dim);
        }
        if (B->expand)
            MAXZ(e, n * hw * ce);
        MAXZ(d, n * ohw * ce);
        MAXZ(wt, ce * B->out_dim);
        MAXZ(ce_max, ce);
        MAXZ(se_max, (size_t)B->se_dim);
        h = b.oh;
        w = b.ow;
    }
    if (split == m->cfg.blocks)
        bact = (size_t)NB * h * w * m->blocks[m->cfg.blocks - 1].out_dim;
    /* sums are doubles: 2 floats each; buffers start on 64-byte boundaries */
    size_t pad = 16;
    size_t parts[11] = {cols, act, act, bact, bact, e, d, wt, ce_max, se_max, ce_max};
    size_t total = 2 * MAX_PARTS * ce_max + pad;
    for (int i = 0; i < 11; i++)
        total += (parts[i] + pad - 1) / pad * pad + pad;
    float *mem = NULL;
    if (posix_memalign((void **)&mem, 64, total * sizeof(float)) != 0)
        return lmmiqa__fail(LMMIQA_ERR_NOMEM, "ALIGN state: cannot allocate %zu bytes",
                            total * sizeof(float));
    free(st->mem);
    st->mem = mem;
    st->floats = total;
    st->cap_h = H;
    st->cap_w = W;
    st->cap_b = NB;
    float *p = mem;
    st->sums = (double *)p;
    p += (2 * MAX_PARTS * ce_max + pad - 1) / pad * pad + pad;
    float **dst[11] = {&st->cols, &st->x, &st->y, &st->xb, &st->yb, &st->e,
                       &st->d, &st->wtmp, &st->se_mean, &st->se_hidden, &st->se_scale};
    for (int i = 0; i < 11; i++) {
        *dst[i] = p;
        p += (parts[i] + pad - 1) / pad * pad + pad;
    }
    return LMMIQA_OK;
}

/* ------------------------------------------------------------ forward */

/* Squeeze-excitation of one image: st->se_scale[ce] from st->sums over n
 * positions. */
static void squeeze_excite(const align_layer *l, lmmiqa_align_state *st, int ce, int se, int n)
{
    for (int c = 0; c < ce; c++)
        st->se_mean[c] = (float)(st->sums[c] / n);
    for (int j = 0; j < se; j++) {
        double acc = l->se1_b[j];
        const float *wr = l->se1_w + (size_t)j * ce;
        for (int c = 0; c < ce; c++)
            acc += (double)wr[c] * st->se_mean[c];
        st->se_hidden[j] = (float)lmmiqa__swish_d(acc);
    }
    for (int c = 0; c < ce; c++) {
        double acc = l->se2_b[c];
        const float *wr = l->se2_w + (size_t)c * se;
        for (int j = 0; j < se; j++)
            acc += (double)wr[j] * st->se_hidden[j];
        st->se_scale[c] = (float)lmmiqa__sigmoid_d(acc);
    }
}

/* ---- row-split kernels for run_parts */

typedef struct dw_job {
    const lmmiqa__conv_geom *g;
    int c;
    const float *in, *wt, *bias;
    float *out;
    double *sums; /* [parts, c] */
} dw_job;

static void dw_part(void *ctx, int part, int parts)
{
    const dw_job *j = ctx;
    int r0 = (int)((long)j->g->oh * part / parts), r1 = (int)((long)j->g->oh * (part + 1) / parts);
    double *sums = j->sums + (size_t)part * j->c;
    memset(sums, 0, (size_t)j->c * sizeof *sums);
    if (r1 > r0)
        lmmiqa__dwconv_swish(j->g, j->c, j->in, j->wt, j->bias, j->out, sums, r0, r1);
}

typedef struct rows_job {
    size_t rows;
    int n;
    float *x;
    const float *bias, *res, *scale;
    int kind; /* 0: bias + swish, 1: y = res + bias, 2: scale columns */
    float *y;
} rows_job;

static void rows_part(void *ctx, int part, int parts)
{
    const rows_job *j = ctx;
    size_t r0 = j->rows * (size_t)part / (size_t)parts;
    size_t r1 = j->rows * (size_t)(part + 1) / (size_t)parts;
    size_t off = r0 * (size_t)j->n;
    if (r1 <= r0)
        return;
    if (j->kind == 0)
        lmmiqa__bias_swish(r1 - r0, j->n, j->x + off, j->bias);
    else if (j->kind == 1)
        lmmiqa__rows_bias(r1 - r0, j->n, j->res ? j->res + off : NULL, j->bias, j->y + off);
    else
        lmmiqa__scale_cols(r1 - r0, j->n, j->x + off, j->scale);
}

typedef struct gemm_job {
    int m, n, k;
    const float *a, *b;
    float beta;
    float *c;
} gemm_job;

static void gemm_part(void *ctx, int part, int parts)
{
    const gemm_job *j = ctx;
    int r0 = (int)((long)j->m * part / parts), r1 = (int)((long)j->m * (part + 1) / parts);
    if (r1 > r0)
        gemm_nt(r1 - r0, j->n, j->k, j->a + (size_t)r0 * j->k, j->b, j->beta,
                j->c + (size_t)r0 * j->n);
}

/* gemm_nt split by rows of C over the state's threads. */
static void par_gemm(lmmiqa_align_state *st, int m, int n, int k, const float *a, const float *b,
                     float beta, float *c)
{
    gemm_job j = {m, n, k, a, b, beta, c};
    if (st->parts <= 1 || m < 2 * st->parts || (double)m * n * k < 2e6)
        gemm_part(&j, 0, 1);
    else
        run_parts(st, gemm_part, &j);
}

static void par_rows(lmmiqa_align_state *st, rows_job *j)
{
    /* small passes are not worth waking the helpers */
    if (j->rows * (size_t)j->n < 16384) {
        rows_part(j, 0, 1);
        return;
    }
    run_parts(st, rows_part, j);
}

/* Block i on n images of h x w: x [n*h*w, ci] -> y [n*oh*ow, co]. */
static void run_block(const lmmiqa_align *m, lmmiqa_align_state *st, int i, int n, int h, int w,
                      const float *x, float *y, int *oh, int *ow)
{
    const lmmiqa_align_block *B = &m->blocks[i];
    const align_layer *l = &m->layer[i];
    const int ci = B->in_dim, ce = B->expand_dim, co = B->out_dim;
    const int hw = h * w;
    const float *src = x;
    if (B->expand) {
        /* E[n*hw, ce] = swish(X[n*hw, ci] W_e^T + b) */
        par_gemm(st, n * hw, ce, ci, x, l->exp_w, 0.0f, st->e);
        rows_job j = {(size_t)n * hw, ce, st->e, l->exp_b, NULL, NULL, 0, NULL};
        par_rows(st, &j);
        src = st->e;
    }
    lmmiqa__conv_geom g = block_geom(B, h, w);
    const int ohw = g.oh * g.ow;
    /* one image alone with more positions than output channels: scale a copy
     * of W_p instead of D (fewer multiplications) */
    const int scale_w = n == 1 && ohw > co;
    for (int b = 0; b < n; b++) {
        float *d = st->d + (size_t)b * ohw * ce;
        dw_job dj = {&g, ce, src + (size_t)b * hw * ce, l->dw_w, l->dw_b, d, st->sums};
        int parts = st->parts;
        if ((size_t)ohw * ce * B->kernel * B->kernel < 65536 || g.oh < parts)
            dw_part(&dj, 0, parts = 1);
        else
            run_parts(st, dw_part, &dj);
        for (int p = 1; p < parts; p++)
            for (int c = 0; c < ce; c++)
                st->sums[c] += st->sums[(size_t)p * ce + c];
        squeeze_excite(l, st, ce, B->se_dim, ohw);
        if (!scale_w) {
            rows_job j = {(size_t)ohw, ce, d, NULL, NULL, st->se_scale, 2, NULL};
            par_rows(st, &j);
        }
    }
    /* Y[n*ohw, co] = D' W_p^T + b_p (+ X) */
    const float *wp = l->proj_w;
    if (scale_w) {
        memcpy(st->wtmp, l->proj_w, (size_t)co * ce * sizeof(float));
        lmmiqa__scale_cols((size_t)co, ce, st->wtmp, st->se_scale);
        wp = st->wtmp;
    }
    rows_job j = {(size_t)n * ohw, co, NULL, l->proj_b, B->residual ? x : NULL, NULL, 1, y};
    par_rows(st, &j);
    par_gemm(st, n * ohw, co, ce, st->d, wp, 1.0f, y);
    *oh = g.oh;
    *ow = g.ow;
}

int lmmiqa_align_forward(const lmmiqa_align *m, lmmiqa_align_state *st, const float *pixels,
                         int batch, int height, int width, int normalize, float *out)
{
    assert(m && st && pixels && out);
    if (batch < 1 || height < 2 || width < 2 || height > 8192 || width > 8192)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "ALIGN forward: batch %d of %d x %d images (need batch >= 1 and "
                            "sides 2..8192)",
                            batch, width, height);
    {
        lmmiqa__conv_geom g = stem_geom(height, width);
        int h = g.oh, w = g.ow;
        for (int i = 0; i < m->cfg.blocks && h > 0 && w > 0; i++) {
            lmmiqa__conv_geom b = block_geom(&m->blocks[i], h, w);
            h = b.oh;
            w = b.ow;
        }
        if (h < 1 || w < 1)
            return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                "ALIGN forward: a %d x %d image is too small for the network's "
                                "stride-2 stages",
                                width, height);
    }
    int rc = state_fit(m, st, height, width, batch);
    if (rc != LMMIQA_OK)
        return rc;
    set_parts(st);
    const int D = m->cfg.embed_dim, stem = m->cfg.stem_channels;
    const int split = split_block(m, height, width);
    int h = 0, w = 0;
    /* early blocks one image at a time; the output lands in xb[b] */
    for (int b = 0; b < batch; b++) {
        const float *img = pixels + (size_t)b * 3 * height * width;
        lmmiqa__conv_geom g = stem_geom(height, width);
        h = g.oh;
        w = g.ow;
        lmmiqa__im2col_planes(&g, img, st->cols);
        float *x = st->x, *y = st->y;
        par_gemm(st, h * w, stem, 27, st->cols, m->stem_w, 0.0f, x);
        rows_job j = {(size_t)h * w, stem, x, m->stem_b, NULL, NULL, 0, NULL};
        par_rows(st, &j);
        int c = stem;
        for (int i = 0; i < split; i++) {
            int oh, ow;
            run_block(m, st, i, 1, h, w, x, y, &oh, &ow);
            float *t = x;
            x = y;
            y = t;
            h = oh;
            w = ow;
            c = m->blocks[i].out_dim;
        }
        memcpy(st->xb + (size_t)b * h * w * c, x, (size_t)h * w * c * sizeof(float));
    }
    /* late blocks on the whole batch */
    float *x = st->xb, *y = st->yb;
    for (int i = split; i < m->cfg.blocks; i++) {
        int oh, ow;
        run_block(m, st, i, batch, h, w, x, y, &oh, &ow);
        float *t = x;
        x = y;
        y = t;
        h = oh;
        w = ow;
    }
    size_t hw = (size_t)h * w;
    for (int b = 0; b < batch; b++) {
        const float *xb = x + (size_t)b * hw * D;
        float *o = out + (size_t)b * D;
        double norm = 0;
        for (int c = 0; c < D; c++) {
            double s = 0;
            for (size_t p = 0; p < hw; p++)
                s += xb[p * D + c];
            o[c] = (float)(s / (double)hw);
            norm += (double)o[c] * o[c];
        }
        if (normalize && norm > 0) {
            double inv = 1.0 / sqrt(norm);
            for (int c = 0; c < D; c++)
                o[c] = (float)(o[c] * inv);
        }
    }
    return LMMIQA_OK;
}
