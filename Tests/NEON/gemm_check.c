// SGEMM micro-kernels (ck_gemm.h): every variant's block function (and its direct-A form, where it has one) on
// random block shapes, edge tiles included, against a double-precision product.
//
// Tolerance: a C element is alpha * (sum of kc products) + beta * C + bias. The sum costs at most gamma_kc times
// the sum of |a b| in any order (fused or not); alpha, beta and bias add at most three more roundings. So
// |got - exact| <= gamma_(kc+3) * (|alpha| sum |a b| + |beta C| + |bias|) for every correct variant.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_gemm.h"
#include "check.h"

/// Marks C elements outside the block: a kernel writing there is caught.
static const float guard_value = -12345.5f;

typedef struct gemm_case {
    int64_t mc, nc, kc, ldc;
    ck_sgemm_epilogue epilogue;
    int with_bias;
} gemm_case;

/// Packs the mc x kc row-major `a` (stride lda) into MR-row panels, rows past mc zero.
static void pack_a(const float *a, int64_t lda, int64_t mc, int64_t kc, int64_t mr, float *out) {
    for (int64_t r = 0; r < (mc + mr - 1) / mr; r++) {
        for (int64_t p = 0; p < kc; p++) {
            for (int64_t i = 0; i < mr; i++) {
                const int64_t row = r * mr + i;
                out[r * mr * kc + p * mr + i] = row < mc ? a[row * lda + p] : 0.0f;
            }
        }
    }
}

/// Packs the kc x nc row-major `b` (stride nc) into NR-column panels, columns past nc zero.
static void pack_b(const float *b, int64_t kc, int64_t nc, int64_t nr, float *out) {
    for (int64_t s = 0; s < (nc + nr - 1) / nr; s++) {
        for (int64_t p = 0; p < kc; p++) {
            for (int64_t j = 0; j < nr; j++) {
                const int64_t col = s * nr + j;
                out[s * nr * kc + p * nr + j] = col < nc ? b[p * nc + col] : 0.0f;
            }
        }
    }
}

/// Runs one case through `kernel` (direct: the in-place A form) and compares every element of C.
static void run_case(check_rng *rng, const ck_sgemm_kernel *kernel, const gemm_case *g, int direct) {
    const int64_t mc = g->mc, nc = g->nc, kc = g->kc, ldc = g->ldc, lda = kc + check_int(rng, 0, 3);
    const int64_t mr = kernel->mr, nr = kernel->nr;
    float *a = check_alloc((size_t)(mc * lda) * sizeof(float));
    float *b = check_alloc((size_t)(kc * nc) * sizeof(float));
    float *bias = check_alloc((size_t)nc * sizeof(float));
    float *packed_a = check_alloc((size_t)((mc + mr - 1) / mr * mr * kc) * sizeof(float));
    float *packed_b = check_alloc((size_t)((nc + nr - 1) / nr * nr * kc) * sizeof(float));
    // One row beyond the block, and ldc - nc columns beyond each row, hold the guard value.
    float *c = check_alloc((size_t)((mc + 1) * ldc) * sizeof(float));
    float *c0 = check_alloc((size_t)((mc + 1) * ldc) * sizeof(float));
    check_fill(rng, a, (size_t)(mc * lda), -1, 1);
    check_fill(rng, b, (size_t)(kc * nc), -1, 1);
    check_fill(rng, bias, (size_t)nc, -2, 2);
    for (int64_t i = 0; i <= mc; i++) {
        for (int64_t j = 0; j < ldc; j++) {
            // With beta == 0 the kernel must not read C: NaN there would show up in the result.
            const int inside = i < mc && j < nc;
            c0[i * ldc + j] = !inside ? guard_value : g->epilogue.beta == 0 ? NAN : check_uniform(rng, -1, 1);
        }
    }
    memcpy(c, c0, (size_t)((mc + 1) * ldc) * sizeof(float));
    pack_a(a, lda, mc, kc, mr, packed_a);
    pack_b(b, kc, nc, nr, packed_b);

    ck_sgemm_epilogue epilogue = g->epilogue;
    epilogue.bias = g->with_bias ? bias : 0;
    if (direct) {
        kernel->block_direct(mc, nc, kc, a, lda, packed_b, c, ldc, &epilogue);
    } else {
        kernel->block(mc, nc, kc, packed_a, packed_b, c, ldc, &epilogue);
    }

    const double alpha = epilogue.alpha, beta = epilogue.beta;
    int reported = 0;
    for (int64_t i = 0; i <= mc && !reported; i++) {
        for (int64_t j = 0; j < ldc && !reported; j++) {
            const float got = c[i * ldc + j];
            if (i == mc || j >= nc) {
                reported = !check_that(check_same_bits(got, guard_value),
                                       "gemm %s%s mc=%lld nc=%lld kc=%lld: wrote outside the block at (%lld, %lld)",
                                       kernel->name, direct ? " direct" : "", (long long)mc, (long long)nc,
                                       (long long)kc, (long long)i, (long long)j);
                continue;
            }
            double exact = 0, magnitude = 0;
            for (int64_t p = 0; p < kc; p++) {
                exact += (double)a[i * lda + p] * b[p * nc + j];
                magnitude += fabs((double)a[i * lda + p] * b[p * nc + j]);
            }
            exact *= alpha;
            magnitude *= fabs(alpha);
            if (beta != 0) {
                exact += beta * c0[i * ldc + j];
                magnitude += fabs(beta * c0[i * ldc + j]);
            }
            if (epilogue.bias) {
                exact += bias[j];
                magnitude += fabs((double)bias[j]);
            }
            const double tolerance = check_gamma((double)kc + 3) * magnitude;
            reported = !check_that(fabs(got - exact) <= tolerance,
                                   "gemm %s%s mc=%lld nc=%lld kc=%lld alpha=%g beta=%g bias=%d: C[%lld][%lld] = %.9g, "
                                   "exact %.9g (tolerance %.3g)",
                                   kernel->name, direct ? " direct" : "", (long long)mc, (long long)nc, (long long)kc,
                                   alpha, beta, g->with_bias, (long long)i, (long long)j, got, exact, tolerance);
        }
    }
    free(a), free(b), free(bias), free(packed_a), free(packed_b), free(c), free(c0);
}

