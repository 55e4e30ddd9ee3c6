/*
 * src/models/align_random.c - deterministic ALIGN checkpoints in the
 * published layout with generated weights, for tests and benchmarks where
 * the real weights cannot be downloaded, and the synthetic test images.
 * The numbers equal tools/ref/align_ref.py's make_weights bit for bit:
 * u = lmmiqa__vit_random_uniform(name, seed) in [-1, 1), then
 *   conv weight  u * (float)sqrt(6 / fan_in)
 *   conv bias    0.125 u
 *   BN weight    1 + 0.25 u; projection BN: 1.25 + 0.3125 u in the first
 *                block of a stage, 0.55 + 0.1375 u in residual blocks
 *   BN bias, running mean  0.125 u;  running var  1 + 0.5 u
 * (scales chosen so that the signal neither vanishes nor explodes over the
 * 55 blocks of B7 and the embedding depends on the image).
 * The safetensors writer has no I64, so num_batches_tracked (unused by
 * inference) is left out; a text-projection stub stands for the text tower.
 */
#include "align_internal.h"

#include "core/internal.h"
#include "vit_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_CONV, K_BIAS, K_BN_W, K_BN_B, K_BN_M, K_BN_V };

typedef struct writer {
    lmmiqa_safetensors_writer *w;
    lmmiqa_dtype dtype;
    uint64_t seed;
    float *buf;
} writer;

static int put(writer *W, const char *name, enum kind k, int ndim, int64_t a, int64_t b,
               int64_t c, int64_t d, int residual)
{
    int64_t shape[4] = {a, b, c, d};
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    float *u = W->buf;
    lmmiqa__vit_random_uniform(name, W->seed, n, u);
    int is_proj = strstr(name, ".project_bn.") != NULL;
    float s = 0.0f;
    if (k == K_CONV)
        s = (float)sqrt(6.0 / (double)(b * c * d));
    for (size_t i = 0; i < n; i++) {
        switch (k) {
        case K_CONV: u[i] = u[i] * s; break;
        case K_BN_W:
            u[i] = !is_proj ? 1.0f + 0.25f * u[i]
                   : residual ? 0.55f + 0.1375f * u[i] : 1.25f + 0.3125f * u[i];
            break;
        case K_BN_V: u[i] = 1.0f + 0.5f * u[i]; break;
        default: u[i] = 0.125f * u[i]; break;
        }
    }
    return lmmiqa_safetensors_writer_add(W->w, name, W->dtype, u, ndim, shape);
}

static int put_bn(writer *W, const char *prefix, int c, int residual)
{
    static const char *part[4] = {"weight", "bias", "running_mean", "running_var"};
    static const enum kind kinds[4] = {K_BN_W, K_BN_B, K_BN_M, K_BN_V};
    char nm[512];
    for (int p = 0; p < 4; p++) {
        snprintf(nm, sizeof nm, "%s.%s", prefix, part[p]);
        int rc = put(W, nm, kinds[p], 1, c, 0, 0, 0, residual);
        if (rc)
            return rc;
    }
    return LMMIQA_OK;
}

