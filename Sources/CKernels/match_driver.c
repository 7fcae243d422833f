// The matching driver shared by every variant: normalisation, packing helpers, the error bound, and the
// per-block loop (approximate scores -> candidates within 2E of the maximum -> canonical re-score).
#include <math.h>
#include <string.h>
#include "match_internal.h"

const char *ck_match_kernel_name(const ck_match_kernel *kernel) { return kernel->name; }

ck_match_isa ck_match_kernel_isa(const ck_match_kernel *kernel) { return kernel->isa; }

float ck_match_dot(const ck_match_kernel *kernel, const float *a, const float *b, int64_t n) {
    return kernel->dot(a, b, n);
}

float ck_match_canonical_finish(float lanes[16], const float *a, const float *b, int64_t from, int64_t n) {
    for (int64_t c = from; c < n; c++) lanes[c % 16] = fmaf(a[c], b[c], lanes[c % 16]);
    for (int w = 8; w >= 1; w /= 2) {
        for (int l = 0; l < w; l++) lanes[l] = lanes[l] + lanes[l + w];
    }
    return lanes[0];
}

int64_t ck_match_normalize(const ck_match_kernel *kernel, const float *x, int64_t rows, int64_t channels, float *out) {
    for (int64_t r = 0; r < rows; r++) {
        const float *row = x + r * channels;
        float *dst = out + r * channels;
        const float squared = kernel->dot(row, row, channels);
        if (!isfinite(squared)) return r;
        if (squared == 0) {
            memset(dst, 0, (size_t)channels * sizeof(float));
            continue;
        }
        const float norm = sqrtf(squared);
        for (int64_t c = 0; c < channels; c++) dst[c] = row[c] / norm;
    }
    return -1;
}

int64_t ck_match_source_block_count(const ck_match_kernel *kernel, int64_t source_count) {
    return ck_match_ceil_div(source_count, kernel->block_rows);
}

int64_t ck_match_destination_panel_count(const ck_match_kernel *kernel, int64_t destination_count) {
    return ck_match_ceil_div(destination_count, kernel->panel_width);
}

static int64_t packed_words(const ck_match_kernel *kernel, int64_t channels) {
    return kernel->channels_per_word ? ck_match_ceil_div(channels, kernel->channels_per_word) : 0;
}

size_t ck_match_packed_sources_bytes(const ck_match_kernel *kernel, int64_t source_count, int64_t channels) {
    const int64_t words = kernel->source_header_words + kernel->block_rows * packed_words(kernel, channels);
    return (size_t)(ck_match_source_block_count(kernel, source_count) * words * 4);
}

size_t ck_match_packed_destinations_bytes(const ck_match_kernel *kernel, int64_t destination_count, int64_t channels) {
    const int64_t words = kernel->panel_header_words + kernel->panel_width * packed_words(kernel, channels);
    return (size_t)(ck_match_destination_panel_count(kernel, destination_count) * words * 4);
}

void ck_match_pack_sources(const ck_match_kernel *kernel, const ck_match_problem *problem,
                           int64_t block_begin, int64_t block_end) {
    kernel->pack_sources(problem, block_begin, block_end);
}

void ck_match_pack_destinations(const ck_match_kernel *kernel, const ck_match_problem *problem,
                                int64_t panel_begin, int64_t panel_end) {
    kernel->pack_destinations(problem, panel_begin, panel_end);
}

void ck_match_pack_f32_sources(const ck_match_problem *p, int64_t block_begin, int64_t block_end, int64_t block_rows) {
    const int64_t channels = p->channels;
    for (int64_t block = block_begin; block < block_end; block++) {
        float *out = (float *)p->packed_sources + block * channels * block_rows;
        for (int64_t i = 0; i < block_rows; i++) {
            const int64_t s = block * block_rows + i;
            const float *row = s < p->source_count ? p->normalized + (int64_t)p->source_tokens[s] * channels : 0;
            for (int64_t c = 0; c < channels; c++) out[c * block_rows + i] = row ? row[c] : 0.0f;
        }
    }
}

