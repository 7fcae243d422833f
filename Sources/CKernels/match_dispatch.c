// Run-time choice of the matching variant: the fastest the CPU supports; tests may ask for any available one.
#include "match_internal.h"

static int isa_supported(ck_match_isa isa) {
    switch (isa) {
    case CK_MATCH_SCALAR:
        return 1;
#if defined(__x86_64__)
    case CK_MATCH_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case CK_MATCH_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
    case CK_MATCH_AVX512_BF16:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma") &&
               __builtin_cpu_supports("avx512bf16");
#endif
#if defined(__aarch64__)
    case CK_MATCH_NEON:
        return 1;
#endif
    default:
        return 0;
    }
}

static const ck_match_kernel *compiled_kernel(ck_match_isa isa) {
    switch (isa) {
    case CK_MATCH_SCALAR:
        return &ck_match_kernel_scalar;
#if defined(__x86_64__)
    case CK_MATCH_AVX2:
        return &ck_match_kernel_avx2;
    case CK_MATCH_AVX512:
        return &ck_match_kernel_avx512;
    case CK_MATCH_AVX512_BF16:
        return &ck_match_kernel_avx512_bf16;
#endif
#if defined(__aarch64__)
    case CK_MATCH_NEON:
        return &ck_match_kernel_neon;
#endif
    default:
        return 0;
    }
}

const ck_match_kernel *ck_match_kernel_for(ck_match_isa isa) {
    return isa_supported(isa) ? compiled_kernel(isa) : 0;
}

const ck_match_kernel *ck_match_kernel_best(void) {
    static const ck_match_isa preference[] = {CK_MATCH_AVX512_BF16, CK_MATCH_AVX512, CK_MATCH_AVX2, CK_MATCH_NEON};
    for (unsigned i = 0; i < sizeof preference / sizeof preference[0]; i++) {
        const ck_match_kernel *kernel = ck_match_kernel_for(preference[i]);
        if (kernel) return kernel;
    }
    return &ck_match_kernel_scalar;
}
