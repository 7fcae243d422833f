// The CUDA shim: dlopen'ed driver and NVRTC, kernels compiled on first use, one C function per pipeline step.
// See include/CCUDA.h for the contract and tome_kernels.cu for the kernels.
#include "CCUDA.h"
#include "cuda_api.h"
#include "tome_kernels_embedded.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__unix__) || defined(__APPLE__)
#include <dlfcn.h>
#include <glob.h>
#include <pthread.h>
#define TOMECUDA_HAS_DLOPEN 1
#endif

// ---------------------------------------------------------------------------------------------------------------
// Errors: one message per thread, grown to fit (compile logs can be long).
// ---------------------------------------------------------------------------------------------------------------

static _Thread_local char *last_error;

const char *tomecuda_last_error(void) { return last_error ? last_error : ""; }

static tomecuda_status fail(tomecuda_status status, const char *format, ...) {
    va_list args;
    va_start(args, format);
    int length = vsnprintf(NULL, 0, format, args);
    va_end(args);
    char *message = malloc((size_t)(length > 0 ? length : 0) + 1);
    if (message) {
        va_start(args, format);
        vsnprintf(message, (size_t)length + 1, format, args);
        va_end(args);
        free(last_error);
        last_error = message;
    }
    return status;
}

const char *tomecuda_kernel_source(void) { return tome_kernels_source; }

// ---------------------------------------------------------------------------------------------------------------
// Library loading
// ---------------------------------------------------------------------------------------------------------------

static cuda_driver_api driver;
static nvrtc_api nvrtc;
static int driver_loaded, nvrtc_loaded;
static char nvrtc_path[4096];

#if TOMECUDA_HAS_DLOPEN
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
#define LOCK() pthread_mutex_lock(&init_lock)
#define UNLOCK() pthread_mutex_unlock(&init_lock)
#else
#define LOCK() ((void)0)
#define UNLOCK() ((void)0)
#endif

const char *tomecuda_nvrtc_search_help(void) {
    return "$TOMESD_NVRTC_PATH (a library file), then libnvrtc.so.13/.12/.11.2 on the loader path, "
           "/usr/local/cuda/lib64, then pip's nvidia/*/lib/libnvrtc.so* under each directory of "
           "$TOMESD_CUDA_LIBRARY_PATH (colon separated: library directories, site-packages, or Python prefixes), "
           "$VIRTUAL_ENV, $CONDA_PREFIX and the parent of each $PATH entry";
}

#if TOMECUDA_HAS_DLOPEN
// Resolves every name of a table of function pointers; returns the first missing name, or NULL.
static const char *resolve(void *library, void **slots, const char *const *names, size_t count) {
    for (size_t i = 0; i < count; ++i) {
        slots[i] = dlsym(library, names[i]);
        if (!slots[i]) return names[i];
    }
    return NULL;
}

// NVRTC dlopens its builtins library (libnvrtc-builtins.so.X.Y) by name at compile time, which the loader
// cannot find in a pip wheel's directory unless it is on the search path; loading the one beside `path` first
// lets that later dlopen match by soname. Best effort: a system install finds its own.
static void preload_nvrtc_builtins(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return;
    char pattern[4096];
    snprintf(pattern, sizeof pattern, "%.*s/libnvrtc-builtins.so*", (int)(slash - path), path);
    glob_t found;
    if (glob(pattern, 0, NULL, &found) == 0) {
        for (size_t i = 0; i < found.gl_pathc; ++i) dlopen(found.gl_pathv[i], RTLD_NOW | RTLD_GLOBAL);
    }
    globfree(&found);
}

// Tries `path` as NVRTC: on success fills `nvrtc` and remembers the path.
static int try_nvrtc(const char *path) {
    preload_nvrtc_builtins(path);
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!library) return 0;
    nvrtc_api table;
    if (resolve(library, (void **)&table, nvrtc_api_names, NVRTC_API_COUNT)) {
        dlclose(library);
        return 0;
    }
    nvrtc = table;
    snprintf(nvrtc_path, sizeof nvrtc_path, "%s", path);
    return 1;
}

// Tries every libnvrtc.so* matching `pattern`, newest name first.
static int try_nvrtc_glob(const char *pattern) {
    glob_t found;
    int ok = 0;
    if (glob(pattern, 0, NULL, &found) == 0) {
        for (size_t i = found.gl_pathc; i-- > 0 && !ok;) ok = try_nvrtc(found.gl_pathv[i]);
    }
    globfree(&found);
    return ok;
}

// Looks for NVRTC under one directory: itself, a site-packages directory, or a Python prefix.
static int try_nvrtc_under(const char *directory, size_t length) {
    static const char *const patterns[] = {
        "%.*s/libnvrtc.so*",
        "%.*s/nvidia/*/lib/libnvrtc.so*",
        "%.*s/lib/python3*/site-packages/nvidia/*/lib/libnvrtc.so*",
        "%.*s/lib/python3*/dist-packages/nvidia/*/lib/libnvrtc.so*",
    };
    char pattern[4096];
    for (size_t i = 0; i < sizeof patterns / sizeof *patterns; ++i) {
        snprintf(pattern, sizeof pattern, patterns[i], (int)length, directory);
        if (try_nvrtc_glob(pattern)) return 1;
    }
    return 0;
}

