// AVX-512 bfloat16 GEMM kernels, both with a 12x32 register tile (24 zmm accumulators):
//   avx512bf16 — `vdpbf16ps` on bfloat16 pairs: A pairs broadcast from memory, two B vectors per pair of depths
//                (and shorter 10x32 and 8x32 forms of it, ck_bgemm_kernel_fitting);
//   avx512     — for AVX-512 CPUs without BF16: each B pair widened to two fp32 vectors (odd and even depth),
//                A packed as fp32 values already rounded to bfloat16, FMA odd then even (the `vdpbf16ps` order).
// Edge tiles are written with masked loads and stores, so C is never touched outside the block.
#if defined(__x86_64__)
#include <immintrin.h>
#include "avx512_transpose.h"
#include "bgemm_internal.h"

#define MR 12
#define NR 32
/// The shorter AVX512-BF16 forms' tile heights (ck_bgemm_kernel_fitting): head sizes 40 and 80 fill 10-row tiles,
/// where 12-row ones waste a sixth (attention's transposed weighted sum), and a convolution's blocks of 16, 32 or 64
/// Winograd tiles fill 8-row ones.
#define NARROW_MR 10
#define SHORT_MR 8
#define AVX512 __attribute__((target("avx512f")))
#define AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

// Writes the mr x nr corner of the accumulated tile to C through the epilogue.
AVX512 __attribute__((always_inline))
static inline void store_tile(__m512 acc[MR][2], float *c, int64_t ldc, int64_t mr, int64_t nr,
                              const ck_sgemm_epilogue *epilogue, const float *bias) {
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
            if (full) {
                _mm512_storeu_ps(row, r0);
                _mm512_storeu_ps(row + 16, r1);
            } else {
                _mm512_mask_storeu_ps(row, m0, r0);
                _mm512_mask_storeu_ps(row + 16, m1, r1);
            }
        }
    }
}

// MARK: vdpbf16ps

// One register tile of `rows` (12 or 10, a constant after inlining) x 32.
AVX512BF16 __attribute__((always_inline))
static inline void tile_bf16(int rows, int64_t pairs, const uint32_t *a, const uint16_t *b, float *c, int64_t ldc,
                             int64_t mr, int64_t nr, const ck_sgemm_epilogue *epilogue, const float *bias) {
    __m512 acc[MR][2];
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
        acc[i][0] = _mm512_setzero_ps();
        acc[i][1] = _mm512_setzero_ps();
    }
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
        if (i < mr) _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
    }
#pragma clang loop unroll_count(4)
    for (int64_t q = 0; q < pairs; q++) {
        const __m512bh b0 = (__m512bh)_mm512_load_si512(b);
        const __m512bh b1 = (__m512bh)_mm512_load_si512(b + 32);
#pragma clang loop unroll(full)
        for (int i = 0; i < MR; i++) {
            if (i < rows) {
                const __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[i]);
                acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
                acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
            }
        }
        a += rows;
        b += 2 * NR;
    }
    store_tile(acc, c, ldc, mr, nr, epilogue, bias);
}

// The blocks of `rows`-row panels of A (12, or 10 or 8 for the shorter forms).
AVX512BF16 __attribute__((always_inline))
static inline void block_rows(int rows, int64_t mc, int64_t nc, int64_t kc, const void *packed_a,
                              const uint16_t *packed_b, float *c, int64_t ldc, const ck_sgemm_epilogue *epilogue) {
    const int64_t pairs = (kc + 1) / 2;
    const uint32_t *a = packed_a;
    for (int64_t j = 0; j < nc; j += NR) {
        const float *bias = epilogue->bias ? epilogue->bias + j : 0;
        for (int64_t i = 0; i < mc; i += rows) {
            tile_bf16(rows, pairs, a + i * pairs, packed_b + j * 2 * pairs, c + i * ldc + j, ldc,
                      ck_min64(rows, mc - i), ck_min64(NR, nc - j), epilogue, bias);
        }
    }
}

