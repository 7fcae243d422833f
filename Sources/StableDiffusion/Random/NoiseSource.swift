import TensorCore

/// A source of standard-normal noise: initial latents and the fresh noise ancestral samplers add at each step.
///
/// ``TorchGenerator`` is the one the pipeline uses; tests plug in recorded noise through the same protocol.
public protocol NoiseSource {
    /// A tensor of the given shape filled with independent standard-normal samples (row-major order).
    /// - Throws: when the shape is invalid or the source cannot supply the samples.
    mutating func standardNormal(shape: [Int]) throws -> Tensor
}
