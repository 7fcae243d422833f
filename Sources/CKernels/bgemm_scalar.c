// bfloat16 GEMM: rounding, the portable packing routines every variant can use, and the portable kernel
// (4x4 tile, bfloat16 widened to fp32).
#include "bgemm_internal.h"

#define MR 4
#define NR 4

uint16_t ck_bf16_round(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    const uint32_t magnitude = bits & 0x7fffffffu;
    if (magnitude > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40u);   // NaN: quieted
    if (magnitude < 0x00800000u) return (uint16_t)((bits >> 16) & 0x8000u); // zero or subnormal: signed zero
    // Round to nearest, ties to even; the largest finite values round up to infinity, infinity stays.
    return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

void ck_bf16_round_f32(const float *src, float *dst, int64_t count) {
    for (int64_t i = 0; i < count; i++) dst[i] = ck_bf16_widen(ck_bf16_round(src[i]));
}

/// `m[row*ld + column]`, or `m[column*ld + row]` when `transposed`.
static inline float element(const float *m, int64_t ld, int transposed, int64_t row, int64_t column) {
    return transposed ? m[column * ld + row] : m[row * ld + column];
}

void ck_bgemm_pack_b(const float *b, int64_t ldb, int transposed, int64_t n, int64_t kc, int32_t nr, uint16_t *dst) {
#if defined(__x86_64__)
    // Layers pack transposed weights ([out, in]), attention plain values ([keys, d]); the vector forms round them
    // as this loop does.
    if (nr % 16 == 0 && ck_bgemm_kernel_for(CK_ISA_AVX512BF16)) {
        if (transposed) {
            ck_bgemm_pack_b_transposed_avx512bf16(b, ldb, n, kc, nr, dst);
        } else {
            ck_bgemm_pack_b_rows_avx512bf16(b, ldb, n, kc, nr, dst);
        }
        return;
    }
#endif
    const int64_t kp = (kc + 1) / 2 * 2;
    for (int64_t first = 0; first < n; first += nr) {
        const int64_t used = ck_min64(nr, n - first);
        for (int64_t p = 0; p < kp; p++) {
            uint16_t *line = dst + (p / 2) * 2 * nr + p % 2;
            for (int64_t j = 0; j < nr; j++) {
                // op(B)[p][j] is b[p*ldb + j], or b[j*ldb + p] when transposed: `element` with the roles swapped.
                line[2 * j] = j < used && p < kc ? ck_bf16_round(element(b, ldb, !transposed, first + j, p)) : 0;
            }
        }
        dst += nr * kp;
    }
}

void ck_bgemm_pack_a_widened(const float *a, int64_t lda, int transposed, int64_t rows, int64_t kc, int32_t mr,
                             float *packed) {
    const int64_t kp = (kc + 1) / 2 * 2;
    for (int64_t first = 0; first < rows; first += mr) {
        const int64_t used = ck_min64(mr, rows - first);
        for (int64_t p = 0; p < kp; p++) {
            for (int64_t i = 0; i < mr; i++) {
                const float value = i < used && p < kc ? element(a, lda, transposed, first + i, p) : 0;
                packed[p * mr + i] = ck_bf16_widen(ck_bf16_round(value));
            }
        }
        packed += mr * kp;
    }
}

static void pack_a_scalar(const float *a, int64_t lda, int transposed, int64_t rows, int64_t kc, void *packed) {
    ck_bgemm_pack_a_widened(a, lda, transposed, rows, kc, MR, packed);
}

// Each pair adds its odd depth first, then its even one, each product exact in fp32 and each sum rounded: the
// order `vdpbf16ps` uses, so this variant gives its results.
static void tile_scalar(int64_t kc, const float *a, const uint16_t *b, float *c, int64_t ldc,
                        int64_t mr, int64_t nr, const ck_sgemm_epilogue *epilogue, const float *bias) {
    float acc[MR][NR] = {{0}};
    for (int64_t q = 0; q < (kc + 1) / 2; q++) {
        for (int i = 0; i < MR; i++) {
            for (int j = 0; j < NR; j++) {
                acc[i][j] += a[MR + i] * ck_bf16_widen(b[2 * j + 1]);
                acc[i][j] += a[i] * ck_bf16_widen(b[2 * j]);
            }
        }
        a += 2 * MR;
        b += 2 * NR;
    }
    ck_sgemm_store_tile(&acc[0][0], NR, mr, nr, c, ldc, epilogue, bias);
}

static void block_scalar(int64_t mc, int64_t nc, int64_t kc, const void *packed_a, const uint16_t *packed_b,
                         float *c, int64_t ldc, const ck_sgemm_epilogue *epilogue) {
    const int64_t kp = (kc + 1) / 2 * 2;
    const float *a = packed_a;
    for (int64_t j = 0; j < nc; j += NR) {
        const float *bias = epilogue->bias ? epilogue->bias + j : 0;
        for (int64_t i = 0; i < mc; i += MR) {
            tile_scalar(kc, a + i * kp, packed_b + j * kp, c + i * ldc + j, ldc,
                        ck_min64(MR, mc - i), ck_min64(NR, nc - j), epilogue, bias);
        }
    }
}

const ck_bgemm_kernel ck_bgemm_kernel_scalar = {CK_ISA_SCALAR, MR, NR, pack_a_scalar, block_scalar, "scalar-4x4"};
