// Tiny atomic helpers for Swift code that must not depend on the Synchronization module's availability.
#ifndef CK_ATOMIC_H
#define CK_ATOMIC_H

#include <stdbool.h>
#include <stdint.h>

/// Atomically adds `value` to `*counter` and returns the previous value (sequentially consistent).
static inline int64_t ck_atomic_fetch_add(int64_t *counter, int64_t value) {
    return __atomic_fetch_add(counter, value, __ATOMIC_SEQ_CST);
}

/// Atomically stores `value` into `*counter`.
static inline void ck_atomic_store(int64_t *counter, int64_t value) {
    __atomic_store_n(counter, value, __ATOMIC_SEQ_CST);
}

/// Atomically loads `*counter`.
static inline int64_t ck_atomic_load(const int64_t *counter) {
    return __atomic_load_n(counter, __ATOMIC_SEQ_CST);
}

/// Tells the CPU that this thread is spinning (x86 `pause`, Arm `yield`): it yields the core's shared resources
/// to its sibling thread and saves power while waiting.
static inline void ck_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}

/// Spins for at most `rounds` pauses until `*value` differs from `current`; returns whether it did (false: the
/// caller should block instead of spinning on).
static inline bool ck_spin_until_changed(const int64_t *value, int64_t current, int64_t rounds) {
    for (int64_t i = 0; i < rounds; i++) {
        if (__atomic_load_n(value, __ATOMIC_SEQ_CST) != current) return true;
        ck_spin_pause();
    }
    return __atomic_load_n(value, __ATOMIC_SEQ_CST) != current;
}

/// Spins for at most `rounds` pauses until `*value` equals `target`; returns whether it did.
static inline bool ck_spin_until_equal(const int64_t *value, int64_t target, int64_t rounds) {
    for (int64_t i = 0; i < rounds; i++) {
        if (__atomic_load_n(value, __ATOMIC_SEQ_CST) == target) return true;
        ck_spin_pause();
    }
    return __atomic_load_n(value, __ATOMIC_SEQ_CST) == target;
}

#endif
