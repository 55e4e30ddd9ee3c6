/*
 * lmmiqa/align.h - the image tower of ALIGN (Jia et al. 2021; Hugging Face
 * kakaobrain/align-base): an EfficientNet-B7 whose 640-d image embedding is
 * the mean over positions of its last block's output (no projection, no
 * top convolution).
 *
 * Architecture (as Hugging Face AlignVisionModel): stem 3x3 stride-2
 * convolution (input zero-padded by one pixel on the right and bottom),
 * batch norm, swish; then MBConv blocks: [1x1 expansion conv, BN, swish]
 * (absent when the expansion ratio is 1), k x k depthwise conv (stride 1:
 * "same" padding; stride 2: zero padding k/2-1 before and k/2 after, then
 * "valid"), BN, swish, squeeze-and-excitation (mean, 1x1 conv, swish, 1x1
 * conv, sigmoid, channel scale), 1x1 projection conv, BN, plus the block
 * input for every block but the first of a stage. Batch norms are folded
 * into the convolutions at load time (eval mode, running statistics).
 *
 * Block plan: computed from the Hugging Face vision configuration exactly
 * as AlignVisionEncoder does (width/depth coefficients, channel rounding to
 * multiples of depth_divisor, repeats ceil(depth x n), strides, kernels,
 * expansion ratios, depthwise_padding), read from config.json beside the
 * weights (its "vision_config") or, without one, the kakaobrain/align-base
 * values (B7: 55 blocks, 64 -> 640 channels). Every tensor's name, shape and
 * dtype is then checked against that plan; missing, misshaped and unexpected
 * vision tensors are reported by name.
 *
 * Weights: safetensors or PyTorch zip checkpoints (model.safetensors or
 * pytorch_model.bin of kakaobrain/align-base), names with or without the
 * "vision_model." prefix; F32, F16, BF16 or F64. The text tower is ignored.
 *
 * Preprocessing (EfficientNetImageProcessor of kakaobrain/align-base):
 * resize to 346 x 346 ignoring the aspect ratio with Pillow's bilinear
 * filter (antialiased, 8-bit result), center crop 289 x 289 (offsets
 * (346 - 289) // 2 = 28), then (x - 127.5) / 127.5, i.e. values in [-1, 1];
 * no mean/std normalisation (do_normalize and include_top are false).
 *
 * Runtime: channels-last (NHWC) float32; 1x1 convolutions are oneDNN
 * matrix products (dnnl_sgemm), depthwise convolutions direct kernels
 * vectorised over channels (AVX2+FMA where the CPU has it), fused with bias,
 * swish and the squeeze-excitation means. A forward uses as many threads as
 * OpenBLAS is set to (openblas_set_num_threads; 1 = the calling thread
 * only). Model vs state: lmmiqa_align holds immutable weights and may be
 * shared by threads; each thread runs it with its own lmmiqa_align_state
 * (activation buffers, grown to the largest input seen, and the helper
 * threads of that state).
 */
#ifndef LMMIQA_ALIGN_H
#define LMMIQA_ALIGN_H

#include "lmmiqa/core.h"
#include "lmmiqa/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Preprocessing sizes of kakaobrain/align-base. */
#define LMMIQA_ALIGN_RESIZE 346
#define LMMIQA_ALIGN_CROP 289

typedef struct lmmiqa_align_config {
    int blocks;        /* MBConv blocks (55 for B7) */
    int stem_channels; /* 64 */
    int embed_dim;     /* output channels of the last block (640) */
    int image_size;    /* the configuration's image_size (289) */
    double bn_eps;     /* batch_norm_eps (1e-3) */
} lmmiqa_align_config;

/* One MBConv block of the plan. */
typedef struct lmmiqa_align_block {
    int in_dim, out_dim;
    int expand;        /* 1: has the 1x1 expansion conv (ratio != 1) */
    int expand_dim;    /* channels of the depthwise conv */
    int kernel, stride;
    int se_dim;        /* squeeze-excitation width */
    int residual;      /* 1: the block input is added */
    int pad_before, pad_after; /* depthwise zero padding per side (rows and columns alike) */
} lmmiqa_align_block;

