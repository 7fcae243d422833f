// Half and bfloat16 to float conversions (scalar; exact for every input, NaN payloads included).
#include "ck_convert.h"
#include <string.h>

static inline float bits_to_float(uint32_t bits) {
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

static inline uint16_t load_u16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static inline float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    if (exponent == 0x1f) return bits_to_float(sign | 0x7f800000u | (mantissa << 13));  // Inf / NaN
    if (exponent != 0) return bits_to_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
    if (mantissa == 0) return bits_to_float(sign);                                       // signed zero
    // Subnormal half: normalise into a float exponent.
    exponent = 113;
    while ((mantissa & 0x400u) == 0) { mantissa <<= 1; exponent--; }
    return bits_to_float(sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13));
}

void ck_f16_to_f32(const void *src, float *dst, size_t count) {
    const unsigned char *bytes = src;
    for (size_t i = 0; i < count; i++) dst[i] = half_to_float(load_u16(bytes + 2 * i));
}

void ck_bf16_to_f32(const void *src, float *dst, size_t count) {
    const unsigned char *bytes = src;
    for (size_t i = 0; i < count; i++) dst[i] = bits_to_float((uint32_t)load_u16(bytes + 2 * i) << 16);
}
