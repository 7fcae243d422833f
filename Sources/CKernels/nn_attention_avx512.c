// AVX-512 register tiles for attention: scores (6 queries x 64 keys per tile, from keys packed in 64-key panels
// so that 16 keys are one aligned vector) and weighted sums of values (6 queries x up to 64 channels per tile).
// Partial tiles use masks, so nothing is read or written outside the matrices.
#if defined(__x86_64__)
#include <immintrin.h>
#include "ck_nn.h"
#include "nn_internal.h"

#define ROWS 6
#define TARGET __attribute__((target("avx512f,fma")))

TARGET CK_INLINE __mmask16 lane_mask(ptrdiff_t count) {
    return count >= 16 ? (__mmask16)0xFFFF : count <= 0 ? (__mmask16)0 : (__mmask16)((1u << count) - 1);
}

/// s[r][0..<n] = scale * q[r] . key_j for r < R (a compile-time constant after inlining), keys j of one panel.
TARGET CK_INLINE void scores_tile(int R, const float *q, ptrdiff_t ldq, const float *panel, float *s, ptrdiff_t lds,
                                  ptrdiff_t n, ptrdiff_t d, __m512 scale) {
    __m512 acc[ROWS][4];
#pragma clang loop unroll(full)
    for (int r = 0; r < ROWS; r++) {
        acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = _mm512_setzero_ps();
    }
    for (ptrdiff_t p = 0; p < d; p++) {
        const float *k = panel + p * CK_NN_KEY_PANEL;
        const __m512 k0 = _mm512_load_ps(k), k1 = _mm512_load_ps(k + 16);
        const __m512 k2 = _mm512_load_ps(k + 32), k3 = _mm512_load_ps(k + 48);
#pragma clang loop unroll(full)
        for (int r = 0; r < ROWS; r++) {
            if (r < R) {
                const __m512 qr = _mm512_set1_ps(q[r * ldq + p]);
                acc[r][0] = _mm512_fmadd_ps(qr, k0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(qr, k1, acc[r][1]);
                acc[r][2] = _mm512_fmadd_ps(qr, k2, acc[r][2]);
                acc[r][3] = _mm512_fmadd_ps(qr, k3, acc[r][3]);
            }
        }
    }
    const __mmask16 m0 = lane_mask(n), m1 = lane_mask(n - 16), m2 = lane_mask(n - 32), m3 = lane_mask(n - 48);
#pragma clang loop unroll(full)
    for (int r = 0; r < ROWS; r++) {
        if (r < R) {
            float *out = s + r * lds;
            _mm512_mask_storeu_ps(out, m0, _mm512_mul_ps(acc[r][0], scale));
            _mm512_mask_storeu_ps(out + 16, m1, _mm512_mul_ps(acc[r][1], scale));
            _mm512_mask_storeu_ps(out + 32, m2, _mm512_mul_ps(acc[r][2], scale));
            _mm512_mask_storeu_ps(out + 48, m3, _mm512_mul_ps(acc[r][3], scale));
        }
    }
}

/// Panels must be 64-byte aligned (every panel then is: a panel is 64 * d floats).
TARGET void ck_nn_attention_scores_avx512(const float *q, ptrdiff_t ldq, const float *panels, float *s,
                                          ptrdiff_t lds, ptrdiff_t rows, ptrdiff_t keys, ptrdiff_t d, float scale) {
    const __m512 factor = _mm512_set1_ps(scale);
    for (ptrdiff_t i = 0; i < rows; i += ROWS) {
        const ptrdiff_t R = rows - i < ROWS ? rows - i : ROWS;
        for (ptrdiff_t j = 0; j < keys; j += CK_NN_KEY_PANEL) {
            const ptrdiff_t n = keys - j < CK_NN_KEY_PANEL ? keys - j : CK_NN_KEY_PANEL;
            const float *qi = q + i * ldq, *panel = panels + j * d;
            float *si = s + i * lds + j;
            switch (R) {
            case 6: scores_tile(6, qi, ldq, panel, si, lds, n, d, factor); break;
            case 5: scores_tile(5, qi, ldq, panel, si, lds, n, d, factor); break;
            case 4: scores_tile(4, qi, ldq, panel, si, lds, n, d, factor); break;
            case 3: scores_tile(3, qi, ldq, panel, si, lds, n, d, factor); break;
            case 2: scores_tile(2, qi, ldq, panel, si, lds, n, d, factor); break;
            default: scores_tile(1, qi, ldq, panel, si, lds, n, d, factor); break;
            }
        }
    }
}

/// o[r][0..<n] += sum_j p[r][j] * v[j][0..<n] for r < R, n <= 16 * V (R and V compile-time constants after
/// inlining; V <= 4).
TARGET CK_INLINE void accumulate_tile(int R, int V, const float *p, ptrdiff_t ldp, const float *v, ptrdiff_t ldv,
                                      float *o, ptrdiff_t ldo, ptrdiff_t n, ptrdiff_t keys) {
    const __mmask16 masks[4] = {lane_mask(n), lane_mask(n - 16), lane_mask(n - 32), lane_mask(n - 48)};
    __m512 acc[ROWS][4];
#pragma clang loop unroll(full)
    for (int r = 0; r < ROWS; r++) {
#pragma clang loop unroll(full)
        for (int t = 0; t < 4; t++) {
            if (r < R && t < V) acc[r][t] = _mm512_maskz_loadu_ps(masks[t], o + r * ldo + 16 * t);
        }
    }
    for (ptrdiff_t j = 0; j < keys; j++) {
        const float *value = v + j * ldv;
        __m512 vt[4];
#pragma clang loop unroll(full)
        for (int t = 0; t < 4; t++) {
            if (t < V) vt[t] = _mm512_maskz_loadu_ps(masks[t], value + 16 * t);
        }
#pragma clang loop unroll(full)
        for (int r = 0; r < ROWS; r++) {
            if (r < R) {
                const __m512 pr = _mm512_set1_ps(p[r * ldp + j]);
#pragma clang loop unroll(full)
                for (int t = 0; t < 4; t++) {
                    if (t < V) acc[r][t] = _mm512_fmadd_ps(pr, vt[t], acc[r][t]);
                }
            }
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < ROWS; r++) {
#pragma clang loop unroll(full)
        for (int t = 0; t < 4; t++) {
            if (r < R && t < V) _mm512_mask_storeu_ps(o + r * ldo + 16 * t, masks[t], acc[r][t]);
        }
    }
}

#define ACCUMULATE_ROWS(V)                                                                                            \
    switch (R) {                                                                                                      \
    case 6: accumulate_tile(6, V, pi, ldp, vc, ldv, oi, ldo, n, keys); break;                                         \
    case 5: accumulate_tile(5, V, pi, ldp, vc, ldv, oi, ldo, n, keys); break;                                         \
    case 4: accumulate_tile(4, V, pi, ldp, vc, ldv, oi, ldo, n, keys); break;                                         \
    case 3: accumulate_tile(3, V, pi, ldp, vc, ldv, oi, ldo, n, keys); break;                                         \
    case 2: accumulate_tile(2, V, pi, ldp, vc, ldv, oi, ldo, n, keys); break;                                         \
    default: accumulate_tile(1, V, pi, ldp, vc, ldv, oi, ldo, n, keys); break;                                        \
    }

TARGET void ck_nn_attention_accumulate_avx512(const float *p, ptrdiff_t ldp, const float *v, ptrdiff_t ldv, float *o,
                                              ptrdiff_t ldo, ptrdiff_t rows, ptrdiff_t keys, ptrdiff_t d) {
    for (ptrdiff_t c = 0; c < d; c += 64) {
        const ptrdiff_t n = d - c < 64 ? d - c : 64;
        const int vectors = (int)((n + 15) / 16);
        const float *vc = v + c;
        for (ptrdiff_t i = 0; i < rows; i += ROWS) {
            const ptrdiff_t R = rows - i < ROWS ? rows - i : ROWS;
            const float *pi = p + i * ldp;
            float *oi = o + i * ldo + c;
            switch (vectors) {
            case 4: ACCUMULATE_ROWS(4) break;
            case 3: ACCUMULATE_ROWS(3) break;
            case 2: ACCUMULATE_ROWS(2) break;
            default: ACCUMULATE_ROWS(1) break;
            }
        }
    }
}
#endif
