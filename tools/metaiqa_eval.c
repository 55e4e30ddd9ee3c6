/*
 * tools/metaiqa_eval.c - MetaIQA on a dataset with the paper's protocol,
 * straight on the library: for each of K random 80/20 splits, fine-tune
 * MetaIQA (from `init`, a MetaIQA release or torchvision ResNet-18 in
 * safetensors, or from random initialisation when absent) on the training
 * images only, extract the 512-d feature of every image, fit the paper's
 * MLP on the training rows and report test PLCC/SROCC of MetaIQA's own
 * score and of its features + MLP.
 *
 *   metaiqa_eval DATASET [splits=1] [epochs=2] [batch=16] [seed=0] [init]
 */
#include "lmmiqa/dataset.h"
#include "lmmiqa/metaiqa.h"
#include "lmmiqa/metrics.h"
#include "lmmiqa/regressor.h"
#include "lmmiqa/splits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void log_line(void *user, const char *line)
{
    (void)user;
    fprintf(stderr, "  %s\n", line);
}

static int fail(const char *what)
{
    fprintf(stderr, "metaiqa_eval: %s: %s\n", what, lmmiqa_error_message());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: metaiqa_eval DATASET [splits=1] [epochs=2] [batch=16] [seed=0] "
                        "[init]\n");
        return 2;
    }
    size_t k_splits = argc > 2 ? (size_t)atoi(argv[2]) : 1;
    int epochs = argc > 3 ? atoi(argv[3]) : 2, batch = argc > 4 ? atoi(argv[4]) : 16;
    uint64_t seed = argc > 5 ? strtoull(argv[5], NULL, 10) : 0;
    const char *init = argc > 6 ? argv[6] : NULL;
    lmmiqa_dataset_options o;
    lmmiqa_dataset_options_init(&o);
    o.fallback_shared_dir = getenv("LMMIQA_SHARED_DIR");
    lmmiqa_dataset *ds = NULL;
    if (lmmiqa_dataset_load_ex(argv[1], &o, &ds))
        return fail(argv[1]);
    size_t n = lmmiqa_dataset_size(ds);
    double lo, hi;
    lmmiqa_dataset_scale(ds, &lo, &hi);
    lmmiqa_splits *splits = NULL;
    if (lmmiqa_splits_random(n, k_splits, 0.2, 0.0, seed, &splits))
        return fail("splits");
    char weights[] = "/tmp/metaiqa_eval_XXXXXX";
    int fd = mkstemp(weights);
    if (fd < 0)
        return 1;
    close(fd);
    printf("split  metaiqa-score PLCC SROCC | metaiqa+MLP PLCC SROCC\n");
    for (size_t k = 0; k < k_splits; k++) {
        const lmmiqa_split *sp = lmmiqa_splits_get(splits, k);
        const char **paths = malloc(sp->n_train * sizeof *paths);
        double *mos = malloc(sp->n_train * sizeof *mos);
        for (size_t i = 0; i < sp->n_train; i++) {
            paths[i] = lmmiqa_dataset_image_path(ds, sp->train[i]);
            mos[i] = lmmiqa_dataset_mos(ds, sp->train[i]);
        }
        lmmiqa_metaiqa_config cfg;
        lmmiqa_metaiqa_config_init(&cfg);
        cfg.epochs = epochs;
        cfg.batch = batch;
        cfg.seed = 1 + k;
        cfg.verbose = 1;
        cfg.log = log_line;
        double t0 = now();
        if (lmmiqa_metaiqa_train(&cfg, init, paths, mos, sp->n_train, lo, hi, NULL, weights))
            return fail("train");
        double t1 = now();
        lmmiqa_metaiqa *m = NULL;
        lmmiqa_metaiqa_state *st = NULL;
        if (lmmiqa_metaiqa_load(weights, &m) || lmmiqa_metaiqa_state_create(m, &st))
            return fail("load");
        size_t dim = lmmiqa_metaiqa_feature_dim(m);
        float *feat = malloc(n * dim * sizeof *feat);
        double *score = malloc(n * sizeof *score), *f = malloc(dim * sizeof *f);
        for (size_t i = 0; i < n; i++) {
            lmmiqa_image *img = NULL;
            if (lmmiqa_image_load(lmmiqa_dataset_image_path(ds, i), &img) ||
                lmmiqa_metaiqa_predict(m, st, img, &score[i], f))
                return fail(lmmiqa_dataset_image_path(ds, i));
            lmmiqa_image_destroy(img);
            for (size_t j = 0; j < dim; j++)
                feat[i * dim + j] = (float)f[j];
        }
        double t2 = now();
        size_t nte = sp->n_test, ntr = sp->n_train;
        double *ps = malloc(nte * sizeof *ps), *ms = malloc(nte * sizeof *ms), pl, sr, pl2, sr2;
        float *xtr = malloc(ntr * dim * sizeof *xtr), *xte = malloc(nte * dim * sizeof *xte);
        for (size_t i = 0; i < nte; i++) {
            ps[i] = score[sp->test[i]];
            ms[i] = lmmiqa_dataset_mos(ds, sp->test[i]);
            memcpy(xte + i * dim, feat + sp->test[i] * dim, dim * sizeof *xte);
        }
        for (size_t i = 0; i < ntr; i++)
            memcpy(xtr + i * dim, feat + sp->train[i] * dim, dim * sizeof *xtr);
        lmmiqa_metric_plcc(ps, ms, nte, &pl);
        lmmiqa_metric_srocc(ps, ms, nte, &sr);
        lmmiqa_regressor_config rc;
        lmmiqa_regressor_config_default(&rc);
        lmmiqa_regressor *reg = NULL;
        if (lmmiqa_regressor_train(&rc, xtr, mos, ntr, dim, lo, hi, NULL, NULL, 0, &reg) ||
            lmmiqa_regressor_predict(reg, xte, nte, ps))
            return fail("regressor");
        lmmiqa_metric_plcc(ps, ms, nte, &pl2);
        lmmiqa_metric_srocc(ps, ms, nte, &sr2);
        printf("%5zu  %.4f %.4f | %.4f %.4f   (train %.0f s, extract %.0f s)\n", k + 1, pl, sr,
               pl2, sr2, t1 - t0, t2 - t1);
        fflush(stdout);
        lmmiqa_regressor_destroy(reg);
        lmmiqa_metaiqa_state_destroy(st);
        lmmiqa_metaiqa_destroy(m);
        free(paths), free(mos), free(feat), free(score), free(f), free(ps), free(ms), free(xtr),
            free(xte);
    }
    unlink(weights);
    return 0;
}
