// Private declarations shared by the vector kernel variants and vector_dispatch.c.
#ifndef CK_VECTOR_INTERNAL_H
#define CK_VECTOR_INTERNAL_H

#include "ck_vector.h"

/// Rows and columns of the cache blocks the transposes walk through (tiles are copied block by block).
#define CK_TRANSPOSE_BLOCK 64

extern const ck_vector_kernels ck_vector_kernels_scalar;
#if defined(__x86_64__)
extern const ck_vector_kernels ck_vector_kernels_avx2;
extern const ck_vector_kernels ck_vector_kernels_avx512;
/// The AVX2 transpose (8x8 register tiles); the AVX-512 variant uses it too, since a transpose is bound by memory.
void ck_vector_transpose_avx2(const float *src, size_t src_ld, float *dst, size_t dst_ld, size_t rows, size_t cols);
#endif
#if defined(__aarch64__)
extern const ck_vector_kernels ck_vector_kernels_neon;
#endif

#endif
