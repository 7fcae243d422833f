import TensorCore

/// diffusers' `AutoencoderKL`, the Stable Diffusion VAE, decoding only: `post_quant_conv`, then the
/// ``VAEDecoder``, on NHWC tensors.
///
/// Module and parameter names are diffusers' (`decoder.up_blocks.0.resnets.0.conv1.weight`); ``load(from:)`` also
/// reads the attention names of checkpoints saved before diffusers 0.14 and skips the encoder's weights.
public final class AutoencoderKL {
    /// The epsilon of every GroupNorm in the VAE (diffusers fixes it at 1e-6).
    static let normEps: Float = 1e-6

    /// The architecture.
    public let config: VAEConfig
    let postQuantConv: Conv2d?
    let decoder: VAEDecoder

    /// The attention of the middle block (memory-efficient unless changed; a 512² image has 4096 tokens).
    public var attentionImplementation: AttentionImplementation {
        get { decoder.midBlock.attention?.implementation ?? .memoryEfficient }
        set { decoder.midBlock.attention?.implementation = newValue }
    }

    /// Builds the decoder of `config` with parameters from `parameters`, its convolution and attention weights
    /// packed in `precision` (``Precision``; bias, norms and the rest stay fp32).
    /// - Throws: ``ConfigError`` for an invalid configuration, or the source's error (``WeightError``) listing
    ///   every missing, unexpected or mis-shaped parameter.
    package init(config: VAEConfig, parameters: ParameterSource, precision: Precision = .fp32) throws {
        try config.validate()
        self.config = config
        let root = ParameterScope(parameters, precision: precision)
        let latent = config.latentChannels
        postQuantConv = config.usePostQuantConv
            ? Conv2d(root("post_quant_conv"), inChannels: latent, outChannels: latent, kernelSize: 1)
            : nil
        decoder = try VAEDecoder(root("decoder"), config: config)
        try parameters.finish()
    }

    /// Builds the decoder of `config` with seeded random parameters (``RandomParameterSource``), packed in `precision`.
    /// - Throws: ``ConfigError`` for an invalid configuration.
    public convenience init(config: VAEConfig, seed: UInt64, precision: Precision = .fp32) throws {
        try self.init(config: config, parameters: RandomParameterSource(seed: seed), precision: precision)
    }

    /// Decodes latents `z` (`[B, h, w, latent_channels]`, NHWC, already divided by
    /// ``VAEConfig/scalingFactor``, as diffusers' `vae.decode` takes them) into images
    /// `[B, h · s, w · s, out_channels]` with values nominally in [-1, 1], s = ``VAEConfig/scaleFactor``.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` for latents of the wrong rank or channel count.
    public func decode(_ z: Tensor) throws -> Tensor {
        guard z.rank == 4, z.shape[0] >= 1, z.shape[1] >= 1, z.shape[2] >= 1, z.shape[3] == config.latentChannels else {
            throw TensorError.shapeMismatch("VAE decode: expected latents [B, h, w, \(config.latentChannels)] (NHWC), got \(z.shape)")
        }
        return try decoder(try postQuantConv?(z) ?? z)
    }
}
