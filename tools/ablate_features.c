/*
 * tools/ablate_features.c - column-group ablation of a feature combination
 * with the paper's protocol, for docs/default-model.md.
 *
 *   ablate_features --store DIR --dataset D --features SPEC [--head svr|mlp|linear]
 *       [--svr-c X] [--svr-gamma X] [--svr-epsilon X] [--epochs N] [--lr X]
 *       [--dropout X] [--hidden N] [--splits N] [--seed S]
 *       [--drop PREFIX]... [--only PREFIX]...
 *
 * Columns are named "<extractor>.<column>" (brisque.f1, nss.chroma_rg_s2_msq,
 * ...); --drop removes the columns whose name starts with PREFIX, --only
 * keeps just those (then --drop applies). The splits, MOS range and training
 * seeds are those of `lmmiqa eval` (random 80/20 splits from --seed, split k
 * trained with seed + k - 1, nominal MOS range), so a run with nothing
 * dropped reproduces eval's figures for the same head settings. Prints one
 * line: columns kept, PLCC and SROCC mean and std over the splits.
 */
#include "lmmiqa/dataset.h"
#include "lmmiqa/extractor.h"
#include "lmmiqa/metrics.h"
#include "lmmiqa/protocol.h"
#include "lmmiqa/regressor.h"
#include "lmmiqa/splits.h"
#include "lmmiqa/store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PREFIX 64

static int die(const char *what)
{
    fprintf(stderr, "ablate_features: %s: %s\n", what, lmmiqa_error_message());
    return 1;
}

