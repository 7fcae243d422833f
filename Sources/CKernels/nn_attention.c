// Scaled dot-product attention pieces: scores, weighted sums of values, and the softmax over whole rows (standard
// attention) or block by block (the online form of memory-efficient attention). The AVX-512 scores, weighted sums
// and online softmax statistics live in nn_attention_avx512.c; these portable forms serve AVX2 (compiled for it)
// and everything else.
#include "ck_bgemm.h"
#include "ck_nn.h"
#include "nn_internal.h"

#if CK_HAS_X86_VARIANTS
void ck_nn_attention_scores_avx512(const float *q, ptrdiff_t ldq, const float *panels, float *s, ptrdiff_t lds,
                                   ptrdiff_t rows, ptrdiff_t keys, ptrdiff_t d, float scale);
void ck_nn_attention_accumulate_avx512(const float *p, ptrdiff_t ldp, const float *v, ptrdiff_t ldv, float *o,
                                       ptrdiff_t ldo, ptrdiff_t rows, ptrdiff_t keys, ptrdiff_t d);
void ck_nn_online_rows_avx512(float *s, ptrdiff_t n, ptrdiff_t cols, ptrdiff_t ld, float *maxima, float *sums,
                              float *corrections, int bf16_weights);
void ck_nn_online_softmax_step_panels_avx512bf16(const float *s, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld,
                                                 float *row_max, float *row_sum, float *corrections, float *acc_t,
                                                 ptrdiff_t d, ptrdiff_t ld_acc, uint16_t *panels, int32_t nr);
void ck_nn_divide_columns_avx512(const float *acc_t, ptrdiff_t ld_acc, const float *row_sum, float *out,
                                 ptrdiff_t ld_out, ptrdiff_t rows, ptrdiff_t d);
#endif

void ck_nn_pack_keys(const float *k, ptrdiff_t ldk, ptrdiff_t keys, ptrdiff_t d, float *panels) {
    for (ptrdiff_t first = 0; first < keys; first += CK_NN_KEY_PANEL) {
        float *panel = panels + first * d;
        const ptrdiff_t n = keys - first < CK_NN_KEY_PANEL ? keys - first : CK_NN_KEY_PANEL;
        for (ptrdiff_t j = 0; j < CK_NN_KEY_PANEL; j++) {
            const float *key = k + (first + j) * ldk;
            for (ptrdiff_t p = 0; p < d; p++) panel[p * CK_NN_KEY_PANEL + j] = j < n ? key[p] : 0.0f;
        }
    }
}

CK_INLINE void scores_body(const float *q, ptrdiff_t ldq, const float *panels, float *s, ptrdiff_t lds,
                           ptrdiff_t rows, ptrdiff_t keys, ptrdiff_t d, float scale) {
    for (ptrdiff_t i = 0; i < rows; i++) {
        for (ptrdiff_t first = 0; first < keys; first += CK_NN_KEY_PANEL) {
            const float *panel = panels + first * d;
            const ptrdiff_t n = keys - first < CK_NN_KEY_PANEL ? keys - first : CK_NN_KEY_PANEL;
            float acc[CK_NN_KEY_PANEL] = {0};
            for (ptrdiff_t p = 0; p < d; p++) {
                const float qp = q[i * ldq + p];
                for (ptrdiff_t j = 0; j < CK_NN_KEY_PANEL; j++) acc[j] += qp * panel[p * CK_NN_KEY_PANEL + j];
            }
            for (ptrdiff_t j = 0; j < n; j++) s[i * lds + first + j] = acc[j] * scale;
        }
    }
}
CK_VARIANTS(scores, scores_body,
            (const float *q, ptrdiff_t ldq, const float *panels, float *s, ptrdiff_t lds, ptrdiff_t rows,
             ptrdiff_t keys, ptrdiff_t d, float scale),
            (q, ldq, panels, s, lds, rows, keys, d, scale))

void ck_nn_attention_scores(const float *q, ptrdiff_t ldq, const float *panels, float *s, ptrdiff_t lds,
                            ptrdiff_t rows, ptrdiff_t keys, ptrdiff_t d, float scale) {
#if CK_HAS_X86_VARIANTS
    if (ck_nn_isa_level() == 2) {
        ck_nn_attention_scores_avx512(q, ldq, panels, s, lds, rows, keys, d, scale);
        return;
    }
#endif
    scores_pick()(q, ldq, panels, s, lds, rows, keys, d, scale);
}

CK_INLINE void accumulate_body(const float *p, ptrdiff_t ldp, const float *v, ptrdiff_t ldv, float *o, ptrdiff_t ldo,
                               ptrdiff_t rows, ptrdiff_t keys, ptrdiff_t d) {
    for (ptrdiff_t i = 0; i < rows; i++) {
        float *out = o + i * ldo;
        for (ptrdiff_t j = 0; j < keys; j++) {
            const float weight = p[i * ldp + j];
            const float *value = v + j * ldv;
            for (ptrdiff_t c = 0; c < d; c++) out[c] += weight * value[c];
        }
    }
}
CK_VARIANTS(accumulate, accumulate_body,
            (const float *p, ptrdiff_t ldp, const float *v, ptrdiff_t ldv, float *o, ptrdiff_t ldo, ptrdiff_t rows,
             ptrdiff_t keys, ptrdiff_t d),
            (p, ldp, v, ldv, o, ldo, rows, keys, d))

