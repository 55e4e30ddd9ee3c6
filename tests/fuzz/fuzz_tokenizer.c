/*
 * tests/fuzz/fuzz_tokenizer.c - libFuzzer target for the CLIP tokenizer's
 * text path (UTF-8 decoding, ftfy subset, NFC, HTML unescape, pre-tokenizer,
 * BPE): any byte string must give ids in the vocabulary that start with
 * <|startoftext|> and end with <|endoftext|>, or fail with a status; never
 * crash, leak or hang. The vocabulary is the small Hugging Face one of
 * tests/data/text/hf_tiny (LMMIQA_FUZZ_VOCAB overrides it), loaded once.
 */
#include "lmmiqa/advanced/text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lmmiqa_tokenizer *tok;
    if (!tok) {
        const char *v = getenv("LMMIQA_FUZZ_VOCAB");
        if (lmmiqa_tokenizer_load(v ? v : LMMIQA_FUZZ_SOURCE_DIR "/tests/data/text/hf_tiny",
                                  &tok) != LMMIQA_OK)
            abort();
    }
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t n = 0;
    int ctx = size > 0 ? (data[0] & 1 ? 77 : 0) : 0;
    if (lmmiqa_tokenizer_encode(tok, text, ctx, NULL, 0, &n) == LMMIQA_OK) {
        int32_t *ids = malloc(n * sizeof *ids);
        size_t m = 0;
        if (ids && lmmiqa_tokenizer_encode(tok, text, ctx, ids, n, &m) == LMMIQA_OK) {
            if (m != n || m < 2 || ids[0] != lmmiqa_tokenizer_sot(tok) ||
                ids[m - 1] != lmmiqa_tokenizer_eot(tok) || (ctx && m > (size_t)ctx))
                abort();
            for (size_t i = 0; i < m; i++)
                if (ids[i] < 0 || ids[i] >= lmmiqa_tokenizer_vocab_size(tok))
                    abort();
        }
        free(ids);
    }
    free(text);
    return 0;
}
