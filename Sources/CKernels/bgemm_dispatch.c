// Run-time choice of the bfloat16 GEMM variant (AVX512-BF16, AVX-512, AVX2, NEON, scalar): the best one the CPU
// supports is picked on first use; tests may switch to any other available variant.
#include "bgemm_internal.h"

static const ck_bgemm_kernel *compiled_kernel(ck_isa isa) {
    switch (isa) {
    case CK_ISA_SCALAR:
        return &ck_bgemm_kernel_scalar;
#if defined(__x86_64__)
    case CK_ISA_AVX2:
        return &ck_bgemm_kernel_avx2;
    case CK_ISA_AVX512:
        return &ck_bgemm_kernel_avx512;
    case CK_ISA_AVX512BF16:
        return &ck_bgemm_kernel_avx512bf16;
#endif
#if defined(__aarch64__)
    case CK_ISA_NEON:
        return &ck_bgemm_kernel_neon;
#endif
    default:
        return 0;
    }
}

const ck_bgemm_kernel *ck_bgemm_kernel_for(ck_isa isa) {
    return ck_isa_supported(isa) ? compiled_kernel(isa) : 0;
}

/// Rows computed for `rows` rows by tiles of `mr`.
static int64_t padded_rows(int64_t rows, int64_t mr) { return (rows + mr - 1) / mr * mr; }

const ck_bgemm_kernel *ck_bgemm_kernel_fitting(const ck_bgemm_kernel *kernel, int64_t rows) {
#if defined(__x86_64__)
    if (kernel == &ck_bgemm_kernel_avx512bf16) {
        // The tallest of the forms with the fewest padded rows.
        const ck_bgemm_kernel *shorter[] = {&ck_bgemm_kernel_avx512bf16_narrow, &ck_bgemm_kernel_avx512bf16_short};
        const ck_bgemm_kernel *best = kernel;
        for (unsigned i = 0; i < sizeof shorter / sizeof shorter[0]; i++) {
            if (padded_rows(rows, shorter[i]->mr) < padded_rows(rows, best->mr)) best = shorter[i];
        }
        return best;
    }
#endif
    (void)rows;
    return kernel;
}

static const ck_bgemm_kernel *best_kernel(void) {
    static const ck_isa preference[] = {CK_ISA_AVX512BF16, CK_ISA_AVX512, CK_ISA_AVX2, CK_ISA_NEON, CK_ISA_SCALAR};
    for (unsigned i = 0; i < sizeof preference / sizeof preference[0]; i++) {
        const ck_bgemm_kernel *kernel = ck_bgemm_kernel_for(preference[i]);
        if (kernel) return kernel;
    }
    return &ck_bgemm_kernel_scalar;
}

static const ck_bgemm_kernel *active_kernel;

const ck_bgemm_kernel *ck_bgemm_kernel_active(void) {
    const ck_bgemm_kernel *kernel = __atomic_load_n(&active_kernel, __ATOMIC_ACQUIRE);
    if (kernel) return kernel;
    kernel = best_kernel();
    const ck_bgemm_kernel *expected = 0;
    // Two first callers pick the same kernel; whoever loses the race keeps the winner's (equal) choice.
    if (!__atomic_compare_exchange_n(&active_kernel, &expected, kernel, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        return expected;
    }
    return kernel;
}

int ck_bgemm_set_active(ck_isa isa) {
    const ck_bgemm_kernel *kernel = ck_bgemm_kernel_for(isa);
    if (!kernel) return 0;
    __atomic_store_n(&active_kernel, kernel, __ATOMIC_RELEASE);
    return 1;
}
