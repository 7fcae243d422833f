// CUDA kernels of the ToMe core (bipartite soft matching), compiled at run time by NVRTC.
//
// This file is the readable source. `Scripts/cuda/embed-kernels.sh` turns it into tome_kernels_embedded.h (a C
// string that shim_library.c hands to NVRTC); a test fails when the two differ. SwiftPM ignores `.cu` files.
// Compiled with --fmad=false: the only fused multiply-adds are the explicit fmaf calls, so every float result
// that must match the CPU path bit for bit (normalised metric, exact scores) follows the CPU's operation order.
//
// The plan, for a metric [B, N, C] split into Nsrc sources and Ndst destinations (the partition comes from the
// host):
//   tome_normalize   unit-L2 rows (a zero row stays zero), written as fp32 (exact) and fp16 (candidate pass)
//                    copies in source / destination order; reports rows whose squared norm is NaN/Inf.
//   tome_match       each source's best destination: fp16 tensor-core scores, tiles in shared memory, then an
//                    exact fp32 re-check of every destination whose fp16 score is within the error bound of the
//                    row's maximum. Writes one 64-bit key per source: (ordered score << 32) | ~destination, so
//                    the largest key is the highest score, ties to the lowest destination index.
//   tome_rank_*      deterministic counting sort of 32-bit keys (ties to the lower index): used to rank the
//                    sources by score and, later, to group the merged sources by destination.
//   tome_plan_build  unmerged tokens, the row of every token in the merged tensor, the merged sources' keys.
//   tome_csr_finish  the merged sources grouped by destination (segments by ascending token).
//   tome_merge       [B, N, C'] -> [B, N - r, C']: unmerged sources, then each destination's mean.
//   tome_unmerge     [B, N - r, C'] -> [B, N, C']: a gather.

typedef unsigned long long u64;
typedef unsigned short f16bits;

#define NEGATIVE_INFINITY __int_as_float(0xff800000)

// ---------------------------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------------------------

// Maps a float to an unsigned integer with the same order (for non-NaN values; -0 and +0 must be made equal first).
__device__ __forceinline__ unsigned ordered_bits(float value) {
    unsigned bits = __float_as_uint(value);
    return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

__device__ __forceinline__ float from_ordered_bits(unsigned bits) {
    return __uint_as_float((bits & 0x80000000u) ? (bits & 0x7fffffffu) : ~bits);
}

__device__ __forceinline__ f16bits to_half(float value) {
    f16bits h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(value));
    return h;
}

// The canonical fp32 dot product every backend shares (CKernels/include/ck_match.h): 16 lane accumulators start at
// +0; for c = 0, 1, ... in order, lane[c % 16] = fmaf(a[c], b[c], lane[c % 16]); then for w = 8, 4, 2, 1:
// lane[l] = lane[l] + lane[l + w] for l < w; the result is lane[0].
__device__ __forceinline__ void canonical_accumulate(float* lanes, const float* a, const float* b, int count) {
    for (int c0 = 0; c0 < count; c0 += 16) {
#pragma unroll
        for (int l = 0; l < 16; ++l)
            if (c0 + l < count) lanes[l] = fmaf(a[c0 + l], b[c0 + l], lanes[l]);
    }
}

__device__ __forceinline__ float canonical_finish(float* lanes) {
#pragma unroll
    for (int l = 0; l < 8; ++l) lanes[l] = lanes[l] + lanes[l + 8];
#pragma unroll
    for (int l = 0; l < 4; ++l) lanes[l] = lanes[l] + lanes[l + 4];
#pragma unroll
    for (int l = 0; l < 2; ++l) lanes[l] = lanes[l] + lanes[l + 2];
    return lanes[0] + lanes[1];
}

__device__ __forceinline__ float canonical_dot(const float* a, const float* b, int channels) {
    float lanes[16];
#pragma unroll
    for (int l = 0; l < 16; ++l) lanes[l] = 0.0f;
    canonical_accumulate(lanes, a, b, channels);
    return canonical_finish(lanes);
}

