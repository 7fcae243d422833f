// What the shim's files share (not part of the module's interface, which is include/CCUDA.h):
//   shim_library.c  errors, finding and loading the CUDA driver and NVRTC, compiling the kernels
//   shim_device.c   devices (kernels loaded per device), the caching device allocator, copies
//   shim_launch.c   the kernel launches of each pipeline step
#ifndef TOMECUDA_SHIM_INTERNAL_H
#define TOMECUDA_SHIM_INTERNAL_H

#include "CCUDA.h"
#include "cuda_api.h"

#if defined(__unix__) || defined(__APPLE__)
#define TOMECUDA_HAS_DLOPEN 1
#endif

#define SHIM_HIDDEN __attribute__((visibility("hidden")))

// Errors: records the message for tomecuda_last_error (one per thread) and returns `status`.
SHIM_HIDDEN tomecuda_status shim_fail(tomecuda_status status, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
// shim_fail for a failed driver call `what`, with the driver's name and text for `result`.
SHIM_HIDDEN tomecuda_status shim_cuda_fail(CUresult result, const char *what);

#define CHECK_CUDA(call, what)                                                                                       \
    do {                                                                                                             \
        CUresult check_result_ = (call);                                                                             \
        if (check_result_ != CUDA_SUCCESS) return shim_cuda_fail(check_result_, what);                               \
    } while (0)

// The one lock around loading, compiling, device preparation and the allocator's lists.
SHIM_HIDDEN void shim_lock(void);
SHIM_HIDDEN void shim_unlock(void);

// The driver's functions, valid once shim_load_driver_locked has succeeded.
SHIM_HIDDEN extern cuda_driver_api shim_driver;
// Loads the driver and calls cuInit, once. Caller holds the lock.
SHIM_HIDDEN tomecuda_status shim_load_driver_locked(void);
// Compiles the kernels for `arch` into a cubin (malloc'ed into *image unless image is NULL). Caller holds the lock.
SHIM_HIDDEN tomecuda_status shim_compile_locked(const char *arch, char **image, size_t *image_size);

// The kernels of tome_kernels.cu, by index into device_state.kernels and shim_kernel_names.
enum { kernel_normalize, kernel_match128, kernel_match64, kernel_rank_count, kernel_rank_scatter,
       kernel_plan_build, kernel_csr_finish, kernel_merge, kernel_unmerge, kernel_count };
SHIM_HIDDEN extern const char *const shim_kernel_names[kernel_count];

#define MAX_DEVICES 64

// A device once prepared: its primary context, the loaded kernels, the limits the launches size themselves by.
typedef struct {
    int ready;
    CUcontext context;
    CUmodule module;
    CUfunction kernels[kernel_count];
    int multiprocessors, shared_per_block, shared_per_multiprocessor;
    uint64_t scratch;      // tome_match's candidate lists
    size_t scratch_bytes;
} device_state;

// Prepares `device` (once: context, compiled kernels) and makes its context current on this thread.
SHIM_HIDDEN tomecuda_status shim_enter(int device, device_state **state);

#endif
