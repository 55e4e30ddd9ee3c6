/*
 * src/tensor/dtype.h - element types of stored tensors (safetensors, torch
 * zip) and their conversion to float32. Half and bfloat16 are converted
 * bit-exactly (every value, including subnormals, infinities and NaN, has
 * an exact float32 image); float32 -> half/bfloat16 rounds to nearest even.
 * Stored data may sit at any byte offset, so the converters read through
 * memcpy and never assume alignment. All data are little-endian.
 */
#ifndef LMMIQA_TENSOR_DTYPE_H
#define LMMIQA_TENSOR_DTYPE_H

#include "io/safetensors.h"

#include <stddef.h>
#include <stdint.h>

/* Bytes per element of a dtype (1..8). */
size_t lmmiqa__dtype_size(lmmiqa_dtype dtype);
/* Canonical safetensors name ("F32", "BF16", ...). */
const char *lmmiqa__dtype_name(lmmiqa_dtype dtype);
/* Parse a safetensors dtype name; -1 if unknown. */
int lmmiqa__dtype_parse(const char *name);

float lmmiqa__f16_to_f32(uint16_t h);
float lmmiqa__bf16_to_f32(uint16_t b);
uint16_t lmmiqa__f32_to_f16(float f);
uint16_t lmmiqa__f32_to_bf16(float f);

/* Convert `count` elements of `dtype` starting at `src` (any alignment) to
 * float32. */
void lmmiqa__dtype_convert_f32(lmmiqa_dtype dtype, const void *src, size_t count, float *dst);
/* One element at byte address `src`. */
float lmmiqa__dtype_load_f32(lmmiqa_dtype dtype, const unsigned char *src);

#endif
