import TensorCore

/// diffusers' VAE `Encoder` (with `double_z`): `conv_in` to the finest level's channels, the down blocks from fine
/// to coarse, the middle block, then GroupNorm, SiLU and `conv_out` to twice the latent channels (the mean and
/// the log-variance of each latent).
final class VAEEncoder {
    let convIn: Conv2d
    let downBlocks: [DownEncoderBlock2D]
    let midBlock: VAEMidBlock
    let convNormOut: GroupNorm
    let convOut: Conv2d

    /// The encoder in `scope` (`encoder`) of a VAE with `config`.
    init(_ scope: ParameterScope, config: VAEConfig) throws {
        let channels = config.blockOutChannels
        let groups = config.normNumGroups
        convIn = Conv2d(scope("conv_in"), inChannels: config.inChannels, outChannels: channels[0], kernelSize: 3,
                        padding: .uniform(1))
        downBlocks = try channels.indices.map { level in
            try DownEncoderBlock2D(scope("down_blocks", level), inChannels: channels[max(level - 1, 0)],
                                   outChannels: channels[level], layers: config.layersPerBlock, groups: groups,
                                   addDownsample: level < channels.count - 1)
        }
        let coarsest = channels[channels.count - 1]
        midBlock = try VAEMidBlock(scope("mid_block"), channels: coarsest, groups: groups,
                                   addAttention: config.midBlockAddAttention)
        convNormOut = try GroupNorm(scope("conv_norm_out"), groups: groups, channels: coarsest, eps: AutoencoderKL.normEps)
        convOut = Conv2d(scope("conv_out"), inChannels: coarsest, outChannels: 2 * config.latentChannels, kernelSize: 3,
                         padding: .uniform(1))
    }

    /// Encodes images `x` (`[B, H, W, in_channels]`) into `[B, H / 2^(levels-1), W / 2^(levels-1), 2 · latent_channels]`.
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        var hidden = try convIn(x)
        for block in downBlocks { hidden = try block(hidden) }
        return try convOut(try midBlock(hidden), normalizedBy: convNormOut, silu: true)
    }
}