void ck_match_pack_f32_destinations(const ck_match_problem *p, int64_t panel_begin, int64_t panel_end,
                                    int64_t panel_width) {
    const int64_t channels = p->channels;
    for (int64_t panel = panel_begin; panel < panel_end; panel++) {
        float *out = (float *)p->packed_destinations + panel * channels * panel_width;
        for (int64_t j = 0; j < panel_width; j++) {
            const int64_t d = panel * panel_width + j;
            const float *row = d < p->destination_count
                ? p->normalized + (int64_t)p->destination_tokens[d] * channels : 0;
            for (int64_t c = 0; c < channels; c++) out[c * panel_width + j] = row ? row[c] : 0.0f;
        }
    }
}

float ck_match_row_max_scalar(const float *row, int64_t n) {
    float m = row[0];
    for (int64_t j = 1; j < n; j++) m = row[j] > m ? row[j] : m;
    return m;
}

int64_t ck_match_candidates_scalar(const float *row, int64_t n, float threshold, int32_t *out) {
    int64_t count = 0;
    for (int64_t j = 0; j < n; j++) {
        if (row[j] >= threshold) out[count++] = (int32_t)j;
    }
    return count;
}

static int64_t scratch_columns(const ck_match_kernel *kernel, int64_t destination_count) {
    const int64_t columns = ck_match_destination_panel_count(kernel, destination_count) * kernel->panel_width;
    return ck_match_ceil_div(columns, 16) * 16;  // keep every scratch row 64-byte aligned
}

size_t ck_match_scratch_bytes(const ck_match_kernel *kernel, int64_t destination_count) {
    // Approximate scores, then room for every row's candidates.
    return (size_t)(2 * kernel->block_rows * scratch_columns(kernel, destination_count)) * sizeof(float);
}

double ck_match_uncentred_bound(double input_roundoff, double accumulation_roundoff, int64_t channels) {
    // Every score sums at most `channels` products, each rounded at most `terms` times on its way.
    const double terms = (double)channels + 16;
    const double gamma_canonical = ck_match_gamma(terms, 0x1p-24);
    const double gamma_approximate = ck_match_gamma(terms, accumulation_roundoff);
    const double input = input_roundoff;
    // A normalised row has norm at most 1 + nu, so sum |a_c b_c| <= (1 + nu)^2 (Cauchy-Schwarz).
    const double nu = gamma_canonical + 3 * 0x1p-24;
    const double relative = (2 * input + input * input) + gamma_approximate * (1 + input) * (1 + input) + gamma_canonical;
    // Denormal results (flushed or not) cost at most 2^-126 per rounding step.
    const double flushed = 4 * terms * 0x1p-126;
    return (relative * (1 + nu) * (1 + nu) + flushed) * (1 + 0x1p-20);
}

void ck_match_center(const float *normalized, int64_t rows, int64_t channels, float *center) {
    memset(center, 0, (size_t)channels * sizeof(float));
    for (int64_t r = 0; r < rows; r++) {
        const float *row = normalized + r * channels;
        for (int64_t c = 0; c < channels; c++) center[c] += row[c];
    }
    const float scale = rows > 0 ? 1.0f / (float)rows : 0.0f;
    for (int64_t c = 0; c < channels; c++) center[c] *= scale;
}

/// The largest float not above m - margin (so no candidate is lost to rounding).
static float threshold_below(float m, double margin) {
    const double exact = (double)m - margin;
    float t = (float)exact;
    if ((double)t > exact) t = nextafterf(t, -INFINITY);
    return t;
}

/// Asks the cache for the `bytes` at `p` (the rows to re-score are scattered through memory).
static void prefetch(const void *p, int64_t bytes) {
    for (int64_t offset = 0; offset < bytes; offset += 64) __builtin_prefetch((const char *)p + offset);
}

