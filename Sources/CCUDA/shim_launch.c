// The CUDA shim, part 3: the kernel launches of each pipeline step (normalize, match, build the plan, merge,
// unmerge), each sized for the device, and the profiling and tuning diagnostics. See shim_internal.h.
#include "shim_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

// ---------------------------------------------------------------------------------------------------------------
// Kernel launches
// ---------------------------------------------------------------------------------------------------------------

// Diagnostics: per-kernel wall time (each launch synchronised) while profiling is on, and tuning overrides.
static int profiling, tuning_rows, tuning_splits;
static double profile_seconds[kernel_count];
static long profile_calls[kernel_count];
static char profile_text[2048];

static double now_seconds(void) {
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return (double)time.tv_sec + (double)time.tv_nsec * 1e-9;
}

void tomecuda_set_profiling(int enabled) {
    profiling = enabled;
    memset(profile_seconds, 0, sizeof profile_seconds);
    memset(profile_calls, 0, sizeof profile_calls);
}

const char *tomecuda_profile_summary(void) {
    size_t used = 0;
    profile_text[0] = 0;
    for (int k = 0; k < kernel_count && used < sizeof profile_text; ++k) {
        if (!profile_calls[k]) continue;
        used += (size_t)snprintf(profile_text + used, sizeof profile_text - used, "%s%s %.1f us x%ld",
                                 used ? ", " : "", shim_kernel_names[k], profile_seconds[k] * 1e6 / profile_calls[k],
                                 profile_calls[k]);
    }
    return profile_text;
}

void tomecuda_set_match_tuning(int rows, int splits) {
    tuning_rows = rows;
    tuning_splits = splits;
}

static tomecuda_status launch(device_state *state, int kernel, unsigned grid_x, unsigned grid_y, unsigned grid_z,
                              unsigned threads, unsigned shared_bytes, void **arguments) {
    if (grid_x == 0 || grid_y == 0 || grid_z == 0) return TOMECUDA_OK;
    double start = 0;
    if (profiling) {
        CHECK_CUDA(shim_driver.cuCtxSynchronize(), "cuCtxSynchronize");
        start = now_seconds();
    }
    CUresult result = shim_driver.cuLaunchKernel(state->kernels[kernel], grid_x, grid_y, grid_z, threads, 1, 1,
                                            shared_bytes, NULL, arguments, NULL);
    if (result != CUDA_SUCCESS) return shim_cuda_fail(result, shim_kernel_names[kernel]);
    if (profiling) {
        CHECK_CUDA(shim_driver.cuCtxSynchronize(), shim_kernel_names[kernel]);
        profile_seconds[kernel] += now_seconds() - start;
        profile_calls[kernel] += 1;
    }
    return TOMECUDA_OK;
}

static unsigned blocks(long long count, long long per_block) { return (unsigned)((count + per_block - 1) / per_block); }

int tomecuda_padded_channels(int channels) { return (channels + 63) / 64 * 64; }

static tomecuda_status check_plan(const tomecuda_plan *plan) {
    if (plan->batch < 1 || plan->sources < 1 || plan->destinations < 1 || plan->channels < 1 || plan->r < 0 ||
        plan->r > plan->sources || plan->tokens != plan->sources + plan->destinations ||
        plan->padded_channels != tomecuda_padded_channels(plan->channels))
        return shim_fail(TOMECUDA_ERROR_INVALID_ARGUMENT,
                    "inconsistent plan: batch %d, tokens %d, channels %d (padded %d), sources %d, destinations %d, "
                    "r %d",
                    plan->batch, plan->tokens, plan->channels, plan->padded_channels, plan->sources,
                    plan->destinations, plan->r);
    if (plan->sources >= (1 << 24) || plan->destinations >= (1 << 24) || plan->batch > 65535)
        return shim_fail(TOMECUDA_ERROR_INVALID_ARGUMENT,
                    "%d sources, %d destinations, batch %d: the CUDA kernels support fewer than 2^24 sources and "
                    "destinations and at most 65535 batch elements",
                    plan->sources, plan->destinations, plan->batch);
    return TOMECUDA_OK;
}

