/*
 * bench/bench_peak.h - the FP32 FMA peak of this machine, measured rather
 * than assumed: every thread runs independent chains of fused multiply-adds
 * on the widest vectors the CPU has (AVX-512 where present, else AVX2) for
 * about 0.2 s, and the rate of all threads together is the peak. The
 * fraction of peak a benchmark prints is against this figure.
 *
 * Why measured: perf-anchors.md gives 96 GFLOP/s per core for the Zen 3
 * machines it was written on; the machines of this workplace now include
 * Zen 5 ones with two 512-bit FMA pipes per core (about 2x that), and a
 * fraction of the wrong peak is a wrong claim (173 % of "peak").
 */
#ifndef LMMIQA_BENCH_PEAK_H
#define LMMIQA_BENCH_PEAK_H

#include <pthread.h>
#include <time.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

static inline double bench_peak_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* 12 independent accumulators in registers (named, not an array, so that
 * -O2 keeps them there) hide the FMA latency: 4 cycles x 2 pipes + margin. */
#define BENCH_PEAK_STEP(FMA)                                                                       \
    a0 = FMA(a0, m, d), a1 = FMA(a1, m, d), a2 = FMA(a2, m, d), a3 = FMA(a3, m, d),                \
    a4 = FMA(a4, m, d), a5 = FMA(a5, m, d), a6 = FMA(a6, m, d), a7 = FMA(a7, m, d),                \
    a8 = FMA(a8, m, d), a9 = FMA(a9, m, d), a10 = FMA(a10, m, d), a11 = FMA(a11, m, d)
#define BENCH_PEAK_CHAINS(T, FMA, SET1, ADD, STORE, LANES)                                         \
    T m = SET1(0.999999f), d = SET1(1e-7f);                                                        \
    T a0 = SET1(0), a1 = SET1(1), a2 = SET1(2), a3 = SET1(3), a4 = SET1(4), a5 = SET1(5);          \
    T a6 = SET1(6), a7 = SET1(7), a8 = SET1(8), a9 = SET1(9), a10 = SET1(10), a11 = SET1(11);      \
    for (long r = 0; r < rounds; r++)                                                              \
        BENCH_PEAK_STEP(FMA);                                                                      \
    T s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));                       \
    s = ADD(s, ADD(ADD(a8, a9), ADD(a10, a11)));                                                   \
    float out[LANES];                                                                              \
    STORE(out, s);                                                                                 \
    *sink = out[0];                                                                                \
    return 2.0 * LANES * 12 * (double)rounds

__attribute__((target("avx512f"))) static double bench_peak_avx512(long rounds, float *sink)
{
    BENCH_PEAK_CHAINS(__m512, _mm512_fmadd_ps, _mm512_set1_ps, _mm512_add_ps, _mm512_storeu_ps, 16);
}

__attribute__((target("avx2,fma"))) static double bench_peak_avx2(long rounds, float *sink)
{
    BENCH_PEAK_CHAINS(__m256, _mm256_fmadd_ps, _mm256_set1_ps, _mm256_add_ps, _mm256_storeu_ps, 8);
}

typedef struct bench_peak_job {
    double flops, seconds;
    float sink;
} bench_peak_job;

static void *bench_peak_thread(void *arg)
{
    bench_peak_job *j = arg;
    int wide = __builtin_cpu_supports("avx512f");
    long rounds = 1 << 20;
    double t0 = bench_peak_clock(), flops = 0;
    do {
        flops += wide ? bench_peak_avx512(rounds, &j->sink) : bench_peak_avx2(rounds, &j->sink);
    } while (bench_peak_clock() - t0 < 0.2);
    j->flops = flops;
    j->seconds = bench_peak_clock() - t0;
    return NULL;
}

/* One measurement of `threads` threads together (0 on failure). */
static inline double bench_peak_once(int threads)
{
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        return 0;
    if (threads < 1)
        threads = 1;
    if (threads > 64)
        threads = 64;
    pthread_t tid[64];
    bench_peak_job job[64] = {{0, 0, 0}};
    for (int i = 1; i < threads; i++)
        if (pthread_create(&tid[i], NULL, bench_peak_thread, &job[i]) != 0)
            return 0;
    bench_peak_thread(&job[0]);
    double total = 0;
    for (int i = 0; i < threads; i++) {
        if (i)
            pthread_join(tid[i], NULL);
        total += job[i].flops / job[i].seconds;
    }
    return total / 1e9;
}

/* GFLOP/s of `threads` threads together (0 if the CPU has no AVX2+FMA): the
 * best of three measurements, as a thread that shared its core with another
 * for part of one run reads low. */
static inline double bench_peak_gflops(int threads)
{
    double best = 0;
    for (int r = 0; r < 3; r++) {
        double g = bench_peak_once(threads);
        best = g > best ? g : best;
    }
    return best;
}

/* Which vectors the peak was measured with. */
static inline const char *bench_peak_isa(void)
{
    return __builtin_cpu_supports("avx512f") ? "AVX-512" : "AVX2";
}
#else
static inline double bench_peak_gflops(int threads)
{
    (void)threads;
    return 0;
}
static inline const char *bench_peak_isa(void)
{
    return "unknown";
}
#endif

#endif
