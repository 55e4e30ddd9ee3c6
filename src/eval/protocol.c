/*
 * src/eval/protocol.c - the evaluation protocol (include/lmmiqa/protocol.h).
 *
 * Design: specs are run one after the other and splits in order; for each
 * (spec, split) the training, validation and test rows are gathered from the
 * store's matrix, a regressor is trained, the test part predicted and scored,
 * and the result file is written atomically before the next split starts, so
 * an interrupted run loses at most the split in progress. The summary files
 * are rewritten from all result files at the end. Text outputs are built in
 * a growable buffer and written with lmmiqa__file_write_atomic.
 *
 * Trainable extractors (those with a fit hook in the extractor registry,
 * features/extractor_internal.h; none is named here) are fitted before the
 * spec loop: for each split, each such extractor is trained on that split's training
 * rows only (resumable through its checkpoint, skipped when a finished fit
 * record with the same fingerprint exists), its features for every row are
 * built into a per-split store OUT/stores/split-<k>/ with those weights, and
 * the fixed extractors' files of the shared store are linked there, so a
 * spec with a trainable part is loaded from its split's store unchanged.
 * With options.model_score the fitted model's own score (its score hook)
 * of the split's test rows is kept as a split_result of its own and
 * reported beside the specs.
 *
 * options.select lets a caller compute only some pairs (the others run
 * elsewhere and their result files are put in place by the caller); the
 * summaries are written only by a call that finished every pair.
 */
#include "lmmiqa/protocol.h"

#include "core/internal.h"
#include "features/extractor_internal.h"
#include "lmmiqa/store.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- text output (the shared growable buffer, core/util.c) ------------- */

/* The shortest %g (15 to 17 digits) that reads back as the same double. */
static void sb_num(lmmiqa__buf *b, double v)
{
    char buf[64];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v || v != v)
            break;
    }
    lmmiqa__buf_printf(b, "%s", buf);
}

/* A CSV field: quoted when it holds a comma, quote or line break. */
static void sb_csv(lmmiqa__buf *b, const char *field)
{
    if (!strpbrk(field, ",\"\r\n")) {
        lmmiqa__buf_printf(b, "%s", field);
        return;
    }
    lmmiqa__buf_printf(b, "\"");
    for (const char *p = field; *p; p++) {
        if (*p == '"')
            lmmiqa__buf_printf(b, "\"\"");
        else
            lmmiqa__buf_printf(b, "%c", *p);
    }
    lmmiqa__buf_printf(b, "\"");
}

static int sb_write(lmmiqa__buf *b, const char *path)
{
    if (b->oom)
        return lmmiqa__fail(LMMIQA_ERR_NOMEM, "%s: out of memory", path);
    return lmmiqa__file_write_atomic(path, b->s ? b->s : "", b->len);
}

/* ---- small public helpers --------------------------------------------------- */

void lmmiqa_protocol_options_init(lmmiqa_protocol_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->size = sizeof *opt;
    lmmiqa_regressor_config_init(&opt->reg);
    /* One BLAS thread: these heads are small (threads cost more than they
     * save, badly so on a busy machine) and results then do not depend on
     * the machine's core count. */
    opt->reg.threads = 1;
    opt->mos_range = LMMIQA_MOS_RANGE_NOMINAL;
    opt->resume = 1;
    opt->fit_epochs = 2;
    opt->fit_patches = 32;
}

lmmiqa_head lmmiqa_protocol_default_head(const char *spec)
{
    return strcmp(spec, "brisque") == 0 ? LMMIQA_HEAD_LINEAR : LMMIQA_HEAD_MLP;
}

const char *lmmiqa_head_name(lmmiqa_head head)
{
    switch (head) {
    case LMMIQA_HEAD_MLP:
        return "mlp";
    case LMMIQA_HEAD_LINEAR:
        return "linear";
    case LMMIQA_HEAD_SVR:
        return "svr";
    }
    return "unknown";
}

int lmmiqa_head_parse(const char *name)
{
    if (strcmp(name, "mlp") == 0)
        return LMMIQA_HEAD_MLP;
    if (strcmp(name, "linear") == 0)
        return LMMIQA_HEAD_LINEAR;
    if (strcmp(name, "svr") == 0)
        return LMMIQA_HEAD_SVR;
    return -1;
}

static cJSON *config_object(const lmmiqa_regressor_config *c)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
    cJSON_AddStringToObject(o, "head", lmmiqa_head_name(c->head));
    cJSON_AddNumberToObject(o, "hidden", c->hidden);
    cJSON_AddNumberToObject(o, "epochs", c->epochs);
    cJSON_AddNumberToObject(o, "batch_size", c->batch_size);
    cJSON_AddNumberToObject(o, "learning_rate", c->learning_rate);
    cJSON_AddNumberToObject(o, "weight_decay", c->weight_decay);
    cJSON_AddNumberToObject(o, "dropout", c->dropout);
    cJSON_AddBoolToObject(o, "standardize", c->standardize != 0);
    cJSON_AddStringToObject(o, "seed", seed); /* 64-bit: a string keeps every digit */
    cJSON_AddNumberToObject(o, "svr_c", c->svr_c);
    cJSON_AddNumberToObject(o, "svr_epsilon", c->svr_epsilon);
    cJSON_AddNumberToObject(o, "svr_gamma", c->svr_gamma);
    return o;
}