int lmmiqa__align_random_save(const lmmiqa__align_hf_config *hf, lmmiqa_dtype dtype,
                              uint64_t seed, const char *path, int write_config)
{
    lmmiqa_align_block *blocks = lmmiqa__calloc(LMMIQA__ALIGN_MAX_BLOCKS, sizeof *blocks);
    if (!blocks)
        return LMMIQA_ERR_NOMEM;
    int nb = 0, stem = 0;
    int rc = lmmiqa__align_plan(hf, blocks, LMMIQA__ALIGN_MAX_BLOCKS, &nb, &stem);
    size_t biggest = (size_t)stem * 27;
    for (int i = 0; i < nb; i++) {
        size_t ce = (size_t)blocks[i].expand_dim;
        size_t m = ce * (size_t)(blocks[i].in_dim > blocks[i].out_dim ? blocks[i].in_dim
                                                                       : blocks[i].out_dim);
        if (m > biggest)
            biggest = m;
        if (ce * blocks[i].kernel * blocks[i].kernel > biggest)
            biggest = ce * blocks[i].kernel * blocks[i].kernel;
    }
    writer W = {NULL, dtype, seed, NULL};
    if (rc == LMMIQA_OK && !(W.buf = lmmiqa__malloc(biggest * sizeof(float))))
        rc = LMMIQA_ERR_NOMEM;
    if (rc == LMMIQA_OK)
        rc = lmmiqa_safetensors_writer_create(&W.w);
    char nm[512], p[256];
    if (rc == LMMIQA_OK)
        rc = put(&W, "vision_model.embeddings.convolution.weight", K_CONV, 4, stem, 3, 3, 3, 0);
    if (rc == LMMIQA_OK)
        rc = put_bn(&W, "vision_model.embeddings.batchnorm", stem, 0);
    for (int i = 0; rc == LMMIQA_OK && i < nb; i++) {
        const lmmiqa_align_block *B = &blocks[i];
        int ce = B->expand_dim, k = B->kernel;
        snprintf(p, sizeof p, "vision_model.encoder.blocks.%d.", i);
#define NM(s) (snprintf(nm, sizeof nm, "%s%s", p, s), nm)
        if (B->expand) {
            if (!rc)
                rc = put(&W, NM("expansion.expand_conv.weight"), K_CONV, 4, ce, B->in_dim, 1, 1, 0);
            if (!rc)
                rc = put_bn(&W, NM("expansion.expand_bn"), ce, 0);
        }
        if (!rc)
            rc = put(&W, NM("depthwise_conv.depthwise_conv.weight"), K_CONV, 4, ce, 1, k, k, 0);
        if (!rc)
            rc = put_bn(&W, NM("depthwise_conv.depthwise_norm"), ce, 0);
        if (!rc)
            rc = put(&W, NM("squeeze_excite.reduce.weight"), K_CONV, 4, B->se_dim, ce, 1, 1, 0);
        if (!rc)
            rc = put(&W, NM("squeeze_excite.reduce.bias"), K_BIAS, 1, B->se_dim, 0, 0, 0, 0);
        if (!rc)
            rc = put(&W, NM("squeeze_excite.expand.weight"), K_CONV, 4, ce, B->se_dim, 1, 1, 0);
        if (!rc)
            rc = put(&W, NM("squeeze_excite.expand.bias"), K_BIAS, 1, ce, 0, 0, 0, 0);
        if (!rc)
            rc = put(&W, NM("projection.project_conv.weight"), K_CONV, 4, B->out_dim, ce, 1, 1, 0);
        if (!rc)
            rc = put_bn(&W, NM("projection.project_bn"), B->out_dim, B->residual);
#undef NM
    }
    if (rc == LMMIQA_OK) {
        float stub[8] = {0};
        int64_t shape[2] = {1, 8};
        rc = lmmiqa_safetensors_writer_add(W.w, "text_projection.weight", LMMIQA_DTYPE_F32, stub,
                                           2, shape);
    }
    if (rc == LMMIQA_OK)
        rc = lmmiqa_safetensors_writer_set_metadata(W.w, "format", "pt");
    if (rc == LMMIQA_OK)
        rc = lmmiqa_safetensors_writer_save(W.w, path);
    if (rc == LMMIQA_OK && write_config) {
        char *json = lmmiqa__align_hf_to_json(hf);
        char cfg[4096];
        const char *slash = strrchr(path, '/');
        snprintf(cfg, sizeof cfg, "%.*s/config.json", slash ? (int)(slash - path) : 1,
                 slash ? path : ".");
        rc = json ? lmmiqa__file_write_atomic(cfg, json, strlen(json)) : LMMIQA_ERR_NOMEM;
        free(json);
    }
    lmmiqa_safetensors_writer_destroy(W.w);
    free(W.buf);
    free(blocks);
    return rc;
}

int lmmiqa__align_synth_image(int k, int width, int height, lmmiqa_image **out)
{
    int rc = lmmiqa_image_create(width, height, out);
    if (rc != LMMIQA_OK)
        return rc;
    uint8_t *px = (*out)->pixels;
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            for (int c = 0; c < 3; c++)
                px[((size_t)y * width + x) * 3 + c] =
                    (uint8_t)(((long)x * (29 + 6 * k) + (long)y * (13 + 4 * c) + c * 71 +
                               ((long)x * y) % (19 + k)) % 256);
    return LMMIQA_OK;
}
