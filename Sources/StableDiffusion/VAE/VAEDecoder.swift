import TensorCore

/// diffusers' VAE `Decoder`: `conv_in` to the coarsest level's channels, the middle block, the up blocks from
/// coarse to fine, then GroupNorm, SiLU and `conv_out` to image channels.
final class VAEDecoder {
    let convIn: Conv2d
    let midBlock: VAEMidBlock
    let upBlocks: [UpDecoderBlock2D]
    let convNormOut: GroupNorm
    let convOut: Conv2d

    /// The decoder in `scope` (`decoder`) of a VAE with `config`.
    init(_ scope: ParameterScope, config: VAEConfig) throws {
        let reversed = Array(config.blockOutChannels.reversed())
        let groups = config.normNumGroups
        convIn = Conv2d(scope("conv_in"), inChannels: config.latentChannels, outChannels: reversed[0], kernelSize: 3,
                        padding: .uniform(1))
        midBlock = try VAEMidBlock(scope("mid_block"), channels: reversed[0], groups: groups,
                                   addAttention: config.midBlockAddAttention)
        upBlocks = try reversed.indices.map { level in
            try UpDecoderBlock2D(scope("up_blocks", level), inChannels: reversed[max(level - 1, 0)],
                                 outChannels: reversed[level], layers: config.layersPerBlock + 1, groups: groups,
                                 addUpsample: level < reversed.count - 1)
        }
        let finest = config.blockOutChannels[0]
        convNormOut = try GroupNorm(scope("conv_norm_out"), groups: groups, channels: finest, eps: AutoencoderKL.normEps)
        convOut = Conv2d(scope("conv_out"), inChannels: finest, outChannels: config.outChannels, kernelSize: 3,
                         padding: .uniform(1))
    }

    /// Decodes `z` (`[B, h, w, latent_channels]`) into `[B, h · 2^(levels-1), w · 2^(levels-1), out_channels]`.
    func callAsFunction(_ z: Tensor) throws -> Tensor {
        var hidden = try midBlock(try convIn(z))
        for block in upBlocks { hidden = try block(hidden) }
        return try convOut(hidden, normalizedBy: convNormOut, silu: true)
    }
}