char *lmmiqa_regressor_config_json(const lmmiqa_regressor_config *cfg)
{
    lmmiqa_regressor_config given;
    lmmiqa_regressor_config_init(&given);
    if (lmmiqa__options_read(&given, sizeof given, cfg,
                             LMMIQA__OPTIONS_MIN(lmmiqa_regressor_config, head),
                             "lmmiqa_regressor_config") != LMMIQA_OK)
        return NULL;
    cJSON *o = config_object(&given);
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

void lmmiqa_protocol_mos_range(const lmmiqa_dataset *ds, lmmiqa_mos_range mode,
                               const size_t *train, size_t n_train, double *lo, double *hi)
{
    double tlo = INFINITY, thi = -INFINITY;
    for (size_t k = 0; k < n_train; k++) {
        double m = lmmiqa_dataset_mos(ds, train[k]);
        tlo = m < tlo ? m : tlo;
        thi = m > thi ? m : thi;
    }
    if (mode == LMMIQA_MOS_RANGE_TRAIN && n_train > 0) {
        *lo = tlo;
        *hi = thi;
        return;
    }
    /* The nominal scale, widened to cover any training MOS outside it
     * (CID2013's realigned MOS dips slightly below 0). */
    lmmiqa_dataset_scale(ds, lo, hi);
    *lo = tlo < *lo ? tlo : *lo;
    *hi = thi > *hi ? thi : *hi;
}

/* ---- one (spec, split) ------------------------------------------------------ */

typedef struct split_result {
    lmmiqa_metrics m;
    size_t n_train, n_val, n_test;
    size_t *rows;   /* test rows [n_test] */
    double *pred;   /* [n_test] */
    double *train_pred; /* [n_train] in the split's training order, or NULL */
    int reused;
    double seconds;
} split_result;

static void split_result_free(split_result *r)
{
    free(r->rows);
    free(r->pred);
    free(r->train_pred);
    memset(r, 0, sizeof *r);
}

/* For each trainable extractor with a score hook, one split_result per
 * split: its own score's metrics, test rows and predictions. */
typedef struct model_scores {
    size_t count, n_splits;
    char names[LMMIQA_SPEC_MAX_PARTS][LMMIQA_SPEC_MAX_NAME];
    split_result *res[LMMIQA_SPEC_MAX_PARTS];
} model_scores;

static void model_scores_free(model_scores *ms)
{
    for (size_t e = 0; e < ms->count; e++) {
        for (size_t k = 0; k < ms->n_splits; k++)
            split_result_free(&ms->res[e][k]);
        free(ms->res[e]);
    }
    ms->count = 0;
}

/* The per-split results of extractor `name`, added on first use; NULL when
 * out of memory. */
static split_result *model_scores_slot(model_scores *ms, const char *name)
{
    for (size_t e = 0; e < ms->count; e++)
        if (strcmp(ms->names[e], name) == 0)
            return ms->res[e];
    split_result *r = lmmiqa__calloc(ms->n_splits, sizeof *r);
    if (!r)
        return NULL;
    snprintf(ms->names[ms->count], LMMIQA_SPEC_MAX_NAME, "%s", name);
    ms->res[ms->count++] = r;
    return r;
}

/* Fingerprint of everything that determines a split's result. */
static void fingerprint(const lmmiqa_features *f, const lmmiqa_split *sp,
                        const lmmiqa_regressor_config *cfg, double lo, double hi,
                        const char *rank_tag, char hex[65])
{
    lmmiqa__buf b = {0};
    char *cj = lmmiqa_regressor_config_json(cfg);
    lmmiqa__buf_printf(&b, "lmmiqa-protocol-v1\n%s\n%s\n%s\n%.17g %.17g\n", lmmiqa_features_spec(f),
              lmmiqa_features_info_json(f), cj ? cj : "", lo, hi);
    if (rank_tag)
        lmmiqa__buf_printf(&b, "rank %s\n", rank_tag);
    free(cj);
    for (size_t i = 0; i < lmmiqa_features_rows(f); i++)
        lmmiqa__buf_printf(&b, "%s\n", lmmiqa_features_image_sha256(f, i));
    const struct {
        const size_t *idx;
        size_t n;
    } parts[3] = {{sp->train, sp->n_train}, {sp->val, sp->n_val}, {sp->test, sp->n_test}};
    for (int p = 0; p < 3; p++) {
        lmmiqa__buf_printf(&b, "part %d:", p);
        for (size_t k = 0; k < parts[p].n; k++)
            lmmiqa__buf_printf(&b, " %zu", parts[p].idx[k]);
        lmmiqa__buf_printf(&b, "\n");
    }
    if (b.oom) {
        memset(hex, '0', 64); /* never matches a stored one */
        hex[64] = '\0';
    } else {
        lmmiqa__sha256_hex(b.s, b.len, hex);
    }
    free(b.s);
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void metrics_from_json(const cJSON *o, lmmiqa_metrics *m)
{
    memset(m, 0, sizeof *m);
    m->plcc = num(o, "plcc");
    m->srocc = num(o, "srocc");
    m->krcc = num(o, "krcc");
    m->rmse = num(o, "rmse");
    m->plcc_logistic = num(o, "plcc_logistic");
    m->rmse_logistic = num(o, "rmse_logistic");
    m->defined_mask = (isfinite(m->plcc) ? LMMIQA_METRIC_PLCC : 0) |
                      (isfinite(m->srocc) ? LMMIQA_METRIC_SROCC : 0) |
                      (isfinite(m->krcc) ? LMMIQA_METRIC_KRCC : 0) |
                      (isfinite(m->rmse) ? LMMIQA_METRIC_RMSE : 0);
    for (int k = 0; k < 4; k++)
        m->logistic[k] = NAN;
}

/* A result file's content digest: SHA-256 of the object's compact printing
 * without the "content_sha256" member itself. cJSON prints every number so
 * that it reads back exactly, so print(parse(text)) reproduces the digest of
 * an untouched file, and any edit (a PLCC set to 0.999) changes it. */
static int content_digest(cJSON *j, char hex[65])
{
    cJSON *old = cJSON_DetachItemFromObjectCaseSensitive(j, "content_sha256");
    char *text = cJSON_PrintUnformatted(j);
    if (old)
        cJSON_AddItemToObject(j, "content_sha256", old);
    if (!text)
        return LMMIQA_ERR_NOMEM;
    lmmiqa__sha256_hex(text, strlen(text), hex);
    cJSON_free(text);
    return LMMIQA_OK;
}

/* Read back a finished result whose fingerprint (the digest of its inputs)
 * and content digest match. 1 = reused. 0 otherwise; when a file was there
 * but could not be used, `why` says what was wrong with it (the caller warns
 * and recomputes). */
static int try_reuse(const char *path, const char *fp, const lmmiqa_split *sp, int need_train,
                     split_result *r, char *why, size_t why_cap)
{
    unsigned char *text = NULL;
    size_t len = 0;
    struct stat st;
    why[0] = '\0';
    if (stat(path, &st) != 0)
        return 0;
    if (lmmiqa__file_read_all(path, (size_t)1 << 28, &text, &len) != 0) {
        snprintf(why, why_cap, "%s", lmmiqa_error_message());
        lmmiqa_error_clear();
        return 0;
    }
    cJSON *j = cJSON_ParseWithLength((const char *)text, len);
    free(text);
    int ok = 0;
    const char *jfp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "fingerprint"));
    const char *jsum = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "content_sha256"));
    const cJSON *preds = cJSON_GetObjectItemCaseSensitive(j, "predictions");
    const cJSON *tpreds = cJSON_GetObjectItemCaseSensitive(j, "train_predictions");
    const cJSON *met = cJSON_GetObjectItemCaseSensitive(j, "metrics");
    char sum[65] = "";
    if (!j)
        snprintf(why, why_cap, "not valid JSON");
    else if (!jfp || strcmp(jfp, fp) != 0)
        snprintf(why, why_cap, "made from other inputs (fingerprint differs)");
    else if (!jsum)
        snprintf(why, why_cap, "no content digest (written by an older lmmiqa)");
    else if (content_digest(j, sum) != LMMIQA_OK || strcmp(sum, jsum) != 0)
        snprintf(why, why_cap, "content digest mismatch (edited or corrupt)");
    else if (!cJSON_IsArray(preds) || !cJSON_IsObject(met) ||
             (size_t)cJSON_GetArraySize(preds) != sp->n_test)
        snprintf(why, why_cap, "predictions do not match the split");
    else if (need_train && !cJSON_IsArray(tpreds))
        snprintf(why, why_cap, "no training-part predictions (made without them)");
    else if (need_train && (size_t)cJSON_GetArraySize(tpreds) != sp->n_train)
        snprintf(why, why_cap, "training-part predictions do not match the split");
    if (!why[0]) {
        r->rows = malloc((sp->n_test ? sp->n_test : 1) * sizeof *r->rows);
        r->pred = malloc((sp->n_test ? sp->n_test : 1) * sizeof *r->pred);
        ok = r->rows && r->pred;
        size_t k = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, preds)
        {
            if (!ok)
                break;
            double row = num(it, "row"), pred = num(it, "pred");
            if (!(row >= 0) || (size_t)row != sp->test[k] || !isfinite(pred)) {
                ok = 0;
                break;
            }
            r->rows[k] = (size_t)row;
            r->pred[k] = pred;
            k++;
        }
        if (ok && need_train) {
            r->train_pred = malloc((sp->n_train ? sp->n_train : 1) * sizeof *r->train_pred);
            ok = r->train_pred != NULL;
            size_t q = 0;
            cJSON_ArrayForEach(it, tpreds)
            {
                if (!ok)
                    break;
                double v = cJSON_IsNumber(it) ? it->valuedouble : NAN;
                if (!isfinite(v))
                    ok = 0;
                else
                    r->train_pred[q++] = v;
            }
        }
        if (ok) {
            metrics_from_json(met, &r->m);
            r->n_train = sp->n_train;
            r->n_val = sp->n_val;
            r->n_test = sp->n_test;
            r->reused = 1;
        } else {
            split_result_free(r);
            snprintf(why, why_cap, "predictions do not match the split");
        }
    }
    cJSON_Delete(j);
    return ok;
}

static cJSON *metrics_object(const lmmiqa_metrics *m)
{
    cJSON *o = cJSON_CreateObject();
    struct {
        const char *k;
        double v;
    } kv[] = {{"plcc", m->plcc},
              {"srocc", m->srocc},
              {"krcc", m->krcc},
              {"rmse", m->rmse},
              {"plcc_logistic", m->plcc_logistic},
              {"rmse_logistic", m->rmse_logistic}};
    for (size_t i = 0; o && i < sizeof kv / sizeof kv[0]; i++) {
        if (isfinite(kv[i].v))
            cJSON_AddNumberToObject(o, kv[i].k, kv[i].v);
        else
            cJSON_AddNullToObject(o, kv[i].k);
    }
    return o;
}

