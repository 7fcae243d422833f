import TensorCore

/// Reads `--precision fp32|bf16` (fp32 when absent).
/// - Throws: ``UsageError`` naming the option for any other value.
func parsePrecision(_ text: String?) throws -> Precision {
    guard let text else { return .fp32 }
    guard let precision = Precision(rawValue: text) else {
        throw UsageError("option --precision expects fp32 or bf16, got '\(text)'")
    }
    return precision
}