tomecuda_status tomecuda_normalize(int device, const tomecuda_plan *plan, uint64_t metric) {
    device_state *state;
    tomecuda_status status = check_plan(plan);
    if (status == TOMECUDA_OK) status = shim_enter(device, &state);
    if (status != TOMECUDA_OK) return status;
    int tokens = plan->tokens, channels = plan->channels, padded = plan->padded_channels;
    int sources = plan->sources, destinations = plan->destinations;
    CUdeviceptr x = metric;
    void *arguments[] = {&x, &tokens, &channels, &padded, (void *)&plan->slot, &sources, &destinations,
                         (void *)&plan->metric_sources, (void *)&plan->metric_destinations,
                         (void *)&plan->half_sources, (void *)&plan->half_destinations, (void *)&plan->bad_row};
    CHECK_CUDA(shim_driver.cuMemsetD32_v2(plan->bad_row, 0x7fffffffu, 1), "cuMemsetD32");
    return launch(state, kernel_normalize, blocks(tokens, 16), (unsigned)plan->batch, 1, 256, 0, arguments);
}

// tome_match's constants and shared-memory layout (tome_kernels.cu: MATCH_*, match_body), and the length of each
// CTA's candidate list (entries of 8 bytes) in the device's scratch buffer.
enum { match_bn = 128, match_bk = 32, match_stages = 3, match_candidates_per_row = 32 };

static size_t match_shared_bytes(int bm, int padded) {
    return (size_t)bm * padded * 2 + (size_t)match_stages * match_bn * match_bk * 2 + (size_t)bm * 4 +
           (size_t)bm * 8 + 16;
}

// Makes the device's scratch buffer at least `bytes` long (grown, never shrunk; waits for running kernels before
// replacing it).
static tomecuda_status reserve_scratch(int device, device_state *state, size_t bytes) {
    if (state->scratch_bytes >= bytes) return TOMECUDA_OK;
    if (state->scratch) {
        CHECK_CUDA(shim_driver.cuCtxSynchronize(), "cuCtxSynchronize");
        tomecuda_status status = tomecuda_free(device, state->scratch);
        if (status != TOMECUDA_OK) return status;
        state->scratch = 0;
        state->scratch_bytes = 0;
    }
    tomecuda_status status = tomecuda_alloc(device, bytes, &state->scratch);
    if (status == TOMECUDA_OK) state->scratch_bytes = bytes;
    return status;
}

// The bound on |fp16 tensor-core score - exact fp32 score| for unit vectors of `channels` elements:
// fp16 rounding of both operands (unit roundoff u = 2^-11, subnormal spacing 2^-24 -> absolute 2^-25 per element,
// which sums to at most 2^-25 * sqrt(C) per vector), fp32 accumulation on the tensor cores ((C + 1) * 2^-23,
// allowing truncation), and the exact path's own rounding (C * 2^-24), all with a 25% margin.
static float match_eps(int channels) {
    const double u = 1.0 / 2048.0, eta = 1.0 / 33554432.0;
    int root = 1;  // ceil(sqrt(channels)), which bounds the L1 norm of a unit vector
    while (root * root < channels) ++root;
    double bound = 2.0 * u + u * u + 2.0 * eta * 1.0001 * root + (channels + 1.0) / 8388608.0 +
                   channels / 16777216.0;
    return (float)(1.25 * bound);
}

