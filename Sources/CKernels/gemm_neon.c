// NEON SGEMM kernel (AArch64): an 8x12 register tile (24 q accumulators, three B vectors, two A vectors used
// by lane). Edge tiles go through a tile in memory and the scalar epilogue.
#if defined(__aarch64__)
#include <arm_neon.h>
#include "gemm_internal.h"

#define MR 8
#define NR 12

#define FMA_ROW(i, av, lane)                                   \
    acc[i][0] = vfmaq_laneq_f32(acc[i][0], b0, av, lane);     \
    acc[i][1] = vfmaq_laneq_f32(acc[i][1], b1, av, lane);     \
    acc[i][2] = vfmaq_laneq_f32(acc[i][2], b2, av, lane);

static inline void tile_neon(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                             int64_t mr, int64_t nr, const ck_sgemm_epilogue *epilogue, const float *bias) {
    float32x4_t acc[MR][3];
    for (int i = 0; i < MR; i++) {
        for (int j = 0; j < 3; j++) acc[i][j] = vdupq_n_f32(0);
    }
    for (int64_t p = 0; p < kc; p++) {
        const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
        const float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
        FMA_ROW(0, a0, 0) FMA_ROW(1, a0, 1) FMA_ROW(2, a0, 2) FMA_ROW(3, a0, 3)
        FMA_ROW(4, a1, 0) FMA_ROW(5, a1, 1) FMA_ROW(6, a1, 2) FMA_ROW(7, a1, 3)
        a += MR;
        b += NR;
    }

    if (mr == MR && nr == NR) {
        const float32x4_t alpha = vdupq_n_f32(epilogue->alpha), beta = vdupq_n_f32(epilogue->beta);
        const float32x4_t zero = vdupq_n_f32(0);
        const float32x4_t bias0 = bias ? vld1q_f32(bias) : zero;
        const float32x4_t bias1 = bias ? vld1q_f32(bias + 4) : zero;
        const float32x4_t bias2 = bias ? vld1q_f32(bias + 8) : zero;
        for (int i = 0; i < MR; i++) {
            float *row = c + i * ldc;
            float32x4_t r0 = vfmaq_f32(bias0, acc[i][0], alpha);
            float32x4_t r1 = vfmaq_f32(bias1, acc[i][1], alpha);
            float32x4_t r2 = vfmaq_f32(bias2, acc[i][2], alpha);
            if (epilogue->beta != 0) {
                r0 = vfmaq_f32(r0, vld1q_f32(row), beta);
                r1 = vfmaq_f32(r1, vld1q_f32(row + 4), beta);
                r2 = vfmaq_f32(r2, vld1q_f32(row + 8), beta);
            }
            vst1q_f32(row, r0);
            vst1q_f32(row + 4, r1);
            vst1q_f32(row + 8, r2);
        }
    } else {
        float tile[MR * NR];
        for (int i = 0; i < MR; i++) {
            for (int j = 0; j < 3; j++) vst1q_f32(tile + i * NR + 4 * j, acc[i][j]);
        }
        ck_sgemm_store_tile(tile, NR, mr, nr, c, ldc, epilogue, bias);
    }
}

static void block_neon(int64_t mc, int64_t nc, int64_t kc, const float *packed_a, const float *packed_b,
                       float *c, int64_t ldc, const ck_sgemm_epilogue *epilogue) {
    for (int64_t j = 0; j < nc; j += NR) {
        const float *bias = epilogue->bias ? epilogue->bias + j : 0;
        for (int64_t i = 0; i < mc; i += MR) {
            tile_neon(kc, packed_a + i * kc, packed_b + j * kc, c + i * ldc + j, ldc,
                      ck_min64(MR, mc - i), ck_min64(NR, nc - j), epilogue, bias);
        }
    }
}

const ck_sgemm_kernel ck_sgemm_kernel_neon = {CK_ISA_NEON, MR, NR, block_neon, 0, "neon-8x12"};
#endif