// Calls try_nvrtc_under on each entry of a colon-separated list; with `parents`, on each entry's parent.
static int try_nvrtc_list(const char *list, int parents) {
    if (!list) return 0;
    while (*list) {
        const char *end = strchr(list, ':');
        size_t length = end ? (size_t)(end - list) : strlen(list);
        size_t use = length;
        if (parents) {
            while (use > 1 && list[use - 1] == '/') --use;
            while (use > 0 && list[use - 1] != '/') --use;
            while (use > 1 && list[use - 1] == '/') --use;
        }
        if (use > 0 && try_nvrtc_under(list, use)) return 1;
        list += length + (end ? 1 : 0);
    }
    return 0;
}
#endif

static tomecuda_status load_nvrtc_locked(void) {
    if (nvrtc_loaded) return TOMECUDA_OK;
#if TOMECUDA_HAS_DLOPEN
    static const char *const names[] = {
        "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so",
        "/usr/local/cuda/lib64/libnvrtc.so", "/usr/local/cuda/lib/libnvrtc.so",
    };
    const char *explicit_path = getenv("TOMESD_NVRTC_PATH");
    if (explicit_path && *explicit_path) {
        if (!try_nvrtc(explicit_path)) {
            const char *reason = dlerror();
            return fail(TOMECUDA_ERROR_NVRTC_NOT_FOUND, "TOMESD_NVRTC_PATH=%s could not be loaded as NVRTC: %s",
                        explicit_path, reason ? reason : "it lacks the NVRTC functions");
        }
        nvrtc_loaded = 1;
        return TOMECUDA_OK;
    }
    int ok = 0;
    for (size_t i = 0; i < sizeof names / sizeof *names && !ok; ++i) ok = try_nvrtc(names[i]);
    ok = ok || try_nvrtc_list(getenv("TOMESD_CUDA_LIBRARY_PATH"), 0) || try_nvrtc_list(getenv("VIRTUAL_ENV"), 0) ||
         try_nvrtc_list(getenv("CONDA_PREFIX"), 0) || try_nvrtc_list(getenv("PATH"), 1);
    if (ok) {
        nvrtc_loaded = 1;
        return TOMECUDA_OK;
    }
#endif
    return fail(TOMECUDA_ERROR_NVRTC_NOT_FOUND, "NVRTC not found; searched %s", tomecuda_nvrtc_search_help());
}

static tomecuda_status load_driver_locked(void) {
    if (driver_loaded) return TOMECUDA_OK;
#if TOMECUDA_HAS_DLOPEN
    void *library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char *reason = dlerror();
        return fail(TOMECUDA_ERROR_DRIVER_NOT_FOUND, "the CUDA driver (libcuda.so.1) could not be loaded: %s",
                    reason ? reason : "unknown reason");
    }
    cuda_driver_api table;
    const char *missing = resolve(library, (void **)&table, cuda_driver_api_names, CUDA_DRIVER_API_COUNT);
    if (missing) {
        dlclose(library);
        return fail(TOMECUDA_ERROR_DRIVER_NOT_FOUND, "the CUDA driver lacks %s (driver too old?)", missing);
    }
    CUresult result = table.cuInit(0);
    if (result != CUDA_SUCCESS) {
        const char *text = NULL;
        table.cuGetErrorString(result, &text);
        return fail(result == CUDA_ERROR_NO_DEVICE ? TOMECUDA_ERROR_NO_DEVICE : TOMECUDA_ERROR_CUDA,
                    "cuInit failed: %s (%d)", text ? text : "unknown error", (int)result);
    }
    driver = table;
    driver_loaded = 1;
    return TOMECUDA_OK;
#else
    return fail(TOMECUDA_ERROR_DRIVER_NOT_FOUND, "the CUDA backend needs dlopen, which this platform lacks");
#endif
}

static tomecuda_status cuda_fail(CUresult result, const char *what) {
    const char *name = NULL, *text = NULL;
    if (driver.cuGetErrorName) driver.cuGetErrorName(result, &name);
    if (driver.cuGetErrorString) driver.cuGetErrorString(result, &text);
    return fail(TOMECUDA_ERROR_CUDA, "%s failed: %s (%s, %d)", what, text ? text : "unknown error",
                name ? name : "?", (int)result);
}

#define CHECK_CUDA(call, what)                                                                                       \
    do {                                                                                                             \
        CUresult check_result_ = (call);                                                                             \
        if (check_result_ != CUDA_SUCCESS) return cuda_fail(check_result_, what);                                    \
    } while (0)

