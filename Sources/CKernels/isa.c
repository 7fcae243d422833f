// Which instruction sets this CPU runs (ck_isa_supported in ck_gemm.h): one check for every GEMM family.
#include "ck_gemm.h"

int ck_isa_supported(ck_isa isa) {
    switch (isa) {
    case CK_ISA_SCALAR:
        return 1;
#if defined(__x86_64__)
    case CK_ISA_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case CK_ISA_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
    case CK_ISA_AVX512BF16:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
#endif
#if defined(__aarch64__)
    case CK_ISA_NEON:
        return 1;
#endif
    default:
        return 0;
    }
}
