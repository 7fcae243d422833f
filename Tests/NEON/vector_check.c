// Vector kernels (ck_vector.h) and element conversions (ck_convert.h), every variant against the scalar one
// (variant 0) on every length up to 70 and a few long ones, from unaligned addresses, in place and not.
//
// Element-wise results and maxima must match bit for bit (one IEEE operation per element, whatever the lanes).
// Sums may add in another order: |got - exact| <= gamma_n * sum |a| (sum of squares: gamma_n * sum a^2), which
// holds for every order, fused or not.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ck_convert.h"
#include "ck_vector.h"

static const float guard_value = -12345.5f;

/// Lengths to try: 0 ..< 70 one by one (every tail of every unrolled loop), then a few long ones.
static size_t next_length(size_t n) { return n < 70 ? n + 1 : n * 3 + 1; }
static const size_t max_length = 2000;

static void check_elementwise(check_rng *rng, const ck_vector_kernels *v, const ck_vector_kernels *reference) {
    float *a = check_alloc((max_length + 8) * sizeof(float)), *b = check_alloc((max_length + 8) * sizeof(float));
    float *got = check_alloc((max_length + 8) * sizeof(float)), *want = check_alloc((max_length + 8) * sizeof(float));
    for (size_t n = 0; n <= max_length; n = next_length(n)) {
        for (int op = CK_BINARY_ADD; op <= CK_BINARY_MUL; op++) {
            const size_t offset = (size_t)check_int(rng, 0, 3);
            check_fill(rng, a, max_length + 8, -4, 4);
            check_fill(rng, b, max_length + 8, -4, 4);
            const float scalar = check_uniform(rng, -4, 4);
            for (int in_place = 0; in_place <= 1; in_place++) {
                for (int with_scalar = 0; with_scalar <= 1; with_scalar++) {
                    for (size_t i = 0; i < max_length + 8; i++) got[i] = want[i] = guard_value;
                    float *out = got + offset, *expected = want + offset;
                    if (in_place) {
                        memcpy(out, a + offset, n * sizeof(float));
                        memcpy(expected, a + offset, n * sizeof(float));
                    }
                    const float *x = in_place ? out : a + offset, *x_reference = in_place ? expected : a + offset;
                    if (with_scalar) {
                        v->binary_scalar((ck_binary_op)op, x, scalar, out, n);
                        reference->binary_scalar((ck_binary_op)op, x_reference, scalar, expected, n);
                    } else {
                        v->binary((ck_binary_op)op, x, b + 3 - offset, out, n);
                        reference->binary((ck_binary_op)op, x_reference, b + 3 - offset, expected, n);
                    }
                    check_that(memcmp(got, want, (max_length + 8) * sizeof(float)) == 0,
                               "vector %s %s op=%d n=%zu in_place=%d: differs from scalar (or writes past n)", v->name,
                               with_scalar ? "binary_scalar" : "binary", op, n, in_place);
                }
            }
        }
    }
    free(a), free(b), free(got), free(want);
}

static void check_reductions(check_rng *rng, const ck_vector_kernels *v, const ck_vector_kernels *reference) {
    float *a = check_alloc((max_length + 4) * sizeof(float));
    for (size_t n = 0; n <= max_length; n = next_length(n)) {
        check_fill(rng, a, max_length + 4, -3, 3);
        float *x = a + check_int(rng, 0, 3);
        double exact = 0, magnitude = 0, squares = 0;
        for (size_t i = 0; i < n; i++) {
            exact += x[i];
            magnitude += fabs((double)x[i]);
            squares += (double)x[i] * x[i];
        }
        const float sum = v->sum(x, n), sum_squares = v->sum_squares(x, n);
        check_that(fabs(sum - exact) <= check_gamma((double)n) * magnitude, "vector %s sum n=%zu: %.9g, exact %.9g",
                   v->name, n, sum, exact);
        check_that(fabs(sum_squares - squares) <= check_gamma((double)n + 1) * squares,
                   "vector %s sum_squares n=%zu: %.9g, exact %.9g", v->name, n, sum_squares, squares);
        check_that(check_same_bits(v->max(x, n), reference->max(x, n)), "vector %s max n=%zu: %.9g, scalar %.9g",
                   v->name, n, v->max(x, n), reference->max(x, n));
        if (n > 0) {
            // A NaN anywhere, the last element included, makes the maximum NaN.
            const size_t where = (size_t)check_int(rng, 0, (int64_t)n - 1);
            x[where] = NAN;
            check_that(isnan(v->max(x, n)), "vector %s max n=%zu: NaN at %zu not reported", v->name, n, where);
        }
    }
    free(a);
}

