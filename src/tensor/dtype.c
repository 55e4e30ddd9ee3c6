/*
 * src/tensor/dtype.c - element type table and the float16/bfloat16/float64/
 * integer -> float32 converters shared by the safetensors and torch-zip
 * readers. Bit manipulation only, no dependence on compiler half types.
 */
#include "dtype.h"

#include "kernels.h"

#include <string.h>

static const struct {
    const char *name;
    size_t size;
} dtype_table[] = {
    [LMMIQA_DTYPE_F32] = {"F32", 4}, [LMMIQA_DTYPE_F16] = {"F16", 2},
    [LMMIQA_DTYPE_BF16] = {"BF16", 2}, [LMMIQA_DTYPE_F64] = {"F64", 8},
    [LMMIQA_DTYPE_I64] = {"I64", 8},   [LMMIQA_DTYPE_I32] = {"I32", 4},
    [LMMIQA_DTYPE_U8] = {"U8", 1},     [LMMIQA_DTYPE_I8] = {"I8", 1},
    [LMMIQA_DTYPE_BOOL] = {"BOOL", 1},
};

#define DTYPE_COUNT (sizeof dtype_table / sizeof dtype_table[0])

size_t lmmiqa__dtype_size(lmmiqa_dtype dtype) { return dtype_table[dtype].size; }
const char *lmmiqa__dtype_name(lmmiqa_dtype dtype) { return dtype_table[dtype].name; }

int lmmiqa__dtype_parse(const char *name)
{
    for (size_t i = 0; i < DTYPE_COUNT; i++)
        if (strcmp(dtype_table[i].name, name) == 0)
            return (int)i;
    return -1;
}

static float bits_to_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t f32_to_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

float lmmiqa__f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1f) /* inf / nan */
        return bits_to_f32(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        if (man == 0)
            return bits_to_f32(sign);
        /* subnormal: value = man * 2^-24, exact in float32 */
        float v = (float)man * 5.9604644775390625e-08f;
        return sign ? -v : v;
    }
    return bits_to_f32(sign | ((exp + 112u) << 23) | (man << 13));
}

float lmmiqa__bf16_to_f32(uint16_t b) { return bits_to_f32((uint32_t)b << 16); }

uint16_t lmmiqa__f32_to_bf16(float f)
{
    uint32_t u = f32_to_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it quiet and a NaN */
        return (uint16_t)((u >> 16) | 0x0040u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

uint16_t lmmiqa__f32_to_f16(float f)
{
    uint32_t u = f32_to_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) /* NaN */
        return (uint16_t)(sign | 0x7e00u);
    if (a >= 0x477ff000u) /* rounds to >= 65520: infinity */
        return (uint16_t)(sign | 0x7c00u);
    if (a < 0x38800000u) { /* below 2^-14: half subnormal or zero */
        if (a < 0x33000000u) /* below 2^-25: rounds to zero */
            return sign;
        uint32_t exp = a >> 23;
        uint32_t man = (a & 0x7fffffu) | 0x800000u;
        /* value = man * 2^(exp-150); half subnormal unit = 2^-24 */
        uint32_t shift = 126u - exp; /* 14..25 (exp in 102..112) */
        uint32_t q = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1u);
        uint32_t half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (q & 1u)))
            q++;
        return (uint16_t)(sign | q);
    }
    /* normal: rebias exponent, round the 13 dropped mantissa bits to even */
    uint32_t r = a - 0x38000000u; /* exponent - 112 */
    r += 0xfffu + ((r >> 13) & 1u);
    return (uint16_t)(sign | (r >> 13));
}

float lmmiqa__dtype_load_f32(lmmiqa_dtype dtype, const unsigned char *src)
{
    switch (dtype) {
    case LMMIQA_DTYPE_F32: {
        float v;
        memcpy(&v, src, 4);
        return v;
    }
    case LMMIQA_DTYPE_F16: {
        uint16_t v;
        memcpy(&v, src, 2);
        return lmmiqa__f16_to_f32(v);
    }
    case LMMIQA_DTYPE_BF16: {
        uint16_t v;
        memcpy(&v, src, 2);
        return lmmiqa__bf16_to_f32(v);
    }
    case LMMIQA_DTYPE_F64: {
        double v;
        memcpy(&v, src, 8);
        return (float)v;
    }
    case LMMIQA_DTYPE_I64: {
        int64_t v;
        memcpy(&v, src, 8);
        return (float)v;
    }
    case LMMIQA_DTYPE_I32: {
        int32_t v;
        memcpy(&v, src, 4);
        return (float)v;
    }
    case LMMIQA_DTYPE_U8:
    case LMMIQA_DTYPE_BOOL:
        return (float)src[0];
    case LMMIQA_DTYPE_I8:
        return (float)(int8_t)src[0];
    }
    return 0.0f;
}

static void convert_range(lmmiqa_dtype dtype, const unsigned char *p, size_t i0, size_t i1,
                          float *dst)
{
    size_t es = lmmiqa__dtype_size(dtype);
    switch (dtype) {
    case LMMIQA_DTYPE_F32:
        memcpy(dst + i0, p + i0 * 4, (i1 - i0) * 4);
        break;
    case LMMIQA_DTYPE_F16:
        for (size_t i = i0; i < i1; i++) {
            uint16_t v;
            memcpy(&v, p + i * 2, 2);
            dst[i] = lmmiqa__f16_to_f32(v);
        }
        break;
    case LMMIQA_DTYPE_BF16:
        for (size_t i = i0; i < i1; i++) {
            uint16_t v;
            memcpy(&v, p + i * 2, 2);
            dst[i] = lmmiqa__bf16_to_f32(v);
        }
        break;
    default:
        for (size_t i = i0; i < i1; i++)
            dst[i] = lmmiqa__dtype_load_f32(dtype, p + i * es);
    }
}

void lmmiqa__dtype_convert_f32(lmmiqa_dtype dtype, const void *src, size_t count, float *dst)
{
    /* large tensors (a ViT-L/14 block holds 12.6 M floats) convert on every
     * thread of the calling thread's team: F16/BF16 checkpoints load at
     * about the speed of F32 ones */
    int parts = lmmiqa__kernel_parts(count / 4, (int)(count / 65536 + 1));
    LMMIQA__OMP(omp parallel for num_threads(parts) schedule(static) if (parts > 1))
    for (int t = 0; t < parts; t++)
        convert_range(dtype, src, count * (size_t)t / (size_t)parts,
                      count * (size_t)(t + 1) / (size_t)parts, dst);
}