// ---------------------------------------------------------------------------------------------------------------
// Compilation
// ---------------------------------------------------------------------------------------------------------------

// Compiles the kernels for `arch` into a cubin (malloc'ed into *image unless image is NULL). Caller holds the lock.
static tomecuda_status compile_locked(const char *arch, char **image, size_t *image_size) {
    tomecuda_status status = load_nvrtc_locked();
    if (status != TOMECUDA_OK) return status;
    char arch_option[64];
    snprintf(arch_option, sizeof arch_option, "-arch=%s", arch);
    const char *options[] = {arch_option, "--fmad=false", "-std=c++17"};
    nvrtcProgram program = NULL;
    nvrtcResult result = nvrtc.nvrtcCreateProgram(&program, tome_kernels_source, "tome_kernels.cu", 0, NULL, NULL);
    if (result != NVRTC_SUCCESS)
        return fail(TOMECUDA_ERROR_COMPILE, "nvrtcCreateProgram failed: %s", nvrtc.nvrtcGetErrorString(result));
    result = nvrtc.nvrtcCompileProgram(program, (int)(sizeof options / sizeof *options), options);
    if (result != NVRTC_SUCCESS) {
        size_t log_size = 0;
        char *log = NULL;
        if (nvrtc.nvrtcGetProgramLogSize(program, &log_size) == NVRTC_SUCCESS && (log = malloc(log_size + 1))) {
            if (nvrtc.nvrtcGetProgramLog(program, log) != NVRTC_SUCCESS) log[0] = 0;
            log[log_size] = 0;
        }
        status = fail(TOMECUDA_ERROR_COMPILE, "NVRTC (%s) could not compile the kernels for %s: %s\n%s", nvrtc_path,
                      arch, nvrtc.nvrtcGetErrorString(result), log ? log : "(no log)");
        free(log);
        nvrtc.nvrtcDestroyProgram(&program);
        return status;
    }
    if (image) {
        size_t size = 0;
        result = nvrtc.nvrtcGetCUBINSize(program, &size);
        char *bytes = result == NVRTC_SUCCESS ? malloc(size) : NULL;
        if (bytes) result = nvrtc.nvrtcGetCUBIN(program, bytes);
        if (!bytes || result != NVRTC_SUCCESS) {
            free(bytes);
            nvrtc.nvrtcDestroyProgram(&program);
            return fail(TOMECUDA_ERROR_COMPILE, "NVRTC produced no cubin for %s: %s", arch,
                        nvrtc.nvrtcGetErrorString(result));
        }
        *image = bytes;
        *image_size = size;
    }
    nvrtc.nvrtcDestroyProgram(&program);
    return TOMECUDA_OK;
}

tomecuda_status tomecuda_compile_check(const char *arch, int *nvrtc_version) {
    LOCK();
    tomecuda_status status = compile_locked(arch, NULL, NULL);
    if (status == TOMECUDA_OK && nvrtc_version) {
        int major = 0, minor = 0;
        nvrtc.nvrtcVersion(&major, &minor);
        *nvrtc_version = major * 1000 + minor * 10;
    }
    UNLOCK();
    return status;
}

// ---------------------------------------------------------------------------------------------------------------
// Devices
// ---------------------------------------------------------------------------------------------------------------

enum { kernel_normalize, kernel_match128, kernel_match64, kernel_rank_count, kernel_rank_scatter,
       kernel_plan_build, kernel_csr_finish, kernel_merge, kernel_unmerge, kernel_count };
static const char *const kernel_names[kernel_count] = {
    "tome_normalize", "tome_match_bm128", "tome_match_bm64", "tome_rank_count", "tome_rank_scatter",
    "tome_plan_build", "tome_csr_finish", "tome_merge", "tome_unmerge",
};

#define MAX_DEVICES 64

typedef struct {
    int ready;
    CUcontext context;
    CUmodule module;
    CUfunction kernels[kernel_count];
    int multiprocessors, shared_per_block, shared_per_multiprocessor;
    uint64_t scratch;      // tome_match's candidate lists
    size_t scratch_bytes;
} device_state;

static device_state devices[MAX_DEVICES];

tomecuda_status tomecuda_device_count(int *count) {
    LOCK();
    tomecuda_status status = load_driver_locked();
    if (status == TOMECUDA_OK) {
        CUresult result = driver.cuDeviceGetCount(count);
        if (result != CUDA_SUCCESS) status = cuda_fail(result, "cuDeviceGetCount");
    } else if (status == TOMECUDA_ERROR_NO_DEVICE) {
        *count = 0;
        status = TOMECUDA_OK;
    }
    UNLOCK();
    return status;
}

