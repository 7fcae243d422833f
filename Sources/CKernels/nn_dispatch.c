// The instruction-set level of the neural-network kernels: the best this CPU supports, unless a test chose another.
#include "ck_nn.h"
#include "nn_internal.h"

static int supported_level(void) {
#if CK_HAS_X86_VARIANTS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("fma")) {
        return 2;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
    return 0;
}

static int level = -1;

int ck_nn_isa_level(void) {
    int current = __atomic_load_n(&level, __ATOMIC_RELAXED);
    if (current >= 0) return current;
    current = supported_level();
    __atomic_store_n(&level, current, __ATOMIC_RELAXED);
    return current;
}

int ck_nn_set_isa_level(int requested) {
    if (requested < 0 || requested > supported_level()) return 0;
    __atomic_store_n(&level, requested, __ATOMIC_RELAXED);
    return 1;
}
