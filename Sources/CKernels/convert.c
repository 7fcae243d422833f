// Half, bfloat16 and double to float conversions: scalar reference, F16C (AVX2 era), AVX-512 and NEON variants.
#include "ck_convert.h"
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

// MARK: Scalar reference

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
    if (exponent == 0x1f) {
        if (mantissa == 0) return bits_to_float(sign | 0x7f800000u);             // ±Inf
        return bits_to_float(sign | 0x7fc00000u | (mantissa << 13));             // NaN, quieted
    }
    if (exponent != 0) return bits_to_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
    if (mantissa == 0) return bits_to_float(sign);                               // ±0
    // Subnormal half: shift the mantissa up to its leading one, lowering the float exponent to match.
    exponent = 113;
    while ((mantissa & 0x400u) == 0) { mantissa <<= 1; exponent--; }
    return bits_to_float(sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13));
}

static void f16_scalar(const void *src, float *dst, size_t count) {
    const unsigned char *bytes = src;
    for (size_t i = 0; i < count; i++) dst[i] = half_to_float(load_u16(bytes + 2 * i));
}

static void bf16_scalar(const void *src, float *dst, size_t count) {
    const unsigned char *bytes = src;
    for (size_t i = 0; i < count; i++) dst[i] = bits_to_float((uint32_t)load_u16(bytes + 2 * i) << 16);
}

static const ck_convert_kernels scalar_kernels = {"scalar", f16_scalar, bf16_scalar};

// MARK: x86-64

#if defined(__x86_64__)
#define F16C __attribute__((target("avx2,f16c")))
#define AVX512 __attribute__((target("avx512f")))

static F16C void f16_f16c(const void *src, float *dst, size_t count) {
    const unsigned char *bytes = src;
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m128i h0 = _mm_loadu_si128((const __m128i *)(bytes + 2 * i));
        __m128i h1 = _mm_loadu_si128((const __m128i *)(bytes + 2 * i + 16));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h0));
        _mm256_storeu_ps(dst + i + 8, _mm256_cvtph_ps(h1));
    }
    f16_scalar(bytes + 2 * i, dst + i, count - i);
}

static F16C void bf16_avx2(const void *src, float *dst, size_t count) {
    const unsigned char *bytes = src;
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m128i h0 = _mm_loadu_si128((const __m128i *)(bytes + 2 * i));
        __m128i h1 = _mm_loadu_si128((const __m128i *)(bytes + 2 * i + 16));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_slli_epi32(_mm256_cvtepu16_epi32(h0), 16));
        _mm256_storeu_si256((__m256i *)(dst + i + 8), _mm256_slli_epi32(_mm256_cvtepu16_epi32(h1), 16));
    }
    bf16_scalar(bytes + 2 * i, dst + i, count - i);
}

static AVX512 void f16_avx512(const void *src, float *dst, size_t count) {
    const unsigned char *bytes = src;
    size_t i = 0;
    for (; i + 32 <= count; i += 32) {
        __m256i h0 = _mm256_loadu_si256((const __m256i *)(bytes + 2 * i));
        __m256i h1 = _mm256_loadu_si256((const __m256i *)(bytes + 2 * i + 32));
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(h0));
        _mm512_storeu_ps(dst + i + 16, _mm512_cvtph_ps(h1));
    }
    f16_scalar(bytes + 2 * i, dst + i, count - i);
}

static AVX512 void bf16_avx512(const void *src, float *dst, size_t count) {
    const unsigned char *bytes = src;
    size_t i = 0;
    for (; i + 32 <= count; i += 32) {
        __m256i h0 = _mm256_loadu_si256((const __m256i *)(bytes + 2 * i));
        __m256i h1 = _mm256_loadu_si256((const __m256i *)(bytes + 2 * i + 32));
        _mm512_storeu_si512(dst + i, _mm512_slli_epi32(_mm512_cvtepu16_epi32(h0), 16));
        _mm512_storeu_si512(dst + i + 16, _mm512_slli_epi32(_mm512_cvtepu16_epi32(h1), 16));
    }
    bf16_scalar(bytes + 2 * i, dst + i, count - i);
}

static const ck_convert_kernels f16c_kernels = {"f16c", f16_f16c, bf16_avx2};
static const ck_convert_kernels avx512_kernels = {"avx512", f16_avx512, bf16_avx512};
#endif

// MARK: AArch64

#if defined(__aarch64__)
static void f16_neon(const void *src, float *dst, size_t count) {
    const unsigned char *bytes = src;
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        float16x8_t h = vreinterpretq_f16_u8(vld1q_u8(bytes + 2 * i));
        vst1q_f32(dst + i, vcvt_f32_f16(vget_low_f16(h)));
        vst1q_f32(dst + i + 4, vcvt_high_f32_f16(h));
    }
    f16_scalar(bytes + 2 * i, dst + i, count - i);
}

static void bf16_neon(const void *src, float *dst, size_t count) {
    const unsigned char *bytes = src;
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        uint16x8_t h = vreinterpretq_u16_u8(vld1q_u8(bytes + 2 * i));
        vst1q_f32(dst + i, vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16)));
        vst1q_f32(dst + i + 4, vreinterpretq_f32_u32(vshll_high_n_u16(h, 16)));
    }
    bf16_scalar(bytes + 2 * i, dst + i, count - i);
}

static const ck_convert_kernels neon_kernels = {"neon", f16_neon, bf16_neon};
#endif

// MARK: Dispatch

static const ck_convert_kernels *const all_variants[] = {
    &scalar_kernels,
#if defined(__x86_64__)
    &f16c_kernels,
    &avx512_kernels,
#endif
#if defined(__aarch64__)
    &neon_kernels,
#endif
};

static int cpu_runs(const ck_convert_kernels *variant) {
#if defined(__x86_64__)
    if (variant == &f16c_kernels) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
    if (variant == &avx512_kernels) return __builtin_cpu_supports("avx512f");
#endif
    (void)variant;
    return 1;
}

size_t ck_convert_variant_count(void) {
    size_t count = 0;
    for (size_t i = 0; i < sizeof all_variants / sizeof *all_variants; i++) count += cpu_runs(all_variants[i]);
    return count;
}

const ck_convert_kernels *ck_convert_variant(size_t index) {
    for (size_t i = 0; i < sizeof all_variants / sizeof *all_variants; i++) {
        if (!cpu_runs(all_variants[i])) continue;
        if (index-- == 0) return all_variants[i];
    }
    return 0;
}

static const ck_convert_kernels *active_variant(void) {
    static const ck_convert_kernels *active;
    const ck_convert_kernels *chosen = __atomic_load_n(&active, __ATOMIC_ACQUIRE);
    if (!chosen) {
        chosen = ck_convert_variant(ck_convert_variant_count() - 1);
        __atomic_store_n(&active, chosen, __ATOMIC_RELEASE);
    }
    return chosen;
}

void ck_f16_to_f32(const void *src, float *dst, size_t count) { active_variant()->f16_to_f32(src, dst, count); }

void ck_bf16_to_f32(const void *src, float *dst, size_t count) { active_variant()->bf16_to_f32(src, dst, count); }

void ck_f64_to_f32(const void *src, float *dst, size_t count) {
    const unsigned char *bytes = src;
    for (size_t i = 0; i < count; i++) {
        double value;
        memcpy(&value, bytes + 8 * i, sizeof value);
        dst[i] = (float)value;
    }
}