/// Writes the candidates of rows 0 ..< valid of the block (destinations within 2E of the row's approximate
/// maximum), row r's at candidates[first[r] ..< first[r + 1]], and prefetches their rows when there are few.
static void collect_candidates(const ck_match_kernel *kernel, const ck_match_problem *problem, const float *scores,
                               int64_t ld, const double *bound, int64_t valid, int32_t *candidates, int64_t *first) {
    first[0] = 0;
    for (int64_t r = 0; r < valid; r++) {
        const float *row = scores + r * ld;
        const float threshold = threshold_below(kernel->row_max(row, problem->destination_count), 2 * bound[r]);
        first[r + 1] = first[r] + kernel->candidates(row, problem->destination_count, threshold, candidates + first[r]);
    }
    if (first[valid] > 64 * kernel->block_rows) return;
    for (int64_t q = 0; q < first[valid]; q++) {
        prefetch(problem->normalized + (int64_t)problem->destination_tokens[candidates[q]] * problem->channels,
                 problem->channels * (int64_t)sizeof(float));
    }
}

/// Overwrites the approximate scores of the block's rows with more than `dense_limit` candidates by canonical
/// scores against every destination (dense register tiles beat one-by-one re-scoring there).
static void score_dense_rows(const ck_match_kernel *kernel, const ck_match_problem *problem, int64_t block,
                             float *scores, int64_t ld, int64_t valid, const int64_t *first, int64_t dense_limit) {
    int64_t sources[CK_MATCH_DENSE_ROWS];
    float *out[CK_MATCH_DENSE_ROWS];
    int64_t count = 0;
    for (int64_t r = 0; r < valid; r++) {
        if (first[r + 1] - first[r] <= dense_limit) continue;
        sources[count] = block * kernel->block_rows + r;
        out[count++] = scores + r * ld;
        if (count == CK_MATCH_DENSE_ROWS) {
            kernel->dense_rows(problem, sources, count, out);
            count = 0;
        }
    }
    if (count > 0) kernel->dense_rows(problem, sources, count, out);
}

void ck_match_source_blocks(const ck_match_kernel *kernel, const ck_match_problem *problem,
                            int64_t block_begin, int64_t block_end, void *scratch,
                            int32_t *best_destination, float *best_score) {
    const int64_t ld = scratch_columns(kernel, problem->destination_count);
    const int64_t channels = problem->channels, rows = kernel->block_rows;
    const int64_t dense_limit = kernel->dense_rows ? problem->destination_count / 4 : INT64_MAX;
    float *scores = (float *)scratch;
    int32_t *candidates = (int32_t *)(scores + rows * ld);
    int64_t first[CK_MATCH_MAX_BLOCK_ROWS + 1];
    double bound[CK_MATCH_MAX_BLOCK_ROWS];

    for (int64_t block = block_begin; block < block_end; block++) {
        const int64_t valid = ck_match_min(rows, problem->source_count - block * rows);
        kernel->approx_block(problem, block, scores, ld, bound);
        collect_candidates(kernel, problem, scores, ld, bound, valid, candidates, first);
        score_dense_rows(kernel, problem, block, scores, ld, valid, first, dense_limit);
        // The canonical best among the candidates; the first of equal scores (lowest index) wins.
        for (int64_t r = 0; r < valid; r++) {
            const int64_t s = block * rows + r;
            const float *source = problem->normalized + (int64_t)problem->source_tokens[s] * channels;
            const float *dense = first[r + 1] - first[r] > dense_limit ? scores + r * ld : 0;
            int32_t best = -1;
            float score = 0;
            for (int64_t q = first[r]; q < first[r + 1]; q++) {
                const int32_t j = candidates[q];
                const float v = dense ? dense[j]
                    : kernel->dot(source, problem->normalized + (int64_t)problem->destination_tokens[j] * channels,
                                  channels);
                if (best < 0 || v > score) {
                    best = j;
                    score = v;
                }
            }
            best_destination[s] = best;
            best_score[s] = score;
        }
    }
}
