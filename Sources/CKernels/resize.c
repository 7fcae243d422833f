// Resize kernels: see ck_resize.h. The index and weight rules are PyTorch's (aten/src/ATen/native/UpSample.h and
// UpSampleKernel.cpp, AdaptiveAveragePooling.cpp), computed in float as PyTorch computes them for float tensors.
// One portable variant: the work is a few multiply-adds per output value over contiguous channels, which the
// compiler vectorises at every instruction-set level; it is O(tokens), negligible beside attention.
#include "ck_resize.h"

#include <math.h>

static ptrdiff_t area_start(ptrdiff_t i, ptrdiff_t in, ptrdiff_t out) { return (i * in) / out; }
static ptrdiff_t area_end(ptrdiff_t i, ptrdiff_t in, ptrdiff_t out) { return ((i + 1) * in + out - 1) / out; }

ptrdiff_t ck_resize_tap_count(int method, ptrdiff_t in, ptrdiff_t out, ptrdiff_t kernel) {
    if (in < 1 || out < 1) return 0;
    switch (method) {
    case CK_RESIZE_NEAREST:
    case CK_RESIZE_NEAREST_EXACT: return 1;
    case CK_RESIZE_BILINEAR: return 2;
    case CK_RESIZE_BICUBIC: return 4;
    case CK_RESIZE_AREA: {
        ptrdiff_t widest = 1;
        for (ptrdiff_t i = 0; i < out; i++) {
            ptrdiff_t span = area_end(i, in, out) - area_start(i, in, out);
            if (span > widest) widest = span;
        }
        return widest;
    }
    case CK_RESIZE_AVG_POOL:
    case CK_RESIZE_MAX_POOL: return kernel >= 1 ? kernel : 0;
    default: return 0;
    }
}

static ptrdiff_t clamp_index(ptrdiff_t i, ptrdiff_t in) { return i < 0 ? 0 : (i > in - 1 ? in - 1 : i); }

// PyTorch's cubic_convolution1 / cubic_convolution2 with A = -0.75.
static float cubic1(float x, float a) { return ((a + 2) * x - (a + 3)) * x * x + 1; }
static float cubic2(float x, float a) { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a; }

void ck_resize_taps(int method, ptrdiff_t in, ptrdiff_t out, ptrdiff_t kernel, ptrdiff_t taps, int64_t *index,
                    float *weight) {
    // area_pixel_compute_scale with align_corners=False and no scale factor given: in / out, in float.
    const float scale = (float)in / (float)out;
    for (ptrdiff_t i = 0; i < out; i++) {
        int64_t *ix = index + i * taps;
        float *w = weight + i * taps;
        switch (method) {
        case CK_RESIZE_NEAREST: {
            // nearest_idx: identity for equal sizes, halving for exact doubling, else floor(dst * scale).
            ptrdiff_t src = in == out ? i : (out == 2 * in ? i >> 1 : (ptrdiff_t)floorf((float)i * scale));
            ix[0] = clamp_index(src, in);
            w[0] = 1;
            break;
        }
        case CK_RESIZE_NEAREST_EXACT: {
            // nearest_neighbor_exact_compute_source_index: floorf((dst + 0.5) * scale), the product in double.
            ptrdiff_t src = (ptrdiff_t)floorf((float)(((double)i + 0.5) * (double)scale));
            ix[0] = clamp_index(src, in);
            w[0] = 1;
            break;
        }
        case CK_RESIZE_BILINEAR: {
            if (in == out) {
                ix[0] = ix[1] = i;
                w[0] = 1;
                w[1] = 0;
                break;
            }
            float real = scale * ((float)i + 0.5f) - 0.5f;
            if (real < 0) real = 0;
            ptrdiff_t i0 = (ptrdiff_t)floorf(real);
            if (i0 > in - 1) i0 = in - 1;
            float lambda1 = real - (float)i0;
            lambda1 = lambda1 < 0 ? 0 : (lambda1 > 1 ? 1 : lambda1);
            ix[0] = i0;
            ix[1] = i0 + (i0 < in - 1 ? 1 : 0);
            w[0] = 1 - lambda1;
            w[1] = lambda1;
            break;
        }
        case CK_RESIZE_BICUBIC: {
            const float a = -0.75f;
            float real = scale * ((float)i + 0.5f) - 0.5f;
            ptrdiff_t i0 = (ptrdiff_t)floorf(real);
            float t = real - (float)i0;
            for (int k = 0; k < 4; k++) ix[k] = clamp_index(i0 - 1 + k, in);
            w[0] = cubic2(t + 1, a);
            w[1] = cubic1(t, a);
            w[2] = cubic1(1 - t, a);
            w[3] = cubic2(2 - t, a);
            break;
        }
        case CK_RESIZE_AREA: {
            ptrdiff_t start = area_start(i, in, out), end = area_end(i, in, out);
            for (ptrdiff_t k = 0; k < taps; k++) {
                ix[k] = start + k < end ? start + k : start;
                w[k] = start + k < end ? 1.0f / (float)(end - start) : 0;
            }
            break;
        }
        case CK_RESIZE_AVG_POOL:
        case CK_RESIZE_MAX_POOL:
            for (ptrdiff_t k = 0; k < taps; k++) {
                ix[k] = clamp_index(i * kernel + k, in);
                w[k] = 1.0f / (float)kernel;
            }
            break;
        default:
            for (ptrdiff_t k = 0; k < taps; k++) {
                ix[k] = 0;
                w[k] = 0;
            }
        }
    }
}

void ck_resize_rows(const float *src, float *dst, ptrdiff_t in_h, ptrdiff_t in_w, ptrdiff_t out_h, ptrdiff_t out_w,
                    ptrdiff_t channels, ptrdiff_t row_begin, ptrdiff_t row_end, ptrdiff_t taps_h,
                    const int64_t *index_h, const float *weight_h, ptrdiff_t taps_w, const int64_t *index_w,
                    const float *weight_w, int take_max) {
    for (ptrdiff_t row = row_begin; row < row_end; row++) {
        ptrdiff_t b = row / out_h, y = row % out_h;
        const float *image = src + b * in_h * in_w * channels;
        for (ptrdiff_t x = 0; x < out_w; x++) {
            float *o = dst + (row * out_w + x) * channels;
            for (ptrdiff_t c = 0; c < channels; c++) o[c] = take_max ? -INFINITY : 0;
            for (ptrdiff_t i = 0; i < taps_h; i++) {
                const float wy = weight_h[y * taps_h + i];
                const float *line = image + index_h[y * taps_h + i] * in_w * channels;
                for (ptrdiff_t j = 0; j < taps_w; j++) {
                    const float *p = line + index_w[x * taps_w + j] * channels;
                    if (take_max) {
                        for (ptrdiff_t c = 0; c < channels; c++) o[c] = (p[c] > o[c] || p[c] != p[c]) ? p[c] : o[c];
                    } else {
                        const float wyx = wy * weight_w[x * taps_w + j];
                        for (ptrdiff_t c = 0; c < channels; c++) o[c] += wyx * p[c];
                    }
                }
            }
        }
    }
}
