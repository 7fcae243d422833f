// Fused best-destination search for token merging (ToMe's bipartite soft matching): for every source token, the
// destination token of highest cosine similarity, without materialising the sources x destinations score matrix.
//
// Canonical score. Every variant returns, for each source, the destination whose *canonical* fp32 score is the
// highest (ties to the lowest destination index) and that score, so all variants (and other backends that follow
// this definition) produce bit-identical results:
//   dot(a, b) over n floats: 16 lane accumulators start at +0; for c = 0, 1, ..., n-1 in order,
//   lane[c % 16] = fmaf(a[c], b[c], lane[c % 16]); then for w = 8, 4, 2, 1: lane[l] = lane[l] + lane[l + w] for l < w;
//   the result is lane[0].
//   normalise(x) = x[c] / sqrtf(dot(x, x)) element-wise (IEEE division and square root); a row whose dot(x, x) is
//   zero becomes all zeros (cosine 0 with everything; tomesd would produce NaN there).
//   score(source, destination) = dot(normalise(source), normalise(destination)).
//
// Speed. A variant first computes approximate scores with a register-tiled kernel (bf16 dot products with fp32
// accumulation where the CPU has AVX512-BF16, otherwise fp32 with another summation order), tiling destinations
// through cache. The bf16 variant scores residuals from the mean row (ck_match_center) plus an fp32 per-destination
// term, so a component every token shares costs no precision. Then, per source, it re-scores canonically every
// destination whose approximate score lies within twice a proven error bound E of the approximate maximum. The
// canonical best is always among them, so the result is exactly the canonical one. Rows with candidates for more
// than a quarter of the destinations (near-identical tokens) are scored canonically on dense register tiles instead
// of one by one (AVX-512 variants). E (for unit rows, C channels,
// u = 2^-24, gamma = (C+16) u / (1 - (C+16) u)): fp32 tiles 2 gamma (about 4e-5 at C = 320); bf16 about
// 2^-7 |source residual| max|destination residual| + 2 gamma, derived in match_avx512.c.
//
// Layout and threading are the caller's: it normalises rows, packs source blocks and destination panels (both
// embarrassingly parallel), then calls ck_match_source_blocks on disjoint block ranges from several threads, each
// with its own scratch buffer.
#ifndef CK_MATCH_H
#define CK_MATCH_H

#include <stddef.h>
#include <stdint.h>

/// The instruction sets a matching variant can be written for.
typedef enum ck_match_isa {
    /// Plain C: scores every pair canonically (the reference the other variants must equal).
    CK_MATCH_SCALAR = 0,
    /// AVX2 + FMA, fp32 approximate scores.
    CK_MATCH_AVX2 = 1,
    /// AVX-512F, fp32 approximate scores.
    CK_MATCH_AVX512 = 2,
    /// AVX-512F + AVX512-BF16, bf16 approximate scores (vdpbf16ps).
    CK_MATCH_AVX512_BF16 = 3,
    /// AArch64 NEON, fp32 approximate scores.
    CK_MATCH_NEON = 4,
} ck_match_isa;

/// Number of `ck_match_isa` values (for iterating over every variant).
#define CK_MATCH_ISA_COUNT 5

/// One matching variant (opaque; query it with the functions below).
typedef struct ck_match_kernel ck_match_kernel;

/// The variant for `isa`, or NULL when this build or this CPU lacks it.
const ck_match_kernel *ck_match_kernel_for(ck_match_isa isa);

/// The fastest variant this CPU supports.
const ck_match_kernel *ck_match_kernel_best(void);

/// A short name for logs and benchmarks ("avx512bf16-12x32").
const char *ck_match_kernel_name(const ck_match_kernel *kernel);

/// The instruction set of `kernel`.
ck_match_isa ck_match_kernel_isa(const ck_match_kernel *kernel);

/// The canonical fp32 dot product of `a` and `b` (n floats), as defined at the top of this header.
float ck_match_dot(const ck_match_kernel *kernel, const float *a, const float *b, int64_t n);

/// Normalises `rows` rows of `channels` floats from `x` into `out` (canonical normalise; may not alias).
/// Returns -1, or the index of the first row whose dot(x, x) is not finite (a NaN or infinity in the row, or a
/// squared norm beyond FLT_MAX); rows from that one on are left unwritten.
int64_t ck_match_normalize(const ck_match_kernel *kernel, const float *x, int64_t rows, int64_t channels, float *out);

/// Writes the mean of `rows` rows of `channels` floats to `center`.
void ck_match_center(const float *normalized, int64_t rows, int64_t channels, float *center);

/// One batch element's matching problem. Token indices address rows of `normalized`.
typedef struct ck_match_problem {
    /// Unit rows (ck_match_normalize), `channels` floats each.
    const float *normalized;
    int64_t channels;
    const int32_t *source_tokens;
    int64_t source_count;
    /// At least one destination.
    const int32_t *destination_tokens;
    int64_t destination_count;
    /// The mean of the normalised rows (ck_match_center), `channels` floats.
    const float *center;
    /// Filled by ck_match_pack_sources / ck_match_pack_destinations (64-byte aligned buffers).
    void *packed_sources;
    void *packed_destinations;
} ck_match_problem;

/// Number of source blocks (of the variant's block height) covering `source_count` sources.
int64_t ck_match_source_block_count(const ck_match_kernel *kernel, int64_t source_count);

/// Number of destination panels covering `destination_count` destinations.
int64_t ck_match_destination_panel_count(const ck_match_kernel *kernel, int64_t destination_count);

/// Bytes of `problem->packed_sources` (all blocks); 0 when the variant reads `normalized` directly.
size_t ck_match_packed_sources_bytes(const ck_match_kernel *kernel, int64_t source_count, int64_t channels);

/// Bytes of `problem->packed_destinations` (all panels); 0 when the variant reads `normalized` directly.
size_t ck_match_packed_destinations_bytes(const ck_match_kernel *kernel, int64_t destination_count, int64_t channels);

/// Packs source blocks [block_begin, block_end) of `problem` into `problem->packed_sources`.
void ck_match_pack_sources(const ck_match_kernel *kernel, const ck_match_problem *problem,
                           int64_t block_begin, int64_t block_end);

/// Packs destination panels [panel_begin, panel_end) of `problem` into `problem->packed_destinations`.
void ck_match_pack_destinations(const ck_match_kernel *kernel, const ck_match_problem *problem,
                                int64_t panel_begin, int64_t panel_end);

/// Bytes of scratch one concurrent ck_match_source_blocks call needs (64-byte aligned).
size_t ck_match_scratch_bytes(const ck_match_kernel *kernel, int64_t destination_count);

/// For each source in blocks [block_begin, block_end): `best_destination[s]` = index (into destination_tokens) of
/// the destination of highest canonical score, ties to the lowest index; `best_score[s]` = that score.
void ck_match_source_blocks(const ck_match_kernel *kernel, const ck_match_problem *problem,
                            int64_t block_begin, int64_t block_end, void *scratch,
                            int32_t *best_destination, float *best_score);

#endif