static int write_split_result(const char *path, const char *spec, size_t k,
                              const lmmiqa_dataset *ds, const lmmiqa_regressor_config *cfg,
                              double lo, double hi, const char *fp, const split_result *r,
                              int selected_epoch)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return lmmiqa__fail(LMMIQA_ERR_NOMEM, "%s: out of memory", path);
    cJSON_AddStringToObject(j, "format", "lmmiqa-protocol-split");
    cJSON_AddNumberToObject(j, "format_version", 1);
    cJSON_AddStringToObject(j, "features", spec);
    cJSON_AddNumberToObject(j, "split", (double)k);
    cJSON_AddStringToObject(j, "dataset", lmmiqa_dataset_name(ds));
    cJSON_AddStringToObject(j, "fingerprint", fp);
    cJSON_AddItemToObject(j, "regressor", config_object(cfg));
    cJSON *range = cJSON_AddArrayToObject(j, "mos_range");
    cJSON_AddItemToArray(range, cJSON_CreateNumber(lo));
    cJSON_AddItemToArray(range, cJSON_CreateNumber(hi));
    cJSON_AddNumberToObject(j, "n_train", (double)r->n_train);
    cJSON_AddNumberToObject(j, "n_val", (double)r->n_val);
    cJSON_AddNumberToObject(j, "n_test", (double)r->n_test);
    cJSON_AddNumberToObject(j, "selected_epoch", selected_epoch);
    cJSON_AddNumberToObject(j, "seconds", r->seconds);
    cJSON_AddItemToObject(j, "metrics", metrics_object(&r->m));
    cJSON *preds = cJSON_AddArrayToObject(j, "predictions");
    for (size_t i = 0; preds && i < r->n_test; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "row", (double)r->rows[i]);
        cJSON_AddStringToObject(o, "image", lmmiqa_dataset_image(ds, r->rows[i]));
        cJSON_AddNumberToObject(o, "mos", lmmiqa_dataset_mos(ds, r->rows[i]));
        cJSON_AddNumberToObject(o, "pred", r->pred[i]);
        cJSON_AddItemToArray(preds, o);
    }
    if (r->train_pred) { /* opt-in: the training part's predictions, in split order */
        cJSON *tp = cJSON_AddArrayToObject(j, "train_predictions");
        for (size_t i = 0; tp && i < r->n_train; i++)
            cJSON_AddItemToArray(tp, cJSON_CreateNumber(r->train_pred[i]));
    }
    char sum[65];
    char *text = NULL;
    if (content_digest(j, sum) == LMMIQA_OK) {
        cJSON_AddStringToObject(j, "content_sha256", sum);
        text = cJSON_Print(j);
    }
    cJSON_Delete(j);
    if (!text)
        return lmmiqa__fail(LMMIQA_ERR_NOMEM, "%s: out of memory", path);
    int rc = lmmiqa__file_write_atomic(path, text, strlen(text));
    free(text);
    return rc;
}

/* The ranking pairs of one split: those whose owner is a training row. */
static int split_pairs(const lmmiqa_rank_set *rank, const size_t *owner, const lmmiqa_split *sp,
                       size_t n, lmmiqa_rank_set *out, size_t **pairs)
{
    *out = *rank;
    *pairs = NULL;
    unsigned char *in = lmmiqa__calloc(n ? n : 1, 1);
    size_t *p = lmmiqa__malloc((rank->n_pairs ? rank->n_pairs : 1) * 2 * sizeof *p);
    if (!in || !p) {
        free(in);
        free(p);
        return LMMIQA_ERR_NOMEM;
    }
    for (size_t k = 0; k < sp->n_train; k++)
        in[sp->train[k]] = 1;
    size_t q = 0;
    for (size_t k = 0; k < rank->n_pairs; k++)
        if (owner[k] < n && in[owner[k]]) {
            p[2 * q] = rank->pairs[2 * k];
            p[2 * q + 1] = rank->pairs[2 * k + 1];
            q++;
        }
    free(in);
    out->pairs = p;
    out->n_pairs = q;
    *pairs = p;
    return LMMIQA_OK;
}

static int run_split(const lmmiqa_features *f, const lmmiqa_dataset *ds, const lmmiqa_split *sp,
                     const lmmiqa_regressor_config *cfg, double lo, double hi,
                     const lmmiqa_rank_set *rank_all, const size_t *owner, int want_train,
                     split_result *r, int *selected_epoch)
{
    size_t dim = lmmiqa_features_dim(f);
    size_t ntr = sp->n_train, nva = sp->n_val, nte = sp->n_test;
    size_t total = ntr + nva + nte, cells;
    int rc = lmmiqa__mul_size(total ? total : 1, dim, &cells);
    if (rc != LMMIQA_OK)
        return rc;
    float *x = lmmiqa__malloc(cells * sizeof *x);
    double *mos = lmmiqa__malloc((total ? total : 1) * sizeof *mos);
    r->rows = lmmiqa__malloc((nte ? nte : 1) * sizeof *r->rows);
    r->pred = lmmiqa__malloc((nte ? nte : 1) * sizeof *r->pred);
    lmmiqa_regressor *reg = NULL;
    if (!x || !mos || !r->rows || !r->pred) {
        rc = LMMIQA_ERR_NOMEM;
        goto done;
    }
    float *xtr = x, *xva = x + ntr * dim, *xte = x + (ntr + nva) * dim;
    rc = lmmiqa_features_gather(f, sp->train, ntr, xtr);
    if (rc == LMMIQA_OK)
        rc = lmmiqa_features_gather(f, sp->val, nva, xva);
    if (rc == LMMIQA_OK)
        rc = lmmiqa_features_gather(f, sp->test, nte, xte);
    if (rc != LMMIQA_OK)
        goto done;
    for (size_t k = 0; k < ntr; k++)
        mos[k] = lmmiqa_dataset_mos(ds, sp->train[k]);
    for (size_t k = 0; k < nva; k++)
        mos[ntr + k] = lmmiqa_dataset_mos(ds, sp->val[k]);
    for (size_t k = 0; k < nte; k++) {
        mos[ntr + nva + k] = lmmiqa_dataset_mos(ds, sp->test[k]);
        r->rows[k] = sp->test[k];
    }
    double t0 = lmmiqa__now_s();
    lmmiqa_rank_set rank = {0};
    size_t *pairs = NULL;
    if (rank_all && rank_all->n_pairs)
        rc = split_pairs(rank_all, owner, sp, lmmiqa_dataset_size(ds), &rank, &pairs);
    if (rc == LMMIQA_OK)
        rc = lmmiqa_regressor_train_ranked(cfg, xtr, mos, ntr, dim, lo, hi, nva ? xva : NULL,
                                           nva ? mos + ntr : NULL, nva,
                                           rank.n_pairs ? &rank : NULL, &reg);
    free(pairs);
    if (rc == LMMIQA_OK)
        rc = lmmiqa_regressor_predict(reg, xte, nte, r->pred);
    double t1 = lmmiqa__now_s();
    if (rc == LMMIQA_OK && want_train) {
        r->train_pred = lmmiqa__malloc((ntr ? ntr : 1) * sizeof *r->train_pred);
        rc = r->train_pred ? lmmiqa_regressor_predict(reg, xtr, ntr, r->train_pred)
                           : LMMIQA_ERR_NOMEM;
    }
    if (rc != LMMIQA_OK)
        goto done;
    r->seconds = t1 - t0;
    lmmiqa_regressor_history h;
    lmmiqa_regressor_get_history(reg, &h);
    *selected_epoch = h.selected_epoch;
    r->n_train = ntr;
    r->n_val = nva;
    r->n_test = nte;
    rc = lmmiqa_metrics_compute(r->pred, mos + ntr + nva, nte, &r->m);
    if (rc == LMMIQA_ERR_UNDEFINED)
        rc = LMMIQA_OK; /* undefined metrics are NAN and reported as such */
done:
    lmmiqa_regressor_destroy(reg);
    free(x);
    free(mos);
    return rc;
}

