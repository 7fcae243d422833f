// AVX2 matching variant: fp32 approximate scores on 6x16 register tiles (12 ymm accumulators), the canonical dot
// product as two 8-lane halves of the 16 canonical lanes, and the row scans.
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include "match_internal.h"

#define MR 6
#define NR 16
#define TARGET __attribute__((target("avx2,fma")))

TARGET static float dot_avx2(const float *a, const float *b, int64_t n) {
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();  // canonical lanes 0-7 and 8-15
    int64_t c = 0;
    for (; c + 16 <= n; c += 16) {
        lo = _mm256_fmadd_ps(_mm256_loadu_ps(a + c), _mm256_loadu_ps(b + c), lo);
        hi = _mm256_fmadd_ps(_mm256_loadu_ps(a + c + 8), _mm256_loadu_ps(b + c + 8), hi);
    }
    if (c < n) {
        float lanes[16];
        _mm256_storeu_ps(lanes, lo);
        _mm256_storeu_ps(lanes + 8, hi);
        return ck_match_canonical_finish(lanes, a, b, c, n);
    }
    const __m256 s8 = _mm256_add_ps(lo, hi);
    const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    const __m128 s1 = _mm_add_ss(s2, _mm_movehdup_ps(s2));
    return _mm_cvtss_f32(s1);
}

TARGET static float row_max_avx2(const float *row, int64_t n) {
    __m256 m = _mm256_set1_ps(-INFINITY);
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(row + j));
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    float best = _mm_cvtss_f32(h);
    for (; j < n; j++) best = row[j] > best ? row[j] : best;
    return best;
}

TARGET static int64_t candidates_avx2(const float *row, int64_t n, float threshold, int32_t *out) {
    const __m256 t = _mm256_set1_ps(threshold);
    int64_t count = 0, j = 0;
    for (; j + 8 <= n; j += 8) {
        unsigned hits = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(row + j), t, _CMP_GE_OQ));
        while (hits) {
            out[count++] = (int32_t)(j + __builtin_ctz(hits));
            hits &= hits - 1;
        }
    }
    for (; j < n; j++) {
        if (row[j] >= threshold) out[count++] = (int32_t)j;
    }
    return count;
}

static void pack_sources_avx2(const ck_match_problem *p, int64_t begin, int64_t end) {
    ck_match_pack_f32_sources(p, begin, end, MR);
}

static void pack_destinations_avx2(const ck_match_problem *p, int64_t begin, int64_t end) {
    ck_match_pack_f32_destinations(p, begin, end, NR);
}

TARGET static void scores_avx2(const ck_match_problem *p, int64_t block, float *scores, int64_t ld,
                              double *bound) {
    const int64_t channels = p->channels;
    const double e = ck_match_uncentred_bound(0, 0x1p-24, channels);
    for (int i = 0; i < MR; i++) bound[i] = e;
    const int64_t panels = ck_match_ceil_div(p->destination_count, NR);
    const float *a0 = (const float *)p->packed_sources + block * channels * MR;
    for (int64_t panel = 0; panel < panels; panel++) {
        const float *a = a0;
        const float *b = (const float *)p->packed_destinations + panel * channels * NR;
        __m256 acc[MR][2];
#pragma clang loop unroll(full)
        for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
        for (int64_t c = 0; c < channels; c++) {
            const __m256 b0 = _mm256_loadu_ps(b);
            const __m256 b1 = _mm256_loadu_ps(b + 8);
#pragma clang loop unroll(full)
            for (int i = 0; i < MR; i++) {
                const __m256 ai = _mm256_broadcast_ss(a + i);
                acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
                acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
            }
            a += MR;
            b += NR;
        }
#pragma clang loop unroll(full)
        for (int i = 0; i < MR; i++) {
            _mm256_storeu_ps(scores + i * ld + panel * NR, acc[i][0]);
            _mm256_storeu_ps(scores + i * ld + panel * NR + 8, acc[i][1]);
        }
    }
}

const ck_match_kernel ck_match_kernel_avx2 = {
    .isa = CK_MATCH_AVX2,
    .name = "avx2-6x16",
    .block_rows = MR,
    .panel_width = NR,
    .channels_per_word = 1,
    .source_header_words = 0,
    .panel_header_words = 0,
    .pack_sources = pack_sources_avx2,
    .pack_destinations = pack_destinations_avx2,
    .approx_block = scores_avx2,
    .row_max = row_max_avx2,
    .candidates = candidates_avx2,
    .dot = dot_avx2,
};

#endif
