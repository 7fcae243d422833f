// The CUDA shim, part 1: errors, finding and dlopening the CUDA driver and NVRTC, compiling the kernels.
// See include/CCUDA.h for the contract, shim_internal.h for how the shim's files fit, tome_kernels.cu for the kernels.
#include "shim_internal.h"
#include "tome_kernels_embedded.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if TOMECUDA_HAS_DLOPEN
#include <dlfcn.h>
#include <glob.h>
#include <pthread.h>
#endif

// ---------------------------------------------------------------------------------------------------------------
// Errors: one message per thread, grown to fit (compile logs can be long).
// ---------------------------------------------------------------------------------------------------------------

static _Thread_local char *last_error;

const char *tomecuda_last_error(void) { return last_error ? last_error : ""; }

tomecuda_status shim_fail(tomecuda_status status, const char *format, ...) {
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

cuda_driver_api shim_driver;
static nvrtc_api nvrtc;
static int driver_loaded, nvrtc_loaded;
static char nvrtc_path[4096];

#if TOMECUDA_HAS_DLOPEN
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
void shim_lock(void) { pthread_mutex_lock(&init_lock); }
void shim_unlock(void) { pthread_mutex_unlock(&init_lock); }
#else
void shim_lock(void) {}
void shim_unlock(void) {}
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
            return shim_fail(TOMECUDA_ERROR_NVRTC_NOT_FOUND, "TOMESD_NVRTC_PATH=%s could not be loaded as NVRTC: %s",
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
    return shim_fail(TOMECUDA_ERROR_NVRTC_NOT_FOUND, "NVRTC not found; searched %s", tomecuda_nvrtc_search_help());
}

tomecuda_status shim_load_driver_locked(void) {
    if (driver_loaded) return TOMECUDA_OK;
#if TOMECUDA_HAS_DLOPEN
    void *library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char *reason = dlerror();
        return shim_fail(TOMECUDA_ERROR_DRIVER_NOT_FOUND, "the CUDA driver (libcuda.so.1) could not be loaded: %s",
                    reason ? reason : "unknown reason");
    }
    cuda_driver_api table;
    const char *missing = resolve(library, (void **)&table, cuda_driver_api_names, CUDA_DRIVER_API_COUNT);
    if (missing) {
        dlclose(library);
        return shim_fail(TOMECUDA_ERROR_DRIVER_NOT_FOUND, "the CUDA driver lacks %s (driver too old?)", missing);
    }
    CUresult result = table.cuInit(0);
    if (result != CUDA_SUCCESS) {
        const char *text = NULL;
        table.cuGetErrorString(result, &text);
        return shim_fail(result == CUDA_ERROR_NO_DEVICE ? TOMECUDA_ERROR_NO_DEVICE : TOMECUDA_ERROR_CUDA,
                    "cuInit failed: %s (%d)", text ? text : "unknown error", (int)result);
    }
    shim_driver = table;
    driver_loaded = 1;
    return TOMECUDA_OK;
#else
    return shim_fail(TOMECUDA_ERROR_DRIVER_NOT_FOUND, "the CUDA backend needs dlopen, which this platform lacks");
#endif
}

tomecuda_status shim_cuda_fail(CUresult result, const char *what) {
    const char *name = NULL, *text = NULL;
    if (shim_driver.cuGetErrorName) shim_driver.cuGetErrorName(result, &name);
    if (shim_driver.cuGetErrorString) shim_driver.cuGetErrorString(result, &text);
    return shim_fail(TOMECUDA_ERROR_CUDA, "%s failed: %s (%s, %d)", what, text ? text : "unknown error",
                name ? name : "?", (int)result);
}


// ---------------------------------------------------------------------------------------------------------------
// Compilation
// ---------------------------------------------------------------------------------------------------------------

tomecuda_status shim_compile_locked(const char *arch, char **image, size_t *image_size) {
    tomecuda_status status = load_nvrtc_locked();
    if (status != TOMECUDA_OK) return status;
    char arch_option[64];
    snprintf(arch_option, sizeof arch_option, "-arch=%s", arch);
    const char *options[] = {arch_option, "--fmad=false", "-std=c++17"};
    nvrtcProgram program = NULL;
    nvrtcResult result = nvrtc.nvrtcCreateProgram(&program, tome_kernels_source, "tome_kernels.cu", 0, NULL, NULL);
    if (result != NVRTC_SUCCESS)
        return shim_fail(TOMECUDA_ERROR_COMPILE, "nvrtcCreateProgram failed: %s", nvrtc.nvrtcGetErrorString(result));
    result = nvrtc.nvrtcCompileProgram(program, (int)(sizeof options / sizeof *options), options);
    if (result != NVRTC_SUCCESS) {
        size_t log_size = 0;
        char *log = NULL;
        if (nvrtc.nvrtcGetProgramLogSize(program, &log_size) == NVRTC_SUCCESS && (log = malloc(log_size + 1))) {
            if (nvrtc.nvrtcGetProgramLog(program, log) != NVRTC_SUCCESS) log[0] = 0;
            log[log_size] = 0;
        }
        status = shim_fail(TOMECUDA_ERROR_COMPILE, "NVRTC (%s) could not compile the kernels for %s: %s\n%s", nvrtc_path,
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
            return shim_fail(TOMECUDA_ERROR_COMPILE, "NVRTC produced no cubin for %s: %s", arch,
                        nvrtc.nvrtcGetErrorString(result));
        }
        *image = bytes;
        *image_size = size;
    }
    nvrtc.nvrtcDestroyProgram(&program);
    return TOMECUDA_OK;
}

tomecuda_status tomecuda_compile_check(const char *arch, int *nvrtc_version) {
    shim_lock();
    tomecuda_status status = shim_compile_locked(arch, NULL, NULL);
    if (status == TOMECUDA_OK && nvrtc_version) {
        int major = 0, minor = 0;
        nvrtc.nvrtcVersion(&major, &minor);
        *nvrtc_version = major * 1000 + minor * 10;
    }
    shim_unlock();
    return status;
}
