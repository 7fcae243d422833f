// bfloat16 GEMM micro-kernels (ck_bgemm.h, where this build has them): every variant's A packing and block
// function on random block shapes, edge tiles and odd depths included, A and B plain or transposed.
//
// Tolerance: the inputs are the bfloat16 roundings of A and B (ck_bf16_round_f32), whose products are exact in
// fp32; the sums then obey the same bound as fp32 GEMM (gemm_check.c): gamma_(kc+3) * (|alpha| sum |a b| +
// |beta C| + |bias|) from the exact result. ck_bgemm.h also promises that every variant adds the products in one
// order (each depth pair odd first, then even), so with the identity epilogue (alpha 1, beta 0, no bias) each
// variant's C must equal the scalar variant's bit for bit.
#if __has_include("ck_bgemm.h")
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ck_bgemm.h"

static const float guard_value = -12345.5f;

typedef struct bgemm_case {
    int64_t mc, nc, kc, ldc;
    int a_transposed, b_transposed, with_bias;
    ck_sgemm_epilogue epilogue;
} bgemm_case;

/// The operands of one case, shared by every variant run on it.
typedef struct bgemm_operands {
    float *a, *b, *bias, *c0;
    /// A and B rounded to bfloat16 (and widened back), in the plain layouts: A mc x kc, B kc x nc.
    float *a_rounded, *b_rounded;
    int64_t lda, ldb;
} bgemm_operands;

/// op(A)[i][p] and op(B)[p][j] as stored (plain or transposed).
static float a_at(const bgemm_case *g, const bgemm_operands *o, int64_t i, int64_t p) {
    return g->a_transposed ? o->a[p * o->lda + i] : o->a[i * o->lda + p];
}
static float b_at(const bgemm_case *g, const bgemm_operands *o, int64_t p, int64_t j) {
    return g->b_transposed ? o->b[j * o->ldb + p] : o->b[p * o->ldb + j];
}

/// Runs `kernel` on the case; writes C (with its guards) to `c`, which holds (mc + 1) * ldc floats.
static void run_kernel(const ck_bgemm_kernel *kernel, const bgemm_case *g, const bgemm_operands *o, float *c) {
    const int64_t kp = (g->kc + 1) / 2 * 2, mr = kernel->mr, nr = kernel->nr;
    void *packed_a = check_alloc((size_t)((g->mc + mr - 1) / mr * mr * kp) * 4);
    uint16_t *packed_b = check_alloc((size_t)((g->nc + nr - 1) / nr * nr * kp) * 2);
    kernel->pack_a(o->a, o->lda, g->a_transposed, g->mc, g->kc, packed_a);
    ck_bgemm_pack_b(o->b, o->ldb, g->b_transposed, g->nc, g->kc, (int32_t)nr, packed_b);
    memcpy(c, o->c0, (size_t)((g->mc + 1) * g->ldc) * sizeof(float));
    ck_sgemm_epilogue epilogue = g->epilogue;
    epilogue.bias = g->with_bias ? o->bias : 0;
    kernel->block(g->mc, g->nc, g->kc, packed_a, packed_b, c, g->ldc, &epilogue);
    free(packed_a), free(packed_b);
}