static void check_transpose(check_rng *rng, const ck_vector_kernels *v, const ck_vector_kernels *reference) {
    for (int t = 0; t < 60; t++) {
        // Sizes around the 8x8 / 16x16 register tiles and the 64x64 cache blocks.
        const size_t rows = (size_t)check_int(rng, 1, t % 4 == 3 ? 140 : 37);
        const size_t cols = (size_t)check_int(rng, 1, t % 4 == 2 ? 140 : 37);
        const size_t src_ld = cols + (size_t)check_int(rng, 0, 5), dst_ld = rows + (size_t)check_int(rng, 0, 5);
        float *src = check_alloc(rows * src_ld * sizeof(float));
        float *got = check_alloc(cols * dst_ld * sizeof(float)), *want = check_alloc(cols * dst_ld * sizeof(float));
        check_fill(rng, src, rows * src_ld, -1, 1);
        for (size_t i = 0; i < cols * dst_ld; i++) got[i] = want[i] = guard_value;
        v->transpose(src, src_ld, got, dst_ld, rows, cols);
        reference->transpose(src, src_ld, want, dst_ld, rows, cols);
        check_that(memcmp(got, want, cols * dst_ld * sizeof(float)) == 0,
                   "vector %s transpose %zux%zu (ld %zu -> %zu): differs from scalar", v->name, rows, cols, src_ld,
                   dst_ld);
        free(src), free(got), free(want);
    }
}

void check_vector(void) {
    const ck_vector_kernels *reference = ck_vector_variant(0);
#if defined(__aarch64__)
    check_that(strcmp(ck_vector_active()->name, "neon") == 0,
               "vector: the dispatcher does not pick the NEON variant on AArch64 (it picks %s)", ck_vector_active()->name);
#endif
    for (size_t i = 1; i < ck_vector_variant_count(); i++) {
        const ck_vector_kernels *v = ck_vector_variant(i);
        check_rng rng = check_rng_for(v->name);
        check_elementwise(&rng, v, reference);
        check_reductions(&rng, v, reference);
        check_transpose(&rng, v, reference);
        printf("  vector %-18s binary/binary_scalar/sum/sum_squares/max/transpose\n", v->name);
    }
}

/// Every one of the 65536 half and bfloat16 bit patterns (NaN payloads, subnormals, infinities, signed zeros),
/// from an odd byte address, in chunks of every length up to 40 (the tails after the 8-, 16- and 32-wide loops).
void check_convert(void) {
    const ck_convert_kernels *reference = ck_convert_variant(0);
#if defined(__aarch64__)
    check_that(strcmp(ck_convert_variant(ck_convert_variant_count() - 1)->name, "neon") == 0,
               "convert: the fastest variant on AArch64 is not the NEON one");
#endif
    unsigned char *bytes = check_alloc(2 * 65536 + 1);
    for (uint32_t h = 0; h < 65536; h++) {
        bytes[1 + 2 * h] = (unsigned char)(h & 0xff);
        bytes[2 + 2 * h] = (unsigned char)(h >> 8);
    }
    float *got = check_alloc((65536 + 1) * sizeof(float)), *want = check_alloc((65536 + 1) * sizeof(float));
    for (size_t i = 1; i < ck_convert_variant_count(); i++) {
        const ck_convert_kernels *v = ck_convert_variant(i);
        check_rng rng = check_rng_for(v->name);
        for (int bf16 = 0; bf16 <= 1; bf16++) {
            void (*convert)(const void *, float *, size_t) = bf16 ? v->bf16_to_f32 : v->f16_to_f32;
            void (*convert_reference)(const void *, float *, size_t) =
                bf16 ? reference->bf16_to_f32 : reference->f16_to_f32;
            for (size_t k = 0; k <= 65536; k++) got[k] = want[k] = guard_value;
            for (size_t first = 0; first < 65536;) {
                const size_t count = (size_t)check_int(&rng, 0, 40) + (first % 5 == 0 ? 1000 : 0);
                const size_t n = first + count > 65536 ? 65536 - first : count;
                convert(bytes + 1 + 2 * first, got + first, n);
                convert_reference(bytes + 1 + 2 * first, want + first, n);
                first += n;
            }
            size_t k = 0;
            while (k <= 65536 && check_same_bits(got[k], want[k])) k++;
            uint32_t got_bits = 0, want_bits = 0;
            if (k <= 65536) memcpy(&got_bits, &got[k], 4), memcpy(&want_bits, &want[k], 4);
            check_that(k > 65536, "convert %s %s: %s 0x%04zx gives bits %08x, scalar %08x", v->name,
                       bf16 ? "bf16" : "f16", k == 65536 ? "wrote past the end: index" : "pattern", k, got_bits,
                       want_bits);
        }
        printf("  convert %-17s f16/bf16, all 65536 patterns\n", v->name);
    }
    free(bytes), free(got), free(want);
}
