// AVX2 bfloat16 GEMM kernel for CPUs without AVX-512: a 4x16 register tile (8 ymm accumulators). Each B pair is
// widened to two fp32 vectors per 8 columns (odd and even depth), A is packed as fp32 values already rounded to
// bfloat16, and each pair is added odd depth first, then even (the `vdpbf16ps` order).
#if defined(__x86_64__)
#include <immintrin.h>
#include "bgemm_internal.h"

#define MR 4
#define NR 16
#define TARGET __attribute__((target("avx2,fma")))

TARGET __attribute__((always_inline))
static inline void tile_avx2(int64_t pairs, const float *a, const uint16_t *b, float *c, int64_t ldc,
                             int64_t mr, int64_t nr, const ck_sgemm_epilogue *epilogue, const float *bias) {
    __m256 acc[MR][2];
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
        acc[i][0] = _mm256_setzero_ps();
        acc[i][1] = _mm256_setzero_ps();
    }
    const __m256i high = _mm256_set1_epi32((int)0xFFFF0000u);
#pragma clang loop unroll_count(2)
    for (int64_t q = 0; q < pairs; q++) {
        const __m256i w0 = _mm256_loadu_si256((const __m256i *)b);
        const __m256i w1 = _mm256_loadu_si256((const __m256i *)(b + 16));
        const __m256 odd0 = _mm256_castsi256_ps(_mm256_and_si256(w0, high));
        const __m256 odd1 = _mm256_castsi256_ps(_mm256_and_si256(w1, high));
        const __m256 even0 = _mm256_castsi256_ps(_mm256_slli_epi32(w0, 16));
        const __m256 even1 = _mm256_castsi256_ps(_mm256_slli_epi32(w1, 16));
#pragma clang loop unroll(full)
        for (int i = 0; i < MR; i++) {
            const __m256 ao = _mm256_broadcast_ss(a + MR + i);
            acc[i][0] = _mm256_fmadd_ps(ao, odd0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ao, odd1, acc[i][1]);
            const __m256 ae = _mm256_broadcast_ss(a + i);
            acc[i][0] = _mm256_fmadd_ps(ae, even0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ae, even1, acc[i][1]);
        }
        a += 2 * MR;
        b += 2 * NR;
    }
    float tile[MR * NR];
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
        _mm256_storeu_ps(tile + i * NR, acc[i][0]);
        _mm256_storeu_ps(tile + i * NR + 8, acc[i][1]);
    }
    ck_sgemm_store_tile(tile, NR, mr, nr, c, ldc, epilogue, bias);
}

TARGET
static void block_avx2(int64_t mc, int64_t nc, int64_t kc, const void *packed_a, const uint16_t *packed_b,
                       float *c, int64_t ldc, const ck_sgemm_epilogue *epilogue) {
    const int64_t pairs = (kc + 1) / 2;
    const float *a = packed_a;
    for (int64_t j = 0; j < nc; j += NR) {
        const float *bias = epilogue->bias ? epilogue->bias + j : 0;
        for (int64_t i = 0; i < mc; i += MR) {
            tile_avx2(pairs, a + i * 2 * pairs, packed_b + j * 2 * pairs, c + i * ldc + j, ldc,
                      ck_min64(MR, mc - i), ck_min64(NR, nc - j), epilogue, bias);
        }
    }
}

static void pack_a_avx2(const float *a, int64_t lda, int transposed, int64_t rows, int64_t kc, void *packed) {
    ck_bgemm_pack_a_widened(a, lda, transposed, rows, kc, MR, packed);
}

const ck_bgemm_kernel ck_bgemm_kernel_avx2 = {CK_ISA_AVX2, MR, NR, pack_a_avx2, block_avx2, "avx2-4x16"};
#endif
