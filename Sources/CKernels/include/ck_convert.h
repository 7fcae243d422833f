// Element type conversions used when loading weights (IEEE half, bfloat16 and double to float): one variant per
// instruction set, the fastest one this CPU supports chosen once at run time.
//
// Every variant gives bit-identical results: conversions are exact, and a NaN keeps its sign and payload with the
// quiet bit set (what the F16C/AVX-512 instructions do, so the scalar reference does it too).
#ifndef CK_CONVERT_H
#define CK_CONVERT_H

#include <stddef.h>

/// One variant of the conversion kernels. Sources are little-endian and may have any alignment.
typedef struct ck_convert_kernels {
    /// A short name for logs and tests ("avx512", "f16c", "neon", "scalar").
    const char *name;
    /// Converts `count` IEEE 754 binary16 values to float.
    void (*f16_to_f32)(const void *src, float *dst, size_t count);
    /// Converts `count` bfloat16 values to float.
    void (*bf16_to_f32)(const void *src, float *dst, size_t count);
} ck_convert_kernels;

/// Number of variants this CPU can run (at least 1: the scalar one).
size_t ck_convert_variant_count(void);
/// Variant `index` (< ck_convert_variant_count()); 0 is the scalar reference, the last the fastest.
const ck_convert_kernels *ck_convert_variant(size_t index);

/// Converts `count` IEEE 754 binary16 values (little-endian, any alignment) to float with the fastest variant.
void ck_f16_to_f32(const void *src, float *dst, size_t count);
/// Converts `count` bfloat16 values (little-endian, any alignment) to float with the fastest variant.
void ck_bf16_to_f32(const void *src, float *dst, size_t count);
/// Converts `count` IEEE 754 binary64 values (little-endian, any alignment) to float, rounding to nearest even.
void ck_f64_to_f32(const void *src, float *dst, size_t count);

#endif