// The canonical dot product computed by the 16 lanes of a half-warp: lane l accumulates channels l, l + 16, ...
// (the canonical lane l), then the 8/4/2/1 tree runs over shuffles. Every lane of the warp must call it; lane 0 of
// each half-warp returns the result.
__device__ __forceinline__ float half_warp_canonical_dot(const float* a, const float* b, int channels) {
    const int l = threadIdx.x & 15;
    float lane = 0.0f;
    for (int c = l; c < channels; c += 16) lane = fmaf(a[c], b[c], lane);
    lane = lane + __shfl_down_sync(0xffffffffu, lane, 8, 16);
    lane = lane + __shfl_down_sync(0xffffffffu, lane, 4, 16);
    lane = lane + __shfl_down_sync(0xffffffffu, lane, 2, 16);
    return lane + __shfl_down_sync(0xffffffffu, lane, 1, 16);
}

// The best-destination key of a score: the highest score wins, ties go to the lowest destination index.
__device__ __forceinline__ u64 best_key(float score, int destination) {
    return ((u64)ordered_bits(score + 0.0f) << 32) | (u64)(0xffffffffu - (unsigned)destination);
}

// Exact re-check of one (source, destination) pair, folded into the source's best key. Not inlined: the match
// epilogue calls it from every unrolled accumulator element, and it runs rarely.
__device__ __noinline__ void check_pair(const float* source, const float* destination, int channels, int column,
                                        u64* best) {
    atomicMax(best, best_key(canonical_dot(source, destination, channels), column));
}

// ---------------------------------------------------------------------------------------------------------------
// tome_normalize: grid (ceil(N / 16), B), 256 threads, one half-warp per token.
// slot[t] >= 0: token t is source slot[t]; slot[t] < 0: destination -1 - slot[t].
// Outputs: af [B, Nsrc, C], bf [B, Ndst, C] (fp32), ah [B, Nsrc, Cp], bh [B, Ndst, Cp] (fp16, zero padded).
// Canonical normalisation: x / sqrtf(canonical_dot(x, x)), a row whose squared norm is zero becomes zeros.
// badRow[0] receives the lowest b * N + t whose squared norm is not finite (NaN/Inf in it, or overflow); the
// caller initialises it to INT_MAX.
// ---------------------------------------------------------------------------------------------------------------

extern "C" __global__ void __launch_bounds__(256) tome_normalize(
    const float* __restrict__ x, int tokens, int channels, int paddedChannels, const int* __restrict__ slot,
    int sources, int destinations, float* __restrict__ af, float* __restrict__ bf, f16bits* __restrict__ ah,
    f16bits* __restrict__ bh, int* __restrict__ badRow)
{
    const int b = blockIdx.y;
    const int token = blockIdx.x * 16 + (int)(threadIdx.x >> 4);
    const int l = threadIdx.x & 15;
    const bool valid = token < tokens;
    const float* row = x + ((size_t)b * tokens + (valid ? token : 0)) * channels;
    // Every lane of the warp takes part in the shuffles; lane 0 of the half-warp holds the sum, then shares it.
    const float squared = __shfl_sync(0xffffffffu, half_warp_canonical_dot(row, row, channels), 0, 16);
    if (!valid) return;
    if (l == 0 && !isfinite(squared)) atomicMin(badRow, b * tokens + token);
    const float norm = squared == 0.0f ? 0.0f : sqrtf(squared);
    const int s = slot[token];
    float* outFull = s >= 0 ? af + ((size_t)b * sources + s) * channels
                            : bf + ((size_t)b * destinations + (-1 - s)) * channels;
    f16bits* outHalf = s >= 0 ? ah + ((size_t)b * sources + s) * paddedChannels
                              : bh + ((size_t)b * destinations + (-1 - s)) * paddedChannels;
    for (int c = l; c < paddedChannels; c += 16) {
        float y = 0.0f;
        if (c < channels) {
            y = norm == 0.0f ? 0.0f : row[c] / norm;
            outFull[c] = y;
        }
        outHalf[c] = to_half(y);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// tome_match: grid (ceil(Nsrc / BM), splits, B), 256 threads, dynamic shared memory (see shim_launch.c).
//
// A CTA keeps its BM sources (fp16, all channels) resident in shared memory and streams BN-wide destination tiles
// through a STAGES-deep cp.async pipeline in BK-channel slices; 8 warps compute the tile with mma.sync m16n8k16
// (fp16 in, fp32 accumulate). Destination tiles are split over gridDim.y CTAs; their per-source results meet in
// a 64-bit atomicMax, which is order independent.
//
// Exactness: |fp16 score - exact fp32 score| <= eps (shim_launch.c derives eps from C), so the exact best destination j*
// has fp16 score >= M - 2 eps where M is the row's fp16 maximum (over this CTA's destinations). Every element at
// or above (running maximum - window), window = 2 eps (subtracted rounding down), is appended to the CTA's
// candidate list in global scratch; after the last tile, the candidates still at or above (final maximum -
// window) get the exact canonical score, and the best exact key wins. The running maximum never exceeds the final
// one, so j* (and every exact tie of it) is always re-checked. A full list (degenerate data) falls back to an
// immediate serial re-check, which is slower but equally exact.
// ---------------------------------------------------------------------------------------------------------------

#define MATCH_THREADS 256
#define MATCH_BN 128
#define MATCH_BK 32
#define MATCH_STAGES 3

struct MatchCandidate {
    float approx;
    unsigned packed;  // column * 128 + row
};

__device__ __forceinline__ unsigned shared_address(const void* pointer) {
    return (unsigned)__cvta_generic_to_shared(pointer);
}

__device__ __forceinline__ void cp_async16(unsigned destination, const void* source, int sourceBytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(destination), "l"(source), "r"(sourceBytes));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

template <int N> __device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ void ldmatrix_x4(unsigned address, unsigned& r0, unsigned& r1, unsigned& r2, unsigned& r3) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
                 : "r"(address));
}

