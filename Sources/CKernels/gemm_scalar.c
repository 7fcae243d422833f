// Portable SGEMM kernel (4x4 register tile) and the scalar epilogue every variant can fall back on.
#include "gemm_internal.h"

#define MR 4
#define NR 4

void ck_sgemm_store_tile(const float *tile, int64_t ld_tile, int64_t mr, int64_t nr,
                         float *c, int64_t ldc, const ck_sgemm_epilogue *epilogue, const float *bias) {
    const float alpha = epilogue->alpha, beta = epilogue->beta;
    for (int64_t i = 0; i < mr; i++) {
        float *row = c + i * ldc;
        for (int64_t j = 0; j < nr; j++) {
            float value = alpha * tile[i * ld_tile + j];
            if (beta != 0) value += beta * row[j];
            if (bias) value += bias[j];
            row[j] = value;
        }
    }
}

static void tile_scalar(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                        int64_t mr, int64_t nr, const ck_sgemm_epilogue *epilogue, const float *bias) {
    float acc[MR][NR] = {{0}};
    for (int64_t p = 0; p < kc; p++) {
#pragma clang loop unroll(full)
        for (int i = 0; i < MR; i++) {
#pragma clang loop unroll(full)
            for (int j = 0; j < NR; j++) acc[i][j] += a[i] * b[j];
        }
        a += MR;
        b += NR;
    }
    ck_sgemm_store_tile(&acc[0][0], NR, mr, nr, c, ldc, epilogue, bias);
}

static void block_scalar(int64_t mc, int64_t nc, int64_t kc, const float *packed_a, const float *packed_b,
                         float *c, int64_t ldc, const ck_sgemm_epilogue *epilogue) {
    for (int64_t j = 0; j < nc; j += NR) {
        const float *bias = epilogue->bias ? epilogue->bias + j : 0;
        for (int64_t i = 0; i < mc; i += MR) {
            tile_scalar(kc, packed_a + i * kc, packed_b + j * kc, c + i * ldc + j, ldc,
                        ck_min64(MR, mc - i), ck_min64(NR, nc - j), epilogue, bias);
        }
    }
}

const ck_sgemm_kernel ck_sgemm_kernel_scalar = {CK_ISA_SCALAR, MR, NR, block_scalar, 0, "scalar-4x4"};
