// Neural-network kernels for the Stable Diffusion layers: normalisation, activations and element-wise pieces on
// row-major float data. Feature maps are NHWC, so "pixels x channels" is a plain row-major matrix.
// No allocation and no threading here: callers split the work (any split of rows gives the same result).
#ifndef CK_NN_H
#define CK_NN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/// The instruction-set level of the kernels: 2 = AVX-512, 1 = AVX2 + FMA, 0 = baseline (SSE2, NEON or scalar).
/// Starts at the best level this CPU supports.
int ck_nn_isa_level(void);

/// Makes the kernels use `level` (tests run every variant). Returns 0, changing nothing, when this build or CPU
/// lacks it; 1 otherwise.
int ck_nn_set_isa_level(int level);

/// Writes each channel's mean over `pixels` rows of `channels` values into `mean[channels]`, and the sum of the
/// squared deviations from it into `deviations[channels]`, reading `x` once: blocks of rows are summed, their
/// squared deviations from the block's mean summed while the block is in cache, and each block merged into the
/// rows before it (Chan, Golub and LeVeque: stable whatever the values' offset). `scratch` holds 2 * channels floats.
void ck_nn_channel_moments(const float *x, ptrdiff_t pixels, ptrdiff_t channels, float *mean, float *deviations,
                           float *scratch);

/// y[p][c] = x[p][c] * scale[c] + shift[c] for `pixels` rows of `channels`, followed by SiLU when `silu` is
/// non-zero. `y` may be `x`.
void ck_nn_scale_shift(const float *x, float *y, ptrdiff_t pixels, ptrdiff_t channels, const float *scale,
                       const float *shift, int silu);

/// LayerNorm of each of `rows` rows of `dim` values (biased variance, as PyTorch):
/// y = (x - mean) / sqrt(var + eps) * gamma + beta. `y` may be `x`.
void ck_nn_layer_norm(const float *x, float *y, ptrdiff_t rows, ptrdiff_t dim, const float *gamma, const float *beta,
                      float eps);

/// y = x * sigmoid(x) for `count` values. `y` may be `x`.
void ck_nn_silu(const float *x, float *y, ptrdiff_t count);

/// y = GELU(x) (exact, erf form) for `count` values. `y` may be `x`.
void ck_nn_gelu(const float *x, float *y, ptrdiff_t count);

/// GEGLU on `rows` rows of x (row stride `ldx`), each holding `width` values and then their `width` gates:
/// y[r][i] = (x[r][i] + value_bias[i]) * GELU(x[r][width + i] + gate_bias[i]) for i < width, y with row stride
/// `ldy`. With `value_bias` NULL no bias is added (`gate_bias` is then ignored).
void ck_nn_geglu(const float *x, ptrdiff_t ldx, ptrdiff_t rows, ptrdiff_t width, const float *value_bias,
                 const float *gate_bias, float *y, ptrdiff_t ldy);

/// y = a + b for `count` values. `y` may be `a` or `b`.
void ck_nn_add(const float *a, const float *b, float *y, ptrdiff_t count);

/// Keys per panel of packed keys.
#define CK_NN_KEY_PANEL 64

/// Packs `keys` key rows of one head (each `d` floats, row stride `ldk`) for ck_nn_attention_scores: panel t
/// (keys 64t ..< 64t + 64) holds key j's element p at t*64*d + p*64 + (j - 64t), zero past the last key.
/// `panels` holds ceil(keys / 64) * 64 * d floats.
void ck_nn_pack_keys(const float *k, ptrdiff_t ldk, ptrdiff_t keys, ptrdiff_t d, float *panels);

/// Attention scores of one head: s[i][j] = scale * sum_p q[i][p] * key_j[p] for i < rows, j < keys, where `q` is
/// `rows` x `d` (row stride `ldq`) and `panels` the keys packed by ck_nn_pack_keys (starting at a panel).
/// Writes `s` (row stride `lds`).
void ck_nn_attention_scores(const float *q, ptrdiff_t ldq, const float *panels, float *s, ptrdiff_t lds,
                            ptrdiff_t rows, ptrdiff_t keys, ptrdiff_t d, float scale);

/// The weighted sum of one head's values, accumulated: o[i][c] += sum_j p[i][j] * v[j][c] for i < rows, c < d,
/// with `p` `rows` x `keys` (stride `ldp`), `v` `keys` x `d` (stride `ldv`), `o` `rows` x `d` (stride `ldo`).
void ck_nn_attention_accumulate(const float *p, ptrdiff_t ldp, const float *v, ptrdiff_t ldv, float *o, ptrdiff_t ldo,
                                ptrdiff_t rows, ptrdiff_t keys, ptrdiff_t d);

/// Softmax of each of `rows` rows of `cols` scores (row stride `ld`), in place.
void ck_nn_softmax_rows(float *s, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld);