__device__ __forceinline__ void mma_f16_16816(float* c, const unsigned* a, const unsigned* b) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
                 "{%0, %1, %2, %3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// Resident source rows: 16-byte chunk k of row r lives at chunk (k & ~7) | ((k ^ r) & 7) (conflict-free ldmatrix).
__device__ __forceinline__ int a_chunk(int row, int chunk) { return (chunk & ~7) | ((chunk ^ row) & 7); }
// Streamed destination slices (BK = 32 halves = 4 chunks per row): chunk k of row r lives at k ^ ((r >> 1) & 3).
__device__ __forceinline__ int b_chunk(int row, int chunk) { return chunk ^ ((row >> 1) & 3); }

template <int BM> struct MatchLayout {
    static constexpr int kWarpsM = BM / 64;             // warps along the sources (64 rows each)
    static constexpr int kWarpsN = 8 / kWarpsM;         // warps along the destinations
    static constexpr int kWarpN = MATCH_BN / kWarpsN;   // destination columns per warp
    static constexpr int kTilesN = kWarpN / 8;          // m16n8 tiles per warp along the destinations
    static constexpr int kStageHalves = MATCH_BN * MATCH_BK;
};

template <int BM>
__device__ __forceinline__ void match_body(
    const f16bits* __restrict__ ah, const f16bits* __restrict__ bh, const float* __restrict__ af,
    const float* __restrict__ bf, int sources, int destinations, int channels, int paddedChannels, float window,
    MatchCandidate* __restrict__ scratch, int capacity, u64* __restrict__ bestKeys)
{
    typedef MatchLayout<BM> L;
    extern __shared__ __align__(128) unsigned char smem[];
    f16bits* sA = (f16bits*)smem;
    f16bits* sB = sA + BM * paddedChannels;
    unsigned* runMax = (unsigned*)(sB + MATCH_STAGES * L::kStageHalves);  // ordered_bits of the running fp16 maximum
    u64* best = (u64*)(runMax + BM);
    int* candidateCount = (int*)(best + BM);

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int warpM = warp / L::kWarpsN, warpN = warp % L::kWarpsN;
    const int b = blockIdx.z;
    const int m0 = blockIdx.x * BM;
    const int tilesN = (destinations + MATCH_BN - 1) / MATCH_BN;
    const int tileBegin = (int)((long long)tilesN * blockIdx.y / gridDim.y);
    const int tileEnd = (int)((long long)tilesN * (blockIdx.y + 1) / gridDim.y);
    const int slices = paddedChannels / MATCH_BK;
    const f16bits* ahb = ah + (size_t)b * sources * paddedChannels;
    const f16bits* bhb = bh + (size_t)b * destinations * paddedChannels;
    const float* afb = af + (size_t)b * sources * channels;
    const float* bfb = bf + (size_t)b * destinations * channels;
    MatchCandidate* list = scratch + ((size_t)(blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x) * capacity;

    for (int r = tid; r < BM; r += MATCH_THREADS) {
        runMax[r] = ordered_bits(NEGATIVE_INFINITY);
        best[r] = 0;
    }
    if (tid == 0) *candidateCount = 0;

    // The CTA's sources, all channels, loaded once (the first cp.async group).
    const int rowChunks = paddedChannels / 8;
    for (int e = tid; e < BM * rowChunks; e += MATCH_THREADS) {
        const int r = e / rowChunks, k = e % rowChunks;
        const bool valid = m0 + r < sources;
        const f16bits* source = valid ? ahb + (size_t)(m0 + r) * paddedChannels + k * 8 : ahb;
        cp_async16(shared_address(sA + r * paddedChannels + a_chunk(r, k) * 8), source, valid ? 16 : 0);
    }
    cp_async_commit();

    // The pipeline's producer: the next destination slice to load (tile, channel slice, stage).
    int loadTile = tileBegin, loadSlice = 0, loadStage = 0;
    auto loadNext = [&]() {
        if (loadTile < tileEnd) {
            const int n0 = loadTile * MATCH_BN, k0 = loadSlice * MATCH_BK;
            f16bits* stage = sB + loadStage * L::kStageHalves;
            for (int e = tid; e < MATCH_BN * 4; e += MATCH_THREADS) {
                const int r = e >> 2, k = e & 3;
                const bool valid = n0 + r < destinations;
                const f16bits* source = valid ? bhb + (size_t)(n0 + r) * paddedChannels + k0 + k * 8 : bhb;
                cp_async16(shared_address(stage + r * MATCH_BK + b_chunk(r, k) * 8), source, valid ? 16 : 0);
            }
            if (++loadSlice == slices) {
                loadSlice = 0;
                ++loadTile;
            }
            loadStage = loadStage == MATCH_STAGES - 1 ? 0 : loadStage + 1;
        }
        cp_async_commit();
    };
    for (int s = 0; s < MATCH_STAGES - 1; ++s) loadNext();

    float acc[4][L::kTilesN][4];
    const int g = lane >> 2, t = lane & 3;
    int stageIndex = 0;
    for (int tile = tileBegin; tile < tileEnd; ++tile) {
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
            for (int j = 0; j < L::kTilesN; ++j)
#pragma unroll
                for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;

        for (int slice = 0; slice < slices; ++slice) {
            cp_async_wait<MATCH_STAGES - 2>();
            __syncthreads();
            loadNext();

            const f16bits* stage = sB + stageIndex * L::kStageHalves;
            stageIndex = stageIndex == MATCH_STAGES - 1 ? 0 : stageIndex + 1;
#pragma unroll
            for (int ks = 0; ks < MATCH_BK / 16; ++ks) {
                unsigned a[4][4], bfrag[L::kTilesN][2];
                const int mi = lane >> 3, r8 = lane & 7;
#pragma unroll
                for (int i = 0; i < 4; ++i) {
                    const int row = warpM * 64 + i * 16 + (mi & 1) * 8 + r8;
                    const int chunk = slice * (MATCH_BK / 8) + ks * 2 + (mi >> 1);
                    ldmatrix_x4(shared_address(sA + row * paddedChannels + a_chunk(row, chunk) * 8), a[i][0],
                                a[i][1], a[i][2], a[i][3]);
                }
#pragma unroll
                for (int j = 0; j < L::kTilesN; j += 2) {
                    const int row = warpN * L::kWarpN + j * 8 + (mi >> 1) * 8 + r8;
                    const int chunk = ks * 2 + (mi & 1);
                    ldmatrix_x4(shared_address(stage + row * MATCH_BK + b_chunk(row, chunk) * 8), bfrag[j][0],
                                bfrag[j][1], bfrag[j + 1][0], bfrag[j + 1][1]);
                }
#pragma unroll
                for (int i = 0; i < 4; ++i)
#pragma unroll
                    for (int j = 0; j < L::kTilesN; ++j) mma_f16_16816(acc[i][j], a[i], bfrag[j]);
            }
        }

        // Epilogue of one destination tile: raise the running maxima, append the candidates.
        const int n0 = tile * MATCH_BN + warpN * L::kWarpN;
#pragma unroll
        for (int i = 0; i < 4; ++i) {
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int row = warpM * 64 + i * 16 + h * 8 + g;
                float tileMax = NEGATIVE_INFINITY;
#pragma unroll
                for (int j = 0; j < L::kTilesN; ++j)
#pragma unroll
                    for (int e = 0; e < 2; ++e)
                        if (n0 + j * 8 + 2 * t + e < destinations) tileMax = fmaxf(tileMax, acc[i][j][h * 2 + e]);
                tileMax = fmaxf(tileMax, __shfl_xor_sync(0xffffffffu, tileMax, 1));
                tileMax = fmaxf(tileMax, __shfl_xor_sync(0xffffffffu, tileMax, 2));
                if (t == 0 && tileMax > NEGATIVE_INFINITY) atomicMax(&runMax[row], ordered_bits(tileMax));
                __syncwarp();
                const float threshold = __fsub_rd(from_ordered_bits(((volatile unsigned*)runMax)[row]), window);
                if (m0 + row < sources) {
#pragma unroll
                    for (int j = 0; j < L::kTilesN; ++j)
#pragma unroll
                        for (int e = 0; e < 2; ++e) {
                            const int column = n0 + j * 8 + 2 * t + e;
                            const float approx = acc[i][j][h * 2 + e];
                            if (column < destinations && approx >= threshold) {
                                const int at = atomicAdd(candidateCount, 1);
                                if (at < capacity) {
                                    MatchCandidate candidate;
                                    candidate.approx = approx;
                                    candidate.packed = (unsigned)column * 128u + (unsigned)row;
                                    list[at] = candidate;
                                } else {
                                    check_pair(afb + (size_t)(m0 + row) * channels, bfb + (size_t)column * channels,
                                               channels, column, &best[row]);
                                }
                            }
                        }
                }
            }
        }
    }
    cp_async_wait<0>();
    __syncthreads();

    // Exact re-check of the candidates still within the window of the final maxima, one per half-warp. Every
    // warp runs the same number of rounds (the shuffles need all its lanes); idle halves score pair (0, 0).
    const int count = min(*candidateCount, capacity);
    const int half = tid >> 4;
    for (int round = 0; round < count; round += MATCH_THREADS / 16) {
        const int i = round + half;
        int row = 0, column = 0;
        bool active = false;
        if (i < count) {
            const MatchCandidate candidate = list[i];
            row = (int)(candidate.packed & 127u);
            column = (int)(candidate.packed >> 7);
            active = candidate.approx >= __fsub_rd(from_ordered_bits(runMax[row]), window);
        }
        const float score = half_warp_canonical_dot(afb + (size_t)(m0 + row) * channels,
                                                    bfb + (size_t)column * channels, channels);
        if (active && (tid & 15) == 0) atomicMax(&best[row], best_key(score, column));
    }
    __syncthreads();
    for (int r = tid; r < BM; r += MATCH_THREADS)
        if (m0 + r < sources && best[r] != 0) atomicMax(&bestKeys[(size_t)b * sources + m0 + r], best[r]);
}

