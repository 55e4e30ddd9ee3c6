/*
 * src/models/efficientnet_kernels.c - channels-last kernels of the
 * EfficientNet runtime (see efficientnet_kernels.h).
 *
 * Depthwise convolution is memory-bound: each output pixel reads k*k input
 * vectors of c channels that are contiguous in NHWC, so the inner loop runs
 * over 16 (AVX-512) or 8 (AVX2) channels at a time, one register, accumulating k*k fused
 * multiply-adds, then applies bias and swish and adds the result into the
 * squeeze-excitation sums while it is still in a register. Border pixels
 * clip the kernel window instead of reading a padded copy.
 *
 * swish(x) = x * sigmoid(x) uses a vectorised exp (Cody-Waite reduction,
 * degree-6 polynomial, relative error about 2e-7) and a reciprocal estimate
 * refined by one Newton step (relative error below 3e-7);
 * the portable path uses libm expf.
 */
#include "efficientnet_kernels.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define EFF_X86 1
#endif

double lmmiqa__sigmoid_d(double v) { return 1.0 / (1.0 + exp(-v)); }
double lmmiqa__swish_d(double v) { return v / (1.0 + exp(-v)); }

static inline float swishf(float v) { return v / (1.0f + expf(-v)); }

/* ------------------------------------------------------------ reference */

void lmmiqa__dwconv_swish_ref(const lmmiqa__conv_geom *g, int c, const float *in,
                              const float *wt, const float *bias, float *out, double *sums,
                              int row0, int row1)
{
    for (int oy = row0; oy < row1; oy++)
        for (int ox = 0; ox < g->ow; ox++)
            for (int ch = 0; ch < c; ch++) {
                double acc = bias[ch];
                for (int ky = 0; ky < g->k; ky++) {
                    int iy = oy * g->stride - g->pad_top + ky;
                    if (iy < 0 || iy >= g->h)
                        continue;
                    for (int kx = 0; kx < g->k; kx++) {
                        int ix = ox * g->stride - g->pad_left + kx;
                        if (ix < 0 || ix >= g->w)
                            continue;
                        acc += (double)in[((size_t)iy * g->w + ix) * c + ch] *
                               wt[(size_t)(ky * g->k + kx) * c + ch];
                    }
                }
                double v = lmmiqa__swish_d(acc);
                out[((size_t)oy * g->ow + ox) * c + ch] = (float)v;
                if (sums)
                    sums[ch] += (float)v;
            }
}

void lmmiqa__bias_swish_ref(size_t rows, int n, float *x, const float *bias)
{
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < n; j++) {
            float *p = x + r * (size_t)n + j;
            *p = (float)lmmiqa__swish_d((double)*p + (bias ? bias[j] : 0.0f));
        }
}

/* ------------------------------------------------------------ portable */

static void dwconv_scalar(const lmmiqa__conv_geom *g, int c, const float *in, const float *wt,
                          const float *bias, float *out, double *sums, int row0, int row1)
{
    const int k = g->k;
    for (int oy = row0; oy < row1; oy++) {
        int iy0 = oy * g->stride - g->pad_top;
        int ky0 = iy0 < 0 ? -iy0 : 0, ky1 = g->h - iy0 < k ? g->h - iy0 : k;
        for (int ox = 0; ox < g->ow; ox++) {
            int ix0 = ox * g->stride - g->pad_left;
            int kx0 = ix0 < 0 ? -ix0 : 0, kx1 = g->w - ix0 < k ? g->w - ix0 : k;
            float *o = out + ((size_t)oy * g->ow + ox) * c;
            for (int ch = 0; ch < c; ch++)
                o[ch] = bias[ch];
            for (int ky = ky0; ky < ky1; ky++)
                for (int kx = kx0; kx < kx1; kx++) {
                    const float *ip = in + ((size_t)(iy0 + ky) * g->w + (ix0 + kx)) * c;
                    const float *wp = wt + (size_t)(ky * k + kx) * c;
                    for (int ch = 0; ch < c; ch++)
                        o[ch] += ip[ch] * wp[ch];
                }
            for (int ch = 0; ch < c; ch++) {
                o[ch] = swishf(o[ch]);
                if (sums)
                    sums[ch] += o[ch];
            }
        }
    }
}