tomecuda_status tomecuda_match(int device, const tomecuda_plan *plan) {
    device_state *state;
    tomecuda_status status = check_plan(plan);
    if (status == TOMECUDA_OK) status = shim_enter(device, &state);
    if (status != TOMECUDA_OK) return status;

    // 128 sources per CTA when two CTAs fit on a multiprocessor, else 64.
    int bm = 128, padded = plan->padded_channels;
    size_t shared = match_shared_bytes(128, padded);
    int per_sm = 2;
    if (tuning_rows == 64 || 2 * (shared + 1024) > (size_t)state->shared_per_multiprocessor ||
        shared > (size_t)state->shared_per_block) {
        bm = 64;
        shared = match_shared_bytes(64, padded);
        if (shared > (size_t)state->shared_per_block)
            return shim_fail(TOMECUDA_ERROR_INVALID_ARGUMENT,
                        "%d metric channels need %zu bytes of shared memory per block; the device allows %d",
                        plan->channels, shared, state->shared_per_block);
        per_sm = 2 * (shared + 1024) <= (size_t)state->shared_per_multiprocessor ? 2 : 1;
    }
    // Split the destination tiles over CTAs to fill the device: the split with the fewest tile-rounds,
    // counting the resident-source load as half a tile.
    long long row_blocks = (long long)blocks(plan->sources, bm) * plan->batch;
    int tiles = (int)blocks(plan->destinations, match_bn);
    long long slots = (long long)state->multiprocessors * per_sm;
    int splits = 1;
    double best_cost = 0;
    for (int s = 1; s <= tiles; ++s) {
        double cost = (double)((row_blocks * s + slots - 1) / slots) * ((tiles + s - 1) / s + 0.5);
        if (s == 1 || cost < best_cost) {
            best_cost = cost;
            splits = s;
        }
    }

    if (tuning_splits > 0) splits = tuning_splits < tiles ? tuning_splits : tiles;
    int sources = plan->sources, destinations = plan->destinations, channels = plan->channels;
    int capacity = match_candidates_per_row * bm;
    status = reserve_scratch(device, state, (size_t)row_blocks * splits * capacity * 8);
    if (status != TOMECUDA_OK) return status;
    float window = 2.0f * match_eps(channels);
    void *arguments[] = {(void *)&plan->half_sources, (void *)&plan->half_destinations, (void *)&plan->metric_sources,
                         (void *)&plan->metric_destinations, &sources, &destinations, &channels, &padded, &window,
                         &state->scratch, &capacity, (void *)&plan->best_keys};
    CHECK_CUDA(shim_driver.cuMemsetD8_v2(plan->best_keys, 0, (size_t)plan->batch * plan->sources * 8), "cuMemsetD8");
    return launch(state, bm == 128 ? kernel_match128 : kernel_match64, blocks(plan->sources, bm), (unsigned)splits,
                  (unsigned)plan->batch, 256, (unsigned)shared, arguments);
}

// Ranks `count` 32-bit keys per batch ((keys >> shift) ^ flip, ties to the lower index) into permutation, using
// `counts` ([batch][count] int32) as scratch.
static tomecuda_status rank(device_state *state, int batch, uint64_t keys, int count, int shift, unsigned flip,
                            uint64_t counts, uint64_t permutation) {
    CHECK_CUDA(shim_driver.cuMemsetD8_v2(counts, 0, (size_t)batch * count * sizeof(int)), "cuMemsetD8");
    void *count_arguments[] = {&keys, &count, &shift, &flip, &counts};
    tomecuda_status status = launch(state, kernel_rank_count, blocks(count, 1024), blocks(count, 256),
                                    (unsigned)batch, 256, 0, count_arguments);
    if (status != TOMECUDA_OK) return status;
    void *scatter_arguments[] = {&counts, &count, &permutation};
    return launch(state, kernel_rank_scatter, blocks(count, 256), (unsigned)batch, 1, 256, 0, scatter_arguments);
}

