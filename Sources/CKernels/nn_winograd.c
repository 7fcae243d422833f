// The transforms of Winograd's minimal filtering (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
// 2016) in two forms, both with 2x2 output tiles: a stride-1 convolution computes each 2x2 block of output pixels (a
// tile) from the n x n input patch around it as Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A, n² products per channel pair
// instead of 4 k². Over channels, the element-wise product of component (a, b) is a GEMM, so a convolution becomes n²
// GEMMs between transformed patches V_ab = (Bᵀ d B)[a][b] and transformed weights U_ab (made once at load), and a
// sum of their results M_ab:
// - F(2x2, 3x3), n = 4, 16 products instead of 36:
//   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  Aᵀ = [1 1 1 0; 0 1 -1 -1],  G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1].
// - F(2x2, 2x2), n = 3, 9 products instead of 16 (the phases of a convolution of an upsampled map):
//   Bᵀ = [1 -1 0; 0 1 0; 0 -1 1],  Aᵀ = [1 1 0; 0 1 1],  G = [1 0; 1 1; 0 1].
// Every coefficient of Bᵀ and Aᵀ is 0 or ±1, so both transforms are additions, and each is exact up to the rounding
// of its sums (the same on every ISA).
#include "ck_nn.h"
#include "nn_internal.h"

/// One form: n, the two non-zero columns of each row of Bᵀ with their signs (a row with one non-zero names it
/// twice, the second time with sign 0), and Aᵀ.
typedef struct {
    int n;
    int input_index[4][2];
    float input_sign[4][2];
    float output_coefficient[2][4];
} winograd_form;

static const winograd_form forms[2] = {
    {3, {{0, 1}, {1, 1}, {1, 2}}, {{1, -1}, {1, 0}, {-1, 1}}, {{1, 1, 0}, {0, 1, 1}}},
    {4, {{0, 2}, {1, 2}, {1, 2}, {1, 3}}, {{1, -1}, {1, 1}, {-1, 1}, {1, -1}}, {{1, 1, 1, 0}, {0, 1, -1, -1}}},
};

/// The form of a `kernel_size` x `kernel_size` kernel (2 or 3).
CK_INLINE const winograd_form *form_for(int kernel_size) { return &forms[kernel_size == 2 ? 0 : 1]; }

CK_INLINE void input_body(const float *window, ptrdiff_t row_stride, ptrdiff_t tile_rows, ptrdiff_t tile_columns,
                          ptrdiff_t channels, int kernel_size, int component, float *v) {
    const winograd_form *f = form_for(kernel_size);
    const int a = component / f->n, b = component % f->n;
    const ptrdiff_t r0 = f->input_index[a][0] * row_stride, r1 = f->input_index[a][1] * row_stride;
    const ptrdiff_t c0 = f->input_index[b][0] * channels, c1 = f->input_index[b][1] * channels;
    const float sr0 = f->input_sign[a][0], sr1 = f->input_sign[a][1];
    const float sc0 = f->input_sign[b][0], sc1 = f->input_sign[b][1];
    for (ptrdiff_t i = 0; i < tile_rows; i++) {
        for (ptrdiff_t j = 0; j < tile_columns; j++) {
            const float *patch = window + 2 * i * row_stride + 2 * j * channels;
            float *out = v + (i * tile_columns + j) * channels;
            for (ptrdiff_t c = 0; c < channels; c++) {
                const float left = sr0 * patch[r0 + c0 + c] + sr1 * patch[r1 + c0 + c];
                const float right = sr0 * patch[r0 + c1 + c] + sr1 * patch[r1 + c1 + c];
                out[c] = sc0 * left + sc1 * right;
            }
        }
    }
}
CK_VARIANTS(input, input_body,
            (const float *window, ptrdiff_t row_stride, ptrdiff_t tile_rows, ptrdiff_t tile_columns, ptrdiff_t channels,
             int kernel_size, int component, float *v),
            (window, row_stride, tile_rows, tile_columns, channels, kernel_size, component, v))

