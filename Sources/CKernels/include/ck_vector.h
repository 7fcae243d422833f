// Elementwise, reduction and transpose kernels on float vectors: one variant per instruction set, the fastest
// one this CPU supports chosen once at run time. Loops only: shapes, broadcasting and threading belong to the
// caller (TensorCore's Tensor operations).
#ifndef CK_VECTOR_H
#define CK_VECTOR_H

#include <stddef.h>

/// The arithmetic of the binary kernels.
typedef enum ck_binary_op {
    CK_BINARY_ADD = 0,
    CK_BINARY_SUB = 1,
    CK_BINARY_MUL = 2,
} ck_binary_op;

/// One variant of every vector kernel. `out` may be the same array as `a` (in place), never a partial overlap.
typedef struct ck_vector_kernels {
    /// A short name for logs and tests ("avx512", "avx2", "neon", "scalar").
    const char *name;
    /// `out[i] = a[i] op b[i]` for `i < n`.
    void (*binary)(ck_binary_op op, const float *a, const float *b, float *out, size_t n);
    /// `out[i] = a[i] op b` for `i < n`.
    void (*binary_scalar)(ck_binary_op op, const float *a, float b, float *out, size_t n);
    /// The sum of `a[0..<n]` (0 when `n == 0`); the order of additions is the variant's own.
    float (*sum)(const float *a, size_t n);
    /// The sum of squares of `a[0..<n]`.
    float (*sum_squares)(const float *a, size_t n);
    /// The largest of `a[0..<n]`, NaN when any element is NaN, -infinity when `n == 0`.
    float (*max)(const float *a, size_t n);
    /// `dst[c * dst_ld + r] = src[r * src_ld + c]` for `r < rows`, `c < cols` (a strided 2-D transpose).
    void (*transpose)(const float *src, size_t src_ld, float *dst, size_t dst_ld, size_t rows, size_t cols);
} ck_vector_kernels;

/// Number of variants this CPU can run (at least 1: the scalar one).
size_t ck_vector_variant_count(void);
/// Variant `index` (< ck_vector_variant_count()); 0 is the scalar reference, the last the fastest.
const ck_vector_kernels *ck_vector_variant(size_t index);
/// The variant the wrappers below use: the fastest this CPU supports.
const ck_vector_kernels *ck_vector_active(void);

/// `out[i] = a[i] op b[i]` with the active variant.
void ck_binary_f32(ck_binary_op op, const float *a, const float *b, float *out, size_t n);
/// `out[i] = a[i] op b` with the active variant.
void ck_binary_scalar_f32(ck_binary_op op, const float *a, float b, float *out, size_t n);
/// The sum of `a[0..<n]` with the active variant.
float ck_sum_f32(const float *a, size_t n);
/// The sum of squares of `a[0..<n]` with the active variant.
float ck_sum_squares_f32(const float *a, size_t n);
/// The largest of `a[0..<n]` (NaN if any is NaN) with the active variant.
float ck_max_f32(const float *a, size_t n);
/// A strided 2-D transpose with the active variant (see ck_vector_kernels.transpose).
void ck_transpose_f32(const float *src, size_t src_ld, float *dst, size_t dst_ld, size_t rows, size_t cols);

#endif
