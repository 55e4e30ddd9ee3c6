/*
 * tests/vit_test_util.h - helpers shared by the vision transformer tests:
 * the synthetic images of tools/ref/clip_ref.py, golden file reading and
 * the embedding comparison (cosine similarity and max abs difference).
 */
#ifndef LMMIQA_VIT_TEST_UTIL_H
#define LMMIQA_VIT_TEST_UTIL_H

#include "lmmiqa/image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clip_ref.py synth_image(k) */
static inline lmmiqa_image *vt_synth_image(int k)
{
    int w = k == 0 ? 64 : 40, h = k == 0 ? 48 : 73;
    lmmiqa_image *img = NULL;
    if (lmmiqa_image_create(w, h, &img) != 0)
        return NULL;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                img->pixels[((size_t)y * w + x) * 3 + c] =
                    (uint8_t)((x * (31 + 7 * k) + y * 17 + c * 97 + (x * y) % 23) % 256);
    return img;
}

/* Golden embedding `key` of image `idx` from a clip_ref.py golden file into
 * out[cap]; returns its dimension, 0 if absent. */
static inline int vt_golden(const char *path, const char *key, int idx, double *out, int cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    static char line[1 << 16];
    int dim = 0;
    while (fgets(line, sizeof line, f)) {
        char k[128];
        int i, n, pos;
        if (line[0] == '#' || sscanf(line, "%127s %d %d%n", k, &i, &n, &pos) != 3)
            continue;
        if (strcmp(k, key) != 0 || i != idx || n > cap)
            continue;
        char *p = line + pos;
        for (int j = 0; j < n; j++)
            out[j] = strtod(p, &p);
        dim = n;
        break;
    }
    fclose(f);
    return dim;
}

/* cosine similarity and max |a - b| */
static inline void vt_compare(const float *a, const double *b, int n, double *cosine,
                              double *maxdiff)
{
    double ab = 0, aa = 0, bb = 0, md = 0;
    for (int i = 0; i < n; i++) {
        ab += a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += b[i] * b[i];
        double d = fabs(a[i] - b[i]);
        md = d > md ? d : md;
    }
    *cosine = ab / sqrt(aa * bb);
    *maxdiff = md;
}

#endif
