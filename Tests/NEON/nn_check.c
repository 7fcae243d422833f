// Neural-network kernels (ck_nn.h): norms, activations and the attention pieces. They are written once in C and
// compiled per instruction set, so on AArch64 the variant under test is the NEON code the compiler vectorised;
// there is no scalar twin to compare with, so each kernel is checked against a double-precision reference at every
// level this CPU runs (ck_nn_set_isa_level).
//
// Tolerances (u = 2^-24, gamma_n as in check.h):
// - sums and dot products: gamma_(terms + extra roundings) * sum of |terms| (any order, fused or not);
// - exp (ck_exp_f) is within 2 ulp (4u relative); its argument x - m is rounded, which costs u |x - m| relative;
// - erf (ck_erf_f, Abramowitz & Stegun 7.1.26) is within 1.5e-7 absolute, plus float evaluation error (16u per unit
//   of |x|, generous: its polynomial has coefficients up to 1.5);
// - a softmax weight adds the relative error of its row sum (gamma_cols + the worst term's error) and one division.
// A lane or tail bug shows up as an error orders of magnitude beyond these.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ck_bgemm.h"
#include "ck_nn.h"
#include "nn_internal.h"

static const float guard_value = -12345.5f;

static int close_to(double got, double exact, double tolerance) { return fabs(got - exact) <= tolerance; }

static double silu_exact(double x) { return x / (1 + exp(-x)); }
static double gelu_exact(double x) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }
/// The bound on ck_silu_f's error at x (exact argument): exp 4u, one addition, one division.
static double silu_tolerance(double x) { return 8 * CHECK_U * fabs(silu_exact(x)) + 1e-37; }
/// The bound on ck_gelu_f's error at x (exact argument).
static double gelu_tolerance(double x) {
    return 0.5 * fabs(x) * (1.5e-7 + 16 * CHECK_U * (1 + fabs(x))) + 4 * CHECK_U * fabs(gelu_exact(x)) + 1e-37;
}

