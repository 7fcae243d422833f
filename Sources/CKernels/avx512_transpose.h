// A private helper of the AVX-512 kernels (bgemm_avx512.c, nn_attention_avx512.c).
#ifndef CK_AVX512_TRANSPOSE_H
#define CK_AVX512_TRANSPOSE_H
#if defined(__x86_64__)
#include <immintrin.h>

// The 16x16 transpose of 32-bit words: `columns[c]` holds word c of every row, in row order. Four shuffle stages,
// as in the classic 4x4-blocked transpose.
__attribute__((target("avx512f"), always_inline))
static inline void transpose_16x16(const __m512i rows[16], __m512i columns[16]) {
    __m512i t[16], u[16];
#pragma clang loop unroll(full)
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(rows[i], rows[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(rows[i], rows[i + 1]);
    }
#pragma clang loop unroll(full)
    for (int i = 0; i < 16; i += 4) {
        u[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        u[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        u[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        u[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    // u[4g + j], 128-bit lane L: word 4L + j of rows 4g .. 4g+3.
#pragma clang loop unroll(full)
    for (int j = 0; j < 4; j++) {
        const __m512i even = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x88);   // lanes 0, 2 of rows 0-3 and 4-7
        const __m512i odd = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xDD);    // lanes 1, 3
        const __m512i even8 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x88);
        const __m512i odd8 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xDD);
        columns[j] = _mm512_shuffle_i32x4(even, even8, 0x88);
        columns[8 + j] = _mm512_shuffle_i32x4(even, even8, 0xDD);
        columns[4 + j] = _mm512_shuffle_i32x4(odd, odd8, 0x88);
        columns[12 + j] = _mm512_shuffle_i32x4(odd, odd8, 0xDD);
    }
}

#endif
#endif