extern "C" __global__ void __launch_bounds__(MATCH_THREADS, 2) tome_match_bm128(
    const f16bits* __restrict__ ah, const f16bits* __restrict__ bh, const float* __restrict__ af,
    const float* __restrict__ bf, int sources, int destinations, int channels, int paddedChannels, float window,
    MatchCandidate* __restrict__ scratch, int capacity, u64* __restrict__ bestKeys)
{
    match_body<128>(ah, bh, af, bf, sources, destinations, channels, paddedChannels, window, scratch, capacity,
                    bestKeys);
}

extern "C" __global__ void __launch_bounds__(MATCH_THREADS, 2) tome_match_bm64(
    const f16bits* __restrict__ ah, const f16bits* __restrict__ bh, const float* __restrict__ af,
    const float* __restrict__ bf, int sources, int destinations, int channels, int paddedChannels, float window,
    MatchCandidate* __restrict__ scratch, int capacity, u64* __restrict__ bestKeys)
{
    match_body<64>(ah, bh, af, bf, sources, destinations, channels, paddedChannels, window, scratch, capacity,
                   bestKeys);
}

// ---------------------------------------------------------------------------------------------------------------
// Ranking: key_i = (unsigned)(keys[b][i] >> shift) ^ flip, sorted ascending by (key, i): a counting sort,
// rank_i = #{j : (key_j, j) < (key_i, i)}, exact and deterministic (integer atomics only).
// tome_rank_count: grid (ceil(n / RANK_I), ceil(n / RANK_J), B), 256 threads; counts[b][i] (zeroed beforehand)
// receives the count over one RANK_J-wide slice of j per CTA. tome_rank_scatter: grid (ceil(n / 256), B),
// permutation[b][rank_i] = i.
// ---------------------------------------------------------------------------------------------------------------

