/*
 * src/tensor/kernels.c - the neural runtime's kernels (see kernels.h).
 *
 * Fast paths: AVX2+FMA functions compiled with target attributes and chosen
 * at run time (__builtin_cpu_supports), so the library's baseline stays
 * portable x86-64. exp is the Cephes-style range reduction
 * x = n ln2 + r, |r| <= ln2/2, with a degree-6 polynomial for e^r and 2^n
 * built in the exponent bits. LayerNorm uses two passes (mean, then centred
 * variance) in float with 8 lanes, which matches PyTorch's float accuracy.
 */
#include "kernels.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X86 1
#else
#define HAVE_X86 0
#endif

/* --------------------------------------------------------------- threads */

int lmmiqa__kernel_parts(size_t work, int items)
{
#ifdef _OPENMP
    if (work < 65536 || items < 2 || omp_in_parallel())
        return 1;
    int t = omp_get_max_threads();
    return t < items ? t : items;
#else
    (void)work;
    (void)items;
    return 1;
#endif
}

int lmmiqa__thread_num(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* ------------------------------------------------------------------ GEMM */

void lmmiqa__sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                   int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void lmmiqa__sgemm_ref(int trans_a, int trans_b, int m, int n, int k, float alpha,
                       const float *a, int lda, const float *b, int ldb, float beta, float *c,
                       int ldc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int p = 0; p < k; p++) {
                double x = trans_a ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                double y = trans_b ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                s += x * y;
            }
            float *cc = &c[(size_t)i * ldc + j];
            *cc = (float)(alpha * s + (beta != 0.0f ? (double)beta * *cc : 0.0));
        }
}

/* ------------------------------------------------------------ exp (fast) */

static float exp_scalar(float x)
{
    /* same algorithm as the vector version, one lane */
    if (x > 88.0f)
        x = 88.0f;
    if (x < -87.3365447504019f)
        x = -87.3365447504019f;
    float n = nearbyintf(x * 1.44269504088896341f);
    float r = fmaf(n, -0.693359375f, x);
    r = fmaf(n, 2.12194440e-4f, r);
    float p = 1.9875691500e-4f;
    p = fmaf(p, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    p = fmaf(p, r * r, r);
    p += 1.0f;
    int e = (int)n;
    float s;
    unsigned u = (unsigned)(e + 127) << 23;
    memcpy(&s, &u, 4);
    return p * s;
}

#if HAVE_X86
__attribute__((target("avx2,fma"))) static inline __m256 exp8(__m256 x)
{
    x = _mm256_min_ps(x, _mm256_set1_ps(88.0f));
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.3365447504019f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-0.693359375f), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
    p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)),
                                  23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

__attribute__((target("avx2,fma"))) static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) static inline float hmax8(__m256 v)
{
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) static void exp_avx2(int n, const float *in, float *out)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, exp8(_mm256_loadu_ps(in + i)));
    for (; i < n; i++)
        out[i] = exp_scalar(in[i]);
}

__attribute__((target("avx2,fma"))) static void softmax_avx2(int rows, int n, float *x, int ld)
{
    for (int r = 0; r < rows; r++) {
        float *p = x + (size_t)r * ld;
        __m256 vm = _mm256_set1_ps(-INFINITY);
        int i = 0;
        for (; i + 8 <= n; i += 8)
            vm = _mm256_max_ps(vm, _mm256_loadu_ps(p + i));
        float m = hmax8(vm);
        for (; i < n; i++)
            m = p[i] > m ? p[i] : m;
        __m256 vmax = _mm256_set1_ps(m), vs = _mm256_setzero_ps();
        for (i = 0; i + 8 <= n; i += 8) {
            __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(p + i), vmax));
            _mm256_storeu_ps(p + i, e);
            vs = _mm256_add_ps(vs, e);
        }
        float s = hsum8(vs);
        for (; i < n; i++) {
            p[i] = exp_scalar(p[i] - m);
            s += p[i];
        }
        __m256 vinv = _mm256_set1_ps(1.0f / s);
        float inv = 1.0f / s;
        for (i = 0; i + 8 <= n; i += 8)
            _mm256_storeu_ps(p + i, _mm256_mul_ps(_mm256_loadu_ps(p + i), vinv));
        for (; i < n; i++)
            p[i] *= inv;
    }
}

