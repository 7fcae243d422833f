// Scalar matching variant: every pair scored canonically. It is the reference the SIMD variants must equal.
#include <math.h>
#include "match_internal.h"

static float dot_scalar(const float *a, const float *b, int64_t n) {
    float lanes[16] = {0};
    return ck_match_canonical_finish(lanes, a, b, 0, n);
}

static void pack_nothing(const ck_match_problem *p, int64_t begin, int64_t end) {
    (void)p;
    (void)begin;
    (void)end;
}

/// Block `block` is the single source `block`: its canonical score against every destination (bound 0).
static void scores_scalar(const ck_match_problem *p, int64_t block, float *scores, int64_t ld, double *bound) {
    (void)ld;
    bound[0] = 0;
    const float *source = p->normalized + (int64_t)p->source_tokens[block] * p->channels;
    for (int64_t j = 0; j < p->destination_count; j++) {
        scores[j] = dot_scalar(source, p->normalized + (int64_t)p->destination_tokens[j] * p->channels, p->channels);
    }
}

const ck_match_kernel ck_match_kernel_scalar = {
    .isa = CK_MATCH_SCALAR,
    .name = "scalar",
    .block_rows = 1,
    .panel_width = 1,
    .channels_per_word = 0,
    .source_header_words = 0,
    .panel_header_words = 0,
    .pack_sources = pack_nothing,
    .pack_destinations = pack_nothing,
    .approx_block = scores_scalar,
    .row_max = ck_match_row_max_scalar,
    .candidates = ck_match_candidates_scalar,
    .dot = dot_scalar,
};