/* ------------------------------------------------------------ AVX2 */

#ifdef EFF_X86
__attribute__((target("avx2,fma"))) static inline __m256 exp8(__m256 x)
{
    const __m256 hi = _mm256_set1_ps(88.0f), lo = _mm256_set1_ps(-88.0f);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)),
                                  23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

__attribute__((target("avx2,fma"))) static inline __m256 swish8(__m256 v)
{
    /* v / d with d = 1 + exp(-v) >= 1: reciprocal estimate (12 bits) and one
     * Newton step (about 23 bits); d = inf gives r = 0, v * r = -0 */
    __m256 d = _mm256_add_ps(_mm256_set1_ps(1.0f), exp8(_mm256_sub_ps(_mm256_setzero_ps(), v)));
    __m256 r = _mm256_rcp_ps(d);
    r = _mm256_mul_ps(r, _mm256_fnmadd_ps(d, r, _mm256_set1_ps(2.0f)));
    return _mm256_mul_ps(v, r);
}

__attribute__((target("avx2,fma"))) static inline void add_sums8(double *s, __m256 v)
{
    __m256d a = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    __m256d b = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    _mm256_storeu_pd(s, _mm256_add_pd(_mm256_loadu_pd(s), a));
    _mm256_storeu_pd(s + 4, _mm256_add_pd(_mm256_loadu_pd(s + 4), b));
}

__attribute__((target("avx2,fma"))) static void dwconv_avx2(const lmmiqa__conv_geom *g, int c,
                                                             const float *in, const float *wt,
                                                             const float *bias, float *out,
                                                             double *sums, int row0, int row1)
{
    const int k = g->k;
    const int c8 = c & ~7;
    const size_t rs = (size_t)g->w * c; /* input row stride */
    for (int oy = row0; oy < row1; oy++) {
        int iy0 = oy * g->stride - g->pad_top;
        int ky0 = iy0 < 0 ? -iy0 : 0, ky1 = g->h - iy0 < k ? g->h - iy0 : k;
        for (int ox = 0; ox < g->ow; ox++) {
            int ix0 = ox * g->stride - g->pad_left;
            int kx0 = ix0 < 0 ? -ix0 : 0, kx1 = g->w - ix0 < k ? g->w - ix0 : k;
            float *o = out + ((size_t)oy * g->ow + ox) * c;
            const float *base = in + (ptrdiff_t)iy0 * (ptrdiff_t)rs + (ptrdiff_t)ix0 * c;
            int ch = 0;
            /* 32 channels at a time: four independent FMA chains */
            for (; ch + 32 <= c8; ch += 32) {
                __m256 a0 = _mm256_loadu_ps(bias + ch), a1 = _mm256_loadu_ps(bias + ch + 8);
                __m256 a2 = _mm256_loadu_ps(bias + ch + 16), a3 = _mm256_loadu_ps(bias + ch + 24);
                for (int ky = ky0; ky < ky1; ky++) {
                    const float *ip = base + (ptrdiff_t)ky * (ptrdiff_t)rs + ch;
                    const float *wp = wt + (size_t)ky * k * c + ch;
                    for (int kx = kx0; kx < kx1; kx++) {
                        const float *i1 = ip + (size_t)kx * c, *w1 = wp + (size_t)kx * c;
                        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(i1), _mm256_loadu_ps(w1), a0);
                        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(i1 + 8), _mm256_loadu_ps(w1 + 8), a1);
                        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(i1 + 16), _mm256_loadu_ps(w1 + 16),
                                             a2);
                        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(i1 + 24), _mm256_loadu_ps(w1 + 24),
                                             a3);
                    }
                }
                a0 = swish8(a0);
                a1 = swish8(a1);
                a2 = swish8(a2);
                a3 = swish8(a3);
                _mm256_storeu_ps(o + ch, a0);
                _mm256_storeu_ps(o + ch + 8, a1);
                _mm256_storeu_ps(o + ch + 16, a2);
                _mm256_storeu_ps(o + ch + 24, a3);
                if (sums) {
                    add_sums8(sums + ch, a0);
                    add_sums8(sums + ch + 8, a1);
                    add_sums8(sums + ch + 16, a2);
                    add_sums8(sums + ch + 24, a3);
                }
            }
            for (; ch < c8; ch += 8) {
                __m256 acc0 = _mm256_loadu_ps(bias + ch), acc1 = _mm256_setzero_ps();
                for (int ky = ky0; ky < ky1; ky++) {
                    const float *ip = base + (ptrdiff_t)ky * (ptrdiff_t)rs + ch;
                    const float *wp = wt + (size_t)ky * k * c + ch;
                    int kx = kx0;
                    for (; kx + 1 < kx1; kx += 2) {
                        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(ip + (size_t)kx * c),
                                               _mm256_loadu_ps(wp + (size_t)kx * c), acc0);
                        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(ip + (size_t)(kx + 1) * c),
                                               _mm256_loadu_ps(wp + (size_t)(kx + 1) * c), acc1);
                    }
                    if (kx < kx1)
                        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(ip + (size_t)kx * c),
                                               _mm256_loadu_ps(wp + (size_t)kx * c), acc0);
                }
                __m256 v = swish8(_mm256_add_ps(acc0, acc1));
                _mm256_storeu_ps(o + ch, v);
                if (sums)
                    add_sums8(sums + ch, v);
            }
            for (int ch = c8; ch < c; ch++) {
                float acc = bias[ch];
                for (int ky = ky0; ky < ky1; ky++)
                    for (int kx = kx0; kx < kx1; kx++)
                        acc += base[(ptrdiff_t)ky * (ptrdiff_t)rs + (size_t)kx * c + ch] *
                               wt[(size_t)(ky * k + kx) * c + ch];
                o[ch] = swishf(acc);
                if (sums)
                    sums[ch] += o[ch];
            }
        }
    }
}