#define RANK_PER_THREAD 4
#define RANK_I (256 * RANK_PER_THREAD)
#define RANK_J 256

extern "C" __global__ void __launch_bounds__(256) tome_rank_count(
    const u64* __restrict__ keys, int n, int shift, unsigned flip, int* __restrict__ counts)
{
    __shared__ unsigned tile[RANK_J];
    const u64* kb = keys + (size_t)blockIdx.z * n;
    const int i0 = blockIdx.x * RANK_I, j0 = blockIdx.y * RANK_J;
    const int length = min(RANK_J, n - j0);
    if ((int)threadIdx.x < length) tile[threadIdx.x] = (unsigned)(kb[j0 + threadIdx.x] >> shift) ^ flip;
    __syncthreads();

    int index[RANK_PER_THREAD], count[RANK_PER_THREAD];
    unsigned mine[RANK_PER_THREAD];
#pragma unroll
    for (int q = 0; q < RANK_PER_THREAD; ++q) {
        index[q] = i0 + q * 256 + (int)threadIdx.x;
        mine[q] = index[q] < n ? (unsigned)(kb[index[q]] >> shift) ^ flip : 0u;
        count[q] = 0;
    }
    if (j0 + length <= i0) {
        // Every j is below every i of this CTA: equal keys count.
        for (int j = 0; j < length; ++j) {
            const unsigned k = tile[j];
#pragma unroll
            for (int q = 0; q < RANK_PER_THREAD; ++q) count[q] += k <= mine[q];
        }
    } else if (j0 >= i0 + RANK_I) {
        for (int j = 0; j < length; ++j) {
            const unsigned k = tile[j];
#pragma unroll
            for (int q = 0; q < RANK_PER_THREAD; ++q) count[q] += k < mine[q];
        }
    } else {
        for (int j = 0; j < length; ++j) {
            const unsigned k = tile[j];
#pragma unroll
            for (int q = 0; q < RANK_PER_THREAD; ++q) count[q] += k < mine[q] || (k == mine[q] && j0 + j < index[q]);
        }
    }
#pragma unroll
    for (int q = 0; q < RANK_PER_THREAD; ++q)
        if (index[q] < n && count[q] != 0) atomicAdd(&counts[(size_t)blockIdx.z * n + index[q]], count[q]);
}

