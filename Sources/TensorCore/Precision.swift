/// The number format weights are stored in and products are computed with.
///
/// `.bf16` stores the weights of linear and convolution layers as bfloat16 (half the memory of fp32) and runs
/// their GEMMs on bfloat16 inputs: activations are rounded to bfloat16 as they are packed, and every sum is
/// accumulated in fp32 (`vdpbf16ps` on CPUs with AVX512-BF16; elsewhere the same sums with fp32 FMA). Everything
/// else — biases, normalisations, softmax, residual additions, schedulers — stays fp32.
public enum Precision: String, CaseIterable, Sendable {
    /// 32-bit floats throughout (the default).
    case fp32
    /// bfloat16 weights and GEMM inputs, fp32 accumulation.
    case bf16
}
