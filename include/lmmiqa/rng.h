/*
 * lmmiqa/rng.h - the one source of randomness in lmmiqa.
 *
 * Every random choice (data splits, weight initialisation, mini-batch order,
 * dropout masks, crops) draws from an explicit lmmiqa_rng seeded by the
 * caller, so a run is reproducible from its seed. The generator is
 * xoshiro256** seeded through splitmix64; its state is a plain struct that
 * callers may copy to fork a stream. Not for cryptography.
 */
#ifndef LMMIQA_RNG_H
#define LMMIQA_RNG_H

#include "lmmiqa/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lmmiqa_rng {
    uint64_t s[4];
} lmmiqa_rng;

/* Seed a generator; the same seed always gives the same stream. */
LMMIQA_API void lmmiqa_rng_seed(lmmiqa_rng *rng, uint64_t seed);

/* Next 64 random bits. */
LMMIQA_API uint64_t lmmiqa_rng_next(lmmiqa_rng *rng);

/* Uniform double in [0, 1) with 53 random bits. */
LMMIQA_API double lmmiqa_rng_uniform(lmmiqa_rng *rng);

/* Uniform integer in [0, n), without modulo bias. n must be > 0. */
LMMIQA_API uint64_t lmmiqa_rng_below(lmmiqa_rng *rng, uint64_t n);

/* Standard normal deviate (Box-Muller, both values used in turn is NOT done:
 * one call consumes exactly two uniforms, so streams stay easy to reason about). */
LMMIQA_API double lmmiqa_rng_normal(lmmiqa_rng *rng);

/* Fisher-Yates shuffle of an index array in place. */
LMMIQA_API void lmmiqa_rng_shuffle(lmmiqa_rng *rng, size_t *idx, size_t n);

#ifdef __cplusplus
}
#endif
#endif