extern "C" __global__ void __launch_bounds__(256) tome_rank_scatter(
    const int* __restrict__ counts, int n, int* __restrict__ permutation)
{
    const int i = blockIdx.x * 256 + threadIdx.x;
    if (i < n) permutation[(size_t)blockIdx.y * n + counts[(size_t)blockIdx.y * n + i]] = i;
}

// ---------------------------------------------------------------------------------------------------------------
// tome_plan_build: grid (ceil(max(Nsrc, Ndst) / 256), B), 256 threads.
// order[b] = sources by descending score (tome_rank_*). Writes rowOf[b][token] (the token's row in the merged
// tensor), unmergedTokens[b][Nsrc - r], and mergeKey[b][source] = the destination a merged source joins, or
// 0xffffffff for a kept source (so ranking mergeKey groups the merged sources by destination, ascending source
// inside a group, and puts the kept ones last).
// ---------------------------------------------------------------------------------------------------------------

extern "C" __global__ void __launch_bounds__(256) tome_plan_build(
    const u64* __restrict__ bestKeys, const int* __restrict__ order, const int* __restrict__ sourceTokens,
    const int* __restrict__ destinationTokens, int tokens, int sources, int destinations, int r,
    int* __restrict__ rowOf, int* __restrict__ unmergedTokens, u64* __restrict__ mergeKey)
{
    const int b = blockIdx.y;
    const int k = blockIdx.x * 256 + threadIdx.x;
    const int unmerged = sources - r;
    int* rows = rowOf + (size_t)b * tokens;
    if (k < sources) {
        const int source = order[(size_t)b * sources + k];
        const int token = sourceTokens[source];
        if (k >= r) {
            rows[token] = k - r;
            unmergedTokens[(size_t)b * unmerged + k - r] = token;
            mergeKey[(size_t)b * sources + source] = 0xffffffffull;
        } else {
            const int destination = (int)(0xffffffffu - (unsigned)bestKeys[(size_t)b * sources + source]);
            rows[token] = unmerged + destination;
            mergeKey[(size_t)b * sources + source] = (u64)destination;
        }
    }
    if (k < destinations) rows[destinationTokens[k]] = unmerged + k;
}

