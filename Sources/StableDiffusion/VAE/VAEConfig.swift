import Foundation
import TensorCore

/// The configuration of an ``AutoencoderKL``, as diffusers writes it in `vae/config.json`.
///
/// Property names follow diffusers' keys (`block_out_channels` → ``blockOutChannels``); a fresh value has
/// diffusers' defaults, ``stableDiffusion`` is the VAE of SD 1.x and 2.x. Decoding rejects keys and values this
/// implementation does not support, naming them.
public struct VAEConfig: Equatable, Sendable, ConfigFile {
    /// Channels of the images (`in_channels`, `out_channels`).
    public var inChannels = 3
    /// Channels of the decoded images.
    public var outChannels = 3
    /// Channels of each resolution level, finest first (`block_out_channels`).
    public var blockOutChannels = [64]
    /// ResNets per encoder block; decoder blocks have one more (`layers_per_block`).
    public var layersPerBlock = 1
    /// Channels of the latents (`latent_channels`).
    public var latentChannels = 4
    /// Groups of every GroupNorm (`norm_num_groups`).
    public var normNumGroups = 32
    /// Latents are `z · scaling_factor`: the pipeline divides by it before decoding (`scaling_factor`).
    public var scalingFactor: Float = 0.18215
    /// Whether the latents go through a 1×1 convolution before the decoder (`use_post_quant_conv`).
    public var usePostQuantConv = true
    /// Whether the encoder's latents go through a 1×1 convolution (`use_quant_conv`); the decoder never reads it.
    public var useQuantConv = true
    /// Whether the middle blocks have a self-attention layer (`mid_block_add_attention`).
    public var midBlockAddAttention = true

    /// diffusers' defaults.
    public init() {}

    /// The VAE of Stable Diffusion 1.x and 2.x: four levels of 128, 256, 512, 512 channels, 8× downsampling.
    public static var stableDiffusion: VAEConfig {
        var config = VAEConfig()
        config.blockOutChannels = [128, 256, 512, 512]
        config.layersPerBlock = 2
        return config
    }

    /// How many times smaller than the image the latents are: 2^(levels - 1) (diffusers' `vae_scale_factor`).
    public var scaleFactor: Int { 1 << (blockOutChannels.count - 1) }


    /// Decodes and validates a configuration from JSON `data`; `path` names it in errors.
    /// - Throws: ``ConfigError`` for anything unreadable, unknown, unsupported or inconsistent.
    public static func decode(_ data: Data, path: String) throws -> VAEConfig {
        var reader = try ConfigReader(json: data, path: path)
        try reader.require("_class_name", in: [.null, .string("AutoencoderKL")])
        var config = VAEConfig()
        config.inChannels = try reader.int("in_channels") ?? config.inChannels
        config.outChannels = try reader.int("out_channels") ?? config.outChannels
        if let channels = reader.value("block_out_channels") {
            guard case .array(let items) = channels else {
                throw reader.invalid("block_out_channels", "expected a list, got \(channels)")
            }
            config.blockOutChannels = try reader.intOrList("block_out_channels", count: items.count) ?? []
        }
        let levels = config.blockOutChannels.count
        try reader.require("down_block_types", in: [.null, .array(Array(repeating: .string("DownEncoderBlock2D"), count: levels))])
        try reader.require("up_block_types", in: [.null, .array(Array(repeating: .string("UpDecoderBlock2D"), count: levels))])
        try reader.require("act_fn", in: [.null, .string("silu"), .string("swish")])
        config.layersPerBlock = try reader.int("layers_per_block") ?? config.layersPerBlock
        config.latentChannels = try reader.int("latent_channels") ?? config.latentChannels
        config.normNumGroups = try reader.int("norm_num_groups") ?? config.normNumGroups
        config.scalingFactor = try reader.float("scaling_factor") ?? config.scalingFactor
        config.useQuantConv = try reader.bool("use_quant_conv") ?? config.useQuantConv
        config.usePostQuantConv = try reader.bool("use_post_quant_conv") ?? config.usePostQuantConv
        config.midBlockAddAttention = try reader.bool("mid_block_add_attention") ?? config.midBlockAddAttention
        // The training size (tiling only), and keys other pipelines read (SD 3, SDXL's fp16 handling) but
        // Stable Diffusion's does not: no effect here.
        for key in ["sample_size", "shift_factor", "latents_mean", "latents_std", "force_upcast"] { reader.ignore(key) }
        try reader.finish()
        try config.validate(path: path)
        return config
    }

