// AVX2 SGEMM kernel: a 6x16 register tile (12 ymm accumulators, two B vectors, A broadcast from memory).
// Edge tiles are written with vmaskmov loads and stores, so C is never touched outside the block.
#if defined(__x86_64__)
#include <immintrin.h>
#include "gemm_internal.h"

#define MR 6
#define NR 16
#define TARGET __attribute__((target("avx2,fma")))

TARGET __attribute__((always_inline))
static inline __m256i lane_mask(int64_t count) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)count), lanes);
}

TARGET __attribute__((always_inline))
static inline void tile_avx2(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                             int64_t mr, int64_t nr, const ck_sgemm_epilogue *epilogue, const float *bias) {
    __m256 acc[MR][2];
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
        acc[i][0] = _mm256_setzero_ps();
        acc[i][1] = _mm256_setzero_ps();
    }
#pragma clang loop unroll_count(4)
    for (int64_t p = 0; p < kc; p++) {
        const __m256 b0 = _mm256_loadu_ps(b);
        const __m256 b1 = _mm256_loadu_ps(b + 8);
#pragma clang loop unroll(full)
        for (int i = 0; i < MR; i++) {
            const __m256 ai = _mm256_broadcast_ss(a + i);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
        a += MR;
        b += NR;
    }

    const int full = nr == NR;
    const __m256i m0 = lane_mask(nr), m1 = lane_mask(nr - 8);
    const __m256 alpha = _mm256_set1_ps(epilogue->alpha);
    const __m256 beta = _mm256_set1_ps(epilogue->beta);
    const int read_c = epilogue->beta != 0;
    __m256 bias0 = _mm256_setzero_ps(), bias1 = _mm256_setzero_ps();
    if (bias) {
        bias0 = _mm256_maskload_ps(bias, m0);
        bias1 = _mm256_maskload_ps(bias + 8, m1);
    }
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
        if (i < mr) {
            float *row = c + i * ldc;
            __m256 r0 = _mm256_fmadd_ps(acc[i][0], alpha, bias0);
            __m256 r1 = _mm256_fmadd_ps(acc[i][1], alpha, bias1);
            if (read_c) {
                r0 = _mm256_fmadd_ps(_mm256_maskload_ps(row, m0), beta, r0);
                r1 = _mm256_fmadd_ps(_mm256_maskload_ps(row + 8, m1), beta, r1);
            }
            if (full) {
                _mm256_storeu_ps(row, r0);
                _mm256_storeu_ps(row + 8, r1);
            } else {
                _mm256_maskstore_ps(row, m0, r0);
                _mm256_maskstore_ps(row + 8, m1, r1);
            }
        }
    }
}

TARGET
static void block_avx2(int64_t mc, int64_t nc, int64_t kc, const float *packed_a, const float *packed_b,
                       float *c, int64_t ldc, const ck_sgemm_epilogue *epilogue) {
    for (int64_t j = 0; j < nc; j += NR) {
        const float *bias = epilogue->bias ? epilogue->bias + j : 0;
        for (int64_t i = 0; i < mc; i += MR) {
            tile_avx2(kc, packed_a + i * kc, packed_b + j * kc, c + i * ldc + j, ldc,
                      ck_min64(MR, mc - i), ck_min64(NR, nc - j), epilogue, bias);
        }
    }
}

const ck_sgemm_kernel ck_sgemm_kernel_avx2 = {CK_ISA_AVX2, MR, NR, block_avx2, 0, "avx2-6x16"};
#endif