// ---------------------------------------------------------------------------------------------------------------
// tome_csr_finish: grid (ceil(r / 256), B), 256 threads. byDestination[b] = sources sorted by (mergeKey, source)
// (tome_rank_*); its first r entries are the merged sources grouped by destination. Writes members[b][p] = token
// of the p-th of them and each destination's segment [segmentStart, segmentEnd) (both zeroed beforehand). The
// order inside a segment (ascending token) is the CPU plan's summation order.
// ---------------------------------------------------------------------------------------------------------------

extern "C" __global__ void __launch_bounds__(256) tome_csr_finish(
    const u64* __restrict__ mergeKey, const int* __restrict__ byDestination, const int* __restrict__ sourceTokens,
    int sources, int destinations, int r, int* __restrict__ members, int* __restrict__ segmentStart,
    int* __restrict__ segmentEnd)
{
    const int b = blockIdx.y;
    const int p = blockIdx.x * 256 + threadIdx.x;
    if (p >= r) return;
    const int* byDst = byDestination + (size_t)b * sources;
    const u64* keys = mergeKey + (size_t)b * sources;
    const int source = byDst[p];
    const int destination = (int)keys[source];
    members[(size_t)b * r + p] = sourceTokens[source];
    if (p == 0 || (int)keys[byDst[p - 1]] != destination) segmentStart[(size_t)b * destinations + destination] = p;
    if (p == r - 1 || (int)keys[byDst[p + 1]] != destination) segmentEnd[(size_t)b * destinations + destination] = p + 1;
}

// ---------------------------------------------------------------------------------------------------------------
// tome_merge: grid (ceil((N - r) / 8), B), 256 threads, one warp per output row. Row m < Nsrc - r: the m-th
// unmerged source; row Nsrc - r + j: the mean of destination j and its merged sources, summed destination first,
// then the sources by ascending token, then divided by the group size (the CPU plan's order, so both give the
// same bits). `vector` (C % 4 == 0) moves float4s.
// ---------------------------------------------------------------------------------------------------------------