static void compare(const ck_bgemm_kernel *kernel, const bgemm_case *g, const bgemm_operands *o, const float *c,
                    const float *scalar_c) {
    const int identity = g->epilogue.alpha == 1 && g->epilogue.beta == 0 && !g->with_bias;
    for (int64_t i = 0; i <= g->mc; i++) {
        for (int64_t j = 0; j < g->ldc; j++) {
            const float got = c[i * g->ldc + j];
            if (i == g->mc || j >= g->nc) {
                if (!check_that(check_same_bits(got, guard_value), "bgemm %s mc=%lld nc=%lld kc=%lld: wrote outside "
                                "the block at (%lld, %lld)", kernel->name, (long long)g->mc, (long long)g->nc,
                                (long long)g->kc, (long long)i, (long long)j))
                    return;
                continue;
            }
            double exact = 0, magnitude = 0;
            for (int64_t p = 0; p < g->kc; p++) {
                const double product = (double)o->a_rounded[i * g->kc + p] * o->b_rounded[p * g->nc + j];
                exact += product;
                magnitude += fabs(product);
            }
            exact *= g->epilogue.alpha;
            magnitude *= fabs((double)g->epilogue.alpha);
            if (g->epilogue.beta != 0) {
                exact += (double)g->epilogue.beta * o->c0[i * g->ldc + j];
                magnitude += fabs((double)g->epilogue.beta * o->c0[i * g->ldc + j]);
            }
            if (g->with_bias) exact += o->bias[j], magnitude += fabs((double)o->bias[j]);
            const double tolerance = check_gamma((double)g->kc + 3) * magnitude;
            if (!check_that(fabs(got - exact) <= tolerance,
                            "bgemm %s mc=%lld nc=%lld kc=%lld A%s B%s: C[%lld][%lld] = %.9g, exact %.9g (tolerance %.3g)",
                            kernel->name, (long long)g->mc, (long long)g->nc, (long long)g->kc,
                            g->a_transposed ? "t" : "", g->b_transposed ? "t" : "", (long long)i, (long long)j, got,
                            exact, tolerance))
                return;
            if (identity && !check_that(check_same_bits(got, scalar_c[i * g->ldc + j]),
                                        "bgemm %s mc=%lld nc=%lld kc=%lld: C[%lld][%lld] = %.9g, scalar variant %.9g "
                                        "(ck_bgemm.h promises the same sums)", kernel->name, (long long)g->mc,
                                        (long long)g->nc, (long long)g->kc, (long long)i, (long long)j, got,
                                        scalar_c[i * g->ldc + j]))
                return;
        }
    }
}

