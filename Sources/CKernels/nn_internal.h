// Private helpers shared by the neural-network kernels (nn_*.c): per-ISA function attributes, the run-time ISA
// choice, and branch-free, vectorisable exp / erf approximations.
//
// Each kernel is written once as an always-inline body; thin wrappers compile it for AVX-512, AVX2 and the baseline,
// and the public entry point calls the best one the CPU supports. Loops that reduce carry
// `#pragma clang loop vectorize(enable)`, which allows the vectoriser to reorder the floating-point sums.
#ifndef CK_NN_INTERNAL_H
#define CK_NN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ck_nn.h"

#define CK_INLINE static inline __attribute__((always_inline))

#if defined(__x86_64__)
#define CK_HAS_X86_VARIANTS 1
#define CK_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,fma")))
#define CK_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define CK_HAS_X86_VARIANTS 0
#endif

/// Defines `name_avx512`, `name_avx2` (x86-64 only) and `name_base` wrappers around the always-inline `body`,
/// and `name_pick()` returning the best one for this CPU. `params` / `args` are the parenthesised parameter
/// declarations and argument names.
#if CK_HAS_X86_VARIANTS
#define CK_VARIANTS(name, body, params, args)                                                                         \
    CK_TARGET_AVX512 static void name##_avx512 params { body args; }                                                  \
    CK_TARGET_AVX2 static void name##_avx2 params { body args; }                                                      \
    static void name##_base params { body args; }                                                                     \
    typedef void (*name##_fn) params;                                                                                 \
    static name##_fn name##_pick(void) {                                                                              \
        int level = ck_nn_isa_level();                                                                                \
        return level == 2 ? name##_avx512 : level == 1 ? name##_avx2 : name##_base;                                   \
    }
#else
#define CK_VARIANTS(name, body, params, args)                                                                         \
    static void name##_base params { body args; }                                                                     \
    typedef void (*name##_fn) params;                                                                                 \
    static name##_fn name##_pick(void) { return name##_base; }
#endif

CK_INLINE float ck_bits_to_float(uint32_t bits) {
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

/// exp(x) within 2 ulp for x in [-87, 88]; inputs outside are clamped (exp(-87) ~ 1.6e-38 stands in for 0).
CK_INLINE float ck_exp_f(float x) {
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    float n = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    return p * ck_bits_to_float((uint32_t)((int32_t)n + 127) << 23);
}

/// exp(x) for softmax weights rounded to bfloat16 next, x <= 0 (a score minus its row's maximum): within 6e-6,
/// relative (some 600 times finer than the bfloat16 rounding that follows), in fewer steps than ck_exp_f. x is
/// clamped below at -87 (NaN too); x = (n + f) ln 2 with n an integer and |f| <= 1/2; 2^f is a degree-4
/// polynomial (relative error 2.7e-6, a near-minimax fit) and n is added to its exponent bits. Every step is one
/// IEEE operation (fused multiply-adds written out), so the vector forms (exp16_weights in nn_attention_avx512.c)
/// give the same bits.
CK_INLINE float ck_exp_weight_f(float x) {
    x = x >= -87.0f ? x : -87.0f;
    const float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer, kept in the significand's low bits
    const float k = __builtin_fmaf(x, 1.44269504088896341f, shifter);
    const float n = k - shifter;
    const float f = __builtin_fmaf(x, 1.44269504088896341f, -n);
    float p = 9.570102207362652e-3f;
    p = __builtin_fmaf(p, f, 5.591786280274391e-2f);
    p = __builtin_fmaf(p, f, 2.40247443318367e-1f);
    p = __builtin_fmaf(p, f, 6.931217908859253e-1f);
    p = __builtin_fmaf(p, f, 9.999992847442627e-1f);
    uint32_t pb, kb;
    memcpy(&pb, &p, sizeof pb);
    memcpy(&kb, &k, sizeof kb);
    return ck_bits_to_float(pb + (kb << 23));  // k's low bits hold n: shifted to the exponent field
}

/// erf(x) within 1.5e-7 absolute (Abramowitz & Stegun 7.1.26, as PyTorch's vectorised erf).
CK_INLINE float ck_erf_f(float x) {
    float a = x < 0 ? -x : x;
    float t = 1.0f / (1.0f + 0.3275911f * a);
    float p = 1.061405429f;
    p = p * t - 1.453152027f;
    p = p * t + 1.421413741f;
    p = p * t - 0.284496736f;
    p = p * t + 0.254829592f;
    float y = 1.0f - p * t * ck_exp_f(-a * a);
    return x < 0 ? -y : y;
}

/// x * sigmoid(x).
CK_INLINE float ck_silu_f(float x) { return x / (1.0f + ck_exp_f(-x)); }

/// The exact (erf) GELU: x * Phi(x).
CK_INLINE float ck_gelu_f(float x) { return 0.5f * x * (1.0f + ck_erf_f(x * 0.70710678118654752f)); }

#endif