template <typename T> __device__ __forceinline__ void add_to(T& sum, const T& value);
template <> __device__ __forceinline__ void add_to<float>(float& sum, const float& value) { sum = sum + value; }
template <> __device__ __forceinline__ void add_to<float4>(float4& sum, const float4& value) {
    sum.x = sum.x + value.x;
    sum.y = sum.y + value.y;
    sum.z = sum.z + value.z;
    sum.w = sum.w + value.w;
}
__device__ __forceinline__ float divided(float value, float divisor) { return value / divisor; }
__device__ __forceinline__ float4 divided(float4 value, float divisor) {
    return make_float4(value.x / divisor, value.y / divisor, value.z / divisor, value.w / divisor);
}

// One merged row of `width` elements of type T (float, or float4 for C / 4 of them).
template <typename T>
__device__ __forceinline__ void merge_row(const T* __restrict__ xb, int width, int row, int unmerged,
                                          const int* __restrict__ unmergedTokens, const int* __restrict__ destinationTokens,
                                          const int* __restrict__ memberTokens, int begin, int end, T* __restrict__ o)
{
    const int lane = threadIdx.x & 31;
    if (row < unmerged) {
        const T* in = xb + (size_t)unmergedTokens[row] * width;
        for (int c = lane; c < width; c += 32) o[c] = in[c];
        return;
    }
    const T* dst = xb + (size_t)destinationTokens[row - unmerged] * width;
    const float divisor = (float)(1 + end - begin);
    for (int c = lane; c < width; c += 32) {
        T sum = dst[c];
        for (int p = begin; p < end; ++p) add_to(sum, xb[(size_t)memberTokens[p] * width + c]);
        o[c] = end > begin ? divided(sum, divisor) : sum;
    }
}

extern "C" __global__ void __launch_bounds__(256) tome_merge(
    const float* __restrict__ x, int tokens, int channels, int sources, int destinations, int r,
    const int* __restrict__ unmergedTokens, const int* __restrict__ destinationTokens, const int* __restrict__ members,
    const int* __restrict__ segmentStart, const int* __restrict__ segmentEnd, float* __restrict__ out)
{
    const int b = blockIdx.y;
    const int row = blockIdx.x * 8 + (int)(threadIdx.x >> 5);
    const int unmerged = sources - r;
    if (row >= tokens - r) return;
    int begin = 0, end = 0;
    if (row >= unmerged) {
        begin = segmentStart[(size_t)b * destinations + row - unmerged];
        end = segmentEnd[(size_t)b * destinations + row - unmerged];
    }
    const int* unm = unmergedTokens + (size_t)b * unmerged;
    const int* memberTokens = members + (size_t)b * r;
    const float* xb = x + (size_t)b * tokens * channels;
    float* o = out + ((size_t)b * (tokens - r) + row) * channels;
    if (channels % 4 == 0)
        merge_row<float4>((const float4*)xb, channels / 4, row, unmerged, unm, destinationTokens, memberTokens, begin,
                          end, (float4*)o);
    else
        merge_row<float>(xb, channels, row, unmerged, unm, destinationTokens, memberTokens, begin, end, o);
}

// ---------------------------------------------------------------------------------------------------------------
// tome_unmerge: grid (ceil(N / 8), B), 256 threads, one warp per token. out[b][t] = merged[b][rowOf[b][t]].
// ---------------------------------------------------------------------------------------------------------------

template <typename T>
__device__ __forceinline__ void copy_row(const T* __restrict__ in, T* __restrict__ o, int width) {
    for (int c = threadIdx.x & 31; c < width; c += 32) o[c] = in[c];
}

extern "C" __global__ void __launch_bounds__(256) tome_unmerge(
    const float* __restrict__ merged, int tokens, int channels, int mergedTokens, const int* __restrict__ rowOf,
    float* __restrict__ out)
{
    const int b = blockIdx.y;
    const int t = blockIdx.x * 8 + (int)(threadIdx.x >> 5);
    if (t >= tokens) return;
    const float* in = merged + ((size_t)b * mergedTokens + rowOf[(size_t)b * tokens + t]) * channels;
    float* o = out + ((size_t)b * tokens + t) * channels;
    if (channels % 4 == 0) copy_row((const float4*)in, (float4*)o, channels / 4);
    else copy_row(in, o, channels);
}
