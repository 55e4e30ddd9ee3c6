/*
 * lmmiqa/vit.h - the CLIP-family vision transformer (CLIP ViT-B/16, AltCLIP's
 * and HPS's ViT-L/14) and its image preprocessing.
 *
 * Architecture (Radford et al. 2021, as in OpenAI CLIP and Hugging Face
 * CLIPVisionModel): patch embedding (a stride-P convolution without bias,
 * computed as a matrix product), class token, position embedding, pre
 * LayerNorm, L blocks of [LN, multi-head self-attention, residual, LN, MLP
 * with QuickGELU x*sigmoid(1.702x) (or exact GELU), residual], LayerNorm of
 * the class token, linear projection. The output is the projected image
 * embedding (optionally scaled to unit length).
 *
 * Weights: safetensors (.safetensors) or PyTorch zip checkpoints
 * (.pt/.pth/.bin, read by a restricted unpickler, see torchzip.h), in Hugging
 * Face naming (vision_model.*, visual_projection.weight) or OpenAI naming
 * (visual.*, attn.in_proj_weight, visual.proj stored [width, out]), F32, F16,
 * BF16 or F64. The text tower and buffers are ignored. The architecture comes
 * from a config.json beside the weights when there is one (vision_config),
 * else from the tensor shapes (heads = width / 64 as in OpenAI CLIP). Every
 * name, shape and dtype is checked; missing, unexpected and misshaped
 * tensors are reported by name.
 *
 * Model vs state: lmmiqa_vit holds immutable float32 weights and may be
 * shared by threads; each thread runs it with its own lmmiqa_vit_state,
 * which holds every activation buffer for up to max_batch images, allocated
 * once. Matrix products run on oneDNN (AVX-512 or AVX2 kernels chosen at
 * run time); a forward pass uses as many threads as OpenBLAS is set to
 * (openblas_set_num_threads, all cores by default; `lmmiqa extract` runs one
 * image per core with 1), on the calling thread's OpenMP team: a forward
 * sets the calling thread's OpenMP thread count (omp_set_num_threads) to
 * that number.
 *
 * Loading: the matrices are packed once into oneDNN's blocked layout, from
 * the memory mapping of an F32 safetensors file (one pass) or after
 * converting other files (F16, BF16, torch zip). LMMIQA_WEIGHTS_IN_PLACE=1
 * uses an F32 safetensors file's matrices in place instead: no copy (a warm
 * ViT-B/16 loads in ~25 ms) but 8-32 % slower products, results not
 * bit-identical to the packed ones, and the file must not be truncated or
 * rewritten in place while the model exists (replace files by renaming, as
 * downloads do). The file's SHA-256 is computed on a helper thread while
 * loading and cached by file identity in $XDG_CACHE_HOME/lmmiqa/sha256
 * (LMMIQA_HASH_CACHE=0 turns that off).
 */
#ifndef LMMIQA_VIT_H
#define LMMIQA_VIT_H

#include "lmmiqa/core.h"
#include "lmmiqa/image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lmmiqa_vit_act {
    LMMIQA_VIT_ACT_QUICK_GELU = 0, /* x * sigmoid(1.702 x), OpenAI CLIP */
    LMMIQA_VIT_ACT_GELU = 1        /* 0.5 x (1 + erf(x / sqrt 2)) */
} lmmiqa_vit_act;

typedef enum lmmiqa_vit_naming {
    LMMIQA_VIT_NAMING_HF = 0,    /* vision_model.*, visual_projection.weight */
    LMMIQA_VIT_NAMING_OPENAI = 1 /* visual.* */
} lmmiqa_vit_naming;

typedef struct lmmiqa_vit_config {
    int image_size;   /* input side, e.g. 224 */
    int patch_size;   /* 16 (B/16) or 14 (L/14) */
    int width;        /* hidden size: 768 / 1024 */
    int layers;       /* 12 / 24 */
    int heads;        /* 12 / 16 */
    int mlp_dim;      /* 3072 / 4096 */
    int embed_dim;    /* projection output: 512 / 768 */
    lmmiqa_vit_act act;
    double ln_eps;    /* 1e-5 */
    lmmiqa_vit_naming naming; /* as found in the weights */
} lmmiqa_vit_config;

