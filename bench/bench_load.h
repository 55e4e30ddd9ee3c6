/*
 * bench/bench_load.h - the idle-machine gate every benchmark shares.
 *
 * A speed ratio measured while builds, tests or other benchmarks run is
 * noise on a 2-core machine (a 2.8x claim measured that way was 1.1-1.7x
 * idle). scripts/bench.sh reads the 1-minute load average once, before the
 * first benchmark, and passes it on in LMMIQA_BENCH_START_LOAD (a benchmark
 * must not judge by the load the previous benchmark of the same run caused);
 * a benchmark run alone reads /proc/loadavg itself. Above 0.5 a benchmark
 * still prints its own figures but withholds every ratio to its peer, saying
 * why.
 */
#ifndef LMMIQA_BENCH_LOAD_H
#define LMMIQA_BENCH_LOAD_H

#include <stdio.h>
#include <stdlib.h>

#define BENCH_IDLE_LOAD 0.5

/* The 1-minute load average now (-1: unknown). */
static inline double bench_load_now(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

/* The 1-minute load average when the benchmark run began (-1: unknown):
 * scripts/bench.sh's reading, else this process' first call (call it at
 * the start of main, before the benchmark itself raises the load). */
static inline double bench_start_load(void)
{
    static double first = -2;
    const char *env = getenv("LMMIQA_BENCH_START_LOAD");
    if (env && *env)
        return strtod(env, NULL);
    if (first == -2)
        first = bench_load_now();
    return first;
}

/* 1 when ratios may be reported; otherwise prints why, once. */
static inline int bench_ratios_allowed(void)
{
    static int said = 0;
    double l = bench_start_load();
    if (l >= 0 && l <= BENCH_IDLE_LOAD)
        return 1;
    if (!said) {
        printf("(ratios withheld: the 1-minute load average was %.2f at the start, above %.1f;"
               " rerun on an idle machine)\n",
               l, BENCH_IDLE_LOAD);
        said = 1;
    }
    return 0;
}

#endif