AVX512BF16
static void block_bf16(int64_t mc, int64_t nc, int64_t kc, const void *packed_a, const uint16_t *packed_b,
                       float *c, int64_t ldc, const ck_sgemm_epilogue *epilogue) {
    block_rows(MR, mc, nc, kc, packed_a, packed_b, c, ldc, epilogue);
}

AVX512BF16
static void block_bf16_short(int64_t mc, int64_t nc, int64_t kc, const void *packed_a, const uint16_t *packed_b,
                             float *c, int64_t ldc, const ck_sgemm_epilogue *epilogue) {
    block_rows(SHORT_MR, mc, nc, kc, packed_a, packed_b, c, ldc, epilogue);
}

AVX512BF16
static void block_bf16_narrow(int64_t mc, int64_t nc, int64_t kc, const void *packed_a, const uint16_t *packed_b,
                              float *c, int64_t ldc, const ck_sgemm_epilogue *epilogue) {
    block_rows(NARROW_MR, mc, nc, kc, packed_a, packed_b, c, ldc, epilogue);
}

// Rounds the `used` (<= 16) rows at `m` (row stride `ld`) from depth p0 on (up to 32 depths, `kc` in all) to
// bfloat16 pairs and transposes them: `columns[t]` holds pair p0/2 + t of every row (rows past `used` zero).
AVX512BF16 __attribute__((always_inline))
static inline void convert_and_transpose(const float *m, int64_t ld, int64_t used, int64_t p0, int64_t kc,
                                         __m512i columns[16]) {
    const int64_t left = kc - p0;
    const __mmask16 lo = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
    const __mmask16 hi = left >= 32 ? (__mmask16)0xFFFF : left <= 16 ? 0 : (__mmask16)((1u << (left - 16)) - 1);
    __m512i words[16];
#pragma clang loop unroll(full)
    for (int i = 0; i < 16; i++) {
        words[i] = _mm512_setzero_si512();
        if (i < used) {
            const float *row = m + i * ld + p0;
            if (left > 96) {  // two steps ahead: 16 rows at a time outrun the hardware prefetchers
                _mm_prefetch((const char *)(row + 64), _MM_HINT_T0);
                _mm_prefetch((const char *)(row + 80), _MM_HINT_T0);
            }
            const __m512 x0 = _mm512_maskz_loadu_ps(lo, row);
            const __m512 x1 = _mm512_maskz_loadu_ps(hi, row + 16);
            words[i] = (__m512i)_mm512_cvtne2ps_pbh(x1, x0);
        }
    }
    transpose_16x16(words, columns);
}

// The bfloat16 pairs of `width` (<= 16) neighbouring columns of a row-major [kc x n] matrix `m` (row p = depth p):
// for each pair q, columns [first, first + width) of depths 2q and 2q + 1 (zero past `n` and past `kc`) rounded
// together by `vcvtne2ps2bf16`, interleaved into pairs by one word permute, and stored as `width` words at
// panel + q * stride. A plain B's panels take 16 columns at a time, a transposed A's one whole 12-row panel.
AVX512BF16 __attribute__((always_inline))
static inline void pack_column_pairs(const float *m, int64_t ld, int64_t first, int64_t width, int64_t n, int64_t kc,
                                     uint32_t *panel, int64_t stride) {
    // Word 2t of a pair vector is word t of the converted depth 2q (the low half), word 2t + 1 word t of depth
    // 2q + 1 (the high half).
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7,
                                                22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const int64_t left = ck_min64(width, n - first);
    const __mmask16 lanes = left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
    const __mmask16 stored = (__mmask16)((1u << width) - 1);
    for (int64_t q = 0; q < (kc + 1) / 2; q++) {
        const float *even = m + 2 * q * ld + first;
        const __m512 low = _mm512_maskz_loadu_ps(lanes, even);
        const __m512 high = 2 * q + 1 < kc ? _mm512_maskz_loadu_ps(lanes, even + ld) : _mm512_setzero_ps();
        const __m512i words = _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(high, low));
        _mm512_mask_storeu_epi32(panel + q * stride, stored, words);
    }
}