static void check_norms(check_rng *rng, const char *name) {
    for (int t = 0; t < 80; t++) {
        const ptrdiff_t pixels = check_int(rng, 1, 40), channels = check_int(rng, 1, 70);
        float *x = check_alloc((size_t)(pixels * channels) * sizeof(float));
        float *y = check_alloc((size_t)(pixels * channels + 8) * sizeof(float));
        float *mean = check_alloc((size_t)channels * sizeof(float)), *deviations = check_alloc((size_t)channels * sizeof(float));
        float *scratch = check_alloc((size_t)(2 * channels) * sizeof(float));
        float *scale = check_alloc((size_t)channels * sizeof(float)), *shift = check_alloc((size_t)channels * sizeof(float));
        check_fill(rng, x, (size_t)(pixels * channels), -2, 3);
        check_fill(rng, scale, (size_t)channels, -2, 2);
        check_fill(rng, shift, (size_t)channels, -2, 2);

        // Per-channel means and sums of squared deviations (blocks merged pairwise: a few roundings per term more).
        ck_nn_channel_moments(x, pixels, channels, mean, deviations, scratch);
        for (ptrdiff_t c = 0; c < channels; c++) {
            double exact_mean = 0, magnitude = 0, exact_deviations = 0, squares = 0;
            for (ptrdiff_t p = 0; p < pixels; p++) {
                exact_mean += x[p * channels + c];
                magnitude += fabs((double)x[p * channels + c]);
                squares += (double)x[p * channels + c] * x[p * channels + c];
            }
            exact_mean /= (double)pixels;
            for (ptrdiff_t p = 0; p < pixels; p++) {
                exact_deviations += ((double)x[p * channels + c] - exact_mean) * ((double)x[p * channels + c] - exact_mean);
            }
            const double gamma = check_gamma(4 * (double)pixels + 16);
            if (!check_that(close_to(mean[c], exact_mean, gamma * magnitude / (double)pixels)
                                && close_to(deviations[c], exact_deviations, gamma * squares),
                            "nn %s channel_moments pixels=%td channels=%td: [%td] mean %.9g (exact %.9g), deviations "
                            "%.9g (exact %.9g)", name, pixels, channels, c, mean[c], exact_mean, deviations[c],
                            exact_deviations)) {
                break;
            }
        }

        // Scale and shift, with and without SiLU, out of place (guard after the end) and in place.
        for (int silu = 0; silu <= 1; silu++) {
            for (int in_place = 0; in_place <= 1; in_place++) {
                for (ptrdiff_t i = 0; i < pixels * channels + 8; i++) y[i] = guard_value;
                if (in_place) memcpy(y, x, (size_t)(pixels * channels) * sizeof(float));
                ck_nn_scale_shift(in_place ? y : x, y, pixels, channels, scale, shift, silu);
                for (ptrdiff_t i = 0; i < pixels * channels + 8; i++) {
                    if (i >= pixels * channels) {
                        if (!check_that(check_same_bits(y[i], guard_value), "nn %s scale_shift wrote past the end", name))
                            break;
                        continue;
                    }
                    const ptrdiff_t c = i % channels;
                    const double z = (double)x[i] * scale[c] + shift[c];
                    const double z_error = check_gamma(2) * (fabs((double)x[i] * scale[c]) + fabs((double)shift[c]));
                    const double exact = silu ? silu_exact(z) : z;
                    const double tolerance = silu ? silu_tolerance(z) + 1.1 * z_error : z_error;
                    if (!check_that(close_to(y[i], exact, tolerance),
                                    "nn %s scale_shift silu=%d in_place=%d pixels=%td channels=%td: [%td] %.9g, exact %.9g",
                                    name, silu, in_place, pixels, channels, i, y[i], exact)) {
                        break;
                    }
                }
            }
        }

        // LayerNorm over rows of `channels` values (biased variance), out of place and in place.
        const float eps = 1e-5f;
        for (int in_place = 0; in_place <= 1; in_place++) {
            if (in_place) memcpy(y, x, (size_t)(pixels * channels) * sizeof(float));
            ck_nn_layer_norm(in_place ? y : x, y, pixels, channels, scale, shift, eps);
            for (ptrdiff_t r = 0; r < pixels; r++) {
                const float *in = x + r * channels;
                double mean = 0, mean_abs = 0, variance = 0;
                for (ptrdiff_t c = 0; c < channels; c++) mean += in[c], mean_abs += fabs((double)in[c]);
                mean /= (double)channels;
                mean_abs /= (double)channels;
                for (ptrdiff_t c = 0; c < channels; c++) variance += (in[c] - mean) * (in[c] - mean);
                variance /= (double)channels;
                const double rstd = 1 / sqrt(variance + eps);
                int ok = 1;
                for (ptrdiff_t c = 0; c < channels && ok; c++) {
                    const double exact = (in[c] - mean) * rstd * scale[c] + shift[c];
                    // The mean is off by gamma_n * mean|x|; the variance and rstd by a few gamma_n relative;
                    // four roundings in the final expression.
                    const double tolerance =
                        4 * check_gamma((double)channels + 8) *
                        (fabs((double)scale[c]) * rstd * (fabs(in[c] - mean) + mean_abs) + fabs((double)shift[c]));
                    ok = check_that(close_to(y[r * channels + c], exact, tolerance),
                                    "nn %s layer_norm in_place=%d rows=%td dim=%td: [%td][%td] %.9g, exact %.9g", name,
                                    in_place, pixels, channels, r, c, y[r * channels + c], exact);
                }
                if (!ok) break;
            }
        }
        free(x), free(y), free(mean), free(deviations), free(scratch), free(scale), free(shift);
    }
}