typedef struct lmmiqa_align_load_options {
    const char *config_path; /* config.json; NULL = the one beside the weights, if any */
    const char *prefix;      /* torch checkpoints: dict key of the state dict; NULL = automatic */
} lmmiqa_align_load_options;

typedef struct lmmiqa_align lmmiqa_align;
typedef struct lmmiqa_align_state lmmiqa_align_state;

/* Load the vision tower from a weight file (see above). opts may be NULL. */
LMMIQA_API int lmmiqa_align_load(const char *path, const lmmiqa_align_load_options *opts,
                                 lmmiqa_align **out);
LMMIQA_API void lmmiqa_align_destroy(lmmiqa_align *m);
LMMIQA_API const lmmiqa_align_config *lmmiqa_align_get_config(const lmmiqa_align *m);
/* Block i (0 <= i < blocks) of the plan. */
LMMIQA_API const lmmiqa_align_block *lmmiqa_align_get_block(const lmmiqa_align *m, int i);
/* SHA-256 (hex) of the weight file. */
LMMIQA_API const char *lmmiqa_align_weights_sha256(const lmmiqa_align *m);
/* Multiply-adds x 2 of one forward pass at height x width. */
LMMIQA_API double lmmiqa_align_flops(const lmmiqa_align *m, int height, int width);

/* Per-thread activation buffers; allocated on first use and grown when a
 * larger input arrives, then reused. */
LMMIQA_API int lmmiqa_align_state_create(const lmmiqa_align *m, lmmiqa_align_state **out);
LMMIQA_API void lmmiqa_align_state_destroy(lmmiqa_align_state *st);
/* Bytes held by a state. */
LMMIQA_API size_t lmmiqa_align_state_bytes(const lmmiqa_align_state *st);

/* Embeddings of `batch` preprocessed images: pixels [batch, 3, height,
 * width] (channel planes, values as produced by lmmiqa_align_preprocess),
 * out [batch, embed_dim]. Any size is accepted that leaves at least one
 * position after the stride-2 stages (B7: 32 x 32 and up; smaller inputs
 * fail with LMMIQA_ERR_INVALID_ARG); the network is fully convolutional and
 * 289 x 289 is what ALIGN was trained at. normalize: scale each output to
 * unit length. */
LMMIQA_API int lmmiqa_align_forward(const lmmiqa_align *m, lmmiqa_align_state *st,
                                    const float *pixels, int batch, int height, int width,
                                    int normalize, float *out);

/* ---- preprocessing ---- */

/* Resize an interleaved RGB image (8 bits) exactly as Pillow's
 * Image.resize(size, BILINEAR) does (separable triangle filter with support
 * max(1, scale), 22-bit fixed-point weights, horizontal pass first, 8-bit
 * rounded and clipped intermediate). dst holds dst_w * dst_h * 3 bytes.
 * scratch: NULL (allocated here) or lmmiqa_align_resize_scratch() bytes. */
LMMIQA_API size_t lmmiqa_align_resize_scratch(int src_w, int src_h, int dst_w, int dst_h);
LMMIQA_API int lmmiqa_resize_bilinear_pil(const uint8_t *src, int src_w, int src_h,
                                          uint8_t *dst, int dst_w, int dst_h, void *scratch);

/* ALIGN preprocessing: resize to LMMIQA_ALIGN_RESIZE square (bilinear as
 * Pillow), center crop LMMIQA_ALIGN_CROP, (x - 127.5) / 127.5.
 * out[3 * 289 * 289] (channel planes). scratch: NULL or
 * lmmiqa_align_preprocess_scratch(img->width, img->height) bytes. */
LMMIQA_API size_t lmmiqa_align_preprocess_scratch(int width, int height);
LMMIQA_API int lmmiqa_align_preprocess(const lmmiqa_image *img, void *scratch, float *out);

#ifdef __cplusplus
}
#endif
#endif