static tomecuda_status device_handle_locked(int device, CUdevice *handle) {
    tomecuda_status status = load_driver_locked();
    if (status != TOMECUDA_OK) return status;
    int count = 0;
    CHECK_CUDA(driver.cuDeviceGetCount(&count), "cuDeviceGetCount");
    if (device < 0 || device >= count || device >= MAX_DEVICES)
        return fail(TOMECUDA_ERROR_NO_DEVICE, "no CUDA device %d (%d device%s present)", device, count,
                    count == 1 ? "" : "s");
    CHECK_CUDA(driver.cuDeviceGet(handle, device), "cuDeviceGet");
    return TOMECUDA_OK;
}

tomecuda_status tomecuda_get_device_info(int device, tomecuda_device_info *info) {
    LOCK();
    CUdevice handle;
    tomecuda_status status = device_handle_locked(device, &handle);
    if (status == TOMECUDA_OK) {
        memset(info, 0, sizeof *info);
        CUresult result = driver.cuDeviceGetName(info->name, (int)sizeof info->name, handle);
        if (result == CUDA_SUCCESS)
            result = driver.cuDeviceGetAttribute(&info->compute_major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                                                 handle);
        if (result == CUDA_SUCCESS)
            result = driver.cuDeviceGetAttribute(&info->compute_minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                                                 handle);
        if (result == CUDA_SUCCESS)
            result = driver.cuDeviceGetAttribute(&info->multiprocessors, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
                                                 handle);
        if (result == CUDA_SUCCESS) result = driver.cuDeviceTotalMem_v2(&info->total_memory, handle);
        if (result != CUDA_SUCCESS) status = cuda_fail(result, "querying the device");
    }
    UNLOCK();
    return status;
}

static tomecuda_status prepare_locked(int device) {
    CUdevice handle;
    tomecuda_status status = device_handle_locked(device, &handle);
    if (status != TOMECUDA_OK) return status;
    device_state *state = &devices[device];
    if (state->ready) return TOMECUDA_OK;
    int major = 0, minor = 0;
    CHECK_CUDA(driver.cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, handle), "query");
    CHECK_CUDA(driver.cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, handle), "query");
    if (major < 8)
        return fail(TOMECUDA_ERROR_UNSUPPORTED_DEVICE,
                    "CUDA device %d has compute capability %d.%d; the ToMe kernels need 8.0 or newer", device, major,
                    minor);
    CHECK_CUDA(driver.cuDeviceGetAttribute(&state->multiprocessors, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, handle),
               "query");
    CHECK_CUDA(driver.cuDeviceGetAttribute(&state->shared_per_block,
                                           CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, handle),
               "query");
    CHECK_CUDA(driver.cuDeviceGetAttribute(&state->shared_per_multiprocessor,
                                           CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR, handle),
               "query");
    if (!state->context) CHECK_CUDA(driver.cuDevicePrimaryCtxRetain(&state->context, handle), "cuDevicePrimaryCtxRetain");
    CHECK_CUDA(driver.cuCtxSetCurrent(state->context), "cuCtxSetCurrent");

    char arch[32];
    snprintf(arch, sizeof arch, "sm_%d%d", major, minor);
    char *image = NULL;
    size_t image_size = 0;
    status = compile_locked(arch, &image, &image_size);
    if (status != TOMECUDA_OK) return status;
    CUresult result = driver.cuModuleLoadData(&state->module, image);
    free(image);
    if (result != CUDA_SUCCESS) return cuda_fail(result, "loading the compiled kernels (cuModuleLoadData)");
    for (int k = 0; k < kernel_count; ++k) {
        result = driver.cuModuleGetFunction(&state->kernels[k], state->module, kernel_names[k]);
        if (result != CUDA_SUCCESS) return cuda_fail(result, kernel_names[k]);
    }
    CHECK_CUDA(driver.cuFuncSetAttribute(state->kernels[kernel_match128],
                                         CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, state->shared_per_block),
               "cuFuncSetAttribute");
    CHECK_CUDA(driver.cuFuncSetAttribute(state->kernels[kernel_match64],
                                         CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, state->shared_per_block),
               "cuFuncSetAttribute");
    // All of the unified L1 as shared memory, so two matching CTAs fit on a multiprocessor.
    CHECK_CUDA(driver.cuFuncSetAttribute(state->kernels[kernel_match128],
                                         CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, 100),
               "cuFuncSetAttribute");
    CHECK_CUDA(driver.cuFuncSetAttribute(state->kernels[kernel_match64],
                                         CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, 100),
               "cuFuncSetAttribute");
    state->ready = 1;
    return TOMECUDA_OK;
}

// Prepares `device` and makes its context current on this thread.
static tomecuda_status enter(int device, device_state **state) {
    LOCK();
    tomecuda_status status = prepare_locked(device);
    UNLOCK();
    if (status != TOMECUDA_OK) return status;
    *state = &devices[device];
    CHECK_CUDA(driver.cuCtxSetCurrent((*state)->context), "cuCtxSetCurrent");
    return TOMECUDA_OK;
}

