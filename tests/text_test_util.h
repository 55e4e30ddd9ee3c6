/*
 * tests/text_test_util.h - golden files of tools/ref/clip_text_ref.py
 * ("ids KEY K N ids..." and "emb KEY K DIM values..." lines) and the
 * relative L2 error the text-tower tests report.
 */
#ifndef LMMIQA_TEXT_TEST_UTIL_H
#define LMMIQA_TEXT_TEST_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Values of line `kind` ("ids" or "emb"), key, index k into out[cap];
 * returns their count, 0 when absent. */
static inline int tt_golden(const char *path, const char *kind, const char *key, int k,
                            double *out, int cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    static char line[1 << 16];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        char kd[16], ky[128];
        int i, n, pos;
        if (sscanf(line, "%15s %127s %d %d%n", kd, ky, &i, &n, &pos) != 4)
            continue;
        if (strcmp(kd, kind) || strcmp(ky, key) || i != k || n > cap)
            continue;
        char *p = line + pos;
        for (int j = 0; j < n; j++)
            out[j] = strtod(p, &p);
        found = n;
    }
    fclose(f);
    return found;
}

/* ||a - b|| / ||b|| */
static inline double tt_rel_l2(const float *a, const double *b, int n)
{
    double num = 0, den = 0;
    for (int i = 0; i < n; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

#endif
