import ToMeCUDA

/// The options several commands share, parsed in one place: `--seed` and `--device`.
extension Arguments {
    /// `--seed S` as an unsigned 64-bit integer, if given.
    mutating func seed() throws -> UInt64? {
        guard let text = string("seed") else { return nil }
        guard let seed = UInt64(text) else {
            throw UsageError("option --seed expects an integer in 0...\(UInt64.max), got '\(text)'")
        }
        return seed
    }

    /// `--device cpu|cuda|cuda:N` (default `cpu`; `cuda` is `cuda:0`).
    mutating func backend() throws -> Backend {
        guard let text = string("device") else { return .cpu }
        if text == "cpu" { return .cpu }
        if text == "cuda" { return .cuda(device: 0) }
        if text.hasPrefix("cuda:"), let index = Int(text.dropFirst(5)), index >= 0 { return .cuda(device: index) }
        throw UsageError("option --device expects cpu, cuda or cuda:N, got '\(text)'")
    }
}
