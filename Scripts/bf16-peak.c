// The bfloat16 multiply peak of this CPU: a loop of nothing but independent `vdpbf16ps` (AVX512-BF16), timed on
// 1..T threads. Each instruction does 16 lanes x 2 products x 2 FLOPs = 64 FLOP. The GEMM figures of
// `tomesd bench gemm --precision bf16` are read against this. Build and run with Scripts/bf16-peak.sh.
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const long iterations = 4000000000L / 24;

static void *spin(void *result) {
    __m512 acc[24];
    for (int i = 0; i < 24; i++) acc[i] = _mm512_set1_ps((float)i);
    __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80), b = (__m512bh)_mm512_set1_epi16(0x3f81);
    for (long n = 0; n < iterations; n++) {
        for (int i = 0; i < 24; i++) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
        __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]), "+v"(acc[4]), "+v"(acc[5]));
    }
    float sum = 0;
    for (int i = 0; i < 24; i++) sum += _mm512_reduce_add_ps(acc[i]);
    *(float *)result = sum;
    return NULL;
}

int main(int argc, char **argv) {
    int maximum = argc > 1 ? atoi(argv[1]) : 2;
    for (int threads = 1; threads <= maximum; threads++) {
        pthread_t ids[64];
        float results[64];
        struct timespec start, end;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (int t = 0; t < threads; t++) pthread_create(&ids[t], NULL, spin, &results[t]);
        for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
        clock_gettime(CLOCK_MONOTONIC, &end);
        double seconds = (end.tv_sec - start.tv_sec) + 1e-9 * (end.tv_nsec - start.tv_nsec);
        double flops = 64.0 * 24 * iterations * threads;
        printf("%d thread(s): %.0f GFLOP/s of vdpbf16ps (%.2f s)\n", threads, flops / seconds / 1e9, seconds);
    }
    return 0;
}