__attribute__((target("avx2,fma"))) static void layernorm_avx2(int rows, int n, const float *x,
                                                               int ldx, const float *gamma,
                                                               const float *beta, float eps,
                                                               float *out, int ldo)
{
    for (int r = 0; r < rows; r++) {
        const float *p = x + (size_t)r * ldx;
        float *o = out + (size_t)r * ldo;
        __m256 vs = _mm256_setzero_ps();
        int i = 0;
        for (; i + 8 <= n; i += 8)
            vs = _mm256_add_ps(vs, _mm256_loadu_ps(p + i));
        float s = hsum8(vs);
        for (; i < n; i++)
            s += p[i];
        float mean = s / (float)n;
        __m256 vmean = _mm256_set1_ps(mean), vq = _mm256_setzero_ps();
        for (i = 0; i + 8 <= n; i += 8) {
            __m256 d = _mm256_sub_ps(_mm256_loadu_ps(p + i), vmean);
            vq = _mm256_fmadd_ps(d, d, vq);
        }
        float q = hsum8(vq);
        for (; i < n; i++)
            q += (p[i] - mean) * (p[i] - mean);
        float rstd = 1.0f / sqrtf(q / (float)n + eps);
        __m256 vr = _mm256_set1_ps(rstd);
        for (i = 0; i + 8 <= n; i += 8) {
            __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(p + i), vmean), vr);
            _mm256_storeu_ps(o + i, _mm256_fmadd_ps(d, _mm256_loadu_ps(gamma + i),
                                                    _mm256_loadu_ps(beta + i)));
        }
        for (; i < n; i++)
            o[i] = (p[i] - mean) * rstd * gamma[i] + beta[i];
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
#else
static int have_avx2(void) { return 0; }
#endif

void lmmiqa__exp(int n, const float *in, float *out)
{
#if HAVE_X86
    if (have_avx2()) {
        exp_avx2(n, in, out);
        return;
    }
#endif
    for (int i = 0; i < n; i++)
        out[i] = exp_scalar(in[i]);
}

/* ------------------------------------------------------------- LayerNorm */

void lmmiqa__layernorm_ref(int rows, int n, const float *x, int ldx, const float *gamma,
                           const float *beta, float eps, float *out, int ldo)
{
    for (int r = 0; r < rows; r++) {
        const float *p = x + (size_t)r * ldx;
        float *o = out + (size_t)r * ldo;
        double s = 0, q = 0;
        for (int i = 0; i < n; i++)
            s += p[i];
        double mean = s / n;
        for (int i = 0; i < n; i++)
            q += (p[i] - mean) * (p[i] - mean);
        double rstd = 1.0 / sqrt(q / n + eps);
        for (int i = 0; i < n; i++)
            o[i] = (float)((p[i] - mean) * rstd * gamma[i] + beta[i]);
    }
}

static void layernorm_rows(int rows, int n, const float *x, int ldx, const float *gamma,
                           const float *beta, float eps, float *out, int ldo)
{
#if HAVE_X86
    if (have_avx2()) {
        layernorm_avx2(rows, n, x, ldx, gamma, beta, eps, out, ldo);
        return;
    }
#endif
    for (int r = 0; r < rows; r++) {
        const float *p = x + (size_t)r * ldx;
        float *o = out + (size_t)r * ldo;
        float s = 0, q = 0;
        for (int i = 0; i < n; i++)
            s += p[i];
        float mean = s / (float)n;
        for (int i = 0; i < n; i++)
            q += (p[i] - mean) * (p[i] - mean);
        float rstd = 1.0f / sqrtf(q / (float)n + eps);
        for (int i = 0; i < n; i++)
            o[i] = (p[i] - mean) * rstd * gamma[i] + beta[i];
    }
}

void lmmiqa__layernorm(int rows, int n, const float *x, int ldx, const float *gamma,
                       const float *beta, float eps, float *out, int ldo)
{
    int parts = lmmiqa__kernel_parts((size_t)rows * (size_t)n, rows);
    if (parts <= 1) {
        layernorm_rows(rows, n, x, ldx, gamma, beta, eps, out, ldo);
        return;
    }
    /* rows are independent: the same numbers for any split */
    LMMIQA__OMP(omp parallel for num_threads(parts) schedule(static))
    for (int t = 0; t < parts; t++) {
        int r0 = (int)((long long)rows * t / parts), r1 = (int)((long long)rows * (t + 1) / parts);
        layernorm_rows(r1 - r0, n, x + (size_t)r0 * ldx, ldx, gamma, beta, eps,
                       out + (size_t)r0 * ldo, ldo);
    }
}

/* --------------------------------------------------------------- softmax */

void lmmiqa__softmax_rows_ref(int rows, int n, float *x, int ld)
{
    for (int r = 0; r < rows; r++) {
        float *p = x + (size_t)r * ld;
        double m = -INFINITY, s = 0;
        for (int i = 0; i < n; i++)
            m = p[i] > m ? p[i] : m;
        for (int i = 0; i < n; i++)
            s += exp((double)p[i] - m);
        for (int i = 0; i < n; i++)
            p[i] = (float)(exp((double)p[i] - m) / s);
    }
}

void lmmiqa__softmax_rows(int rows, int n, float *x, int ld)
{
#if HAVE_X86
    if (have_avx2()) {
        softmax_avx2(rows, n, x, ld);
        return;
    }
#endif
    for (int r = 0; r < rows; r++) {
        float *p = x + (size_t)r * ld;
        float m = -INFINITY, s = 0;
        for (int i = 0; i < n; i++)
            m = p[i] > m ? p[i] : m;
        for (int i = 0; i < n; i++) {
            p[i] = exp_scalar(p[i] - m);
            s += p[i];
        }
        float inv = 1.0f / s;
        for (int i = 0; i < n; i++)
            p[i] *= inv;
    }
}
