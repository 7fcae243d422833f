import TensorCore

extension CommandOption {
    /// `--precision fp32|bf16`, as `unet`, `generate`, `bench unet` and `bench gemm` take it.
    static let precision = CommandOption.value(
        "precision", "fp32|bf16", default: Precision.fp32.rawValue,
        "number format of the linear and convolution weights and products: fp32, or bf16 (bfloat16 weights, half the "
            + "memory; bfloat16 inputs with fp32 sums; fastest on CPUs with AVX512-BF16)")
}

/// Reads the value of `--precision`.
/// - Throws: ``UsageError`` naming the option for anything but fp32 or bf16.
func parsePrecision(_ text: String) throws -> Precision {
    guard let precision = Precision(rawValue: text) else {
        throw UsageError("option --precision expects fp32 or bf16, got '\(text)'")
    }
    return precision
}