__attribute__((target("avx2,fma"))) static void bias_swish_avx2(size_t rows, int n, float *x,
                                                                 const float *bias)
{
    const int n8 = n & ~7;
    for (size_t r = 0; r < rows; r++) {
        float *p = x + r * (size_t)n;
        for (int j = 0; j < n8; j += 8) {
            __m256 v = _mm256_loadu_ps(p + j);
            if (bias)
                v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));
            _mm256_storeu_ps(p + j, swish8(v));
        }
        for (int j = n8; j < n; j++)
            p[j] = swishf(p[j] + (bias ? bias[j] : 0.0f));
    }
}

static int have_avx2(void)
{
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached;
}

/* ------------------------------------------------------------ AVX-512
 * The same kernels 16 channels to a register, for the CPUs that have it
 * (Zen 4/5, recent Xeons): the depthwise loop is bound by loads, and a
 * 512-bit load brings twice the channels. exp16 is exp8's algorithm lane for
 * lane; the reciprocal starts from a 14-bit estimate (rcp14) instead of 12. */

__attribute__((target("avx512f"))) static inline __m512 exp16(__m512 x)
{
    const __m512 hi = _mm512_set1_ps(88.0f), lo = _mm512_set1_ps(-88.0f);
    x = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)),
                                  23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

__attribute__((target("avx512f"))) static inline __m512 swish16(__m512 v)
{
    __m512 d = _mm512_add_ps(_mm512_set1_ps(1.0f), exp16(_mm512_sub_ps(_mm512_setzero_ps(), v)));
    __m512 r = _mm512_rcp14_ps(d);
    r = _mm512_mul_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(2.0f)));
    return _mm512_mul_ps(v, r);
}

__attribute__((target("avx512f"))) static inline void add_sums16(double *s, __m512 v)
{
    __m512d a = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    __m512d b = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    _mm512_storeu_pd(s, _mm512_add_pd(_mm512_loadu_pd(s), a));
    _mm512_storeu_pd(s + 8, _mm512_add_pd(_mm512_loadu_pd(s + 8), b));
}

