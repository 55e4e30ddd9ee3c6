/*
 * src/models/align_internal.h - internals of the ALIGN image tower shared by
 * the loader, the extractor, the tests and the benchmark: the Hugging Face
 * vision configuration, the block plan derived from it, and the writer of
 * deterministic random checkpoints in the published layout (the numbers of
 * tools/ref/align_ref.py, bit for bit).
 */
#ifndef LMMIQA_MODELS_ALIGN_INTERNAL_H
#define LMMIQA_MODELS_ALIGN_INTERNAL_H

#include "lmmiqa/advanced/align.h"
#include "io/safetensors.h"

#define LMMIQA__ALIGN_MAX_STAGES 16
#define LMMIQA__ALIGN_MAX_BLOCKS 512

/* The fields of AlignVisionConfig that shape the network. */
typedef struct lmmiqa__align_hf_config {
    double width_coefficient;  /* 2.0 */
    double depth_coefficient;  /* 3.1 */
    int depth_divisor;         /* 8 */
    int stages;                /* 7 */
    int kernel_sizes[LMMIQA__ALIGN_MAX_STAGES];
    int in_channels[LMMIQA__ALIGN_MAX_STAGES];
    int out_channels[LMMIQA__ALIGN_MAX_STAGES];
    int strides[LMMIQA__ALIGN_MAX_STAGES];
    int num_block_repeats[LMMIQA__ALIGN_MAX_STAGES];
    int expand_ratios[LMMIQA__ALIGN_MAX_STAGES];
    int n_depthwise_padding;
    int depthwise_padding[LMMIQA__ALIGN_MAX_BLOCKS]; /* blocks with symmetric stride-2 padding */
    double squeeze_expansion_ratio; /* 0.25 */
    double batch_norm_eps;          /* 1e-3 */
    int image_size;                 /* 289 */
    int num_channels;               /* 3 */
} lmmiqa__align_hf_config;

/* kakaobrain/align-base: AlignVisionConfig defaults with image_size 289,
 * hidden_dim 640 and depthwise_padding [] (convert_align_tf_to_hf.py). */
void lmmiqa__align_hf_default(lmmiqa__align_hf_config *hf);

/* Parse a config.json (AlignConfig with "vision_config", or a bare
 * AlignVisionConfig / EfficientNetConfig); absent keys keep their defaults. */
int lmmiqa__align_hf_parse(const char *json, size_t size, const char *path,
                           lmmiqa__align_hf_config *hf);
/* The same configuration as config.json text (malloc'd). */
char *lmmiqa__align_hf_to_json(const lmmiqa__align_hf_config *hf);

/* Block plan as AlignVisionEncoder builds it: *n blocks into blocks[cap];
 * *stem = round_filters(32). LMMIQA_ERR_INVALID_ARG on a bad configuration. */
int lmmiqa__align_plan(const lmmiqa__align_hf_config *hf, lmmiqa_align_block *blocks, int cap,
                       int *n, int *stem);

/* Write a checkpoint of the configuration filled by the generator of
 * lmmiqa__vit_random_uniform (named tensors, seed), in the Hugging Face
 * layout ("vision_model." names, BN running statistics, num_batches_tracked
 * I64 scalars, a text-projection stub), dtype F32, F16 or BF16, and
 * config.json beside it when write_config is set. */
int lmmiqa__align_random_save(const lmmiqa__align_hf_config *hf, lmmiqa_dtype dtype,
                              uint64_t seed, const char *path, int write_config);

/* Deterministic RGB test images of tools/ref/align_ref.py (synth_image). */
int lmmiqa__align_synth_image(int k, int width, int height, lmmiqa_image **out);

#endif