/* ---- summary ---------------------------------------------------------------- */

static void mean_std(const split_result *res, size_t n, int which, double *mean, double *sd)
{
    double s = 0, s2 = 0;
    size_t c = 0;
    for (size_t k = 0; k < n; k++) {
        const lmmiqa_metrics *m = &res[k].m;
        double v = which == 0 ? m->plcc : which == 1 ? m->srocc : which == 2 ? m->krcc : m->rmse;
        if (isfinite(v)) {
            s += v;
            c++;
        }
    }
    *mean = c ? s / (double)c : NAN;
    for (size_t k = 0; k < n; k++) {
        const lmmiqa_metrics *m = &res[k].m;
        double v = which == 0 ? m->plcc : which == 1 ? m->srocc : which == 2 ? m->krcc : m->rmse;
        if (isfinite(v))
            s2 += (v - *mean) * (v - *mean);
    }
    *sd = c ? sqrt(s2 / (double)c) : NAN;
}

static void fmt_cell(char *buf, size_t cap, double mean, double sd)
{
    if (isfinite(mean))
        snprintf(buf, cap, "%.4f (%.3f)", mean, sd);
    else
        snprintf(buf, cap, "n/a");
}

/* One line "features,split,image,mos,pred" of predictions.csv (split k is
 * 0-based here, 1-based in the file). */
static void prediction_row(lmmiqa__buf *b, const lmmiqa_dataset *ds, const char *spec, size_t k,
                           size_t row, double pred)
{
    sb_csv(b, spec);
    lmmiqa__buf_printf(b, ",%zu,", k + 1);
    sb_csv(b, lmmiqa_dataset_image(ds, row));
    lmmiqa__buf_printf(b, ",");
    sb_num(b, lmmiqa_dataset_mos(ds, row));
    lmmiqa__buf_printf(b, ",");
    sb_num(b, pred);
    lmmiqa__buf_printf(b, "\n");
}

/* A row's mean and std over splits of each metric, named `name`. */
static void summarise(const char *name, const split_result *res, size_t ns,
                      lmmiqa_protocol_row *row)
{
    memset(row, 0, sizeof *row);
    snprintf(row->spec, sizeof row->spec, "%s", name);
    row->splits = ns;
    mean_std(res, ns, 0, &row->plcc_mean, &row->plcc_std);
    mean_std(res, ns, 1, &row->srocc_mean, &row->srocc_std);
    mean_std(res, ns, 2, &row->krcc_mean, &row->krcc_std);
    mean_std(res, ns, 3, &row->rmse_mean, &row->rmse_std);
}

/* One entry of results.json: {key: name, [head], mean, std, per_split}. */
static cJSON *summary_object(const char *key, const lmmiqa_protocol_row *r, int with_head,
                             const split_result *res, size_t ns)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, key, r->spec);
    if (with_head)
        cJSON_AddStringToObject(o, "head", lmmiqa_head_name(r->head));
    lmmiqa_metrics mean = {0}, sd = {0};
    mean.plcc = r->plcc_mean, mean.srocc = r->srocc_mean, mean.krcc = r->krcc_mean,
    mean.rmse = r->rmse_mean;
    sd.plcc = r->plcc_std, sd.srocc = r->srocc_std, sd.krcc = r->krcc_std,
    sd.rmse = r->rmse_std;
    mean.plcc_logistic = mean.rmse_logistic = sd.plcc_logistic = sd.rmse_logistic = NAN;
    cJSON *mo = metrics_object(&mean), *so = metrics_object(&sd);
    cJSON_DeleteItemFromObject(mo, "plcc_logistic");
    cJSON_DeleteItemFromObject(mo, "rmse_logistic");
    cJSON_DeleteItemFromObject(so, "plcc_logistic");
    cJSON_DeleteItemFromObject(so, "rmse_logistic");
    cJSON_AddItemToObject(o, "mean", mo);
    cJSON_AddItemToObject(o, "std", so);
    cJSON *per = cJSON_AddArrayToObject(o, "per_split");
    for (size_t k = 0; per && k < ns; k++) {
        cJSON *m = metrics_object(&res[k].m);
        cJSON_AddNumberToObject(m, "split", (double)(k + 1));
        cJSON_AddItemToArray(per, m);
    }
    return o;
}

/* One per_split.csv line of split k (0-based) of `name`. */
static void per_split_row(lmmiqa__buf *b, const char *name, size_t k, const split_result *s)
{
    sb_csv(b, name);
    lmmiqa__buf_printf(b, ",%zu,%zu,%zu,%zu", k + 1, s->n_train, s->n_val, s->n_test);
    const double mv[4] = {s->m.plcc, s->m.srocc, s->m.krcc, s->m.rmse};
    for (int v = 0; v < 4; v++) {
        lmmiqa__buf_printf(b, ",");
        sb_num(b, mv[v]);
    }
    lmmiqa__buf_printf(b, "\n");
}

/* results.md's third table (options.model_score): each model's own score. */
static void model_scores_markdown(lmmiqa__buf *md, const char *dname, const model_scores *ms)
{
    lmmiqa__buf_printf(md, "\n| Own score of | %s PLCC↑ (Std) | %s SRCC↑ (Std) | KRCC↑ (Std) | "
                           "RMSE↓ (Std) |\n|---|---|---|---|---|\n", dname, dname);
    for (size_t e = 0; e < ms->count; e++) {
        lmmiqa_protocol_row r;
        summarise(ms->names[e], ms->res[e], ms->n_splits, &r);
        char a[64], b[64], c[64], d[64];
        fmt_cell(a, sizeof a, r.plcc_mean, r.plcc_std);
        fmt_cell(b, sizeof b, r.srocc_mean, r.srocc_std);
        fmt_cell(c, sizeof c, r.krcc_mean, r.krcc_std);
        fmt_cell(d, sizeof d, r.rmse_mean, r.rmse_std);
        lmmiqa__buf_printf(md, "| %s | %s | %s | %s | %s |\n", r.spec, a, b, c, d);
    }
}

/* model_scores.csv (per split, per_split.csv's columns) and
 * model_predictions.csv (predictions.csv's columns). */
static int write_model_scores(const char *dir, const lmmiqa_dataset *ds, const model_scores *ms)
{
    lmmiqa__buf ps = {0}, pr = {0};
    lmmiqa__buf_printf(&ps, "extractor,split,n_train,n_val,n_test,plcc,srocc,krcc,rmse\n");
    lmmiqa__buf_printf(&pr, "extractor,split,image,mos,pred\n");
    for (size_t e = 0; e < ms->count; e++)
        for (size_t k = 0; k < ms->n_splits; k++) {
            const split_result *s = &ms->res[e][k];
            per_split_row(&ps, ms->names[e], k, s);
            for (size_t i = 0; i < s->n_test; i++)
                prediction_row(&pr, ds, ms->names[e], k, s->rows[i], s->pred[i]);
        }
    char path[4096];
    snprintf(path, sizeof path, "%s/model_scores.csv", dir);
    int rc = sb_write(&ps, path);
    snprintf(path, sizeof path, "%s/model_predictions.csv", dir);
    if (rc == LMMIQA_OK)
        rc = sb_write(&pr, path);
    free(ps.s);
    free(pr.s);
    return rc;
}

