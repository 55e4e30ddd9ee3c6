/*
 * lmmiqa/text.h - CLIP's text side: the byte-level BPE tokenizer and the
 * text transformer, as used for zero-shot quality (CLIP-IQA, docs/clipiqa.md).
 *
 * Tokenizer: exactly OpenAI CLIP's simple_tokenizer.py (the same ids as
 * clip.tokenize(text, truncate=True) without the padding): text cleanup
 * (a deterministic subset of ftfy.fix_text, html.unescape twice, whitespace
 * collapsed and stripped, str.lower()), the pre-tokenizer regex (the special
 * tokens, contractions 's 't 're 've 'm 'll 'd, runs of Unicode letters,
 * single Unicode digits, runs of other non-space characters), the
 * byte-to-unicode table, BPE merges applied by rank with '</w>' marking the
 * end of a word, and <|startoftext|> ... <|endoftext|> around the ids. The
 * vocabulary comes from OpenAI's bpe_simple_vocab_16e6.txt.gz or from Hugging
 * Face's vocab.json + merges.txt. What of ftfy is not reproduced (mojibake
 * repair) is listed in docs/clipiqa.md. A tokenizer is immutable after
 * loading and may be shared by threads.
 *
 * Text transformer (Radford et al. 2021; OpenAI CLIP's encode_text and Hugging
 * Face CLIPTextModelWithProjection): token embedding + positional embedding,
 * L pre-LN blocks with causal self-attention (the vision tower's kernels),
 * final LayerNorm, the hidden state at the end-of-text token (the position of
 * the largest id, as OpenAI's argmax), and the text projection (no bias).
 * Weights: OpenAI naming (token_embedding.weight, positional_embedding,
 * transformer.resblocks.*, ln_final.*, text_projection stored [width, E]) or
 * HF naming (text_model.*, text_projection.weight [E, width]), in
 * safetensors or PyTorch zip checkpoints; other towers are ignored, every
 * text tensor is checked by name, shape and dtype. Sizes come from the
 * shapes (heads = width / 64 as in OpenAI CLIP) or from config.json's
 * text_config beside the weights.
 */
#ifndef LMMIQA_TEXT_H
#define LMMIQA_TEXT_H

#include "lmmiqa/core.h"
#include "lmmiqa/advanced/vit.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- tokenizer ---- */

typedef struct lmmiqa_tokenizer lmmiqa_tokenizer;

/* CLIP's context length. */
#define LMMIQA_CLIP_CONTEXT 77

/* Load a vocabulary: OpenAI's merges file (bpe_simple_vocab_16e6.txt.gz,
 * gzip or plain text), a Hugging Face vocab.json (merges.txt beside it), or
 * a folder holding either (vocab.json + merges.txt is tried first). */
LMMIQA_API int lmmiqa_tokenizer_load(const char *path, lmmiqa_tokenizer **out);
/* Hugging Face files given separately. */
LMMIQA_API int lmmiqa_tokenizer_load_hf(const char *vocab_json, const char *merges_txt,
                                        lmmiqa_tokenizer **out);
LMMIQA_API void lmmiqa_tokenizer_destroy(lmmiqa_tokenizer *tok);
/* Number of ids (49408 for CLIP), and the ids of <|startoftext|> and
 * <|endoftext|>. */
LMMIQA_API int lmmiqa_tokenizer_vocab_size(const lmmiqa_tokenizer *tok);
LMMIQA_API int32_t lmmiqa_tokenizer_sot(const lmmiqa_tokenizer *tok);
LMMIQA_API int32_t lmmiqa_tokenizer_eot(const lmmiqa_tokenizer *tok);
/* SHA-256 (hex) of the vocabulary file(s) read. */
LMMIQA_API const char *lmmiqa_tokenizer_sha256(const lmmiqa_tokenizer *tok);

/* Ids of a UTF-8 text with the start and end tokens, no padding. With
 * context_length > 0 a longer sequence is cut to context_length ids whose
 * last is the end token (clip.tokenize(..., truncate=True)); 0 = no limit.
 * *n_ids receives the count; ids may be NULL to ask for it. When ids holds
 * fewer than *n_ids the call fails with LMMIQA_ERR_TOO_LARGE. Text that is
 * not valid UTF-8 fails with LMMIQA_ERR_FORMAT. */
LMMIQA_API int lmmiqa_tokenizer_encode(const lmmiqa_tokenizer *tok, const char *text,
                                       int context_length, int32_t *ids, size_t capacity,
                                       size_t *n_ids);

/* ---- text transformer ---- */

typedef struct lmmiqa_text_config {
    int vocab_size;     /* 49408 */
    int context_length; /* 77 */
    int width;          /* 512 (ViT-B/16) / 768 (ViT-L/14) */
    int layers;         /* 12 */
    int heads;          /* 8 / 12 */
    int mlp_dim;        /* 2048 / 3072 */
    int embed_dim;      /* projection output: 512 / 768 */
    lmmiqa_vit_act act;
    double ln_eps;      /* 1e-5 */
    lmmiqa_vit_naming naming; /* as found in the weights */
    int has_logit_scale;
    double logit_scale; /* exp(logit_scale) of the checkpoint when present */
} lmmiqa_text_config;

typedef struct lmmiqa_text lmmiqa_text;
typedef struct lmmiqa_text_state lmmiqa_text_state;

/* Load the text tower of a CLIP checkpoint (see above). config_path: a
 * config.json (text_config); NULL = the one beside the weights, if any.
 * prefix: torch checkpoints' state-dict key, NULL = automatic. */
LMMIQA_API int lmmiqa_text_load(const char *path, const char *config_path, const char *prefix,
                                lmmiqa_text **out);
LMMIQA_API void lmmiqa_text_destroy(lmmiqa_text *text);
LMMIQA_API const lmmiqa_text_config *lmmiqa_text_get_config(const lmmiqa_text *text);
/* SHA-256 (hex) of the weight file. */
LMMIQA_API const char *lmmiqa_text_weights_sha256(const lmmiqa_text *text);

/* Activation memory for one sequence of up to context_length tokens. */
LMMIQA_API int lmmiqa_text_state_create(const lmmiqa_text *text, lmmiqa_text_state **out);
LMMIQA_API void lmmiqa_text_state_destroy(lmmiqa_text_state *st);

/* Embedding of one token sequence ids[n] (1 <= n <= context_length, each id
 * < vocab_size; padding is not needed: the causal mask makes it
 * irrelevant) into out[embed_dim]: the projected hidden state at the first
 * largest id. normalize: scale to unit length. */
LMMIQA_API int lmmiqa_text_forward(const lmmiqa_text *text, lmmiqa_text_state *st,
                                   const int32_t *ids, int n, int normalize, float *out);

#ifdef __cplusplus
}
#endif
#endif
