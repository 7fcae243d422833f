// Shared pieces of the kernel-variant check (Tests/NEON): a seeded random generator, failure reporting and the
// rounding-error bounds the tolerances are built from.
//
// The check runs every SIMD variant of the CKernels kernels against the scalar reference variant (or, for the
// neural-network kernels, which have one C body compiled per instruction set, against a double-precision
// reference). It exists for the AArch64 NEON variants, which no Swift test can run on an x86-64 machine:
// Scripts/neon-check.sh cross-compiles it and runs it under qemu-aarch64. Built natively it checks the x86-64
// variants the same way (a check of the checker).
//
// Not a SwiftPM target: Package.swift lists its targets explicitly and none points here.
#ifndef NEON_CHECK_H
#define NEON_CHECK_H

#include <stddef.h>
#include <stdint.h>

/// Unit roundoff of float (round to nearest).
#define CHECK_U 0x1p-24

/// gamma_n = n u / (1 - n u): the relative error bound of a sum of n rounded terms (Higham, Accuracy and Stability
/// of Numerical Algorithms, 3.1). Any summation order obeys it, so it bounds every variant, however its lanes and
/// tails split the sum. With fused multiply-adds, products cost no extra rounding, so the same bound holds.
double check_gamma(double n);

/// A deterministic random generator (splitmix64); one per check family so families stay reproducible alone.
typedef struct check_rng {
    uint64_t state;
} check_rng;

uint64_t check_next(check_rng *rng);
/// Uniform in [lo, hi).
float check_uniform(check_rng *rng, float lo, float hi);
/// Uniform integer in [lo, hi] (inclusive).
int64_t check_int(check_rng *rng, int64_t lo, int64_t hi);
/// Fills `n` floats uniform in [lo, hi).
void check_fill(check_rng *rng, float *x, size_t n, float lo, float hi);

/// The seed every family derives its generator from (set by main).
extern uint64_t check_seed;
check_rng check_rng_for(const char *family);

/// Records one comparison; on failure prints the formatted message (the first 30 only) and counts it.
/// Returns `ok`.
int check_that(int ok, const char *format, ...) __attribute__((format(printf, 2, 3)));

/// Comparisons and failures so far.
extern long check_comparisons;
extern long check_failures;

/// Bit-for-bit equality of two floats (NaN payloads included).
int check_same_bits(float a, float b);

/// A 64-byte aligned allocation of `bytes` (at least 64), aborting when memory is short; free with free().
void *check_alloc(size_t bytes);

/// The families (one file each): each prints the variants it checked and reports through check_that. On AArch64
/// each also fails when the NEON variant is missing or is not the one the dispatcher picks.
void check_gemm(void);
/// bfloat16 GEMM: a no-op that says so where this build has no ck_bgemm.h.
void check_bgemm(void);
void check_match(void);
void check_vector(void);
void check_convert(void);
void check_nn(void);

#endif