/// One key block of an online (streaming) softmax. For each row r of the score tile `s` (`rows` x `cols`, stride
/// `ld`): m = max(row_max[r], max_j s[r][j]); c = exp(row_max[r] - m); s[r][j] = exp(s[r][j] - m);
/// row_sum[r] = row_sum[r] * c + sum_j s[r][j]; acc[r][0..<d] *= c (stride `ld_acc`); row_max[r] = m.
/// Start with row_max = -infinity, row_sum = 0, acc = 0; after the last block, acc / row_sum is the attention output.
/// `bf16_weights`: the weights will be rounded to bfloat16 next (bf16 attention), so exp(s - m) takes a cheaper
/// exponential (ck_exp_weight_f, nn_internal.h: within 6e-6 relative, the same bits in every instruction set's
/// form); c keeps the full-precision one.
void ck_nn_online_softmax_step(float *s, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, float *row_max, float *row_sum,
                               float *acc, ptrdiff_t d, ptrdiff_t ld_acc, bool bf16_weights);

/// out[r][i] = acc[r][i] / row_sum[r] for `rows` rows of `d` values (strides `ld_acc`, `ld_out`).
void ck_nn_divide_rows(const float *acc, ptrdiff_t ld_acc, const float *row_sum, float *out, ptrdiff_t ld_out,
                       ptrdiff_t rows, ptrdiff_t d);

/// ck_nn_online_softmax_step with the accumulator stored transposed, `acc_t[i][r]` (i < d, row stride `ld_acc`),
/// as when the weighted sum is computed as Oᵀ = Vᵀ Pᵀ: acc_t[i][r] *= c_r. `corrections` receives the `rows`
/// factors c_r.
void ck_nn_online_softmax_step_transposed(float *s, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, float *row_max,
                                          float *row_sum, float *corrections, float *acc_t, ptrdiff_t d,
                                          ptrdiff_t ld_acc, bool bf16_weights);

/// ck_nn_online_softmax_step_transposed that writes the weights, rounded to bfloat16, straight into the right-operand
/// panels of the weighted sum Oᵀ = Vᵀ Pᵀ (`panels`: what ck_bgemm_pack_b(s, ld, 1, rows, cols, nr, panels) would
/// write from the fp32 weights of ck_nn_online_softmax_step_transposed with `bf16_weights`, bit for bit) and leaves
/// `s` as it was. Returns false, touching nothing, where this CPU lacks AVX512-BF16, the AVX-512 attention kernels
/// are not the ones in use, or `nr` is not a multiple of 16; the caller then takes the two-step way.
bool ck_nn_online_softmax_step_panels(const float *s, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ld, float *row_max,
                                      float *row_sum, float *corrections, float *acc_t, ptrdiff_t d, ptrdiff_t ld_acc,
                                      uint16_t *panels, int32_t nr);

/// out[r][i] = acc_t[i][r] / row_sum[r] for `rows` rows of `d` values (ck_nn_divide_rows of a transposed
/// accumulator, row stride `ld_acc`).
void ck_nn_divide_columns(const float *acc_t, ptrdiff_t ld_acc, const float *row_sum, float *out, ptrdiff_t ld_out,
                          ptrdiff_t rows, ptrdiff_t d);

/// Winograd's F(2x2, 3x3) and F(2x2, 2x2) (nn_winograd.c), chosen by `kernel_size` (3 or 2): tiles are 2x2 blocks
/// of output pixels, each computed from the n x n input patch at its top-left corner (n = kernel_size + 1), and
/// components are a*n + b (a, b < n). The input transform's component `component` for `tile_rows` x `tile_columns`
/// tiles: tile (i, j) reads the patch of `window` whose top-left pixel is (2i, 2j) (pixels of `channels` floats,
/// `row_stride` floats per window row) and writes v[(i * tile_columns + j) * channels + c] = (Bᵀ d B)[a][b] for each
/// channel c.
void ck_nn_winograd_input(const float *window, ptrdiff_t row_stride, ptrdiff_t tile_rows, ptrdiff_t tile_columns,
                          ptrdiff_t channels, int kernel_size, int component, float *v);

/// Adds component `component`'s products `m` (`tiles` x `channels`) of the form of `kernel_size` into the four
/// output planes `y` (`[4][tiles][channels]`, plane 2*di + dj for output pixel (di, dj) of each tile), weighted by
/// Aᵀ[di][a]·Aᵀ[dj][b].
void ck_nn_winograd_accumulate(const float *m, ptrdiff_t tiles, ptrdiff_t channels, int kernel_size, int component,
                               float *y);

/// Writes the planes `y` of `tile_rows` x `tile_columns` tiles (as ck_nn_winograd_accumulate), plus `bias`, to
/// the first `rows` x `columns` pixels of the NHWC output at `out` (`out_row_stride` floats per row,
/// `out_pixel_stride` per pixel: more than `channels` when `y` holds some of the output's channels). Then, where
/// not NULL, `image_bias` (one value per channel) and `residual` (a map laid out as `out`) are added, in that order,
/// each rounded as a separate addition would be.
void ck_nn_winograd_store(const float *y, ptrdiff_t tile_rows, ptrdiff_t tile_columns, ptrdiff_t channels,
                          const float *bias, const float *image_bias, const float *residual, float *out,
                          ptrdiff_t out_row_stride, ptrdiff_t out_pixel_stride, ptrdiff_t rows, ptrdiff_t columns);

#endif
