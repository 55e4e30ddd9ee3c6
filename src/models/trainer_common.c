/*
 * src/models/trainer_common.c - shared pieces of the CNNIQA and MetaIQA
 * trainers (see trainer_common.h): metadata parsing, logging and the
 * resumable checkpoint format. Both trainers write the same two training
 * keys, so a checkpoint is checked the same way whatever the model.
 */
#include "trainer_common.h"

#include "core/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int lmmiqa__meta_int(const lmmiqa_safetensors *st, const char *path, const char *key, int *out)
{
    const char *s = lmmiqa_safetensors_metadata(st, key);
    char *end = NULL;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || *end || v < 1 || v > 1000000)
        return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: metadata %s is missing or invalid", path, key);
    *out = (int)v;
    return LMMIQA_OK;
}

int lmmiqa__meta_dropout(const lmmiqa_safetensors *st, const char *path, const char *key,
                         float *out)
{
    const char *s = lmmiqa_safetensors_metadata(st, key);
    char *end = NULL;
    double d = s ? strtod(s, &end) : -1.0;
    if (!s || *end || !(d >= 0.0 && d < 1.0))
        return lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: metadata %s is invalid", path, key);
    *out = (float)d;
    return LMMIQA_OK;
}

void lmmiqa__train_log(int verbose, void (*log)(void *user, const char *line), void *user,
                       const char *fmt, ...)
{
    if (!verbose || !log)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log(user, line);
}

int lmmiqa__checkpoint_save(const lmmiqa_nn_params *params, const lmmiqa_nn_optim *o,
                            char (*vals)[32], const char **keys, const char **pv, size_t n_arch,
                            int epochs_done, uint64_t seed, const char *path)
{
    keys[n_arch] = "train.epochs_done";
    snprintf(vals[n_arch], 32, "%d", epochs_done);
    pv[n_arch] = vals[n_arch];
    keys[n_arch + 1] = "train.seed";
    snprintf(vals[n_arch + 1], 32, "%llu", (unsigned long long)seed);
    pv[n_arch + 1] = vals[n_arch + 1];
    return lmmiqa_nn_params_save(params, o, 1, keys, pv, n_arch + 2, path);
}

int lmmiqa__checkpoint_resume(lmmiqa_nn_params *params, lmmiqa_nn_optim *o, uint64_t seed,
                              const char *path, int *epochs_done)
{
    lmmiqa_safetensors *st = NULL;
    int rc = lmmiqa_safetensors_open(path, &st);
    if (rc != LMMIQA_OK)
        return rc;
    const char *s = lmmiqa_safetensors_metadata(st, "train.epochs_done");
    const char *sd = lmmiqa_safetensors_metadata(st, "train.seed");
    char *end = NULL;
    long e = s ? strtol(s, &end, 10) : -1;
    if (!s || *end || e < 0)
        rc = lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: no train.epochs_done metadata", path);
    else if (!sd || strtoull(sd, NULL, 10) != (unsigned long long)seed)
        rc = lmmiqa__fail(LMMIQA_ERR_MISMATCH, "%s: checkpoint was trained with another seed",
                          path);
    lmmiqa_safetensors_close(st);
    if (rc == LMMIQA_OK)
        rc = lmmiqa_nn_params_load(params, o, path, NULL, 1);
    if (rc == LMMIQA_OK)
        *epochs_done = (int)e;
    return rc;
}
