import ToMeCUDA

/// `--device cpu|cuda|cuda:N`, declared once for the commands that take it.
let deviceOption = CommandOption.value("device", "cpu|cuda|cuda:N", default: "cpu",
                                       "where to run: the CPU, or a CUDA GPU (cuda is cuda:0)")

/// The options several commands share, parsed in one place: `--seed` and `--device`.
extension Arguments {
    /// `--seed S` (given, else the command's declared default) as an unsigned 64-bit integer.
    mutating func seed() throws -> UInt64 {
        let text = try required("seed")
        guard let seed = UInt64(text) else {
            throw UsageError("option --seed expects an integer in 0...\(UInt64.max), got '\(text)'")
        }
        return seed
    }

    /// `--device cpu|cuda|cuda:N` (``deviceOption``; `cuda` is `cuda:0`).
    mutating func backend() throws -> Backend {
        let text = try required("device")
        if text == "cpu" { return .cpu }
        if text == "cuda" { return .cuda(device: 0) }
        if text.hasPrefix("cuda:"), let index = Int(text.dropFirst(5)), index >= 0 { return .cuda(device: index) }
        throw UsageError("option --device expects cpu, cuda or cuda:N, got '\(text)'")
    }
}
