// See ck_pages.h.
#if defined(__linux__)
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#endif
#include "ck_pages.h"

#if defined(__linux__)

int ck_pages_supported(void) { return 1; }

void *ck_pages_map(size_t bytes, size_t huge_bytes) {
    // Map a granule more than asked, then trim the head and tail so the buffer starts on a granule boundary.
    const size_t span = bytes + CK_PAGES_GRANULE;
    char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    const uintptr_t start = ((uintptr_t)raw + CK_PAGES_GRANULE - 1) & ~(uintptr_t)(CK_PAGES_GRANULE - 1);
    char *aligned = (char *)start;
    if (aligned > raw) munmap(raw, (size_t)(aligned - raw));
    const size_t tail = (size_t)(raw + span - (aligned + bytes));
    if (tail > 0) munmap(aligned + bytes, tail);
    if (huge_bytes > 0) madvise(aligned, huge_bytes < bytes ? huge_bytes : bytes, MADV_HUGEPAGE);
    return aligned;
}

void ck_pages_unmap(void *pointer, size_t bytes) { munmap(pointer, bytes); }

int ck_pages_move(void *source, size_t bytes, void *destination) {
    void *moved = mremap(source, bytes, bytes, MREMAP_MAYMOVE | MREMAP_FIXED, destination);
    return moved == MAP_FAILED ? -1 : 0;
}

#else

int ck_pages_supported(void) { return 0; }
void *ck_pages_map(size_t bytes, size_t huge_bytes) {
    (void)bytes;
    (void)huge_bytes;
    return NULL;
}
void ck_pages_unmap(void *pointer, size_t bytes) { (void)pointer; (void)bytes; }
int ck_pages_move(void *source, size_t bytes, void *destination) {
    (void)source; (void)bytes; (void)destination;
    return -1;
}

#endif
