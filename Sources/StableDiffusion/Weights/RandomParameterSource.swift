import TensorCore

/// Seeded random parameters drawn the way PyTorch initialises its layers: weights and biases uniform in
/// ±1/√fanIn, normalisation scales 1 and shifts 0. For benchmarks and tests that need no download; the same seed
/// gives the same parameters for the same sequence of requests.
package final class RandomParameterSource: ParameterSource {
    private var state: UInt64

    /// A source seeded with `seed`.
    package init(seed: UInt64) {
        state = seed
    }

    /// A fresh random tensor of `shape` for `role`.
    package func parameter(_ name: String, shape: [Int], role: ParameterRole) -> Tensor {
        var tensor = Tensor(uninitialized: shape)
        let bound: Float
        switch role {
        case .normScale:
            tensor.withUnsafeMutableBufferPointer { $0.update(repeating: 1) }
            return tensor
        case .normShift:
            tensor.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            return tensor
        case .weight(let fanIn), .bias(let fanIn):
            bound = 1 / Float(max(fanIn, 1)).squareRoot()
        }
        // One SplitMix64 stream per chunk of the tensor, seeded from the source's own stream: the values do not
        // depend on how the chunks are spread over threads.
        let seed = Self.splitMix(&state)
        let count = tensor.count
        tensor.withUnsafeMutableBufferPointer { values in
            let base = values.baseAddress!
            let chunks = (count + Self.chunk - 1) / Self.chunk
            ThreadPool.shared.parallelRanges(chunks, grain: 1) { range in
                for chunk in range {
                    var stream = seed ^ (UInt64(chunk) &* 0xD1B5_4A32_D192_ED03)
                    for i in chunk * Self.chunk ..< min(count, (chunk + 1) * Self.chunk) {
                        let unit = Float(Self.splitMix(&stream) >> 40) * (1.0 / Float(1 << 24))  // [0, 1)
                        base[i] = (2 * unit - 1) * bound
                    }
                }
            }
        }
        return tensor
    }

    /// Values drawn from one stream.
    private static let chunk = 1 << 16

    /// Random sources never lack a parameter.
    package func finish() throws {}

    /// The next output of the SplitMix64 generator whose state is `state`.
    private static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
