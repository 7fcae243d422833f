// Buffers of whole 2 MiB pages mapped straight from the system, whose pages can later be moved into another buffer
// without copying or zeroing them (Linux mremap). Where the system cannot move pages, ck_pages_supported() is 0 and
// callers allocate with malloc instead.
#ifndef CK_PAGES_H
#define CK_PAGES_H

#include <stddef.h>

/// The granule of these buffers: their sizes are multiples of it and their addresses aligned to it (the x86_64 and
/// arm64 Linux huge page, so the kernel can back them with transparent huge pages).
#define CK_PAGES_GRANULE ((size_t)2 << 20)

/// 1 where pages can be mapped and moved (Linux), else 0.
int ck_pages_supported(void);

/// A new, zero-filled private mapping of `bytes` (a multiple of CK_PAGES_GRANULE), aligned to the granule, whose
/// first `huge_bytes` (a multiple of the granule, at most `bytes`) are marked for transparent huge pages; the rest
/// stays on small pages, so a buffer's partly used last granule is backed only where it is touched. NULL when the
/// system refuses or cannot move pages.
void *ck_pages_map(size_t bytes, size_t huge_bytes);

/// Unmaps `bytes` at `pointer` (a range of a ck_pages_map mapping, granule-aligned).
void ck_pages_unmap(void *pointer, size_t bytes);

/// Moves the pages of `bytes` at `source` to `destination`, replacing what was mapped there; `source` is unmapped.
/// Both granule-aligned ranges of ck_pages_map mappings. Returns 0 on success, -1 when the system refused (then
/// nothing moved).
int ck_pages_move(void *source, size_t bytes, void *destination);

#endif
