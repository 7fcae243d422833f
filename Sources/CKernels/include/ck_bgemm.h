// bfloat16 GEMM micro-kernels: `C = epilogue(A · B)` with B (the weights) stored as bfloat16, A (the activations)
// rounded to bfloat16 while it is packed, and every product summed in fp32. One register-tiled variant per
// instruction set: AVX512-BF16 (`vdpbf16ps`), and for CPUs without it AVX-512, AVX2, NEON and scalar variants that
// widen the bfloat16 values to fp32 and use FMA in the same order, so that every variant gives (up to
// subnormals) the same sums.
//
// Packing, blocking and threading belong to the caller (TensorCore's GEMM driver), as for the fp32 kernels
// (ck_gemm.h). A block of depth kc is stored with its depth padded to kp = 2*ceil(kc/2) (zeros past kc):
//   packed B block (kc x nc): ceil(nc/NR) panels of NR*kp bfloat16, panel s at offset s*NR*kp; element (p, j) at
//                             (p/2)*2*NR + 2*j + p%2 (the two depths of a pair side by side, as `vdpbf16ps`
//                             reads them); columns past nc are zero; 64-byte aligned.
//   packed A block (mc x kc): made by the variant's `pack_a`, at most ceil(mc/MR)*MR*kp*4 bytes.
//
// Rounding fp32 to bfloat16 is round-to-nearest-even with subnormals flushed to signed zero and NaNs quieted,
// exactly as the AVX512-BF16 instruction `vcvtne2ps2bf16` does it (ck_bf16_round).
#ifndef CK_BGEMM_H
#define CK_BGEMM_H

#include <stdint.h>
#include "ck_gemm.h"

/// Computes the `mc x nc` block of C at `c` (row stride `ldc`) from an A block packed by the same variant's
/// `pack_a` and a packed B block, both of depth `kc` (kc >= 1), applying `epilogue` to every element.
typedef void (*ck_bgemm_block_fn)(int64_t mc, int64_t nc, int64_t kc, const void *packed_a, const uint16_t *packed_b,
                                  float *c, int64_t ldc, const ck_sgemm_epilogue *epilogue);

/// Packs the `rows x kc` block of op(A) at `a` into ceil(rows/MR) panels at `packed_a`, rounding every value to
/// bfloat16; op(A)[i][p] is `a[i*lda + p]`, or `a[p*lda + i]` when `transposed`. Rows past `rows` are zero.
typedef void (*ck_bgemm_pack_a_fn)(const float *a, int64_t lda, int transposed, int64_t rows, int64_t kc,
                                   void *packed_a);

/// One bfloat16 GEMM kernel variant.
typedef struct ck_bgemm_kernel {
    ck_isa isa;
    /// Rows of C per register tile (the packed A panel height).
    int32_t mr;
    /// Columns of C per register tile (the packed B panel width).
    int32_t nr;
    ck_bgemm_pack_a_fn pack_a;
    ck_bgemm_block_fn block;
    /// A short name for logs and benchmarks ("avx512bf16-12x32").
    const char *name;
} ck_bgemm_kernel;

/// The variant for `isa`, or NULL when this build or this CPU lacks it.
const ck_bgemm_kernel *ck_bgemm_kernel_for(ck_isa isa);

/// The form of `kernel` (from ck_bgemm_kernel_for) for a left operand of `rows` rows: the same instruction set, B
/// panels and sums, with the register tile height that computes the fewest padded rows for `rows` (its own A
/// panels; the tallest of those that pad the fewest rows). AVX512-BF16 has 10- and 8-row forms beside its 12-row
/// tile (for 40 or 80 rows, attention's transposed weighted sum with head size 40 or 80; for 16, 32 or 64 rows, a
/// convolution's blocks of Winograd tiles); otherwise `kernel` itself.
const ck_bgemm_kernel *ck_bgemm_kernel_fitting(const ck_bgemm_kernel *kernel, int64_t rows);

/// The variant bfloat16 GEMMs use: the fastest this CPU supports, unless ck_bgemm_set_active chose another.
const ck_bgemm_kernel *ck_bgemm_kernel_active(void);

/// Makes the variant for `isa` the active one (tests use it to run every variant). Returns 0, changing nothing,
/// when the variant is unavailable; 1 otherwise.
int ck_bgemm_set_active(ck_isa isa);

/// `x` rounded to bfloat16 as `vcvtne2ps2bf16` does: nearest, ties to even; subnormals become signed zero; a NaN
/// keeps its sign and top payload bits with the quiet bit set.
uint16_t ck_bf16_round(float x);

/// Rounds `count` floats to bfloat16 (ck_bf16_round) and writes them widened back to fp32 (the value a kernel
/// multiplies with), `src` and `dst` may be the same.
void ck_bf16_round_f32(const float *src, float *dst, int64_t count);

/// Packs the `kc x n` matrix op(B) at `b` into ceil(n/nr) bfloat16 panels of width `nr` at `dst` (the B layout
/// above, depth padded to even); op(B)[p][j] is `b[p*ldb + j]`, or `b[j*ldb + p]` when `transposed`.
void ck_bgemm_pack_b(const float *b, int64_t ldb, int transposed, int64_t n, int64_t kc, int32_t nr, uint16_t *dst);

#endif