static void check_kernel(const ck_sgemm_kernel *kernel) {
    check_rng rng = check_rng_for(kernel->name);
    const int64_t mr = kernel->mr, nr = kernel->nr;
    int cases = 0;
    for (int t = 0; t < 300; t++) {
        gemm_case g;
        // Exact tiles, exact multiples of the tile, and ragged edges in both directions; kc from 1 (a single
        // rank-1 update) to past the unrolled loops.
        const int shape = t % 4;
        g.mc = shape == 0 ? mr : shape == 1 ? mr * check_int(&rng, 1, 3) : check_int(&rng, 1, 3 * mr + 1);
        g.nc = shape == 0 ? nr : shape == 1 ? nr * check_int(&rng, 1, 3) : check_int(&rng, 1, 3 * nr + 1);
        g.kc = t < 8 ? t + 1 : check_int(&rng, 1, 67);
        g.ldc = g.nc + (t % 3 == 0 ? 0 : check_int(&rng, 1, 5));
        const int e = (int)check_int(&rng, 0, 3);
        g.epilogue.alpha = e == 0 ? 1.0f : check_uniform(&rng, -2, 2);
        g.epilogue.beta = e == 1 ? 1.0f : e == 2 ? check_uniform(&rng, -2, 2) : 0.0f;
        g.epilogue.bias = 0;
        g.with_bias = (int)check_int(&rng, 0, 1);
        run_case(&rng, kernel, &g, 0);
        cases++;
        if (kernel->block_direct) {
            g.mc = mr * check_int(&rng, 1, 3);  // the direct form needs whole tiles of rows
            run_case(&rng, kernel, &g, 1);
            cases++;
        }
    }
    printf("  gemm   %-18s %d blocks (MR=%lld, NR=%lld%s)\n", kernel->name, cases, (long long)mr, (long long)nr,
           kernel->block_direct ? ", direct A too" : "");
}

void check_gemm(void) {
#if defined(__aarch64__)
    check_that(ck_sgemm_kernel_for(CK_ISA_NEON) != 0, "gemm: no NEON variant on AArch64");
    check_that(ck_sgemm_kernel_active() == ck_sgemm_kernel_for(CK_ISA_NEON),
               "gemm: the dispatcher does not pick the NEON variant on AArch64 (it picks %s)",
               ck_sgemm_kernel_active()->name);
#endif
    // The scalar reference runs too: a check that fails it is a broken check.
    for (int isa = 0; isa < CK_ISA_COUNT; isa++) {
        const ck_sgemm_kernel *kernel = ck_sgemm_kernel_for((ck_isa)isa);
        if (kernel) check_kernel(kernel);
    }
}