tomecuda_status tomecuda_prepare(int device) {
    device_state *state;
    return enter(device, &state);
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
    tomecuda_status status = enter(device, &state);
    if (status != TOMECUDA_OK) return status;
    const size_t rounded = size_class(bytes);
    LOCK();
    cached_block **link = &free_blocks[device];
    while (*link && (*link)->bytes != rounded) link = &(*link)->next;
    cached_block *block = *link;
    if (block) *link = block->next;
    UNLOCK();
    if (!block) {
        block = malloc(sizeof *block);
        if (!block) return fail(TOMECUDA_ERROR_CUDA, "out of host memory");
        block->bytes = rounded;
        CUresult result = driver.cuMemAlloc_v2(&block->address, rounded);
        if (result != CUDA_SUCCESS) {
            free(block);
            cuda_fail(result, "cuMemAlloc");
            return fail(TOMECUDA_ERROR_CUDA, "allocating %zu bytes on CUDA device %d: %s", bytes, device,
                        tomecuda_last_error());
        }
    }
    LOCK();
    block->next = live_blocks[device];
    live_blocks[device] = block;
    UNLOCK();
    *pointer = block->address;
    return TOMECUDA_OK;
}

tomecuda_status tomecuda_free(int device, uint64_t pointer) {
    if (device < 0 || device >= MAX_DEVICES) return fail(TOMECUDA_ERROR_NO_DEVICE, "no CUDA device %d", device);
    LOCK();
    cached_block **link = &live_blocks[device];
    while (*link && (*link)->address != pointer) link = &(*link)->next;
    cached_block *block = *link;
    if (block) {
        *link = block->next;
        block->next = free_blocks[device];
        free_blocks[device] = block;
    }
    UNLOCK();
    if (!block) return fail(TOMECUDA_ERROR_INVALID_ARGUMENT, "0x%llx was not allocated on CUDA device %d",
                            (unsigned long long)pointer, device);
    return TOMECUDA_OK;
}

tomecuda_status tomecuda_release_cached_memory(int device) {
    device_state *state;
    tomecuda_status status = enter(device, &state);
    if (status != TOMECUDA_OK) return status;
    LOCK();
    cached_block *block = free_blocks[device];
    free_blocks[device] = NULL;
    UNLOCK();
    CUresult first_error = CUDA_SUCCESS;
    while (block) {
        cached_block *next = block->next;
        CUresult result = driver.cuMemFree_v2(block->address);
        if (first_error == CUDA_SUCCESS) first_error = result;
        free(block);
        block = next;
    }
    if (first_error != CUDA_SUCCESS) return cuda_fail(first_error, "cuMemFree");
    return TOMECUDA_OK;
}

tomecuda_status tomecuda_upload(int device, uint64_t destination, const void *source, size_t bytes) {
    device_state *state;
    tomecuda_status status = enter(device, &state);
    if (status != TOMECUDA_OK) return status;
    if (bytes) CHECK_CUDA(driver.cuMemcpyHtoD_v2(destination, source, bytes), "upload (cuMemcpyHtoD)");
    return TOMECUDA_OK;
}

tomecuda_status tomecuda_download(int device, void *destination, uint64_t source, size_t bytes) {
    device_state *state;
    tomecuda_status status = enter(device, &state);
    if (status != TOMECUDA_OK) return status;
    if (bytes) CHECK_CUDA(driver.cuMemcpyDtoH_v2(destination, source, bytes), "download (cuMemcpyDtoH)");
    return TOMECUDA_OK;
}

tomecuda_status tomecuda_copy(int device, uint64_t destination, uint64_t source, size_t bytes) {
    device_state *state;
    tomecuda_status status = enter(device, &state);
    if (status != TOMECUDA_OK) return status;
    if (bytes) CHECK_CUDA(driver.cuMemcpyDtoD_v2(destination, source, bytes), "device copy (cuMemcpyDtoD)");
    return TOMECUDA_OK;
}

tomecuda_status tomecuda_zero(int device, uint64_t destination, size_t bytes) {
    device_state *state;
    tomecuda_status status = enter(device, &state);
    if (status != TOMECUDA_OK) return status;
    if (bytes) CHECK_CUDA(driver.cuMemsetD8_v2(destination, 0, bytes), "cuMemsetD8");
    return TOMECUDA_OK;
}

tomecuda_status tomecuda_synchronize(int device) {
    device_state *state;
    tomecuda_status status = enter(device, &state);
    if (status != TOMECUDA_OK) return status;
    CHECK_CUDA(driver.cuCtxSynchronize(), "running the ToMe kernels (cuCtxSynchronize)");
    return TOMECUDA_OK;
}

// ---------------------------------------------------------------------------------------------------------------
// Kernel launches
// ---------------------------------------------------------------------------------------------------------------

// Diagnostics: per-kernel wall time (each launch synchronised) while profiling is on, and tuning overrides.
static int profiling, tuning_rows, tuning_splits;
static double profile_seconds[kernel_count];
static long profile_calls[kernel_count];
static char profile_text[2048];