// A for `vdpbf16ps`: panels of `rows` (12, or 10 or 8 for the shorter forms) rows of bfloat16 pairs (the pair (i, q),
// depths 2q and 2q+1 of row i, as one 32-bit word at q*rows + i), depth padded with zeros to even, rows past
// `count` zero. Rows of A are rounded 32 depths (16 pairs) at a time with `vcvtne2ps2bf16`, transposed in
// registers and stored `rows` words (one pair of depths of the panel's rows) at a time; a transposed A by
// pack_column_pairs.
AVX512BF16 __attribute__((always_inline))
static inline void pack_a_rows(int rows, const float *a, int64_t lda, int transposed, int64_t count, int64_t kc,
                               void *packed) {
    const int64_t pairs = (kc + 1) / 2;
    uint32_t *panel = packed;
    if (transposed) {  // `a` holds the [kc x count] matrix A^T: a panel's rows are neighbouring columns of it
        for (int64_t first = 0; first < count; first += rows, panel += rows * pairs) {
            pack_column_pairs(a, lda, first, rows, count, kc, panel, rows);
        }
        return;
    }
    const __mmask16 stored = (__mmask16)((1u << rows) - 1);
    for (int64_t first = 0; first < count; first += rows) {
        const int64_t used = ck_min64(rows, count - first);
        for (int64_t p0 = 0; p0 < kc; p0 += 32) {
            __m512i columns[16];
            convert_and_transpose(a + first * lda, lda, used, p0, kc, columns);
            const int64_t step = ck_min64(16, pairs - p0 / 2);
            uint32_t *out = panel + (p0 / 2) * rows;
#pragma clang loop unroll(full)
            for (int t = 0; t < 16; t++) {
                if (t < step) _mm512_mask_storeu_epi32(out + t * rows, stored, columns[t]);
            }
        }
        panel += rows * pairs;
    }
}

AVX512BF16
static void pack_a_bf16(const float *a, int64_t lda, int transposed, int64_t rows, int64_t kc, void *packed) {
    pack_a_rows(MR, a, lda, transposed, rows, kc, packed);
}

AVX512BF16
static void pack_a_bf16_narrow(const float *a, int64_t lda, int transposed, int64_t rows, int64_t kc, void *packed) {
    pack_a_rows(NARROW_MR, a, lda, transposed, rows, kc, packed);
}

AVX512BF16
static void pack_a_bf16_short(const float *a, int64_t lda, int transposed, int64_t rows, int64_t kc, void *packed) {
    pack_a_rows(SHORT_MR, a, lda, transposed, rows, kc, packed);
}

// ck_bgemm_pack_b for a transposed B (`b` holds the [n x kc] matrix B^T, row j = column j of B) and a panel width
// that is a multiple of 16: each pair of depths of column j is two neighbouring floats of row j, so 16 rows are
// rounded 32 depths at a time and transposed in registers, as A is.
AVX512BF16
void ck_bgemm_pack_b_transposed_avx512bf16(const float *b, int64_t ldb, int64_t n, int64_t kc, int32_t nr,
                                           uint16_t *dst) {
    const int64_t pairs = (kc + 1) / 2;
    uint32_t *panel = (uint32_t *)dst;
    for (int64_t first = 0; first < n; first += nr) {
        for (int64_t group = 0; group < nr; group += 16) {
            const int64_t used = first + group < n ? ck_min64(16, n - first - group) : 0;
            for (int64_t p0 = 0; p0 < kc; p0 += 32) {
                __m512i columns[16];
                convert_and_transpose(b + (first + group) * ldb, ldb, used, p0, kc, columns);
                const int64_t count = ck_min64(16, pairs - p0 / 2);
                uint32_t *out = panel + (p0 / 2) * nr + group;
#pragma clang loop unroll(full)
                for (int t = 0; t < 16; t++) {
                    if (t < count) _mm512_storeu_si512(out + t * nr, columns[t]);
                }
            }
        }
        panel += nr * pairs;
    }
}

