import TensorCore

/// diffusers' `UNetMidBlock2D` as the VAE encoder and decoder use it: a ResNet, then the self-attention (unless
/// `mid_block_add_attention` is false) and a second ResNet, at the coarsest resolution.
final class VAEMidBlock {
    let resnets: [VAEResnetBlock]
    let attention: VAEAttention?

    /// The middle block in `scope` (`encoder.mid_block`, `decoder.mid_block`) on `channels` channels.
    init(_ scope: ParameterScope, channels: Int, groups: Int, addAttention: Bool) throws {
        resnets = try (0..<2).map {
            try VAEResnetBlock(scope("resnets", $0), inChannels: channels, outChannels: channels, groups: groups,
                               eps: AutoencoderKL.normEps)
        }
        attention = addAttention
            ? try VAEAttention(scope("attentions", 0), channels: channels, headDim: channels, groups: groups,
                               eps: AutoencoderKL.normEps)
            : nil
    }

    /// Runs the block on `x` (`[B, H, W, channels]`).
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        var hidden = try resnets[0](x)
        if let attention { hidden = try attention(hidden) }
        return try resnets[1](hidden)
    }
}
