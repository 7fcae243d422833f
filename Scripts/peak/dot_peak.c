// The peak rate of this CPU's dot-product instructions, for comparing a GEMM against: a loop of independent
// `vdpbf16ps` (bfloat16, 64 flops each on zmm) or `vfmadd231ps` (fp32, 32 flops each) on 24 accumulators, run on
// 1..N threads at once. Build and run by hand (not part of the package):
//   clang -O2 -pthread Scripts/peak/dot_peak.c -o /tmp/dot_peak && /tmp/dot_peak 2
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ITERATIONS 200000000L

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

#define ACCUMULATORS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) \
                        X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)

__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
static void *bf16_loop(void *out) {
    __m512bh a = (__m512bh)_mm512_set1_epi32(0x3f803f80), b = a;
#define DECLARE(i) __m512 acc##i = _mm512_setzero_ps();
#define STEP(i) acc##i = _mm512_dpbf16_ps(acc##i, a, b);
#define SUM(i) total = _mm512_add_ps(total, acc##i);
    ACCUMULATORS(DECLARE)
    for (long n = 0; n < ITERATIONS / 24; n++) {
        ACCUMULATORS(STEP)
        __asm__ volatile("" : "+v"(a));
    }
    __m512 total = _mm512_setzero_ps();
    ACCUMULATORS(SUM)
    *(float *)out = _mm512_reduce_add_ps(total);
    return 0;
}

__attribute__((target("avx512f,fma")))
static void *fma_loop(void *out) {
    __m512 a = _mm512_set1_ps(1e-9f), b = a;
#undef STEP
#define STEP(i) acc##i = _mm512_fmadd_ps(a, b, acc##i);
    ACCUMULATORS(DECLARE)
    for (long n = 0; n < ITERATIONS / 24; n++) {
        ACCUMULATORS(STEP)
        __asm__ volatile("" : "+v"(a));
    }
    __m512 total = _mm512_setzero_ps();
    ACCUMULATORS(SUM)
    *(float *)out = _mm512_reduce_add_ps(total);
    return 0;
}

static double run(void *(*loop)(void *), int threads, double flops_per_instruction) {
    pthread_t ids[64];
    float sink[64];
    const double start = now();
    for (int t = 0; t < threads; t++) pthread_create(&ids[t], 0, loop, &sink[t]);
    for (int t = 0; t < threads; t++) pthread_join(ids[t], 0);
    const double seconds = now() - start;
    return threads * (double)(ITERATIONS / 24 * 24) * flops_per_instruction / seconds * 1e-9;
}

int main(int argc, char **argv) {
    const int most = argc > 1 ? atoi(argv[1]) : 1;
    for (int threads = 1; threads <= most && threads <= 64; threads++) {
        printf("%d thread(s): vdpbf16ps zmm %.0f GFLOP/s, vfmadd231ps zmm %.0f GFLOP/s\n", threads,
               run(bf16_loop, threads, 64), run(fma_loop, threads, 32));
    }
    return 0;
}
