// AVX-512F matching variant: fp32 approximate scores on 12x32 register tiles (24 zmm accumulators, two
// destination vectors, one broadcast source value), plus the canonical dot product and the row scans, which the
// bf16 variant (match_avx512bf16.c) shares.
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include <string.h>
#include "match_internal.h"

#define MR 12
#define NR 32
#define TARGET __attribute__((target("avx512f,fma")))
#define TARGET_BF16 __attribute__((target("avx512f,avx512bf16,fma")))

TARGET float ck_match_dot_avx512(const float *a, const float *b, int64_t n) {
    __m512 acc = _mm512_setzero_ps();
    int64_t c = 0;
    for (; c + 16 <= n; c += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + c), _mm512_loadu_ps(b + c), acc);
    if (c < n) {
        float lanes[16];
        _mm512_storeu_ps(lanes, acc);
        return ck_match_canonical_finish(lanes, a, b, c, n);
    }
    // The canonical tree: lanes l + l+8, then l + l+4, l + l+2, l + l+1.
    const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(acc),
                                    _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1)));
    const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    const __m128 s1 = _mm_add_ss(s2, _mm_movehdup_ps(s2));
    return _mm_cvtss_f32(s1);
}

TARGET float ck_match_row_max_avx512(const float *row, int64_t n) {
    __m512 m = _mm512_set1_ps(-INFINITY);
    int64_t j = 0;
    for (; j + 16 <= n; j += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(row + j));
    if (j < n) {
        const __mmask16 tail = (__mmask16)((1u << (n - j)) - 1);
        m = _mm512_mask_max_ps(m, tail, m, _mm512_maskz_loadu_ps(tail, row + j));
    }
    return _mm512_reduce_max_ps(m);
}

TARGET int64_t ck_match_candidates_avx512(const float *row, int64_t n, float threshold, int32_t *out) {
    const __m512 t = _mm512_set1_ps(threshold);
    int64_t count = 0;
    for (int64_t j = 0; j < n; j += 16) {
        const __mmask16 valid = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        unsigned hits = _mm512_mask_cmp_ps_mask(valid, _mm512_maskz_loadu_ps(valid, row + j), t, _CMP_GE_OQ);
        while (hits) {
            out[count++] = (int32_t)(j + __builtin_ctz(hits));
            hits &= hits - 1;
        }
    }
    return count;
}

/// Lanes l + w for w = 8, 4, 2, 1 (the canonical tree) of 16 accumulators at once: lane 4q + k of the result is
/// the canonical sum of accumulator q + 4k.
TARGET static __m512 reduce16(const __m512 v[16]) {
    __m512 t[8], u[4], w[2];
#pragma clang loop unroll(full)
    for (int i = 0; i < 8; i++) {  // w = 8: halves of v[2i] and v[2i+1]
        t[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0x44),
                             _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0xEE));
    }
#pragma clang loop unroll(full)
    for (int i = 0; i < 4; i++) {  // w = 4: quarters
        u[i] = _mm512_add_ps(_mm512_shuffle_f32x4(t[2 * i], t[2 * i + 1], 0x88),
                             _mm512_shuffle_f32x4(t[2 * i], t[2 * i + 1], 0xDD));
    }
#pragma clang loop unroll(full)
    for (int i = 0; i < 2; i++) {  // w = 2: pairs within each quarter
        w[i] = _mm512_add_ps(_mm512_shuffle_ps(u[2 * i], u[2 * i + 1], 0x44),
                             _mm512_shuffle_ps(u[2 * i], u[2 * i + 1], 0xEE));
    }
    // w = 1: neighbours
    return _mm512_add_ps(_mm512_shuffle_ps(w[0], w[1], 0x88), _mm512_shuffle_ps(w[0], w[1], 0xDD));
}