static void check_activations(check_rng *rng, const char *name) {
    for (ptrdiff_t n = 0; n <= 1200; n = n < 70 ? n + 1 : n * 4) {
        float *x = check_alloc((size_t)(2 * n + 8) * sizeof(float)), *y = check_alloc((size_t)(2 * n + 8) * sizeof(float));
        float *b = check_alloc((size_t)(n + 8) * sizeof(float));
        check_fill(rng, x, (size_t)(2 * n + 8), -12, 12);
        check_fill(rng, b, (size_t)(n + 8), -12, 12);
        if (n > 2) x[0] = 0, x[1] = -0.0f, x[2] = 90;  // zero, negative zero, beyond exp's clamp
        for (int which = 0; which < 3; which++) {
            for (ptrdiff_t i = 0; i < n + 8; i++) y[i] = guard_value;
            if (which == 0) ck_nn_silu(x, y, n);
            if (which == 1) ck_nn_gelu(x, y, n);
            if (which == 2) ck_nn_add(x, b, y, n);
            for (ptrdiff_t i = 0; i < n + 8; i++) {
                int ok;
                if (i >= n) {
                    ok = check_that(check_same_bits(y[i], guard_value), "nn %s activation %d n=%td: wrote past the end",
                                    name, which, n);
                } else if (which == 2) {
                    ok = check_that(check_same_bits(y[i], x[i] + b[i]), "nn %s add n=%td: [%td] %.9g, want %.9g", name,
                                    n, i, y[i], x[i] + b[i]);
                } else {
                    const double exact = which == 0 ? silu_exact(x[i]) : gelu_exact(x[i]);
                    const double tolerance = which == 0 ? silu_tolerance(x[i]) : gelu_tolerance(x[i]);
                    ok = check_that(close_to(y[i], exact, tolerance), "nn %s %s n=%td: x=%.9g gives %.9g, exact %.9g",
                                    name, which == 0 ? "silu" : "gelu", n, x[i], y[i], exact);
                }
                if (!ok) break;
            }
        }
        // In place: y == x (and add with y == b).
        memcpy(y, x, (size_t)n * sizeof(float));
        ck_nn_silu(y, y, n);
        for (ptrdiff_t i = 0; i < n; i++) {
            if (!check_that(close_to(y[i], silu_exact(x[i]), silu_tolerance(x[i])), "nn %s silu in place n=%td: [%td]",
                            name, n, i))
                break;
        }
        memcpy(y, b, (size_t)n * sizeof(float));
        ck_nn_add(x, y, y, n);
        for (ptrdiff_t i = 0; i < n; i++) {
            if (!check_that(check_same_bits(y[i], x[i] + b[i]), "nn %s add in place n=%td: [%td]", name, n, i)) break;
        }
        // GEGLU: strided rows of (value, gate) halves, with and without biases; y's padding stays untouched.
        const ptrdiff_t width = n / 2 + 1, rows = check_int(rng, 1, 3);
        const ptrdiff_t ldx = 2 * width + check_int(rng, 0, 3), ldy = width + check_int(rng, 0, 3);
        const int biased = n % 2;
        float *gx = check_alloc((size_t)(rows * ldx + 2 * width) * sizeof(float));
        float *gy = check_alloc((size_t)(rows * ldy) * sizeof(float));
        check_fill(rng, gx, (size_t)(rows * ldx + 2 * width), -6, 6);
        const float *value_bias = biased ? gx + rows * ldx : 0, *gate_bias = biased ? gx + rows * ldx + width : 0;
        for (ptrdiff_t i = 0; i < rows * ldy; i++) gy[i] = guard_value;
        ck_nn_geglu(gx, ldx, rows, width, value_bias, gate_bias, gy, ldy);
        for (ptrdiff_t i = 0; i < rows * ldy; i++) {
            const ptrdiff_t r = i / ldy, c = i % ldy;
            if (c >= width) {
                if (!check_that(check_same_bits(gy[i], guard_value), "nn %s geglu wrote into the row padding", name)) break;
                continue;
            }
            const double value = (double)gx[r * ldx + c] + (biased ? value_bias[c] : 0);
            const double gate = (double)gx[r * ldx + width + c] + (biased ? gate_bias[c] : 0);
            const double exact = value * gelu_exact(gate);
            // The two bias sums round once each: the gate's shifts GELU by up to |gate| ulps of its slope (< 1.2).
            const double tolerance = fabs(value) * gelu_tolerance(gate) + 4 * CHECK_U * (fabs(exact) + fabs(value)) +
                                     (biased ? 8 * CHECK_U * fabs(value) * (1 + fabs(gate)) : 0);
            if (!check_that(close_to(gy[i], exact, tolerance), "nn %s geglu rows=%td width=%td bias=%d: [%td] %.9g, exact %.9g",
                            name, rows, width, biased, i, gy[i], exact))
                break;
        }
        free(x), free(y), free(b), free(gx), free(gy);
    }
}

