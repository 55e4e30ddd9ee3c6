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
#include "eval_common.h"

#include "lmmiqa/advanced/metaiqa.h"
#include "lmmiqa/splits.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int fail(const char *what) { return eval_fail("metaiqa_eval", what); }

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
    lmmiqa_dataset *ds = NULL;
    if (eval_dataset_open(argv[1], &ds))
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
        cfg.log = eval_log_line;
        double t0 = eval_now();
        if (lmmiqa_metaiqa_train(&cfg, init, paths, mos, sp->n_train, lo, hi, NULL, weights))
            return fail("train");
        double t1 = eval_now();
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
        double t2 = eval_now();
        double pl, sr, pl2, sr2;
        eval_score_corr(score, ds, sp->test, sp->n_test, &pl, &sr);
        if (eval_regress(feat, dim, ds, sp->train, sp->n_train, sp->test, sp->n_test, lo, hi,
                         &pl2, &sr2))
            return fail("regressor");
        printf("%5zu  %.4f %.4f | %.4f %.4f   (train %.0f s, extract %.0f s)\n", k + 1, pl, sr,
               pl2, sr2, t1 - t0, t2 - t1);
        fflush(stdout);
        lmmiqa_metaiqa_state_destroy(st);
        lmmiqa_metaiqa_destroy(m);
        free(paths), free(mos), free(feat), free(score), free(f);
    }
    unlink(weights);
    return 0;
}