void ck_nn_winograd_input(const float *window, ptrdiff_t row_stride, ptrdiff_t tile_rows, ptrdiff_t tile_columns,
                          ptrdiff_t channels, int kernel_size, int component, float *v) {
    input_pick()(window, row_stride, tile_rows, tile_columns, channels, kernel_size, component, v);
}

CK_INLINE void accumulate_body(const float *m, ptrdiff_t tiles, ptrdiff_t channels, int kernel_size, int component,
                               float *y) {
    const winograd_form *f = form_for(kernel_size);
    const int a = component / f->n, b = component % f->n;
    for (int output = 0; output < 4; output++) {
        const float coefficient = f->output_coefficient[output / 2][a] * f->output_coefficient[output % 2][b];
        if (coefficient == 0) continue;
        float *plane = y + output * tiles * channels;
        for (ptrdiff_t i = 0; i < tiles * channels; i++) plane[i] += coefficient * m[i];
    }
}
CK_VARIANTS(accumulate, accumulate_body,
            (const float *m, ptrdiff_t tiles, ptrdiff_t channels, int kernel_size, int component, float *y),
            (m, tiles, channels, kernel_size, component, y))

void ck_nn_winograd_accumulate(const float *m, ptrdiff_t tiles, ptrdiff_t channels, int kernel_size, int component,
                               float *y) {
    accumulate_pick()(m, tiles, channels, kernel_size, component, y);
}

CK_INLINE void store_body(const float *y, ptrdiff_t tile_rows, ptrdiff_t tile_columns, ptrdiff_t channels,
                          const float *bias, const float *image_bias, const float *residual, float *out,
                          ptrdiff_t out_row_stride, ptrdiff_t out_pixel_stride, ptrdiff_t rows, ptrdiff_t columns) {
    const ptrdiff_t tiles = tile_rows * tile_columns;
    for (ptrdiff_t row = 0; row < rows; row++) {
        for (ptrdiff_t column = 0; column < columns; column++) {
            const float *sum = y + ((row % 2) * 2 + column % 2) * tiles * channels
                                 + ((row / 2) * tile_columns + column / 2) * channels;
            const ptrdiff_t offset = row * out_row_stride + column * out_pixel_stride;
            float *pixel = out + offset;
            const float *skip = residual ? residual + offset : 0;
            // Each addend in turn, rounded as the separate additions would be.
            if (image_bias && skip) {
                for (ptrdiff_t c = 0; c < channels; c++) pixel[c] = sum[c] + bias[c] + image_bias[c] + skip[c];
            } else if (image_bias) {
                for (ptrdiff_t c = 0; c < channels; c++) pixel[c] = sum[c] + bias[c] + image_bias[c];
            } else if (skip) {
                for (ptrdiff_t c = 0; c < channels; c++) pixel[c] = sum[c] + bias[c] + skip[c];
            } else {
                for (ptrdiff_t c = 0; c < channels; c++) pixel[c] = sum[c] + bias[c];
            }
        }
    }
}
CK_VARIANTS(store, store_body,
            (const float *y, ptrdiff_t tile_rows, ptrdiff_t tile_columns, ptrdiff_t channels, const float *bias,
             const float *image_bias, const float *residual, float *out, ptrdiff_t out_row_stride,
             ptrdiff_t out_pixel_stride, ptrdiff_t rows, ptrdiff_t columns),
            (y, tile_rows, tile_columns, channels, bias, image_bias, residual, out, out_row_stride, out_pixel_stride,
             rows, columns))

void ck_nn_winograd_store(const float *y, ptrdiff_t tile_rows, ptrdiff_t tile_columns, ptrdiff_t channels,
                          const float *bias, const float *image_bias, const float *residual, float *out,
                          ptrdiff_t out_row_stride, ptrdiff_t out_pixel_stride, ptrdiff_t rows, ptrdiff_t columns) {
    store_pick()(y, tile_rows, tile_columns, channels, bias, image_bias, residual, out, out_row_stride,
                 out_pixel_stride, rows, columns);
}