static double now_seconds(void) {
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return (double)time.tv_sec + (double)time.tv_nsec * 1e-9;
}

void tomecuda_set_profiling(int enabled) {
    profiling = enabled;
    memset(profile_seconds, 0, sizeof profile_seconds);
    memset(profile_calls, 0, sizeof profile_calls);
}

const char *tomecuda_profile_summary(void) {
    size_t used = 0;
    profile_text[0] = 0;
    for (int k = 0; k < kernel_count && used < sizeof profile_text; ++k) {
        if (!profile_calls[k]) continue;
        used += (size_t)snprintf(profile_text + used, sizeof profile_text - used, "%s%s %.1f us x%ld",
                                 used ? ", " : "", kernel_names[k], profile_seconds[k] * 1e6 / profile_calls[k],
                                 profile_calls[k]);
    }
    return profile_text;
}

void tomecuda_set_match_tuning(int rows, int splits) {
    tuning_rows = rows;
    tuning_splits = splits;
}

static tomecuda_status launch(device_state *state, int kernel, unsigned grid_x, unsigned grid_y, unsigned grid_z,
                              unsigned threads, unsigned shared_bytes, void **arguments) {
    if (grid_x == 0 || grid_y == 0 || grid_z == 0) return TOMECUDA_OK;
    double start = 0;
    if (profiling) {
        CHECK_CUDA(driver.cuCtxSynchronize(), "cuCtxSynchronize");
        start = now_seconds();
    }
    CUresult result = driver.cuLaunchKernel(state->kernels[kernel], grid_x, grid_y, grid_z, threads, 1, 1,
                                            shared_bytes, NULL, arguments, NULL);
    if (result != CUDA_SUCCESS) return cuda_fail(result, kernel_names[kernel]);
    if (profiling) {
        CHECK_CUDA(driver.cuCtxSynchronize(), kernel_names[kernel]);
        profile_seconds[kernel] += now_seconds() - start;
        profile_calls[kernel] += 1;
    }
    return TOMECUDA_OK;
}

static unsigned blocks(long long count, long long per_block) { return (unsigned)((count + per_block - 1) / per_block); }

int tomecuda_padded_channels(int channels) { return (channels + 63) / 64 * 64; }

static tomecuda_status check_plan(const tomecuda_plan *plan) {
    if (plan->batch < 1 || plan->sources < 1 || plan->destinations < 1 || plan->channels < 1 || plan->r < 0 ||
        plan->r > plan->sources || plan->tokens != plan->sources + plan->destinations ||
        plan->padded_channels != tomecuda_padded_channels(plan->channels))
        return fail(TOMECUDA_ERROR_INVALID_ARGUMENT,
                    "inconsistent plan: batch %d, tokens %d, channels %d (padded %d), sources %d, destinations %d, "
                    "r %d",
                    plan->batch, plan->tokens, plan->channels, plan->padded_channels, plan->sources,
                    plan->destinations, plan->r);
    if (plan->sources >= (1 << 24) || plan->destinations >= (1 << 24) || plan->batch > 65535)
        return fail(TOMECUDA_ERROR_INVALID_ARGUMENT,
                    "%d sources, %d destinations, batch %d: the CUDA kernels support fewer than 2^24 sources and "
                    "destinations and at most 65535 batch elements",
                    plan->sources, plan->destinations, plan->batch);
    return TOMECUDA_OK;
}

tomecuda_status tomecuda_normalize(int device, const tomecuda_plan *plan, uint64_t metric) {
    device_state *state;
    tomecuda_status status = check_plan(plan);
    if (status == TOMECUDA_OK) status = enter(device, &state);
    if (status != TOMECUDA_OK) return status;
    int tokens = plan->tokens, channels = plan->channels, padded = plan->padded_channels;
    int sources = plan->sources, destinations = plan->destinations;
    CUdeviceptr x = metric;
    void *arguments[] = {&x, &tokens, &channels, &padded, (void *)&plan->slot, &sources, &destinations,
                         (void *)&plan->metric_sources, (void *)&plan->metric_destinations,
                         (void *)&plan->half_sources, (void *)&plan->half_destinations, (void *)&plan->bad_row};
    CHECK_CUDA(driver.cuMemsetD32_v2(plan->bad_row, 0x7fffffffu, 1), "cuMemsetD32");
    return launch(state, kernel_normalize, blocks(tokens, 16), (unsigned)plan->batch, 1, 256, 0, arguments);
}

// tome_match's constants and shared-memory layout (tome_kernels.cu: MATCH_*, match_body), and the length of each
// CTA's candidate list (entries of 8 bytes) in the device's scratch buffer.
enum { match_bn = 128, match_bk = 32, match_stages = 3, match_candidates_per_row = 32 };

static size_t match_shared_bytes(int bm, int padded) {
    return (size_t)bm * padded * 2 + (size_t)match_stages * match_bn * match_bk * 2 + (size_t)bm * 4 +
           (size_t)bm * 8 + 16;
}

