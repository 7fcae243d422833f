// The CUDA shim, part 2: devices (a context and the compiled kernels per device), the caching device allocator
// and copies. See shim_internal.h.
#include "shim_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------------------------------------------
// Devices
// ---------------------------------------------------------------------------------------------------------------

const char *const shim_kernel_names[kernel_count] = {
    "tome_normalize", "tome_match_bm128", "tome_match_bm64", "tome_rank_count", "tome_rank_scatter",
    "tome_plan_build", "tome_csr_finish", "tome_merge", "tome_unmerge",
};

static device_state devices[MAX_DEVICES];

tomecuda_status tomecuda_device_count(int *count) {
    shim_lock();
    tomecuda_status status = shim_load_driver_locked();
    if (status == TOMECUDA_OK) {
        CUresult result = shim_driver.cuDeviceGetCount(count);
        if (result != CUDA_SUCCESS) status = shim_cuda_fail(result, "cuDeviceGetCount");
    } else if (status == TOMECUDA_ERROR_NO_DEVICE) {
        *count = 0;
        status = TOMECUDA_OK;
    }
    shim_unlock();
    return status;
}

static tomecuda_status device_handle_locked(int device, CUdevice *handle) {
    tomecuda_status status = shim_load_driver_locked();
    if (status != TOMECUDA_OK) return status;
    int count = 0;
    CHECK_CUDA(shim_driver.cuDeviceGetCount(&count), "cuDeviceGetCount");
    if (device < 0 || device >= count || device >= MAX_DEVICES)
        return shim_fail(TOMECUDA_ERROR_NO_DEVICE, "no CUDA device %d (%d device%s present)", device, count,
                    count == 1 ? "" : "s");
    CHECK_CUDA(shim_driver.cuDeviceGet(handle, device), "cuDeviceGet");
    return TOMECUDA_OK;
}

tomecuda_status tomecuda_get_device_info(int device, tomecuda_device_info *info) {
    shim_lock();
    CUdevice handle;
    tomecuda_status status = device_handle_locked(device, &handle);
    if (status == TOMECUDA_OK) {
        memset(info, 0, sizeof *info);
        CUresult result = shim_driver.cuDeviceGetName(info->name, (int)sizeof info->name, handle);
        if (result == CUDA_SUCCESS)
            result = shim_driver.cuDeviceGetAttribute(&info->compute_major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                                                 handle);
        if (result == CUDA_SUCCESS)
            result = shim_driver.cuDeviceGetAttribute(&info->compute_minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                                                 handle);
        if (result == CUDA_SUCCESS)
            result = shim_driver.cuDeviceGetAttribute(&info->multiprocessors, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
                                                 handle);
        if (result == CUDA_SUCCESS) result = shim_driver.cuDeviceTotalMem_v2(&info->total_memory, handle);
        if (result != CUDA_SUCCESS) status = shim_cuda_fail(result, "querying the device");
    }
    shim_unlock();
    return status;
}