void ck_nn_attention_accumulate(const float *p, ptrdiff_t ldp, const float *v, ptrdiff_t ldv, float *o, ptrdiff_t ldo,
                                ptrdiff_t rows, ptrdiff_t keys, ptrdiff_t d) {
#if CK_HAS_X86_VARIANTS
    if (ck_nn_isa_level() == 2) {
        ck_nn_attention_accumulate_avx512(p, ldp, v, ldv, o, ldo, rows, keys, d);
        return;
    }
#endif
    accumulate_pick()(p, ldp, v, ldv, o, ldo, rows, keys, d);
}

/// The largest of `start` and row[0..<cols], kept in 16 lanes so the comparisons vectorise.
CK_INLINE float row_max(const float *row, ptrdiff_t cols, float start) {
    float lanes[16];
    for (int l = 0; l < 16; l++) lanes[l] = start;
    ptrdiff_t j = 0;
    for (; j + 16 <= cols; j += 16) {
        for (int l = 0; l < 16; l++) lanes[l] = row[j + l] > lanes[l] ? row[j + l] : lanes[l];
    }
    float m = start;
    for (; j < cols; j++) m = row[j] > m ? row[j] : m;
    for (int l = 0; l < 16; l++) m = lanes[l] > m ? lanes[l] : m;
    return m;
}

/// row[j] = exp(row[j] - m); returns the sum. With `bf16_weights` (weights rounded to bfloat16 next) the
/// exponential is ck_exp_weight_f. Callers pass a constant, so that each loop holds one exponential.
CK_INLINE float exp_and_sum(float *row, ptrdiff_t cols, float m, int bf16_weights) {
    float sum = 0;
#pragma clang loop vectorize(enable)
    for (ptrdiff_t j = 0; j < cols; j++) {
        float e = bf16_weights ? ck_exp_weight_f(row[j] - m) : ck_exp_f(row[j] - m);
        row[j] = e;
        sum += e;
    }
    return sum;
}

CK_INLINE void softmax_rows_body(float *s, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        float *row = s + r * ld;
        float m = row_max(row, cols, row[0]);
        float inverse = 1.0f / exp_and_sum(row, cols, m, 0);
        for (ptrdiff_t j = 0; j < cols; j++) row[j] *= inverse;
    }
}
CK_VARIANTS(softmax_rows, softmax_rows_body, (float *s, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld), (s, rows, cols, ld))

void ck_nn_softmax_rows(float *s, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld) {
    if (cols > 0) softmax_rows_pick()(s, rows, cols, ld);
}

/// One row of an online softmax block (see ck_nn_online_softmax_step): updates its maximum and sum, turns the
/// scores into weights; returns the factor the row's earlier sums must be scaled by.
CK_INLINE float online_row(float *row, ptrdiff_t cols, float *maximum, float *sum, int bf16_weights) {
    float m = row_max(row, cols, *maximum);
    float correction = ck_exp_f(*maximum - m);
    const float total = bf16_weights ? exp_and_sum(row, cols, m, 1) : exp_and_sum(row, cols, m, 0);
    *sum = *sum * correction + total;
    *maximum = m;
    return correction;
}

/// The online softmax statistics of rows [0, n), n <= 16: online_row on each, its correction written out.
CK_INLINE void online_rows_body(float *s, ptrdiff_t n, ptrdiff_t cols, ptrdiff_t ld, float *maxima, float *sums,
                                float *corrections, int bf16_weights) {
    for (ptrdiff_t r = 0; r < n; r++) {
        corrections[r] = online_row(s + r * ld, cols, maxima + r, sums + r, bf16_weights);
    }
}
CK_VARIANTS(online_rows, online_rows_body,
            (float *s, ptrdiff_t n, ptrdiff_t cols, ptrdiff_t ld, float *maxima, float *sums, float *corrections,
             int bf16_weights),
            (s, n, cols, ld, maxima, sums, corrections, bf16_weights))

/// The statistics of up to 16 rows, as the CPU computes them best (on AVX-512 the 16 rows together). Both forms of
/// the online step below go through it, so they produce the same bits.
static online_rows_fn online_rows_choice(void) {
#if CK_HAS_X86_VARIANTS
    if (ck_nn_isa_level() == 2) return ck_nn_online_rows_avx512;
#endif
    return online_rows_pick();
}

