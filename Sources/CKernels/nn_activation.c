// Element-wise activations and sums: SiLU, GELU, GEGLU, add.
#include "ck_nn.h"
#include "nn_internal.h"

CK_INLINE void silu_body(const float *x, float *y, ptrdiff_t count) {
    for (ptrdiff_t i = 0; i < count; i++) y[i] = ck_silu_f(x[i]);
}
CK_VARIANTS(silu, silu_body, (const float *x, float *y, ptrdiff_t count), (x, y, count))

void ck_nn_silu(const float *x, float *y, ptrdiff_t count) { silu_pick()(x, y, count); }

CK_INLINE void gelu_body(const float *x, float *y, ptrdiff_t count) {
    for (ptrdiff_t i = 0; i < count; i++) y[i] = ck_gelu_f(x[i]);
}
CK_VARIANTS(gelu, gelu_body, (const float *x, float *y, ptrdiff_t count), (x, y, count))

void ck_nn_gelu(const float *x, float *y, ptrdiff_t count) { gelu_pick()(x, y, count); }

CK_INLINE void geglu_body(const float *x, ptrdiff_t ldx, ptrdiff_t rows, ptrdiff_t width, const float *value_bias,
                          const float *gate_bias, float *y, ptrdiff_t ldy) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *value = x + r * ldx, *gate = value + width;
        float *out = y + r * ldy;
        // One 16-lane vector per step and no interleaving: a fused GEMM gates rows of only 16 values.
        if (value_bias) {
#pragma clang loop vectorize_width(16) interleave_count(1)
            for (ptrdiff_t i = 0; i < width; i++) out[i] = (value[i] + value_bias[i]) * ck_gelu_f(gate[i] + gate_bias[i]);
        } else {
#pragma clang loop vectorize_width(16) interleave_count(1)
            for (ptrdiff_t i = 0; i < width; i++) out[i] = value[i] * ck_gelu_f(gate[i]);
        }
    }
}
CK_VARIANTS(geglu, geglu_body,
            (const float *x, ptrdiff_t ldx, ptrdiff_t rows, ptrdiff_t width, const float *value_bias,
             const float *gate_bias, float *y, ptrdiff_t ldy),
            (x, ldx, rows, width, value_bias, gate_bias, y, ldy))

void ck_nn_geglu(const float *x, ptrdiff_t ldx, ptrdiff_t rows, ptrdiff_t width, const float *value_bias,
                 const float *gate_bias, float *y, ptrdiff_t ldy) {
    geglu_pick()(x, ldx, rows, width, value_bias, gate_bias, y, ldy);
}

CK_INLINE void add_body(const float *a, const float *b, float *y, ptrdiff_t count) {
    for (ptrdiff_t i = 0; i < count; i++) y[i] = a[i] + b[i];
}
CK_VARIANTS(add, add_body, (const float *a, const float *b, float *y, ptrdiff_t count), (a, b, y, count))

void ck_nn_add(const float *a, const float *b, float *y, ptrdiff_t count) { add_pick()(a, b, y, count); }
