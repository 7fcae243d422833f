// AVX-512 SGEMM kernel: a 12x32 register tile (24 zmm accumulators, two B vectors, A broadcast from memory).
// Edge tiles are written with masked loads and stores, so C is never touched outside the block.
#if defined(__x86_64__)
#include <immintrin.h>
#include "gemm_internal.h"

#define MR 12
#define NR 32
#define TARGET __attribute__((target("avx512f,fma")))

TARGET __attribute__((always_inline))
static inline void store_row(float *row, __m512 r0, __m512 r1, __mmask16 m0, __mmask16 m1, int full) {
    if (full) {
        _mm512_storeu_ps(row, r0);
        _mm512_storeu_ps(row + 16, r1);
    } else {
        _mm512_mask_storeu_ps(row, m0, r0);
        _mm512_mask_storeu_ps(row + 16, m1, r1);
    }
}

// acc += A panel · B panel over depth kc. A is packed (element (i, p) at a[p*MR + i]) or, with `direct`, read in
// place (row i at a + i*lda). With `vectors` == 1 only the left 16 columns are computed (a narrow edge panel).
// `direct` and `vectors` are constants at every call, so each combination compiles to its own loop.
TARGET __attribute__((always_inline))
static inline void accumulate(__m512 acc[MR][2], int64_t kc, const float *a, int64_t lda, const int direct,
                              const int vectors, const float *b) {
    if (direct) {
        // Three bases reach all twelve rows with scaled indexing. Not unrolled: clang would then hoist the
        // broadcasts of later steps and run out of registers.
        const float *a4 = a + 4 * lda, *a8 = a + 8 * lda;
        const int64_t lda3 = 3 * lda;
#pragma clang loop unroll(disable)
        for (int64_t p = 0; p < kc; p++) {
            const __m512 b0 = _mm512_load_ps(b);
            const __m512 b1 = vectors == 2 ? _mm512_load_ps(b + 16) : b0;
#pragma clang loop unroll(full)
            for (int i = 0; i < MR; i++) {
                const float *base = i < 4 ? a : i < 8 ? a4 : a8;
                const int64_t offset = i % 4 == 3 ? lda3 : (i % 4) * lda;
                const __m512 ai = _mm512_set1_ps(base[offset]);
                acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
                if (vectors == 2) acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
            }
            a += 1;
            a4 += 1;
            a8 += 1;
            b += NR;
        }
    } else {
#pragma clang loop unroll_count(4)
        for (int64_t p = 0; p < kc; p++) {
            const __m512 b0 = _mm512_load_ps(b);
            const __m512 b1 = vectors == 2 ? _mm512_load_ps(b + 16) : b0;
#pragma clang loop unroll(full)
            for (int i = 0; i < MR; i++) {
                const __m512 ai = _mm512_set1_ps(a[i]);
                acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
                if (vectors == 2) acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
            }
            a += MR;
            b += NR;
        }
    }
}

// One mr x nr tile of C (mr <= MR, nr <= NR) through the epilogue.
TARGET __attribute__((always_inline))
static inline void tile_avx512(int64_t kc, const float *a, int64_t lda, const int direct, const float *b,
                               float *c, int64_t ldc, int64_t mr, int64_t nr,
                               const ck_sgemm_epilogue *epilogue, const float *bias) {
    __m512 acc[MR][2];
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
        acc[i][0] = _mm512_setzero_ps();
        acc[i][1] = _mm512_setzero_ps();
    }
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
        if (i < mr) {
            _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
            _mm_prefetch((const char *)(c + i * ldc + nr - 1), _MM_HINT_T0);
        }
    }
    if (nr > 16) {
        accumulate(acc, kc, a, lda, direct, 2, b);
    } else {
        accumulate(acc, kc, a, lda, direct, 1, b);
    }

    const int full = nr == NR;
    const __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
    const __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
    const __m512 alpha = _mm512_set1_ps(epilogue->alpha);
    const __m512 beta = _mm512_set1_ps(epilogue->beta);
    const int read_c = epilogue->beta != 0;
    __m512 bias0 = _mm512_setzero_ps(), bias1 = _mm512_setzero_ps();
    if (bias) {
        bias0 = _mm512_maskz_loadu_ps(m0, bias);
        bias1 = _mm512_maskz_loadu_ps(m1, bias + 16);
    }
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
        if (i < mr) {
            float *row = c + i * ldc;
            __m512 r0 = _mm512_fmadd_ps(acc[i][0], alpha, bias0);
            __m512 r1 = _mm512_fmadd_ps(acc[i][1], alpha, bias1);
            if (read_c) {
                r0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, row), beta, r0);
                r1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, row + 16), beta, r1);
            }
            store_row(row, r0, r1, m0, m1, full);
        }
    }
}

TARGET
static void block_avx512(int64_t mc, int64_t nc, int64_t kc, const float *packed_a, const float *packed_b,
                         float *c, int64_t ldc, const ck_sgemm_epilogue *epilogue) {
    for (int64_t j = 0; j < nc; j += NR) {
        const float *bias = epilogue->bias ? epilogue->bias + j : 0;
        for (int64_t i = 0; i < mc; i += MR) {
            tile_avx512(kc, packed_a + i * kc, 0, 0, packed_b + j * kc, c + i * ldc + j, ldc,
                        ck_min64(MR, mc - i), ck_min64(NR, nc - j), epilogue, bias);
        }
    }
}

TARGET
static void block_direct_avx512(int64_t mc, int64_t nc, int64_t kc, const float *a, int64_t lda,
                                const float *packed_b, float *c, int64_t ldc, const ck_sgemm_epilogue *epilogue) {
    for (int64_t j = 0; j < nc; j += NR) {
        const float *bias = epilogue->bias ? epilogue->bias + j : 0;
        for (int64_t i = 0; i < mc; i += MR) {
            tile_avx512(kc, a + i * lda, lda, 1, packed_b + j * kc, c + i * ldc + j, ldc,
                        MR, ck_min64(NR, nc - j), epilogue, bias);
        }
    }
}

const ck_sgemm_kernel ck_sgemm_kernel_avx512 = {CK_ISA_AVX512, MR, NR, block_avx512, block_direct_avx512,
                                                "avx512-12x32"};
#endif