static int write_summaries(const char *dir, const lmmiqa_dataset *ds, const lmmiqa_splits *splits,
                           size_t n_specs, const lmmiqa_protocol_row *rows,
                           split_result *const *res, const model_scores *ms,
                           const lmmiqa_protocol_options *opt)
{
    size_t ns = lmmiqa_splits_count(splits);
    char path[4096];
    int rc;
    const char *dname = lmmiqa_dataset_name(ds);

    /* Markdown, the paper's layout. */
    lmmiqa__buf md = {0};
    lmmiqa__buf_printf(&md, "# Evaluation on %s\n\n", dname);
    lmmiqa__buf_printf(&md,
              "%zu images, %zu %s splits (train %zu / val %zu / test %zu in split 1), mean "
              "(std) over splits.\n\n",
              lmmiqa_dataset_size(ds), ns, lmmiqa_splits_method(splits),
              lmmiqa_splits_get(splits, 0)->n_train, lmmiqa_splits_get(splits, 0)->n_val,
              lmmiqa_splits_get(splits, 0)->n_test);
    lmmiqa__buf_printf(&md, "| Features | Head | %s PLCC↑ (Std) | %s SRCC↑ (Std) |\n", dname, dname);
    lmmiqa__buf_printf(&md, "|---|---|---|---|\n");
    for (size_t c = 0; c < n_specs; c++) {
        char a[64], b[64];
        fmt_cell(a, sizeof a, rows[c].plcc_mean, rows[c].plcc_std);
        fmt_cell(b, sizeof b, rows[c].srocc_mean, rows[c].srocc_std);
        lmmiqa__buf_printf(&md, "| %s | %s | %s | %s |\n", rows[c].spec, lmmiqa_head_name(rows[c].head), a,
                  b);
    }
    lmmiqa__buf_printf(&md, "\n| Features | KRCC↑ (Std) | RMSE↓ (Std) |\n|---|---|---|\n");
    for (size_t c = 0; c < n_specs; c++) {
        char a[64], b[64];
        fmt_cell(a, sizeof a, rows[c].krcc_mean, rows[c].krcc_std);
        fmt_cell(b, sizeof b, rows[c].rmse_mean, rows[c].rmse_std);
        lmmiqa__buf_printf(&md, "| %s | %s | %s |\n", rows[c].spec, a, b);
    }
    if (ms->count)
        model_scores_markdown(&md, dname, ms);
    snprintf(path, sizeof path, "%s/results.md", dir);
    rc = sb_write(&md, path);
    free(md.s);
    if (rc != LMMIQA_OK)
        return rc;

    /* CSV summary, per-split CSV, predictions CSV. */
    lmmiqa__buf cs = {0}, ps = {0}, pr = {0};
    lmmiqa__buf_printf(&cs, "features,head,splits,plcc_mean,plcc_std,srocc_mean,srocc_std,krcc_mean,"
                   "krcc_std,rmse_mean,rmse_std\n");
    lmmiqa__buf_printf(&ps, "features,split,n_train,n_val,n_test,plcc,srocc,krcc,rmse\n");
    lmmiqa__buf_printf(&pr, "features,split,image,mos,pred\n");
    for (size_t c = 0; c < n_specs; c++) {
        const lmmiqa_protocol_row *r = &rows[c];
        sb_csv(&cs, r->spec);
        lmmiqa__buf_printf(&cs, ",%s,%zu", lmmiqa_head_name(r->head), r->splits);
        const double vals[8] = {r->plcc_mean, r->plcc_std, r->srocc_mean, r->srocc_std,
                                r->krcc_mean, r->krcc_std, r->rmse_mean,  r->rmse_std};
        for (int v = 0; v < 8; v++) {
            lmmiqa__buf_printf(&cs, ",");
            sb_num(&cs, vals[v]);
        }
        lmmiqa__buf_printf(&cs, "\n");
        for (size_t k = 0; k < ns; k++) {
            const split_result *s = &res[c][k];
            per_split_row(&ps, r->spec, k, s);
            for (size_t i = 0; i < s->n_test; i++)
                prediction_row(&pr, ds, r->spec, k, s->rows[i], s->pred[i]);
        }
    }
    snprintf(path, sizeof path, "%s/results.csv", dir);
    rc = sb_write(&cs, path);
    snprintf(path, sizeof path, "%s/per_split.csv", dir);
    if (rc == LMMIQA_OK)
        rc = sb_write(&ps, path);
    snprintf(path, sizeof path, "%s/predictions.csv", dir);
    if (rc == LMMIQA_OK)
        rc = sb_write(&pr, path);
    free(cs.s);
    free(ps.s);
    free(pr.s);
    if (rc == LMMIQA_OK && ms->count)
        rc = write_model_scores(dir, ds, ms);
    if (rc != LMMIQA_OK)
        return rc;

    /* Opt-in: the training part's predictions, same columns (the paper's
     * Figures 4-7 show training and test panels side by side). */
    if (opt->train_predictions) {
        lmmiqa__buf tr = {0};
        lmmiqa__buf_printf(&tr, "features,split,image,mos,pred\n");
        for (size_t c = 0; c < n_specs; c++)
            for (size_t k = 0; k < ns; k++) {
                const split_result *sr = &res[c][k];
                const lmmiqa_split *sp = lmmiqa_splits_get(splits, k);
                for (size_t i = 0; sr->train_pred && i < sp->n_train; i++)
                    prediction_row(&tr, ds, rows[c].spec, k, sp->train[i], sr->train_pred[i]);
            }
        snprintf(path, sizeof path, "%s/train_predictions.csv", dir);
        rc = sb_write(&tr, path);
        free(tr.s);
        if (rc != LMMIQA_OK)
            return rc;
    }

    /* JSON. */
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return lmmiqa__fail(LMMIQA_ERR_NOMEM, "results.json: out of memory");
    cJSON_AddStringToObject(j, "format", "lmmiqa-protocol-results");
    cJSON_AddNumberToObject(j, "format_version", 1);
    cJSON_AddStringToObject(j, "dataset", dname);
    cJSON_AddNumberToObject(j, "images", (double)lmmiqa_dataset_size(ds));
    cJSON_AddStringToObject(j, "splits_method", lmmiqa_splits_method(splits));
    cJSON_AddNumberToObject(j, "splits", (double)ns);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)lmmiqa_splits_seed(splits));
    cJSON_AddStringToObject(j, "splits_seed", seed);
    cJSON_AddStringToObject(j, "mos_range", opt->mos_range == LMMIQA_MOS_RANGE_TRAIN ? "train"
                                                                                     : "nominal");
    cJSON_AddItemToObject(j, "regressor", config_object(&opt->reg));
    cJSON_AddStringToObject(j, "std", "population (ddof=0) over splits");
    cJSON *arr = cJSON_AddArrayToObject(j, "results");
    for (size_t c = 0; arr && c < n_specs; c++)
        cJSON_AddItemToArray(arr, summary_object("features", &rows[c], 1, res[c], ns));
    if (ms->count) {
        cJSON *own = cJSON_AddArrayToObject(j, "model_scores");
        for (size_t e = 0; own && e < ms->count; e++) {
            lmmiqa_protocol_row r;
            summarise(ms->names[e], ms->res[e], ns, &r);
            cJSON_AddItemToArray(own, summary_object("extractor", &r, 0, ms->res[e], ns));
        }
    }
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text)
        return lmmiqa__fail(LMMIQA_ERR_NOMEM, "results.json: out of memory");
    snprintf(path, sizeof path, "%s/results.json", dir);
    rc = lmmiqa__file_write_atomic(path, text, strlen(text));
    free(text);
    return rc;
}

/* ---- trainable extractors ------------------------------------------------------ */

int lmmiqa_protocol_is_trainable(const char *extractor)
{
    return lmmiqa__extractor_is_trainable(extractor);
}

static int spec_has_trainable(const char *spec)
{
    lmmiqa_feature_spec sp;
    if (lmmiqa_feature_spec_parse(spec, &sp) != LMMIQA_OK)
        return 0;
    for (size_t i = 0; i < sp.count; i++)
        if (lmmiqa_protocol_is_trainable(sp.names[i]))
            return 1;
    return 0;
}