/// Packed-key layout, scores, weighted sums, and the full online softmax (memory-efficient attention) against
/// double-precision attention.
static void check_attention(check_rng *rng, const char *name) {
    for (int t = 0; t < 60; t++) {
        const ptrdiff_t rows = check_int(rng, 1, 19), keys = check_int(rng, 1, t % 3 == 2 ? 200 : 70);
        const ptrdiff_t d = check_int(rng, 1, 41);
        const ptrdiff_t ldq = d + check_int(rng, 0, 3), ldk = d + check_int(rng, 0, 3), ldv = d + check_int(rng, 0, 3);
        const ptrdiff_t lds = keys + check_int(rng, 0, 3), ld_acc = d + check_int(rng, 0, 3);
        const float scale = 1.0f / sqrtf((float)d) * check_uniform(rng, 0.5f, 3);
        float *q = check_alloc((size_t)(rows * ldq) * sizeof(float)), *k = check_alloc((size_t)(keys * ldk) * sizeof(float));
        float *v = check_alloc((size_t)(keys * ldv) * sizeof(float));
        const ptrdiff_t panel_floats = (keys + CK_NN_KEY_PANEL - 1) / CK_NN_KEY_PANEL * CK_NN_KEY_PANEL * d;
        float *panels = check_alloc((size_t)panel_floats * sizeof(float));
        float *s = check_alloc((size_t)(rows * lds) * sizeof(float));
        check_fill(rng, q, (size_t)(rows * ldq), -1, 1);
        check_fill(rng, k, (size_t)(keys * ldk), -1, 1);
        check_fill(rng, v, (size_t)(keys * ldv), -1, 1);

        ck_nn_pack_keys(k, ldk, keys, d, panels);
        int ok = 1;
        for (ptrdiff_t j = 0; j < panel_floats / d && ok; j++) {
            for (ptrdiff_t p = 0; p < d && ok; p++) {
                const float packed = panels[(j / CK_NN_KEY_PANEL) * CK_NN_KEY_PANEL * d + p * CK_NN_KEY_PANEL + j % CK_NN_KEY_PANEL];
                ok = check_that(check_same_bits(packed, j < keys ? k[j * ldk + p] : 0.0f),
                                "nn %s pack_keys keys=%td d=%td: key %td element %td", name, keys, d, j, p);
            }
        }

        // Scores, with the row padding (lds > keys) left alone.
        for (ptrdiff_t i = 0; i < rows * lds; i++) s[i] = guard_value;
        ck_nn_attention_scores(q, ldq, panels, s, lds, rows, keys, d, scale);
        ok = 1;
        for (ptrdiff_t i = 0; i < rows && ok; i++) {
            for (ptrdiff_t j = 0; j < lds && ok; j++) {
                if (j >= keys) {
                    ok = check_that(check_same_bits(s[i * lds + j], guard_value),
                                    "nn %s attention_scores wrote into the row padding", name);
                    continue;
                }
                double exact = 0, magnitude = 0;
                for (ptrdiff_t p = 0; p < d; p++) {
                    exact += (double)q[i * ldq + p] * k[j * ldk + p];
                    magnitude += fabs((double)q[i * ldq + p] * k[j * ldk + p]);
                }
                ok = check_that(close_to(s[i * lds + j], exact * scale, check_gamma((double)d + 1) * magnitude * scale),
                                "nn %s attention_scores rows=%td keys=%td d=%td: s[%td][%td] %.9g, exact %.9g", name, rows,
                                keys, d, i, j, s[i * lds + j], exact * scale);
            }
        }

        // Softmax of the rows just computed (their float values are the input of the reference).
        float *p = check_alloc((size_t)(rows * lds) * sizeof(float));
        memcpy(p, s, (size_t)(rows * lds) * sizeof(float));
        ck_nn_softmax_rows(p, rows, keys, lds);
        ok = 1;
        for (ptrdiff_t i = 0; i < rows && ok; i++) {
            double m = s[i * lds], total = 0, range = 0;
            for (ptrdiff_t j = 0; j < keys; j++) m = fmax(m, s[i * lds + j]);
            for (ptrdiff_t j = 0; j < keys; j++) total += exp(s[i * lds + j] - m), range = fmax(range, m - s[i * lds + j]);
            for (ptrdiff_t j = 0; j < keys && ok; j++) {
                const double exact = exp(s[i * lds + j] - m) / total;
                const double relative = 10 * CHECK_U + CHECK_U * (m - s[i * lds + j]) + CHECK_U * range +
                                        check_gamma((double)keys);
                ok = check_that(close_to(p[i * lds + j], exact, relative * exact + 1e-37),
                                "nn %s softmax_rows cols=%td: [%td][%td] %.9g, exact %.9g", name, keys, i, j,
                                p[i * lds + j], exact);
            }
        }

        // Weighted sum into a non-zero start: o += p v.
        float *o = check_alloc((size_t)(rows * ld_acc) * sizeof(float)), *o0 = check_alloc((size_t)(rows * ld_acc) * sizeof(float));
        check_fill(rng, o0, (size_t)(rows * ld_acc), -1, 1);
        for (ptrdiff_t i = 0; i < rows; i++) {
            for (ptrdiff_t c = d; c < ld_acc; c++) o0[i * ld_acc + c] = guard_value;
        }
        memcpy(o, o0, (size_t)(rows * ld_acc) * sizeof(float));
        ck_nn_attention_accumulate(s, lds, v, ldv, o, ld_acc, rows, keys, d);
        ok = 1;
        for (ptrdiff_t i = 0; i < rows && ok; i++) {
            for (ptrdiff_t c = 0; c < ld_acc && ok; c++) {
                if (c >= d) {
                    ok = check_that(check_same_bits(o[i * ld_acc + c], guard_value),
                                    "nn %s attention_accumulate wrote into the row padding", name);
                    continue;
                }
                double exact = o0[i * ld_acc + c], magnitude = fabs((double)o0[i * ld_acc + c]);
                for (ptrdiff_t j = 0; j < keys; j++) {
                    exact += (double)s[i * lds + j] * v[j * ldv + c];
                    magnitude += fabs((double)s[i * lds + j] * v[j * ldv + c]);
                }
                ok = check_that(close_to(o[i * ld_acc + c], exact, check_gamma((double)keys + 1) * magnitude),
                                "nn %s attention_accumulate rows=%td keys=%td d=%td: o[%td][%td] %.9g, exact %.9g", name,
                                rows, keys, d, i, c, o[i * ld_acc + c], exact);
            }
        }

        // Online softmax over key blocks of random widths, as memory-efficient attention runs it, then the division.
        float *row_max = check_alloc((size_t)rows * sizeof(float)), *row_sum = check_alloc((size_t)rows * sizeof(float));
        float *acc = check_alloc((size_t)(rows * ld_acc) * sizeof(float)), *out = check_alloc((size_t)(rows * d) * sizeof(float));
        float *s_t = check_alloc((size_t)(rows * lds) * sizeof(float)), *acc_t = check_alloc((size_t)(rows * d) * sizeof(float));
        float *max_t = check_alloc((size_t)rows * sizeof(float)), *sum_t = check_alloc((size_t)rows * sizeof(float));
        float *corrections = check_alloc((size_t)rows * sizeof(float)), *out_t = check_alloc((size_t)(rows * d) * sizeof(float));
        for (ptrdiff_t i = 0; i < rows; i++) row_max[i] = -INFINITY, row_sum[i] = 0;
        int blocks = 0;
        for (ptrdiff_t first = 0; first < keys; blocks++) {
            const ptrdiff_t width = check_int(rng, 1, keys - first);
            ck_nn_pack_keys(k + first * ldk, ldk, width, d, panels);
            ck_nn_attention_scores(q, ldq, panels, s, lds, rows, width, d, scale);
            // The transposed form (accumulator [d x rows]) on copies: the same weights, statistics and scaled sums.
            for (ptrdiff_t i = 0; i < rows; i++) {
                memcpy(s_t + i * lds, s + i * lds, (size_t)width * sizeof(float));
                max_t[i] = row_max[i], sum_t[i] = row_sum[i];
                for (ptrdiff_t c = 0; c < d; c++) acc_t[c * rows + i] = acc[i * ld_acc + c];
            }
            // The bf16-weights forms, on copies: the transposed step with `bf16_weights` (its cheaper exponential:
            // weights and sums within 6e-6 of the fp32 forms', plus the sums' rounding; maxima, corrections and
            // accumulator the same bits), and the form that writes bfloat16 weight panels (where this CPU has it):
            // the same bits as that transposed step, its panels as ck_bgemm_pack_b packs that step's weights.
            const int32_t nr = (int32_t)(16 * check_int(rng, 1, 3));
            const ptrdiff_t panel_count = (rows + nr - 1) / nr * nr * (width + 1);
            uint16_t *panels_p = check_alloc((size_t)panel_count * sizeof(uint16_t));
            uint16_t *panels_t = check_alloc((size_t)panel_count * sizeof(uint16_t));
            float *s_p = check_alloc((size_t)(rows * lds) * sizeof(float)), *acc_p = check_alloc((size_t)(rows * d) * sizeof(float));
            float *max_p = check_alloc((size_t)rows * sizeof(float)), *sum_p = check_alloc((size_t)rows * sizeof(float));
            float *corrections_p = check_alloc((size_t)rows * sizeof(float));
            float *s_b = check_alloc((size_t)(rows * lds) * sizeof(float)), *acc_b = check_alloc((size_t)(rows * d) * sizeof(float));
            float *max_b = check_alloc((size_t)rows * sizeof(float)), *sum_b = check_alloc((size_t)rows * sizeof(float));
            float *corrections_b = check_alloc((size_t)rows * sizeof(float));
            memset(panels_p, 0xFF, (size_t)panel_count * sizeof(uint16_t));
            memset(panels_t, 0xFF, (size_t)panel_count * sizeof(uint16_t));
            for (ptrdiff_t i = 0; i < rows; i++) {
                memcpy(s_p + i * lds, s + i * lds, (size_t)width * sizeof(float));
                memcpy(s_b + i * lds, s + i * lds, (size_t)width * sizeof(float));
                max_p[i] = max_b[i] = row_max[i], sum_p[i] = sum_b[i] = row_sum[i];
                for (ptrdiff_t c = 0; c < d; c++) acc_p[c * rows + i] = acc_b[c * rows + i] = acc[i * ld_acc + c];
            }
            const int paneled = ck_nn_online_softmax_step_panels(s_p, rows, width, lds, max_p, sum_p, corrections_p,
                                                                 acc_p, d, rows, panels_p, nr);
            ck_nn_online_softmax_step(s, rows, width, lds, row_max, row_sum, acc, d, ld_acc, false);
            ck_nn_online_softmax_step_transposed(s_t, rows, width, lds, max_t, sum_t, corrections, acc_t, d, rows, false);
            ck_nn_online_softmax_step_transposed(s_b, rows, width, lds, max_b, sum_b, corrections_b, acc_b, d, rows, true);
            for (ptrdiff_t i = 0; i < rows; i++) {
                int close = check_same_bits(max_b[i], max_t[i]) && check_same_bits(corrections_b[i], corrections[i]);
                close = close && fabs((double)sum_b[i] - sum_t[i]) <= (6e-6 + 2 * check_gamma((double)width + 1)) * sum_t[i];
                for (ptrdiff_t j = 0; j < width; j++) {  // s_p still holds the scores
                    close = close && fabs((double)s_b[i * lds + j] - s_t[i * lds + j]) <= 6e-6 * s_t[i * lds + j] + 1e-37;
                    close = close && check_same_bits(s_b[i * lds + j], ck_exp_weight_f(s_p[i * lds + j] - max_b[i]));
                }
                for (ptrdiff_t c = 0; c < d; c++) close = close && check_same_bits(acc_b[c * rows + i], acc_t[c * rows + i]);
                check_that(close, "nn %s online softmax with bf16 weights: row %td (width %td) off", name, i, width);
            }
            if (paneled) {
                ck_bgemm_pack_b(s_b, lds, 1, rows, width, nr, panels_t);
                int same = memcmp(panels_p, panels_t, (size_t)((rows + nr - 1) / nr * nr * ((width + 1) / 2) * 2) * sizeof(uint16_t)) == 0;
                for (ptrdiff_t i = 0; i < rows; i++) {
                    same = same && check_same_bits(max_p[i], max_b[i]) && check_same_bits(sum_p[i], sum_b[i]);
                    same = same && check_same_bits(corrections_p[i], corrections_b[i]);
                    for (ptrdiff_t c = 0; c < d; c++) same = same && check_same_bits(acc_p[c * rows + i], acc_b[c * rows + i]);
                }
                check_that(same, "nn %s online softmax into bfloat16 panels (nr %d, rows %td, width %td) differs", name, nr, rows, width);
            }
            free(panels_p), free(panels_t), free(s_p), free(acc_p), free(max_p), free(sum_p), free(corrections_p);
            free(s_b), free(acc_b), free(max_b), free(sum_b), free(corrections_b);
            for (ptrdiff_t i = 0; i < rows; i++) {
                int same = check_same_bits(max_t[i], row_max[i]) && check_same_bits(sum_t[i], row_sum[i]);
                for (ptrdiff_t j = 0; j < width; j++) same = same && check_same_bits(s_t[i * lds + j], s[i * lds + j]);
                for (ptrdiff_t c = 0; c < d; c++) same = same && check_same_bits(acc_t[c * rows + i], acc[i * ld_acc + c]);
                check_that(same, "nn %s online softmax, transposed accumulator: row %td differs", name, i);
            }
            ck_nn_attention_accumulate(s, lds, v + first * ldv, ldv, acc, ld_acc, rows, width, d);
            first += width;
        }
        ck_nn_divide_rows(acc, ld_acc, row_sum, out, d, rows, d);
        for (ptrdiff_t i = 0; i < rows; i++) {
            for (ptrdiff_t c = 0; c < d; c++) acc_t[c * rows + i] = acc[i * ld_acc + c];
        }
        ck_nn_divide_columns(acc_t, rows, row_sum, out_t, d, rows, d);
        for (ptrdiff_t i = 0; i < rows * d; i++) {
            check_that(check_same_bits(out_t[i], out[i]), "nn %s divide_columns: element %td differs", name, i);
        }
        ok = 1;
        for (ptrdiff_t i = 0; i < rows && ok; i++) {
            double exact_scores[200], m = -INFINITY, total = 0, range = 0, score_error = 0;
            for (ptrdiff_t j = 0; j < keys; j++) {
                double dot = 0, magnitude = 0;
                for (ptrdiff_t c = 0; c < d; c++) {
                    dot += (double)q[i * ldq + c] * k[j * ldk + c];
                    magnitude += fabs((double)q[i * ldq + c] * k[j * ldk + c]);
                }
                exact_scores[j] = dot * scale;
                score_error = fmax(score_error, check_gamma((double)d + 1) * magnitude * scale);
                m = fmax(m, exact_scores[j]);
            }
            for (ptrdiff_t j = 0; j < keys; j++) total += exp(exact_scores[j] - m), range = fmax(range, m - exact_scores[j]);
            // Each weight: its score's error twice (own and the maximum's), exp and its argument, the running
            // corrections (one exp per block), the row sum, the accumulation and the division.
            const double relative = 2 * score_error + (16 + 8 * blocks) * CHECK_U + 2 * CHECK_U * range +
                                    2 * check_gamma((double)keys + 1);
            for (ptrdiff_t c = 0; c < d && ok; c++) {
                double exact = 0, magnitude = 0;
                for (ptrdiff_t j = 0; j < keys; j++) {
                    const double weight = exp(exact_scores[j] - m) / total;
                    exact += weight * v[j * ldv + c];
                    magnitude += weight * fabs((double)v[j * ldv + c]);
                }
                ok = check_that(close_to(out[i * d + c], exact, relative * magnitude + 1e-37),
                                "nn %s online softmax rows=%td keys=%td d=%td blocks=%d: out[%td][%td] %.9g, exact %.9g",
                                name, rows, keys, d, blocks, i, c, out[i * d + c], exact);
            }
        }
        free(q), free(k), free(v), free(panels), free(s), free(p), free(o), free(o0);
        free(row_max), free(row_sum), free(acc), free(out);
        free(s_t), free(acc_t), free(max_t), free(sum_t), free(corrections), free(out_t);
    }
}

