// ToMe matching (ck_match.h): every variant must give the scalar variant's results bit for bit (the canonical
// score is defined to make that possible): the canonical dot product, normalisation, the row scans, and the whole
// best-destination search on random problems, including near-identical tokens (every destination a candidate),
// exact duplicates (ties go to the lowest index), zero rows, and odd token and channel counts.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "match_internal.h"

/// How the token rows of a problem are drawn.
typedef enum token_kind {
    TOKENS_RANDOM,
    /// One shared row plus a little noise: many approximate scores within the error bound of the maximum.
    TOKENS_NEAR_IDENTICAL,
    /// A few distinct rows repeated: many exactly equal scores.
    TOKENS_DUPLICATES,
    /// Random rows, some of them all zeros.
    TOKENS_WITH_ZEROS,
    TOKEN_KIND_COUNT,
} token_kind;

static void make_tokens(check_rng *rng, token_kind kind, float *x, int64_t tokens, int64_t channels) {
    check_fill(rng, x, (size_t)(tokens * channels), -1, 1);
    if (kind == TOKENS_NEAR_IDENTICAL) {
        // Noise 1e-5 makes every score round to nearly 1 (ties); 1e-4 to 1e-3 puts score gaps at the size of the
        // approximate kernels' rounding errors, where a too small error bound picks a wrong destination.
        static const float noise[] = {1e-5f, 1e-4f, 3e-4f, 1e-3f};
        const float scale = noise[check_int(rng, 0, 3)];
        for (int64_t t = 1; t < tokens; t++) {
            for (int64_t c = 0; c < channels; c++) x[t * channels + c] = x[c] + check_uniform(rng, -scale, scale);
        }
    } else if (kind == TOKENS_DUPLICATES) {
        const int64_t distinct = check_int(rng, 1, 3);
        for (int64_t t = distinct; t < tokens; t++) {
            memcpy(x + t * channels, x + check_int(rng, 0, distinct - 1) * channels, (size_t)channels * sizeof(float));
        }
    } else if (kind == TOKENS_WITH_ZEROS) {
        for (int64_t t = 0; t < tokens; t++) {
            if (check_int(rng, 0, 3) == 0) memset(x + t * channels, 0, (size_t)channels * sizeof(float));
        }
    }
}

typedef struct match_result {
    int32_t *best;
    float *score;
} match_result;

/// Runs the whole search with `kernel` the way ToMe's driver does: pack every block and panel, then score the
/// source blocks in two ranges with separate scratch buffers (two threads' worth).
static match_result run_search(const ck_match_kernel *kernel, const float *normalized, int64_t channels,
                               const int32_t *sources, int64_t source_count, const int32_t *destinations,
                               int64_t destination_count, int64_t tokens) {
    float *center = check_alloc((size_t)channels * sizeof(float));
    ck_match_center(normalized, tokens, channels, center);
    ck_match_problem problem = {
        .normalized = normalized,
        .channels = channels,
        .source_tokens = sources,
        .source_count = source_count,
        .destination_tokens = destinations,
        .destination_count = destination_count,
        .center = center,
    };
    problem.packed_sources = check_alloc(ck_match_packed_sources_bytes(kernel, source_count, channels));
    problem.packed_destinations = check_alloc(ck_match_packed_destinations_bytes(kernel, destination_count, channels));
    const int64_t blocks = ck_match_source_block_count(kernel, source_count);
    const int64_t panels = ck_match_destination_panel_count(kernel, destination_count);
    ck_match_pack_sources(kernel, &problem, 0, blocks);
    ck_match_pack_destinations(kernel, &problem, 0, panels);
    const size_t scratch_bytes = ck_match_scratch_bytes(kernel, destination_count);
    void *scratch0 = check_alloc(scratch_bytes), *scratch1 = check_alloc(scratch_bytes);
    match_result result = {check_alloc((size_t)source_count * sizeof(int32_t)),
                           check_alloc((size_t)source_count * sizeof(float))};
    const int64_t split = blocks / 2;
    ck_match_source_blocks(kernel, &problem, 0, split, scratch0, result.best, result.score);
    ck_match_source_blocks(kernel, &problem, split, blocks, scratch1, result.best, result.score);
    free(center), free(problem.packed_sources), free(problem.packed_destinations), free(scratch0), free(scratch1);
    return result;
}

static void check_search(check_rng *rng, const ck_match_kernel *kernel, const ck_match_kernel *reference,
                         int64_t tokens, int64_t channels, token_kind kind) {
    float *x = check_alloc((size_t)(tokens * channels) * sizeof(float));
    float *normalized = check_alloc((size_t)(tokens * channels) * sizeof(float));
    float *normalized_reference = check_alloc((size_t)(tokens * channels) * sizeof(float));
    make_tokens(rng, kind, x, tokens, channels);
    const int64_t bad = ck_match_normalize(kernel, x, tokens, channels, normalized);
    ck_match_normalize(reference, x, tokens, channels, normalized_reference);
    check_that(bad == -1, "match %s: normalize flagged row %lld of finite rows", kernel->name, (long long)bad);
    check_that(memcmp(normalized, normalized_reference, (size_t)(tokens * channels) * sizeof(float)) == 0,
               "match %s tokens=%lld channels=%lld: normalised rows differ from the scalar variant's", kernel->name,
               (long long)tokens, (long long)channels);

    // A random split of the tokens into sources and destinations (at least one of each), in random order.
    int32_t *order = check_alloc((size_t)tokens * sizeof(int32_t));
    for (int64_t t = 0; t < tokens; t++) order[t] = (int32_t)t;
    for (int64_t t = tokens - 1; t > 0; t--) {
        const int64_t u = check_int(rng, 0, t);
        const int32_t swap = order[t];
        order[t] = order[u], order[u] = swap;
    }
    const int64_t destination_count = check_int(rng, 1, tokens - 1);
    const int32_t *destinations = order, *sources = order + destination_count;
    const int64_t source_count = tokens - destination_count;

    match_result got = run_search(kernel, normalized_reference, channels, sources, source_count, destinations,
                                  destination_count, tokens);
    match_result want = run_search(reference, normalized_reference, channels, sources, source_count, destinations,
                                   destination_count, tokens);
    for (int64_t s = 0; s < source_count; s++) {
        if (!check_that(got.best[s] == want.best[s] && check_same_bits(got.score[s], want.score[s]),
                        "match %s kind=%d sources=%lld destinations=%lld channels=%lld: source %lld -> %d (%.9g), "
                        "scalar -> %d (%.9g)",
                        kernel->name, (int)kind, (long long)source_count, (long long)destination_count,
                        (long long)channels, (long long)s, got.best[s], got.score[s], want.best[s], want.score[s])) {
            break;
        }
    }
    free(x), free(normalized), free(normalized_reference), free(order);
    free(got.best), free(got.score), free(want.best), free(want.score);
}

