// AVX-512 register tiles for attention: scores (6 queries x 64 keys per tile, from keys packed in 64-key panels
// so that 16 keys are one aligned vector) and weighted sums of values (6 queries x up to 64 channels per tile);
// and the online softmax statistics of 16 rows at a time. Partial tiles use masks, so nothing is read or written
// outside the matrices.
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include "ck_nn.h"
#include "avx512_transpose.h"
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

/// exp(x) in every lane: the steps of ck_exp_f (nn_internal.h), within 2 ulp on [-87, 88], clamped outside.
TARGET CK_INLINE __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(0.5f)),
                                          _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);  // p * 2^n, n in [-126, 127] after the clamp: exact, as the product with 2^n is
}

/// ck_exp_weight_f (nn_internal.h) in every lane, the same steps and bits: exp(x) within 6e-6 for softmax weights
/// rounded to bfloat16 next, x <= 0 (lanes past a row, which the callers mask, may get any value); 10 vector
/// operations instead of exp16's 14.
TARGET CK_INLINE __m512 exp16_weights(__m512 x) {
    const __m512 log2e = _mm512_set1_ps(1.44269504088896341f);
    const __m512 shifter = _mm512_set1_ps(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer, kept in
                                                          // the low bits of the significand
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
    const __m512 k = _mm512_fmadd_ps(x, log2e, shifter);
    const __m512 n = _mm512_sub_ps(k, shifter);
    const __m512 f = _mm512_fmsub_ps(x, log2e, n);
    __m512 p = _mm512_set1_ps(9.570102207362652e-3f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.591786280274391e-2f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.40247443318367e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931217908859253e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.999992847442627e-1f));
    // k's bits hold n (plus a constant) in their low bits: shifted to the exponent field, the constant leaves.
    const __m512i scale = _mm512_slli_epi32(_mm512_castps_si512(k), 23);
    return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(p), scale));
}

/// Row i of the 16-row group handled by vector bit_reversed(i): the reduction tree below then leaves row i's
/// result in lane i.
static const int bit_reversed[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};

/// For the tree level that folds segments of 2h lanes into h: the lanes of (a, b) whose halves are combined.
static const int32_t fold_low[4][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},     // h = 8
    {0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27},   // h = 4
    {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29},   // h = 2
    {0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30},  // h = 1
};

/// Reduces 16 vectors to one whose lane i is the maximum (or the sum) of the lanes of v[i'], i' = bit_reversed[i]:
/// four levels, each folding every vector pair's segments in half (15 folds instead of 16 horizontal reductions).
TARGET CK_INLINE __m512 fold16(__m512 v[16], int sum) {
    int count = 16;
    for (int level = 0, h = 8; level < 4; level++, h /= 2) {
        const __m512i low = _mm512_loadu_si512(fold_low[level]), high = _mm512_add_epi32(low, _mm512_set1_epi32(h));
        for (int k = 0; k < count / 2; k++) {
            const __m512 a = _mm512_permutex2var_ps(v[2 * k], low, v[2 * k + 1]);
            const __m512 b = _mm512_permutex2var_ps(v[2 * k], high, v[2 * k + 1]);
            v[k] = sum ? _mm512_add_ps(a, b) : _mm512_max_ps(a, b);
        }
        count /= 2;
    }
    return v[0];
}