void check_bgemm(void) {
    const ck_bgemm_kernel *scalar = ck_bgemm_kernel_for(CK_ISA_SCALAR);
#if defined(__aarch64__)
    check_that(ck_bgemm_kernel_for(CK_ISA_NEON) != 0, "bgemm: no NEON variant on AArch64");
    check_that(ck_bgemm_kernel_active() == ck_bgemm_kernel_for(CK_ISA_NEON),
               "bgemm: the dispatcher does not pick the NEON variant on AArch64 (it picks %s)",
               ck_bgemm_kernel_active()->name);
#endif
    check_rng rng = check_rng_for("bgemm");
    for (int t = 0; t < 240; t++) {
        bgemm_case g;
        // Shapes ragged for every variant's tile (MR, NR up to 12 x 32) and exact multiples of 8, 12 and 16.
        g.mc = t % 3 == 0 ? 8 * check_int(&rng, 1, 3) : check_int(&rng, 1, 37);
        g.nc = t % 3 == 1 ? 16 * check_int(&rng, 1, 4) : check_int(&rng, 1, 70);
        g.kc = t < 6 ? t + 1 : check_int(&rng, 1, 67);
        g.ldc = g.nc + check_int(&rng, 0, 4);
        g.a_transposed = (int)check_int(&rng, 0, 1);
        g.b_transposed = (int)check_int(&rng, 0, 1);
        g.with_bias = t % 2 ? (int)check_int(&rng, 0, 1) : 0;
        const int e = t % 2 ? (int)check_int(&rng, 0, 2) : -1;  // even cases: the identity epilogue
        g.epilogue.alpha = e <= 0 ? 1.0f : check_uniform(&rng, -2, 2);
        g.epilogue.beta = e == 1 ? 1.0f : e == 2 ? check_uniform(&rng, -2, 2) : 0.0f;
        g.epilogue.bias = 0;

        bgemm_operands o;
        o.lda = (g.a_transposed ? g.mc : g.kc) + check_int(&rng, 0, 3);
        o.ldb = (g.b_transposed ? g.kc : g.nc) + check_int(&rng, 0, 3);
        const int64_t a_rows = g.a_transposed ? g.kc : g.mc, b_rows = g.b_transposed ? g.nc : g.kc;
        o.a = check_alloc((size_t)(a_rows * o.lda) * sizeof(float));
        o.b = check_alloc((size_t)(b_rows * o.ldb) * sizeof(float));
        o.bias = check_alloc((size_t)g.nc * sizeof(float));
        o.c0 = check_alloc((size_t)((g.mc + 1) * g.ldc) * sizeof(float));
        o.a_rounded = check_alloc((size_t)(g.mc * g.kc) * sizeof(float));
        o.b_rounded = check_alloc((size_t)(g.kc * g.nc) * sizeof(float));
        check_fill(&rng, o.a, (size_t)(a_rows * o.lda), -1, 1);
        check_fill(&rng, o.b, (size_t)(b_rows * o.ldb), -1, 1);
        check_fill(&rng, o.bias, (size_t)g.nc, -2, 2);
        for (int64_t i = 0; i <= g.mc; i++) {
            for (int64_t j = 0; j < g.ldc; j++) {
                const int inside = i < g.mc && j < g.nc;
                o.c0[i * g.ldc + j] = !inside ? guard_value : g.epilogue.beta == 0 ? NAN : check_uniform(&rng, -1, 1);
            }
        }
        for (int64_t i = 0; i < g.mc; i++) {
            for (int64_t p = 0; p < g.kc; p++) o.a_rounded[i * g.kc + p] = a_at(&g, &o, i, p);
        }
        for (int64_t p = 0; p < g.kc; p++) {
            for (int64_t j = 0; j < g.nc; j++) o.b_rounded[p * g.nc + j] = b_at(&g, &o, p, j);
        }
        ck_bf16_round_f32(o.a_rounded, o.a_rounded, g.mc * g.kc);
        ck_bf16_round_f32(o.b_rounded, o.b_rounded, g.kc * g.nc);

        float *scalar_c = check_alloc((size_t)((g.mc + 1) * g.ldc) * sizeof(float));
        float *c = check_alloc((size_t)((g.mc + 1) * g.ldc) * sizeof(float));
        run_kernel(scalar, &g, &o, scalar_c);
        // The scalar variant runs through the same comparison: a check that fails it is a broken check.
        for (int isa = 0; isa < CK_ISA_COUNT; isa++) {
            const ck_bgemm_kernel *kernel = ck_bgemm_kernel_for((ck_isa)isa);
            if (!kernel) continue;
            run_kernel(kernel, &g, &o, c);
            compare(kernel, &g, &o, c, scalar_c);
            const ck_bgemm_kernel *narrow = ck_bgemm_kernel_fitting(kernel, 40);
            if (narrow != kernel) {
                check_that(narrow->nr == kernel->nr && narrow->mr < kernel->mr && 40 % narrow->mr == 0,
                           "bgemm %s: its form for 40 rows, %s, is no better fit", kernel->name, narrow->name);
                run_kernel(narrow, &g, &o, c);
                compare(narrow, &g, &o, c, scalar_c);
            }
        }
        free(o.a), free(o.b), free(o.bias), free(o.c0), free(o.a_rounded), free(o.b_rounded), free(scalar_c), free(c);
    }
    for (int isa = 0; isa < CK_ISA_COUNT; isa++) {
        const ck_bgemm_kernel *kernel = ck_bgemm_kernel_for((ck_isa)isa);
        if (kernel) printf("  bgemm  %-18s 240 blocks (MR=%d, NR=%d)\n", kernel->name, kernel->mr, kernel->nr);
        const ck_bgemm_kernel *narrow = kernel ? ck_bgemm_kernel_fitting(kernel, 40) : 0;
        if (narrow && narrow != kernel) printf("  bgemm  %-18s 240 blocks (MR=%d, NR=%d)\n", narrow->name, narrow->mr, narrow->nr);
    }
}
#else
#include <stdio.h>

#include "check.h"

void check_bgemm(void) { printf("  bgemm  (no ck_bgemm.h in this build)\n"); }
#endif