CK_INLINE void online_step_body(float *s, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, float *maxima, float *sums,
                                float *acc, ptrdiff_t d, ptrdiff_t ld_acc, online_rows_fn statistics, int bf16_weights) {
    float corrections[16];
    for (ptrdiff_t first = 0; first < rows; first += 16) {
        const ptrdiff_t n = rows - first < 16 ? rows - first : 16;
        statistics(s + first * ld, n, cols, ld, maxima + first, sums + first, corrections, bf16_weights);
        for (ptrdiff_t r = 0; r < n; r++) {
            float *out = acc + (first + r) * ld_acc;
            for (ptrdiff_t i = 0; i < d; i++) out[i] *= corrections[r];
        }
    }
}
CK_VARIANTS(online_step, online_step_body,
            (float *s, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, float *maxima, float *sums, float *acc, ptrdiff_t d,
             ptrdiff_t ld_acc, online_rows_fn statistics, int bf16_weights),
            (s, rows, cols, ld, maxima, sums, acc, d, ld_acc, statistics, bf16_weights))

void ck_nn_online_softmax_step(float *s, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, float *row_max, float *row_sum,
                               float *acc, ptrdiff_t d, ptrdiff_t ld_acc, bool bf16_weights) {
    if (cols > 0) {
        online_step_pick()(s, rows, cols, ld, row_max, row_sum, acc, d, ld_acc, online_rows_choice(), bf16_weights);
    }
}

CK_INLINE void online_step_transposed_body(float *s, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, float *maxima,
                                           float *sums, float *corrections, float *acc_t, ptrdiff_t d,
                                           ptrdiff_t ld_acc, online_rows_fn statistics, int bf16_weights) {
    for (ptrdiff_t first = 0; first < rows; first += 16) {
        const ptrdiff_t n = rows - first < 16 ? rows - first : 16;
        statistics(s + first * ld, n, cols, ld, maxima + first, sums + first, corrections + first, bf16_weights);
    }
    for (ptrdiff_t c = 0; c < d; c++) {
        float *sums_of_channel = acc_t + c * ld_acc;
        for (ptrdiff_t r = 0; r < rows; r++) sums_of_channel[r] *= corrections[r];
    }
}
CK_VARIANTS(online_step_transposed, online_step_transposed_body,
            (float *s, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, float *maxima, float *sums, float *corrections,
             float *acc_t, ptrdiff_t d, ptrdiff_t ld_acc, online_rows_fn statistics, int bf16_weights),
            (s, rows, cols, ld, maxima, sums, corrections, acc_t, d, ld_acc, statistics, bf16_weights))

void ck_nn_online_softmax_step_transposed(float *s, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, float *row_max,
                                          float *row_sum, float *corrections, float *acc_t, ptrdiff_t d,
                                          ptrdiff_t ld_acc, bool bf16_weights) {
    if (cols > 0) {
        online_step_transposed_pick()(s, rows, cols, ld, row_max, row_sum, corrections, acc_t, d, ld_acc,
                                      online_rows_choice(), bf16_weights);
    }
}

bool ck_nn_online_softmax_step_panels(const float *s, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, float *row_max,
                                      float *row_sum, float *corrections, float *acc_t, ptrdiff_t d, ptrdiff_t ld_acc,
                                      uint16_t *panels, int32_t nr) {
#if CK_HAS_X86_VARIANTS
    if (ck_nn_isa_level() == 2 && nr > 0 && nr % 16 == 0 && ck_bgemm_kernel_for(CK_ISA_AVX512BF16) != NULL) {
        if (cols > 0) {
            ck_nn_online_softmax_step_panels_avx512bf16(s, rows, cols, ld, row_max, row_sum, corrections, acc_t, d,
                                                        ld_acc, panels, nr);
        }
        return true;
    }
#endif
    (void)s, (void)rows, (void)cols, (void)ld, (void)row_max, (void)row_sum, (void)corrections, (void)acc_t, (void)d;
    (void)ld_acc, (void)panels, (void)nr;
    return false;
}

void ck_nn_divide_rows(const float *acc, ptrdiff_t ld_acc, const float *row_sum, float *out, ptrdiff_t ld_out,
                       ptrdiff_t rows, ptrdiff_t d) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        float inverse = 1.0f / row_sum[r];
        for (ptrdiff_t i = 0; i < d; i++) out[r * ld_out + i] = acc[r * ld_acc + i] * inverse;
    }
}

void ck_nn_divide_columns(const float *acc_t, ptrdiff_t ld_acc, const float *row_sum, float *out, ptrdiff_t ld_out,
                          ptrdiff_t rows, ptrdiff_t d) {
#if CK_HAS_X86_VARIANTS
    if (ck_nn_isa_level() == 2) {
        ck_nn_divide_columns_avx512(acc_t, ld_acc, row_sum, out, ld_out, rows, d);
        return;
    }
#endif
    for (ptrdiff_t r = 0; r < rows; r++) {
        float inverse = 1.0f / row_sum[r];
        for (ptrdiff_t i = 0; i < d; i++) out[r * ld_out + i] = acc_t[i * ld_acc + r] * inverse;
    }
}