// Makes the device's scratch buffer at least `bytes` long (grown, never shrunk; waits for running kernels before
// replacing it).
static tomecuda_status reserve_scratch(int device, device_state *state, size_t bytes) {
    if (state->scratch_bytes >= bytes) return TOMECUDA_OK;
    if (state->scratch) {
        CHECK_CUDA(driver.cuCtxSynchronize(), "cuCtxSynchronize");
        tomecuda_status status = tomecuda_free(device, state->scratch);
        if (status != TOMECUDA_OK) return status;
        state->scratch = 0;
        state->scratch_bytes = 0;
    }
    tomecuda_status status = tomecuda_alloc(device, bytes, &state->scratch);
    if (status == TOMECUDA_OK) state->scratch_bytes = bytes;
    return status;
}

// The bound on |fp16 tensor-core score - exact fp32 score| for unit vectors of `channels` elements:
// fp16 rounding of both operands (unit roundoff u = 2^-11, subnormal spacing 2^-24 -> absolute 2^-25 per element,
// which sums to at most 2^-25 * sqrt(C) per vector), fp32 accumulation on the tensor cores ((C + 1) * 2^-23,
// allowing truncation), and the exact path's own rounding (C * 2^-24), all with a 25% margin.
static float match_eps(int channels) {
    const double u = 1.0 / 2048.0, eta = 1.0 / 33554432.0;
    int root = 1;  // ceil(sqrt(channels)), which bounds the L1 norm of a unit vector
    while (root * root < channels) ++root;
    double bound = 2.0 * u + u * u + 2.0 * eta * 1.0001 * root + (channels + 1.0) / 8388608.0 +
                   channels / 16777216.0;
    return (float)(1.25 * bound);
}

tomecuda_status tomecuda_match(int device, const tomecuda_plan *plan) {
    device_state *state;
    tomecuda_status status = check_plan(plan);
    if (status == TOMECUDA_OK) status = enter(device, &state);
    if (status != TOMECUDA_OK) return status;

    // 128 sources per CTA when two CTAs fit on a multiprocessor, else 64.
    int bm = 128, padded = plan->padded_channels;
    size_t shared = match_shared_bytes(128, padded);
    int per_sm = 2;
    if (tuning_rows == 64 || 2 * (shared + 1024) > (size_t)state->shared_per_multiprocessor ||
        shared > (size_t)state->shared_per_block) {
        bm = 64;
        shared = match_shared_bytes(64, padded);
        if (shared > (size_t)state->shared_per_block)
            return fail(TOMECUDA_ERROR_INVALID_ARGUMENT,
                        "%d metric channels need %zu bytes of shared memory per block; the device allows %d",
                        plan->channels, shared, state->shared_per_block);
        per_sm = 2 * (shared + 1024) <= (size_t)state->shared_per_multiprocessor ? 2 : 1;
    }
    // Split the destination tiles over CTAs to fill the device: the split with the fewest tile-rounds,
    // counting the resident-source load as half a tile.
    long long row_blocks = (long long)blocks(plan->sources, bm) * plan->batch;
    int tiles = (int)blocks(plan->destinations, match_bn);
    long long slots = (long long)state->multiprocessors * per_sm;
    int splits = 1;
    double best_cost = 0;
    for (int s = 1; s <= tiles; ++s) {
        double cost = (double)((row_blocks * s + slots - 1) / slots) * ((tiles + s - 1) / s + 0.5);
        if (s == 1 || cost < best_cost) {
            best_cost = cost;
            splits = s;
        }
    }

    if (tuning_splits > 0) splits = tuning_splits < tiles ? tuning_splits : tiles;
    int sources = plan->sources, destinations = plan->destinations, channels = plan->channels;
    int capacity = match_candidates_per_row * bm;
    status = reserve_scratch(device, state, (size_t)row_blocks * splits * capacity * 8);
    if (status != TOMECUDA_OK) return status;
    float window = 2.0f * match_eps(channels);
    void *arguments[] = {(void *)&plan->half_sources, (void *)&plan->half_destinations, (void *)&plan->metric_sources,
                         (void *)&plan->metric_destinations, &sources, &destinations, &channels, &padded, &window,
                         &state->scratch, &capacity, (void *)&plan->best_keys};
    CHECK_CUDA(driver.cuMemsetD8_v2(plan->best_keys, 0, (size_t)plan->batch * plan->sources * 8), "cuMemsetD8");
    return launch(state, bm == 128 ? kernel_match128 : kernel_match64, blocks(plan->sources, bm), (unsigned)splits,
                  (unsigned)plan->batch, 256, (unsigned)shared, arguments);
}

