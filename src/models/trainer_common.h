/*
 * src/models/trainer_common.h - pieces the CNNIQA and MetaIQA trainers share:
 * weight-file metadata parsing, the per-epoch log line, and the resumable
 * checkpoint (weights + Adam state + "train.epochs_done" + "train.seed").
 * Internal (lmmiqa__ prefix); both models store their architecture as
 * safetensors metadata next to the tensors written by the nn engine.
 */
#ifndef LMMIQA_MODELS_TRAINER_COMMON_H
#define LMMIQA_MODELS_TRAINER_COMMON_H

#include "nn/nn.h"
#include "io/safetensors.h"

#include <stddef.h>
#include <stdint.h>

/* Integer metadata `key` of `st` (file `path`) into *out; it must be in
 * [1, 1000000], else LMMIQA_ERR_FORMAT naming the file and key. */
int lmmiqa__meta_int(const lmmiqa_safetensors *st, const char *path, const char *key, int *out);

/* Dropout probability metadata `key` into *out; it must be in [0, 1), else
 * LMMIQA_ERR_FORMAT naming the file and key. */
int lmmiqa__meta_dropout(const lmmiqa_safetensors *st, const char *path, const char *key,
                         float *out);

/* Format one log line and hand it to log(user, line) when verbose and log
 * are set; lines longer than 511 bytes are cut. */
void lmmiqa__train_log(int verbose, void (*log)(void *user, const char *line), void *user,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Save a training checkpoint: params and Adam state o, the n_arch caller
 * metadata pairs already in keys/pv, plus train.epochs_done and train.seed.
 * keys, pv and vals must have room for n_arch + 2 entries. */
int lmmiqa__checkpoint_save(const lmmiqa_nn_params *params, const lmmiqa_nn_optim *o,
                            char (*vals)[32], const char **keys, const char **pv, size_t n_arch,
                            int epochs_done, uint64_t seed, const char *path);

/* Restore params and Adam state o from checkpoint `path` (whose architecture
 * the caller has already checked) and set *epochs_done; fails with
 * LMMIQA_ERR_FORMAT without train.epochs_done and LMMIQA_ERR_MISMATCH when
 * it was trained with another seed. */
int lmmiqa__checkpoint_resume(lmmiqa_nn_params *params, lmmiqa_nn_optim *o, uint64_t seed,
                              const char *path, int *epochs_done);

#endif
