// CCUDA: the ToMe core's CUDA backend, as a C shim that needs no CUDA at build time.
//
// The CUDA driver (libcuda.so.1) and NVRTC are dlopen'ed on first use; the kernels (tome_kernels.cu, embedded as a
// string) are compiled by NVRTC for the device's compute capability once per process and device. Every function
// returns a tomecuda_status; on failure tomecuda_last_error() holds a message for the calling thread (the CUDA or
// NVRTC error, and the compiler log for a compile error). Nothing here aborts the process.
//
// Device memory is addressed by CUdeviceptr values (uint64_t). Calls on one device are ordered (the default
// stream); tomecuda_synchronize() or a download waits for them and reports any error a kernel raised.
#ifndef CCUDA_H
#define CCUDA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Outcome of a shim call.
typedef enum {
    TOMECUDA_OK = 0,
    /// libcuda.so.1 could not be loaded (no NVIDIA driver), or lacks a needed symbol.
    TOMECUDA_ERROR_DRIVER_NOT_FOUND = 1,
    /// No NVRTC library was found (see tomecuda_nvrtc_search_help()).
    TOMECUDA_ERROR_NVRTC_NOT_FOUND = 2,
    /// The driver loaded but there is no such device.
    TOMECUDA_ERROR_NO_DEVICE = 3,
    /// The device is older than the kernels need (compute capability 8.0).
    TOMECUDA_ERROR_UNSUPPORTED_DEVICE = 4,
    /// NVRTC rejected the kernels; the message holds its log.
    TOMECUDA_ERROR_COMPILE = 5,
    /// A driver call failed (allocation, copy, module load, launch, or a kernel fault found at synchronisation).
    TOMECUDA_ERROR_CUDA = 6,
    /// An argument is outside what the kernels support.
    TOMECUDA_ERROR_INVALID_ARGUMENT = 7,
} tomecuda_status;

/// The message of the last failed call on this thread ("" if none).
const char *tomecuda_last_error(void);

/// The embedded kernel source handed to NVRTC.
const char *tomecuda_kernel_source(void);

/// Where NVRTC is searched, in order, as one human-readable line.
const char *tomecuda_nvrtc_search_help(void);

/// Loads NVRTC and compiles the kernels for `arch` ("sm_80", "sm_90", ...), discarding the result. Needs no GPU.
/// On success `*nvrtc_version` is major * 1000 + minor * 10.
tomecuda_status tomecuda_compile_check(const char *arch, int *nvrtc_version);

/// Number of CUDA devices (loads the driver).
tomecuda_status tomecuda_device_count(int *count);

/// What a device is, and whether the kernels can run on it.
typedef struct {
    char name[256];
    int compute_major;
    int compute_minor;
    int multiprocessors;
    size_t total_memory;
} tomecuda_device_info;

/// Describes device `device` (loads the driver, does not compile).
tomecuda_status tomecuda_get_device_info(int device, tomecuda_device_info *info);

/// Prepares device `device`: primary context, kernels compiled (cached for the process). Every call below
/// prepares its device on first use, so calling this is only needed to surface compile errors early.
tomecuda_status tomecuda_prepare(int device);

/// Device memory from a caching allocator: tomecuda_free returns a block to a per-device cache that later
/// allocations of the same size class reuse; tomecuda_release_cached_memory gives the cached blocks back to CUDA.
tomecuda_status tomecuda_alloc(int device, size_t bytes, uint64_t *pointer);
tomecuda_status tomecuda_free(int device, uint64_t pointer);
tomecuda_status tomecuda_release_cached_memory(int device);
tomecuda_status tomecuda_upload(int device, uint64_t destination, const void *source, size_t bytes);
tomecuda_status tomecuda_download(int device, void *destination, uint64_t source, size_t bytes);
tomecuda_status tomecuda_copy(int device, uint64_t destination, uint64_t source, size_t bytes);
tomecuda_status tomecuda_zero(int device, uint64_t destination, size_t bytes);
tomecuda_status tomecuda_synchronize(int device);

/// The device buffers of one merge plan (all int32 unless noted; B = batch, per-batch arrays laid out [B][...]).
typedef struct {
    int batch, tokens, channels, sources, destinations, r;
    /// Padded channel count of the fp16 copies (a multiple of 64).
    int padded_channels;
    uint64_t slot;               ///< [N] source index (>= 0) or -1 - destination index of each token (host made)
    uint64_t source_tokens;      ///< [Nsrc] token of each source, ascending (host made)
    uint64_t destination_tokens; ///< [Ndst] token of each destination, ascending (host made)
    uint64_t metric_sources;     ///< float [B][Nsrc][C] normalised sources
    uint64_t metric_destinations;///< float [B][Ndst][C] normalised destinations
    uint64_t half_sources;       ///< fp16 [B][Nsrc][padded]
    uint64_t half_destinations;  ///< fp16 [B][Ndst][padded]
    uint64_t bad_row;            ///< [1] lowest b * N + t whose squared norm is NaN/Inf, else INT32_MAX
    uint64_t best_keys;          ///< uint64 [B][Nsrc] (ordered score << 32) | ~best destination
    uint64_t rank_counts;        ///< [B][Nsrc] scratch of the ranking
    uint64_t order;              ///< [B][Nsrc] sources by descending score, ties to the lower index
    uint64_t row_of;             ///< [B][N] row of each token in the merged tensor
    uint64_t unmerged_tokens;    ///< [B][Nsrc - r]
    uint64_t merge_keys;         ///< uint64 [B][Nsrc] destination a merged source joins, 0xffffffff if kept
    uint64_t by_destination;     ///< [B][Nsrc] sources sorted by (merge key, source)
    uint64_t members;            ///< [B][r] tokens of the merged sources, grouped by destination
    uint64_t segment_start;      ///< [B][Ndst]
    uint64_t segment_end;        ///< [B][Ndst]
} tomecuda_plan;

/// Padded channel count of the fp16 metric copies for `channels`.
int tomecuda_padded_channels(int channels);

/// Normalises `metric` ([B][N][C] float) into the plan's metric_* and half_* buffers and sets `bad_row`.
tomecuda_status tomecuda_normalize(int device, const tomecuda_plan *plan, uint64_t metric);
/// Fills best_keys (zeroes it first): each source's best destination.
tomecuda_status tomecuda_match(int device, const tomecuda_plan *plan);
/// Fills order, row_of, unmerged_tokens, merge_keys, by_destination, members and the segments.
tomecuda_status tomecuda_build_plan(int device, const tomecuda_plan *plan);
/// merged [B][N - r][channels] from x [B][N][channels].
tomecuda_status tomecuda_merge(int device, const tomecuda_plan *plan, uint64_t x, int channels, uint64_t merged);
/// restored [B][N][channels] from merged [B][N - r][channels].
tomecuda_status tomecuda_unmerge(int device, const tomecuda_plan *plan, uint64_t merged, int channels,
                                 uint64_t restored);

/// Diagnostics. While profiling is on (this resets the counters), every launch is synchronised and timed;
/// tomecuda_profile_summary() lists the mean wall time per kernel ("tome_match_bm128 250.0 us x3, ...").
void tomecuda_set_profiling(int enabled);
const char *tomecuda_profile_summary(void);
/// Tuning override for tome_match: `rows` 64 or 128 sources per CTA, `splits` destination splits; 0 = automatic.
void tomecuda_set_match_tuning(int rows, int splits);

#ifdef __cplusplus
}
#endif

#endif