/// The Winograd transforms (input, accumulate, store) of F(2x2, k x k), k = 3 and 2, on a depthwise convolution:
/// each channel's component products are V * U with U = G g Gᵀ (computed in double, rounded), against the direct
/// k x k sums in double. Each output is a signed sum of terms |U_t| |V terms|; every step rounds at most a few times, so
/// 16 u times the sum of their magnitudes (plus the bias) bounds any variant; a wrong component, sign or lane is
/// off by the size of the values. Pixels past `rows` x `columns` (odd edges), the row stride's gap and the channels
/// past `c` of a wider pixel stay as they were.
static void check_winograd(check_rng *rng, const char *name, int k) {
    // Lavin & Gray's matrices (F(2x2, 3x3)) and the F(2x2, 2x2) ones of nn_winograd.c, n = k + 1.
    static const double g_matrices[2][4][3] = {{{1, 0}, {1, 1}, {0, 1}},
                                               {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}}};
    static const double b_transposes[2][4][4] = {{{1, -1, 0}, {0, 1, 0}, {0, -1, 1}},
                                                 {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}}};
    static const double a_transposes[2][2][4] = {{{1, 1, 0}, {0, 1, 1}}, {{1, 1, 1, 0}, {0, 1, -1, -1}}};
    const double (*g_matrix)[3] = g_matrices[k - 2], (*b_transpose)[4] = b_transposes[k - 2];
    const double (*a_transpose)[4] = a_transposes[k - 2];
    const int n = k + 1;
    for (int t = 0; t < 40; t++) {
        const ptrdiff_t tile_rows = check_int(rng, 1, 3), tile_columns = check_int(rng, 1, 4);
        const ptrdiff_t c = check_int(rng, 1, 40), tiles = tile_rows * tile_columns;
        const ptrdiff_t rows = 2 * tile_rows - check_int(rng, 0, 1), columns = 2 * tile_columns - check_int(rng, 0, 1);
        const ptrdiff_t window_width = 2 * tile_columns + 2, row_stride = window_width * c;
        const ptrdiff_t pixel_stride = c + check_int(rng, 0, 2);  // wider: the output holds more channels
        const ptrdiff_t out_row_stride = 2 * tile_columns * pixel_stride + 3;
        float *window = check_alloc((size_t)((2 * tile_rows + 2) * row_stride) * sizeof(float));
        float *g = check_alloc((size_t)(k * k * c) * sizeof(float)), *u = check_alloc((size_t)(n * n * c) * sizeof(float));
        float *bias = check_alloc((size_t)c * sizeof(float));
        float *v = check_alloc((size_t)(tiles * c) * sizeof(float)), *m = check_alloc((size_t)(tiles * c) * sizeof(float));
        float *y = check_alloc((size_t)(4 * tiles * c) * sizeof(float));
        float *out = check_alloc((size_t)(2 * tile_rows * out_row_stride) * sizeof(float));
        // Optional addends after the bias: a per-channel bias of the image, a residual map laid out as `out`.
        const int with_image_bias = (int)check_int(rng, 0, 1), with_residual = (int)check_int(rng, 0, 1);
        float *image_bias = check_alloc((size_t)c * sizeof(float));
        float *residual = check_alloc((size_t)(2 * tile_rows * out_row_stride) * sizeof(float));
        check_fill(rng, image_bias, (size_t)c, -1, 1);
        check_fill(rng, residual, (size_t)(2 * tile_rows * out_row_stride), -3, 3);
        check_fill(rng, window, (size_t)((2 * tile_rows + 2) * row_stride), -2, 2);
        check_fill(rng, g, (size_t)(k * k * c), -1, 1);
        check_fill(rng, bias, (size_t)c, -1, 1);
        for (ptrdiff_t i = 0; i < 2 * tile_rows * out_row_stride; i++) out[i] = guard_value;
        for (ptrdiff_t ch = 0; ch < c; ch++) {
            for (int a = 0; a < n; a++) {
                for (int b = 0; b < n; b++) {
                    double sum = 0;
                    for (int r = 0; r < k; r++) {
                        for (int q = 0; q < k; q++) sum += g_matrix[a][r] * g[(ch * k + r) * k + q] * g_matrix[b][q];
                    }
                    u[(a * n + b) * c + ch] = (float)sum;
                }
            }
        }
        memset(y, 0, (size_t)(4 * tiles * c) * sizeof(float));
        for (int component = 0; component < n * n; component++) {
            ck_nn_winograd_input(window, row_stride, tile_rows, tile_columns, c, k, component, v);
            for (ptrdiff_t i = 0; i < tiles * c; i++) m[i] = v[i] * u[component * c + i % c];
            ck_nn_winograd_accumulate(m, tiles, c, k, component, y);
        }
        ck_nn_winograd_store(y, tile_rows, tile_columns, c, bias, with_image_bias ? image_bias : 0,
                             with_residual ? residual : 0, out, out_row_stride, pixel_stride, rows, columns);
        int ok = 1;
        for (ptrdiff_t py = 0; py < 2 * tile_rows && ok; py++) {
            for (ptrdiff_t i = 0; i < out_row_stride && ok; i++) {
                const ptrdiff_t px = i / pixel_stride, ch = i % pixel_stride;
                const float got = out[py * out_row_stride + i];
                if (py >= rows || px >= columns || i >= 2 * tile_columns * pixel_stride || ch >= c) {
                    ok = check_that(check_same_bits(got, guard_value), "nn %s winograd: wrote past the output at (%td, %td)",
                                    name, py, i);
                    continue;
                }
                double exact = bias[ch], magnitude = fabs((double)bias[ch]);
                for (int r = 0; r < k; r++) {
                    for (int q = 0; q < k; q++) {
                        exact += (double)window[(py + r) * row_stride + (px + q) * c + ch] * g[(ch * k + r) * k + q];
                    }
                }
                const ptrdiff_t ty = py / 2, tx = px / 2;
                for (int a = 0; a < n; a++) {
                    for (int b = 0; b < n; b++) {
                        const double coefficient = a_transpose[py % 2][a] * a_transpose[px % 2][b];
                        if (coefficient == 0) continue;
                        double terms = 0;
                        for (int r = 0; r < n; r++) {
                            for (int q = 0; q < n; q++) {
                                terms += fabs(b_transpose[a][r] * b_transpose[b][q]) *
                                         fabs((double)window[(2 * ty + r) * row_stride + (2 * tx + q) * c + ch]);
                            }
                        }
                        magnitude += fabs((double)u[(a * n + b) * c + ch]) * terms;
                    }
                }
                if (with_image_bias) exact += image_bias[ch], magnitude += fabs((double)image_bias[ch]);
                if (with_residual) {
                    const double skip = residual[py * out_row_stride + i];
                    exact += skip, magnitude += fabs(skip);
                }
                ok = check_that(close_to(got, exact, 16 * CHECK_U * magnitude + 1e-37),
                                "nn %s winograd F(2x2, %dx%d) %tdx%td tiles, %td channels: out[%td][%td][%td] %.9g, exact %.9g", name, k,
                                k, tile_rows, tile_columns, c, py, px, ch, got, exact);
            }
        }
        free(window), free(g), free(u), free(bias), free(v), free(m), free(y), free(out), free(image_bias), free(residual);
    }
}

void check_nn(void) {
    const int best = ck_nn_isa_level();
    for (int level = 0; level <= 2; level++) {
        if (!ck_nn_set_isa_level(level)) continue;
        char name[32];
        snprintf(name, sizeof name, "level-%d", level);
        check_rng rng = check_rng_for(name);
        check_norms(&rng, name);
        check_activations(&rng, name);
        check_attention(&rng, name);
        check_winograd(&rng, name, 3);
        check_winograd(&rng, name, 2);
#if defined(__aarch64__)
        printf("  nn     %-18s norms/activations/attention/winograd (NEON, compiler-vectorised)\n", name);
#else
        printf("  nn     %-18s norms/activations/attention/winograd\n", name);
#endif
    }
    ck_nn_set_isa_level(best);
}
