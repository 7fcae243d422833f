// Private declarations shared by the bfloat16 GEMM kernel variants and bgemm_dispatch.c.
#ifndef CK_BGEMM_INTERNAL_H
#define CK_BGEMM_INTERNAL_H

#include <string.h>
#include "ck_bgemm.h"
#include "gemm_internal.h"

/// The fp32 value of a bfloat16 (exact).
static inline float ck_bf16_widen(uint16_t h) {
    const uint32_t bits = (uint32_t)h << 16;
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

/// Packs A for the variants that widen: fp32 panels of `mr` rows (element (i, p) at p*mr + i), every value
/// rounded to bfloat16, depth padded with zeros to even, rows past `rows` zero.
void ck_bgemm_pack_a_widened(const float *a, int64_t lda, int transposed, int64_t rows, int64_t kc, int32_t mr,
                             float *packed);

#if defined(__x86_64__)
/// ck_bgemm_pack_b of a transposed B with `nr` a multiple of 16, on a CPU with AVX512-BF16 (same results).
void ck_bgemm_pack_b_transposed_avx512bf16(const float *b, int64_t ldb, int64_t n, int64_t kc, int32_t nr,
                                           uint16_t *dst);
/// ck_bgemm_pack_b of a plain B with `nr` a multiple of 16, on a CPU with AVX512-BF16 (same results).
void ck_bgemm_pack_b_rows_avx512bf16(const float *b, int64_t ldb, int64_t n, int64_t kc, int32_t nr, uint16_t *dst);
#endif

extern const ck_bgemm_kernel ck_bgemm_kernel_scalar;
#if defined(__x86_64__)
extern const ck_bgemm_kernel ck_bgemm_kernel_avx2;
extern const ck_bgemm_kernel ck_bgemm_kernel_avx512;
extern const ck_bgemm_kernel ck_bgemm_kernel_avx512bf16;
extern const ck_bgemm_kernel ck_bgemm_kernel_avx512bf16_narrow;
extern const ck_bgemm_kernel ck_bgemm_kernel_avx512bf16_short;
#endif
#if defined(__aarch64__)
extern const ck_bgemm_kernel ck_bgemm_kernel_neon;
#endif

#endif
