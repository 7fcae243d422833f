// Single-precision GEMM micro-kernels: one register-tiled variant per instruction set.
//
// The kernels multiply packed panels and write the result through an epilogue; packing, cache blocking and
// threading belong to the caller (TensorCore's GEMM driver). Layouts, with MR/NR the variant's register tile:
//   packed A block (mc x kc): ceil(mc/MR) panels, panel r at offset r*MR*kc, element (i, p) at p*MR + i;
//                             rows past mc are zero.
//   packed B block (kc x nc): ceil(nc/NR) panels, panel s at offset s*NR*kc, element (p, j) at p*NR + j;
//                             columns past nc are zero; 64-byte aligned for the AVX-512 variant.
#ifndef CK_GEMM_H
#define CK_GEMM_H

#include <stdint.h>

/// What a kernel does with an accumulated tile `acc` when it writes it to C:
/// `C[i][j] = alpha * acc[i][j] + beta * C[i][j] + bias[j]`. With `beta == 0`, C is never read;
/// `bias` may be NULL (no bias) and is indexed by the block's column (0 is the block's first column).
typedef struct ck_sgemm_epilogue {
    float alpha;
    float beta;
    const float *bias;
} ck_sgemm_epilogue;

/// Computes the `mc x nc` block of C at `c` (row stride `ldc`) from a packed A block and a packed B block of
/// depth `kc` (kc >= 1), applying `epilogue` to every element of the block.
typedef void (*ck_sgemm_block_fn)(int64_t mc, int64_t nc, int64_t kc,
                                  const float *packed_a, const float *packed_b,
                                  float *c, int64_t ldc, const ck_sgemm_epilogue *epilogue);

/// Like ck_sgemm_block_fn, but reads A in place: row i of the block starts at `a + i*lda` (row-major, unpacked).
/// `mc` must be a multiple of the kernel's MR (every row of every tile exists).
typedef void (*ck_sgemm_block_direct_fn)(int64_t mc, int64_t nc, int64_t kc, const float *a, int64_t lda,
                                         const float *packed_b, float *c, int64_t ldc,
                                         const ck_sgemm_epilogue *epilogue);

/// The instruction sets a kernel variant can be written for.
typedef enum ck_isa {
    CK_ISA_SCALAR = 0,
    CK_ISA_AVX2 = 1,
    CK_ISA_AVX512 = 2,
    CK_ISA_NEON = 3,
    /// x86-64 with AVX-512F and AVX512-BF16 (`vdpbf16ps`): bfloat16 GEMM only (ck_bgemm.h).
    CK_ISA_AVX512BF16 = 4,
} ck_isa;

/// Number of `ck_isa` values (for iterating over every variant).
#define CK_ISA_COUNT 5

/// Whether this build and this CPU can run code written for `isa` (the one place CPU features are checked for the
/// GEMM families; the matching kernels have their own list in ck_match.h).
int ck_isa_supported(ck_isa isa);

/// One SGEMM kernel variant: its register tile and its block function.
typedef struct ck_sgemm_kernel {
    ck_isa isa;
    /// Rows of C per register tile (the packed A panel height).
    int32_t mr;
    /// Columns of C per register tile (the packed B panel width).
    int32_t nr;
    ck_sgemm_block_fn block;
    /// The block function reading row-major A in place, or NULL when the variant has none (pack A instead).
    ck_sgemm_block_direct_fn block_direct;
    /// A short name for logs and benchmarks ("avx512-12x32").
    const char *name;
} ck_sgemm_kernel;

/// The variant for `isa`, or NULL when this build or this CPU lacks it.
const ck_sgemm_kernel *ck_sgemm_kernel_for(ck_isa isa);

/// The variant GEMM uses: the fastest this CPU supports, unless ck_sgemm_set_active chose another.
const ck_sgemm_kernel *ck_sgemm_kernel_active(void);

/// Makes the variant for `isa` the active one (tests use it to run every variant). Returns 0, changing nothing,
/// when the variant is unavailable; 1 otherwise.
int ck_sgemm_set_active(ck_isa isa);

#endif
