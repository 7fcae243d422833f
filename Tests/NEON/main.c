// Entry point of the kernel-variant check: `neon_kernels_test [seed]` runs every family and exits 1 on any
// mismatch (0 when all agree). Build and run it with Scripts/neon-check.sh.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

uint64_t check_seed = 20261204;
long check_comparisons;
long check_failures;

double check_gamma(double n) { return n * CHECK_U / (1 - n * CHECK_U); }

uint64_t check_next(check_rng *rng) {
    uint64_t z = (rng->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

float check_uniform(check_rng *rng, float lo, float hi) {
    return lo + (hi - lo) * (float)((check_next(rng) >> 40) * 0x1p-24);
}

int64_t check_int(check_rng *rng, int64_t lo, int64_t hi) {
    return lo + (int64_t)(check_next(rng) % (uint64_t)(hi - lo + 1));
}

void check_fill(check_rng *rng, float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = check_uniform(rng, lo, hi);
}

check_rng check_rng_for(const char *family) {
    uint64_t h = check_seed;
    for (const char *c = family; *c; c++) h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
    return (check_rng){h};
}

int check_that(int ok, const char *format, ...) {
    check_comparisons++;
    if (ok) return 1;
    if (check_failures++ < 30) {
        va_list args;
        va_start(args, format);
        fputs("MISMATCH: ", stdout);
        vprintf(format, args);
        fputc('\n', stdout);
        va_end(args);
    }
    return 0;
}

int check_same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

void *check_alloc(size_t bytes) {
    const size_t rounded = (bytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memset(p, 0, rounded ? rounded : 64);
    return p;
}

int main(int argc, char **argv) {
    if (argc > 2 || (argc == 2 && strspn(argv[1], "0123456789") != strlen(argv[1]))) {
        fprintf(stderr, "usage: %s [seed]\n", argv[0]);
        return 2;
    }
    if (argc == 2) check_seed = strtoull(argv[1], 0, 10);
#if defined(__aarch64__)
    printf("kernel check on AArch64 (NEON variants against the scalar reference), seed %llu\n",
           (unsigned long long)check_seed);
#else
    printf("kernel check on this CPU (SIMD variants against the scalar reference), seed %llu\n",
           (unsigned long long)check_seed);
#endif
    check_gemm();
    check_bgemm();
    check_match();
    check_vector();
    check_convert();
    check_nn();
    printf("%ld comparisons, %ld mismatches\n", check_comparisons, check_failures);
    if (check_failures) {
        printf("FAILED: a kernel variant disagrees with the reference (seed %llu)\n", (unsigned long long)check_seed);
        return 1;
    }
    printf("passed\n");
    return 0;
}
