/*
 * tools/cnniqa_eval.c - CNNIQA on a dataset with the paper's protocol,
 * straight on the library (no feature store): for each of K random 80/20
 * splits, train CNNIQA on the training images only, extract the 512-d
 * feature of every image, fit the paper's MLP regressor on the training
 * rows and report test PLCC/SROCC, for CNNIQA's own score, CNNIQA features
 * + MLP, and CNNIQA + BRISQUE features + MLP. Medians over splits.
 *
 *   cnniqa_eval DATASET [splits=10] [epochs=2] [patches=32] [seed=0] [outdir]
 *
 * Grey images and BRISQUE features are computed once and reused by every
 * split. Per-split features are written to outdir (raw float32) when given.
 */
#include "eval_common.h"

#include "core/internal.h"
#include "lmmiqa/brisque.h"
#include "lmmiqa/advanced/cnniqa.h"
#include "lmmiqa/splits.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int fail(const char *what) { return eval_fail("cnniqa_eval", what); }

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: cnniqa_eval DATASET [splits=10] [epochs=2] [patches=32] [seed=0] "
                        "[outdir]\n");
        return 2;
    }
    size_t k_splits = argc > 2 ? (size_t)atoi(argv[2]) : 10;
    int epochs = argc > 3 ? atoi(argv[3]) : 2, patches = argc > 4 ? atoi(argv[4]) : 32;
    uint64_t seed = argc > 5 ? strtoull(argv[5], NULL, 10) : 0;
    const char *outdir = argc > 6 ? argv[6] : NULL;
    lmmiqa_dataset *ds = NULL;
    if (eval_dataset_open(argv[1], &ds))
        return fail(argv[1]);
    size_t n = lmmiqa_dataset_size(ds);
    double lo, hi;
    lmmiqa_dataset_scale(ds, &lo, &hi);
    double t0 = eval_now();
    uint8_t **gray = calloc(n, sizeof *gray);
    int *w = calloc(n, sizeof *w), *h = calloc(n, sizeof *h);
    float *brisque = calloc(n * 36, sizeof *brisque);
    lmmiqa_brisque_state *bst = NULL;
    if (lmmiqa_brisque_state_create(&bst))
        return fail("brisque");
    for (size_t i = 0; i < n; i++) {
        lmmiqa_image *img = NULL;
        if (lmmiqa_image_load(lmmiqa_dataset_image_path(ds, i), &img))
            return fail(lmmiqa_dataset_image_path(ds, i));
        w[i] = img->width, h[i] = img->height;
        gray[i] = malloc((size_t)w[i] * h[i]);
        lmmiqa_image_to_gray(img, gray[i]);
        double b[36];
        if (lmmiqa_brisque_features_gray(bst, gray[i], w[i], h[i], b))
            return fail("brisque features");
        for (int j = 0; j < 36; j++)
            brisque[i * 36 + j] = (float)b[j];
        lmmiqa_image_destroy(img);
    }
    lmmiqa_brisque_state_destroy(bst);
    fprintf(stderr, "cnniqa_eval: %zu images decoded + BRISQUE in %.1f s\n", n, eval_now() - t0);
    lmmiqa_splits *splits = NULL;
    if (lmmiqa_splits_random(n, k_splits, 0.2, 0.0, seed, &splits))
        return fail("splits");
    double *res[8];
    for (int j = 0; j < 8; j++)
        res[j] = calloc(k_splits, sizeof(double));
    const int fc = 512;
    float *feat = malloc(n * fc * sizeof *feat), *fused = malloc(n * (fc + 36) * sizeof *fused);
    double *score = malloc(n * sizeof *score), *fd = malloc(fc * sizeof *fd);
    printf("split  cnniqa-score PLCC SROCC | cnniqa+MLP PLCC SROCC | cnniqa+brisque+MLP PLCC "
           "SROCC | brisque+MLP PLCC SROCC\n");
    for (size_t k = 0; k < k_splits; k++) {
        const lmmiqa_split *sp = lmmiqa_splits_get(splits, k);
        double ts = eval_now();
        const uint8_t **g = malloc(sp->n_train * sizeof *g);
        int *tw = malloc(sp->n_train * sizeof *tw), *th = malloc(sp->n_train * sizeof *th);
        double *tm = malloc(sp->n_train * sizeof *tm);
        for (size_t i = 0; i < sp->n_train; i++) {
            size_t r = sp->train[i];
            g[i] = gray[r], tw[i] = w[r], th[i] = h[r], tm[i] = lmmiqa_dataset_mos(ds, r);
        }
        lmmiqa_cnniqa_config cfg;
        lmmiqa_cnniqa_config_init(&cfg);
        cfg.epochs = epochs;
        cfg.patches_per_image = patches;
        cfg.seed = 1 + k;
        cfg.verbose = 1;
        cfg.log = eval_log_line;
        lmmiqa_cnniqa *m = NULL;
        if (lmmiqa_cnniqa_train_gray(&cfg, g, tw, th, tm, sp->n_train, lo, hi, NULL, NULL, &m))
            return fail("train");
        double tt = eval_now();
        lmmiqa_cnniqa_state *st = NULL;
        lmmiqa_cnniqa_state_create(m, &st);
        for (size_t i = 0; i < n; i++) {
            if (lmmiqa_cnniqa_predict_gray(m, st, gray[i], w[i], h[i], &score[i], fd))
                return fail("predict");
            for (int j = 0; j < fc; j++) {
                feat[i * fc + j] = (float)fd[j];
                fused[i * (fc + 36) + j] = (float)fd[j];
            }
            memcpy(fused + i * (fc + 36) + fc, brisque + i * 36, 36 * sizeof(float));
        }
        lmmiqa_cnniqa_state_destroy(st);
        lmmiqa_cnniqa_destroy(m);
        double te = eval_now();
        if (outdir) {
            char path[4096];
            snprintf(path, sizeof path, "%s/cnniqa_split%zu_%zux%d.f32", outdir, k + 1, n, fc);
            if (lmmiqa__file_write_atomic(path, feat, n * (size_t)fc * sizeof *feat) != 0)
                return fail("write features");
        }
        eval_score_corr(score, ds, sp->test, sp->n_test, &res[0][k], &res[1][k]);
        if (eval_regress(feat, fc, ds, sp->train, sp->n_train, sp->test, sp->n_test, lo, hi,
                    &res[2][k], &res[3][k]) ||
            eval_regress(fused, fc + 36, ds, sp->train, sp->n_train, sp->test, sp->n_test, lo, hi,
                    &res[4][k], &res[5][k]) ||
            eval_regress(brisque, 36, ds, sp->train, sp->n_train, sp->test, sp->n_test, lo, hi,
                    &res[6][k], &res[7][k]))
            return fail("regressor");
        printf("%5zu  %.4f %.4f | %.4f %.4f | %.4f %.4f | %.4f %.4f   (train %.0f s, extract %.0f "
               "s)\n",
               k + 1, res[0][k], res[1][k], res[2][k], res[3][k], res[4][k], res[5][k], res[6][k],
               res[7][k], tt - ts, te - tt);
        fflush(stdout);
        free(g), free(tw), free(th), free(tm);
    }
    printf("median %.4f %.4f | %.4f %.4f | %.4f %.4f | %.4f %.4f   (%zu splits, %.0f s total)\n",
           median(res[0], k_splits), median(res[1], k_splits), median(res[2], k_splits),
           median(res[3], k_splits), median(res[4], k_splits), median(res[5], k_splits),
           median(res[6], k_splits), median(res[7], k_splits), k_splits, eval_now() - t0);
    return 0;
}