/// The first half of the online softmax statistics of rows [0, n), n <= 16 (see ck_nn_online_softmax_step): per
/// row, the maximum of its scores and of its earlier maximum, stored to maxima and to row_maxima[r]; the factor
/// its earlier sums must be scaled by, stored to corrections and returned (lane r for row r). The 16 rows'
/// maxima and corrections are computed together in vectors, so per row only one pass over its scores remains.
TARGET CK_INLINE __m512 online_maxima(const float *s, ptrdiff_t n, ptrdiff_t cols, ptrdiff_t ld, float *maxima,
                                      float *corrections, float row_maxima[16]) {
    const __mmask16 rows = lane_mask(n), tail = lane_mask(cols - (cols - 1) / 16 * 16);
    const ptrdiff_t whole = (cols - 1) / 16 * 16;  // columns before the last (possibly partial) vector
    const __m512 lowest = _mm512_set1_ps(-INFINITY);
    __m512 partial[16];
    // Four rows at a time: four independent chains of maxima (one chain waits on each maximum's latency). A group's
    // first row is its lowest (bit_reversed), so a group without it has no row; in a group with it, rows past n
    // read that first row again and are dropped.
    for (int i = 0; i < 16; i += 4) {
        const int first = bit_reversed[i] < n ? bit_reversed[i] : 0;
        const float *row[4];
        __m512 m[4];
#pragma clang loop unroll(full)
        for (int t = 0; t < 4; t++) {
            row[t] = s + (bit_reversed[i + t] < n ? bit_reversed[i + t] : first) * ld;
            m[t] = lowest;
        }
        if (bit_reversed[i] < n) {
            for (ptrdiff_t j = 0; j < whole; j += 16) {
#pragma clang loop unroll(full)
                for (int t = 0; t < 4; t++) m[t] = _mm512_max_ps(m[t], _mm512_loadu_ps(row[t] + j));
            }
        }
#pragma clang loop unroll(full)
        for (int t = 0; t < 4; t++) {
            partial[i + t] = bit_reversed[i + t] < n
                ? _mm512_max_ps(m[t], _mm512_mask_loadu_ps(lowest, tail, row[t] + whole)) : lowest;
        }
    }
    const __m512 earlier = _mm512_mask_loadu_ps(lowest, rows, maxima);
    const __m512 maximum = _mm512_max_ps(earlier, fold16(partial, 0));
    const __m512 correction = exp16(_mm512_sub_ps(earlier, maximum));
    _mm512_mask_storeu_ps(maxima, rows, maximum);
    _mm512_mask_storeu_ps(corrections, rows, correction);
    _mm512_storeu_ps(row_maxima, maximum);
    return correction;
}

/// exp(score - maximum) of the 16 scores of `row` from column j on (the last vector of a row of `cols` scores
/// masked: lanes past the row are zero), added to the row's running sum `total`; `rounded_next` (a constant
/// after inlining) when the weights go to bfloat16, which exp16_weights is exact enough for.
TARGET CK_INLINE __m512 weights16(const float *row, ptrdiff_t j, ptrdiff_t cols, __m512 maximum, __m512 *total,
                                  int rounded_next) {
    const __mmask16 lanes = lane_mask(cols - j);
    const __m512 x = _mm512_sub_ps(_mm512_maskz_loadu_ps(lanes, row + j), maximum);
    __m512 e = rounded_next ? exp16_weights(x) : exp16(x);
    if (lanes != (__mmask16)0xFFFF) e = _mm512_maskz_mov_ps(lanes, e);
    *total = _mm512_add_ps(*total, e);
    return e;
}

/// The second half: sums = sums * corrections + the row sums of the weights (`partial[bit_reversed[r]]` holds
/// row r's sum in 16 lanes).
TARGET CK_INLINE void online_sums(ptrdiff_t n, float *sums, __m512 correction, __m512 partial[16]) {
    const __mmask16 rows = lane_mask(n);
    const __m512 earlier = _mm512_maskz_loadu_ps(rows, sums);
    _mm512_mask_storeu_ps(sums, rows, _mm512_fmadd_ps(earlier, correction, fold16(partial, 1)));
}

