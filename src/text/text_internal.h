/*
 * src/text/text_internal.h - internals of the CLIP text pipeline: the
 * generated Unicode/HTML tables (text_tables.c, from tools/ref/text_tables.py)
 * and the text cleanup that runs before byte-level BPE.
 */
#ifndef LMMIQA_TEXT_INTERNAL_H
#define LMMIQA_TEXT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct lmmiqa__text_range {
    uint32_t lo, hi; /* inclusive */
} lmmiqa__text_range;
typedef struct lmmiqa__text_map1 {
    uint32_t from, to;
} lmmiqa__text_map1;
typedef struct lmmiqa__text_map2 {
    uint32_t from, to[2]; /* to[1] = 0: one code point */
} lmmiqa__text_map2;
typedef struct lmmiqa__text_decomp {
    uint32_t cp;
    int n;
    uint32_t to[4];
} lmmiqa__text_decomp;
typedef struct lmmiqa__text_comp {
    uint32_t a, b, c; /* a + b composes to c; sorted by (a, b) */
} lmmiqa__text_comp;
typedef struct lmmiqa__text_entity {
    const char *name; /* without '&'; with or without the final ';' */
    uint32_t cp[2];
} lmmiqa__text_entity;

/* Sorted by code point / name. */
extern const lmmiqa__text_range lmmiqa__text_letter[];  /* [\p{L}] under IGNORECASE */
extern const int lmmiqa__text_letter_count;
extern const lmmiqa__text_range lmmiqa__text_number[];  /* [\p{N}] */
extern const int lmmiqa__text_number_count;
extern const lmmiqa__text_range lmmiqa__text_space[];   /* regex \s */
extern const int lmmiqa__text_space_count;
extern const lmmiqa__text_range lmmiqa__text_isspace[]; /* str.isspace() (strip) */
extern const int lmmiqa__text_isspace_count;
extern const lmmiqa__text_range lmmiqa__text_other[];   /* [^\s\p{L}\p{N}] under IGNORECASE */
extern const int lmmiqa__text_other_count;
extern const lmmiqa__text_range lmmiqa__text_cased[];   /* str.lower()'s Final_Sigma: cased */
extern const int lmmiqa__text_cased_count;
extern const lmmiqa__text_range lmmiqa__text_case_ignorable[]; /* and case-ignorable */
extern const int lmmiqa__text_case_ignorable_count;
extern const lmmiqa__text_map2 lmmiqa__text_lower[];    /* str.lower() */
extern const int lmmiqa__text_lower_count;
extern const lmmiqa__text_map1 lmmiqa__text_width[];    /* ftfy fix_character_width */
extern const int lmmiqa__text_width_count;
extern const lmmiqa__text_decomp lmmiqa__text_nfd[];    /* full canonical decomposition */
extern const int lmmiqa__text_nfd_count;
extern const lmmiqa__text_map1 lmmiqa__text_ccc[];      /* canonical combining class != 0 */
extern const int lmmiqa__text_ccc_count;
extern const lmmiqa__text_comp lmmiqa__text_nfc[];      /* primary composites */
extern const int lmmiqa__text_nfc_count;
extern const lmmiqa__text_entity lmmiqa__text_entities[]; /* html.entities.html5 */
extern const int lmmiqa__text_entities_count;
extern const lmmiqa__text_map1 lmmiqa__text_invalid_charref[]; /* html._invalid_charrefs */
extern const int lmmiqa__text_invalid_charref_count;
extern const uint32_t lmmiqa__text_invalid_codepoint[]; /* html._invalid_codepoints */
extern const int lmmiqa__text_invalid_codepoint_count;

/* Clean text as CLIP's tokenizer does before the pre-tokenizer (clean.c):
 * in[n] code points -> *out (malloc'd, caller frees) of *out_n code points.
 * Steps: ftfy subset, html.unescape twice, strip, whitespace collapse,
 * lower-casing. Returns 0, or -1 when out of memory. */
int lmmiqa__text_clean(const uint32_t *in, size_t n, uint32_t **out, size_t *out_n);

/* Character classes used by the pre-tokenizer. */
int lmmiqa__text_is_letter(uint32_t c);
int lmmiqa__text_is_number(uint32_t c);
int lmmiqa__text_is_space(uint32_t c);
int lmmiqa__text_is_other(uint32_t c); /* neither space, letter nor number */

#endif
