// Element type conversions used when loading weights (IEEE half and bfloat16 to float).
#ifndef CK_CONVERT_H
#define CK_CONVERT_H

#include <stddef.h>
#include <stdint.h>

/// Converts `count` IEEE 754 binary16 values (little-endian, any alignment) to float.
void ck_f16_to_f32(const void *src, float *dst, size_t count);
/// Converts `count` bfloat16 values (little-endian, any alignment) to float.
void ck_bf16_to_f32(const void *src, float *dst, size_t count);

#endif
