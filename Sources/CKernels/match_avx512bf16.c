// AVX512-BF16 matching variant: approximate scores from bf16 dot products (vdpbf16ps, fp32 accumulation) on
// 12x32 register tiles, on residuals from the mean row, so that a component all tokens share (common in network
// activations) does not inflate the error bound and with it the number of canonical re-scores.
//
// With m = problem->center, y the normalised rows, d_i = y_i - m (source), e_j = y_j - m (destination):
//   y_i . y_j = (m.m + m.d_i) + m.e_j + d_i.e_j, where the first term is constant for source i, so
//   approximate(i, j) = beta_j + bf16dot(d_i, e_j), beta_j = m.e_j computed in fp32 (within (gamma + 2u)|m||e_j|),
// and |approximate(i, j) - (canonical(i, j) - const_i)| <= E_i with
//   E_i = [(2u' + u'^2) + g(1 + u')^2] |d_i| D + [3u + gamma + g] |m| D + gamma (1 + nu)^2 + flushed,
//   u = 2^-24; u' = 2^-8 + u + 2^-32 (fp32 subtraction, then bf16 rounding of the residual);
//   g = gamma_(C+16) at 2^-23 per vdpbf16ps step (covers any rounding mode inside the instruction, beta included);
//   gamma = gamma_(C+16) at u (the canonical sum); 1 + nu bounds a normalised row's norm;
//   D = max_j |e_j|; flushed = 4 (C+16) 2^-126 (vdpbf16ps treats denormals as zero).
// |d_i| and D are upper bounds from the fp32 residuals' sums of squares (see pack_residual).
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include <string.h>
#include "match_internal.h"

#define MR 12
#define NR 32
/// Panel header: NR floats beta_j, then 16 floats whose first is the panel's largest residual norm.
#define PANEL_HEADER (NR + 16)
#define TARGET __attribute__((target("avx512f,avx512bf16,fma")))

/// The smallest float not below v.
static inline float float_above(double v) {
    float f = (float)v;
    if ((double)f < v) f = nextafterf(f, INFINITY);
    return f;
}

/// Mask of the `n` lowest of 16 lanes (n may be <= 0 or >= 16).
static inline __mmask16 lanes(int64_t n) {
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/// Packs the residual row - center of one token as bf16 pairs (low half = even channel, round to nearest even)
/// at out[k * stride] and returns an upper bound of the exact residual's norm; with `beta`, also stores
/// center . residual (fp32). A NULL row packs zeros.
TARGET static float pack_residual(const float *row, const float *center, int64_t channels, uint32_t *out,
                                  int64_t stride, float *beta) {
    const int64_t pairs = ck_match_ceil_div(channels, 2);
    if (!row) {
        for (int64_t k = 0; k < pairs; k++) out[k * stride] = 0;
        if (beta) *beta = 0;
        return 0;
    }
    __m512 norm2 = _mm512_setzero_ps(), dot = _mm512_setzero_ps();
    uint32_t words[16];
    for (int64_t c = 0; c < channels; c += 32) {
        const __mmask16 m0 = lanes(channels - c), m1 = lanes(channels - c - 16);
        const __m512 c0 = _mm512_maskz_loadu_ps(m0, center + c), c1 = _mm512_maskz_loadu_ps(m1, center + c + 16);
        const __m512 r0 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m0, row + c), c0);
        const __m512 r1 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m1, row + c + 16), c1);
        norm2 = _mm512_fmadd_ps(r1, r1, _mm512_fmadd_ps(r0, r0, norm2));
        dot = _mm512_fmadd_ps(c1, r1, _mm512_fmadd_ps(c0, r0, dot));
        _mm512_storeu_si512(words, (__m512i)_mm512_cvtne2ps_pbh(r1, r0));
        const int64_t count = pairs - c / 2 < 16 ? pairs - c / 2 : 16;
        for (int64_t j = 0; j < count; j++) out[(c / 2 + j) * stride] = words[j];
    }
    if (beta) *beta = _mm512_reduce_add_ps(dot);
    // The fp32 sum of squares is within gamma of the exact one (positive terms); flushed squares add at most
    // 2^-126 each; |exact residual| <= |fp32 residual| / (1 - u), covered by the final factor.
    const double terms = (double)channels + 16;
    const double squares = ((double)_mm512_reduce_add_ps(norm2) + terms * 0x1p-126) / (1 - ck_match_gamma(terms, 0x1p-24));
    return float_above(sqrt(squares) * (1 + 0x1p-20));
}

/// Source block b: MR floats |d_i| (bounds), then pair k of row i at word k * MR + i.
static void pack_sources(const ck_match_problem *p, int64_t begin, int64_t end) {
    const int64_t channels = p->channels, pairs = ck_match_ceil_div(channels, 2);
    for (int64_t block = begin; block < end; block++) {
        uint32_t *out = (uint32_t *)p->packed_sources + block * (MR + pairs * MR);
        float *norms = (float *)out;
        for (int64_t i = 0; i < MR; i++) {
            const int64_t s = block * MR + i;
            const float *row = s < p->source_count ? p->normalized + (int64_t)p->source_tokens[s] * channels : 0;
            norms[i] = pack_residual(row, p->center, channels, out + MR + i, MR, 0);
        }
    }
}

