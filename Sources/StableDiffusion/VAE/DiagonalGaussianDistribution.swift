import Foundation
import TensorCore

/// diffusers' `DiagonalGaussianDistribution`: what the VAE encoder says about an image's latents, a normal
/// distribution per latent value with its own mean and variance.
///
/// Tensors are NCHW (`[B, latent_channels, h, w]`), diffusers' layout, so that ``sample(using:)`` draws its noise in
/// the same order as diffusers does from the same generator.
public struct DiagonalGaussianDistribution: Sendable {
    /// The mean of each latent (`latent_dist.mean`; also ``mode()``).
    public let mean: Tensor
    /// The log-variance of each latent, clamped to [-30, 20] as diffusers does (`latent_dist.logvar`).
    public let logVariance: Tensor
    /// The standard deviation of each latent, `exp(0.5 · logvar)` (`latent_dist.std`).
    public let standardDeviation: Tensor

    /// The distribution described by the encoder's output `parameters` (`[B, 2 · latent_channels, h, w]`, NCHW):
    /// the first half of the channels are the means, the second half the log-variances.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` unless `parameters` is rank 4 with an even channel count.
    public init(parameters: Tensor) throws {
        guard parameters.rank == 4, parameters.shape[1] % 2 == 0, parameters.shape[1] > 0 else {
            throw TensorError.shapeMismatch("latent distribution: expected [B, 2·C, h, w] parameters, got \(parameters.shape)")
        }
        let (batch, channels, plane) = (parameters.shape[0], parameters.shape[1] / 2, parameters.shape[2] * parameters.shape[3])
        let shape = [batch, channels, parameters.shape[2], parameters.shape[3]]
        var mean = Tensor(uninitialized: shape), logVariance = Tensor(uninitialized: shape)
        parameters.withUnsafeBufferPointer { source in
            mean.withUnsafeMutableBufferPointer { means in
                logVariance.withUnsafeMutableBufferPointer { logs in
                    for item in 0..<batch {
                        let half = channels * plane, from = item * 2 * half, to = item * half
                        for i in 0..<half {
                            means[to + i] = source[from + i]
                            logs[to + i] = min(max(source[from + half + i], -30), 20)
                        }
                    }
                }
            }
        }
        self.mean = mean
        self.logVariance = logVariance
        standardDeviation = Elementwise.map(logVariance) { Foundation.exp(0.5 * $0) }
    }

    /// The most likely latents: the mean (`latent_dist.mode()`).
    public func mode() -> Tensor { mean }

    /// A sample, `mean + std · ε` with ε drawn from `generator` in one call of the mean's shape
    /// (`latent_dist.sample(generator)`).
    /// - Throws: whatever the generator throws.
    public func sample<Noise: NoiseSource>(using generator: inout Noise) throws -> Tensor {
        let epsilon = try generator.standardNormal(shape: mean.shape)
        return try Elementwise.map(mean, standardDeviation, epsilon) { $0 + $1 * $2 }
    }
}
