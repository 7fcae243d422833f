// GroupNorm pieces (per-channel sums, per-channel scale and shift with optional SiLU) and LayerNorm.
#include "ck_nn.h"
#include "nn_internal.h"
#include <math.h>

/// Rows summed per block of ck_nn_channel_moments: small enough for a block to stay in L1/L2 for its second pass.
#define MOMENT_BLOCK 32

CK_INLINE void channel_moments_body(const float *x, ptrdiff_t pixels, ptrdiff_t channels, float *mean,
                                    float *deviations, float *scratch) {
    float *block_mean = scratch, *block_deviations = scratch + channels;
    for (ptrdiff_t c = 0; c < channels; c++) mean[c] = deviations[c] = 0;
    for (ptrdiff_t first = 0; first < pixels; first += MOMENT_BLOCK) {
        const ptrdiff_t rows = pixels - first < MOMENT_BLOCK ? pixels - first : MOMENT_BLOCK;
        const float *block = x + first * channels;
        for (ptrdiff_t c = 0; c < channels; c++) block_mean[c] = block_deviations[c] = 0;
        for (ptrdiff_t p = 0; p < rows; p++) {
            for (ptrdiff_t c = 0; c < channels; c++) block_mean[c] += block[p * channels + c];
        }
        for (ptrdiff_t c = 0; c < channels; c++) block_mean[c] /= (float)rows;
        for (ptrdiff_t p = 0; p < rows; p++) {
            for (ptrdiff_t c = 0; c < channels; c++) {
                const float d = block[p * channels + c] - block_mean[c];
                block_deviations[c] += d * d;
            }
        }
        // Merge the block into the rows before it (Chan, Golub and LeVeque).
        const float before = (float)first, weight = (float)rows / (float)(first + rows);
        for (ptrdiff_t c = 0; c < channels; c++) {
            const float delta = block_mean[c] - mean[c];
            mean[c] += delta * weight;
            deviations[c] += block_deviations[c] + delta * delta * before * weight;
        }
    }
}
CK_VARIANTS(channel_moments, channel_moments_body,
            (const float *x, ptrdiff_t pixels, ptrdiff_t channels, float *mean, float *deviations, float *scratch),
            (x, pixels, channels, mean, deviations, scratch))

void ck_nn_channel_moments(const float *x, ptrdiff_t pixels, ptrdiff_t channels, float *mean, float *deviations,
                           float *scratch) {
    channel_moments_pick()(x, pixels, channels, mean, deviations, scratch);
}

CK_INLINE void scale_shift_body(const float *x, float *y, ptrdiff_t pixels, ptrdiff_t channels, const float *scale,
                                const float *shift, int silu) {
    if (silu) {
        for (ptrdiff_t p = 0; p < pixels; p++) {
            const float *in = x + p * channels;
            float *out = y + p * channels;
            for (ptrdiff_t c = 0; c < channels; c++) out[c] = ck_silu_f(in[c] * scale[c] + shift[c]);
        }
    } else {
        for (ptrdiff_t p = 0; p < pixels; p++) {
            const float *in = x + p * channels;
            float *out = y + p * channels;
            for (ptrdiff_t c = 0; c < channels; c++) out[c] = in[c] * scale[c] + shift[c];
        }
    }
}
CK_VARIANTS(scale_shift, scale_shift_body,
            (const float *x, float *y, ptrdiff_t pixels, ptrdiff_t channels, const float *scale, const float *shift,
             int silu),
            (x, y, pixels, channels, scale, shift, silu))

void ck_nn_scale_shift(const float *x, float *y, ptrdiff_t pixels, ptrdiff_t channels, const float *scale,
                       const float *shift, int silu) {
    scale_shift_pick()(x, y, pixels, channels, scale, shift, silu);
}

CK_INLINE void layer_norm_body(const float *x, float *y, ptrdiff_t rows, ptrdiff_t dim, const float *gamma,
                               const float *beta, float eps) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *in = x + r * dim;
        float *out = y + r * dim;
        float sum = 0;
#pragma clang loop vectorize(enable)
        for (ptrdiff_t i = 0; i < dim; i++) sum += in[i];
        float mean = sum / (float)dim;
        float squares = 0;
#pragma clang loop vectorize(enable)
        for (ptrdiff_t i = 0; i < dim; i++) {
            float d = in[i] - mean;
            squares += d * d;
        }
        float rstd = 1.0f / sqrtf(squares / (float)dim + eps);
        for (ptrdiff_t i = 0; i < dim; i++) out[i] = (in[i] - mean) * rstd * gamma[i] + beta[i];
    }
}
CK_VARIANTS(layer_norm, layer_norm_body,
            (const float *x, float *y, ptrdiff_t rows, ptrdiff_t dim, const float *gamma, const float *beta, float eps),
            (x, y, rows, dim, gamma, beta, eps))

void ck_nn_layer_norm(const float *x, float *y, ptrdiff_t rows, ptrdiff_t dim, const float *gamma, const float *beta,
                      float eps) {
    layer_norm_pick()(x, y, rows, dim, gamma, beta, eps);
}