/// Destination panel q: PANEL_HEADER words (beta_j, then max |e_j|), then pair k of destination j at k * NR + j.
static void pack_destinations(const ck_match_problem *p, int64_t begin, int64_t end) {
    const int64_t channels = p->channels, pairs = ck_match_ceil_div(channels, 2);
    for (int64_t panel = begin; panel < end; panel++) {
        uint32_t *out = (uint32_t *)p->packed_destinations + panel * (PANEL_HEADER + pairs * NR);
        float *header = (float *)out;
        memset(header, 0, PANEL_HEADER * sizeof(float));
        for (int64_t j = 0; j < NR; j++) {
            const int64_t d = panel * NR + j;
            const float *row = d < p->destination_count
                ? p->normalized + (int64_t)p->destination_tokens[d] * channels : 0;
            const float norm = pack_residual(row, p->center, channels, out + PANEL_HEADER + j, NR, header + j);
            header[NR] = norm > header[NR] ? norm : header[NR];
        }
    }
}

TARGET static void scores(const ck_match_problem *p, int64_t block, float *out, int64_t ld, double *bound) {
    const int64_t channels = p->channels, pairs = ck_match_ceil_div(channels, 2);
    const int64_t panels = ck_match_ceil_div(p->destination_count, NR);
    const int64_t panel_words = PANEL_HEADER + pairs * NR;
    const uint32_t *source_block = (const uint32_t *)p->packed_sources + block * (MR + pairs * MR);
    const uint32_t *destinations = (const uint32_t *)p->packed_destinations;

    // The error bound of each row (see the top of this file).
    double largest = 0, center2 = 0;
    for (int64_t q = 0; q < panels; q++) {
        const double norm = ((const float *)(destinations + q * panel_words))[NR];
        largest = norm > largest ? norm : largest;
    }
    for (int64_t c = 0; c < channels; c++) center2 += (double)p->center[c] * (double)p->center[c];
    const double terms = (double)channels + 16, u = 0x1p-24, input = 0x1p-8 + u + 0x1p-32;
    const double g = ck_match_gamma(terms, 0x1p-23), gamma = ck_match_gamma(terms, u), nu = gamma + 3 * u;
    const double residual_term = (2 * input + input * input) + g * (1 + input) * (1 + input);
    const double center_term = (3 * u + gamma + g) * sqrt(center2) * (1 + 0x1p-20) * largest;
    const double fixed = center_term + gamma * (1 + nu) * (1 + nu) + 4 * terms * 0x1p-126;
    for (int i = 0; i < MR; i++) {
        bound[i] = (residual_term * ((const float *)source_block)[i] * largest + fixed) * (1 + 0x1p-20);
    }

    const uint32_t *a0 = source_block + MR;
    for (int64_t panel = 0; panel < panels; panel++) {
        const uint32_t *a = a0;
        const uint32_t *header = destinations + panel * panel_words;
        const uint32_t *b = header + PANEL_HEADER;
        const __m512 beta0 = _mm512_loadu_ps((const float *)header);
        const __m512 beta1 = _mm512_loadu_ps((const float *)header + 16);
        __m512 acc[MR][2];
#pragma clang loop unroll(full)
        for (int i = 0; i < MR; i++) {
            acc[i][0] = beta0;
            acc[i][1] = beta1;
        }
        for (int64_t k = 0; k < pairs; k++) {
            const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b);
            const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + 16);
#pragma clang loop unroll(full)
            for (int i = 0; i < MR; i++) {
                const __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[i]);
                acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
                acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
            }
            a += MR;
            b += NR;
        }
#pragma clang loop unroll(full)
        for (int i = 0; i < MR; i++) {
            _mm512_storeu_ps(out + i * ld + panel * NR, acc[i][0]);
            _mm512_storeu_ps(out + i * ld + panel * NR + 16, acc[i][1]);
        }
    }
}

const ck_match_kernel ck_match_kernel_avx512_bf16 = {
    .isa = CK_MATCH_AVX512_BF16,
    .name = "avx512bf16-12x32",
    .block_rows = MR,
    .panel_width = NR,
    .channels_per_word = 2,
    .source_header_words = MR,
    .panel_header_words = PANEL_HEADER,
    .pack_sources = pack_sources,
    .pack_destinations = pack_destinations,
    .approx_block = scores,
    .row_max = ck_match_row_max_avx512,
    .candidates = ck_match_candidates_avx512,
    .dot = ck_match_dot_avx512,
    .dense_rows = ck_match_dense_rows_avx512,
};

#endif
