// Portable reference versions of the vector kernels; the SIMD variants use them for loop tails and edge tiles.
#include "vector_internal.h"
#include <math.h>

static void binary(ck_binary_op op, const float *a, const float *b, float *out, size_t n) {
    switch (op) {
    case CK_BINARY_ADD: for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i]; break;
    case CK_BINARY_SUB: for (size_t i = 0; i < n; i++) out[i] = a[i] - b[i]; break;
    case CK_BINARY_MUL: for (size_t i = 0; i < n; i++) out[i] = a[i] * b[i]; break;
    }
}

static void binary_scalar(ck_binary_op op, const float *a, float b, float *out, size_t n) {
    switch (op) {
    case CK_BINARY_ADD: for (size_t i = 0; i < n; i++) out[i] = a[i] + b; break;
    case CK_BINARY_SUB: for (size_t i = 0; i < n; i++) out[i] = a[i] - b; break;
    case CK_BINARY_MUL: for (size_t i = 0; i < n; i++) out[i] = a[i] * b; break;
    }
}

static float sum(const float *a, size_t n) {
    float total = 0;
    for (size_t i = 0; i < n; i++) total += a[i];
    return total;
}

static float sum_squares(const float *a, size_t n) {
    float total = 0;
    for (size_t i = 0; i < n; i++) total += a[i] * a[i];
    return total;
}

static float max(const float *a, size_t n) {
    float best = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i])) return NAN;
        if (a[i] > best) best = a[i];
    }
    return best;
}

static void transpose(const float *src, size_t src_ld, float *dst, size_t dst_ld, size_t rows, size_t cols) {
    for (size_t r0 = 0; r0 < rows; r0 += CK_TRANSPOSE_BLOCK) {
        size_t r1 = r0 + CK_TRANSPOSE_BLOCK < rows ? r0 + CK_TRANSPOSE_BLOCK : rows;
        for (size_t c0 = 0; c0 < cols; c0 += CK_TRANSPOSE_BLOCK) {
            size_t c1 = c0 + CK_TRANSPOSE_BLOCK < cols ? c0 + CK_TRANSPOSE_BLOCK : cols;
            for (size_t r = r0; r < r1; r++)
                for (size_t c = c0; c < c1; c++) dst[c * dst_ld + r] = src[r * src_ld + c];
        }
    }
}

const ck_vector_kernels ck_vector_kernels_scalar = {
    "scalar", binary, binary_scalar, sum, sum_squares, max, transpose,
};