    /// A lower bound on the decoder's parameter count (the two 3×3 convolutions of each of its ResNets: `layers_per_block
    /// + 1` per level and two in the middle block), or nil when it overflows.
    public var minimumDecoderParameterCount: Int? {
        let perLevel = blockOutChannels.map { CheckedSize.product([layersPerBlock + 1, 18, $0, $0]) }
        let middle = blockOutChannels.last.flatMap { CheckedSize.product([2, 18, $0, $0]) }
        return CheckedSize.sum(perLevel + [middle])
    }

    /// An estimate of the activation memory of decoding one `height × width` image, in bytes (nil: more than `Int`
    /// holds): the working buffers of the full-resolution level (the 3×3 convolutions' unfolded inputs, a few
    /// feature maps). Checked against physical memory before a generation starts.
    public func estimatedDecodeActivationBytes(height: Int, width: Int) -> Int? {
        guard let finest = blockOutChannels.first else { return nil }
        return CheckedSize.product([MemoryLayout<Float>.stride, 8, height, width, finest])
    }

    /// Checks that every size is positive, the scaling factor is a positive number and `norm_num_groups`
    /// divides every level's channels.
    /// - Throws: ``ConfigError/invalid(path:key:reason:)`` naming the key.
    public func validate(path: String = "VAE configuration") throws {
        func invalid(_ key: String, _ reason: String) -> ConfigError { .invalid(path: path, key: key, reason: reason) }
        guard !blockOutChannels.isEmpty else { throw invalid("block_out_channels", "needs at least one level") }
        for (key, values) in [("block_out_channels", blockOutChannels), ("in_channels", [inChannels]),
                              ("out_channels", [outChannels]), ("latent_channels", [latentChannels]),
                              ("norm_num_groups", [normNumGroups])] {
            if let bad = values.first(where: { $0 < 1 }) { throw invalid(key, "must be positive, got \(bad)") }
        }
        guard layersPerBlock >= 0 else { throw invalid("layers_per_block", "must not be negative, got \(layersPerBlock)") }
        try ConfigLimits.check([blockOutChannels.count], atMost: ConfigLimits.levels, key: "block_out_channels", path: path)
        for (key, values) in [("block_out_channels", blockOutChannels), ("in_channels", [inChannels]),
                              ("out_channels", [outChannels]), ("latent_channels", [latentChannels])] {
            try ConfigLimits.check(values, atMost: ConfigLimits.channels, key: key, path: path)
        }
        try ConfigLimits.check([layersPerBlock], atMost: ConfigLimits.layers, key: "layers_per_block", path: path)
        try ConfigLimits.checkFits(minimumDecoderParameterCount.flatMap { CheckedSize.product([MemoryLayout<Float>.stride, $0]) },
                                   "the decoder's weights (\(minimumDecoderParameterCount.map { "at least \($0) parameters" } ?? "too many parameters to count"))",
                                   keys: "block_out_channels, layers_per_block", path: path)
        guard scalingFactor > 0 else { throw invalid("scaling_factor", "must be positive, got \(scalingFactor)") }
        if let channels = blockOutChannels.first(where: { $0 % normNumGroups != 0 }) {
            throw invalid("norm_num_groups", "\(normNumGroups) groups do not divide a level of \(channels) channels")
        }
    }
}
