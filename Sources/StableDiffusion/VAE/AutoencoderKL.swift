import TensorCore

/// diffusers' `AutoencoderKL`, the Stable Diffusion VAE, on NHWC tensors: ``decode(_:)`` (`post_quant_conv`, then
/// the ``VAEDecoder``) turns latents into images; ``encode(_:)`` (the ``VAEEncoder``, then `quant_conv`) turns
/// images into a ``DiagonalGaussianDistribution`` over latents, for image-to-image.
///
/// Module and parameter names are diffusers' (`decoder.up_blocks.0.resnets.0.conv1.weight`,
/// `encoder.down_blocks.0.resnets.0.conv1.weight`); ``load(from:precision:)`` also reads the attention names of checkpoints
/// saved before diffusers 0.14.
public final class AutoencoderKL {
    /// The epsilon of every GroupNorm in the VAE (diffusers fixes it at 1e-6).
    static let normEps: Float = 1e-6

    /// The architecture.
    public let config: VAEConfig
    let postQuantConv: Conv2d?
    let decoder: VAEDecoder
    let quantConv: Conv2d?
    /// nil for a VAE loaded from a weight file without the encoder's weights (decoding only).
    let encoder: VAEEncoder?

    /// Whether this VAE can encode images (its weights include the encoder's).
    public var hasEncoder: Bool { encoder != nil }

    /// The attention of the middle blocks (memory-efficient unless changed; a 512² image has 4096 tokens).
    public var attentionImplementation: AttentionImplementation {
        get { decoder.midBlock.attention?.implementation ?? .memoryEfficient }
        set {
            decoder.midBlock.attention?.implementation = newValue
            encoder?.midBlock.attention?.implementation = newValue
        }
    }

    /// Builds the VAE of `config` with parameters from `parameters`: the decoder, and the encoder when
    /// `includesEncoder` is true; its convolution and attention weights packed in `precision` (``Precision``; bias,
    /// norms and the rest stay fp32).
    /// - Throws: ``ConfigError`` for an invalid configuration, or the source's error (``WeightError``) listing
    ///   every missing, unexpected or mis-shaped parameter.
    package init(config: VAEConfig, parameters: ParameterSource, includesEncoder: Bool = true,
                 precision: Precision = .fp32) throws {
        try config.validate()
        self.config = config
        let root = ParameterScope(parameters, precision: precision)
        let latent = config.latentChannels
        postQuantConv = config.usePostQuantConv
            ? Conv2d(root("post_quant_conv"), inChannels: latent, outChannels: latent, kernelSize: 1)
            : nil
        decoder = try VAEDecoder(root("decoder"), config: config)
        let moments = 2 * latent
        quantConv = includesEncoder && config.useQuantConv
            ? Conv2d(root("quant_conv"), inChannels: moments, outChannels: moments, kernelSize: 1)
            : nil
        encoder = includesEncoder ? try VAEEncoder(root("encoder"), config: config) : nil
        try parameters.finish()
    }

    /// Builds the VAE (encoder and decoder) of `config` with seeded random parameters (``RandomParameterSource``),
    /// packed in `precision`.
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

    /// Encodes images `x` (`[B, H, W, in_channels]`, NHWC, values in [-1, 1], H and W multiples of
    /// ``VAEConfig/scaleFactor``) into the distribution of their latents (NCHW `[B, latent_channels, H / s, W / s]`,
    /// before ``VAEConfig/scalingFactor``), as diffusers' `vae.encode(x).latent_dist`.
    /// - Throws: ``PipelineError/invalidParameter(name:reason:)`` when this VAE was loaded without encoder weights;
    ///   ``TensorError/shapeMismatch(_:)`` for images of the wrong rank, channel count or size.
    public func encode(_ x: Tensor) throws -> DiagonalGaussianDistribution {
        guard let encoder else {
            throw PipelineError.invalidParameter(name: "VAE", reason: "its weights have no encoder (encoder.*), so it cannot encode images")
        }
        let scale = config.scaleFactor
        guard x.rank == 4, x.shape[0] >= 1, x.shape[3] == config.inChannels, x.shape[1] >= scale, x.shape[2] >= scale,
              x.shape[1] % scale == 0, x.shape[2] % scale == 0 else {
            throw TensorError.shapeMismatch(
                "VAE encode: expected images [B, H, W, \(config.inChannels)] (NHWC) with H and W multiples of \(scale), got \(x.shape)")
        }
        let moments = try encoder(x)
        return try DiagonalGaussianDistribution(parameters: try (try quantConv?(moments) ?? moments).permuted([0, 3, 1, 2]))
    }
}