tomecuda_status tomecuda_build_plan(int device, const tomecuda_plan *plan) {
    device_state *state;
    tomecuda_status status = check_plan(plan);
    if (status == TOMECUDA_OK) status = shim_enter(device, &state);
    if (status != TOMECUDA_OK) return status;
    int tokens = plan->tokens, sources = plan->sources, destinations = plan->destinations, r = plan->r;
    // Sources by descending score: the high word of the best key, flipped.
    status = rank(state, plan->batch, plan->best_keys, sources, 32, 0xffffffffu, plan->rank_counts, plan->order);
    if (status != TOMECUDA_OK) return status;
    void *build_arguments[] = {(void *)&plan->best_keys, (void *)&plan->order, (void *)&plan->source_tokens,
                               (void *)&plan->destination_tokens, &tokens, &sources, &destinations, &r,
                               (void *)&plan->row_of, (void *)&plan->unmerged_tokens, (void *)&plan->merge_keys};
    int widest = sources > destinations ? sources : destinations;
    status = launch(state, kernel_plan_build, blocks(widest, 256), (unsigned)plan->batch, 1, 256, 0, build_arguments);
    if (status != TOMECUDA_OK) return status;
    // The merged sources grouped by destination, ascending source inside a group (empty segments stay [0, 0)).
    size_t segment_bytes = (size_t)plan->batch * destinations * sizeof(int);
    CHECK_CUDA(shim_driver.cuMemsetD8_v2(plan->segment_start, 0, segment_bytes), "cuMemsetD8");
    CHECK_CUDA(shim_driver.cuMemsetD8_v2(plan->segment_end, 0, segment_bytes), "cuMemsetD8");
    if (r == 0) return TOMECUDA_OK;
    status = rank(state, plan->batch, plan->merge_keys, sources, 0, 0, plan->rank_counts, plan->by_destination);
    if (status != TOMECUDA_OK) return status;
    void *csr_arguments[] = {(void *)&plan->merge_keys, (void *)&plan->by_destination, (void *)&plan->source_tokens,
                             &sources, &destinations, &r, (void *)&plan->members, (void *)&plan->segment_start,
                             (void *)&plan->segment_end};
    return launch(state, kernel_csr_finish, blocks(r, 256), (unsigned)plan->batch, 1, 256, 0, csr_arguments);
}

tomecuda_status tomecuda_merge(int device, const tomecuda_plan *plan, uint64_t x, int channels, uint64_t merged) {
    device_state *state;
    tomecuda_status status = check_plan(plan);
    if (status == TOMECUDA_OK) status = shim_enter(device, &state);
    if (status != TOMECUDA_OK) return status;
    if (channels < 1) return shim_fail(TOMECUDA_ERROR_INVALID_ARGUMENT, "merge: %d channels", channels);
    int tokens = plan->tokens, sources = plan->sources, destinations = plan->destinations, r = plan->r;
    void *arguments[] = {&x, &tokens, &channels, &sources, &destinations, &r, (void *)&plan->unmerged_tokens,
                         (void *)&plan->destination_tokens, (void *)&plan->members, (void *)&plan->segment_start,
                         (void *)&plan->segment_end, &merged};
    return launch(state, kernel_merge, blocks(tokens - r, 8), (unsigned)plan->batch, 1, 256, 0, arguments);
}

tomecuda_status tomecuda_unmerge(int device, const tomecuda_plan *plan, uint64_t merged, int channels,
                                 uint64_t restored) {
    device_state *state;
    tomecuda_status status = check_plan(plan);
    if (status == TOMECUDA_OK) status = shim_enter(device, &state);
    if (status != TOMECUDA_OK) return status;
    if (channels < 1) return shim_fail(TOMECUDA_ERROR_INVALID_ARGUMENT, "unmerge: %d channels", channels);
    int tokens = plan->tokens, merged_tokens = plan->tokens - plan->r;
    void *arguments[] = {&merged, &tokens, &channels, &merged_tokens, (void *)&plan->row_of, &restored};
    return launch(state, kernel_unmerge, blocks(tokens, 8), (unsigned)plan->batch, 1, 256, 0, arguments);
}
