// AVX2 versions of the vector kernels: 8 floats per register, 32 per loop step.
#if defined(__x86_64__)
#include "vector_internal.h"
#include <immintrin.h>
#include <math.h>

#define AVX2 __attribute__((target("avx2,fma")))

static inline AVX2 __m256 apply(ck_binary_op op, __m256 x, __m256 y) {
    switch (op) {
    case CK_BINARY_ADD: return _mm256_add_ps(x, y);
    case CK_BINARY_SUB: return _mm256_sub_ps(x, y);
    default: return _mm256_mul_ps(x, y);
    }
}

// Always inlined with a constant op, so that each op gets its own branch-free loop.
static inline __attribute__((always_inline)) AVX2 void binary_loop(ck_binary_op op, const float *a, const float *b, float *out, size_t n) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 r0 = apply(op, _mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        __m256 r1 = apply(op, _mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        __m256 r2 = apply(op, _mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
        __m256 r3 = apply(op, _mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));
        _mm256_storeu_ps(out + i, r0);
        _mm256_storeu_ps(out + i + 8, r1);
        _mm256_storeu_ps(out + i + 16, r2);
        _mm256_storeu_ps(out + i + 24, r3);
    }
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, apply(op, _mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    ck_vector_kernels_scalar.binary(op, a + i, b + i, out + i, n - i);
}

static inline __attribute__((always_inline)) AVX2 void binary_scalar_loop(ck_binary_op op, const float *a, float b, float *out, size_t n) {
    __m256 y = _mm256_set1_ps(b);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 r0 = apply(op, _mm256_loadu_ps(a + i), y);
        __m256 r1 = apply(op, _mm256_loadu_ps(a + i + 8), y);
        __m256 r2 = apply(op, _mm256_loadu_ps(a + i + 16), y);
        __m256 r3 = apply(op, _mm256_loadu_ps(a + i + 24), y);
        _mm256_storeu_ps(out + i, r0);
        _mm256_storeu_ps(out + i + 8, r1);
        _mm256_storeu_ps(out + i + 16, r2);
        _mm256_storeu_ps(out + i + 24, r3);
    }
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, apply(op, _mm256_loadu_ps(a + i), y));
    ck_vector_kernels_scalar.binary_scalar(op, a + i, b, out + i, n - i);
}

static AVX2 void binary(ck_binary_op op, const float *a, const float *b, float *out, size_t n) {
    switch (op) {
    case CK_BINARY_ADD: binary_loop(CK_BINARY_ADD, a, b, out, n); break;
    case CK_BINARY_SUB: binary_loop(CK_BINARY_SUB, a, b, out, n); break;
    case CK_BINARY_MUL: binary_loop(CK_BINARY_MUL, a, b, out, n); break;
    }
}

static AVX2 void binary_scalar(ck_binary_op op, const float *a, float b, float *out, size_t n) {
    switch (op) {
    case CK_BINARY_ADD: binary_scalar_loop(CK_BINARY_ADD, a, b, out, n); break;
    case CK_BINARY_SUB: binary_scalar_loop(CK_BINARY_SUB, a, b, out, n); break;
    case CK_BINARY_MUL: binary_scalar_loop(CK_BINARY_MUL, a, b, out, n); break;
    }
}

static inline AVX2 float horizontal_sum(__m256 v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

static AVX2 float sum(const float *a, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(a + i));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(a + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_loadu_ps(a + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_loadu_ps(a + i + 24));
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_add_ps(s0, _mm256_loadu_ps(a + i));
    return horizontal_sum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3))) +
           ck_vector_kernels_scalar.sum(a + i, n - i);
}

