import Foundation
import TensorCore

/// diffusers' sinusoidal `Timesteps` projection (`get_timestep_embedding` with `max_period` 10000, `scale` 1),
/// computed in single precision step by step as PyTorch does.
struct Timesteps {
    /// Size of each embedding.
    let dim: Int
    /// Cosines first when true.
    let flipSinToCos: Bool
    /// `downscale_freq_shift`.
    let frequencyShift: Float

    /// `[values.count, dim]`: for each value t and i < dim/2, sin(t·fᵢ) and cos(t·fᵢ) with
    /// fᵢ = exp(-ln(10000)·i / (dim/2 - shift)); a zero column is appended for odd `dim`.
    func callAsFunction(_ values: [Float]) -> Tensor {
        let half = dim / 2
        let frequencies = (0..<half).map { i -> Float in
            Foundation.exp(Float(-Foundation.log(10000.0)) * Float(i) / (Float(half) - frequencyShift))
        }
        var embedding = Tensor(zeros: [values.count, dim])
        embedding.withUnsafeMutableBufferPointer { out in
            for (row, t) in values.enumerated() {
                for (i, frequency) in frequencies.enumerated() {
                    let angle = t * frequency
                    let (first, second) = flipSinToCos ? (Foundation.cos(angle), Foundation.sin(angle))
                        : (Foundation.sin(angle), Foundation.cos(angle))
                    out[row * dim + i] = first
                    out[row * dim + half + i] = second
                }
            }
        }
        return embedding
    }
}