__attribute__((target("avx512f"))) static void dwconv_avx512(const lmmiqa__conv_geom *g, int c,
                                                              const float *in, const float *wt,
                                                              const float *bias, float *out,
                                                              double *sums, int row0, int row1)
{
    const int k = g->k;
    const int c16 = c & ~15;
    const size_t rs = (size_t)g->w * c; /* input row stride */
    for (int oy = row0; oy < row1; oy++) {
        int iy0 = oy * g->stride - g->pad_top;
        int ky0 = iy0 < 0 ? -iy0 : 0, ky1 = g->h - iy0 < k ? g->h - iy0 : k;
        for (int ox = 0; ox < g->ow; ox++) {
            int ix0 = ox * g->stride - g->pad_left;
            int kx0 = ix0 < 0 ? -ix0 : 0, kx1 = g->w - ix0 < k ? g->w - ix0 : k;
            float *o = out + ((size_t)oy * g->ow + ox) * c;
            const float *base = in + (ptrdiff_t)iy0 * (ptrdiff_t)rs + (ptrdiff_t)ix0 * c;
            int ch = 0;
            /* 64 channels at a time: four independent FMA chains */
            for (; ch + 64 <= c16; ch += 64) {
                __m512 a0 = _mm512_loadu_ps(bias + ch), a1 = _mm512_loadu_ps(bias + ch + 16);
                __m512 a2 = _mm512_loadu_ps(bias + ch + 32), a3 = _mm512_loadu_ps(bias + ch + 48);
                for (int ky = ky0; ky < ky1; ky++) {
                    const float *ip = base + (ptrdiff_t)ky * (ptrdiff_t)rs + ch;
                    const float *wp = wt + (size_t)ky * k * c + ch;
                    for (int kx = kx0; kx < kx1; kx++) {
                        const float *i1 = ip + (size_t)kx * c, *w1 = wp + (size_t)kx * c;
                        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(i1), _mm512_loadu_ps(w1), a0);
                        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(i1 + 16), _mm512_loadu_ps(w1 + 16), a1);
                        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(i1 + 32), _mm512_loadu_ps(w1 + 32), a2);
                        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(i1 + 48), _mm512_loadu_ps(w1 + 48), a3);
                    }
                }
                a0 = swish16(a0);
                a1 = swish16(a1);
                a2 = swish16(a2);
                a3 = swish16(a3);
                _mm512_storeu_ps(o + ch, a0);
                _mm512_storeu_ps(o + ch + 16, a1);
                _mm512_storeu_ps(o + ch + 32, a2);
                _mm512_storeu_ps(o + ch + 48, a3);
                if (sums) {
                    add_sums16(sums + ch, a0);
                    add_sums16(sums + ch + 16, a1);
                    add_sums16(sums + ch + 32, a2);
                    add_sums16(sums + ch + 48, a3);
                }
            }
            for (; ch < c16; ch += 16) {
                __m512 acc0 = _mm512_loadu_ps(bias + ch), acc1 = _mm512_setzero_ps();
                for (int ky = ky0; ky < ky1; ky++) {
                    const float *ip = base + (ptrdiff_t)ky * (ptrdiff_t)rs + ch;
                    const float *wp = wt + (size_t)ky * k * c + ch;
                    int kx = kx0;
                    for (; kx + 1 < kx1; kx += 2) {
                        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(ip + (size_t)kx * c),
                                               _mm512_loadu_ps(wp + (size_t)kx * c), acc0);
                        acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(ip + (size_t)(kx + 1) * c),
                                               _mm512_loadu_ps(wp + (size_t)(kx + 1) * c), acc1);
                    }
                    if (kx < kx1)
                        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(ip + (size_t)kx * c),
                                               _mm512_loadu_ps(wp + (size_t)kx * c), acc0);
                }
                __m512 v = swish16(_mm512_add_ps(acc0, acc1));
                _mm512_storeu_ps(o + ch, v);
                if (sums)
                    add_sums16(sums + ch, v);
            }
            for (int ch = c16; ch < c; ch++) {
                float acc = bias[ch];
                for (int ky = ky0; ky < ky1; ky++)
                    for (int kx = kx0; kx < kx1; kx++)
                        acc += base[(ptrdiff_t)ky * (ptrdiff_t)rs + (size_t)kx * c + ch] *
                               wt[(size_t)(ky * k + kx) * c + ch];
                o[ch] = swishf(acc);
                if (sums)
                    sums[ch] += o[ch];
            }
        }
    }
}

