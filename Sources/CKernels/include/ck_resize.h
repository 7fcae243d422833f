// Resizing an NHWC feature map to another height and width, with PyTorch's CPU semantics for
// `F.interpolate(mode=...)` (align_corners=False, antialias=False, output size given) and for
// `F.avg_pool2d` / `F.max_pool2d` (kernel = stride, no padding). Token Downsampling (ToDo) resizes a transformer
// block's token grid with these before the keys and values of self-attention.
//
// Each axis is described by "taps": for every output position, `taps` input indices and weights. The separable
// methods (every one here) then compute out[y][x][c] = sum over (i, j) of wy[i] * wx[j] * in[iy[i]][ix[j]][c], or
// the maximum for max pooling. No allocation and no threading here: callers split the output rows.
#ifndef CK_RESIZE_H
#define CK_RESIZE_H

#include <stddef.h>
#include <stdint.h>

/// The resize methods, named as PyTorch names them.
enum {
    CK_RESIZE_NEAREST = 0,        ///< interpolate "nearest": src = floor(dst * in / out)
    CK_RESIZE_NEAREST_EXACT = 1,  ///< interpolate "nearest-exact": src = floor((dst + 0.5) * in / out)
    CK_RESIZE_BILINEAR = 2,       ///< interpolate "bilinear", half-pixel centres, clamped at 0
    CK_RESIZE_BICUBIC = 3,        ///< interpolate "bicubic", A = -0.75, indices clamped to the border
    CK_RESIZE_AREA = 4,           ///< interpolate "area" (adaptive average pooling)
    CK_RESIZE_AVG_POOL = 5,       ///< avg_pool2d with kernel = stride = `kernel`
    CK_RESIZE_MAX_POOL = 6,       ///< max_pool2d with kernel = stride = `kernel`
};

/// Taps per output position of one axis of `in` -> `out` positions (`kernel` is the pooling kernel, used by the
/// pooling methods only). 0 for an unknown method or sizes below 1.
ptrdiff_t ck_resize_tap_count(int method, ptrdiff_t in, ptrdiff_t out, ptrdiff_t kernel);

/// Fills `index[out * taps]` and `weight[out * taps]` for one axis (`taps` from ck_resize_tap_count). Unused taps
/// of a position (area) repeat a valid index with weight 0.
void ck_resize_taps(int method, ptrdiff_t in, ptrdiff_t out, ptrdiff_t kernel, ptrdiff_t taps, int64_t *index,
                    float *weight);

/// Output rows [row_begin, row_end) of the flattened (batch * out_h) rows of `dst` ([batch, out_h, out_w, channels])
/// from `src` ([batch, in_h, in_w, channels]) with the axis taps of ck_resize_taps; the maximum of the taps when
/// `take_max` is non-zero, their weighted sum otherwise.
void ck_resize_rows(const float *src, float *dst, ptrdiff_t in_h, ptrdiff_t in_w, ptrdiff_t out_h, ptrdiff_t out_w,
                    ptrdiff_t channels, ptrdiff_t row_begin, ptrdiff_t row_end, ptrdiff_t taps_h,
                    const int64_t *index_h, const float *weight_h, ptrdiff_t taps_w, const int64_t *index_w,
                    const float *weight_w, int take_max);

#endif
