/*
 * src/nn/nn_internal.h - engine helpers shared with the model files.
 */
#ifndef LMMIQA_NN_INTERNAL_H
#define LMMIQA_NN_INTERNAL_H

#include "nn/nn.h"
#include "io/safetensors.h"

/* Read tensor `name` of an open file into dst, checking it is a float type
 * of exactly ten's shape; errors name the file (path) and the tensor. */
int lmmiqa__nn_read_tensor(const lmmiqa_safetensors *st, const char *name,
                           const lmmiqa_nn_tensor *ten, float *dst, const char *path);

#endif
