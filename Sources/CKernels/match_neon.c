// NEON matching variant: fp32 approximate scores on 8x8 register tiles (16 q accumulators), the canonical dot
// product as four 4-lane quarters of the 16 canonical lanes, and the row scans.
#if defined(__aarch64__)
#include <arm_neon.h>
#include "match_internal.h"

#define MR 8
#define NR 8

static float dot_neon(const float *a, const float *b, int64_t n) {
    float32x4_t q0 = vdupq_n_f32(0), q1 = q0, q2 = q0, q3 = q0;  // canonical lanes 0-3, 4-7, 8-11, 12-15
    int64_t c = 0;
    for (; c + 16 <= n; c += 16) {
        q0 = vfmaq_f32(q0, vld1q_f32(a + c), vld1q_f32(b + c));
        q1 = vfmaq_f32(q1, vld1q_f32(a + c + 4), vld1q_f32(b + c + 4));
        q2 = vfmaq_f32(q2, vld1q_f32(a + c + 8), vld1q_f32(b + c + 8));
        q3 = vfmaq_f32(q3, vld1q_f32(a + c + 12), vld1q_f32(b + c + 12));
    }
    if (c < n) {
        float lanes[16];
        vst1q_f32(lanes, q0);
        vst1q_f32(lanes + 4, q1);
        vst1q_f32(lanes + 8, q2);
        vst1q_f32(lanes + 12, q3);
        return ck_match_canonical_finish(lanes, a, b, c, n);
    }
    const float32x4_t s4 = vaddq_f32(vaddq_f32(q0, q2), vaddq_f32(q1, q3));
    const float32x2_t s2 = vadd_f32(vget_low_f32(s4), vget_high_f32(s4));
    return vpadds_f32(s2);
}

static float row_max_neon(const float *row, int64_t n) {
    float best = row[0];
    int64_t j = 0;
    if (n >= 4) {
        float32x4_t m = vld1q_f32(row);
        for (j = 4; j + 4 <= n; j += 4) m = vmaxq_f32(m, vld1q_f32(row + j));
        best = vmaxvq_f32(m);
    }
    for (; j < n; j++) best = row[j] > best ? row[j] : best;
    return best;
}

static int64_t candidates_neon(const float *row, int64_t n, float threshold, int32_t *out) {
    const float32x4_t t = vdupq_n_f32(threshold);
    int64_t count = 0, j = 0;
    for (; j + 4 <= n; j += 4) {
        if (vmaxvq_u32(vcgeq_f32(vld1q_f32(row + j), t)) == 0) continue;
        for (int64_t l = j; l < j + 4; l++) {
            if (row[l] >= threshold) out[count++] = (int32_t)l;
        }
    }
    for (; j < n; j++) {
        if (row[j] >= threshold) out[count++] = (int32_t)j;
    }
    return count;
}

static void pack_sources_neon(const ck_match_problem *p, int64_t begin, int64_t end) {
    ck_match_pack_f32_sources(p, begin, end, MR);
}

static void pack_destinations_neon(const ck_match_problem *p, int64_t begin, int64_t end) {
    ck_match_pack_f32_destinations(p, begin, end, NR);
}

static void scores_neon(const ck_match_problem *p, int64_t block, float *scores, int64_t ld,
                       double *bound) {
    const int64_t channels = p->channels;
    const double e = ck_match_uncentred_bound(0, 0x1p-24, channels);
    for (int i = 0; i < MR; i++) bound[i] = e;
    const int64_t panels = ck_match_ceil_div(p->destination_count, NR);
    const float *a0 = (const float *)p->packed_sources + block * channels * MR;
    for (int64_t panel = 0; panel < panels; panel++) {
        const float *a = a0;
        const float *b = (const float *)p->packed_destinations + panel * channels * NR;
        float32x4_t acc[MR][2];
#pragma clang loop unroll(full)
        for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = vdupq_n_f32(0);
        for (int64_t c = 0; c < channels; c++) {
            const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
            const float32x4_t alo = vld1q_f32(a), ahi = vld1q_f32(a + 4);
#define STEP(i)                                                                                                \
    acc[i][0] = vfmaq_laneq_f32(acc[i][0], b0, alo, i);                                                        \
    acc[i][1] = vfmaq_laneq_f32(acc[i][1], b1, alo, i);                                                        \
    acc[i + 4][0] = vfmaq_laneq_f32(acc[i + 4][0], b0, ahi, i);                                                \
    acc[i + 4][1] = vfmaq_laneq_f32(acc[i + 4][1], b1, ahi, i);
            STEP(0) STEP(1) STEP(2) STEP(3)
#undef STEP
            a += MR;
            b += NR;
        }
#pragma clang loop unroll(full)
        for (int i = 0; i < MR; i++) {
            vst1q_f32(scores + i * ld + panel * NR, acc[i][0]);
            vst1q_f32(scores + i * ld + panel * NR + 4, acc[i][1]);
        }
    }
}

const ck_match_kernel ck_match_kernel_neon = {
    .isa = CK_MATCH_NEON,
    .name = "neon-8x8",
    .block_rows = MR,
    .panel_width = NR,
    .channels_per_word = 1,
    .source_header_words = 0,
    .panel_header_words = 0,
    .pack_sources = pack_sources_neon,
    .pack_destinations = pack_destinations_neon,
    .approx_block = scores_neon,
    .row_max = row_max_neon,
    .candidates = candidates_neon,
    .dot = dot_neon,
};

#endif
