// NEON versions of the elementwise kernels (4 floats per register); reductions and the transpose use the scalar
// variant's loops, which clang vectorises for AArch64 where the order of operations allows.
#if defined(__aarch64__)
#include "vector_internal.h"
#include <arm_neon.h>

static inline float32x4_t apply(ck_binary_op op, float32x4_t x, float32x4_t y) {
    switch (op) {
    case CK_BINARY_ADD: return vaddq_f32(x, y);
    case CK_BINARY_SUB: return vsubq_f32(x, y);
    default: return vmulq_f32(x, y);
    }
}

static void binary(ck_binary_op op, const float *a, const float *b, float *out, size_t n) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(out + i, apply(op, vld1q_f32(a + i), vld1q_f32(b + i)));
    ck_vector_kernels_scalar.binary(op, a + i, b + i, out + i, n - i);
}

static void binary_scalar(ck_binary_op op, const float *a, float b, float *out, size_t n) {
    float32x4_t y = vdupq_n_f32(b);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(out + i, apply(op, vld1q_f32(a + i), y));
    ck_vector_kernels_scalar.binary_scalar(op, a + i, b, out + i, n - i);
}

static float sum(const float *a, size_t n) {
    float32x4_t s = vdupq_n_f32(0);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) s = vaddq_f32(s, vld1q_f32(a + i));
    return vaddvq_f32(s) + ck_vector_kernels_scalar.sum(a + i, n - i);
}

static float sum_squares(const float *a, size_t n) {
    float32x4_t s = vdupq_n_f32(0);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t x = vld1q_f32(a + i);
        s = vfmaq_f32(s, x, x);
    }
    return vaddvq_f32(s) + ck_vector_kernels_scalar.sum_squares(a + i, n - i);
}

static void transpose(const float *src, size_t src_ld, float *dst, size_t dst_ld, size_t rows, size_t cols) {
    ck_vector_kernels_scalar.transpose(src, src_ld, dst, dst_ld, rows, cols);
}

static float max(const float *a, size_t n) { return ck_vector_kernels_scalar.max(a, n); }

const ck_vector_kernels ck_vector_kernels_neon = {
    "neon", binary, binary_scalar, sum, sum_squares, max, transpose,
};
#endif