static tomecuda_status prepare_locked(int device) {
    CUdevice handle;
    tomecuda_status status = device_handle_locked(device, &handle);
    if (status != TOMECUDA_OK) return status;
    device_state *state = &devices[device];
    if (state->ready) return TOMECUDA_OK;
    int major = 0, minor = 0;
    CHECK_CUDA(shim_driver.cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, handle), "query");
    CHECK_CUDA(shim_driver.cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, handle), "query");
    if (major < 8)
        return shim_fail(TOMECUDA_ERROR_UNSUPPORTED_DEVICE,
                    "CUDA device %d has compute capability %d.%d; the ToMe kernels need 8.0 or newer", device, major,
                    minor);
    CHECK_CUDA(shim_driver.cuDeviceGetAttribute(&state->multiprocessors, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, handle),
               "query");
    CHECK_CUDA(shim_driver.cuDeviceGetAttribute(&state->shared_per_block,
                                           CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, handle),
               "query");
    CHECK_CUDA(shim_driver.cuDeviceGetAttribute(&state->shared_per_multiprocessor,
                                           CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR, handle),
               "query");
    if (!state->context) CHECK_CUDA(shim_driver.cuDevicePrimaryCtxRetain(&state->context, handle), "cuDevicePrimaryCtxRetain");
    CHECK_CUDA(shim_driver.cuCtxSetCurrent(state->context), "cuCtxSetCurrent");

    char arch[32];
    snprintf(arch, sizeof arch, "sm_%d%d", major, minor);
    char *image = NULL;
    size_t image_size = 0;
    status = shim_compile_locked(arch, &image, &image_size);
    if (status != TOMECUDA_OK) return status;
    CUresult result = shim_driver.cuModuleLoadData(&state->module, image);
    free(image);
    if (result != CUDA_SUCCESS) return shim_cuda_fail(result, "loading the compiled kernels (cuModuleLoadData)");
    for (int k = 0; k < kernel_count; ++k) {
        result = shim_driver.cuModuleGetFunction(&state->kernels[k], state->module, shim_kernel_names[k]);
        if (result != CUDA_SUCCESS) return shim_cuda_fail(result, shim_kernel_names[k]);
    }
    CHECK_CUDA(shim_driver.cuFuncSetAttribute(state->kernels[kernel_match128],
                                         CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, state->shared_per_block),
               "cuFuncSetAttribute");
    CHECK_CUDA(shim_driver.cuFuncSetAttribute(state->kernels[kernel_match64],
                                         CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, state->shared_per_block),
               "cuFuncSetAttribute");
    // All of the unified L1 as shared memory, so two matching CTAs fit on a multiprocessor.
    CHECK_CUDA(shim_driver.cuFuncSetAttribute(state->kernels[kernel_match128],
                                         CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, 100),
               "cuFuncSetAttribute");
    CHECK_CUDA(shim_driver.cuFuncSetAttribute(state->kernels[kernel_match64],
                                         CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, 100),
               "cuFuncSetAttribute");
    state->ready = 1;
    return TOMECUDA_OK;
}

tomecuda_status shim_enter(int device, device_state **state) {
    shim_lock();
    tomecuda_status status = prepare_locked(device);
    shim_unlock();
    if (status != TOMECUDA_OK) return status;
    *state = &devices[device];
    CHECK_CUDA(shim_driver.cuCtxSetCurrent((*state)->context), "cuCtxSetCurrent");
    return TOMECUDA_OK;
}

tomecuda_status tomecuda_prepare(int device) {
    device_state *state;
    return shim_enter(device, &state);
}

// ---------------------------------------------------------------------------------------------------------------
// Memory: a caching allocator, as PyTorch's. Freed blocks wait in a per-device list and are handed out again for a
// request of the same size class, so steady-state merging allocates nothing (cuMemAlloc / cuMemFree cost tens of
// microseconds and cuMemFree may synchronise). All work runs on one stream, so reuse needs no event.
// ---------------------------------------------------------------------------------------------------------------

typedef struct cached_block {
    CUdeviceptr address;
    size_t bytes;
    struct cached_block *next;
} cached_block;

static cached_block *free_blocks[MAX_DEVICES];   // cached, unused
static cached_block *live_blocks[MAX_DEVICES];   // handed out (to find a block's size class on free)

// Size classes: multiples of 512 bytes up to 1 MiB, then of 2 MiB.
static size_t size_class(size_t bytes) {
    const size_t small = 512, large = (size_t)2 << 20;
    if (bytes == 0) bytes = 1;
    return bytes <= ((size_t)1 << 20) ? (bytes + small - 1) / small * small : (bytes + large - 1) / large * large;
}

tomecuda_status tomecuda_alloc(int device, size_t bytes, uint64_t *pointer) {
    device_state *state;
    tomecuda_status status = shim_enter(device, &state);
    if (status != TOMECUDA_OK) return status;
    const size_t rounded = size_class(bytes);
    shim_lock();
    cached_block **link = &free_blocks[device];
    while (*link && (*link)->bytes != rounded) link = &(*link)->next;
    cached_block *block = *link;
    if (block) *link = block->next;
    shim_unlock();
    if (!block) {
        block = malloc(sizeof *block);
        if (!block) return shim_fail(TOMECUDA_ERROR_CUDA, "out of host memory");
        block->bytes = rounded;
        CUresult result = shim_driver.cuMemAlloc_v2(&block->address, rounded);
        if (result != CUDA_SUCCESS) {
            free(block);
            shim_cuda_fail(result, "cuMemAlloc");
            return shim_fail(TOMECUDA_ERROR_CUDA, "allocating %zu bytes on CUDA device %d: %s", bytes, device,
                        tomecuda_last_error());
        }
    }
    shim_lock();
    block->next = live_blocks[device];
    live_blocks[device] = block;
    shim_unlock();
    *pointer = block->address;
    return TOMECUDA_OK;
}