/* Everything that determines a split's fitted weights. */
static void fit_fingerprint(const char *name, const lmmiqa_dataset *ds, const lmmiqa_split *sp,
                            const lmmiqa_protocol_options *opt, uint64_t seed, double lo,
                            double hi, char hex[65])
{
    lmmiqa__buf b = {0};
    lmmiqa__buf_printf(&b, "lmmiqa-protocol-fit-v1\n%s\nepochs %d patches %d seed %llu\n%.17g %.17g\n%s\n",
              name, opt->fit_epochs, opt->fit_patches, (unsigned long long)seed, lo, hi,
              opt->metaiqa_init ? opt->metaiqa_init : "");
    for (size_t i = 0; i < lmmiqa_dataset_size(ds); i++)
        lmmiqa__buf_printf(&b, "%s\n", lmmiqa_dataset_image(ds, i));
    lmmiqa__buf_printf(&b, "train:");
    for (size_t k = 0; k < sp->n_train; k++)
        lmmiqa__buf_printf(&b, " %zu", sp->train[k]);
    if (b.oom) {
        memset(hex, '0', 64);
        hex[64] = '\0';
    } else {
        lmmiqa__sha256_hex(b.s, b.len, hex);
    }
    free(b.s);
}

/* 1 when the fit record at `path` is complete and carries fingerprint fp. */
static int fit_record_done(const char *path, const char *fp, int *exists)
{
    unsigned char *text = NULL;
    size_t len = 0;
    *exists = 0;
    if (lmmiqa__file_read_all(path, 1 << 26, &text, &len) != LMMIQA_OK)
        return 0;
    *exists = 1;
    cJSON *j = cJSON_ParseWithLength((const char *)text, len);
    free(text);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "fingerprint");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "complete");
    int ok = cJSON_IsString(f) && strcmp(f->valuestring, fp) == 0 && cJSON_IsTrue(c);
    int same = cJSON_IsString(f) && strcmp(f->valuestring, fp) == 0;
    cJSON_Delete(j);
    if (same)
        *exists = 2; /* same fit, maybe unfinished: its checkpoint may be resumed */
    return ok;
}

static int fit_record_write(const char *path, const char *name, size_t split,
                            const lmmiqa_dataset *ds, const lmmiqa_split *sp,
                            const lmmiqa_protocol_options *opt, uint64_t seed, double lo,
                            double hi, const char *fp, int complete)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return lmmiqa__fail(LMMIQA_ERR_NOMEM, "%s: out of memory", path);
    char s[32];
    snprintf(s, sizeof s, "%llu", (unsigned long long)seed);
    cJSON_AddStringToObject(j, "format", "lmmiqa-protocol-fit");
    cJSON_AddNumberToObject(j, "format_version", 1);
    cJSON_AddStringToObject(j, "extractor", name);
    cJSON_AddNumberToObject(j, "split", (double)split);
    cJSON_AddStringToObject(j, "fingerprint", fp);
    cJSON_AddBoolToObject(j, "complete", complete);
    cJSON_AddNumberToObject(j, "epochs", opt->fit_epochs);
    cJSON_AddNumberToObject(j, "patches", opt->fit_patches);
    cJSON_AddStringToObject(j, "seed", s);
    cJSON_AddNumberToObject(j, "mos_min", lo);
    cJSON_AddNumberToObject(j, "mos_max", hi);
    cJSON *rows = cJSON_AddArrayToObject(j, "train_rows");
    cJSON *imgs = cJSON_AddArrayToObject(j, "train_images");
    for (size_t k = 0; rows && imgs && k < sp->n_train; k++) {
        cJSON_AddItemToArray(rows, cJSON_CreateNumber((double)sp->train[k]));
        cJSON_AddItemToArray(imgs, cJSON_CreateString(lmmiqa_dataset_image(ds, sp->train[k])));
    }
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text)
        return lmmiqa__fail(LMMIQA_ERR_NOMEM, "%s: out of memory", path);
    int rc = lmmiqa__file_write_atomic(path, text, strlen(text));
    free(text);
    return rc;
}

/* Prefixes a trainer's progress line with the extractor and split. */
typedef struct fit_log_ctx {
    const lmmiqa_protocol_options *opt;
    const char *name;
    size_t split;
} fit_log_ctx;

static void fit_log(void *user, const char *line)
{
    const fit_log_ctx *c = user;
    char buf[512];
    snprintf(buf, sizeof buf, "%s, split %zu: %s", c->name, c->split, line);
    c->opt->log(c->opt->user, buf);
}

/* Train extractor `name` on split k's training rows (k 0-based) into
 * OUT/runs/<name>/split-<k+1>.safetensors unless a finished fit with the
 * same fingerprint exists. */
static int fit_split(const char *name, const lmmiqa_dataset *ds, const lmmiqa_split *sp,
                     size_t k, const lmmiqa_protocol_options *opt, char *weights, size_t cap)
{
    char dir[4096], rec[4200], ckpt[4200];
    snprintf(dir, sizeof dir, "%s/runs/%s", opt->out_dir, name);
    int rc = lmmiqa__file_mkdirs(dir, 0);
    if (rc != LMMIQA_OK)
        return rc;
    snprintf(weights, cap, "%s/split-%zu.safetensors", dir, k + 1);
    snprintf(rec, sizeof rec, "%s/split-%zu.fit.json", dir, k + 1);
    snprintf(ckpt, sizeof ckpt, "%s/split-%zu.checkpoint.safetensors", dir, k + 1);
    if (sp->n_train == 0)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "%s, split %zu: no training rows", name,
                            k + 1);
    uint64_t seed = opt->reg.seed + k;
    double lo, hi;
    lmmiqa_protocol_mos_range(ds, LMMIQA_MOS_RANGE_NOMINAL, sp->train, sp->n_train, &lo, &hi);
    char fp[65];
    fit_fingerprint(name, ds, sp, opt, seed, lo, hi, fp);
    int exists = 0;
    struct stat st;
    char line[256];
    if (opt->resume && fit_record_done(rec, fp, &exists) && stat(weights, &st) == 0) {
        snprintf(line, sizeof line, "%s, split %zu: fitted weights reused", name, k + 1);
        if (opt->log)
            opt->log(opt->user, line);
        return LMMIQA_OK;
    }
    snprintf(line, sizeof line, "%s, split %zu: training on %zu training images, %d epochs",
             name, k + 1, sp->n_train, opt->fit_epochs);
    if (opt->log)
        opt->log(opt->user, line);
    if (!opt->resume || exists != 2)
        remove(ckpt); /* another fit's (or no) state: start afresh */
    remove(weights);
    rc = fit_record_write(rec, name, k + 1, ds, sp, opt, seed, lo, hi, fp, 0);
    if (rc != LMMIQA_OK)
        return rc;
    const char **paths = lmmiqa__calloc(sp->n_train, sizeof *paths);
    double *mos = lmmiqa__calloc(sp->n_train, sizeof *mos);
    if (!paths || !mos) {
        free(paths);
        free(mos);
        return LMMIQA_ERR_NOMEM;
    }
    for (size_t i = 0; i < sp->n_train; i++) {
        paths[i] = lmmiqa_dataset_image_path(ds, sp->train[i]);
        mos[i] = lmmiqa_dataset_mos(ds, sp->train[i]);
    }
    fit_log_ctx lc = {opt, name, k + 1};
    lmmiqa__extractor_fit_args fa = {
        .paths = paths, .mos = mos, .n = sp->n_train, .mos_lo = lo, .mos_hi = hi,
        .seed = seed, .epochs = opt->fit_epochs, .patches = opt->fit_patches,
        .init = opt->metaiqa_init,
        .threads = 1, /* results independent of the core count */
        .checkpoint = ckpt, .weights = weights,
        .log = opt->log ? fit_log : NULL, .log_user = &lc,
    };
    rc = lmmiqa__extractor_fit(name, &fa);
    free(paths);
    free(mos);
    if (rc != LMMIQA_OK)
        return lmmiqa__fail_context(rc, "%s, split %zu: training: ", name, k + 1);
    remove(ckpt);
    return fit_record_write(rec, name, k + 1, ds, sp, opt, seed, lo, hi, fp, 1);
}