/// Canonical scores of up to 8 sources against every destination on 8x2 tiles of (source, destination) pairs,
/// each accumulator holding a pair's 16 canonical lanes; the tail of the channels is merge-masked so that lanes
/// past the end keep their value, exactly as in the canonical definition.
TARGET void ck_match_dense_rows_avx512(const ck_match_problem *p, const int64_t *sources, int64_t count,
                                       float *const *out) {
    const int64_t channels = p->channels, body = channels / 16 * 16;
    const __mmask16 tail = (__mmask16)((1u << (channels - body)) - 1);
    const float *a[8];
    for (int r = 0; r < 8; r++) {
        a[r] = p->normalized + (int64_t)p->source_tokens[sources[r < count ? r : count - 1]] * channels;
    }
    for (int64_t j = 0; j < p->destination_count; j += 2) {
        const float *b0 = p->normalized + (int64_t)p->destination_tokens[j] * channels;
        const float *b1 = j + 1 < p->destination_count
            ? p->normalized + (int64_t)p->destination_tokens[j + 1] * channels : b0;
        __m512 acc[16];
#pragma clang loop unroll(full)
        for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_ps();
        for (int64_t c = 0; c < body; c += 16) {
            const __m512 d0 = _mm512_loadu_ps(b0 + c), d1 = _mm512_loadu_ps(b1 + c);
#pragma clang loop unroll(full)
            for (int r = 0; r < 8; r++) {
                const __m512 s = _mm512_loadu_ps(a[r] + c);
                acc[2 * r] = _mm512_fmadd_ps(s, d0, acc[2 * r]);
                acc[2 * r + 1] = _mm512_fmadd_ps(s, d1, acc[2 * r + 1]);
            }
        }
        if (tail) {
            const __m512 d0 = _mm512_maskz_loadu_ps(tail, b0 + body), d1 = _mm512_maskz_loadu_ps(tail, b1 + body);
#pragma clang loop unroll(full)
            for (int r = 0; r < 8; r++) {
                const __m512 s = _mm512_maskz_loadu_ps(tail, a[r] + body);
                acc[2 * r] = _mm512_mask3_fmadd_ps(s, d0, acc[2 * r], tail);
                acc[2 * r + 1] = _mm512_mask3_fmadd_ps(s, d1, acc[2 * r + 1], tail);
            }
        }
        float sums[16];
        _mm512_storeu_ps(sums, reduce16(acc));
        for (int64_t r = 0; r < count; r++) {
            out[r][j] = sums[4 * ((2 * r) % 4) + (2 * r) / 4];
            if (j + 1 < p->destination_count) out[r][j + 1] = sums[4 * ((2 * r + 1) % 4) + (2 * r + 1) / 4];
        }
    }
}

// MARK: fp32 approximate scores

static void pack_sources_f32(const ck_match_problem *p, int64_t begin, int64_t end) {
    ck_match_pack_f32_sources(p, begin, end, MR);
}

static void pack_destinations_f32(const ck_match_problem *p, int64_t begin, int64_t end) {
    ck_match_pack_f32_destinations(p, begin, end, NR);
}

TARGET static void scores_f32(const ck_match_problem *p, int64_t block, float *scores, int64_t ld,
                             double *bound) {
    const int64_t channels = p->channels;
    const double e = ck_match_uncentred_bound(0, 0x1p-24, channels);
    for (int i = 0; i < MR; i++) bound[i] = e;
    const int64_t panels = ck_match_ceil_div(p->destination_count, NR);
    const float *a0 = (const float *)p->packed_sources + block * channels * MR;
    for (int64_t panel = 0; panel < panels; panel++) {
        const float *a = a0;
        const float *b = (const float *)p->packed_destinations + panel * channels * NR;
        __m512 acc[MR][2];
#pragma clang loop unroll(full)
        for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
        for (int64_t c = 0; c < channels; c++) {
            const __m512 b0 = _mm512_loadu_ps(b);
            const __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma clang loop unroll(full)
            for (int i = 0; i < MR; i++) {
                const __m512 ai = _mm512_set1_ps(a[i]);
                acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
                acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
            }
            a += MR;
            b += NR;
        }
#pragma clang loop unroll(full)
        for (int i = 0; i < MR; i++) {
            _mm512_storeu_ps(scores + i * ld + panel * NR, acc[i][0]);
            _mm512_storeu_ps(scores + i * ld + panel * NR + 16, acc[i][1]);
        }
    }
}

const ck_match_kernel ck_match_kernel_avx512 = {
    .isa = CK_MATCH_AVX512,
    .name = "avx512-12x32",
    .block_rows = MR,
    .panel_width = NR,
    .channels_per_word = 1,
    .source_header_words = 0,
    .panel_header_words = 0,
    .pack_sources = pack_sources_f32,
    .pack_destinations = pack_destinations_f32,
    .approx_block = scores_f32,
    .row_max = ck_match_row_max_avx512,
    .candidates = ck_match_candidates_avx512,
    .dot = ck_match_dot_avx512,
    .dense_rows = ck_match_dense_rows_avx512,
};

#endif
