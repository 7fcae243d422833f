// AVX-512 versions of the vector kernels: 16 floats per register, 64 per loop step, masked tails.
#if defined(__x86_64__)
#include "vector_internal.h"
#include <immintrin.h>
#include <math.h>

#define AVX512 __attribute__((target("avx512f,fma")))

static inline AVX512 __m512 apply(ck_binary_op op, __m512 x, __m512 y) {
    switch (op) {
    case CK_BINARY_ADD: return _mm512_add_ps(x, y);
    case CK_BINARY_SUB: return _mm512_sub_ps(x, y);
    default: return _mm512_mul_ps(x, y);
    }
}

/// The mask selecting the first `n` (< 16) lanes.
static inline AVX512 __mmask16 tail_mask(size_t n) { return (__mmask16)((1u << n) - 1); }

// Always inlined with a constant op, so that each op gets its own branch-free loop.
static inline __attribute__((always_inline)) AVX512 void binary_loop(ck_binary_op op, const float *a, const float *b, float *out, size_t n) {
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512 r0 = apply(op, _mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        __m512 r1 = apply(op, _mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        __m512 r2 = apply(op, _mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
        __m512 r3 = apply(op, _mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));
        _mm512_storeu_ps(out + i, r0);
        _mm512_storeu_ps(out + i + 16, r1);
        _mm512_storeu_ps(out + i + 32, r2);
        _mm512_storeu_ps(out + i + 48, r3);
    }
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, apply(op, _mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i)));
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(out + i, m, apply(op, _mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i)));
    }
}

static inline __attribute__((always_inline)) AVX512 void binary_scalar_loop(ck_binary_op op, const float *a, float b, float *out, size_t n) {
    __m512 y = _mm512_set1_ps(b);
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512 r0 = apply(op, _mm512_loadu_ps(a + i), y);
        __m512 r1 = apply(op, _mm512_loadu_ps(a + i + 16), y);
        __m512 r2 = apply(op, _mm512_loadu_ps(a + i + 32), y);
        __m512 r3 = apply(op, _mm512_loadu_ps(a + i + 48), y);
        _mm512_storeu_ps(out + i, r0);
        _mm512_storeu_ps(out + i + 16, r1);
        _mm512_storeu_ps(out + i + 32, r2);
        _mm512_storeu_ps(out + i + 48, r3);
    }
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, apply(op, _mm512_loadu_ps(a + i), y));
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(out + i, m, apply(op, _mm512_maskz_loadu_ps(m, a + i), y));
    }
}

static AVX512 void binary(ck_binary_op op, const float *a, const float *b, float *out, size_t n) {
    switch (op) {
    case CK_BINARY_ADD: binary_loop(CK_BINARY_ADD, a, b, out, n); break;
    case CK_BINARY_SUB: binary_loop(CK_BINARY_SUB, a, b, out, n); break;
    case CK_BINARY_MUL: binary_loop(CK_BINARY_MUL, a, b, out, n); break;
    }
}

static AVX512 void binary_scalar(ck_binary_op op, const float *a, float b, float *out, size_t n) {
    switch (op) {
    case CK_BINARY_ADD: binary_scalar_loop(CK_BINARY_ADD, a, b, out, n); break;
    case CK_BINARY_SUB: binary_scalar_loop(CK_BINARY_SUB, a, b, out, n); break;
    case CK_BINARY_MUL: binary_scalar_loop(CK_BINARY_MUL, a, b, out, n); break;
    }
}

static AVX512 float sum(const float *a, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_add_ps(s0, _mm512_loadu_ps(a + i));
        s1 = _mm512_add_ps(s1, _mm512_loadu_ps(a + i + 16));
        s2 = _mm512_add_ps(s2, _mm512_loadu_ps(a + i + 32));
        s3 = _mm512_add_ps(s3, _mm512_loadu_ps(a + i + 48));
    }
    for (; i + 16 <= n; i += 16) s0 = _mm512_add_ps(s0, _mm512_loadu_ps(a + i));
    if (i < n) s1 = _mm512_add_ps(s1, _mm512_maskz_loadu_ps(tail_mask(n - i), a + i));
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static AVX512 float sum_squares(const float *a, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512 x0 = _mm512_loadu_ps(a + i), x1 = _mm512_loadu_ps(a + i + 16);
        __m512 x2 = _mm512_loadu_ps(a + i + 32), x3 = _mm512_loadu_ps(a + i + 48);
        s0 = _mm512_fmadd_ps(x0, x0, s0);
        s1 = _mm512_fmadd_ps(x1, x1, s1);
        s2 = _mm512_fmadd_ps(x2, x2, s2);
        s3 = _mm512_fmadd_ps(x3, x3, s3);
    }
    for (; i + 16 <= n; i += 16) {
        __m512 x = _mm512_loadu_ps(a + i);
        s0 = _mm512_fmadd_ps(x, x, s0);
    }
    if (i < n) {
        __m512 x = _mm512_maskz_loadu_ps(tail_mask(n - i), a + i);
        s1 = _mm512_fmadd_ps(x, x, s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static AVX512 float max(const float *a, size_t n) {
    __m512 m0 = _mm512_set1_ps(-INFINITY), m1 = m0;
    __mmask16 nan = 0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 x0 = _mm512_loadu_ps(a + i), x1 = _mm512_loadu_ps(a + i + 16);
        nan |= _mm512_cmp_ps_mask(x0, x1, _CMP_UNORD_Q);  // true where either lane is NaN
        m0 = _mm512_max_ps(m0, x0);
        m1 = _mm512_max_ps(m1, x1);
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : tail_mask(n - i);
        __m512 x = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), m, a + i);
        nan |= _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
        m0 = _mm512_max_ps(m0, x);
    }
    return nan ? NAN : _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
}

const ck_vector_kernels ck_vector_kernels_avx512 = {
    "avx512", binary, binary_scalar, sum, sum_squares, max, ck_vector_transpose_avx2,
};
#endif