/* Link DIR/<name>.npy and .json of the shared store into the split store. */
static int link_fixed(const char *store, const char *split_store, const char *name)
{
    static const char *const ext[2] = {"npy", "json"};
    char abs[4096];
    if (!realpath(store, abs))
        return lmmiqa__fail(LMMIQA_ERR_IO, "%s: %s", store, strerror(errno));
    for (int e = 0; e < 2; e++) {
        char src[4096 + 2 * LMMIQA_SPEC_MAX_NAME], dst[4200 + 2 * LMMIQA_SPEC_MAX_NAME];
        snprintf(src, sizeof src, "%s/%s.%s", abs, name, ext[e]);
        snprintf(dst, sizeof dst, "%s/%s.%s", split_store, name, ext[e]);
        remove(dst);
        if (symlink(src, dst) != 0)
            return lmmiqa__fail(LMMIQA_ERR_IO, "%s: cannot link to %s: %s", dst, src,
                                strerror(errno));
    }
    return LMMIQA_OK;
}

/* A per-split store's warnings go out through opt->log as warnings. */
static void store_warning(void *user, const char *message)
{
    const lmmiqa_protocol_options *opt = user;
    if (!opt->log)
        return;
    char line[1200];
    snprintf(line, sizeof line, "warning: %s", message);
    opt->log(opt->user, line);
}

/* ---- a trainable extractor's own score (options.model_score) ---------------- */

/* Score split k's test rows with ex's own prediction, mapped from the
 * model's 0..1 scale back to MOS with the fit's range (fit_split's). */
static int score_split(const lmmiqa_extractor *ex, const lmmiqa_dataset *ds,
                       const lmmiqa_split *sp, size_t k, const lmmiqa_protocol_options *opt,
                       split_result *r)
{
    size_t nte = sp->n_test;
    double lo, hi, t0 = lmmiqa__now_s();
    lmmiqa_protocol_mos_range(ds, LMMIQA_MOS_RANGE_NOMINAL, sp->train, sp->n_train, &lo, &hi);
    split_result_free(r);
    r->rows = lmmiqa__malloc((nte ? nte : 1) * sizeof *r->rows);
    r->pred = lmmiqa__malloc((nte ? nte : 1) * sizeof *r->pred);
    double *mos = lmmiqa__malloc((nte ? nte : 1) * sizeof *mos);
    lmmiqa_extractor_state *st = NULL;
    int rc = r->rows && r->pred && mos ? lmmiqa_extractor_state_create(ex, &st)
                                       : LMMIQA_ERR_NOMEM;
    for (size_t i = 0; i < nte && rc == LMMIQA_OK; i++) {
        const char *path = lmmiqa_dataset_image_path(ds, sp->test[i]);
        lmmiqa_image *img = NULL;
        double score = 0;
        rc = lmmiqa_image_load(path, &img);
        if (rc == LMMIQA_OK)
            rc = lmmiqa__extractor_score(ex, st, img, &score, NULL);
        lmmiqa_image_destroy(img);
        if (rc != LMMIQA_OK)
            lmmiqa__fail_context(rc, "%s: ", path);
        r->rows[i] = sp->test[i];
        r->pred[i] = lo + score * (hi - lo);
        mos[i] = lmmiqa_dataset_mos(ds, sp->test[i]);
    }
    lmmiqa_extractor_state_destroy(st);
    if (rc == LMMIQA_OK) {
        r->n_train = sp->n_train, r->n_val = sp->n_val, r->n_test = nte;
        r->seconds = lmmiqa__now_s() - t0;
        rc = lmmiqa_metrics_compute(r->pred, mos, nte, &r->m);
        if (rc == LMMIQA_ERR_UNDEFINED)
            rc = LMMIQA_OK; /* reported as NAN */
    }
    free(mos);
    if (rc == LMMIQA_OK && opt->log) {
        char line[512];
        snprintf(line, sizeof line, "%s, split %zu: own score on %zu test images: PLCC %.4f "
                 "SROCC %.4f", lmmiqa_extractor_name(ex), k + 1, nte, r->m.plcc, r->m.srocc);
        opt->log(opt->user, line);
    }
    return rc;
}

/* Split k's store entry of trainable extractor `name` (weights fitted into
 * `weights`), and its own score into ms when asked. */
static int build_split_store(const char *name, const char *weights, const char *sdir,
                             const lmmiqa_dataset *ds, const lmmiqa_split *sp, size_t k,
                             const lmmiqa_protocol_options *opt, model_scores *ms)
{
    lmmiqa_extractor_options eo = {.size = sizeof eo};
    eo.weights = weights;
    eo.threads = 1; /* as the fit: the same numbers on any machine, fitted now or reused */
    lmmiqa_extractor *ex = NULL;
    int rc = lmmiqa_extractor_create(name, &eo, &ex);
    if (rc == LMMIQA_OK) {
        lmmiqa_store_options so;
        lmmiqa_store_options_init(&so);
        so.jobs = opt->jobs;
        so.on_warning = store_warning;
        so.user = (void *)opt;
        rc = lmmiqa_store_build_dataset(sdir, ex, ds, &so, NULL);
    }
    if (rc == LMMIQA_OK && opt->model_score && lmmiqa__extractor_has_score(ex)) {
        split_result *res = model_scores_slot(ms, name);
        rc = res ? score_split(ex, ds, sp, k, opt, &res[k]) : LMMIQA_ERR_NOMEM;
    }
    lmmiqa_extractor_destroy(ex);
    if (rc != LMMIQA_OK)
        lmmiqa__fail_context(rc, "%s, split %zu: features: ", name, k + 1);
    return rc;
}

/* For every split: fit every trainable extractor of the specs, build its
 * per-split store (and own scores into ms), and link the specs' fixed
 * extractors there. */
static int fit_all(const lmmiqa_dataset *ds, const lmmiqa_splits *splits, size_t n_specs,
                   const char *const *specs, const lmmiqa_protocol_options *opt,
                   model_scores *ms)
{
    lmmiqa_feature_spec all = {0};
    for (size_t c = 0; c < n_specs; c++) {
        lmmiqa_feature_spec sp;
        int rc = lmmiqa_feature_spec_parse(specs[c], &sp);
        if (rc != LMMIQA_OK)
            return rc;
        if (!spec_has_trainable(specs[c]))
            continue;
        for (size_t i = 0; i < sp.count; i++) {
            int seen = 0;
            for (size_t j = 0; j < all.count; j++)
                seen |= strcmp(all.names[j], sp.names[i]) == 0;
            if (seen)
                continue;
            if (all.count == LMMIQA_SPEC_MAX_PARTS)
                return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                                    "protocol: more than %d extractors in trainable specs",
                                    LMMIQA_SPEC_MAX_PARTS);
            memcpy(all.names[all.count++], sp.names[i], LMMIQA_SPEC_MAX_NAME);
        }
    }
    if (all.count == 0)
        return LMMIQA_OK;
    if (opt->rank_fn) {
        char names[256];
        lmmiqa__extractor_trainable_names(names, sizeof names);
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "protocol: ranking pairs are not supported with trainable "
                            "extractors (%s)", names);
    }
    if (opt->fit_epochs < 1 || opt->fit_patches < 0)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "protocol: fit_epochs must be >= 1 and "
                                                    "fit_patches >= 0");
    char path[4096];
    snprintf(path, sizeof path, "%s/stores", opt->out_dir);
    int rc = lmmiqa__file_mkdirs(path, 0);
    for (size_t k = 0; k < lmmiqa_splits_count(splits) && rc == LMMIQA_OK; k++) {
        const lmmiqa_split *sp = lmmiqa_splits_get(splits, k);
        char sdir[4200];
        snprintf(sdir, sizeof sdir, "%s/stores/split-%zu", opt->out_dir, k + 1);
        rc = lmmiqa__file_mkdirs(sdir, 0);
        for (size_t i = 0; i < all.count && rc == LMMIQA_OK; i++) {
            const char *name = all.names[i];
            if (!lmmiqa_protocol_is_trainable(name)) {
                rc = link_fixed(opt->store_dir, sdir, name);
                continue;
            }
            char weights[4200];
            rc = fit_split(name, ds, sp, k, opt, weights, sizeof weights);
            if (rc == LMMIQA_OK)
                rc = build_split_store(name, weights, sdir, ds, sp, k, opt, ms);
        }
    }
    return rc;
}

/* ---- the run ------------------------------------------------------------------ */