typedef struct lmmiqa_vit_load_options {
    const char *config_path; /* config.json; NULL = the one beside the weights, if any */
    const char *prefix;      /* torch checkpoints: dict key holding the state dict,
                                NULL = "state_dict" when the top level has no tensors */
} lmmiqa_vit_load_options;

typedef struct lmmiqa_vit lmmiqa_vit;
typedef struct lmmiqa_vit_state lmmiqa_vit_state;

/* Load a vision tower from a weight file (see above). opts may be NULL. */
LMMIQA_API int lmmiqa_vit_load(const char *path, const lmmiqa_vit_load_options *opts,
                               lmmiqa_vit **out);
LMMIQA_API void lmmiqa_vit_destroy(lmmiqa_vit *vit);
LMMIQA_API const lmmiqa_vit_config *lmmiqa_vit_get_config(const lmmiqa_vit *vit);
/* SHA-256 (hex) of the weight file. */
LMMIQA_API const char *lmmiqa_vit_weights_sha256(const lmmiqa_vit *vit);
/* Bytes of float32 weights the model uses (in place or copied). */
LMMIQA_API size_t lmmiqa_vit_weights_bytes(const lmmiqa_vit *vit);
/* Multiply-adds x 2 of one image's forward pass. */
LMMIQA_API double lmmiqa_vit_flops(const lmmiqa_vit_config *cfg);

/* Activation memory for max_batch images, allocated once. */
LMMIQA_API int lmmiqa_vit_state_create(const lmmiqa_vit *vit, int max_batch,
                                       lmmiqa_vit_state **out);
LMMIQA_API void lmmiqa_vit_state_destroy(lmmiqa_vit_state *st);
/* Bytes held by a state (the activation budget). */
LMMIQA_API size_t lmmiqa_vit_state_bytes(const lmmiqa_vit_state *st);

/* Embeddings of `batch` preprocessed images: pixels [batch, 3, S, S]
 * (S = image_size, channel planes, normalised), out [batch, embed_dim].
 * batch <= the state's max_batch. normalize: scale each output to unit length. */
LMMIQA_API int lmmiqa_vit_forward(const lmmiqa_vit *vit, lmmiqa_vit_state *st,
                                  const float *pixels, int batch, int normalize, float *out);

/* ---- preprocessing (CLIP / AltCLIP / HPS) ---- */

typedef enum lmmiqa_crop_rounding {
    LMMIQA_CROP_FLOOR = 0, /* Hugging Face CLIPImageProcessor: (w - size) // 2 */
    LMMIQA_CROP_ROUND = 1  /* torchvision CenterCrop (OpenAI clip.load): round half to even */
} lmmiqa_crop_rounding;

/* Resize an interleaved RGB image (8 bits) exactly as Pillow's
 * Image.resize(size, BICUBIC) does (separable convolution, a = -0.5, support
 * 2 x scale when downscaling, 22-bit fixed-point weights, 8-bit
 * intermediate). dst holds dst_w * dst_h * 3 bytes. */
LMMIQA_API int lmmiqa_resize_bicubic_pil(const uint8_t *src, int src_w, int src_h, uint8_t *dst,
                                         int dst_w, int dst_h);

/* Size of the image after "resize the shorter side to `size`": the longer side
 * becomes int(size * long / short) as in transformers and torchvision. */
LMMIQA_API void lmmiqa_clip_resize_size(int w, int h, int size, int *out_w, int *out_h);

/* Full CLIP preprocessing: shorter side to `size` (bicubic as Pillow), center
 * crop size x size, scale to [0, 1], normalise with the CLIP mean and std.
 * out[3 * size * size] (channel planes). scratch must hold
 * lmmiqa_clip_preprocess_scratch(img->width, img->height, size) bytes. */
LMMIQA_API size_t lmmiqa_clip_preprocess_scratch(int w, int h, int size);
LMMIQA_API int lmmiqa_clip_preprocess(const lmmiqa_image *img, int size,
                                      lmmiqa_crop_rounding rounding, void *scratch, float *out);

#ifdef __cplusplus
}
#endif
#endif
