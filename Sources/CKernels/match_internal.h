// Private declarations shared by the matching variants (match_*.c) and their driver (match_driver.c).
#ifndef CK_MATCH_INTERNAL_H
#define CK_MATCH_INTERNAL_H

#include "ck_match.h"

/// The most sources any variant puts in one block.
#define CK_MATCH_MAX_BLOCK_ROWS 16

/// One matching variant: its tile sizes, packing, approximate tile kernel and canonical pieces.
struct ck_match_kernel {
    ck_match_isa isa;
    const char *name;
    /// Sources per approximate block (packed sources are padded with zero rows to a multiple).
    int32_t block_rows;
    /// Destinations per packed panel (padded with zero destinations).
    int32_t panel_width;
    /// Channels per packed 32-bit word: 1 (fp32) or 2 (a bf16 pair); 0 when nothing is packed.
    int32_t channels_per_word;
    /// 32-bit words in front of each packed source block and destination panel (per-block data of the variant).
    int32_t source_header_words;
    int32_t panel_header_words;
    void (*pack_sources)(const ck_match_problem *p, int64_t block_begin, int64_t block_end);
    void (*pack_destinations)(const ck_match_problem *p, int64_t panel_begin, int64_t panel_end);
    /// Approximate scores of the block's sources against every panel: row r of the block at scores + r * ld,
    /// destination j at column j (ld >= panels * panel_width). `bound[r]` receives E for row r: no approximate
    /// score of the row is further than E from the canonical score minus a constant of the row (the constant
    /// cannot change which destination is best).
    void (*approx_block)(const ck_match_problem *p, int64_t block, float *scores, int64_t ld, double *bound);
    /// max(row[0..n)), n >= 1.
    float (*row_max)(const float *row, int64_t n);
    /// Writes the indices j < n with row[j] >= threshold, ascending, to `out`; returns how many.
    int64_t (*candidates)(const float *row, int64_t n, float threshold, int32_t *out);
    /// The canonical dot product.
    float (*dot)(const float *a, const float *b, int64_t n);
    /// Optional: canonical scores of up to CK_MATCH_DENSE_ROWS sources against every destination, for rows with
    /// so many candidates (near-identical tokens) that re-scoring them one by one would cost more:
    /// out[r][j] = dot(source r, destination j) for j < destination_count.
    void (*dense_rows)(const ck_match_problem *p, const int64_t *sources, int64_t count, float *const *out);
};

/// The most rows one dense_rows call takes.
#define CK_MATCH_DENSE_ROWS 8

extern const ck_match_kernel ck_match_kernel_scalar;
#if defined(__x86_64__)
extern const ck_match_kernel ck_match_kernel_avx2;
extern const ck_match_kernel ck_match_kernel_avx512;
extern const ck_match_kernel ck_match_kernel_avx512_bf16;
// The AVX-512F pieces both AVX-512 variants use.
float ck_match_dot_avx512(const float *a, const float *b, int64_t n);
void ck_match_dense_rows_avx512(const ck_match_problem *p, const int64_t *sources, int64_t count, float *const *out);
float ck_match_row_max_avx512(const float *row, int64_t n);
int64_t ck_match_candidates_avx512(const float *row, int64_t n, float threshold, int32_t *out);
#endif
#if defined(__aarch64__)
extern const ck_match_kernel ck_match_kernel_neon;
#endif

/// Error bound of an uncentred approximate kernel (fp32 tiles): operands rounded with `input_roundoff`, products
/// accumulated with `accumulation_roundoff`, compared against the canonical score, for unit rows.
double ck_match_uncentred_bound(double input_roundoff, double accumulation_roundoff, int64_t channels);

/// Relative error bound of a sum of `terms` products accumulated with unit roundoff `u` (gamma_n).
static inline double ck_match_gamma(double terms, double u) { return terms * u / (1 - terms * u); }

/// The canonical reduction of 16 lane accumulators (w = 8, 4, 2, 1), after folding in the tail c in [from, n)
/// (lane c % 16) with fmaf. Shared by every variant so the tail and tree are written once.
float ck_match_canonical_finish(float lanes[16], const float *a, const float *b, int64_t from, int64_t n);

/// Portable fp32 packing for the fp32 variants (no headers): source block b at packed_sources + b * C * block_rows, element
/// (c, i) at c * block_rows + i; destination panel q at packed_destinations + q * C * panel_width, element (c, j)
/// at c * panel_width + j. Padding rows and columns are zero.
void ck_match_pack_f32_sources(const ck_match_problem *p, int64_t block_begin, int64_t block_end, int64_t block_rows);
void ck_match_pack_f32_destinations(const ck_match_problem *p, int64_t panel_begin, int64_t panel_end,
                                    int64_t panel_width);

/// Portable scans over a row of approximate scores (the scalar variant uses them; SIMD variants have their own).
float ck_match_row_max_scalar(const float *row, int64_t n);
int64_t ck_match_candidates_scalar(const float *row, int64_t n, float threshold, int32_t *out);

static inline int64_t ck_match_ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static inline int64_t ck_match_min(int64_t a, int64_t b) { return a < b ? a : b; }

#endif