// ck_bgemm_pack_b for a plain B (`b` holds the [kc x n] matrix) and a panel width that is a multiple of 16.
AVX512BF16
void ck_bgemm_pack_b_rows_avx512bf16(const float *b, int64_t ldb, int64_t n, int64_t kc, int32_t nr, uint16_t *dst) {
    uint32_t *panel = (uint32_t *)dst;
    for (int64_t first = 0; first < n; first += nr) {
        for (int64_t group = 0; group < nr; group += 16) {
            pack_column_pairs(b, ldb, first + group, 16, n, kc, panel + group, nr);
        }
        panel += nr * ((kc + 1) / 2);
    }
}

const ck_bgemm_kernel ck_bgemm_kernel_avx512bf16 = {CK_ISA_AVX512BF16, MR, NR, pack_a_bf16, block_bf16,
                                                    "avx512bf16-12x32"};
const ck_bgemm_kernel ck_bgemm_kernel_avx512bf16_narrow = {CK_ISA_AVX512BF16, NARROW_MR, NR, pack_a_bf16_narrow,
                                                           block_bf16_narrow, "avx512bf16-10x32"};
const ck_bgemm_kernel ck_bgemm_kernel_avx512bf16_short = {CK_ISA_AVX512BF16, SHORT_MR, NR, pack_a_bf16_short,
                                                          block_bf16_short, "avx512bf16-8x32"};

// MARK: widened (AVX-512F without BF16)

AVX512 __attribute__((always_inline))
static inline void tile_widened(int64_t pairs, const float *a, const uint16_t *b, float *c, int64_t ldc,
                                int64_t mr, int64_t nr, const ck_sgemm_epilogue *epilogue, const float *bias) {
    __m512 acc[MR][2];
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
        acc[i][0] = _mm512_setzero_ps();
        acc[i][1] = _mm512_setzero_ps();
    }
    const __m512i high = _mm512_set1_epi32((int)0xFFFF0000u);
#pragma clang loop unroll_count(2)
    for (int64_t q = 0; q < pairs; q++) {
        const __m512i w0 = _mm512_load_si512(b), w1 = _mm512_load_si512(b + 32);
        const __m512 odd0 = _mm512_castsi512_ps(_mm512_and_si512(w0, high));
        const __m512 odd1 = _mm512_castsi512_ps(_mm512_and_si512(w1, high));
        const __m512 even0 = _mm512_castsi512_ps(_mm512_slli_epi32(w0, 16));
        const __m512 even1 = _mm512_castsi512_ps(_mm512_slli_epi32(w1, 16));
#pragma clang loop unroll(full)
        for (int i = 0; i < MR; i++) {
            const __m512 ao = _mm512_set1_ps(a[MR + i]);
            acc[i][0] = _mm512_fmadd_ps(ao, odd0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(ao, odd1, acc[i][1]);
            const __m512 ae = _mm512_set1_ps(a[i]);
            acc[i][0] = _mm512_fmadd_ps(ae, even0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(ae, even1, acc[i][1]);
        }
        a += 2 * MR;
        b += 2 * NR;
    }
    store_tile(acc, c, ldc, mr, nr, epilogue, bias);
}

AVX512
static void block_widened(int64_t mc, int64_t nc, int64_t kc, const void *packed_a, const uint16_t *packed_b,
                          float *c, int64_t ldc, const ck_sgemm_epilogue *epilogue) {
    const int64_t pairs = (kc + 1) / 2;
    const float *a = packed_a;
    for (int64_t j = 0; j < nc; j += NR) {
        const float *bias = epilogue->bias ? epilogue->bias + j : 0;
        for (int64_t i = 0; i < mc; i += MR) {
            tile_widened(pairs, a + i * 2 * pairs, packed_b + j * 2 * pairs, c + i * ldc + j, ldc,
                         ck_min64(MR, mc - i), ck_min64(NR, nc - j), epilogue, bias);
        }
    }
}

static void pack_a_widened(const float *a, int64_t lda, int transposed, int64_t rows, int64_t kc, void *packed) {
    ck_bgemm_pack_a_widened(a, lda, transposed, rows, kc, MR, packed);
}

const ck_bgemm_kernel ck_bgemm_kernel_avx512 = {CK_ISA_AVX512, MR, NR, pack_a_widened, block_widened, "avx512-12x32"};
#endif