static AVX2 float sum_squares(const float *a, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 x0 = _mm256_loadu_ps(a + i), x1 = _mm256_loadu_ps(a + i + 8);
        __m256 x2 = _mm256_loadu_ps(a + i + 16), x3 = _mm256_loadu_ps(a + i + 24);
        s0 = _mm256_fmadd_ps(x0, x0, s0);
        s1 = _mm256_fmadd_ps(x1, x1, s1);
        s2 = _mm256_fmadd_ps(x2, x2, s2);
        s3 = _mm256_fmadd_ps(x3, x3, s3);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(a + i);
        s0 = _mm256_fmadd_ps(x, x, s0);
    }
    return horizontal_sum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3))) +
           ck_vector_kernels_scalar.sum_squares(a + i, n - i);
}

static AVX2 float max(const float *a, size_t n) {
    __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0;
    __m256 nan = _mm256_setzero_ps();  // lanes become all-ones once a NaN is seen
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 x0 = _mm256_loadu_ps(a + i), x1 = _mm256_loadu_ps(a + i + 8);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(x0, x1, _CMP_UNORD_Q));
        m0 = _mm256_max_ps(m0, x0);
        m1 = _mm256_max_ps(m1, x1);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(a + i);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
        m0 = _mm256_max_ps(m0, x);
    }
    if (_mm256_movemask_ps(nan)) return NAN;
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_max_ps(m0, m1));
    float best = ck_vector_kernels_scalar.max(a + i, n - i);
    for (int k = 0; k < 8; k++) best = lanes[k] > best ? lanes[k] : best;
    return best;
}

/// Transposes one 8x8 tile in registers.
static inline AVX2 void transpose_tile(const float *src, size_t src_ld, float *dst, size_t dst_ld) {
    __m256 r0 = _mm256_loadu_ps(src + 0 * src_ld), r1 = _mm256_loadu_ps(src + 1 * src_ld);
    __m256 r2 = _mm256_loadu_ps(src + 2 * src_ld), r3 = _mm256_loadu_ps(src + 3 * src_ld);
    __m256 r4 = _mm256_loadu_ps(src + 4 * src_ld), r5 = _mm256_loadu_ps(src + 5 * src_ld);
    __m256 r6 = _mm256_loadu_ps(src + 6 * src_ld), r7 = _mm256_loadu_ps(src + 7 * src_ld);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
    _mm256_storeu_ps(dst + 0 * dst_ld, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(dst + 1 * dst_ld, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(dst + 2 * dst_ld, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(dst + 3 * dst_ld, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(dst + 4 * dst_ld, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(dst + 5 * dst_ld, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(dst + 6 * dst_ld, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(dst + 7 * dst_ld, _mm256_permute2f128_ps(u3, u7, 0x31));
}

AVX2 void ck_vector_transpose_avx2(const float *src, size_t src_ld, float *dst, size_t dst_ld, size_t rows, size_t cols) {
    size_t full_rows = rows & ~(size_t)7, full_cols = cols & ~(size_t)7;
    for (size_t r0 = 0; r0 < full_rows; r0 += CK_TRANSPOSE_BLOCK) {
        size_t r1 = r0 + CK_TRANSPOSE_BLOCK < full_rows ? r0 + CK_TRANSPOSE_BLOCK : full_rows;
        for (size_t c0 = 0; c0 < full_cols; c0 += CK_TRANSPOSE_BLOCK) {
            size_t c1 = c0 + CK_TRANSPOSE_BLOCK < full_cols ? c0 + CK_TRANSPOSE_BLOCK : full_cols;
            for (size_t r = r0; r < r1; r += 8)
                for (size_t c = c0; c < c1; c += 8) transpose_tile(src + r * src_ld + c, src_ld, dst + c * dst_ld + r, dst_ld);
        }
    }
    // Ragged edges: the columns right of the last full tile, then the rows below it.
    ck_vector_kernels_scalar.transpose(src + full_cols, src_ld, dst + full_cols * dst_ld, dst_ld, full_rows, cols - full_cols);
    ck_vector_kernels_scalar.transpose(src + full_rows * src_ld, src_ld, dst + full_rows, dst_ld, rows - full_rows, cols);
}

const ck_vector_kernels ck_vector_kernels_avx2 = {
    "avx2", binary, binary_scalar, sum, sum_squares, max, ck_vector_transpose_avx2,
};
#endif