__attribute__((target("avx512f"))) static void bias_swish_avx512(size_t rows, int n, float *x,
                                                                  const float *bias)
{
    const int n16 = n & ~15;
    for (size_t r = 0; r < rows; r++) {
        float *p = x + r * (size_t)n;
        for (int j = 0; j < n16; j += 16) {
            __m512 v = _mm512_loadu_ps(p + j);
            if (bias)
                v = _mm512_add_ps(v, _mm512_loadu_ps(bias + j));
            _mm512_storeu_ps(p + j, swish16(v));
        }
        for (int j = n16; j < n; j++)
            p[j] = swishf(p[j] + (bias ? bias[j] : 0.0f));
    }
}

static int have_avx512(void)
{
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f");
    }
    return cached;
}
#endif

/* ------------------------------------------------------------ dispatch */

void lmmiqa__dwconv_swish(const lmmiqa__conv_geom *g, int c, const float *in, const float *wt,
                          const float *bias, float *out, double *sums, int row0, int row1)
{
    assert(row0 >= 0 && row1 <= g->oh && c > 0);
#ifdef EFF_X86
    if (have_avx512()) {
        dwconv_avx512(g, c, in, wt, bias, out, sums, row0, row1);
        return;
    }
    if (have_avx2()) {
        dwconv_avx2(g, c, in, wt, bias, out, sums, row0, row1);
        return;
    }
#endif
    dwconv_scalar(g, c, in, wt, bias, out, sums, row0, row1);
}

void lmmiqa__bias_swish(size_t rows, int n, float *x, const float *bias)
{
#ifdef EFF_X86
    if (have_avx512()) {
        bias_swish_avx512(rows, n, x, bias);
        return;
    }
    if (have_avx2()) {
        bias_swish_avx2(rows, n, x, bias);
        return;
    }
#endif
    for (size_t r = 0; r < rows; r++) {
        float *p = x + r * (size_t)n;
        for (int j = 0; j < n; j++)
            p[j] = swishf(p[j] + (bias ? bias[j] : 0.0f));
    }
}

void lmmiqa__scale_cols(size_t rows, int n, float *x, const float *scale)
{
    for (size_t r = 0; r < rows; r++) {
        float *p = x + r * (size_t)n;
        for (int j = 0; j < n; j++)
            p[j] *= scale[j];
    }
}

void lmmiqa__rows_bias(size_t rows, int n, const float *x, const float *bias, float *y)
{
    for (size_t r = 0; r < rows; r++) {
        float *q = y + r * (size_t)n;
        if (x) {
            const float *p = x + r * (size_t)n;
            for (int j = 0; j < n; j++)
                q[j] = p[j] + bias[j];
        } else {
            memcpy(q, bias, (size_t)n * sizeof *q);
        }
    }
}

void lmmiqa__im2col_planes(const lmmiqa__conv_geom *g, const float *planes, float *cols)
{
    const int k = g->k, kk = k * k * 3;
    const size_t plane = (size_t)g->h * g->w;
    for (int oy = 0; oy < g->oh; oy++)
        for (int ox = 0; ox < g->ow; ox++) {
            float *col = cols + ((size_t)oy * g->ow + ox) * kk;
            for (int ky = 0; ky < k; ky++) {
                int iy = oy * g->stride - g->pad_top + ky;
                for (int kx = 0; kx < k; kx++) {
                    int ix = ox * g->stride - g->pad_left + kx;
                    int inside = iy >= 0 && iy < g->h && ix >= 0 && ix < g->w;
                    for (int ci = 0; ci < 3; ci++)
                        *col++ = inside ? planes[ci * plane + (size_t)iy * g->w + ix] : 0.0f;
                }
            }
        }
}