int lmmiqa_protocol_run(const lmmiqa_dataset *ds, const lmmiqa_splits *splits, size_t n_specs,
                        const char *const *specs, const lmmiqa_protocol_options *opt,
                        lmmiqa_protocol_row *rows_out)
{
    lmmiqa_protocol_options given;
    lmmiqa_protocol_options_init(&given);
    int grc = lmmiqa__options_read(&given, sizeof given, opt,
                                   LMMIQA__OPTIONS_MIN(lmmiqa_protocol_options, store_dir),
                                   "lmmiqa_protocol_options");
    if (grc)
        return grc;
    opt = &given;
    if (!opt->store_dir || !opt->out_dir)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "protocol: store_dir and out_dir must be set");
    size_t n = lmmiqa_dataset_size(ds), ns = lmmiqa_splits_count(splits);
    if (lmmiqa_splits_n(splits) != n)
        return lmmiqa__fail(LMMIQA_ERR_MISMATCH, "splits are for %zu images, dataset %s has %zu",
                            lmmiqa_splits_n(splits), lmmiqa_dataset_name(ds), n);
    if (ns == 0 || n_specs == 0)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "protocol: no splits or no feature specs");
    char path[4096];
    int rc = lmmiqa__file_mkdirs(opt->out_dir, 0);
    snprintf(path, sizeof path, "%s/runs", opt->out_dir);
    if (rc == LMMIQA_OK)
        rc = lmmiqa__file_mkdirs(path, 0);
    snprintf(path, sizeof path, "%s/splits.json", opt->out_dir);
    if (rc == LMMIQA_OK)
        rc = lmmiqa_splits_save_json(splits, path);
    model_scores ms = {.n_splits = ns};
    if (rc == LMMIQA_OK)
        rc = fit_all(ds, splits, n_specs, specs, opt, &ms);
    if (rc != LMMIQA_OK) {
        model_scores_free(&ms);
        return rc;
    }

    lmmiqa_protocol_row *rows = lmmiqa__calloc(n_specs, sizeof *rows);
    split_result **res = lmmiqa__calloc(n_specs, sizeof *res);
    if (!rows || !res) {
        free(rows);
        free(res);
        model_scores_free(&ms);
        return LMMIQA_ERR_NOMEM;
    }
    size_t skipped = 0; /* pairs left to others by opt->select */
    for (size_t c = 0; c < n_specs && rc == LMMIQA_OK; c++) {
        lmmiqa_features *f = NULL;
        /* A spec with a trainable part reads split k's store for split k. */
        int per_split = spec_has_trainable(specs[c]);
        char sdir[4200];
        if (per_split)
            snprintf(sdir, sizeof sdir, "%s/stores/split-1", opt->out_dir);
        rc = lmmiqa_features_load(per_split ? sdir : opt->store_dir, specs[c], &f);
        if (rc == LMMIQA_OK)
            rc = lmmiqa_features_check_dataset(f, ds);
        res[c] = lmmiqa__calloc(ns, sizeof *res[c]);
        if (rc == LMMIQA_OK && !res[c])
            rc = LMMIQA_ERR_NOMEM;
        if (rc != LMMIQA_OK) {
            lmmiqa_features_destroy(f);
            break;
        }
        lmmiqa_regressor_config cfg = opt->reg;
        if (!opt->force_head)
            cfg.head = lmmiqa_protocol_default_head(lmmiqa_features_spec(f));
        lmmiqa_rank_set rank = {0};
        const size_t *owner = NULL;
        if (opt->rank_fn) {
            rc = opt->rank_fn(opt->rank_user, lmmiqa_features_spec(f), &rank, &owner);
            if (rc != LMMIQA_OK) {
                lmmiqa_features_destroy(f);
                break;
            }
        }
        snprintf(rows[c].spec, sizeof rows[c].spec, "%s", lmmiqa_features_spec(f));
        rows[c].head = cfg.head;
        snprintf(path, sizeof path, "%s/runs/%s", opt->out_dir, rows[c].spec);
        rc = lmmiqa__file_mkdirs(path, 0);
        for (size_t k = 0; k < ns && rc == LMMIQA_OK; k++) {
            const lmmiqa_split *sp = lmmiqa_splits_get(splits, k);
            if (per_split && k > 0) {
                lmmiqa_features_destroy(f);
                f = NULL;
                snprintf(sdir, sizeof sdir, "%s/stores/split-%zu", opt->out_dir, k + 1);
                rc = lmmiqa_features_load(sdir, specs[c], &f);
                if (rc == LMMIQA_OK)
                    rc = lmmiqa_features_check_dataset(f, ds);
                if (rc != LMMIQA_OK)
                    break;
            }
            lmmiqa_regressor_config kc = cfg;
            kc.seed = opt->reg.seed + k;
            double lo, hi;
            lmmiqa_protocol_mos_range(ds, opt->mos_range, sp->train, sp->n_train, &lo, &hi);
            char fp[65];
            fingerprint(f, sp, &kc, lo, hi, opt->rank_fn ? opt->rank_tag : NULL, fp);
            snprintf(path, sizeof path, "%s/runs/%s/split-%zu.json", opt->out_dir, rows[c].spec,
                     k + 1);
            split_result *r = &res[c][k];
            char why[512] = "";
            if (!(opt->resume &&
                  try_reuse(path, fp, sp, opt->train_predictions, r, why, sizeof why))) {
                if (why[0] && opt->log) {
                    char line[4096 + 600];
                    snprintf(line, sizeof line, "warning: %s: %s; recomputed", path, why);
                    opt->log(opt->user, line);
                }
                if (opt->select && !opt->select(opt->select_user, rows[c].spec, c, k)) {
                    skipped++;
                    continue;
                }
                int sel = 0;
                rc = run_split(f, ds, sp, &kc, lo, hi, opt->rank_fn ? &rank : NULL, owner,
                               opt->train_predictions, r, &sel);
                if (rc != LMMIQA_OK) {
                    lmmiqa__fail_context(rc, "%s, split %zu: ", rows[c].spec, k + 1);
                    break;
                }
                rc = write_split_result(path, rows[c].spec, k + 1, ds, &kc, lo, hi, fp, r, sel);
                if (rc != LMMIQA_OK)
                    break;
                /* Summaries always come from the files, so a resumed run
                 * reproduces them to the last digit (JSON numbers are printed
                 * with 15 significant digits where that reads back within an
                 * ulp). */
                double secs = r->seconds;
                split_result_free(r);
                if (!try_reuse(path, fp, sp, opt->train_predictions, r, why, sizeof why)) {
                    rc = lmmiqa__fail(LMMIQA_ERR_IO, "%s: cannot read back the result just written",
                                      path);
                    break;
                }
                r->reused = 0;
                r->seconds = secs;
            }
            rows[c].splits++;
            if (opt->progress) {
                lmmiqa_protocol_event ev = {rows[c].spec, c, n_specs, k + 1, ns, r->reused,
                                            cfg.head, &r->m, r->seconds};
                opt->progress(opt->user, &ev);
            }
        }
        lmmiqa_features_destroy(f);
        if (rc != LMMIQA_OK)
            break;
        mean_std(res[c], ns, 0, &rows[c].plcc_mean, &rows[c].plcc_std);
        mean_std(res[c], ns, 1, &rows[c].srocc_mean, &rows[c].srocc_std);
        mean_std(res[c], ns, 2, &rows[c].krcc_mean, &rows[c].krcc_std);
        mean_std(res[c], ns, 3, &rows[c].rmse_mean, &rows[c].rmse_std);
    }
    if (rc == LMMIQA_OK && !skipped)
        rc = write_summaries(opt->out_dir, ds, splits, n_specs, rows, res, &ms, opt);
    if (rc == LMMIQA_OK && !skipped && rows_out)
        memcpy(rows_out, rows, n_specs * sizeof *rows);
    for (size_t c = 0; c < n_specs; c++) {
        for (size_t k = 0; res[c] && k < ns; k++)
            split_result_free(&res[c][k]);
        free(res[c]);
    }
    free(res);
    free(rows);
    model_scores_free(&ms);
    return rc;
}
