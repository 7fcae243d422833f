// Softmax pieces of scaled dot-product attention: whole rows (standard attention) and the online, block-by-block
// form of memory-efficient attention.
#include "ck_nn.h"
#include "nn_internal.h"

CK_INLINE float row_max(const float *row, int64_t cols, float start) {
    float m = start;
#pragma clang loop vectorize(enable)
    for (int64_t j = 0; j < cols; j++) m = row[j] > m ? row[j] : m;
    return m;
}

/// row[j] = exp(row[j] - m); returns the sum.
CK_INLINE float exp_and_sum(float *row, int64_t cols, float m) {
    float sum = 0;
#pragma clang loop vectorize(enable)
    for (int64_t j = 0; j < cols; j++) {
        float e = ck_exp_f(row[j] - m);
        row[j] = e;
        sum += e;
    }
    return sum;
}

CK_INLINE void softmax_rows_body(float *s, int64_t rows, int64_t cols, int64_t ld) {
    for (int64_t r = 0; r < rows; r++) {
        float *row = s + r * ld;
        float m = row_max(row, cols, row[0]);
        float inverse = 1.0f / exp_and_sum(row, cols, m);
        for (int64_t j = 0; j < cols; j++) row[j] *= inverse;
    }
}
CK_VARIANTS(softmax_rows, softmax_rows_body, (float *s, int64_t rows, int64_t cols, int64_t ld), (s, rows, cols, ld))

void ck_nn_softmax_rows(float *s, int64_t rows, int64_t cols, int64_t ld) {
    if (cols > 0) softmax_rows_pick()(s, rows, cols, ld);
}

CK_INLINE void online_step_body(float *s, int64_t rows, int64_t cols, int64_t ld, float *maxima, float *sums,
                                float *acc, int64_t d, int64_t ld_acc) {
    for (int64_t r = 0; r < rows; r++) {
        float *row = s + r * ld;
        float m = row_max(row, cols, maxima[r]);
        float correction = ck_exp_f(maxima[r] - m);
        sums[r] = sums[r] * correction + exp_and_sum(row, cols, m);
        maxima[r] = m;
        float *out = acc + r * ld_acc;
        for (int64_t i = 0; i < d; i++) out[i] *= correction;
    }
}
CK_VARIANTS(online_step, online_step_body,
            (float *s, int64_t rows, int64_t cols, int64_t ld, float *maxima, float *sums, float *acc, int64_t d,
             int64_t ld_acc),
            (s, rows, cols, ld, maxima, sums, acc, d, ld_acc))

void ck_nn_online_softmax_step(float *s, int64_t rows, int64_t cols, int64_t ld, float *row_max, float *row_sum,
                               float *acc, int64_t d, int64_t ld_acc) {
    if (cols > 0) online_step_pick()(s, rows, cols, ld, row_max, row_sum, acc, d, ld_acc);
}

void ck_nn_divide_rows(const float *acc, int64_t ld_acc, const float *row_sum, float *out, int64_t ld_out,
                       int64_t rows, int64_t d) {
    for (int64_t r = 0; r < rows; r++) {
        float inverse = 1.0f / row_sum[r];
        for (int64_t i = 0; i < d; i++) out[r * ld_out + i] = acc[r * ld_acc + i] * inverse;
    }
}