/// The online softmax statistics of rows [0, n), n <= 16 (see ck_nn_online_softmax_step): maxima, corrections and
/// sums updated, the scores replaced by their weights exp(score - maximum); `bf16_weights` a constant after
/// inlining.
TARGET CK_INLINE void online_rows(float *s, ptrdiff_t n, ptrdiff_t cols, ptrdiff_t ld, float *maxima, float *sums,
                                  float *corrections, int bf16_weights) {
    float row_maxima[16];
    const __m512 correction = online_maxima(s, n, cols, ld, maxima, corrections, row_maxima);
    __m512 partial[16];
    for (int i = 0; i < 16; i++) {
        const int r = bit_reversed[i];
        partial[i] = _mm512_setzero_ps();
        if (r >= n) continue;
        float *row = s + r * ld;
        const __m512 m = _mm512_set1_ps(row_maxima[r]);
        for (ptrdiff_t j = 0; j < cols; j += 16) {
            const __m512 e = weights16(row, j, cols, m, &partial[i], bf16_weights);
            _mm512_mask_storeu_ps(row + j, lane_mask(cols - j), e);
        }
    }
    online_sums(n, sums, correction, partial);
}

/// online_rows, one body per kind of weights (ck_nn_online_softmax_step's `bf16_weights`).
TARGET void ck_nn_online_rows_avx512(float *s, ptrdiff_t n, ptrdiff_t cols, ptrdiff_t ld, float *maxima, float *sums,
                                     float *corrections, int bf16_weights) {
    if (bf16_weights) {
        online_rows(s, n, cols, ld, maxima, sums, corrections, 1);
    } else {
        online_rows(s, n, cols, ld, maxima, sums, corrections, 0);
    }
}

#define TARGET_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/// ck_nn_online_rows_avx512 with bf16 weights, the weights written as bfloat16 to the transposed right-operand panels
/// of the weighted sum (as ck_bgemm_pack_b would pack them, transposed, from the fp32 weights: the same bits) instead of
/// over the scores: pair p of row r (weights 2p and 2p + 1) is the 32-bit word panel[p * nr + r]; rows past n are
/// zero. 32 columns of the 16 rows at a time are rounded and transposed in registers.
TARGET_BF16 static void online_rows_to_panel(const float *s, ptrdiff_t n, ptrdiff_t cols, ptrdiff_t ld, float *maxima,
                                             float *sums, float *corrections, uint32_t *panel, ptrdiff_t nr) {
    float row_maxima[16];
    const __m512 correction = online_maxima(s, n, cols, ld, maxima, corrections, row_maxima);
    __m512 partial[16];
    for (int i = 0; i < 16; i++) partial[i] = _mm512_setzero_ps();
    const ptrdiff_t pairs = (cols + 1) / 2;
    ptrdiff_t j = 0;
    if (n == 16) {  // whole groups of 32 columns, with nothing to mask
        for (; j + 32 <= cols; j += 32) {
            __m512i words[16], columns[16];
#pragma clang loop unroll(full)
            for (int r = 0; r < 16; r++) {
                const float *row = s + r * ld;
                const __m512 m = _mm512_set1_ps(row_maxima[r]);
                const __m512 low = exp16_weights(_mm512_sub_ps(_mm512_loadu_ps(row + j), m));
                const __m512 high = exp16_weights(_mm512_sub_ps(_mm512_loadu_ps(row + j + 16), m));
                partial[bit_reversed[r]] = _mm512_add_ps(_mm512_add_ps(partial[bit_reversed[r]], low), high);
                words[r] = (__m512i)_mm512_cvtne2ps_pbh(high, low);
            }
            transpose_16x16(words, columns);
#pragma clang loop unroll(full)
            for (int t = 0; t < 16; t++) _mm512_storeu_si512(panel + (j / 2 + t) * nr, columns[t]);
        }
    }
    for (; j < cols; j += 32) {
        __m512i words[16], columns[16];
        for (int r = 0; r < 16; r++) {
            words[r] = _mm512_setzero_si512();
            if (r >= n) continue;
            const float *row = s + r * ld;
            const __m512 m = _mm512_set1_ps(row_maxima[r]);
            __m512 *total = &partial[bit_reversed[r]];
            const __m512 low = weights16(row, j, cols, m, total, 1);
            const __m512 high = j + 16 < cols ? weights16(row, j + 16, cols, m, total, 1) : _mm512_setzero_ps();
            words[r] = (__m512i)_mm512_cvtne2ps_pbh(high, low);
        }
        transpose_16x16(words, columns);
        const ptrdiff_t count = pairs - j / 2 < 16 ? pairs - j / 2 : 16;
        for (ptrdiff_t t = 0; t < count; t++) _mm512_storeu_si512(panel + (j / 2 + t) * nr, columns[t]);
    }
    online_sums(n, sums, correction, partial);
}

