// Neural-network kernels for the Stable Diffusion layers: normalisation, activations and element-wise pieces on
// row-major float data. Feature maps are NHWC, so "pixels x channels" is a plain row-major matrix.
// No allocation and no threading here: callers split the work (any split of rows gives the same result).
#ifndef CK_NN_H
#define CK_NN_H

#include <stdint.h>

/// Adds per-channel sums over `pixels` rows of `channels` values into `sums[channels]`:
/// sums[c] += x[p][c] when `center` is NULL, otherwise sums[c] += (x[p][c] - center[c])^2.
void ck_nn_channel_sums(const float *x, int64_t pixels, int64_t channels, const float *center, float *sums);

/// y[p][c] = x[p][c] * scale[c] + shift[c] for `pixels` rows of `channels`, followed by SiLU when `silu` is
/// non-zero. `y` may be `x`.
void ck_nn_scale_shift(const float *x, float *y, int64_t pixels, int64_t channels, const float *scale,
                       const float *shift, int silu);

/// LayerNorm of each of `rows` rows of `dim` values (biased variance, as PyTorch):
/// y = (x - mean) / sqrt(var + eps) * gamma + beta. `y` may be `x`.
void ck_nn_layer_norm(const float *x, float *y, int64_t rows, int64_t dim, const float *gamma, const float *beta,
                      float eps);

/// y = x * sigmoid(x) for `count` values. `y` may be `x`.
void ck_nn_silu(const float *x, float *y, int64_t count);

/// y = GELU(x) (exact, erf form) for `count` values. `y` may be `x`.
void ck_nn_gelu(const float *x, float *y, int64_t count);

/// GEGLU: for each of `rows` rows of x (2 * inner values: hidden then gate), y[r][i] = x[r][i] * GELU(x[r][inner + i]).
void ck_nn_geglu(const float *x, float *y, int64_t rows, int64_t inner);

/// y = a + b for `count` values. `y` may be `a` or `b`.
void ck_nn_add(const float *a, const float *b, float *y, int64_t count);

/// Softmax of each of `rows` rows of `cols` scores (row stride `ld`), in place.
void ck_nn_softmax_rows(float *s, int64_t rows, int64_t cols, int64_t ld);

/// One key block of an online (streaming) softmax. For each row r of the score tile `s` (`rows` x `cols`, stride
/// `ld`): m = max(row_max[r], max_j s[r][j]); c = exp(row_max[r] - m); s[r][j] = exp(s[r][j] - m);
/// row_sum[r] = row_sum[r] * c + sum_j s[r][j]; acc[r][0..<d] *= c (stride `ld_acc`); row_max[r] = m.
/// Start with row_max = -infinity, row_sum = 0, acc = 0; after the last block, acc / row_sum is the attention output.
void ck_nn_online_softmax_step(float *s, int64_t rows, int64_t cols, int64_t ld, float *row_max, float *row_sum,
                               float *acc, int64_t d, int64_t ld_acc);

/// out[r][i] = acc[r][i] / row_sum[r] for `rows` rows of `d` values (strides `ld_acc`, `ld_out`).
void ck_nn_divide_rows(const float *acc, int64_t ld_acc, const float *row_sum, float *out, int64_t ld_out,
                       int64_t rows, int64_t d);

#endif
