/*
 * src/core/rng.c - xoshiro256** (Blackman & Vigna) seeded by splitmix64.
 * Small, fast, and with a state that is trivially copied and saved.
 */
#include "lmmiqa/rng.h"

#include <assert.h>
#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void lmmiqa_rng_seed(lmmiqa_rng *rng, uint64_t seed)
{
    assert(rng);
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
}

uint64_t lmmiqa_rng_next(lmmiqa_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double lmmiqa_rng_uniform(lmmiqa_rng *rng)
{
    return (double)(lmmiqa_rng_next(rng) >> 11) * 0x1.0p-53;
}

uint64_t lmmiqa_rng_below(lmmiqa_rng *rng, uint64_t n)
{
    assert(n > 0);
    uint64_t limit = (uint64_t)-1 - ((uint64_t)-1 % n);
    uint64_t r;
    do {
        r = lmmiqa_rng_next(rng);
    } while (r >= limit);
    return r % n;
}

double lmmiqa_rng_normal(lmmiqa_rng *rng)
{
    double u1 = 1.0 - lmmiqa_rng_uniform(rng); /* (0, 1] so log is finite */
    double u2 = lmmiqa_rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}

void lmmiqa_rng_shuffle(lmmiqa_rng *rng, size_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)lmmiqa_rng_below(rng, i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
