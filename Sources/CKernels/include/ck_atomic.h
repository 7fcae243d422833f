// Tiny atomic helpers for Swift code that must not depend on the Synchronization module's availability.
#ifndef CK_ATOMIC_H
#define CK_ATOMIC_H

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

#endif