// Ranks `count` 32-bit keys per batch ((keys >> shift) ^ flip, ties to the lower index) into permutation, using
// `counts` ([batch][count] int32) as scratch.
static tomecuda_status rank(device_state *state, int batch, uint64_t keys, int count, int shift, unsigned flip,
                            uint64_t counts, uint64_t permutation) {
    CHECK_CUDA(driver.cuMemsetD8_v2(counts, 0, (size_t)batch * count * sizeof(int)), "cuMemsetD8");
    void *count_arguments[] = {&keys, &count, &shift, &flip, &counts};
    tomecuda_status status = launch(state, kernel_rank_count, blocks(count, 1024), blocks(count, 256),
                                    (unsigned)batch, 256, 0, count_arguments);
    if (status != TOMECUDA_OK) return status;
    void *scatter_arguments[] = {&counts, &count, &permutation};
    return launch(state, kernel_rank_scatter, blocks(count, 256), (unsigned)batch, 1, 256, 0, scatter_arguments);
}

tomecuda_status tomecuda_build_plan(int device, const tomecuda_plan *plan) {
    device_state *state;
    tomecuda_status status = check_plan(plan);
    if (status == TOMECUDA_OK) status = enter(device, &state);
    if (status != TOMECUDA_OK) return status;
    int tokens = plan->tokens, sources = plan->sources, destinations = plan->destinations, r = plan->r;
    // Sources by descending score: the high word of the best key, flipped.
    status = rank(state, plan->batch, plan->best_keys, sources, 32, 0xffffffffu, plan->rank_counts, plan->order);
    if (status != TOMECUDA_OK) return status;
    void *build_arguments[] = {(void *)&plan->best_keys, (void *)&plan->order, (void *)&plan->source_tokens,
                               (void *)&plan->destination_tokens, &tokens, &sources, &destinations, &r,
                               (void *)&plan->row_of, (void *)&plan->unmerged_tokens, (void *)&plan->merge_keys};
    int widest = sources > destinations ? sources : destinations;
    status = launch(state, kernel_plan_build, blocks(widest, 256), (unsigned)plan->batch, 1, 256, 0, build_arguments);
    if (status != TOMECUDA_OK) return status;
    // The merged sources grouped by destination, ascending source inside a group (empty segments stay [0, 0)).
    size_t segment_bytes = (size_t)plan->batch * destinations * sizeof(int);
    CHECK_CUDA(driver.cuMemsetD8_v2(plan->segment_start, 0, segment_bytes), "cuMemsetD8");
    CHECK_CUDA(driver.cuMemsetD8_v2(plan->segment_end, 0, segment_bytes), "cuMemsetD8");
    if (r == 0) return TOMECUDA_OK;
    status = rank(state, plan->batch, plan->merge_keys, sources, 0, 0, plan->rank_counts, plan->by_destination);
    if (status != TOMECUDA_OK) return status;
    void *csr_arguments[] = {(void *)&plan->merge_keys, (void *)&plan->by_destination, (void *)&plan->source_tokens,
                             &sources, &destinations, &r, (void *)&plan->members, (void *)&plan->segment_start,
                             (void *)&plan->segment_end};
    return launch(state, kernel_csr_finish, blocks(r, 256), (unsigned)plan->batch, 1, 256, 0, csr_arguments);
}

tomecuda_status tomecuda_merge(int device, const tomecuda_plan *plan, uint64_t x, int channels, uint64_t merged) {
    device_state *state;
    tomecuda_status status = check_plan(plan);
    if (status == TOMECUDA_OK) status = enter(device, &state);
    if (status != TOMECUDA_OK) return status;
    if (channels < 1) return fail(TOMECUDA_ERROR_INVALID_ARGUMENT, "merge: %d channels", channels);
    int tokens = plan->tokens, sources = plan->sources, destinations = plan->destinations, r = plan->r;
    void *arguments[] = {&x, &tokens, &channels, &sources, &destinations, &r, (void *)&plan->unmerged_tokens,
                         (void *)&plan->destination_tokens, (void *)&plan->members, (void *)&plan->segment_start,
                         (void *)&plan->segment_end, &merged};
    return launch(state, kernel_merge, blocks(tokens - r, 8), (unsigned)plan->batch, 1, 256, 0, arguments);
}

tomecuda_status tomecuda_unmerge(int device, const tomecuda_plan *plan, uint64_t merged, int channels,
                                 uint64_t restored) {
    device_state *state;
    tomecuda_status status = check_plan(plan);
    if (status == TOMECUDA_OK) status = enter(device, &state);
    if (status != TOMECUDA_OK) return status;
    if (channels < 1) return fail(TOMECUDA_ERROR_INVALID_ARGUMENT, "unmerge: %d channels", channels);
    int tokens = plan->tokens, merged_tokens = plan->tokens - plan->r;
    void *arguments[] = {&merged, &tokens, &channels, &merged_tokens, (void *)&plan->row_of, &restored};
    return launch(state, kernel_unmerge, blocks(tokens, 8), (unsigned)plan->batch, 1, 256, 0, arguments);
}
