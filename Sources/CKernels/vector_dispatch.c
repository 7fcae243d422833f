// Run-time choice of the vector kernel variant: the fastest one the CPU supports, picked on first use.
#include "vector_internal.h"

static const ck_vector_kernels *const all_variants[] = {
    &ck_vector_kernels_scalar,
#if defined(__x86_64__)
    &ck_vector_kernels_avx2,
    &ck_vector_kernels_avx512,
#endif
#if defined(__aarch64__)
    &ck_vector_kernels_neon,
#endif
};

static int cpu_runs(const ck_vector_kernels *variant) {
#if defined(__x86_64__)
    if (variant == &ck_vector_kernels_avx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (variant == &ck_vector_kernels_avx512) return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
#endif
    (void)variant;
    return 1;
}

size_t ck_vector_variant_count(void) {
    size_t count = 0;
    for (size_t i = 0; i < sizeof all_variants / sizeof *all_variants; i++) count += cpu_runs(all_variants[i]);
    return count;
}

const ck_vector_kernels *ck_vector_variant(size_t index) {
    for (size_t i = 0; i < sizeof all_variants / sizeof *all_variants; i++) {
        if (!cpu_runs(all_variants[i])) continue;
        if (index-- == 0) return all_variants[i];
    }
    return 0;
}

const ck_vector_kernels *ck_vector_active(void) {
    static const ck_vector_kernels *active;
    const ck_vector_kernels *chosen = __atomic_load_n(&active, __ATOMIC_ACQUIRE);
    if (!chosen) {
        chosen = ck_vector_variant(ck_vector_variant_count() - 1);
        __atomic_store_n(&active, chosen, __ATOMIC_RELEASE);
    }
    return chosen;
}

void ck_binary_f32(ck_binary_op op, const float *a, const float *b, float *out, size_t n) {
    ck_vector_active()->binary(op, a, b, out, n);
}

void ck_binary_scalar_f32(ck_binary_op op, const float *a, float b, float *out, size_t n) {
    ck_vector_active()->binary_scalar(op, a, b, out, n);
}

float ck_sum_f32(const float *a, size_t n) { return ck_vector_active()->sum(a, n); }

float ck_sum_squares_f32(const float *a, size_t n) { return ck_vector_active()->sum_squares(a, n); }

float ck_max_f32(const float *a, size_t n) { return ck_vector_active()->max(a, n); }

void ck_transpose_f32(const float *src, size_t src_ld, float *dst, size_t dst_ld, size_t rows, size_t cols) {
    ck_vector_active()->transpose(src, src_ld, dst, dst_ld, rows, cols);
}