/// The canonical dot product on every length up to 70 and a few long ones, from unaligned addresses.
static void check_dot(check_rng *rng, const ck_match_kernel *kernel, const ck_match_kernel *reference) {
    float *a = check_alloc(1100 * sizeof(float)), *b = check_alloc(1100 * sizeof(float));
    check_fill(rng, a, 1100, -1, 1);
    check_fill(rng, b, 1100, -1, 1);
    for (int64_t n = 0; n <= 1027; n = n < 70 ? n + 1 : n * 2 + 1) {
        const int64_t offset = check_int(rng, 0, 3);
        const float got = ck_match_dot(kernel, a + offset, b + 3 - offset, n);
        const float want = ck_match_dot(reference, a + offset, b + 3 - offset, n);
        check_that(check_same_bits(got, want), "match %s dot n=%lld: %.9g, scalar %.9g", kernel->name, (long long)n,
                   got, want);
    }
    // A row with an infinity is flagged at the same index by both.
    float rows[3 * 21];
    check_fill(rng, rows, 3 * 21, -1, 1);
    rows[21 + 17] = INFINITY;
    float out[3 * 21];
    check_that(ck_match_normalize(kernel, rows, 3, 21, out) == 1 && ck_match_normalize(reference, rows, 3, 21, out) == 1,
               "match %s: a row holding an infinity is not flagged as row 1", kernel->name);
    free(a), free(b);
}

/// The row scans used to pick candidates: maximum and indices at or above a threshold.
static void check_scans(check_rng *rng, const ck_match_kernel *kernel) {
    float row[131];
    int32_t got[131], want[131];
    for (int64_t n = 1; n <= 131; n += (n < 20 ? 1 : 7)) {
        check_fill(rng, row, (size_t)n, -1, 1);
        if (n > 3) row[check_int(rng, 0, n - 1)] = row[check_int(rng, 0, n - 1)];  // a tie somewhere
        const float max = kernel->row_max(row, n);
        check_that(check_same_bits(max, ck_match_row_max_scalar(row, n)), "match %s row_max n=%lld: %.9g, scalar %.9g",
                   kernel->name, (long long)n, max, ck_match_row_max_scalar(row, n));
        const float threshold = check_int(rng, 0, 1) ? row[check_int(rng, 0, n - 1)] : check_uniform(rng, -1, 1);
        const int64_t count = kernel->candidates(row, n, threshold, got);
        const int64_t expected = ck_match_candidates_scalar(row, n, threshold, want);
        check_that(count == expected && memcmp(got, want, (size_t)count * sizeof(int32_t)) == 0,
                   "match %s candidates n=%lld threshold=%.9g: %lld found, scalar %lld", kernel->name, (long long)n,
                   threshold, (long long)count, (long long)expected);
    }
}

void check_match(void) {
    const ck_match_kernel *reference = ck_match_kernel_for(CK_MATCH_SCALAR);
#if defined(__aarch64__)
    check_that(ck_match_kernel_for(CK_MATCH_NEON) != 0, "match: no NEON variant on AArch64");
    check_that(ck_match_kernel_best() == ck_match_kernel_for(CK_MATCH_NEON),
               "match: the dispatcher does not pick the NEON variant on AArch64 (it picks %s)",
               ck_match_kernel_name(ck_match_kernel_best()));
#endif
    for (int isa = 0; isa < CK_MATCH_ISA_COUNT; isa++) {
        const ck_match_kernel *kernel = ck_match_kernel_for((ck_match_isa)isa);
        if (!kernel || kernel == reference) continue;
        check_rng rng = check_rng_for(kernel->name);
        check_dot(&rng, kernel, reference);
        check_scans(&rng, kernel);
        int problems = 0;
        for (int t = 0; t < 240; t++) {
            // Channel counts around the 16-lane canonical blocks and the register tiles, and a few SD-like ones.
            static const int64_t wide[] = {40, 64, 80, 160, 320};
            const int64_t channels = t % 5 == 4 ? wide[check_int(&rng, 0, 4)] : check_int(&rng, 1, 35);
            const int64_t tokens = check_int(&rng, 2, t % 7 == 6 ? 150 : 45);
            check_search(&rng, kernel, reference, tokens, channels, (token_kind)(t % TOKEN_KIND_COUNT));
            problems++;
        }
        printf("  match  %-18s %d searches, dot/normalise/scans\n", kernel->name, problems);
    }
}
