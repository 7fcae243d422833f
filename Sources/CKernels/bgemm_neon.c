// NEON bfloat16 GEMM kernel (AArch64, for cores without BFDOT): an 8x8 register tile (16 q accumulators). Each B
// pair is widened to two fp32 vectors per 4 columns (odd and even depth), A is packed as fp32 values already
// rounded to bfloat16, and each pair is added odd depth first, then even (the order of x86's `vdpbf16ps`).
// Edge tiles go through a tile in memory and the scalar epilogue.
#if defined(__aarch64__)
#include <arm_neon.h>
#include "bgemm_internal.h"

#define MR 8
#define NR 8

#define FMA_ROW(i, av, lane, b0, b1)                          \
    acc[i][0] = vfmaq_laneq_f32(acc[i][0], b0, av, lane);     \
    acc[i][1] = vfmaq_laneq_f32(acc[i][1], b1, av, lane);

static inline void tile_neon(int64_t pairs, const float *a, const uint16_t *b, float *c, int64_t ldc,
                             int64_t mr, int64_t nr, const ck_sgemm_epilogue *epilogue, const float *bias) {
    float32x4_t acc[MR][2];
    for (int i = 0; i < MR; i++) {
        acc[i][0] = vdupq_n_f32(0);
        acc[i][1] = vdupq_n_f32(0);
    }
    const uint32x4_t high = vdupq_n_u32(0xFFFF0000u);
    for (int64_t q = 0; q < pairs; q++) {
        const uint32x4_t w0 = vld1q_u32((const uint32_t *)b), w1 = vld1q_u32((const uint32_t *)(b + 8));
        const float32x4_t odd0 = vreinterpretq_f32_u32(vandq_u32(w0, high));
        const float32x4_t odd1 = vreinterpretq_f32_u32(vandq_u32(w1, high));
        const float32x4_t even0 = vreinterpretq_f32_u32(vshlq_n_u32(w0, 16));
        const float32x4_t even1 = vreinterpretq_f32_u32(vshlq_n_u32(w1, 16));
        const float32x4_t ae0 = vld1q_f32(a), ae1 = vld1q_f32(a + 4);
        const float32x4_t ao0 = vld1q_f32(a + MR), ao1 = vld1q_f32(a + MR + 4);
        FMA_ROW(0, ao0, 0, odd0, odd1) FMA_ROW(1, ao0, 1, odd0, odd1) FMA_ROW(2, ao0, 2, odd0, odd1)
        FMA_ROW(3, ao0, 3, odd0, odd1) FMA_ROW(4, ao1, 0, odd0, odd1) FMA_ROW(5, ao1, 1, odd0, odd1)
        FMA_ROW(6, ao1, 2, odd0, odd1) FMA_ROW(7, ao1, 3, odd0, odd1)
        FMA_ROW(0, ae0, 0, even0, even1) FMA_ROW(1, ae0, 1, even0, even1) FMA_ROW(2, ae0, 2, even0, even1)
        FMA_ROW(3, ae0, 3, even0, even1) FMA_ROW(4, ae1, 0, even0, even1) FMA_ROW(5, ae1, 1, even0, even1)
        FMA_ROW(6, ae1, 2, even0, even1) FMA_ROW(7, ae1, 3, even0, even1)
        a += 2 * MR;
        b += 2 * NR;
    }
    float tile[MR * NR];
    for (int i = 0; i < MR; i++) {
        vst1q_f32(tile + i * NR, acc[i][0]);
        vst1q_f32(tile + i * NR + 4, acc[i][1]);
    }
    ck_sgemm_store_tile(tile, NR, mr, nr, c, ldc, epilogue, bias);
}

static void block_neon(int64_t mc, int64_t nc, int64_t kc, const void *packed_a, const uint16_t *packed_b,
                       float *c, int64_t ldc, const ck_sgemm_epilogue *epilogue) {
    const int64_t pairs = (kc + 1) / 2;
    const float *a = packed_a;
    for (int64_t j = 0; j < nc; j += NR) {
        const float *bias = epilogue->bias ? epilogue->bias + j : 0;
        for (int64_t i = 0; i < mc; i += MR) {
            tile_neon(pairs, a + i * 2 * pairs, packed_b + j * 2 * pairs, c + i * ldc + j, ldc,
                      ck_min64(MR, mc - i), ck_min64(NR, nc - j), epilogue, bias);
        }
    }
}

static void pack_a_neon(const float *a, int64_t lda, int transposed, int64_t rows, int64_t kc, void *packed) {
    ck_bgemm_pack_a_widened(a, lda, transposed, rows, kc, MR, packed);
}

const ck_bgemm_kernel ck_bgemm_kernel_neon = {CK_ISA_NEON, MR, NR, pack_a_neon, block_neon, "neon-8x8"};
#endif