static int starts(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

int main(int argc, char **argv)
{
    const char *store = NULL, *dataset = NULL, *spec = NULL;
    const char *drop[MAX_PREFIX], *only[MAX_PREFIX];
    int n_drop = 0, n_only = 0;
    long n_splits = 10, seed = 1;
    lmmiqa_regressor_config cfg;
    lmmiqa_regressor_config_init(&cfg);
    cfg.head = LMMIQA_HEAD_SVR;
    cfg.threads = 1; /* as lmmiqa eval */
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *o = argv[i], *v = argv[i + 1];
        if (!strcmp(o, "--store"))
            store = v;
        else if (!strcmp(o, "--dataset"))
            dataset = v;
        else if (!strcmp(o, "--features"))
            spec = v;
        else if (!strcmp(o, "--head") && lmmiqa_head_parse(v) >= 0)
            cfg.head = (lmmiqa_head)lmmiqa_head_parse(v);
        else if (!strcmp(o, "--svr-c"))
            cfg.svr_c = atof(v);
        else if (!strcmp(o, "--svr-gamma"))
            cfg.svr_gamma = atof(v);
        else if (!strcmp(o, "--svr-epsilon"))
            cfg.svr_epsilon = atof(v);
        else if (!strcmp(o, "--epochs"))
            cfg.epochs = atoi(v);
        else if (!strcmp(o, "--lr"))
            cfg.learning_rate = atof(v);
        else if (!strcmp(o, "--dropout"))
            cfg.dropout = atof(v);
        else if (!strcmp(o, "--hidden"))
            cfg.hidden = atoi(v);
        else if (!strcmp(o, "--splits"))
            n_splits = atol(v);
        else if (!strcmp(o, "--seed"))
            seed = atol(v);
        else if (!strcmp(o, "--drop") && n_drop < MAX_PREFIX)
            drop[n_drop++] = v;
        else if (!strcmp(o, "--only") && n_only < MAX_PREFIX)
            only[n_only++] = v;
        else {
            fprintf(stderr, "ablate_features: bad option '%s' (see the source's comment)\n", o);
            return 2;
        }
    }
    if (!store || !dataset || !spec || n_splits < 1) {
        fprintf(stderr, "ablate_features: --store, --dataset and --features are required\n");
        return 2;
    }
    lmmiqa_dataset *ds = NULL;
    lmmiqa_features *f = NULL;
    lmmiqa_splits *sp = NULL;
    if (lmmiqa_dataset_load(dataset, NULL, &ds))
        return die(dataset);
    if (lmmiqa_features_load(store, spec, &f) || lmmiqa_features_check_dataset(f, ds))
        return die(spec);
    size_t n = lmmiqa_features_rows(f), dim = lmmiqa_features_dim(f);
    if (lmmiqa_splits_random(n, (size_t)n_splits, 0.2, 0, (uint64_t)seed, &sp))
        return die("splits");
    /* the kept columns */
    lmmiqa_feature_spec ps;
    lmmiqa_feature_spec_parse(spec, &ps);
    size_t *cols = malloc(dim * sizeof *cols), kept = 0, c = 0;
    for (size_t k = 0; k < ps.count; k++) {
        lmmiqa_extractor *ex = NULL;
        if (lmmiqa_extractor_create(ps.names[k], NULL, &ex))
            return die(ps.names[k]);
        for (size_t j = 0; j < lmmiqa_extractor_dim(ex); j++, c++) {
            if (c >= dim)
                continue;
            char name[128];
            snprintf(name, sizeof name, "%s.%s", ps.names[k], lmmiqa_extractor_feature_name(ex, j));
            int keep = n_only == 0;
            for (int q = 0; q < n_only; q++)
                keep |= starts(name, only[q]);
            for (int q = 0; q < n_drop; q++)
                keep &= !starts(name, drop[q]);
            if (keep)
                cols[kept++] = c;
        }
        lmmiqa_extractor_destroy(ex);
    }
    if (c != dim) {
        fprintf(stderr, "ablate_features: the store has %zu columns, the extractors %zu: "
                        "re-extract\n", dim, c);
        return 1;
    }
    if (kept == 0) {
        fprintf(stderr, "ablate_features: every column dropped\n");
        return 2;
    }
    const float *all = lmmiqa_features_data(f);
    double s_p = 0, q_p = 0, s_s = 0, q_s = 0;
    for (size_t k = 0; k < lmmiqa_splits_count(sp); k++) {
        const lmmiqa_split *s = lmmiqa_splits_get(sp, k);
        float *xtr = malloc(s->n_train * kept * sizeof *xtr);
        float *xte = malloc(s->n_test * kept * sizeof *xte);
        double *ytr = malloc(s->n_train * sizeof *ytr), *yte = malloc(s->n_test * sizeof *yte);
        double *pred = malloc(s->n_test * sizeof *pred);
        for (size_t i = 0; i < s->n_train; i++) {
            for (size_t j = 0; j < kept; j++)
                xtr[i * kept + j] = all[s->train[i] * dim + cols[j]];
            ytr[i] = lmmiqa_dataset_mos(ds, s->train[i]);
        }
        for (size_t i = 0; i < s->n_test; i++) {
            for (size_t j = 0; j < kept; j++)
                xte[i * kept + j] = all[s->test[i] * dim + cols[j]];
            yte[i] = lmmiqa_dataset_mos(ds, s->test[i]);
        }
        double lo, hi;
        lmmiqa_protocol_mos_range(ds, LMMIQA_MOS_RANGE_NOMINAL, s->train, s->n_train, &lo, &hi);
        cfg.seed = (uint64_t)seed + k;
        lmmiqa_regressor *reg = NULL;
        if (lmmiqa_regressor_train(&cfg, xtr, ytr, s->n_train, kept, lo, hi, NULL, NULL, 0,
                                   &reg) ||
            lmmiqa_regressor_predict(reg, xte, s->n_test, pred))
            return die("training");
        double plcc, srocc;
        lmmiqa_metric_plcc(pred, yte, s->n_test, &plcc);
        lmmiqa_metric_srocc(pred, yte, s->n_test, &srocc);
        s_p += plcc;
        q_p += plcc * plcc;
        s_s += srocc;
        q_s += srocc * srocc;
        lmmiqa_regressor_destroy(reg);
        free(xtr);
        free(xte);
        free(ytr);
        free(yte);
        free(pred);
    }
    double m = (double)lmmiqa_splits_count(sp);
    double mp = s_p / m, ms = s_s / m;
    /* sample std (n - 1), as lmmiqa eval reports */
    double sdp = m > 1 ? sqrt(fmax(0, (q_p - m * mp * mp) / (m - 1))) : 0;
    double sds = m > 1 ? sqrt(fmax(0, (q_s - m * ms * ms) / (m - 1))) : 0;
    printf("columns %zu  PLCC %.4f (%.3f)  SROCC %.4f (%.3f)\n", kept, mp, sdp, ms, sds);
    free(cols);
    lmmiqa_splits_destroy(sp);
    lmmiqa_features_destroy(f);
    lmmiqa_dataset_destroy(ds);
    return 0;
}