tomecuda_status tomecuda_free(int device, uint64_t pointer) {
    if (device < 0 || device >= MAX_DEVICES) return shim_fail(TOMECUDA_ERROR_NO_DEVICE, "no CUDA device %d", device);
    shim_lock();
    cached_block **link = &live_blocks[device];
    while (*link && (*link)->address != pointer) link = &(*link)->next;
    cached_block *block = *link;
    if (block) {
        *link = block->next;
        block->next = free_blocks[device];
        free_blocks[device] = block;
    }
    shim_unlock();
    if (!block) return shim_fail(TOMECUDA_ERROR_INVALID_ARGUMENT, "0x%llx was not allocated on CUDA device %d",
                            (unsigned long long)pointer, device);
    return TOMECUDA_OK;
}

tomecuda_status tomecuda_release_cached_memory(int device) {
    device_state *state;
    tomecuda_status status = shim_enter(device, &state);
    if (status != TOMECUDA_OK) return status;
    shim_lock();
    cached_block *block = free_blocks[device];
    free_blocks[device] = NULL;
    shim_unlock();
    CUresult first_error = CUDA_SUCCESS;
    while (block) {
        cached_block *next = block->next;
        CUresult result = shim_driver.cuMemFree_v2(block->address);
        if (first_error == CUDA_SUCCESS) first_error = result;
        free(block);
        block = next;
    }
    if (first_error != CUDA_SUCCESS) return shim_cuda_fail(first_error, "cuMemFree");
    return TOMECUDA_OK;
}

tomecuda_status tomecuda_upload(int device, uint64_t destination, const void *source, size_t bytes) {
    device_state *state;
    tomecuda_status status = shim_enter(device, &state);
    if (status != TOMECUDA_OK) return status;
    if (bytes) CHECK_CUDA(shim_driver.cuMemcpyHtoD_v2(destination, source, bytes), "upload (cuMemcpyHtoD)");
    return TOMECUDA_OK;
}

tomecuda_status tomecuda_download(int device, void *destination, uint64_t source, size_t bytes) {
    device_state *state;
    tomecuda_status status = shim_enter(device, &state);
    if (status != TOMECUDA_OK) return status;
    if (bytes) CHECK_CUDA(shim_driver.cuMemcpyDtoH_v2(destination, source, bytes), "download (cuMemcpyDtoH)");
    return TOMECUDA_OK;
}

tomecuda_status tomecuda_copy(int device, uint64_t destination, uint64_t source, size_t bytes) {
    device_state *state;
    tomecuda_status status = shim_enter(device, &state);
    if (status != TOMECUDA_OK) return status;
    if (bytes) CHECK_CUDA(shim_driver.cuMemcpyDtoD_v2(destination, source, bytes), "device copy (cuMemcpyDtoD)");
    return TOMECUDA_OK;
}

tomecuda_status tomecuda_zero(int device, uint64_t destination, size_t bytes) {
    device_state *state;
    tomecuda_status status = shim_enter(device, &state);
    if (status != TOMECUDA_OK) return status;
    if (bytes) CHECK_CUDA(shim_driver.cuMemsetD8_v2(destination, 0, bytes), "cuMemsetD8");
    return TOMECUDA_OK;
}

tomecuda_status tomecuda_synchronize(int device) {
    device_state *state;
    tomecuda_status status = shim_enter(device, &state);
    if (status != TOMECUDA_OK) return status;
    CHECK_CUDA(shim_driver.cuCtxSynchronize(), "running the ToMe kernels (cuCtxSynchronize)");
    return TOMECUDA_OK;
}
