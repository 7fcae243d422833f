// Private declarations shared by the SGEMM kernel variants and dispatch.c.
#ifndef CK_GEMM_INTERNAL_H
#define CK_GEMM_INTERNAL_H

#include "ck_gemm.h"

/// Writes the `mr x nr` corner of a tile held in memory (`tile`, row stride `ld_tile`) to C through the epilogue.
/// Variants whose stores cannot be masked use it for edge tiles.
void ck_sgemm_store_tile(const float *tile, int64_t ld_tile, int64_t mr, int64_t nr,
                         float *c, int64_t ldc, const ck_sgemm_epilogue *epilogue, const float *bias);

extern const ck_sgemm_kernel ck_sgemm_kernel_scalar;
#if defined(__x86_64__)
extern const ck_sgemm_kernel ck_sgemm_kernel_avx2;
extern const ck_sgemm_kernel ck_sgemm_kernel_avx512;
#endif
#if defined(__aarch64__)
extern const ck_sgemm_kernel ck_sgemm_kernel_neon;
#endif

static inline int64_t ck_min64(int64_t a, int64_t b) { return a < b ? a : b; }

#endif