/// ck_nn_online_softmax_step_panels (ck_nn.h) on AVX512-BF16, cols >= 1, nr a multiple of 16.
TARGET_BF16 void ck_nn_online_softmax_step_panels_avx512bf16(const float *s, ptrdiff_t rows, ptrdiff_t cols,
                                                             ptrdiff_t ld, float *row_max, float *row_sum,
                                                             float *corrections, float *acc_t, ptrdiff_t d,
                                                             ptrdiff_t ld_acc, uint16_t *panels, int32_t nr) {
    const ptrdiff_t pairs = (cols + 1) / 2;
    uint32_t *words = (uint32_t *)panels;
    const ptrdiff_t padded = (rows + nr - 1) / nr * nr;
    for (ptrdiff_t first = 0; first < padded; first += 16) {
        uint32_t *panel = words + first / nr * nr * pairs + first % nr;
        if (first < rows) {
            const ptrdiff_t n = rows - first < 16 ? rows - first : 16;
            online_rows_to_panel(s + first * ld, n, cols, ld, row_max + first, row_sum + first, corrections + first,
                                 panel, nr);
        } else {  // a group of the last panel past every row: zeros, as ck_bgemm_pack_b writes
            for (ptrdiff_t p = 0; p < pairs; p++) _mm512_storeu_si512(panel + p * nr, _mm512_setzero_si512());
        }
    }
    for (ptrdiff_t c = 0; c < d; c++) {
        float *sums_of_channel = acc_t + c * ld_acc;
        for (ptrdiff_t r = 0; r < rows; r += 16) {
            const __mmask16 lanes = lane_mask(rows - r);
            const __m512 x = _mm512_maskz_loadu_ps(lanes, sums_of_channel + r);
            _mm512_mask_storeu_ps(sums_of_channel + r, lanes, _mm512_mul_ps(x, _mm512_maskz_loadu_ps(lanes, corrections + r)));
        }
    }
}

/// ck_nn_divide_columns: 16 rows at a time, each channel's 16 sums loaded as one vector and scaled by the 16
/// inverted row sums, then 16 channels transposed in registers into 16 output rows.
TARGET void ck_nn_divide_columns_avx512(const float *acc_t, ptrdiff_t ld_acc, const float *row_sum, float *out,
                                        ptrdiff_t ld_out, ptrdiff_t rows, ptrdiff_t d) {
    for (ptrdiff_t first = 0; first < rows; first += 16) {
        const ptrdiff_t n = rows - first < 16 ? rows - first : 16;
        const __mmask16 lanes = lane_mask(n);
        const __m512 inverse = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_mask_loadu_ps(_mm512_set1_ps(1.0f), lanes,
                                                                                        row_sum + first));
        for (ptrdiff_t c0 = 0; c0 < d; c0 += 16) {
            const ptrdiff_t channels = d - c0 < 16 ? d - c0 : 16;
            __m512i scaled[16], transposed[16];
#pragma clang loop unroll(full)
            for (int c = 0; c < 16; c++) {
                scaled[c] = _mm512_setzero_si512();
                if (c < channels) {
                    const __m512 sums = _mm512_maskz_loadu_ps(lanes, acc_t + (c0 + c) * ld_acc + first);
                    scaled[c] = _mm512_castps_si512(_mm512_mul_ps(sums, inverse));
                }
            }
            transpose_16x16(scaled, transposed);
            const __mmask16 stored = lane_mask(channels);
#pragma clang loop unroll(full)
            for (int r = 0; r < 16; r++) {
                if (r < n) _mm512_mask_storeu_ps(out + (first + r) * ld_out + c0, stored, _mm512_castsi512_ps(transposed[r]));
            }
        }
    }
}
#endif
